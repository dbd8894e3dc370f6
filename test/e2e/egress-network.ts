/**
 * Run by egress.test.ts inside a network namespace whose only non-loopback interface counts and drops
 * every packet: a small clawnode network on the default loopback policy (a bootstrap node, two
 * providers, one of them listening on 0.0.0.0 so it sees the namespace's other address, and a
 * consumer), salted with addresses outside the policy, doing what nodes do (DHT, identify, autoNAT,
 * a real lease in gVisor, dials and lookups of a peer known only by forbidden addresses). Prints one
 * JSON line with what was refused; the test then checks the counters.
 * Usage: node test/e2e/egress-network.ts <image-id> <forbidden-ip>…
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createCapsService, createClawNode, createConsumer, createProviderService, loadOrCreatePeerKey } from '../../node/index.ts'
import { allowImage, createSandboxRunner } from '../../sandbox/index.ts'
import type { CapsService, ClawNode, ProviderService } from '../../node/index.ts'
import type { Capabilities } from '../../protocol/index.ts'
import type { SandboxRunner } from '../../sandbox/index.ts'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const [image = '', ...forbidden] = process.argv.slice(2)
const tmp = async (): Promise<string> => await mkdtemp(join(tmpdir(), 'clawnode-egress-'))
const prices = { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond: 1, perGbSecond: 0 }
const capabilities = (images: string[]): Capabilities => ({ clawnodeVersion: '0.1.0', cpuCores: 1, memoryBytes: 2 ** 30, gpus: [], runtimes: images.length > 0 ? ['gvisor'] : [], images, models: [], prices, maxConcurrentJobs: images.length > 0 ? 2 : 0 })

const stops: Array<() => Promise<void>> = []
async function member (bootstrap: string[], listen?: string[], provide = false): Promise<{ node: ClawNode, caps: CapsService, provider?: ProviderService, runner?: SandboxRunner, dataDir: string }> {
  const dataDir = await tmp()
  const node = await createClawNode({ dataDir, network: { bootstrap, ...(listen === undefined ? {} : { listen }) } })
  await node.start()
  stops.push(async () => { await node.stop() })
  const privateKey = await loadOrCreatePeerKey(dataDir)
  const caps = createCapsService({ node, privateKey, capabilities: capabilities(provide ? [image] : []) })
  await caps.start()
  stops.push(async () => { await caps.stop() })
  if (!provide) return { node, caps, dataDir }
  await allowImage(dataDir, image)
  const runner = createSandboxRunner({ dataDir })
  await runner.start()
  const provider = createProviderService({ node, privateKey, runner, dataDir, prices, maxConcurrentJobs: 2 })
  await provider.start()
  stops.push(async () => { await provider.stop(); await runner.stop() })
  return { node, caps, provider, runner, dataDir }
}

const report: { refused: string[], leased: string, announced: string[] } = { refused: [], leased: '', announced: [] }
try {
  const boot = await member([])
  const bootstrap = boot.node.getMultiaddrs().map(String)
  const wide = await member(bootstrap, ['/ip4/0.0.0.0/tcp/0'], true)
  await member(bootstrap, undefined, true)
  const consumer = await member(bootstrap)
  report.announced = wide.node.getMultiaddrs().map(String)

  // A peer known only by addresses outside the policy, in the consumer's and the bootstrap's peer stores.
  const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const salted = forbidden.flatMap(ip => [multiaddr(`/ip4/${ip}/tcp/4001`), multiaddr(`/ip4/${ip}/udp/4001/quic-v1`)])
  for (const n of [consumer.node, boot.node]) await n.libp2p.peerStore.merge(stranger, { multiaddrs: salted })
  for (const ma of forbidden.map(ip => multiaddr(`/ip4/${ip}/tcp/4001/p2p/${stranger.toString()}`))) {
    await consumer.node.libp2p.dial(ma, { signal: AbortSignal.timeout(3_000) }).then(() => { throw new Error(`dialled ${ma.toString()}`) }, (err: Error) => { report.refused.push(`${ma.toString()}: ${err.name}`) })
  }
  await consumer.node.libp2p.dial(stranger, { signal: AbortSignal.timeout(3_000) }).then(() => { throw new Error('dialled the stranger') }, (err: Error) => { report.refused.push(`${stranger.toString()}: ${err.name}`) })
  await consumer.node.libp2p.peerRouting.findPeer(stranger, { signal: AbortSignal.timeout(3_000) }).catch((err: Error) => { report.refused.push(`findPeer: ${err.name}`) })

  // A real lease; discovery goes through the DHT.
  const found = async (): Promise<number> => (await consumer.caps.discover({ kind: 'image', image }, { signal: AbortSignal.timeout(5_000) })).length
  for (let i = 0; i < 60 && await found() < 2; i++) await new Promise(resolve => setTimeout(resolve, 250))
  const lease = createConsumer({ node: consumer.node, privateKey: await loadOrCreatePeerKey(consumer.dataDir), caps: consumer.caps })
  let out = ''
  const result = await lease.lease({ version: 1, image, argv: ['echo', 'inside the fence'] }, { maxPrice: 1_000_000_000, artifactsDir: await tmp(), onOutput: (_s, d) => { out += Buffer.from(d).toString() } })
  report.leased = `${result.receipt.status}: ${out.trim()}`
  // Some idle time: identify, DHT self-queries and autoNAT run on their own.
  await new Promise(resolve => setTimeout(resolve, 3_000))
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {})
}
process.stdout.write(JSON.stringify(report) + '\n')
process.exit(0)
