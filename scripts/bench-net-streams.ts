/**
 * The stream part of scripts/bench-net.ts: one-way throughput and echo CPU time of a lease's data path
 * (output frames as the provider writes them and the consumer reads them) against a bare libp2p stream
 * between the same two clawnode nodes, and against a raw TCP socket pair, all on 127.0.0.1 in this one
 * process (so CPU time covers both ends), alternating round by round.
 */
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createConnection, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { Uint8ArrayList } from 'uint8arraylist'
import { LEASE_STEP_TIMEOUT_MS, MAX_FRAME_BYTES, decodeFrame, decodeFrameList, encodeFrame, encodeOutputFrame, frameStream } from '../protocol/index.ts'
import type { Frame, FrameStream } from '../protocol/index.ts'
import { dialable, median, startPeer, stopPeers, untilJoined } from './bench-net-worker.ts'
import type { Stream } from '@libp2p/interface'

export interface StreamsInit { transferBytes: number, rounds: number }
export const CASES = ['tcp', 'bare', 'frames', 'lease'] as const
type Case = typeof CASES[number]
interface Sample { ms: number, cpuMs: number }
export interface StreamsReport {
  chunkBytes: number
  transferBytes: number
  rounds: number
  oneWayMiBps: Record<Case, number>
  echoMiBps: Record<Case, number>
  /** CPU time (both ends, both directions) per MiB of payload echoed. */
  echoCpuMsPerMiB: Record<Case, number>
  /**
   * What the lease path does per MiB besides the stream itself, measured alone: hashing (provider and
   * consumer each), encoding an output frame, decoding one from the two received chunks it spans without
   * a copy (decodeFrameList; noise hands over 65,519-byte pieces, so nearly every 64 KiB frame spans
   * two), and, for comparison, the copying path it replaced: joining the two pieces, then decodeFrame.
   */
  leasePathCpuMsPerMiB: { sha256: number, encodeFrame: number, decodeFrameList: number, reassemble: number, decodeFrame: number }
}

const CHUNK = 64 * 1024
const MiB = 1024 * 1024
const TRANSFER_TIMEOUT_MS = 60_000
const PROTO = { bareSink: '/clawnode/bench/bare-sink/1.0.0', bareEcho: '/clawnode/bench/bare-echo/1.0.0', leaseSink: '/clawnode/bench/lease-sink/1.0.0', leaseEcho: '/clawnode/bench/lease-echo/1.0.0', framesSink: '/clawnode/bench/frames-sink/1.0.0', framesEcho: '/clawnode/bench/frames-echo/1.0.0' }
const payload = randomBytes(CHUNK)

/**
 * The provider's output path (node/provider-service.ts): hash, then chain a frameStream write of an
 * output frame (encodeOutputFrame: a protobuf header in front of the data as the runner handed it, no
 * copy; the echo side hands back the pieces it read, as they are). The provider's runner does not wait on
 * the chain; a sender here does, after each frame, which costs nothing while the stream keeps up (a
 * write resolves at once unless over FRAME_HIGH_WATER_BYTES are queued unsent) and keeps its memory
 * bounded when it does not.
 */
function outputSender (lp: FrameStream, hashing = true): { push: (data: Uint8Array | Uint8ArrayList) => Promise<void>, finish: () => Promise<void> } {
  const digest = createHash('sha256')
  const send = async (frame: Frame): Promise<void> => { await lp.write(encodeFrame(frame), { signal: AbortSignal.timeout(LEASE_STEP_TIMEOUT_MS) }) }
  let sending = Promise.resolve()
  return {
    async push (data) {
      if (hashing) for (const piece of data instanceof Uint8Array ? [data] : data) digest.update(piece)
      sending = sending.then(async () => { await lp.write(encodeOutputFrame('stdout', data), { signal: AbortSignal.timeout(LEASE_STEP_TIMEOUT_MS) }) })
      await sending
    },
    async finish () {
      await sending
      // The lease ends with a receipt carrying the digest of what was delivered; here just the digest.
      await send({ type: 'receipt', bytes: digest.digest() })
    }
  }
}

/**
 * The consumer's read loop (node/consumer-service.ts): read, decode, hash each output frame until the
 * receipt. Output frames are read without a copy: the data as the pieces of the received chunks.
 */
