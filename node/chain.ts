/**
 * The node's chain: where its ledger anchors and its leases settle. By default the embedded local
 * chain (anvil, one per machine, shared by its nodes through a folder), with the contracts deployed on
 * first start; or any EVM chain from config (RPC URL, chain id, contract addresses), with the same code.
 * The node signs locally with its settlement account: <data>/keys/settlement.key, or the key file or
 * environment variable chain.key names (node/chain-key.ts).
 */
import { homedir } from 'node:os'
import { mkdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { BaseError, custom, http, HttpRequestError, zeroAddress } from 'viem'
import type { Address, Transport } from 'viem'
import { logger } from '@libp2p/logger'
import type { AbortOptions } from '@libp2p/interface'
import { ClawnodeError } from '../protocol/index.ts'
import {
  ANVIL_DEV_PRIVATE_KEY, chainFor, connectOrStartLocalChain, createChainClient, creditTokenAbi, ensureDeployed, fundLocalGas, loadOrCreateSettlementAccount, openLedger, probeChainId, usageEscrowAbi
} from '../ledger/index.ts'
import type { ChainWalletClient, Deployment, Ledger, LedgerProgressOptions, LocalChain, SettlementAccount } from '../ledger/index.ts'
import { loadChainKeyAccount } from './chain-key.ts'
import type { ChainConfig } from './config.ts'

const log = logger('clawnode:chain')

export interface NodeChain {
  account: SettlementAccount
  /** Signs with the node's settlement account; reads the chain. */
  client: ChainWalletClient
  deployment: Deployment
  /** The embedded local chain (with a faucet), not a configured one. */
  local: boolean
  rpcUrl: string
  /** Confirmations to wait for a transaction (1 locally). */
  confirmations: number
  /** Stops the local chain when this process started it (its state is saved); otherwise nothing. */
  close: () => Promise<void>
}

export class ChainConfigError extends ClawnodeError {
  static override name = 'ChainConfigError'
  constructor (problem: string) {
    super(`The chain section of the config ${problem}`, { hint: 'A remote chain needs chain.rpcUrl, chain.chainId and chain.contracts { creditToken, usageAnchor, usageEscrow }, and chain.key names the funded account that signs (a 0600 key file or { "env": "NAME" }); or leave the chain section out to use the embedded local chain.' })
  }
}

export class ChainUnavailableError extends ClawnodeError {
  static override name = 'ChainUnavailableError'
  constructor (rpcUrl: string, options: { cause?: unknown } = {}) {
    super(`The chain at ${rpcUrl} does not answer`, { ...options, retryable: true, hint: 'Check that the RPC URL is right and the chain is up; the node serves on and anchors later once it answers.' })
  }
}

/**
 * The folder of the machine's shared local chain (state, pid and lock files, contract addresses):
 * chain.localDir, else $CLAWNODE_CHAIN_DIR, else `chain/` in the default data dir, ~/.clawnode/chain,
 * whatever data dir a node uses, so that every node of the user's on this machine shares it.
 */
export function localChainDir (config: ChainConfig = {}): string {
  if (config.localDir !== undefined) return resolve(config.localDir)
  const env = process.env.CLAWNODE_CHAIN_DIR
  if (env !== undefined && env !== '') return resolve(env)
  return join(homedir(), '.clawnode', 'chain')
}

/** Where a node keeps its two ledgers: what it earned as a provider and what it spent as a consumer. */
export function ledgerPaths (dataDir: string): { provider: string, consumer: string } {
  return { provider: join(dataDir, 'ledger', 'provider.db'), consumer: join(dataDir, 'ledger', 'consumer.db') }
}

/** Opens one of the node's ledgers (its folder made private first). */
export async function openNodeLedger (dataDir: string, which: 'provider' | 'consumer', options: LedgerProgressOptions = {}): Promise<Ledger> {
  const path = ledgerPaths(dataDir)[which]
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  return await openLedger(path, options)
}

/** The account the node signs with: the key chain.key names, else <data>/keys/settlement.key (made on first use). */
export async function openSettlementAccount (dataDir: string, config: ChainConfig = {}): Promise<SettlementAccount> {
  return config.key === undefined ? await loadOrCreateSettlementAccount(dataDir) : await loadChainKeyAccount(dataDir, config.key)
}

/** The node's chain as configured; undefined when chain.mode is "off". */
export async function openNodeChain (dataDir: string, config: ChainConfig = {}, options: AbortOptions = {}): Promise<NodeChain | undefined> {
  const mode = config.mode ?? 'local'
  if (mode === 'off') return undefined
  const account = await openSettlementAccount(dataDir, config)
  if (mode === 'rpc') return await openRemoteChain(account, config, options)
  const dir = localChainDir(config)
  const current = { chain: await connectOrStartLocalChain(dir, {}, options) }
  try {
    const { chain } = current
    // The dev account deploys (once per chain, under a lock) and funds the nodes' gas.
    const deployer = createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: ANVIL_DEV_PRIVATE_KEY })
    const deployment = await ensureDeployed(dir, deployer, { ...(config.feeBps === undefined ? {} : { feeBps: config.feeBps }), ...(config.disputeWindowS === undefined ? {} : { disputeWindowS: config.disputeWindowS }) }, options)
    const client = createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, account: account.account, transport: followLocalChain(dir, current) })
    // A fresh settlement account has no ETH for gas: the local chain gives it some.
    await fundLocalGas(deployer, account.address, options)
    return {
      account,
      client,
      deployment,
      local: true,
      get rpcUrl () { return current.chain.rpcUrl },
      confirmations: 1,
      close: async () => { await current.chain.stop() }
    }
  } catch (err) {
    await current.chain.stop().catch(() => {})
    throw err
  }
}

