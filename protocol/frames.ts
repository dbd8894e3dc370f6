/**
 * Frames of a /clawnode/task/1.0.0 stream: one LeaseFrame per length-prefixed message, exactly one
 * field set. Decoding names what arrived, so each side can insist on what it expects next.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { MalformedMessageError } from './errors.ts'
import { varintBytes } from './frame-stream.ts'
import { LeaseFrame } from './gen/lease.js'

export type Frame =
  | { type: 'order', bytes: Uint8Array }
  | { type: 'bid', bytes: Uint8Array }
  | { type: 'decline', bytes: Uint8Array }
  | { type: 'award', bytes: Uint8Array }
  | { type: 'output', stream: 'stdout' | 'stderr', data: Uint8Array }
  | { type: 'artifact', path: string, data: Uint8Array, last: boolean, size: number, sha256: Uint8Array }
  | { type: 'receipt', bytes: Uint8Array }
  | { type: 'receiptAck', bytes: Uint8Array }
  | { type: 'usage', bytes: Uint8Array }
  | { type: 'usageAck', bytes: Uint8Array }
  | { type: 'error', name: string, message: string, retryable: boolean }
  | { type: 'cancel', reason: string }

const B = (b: Uint8Array): Uint8Array<ArrayBuffer> => Uint8Array.from(b)

export function encodeFrame (frame: Frame): Uint8Array {
  switch (frame.type) {
    case 'order': return LeaseFrame.encode({ order: B(frame.bytes) })
    case 'bid': return LeaseFrame.encode({ bid: B(frame.bytes) })
    case 'decline': return LeaseFrame.encode({ decline: B(frame.bytes) })
    case 'award': return LeaseFrame.encode({ award: B(frame.bytes) })
    case 'output': return LeaseFrame.encode({ output: { stream: frame.stream, data: B(frame.data) } })
    case 'artifact': return LeaseFrame.encode({ artifact: { path: frame.path, data: B(frame.data), last: frame.last, size: BigInt(frame.size), sha256: B(frame.sha256) } })
    case 'receipt': return LeaseFrame.encode({ receipt: B(frame.bytes) })
    case 'receiptAck': return LeaseFrame.encode({ receiptAck: B(frame.bytes) })
    case 'usage': return LeaseFrame.encode({ usage: B(frame.bytes) })
    case 'usageAck': return LeaseFrame.encode({ usageAck: B(frame.bytes) })
    case 'error': return LeaseFrame.encode({ error: { name: frame.name, message: frame.message, retryable: frame.retryable } })
    case 'cancel': return LeaseFrame.encode({ cancel: { reason: frame.reason } })
  }
}

export function decodeFrame (bytes: Uint8Array): Frame {
  let f: LeaseFrame
  try { f = LeaseFrame.decode(bytes) } catch (err) { throw new MalformedMessageError('lease frame', (err as Error).message, { cause: err }) }
  const frames: Frame[] = []
  if (f.order.byteLength > 0) frames.push({ type: 'order', bytes: f.order })
  if (f.bid.byteLength > 0) frames.push({ type: 'bid', bytes: f.bid })
  if (f.decline.byteLength > 0) frames.push({ type: 'decline', bytes: f.decline })
  if (f.award.byteLength > 0) frames.push({ type: 'award', bytes: f.award })
  if (f.output !== undefined) {
    if (f.output.stream !== 'stdout' && f.output.stream !== 'stderr') throw new MalformedMessageError('lease frame', 'has output for an unknown stream')
    frames.push({ type: 'output', stream: f.output.stream, data: f.output.data })
  }
  if (f.artifact !== undefined) {
    const a = f.artifact
    if (a.size > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedMessageError('lease frame', 'has an artifact size too large')
    frames.push({ type: 'artifact', path: a.path, data: a.data, last: a.last, size: Number(a.size), sha256: a.sha256 })
  }
  if (f.receipt.byteLength > 0) frames.push({ type: 'receipt', bytes: f.receipt })
  if (f.receiptAck.byteLength > 0) frames.push({ type: 'receiptAck', bytes: f.receiptAck })
  if (f.usage.byteLength > 0) frames.push({ type: 'usage', bytes: f.usage })
  if (f.usageAck.byteLength > 0) frames.push({ type: 'usageAck', bytes: f.usageAck })
  if (f.error !== undefined) frames.push({ type: 'error', name: f.error.name.slice(0, 100), message: f.error.message.slice(0, 1000), retryable: f.error.retryable })
  if (f.cancel !== undefined) frames.push({ type: 'cancel', reason: f.cancel.reason.slice(0, 200) })
  if (frames.length !== 1) throw new MalformedMessageError('lease frame', `carries ${frames.length} messages, expected exactly one`)
  return frames[0] as Frame
}

const STREAM_NAMES = { stdout: new TextEncoder().encode('stdout'), stderr: new TextEncoder().encode('stderr') }

/**
 * The output frame `encodeFrame` makes, byte for byte, without copying the data: the protobuf header
 * (LeaseFrame.output = OutputChunk { stream = 1, data = 2 }) in front of the caller's bytes. Output is
 * the hot path of a lease; every other frame is small or rare.
 */
