/**
 * The base of every clawnode error: a stable `name` (tests and peers match on it), a message that
 * says what happened, a `hint` that says what to do next, and whether retrying can help. Modelled on
 * viem's BaseError (shortMessage + metaMessages) and libp2p's named errors.
 */

export interface ClawnodeErrorOptions {
  cause?: unknown
  hint?: string
  retryable?: boolean
}

export class ClawnodeError extends Error {
  static override name = 'ClawnodeError'
  /** What the operator or the consumer should do next. */
  readonly hint: string
  /** Whether the same request may succeed if tried again later. */
  readonly retryable: boolean

  constructor (message: string, options: ClawnodeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.hint = options.hint ?? ''
    this.retryable = options.retryable ?? false
  }

  /** The plain-data form written to result files and sent to peers. */
  toJSON (): SerializedError {
    return { name: this.name, message: this.message, retryable: this.retryable, hint: this.hint }
  }
}

export interface SerializedError {
  name: string
  message: string
  retryable: boolean
  hint: string
}

/** Any thrown value as plain data, keeping the name and hint of clawnode errors. */
export function serializeError (err: unknown): SerializedError {
  if (err instanceof ClawnodeError) return err.toJSON()
  if (err instanceof Error) {
    return { name: err.name, message: err.message, retryable: false, hint: 'This is unexpected: run with DEBUG=clawnode:* and report it with the log.' }
  }
  return { name: 'Error', message: String(err), retryable: false, hint: '' }
}
