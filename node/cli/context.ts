/**
 * What every command gets: the data dir, output mode, and writers (stdout for results, stderr for
 * people). Also the shared option parsing, so every command accepts --data and --json.
 */
import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'
import { UsageError } from './errors.ts'

export interface CliContext {
  dataDir: string
  json: boolean
  stdout: (text: string) => void
  stderr: (text: string) => void
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal
}

export const GLOBAL_OPTIONS = {
  data: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const satisfies ParseArgsConfig['options']

type Options = NonNullable<ParseArgsConfig['options']>

export function parseCommandArgs<O extends Options> (args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''))
  }
}
