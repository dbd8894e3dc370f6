/**
 * The anchorer: every period it closes a Merkle batch of the ledger's new entries and anchors the
 * batch's root on the UsageAnchor contract, oldest batch first, recording each transaction and block.
 * A chain that does not answer is retried with back-off while the ledger keeps taking appends, and a
 * restarted node finishes what the last run left half done (issue 5).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { logger } from '@libp2p/logger'
import {
  BaseError, ContractFunctionRevertedError, TransactionNotFoundError,
  TransactionReceiptNotFoundError
} from 'viem'
import { getBlockNumber, getContractEvents, getTransaction, getTransactionReceipt, readContract, simulateContract, writeContract } from 'viem/actions'
import { ClawnodeError, serializeError } from '../protocol/index.ts'
import { ChainUnreachableError, InsufficientGasError } from './chain/errors.ts'
import { abortable, decodeEscrowError } from './chain/escrow.ts'
import { ANCHOR_REJECT_HINTS, AnchorFailedError, AnchorRejectedError } from './errors.ts'
import {
  ANCHOR_LOG_PAGE_BLOCKS, ANCHOR_RECEIPT_TIMEOUT_MS, ANCHOR_STOP_TIMEOUT_MS, DEFAULT_ANCHOR_CONFIRMATIONS, DEFAULT_ANCHOR_MAX_BACKOFF_MS,
  DEFAULT_ANCHOR_MIN_BACKOFF_MS, DEFAULT_ANCHOR_PERIOD_MS
} from './constants.ts'
import { usageAnchorAbi } from './contracts/artifacts.ts'
import type { SerializedError } from '../protocol/index.ts'
import type { LedgerBatch } from './batches.ts'
import type { ChainWalletClient } from './chain/client.ts'
import type { Ledger } from './store.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { Address, Chain, Client, Hex, TransactionReceipt, Transport } from 'viem'

const log = logger('clawnode:anchor')

export type AnchorError = ChainUnreachableError | AnchorRejectedError | AnchorFailedError | InsufficientGasError

/** Progress of the anchorer, as helia's progress events: a type and its detail. */
export type AnchorEvent =
  | { type: 'clawnode:anchor:batch-closed', detail: { batch: LedgerBatch } }
  | { type: 'clawnode:anchor:submitted', detail: { batch: LedgerBatch, txHash: Hex } }
  /** `recovered`: an earlier run had sent it (found by its receipt or the contract's Anchored event). */
  | { type: 'clawnode:anchor:anchored', detail: { batch: LedgerBatch, txHash: Hex, block: number, gasUsed: bigint, recovered: boolean } }
  /** `retryAt`: when the next attempt is due (ms since the epoch); null for a `runOnce` called directly. */
  | { type: 'clawnode:anchor:unreachable', detail: { error: ChainUnreachableError, failures: number, retryAt: number | null } }
  | { type: 'clawnode:anchor:failed', detail: { error: Error, batch: number | null, failures: number, retryAt: number | null } }

export interface AnchorerInit {
  ledger: Ledger
  /** Signs with the provider's settlement account, whose address is the provider on the contract. */
  client: ChainWalletClient
  /** The UsageAnchor contract. */
  anchor: Address
  /** How often a batch of the new entries is closed; DEFAULT_ANCHOR_PERIOD_MS. */
  periodMs?: number
  /** Blocks an anchor needs (its own included) before it is recorded; DEFAULT_ANCHOR_CONFIRMATIONS. */
  confirmations?: number
  /** Back-off after a failed attempt, doubling from min to max; DEFAULT_ANCHOR_MIN_BACKOFF_MS, DEFAULT_ANCHOR_MAX_BACKOFF_MS. */
  minBackoffMs?: number
  maxBackoffMs?: number
  /** How long one attempt waits for a transaction to be mined; ANCHOR_RECEIPT_TIMEOUT_MS. */
  receiptTimeoutMs?: number
  onEvent?: (event: AnchorEvent) => void
}

export interface AnchorRunOptions extends AbortOptions {
  /** Close a batch of the new entries first (default true); false only anchors what is closed. */
  close?: boolean
}

