/**
 * The typed client of UsageEscrow and CreditToken: balances, the local faucet, deposits (open, top up,
 * extend, refund), claims with co-signed Draw receipts (claim, finalize, dispute, resolve), and
 * contract reverts turned into named errors with what to do next. Amounts are millicredit units.
 */
import { logger } from '@libp2p/logger'
import {
  BaseError, ContractFunctionRevertedError, decodeErrorResult, getAddress, HttpRequestError, InsufficientFundsError,
  parseEventLogs, TimeoutError, toHex, WaitForTransactionReceiptTimeoutError, zeroAddress
} from 'viem'
import {
  getBalance, getBlock, getBlockNumber, getContractEvents, readContract, simulateContract, waitForTransactionReceipt, writeContract
} from 'viem/actions'
import type { AbortOptions } from '@libp2p/interface'
import type { Abi, Address, Chain, Client, Hex, TransactionReceipt, Transport } from 'viem'
import { creditTokenAbi, usageEscrowAbi } from '../contracts/artifacts.ts'
import {
  ChainUnreachableError, DepositNotFoundError, EscrowRevertError, FaucetUnavailableError, InsufficientCreditsError, InsufficientGasError,
  TransactionFailedError
} from './errors.ts'
import type { ChainWalletClient } from './client.ts'
import type { Deployment } from './deploy.ts'

const log = logger('clawnode:escrow')

/** CreditToken's decimals: one unit is a millicredit, 1000 units one credit. */
export const CREDIT_DECIMALS = 3
/** How long a write waits for its transaction to be mined. */
export const ESCROW_RECEIPT_TIMEOUT_MS = 60_000
/** Blocks asked for in one eth_getLogs call while listing deposits (public RPCs cap the range). */
export const DEPOSIT_LOG_BLOCK_RANGE = 10_000n
/** Most deposits one `listDeposits` returns (the newest). */
export const MAX_LISTED_DEPOSITS = 1_000
/** Deposits read at once while listing. */
const READ_CONCURRENCY = 16
/** The ETH `fundLocalGas` gives an account on the local chain: ample gas for a long test run. */
export const LOCAL_GAS_WEI = 10n ** 19n

/** Any client that reads the chain: a public client or a ChainWalletClient. */
export type ReadClient = Client<Transport, Chain | undefined>

export type DepositStatus = 'idle' | 'pending' | 'disputed' | 'closed'
const STATUS: readonly DepositStatus[] = ['idle', 'pending', 'disputed', 'closed']

/** A deposit as the escrow holds it, amounts in millicredits, times in unix seconds of the chain. */
export interface DepositState {
  id: bigint
  consumer: Address
  provider: Address
  status: DepositStatus
  /** Deposited in total (opened plus top-ups). */
  amount: bigint
  /** Paid to the provider and the fee recipient together. */
  paidOut: bigint
  /** The cumulative amount finalized or resolved. */
  settled: bigint
  /** The highest cumulative amount claimed (the pending one while a claim is outstanding); never below `settled`. */
  claimed: bigint
  /**
   * What new receipts may still draw: `amount − claimed` (0 once closed). Receipts signed but not yet
   * claimed are unknown to the chain, so a consumer counts its own signed total against `amount`.
   */
  available: bigint
  /** What `refundDeposit` returns once expired with no claim outstanding: `amount − paidOut` (0 once closed). */
  refundable: bigint
  expiry: bigint
  /** When the pending claim can be finalized; 0 with none. */
  disputeEnds: bigint
}

export interface WriteOptions extends AbortOptions {
  /** ESCROW_RECEIPT_TIMEOUT_MS */
  receiptTimeoutMs?: number
  /** Blocks to wait for after the transaction's own; 1. */
  confirmations?: number
}

export interface TxResult { hash: Hex }

/** The escrow's ABI with the token's errors, so that a token revert inside the escrow decodes by name. */
const REVERT_ABI = [...usageEscrowAbi, ...creditTokenAbi] as const

/** `"12.345"` credits → 12345n millicredits; whole numbers or up to 3 decimals, nothing else. */
export function parseCredits (text: string): bigint {
  const m = /^(\d{1,30})(?:\.(\d{1,3}))?$/.exec(text.trim())
  if (m === null) throw new RangeError(`"${text}" is not an amount of credits (a number with at most ${CREDIT_DECIMALS} decimals, e.g. 12.5)`)
  return BigInt(m[1] as string) * 1000n + BigInt((m[2] ?? '').padEnd(CREDIT_DECIMALS, '0'))
}

