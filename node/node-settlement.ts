/**
 * A node's settlement as `clawnode start` and `clawnode lease` run it: its chain (node/chain.ts), its
 * two ledgers, escrow payment on both sides (node/settlement.ts) and, for a provider, the anchorer that
 * closes and anchors a batch of its ledger every period. Started together, stopped in order: the last
 * batch is anchored, then the ledgers close, then the chain (if this process started it).
 */
import { logger } from '@libp2p/logger'
import type { AbortOptions, PrivateKey } from '@libp2p/interface'
import { createAnchorer } from '../ledger/index.ts'
import type { Anchorer, AnchorEvent, Ledger } from '../ledger/index.ts'
import type { SettlementInfo } from '../protocol/index.ts'
import { openNodeChain, openNodeLedger } from './chain.ts'
import type { NodeChain } from './chain.ts'
import type { NodeConfig } from './config.ts'
import { createConsumerSettlement, createProviderSettlement, DEFAULT_SETTLEMENT_PERIOD_S } from './settlement.ts'
import type { ConsumerSettlement, ProviderSettlement } from './settlement.ts'

const log = logger('clawnode:settlement')

export interface NodeSettlement {
  /** Undefined when chain.mode is "off": leases are then unpaid and nothing is anchored. */
  chain?: NodeChain
  consumerLedger: Ledger
  consumer?: ConsumerSettlement
  /** Provider role only. */
  providerLedger?: Ledger
  provider?: ProviderSettlement
  anchorer?: Anchorer
  /** The capability record's settlement part (provider role with a chain). */
  recordInfo?: SettlementInfo
  start: () => void
  close: () => Promise<void>
}

export interface NodeSettlementInit {
  dataDir: string
  config: NodeConfig
  privateKey: PrivateKey
  /** A provider also keeps the provider ledger, anchors it and claims its deposits. */
  provider: boolean
  onAnchor?: (event: AnchorEvent) => void
}

export async function openNodeSettlement (init: NodeSettlementInit, options: AbortOptions = {}): Promise<NodeSettlement> {
  const { dataDir, config, privateKey } = init
  const chain = await openNodeChain(dataDir, config.chain, options)
  const opened: Array<{ close: () => Promise<void> }> = []
  try {
    const consumerLedger = await openNodeLedger(dataDir, 'consumer', options)
    opened.push(consumerLedger)
    const consumer = chain === undefined ? undefined : await createConsumerSettlement({ chain, privateKey, dataDir, config: config.settlement })
    let providerLedger: Ledger | undefined
    let provider: ProviderSettlement | undefined
    let anchorer: Anchorer | undefined
    if (init.provider) {
      providerLedger = await openNodeLedger(dataDir, 'provider', options)
      opened.push(providerLedger)
      if (chain !== undefined) {
        provider = await createProviderSettlement({ chain, privateKey, dataDir, config: config.settlement })
        anchorer = createAnchorer({
          ledger: providerLedger,
          client: chain.client,
          anchor: chain.deployment.usageAnchor,
          periodMs: (config.settlement.periodS ?? DEFAULT_SETTLEMENT_PERIOD_S) * 1000,
          confirmations: chain.confirmations,
          ...(init.onAnchor === undefined ? {} : { onEvent: init.onAnchor })
        })
      }
    }
    const recordInfo = await provider?.recordInfo()
    return {
      ...(chain === undefined ? {} : { chain }),
      consumerLedger,
      ...(consumer === undefined ? {} : { consumer }),
      ...(providerLedger === undefined ? {} : { providerLedger }),
      ...(provider === undefined ? {} : { provider }),
      ...(anchorer === undefined ? {} : { anchorer }),
      ...(recordInfo === undefined ? {} : { recordInfo }),
      start () {
        anchorer?.start()
        provider?.start()
        consumer?.start()
      },
      async close () {
        const step = async (what: string, fn: () => Promise<unknown> | undefined): Promise<void> => {
          try { await fn() } catch (err) { log.error('stopping %s failed: %e', what, err) }
        }
        await step('the anchorer', () => anchorer?.stop())
        await step('the provider settlement', () => provider?.stop())
        await step('the consumer settlement', () => consumer?.stop())
        await step('the provider ledger', () => providerLedger?.close())
        await step('the consumer ledger', () => consumerLedger.close())
        await step('the chain', () => chain?.close())
      }
    }
  } catch (err) {
    for (const o of opened) await o.close().catch(() => {})
    await chain?.close().catch(() => {})
    throw err
  }
}
