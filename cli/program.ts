import { readFile } from 'node:fs/promises'
import { Command, CommanderError } from 'commander'
import { KeylessError } from '../shared/core/errors.ts'
import type { AuditOptions } from './commands/audit.ts'
import type { GrantsOptions } from './commands/grants-source.ts'
import type { PolicyOptions } from './commands/policy.ts'
import type { TryOptions } from './commands/try.ts'
import type { CliIo } from './io.ts'

// Each command's module is loaded when it runs: `keyless grants list` need not load Bolt, the
// embedded DynamoDB and the local runner that `keyless dev` does.
const policy = () => import('./commands/policy.ts')
const configValidate = () => import('./commands/config-validate.ts')
const dev = () => import('./commands/dev.ts')
const grantsCommands = () => import('./commands/grants.ts')
const tryCommands = () => import('./commands/try.ts')
const checkEvent = () => import('./commands/check-event.ts')
const slackManifest = () => import('./commands/slack-manifest.ts')
const audit = () => import('./commands/audit.ts')

/**
 * Runs the `keyless` CLI and returns its exit code: 0 on success, 1 when keyless refused
 * (bad config, unknown target, duration over the limit), 2 for a malformed command line.
 * A refusal prints one line per problem and never a stack trace; an unexpected error prints
 * its message and a hint to set KEYLESS_DEBUG=1 for the trace.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = new Command('keyless')
    .description('Just-in-time access to AWS instances over Session Manager')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run keyless --help for usage)')
    .version(await packageVersion(), '-V, --version', 'print the version of keyless')

  program
    .command('policy')
    .description('print the exact IAM policy document a grant would attach')
    .argument('<target>', 'target name from the config file')
    .option('--principal <arn>', 'IAM role or user ARN the grant attaches to')
    .option(
      '--person <slack user id>',
      "a person from the config: the grant goes on their principal, or their grant role in the target's account",
    )
    .requiredOption('--duration <duration>', 'how long access lasts, e.g. 30m, 1h30m')
    .option('--json', '{account, principal, policy, trust?}: where the policy goes and what it says')
    .option('--now <iso>', 'when access starts (default: now), e.g. 2026-11-23T10:00:00Z')
    .option('--config <file>', 'config file (default: $KEYLESS_CONFIG or ./keyless.config.yaml)')
    .option('--explain', 'each statement under what it is for, and the size against the quota')
    .action(async (target: string, options: PolicyOptions) =>
      (await policy()).policyCommand(target, options, io),
    )

  program
    .command('config')
    .description('work with the config file')
    .command('validate')
    .description('check a config file; exit 0 when valid')
    .argument('[file]', 'config file (default: $KEYLESS_CONFIG or ./keyless.config.yaml)')
    .action(async (file: string | undefined) => (await configValidate()).configValidateCommand(file, io))

  program
    .command('dev')
    .description(
      'run the local control plane (what npm start runs): embedded DynamoDB, local Step Functions, local IAM/SSM',
    )
    .option(
      '--config <file>',
      'config file (default: $KEYLESS_CONFIG, ./keyless.config.yaml, else the example)',
    )
    .action(async (options: { config?: string }) => (await dev()).devCommand(options, io))

  program
    .command('check-event')
    .description(
      'evaluate CloudTrail records with the alert rules: a record, an EventBridge envelope, an array, or a log file {"Records": [...]}, plain or gzipped; one JSON line per event',
    )
    .argument('[file]', 'the input file, or - for standard input (the default)')
    .option('--config <file>', 'config file (default: $KEYLESS_CONFIG or ./keyless.config.yaml)')
    .action(async (file: string | undefined, options: { config?: string }) =>
      (await checkEvent()).checkEventCommand(file, options, io),
    )

  program
    .command('audit')
    .description(
      "who can reach a target's instances without a keyless grant, in one account (exit 1 if anyone can)",
    )
    .option(
      '--authorization-details <file>',
      'the saved output of aws iam get-account-authorization-details, judged locally (development install)',
    )
    .option('--account <name or id>', 'a configured account (default: the home account)')
    .option('--json', '{findings: [{principal, account, target, actions, via, kind}], checked: {…}}')
    .option(
      '--region <region>',
      'where to look up instances without a file (default: the configured regions)',
    )
    .option('--config <file>', 'config file (default: $KEYLESS_CONFIG or ./keyless.config.yaml)')
    .action(async (options: AuditOptions) => (await audit()).auditCommand(options, io))

  program
    .command('slack-manifest')
    .description("print the Slack app's manifest with its request URL set, for a deployed stack or a tunnel")
    .requiredOption(
      '--url <request url>',
      "the stack's SlackRequestUrl output, e.g. https://….execute-api.eu-west-1.amazonaws.com/slack/events",
    )
    .action(async (options: { url: string }) => (await slackManifest()).slackManifestCommand(options, io))

  const grants = program
    .command('grants')
    .description(
      'list, show and revoke grants: on the running local control plane, or a deployed table with --table',
    )
  const where = (command: Command) =>
    command
      .option('--table <name>', 'a deployed grant table (AWS credentials from the usual chain)')
      .option('--region <region>', "the table's region (default: $AWS_REGION)")
  where(
    grants
      .command('list')
      .description('live grants (--all: every grant, newest first)')
      .option('--json', 'an array of {id, target, requester, principal, status, requestedAt, expiresAt}')
      .option('--all', 'ended grants too (reads the whole table)'),
  ).action(async (options: GrantsOptions) => (await grantsCommands()).grantsListCommand(options, io))
  where(
    grants
      .command('show')
      .description('a grant and its whole history')
      .argument('<id>', 'grant id, e.g. g-7kq2m9x4ab')
      .option('--json', 'the grant as stored'),
  ).action(async (id: string, options: GrantsOptions) =>
    (await grantsCommands()).grantsShowCommand(id, options, io),
  )
  where(
    grants
      .command('revoke')
      .description(
        'end a grant now: the policy is removed and open sessions ended; recorded with you as the actor',
      )
      .argument('[id]', 'grant id, e.g. g-7kq2m9x4ab')
      .option('--reason <text>', 'why, recorded on the grant and told to the requester')
      .option(
        '--all',
        'with --target: end every live grant on the target now (requests denied, access removed, sessions ended)',
      )
      .option('--target <name>', 'the target whose grants --all ends')
      .option('--json', 'with --all: an array of what happened to each grant')
      .option('--config <file>', 'with --table --all: the deployed config (default: $KEYLESS_CONFIG)'),
  ).action(async (id: string | undefined, options: GrantsOptions) =>
    (await grantsCommands()).grantsRevokeCommand(id, options, io),
  )

  where(
    grants
      .command('deny')
      .description('deny one pending request now, recorded with you as the actor; the requester is told')
      .argument('<id>', 'grant id, e.g. g-7kq2m9x4ab')
      .option('--reason <text>', 'why, recorded on the grant and told to the requester'),
  ).action(async (id: string, options: GrantsOptions) =>
    (await grantsCommands()).grantsDenyCommand(id, options, io),
  )

  where(
    program
      .command('doctor')
      .description(
        'what is wrong with the plane: orphan keyless-* policies, live grants without an execution, REVOKE_FAILED grants, unsent alerts (exit 1 if any)',
      )
      .option('--json', 'the report as JSON')
      .option('--config <file>', 'with --table: the deployed config (default: $KEYLESS_CONFIG)')
      .option('--state-machine <arn>', "with --table: the stack's StateMachineArn, to check executions")
      .option(
        '--stack <name>',
        'a deployed home stack (e.g. Keyless): its outputs name the table and workflow, and Slack, the trail, the alert rule and the reconciler are checked too',
      ),
  ).action(async (options: GrantsOptions) => (await grantsCommands()).doctorCommand(options, io))

  const tryIt = program
    .command('try')
    .description(
      'try keyless without Slack: send the local control plane what Slack would, as a person from the config',
    )
  const asSomeone = (command: Command) =>
    command
      .requiredOption('--as <user>', 'the Slack user id acting, e.g. U0ALICE')
      .option(
        '--url <url>',
        'the control plane (default: the one npm start runs, found through KEYLESS_DATA_DIR)',
      )
  asSomeone(
    tryIt
      .command('access')
      .description('type /access …, e.g. keyless try access prod-db 30m fixing replication lag --as U0ALICE')
      .argument('[text...]', 'what follows /access, --break-glass included')
      // What follows /access is Slack's to read: `--break-glass` is part of the text, not an option here.
      .allowUnknownOption(),
  ).action(async (words: string[], options: TryOptions) =>
    (await tryCommands()).tryAccessCommand(words, options, io),
  )
  asSomeone(
    tryIt
      .command('click')
      .description(
        'click a button: approve, deny, approve-extension, deny-extension, revoke, cancel, or extend-15m|30m|1h',
      )
      .argument(
        '<button>',
        'approve | deny | approve-extension | deny-extension | revoke | cancel | extend-15m | extend-30m | extend-1h',
      )
      .argument('<grant-id>', 'the grant the button is for, e.g. g-7kq2m9x4ab')
      .option('--channel <id>', 'click it in a message in this channel (default: in App Home)'),
  ).action(async (button: string, grantId: string, options: TryOptions) =>
    (await tryCommands()).tryClickCommand(button, grantId, options, io),
  )
  asSomeone(tryIt.command('home').description('open App Home')).action(async (options: TryOptions) =>
    (await tryCommands()).tryHomeCommand(options, io),
  )

  try {
    await program.parseAsync(argv, { from: 'user' })
    return 0
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its own message; help and version requests are successes.
      return error.exitCode === 0 ? 0 : 2
    }
    if (error instanceof KeylessError) {
      io.err(`keyless: ${error.message}\n`)
      return 1
    }
    io.err(`keyless: unexpected error: ${(error as Error)?.message ?? String(error)}\n`)
    if (io.env.KEYLESS_DEBUG) io.err(`${(error as Error)?.stack ?? ''}\n`)
    else io.err('keyless: set KEYLESS_DEBUG=1 to see where it happened\n')
    return 1
  }
}

/** The version in the package.json beside the CLI: one source for npm and --version. */
async function packageVersion(): Promise<string> {
  const text = await readFile(new URL('../package.json', import.meta.url), 'utf8')
  return (JSON.parse(text) as { version: string }).version
}