/** 12345n millicredits → `"12.345"`; trailing zeros dropped (`"12"`, `"12.5"`). */
export function formatCredits (units: bigint): string {
  const sign = units < 0n ? '-' : ''
  const abs = units < 0n ? -units : units
  const frac = (abs % 1000n).toString().padStart(CREDIT_DECIMALS, '0').replace(/0+$/, '')
  return `${sign}${abs / 1000n}${frac === '' ? '' : `.${frac}`}`
}

/** The latest block's timestamp: the clock expiries and dispute windows are measured by. */
export async function chainTime (client: ReadClient, options: AbortOptions = {}): Promise<bigint> {
  return await guard(client, options, async () => (await getBlock(client, { blockTag: 'latest' })).timestamp)
}

/** Credits held by `address`, in millicredits. */
export async function tokenBalance (client: ReadClient, deployment: Deployment, address: Address, options: AbortOptions = {}): Promise<bigint> {
  return await guard(client, options, async () =>
    await readContract(client, { address: deployment.creditToken, abi: creditTokenAbi, functionName: 'balanceOf', args: [address] }))
}

/** ETH held by `address` for gas, in wei. */
export async function gasBalance (client: ReadClient, address: Address, options: AbortOptions = {}): Promise<bigint> {
  return await guard(client, options, async () => await getBalance(client, { address }))
}

/**
 * Gives `address` LOCAL_GAS_WEI of ETH for gas when it holds less (anvil_setBalance): on the local
 * chain only, where a node's fresh settlement account has none. Returns whether it funded.
 */
export async function fundLocalGas (client: ReadClient, address: Address, options: AbortOptions = {}): Promise<boolean> {
  return await guard(client, options, async () => {
    if (await getBalance(client, { address }) >= LOCAL_GAS_WEI / 2n) return false
    await client.request({ method: 'anvil_setBalance', params: [address, toHex(LOCAL_GAS_WEI)] } as never)
    log('funded %s with gas on the local chain', address)
    return true
  })
}

/** Mints `amount` millicredits to the client's account from the local faucet. */
export async function faucet (client: ChainWalletClient, deployment: Deployment, amount: bigint, options: WriteOptions = {}): Promise<TxResult> {
  if (!deployment.faucetEnabled) throw new FaucetUnavailableError(deployment.chainId)
  positive('amount', amount)
  const receipt = await send(client, 'The faucet', { address: deployment.creditToken, abi: creditTokenAbi, functionName: 'faucet', args: [client.account.address, amount] }, options)
  return { hash: receipt.transactionHash }
}

export interface OpenDepositInit {
  /** The provider's settlement address. */
  provider: Address
  /** Millicredits. */
  amount: bigint
  /** Unix seconds (chain time) after which the consumer can take back the rest. */
  expiry: bigint
}

/** Approves the escrow for `amount` (when not already) and opens a deposit; its id comes from the Opened event. */
export async function openDeposit (client: ChainWalletClient, deployment: Deployment, init: OpenDepositInit, options: WriteOptions = {}): Promise<TxResult & { depositId: bigint }> {
  positive('amount', init.amount)
  await approve(client, deployment, init.amount, options)
  const receipt = await send(client, 'Opening a deposit', {
    address: deployment.usageEscrow, abi: REVERT_ABI, functionName: 'open', args: [getAddress(init.provider), init.amount, init.expiry]
  }, options)
  const [opened] = parseEventLogs({ abi: usageEscrowAbi, logs: receipt.logs, eventName: 'Opened' }).filter(l => l.address.toLowerCase() === deployment.usageEscrow.toLowerCase())
  if (opened === undefined) throw new TransactionFailedError('Opening a deposit', receipt.transactionHash, 'emitted no Opened event')
  log('opened deposit %d for %s: %d millicredits until %d', opened.args.depositId, init.provider, init.amount, init.expiry)
  return { hash: receipt.transactionHash, depositId: opened.args.depositId }
}