export interface AnchorRunResult {
  closed: LedgerBatch[]
  anchored: LedgerBatch[]
  /** Batches closed and still not anchored after the run, oldest first. */
  pending: LedgerBatch[]
  /** Why anchoring stopped before the last batch; null when every batch is anchored. */
  error: AnchorError | null
}

export interface AnchorerStatus {
  running: boolean
  periodMs: number
  /** When the next attempt is due, ms since the epoch; null when not running. */
  nextRunAt: number | null
  lastRunAt: number | null
  /** Attempts in a row that failed. */
  failures: number
  lastError: SerializedError | null
  /** Batches closed and not yet anchored. */
  pendingBatches: number
  /** Entries in no batch yet. */
  unbatchedEntries: number
  /** The last batch this anchorer anchored. */
  lastAnchored: LedgerBatch | null
}

export interface Anchorer {
  /** Starts the period timer; the first attempt, at once, anchors what an earlier run left. */
  start: () => void
  /** Stops the timer, then closes and anchors a last batch (at most ANCHOR_STOP_TIMEOUT_MS). */
  stop: (options?: AbortOptions) => Promise<void>
  /** One attempt: close a batch of the new entries, then anchor every batch not yet anchored, in order. Chain errors are returned, not thrown. */
  runOnce: (options?: AnchorRunOptions) => Promise<AnchorRunResult>
  status: () => AnchorerStatus
}

/** What the contract's Anchored event says about one batch. */
export interface AnchoredEvent {
  root: Hex
  fromSeq: number
  toSeq: number
  txHash: Hex
  block: number
}

/**
 * The Anchored event of `provider` for exactly `fromSeq..toSeq`, searched from `fromBlock` (0) to
 * `toBlock` (the head) in pages of ANCHOR_LOG_PAGE_BLOCKS; null when there is none.
 */
export async function findAnchoredEvent (client: Client<Transport, Chain | undefined>, init: {
  anchor: Address, provider: Address, fromSeq: number, toSeq: number, fromBlock?: bigint, toBlock?: bigint
}, options: AbortOptions = {}): Promise<AnchoredEvent | null> {
  const last = init.toBlock ?? await getBlockNumber(client, { cacheTime: 0 })
  const page = BigInt(ANCHOR_LOG_PAGE_BLOCKS)
  for (let from = init.fromBlock ?? 0n; from <= last; from += page) {
    options.signal?.throwIfAborted()
    const to = from + page - 1n < last ? from + page - 1n : last
    const logs = await getContractEvents(client, { address: init.anchor, abi: usageAnchorAbi, eventName: 'Anchored', args: { provider: init.provider }, fromBlock: from, toBlock: to, strict: true })
    const hit = logs.find(l => l.args.fromSeq === BigInt(init.fromSeq) && l.args.toSeq === BigInt(init.toSeq))
    if (hit !== undefined) return { root: hit.args.root, fromSeq: init.fromSeq, toSeq: init.toSeq, txHash: hit.transactionHash, block: Number(hit.blockNumber) }
  }
  return null
}

/** A viem error as the chain error it stands for: unreachable, out of gas money, or another failure; undefined for anything else. */
export function chainErrorOf (err: unknown, client: Client, batch: LedgerBatch | null = null): AnchorError | undefined {
  if (err instanceof ChainUnreachableError || err instanceof AnchorRejectedError || err instanceof AnchorFailedError || err instanceof InsufficientGasError) return err
  if (!(err instanceof BaseError)) return undefined
  // Unreachable and out of gas money are told apart the same way for every chain call.
  const decoded = decodeEscrowError(err, client.account === undefined ? {} : { address: client.account.address })
  if (decoded instanceof ChainUnreachableError || decoded instanceof InsufficientGasError) return decoded
  return new AnchorFailedError(batch, err.shortMessage, { cause: err })
}


