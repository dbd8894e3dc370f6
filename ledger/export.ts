/**
 * Export and import of a whole ledger as JSON lines, streamed page by page so memory stays bounded.
 * An import re-verifies everything: the chain, the batch ranges and every batch root.
 *
 * Format (version 1), one JSON object per line, UTF-8, each line at most MAX_EXPORT_LINE_BYTES:
 *
 *   {"type":"header","format":"clawnode-ledger-export","version":1,"entries":N,"head":"<hex>","batches":B,"exportedAtMs":T}
 *   {"type":"entry","seq":1,"prevHash":"<hex>","hash":"<hex>","kind":"earned"|"spent","orderId":"<hex>","counterparty":"<peer id>",
 *    "amount":n,"inputTokens":n,"outputTokens":n,"timestampMs":n,"receipt":"<base64>","providerSignature":"<base64>","countersignature":"<base64>"}
 *   … N entry lines in seq order, then B batch lines in index order:
 *   {"type":"batch","index":1,"fromSeq":1,"toSeq":n,"root":"0x<hex>","createdAtMs":T,"anchorStatus":"pending"|"submitted"|"anchored",
 *    "anchorTxHash":"0x<hex>"|null,"anchorBlock":n|null}
 *
 * Hashes are lowercase hex (32 bytes); `head` is the hash of entry N (zeros when N is 0).
 */
import { open, rename, rm } from 'node:fs/promises'
import { ANCHOR_STATUSES } from './batches.ts'
import { LEDGER_EXPORT_FORMAT, LEDGER_EXPORT_VERSION, LEDGER_PAGE_ROWS, MAX_EXPORT_LINE_BYTES } from './constants.ts'
import { chainVerifier, validateEntry } from './entry.ts'
import { InvalidLedgerEntryError, LedgerCorruptError, LedgerNotEmptyError, UnsupportedLedgerFormatError } from './errors.ts'
import { batchTreeAsync } from './merkle.ts'
import type { AnchorStatus, Batches, LedgerBatch } from './batches.ts'
import type { LedgerEntry, LedgerKind } from './entry.ts'
import type { LedgerDb } from './sqlite.ts'
import type { LedgerProgressOptions } from './store.ts'
import type { FileHandle } from 'node:fs/promises'
import type { Hex } from 'viem'

