/**
 * The second process of scripts/bench-net.ts, and the helpers both processes share. Forked with a role:
 * `peers` runs half of the discovery network (some nodes advertising capabilities) until told to stop;
 * `memory` measures RSS and heap growth per started idle node (run with --expose-gc). It talks to the
 * parent over the fork IPC channel and exits by itself, also when the parent goes away.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCapsService, createClawNode, loadOrCreatePeerKey } from '../node/index.ts'
import type { CapsService, ClawNode } from '../node/index.ts'
import type { Capabilities } from '../protocol/index.ts'

export interface Strays { count: number, byKind: Record<string, number>, samples: string[] }
export interface Peer { node: ClawNode, dataDir: string, caps?: CapsService, images: string[] }
export interface PeersInit { root: string, nodes: number, bootstrap: string[], imagesPerProvider: number }
export interface MemoryInit { root: string, nodes: number, bootstrap: string[], settleMs: number }
export interface MemoryReport { nodes: number, settledNodes: number, baseMiB: Usage, afterMiB: Usage, perNodeMiB: Usage }
type Usage = { rss: number, heapTotal: number, heapUsed: number, external: number }
export type WorkerMessage =
  | { type: 'ready', bootstrap: string[], images: string[], unsettled: number }
  | { type: 'memory', report: MemoryReport }
  | { type: 'done', strays: Strays }
  | { type: 'error', message: string }

/** A worker never outlives this, whatever happens to its parent. */
const WORKER_LIFETIME_MS = 5 * 60_000
const MiB = 1024 * 1024

export const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 === 1 ? s[m] ?? 0 : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2 }
export const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)] ?? 0
export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
export const fakeImage = (): string => 'sha256:' + randomBytes(32).toString('hex')
export const tempRoot = async (): Promise<string> => await mkdtemp(join(tmpdir(), 'clawnode-bench-net-'))

/** A node has settled once it holds a relay reservation: until then it keeps walking the DHT for relays. */
export const settled = (p: Peer): boolean => p.node.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))

/** Waits, bounded, until every peer has settled; returns how many have not. */
export async function settle (peers: Peer[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (peers.some(p => !settled(p)) && Date.now() < deadline) await sleep(100)
  return peers.filter(p => !settled(p)).length
}

/**
 * Counts errors raised inside dependencies outside any await of ours (a 50-node run once died of a
 * TimeoutError thrown inside libp2p), keeping the process alive as `clawnode start` does.
 */
export function catchStrays (): Strays {
  const strays: Strays = { count: 0, byKind: {}, samples: [] }
  // Only rejections: an uncaught exception handler would also swallow the bench's own failures.
  process.on('unhandledRejection', (reason: unknown) => {
    strays.count++
    // libp2p sometimes rejects with a stream's abort event rather than its error.
    const inner = (reason as { error?: unknown } | undefined)?.error
    const e = reason instanceof Error ? reason : inner instanceof Error ? inner : new Error(String(reason))
    const key = reason instanceof Event ? `${reason.type} event: ${e.name}` : e.name
    strays.byKind[key] = (strays.byKind[key] ?? 0) + 1
    // Where it came from: the message and the top of the stack.
    if (strays.samples.length < 5) strays.samples.push(`${key}: ${e.message} | ${(e.stack ?? '').split('\n').slice(1, 6).map(l => l.trim()).join(' | ')}`)
  })
  return strays
}

export function providerCaps (images: string[]): Capabilities {
  return {
    clawnodeVersion: '0', cpuCores: 2, memoryBytes: 0, gpus: [], runtimes: [], images, models: [],
    prices: { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond: 1, perGbSecond: 0 }, maxConcurrentJobs: 1
  }
}

/** TCP addresses (with /p2p/) that another node can bootstrap from. */
export const dialable = (node: ClawNode): string[] => node.getMultiaddrs().map(String).filter(a => a.includes('/tcp/') && !a.includes('/p2p-circuit') && !a.includes('/webrtc'))

/** Starts a node on loopback (the default address policy) bootstrapping from `bootstrap`; advertises `images` if any. */
export async function startPeer (root: string, bootstrap: string[], images: string[], options: { relayServer?: boolean } = {}): Promise<Peer> {
  const dataDir = join(root, `node-${randomBytes(4).toString('hex')}`)
  await mkdir(dataDir)
  const node = await createClawNode({ dataDir, network: { bootstrap }, ...options })
  await node.start()
  if (images.length === 0) return { node, dataDir, images }
  const caps = createCapsService({ node, privateKey: await loadOrCreatePeerKey(dataDir), capabilities: providerCaps(images) })
  await caps.start()
  return { node, dataDir, caps, images }
}

/**
 * Every node listens on /p2p-circuit, and a node without a relay reservation random-walks the DHT
 * until it finds a relay with room (15 reservations each): one relay per RELAY_EVERY nodes, as
 * bootstrap operators would run, so that the nodes settle and go idle.
 */
export const RELAY_EVERY = 10

/**
 * Starts `count` peers a few at a time, numbered from `offset`: every RELAY_EVERY-th one a relay, every
 * other one advertising `imagesPerProvider` images of its own.
 */
export async function startPeers (root: string, count: number, bootstrap: string[], imagesPerProvider: number, offset = 0): Promise<Peer[]> {
  const peers: Peer[] = []
  for (let i = 0; i < count; i += 5) {
    const batch = Array.from({ length: Math.min(5, count - i) }, (_, k) => offset + i + k)
    peers.push(...await Promise.all(batch.map(async (n) => await startPeer(root, bootstrap, n % 2 === 1 ? Array.from({ length: imagesPerProvider }, fakeImage) : [], { relayServer: n % RELAY_EVERY === 0 }))))
  }
  return peers
}

/** Stops every peer, bounded: a node that does not stop in time is left for process exit. */
export async function stopPeers (peers: Peer[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.allSettled(peers.map(async (p) => { await p.caps?.stop(); await p.node.stop() })),
    new Promise(resolve => { timer = setTimeout(resolve, 20_000) })
  ])
  clearTimeout(timer)
}

