/**
 * Merkle batches of the ledger: consecutive ranges of entries (the first from seq 1, each next one from
 * the previous one's toSeq + 1, as the UsageAnchor contract requires) with their Merkle root and the
 * state of the transaction that anchors the root on chain.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { MAX_BATCH_ENTRIES } from './constants.ts'
import { BatchNotFoundError, LedgerCorruptError, LedgerWriteError } from './errors.ts'
import { batchTreeAsync, hashToHex } from './merkle.ts'
import type { LedgerDb } from './sqlite.ts'
import type { ChainFault } from './entry.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { Hex } from 'viem'

/** 'pending': not sent; 'submitted': a transaction was sent (txHash set); 'anchored': it is in a block. */
export type AnchorStatus = 'pending' | 'submitted' | 'anchored'
export const ANCHOR_STATUSES: readonly AnchorStatus[] = ['pending', 'submitted', 'anchored']

export interface LedgerBatch {
  /** 1, 2, 3, … in order. */
  index: number
  fromSeq: number
  toSeq: number
  /** The Merkle root of entries fromSeq..toSeq (merkle.ts). */
  root: Hex
  createdAtMs: number
  anchorStatus: AnchorStatus
  anchorTxHash: Hex | null
  anchorBlock: number | null
}

export interface Batches {
  /** The next batch: the entries after the last batch up to `upToSeq` (default the head), at most MAX_BATCH_ENTRIES; null when there are none. */
  close: (upToSeq?: number, options?: AbortOptions) => Promise<LedgerBatch | null>
  list: () => LedgerBatch[]
  /** The newest batch. */
  last: () => LedgerBatch | undefined
  get: (index: number) => LedgerBatch | undefined
  /** The batch that holds entry `seq`. */
  containing: (seq: number) => LedgerBatch | undefined
  pendingAnchors: () => LedgerBatch[]
  markSubmitted: (index: number, anchor: { txHash: Hex }) => void
  markAnchored: (index: number, anchor: { txHash: Hex, block: number }) => void
  /** Rows inserted as they are (an import); the caller has checked them with `check`. */
  insert: (b: LedgerBatch) => void
  /** The first batch that does not follow on from the one before or reaches past `headSeq`. */
  check: (b: LedgerBatch, previous: LedgerBatch | undefined, headSeq: number) => ChainFault | undefined
  /** Recomputes the batch's Merkle root from its entries: a fault when it is not the stored root. */
  checkRoot: (b: LedgerBatch, options?: AbortOptions) => Promise<ChainFault | undefined>
}

const COLUMNS = 'idx, from_seq, to_seq, root, created_at_ms, anchor_status, anchor_tx, anchor_block'

