/** Small byte and number helpers shared by the signed message codecs. */
import { createHash } from 'node:crypto'
import { MalformedMessageError } from './errors.ts'

export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i])
}

/** sha256 over the concatenation of the parts. */
export function sha256 (...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

/** A protobuf uint64 as a JS number; larger than a safe integer is a malformed message. */
export function safeNumber (n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedMessageError(what, 'has a number too large')
  return Number(n)
}