function usage (): Usage {
  const m = process.memoryUsage()
  return { rss: m.rss / MiB, heapTotal: m.heapTotal / MiB, heapUsed: m.heapUsed / MiB, external: m.external / MiB }
}

async function settledUsage (): Promise<Usage> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('the memory worker needs --expose-gc')
  for (let i = 0; i < 3; i++) { gc(); await sleep(100) }
  return usage()
}

async function measureMemory (root: string, init: MemoryInit): Promise<MemoryReport> {
  // A first node loads every lazily imported module (WebRTC's native library among them) and warms the
  // JIT, so what follows is what each further node costs.
  const peers = [await startPeer(root, init.bootstrap, [])]
  await settle(peers, 10_000)
  const base = await settledUsage()
  for (let i = 0; i < init.nodes; i++) peers.push(await startPeer(root, init.bootstrap, []))
  // Idle means joined: connected, a relay reservation held, DHT self-queries done.
  await settle(peers, 15_000)
  await sleep(init.settleMs)
  const after = await settledUsage()
  const settledNodes = peers.slice(1).filter(settled).length
  await stopPeers(peers)
  const per = (k: keyof Usage): number => (after[k] - base[k]) / init.nodes
  return { nodes: init.nodes, settledNodes, baseMiB: base, afterMiB: after, perNodeMiB: { rss: per('rss'), heapTotal: per('heapTotal'), heapUsed: per('heapUsed'), external: per('external') } }
}

async function runWorker (role: string, init: PeersInit & MemoryInit): Promise<void> {
  const strays = catchStrays()
  const send = async (msg: WorkerMessage): Promise<void> => { if (process.connected) await new Promise<void>(resolve => { process.send?.(msg, () => { resolve() }) }) }
  setTimeout(() => { process.exit(1) }, WORKER_LIFETIME_MS).unref()
  // Under the parent's temp dir, which the parent removes however this process ends.
  const root = await mkdtemp(join(init.root, `${role}-`))
  try {
    if (role === 'memory') {
      await send({ type: 'memory', report: await measureMemory(root, init) })
    } else {
      const peers = await startPeers(root, init.nodes, init.bootstrap, init.imagesPerProvider)
      const first = peers[0]
      const stop = new Promise<void>((resolve) => {
        process.on('message', (m: { type?: string }) => { if (m.type === 'stop') resolve() })
        process.on('disconnect', () => { resolve() })
      })
      const unsettled = await settle(peers, 30_000)
      await send({ type: 'ready', bootstrap: first === undefined ? [] : dialable(first.node), images: peers.flatMap(p => p.images), unsettled })
      await stop
      await stopPeers(peers)
    }
  } catch (err) {
    await send({ type: 'error', message: (err as Error).stack ?? String(err) })
  } finally {
    await rm(root, { recursive: true, force: true })
  }
  await send({ type: 'done', strays })
  // node-datachannel's native threads can hold the process open after every node has stopped.
  process.exit(0)
}

if (process.argv[1] === import.meta.filename && process.argv[2] !== undefined) {
  await runWorker(process.argv[2], JSON.parse(process.argv[3] ?? '{}') as PeersInit & MemoryInit)
}