export function encodeOutputFrame (stream: 'stdout' | 'stderr', data: Uint8Array | Uint8ArrayList): Uint8ArrayList {
  const name = STREAM_NAMES[stream]
  const dataLength = varintBytes(data.byteLength)
  const nameLength = varintBytes(name.byteLength)
  // Field 5 (output) and field 1 (stream) and 2 (data), all length-delimited (wire type 2); like
  // protons, an empty data field is left out.
  const dataField = data.byteLength === 0 ? [] : [0x12, ...dataLength]
  const inner = 1 + nameLength.byteLength + name.byteLength + dataField.length + data.byteLength
  const header = Uint8Array.from([0x2a, ...varintBytes(inner), 0x0a, ...nameLength, ...name, ...dataField])
  return new Uint8ArrayList(header, data)
}

/** A frame as decodeFrameList gives it: output data stays in the pieces it arrived in. */
export type ReceivedFrame = Exclude<Frame, { type: 'output' }> | { type: 'output', stream: 'stdout' | 'stderr', data: Uint8ArrayList }

/** The unsigned varint at `i` and the index past it; undefined past the end or past 4 bytes (values under 2^28). */
function varintAt (list: Uint8ArrayList, i: number): { value: number, next: number } | undefined {
  let value = 0
  for (let k = 0; k < 4 && i + k < list.byteLength; k++) {
    const byte = list.get(i + k)
    value += (byte & 0x7f) * 2 ** (7 * k)
    if ((byte & 0x80) === 0) return { value, next: i + k + 1 }
  }
  return undefined
}

/** An output frame laid out exactly as encodeOutputFrame (and protons) lay it out, its data as a sub-list; else undefined. */
function outputInPlace (frame: Uint8ArrayList): ReceivedFrame | undefined {
  if (frame.byteLength < 2 || frame.get(0) !== 0x2a) return undefined
  const inner = varintAt(frame, 1)
  if (inner === undefined || inner.next + inner.value !== frame.byteLength) return undefined
  let i = inner.next
  if (frame.byteLength < i + 8 || frame.get(i) !== 0x0a || frame.get(i + 1) !== 6) return undefined
  const named = (name: Uint8Array): boolean => name.every((byte, k) => frame.get(i + 2 + k) === byte)
  const stream = named(STREAM_NAMES.stdout) ? 'stdout' : named(STREAM_NAMES.stderr) ? 'stderr' : undefined
  if (stream === undefined) return undefined
  i += 8
  if (i === frame.byteLength) return { type: 'output', stream, data: new Uint8ArrayList() }
  if (frame.get(i) !== 0x12) return undefined
  const data = varintAt(frame, i + 1)
  if (data === undefined || data.next + data.value !== frame.byteLength) return undefined
  return { type: 'output', stream, data: frame.sublist(data.next) }
}

/**
 * decodeFrame for a frame read with FrameStream.readList. An output frame's data is handed on as the
 * received chunks hold it, without joining them: noise hands over 65,519-byte pieces, so nearly every
 * 64 KiB output frame spans two, and joining them (a fresh buffer and a copy per frame) was most of
 * what framing cost the lease's data path. Any other frame, or output laid out otherwise (valid
 * protobuf all the same), is joined and decoded by decodeFrame, with its checks.
 */
export function decodeFrameList (frame: Uint8ArrayList): ReceivedFrame {
  const output = outputInPlace(frame)
  if (output !== undefined) return output
  const decoded = decodeFrame(frame.subarray())
  return decoded.type === 'output' ? { ...decoded, data: new Uint8ArrayList(decoded.data) } : decoded
}
