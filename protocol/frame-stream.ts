/**
 * Length-prefixed frames (unsigned varint length, then the bytes) on a libp2p stream, with
 * backpressure both ways:
 * - reading pauses the stream (yamux then stops granting its send window, so the peer waits) once more
 *   than `highWaterBytes` are buffered beyond what the frame being read needs, and resumes when the
 *   reader has taken them. A slow reader (an artifact going to disk) makes the sender wait instead of
 *   growing a buffer until the stream is reset;
 * - writing hands the frame to the stream at once and waits only while more than `highWaterBytes` are
 *   queued unsent (the peer's window is used up), until the muxer sends them.
 * The length is checked against `maxFrameBytes` before a byte of the frame is buffered past it. Frames
 * are parsed straight from the buffered chunks: no byte-at-a-time reads, no copy when a frame arrived
 * in one chunk, and none at all through readList.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { ClawnodeError, MessageTooLargeError } from './errors.ts'
import type { Stream } from '@libp2p/interface'

/** Buffered bytes past the current frame at which reading pauses the stream (and queued bytes at which writing waits). */
export const FRAME_HIGH_WATER_BYTES = 1024 * 1024

/** The stream ended (or was reset) in the middle of a frame, or before one the reader waited for. */
export class StreamEndedError extends ClawnodeError {
  static override name = 'StreamEndedError'
  constructor (detail: string, options: { cause?: unknown } = {}) {
    super(`The stream ended ${detail}`, { ...options, retryable: true, hint: 'The peer went away or closed the stream early; try again, or another peer.' })
  }
}

export interface FrameStream {
  /** The next whole frame. Throws StreamEndedError at the end of the stream. */
  read: (options?: { signal?: AbortSignal }) => Promise<Uint8Array>
  /**
   * The next whole frame as the received chunks hold it, never copied (`read` copies a frame that
   * spans two chunks into one buffer). Noise hands over 65,519-byte pieces, so nearly every 64 KiB
   * output frame spans two: the output path reads this way (see decodeFrameList).
   */
  readList: (options?: { signal?: AbortSignal }) => Promise<Uint8ArrayList>
  /**
   * Queues one frame; resolves at once unless too much is queued unsent. The bytes are queued as they
   * are, not copied: do not change them afterwards.
   */
  write: (frame: Uint8Array | Uint8ArrayList, options?: { signal?: AbortSignal }) => Promise<void>
}

export function varintBytes (n: number): Uint8Array {
  const out: number[] = []
  let v = n
  while (v >= 0x80) { out.push((v & 0x7f) | 0x80); v = Math.floor(v / 128) }
  out.push(v)
  return Uint8Array.from(out)
}

async function untilOrAborted (p: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) { await p; return }
  signal.throwIfAborted()
  const aborted = Promise.withResolvers<never>()
  const onAbort = (): void => { aborted.reject(signal.reason) }
  signal.addEventListener('abort', onAbort, { once: true })
  try { await Promise.race([p, aborted.promise]) } finally { signal.removeEventListener('abort', onAbort) }
}

export function frameStream (stream: Stream, init: { maxFrameBytes: number, highWaterBytes?: number }): FrameStream {
  const high = init.highWaterBytes ?? FRAME_HIGH_WATER_BYTES
  // A length past maxFrameBytes needs at most this many varint bytes to be recognised as too large.
  const maxHeader = varintBytes(init.maxFrameBytes).byteLength
  const buffered = new Uint8ArrayList()
  let wake: PromiseWithResolvers<void> | undefined
  let ended = false
  let endError: unknown
  let paused = false
  // Bytes the current read needs buffered (header plus body), so pausing never starves it.
  let needed = 0

  const pause = (): void => {
    if (paused || stream.readStatus !== 'readable') return
    try { stream.pause(); paused = true } catch {}
  }
  const resume = (): void => {
    if (!paused) return
    paused = false
    try { stream.resume() } catch {}
  }
  stream.addEventListener('message', (evt) => {
    buffered.append(evt.data)
    if (buffered.byteLength > needed + high) pause()
    wake?.resolve()
  })
  const onEnd = (err?: unknown): void => { ended = true; endError ??= err; wake?.resolve() }
  stream.addEventListener('remoteCloseWrite', () => { onEnd() })
  stream.addEventListener('close', (evt) => { onEnd((evt as { error?: unknown }).error) })

  /** The frame length and header size at the front of the buffer, once the header is complete. */
  const header = (): { length: number, size: number } | undefined => {
    let length = 0
    for (let i = 0; i < buffered.byteLength; i++) {
      const byte = buffered.get(i)
      length += (byte & 0x7f) * 2 ** (7 * i)
      if ((byte & 0x80) === 0) return { length, size: i + 1 }
      if (i + 1 >= maxHeader) throw new MessageTooLargeError('frame', length, init.maxFrameBytes)
    }
    return undefined
  }

  const readList = async (options: { signal?: AbortSignal } = {}): Promise<Uint8ArrayList> => {
    for (;;) {
      const h = header()
      if (h !== undefined && h.length > init.maxFrameBytes) throw new MessageTooLargeError('frame', h.length, init.maxFrameBytes)
      needed = h === undefined ? maxHeader : h.size + h.length
      if (h !== undefined && buffered.byteLength >= needed) {
        const frame = buffered.sublist(h.size, needed)
        buffered.consume(needed)
        needed = 0
        if (buffered.byteLength <= high) resume()
        return frame
      }
      if (ended) throw new StreamEndedError(buffered.byteLength === 0 ? 'before the next message' : 'in the middle of a message', { cause: endError })
      // The frame needs more than is buffered: let the peer send it.
      resume()
      wake = Promise.withResolvers()
      await untilOrAborted(wake.promise, options.signal)
    }
  }

  return {
    readList,
    async read (options = {}) { return (await readList(options)).subarray() },
    async write (frame, options = {}) {
      if (frame.byteLength > init.maxFrameBytes) throw new MessageTooLargeError('frame', frame.byteLength, init.maxFrameBytes)
      stream.send(new Uint8ArrayList(varintBytes(frame.byteLength), frame))
      // send() queues past the muxer's window without complaint: wait while too much is queued.
      while (stream.writeBufferLength > high) {
        if (stream.status !== 'open') throw new StreamEndedError('while writing', { cause: endError })
        await untilOrAborted(new Promise<void>((resolve) => {
          const done = (): void => { for (const e of ['drain', 'idle', 'close'] as const) stream.removeEventListener(e, done); resolve() }
          for (const e of ['drain', 'idle', 'close'] as const) stream.addEventListener(e, done)
        }), options.signal)
      }
    }
  }
}
