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

/** A message from a peer could not be decoded, or breaks the protocol's rules. */
export class MalformedMessageError extends ClawnodeError {
  static override name = 'MalformedMessageError'
  constructor (what: string, problem: string, options: ClawnodeErrorOptions = {}) {
    super(`Malformed ${what}: ${problem}`, { hint: 'The peer sent something this version does not accept; it is ignored. Upgrade if the peer is newer.', ...options })
  }
}

/** A message is larger than its protocol limit. */
export class MessageTooLargeError extends ClawnodeError {
  static override name = 'MessageTooLargeError'
  constructor (what: string, size: number, limit: number) {
    super(`The ${what} is ${size} bytes, more than the limit of ${limit}`, { hint: 'The peer is misbehaving or newer than this node; the message is dropped.' })
  }
}

/** A signature does not verify for its domain. */
export class InvalidSignatureError extends ClawnodeError {
  static override name = 'InvalidSignatureError'
  constructor (domain: string) {
    super(`The signature on a ${domain} message does not verify`, { hint: 'The message was forged or corrupted; it is ignored.' })
  }
}

/** A signed record is expired, not yet valid, or claims too long a life. */
export class RecordExpiredError extends ClawnodeError {
  static override name = 'RecordExpiredError'
  constructor (what: string, problem: string) {
    super(`The ${what} ${problem}`, { hint: 'Fetch a fresh record from the peer; check this machine\'s clock if it keeps happening.', retryable: true })
  }
}

/** A record is signed by a different peer than the one it describes or came from. */
export class PeerMismatchError extends ClawnodeError {
  static override name = 'PeerMismatchError'
  constructor (what: string, expected: string, got: string) {
    super(`The ${what} is for peer ${got}, expected ${expected}`, { hint: 'The peer sent a record that is not its own; it is ignored.' })
  }
}