export function createBatches (ldb: LedgerDb): Batches {
  const { db } = ldb
  const sLast = db.prepare(`SELECT ${COLUMNS} FROM batches ORDER BY idx DESC LIMIT 1`)
  const sList = db.prepare(`SELECT ${COLUMNS} FROM batches ORDER BY idx`)
  const sGet = db.prepare(`SELECT ${COLUMNS} FROM batches WHERE idx = ?`)
  const sContaining = db.prepare(`SELECT ${COLUMNS} FROM batches WHERE from_seq <= ? AND to_seq >= ? ORDER BY idx LIMIT 1`)
  const sPending = db.prepare(`SELECT ${COLUMNS} FROM batches WHERE anchor_status != 'anchored' ORDER BY idx`)
  const sInsert = db.prepare(`INSERT INTO batches (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
  const sMark = db.prepare('UPDATE batches SET anchor_status = ?, anchor_tx = ?, anchor_block = ? WHERE idx = ?')
  for (const s of [sLast, sList, sGet, sContaining, sPending]) s.setReturnArrays(true)
  const rows = (r: unknown): LedgerBatch[] => (r as unknown[][]).map(x => toBatch(ldb.path, x))
  const last = (): LedgerBatch | undefined => rows([sLast.get()].filter(x => x !== undefined))[0]
  const insert = (b: LedgerBatch): void => {
    sInsert.run(b.index, b.fromSeq, b.toSeq, Buffer.from(b.root.slice(2), 'hex'), b.createdAtMs, b.anchorStatus, b.anchorTxHash, b.anchorBlock)
  }
  const mark = (index: number, status: AnchorStatus, txHash: Hex, block: number | null): void => {
    if (!/^0x[0-9a-fA-F]{64}$/.test(txHash)) throw new InvalidParametersError('txHash must be a 32-byte 0x-hex string')
    if (block !== null && (!Number.isSafeInteger(block) || block < 0)) throw new InvalidParametersError('block must be a non-negative integer')
    if (Number(sMark.run(status, txHash.toLowerCase(), block, index).changes) === 0) throw new BatchNotFoundError(index)
  }

  return {
    async close (upToSeq, options = {}) {
      const previous = last()
      const fromSeq = (previous?.toSeq ?? 0) + 1
      const toSeq = Math.min(upToSeq ?? Number.MAX_SAFE_INTEGER, ldb.head().seq, fromSeq + MAX_BATCH_ENTRIES - 1)
      if (toSeq < fromSeq) return null
      const leaves = ldb.leaves(fromSeq, toSeq)
      if (leaves.length !== toSeq - fromSeq + 1) throw new LedgerCorruptError(ldb.path, fromSeq, 'gap', `entries ${fromSeq}..${toSeq} are not all present`)
      const tree = await batchTreeAsync(leaves, options)
      const batch: LedgerBatch = { index: (previous?.index ?? 0) + 1, fromSeq, toSeq, root: tree.root, createdAtMs: Date.now(), anchorStatus: 'pending', anchorTxHash: null, anchorBlock: null }
      ldb.transaction(() => {
        // Another connection may have closed a batch while the tree was built.
        if (last()?.index !== previous?.index) throw new LedgerWriteError('another connection closed a batch while this one was built; close it again')
        insert(batch)
      })
      return batch
    },
    list: () => rows(sList.all()),
    last,
    get: (index) => rows([sGet.get(index)].filter(x => x !== undefined))[0],
    containing: (seq) => rows([sContaining.get(seq, seq)].filter(x => x !== undefined))[0],
    pendingAnchors: () => rows(sPending.all()),
    markSubmitted: (index, a) => { mark(index, 'submitted', a.txHash, null) },
    markAnchored: (index, a) => { mark(index, 'anchored', a.txHash, a.block) },
    insert,
    check (b, previous, headSeq) {
      const index = (previous?.index ?? 0) + 1
      const fromSeq = (previous?.toSeq ?? 0) + 1
      if (b.index !== index) return { seq: b.index, problem: 'bad-batch', detail: `batch ${index} is missing` }
      if (b.fromSeq !== fromSeq) return { seq: b.index, problem: 'bad-batch', detail: `it starts at seq ${b.fromSeq}, not right after the previous batch (${fromSeq})` }
      if (b.toSeq < b.fromSeq) return { seq: b.index, problem: 'bad-batch', detail: `it ends (${b.toSeq}) before it starts (${b.fromSeq})` }
      if (b.toSeq > headSeq) return { seq: headSeq + 1, problem: 'truncated', detail: `batch ${b.index} reaches seq ${b.toSeq} but the last entry is ${headSeq}: entries ${headSeq + 1}..${b.toSeq} were removed` }
      return undefined
    },
    async checkRoot (b, options = {}) {
      const leaves = ldb.leaves(b.fromSeq, b.toSeq)
      // The range check ran first, so a short batch here means rows vanished meanwhile; the chain walk names them.
      if (leaves.length === 0) return { seq: b.index, problem: 'bad-batch', detail: `its entries ${b.fromSeq}..${b.toSeq} are missing` }
      const { root } = await batchTreeAsync(leaves, options)
      if (root === b.root) return undefined
      const anchored = b.anchorStatus === 'anchored' ? `, anchored in block ${b.anchorBlock ?? '?'} (tx ${b.anchorTxHash ?? '?'})` : ''
      // The chain itself verified: an entry at or after fromSeq was rewritten and every hash after it recomputed.
      return { seq: b.index, problem: 'bad-batch', detail: `its entries ${b.fromSeq}..${b.toSeq} hash to the Merkle root ${root}, not to the stored root ${b.root}${anchored}: entries were rewritten, with the chain's hashes recomputed, after the batch was closed` }
    }
  }
}

/**
 * The batches whose roots the check on open recomputes: the newest, and those before it while all of
 * their entries together stay within `budget`. Oldest first.
 */
export function recentBatches (list: readonly LedgerBatch[], budget: number): LedgerBatch[] {
  const out: LedgerBatch[] = []
  let entries = 0
  for (let i = list.length - 1; i >= 0; i--) {
    const b = list[i] as LedgerBatch
    entries += b.toSeq - b.fromSeq + 1
    if (out.length > 0 && entries > budget) break
    out.unshift(b)
  }
  return out
}

function toBatch (source: string, row: unknown[]): LedgerBatch {
  const [index, fromSeq, toSeq, root, createdAtMs, status, txHash, block] = row
  const ok = typeof index === 'number' && typeof fromSeq === 'number' && typeof toSeq === 'number' && root instanceof Uint8Array && root.byteLength === 32 &&
    typeof createdAtMs === 'number' && ANCHOR_STATUSES.includes(status as AnchorStatus) && (txHash === null || typeof txHash === 'string') && (block === null || typeof block === 'number')
  if (!ok) throw new LedgerCorruptError(source, typeof index === 'number' ? index : 0, 'bad-batch', 'the batch row is not readable')
  return { index, fromSeq, toSeq, root: hashToHex(root), createdAtMs, anchorStatus: status as AnchorStatus, anchorTxHash: txHash as Hex | null, anchorBlock: block as number | null }
}
