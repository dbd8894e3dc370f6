/**
 * The second process of scripts/bench-net.ts, and the helpers both processes share. Forked with a role:
 * `peers` runs half of the discovery network (some nodes advertising capabilities) until told to stop;
 * `memory` measures RSS and heap growth per started idle node (run with --expose-gc) and the CPU the
 * idle nodes use. It talks to the parent over the fork IPC channel and exits by itself, also when the
 * parent goes away.
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
export interface MemoryInit { root: string, nodes: number, bootstrap: string[], settleMs: number, cpuWindowMs: number }
export interface MemoryReport {
  nodes: number
  /** Measured nodes that had joined (see `joined`) when the measurement began. */
  joinedNodes: number
  baseMiB: Usage
  afterMiB: Usage
  perNodeMiB: Usage
  /**
   * CPU time of the whole worker (the measured nodes and the first one) over a window once they are
   * idle, in % of one core, and the connections a measured node held (on loopback they all connect to
   * one another). Idle cost is mostly per connection: libp2p pings every connection every 10 s.
   */
  idleCpu: { windowMs: number, percent: number, perNodePercent: number, connectionsPerNode: number }
}
type Usage = { rss: number, heapTotal: number, heapUsed: number, external: number }
export type WorkerMessage =
  | { type: 'ready', bootstrap: string[], images: string[], notJoined: number }
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

/** The DHT's internals that tell whether a node has joined (@libp2p/kad-dht 16; not part of its API). */
interface DhtInternals { routingTable?: { size: number }, querySelf?: { initialQuerySelfHasRun?: unknown, querySelfPromise?: unknown } }

/**
 * A node has joined, and from then on idles, once it is connected, its routing table holds a peer and
 * its first DHT self-query (which fills the routing table; every other query waits for it) has
 * finished. Nodes on loopback hold no relay reservation (nobody there is behind NAT), so that is not
 * waited for.
 */
export function joined (p: Peer): boolean {
  const dht = p.node.libp2p.services.dht as unknown as DhtInternals
  return p.node.libp2p.getConnections().length > 0 &&
    (dht.routingTable?.size ?? 0) > 0 &&
    dht.querySelf !== undefined && dht.querySelf.initialQuerySelfHasRun == null && dht.querySelf.querySelfPromise == null
}

/** Waits, bounded, until every peer has joined; returns how many have not. */
export async function untilJoined (peers: Peer[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (peers.some(p => !joined(p)) && Date.now() < deadline) await sleep(100)
  return peers.filter(p => !joined(p)).length
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

/**
 * Starts a node on loopback (the default address policy: no relay reservation) bootstrapping from
 * `bootstrap`; advertises `images` if any.
 */
export async function startPeer (root: string, bootstrap: string[], images: string[]): Promise<Peer> {
  const dataDir = join(root, `node-${randomBytes(4).toString('hex')}`)
  await mkdir(dataDir)
  const node = await createClawNode({ dataDir, network: { bootstrap } })
  await node.start()
  if (images.length === 0) return { node, dataDir, images }
  const caps = createCapsService({ node, privateKey: await loadOrCreatePeerKey(dataDir), capabilities: providerCaps(images) })
  await caps.start()
  return { node, dataDir, caps, images }
}

/** Starts `count` peers a few at a time, numbered from `offset`: every odd-numbered one advertising `imagesPerProvider` images of its own. */
export async function startPeers (root: string, count: number, bootstrap: string[], imagesPerProvider: number, offset = 0): Promise<Peer[]> {
  const peers: Peer[] = []
  for (let i = 0; i < count; i += 5) {
    const batch = Array.from({ length: Math.min(5, count - i) }, (_, k) => offset + i + k)
    peers.push(...await Promise.all(batch.map(async (n) => await startPeer(root, bootstrap, n % 2 === 1 ? Array.from({ length: imagesPerProvider }, fakeImage) : []))))
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
  await untilJoined(peers, 10_000)
  const base = await settledUsage()
  for (let i = 0; i < init.nodes; i++) peers.push(await startPeer(root, init.bootstrap, []))
  // Idle means joined (connected, routing table filled by the first self-query), then a while longer.
  await untilJoined(peers, 15_000)
  const joinedNodes = peers.slice(1).filter(joined).length
  await sleep(init.settleMs)
  // CPU over a window of idling: the whole process, so the first node's share is in it too. Idle nodes
  // work in bursts (libp2p's connection monitor pings every connection every 10 s): the window is a
  // whole number of those periods, or the figure depends on whether a burst fell inside it.
  const connections = peers.slice(1).reduce((n, p) => n + p.node.libp2p.getConnections().length, 0) / init.nodes
  const cpu = process.cpuUsage()
  const t = performance.now()
  await sleep(init.cpuWindowMs)
  const used = process.cpuUsage(cpu)
  const windowMs = performance.now() - t
  const percent = (used.user + used.system) / 1000 / windowMs * 100
  const after = await settledUsage()
  await stopPeers(peers)
  const per = (k: keyof Usage): number => (after[k] - base[k]) / init.nodes
  return {
    nodes: init.nodes,
    joinedNodes,
    baseMiB: base,
    afterMiB: after,
    perNodeMiB: { rss: per('rss'), heapTotal: per('heapTotal'), heapUsed: per('heapUsed'), external: per('external') },
    idleCpu: { windowMs: Math.round(windowMs), percent, perNodePercent: percent / init.nodes, connectionsPerNode: connections }
  }
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
      const notJoined = await untilJoined(peers, 30_000)
      await send({ type: 'ready', bootstrap: first === undefined ? [] : dialable(first.node), images: peers.flatMap(p => p.images), notJoined })
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