export interface LedgerExportSummary {
  entries: number
  batches: number
  /** Hash of the last entry, hex. */
  head: string
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')

const entryLine = (e: LedgerEntry): string => JSON.stringify({
  type: 'entry', seq: e.seq, prevHash: hex(e.prevHash), hash: hex(e.hash), kind: e.kind, orderId: e.orderId, counterparty: e.counterparty,
  amount: e.amount, inputTokens: e.inputTokens, outputTokens: e.outputTokens, timestampMs: e.timestampMs,
  receipt: b64(e.receipt), providerSignature: b64(e.providerSignature), countersignature: b64(e.countersignature)
}) + '\n'
const batchLine = (b: LedgerBatch): string => JSON.stringify({ type: 'batch', ...b }) + '\n'

/** Writes the ledger up to its current head to `file` (through a temporary file, renamed when complete). */
export async function exportLedger (ldb: LedgerDb, batches: Batches, file: string, options: LedgerProgressOptions = {}): Promise<LedgerExportSummary> {
  const head = ldb.head()
  const list = batches.list()
  const summary = { entries: head.seq, batches: list.length, head: hex(head.hash) }
  const tmp = `${file}.${process.pid}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await fh.write(JSON.stringify({ type: 'header', format: LEDGER_EXPORT_FORMAT, version: LEDGER_EXPORT_VERSION, ...summary, exportedAtMs: Date.now() }) + '\n')
    // Entries are append-only, so paging up to the head read above gives a consistent snapshot while
    // appends go on. The chain is checked on the way: an export is known good.
    const verifier = chainVerifier()
    while (verifier.head().seq < head.seq) {
      options.signal?.throwIfAborted()
      const page = ldb.page(verifier.head().seq, head.seq, LEDGER_PAGE_ROWS)
      if (page.length === 0) throw new LedgerCorruptError(ldb.path, verifier.head().seq + 1, 'gap', 'entries before the head are missing')
      for (const e of page) {
        const fault = verifier.push(e)
        if (fault !== undefined) throw new LedgerCorruptError(ldb.path, fault.seq, fault.problem, fault.detail)
      }
      await fh.write(page.map(entryLine).join(''))
      options.onProgress?.({ type: 'clawnode:ledger:export', detail: { entries: verifier.head().seq, total: head.seq } })
    }
    await fh.write(list.map(batchLine).join(''))
    await fh.sync()
  } catch (err) {
    await fh.close()
    await rm(tmp, { force: true })
    throw err
  }
  await fh.close()
  await rename(tmp, file)
  return summary
}

/** Reads an export into an empty ledger in one transaction: everything is verified, or nothing is kept. */
export async function importLedger (ldb: LedgerDb, batches: Batches, file: string, options: LedgerProgressOptions = {}): Promise<LedgerExportSummary> {
  const count = ldb.count()
  if (count > 0 || batches.list().length > 0) throw new LedgerNotEmptyError(ldb.path, count)
  const fh = await open(file, 'r')
  try {
    const lines = readLines(fh, file, options.signal)
    const first = await lines.next()
    const header = first.done === true ? undefined : parseJson(first.value)
    if (header?.type !== 'header' || header.format !== LEDGER_EXPORT_FORMAT) throw new UnsupportedLedgerFormatError(file, 'is not a ledger export (no header line)')
    if (header.version !== LEDGER_EXPORT_VERSION) throw new UnsupportedLedgerFormatError(file, `is export version ${String(header.version)}; this version reads ${LEDGER_EXPORT_VERSION}`)
    const total = typeof header.entries === 'number' ? header.entries : 0
    const verifier = chainVerifier()
    const corrupt = (seq: number, problem: 'malformed' | 'truncated' | 'bad-batch', detail: string): LedgerCorruptError => new LedgerCorruptError(file, seq, problem, detail)
    let previous: LedgerBatch | undefined
    let lineNo = 1
    ldb.db.exec('BEGIN IMMEDIATE')
    try {
      for await (const line of lines) {
        lineNo++
        const o = parseJson(line)
        const next = verifier.head().seq + 1
        if (o?.type === 'entry') {
          if (previous !== undefined) throw corrupt(next, 'malformed', `line ${lineNo}: an entry after the batches`)
          const e = parseEntry(o)
          if (e === undefined) throw corrupt(next, 'malformed', `line ${lineNo} is not a ledger entry`)
          const fault = verifier.push(e)
          if (fault !== undefined) throw new LedgerCorruptError(file, fault.seq, fault.problem, `line ${lineNo}: ${fault.detail}`)
          ldb.insert(e)
          if (e.seq % LEDGER_PAGE_ROWS === 0) options.onProgress?.({ type: 'clawnode:ledger:import', detail: { entries: e.seq, total } })
        } else if (o?.type === 'batch') {
          const b = parseBatch(o)
          if (b === undefined) throw corrupt(previous === undefined ? 1 : previous.index + 1, 'bad-batch', `line ${lineNo} is not a batch`)
          const fault = batches.check(b, previous, verifier.head().seq)
          if (fault !== undefined) throw new LedgerCorruptError(file, fault.seq, fault.problem, `line ${lineNo}: ${fault.detail}`)
          const tree = await batchTreeAsync(ldb.leaves(b.fromSeq, b.toSeq), options)
          if (tree.root !== b.root) throw corrupt(b.index, 'bad-batch', `line ${lineNo}: its root is not the root of entries ${b.fromSeq}..${b.toSeq}`)
          batches.insert(b)
          previous = b
        } else {
          throw corrupt(next, 'malformed', `line ${lineNo} is neither an entry nor a batch`)
        }
      }
      const head = verifier.head()
      if (head.seq !== header.entries || hex(head.hash) !== header.head || (previous?.index ?? 0) !== header.batches) {
        throw corrupt(head.seq + 1, 'truncated', `the header promises ${String(header.entries)} entries and ${String(header.batches)} batches ending in ${String(header.head).slice(0, 16)}…; the file holds ${head.seq} and ${previous?.index ?? 0}`)
      }
      ldb.db.exec('COMMIT')
      return { entries: head.seq, batches: previous?.index ?? 0, head: hex(head.hash) }
    } catch (err) {
      if (ldb.db.isTransaction) ldb.db.exec('ROLLBACK')
      throw err
    }
  } finally {
    await fh.close()
  }
}

type Json = Record<string, unknown>
const parseJson = (line: string): Json | undefined => {
  try {
    const o: unknown = JSON.parse(line)
    return typeof o === 'object' && o !== null && !Array.isArray(o) ? o as Json : undefined
  } catch { return undefined }
}
const HASH = /^[0-9a-f]{64}$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const uint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const bytes = (v: unknown): Uint8Array | undefined => typeof v === 'string' && BASE64.test(v) ? new Uint8Array(Buffer.from(v, 'base64')) : undefined

function parseEntry (o: Json): LedgerEntry | undefined {
  const { seq, prevHash, hash, kind, orderId, counterparty, amount, inputTokens, outputTokens, timestampMs } = o
  const receipt = bytes(o.receipt)
  const providerSignature = bytes(o.providerSignature)
  const countersignature = bytes(o.countersignature)
  if (!uint(seq) || typeof prevHash !== 'string' || !HASH.test(prevHash) || typeof hash !== 'string' || !HASH.test(hash)) return undefined
  if (receipt === undefined || providerSignature === undefined || countersignature === undefined) return undefined
  const e = {
    seq, prevHash: new Uint8Array(Buffer.from(prevHash, 'hex')), hash: new Uint8Array(Buffer.from(hash, 'hex')), kind: kind as LedgerKind, orderId: orderId as string, counterparty: counterparty as string,
    amount: amount as number, inputTokens: inputTokens as number, outputTokens: outputTokens as number, timestampMs: timestampMs as number, receipt, providerSignature, countersignature
  }
  try { validateEntry(e) } catch (err) {
    if (err instanceof InvalidLedgerEntryError) return undefined
    throw err
  }
  return e
}

function parseBatch (o: Json): LedgerBatch | undefined {
  const { index, fromSeq, toSeq, root, createdAtMs, anchorStatus, anchorTxHash, anchorBlock } = o
  const hex32 = (v: unknown): v is Hex => typeof v === 'string' && /^0x[0-9a-f]{64}$/.test(v)
  if (!uint(index) || !uint(fromSeq) || !uint(toSeq) || !hex32(root) || !uint(createdAtMs) || !ANCHOR_STATUSES.includes(anchorStatus as AnchorStatus)) return undefined
  if (!(anchorTxHash === null || hex32(anchorTxHash)) || !(anchorBlock === null || uint(anchorBlock))) return undefined
  return { index, fromSeq, toSeq, root, createdAtMs, anchorStatus: anchorStatus as AnchorStatus, anchorTxHash, anchorBlock }
}

/** Lines of a file, each at most MAX_EXPORT_LINE_BYTES; a longer one is a malformed export. */
async function * readLines (fh: FileHandle, file: string, signal: AbortSignal | undefined): AsyncGenerator<string> {
  const buf = Buffer.allocUnsafe(64 * 1024)
  let carry: Buffer[] = []
  let carried = 0
  let lineNo = 0
  const tooLong = (): LedgerCorruptError => new LedgerCorruptError(file, 0, 'malformed', `line ${lineNo + 1} is longer than ${MAX_EXPORT_LINE_BYTES} bytes`)
  for (;;) {
    signal?.throwIfAborted()
    const { bytesRead } = await fh.read(buf, 0, buf.byteLength, null)
    if (bytesRead === 0) break
    const chunk = buf.subarray(0, bytesRead)
    let start = 0
    for (let nl = chunk.indexOf(10, start); ; nl = chunk.indexOf(10, start)) {
      if (nl < 0) {
        carried += chunk.byteLength - start
        if (carried > MAX_EXPORT_LINE_BYTES) throw tooLong()
        carry.push(Buffer.from(chunk.subarray(start)))
        break
      }
      if (carried + nl - start > MAX_EXPORT_LINE_BYTES) throw tooLong()
      const line = carried > 0 ? Buffer.concat([...carry, chunk.subarray(start, nl)]).toString('utf8') : chunk.toString('utf8', start, nl)
      carry = []
      carried = 0
      lineNo++
      start = nl + 1
      yield line
    }
  }
  if (carried > 0) yield Buffer.concat(carry).toString('utf8')
}
