// Stands in for `mime-db` in keyless's Lambda bundles: Express (pulled in by Bolt) looks up
// MIME types to serve files, which a Lambda function behind AwsLambdaReceiver never does.
module.exports = {}
