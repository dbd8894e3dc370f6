/**
 * The ledger's SQLite file: schema, durability settings, prepared statements and the conversion of
 * rows to entries. Used by store.ts, batches.ts and export.ts; not exported from the layer.
 *
 * Durability: WAL with `synchronous=FULL`, so COMMIT returns only after the WAL is fsynced. An
 * acknowledged entry then survives a kill -9 of the process (NORMAL would already, since the WAL write
 * is in the page cache) and also an OS crash or power loss on a disk that honours fsync, which NORMAL
 * would not. The fsync per commit is paid once per group commit (store.ts), not once per entry.
 */
import { DatabaseSync } from 'node:sqlite'
import { LEDGER_BUSY_TIMEOUT_MS, LEDGER_SCHEMA_VERSION } from './constants.ts'
import { LEDGER_KINDS, writtenAs } from './entry.ts'
import { LedgerCorruptError, UnsupportedLedgerFormatError } from './errors.ts'
import type { LedgerEntry, LedgerHead, LedgerKind } from './entry.ts'
import type { MerkleLeaf } from './merkle.ts'
import type { SQLOutputValue, StatementSync } from 'node:sqlite'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL,
  kind TEXT NOT NULL,
  order_id TEXT NOT NULL,
  counterparty TEXT NOT NULL,
  amount INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  receipt BLOB NOT NULL,
  provider_signature BLOB NOT NULL,
  countersignature BLOB NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS entries_by_time ON entries (timestamp_ms);
CREATE TABLE IF NOT EXISTS batches (
  idx INTEGER PRIMARY KEY,
  from_seq INTEGER NOT NULL,
  to_seq INTEGER NOT NULL,
  root BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL,
  anchor_status TEXT NOT NULL,
  anchor_tx TEXT,
  anchor_block INTEGER
) STRICT;
`
const COLUMNS = 'seq, prev_hash, hash, kind, order_id, counterparty, amount, input_tokens, output_tokens, timestamp_ms, receipt, provider_signature, countersignature'

/** The open file and its statements. */
export interface LedgerDb {
  db: DatabaseSync
  path: string
  head: () => LedgerHead
  count: () => number
  insert: (e: LedgerEntry) => void
  get: (seq: number) => LedgerEntry | undefined
  /** Entries with afterSeq < seq <= toSeq, at most `limit`, in seq order. */
  page: (afterSeq: number, toSeq: number, limit: number) => LedgerEntry[]
  /** (seq, hash) of fromSeq..toSeq, for Merkle trees. */
  leaves: (fromSeq: number, toSeq: number) => MerkleLeaf[]
  /** Runs `fn` in one BEGIN IMMEDIATE … COMMIT; rolls back if it throws. */
  transaction: <T>(fn: () => T) => T
  /** The seq an intact entry was written under, when that is not its seq now (rows were moved). */
  writtenSeq: (e: LedgerEntry) => number | undefined
}

export function openDb (path: string): LedgerDb {
  const db = new DatabaseSync(path, { timeout: LEDGER_BUSY_TIMEOUT_MS })
  try {
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA synchronous = FULL')
    const version = db.prepare('PRAGMA user_version').get()?.user_version
    if (typeof version !== 'number' || version > LEDGER_SCHEMA_VERSION) {
      throw new UnsupportedLedgerFormatError(path, `schema version ${String(version)} is newer than this version reads (${LEDGER_SCHEMA_VERSION})`)
    }
    if (version < LEDGER_SCHEMA_VERSION) db.exec(`BEGIN IMMEDIATE; ${SCHEMA} PRAGMA user_version = ${LEDGER_SCHEMA_VERSION}; COMMIT`)
  } catch (err) {
    db.close()
    if (err instanceof UnsupportedLedgerFormatError) throw err
    throw new UnsupportedLedgerFormatError(path, `is not a ledger this version can open: ${(err as Error).message}`)
  }
  const stmt = (sql: string): StatementSync => db.prepare(sql)
  const sHead = stmt('SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1')
  const sCount = stmt('SELECT count(*) AS n FROM entries')
  const sInsert = stmt(`INSERT INTO entries (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const sGet = stmt(`SELECT ${COLUMNS} FROM entries WHERE seq = ?`)
  const sPage = stmt(`SELECT ${COLUMNS} FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`)
  const sLeaves = stmt('SELECT seq, hash FROM entries WHERE seq >= ? AND seq <= ? ORDER BY seq')
  const sByHash = stmt(`SELECT ${COLUMNS} FROM entries WHERE hash = ? LIMIT 1`)
  for (const s of [sGet, sPage, sLeaves, sByHash]) s.setReturnArrays(true)

  const toEntry = (row: SQLOutputValue[]): LedgerEntry => toLedgerEntry(path, row)
  const ldb: LedgerDb = {
    db,
    path,
    head () {
      const r = sHead.get()
      if (r === undefined) return { seq: 0, hash: new Uint8Array(32) }
      return { seq: r.seq as number, hash: r.hash as Uint8Array }
    },
    count: () => sCount.get()?.n as number,
    insert (e) {
      sInsert.run(e.seq, e.prevHash, e.hash, e.kind, e.orderId, e.counterparty, e.amount, e.inputTokens, e.outputTokens, e.timestampMs, e.receipt, e.providerSignature, e.countersignature)
    },
    get (seq) {
      const r = sGet.get(seq) as unknown as SQLOutputValue[] | undefined
      return r === undefined ? undefined : toEntry(r)
    },
    page: (afterSeq, toSeq, limit) => (sPage.all(afterSeq, toSeq, limit) as unknown as SQLOutputValue[][]).map(toEntry),
    leaves: (fromSeq, toSeq) => (sLeaves.all(fromSeq, toSeq) as unknown as Array<[number, Uint8Array]>).map(([seq, hash]) => ({ seq, hash })),
    transaction (fn) {
      db.exec('BEGIN IMMEDIATE')
      try {
        const r = fn()
        db.exec('COMMIT')
        return r
      } catch (err) {
        if (db.isTransaction) db.exec('ROLLBACK')
        throw err
      }
    },
    writtenSeq (e) {
      // Follow prevHash back to an entry that is where it was written; a short walk, bounded.
      let cur = e
      let steps = 0
      for (;;) {
        if (cur.prevHash.every(b => b === 0)) return check(e, 1 + steps)
        const r = sByHash.get(cur.prevHash) as unknown as SQLOutputValue[] | undefined
        if (r === undefined || ++steps > 16) return undefined
        cur = toEntry(r)
        if (writtenAs(cur, cur.seq)) return check(e, cur.seq + steps)
      }
    }
  }
  const check = (e: LedgerEntry, seq: number): number | undefined => seq !== e.seq && writtenAs(e, seq) ? seq : undefined
  return ldb
}

