/**
 * Real libp2p nodes on loopback: a bootstrap peer (DHT server + relay) and two nodes find each other
 * through the DHT on /clawnode/kad/1.0.0, one finds the other's capability record, a restarted node
 * keeps its peer id, and nothing is dialled outside the address policy.
 */
import { stat } from 'node:fs/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { capabilityCid, capabilityKey, createClawNode, peerKeyPath } from '../../node/index.ts'
import type { ClawNode, NetworkConfig } from '../../node/index.ts'
import { bounded, setup, tempDir } from '../helpers.ts'

interface Ctx { boot: ClawNode, a: ClawNode, b: ClawNode, dirs: string[] }
const s = suite<Ctx>('libp2p node', {} as Ctx)

async function node (dir: string, bootstrap: string[] = [], relayServer = false): Promise<ClawNode> {
  const n = await createClawNode({ dataDir: dir, relayServer, network: { dhtMode: 'server', bootstrap, addressPolicy: 'loopback' } })
  await n.start()
  return n
}

async function waitFor (what: string, ms: number, check: () => boolean): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

const tableSize = (n: ClawNode): number => (n.libp2p.services.dht as unknown as { routingTable: { size: number } }).routingTable.size

s.before(setup(async (ctx) => {
  ctx.dirs = [await tempDir(), await tempDir(), await tempDir()]
  ctx.boot = await node(ctx.dirs[0] as string, [], true)
  const bootAddr = ctx.boot.getMultiaddrs().map(String).filter(a => a.includes('/tcp/'))
  ctx.a = await node(ctx.dirs[1] as string, bootAddr)
  ctx.b = await node(ctx.dirs[2] as string, bootAddr)
}))

s.after(async (ctx) => {
  for (const n of [ctx.a, ctx.b, ctx.boot]) await n?.stop()
})

s('nodes listen and announce on loopback only, with the DHT in server mode', bounded(20_000, async (ctx) => {
  for (const n of [ctx.boot, ctx.a, ctx.b]) {
    const addrs = n.getMultiaddrs().map(String)
    assert.ok(addrs.length > 0)
    for (const a of addrs) assert.match(a, /^\/ip4\/127\.0\.0\.1\//)
    assert.is(n.libp2p.services.dht.getMode(), 'server')
    // Nobody on loopback is behind NAT: no node looks for a relay (which walks the DHT without end).
    assert.is(n.relayReservation, false)
  }
}))

s('a node reserves a relay slot only where it may be behind NAT, never as a relay, unless told', bounded(20_000, async () => {
  const made = async (network: NetworkConfig, relayServer = false): Promise<boolean> => (await createClawNode({ dataDir: await tempDir(), network, relayServer })).relayReservation
  assert.is(await made({ addressPolicy: 'test-net' }), true)
  assert.is(await made({ addressPolicy: 'any' }), true)
  assert.is(await made({ addressPolicy: 'test-net' }, true), false)
  assert.is(await made({ addressPolicy: 'test-net', relayReservation: false }), false)
  assert.is(await made({ addressPolicy: 'loopback', relayReservation: true }), true)
}))

s('two nodes that only know the bootstrap peer find each other through the DHT', bounded(30_000, async (ctx) => {
  await waitFor('routing tables', 25_000, () => tableSize(ctx.a) >= 2 && tableSize(ctx.b) >= 2)
}))

s('a capability provided by one node is found by another', bounded(30_000, async (ctx) => {
  const cid = await capabilityCid(capabilityKey({ kind: 'runtime', runtime: 'gvisor' }))
  await ctx.a.libp2p.contentRouting.provide(cid, { signal: AbortSignal.timeout(10_000) })
  const controller = new AbortController()
  const timeout = setTimeout(() => { controller.abort() }, 10_000)
  let found = false
  try {
    for await (const provider of ctx.b.libp2p.contentRouting.findProviders(cid, { signal: controller.signal })) {
      if (provider.id.equals(ctx.a.peerId)) { found = true; break }
    }
  } finally {
    // Breaking out of the loop does not stop the query: abort it (a leaked query slows later ones).
    controller.abort()
    clearTimeout(timeout)
  }
  assert.ok(found, 'node b found node a as a provider of the gvisor runtime key')
}))

s('nothing is dialled outside the address policy', bounded(20_000, async (ctx) => {
  const before = ctx.a.libp2p.getConnections().length
  // A peer nobody is connected to, so an existing connection cannot stand in for the dial.
  const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  // (No DNS name here: resolving one would itself be traffic. The policy table covers DNS.)
  for (const addr of ['/ip4/198.18.0.1/tcp/4001', '/ip4/10.0.0.1/tcp/4001', '/ip6/fd00::2/tcp/4001']) {
    try {
      await ctx.a.libp2p.dial(multiaddr(`${addr}/p2p/${stranger}`), { signal: AbortSignal.timeout(5_000) })
      assert.unreachable(`dialled ${addr}`)
    } catch (err) {
      assert.is((err as Error).name, 'DialDeniedError', `${addr}: ${(err as Error).message}`)
    }
  }
  assert.is(ctx.a.libp2p.getConnections().filter(c => !String(c.remoteAddr).startsWith('/ip4/127.')).length, 0)
  assert.ok(ctx.a.libp2p.getConnections().length >= before)
}))

s('a restarted node keeps its peer id; its key file is private', bounded(30_000, async (ctx) => {
  const dir = ctx.dirs[2] as string
  const id = ctx.b.peerId.toString()
  await ctx.b.stop()
  ctx.b = await node(dir)
  assert.is(ctx.b.peerId.toString(), id)
  assert.is((await stat(peerKeyPath(dir))).mode & 0o777, 0o600)
}))

s.run()
