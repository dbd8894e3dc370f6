/**
 * `clawnode ledger verify <seq>`: an entry's inclusion proof in its batch, checked offline against
 * the batch's root, against the root the provider anchored on chain (its Anchored event), and by the
 * UsageAnchor contract's own verify functions.
 */
import { logger } from '@libp2p/logger'
import { readContract } from 'viem/actions'
import { ClawnodeError } from '../protocol/index.ts'
import { chainErrorOf, findAnchoredEvent } from './anchoring.ts'
import { ChainUnreachableError } from './chain/errors.ts'
import { DEFAULT_ANCHOR_PERIOD_MS } from './constants.ts'
import { usageAnchorAbi } from './contracts/artifacts.ts'
import { hashToHex, leafHash, verifyProof } from './merkle.ts'
import type { LedgerBatch } from './batches.ts'
import type { Ledger } from './store.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { Address, Chain, Client, Hex, Transport } from 'viem'

const log = logger('clawnode:anchor')

const inMinutes = (ms: number): string => ms <= 0 ? 'at the next period' : `in about ${Math.max(1, Math.round(ms / 60_000))} min`

/** The ledger has no entry with this seq. */
export class EntryNotFoundError extends ClawnodeError {
  static override name = 'EntryNotFoundError'
  readonly seq: number
  constructor (seq: number, last: number) {
    super(`The ledger has no entry ${seq} (its entries are 1..${last})`, { hint: 'Run `clawnode ledger` to list the entries and use one of their seqs.' })
    this.seq = seq
  }
}

/** The entry exists but no batch holds it yet, so it has no proof. */
export class EntryNotBatchedError extends ClawnodeError {
  static override name = 'EntryNotBatchedError'
  readonly seq: number
  constructor (seq: number, nextCloseInMs: number) {
    super(`Entry ${seq} is not in a batch yet`, {
      hint: `The running node closes the next batch ${inMinutes(nextCloseInMs)}, then anchors it; run \`clawnode ledger\` to see the batches, and verify again after that.`,
      retryable: true
    })
    this.seq = seq
  }
}

/** The entry's batch is closed but its root is not on chain yet. */
export class BatchNotAnchoredError extends ClawnodeError {
  static override name = 'BatchNotAnchoredError'
  readonly batch: number
  constructor (batch: LedgerBatch) {
    super(`Batch ${batch.index} (seq ${batch.fromSeq}..${batch.toSeq}) is ${batch.anchorStatus === 'submitted' ? `submitted (tx ${batch.anchorTxHash ?? '?'}) but not recorded as mined` : 'not anchored yet'}`, {
      hint: 'The running node anchors it as soon as the chain answers (it retries with back-off, at least once a period); run `clawnode ledger` to see the anchoring state (tx and block per batch; DEBUG=clawnode:anchor on the node says why it waits), and verify again after that.',
      retryable: true
    })
    this.batch = batch.index
  }
}

export interface ProveOnChainInit {
  /** Any client of the chain the batch was anchored on (read only). */
  client: Client<Transport, Chain | undefined>
  /** The UsageAnchor contract. */
  anchor: Address
  /** The settlement address that anchored the ledger. */
  provider: Address
  /** The anchoring period, for the hint of an entry not yet batched; DEFAULT_ANCHOR_PERIOD_MS. */
  periodMs?: number
}

/** What is claimed: entry `seq` with `entryHash` is in the batch whose root is `batch.root`, by `proof`. */
export interface EntryClaim {
  seq: number
  entryHash: Hex
  proof: Hex[]
  batch: { fromSeq: number, toSeq: number, root: Hex, block: number | null }
}

export interface ProofChecks {
  /** The proof leads from the entry's leaf to the batch root (merkle.ts, no chain). */
  offline: boolean
  /** The provider's Anchored event for exactly this range carries this root. */
  onChainRoot: boolean
  /** UsageAnchor.verify(root, leaf, proof) is true, and verifyLatest too when this is the provider's latest batch. */
  contract: boolean
  /** Whether this batch is the provider's latest on chain (so verifyLatest was asked as well). */
  latest: boolean
}

