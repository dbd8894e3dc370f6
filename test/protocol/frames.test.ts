/**
 * Lease frames: each kind survives encode → decode; the zero-copy output encoder writes exactly the
 * bytes protons writes (for every length class of the varints involved), and decodeFrameList reads them
 * back as views on the received pieces however they were split, and any other frame as decodeFrame
 * does; broken frames are refused.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Uint8ArrayList } from 'uint8arraylist'
import { decodeFrame, decodeFrameList, encodeFrame, encodeOutputFrame } from '../../protocol/index.ts'
import type { Frame } from '../../protocol/index.ts'

test('the zero-copy output frame is byte for byte what protons encodes', () => {
  for (const n of [0, 1, 100, 127, 128, 16_383, 16_384, 65_536, 2_097_152]) {
    for (const stream of ['stdout', 'stderr'] as const) {
      const data = new Uint8Array(n).map((_, i) => i % 251)
      const fast = encodeOutputFrame(stream, data).subarray()
      assert.is(Buffer.from(fast).equals(Buffer.from(encodeFrame({ type: 'output', stream, data }))), true, `${stream} ${n}`)
      const back = decodeFrame(fast)
      assert.is(back.type, 'output')
      assert.is((back as { stream: string }).stream, stream)
      assert.is(Buffer.from((back as { data: Uint8Array }).data).equals(Buffer.from(data)), true)
    }
  }
})

test('an output frame is read back without a copy, however the received chunks split it', () => {
  for (const n of [0, 1, 127, 128, 16_384, 65_519, 65_536, 2_097_152]) {
    for (const stream of ['stdout', 'stderr'] as const) {
      const data = new Uint8Array(n).map((_, i) => i % 251)
      const frame = encodeFrame({ type: 'output', stream, data })
      // Every split point in the header, and some in the data.
      for (const at of [...Array.from({ length: Math.min(frame.byteLength, 16) }, (_, i) => i), frame.byteLength >> 1, frame.byteLength - 1]) {
        const out = decodeFrameList(new Uint8ArrayList(frame.subarray(0, at), frame.subarray(at)))
        assert.ok(out.type === 'output', `${stream} ${n} split at ${at}`)
        assert.is(out.stream, stream)
        assert.is(Buffer.from(out.data.subarray()).equals(Buffer.from(data)), true)
        for (const piece of out.data) assert.is(piece.buffer, frame.buffer, 'a view on the received bytes, not a copy')
      }
    }
  }
})

test('decodeFrameList reads every other frame, and output laid out otherwise, as decodeFrame does', () => {
  const bytes = Uint8Array.of(1, 2, 3)
  for (const f of [{ type: 'order', bytes }, { type: 'receipt', bytes }, { type: 'cancel', reason: 'x' }] as Frame[]) {
    const frame = encodeFrame(f)
    assert.equal(decodeFrameList(new Uint8ArrayList(frame.subarray(0, 2), frame.subarray(2))), f)
  }
  // Valid protobuf that decodeFrame reads as output: data before stream; an unknown field after.
  const swapped = Uint8Array.from([0x2a, 13, 0x12, 3, 1, 2, 3, 0x0a, 6, ...Buffer.from('stdout')])
  const unknown = Uint8Array.from([0x2a, 15, 0x0a, 6, ...Buffer.from('stdout'), 0x12, 3, 1, 2, 3, 0x18, 1])
  for (const frame of [swapped, unknown]) {
    const out = decodeFrameList(new Uint8ArrayList(frame.subarray(0, 5), frame.subarray(5)))
    assert.ok(out.type === 'output')
    assert.equal([out.stream, [...out.data.subarray()]], ['stdout', [1, 2, 3]])
  }
  // A cut frame, a byte too many, an unknown stream: refused, by name.
  const good = encodeFrame({ type: 'output', stream: 'stdout', data: bytes })
  const broken = [good.subarray(0, good.byteLength - 1), Uint8Array.from([...good, 0]), Uint8Array.from(good).map((b, i) => i === 4 ? 0x78 : b)]
  for (const frame of broken) assert.throws(() => decodeFrameList(new Uint8ArrayList(frame)), (err: Error) => err.name === 'MalformedMessageError')
})

test('every kind of frame round-trips; empty, doubled and unknown-stream frames are refused', () => {
  const bytes = Uint8Array.of(1, 2, 3)
  const frames: Frame[] = [
    { type: 'order', bytes }, { type: 'bid', bytes }, { type: 'decline', bytes }, { type: 'award', bytes },
    { type: 'artifact', path: 'a/b.txt', data: bytes, last: true, size: 3, sha256: new Uint8Array(32) },
    { type: 'receipt', bytes }, { type: 'receiptAck', bytes }, { type: 'error', name: 'X', message: 'y', retryable: true }, { type: 'cancel', reason: 'enough' }
  ]
  for (const f of frames) assert.equal(JSON.stringify(decodeFrame(encodeFrame(f))), JSON.stringify(f))
  assert.throws(() => decodeFrame(new Uint8Array()), (err: Error) => err.name === 'MalformedMessageError')
  const two = Uint8Array.from([...encodeFrame({ type: 'order', bytes }), ...encodeFrame({ type: 'bid', bytes })])
  assert.throws(() => decodeFrame(two), (err: Error) => err.name === 'MalformedMessageError')
  const odd = Uint8Array.from([0x2a, 5, 0x0a, 3, 0x66, 0x6f, 0x6f])
  assert.throws(() => decodeFrame(odd), (err: Error) => err.name === 'MalformedMessageError')
})

test.run()
