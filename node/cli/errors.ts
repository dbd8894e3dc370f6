/**
 * The one place where errors become exit codes and messages for people (or JSON for scripts).
 */
import { ClawnodeError, serializeError } from '../../protocol/index.ts'

export class UsageError extends ClawnodeError {
  static override name = 'UsageError'
  constructor (message: string, hint = 'Run `clawnode --help` for the commands and their options.') {
    super(message, { hint })
  }
}

/** The user interrupted the command (Ctrl-C, SIGTERM) and it stopped what it was doing. */
export class CancelledError extends ClawnodeError {
  static override name = 'CancelledError'
  constructor (signal: string, cause?: unknown) {
    super(`Cancelled by ${signal}`, { cause, hint: 'Nothing more runs for this command; run it again to retry.' })
  }
}

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** EX_DATAERR: the job spec was rejected. */
  rejected: 65,
  /** EX_SOFTWARE: a bug. */
  internal: 70,
  /** Like timeout(1). */
  timeout: 124,
  /** 128 + SIGINT. */
  cancelled: 130
} as const

export interface ErrorSink {
  json: boolean
  stdout: (text: string) => void
  stderr: (text: string) => void
}

export function reportError (err: unknown, sink: ErrorSink): number {
  const code = err instanceof UsageError ? EXIT.usage : err instanceof CancelledError ? EXIT.cancelled : err instanceof ClawnodeError ? EXIT.failure : EXIT.internal
  const data = serializeError(err)
  if (sink.json) {
    sink.stdout(JSON.stringify({ ok: false, error: data }) + '\n')
  } else {
    sink.stderr(`✗ ${data.message}\n`)
    if (data.hint !== '') sink.stderr(`  → ${data.hint}\n`)
    if (code === EXIT.internal && err instanceof Error && err.stack !== undefined && process.env.DEBUG !== undefined) sink.stderr(err.stack + '\n')
  }
  return code
}