/**
 * The machine's local chain as a transport that follows it: the node that started anvil stops it when
 * it stops, and the next request of a node still running finds the chain gone, starts it again from its
 * state file (becoming its owner) or joins whoever already did, and is sent there once more.
 */
function followLocalChain (dir: string, current: { chain: LocalChain }): Transport {
  let url = current.chain.rpcUrl
  let inner = http(url, { retryCount: 0 })
  return custom({
    async request (args) {
      const send = async (): Promise<unknown> => await inner({ chain: chainFor(url, current.chain.chainId) }).request(args)
      try {
        return await send()
      } catch (err) {
        if (!(err instanceof BaseError) || !(err.walk(e => e instanceof HttpRequestError) instanceof HttpRequestError)) throw err
        const next = await connectOrStartLocalChain(dir, { chainId: current.chain.chainId })
        if (next.rpcUrl === url) {
          // Its owner died and this node took the same anvil over: hold it as the owner, so that
          // closing the node ends it.
          if (next.owned) current.chain = next
          throw err
        }
        log('the local chain moved from %s to %s; following it', url, next.rpcUrl)
        current.chain = next
        url = next.rpcUrl
        inner = http(url, { retryCount: 0 })
        return await send()
      }
    }
  }, { retryCount: 0 })
}

async function openRemoteChain (account: SettlementAccount, config: ChainConfig, options: AbortOptions): Promise<NodeChain> {
  const { rpcUrl, chainId, contracts } = config
  if (rpcUrl === undefined || chainId === undefined || contracts === undefined) throw new ChainConfigError('lacks rpcUrl, chainId or contracts')
  const answered = await probeChainId(rpcUrl, options)
  if (answered === undefined) throw new ChainUnavailableError(rpcUrl)
  if (answered !== chainId) throw new ChainConfigError(`names chain ${chainId}, but ${rpcUrl} is chain ${answered}`)
  const client = createChainClient({ rpcUrl, chainId, account: account.account })
  // The escrow's parameters are the contract's own (immutables), read once.
  const escrow = { address: contracts.usageEscrow, abi: usageEscrowAbi } as const
  let params: [number, bigint, Address, Address, boolean]
  try {
    params = await Promise.all([
      client.readContract({ ...escrow, functionName: 'feeBps' }) as Promise<number>,
      client.readContract({ ...escrow, functionName: 'disputeWindow' }) as Promise<bigint>,
      client.readContract({ ...escrow, functionName: 'arbiter' }) as Promise<Address>,
      client.readContract({ ...escrow, functionName: 'feeRecipient' }) as Promise<Address>,
      client.readContract({ address: contracts.creditToken, abi: creditTokenAbi, functionName: 'faucetEnabled' }) as Promise<boolean>
    ])
  } catch (err) {
    throw new ChainConfigError(`names contracts that do not answer as UsageEscrow and CreditToken on chain ${chainId} (${(err as Error).message.split('\n')[0] ?? ''})`)
  }
  const deployment: Deployment = {
    chainId,
    creditToken: contracts.creditToken,
    usageAnchor: contracts.usageAnchor,
    usageEscrow: contracts.usageEscrow,
    deployer: zeroAddress,
    arbiter: params[2],
    feeBps: params[0],
    feeRecipient: params[3],
    disputeWindowS: Number(params[1]),
    faucetEnabled: params[4],
    inputSha256: ''
  }
  return { account, client, deployment, local: false, rpcUrl, confirmations: config.confirmations ?? 2, close: async () => {} }
}
