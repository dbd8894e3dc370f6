/**
 * The ledger store: an append-only, hash-chained record of leases earned (provider) or spent
 * (consumer) in one SQLite file, with Merkle batches for anchoring. It is checked end to end on open.
 *
 * The store does not parse receipts or check signatures: the caller verifies the receipt and both
 * signatures first (protocol/receipt.ts) and appends what it verified, byte for byte. That keeps the
 * commit path synchronous and this layer free of protocol rules.
 *
 * Appends use group commit: every append that arrives before the next turn of the event loop goes
 * into one BEGIN IMMEDIATE … COMMIT, so one fsync (sqlite.ts: WAL, synchronous=FULL) acknowledges
 * them all. node:sqlite is synchronous, so a commit holds the event loop for its fsync; appends that
 * arrive meanwhile wait in the queue for the next commit.
 *
 * The check on open walks the whole chain and recomputes the Merkle roots of the newest batches
 * (LEDGER_OPEN_ROOT_CHECK_ENTRIES): the newest root alone already catches an entry rewritten with the
 * chain's hashes recomputed after it, since every later hash, those of the newest batch included, then
 * changes. Older roots only add the case where the newer stored roots were rewritten too; recomputing
 * them all costs about 2 s per 100k entries, so `verify()` does it, not every open.
 */
import { logger } from '@libp2p/logger'
import { createBatches, recentBatches } from './batches.ts'
import { LEDGER_OPEN_ROOT_CHECK_ENTRIES, LEDGER_PAGE_ROWS, MAX_ENTRIES_PER_COMMIT, MAX_PENDING_APPENDS, MAX_RANGE_ENTRIES } from './constants.ts'
import { chainVerifier, entryHash, validateEntry } from './entry.ts'
import { LedgerClosedError, LedgerCorruptError, LedgerQueueFullError, LedgerRangeTooLargeError, LedgerWriteError } from './errors.ts'
import { exportLedger, importLedger } from './export.ts'
import { batchTreeAsync, hashToHex } from './merkle.ts'
import { openDb } from './sqlite.ts'
import type { Batches, LedgerBatch } from './batches.ts'
import type { ChainFault, LedgerEntry, LedgerHead, LedgerKind, NewLedgerEntry } from './entry.ts'
import type { LedgerExportSummary } from './export.ts'
import type { LedgerDb } from './sqlite.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { Hex } from 'viem'

const log = logger('clawnode:ledger')

export type LedgerProgressEvent =
  | { type: 'clawnode:ledger:verify', detail: { checked: number, total: number } }
  | { type: 'clawnode:ledger:export', detail: { entries: number, total: number } }
  | { type: 'clawnode:ledger:import', detail: { entries: number, total: number } }

export interface LedgerProgressOptions extends AbortOptions {
  onProgress?: (event: LedgerProgressEvent) => void
}

export interface LedgerVerifyOptions extends LedgerProgressOptions {
  /**
   * Whose Merkle roots are recomputed from their entries: every batch's ('all', the default of
   * `verify()`), or the newest ones' ('recent', as on open: LEDGER_OPEN_ROOT_CHECK_ENTRIES).
   */
  roots?: 'all' | 'recent'
}

/** The result of an integrity check: the whole chain, the batch ranges and roots, or the first fault. */
export type LedgerVerifyReport =
  /** `rootsChecked`: how many batches had their Merkle roots recomputed (all, or the newest on open). */
  | { ok: true, entries: number, head: LedgerHead, batches: number, rootsChecked: number, ms: number }
  | { ok: false, entries: number, fault: ChainFault, error: LedgerCorruptError }

export interface LedgerTotals {
  entries: number
  amount: bigint
  inputTokens: bigint
  outputTokens: bigint
}

export interface LedgerStats {
  /** Entries appended and transactions committed by this instance: appends / transactions is the group commit's batch size. */
  appended: number
  transactions: number
  /** Appends waiting for the next commit. */
  pending: number
}

/** An entry's inclusion in an anchored (or anchorable) batch. */
export interface EntryProof {
  batch: LedgerBatch
  seq: number
  hash: Hex
  proof: Hex[]
}