/** Adds `amount` millicredits to the client's deposit (approving them first). */
export async function topUpDeposit (client: ChainWalletClient, deployment: Deployment, init: { depositId: bigint, amount: bigint }, options: WriteOptions = {}): Promise<TxResult & { total: bigint }> {
  positive('amount', init.amount)
  await approve(client, deployment, init.amount, options)
  const receipt = await send(client, 'Topping up', { address: deployment.usageEscrow, abi: REVERT_ABI, functionName: 'topUp', args: [init.depositId, init.amount] }, options)
  const [event] = parseEventLogs({ abi: usageEscrowAbi, logs: receipt.logs, eventName: 'ToppedUp' })
  return { hash: receipt.transactionHash, total: event?.args.total ?? 0n }
}

/** Moves the client's deposit's expiry to `expiry` (unix seconds, later than the current one). */
export async function extendDeposit (client: ChainWalletClient, deployment: Deployment, init: { depositId: bigint, expiry: bigint }, options: WriteOptions = {}): Promise<TxResult> {
  const receipt = await send(client, 'Extending', { address: deployment.usageEscrow, abi: REVERT_ABI, functionName: 'extend', args: [init.depositId, init.expiry] }, options)
  return { hash: receipt.transactionHash }
}

/** After expiry, with no claim outstanding, takes back what was not paid out and closes the deposit. */
export async function refundDeposit (client: ChainWalletClient, deployment: Deployment, depositId: bigint, options: WriteOptions = {}): Promise<TxResult & { refunded: bigint }> {
  const receipt = await send(client, 'The refund', { address: deployment.usageEscrow, abi: REVERT_ABI, functionName: 'refund', args: [depositId] }, options)
  const [event] = parseEventLogs({ abi: usageEscrowAbi, logs: receipt.logs, eventName: 'Refunded' })
  return { hash: receipt.transactionHash, refunded: event?.args.amount ?? 0n }
}

export interface ClaimInit {
  depositId: bigint
  /** The cumulative amount of the receipt, in millicredits. */
  cumulative: bigint
  consumerSignature: Hex
  providerSignature: Hex
}

/** Claims a co-signed receipt; it pays out after the dispute window (`finalizeClaim`). */
export async function claimDeposit (client: ChainWalletClient, deployment: Deployment, init: ClaimInit, options: WriteOptions = {}): Promise<TxResult & { disputeEnds: bigint }> {
  const receipt = await send(client, 'The claim', {
    address: deployment.usageEscrow, abi: REVERT_ABI, functionName: 'claim', args: [init.depositId, init.cumulative, init.consumerSignature, init.providerSignature]
  }, options)
  const [event] = parseEventLogs({ abi: usageEscrowAbi, logs: receipt.logs, eventName: 'Claimed' })
  return { hash: receipt.transactionHash, disputeEnds: event?.args.disputeEnds ?? 0n }
}

export interface Payout extends TxResult {
  /** Paid to the provider, millicredits. */
  toProvider: bigint
  /** Paid to the fee recipient, millicredits. */
  fee: bigint
}

/** Pays the pending claim once its dispute window has ended (anyone may). */
export async function finalizeClaim (client: ChainWalletClient, deployment: Deployment, depositId: bigint, options: WriteOptions = {}): Promise<Payout> {
  const receipt = await send(client, 'Finalizing the claim', { address: deployment.usageEscrow, abi: REVERT_ABI, functionName: 'finalize', args: [depositId] }, options)
  const [event] = parseEventLogs({ abi: usageEscrowAbi, logs: receipt.logs, eventName: 'Finalized' })
  return { hash: receipt.transactionHash, toProvider: event?.args.toProvider ?? 0n, fee: event?.args.fee ?? 0n }
}

/** The consumer disputes the pending claim inside its window; then only the arbiter settles it. */
export async function disputeClaim (client: ChainWalletClient, deployment: Deployment, depositId: bigint, options: WriteOptions = {}): Promise<TxResult> {
  const receipt = await send(client, 'The dispute', { address: deployment.usageEscrow, abi: REVERT_ABI, functionName: 'dispute', args: [depositId] }, options)
  return { hash: receipt.transactionHash }
}

/** The arbiter settles a disputed claim at `allowedCumulative` (between settled and claimed). */
export async function resolveDispute (client: ChainWalletClient, deployment: Deployment, init: { depositId: bigint, allowedCumulative: bigint }, options: WriteOptions = {}): Promise<Payout> {
  const receipt = await send(client, 'Resolving the dispute', {
    address: deployment.usageEscrow, abi: REVERT_ABI, functionName: 'resolve', args: [init.depositId, init.allowedCumulative]
  }, options)
  const [event] = parseEventLogs({ abi: usageEscrowAbi, logs: receipt.logs, eventName: 'Resolved' })
  return { hash: receipt.transactionHash, toProvider: event?.args.toProvider ?? 0n, fee: event?.args.fee ?? 0n }
}

