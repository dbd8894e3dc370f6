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
export function encodeOutputFrame (stream: 'stdout' | 'stderr', data: Uint8Array): Uint8ArrayList {
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
