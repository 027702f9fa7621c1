// Declarations for dev dependencies that ship no types: only the parts keyless uses.
declare module 'dynalite' {
  import type { Server } from 'node:http'

  interface DynaliteOptions {
    path?: string
    createTableMs?: number
    deleteTableMs?: number
    updateTableMs?: number
    maxItemSizeKb?: number
  }

  export default function dynalite(options?: DynaliteOptions): Server
}

// asl-validator ships no types for its programmatic entry point.
declare module 'asl-validator' {
  export default function validator(
    definition: unknown,
    options?: { checkPaths?: boolean; checkArn?: boolean },
  ): {
    isValid: boolean
    errors: { 'Error code': string; Message: string }[]
    errorsText: (separator?: string) => string
  }
}