export interface Ledger {
  readonly path: string
  /** Appends one entry; resolves with its seq and hash once it is committed to disk. */
  append: (entry: NewLedgerEntry, options?: AbortOptions) => Promise<LedgerHead>
  /** Appends entries with consecutive seqs (in one commit when they fit in MAX_ENTRIES_PER_COMMIT). */
  appendMany: (entries: readonly NewLedgerEntry[], options?: AbortOptions) => Promise<LedgerHead[]>
  get: (seq: number) => LedgerEntry | undefined
  /** Entries fromSeq..toSeq (inclusive) that exist, at most MAX_RANGE_ENTRIES. */
  range: (fromSeq: number, toSeq: number) => LedgerEntry[]
  head: () => LedgerHead
  count: () => number
  /** Sums over entries with sinceMs <= timestampMs < untilMs, of one kind or both. */
  totals: (filter?: { sinceMs?: number, untilMs?: number, kind?: LedgerKind }) => LedgerTotals
  /** Recomputes every hash and link, checks the batch ranges and recomputes every batch's Merkle root (`roots: 'recent'`: the newest, as on open). */
  verify: (options?: LedgerVerifyOptions) => Promise<LedgerVerifyReport>
  /** Writes the whole ledger to `file` (export.ts format), atomically. */
  exportTo: (file: string, options?: LedgerProgressOptions) => Promise<LedgerExportSummary>
  /** Reads an export into this ledger, which must be empty, verifying it; all or nothing. */
  importFrom: (file: string, options?: LedgerProgressOptions) => Promise<LedgerExportSummary>
  /** Closes the next batch (see Batches.close); null when no entry is left outside a batch. */
  closeBatch: (upToSeq?: number, options?: AbortOptions) => Promise<LedgerBatch | null>
  batches: () => LedgerBatch[]
  /** The newest batch; undefined before the first. */
  lastBatch: () => LedgerBatch | undefined
  /** Batches whose root is not yet anchored, oldest first. */
  pendingAnchors: () => LedgerBatch[]
  markSubmitted: (index: number, anchor: { txHash: Hex }) => void
  markAnchored: (index: number, anchor: { txHash: Hex, block: number }) => void
  /** The Merkle proof of entry `seq` in its batch; null when it is not in a batch yet. */
  proveEntry: (seq: number, options?: AbortOptions) => Promise<EntryProof | null>
  stats: () => LedgerStats
  /** Ends a running import, export or batch close (each leaves the file as it was), commits what is queued, and closes the file. */
  close: () => Promise<void>
}

interface Pending {
  entry: NewLedgerEntry
  resolve: (head: LedgerHead) => void
  reject: (err: Error) => void
  signal?: AbortSignal
  onAbort?: () => void
}

/** Opens (creating if needed) the ledger at `path` and verifies it; throws LedgerCorruptError naming the first bad entry. */
export async function openLedger (path: string, options: LedgerProgressOptions = {}): Promise<Ledger> {
  const ldb = openDb(path)
  const batches = createBatches(ldb)
  try {
    const report = await verifyLedger(ldb, batches, { ...options, roots: 'recent' })
    if (!report.ok) throw report.error
    log('opened %s: %d entries, %d batches (%d roots recomputed), verified in %d ms', path, report.entries, report.batches, report.rootsChecked, Math.round(report.ms))
  } catch (err) {
    ldb.db.close()
    throw err
  }
  return createLedger(ldb, batches)
}

