/**
 * Remembers message ids until they expire, so a signed message replayed before its expiry is refused.
 * Bounded: expired entries go first, and at the cap new ids are refused (fail closed) rather than old
 * live ones forgotten.
 */
import { MAX_REPLAY_ENTRIES } from './constants.ts'
import { ClawnodeError } from './errors.ts'

export class ReplayError extends ClawnodeError {
  static override name = 'ReplayError'
  constructor (what: string) {
    super(`This ${what} was already received: a replay`, { hint: 'Send a new message with a fresh nonce.' })
  }
}

export class ReplayGuardFullError extends ClawnodeError {
  static override name = 'ReplayGuardFullError'
  constructor () {
    super('Too many live messages to remember; refusing new ones until some expire', { hint: 'Try again shortly.', retryable: true })
  }
}

export interface ReplayGuard {
  /** Records the id until `expiresAtMs`; throws ReplayError if it is already there. */
  check: (what: string, id: Uint8Array, expiresAtMs: number, now?: number) => void
  readonly size: number
}

export function createReplayGuard (maxEntries = MAX_REPLAY_ENTRIES): ReplayGuard {
  // Insertion order is not expiry order, so expired entries are swept when the map is full.
  const seen = new Map<string, number>()
  const sweep = (now: number): void => { for (const [k, exp] of seen) if (exp < now) seen.delete(k) }
  return {
    get size () { return seen.size },
    check (what, id, expiresAtMs, now = Date.now()) {
      const key = Buffer.from(id).toString('base64')
      const known = seen.get(key)
      if (known !== undefined && known >= now) throw new ReplayError(what)
      if (seen.size >= maxEntries) sweep(now)
      if (seen.size >= maxEntries) throw new ReplayGuardFullError()
      seen.set(key, expiresAtMs)
    }
  }
}
