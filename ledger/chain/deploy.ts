/**
 * Deploys the ledger's contracts (CreditToken, UsageAnchor, UsageEscrow) and remembers their addresses
 * in contracts.json in the chain's data dir, so that a chain is deployed to once, on its first start.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { getAddress } from 'viem'
import { deployContract, getChainId, getCode, waitForTransactionReceipt } from 'viem/actions'
import type { AbortOptions } from '@libp2p/interface'
import type { Abi, Address, Hex } from 'viem'
import {
  creditTokenAbi, creditTokenBytecode, INPUT_SHA256, usageAnchorAbi, usageAnchorBytecode, usageEscrowAbi, usageEscrowBytecode
} from '../contracts/artifacts.ts'
import {
  CONTRACTS_FILE, DEFAULT_DISPUTE_WINDOW_S, DEFAULT_FAUCET_CAP, DEFAULT_FEE_BPS, DEPLOY_LOCK_FILE, DEPLOY_RECEIPT_TIMEOUT_MS, MAX_FEE_BPS
} from './constants.ts'
import { DeployFailedError } from './errors.ts'
import { withFileLock } from './lock.ts'
import type { ChainClient } from './client.ts'

const log = logger('clawnode:chain')

export interface DeployInit {
  /** Seconds a consumer has to dispute a claim; DEFAULT_DISPUTE_WINDOW_S. */
  disputeWindowS?: number
  /** Who settles disputes; the deployer by default. */
  arbiter?: Address
  /** Fee on every payout in basis points (at most MAX_FEE_BPS); DEFAULT_FEE_BPS (0). */
  feeBps?: number
  /** Who receives the fee; the deployer by default. */
  feeRecipient?: Address
  /** Whether CreditToken's faucet mints (true on a local chain, false on a public one); true. */
  faucetEnabled?: boolean
  /** The most one faucet call mints; DEFAULT_FAUCET_CAP. */
  faucetCap?: bigint
  /** Credits minted to the deployer at construction (for a deployment without faucet); 0. */
  initialSupply?: bigint
}

/** What contracts.json holds. */
export interface Deployment {
  chainId: number
  creditToken: Address
  usageAnchor: Address
  usageEscrow: Address
  deployer: Address
  arbiter: Address
  feeBps: number
  feeRecipient: Address
  disputeWindowS: number
  faucetEnabled: boolean
  /** INPUT_SHA256 of the artifacts deployed: other contracts mean a new deployment. */
  inputSha256: string
}

/** Deploys the three contracts from `client`'s account and waits for each to be mined. */
export async function deployContracts (client: ChainClient, init: DeployInit = {}, options: AbortOptions = {}): Promise<Deployment> {
  const deployer = client.account.address
  const feeBps = init.feeBps ?? DEFAULT_FEE_BPS
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > MAX_FEE_BPS) throw new RangeError(`feeBps must be an integer in 0..${MAX_FEE_BPS}, not ${feeBps}`)
  const disputeWindowS = init.disputeWindowS ?? DEFAULT_DISPUTE_WINDOW_S
  const arbiter = init.arbiter ?? deployer
  const feeRecipient = init.feeRecipient ?? deployer
  const faucetEnabled = init.faucetEnabled ?? true

  const creditToken = await deployOne(client, 'CreditToken', creditTokenAbi, creditTokenBytecode,
    [faucetEnabled, init.faucetCap ?? DEFAULT_FAUCET_CAP, deployer, init.initialSupply ?? 0n], options)
  const usageAnchor = await deployOne(client, 'UsageAnchor', usageAnchorAbi, usageAnchorBytecode, [], options)
  const usageEscrow = await deployOne(client, 'UsageEscrow', usageEscrowAbi, usageEscrowBytecode,
    [creditToken, BigInt(disputeWindowS), arbiter, feeBps, feeRecipient], options)
  return {
    chainId: client.chain.id,
    creditToken,
    usageAnchor,
    usageEscrow,
    deployer,
    arbiter,
    feeBps,
    feeRecipient,
    disputeWindowS,
    faucetEnabled,
    inputSha256: INPUT_SHA256
  }
}

