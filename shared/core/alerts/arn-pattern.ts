/**
 * ARN patterns as IAM writes them (`alerts.trustedMfaSessionIssuers`): `*` matches any run of
 * characters, `/` included; every other character, `?` among them, matches itself.
 */
export function arnPattern(pattern: string): (arn: string) => boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*')
  const regex = new RegExp(`^${source}$`)
  return (arn) => regex.test(arn)
}
