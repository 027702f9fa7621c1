import { Command, CommanderError } from 'commander'
import { KeylessError } from '../shared/errors.ts'
import { configValidateCommand } from './commands/config-validate.ts'
import { devCommand } from './commands/dev.ts'
import { type PolicyOptions, policyCommand } from './commands/policy.ts'
import type { CliIo } from './io.ts'

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

  program
    .command('policy')
    .description('print the exact IAM policy document a grant would attach')
    .argument('<target>', 'target name from the config file')
    .requiredOption('--principal <arn>', 'IAM role or user ARN the grant attaches to')
    .requiredOption('--duration <duration>', 'how long access lasts, e.g. 30m, 1h30m')
    .option('--now <iso>', 'when access starts (default: now), e.g. 2026-11-23T10:00:00Z')
    .option('--config <file>', 'config file (default: $KEYLESS_CONFIG or ./keyless.config.yaml)')
    .action((target: string, options: PolicyOptions) => policyCommand(target, options, io))

  program
    .command('config')
    .description('work with the config file')
    .command('validate')
    .description('check a config file; exit 0 when valid')
    .argument('[file]', 'config file (default: $KEYLESS_CONFIG or ./keyless.config.yaml)')
    .action((file: string | undefined) => configValidateCommand(file, io))

  program
    .command('dev')
    .description(
      'run the local control plane (what npm start runs): embedded DynamoDB, local Step Functions, local IAM/SSM',
    )
    .option(
      '--config <file>',
      'config file (default: $KEYLESS_CONFIG, ./keyless.config.yaml, else the example)',
    )
    .action((options: { config?: string }) => devCommand(options, io))

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
