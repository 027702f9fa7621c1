// Stands in for `iconv-lite` in keyless's Lambda bundles. Only Express's and Bolt's
// HTTPReceiver body parsers use it, to decode non-UTF-8 bodies; in Lambda, AwsLambdaReceiver
// reads the body itself, and Slack only sends UTF-8.
const fail = () => {
  throw new Error("iconv-lite is left out of keyless's Lambda bundles: only UTF-8 bodies are read there")
}
module.exports = { getDecoder: fail, decode: fail, encodingExists: () => false }