/**
 * The deployment saved in `dir`/contracts.json when it is for this chain and these artifacts and its
 * contracts have code; otherwise deploys (once, under a lock shared with other nodes) and saves it.
 */
export async function ensureDeployed (dir: string, client: ChainClient, init: DeployInit = {}, options: AbortOptions = {}): Promise<Deployment> {
  const current = async (): Promise<Deployment | undefined> => {
    const saved = await readDeployment(dir)
    if (saved === undefined) return undefined
    return await isDeployed(client, saved, options) ? saved : undefined
  }
  const found = await current()
  if (found !== undefined) return found
  return await withFileLock(join(dir, DEPLOY_LOCK_FILE), async () => {
    const again = await current()
    if (again !== undefined) return again
    log('deploying the ledger contracts to chain %d', client.chain.id)
    const deployment = await deployContracts(client, init, options)
    const tmp = join(dir, `${CONTRACTS_FILE}.${process.pid}.tmp`)
    await writeFile(tmp, JSON.stringify(deployment, null, 2) + '\n')
    await rename(tmp, join(dir, CONTRACTS_FILE))
    log('deployed CreditToken %s, UsageAnchor %s, UsageEscrow %s', deployment.creditToken, deployment.usageAnchor, deployment.usageEscrow)
    return deployment
  }, options)
}

/** contracts.json of `dir`, or undefined when missing or malformed. */
export async function readDeployment (dir: string): Promise<Deployment | undefined> {
  try {
    const v = JSON.parse(await readFile(join(dir, CONTRACTS_FILE), 'utf8')) as Deployment
    for (const k of ['creditToken', 'usageAnchor', 'usageEscrow', 'deployer', 'arbiter', 'feeRecipient'] as const) v[k] = getAddress(v[k])
    if (!Number.isSafeInteger(v.chainId) || typeof v.inputSha256 !== 'string') return undefined
    return v
  } catch {
    return undefined
  }
}

/** Whether `saved` is for the chain `client` talks to, for these artifacts, and has code at every address. */
async function isDeployed (client: ChainClient, saved: Deployment, options: AbortOptions): Promise<boolean> {
  if (saved.inputSha256 !== INPUT_SHA256) {
    log('the contracts in contracts.json were built from other sources; deploying again')
    return false
  }
  if (await getChainId(client) !== saved.chainId) return false
  for (const address of [saved.creditToken, saved.usageAnchor, saved.usageEscrow]) {
    options.signal?.throwIfAborted()
    const code = await getCode(client, { address })
    if (code === undefined || code === '0x') {
      log('no code at %s (a new chain?); deploying again', address)
      return false
    }
  }
  return true
}

async function deployOne (client: ChainClient, name: string, abi: Abi, bytecode: Hex, args: readonly unknown[], options: AbortOptions): Promise<Address> {
  options.signal?.throwIfAborted()
  let hash: Hex
  try {
    hash = await deployContract(client, { abi, bytecode, args, account: client.account, chain: client.chain })
  } catch (err) {
    throw new DeployFailedError(name, (err as { shortMessage?: string }).shortMessage ?? (err as Error).message, { cause: err })
  }
  const receipt = await waitForTransactionReceipt(client, {
    hash,
    timeout: DEPLOY_RECEIPT_TIMEOUT_MS,
    ...(options.signal === undefined ? {} : { signal: options.signal })
  })
  if (receipt.status !== 'success' || receipt.contractAddress == null) {
    throw new DeployFailedError(name, `transaction ${hash} ${receipt.status === 'success' ? 'created no contract' : 'reverted'}`)
  }
  log('%s at %s (gas %d)', name, receipt.contractAddress, receipt.gasUsed)
  return getAddress(receipt.contractAddress)
}