/** A row as an entry; a row that cannot be one (a field of the wrong type or size) is a corrupt ledger. */
function toLedgerEntry (source: string, row: SQLOutputValue[]): LedgerEntry {
  const [seq, prevHash, hash, kind, orderId, counterparty, amount, inputTokens, outputTokens, timestampMs, receipt, providerSignature, countersignature] = row
  const bad = (what: string): never => {
    throw new LedgerCorruptError(source, typeof seq === 'number' ? seq : 0, 'malformed', `${what} is not readable`)
  }
  if (typeof seq !== 'number') return bad('seq')
  if (!(prevHash instanceof Uint8Array) || prevHash.byteLength !== 32) return bad('prevHash')
  if (!(hash instanceof Uint8Array) || hash.byteLength !== 32) return bad('hash')
  if (typeof kind !== 'string' || !LEDGER_KINDS.includes(kind as LedgerKind)) return bad('kind')
  if (typeof orderId !== 'string') return bad('orderId')
  if (typeof counterparty !== 'string') return bad('counterparty')
  for (const [n, v] of [['amount', amount], ['inputTokens', inputTokens], ['outputTokens', outputTokens], ['timestampMs', timestampMs]] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return bad(n)
  }
  if (!(receipt instanceof Uint8Array)) return bad('receipt')
  if (!(providerSignature instanceof Uint8Array)) return bad('providerSignature')
  if (!(countersignature instanceof Uint8Array)) return bad('countersignature')
  return {
    seq, prevHash, hash, kind: kind as LedgerKind, orderId, counterparty, amount: amount as number, inputTokens: inputTokens as number, outputTokens: outputTokens as number, timestampMs: timestampMs as number, receipt, providerSignature, countersignature
  }
}
