/**
 * What a provider hears from the consumer once the job is awarded: usage acks and the receipt ack,
 * which it waits for in turn, and a cancel, which may come at any moment while the job runs. One loop
 * reads the stream so that a cancel is seen at once, while the acks queue (bounded) until asked for.
 */
import { ClawnodeError, decodeFrame } from '../protocol/index.ts'
import type { Frame, FrameStream } from '../protocol/index.ts'

/** Frames a consumer may send ahead of being asked (usage acks for ticks not yet collected). */
export const MAX_QUEUED_CONSUMER_FRAMES = 1024

export class UnexpectedFrameError extends ClawnodeError {
  static override name = 'UnexpectedFrameError'
  constructor (expected: string, got: string) {
    super(`Expected a ${expected} frame, got ${got}`, { hint: 'The peer does not follow the lease protocol; the lease is abandoned.' })
  }
}

export class LeaseCancelledError extends ClawnodeError {
  static override name = 'LeaseCancelledError'
  constructor (reason: string) {
    super(`The consumer cancelled the lease${reason === '' ? '' : `: ${reason}`}`, { hint: 'The job stopped; its receipt covers what was produced.' })
  }
}

export class TooManyFramesError extends ClawnodeError {
  static override name = 'TooManyFramesError'
  constructor (limit: number) {
    super(`The consumer sent more than ${limit} frames ahead of being asked`, { hint: 'The peer does not follow the lease protocol; the lease is abandoned.' })
  }
}

export interface LeaseInbox {
  /** The next frame, which must be of this type; bounded by `timeoutMs`. */
  next: <T extends 'usageAck' | 'receiptAck'>(type: T, timeoutMs: number) => Promise<Extract<Frame, { type: T }>>
  /** Stops reading (the lease is over). */
  close: () => void
}

export function leaseInbox (lp: FrameStream, onCancel: (reason: string) => void): LeaseInbox {
  const queue: Frame[] = []
  let failure: unknown
  let waiter: PromiseWithResolvers<void> | undefined
  const reading = new AbortController()
  void (async () => {
    try {
      for (;;) {
        const frame = decodeFrame(await lp.read({ signal: reading.signal }))
        if (frame.type === 'cancel') { onCancel(frame.reason); continue }
        if (frame.type !== 'usageAck' && frame.type !== 'receiptAck') throw new UnexpectedFrameError('usage ack, receipt ack or cancel', frame.type)
        if (queue.length >= MAX_QUEUED_CONSUMER_FRAMES) throw new TooManyFramesError(MAX_QUEUED_CONSUMER_FRAMES)
        queue.push(frame)
        waiter?.resolve()
      }
    } catch (err) {
      failure = err
      waiter?.resolve()
    }
  })()
  return {
    async next (type, timeoutMs) {
      const signal = AbortSignal.timeout(timeoutMs)
      for (;;) {
        const frame = queue.shift()
        if (frame !== undefined) {
          if (frame.type !== type) throw new UnexpectedFrameError(type, frame.type)
          return frame as Extract<Frame, { type: typeof type }>
        }
        if (failure !== undefined) throw failure
        signal.throwIfAborted()
        waiter = Promise.withResolvers()
        const onAbort = (): void => { waiter?.resolve() }
        signal.addEventListener('abort', onAbort, { once: true })
        try { await waiter.promise } finally { signal.removeEventListener('abort', onAbort) }
      }
    },
    close () { reading.abort(new Error('the lease is over')) }
  }
}
