/**
 * Capability discovery over a real libp2p network on loopback: providers advertise under capability
 * keys, a consumer finds exactly the capable ones and gets their verified records, and a stopped
 * provider is skipped.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { capabilityCid, capabilityKey, createCapsService, createClawNode, loadOrCreatePeerKey } from '../../node/index.ts'
import type { CapsService, ClawNode } from '../../node/index.ts'
import type { Capabilities } from '../../protocol/index.ts'
import { bounded, setup, tempDir } from '../helpers.ts'

// Short-lived records, so the test can watch a stopped provider's records lapse.
const TTL_MS = 4000
const IMAGE_X = 'sha256:' + '1'.repeat(64)
const IMAGE_Y = 'sha256:' + '2'.repeat(64)

function caps (images: string[], perCpuSecond: number): Capabilities {
  return {
    clawnodeVersion: '0.1.0', cpuCores: 2, memoryBytes: 2 ** 30, gpus: [], runtimes: ['gvisor'], images, models: [],
    prices: { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond, perGbSecond: 0 }, maxConcurrentJobs: 1
  }
}

interface Peer { node: ClawNode, caps: CapsService }
interface Ctx { boot: ClawNode, p1: Peer, p2: Peer, consumer: Peer }
const s = suite<Ctx>('capability discovery', {} as Ctx)

async function peer (bootstrap: string[], capabilities: Capabilities): Promise<Peer> {
  const dataDir = await tempDir()
  const node = await createClawNode({ dataDir, recordTtlMs: TTL_MS, network: { dhtMode: 'server', bootstrap, addressPolicy: 'loopback' } })
  await node.start()
  const service = createCapsService({ node, privateKey: await loadOrCreatePeerKey(dataDir), capabilities, ttlMs: TTL_MS })
  await service.start()
  return { node, caps: service }
}

s.before(setup(async (ctx) => {
  ctx.boot = await createClawNode({ dataDir: await tempDir(), relayServer: true, recordTtlMs: TTL_MS, network: { dhtMode: 'server', addressPolicy: 'loopback' } })
  await ctx.boot.start()
  const bootAddr = ctx.boot.getMultiaddrs().map(String).filter(a => a.includes('/tcp/'))
  ctx.p1 = await peer(bootAddr, caps([IMAGE_X], 5))
  ctx.p2 = await peer(bootAddr, caps([IMAGE_Y], 3))
  ctx.consumer = await peer(bootAddr, caps([], 0))
}))

s.after(async (ctx) => {
  for (const p of [ctx.p1, ctx.p2, ctx.consumer]) { await p?.caps.stop(); await p?.node.stop() }
  await ctx.boot?.stop()
})

async function discoverUntil (ctx: Ctx, image: string | undefined, want: number): Promise<string[]> {
  // Announcements spread through the DHT as the providers start: retry briefly.
  for (let i = 0; ; i++) {
    const found = await ctx.consumer.caps.discover(image === undefined ? { kind: 'runtime', runtime: 'gvisor' } : { kind: 'image', image }, { signal: AbortSignal.timeout(8_000) })
    const ids = found.map(r => r.peerId.toString()).sort()
    if (ids.length >= want || i >= 20) return ids
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

s('discovery by image finds exactly the provider that has it, with its verified record', bounded(60_000, async (ctx) => {
  const found = await discoverUntil(ctx, IMAGE_X, 1)
  assert.equal(found, [ctx.p1.node.peerId.toString()])
  const record = await ctx.consumer.caps.fetch(ctx.p1.node.peerId)
  assert.equal(record.images, [IMAGE_X])
  assert.is(record.prices.perCpuSecond, 5)
}))

s('discovery by runtime finds both providers and not the consumer itself', bounded(60_000, async (ctx) => {
  const found = await discoverUntil(ctx, undefined, 2)
  assert.equal(found, [ctx.p1.node.peerId.toString(), ctx.p2.node.peerId.toString()].sort())
}))

s('a stopped provider is skipped: its record can no longer be fetched', bounded(60_000, async (ctx) => {
  await ctx.p2.caps.stop()
  await ctx.p2.node.stop()
  const started = Date.now()
  const found = await ctx.consumer.caps.discover({ kind: 'runtime', runtime: 'gvisor' }, { signal: AbortSignal.timeout(15_000) })
  assert.equal(found.map(r => r.peerId.toString()), [ctx.p1.node.peerId.toString()])
  assert.ok(Date.now() - started < 15_000)
}))

s('once its records lapse, a stopped provider is no longer even listed by the DHT', bounded(60_000, async (ctx) => {
  const cid = await capabilityCid(capabilityKey({ kind: 'image', image: IMAGE_Y }))
  const listed = async (): Promise<boolean> => {
    for await (const p of ctx.consumer.node.libp2p.contentRouting.findProviders(cid, { signal: AbortSignal.timeout(3_000) })) {
      if (p.id.equals(ctx.p2.node.peerId)) return true
    }
    return false
  }
  let gone = false
  for (let i = 0; i < 40 && !gone; i++) {
    gone = !(await listed().catch(() => true))
    if (!gone) await new Promise(resolve => setTimeout(resolve, 500))
  }
  assert.ok(gone, 'the stopped provider was still listed well after its records expired')
}))

s.run()
