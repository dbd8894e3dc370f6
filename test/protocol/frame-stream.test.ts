/**
 * Frames on a real libp2p stream between two nodes on loopback: frames of any size up to the limit
 * arrive whole and in order, joined (read) or as the received pieces (readList); a length past the limit is refused before its bytes are buffered; a
 * reader that stops makes the writer wait (the stream pauses) instead of the stream being reset; the
 * end of the stream is a named error.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createClawNode } from '../../node/index.ts'
import type { ClawNode } from '../../node/index.ts'
import { frameStream } from '../../protocol/index.ts'
import type { FrameStream } from '../../protocol/index.ts'
import type { Stream } from '@libp2p/interface'
import { bounded, rejectsWith, setup, tempDir } from '../helpers.ts'

const PROTOCOL = '/clawnode/test/frames/1.0.0'
const MAX = 8 * 1024 * 1024

interface Ctx { a: ClawNode, b: ClawNode, inbound: Array<{ stream: Stream, frames: FrameStream }>, next: () => Promise<{ stream: Stream, frames: FrameStream }> }
const s = suite<Ctx>('frame stream', {} as Ctx)

s.before(setup(async (ctx) => {
  ctx.a = await createClawNode({ dataDir: await tempDir() })
  ctx.b = await createClawNode({ dataDir: await tempDir() })
  await ctx.a.start()
  await ctx.b.start()
  let waiting: PromiseWithResolvers<{ stream: Stream, frames: FrameStream }> | undefined
  ctx.inbound = []
  await ctx.b.libp2p.handle(PROTOCOL, (stream) => {
    const entry = { stream, frames: frameStream(stream, { maxFrameBytes: MAX, highWaterBytes: 256 * 1024 }) }
    if (waiting !== undefined) { waiting.resolve(entry); waiting = undefined } else ctx.inbound.push(entry)
  })
  ctx.next = async () => {
    const queued = ctx.inbound.shift()
    if (queued !== undefined) return queued
    waiting = Promise.withResolvers()
    return await waiting.promise
  }
}))

s.after(async (ctx) => {
  await ctx.a?.stop()
  await ctx.b?.stop()
})

const open = async (ctx: Ctx): Promise<{ out: Stream, writer: FrameStream, reader: FrameStream, inStream: Stream }> => {
  const out = await ctx.a.libp2p.dialProtocol(ctx.b.getMultiaddrs(), PROTOCOL, { signal: AbortSignal.timeout(5_000) })
  const writer = frameStream(out, { maxFrameBytes: MAX })
  await writer.write(Uint8Array.of(0))
  const { stream: inStream, frames: reader } = await ctx.next()
  const first = await reader.read({ signal: AbortSignal.timeout(5_000) })
  assert.is(Buffer.from(first).toString('hex'), '00')
  return { out, writer, reader, inStream }
}

s('frames of every size up to the limit arrive whole and in order', bounded(30_000, async (ctx) => {
  const { out, writer, reader } = await open(ctx)
  const sizes = [0, 1, 127, 128, 16_383, 16_384, 65_536, 1_000_003, MAX]
  // Written while being read: a writer that ran far ahead of its reader would be made to wait.
  const writing = (async () => { for (const [i, n] of sizes.entries()) await writer.write(new Uint8Array(n).fill(i), { signal: AbortSignal.timeout(10_000) }) })()
  for (const [i, n] of sizes.entries()) {
    const frame = await reader.read({ signal: AbortSignal.timeout(10_000) })
    assert.is(frame.byteLength, n)
    assert.ok(frame.every(b => b === i), `frame ${i} intact`)
  }
  await writing
  await out.close()
  await rejectsWith(reader.read({ signal: AbortSignal.timeout(5_000) }), 'StreamEndedError')
}))

s('readList hands a frame over as the received chunks hold it, without joining them', bounded(30_000, async (ctx) => {
  const { out, writer, reader } = await open(ctx)
  const sizes = [0, 1, 65_536, 1_000_003]
  const writing = (async () => { for (const [i, n] of sizes.entries()) await writer.write(new Uint8Array(n).fill(i + 1), { signal: AbortSignal.timeout(10_000) }) })()
  for (const [i, n] of sizes.entries()) {
    const frame = await reader.readList({ signal: AbortSignal.timeout(10_000) })
    assert.is(frame.byteLength, n)
    assert.ok([...frame].every(piece => piece.every(b => b === i + 1)), `frame ${i} intact`)
    // Noise hands over pieces of at most 65,519 bytes: a 1 MB frame comes as many of them.
    if (n === 1_000_003) assert.ok([...frame].length >= Math.ceil(n / 65_519), 'the pieces as received')
  }
  await writing
  await out.close()
  await rejectsWith(reader.readList({ signal: AbortSignal.timeout(5_000) }), 'StreamEndedError')
}))

s('a length past the limit is refused, by name, on both sides', bounded(20_000, async (ctx) => {
  const { out, writer, reader } = await open(ctx)
  await rejectsWith(writer.write(new Uint8Array(MAX + 1)), 'MessageTooLargeError')
  // A peer that sends the length anyway: refused from the header alone.
  out.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]))
  await rejectsWith(reader.read({ signal: AbortSignal.timeout(5_000) }), 'MessageTooLargeError')
  out.abort(new Error('done'))
}))

s('a reader that stops makes the writer wait; nothing is reset, nothing lost', bounded(60_000, async (ctx) => {
  const { out, writer, reader, inStream } = await open(ctx)
  const size = 64 * 1024
  const total = 32 * 1024 * 1024 / size
  let written = 0
  const writing = (async () => {
    // (A frame's bytes are queued as they are, not copied: each write gets its own buffer.)
    for (let i = 0; i < total; i++) { await writer.write(new Uint8Array(size).fill(i % 256), { signal: AbortSignal.timeout(30_000) }); written++ }
  })()
  // The reader is busy elsewhere for a while: the writer must stall well short of the whole 32 MiB.
  await new Promise(resolve => setTimeout(resolve, 1_500))
  const stalledAt = written
  assert.ok(stalledAt < total / 2, `the writer got ${stalledAt} of ${total} frames out with nobody reading`)
  assert.is(inStream.status, 'open')
  for (let i = 0; i < total; i++) {
    const frame = await reader.read({ signal: AbortSignal.timeout(10_000) })
    assert.is(frame.byteLength, size)
    assert.is(frame[0], i % 256)
  }
  await writing
  assert.is(written, total)
  await out.close()
}))

s.run()
