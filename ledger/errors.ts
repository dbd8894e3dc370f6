/**
 * One error class per condition the ledger store can meet. Each says what happened and what the
 * operator should do next.
 */
import { ClawnodeError } from '../protocol/index.ts'
import type { ClawnodeErrorOptions } from '../protocol/index.ts'
import type { LedgerBatch } from './batches.ts'

/** What is wrong with the first bad entry of a chain. */
export type LedgerProblem =
  /** The entry's contents no longer hash to its stored hash: it was edited after it was written. */
  | 'hash-mismatch'
  /** The entry's prevHash is not the hash of the entry before it: an entry before it was replaced. */
  | 'broken-link'
  /** Sequence numbers skip: entries were removed. */
  | 'gap'
  /** The entry is intact but was written under another sequence number: rows were moved. */
  | 'reordered'
  /** A row or line cannot be read as an entry at all (wrong types, bad kind, oversized field). */
  | 'malformed'
  /** The chain is intact but shorter or longer than its batches or the export header say. */
  | 'truncated'
  /** A Merkle batch does not follow on from the one before, or reaches past the last entry. */
  | 'bad-batch'

/**
 * The chain failed its integrity check. Names the first bad entry (or batch) and the problem; nothing
 * was appended or imported.
 */
export class LedgerCorruptError extends ClawnodeError {
  static override name = 'LedgerCorruptError'
  /** Sequence number of the first bad entry (the batch index for 'bad-batch'). */
  readonly seq: number
  readonly problem: LedgerProblem
  /** The ledger file or export file that failed. */
  readonly source: string
  constructor (source: string, seq: number, problem: LedgerProblem, detail: string, options: ClawnodeErrorOptions = {}) {
    super(`Ledger ${source} is corrupt at ${problem === 'bad-batch' ? 'batch' : 'seq'} ${seq} (${problem}): ${detail}`, {
      hint: 'Do not append to it. Keep the file for inspection, then restore the ledger from your latest export ' +
        '(`importFrom` into an empty ledger) and re-add the receipts received since from the counterparties\' copies.',
      ...options
    })
    this.seq = seq
    this.problem = problem
    this.source = source
  }
}

/** An entry given to `append` is missing a field or has one out of range. */
export class InvalidLedgerEntryError extends ClawnodeError {
  static override name = 'InvalidLedgerEntryError'
  readonly field: string
  constructor (field: string, problem: string, options: ClawnodeErrorOptions = {}) {
    super(`Invalid ledger entry: ${field} ${problem}`, { hint: 'This is a bug in the caller: check the receipt before appending it.', ...options })
    this.field = field
  }
}

/** Too many appends are waiting for the disk. */
export class LedgerQueueFullError extends ClawnodeError {
  static override name = 'LedgerQueueFullError'
  readonly limit: number
  constructor (limit: number) {
    super(`The ledger's append queue is full (${limit} entries waiting)`, { hint: 'The disk is slower than the appends; try again shortly, and check the disk.', retryable: true })
    this.limit = limit
  }
}

/** A write transaction failed (disk full, I/O error, lock held too long); the entries were not stored. */
export class LedgerWriteError extends ClawnodeError {
  static override name = 'LedgerWriteError'
  constructor (what: string, options: ClawnodeErrorOptions = {}) {
    super(`Could not write to the ledger: ${what}`, { hint: 'Check free space and permissions of the data directory, then try again.', retryable: true, ...options })
  }
}

/** The ledger was used after `close()`. */
export class LedgerClosedError extends ClawnodeError {
  static override name = 'LedgerClosedError'
  constructor () {
    super('The ledger is closed', { hint: 'Open it again with openLedger().' })
  }
}

/** `importFrom` was called on a ledger that already has entries or batches. */
export class LedgerNotEmptyError extends ClawnodeError {
  static override name = 'LedgerNotEmptyError'
  constructor (path: string, count: number) {
    super(`Ledger ${path} is not empty (${count} entries); an export is only imported into an empty ledger`, { hint: 'Import into a new ledger file.' })
  }
}

/** A file is not a ledger or an export this version reads. */
export class UnsupportedLedgerFormatError extends ClawnodeError {
  static override name = 'UnsupportedLedgerFormatError'
  constructor (source: string, problem: string) {
    super(`Ledger ${source}: ${problem}`, { hint: 'Use a clawnode version that wrote it, or a newer one.' })
  }
}

/** A read asked for more entries than one call returns. */
export class LedgerRangeTooLargeError extends ClawnodeError {
  static override name = 'LedgerRangeTooLargeError'
  constructor (asked: number, limit: number) {
    super(`A ledger range of ${asked} entries was asked for; at most ${limit} are returned at once`, { hint: `Read in pages of at most ${limit} entries.` })
  }
}

/** No Merkle batch has this index. */
export class BatchNotFoundError extends ClawnodeError {
  static override name = 'BatchNotFoundError'
  readonly index: number
  constructor (index: number) {
    super(`There is no ledger batch ${index}`, { hint: 'List the batches with batches() and use one of their indexes.' })
    this.index = index
  }
}

/** UsageAnchor refused a batch, or holds another root or range for it: the ledger and the chain disagree. */
export class AnchorRejectedError extends ClawnodeError {
  static override name = 'AnchorRejectedError'
  /** The batch's index. */
  readonly batch: number
  /** The contract's error (`RangeNotContiguous`, `EmptyRange`), or `root-mismatch` / `range-mismatch`. */
  readonly reason: string
  constructor (batch: LedgerBatch, reason: string, detail: string, hint: string, options: ClawnodeErrorOptions = {}) {
    super(`Batch ${batch.index} (seq ${batch.fromSeq}..${batch.toSeq}) cannot be anchored: ${detail}`, { hint, ...options })
    this.batch = batch.index
    this.reason = reason
  }
}

/** An anchoring attempt failed for a reason that may pass (not mined in time, reverted in a race, an RPC error). */
export class AnchorFailedError extends ClawnodeError {
  static override name = 'AnchorFailedError'
  readonly batch: number | null
  constructor (batch: LedgerBatch | null, problem: string, options: ClawnodeErrorOptions = {}) {
    super(`Anchoring ${batch === null ? 'the ledger' : `batch ${batch.index} (seq ${batch.fromSeq}..${batch.toSeq})`} failed: ${problem}`, {
      hint: 'It is tried again with back-off; if it keeps failing, run with DEBUG=clawnode:anchor and look at the transaction on the chain.',
      retryable: true,
      ...options
    })
    this.batch = batch?.index ?? null
  }
}

/** What to do about each reason UsageAnchor (or the chain's record) refuses a batch. */
export const ANCHOR_REJECT_HINTS: Record<string, string> = {
  RangeNotContiguous: 'The contract does not hold this ledger\'s earlier anchors for this account: another ledger anchors with the same settlement key, or the chain or contract is new. Give each ledger its own settlement key, or point the node at the chain it anchored on. Anchoring tries again every period.',
  EmptyRange: 'This is a bug: a batch must hold at least one entry. Report it with the output of `clawnode ledger`.',
  'root-mismatch': 'The contract holds another root for these entries: the ledger changed after it was anchored, or another ledger anchors with this settlement key. Keep the ledger file, check it with `clawnode ledger verify <seq>`, and restore it from an export if it was changed.',
  'range-mismatch': 'The contract\'s anchors for this account cover these entries in other ranges: another ledger anchors with this settlement key. Give each ledger its own settlement key.'
}