export function createAnchorer (init: AnchorerInit): Anchorer {
  const { ledger, client, anchor } = init
  const provider = client.account.address
  const periodMs = init.periodMs ?? DEFAULT_ANCHOR_PERIOD_MS
  const confirmations = BigInt(init.confirmations ?? DEFAULT_ANCHOR_CONFIRMATIONS)
  const minBackoffMs = init.minBackoffMs ?? DEFAULT_ANCHOR_MIN_BACKOFF_MS
  const maxBackoffMs = init.maxBackoffMs ?? DEFAULT_ANCHOR_MAX_BACKOFF_MS
  const receiptTimeoutMs = init.receiptTimeoutMs ?? ANCHOR_RECEIPT_TIMEOUT_MS
  for (const [name, v] of [['periodMs', periodMs], ['minBackoffMs', minBackoffMs], ['maxBackoffMs', maxBackoffMs], ['receiptTimeoutMs', receiptTimeoutMs]] as const) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer of milliseconds, not ${v}`)
  }
  if (confirmations < 1n) throw new RangeError('confirmations must be at least 1')

  let controller: AbortController | undefined
  let looping: Promise<void> | undefined
  let nextRunAt: number | null = null
  let lastRunAt: number | null = null
  let failures = 0
  let lastError: Error | null = null
  let lastAnchored: LedgerBatch | null = null
  let exclusive: Promise<unknown> = Promise.resolve()
  const serially = async <T>(fn: () => Promise<T>): Promise<T> => {
    const run = exclusive.then(fn)
    exclusive = run.catch(() => {})
    return await run
  }
  const emit = (event: AnchorEvent): void => {
    try { init.onEvent?.(event) } catch (err) { log.error('an anchor event listener threw: %e', err) }
  }
  const backoff = (n: number): number => Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(n - 1, 30))

  const receiptOf = async (hash: Hex, signal: AbortSignal): Promise<TransactionReceipt | null> => {
    try {
      return await abortable(getTransactionReceipt(client, { hash }), signal)
    } catch (err) {
      if (err instanceof BaseError && err.walk(e => e instanceof TransactionReceiptNotFoundError) !== null) return null
      throw err
    }
  }
  /** The receipt once mined with enough confirmations; null when the wait ran out. */
  const waitMined = async (hash: Hex, signal: AbortSignal): Promise<TransactionReceipt | null> => {
    const deadline = Date.now() + receiptTimeoutMs
    for (;;) {
      const receipt = await receiptOf(hash, signal)
      if (receipt !== null && (confirmations === 1n || await abortable(getBlockNumber(client, { cacheTime: 0 }), signal) - receipt.blockNumber + 1n >= confirmations)) return receipt
      if (Date.now() >= deadline) return null
      await sleep(client.pollingInterval, undefined, { signal })
    }
  }
  const record = (batch: LedgerBatch, receipt: TransactionReceipt, recovered: boolean): LedgerBatch => {
    const block = Number(receipt.blockNumber)
    ledger.markAnchored(batch.index, { txHash: receipt.transactionHash, block })
    const done: LedgerBatch = { ...batch, anchorStatus: 'anchored', anchorTxHash: receipt.transactionHash.toLowerCase() as Hex, anchorBlock: block }
    lastAnchored = done
    log('anchored batch %d (seq %d..%d) in block %d, tx %s, gas %d%s', batch.index, batch.fromSeq, batch.toSeq, block, receipt.transactionHash, receipt.gasUsed, recovered ? ' (recovered)' : '')
    emit({ type: 'clawnode:anchor:anchored', detail: { batch: done, txHash: receipt.transactionHash, block, gasUsed: receipt.gasUsed, recovered } })
    return done
  }

  /** A batch marked submitted: its transaction's outcome, or null when it is gone or reverted (then the contract decides). */
  const follow = async (batch: LedgerBatch, hash: Hex, signal: AbortSignal): Promise<LedgerBatch | null> => {
    let receipt = await receiptOf(hash, signal)
    if (receipt === null) {
      const known = await abortable(getTransaction(client, { hash }), signal).then(() => true, (err: unknown) => {
        if (err instanceof BaseError && err.walk(e => e instanceof TransactionNotFoundError) !== null) return false
        throw err
      })
      if (!known) { log('batch %d: the chain does not know tx %s; looking at the contract', batch.index, hash); return null }
    }
    receipt = await waitMined(hash, signal)
    if (receipt === null) throw new AnchorFailedError(batch, `transaction ${hash} was not mined within ${receiptTimeoutMs} ms`)
    if (receipt.status !== 'success') { log('batch %d: tx %s reverted; looking at the contract', batch.index, hash); return null }
    return record(batch, receipt, true)
  }

  /** The contract already covers the batch's range (sent by a run that died before recording it): record its event. */
  const recover = async (batch: LedgerBatch, fromBlock: bigint, signal: AbortSignal): Promise<LedgerBatch> => {
    const found = await abortable(findAnchoredEvent(client, { anchor, provider, fromSeq: batch.fromSeq, toSeq: batch.toSeq, fromBlock }, { signal }), signal)
    if (found === null) throw new AnchorRejectedError(batch, 'range-mismatch', 'the contract\'s anchors for this account pass its range without an Anchored event for exactly it', ANCHOR_REJECT_HINTS['range-mismatch'] as string)
    if (found.root.toLowerCase() !== batch.root.toLowerCase()) {
      throw new AnchorRejectedError(batch, 'root-mismatch', `the contract holds root ${found.root} for it (tx ${found.txHash}), not ${batch.root}`, ANCHOR_REJECT_HINTS['root-mismatch'] as string)
    }
    const receipt = await waitMined(found.txHash, signal)
    if (receipt === null) throw new AnchorFailedError(batch, `transaction ${found.txHash} has not enough confirmations yet`)
    return record(batch, receipt, true)
  }

  const submit = async (batch: LedgerBatch, signal: AbortSignal): Promise<LedgerBatch> => {
    let request
    try {
      ({ request } = await abortable(simulateContract(client, {
        account: client.account, address: anchor, abi: usageAnchorAbi, functionName: 'anchor', args: [batch.root, BigInt(batch.fromSeq), BigInt(batch.toSeq)]
      }), signal))
    } catch (err) {
      const revert = err instanceof BaseError ? err.walk(e => e instanceof ContractFunctionRevertedError) : null
      if (revert instanceof ContractFunctionRevertedError && revert.data !== undefined) {
        const name = revert.data.errorName
        throw new AnchorRejectedError(batch, name, `the contract refused it: ${name}(${(revert.data.args ?? []).map(String).join(', ')})`, ANCHOR_REJECT_HINTS[name] ?? 'Report it with the output of `clawnode ledger`.', { cause: err })
      }
      throw err
    }
    // Not raced with the signal: once a transaction is sent its hash must be recorded.
    const hash = await writeContract(client, request)
    ledger.markSubmitted(batch.index, { txHash: hash })
    log('batch %d (seq %d..%d): sent tx %s', batch.index, batch.fromSeq, batch.toSeq, hash)
    emit({ type: 'clawnode:anchor:submitted', detail: { batch: { ...batch, anchorStatus: 'submitted', anchorTxHash: hash.toLowerCase() as Hex }, txHash: hash } })
    const receipt = await waitMined(hash, signal)
    // Either way the batch stays submitted: the next attempt follows the transaction again.
    if (receipt === null) throw new AnchorFailedError(batch, `transaction ${hash} was not mined within ${receiptTimeoutMs} ms`)
    if (receipt.status !== 'success') throw new AnchorFailedError(batch, `transaction ${hash} reverted in block ${receipt.blockNumber}`)
    return record(batch, receipt, false)
  }

  /** Anchors one batch; its predecessor is anchored (in block `floor` when known: a lost anchor's event is after it). */
  const settle = async (batch: LedgerBatch, floor: bigint | null, signal: AbortSignal): Promise<LedgerBatch> => {
    if (batch.anchorStatus === 'submitted' && batch.anchorTxHash !== null) {
      const done = await follow(batch, batch.anchorTxHash, signal)
      if (done !== null) return done
    }
    const [, , latestTo] = await abortable(readContract(client, { address: anchor, abi: usageAnchorAbi, functionName: 'latest', args: [provider] }), signal)
    if (latestTo >= BigInt(batch.toSeq)) {
      // Rare (a run died between sending and recording), so the list of batches is read only here.
      floor ??= BigInt(batch.index === 1 ? 0 : ledger.batches()[batch.index - 2]?.anchorBlock ?? 0)
      return await recover(batch, floor, signal)
    }
    return await submit(batch, signal)
  }

  const attempt = async (options: AnchorRunOptions, signal: AbortSignal): Promise<AnchorRunResult> => {
    lastRunAt = Date.now()
    const closed: LedgerBatch[] = []
    if (options.close !== false) {
      // A backlog longer than MAX_BATCH_ENTRIES closes as several batches, up to the head seen now.
      const head = ledger.head().seq
      for (let b = await ledger.closeBatch(head, { signal }); b !== null; b = b.toSeq < head ? await ledger.closeBatch(head, { signal }) : null) {
        closed.push(b)
        emit({ type: 'clawnode:anchor:batch-closed', detail: { batch: b } })
      }
    }
    const anchored: LedgerBatch[] = []
    let error: AnchorError | null = null
    const pending = ledger.pendingAnchors()
    let floor: bigint | null = null
    for (const batch of pending) {
      try {
        const done = await settle(batch, floor, signal)
        anchored.push(done)
        floor = BigInt(done.anchorBlock ?? 0)
      } catch (err) {
        if (signal.aborted) throw signal.reason
        const e = chainErrorOf(err, client, batch)
        if (e === undefined) throw err
        error = e
        break // never anchor batch N+1 before N
      }
    }
    return { closed, anchored, pending: pending.slice(anchored.length), error }
  }

  const failed = (error: Error, retryAt: number | null): void => {
    failures++
    lastError = error
    log.error('%s (attempt %d in a row failed; %s)', error.message, failures, retryAt === null ? 'no retry scheduled' : `next at ${new Date(retryAt).toISOString()}`)
    if (error instanceof ChainUnreachableError) emit({ type: 'clawnode:anchor:unreachable', detail: { error, failures, retryAt } })
    else emit({ type: 'clawnode:anchor:failed', detail: { error, batch: (error as { batch?: number | null }).batch ?? null, failures, retryAt } })
  }
  const succeeded = (): void => { failures = 0; lastError = null }

  const loop = async (signal: AbortSignal): Promise<void> => {
    let nextCloseAt = Date.now() + periodMs
    let close = false
    while (!signal.aborted) {
      const started = Date.now()
      if (close) nextCloseAt = started + periodMs
      let error: Error | null
      try {
        error = (await serially(async () => await attempt({ close }, signal))).error
      } catch (err) {
        if (signal.aborted) return
        error = err as Error // a ledger error (closed, corrupt): wait for the next period
      }
      const now = Date.now()
      let wait = Math.max(0, nextCloseAt - now)
      // A timer can fire a little before Date.now() reaches its end (libuv measures from its cached
      // loop time), so a wait that runs to the period's end closes the next batch whatever the clock says.
      let untilPeriod = true
      if (error === null) succeeded()
      else {
        if (error instanceof ClawnodeError && error.retryable && backoff(failures + 1) < wait) { wait = backoff(failures + 1); untilPeriod = false }
        failed(error, now + wait)
      }
      nextRunAt = now + wait
      try {
        await sleep(wait, undefined, { signal, ref: false })
      } catch {
        return
      }
      close = untilPeriod || Date.now() >= nextCloseAt
    }
  }

  return {
    start () {
      if (controller !== undefined) return
      controller = new AbortController()
      log('anchoring %s for %s every %d ms', anchor, provider, periodMs)
      looping = loop(controller.signal)
    },
    async stop (options = {}) {
      if (controller === undefined) return
      controller.abort()
      await looping
      controller = undefined
      looping = undefined
      nextRunAt = null
      const signal = AbortSignal.any([AbortSignal.timeout(ANCHOR_STOP_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
      try {
        const { error } = await serially(async () => await attempt({}, signal))
        if (error === null) succeeded()
        else failed(error, null)
      } catch (err) {
        log.error('the last anchoring attempt on stop failed: %e', err)
      }
    },
    async runOnce (options = {}) {
      const signal = options.signal ?? new AbortController().signal
      const result = await serially(async () => await attempt(options, signal))
      if (result.error === null) succeeded()
      else failed(result.error, nextRunAt)
      return result
    },
    status () {
      const head = ledger.head().seq
      return {
        running: controller !== undefined,
        periodMs,
        nextRunAt,
        lastRunAt,
        failures,
        lastError: lastError === null ? null : serializeError(lastError),
        pendingBatches: ledger.pendingAnchors().length,
        unbatchedEntries: head - (ledger.lastBatch()?.toSeq ?? 0),
        lastAnchored
      }
    }
  }
}
