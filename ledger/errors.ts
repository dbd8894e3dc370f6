/**
 * One error class per condition the ledger store can meet. Each says what happened and what the
 * operator should do next.
 */
import { ClawnodeError } from '../protocol/index.ts'
import type { ClawnodeErrorOptions } from '../protocol/index.ts'

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
