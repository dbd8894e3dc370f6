/**
 * Shared pieces of the ledger tests: deterministic entries (so a test, or a parent process, can tell
 * what entry `i` must hold), a fresh ledger path, and direct SQL on a ledger file to corrupt it.
 */
import { createHash } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { LedgerEntry, NewLedgerEntry } from '../../ledger/index.ts'

const bytes = (label: string, i: number, n: number): Uint8Array => {
  const out = new Uint8Array(n)
  for (let off = 0; off < n; off += 32) out.set(createHash('sha256').update(`${label}:${i}:${off}`).digest().subarray(0, Math.min(32, n - off)), off)
  return out
}

/** Entry number `i`: every field derived from `i`. */
export function entry (i: number, over: Partial<NewLedgerEntry> = {}): NewLedgerEntry {
  return {
    kind: i % 3 === 0 ? 'spent' : 'earned',
    receipt: bytes('receipt', i, 300 + (i % 50)),
    providerSignature: bytes('provider', i, 64),
    countersignature: bytes('ack', i, 180),
    orderId: createHash('sha256').update(`order:${i}`).digest('hex').slice(0, 32),
    counterparty: `12D3KooWPeer${i % 7}`,
    amount: 1000 + i,
    inputTokens: 10 * i,
    outputTokens: 5 * i,
    timestampMs: 1_700_000_000_000 + i * 1000,
    ...over
  }
}

/** Whether a stored entry holds exactly what was appended. */
export function sameEntry (stored: LedgerEntry | undefined, e: NewLedgerEntry): boolean {
  if (stored === undefined) return false
  const b = (x: Uint8Array, y: Uint8Array): boolean => Buffer.compare(x, y) === 0
  return stored.kind === e.kind && b(stored.receipt, e.receipt) && b(stored.providerSignature, e.providerSignature) &&
    b(stored.countersignature, e.countersignature) && stored.orderId === e.orderId && stored.counterparty === e.counterparty &&
    stored.amount === e.amount && stored.inputTokens === e.inputTokens && stored.outputTokens === e.outputTokens && stored.timestampMs === e.timestampMs
}

export async function ledgerPath (): Promise<string> {
  // Not test/helpers.ts: the kill -9 child imports this file and should start fast.
  return join(await mkdtemp(join(tmpdir(), 'clawnode-ledger-')), 'ledger.db')
}

/** Runs SQL on a (closed) ledger file, as an attacker or a broken disk would. */
export function tamper (path: string, sql: string, ...params: Array<string | number | Uint8Array>): void {
  const db = new DatabaseSync(path)
  try { db.prepare(sql).run(...params) } finally { db.close() }
}