/** The deposit's state; DepositNotFoundError for an id never opened. */
export async function readDeposit (client: ReadClient, deployment: Deployment, depositId: bigint, options: AbortOptions = {}): Promise<DepositState> {
  const d = await guard(client, options, async () =>
    await readContract(client, { address: deployment.usageEscrow, abi: usageEscrowAbi, functionName: 'getDeposit', args: [depositId] }))
  if (d.consumer === zeroAddress) throw new DepositNotFoundError(depositId)
  const status = STATUS[d.status] ?? 'closed'
  const closed = status === 'closed'
  return {
    id: depositId,
    consumer: d.consumer,
    provider: d.provider,
    status,
    amount: d.amount,
    paidOut: d.paidOut,
    settled: d.settled,
    claimed: d.claimed,
    available: closed ? 0n : d.amount - (d.claimed > d.settled ? d.claimed : d.settled),
    refundable: closed ? 0n : d.amount - d.paidOut,
    expiry: d.expiry,
    disputeEnds: d.disputeEnds
  }
}

export interface ListDepositsOptions extends AbortOptions {
  consumer?: Address
  provider?: Address
  /** Where the Opened logs are searched from; 0 (fine on the local chain; pass the deployment's block elsewhere). */
  fromBlock?: bigint
  /** MAX_LISTED_DEPOSITS */
  limit?: number
}

/** Deposits opened by `consumer` and/or for `provider`, oldest first: the newest `limit` of them, with their current state. */
export async function listDeposits (client: ReadClient, deployment: Deployment, options: ListDepositsOptions = {}): Promise<DepositState[]> {
  const limit = Math.min(options.limit ?? MAX_LISTED_DEPOSITS, MAX_LISTED_DEPOSITS)
  const from = options.fromBlock ?? 0n
  const args = {
    ...(options.consumer === undefined ? {} : { consumer: getAddress(options.consumer) }),
    ...(options.provider === undefined ? {} : { provider: getAddress(options.provider) })
  }
  const ids: bigint[] = []
  await guard(client, options, async () => {
    // Newest first, one bounded range at a time, until `limit` ids or `from` is reached.
    let to = await getBlockNumber(client, { cacheTime: 0 })
    while (to >= from && ids.length < limit) {
      options.signal?.throwIfAborted()
      const start = to - DEPOSIT_LOG_BLOCK_RANGE + 1n > from ? to - DEPOSIT_LOG_BLOCK_RANGE + 1n : from
      const logs = await getContractEvents(client, { address: deployment.usageEscrow, abi: usageEscrowAbi, eventName: 'Opened', args, fromBlock: start, toBlock: to, strict: true })
      for (const l of logs.reverse()) if (ids.length < limit) ids.push(l.args.depositId)
      to = start - 1n
    }
  })
  ids.reverse()
  const out: DepositState[] = []
  for (let i = 0; i < ids.length; i += READ_CONCURRENCY) {
    out.push(...await Promise.all(ids.slice(i, i + READ_CONCURRENCY).map(async id => await readDeposit(client, deployment, id, options))))
  }
  return out
}

/**
 * A contract revert as EscrowRevertError (its name, arguments and what to do next), an RPC that does
 * not answer as ChainUnreachableError, too little ETH as InsufficientGasError; anything else as is.
 */
