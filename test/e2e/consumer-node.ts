/**
 * Shared pieces of the end-to-end tests: a consumer node (a real libp2p node that advertises nothing,
 * its capability service and its consumer), and waiting until the DHT names enough providers.
 */
import { createCapsService, createClawNode, createConsumer, loadConfig, loadOrCreatePeerKey, openNodeSettlement } from '../../node/index.ts'
import type { CapabilityKey, CapsService, ClawNode, Consumer } from '../../node/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import { tempDir } from '../helpers.ts'

export interface ConsumerNode { dir: string, node: ClawNode, privateKey: PrivateKey, caps: CapsService, consumer: Consumer, stop: () => Promise<void> }

const NOTHING = { clawnodeVersion: '0.1.0', cpuCores: 0, memoryBytes: 0, gpus: [], runtimes: [], images: [], models: [], prices: { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond: 0, perGbSecond: 0 }, maxConcurrentJobs: 0 }

/**
 * A started consumer node joined to `bootstrap`, with a fresh data dir. With `paying`, it pays as a
 * node does by default (node-settlement.ts): deposits on the machine's local chain, a consumer ledger.
 */
export async function startConsumerNode (bootstrap: string[], options: { paying?: boolean } = {}): Promise<ConsumerNode> {
  const dir = await tempDir()
  const node = await createClawNode({ dataDir: dir, network: { bootstrap } })
  await node.start()
  const privateKey = await loadOrCreatePeerKey(dir)
  const caps = createCapsService({ node, privateKey, capabilities: NOTHING })
  await caps.start()
  const settlement = options.paying === true ? await openNodeSettlement({ dataDir: dir, config: await loadConfig(dir), privateKey, provider: false }) : undefined
  const consumer = createConsumer({ node, privateKey, caps, ...(settlement === undefined ? {} : { ledger: settlement.consumerLedger, ...(settlement.consumer === undefined ? {} : { settlement: settlement.consumer }) }) })
  return { dir, node, privateKey, caps, consumer, stop: async () => { await caps.stop(); await node.stop(); await settlement?.close() } }
}

/** Waits (bounded: about 15 s) until discovery under `key` names at least `count` providers. */
export async function untilDiscovered (caps: CapsService, key: CapabilityKey, count: number): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if ((await caps.discover(key, { signal: AbortSignal.timeout(8_000) })).length >= count) return
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}