function createLedger (ldb: LedgerDb, batches: Batches): Ledger {
  const queue: Pending[] = []
  let scheduled: NodeJS.Immediate | undefined
  let closed = false
  let importing = false
  let appended = 0
  let transactions = 0
  // Imports and batch closes run one at a time, and close() ends them.
  const closing = new AbortController()
  let exclusive: Promise<unknown> = Promise.resolve()
  const serially = async <T>(fn: (signal: AbortSignal) => Promise<T>, options: AbortOptions): Promise<T> => {
    if (closed) throw new LedgerClosedError()
    const signal = options.signal === undefined ? closing.signal : AbortSignal.any([closing.signal, options.signal])
    const run = exclusive.then(async () => { signal.throwIfAborted(); return await fn(signal) })
    exclusive = run.catch(() => {})
    return await run
  }

  const schedule = (): void => { if (scheduled === undefined && !importing) scheduled = setImmediate(flush) }
  function flush (): void {
    scheduled = undefined
    if (importing || queue.length === 0) return
    const group = queue.splice(0, MAX_ENTRIES_PER_COMMIT)
    for (const p of group) if (p.onAbort !== undefined) p.signal?.removeEventListener('abort', p.onAbort)
    let heads: LedgerHead[]
    try {
      heads = ldb.transaction(() => {
        // Read the head inside the transaction: it is the truth even if another connection appended.
        let head = ldb.head()
        return group.map(({ entry }) => {
          const seq = head.seq + 1
          const hash = entryHash(seq, head.hash, entry)
          ldb.insert({ ...entry, seq, prevHash: head.hash, hash })
          head = { seq, hash }
          return head
        })
      })
    } catch (err) {
      log.error('commit of %d entries failed: %e', group.length, err)
      const e = new LedgerWriteError(`a commit of ${group.length} entries failed: ${(err as Error).message}`, { cause: err })
      for (const p of group) p.reject(e)
      if (queue.length > 0) schedule()
      return
    }
    transactions++
    appended += group.length
    group.forEach((p, i) => { p.resolve(heads[i] as LedgerHead) })
    if (queue.length > 0) schedule()
  }

  const enqueue = (entries: readonly NewLedgerEntry[], options: AbortOptions): Array<Promise<LedgerHead>> => {
    if (closed) throw new LedgerClosedError()
    options.signal?.throwIfAborted()
    for (const e of entries) validateEntry(e)
    if (queue.length + entries.length > MAX_PENDING_APPENDS) throw new LedgerQueueFullError(MAX_PENDING_APPENDS)
    const promises = entries.map(e => new Promise<LedgerHead>((resolve, reject) => {
      // Copies, so the caller may reuse its buffers before the commit.
      const entry = { ...e, receipt: Uint8Array.from(e.receipt), providerSignature: Uint8Array.from(e.providerSignature), countersignature: Uint8Array.from(e.countersignature) }
      const p: Pending = { entry, resolve, reject }
      const signal = options.signal
      if (signal !== undefined) {
        p.signal = signal
        p.onAbort = () => {
          const i = queue.indexOf(p)
          if (i >= 0) { queue.splice(i, 1); reject(signal.reason) }
        }
        signal.addEventListener('abort', p.onAbort, { once: true })
      }
      queue.push(p)
    }))
    schedule()
    return promises
  }

  const sTotals = ldb.db.prepare(`SELECT count(*) AS entries, coalesce(sum(amount), 0) AS amount, coalesce(sum(input_tokens), 0) AS input,
    coalesce(sum(output_tokens), 0) AS output FROM entries WHERE timestamp_ms >= $since AND timestamp_ms < $until AND ($kind IS NULL OR kind = $kind)`)
  sTotals.setReadBigInts(true)

  const open = (): void => { if (closed) throw new LedgerClosedError() }
  return {
    path: ldb.path,
    append: async (entry, options = {}) => await (enqueue([entry], options)[0] as Promise<LedgerHead>),
    appendMany: async (entries, options = {}) => await Promise.all(enqueue(entries, options)),
    get: (seq) => { open(); return ldb.get(seq) },
    range (fromSeq, toSeq) {
      open()
      if (toSeq < fromSeq) return []
      if (toSeq - fromSeq + 1 > MAX_RANGE_ENTRIES) throw new LedgerRangeTooLargeError(toSeq - fromSeq + 1, MAX_RANGE_ENTRIES)
      return ldb.page(fromSeq - 1, toSeq, MAX_RANGE_ENTRIES)
    },
    head: () => { open(); return ldb.head() },
    count: () => { open(); return ldb.count() },
    totals (filter = {}) {
      open()
      const r = sTotals.get({ since: filter.sinceMs ?? 0, until: filter.untilMs ?? Number.MAX_SAFE_INTEGER, kind: filter.kind ?? null }) as unknown as { entries: bigint, amount: bigint, input: bigint, output: bigint }
      return { entries: Number(r.entries), amount: r.amount, inputTokens: r.input, outputTokens: r.output }
    },
    verify: async (options = {}) => { open(); return await verifyLedger(ldb, batches, { ...options, roots: options.roots ?? 'all' }) },
    exportTo: async (file, options = {}) => await serially(async (signal) => await exportLedger(ldb, batches, file, { ...options, signal }), options),
    importFrom: async (file, options = {}) => await serially(async (signal) => {
      // Appends wait while the import's transaction is open; they follow the imported entries.
      importing = true
      try {
        return await importLedger(ldb, batches, file, { ...options, signal })
      } finally {
        importing = false
        if (queue.length > 0) schedule()
      }
    }, options),
    closeBatch: async (upToSeq, options = {}) => await serially(async (signal) => {
      const batch = await batches.close(upToSeq, { signal })
      if (batch !== null) log('closed batch %d: seq %d..%d, root %s', batch.index, batch.fromSeq, batch.toSeq, batch.root)
      return batch
    }, options),
    batches: () => { open(); return batches.list() },
    lastBatch: () => { open(); return batches.last() },
    pendingAnchors: () => { open(); return batches.pendingAnchors() },
    markSubmitted: (index, anchor) => { open(); batches.markSubmitted(index, anchor) },
    markAnchored: (index, anchor) => { open(); batches.markAnchored(index, anchor) },
    async proveEntry (seq, options = {}) {
      open()
      const batch = batches.containing(seq)
      if (batch === undefined) return null
      const leaves = ldb.leaves(batch.fromSeq, batch.toSeq)
      const tree = await batchTreeAsync(leaves, options)
      if (tree.root !== batch.root) throw new LedgerCorruptError(ldb.path, batch.index, 'bad-batch', 'its entries no longer hash to its stored root')
      return { batch, seq, hash: hashToHex(leaves[seq - batch.fromSeq]?.hash as Uint8Array), proof: tree.proof(seq) }
    },
    stats: () => ({ appended, transactions, pending: queue.length }),
    async close () {
      if (closed) return
      closing.abort(new LedgerClosedError())
      await exclusive
      closed = true
      if (scheduled !== undefined) clearImmediate(scheduled)
      while (queue.length > 0) flush()
      ldb.db.close()
    }
  }
}