export interface OnChainProof extends ProofChecks {
  seq: number
  entryHash: Hex
  /** keccak256(keccak256(abi.encode(seq, entryHash))), the leaf the contract checks. */
  leaf: Hex
  batch: { index: number, fromSeq: number, toSeq: number, root: Hex, txHash: Hex | null, block: number | null }
  proof: Hex[]
  /** offline && onChainRoot && contract. */
  ok: boolean
}

/**
 * Checks a claim against the chain: offline, against the provider's Anchored event, and by the
 * contract. Throws ChainUnreachableError when the chain does not answer.
 */
export async function checkOnChain (init: ProveOnChainInit, claim: EntryClaim, options: AbortOptions = {}): Promise<ProofChecks> {
  const { client, anchor, provider } = init
  const { seq, entryHash, proof, batch } = claim
  const offline = verifyProof(batch.root, seq, entryHash, proof)
  const leaf = hashToHex(leafHash(seq, entryHash))
  try {
    const block = batch.block === null ? undefined : BigInt(batch.block)
    const event = await findAnchoredEvent(client, { anchor, provider, fromSeq: batch.fromSeq, toSeq: batch.toSeq, ...(block === undefined ? {} : { fromBlock: block, toBlock: block }) }, options)
    const onChainRoot = event !== null && event.root.toLowerCase() === batch.root.toLowerCase()
    options.signal?.throwIfAborted()
    const [, latestFrom, latestTo] = await readContract(client, { address: anchor, abi: usageAnchorAbi, functionName: 'latest', args: [provider] })
    const latest = latestFrom === BigInt(batch.fromSeq) && latestTo === BigInt(batch.toSeq)
    let contract = await readContract(client, { address: anchor, abi: usageAnchorAbi, functionName: 'verify', args: [batch.root, leaf, proof] })
    if (contract && latest) {
      contract = await readContract(client, { address: anchor, abi: usageAnchorAbi, functionName: 'verifyLatest', args: [provider, BigInt(seq), entryHash, proof] })
    }
    log('entry %d: offline %s, on-chain root %s, contract %s%s', seq, offline, onChainRoot, contract, latest ? ' (latest batch)' : '')
    return { offline, onChainRoot, contract, latest }
  } catch (err) {
    options.signal?.throwIfAborted()
    const e = chainErrorOf(err, client)
    throw e instanceof ChainUnreachableError ? e : err
  }
}

/** Entry `seq`'s inclusion proof from the ledger, checked offline, against the anchored root and by the contract. */
export async function proveOnChain (ledger: Ledger, seq: number, init: ProveOnChainInit, options: AbortOptions = {}): Promise<OnChainProof> {
  const periodMs = init.periodMs ?? DEFAULT_ANCHOR_PERIOD_MS
  const entry = ledger.get(seq)
  if (entry === undefined) throw new EntryNotFoundError(seq, ledger.head().seq)
  const found = await ledger.proveEntry(seq, options)
  if (found === null) {
    const last = ledger.lastBatch()
    throw new EntryNotBatchedError(seq, last === undefined ? periodMs : last.createdAtMs + periodMs - Date.now())
  }
  const { batch, hash: entryHash, proof } = found
  if (batch.anchorStatus !== 'anchored') throw new BatchNotAnchoredError(batch)
  const checks = await checkOnChain(init, { seq, entryHash, proof, batch: { fromSeq: batch.fromSeq, toSeq: batch.toSeq, root: batch.root, block: batch.anchorBlock } }, options)
  return {
    seq,
    entryHash,
    leaf: hashToHex(leafHash(seq, entryHash)),
    batch: { index: batch.index, fromSeq: batch.fromSeq, toSeq: batch.toSeq, root: batch.root, txHash: batch.anchorTxHash, block: batch.anchorBlock },
    proof,
    ...checks,
    ok: checks.offline && checks.onChainRoot && checks.contract
  }
}