async function readOutput (lp: FrameStream, signal: AbortSignal, onOutput?: (data: Uint8ArrayList) => Promise<void>, hashing = true): Promise<number> {
  const digest = createHash('sha256')
  let bytes = 0
  for (;;) {
    const frame = decodeFrameList(await lp.readList({ signal }))
    if (frame.type === 'output') {
      if (hashing) for (const piece of frame.data) digest.update(piece)
      bytes += frame.data.byteLength
      await onOutput?.(frame.data)
      continue
    }
    if (frame.type !== 'receipt') throw new Error(`unexpected ${frame.type} frame`)
    if (hashing && !Buffer.from(frame.bytes).equals(digest.digest())) throw new Error('the output does not match its digest')
    return bytes
  }
}

async function sendBare (stream: Stream, bytes: number, signal: AbortSignal): Promise<void> {
  for (let sent = 0; sent < bytes; sent += CHUNK) if (!stream.send(payload)) await stream.onDrain({ signal })
}

async function sendTcp (socket: Socket, bytes: number, signal: AbortSignal): Promise<void> {
  for (let sent = 0; sent < bytes; sent += CHUNK) if (!socket.write(payload)) await once(socket, 'drain', { signal })
}

async function countTcp (socket: Socket, signal: AbortSignal): Promise<number> {
  let n = 0
  socket.on('data', (c: Buffer) => { n += c.byteLength })
  await once(socket, 'end', { signal })
  return n
}

/** CPU time per MiB of one step on 64 KiB chunks, alone: the median of 5 runs of 256 (allocation makes single runs noisy). */
const cpuPerMiB = (fn: () => void): number => median(Array.from({ length: 5 }, () => {
  const c = process.cpuUsage()
  for (let i = 0; i < 256; i++) fn()
  const u = process.cpuUsage(c)
  return (u.user + u.system) / 1000 / (256 * CHUNK / MiB)
}))

/** Bounds a wait that takes no signal of its own. */
async function within<T> (p: Promise<T>, signal: AbortSignal): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}

/** Reads a lease stream's opening frame (order, then bid) and insists on its type. */
async function expectFrame (lp: FrameStream, type: Frame['type'], signal: AbortSignal): Promise<void> {
  const frame = decodeFrame(await lp.read({ signal }))
  if (frame.type !== type) throw new Error(`expected ${type}, got ${frame.type}`)
}