/** Walks the whole chain page by page (the event loop gets a turn between pages), then the batch ranges, then their roots. */
async function verifyLedger (ldb: LedgerDb, batches: Batches, options: LedgerVerifyOptions): Promise<LedgerVerifyReport> {
  const started = performance.now()
  const total = ldb.count()
  const verifier = chainVerifier()
  const failed = (fault: ChainFault): LedgerVerifyReport => {
    return { ok: false, entries: verifier.head().seq, fault, error: new LedgerCorruptError(ldb.path, fault.seq, fault.problem, fault.detail) }
  }
  try {
    for (;;) {
      options.signal?.throwIfAborted()
      const page = ldb.page(verifier.head().seq, Number.MAX_SAFE_INTEGER, LEDGER_PAGE_ROWS)
      for (const e of page) {
        const fault = verifier.push(e)
        if (fault === undefined) continue
        if (fault.problem === 'hash-mismatch') {
          const was = ldb.writtenSeq(e)
          if (was !== undefined) return failed({ seq: e.seq, problem: 'reordered', detail: `the entry here is intact but was written as seq ${was}: rows were moved` })
        }
        return failed(fault)
      }
      options.onProgress?.({ type: 'clawnode:ledger:verify', detail: { checked: verifier.head().seq, total } })
      if (page.length < LEDGER_PAGE_ROWS) break
      await new Promise(resolve => setImmediate(resolve))
    }
    const list = batches.list()
    let previous: LedgerBatch | undefined
    for (const b of list) {
      const fault = batches.check(b, previous, verifier.head().seq)
      if (fault !== undefined) return failed(fault)
      previous = b
    }
    const roots = options.roots === 'recent' ? recentBatches(list, LEDGER_OPEN_ROOT_CHECK_ENTRIES) : list
    for (const b of roots) {
      const fault = await batches.checkRoot(b, options)
      if (fault !== undefined) return failed(fault)
    }
    return { ok: true, entries: verifier.head().seq, head: verifier.head(), batches: list.length, rootsChecked: roots.length, ms: performance.now() - started }
  } catch (err) {
    if (err instanceof LedgerCorruptError) return { ok: false, entries: verifier.head().seq, fault: { seq: err.seq, problem: err.problem, detail: err.message }, error: err }
    throw err
  }
}
