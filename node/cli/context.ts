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

/** Events of a long-running command: a JSON line on stdout with --json, else the human text on stderr. */
export function eventWriter (ctx: CliContext): (event: string, data: Record<string, unknown>, human: string) => void {
  return (event, data, human) => {
    if (ctx.json) ctx.stdout(JSON.stringify({ event, ...data }) + '\n')
    else ctx.stderr(human)
  }
}

/** Resolves when the command is interrupted (Ctrl-C, SIGTERM): how long-running commands wait. */
export async function untilAborted (signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    signal.addEventListener('abort', () => { resolve() }, { once: true })
  })
}
