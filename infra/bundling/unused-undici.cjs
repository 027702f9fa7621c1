// Stands in for `undici` in keyless's Lambda bundles. Only Bolt's Socket Mode uses it, and
// Socket Mode runs locally (`npm start` with SLACK_APP_TOKEN), never in Lambda: a Lambda
// function answers HTTP. Anything that reaches for it there fails loudly, not silently.
const absent = (name) => {
  const fail = () => {
    throw new Error(`undici.${name} is left out of keyless's Lambda bundles: Socket Mode runs only locally`)
  }
  return Object.assign(
    class {
      constructor() {
        fail()
      }
    },
    { call: fail },
  )
}
for (const name of [
  'WebSocket',
  'Agent',
  'ErrorEvent',
  'MessageEvent',
  'CloseEvent',
  'buildConnector',
  'fetch',
  'ping',
]) {
  module.exports[name] = absent(name)
}
