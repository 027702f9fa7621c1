/**
 * Every message and view keyless shows in Slack, as pure functions of the grant, the config
 * and the time: building is separate from sending (the notifier and the listeners send), and
 * each is golden-tested. Typed text is escaped wherever it lands in mrkdwn; ids and times come
 * from the grant, never from what a person typed. One module per audience:
 */
export * from './messages/approvals.ts' // the approvers and the approval channel
export * from './messages/home.ts' // App Home
export { describeAccess, outcome, type SlackMessage } from './messages/pieces.ts'
export * from './messages/replies.ts' // the person who acted, in the reply to their command or click
export * from './messages/requester.ts' // the requester
export * from './messages/security.ts' // the security channel
