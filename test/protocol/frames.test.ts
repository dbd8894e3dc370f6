/**
 * Lease frames: each kind survives encode → decode; the zero-copy output encoder writes exactly the
 * bytes protons writes (for every length class of the varints involved); broken frames are refused.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeFrame, encodeFrame, encodeOutputFrame } from '../../protocol/index.ts'
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