export async function measureStreams (root: string, init: StreamsInit): Promise<StreamsReport> {
  const n = init.transferBytes
  // One sink at a time: a receiver hands its byte count to whoever runs the case.
  let sunk: ((bytes: number) => void) | undefined
  const sink = async (signal: AbortSignal): Promise<number> => await within(new Promise<number>((resolve) => { sunk = resolve }), signal)
  const guard = (stream: Stream, fn: () => Promise<void>): void => { fn().catch((err: unknown) => { stream.abort(err as Error) }) }
  const GO = new Uint8Array([1])
  const order = encodeFrame({ type: 'order', bytes: GO })
  const bid = encodeFrame({ type: 'bid', bytes: GO })

  // Two plain nodes on loopback: they hold no relay reservation, and go idle once they have joined each other.
  const [a, b] = [await startPeer(root, [], []), await startPeer(root, [], [])]
  const servers: Server[] = []
  try {
    // Every receiver is reading before it says go, and no sender sends bulk before go, as in a lease
    // (order, bid, award, then output). Data sent ahead of the handler piles up unread in the stream,
    // which js-libp2p resets past 4 MiB (maxReadBufferLength).
    const handle = b.node.libp2p.handle.bind(b.node.libp2p)
    await handle(PROTO.bareSink, (stream) => {
      guard(stream, async () => { let got = 0; const counting = (async () => { for await (const c of stream) got += c.byteLength })(); stream.send(GO); await counting; await stream.close(); sunk?.(got) })
    })
    await handle(PROTO.bareEcho, (stream) => {
      guard(stream, async () => {
        const echoing = (async () => { for await (const c of stream) if (!stream.send(c)) await stream.onDrain({ signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS) }) })()
        stream.send(GO)
        await echoing
        await stream.close()
      })
    })
    for (const [sinkId, echoId, hashing] of [[PROTO.leaseSink, PROTO.leaseEcho, true], [PROTO.framesSink, PROTO.framesEcho, false]] as const) {
      await handle(sinkId, (stream) => {
        guard(stream, async () => {
          const signal = AbortSignal.timeout(TRANSFER_TIMEOUT_MS)
          const lp = frameStream(stream, { maxFrameBytes: MAX_FRAME_BYTES })
          await expectFrame(lp, 'order', signal)
          await lp.write(bid, { signal })
          const got = await readOutput(lp, signal, undefined, hashing)
          await stream.close()
          sunk?.(got)
        })
      })
      await handle(echoId, (stream) => {
        guard(stream, async () => {
          const signal = AbortSignal.timeout(TRANSFER_TIMEOUT_MS)
          const lp = frameStream(stream, { maxFrameBytes: MAX_FRAME_BYTES })
          await expectFrame(lp, 'order', signal)
          await lp.write(bid, { signal })
          // Each frame read is sent back before the next is read: when the way back is slower, the echo
          // side stops reading, frameStream pauses the stream and yamux makes the sender wait.
          const back = outputSender(lp, hashing)
          await readOutput(lp, signal, back.push, hashing)
          await back.finish()
          await stream.close()
        })
      })
    }
    const sinkServer = createServer((socket) => { void countTcp(socket, AbortSignal.timeout(TRANSFER_TIMEOUT_MS)).then((got) => { socket.end(); sunk?.(got) }, () => { socket.destroy() }) })
    const echoServer = createServer((socket) => { socket.pipe(socket); socket.on('error', () => { socket.destroy() }) })
    for (const s of [sinkServer, echoServer]) { servers.push(s); s.listen(0, '127.0.0.1'); await once(s, 'listening') }
    const port = (s: Server): number => (s.address() as { port: number }).port
    const bAddr = multiaddr(dialable(b.node)[0] ?? '')
    await a.node.libp2p.dial(bAddr)
    // Measure once both are idle: connected, and their first DHT self-query done.
    const notJoined = await untilJoined([a, b], 10_000)
    if (notJoined > 0) throw new Error(`${notJoined} of the two stream nodes did not join (routing table, first DHT self-query) within 10 s`)
    const connect = async (p: number, signal: AbortSignal): Promise<Socket> => { const s = createConnection(p, '127.0.0.1'); await once(s, 'connect', { signal }); return s }
    /** A bare stream the receiver said go on, and the iterator that read the go. */
    const openBare = async (protocol: string, signal: AbortSignal): Promise<{ s: Stream, it: AsyncIterator<{ byteLength: number }> }> => {
      const s = await a.node.libp2p.dialProtocol(bAddr, protocol, { signal })
      const it = s[Symbol.asyncIterator]()
      await within(it.next(), signal)
      return { s, it }
    }
    const openLease = async (protocol: string, signal: AbortSignal): Promise<{ s: Stream, lp: FrameStream }> => {
      const s = await a.node.libp2p.dialProtocol(bAddr, protocol, { signal })
      const lp = frameStream(s, { maxFrameBytes: MAX_FRAME_BYTES })
      await lp.write(order, { signal })
      await expectFrame(lp, 'bid', signal)
      return { s, lp }
    }

    // Each case sets up (connect, open the stream, handshake) and returns the transfer, which alone is timed.
    type Run = (signal: AbortSignal) => Promise<() => Promise<number>>
    /** The lease data path; with hashing off, the frames alone (what the receipt's digest costs is the difference). */
    const leaseRuns = (sinkId: string, echoId: string, hashing: boolean): { oneWay: Run, echo: Run } => ({
      oneWay: async (signal) => {
        const got = sink(signal)
        const { s, lp } = await openLease(sinkId, signal)
        return async () => {
          const out = outputSender(lp, hashing)
          for (let sent = 0; sent < n; sent += CHUNK) await out.push(payload)
          await out.finish()
          await s.close({ signal })
          return await got
        }
      },
      echo: async (signal) => {
        const { s, lp } = await openLease(echoId, signal)
        return async () => {
          const back = readOutput(lp, signal, undefined, hashing)
          const out = outputSender(lp, hashing)
          for (let sent = 0; sent < n; sent += CHUNK) await out.push(payload)
          await out.finish()
          const got = await back
          await s.close({ signal })
          return got
        }
      }
    })
    const runs: Record<Case, { oneWay: Run, echo: Run }> = {
      tcp: {
        oneWay: async (signal) => {
          const got = sink(signal)
          const s = await connect(port(sinkServer), signal)
          return async () => { await sendTcp(s, n, signal); s.end(); const r = await got; s.destroy(); return r }
        },
        echo: async (signal) => {
          const s = await connect(port(echoServer), signal)
          return async () => { const back = countTcp(s, signal); await sendTcp(s, n, signal); s.end(); const r = await back; s.destroy(); return r }
        }
      },
      bare: {
        oneWay: async (signal) => {
          const got = sink(signal)
          const { s } = await openBare(PROTO.bareSink, signal)
          return async () => { await sendBare(s, n, signal); await s.close({ signal }); return await got }
        },
        echo: async (signal) => {
          const { s, it } = await openBare(PROTO.bareEcho, signal)
          return async () => {
            const back = (async () => { let got = 0; for (let r = await it.next(); r.done !== true; r = await it.next()) got += r.value.byteLength; return got })()
            await sendBare(s, n, signal)
            await s.close({ signal })
            return await within(back, signal)
          }
        }
      },
      lease: leaseRuns(PROTO.leaseSink, PROTO.leaseEcho, true),
      frames: leaseRuns(PROTO.framesSink, PROTO.framesEcho, false)
    }
    const measure = async (name: string, run: Run): Promise<Sample> => {
      const transfer = await run(AbortSignal.timeout(TRANSFER_TIMEOUT_MS))
      const c = process.cpuUsage()
      const t = performance.now()
      const got = await transfer()
      const ms = performance.now() - t
      const u = process.cpuUsage(c)
      if (got !== n) throw new Error(`${name}: received ${got} of ${n} bytes`)
      return { ms, cpuMs: (u.user + u.system) / 1000 }
    }
    const series: Record<string, Sample[]> = {}
    for (let i = -1; i < init.rounds; i++) {
      for (let k = 0; k < CASES.length; k++) {
        const name = CASES[(Math.max(i, 0) + k) % CASES.length] as Case
        for (const kind of ['oneWay', 'echo'] as const) {
          const sample = await measure(`${name} ${kind}`, runs[name][kind])
          // Round -1 warms up the JIT and the connection; it is not counted.
          if (i >= 0) (series[`${name}.${kind}`] ??= []).push(sample)
        }
      }
      process.stderr.write(`\rstreams: round ${i + 1}/${init.rounds}`)
    }
    process.stderr.write('\n')
    const mib = n / MiB
    const per = (f: (c: Case) => number): Record<Case, number> => ({ tcp: f('tcp'), bare: f('bare'), frames: f('frames'), lease: f('lease') })
    const frame = encodeFrame({ type: 'output', stream: 'stdout', data: payload })
    const pieces = [frame.subarray(0, frame.byteLength >> 1), frame.subarray(frame.byteLength >> 1)]
    const spanning = new Uint8ArrayList(...pieces)
    return {
      chunkBytes: CHUNK,
      transferBytes: n,
      rounds: init.rounds,
      oneWayMiBps: per(c => median((series[`${c}.oneWay`] ?? []).map(s => mib / (s.ms / 1000)))),
      echoMiBps: per(c => median((series[`${c}.echo`] ?? []).map(s => mib / (s.ms / 1000)))),
      echoCpuMsPerMiB: per(c => median((series[`${c}.echo`] ?? []).map(s => s.cpuMs / mib))),
      leasePathCpuMsPerMiB: {
        sha256: cpuPerMiB(() => createHash('sha256').update(payload).digest()),
        encodeFrame: cpuPerMiB(() => encodeOutputFrame('stdout', payload)),
        decodeFrameList: cpuPerMiB(() => decodeFrameList(spanning.sublist())),
        reassemble: cpuPerMiB(() => new Uint8ArrayList(...pieces).subarray()),
        decodeFrame: cpuPerMiB(() => decodeFrame(frame))
      }
    }
  } finally {
    for (const s of servers) s.close()
    await stopPeers([a, b])
  }
}
