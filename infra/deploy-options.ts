import { z } from 'zod'
import { KeylessError } from '../shared/core/errors.ts'

/**
 * Choices about the deployment itself, not about access (those live in keyless.config.yaml):
 * CDK context values, set in cdk.json's "context" or with `-c key=value`.
 */
export interface DeployOptions {
  /** A managed policy every keyless role is bounded by, for organisations that require one. */
  permissionsBoundary?: string
  /** Alarms mail this address through a new SNS topic… */
  alarmEmail?: string
  /** …or go to this existing topic. */
  alarmTopicArn?: string
  /** Create a multi-region trail: EventBridge sees CloudTrail's events only if a trail exists. */
  createTrail: boolean
}

export const DEPLOY_CONTEXT_KEYS = {
  permissionsBoundary: 'keyless:permissionsBoundary',
  alarmEmail: 'keyless:alarmEmail',
  alarmTopicArn: 'keyless:alarmTopicArn',
  createTrail: 'keyless:createTrail',
} as const

const schema = z
  .object({
    permissionsBoundary: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:iam::\d{12}:policy\/[\w+=,.@/-]+$/,
        'expected a managed policy ARN, e.g. arn:aws:iam::111122223333:policy/boundary',
      )
      .optional(),
    alarmEmail: z.email('expected an email address').optional(),
    alarmTopicArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'expected an SNS topic ARN')
      .optional(),
    // -c values arrive as strings; cdk.json's as JSON.
    createTrail: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((text) => text === 'true')], {
        error: 'expected true or false',
      })
      .default(false),
  })
  .refine((options) => !(options.alarmEmail && options.alarmTopicArn), {
    message: `set ${DEPLOY_CONTEXT_KEYS.alarmEmail} or ${DEPLOY_CONTEXT_KEYS.alarmTopicArn}, not both`,
  })

/** Reads the options through `context` (the app's tryGetContext); a wrong value stops synth with its key named. */
export function readDeployOptions(context: (key: string) => unknown): DeployOptions {
  const raw = Object.fromEntries(
    Object.entries(DEPLOY_CONTEXT_KEYS).map(([option, key]) => [option, context(key)]),
  )
  const parsed = schema.safeParse(raw)
  if (parsed.success) return parsed.data
  const lines = parsed.error.issues.map((issue) => {
    const option = issue.path[0] as keyof typeof DEPLOY_CONTEXT_KEYS | undefined
    return option ? `${DEPLOY_CONTEXT_KEYS[option]}: ${issue.message}` : issue.message
  })
  throw new KeylessError('DEPLOY_OPTIONS_INVALID', `deploy options are invalid:\n  ${lines.join('\n  ')}`)
}