export function decodeEscrowError (err: unknown, context: { address?: string } = {}): unknown {
  if (err instanceof EscrowRevertError || err instanceof ChainUnreachableError || err instanceof InsufficientGasError) return err
  if (!(err instanceof BaseError)) {
    const code = (err as { cause?: { code?: string } } | null)?.cause?.code
    return code === 'ECONNREFUSED' ? new ChainUnreachableError('the RPC URL', code, { cause: err }) : err
  }
  const revert = err.walk(e => e instanceof ContractFunctionRevertedError)
  if (revert instanceof ContractFunctionRevertedError) {
    let name = revert.data?.errorName
    let args: readonly unknown[] = revert.data?.args ?? []
    if (name === undefined && revert.raw !== undefined) {
      try {
        const decoded = decodeErrorResult({ abi: REVERT_ABI as unknown as Abi, data: revert.raw })
        name = decoded.errorName
        args = decoded.args ?? []
      } catch {}
    }
    return new EscrowRevertError(name ?? revert.reason ?? revert.signature ?? 'unknown revert', args, { cause: err })
  }
  const unreachable = err.walk(e => e instanceof HttpRequestError || e instanceof TimeoutError)
  if (unreachable instanceof HttpRequestError || unreachable instanceof TimeoutError) {
    const problem = unreachable instanceof TimeoutError ? 'the request timed out' : (unreachable.details !== '' ? unreachable.details : unreachable.shortMessage)
    return new ChainUnreachableError(unreachable.url, problem, { cause: err })
  }
  if (err.walk(e => e instanceof InsufficientFundsError) instanceof InsufficientFundsError) {
    return new InsufficientGasError(context.address ?? 'of this node', { cause: err })
  }
  return err
}

/** Runs `fn` unless aborted, bounded by the signal, with its errors decoded. */
async function guard<T> (client: ReadClient, options: AbortOptions, fn: () => Promise<T>): Promise<T> {
  options.signal?.throwIfAborted()
  try {
    return await abortable(fn(), options.signal)
  } catch (err) {
    options.signal?.throwIfAborted()
    throw decodeEscrowError(err, client.account === undefined ? {} : { address: client.account.address })
  }
}

/** Rejects with the signal's reason when it aborts first (viem's reads take no signal; its own timeout bounds them). */
export async function abortable<T> (p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  // (A promise left behind after an abort must not become an unhandled rejection.)
  p.catch(() => {})
  signal?.throwIfAborted()
  if (signal === undefined) return await p
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([p, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

function positive (what: string, amount: bigint): void {
  if (amount <= 0n) throw new RangeError(`${what} must be above zero, not ${amount}`)
}

/** Approves the escrow to move `amount` unless it already may; checks the balance first. */
async function approve (client: ChainWalletClient, deployment: Deployment, amount: bigint, options: WriteOptions): Promise<void> {
  const owner = client.account.address
  const [balance, allowance] = await guard(client, options, async () => await Promise.all([
    readContract(client, { address: deployment.creditToken, abi: creditTokenAbi, functionName: 'balanceOf', args: [owner] }),
    readContract(client, { address: deployment.creditToken, abi: creditTokenAbi, functionName: 'allowance', args: [owner, deployment.usageEscrow] })
  ]))
  if (balance < amount) throw new InsufficientCreditsError(owner, balance, amount)
  if (allowance >= amount) return
  await send(client, 'Approving the escrow', { address: deployment.creditToken, abi: creditTokenAbi, functionName: 'approve', args: [deployment.usageEscrow, amount] }, options)
}

interface Call { address: Address, abi: Abi | readonly unknown[], functionName: string, args: readonly unknown[] }

/**
 * Simulates the call (so that a revert is refused by name before anything is sent), sends it, and
 * waits for its receipt, bounded by `receiptTimeoutMs` and the signal; a failed one throws.
 */
async function send (client: ChainWalletClient, what: string, call: Call, options: WriteOptions): Promise<TransactionReceipt> {
  const hash = await guard(client, options, async () => {
    const { request } = await simulateContract(client, { ...call, account: client.account } as never)
    return await writeContract(client, request as never)
  })
  log('%s: sent %s', what, hash)
  let receipt: TransactionReceipt
  try {
    receipt = await waitForTransactionReceipt(client, {
      hash,
      confirmations: options.confirmations ?? 1,
      timeout: options.receiptTimeoutMs ?? ESCROW_RECEIPT_TIMEOUT_MS,
      ...(options.signal === undefined ? {} : { signal: options.signal })
    })
  } catch (err) {
    options.signal?.throwIfAborted()
    if (err instanceof WaitForTransactionReceiptTimeoutError) {
      throw new TransactionFailedError(what, hash, `was not mined within ${options.receiptTimeoutMs ?? ESCROW_RECEIPT_TIMEOUT_MS} ms`, { cause: err, retryable: true })
    }
    throw decodeEscrowError(err, { address: client.account.address })
  }
  if (receipt.status !== 'success') throw new TransactionFailedError(what, hash, 'reverted on chain (its simulation had passed: the state changed in between)')
  log('%s: mined in block %d (gas %d)', what, receipt.blockNumber, receipt.gasUsed)
  return receipt
}
