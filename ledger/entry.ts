/**
 * Ledger entries and their hash chain, without I/O: the validation of a new entry, the fixed binary
 * encoding that is hashed, and a verifier that walks a chain in order and names the first bad entry.
 *
 * The hash of entry `seq` is sha256 over this encoding (integers big-endian, lengths first so the
 * encoding is unambiguous; version 1):
 *
 *   "clawnode:ledger-entry:v1"        24 bytes, ASCII (LEDGER_ENTRY_DOMAIN)
 *   seq                               u64
 *   prevHash                          32 bytes (all zero for seq 1)
 *   kind                              u8     1 = earned, 2 = spent
 *   amount                            u64    credits
 *   inputTokens, outputTokens         u64, u64
 *   timestampMs                       u64
 *   len(orderId), len(counterparty)   u16, u16 (orderId as bytes: the hex decoded; counterparty as UTF-8)
 *   len(receipt), len(providerSignature), len(countersignature)   u32 each
 *   orderId || counterparty || receipt || providerSignature || countersignature
 */
import { createHash } from 'node:crypto'
import { LEDGER_ENTRY_DOMAIN, MAX_COUNTERPARTY_CHARS, MAX_ENTRY_BLOB_BYTES, MAX_ORDER_ID_CHARS } from './constants.ts'
import { InvalidLedgerEntryError } from './errors.ts'
import type { LedgerProblem } from './errors.ts'

/** 'earned': a provider's record of a lease it served; 'spent': a consumer's record of one it paid for. */
export type LedgerKind = 'earned' | 'spent'
export const LEDGER_KINDS: readonly LedgerKind[] = ['earned', 'spent']

/** What the caller appends. The receipt and both signatures are opaque to the ledger: verify them first. */
export interface NewLedgerEntry {
  kind: LedgerKind
  /** The signed receipt envelope, exactly as received or sent (protocol/receipt.ts). */
  receipt: Uint8Array
  /** The provider's signature over the receipt. */
  providerSignature: Uint8Array
  /** The consumer's countersignature: the ReceiptAck envelope, exactly as received or sent. */
  countersignature: Uint8Array
  /** The order id, lowercase hex. */
  orderId: string
  /** The other side's peer id, as a string. */
  counterparty: string
  /** Credits earned or spent: a non-negative safe integer. */
  amount: number
  inputTokens: number
  outputTokens: number
  /** When the lease ended (the receipt's time), ms since the epoch. */
  timestampMs: number
}

/** An entry as stored: its place in the chain and its hash. */
export interface LedgerEntry extends NewLedgerEntry {
  seq: number
  prevHash: Uint8Array
  hash: Uint8Array
}

/** The last entry of a chain; seq 0 and a zero hash when the chain is empty. */
export interface LedgerHead {
  seq: number
  hash: Uint8Array
}

export const ZERO_HASH: Uint8Array = new Uint8Array(32)
const DOMAIN = new TextEncoder().encode(LEDGER_ENTRY_DOMAIN)
const FIXED = DOMAIN.byteLength + 8 + 32 + 1 + 8 * 4 + 2 * 2 + 4 * 3
const HEX = /^(?:[0-9a-f]{2})*$/

/** Byte-wise equality of two hashes. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0

const uint = (field: string, n: unknown): void => {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new InvalidLedgerEntryError(field, `must be a non-negative safe integer, not ${String(n).slice(0, 40)}`)
}
const blob = (field: string, b: unknown): void => {
  if (!(b instanceof Uint8Array)) throw new InvalidLedgerEntryError(field, 'must be a Uint8Array')
  if (b.byteLength > MAX_ENTRY_BLOB_BYTES) throw new InvalidLedgerEntryError(field, `is ${b.byteLength} bytes, the limit is ${MAX_ENTRY_BLOB_BYTES}`)
}

/** Throws InvalidLedgerEntryError naming the first field that is missing, of the wrong type or out of range. */
export function validateEntry (e: NewLedgerEntry): void {
  if (!LEDGER_KINDS.includes(e.kind)) throw new InvalidLedgerEntryError('kind', `must be one of ${LEDGER_KINDS.join(', ')}`)
  blob('receipt', e.receipt)
  blob('providerSignature', e.providerSignature)
  blob('countersignature', e.countersignature)
  if (typeof e.orderId !== 'string' || e.orderId.length === 0 || e.orderId.length > MAX_ORDER_ID_CHARS || !HEX.test(e.orderId)) {
    throw new InvalidLedgerEntryError('orderId', `must be lowercase hex of an even length up to ${MAX_ORDER_ID_CHARS} characters`)
  }
  if (typeof e.counterparty !== 'string' || e.counterparty.length === 0 || e.counterparty.length > MAX_COUNTERPARTY_CHARS) {
    throw new InvalidLedgerEntryError('counterparty', `must be a peer id string of 1..${MAX_COUNTERPARTY_CHARS} characters`)
  }
  uint('amount', e.amount)
  uint('inputTokens', e.inputTokens)
  uint('outputTokens', e.outputTokens)
  uint('timestampMs', e.timestampMs)
}

/** The entry's hash given its place in the chain (see the encoding above). Expects a validated entry. */
export function entryHash (seq: number, prevHash: Uint8Array, e: NewLedgerEntry): Uint8Array {
  if (prevHash.byteLength !== 32) throw new InvalidLedgerEntryError('prevHash', 'must be 32 bytes')
  const orderId = Buffer.from(e.orderId, 'hex')
  const counterparty = Buffer.from(e.counterparty, 'utf8')
  const head = Buffer.allocUnsafe(FIXED)
  // Safe integers fit in 53 bits: the high word is written as a plain number, faster than a BigInt.
  const u64 = (n: number, at: number): number => { head.writeUInt32BE(Math.floor(n / 0x1_0000_0000), at); return head.writeUInt32BE(n >>> 0, at + 4) }
  head.set(DOMAIN, 0)
  let o = u64(seq, DOMAIN.byteLength)
  head.set(prevHash, o)
  o = head.writeUInt8(e.kind === 'earned' ? 1 : 2, o + 32)
  o = u64(e.amount, o)
  o = u64(e.inputTokens, o)
  o = u64(e.outputTokens, o)
  o = u64(e.timestampMs, o)
  o = head.writeUInt16BE(orderId.byteLength, o)
  o = head.writeUInt16BE(counterparty.byteLength, o)
  o = head.writeUInt32BE(e.receipt.byteLength, o)
  o = head.writeUInt32BE(e.providerSignature.byteLength, o)
  head.writeUInt32BE(e.countersignature.byteLength, o)
  const h = createHash('sha256').update(head).update(orderId).update(counterparty)
  return new Uint8Array(h.update(e.receipt).update(e.providerSignature).update(e.countersignature).digest())
}

/** A fault found by the chain verifier: the first bad entry and what is wrong with it. */
export interface ChainFault {
  seq: number
  problem: LedgerProblem
  detail: string
}

export interface ChainVerifier {
  /**
   * Checks the next entry of the chain (in seq order) and returns the fault, if any. After a fault the
   * verifier is not advanced: stop at the first one.
   */
  push: (entry: LedgerEntry) => ChainFault | undefined
  /** The last good entry. */
  head: () => LedgerHead
}

/** Walks a chain from seq 1 (or from `from`, the last good head of an earlier walk). */
export function chainVerifier (from: LedgerHead = { seq: 0, hash: ZERO_HASH }): ChainVerifier {
  let head = from
  return {
    push (e) {
      const expected = head.seq + 1
      if (e.seq > expected) return { seq: expected, problem: 'gap', detail: `${e.seq - 1 === expected ? `seq ${expected} is` : `seqs ${expected}..${e.seq - 1} are`} missing or out of order (the next entry is seq ${e.seq})` }
      if (e.seq < expected) return { seq: e.seq, problem: 'reordered', detail: `seq ${e.seq} comes after seq ${head.seq}` }
      if (!sameBytes(entryHash(e.seq, e.prevHash, e), e.hash)) {
        return { seq: e.seq, problem: 'hash-mismatch', detail: 'its contents do not hash to its stored hash: the entry was changed after it was written' }
      }
      if (!sameBytes(e.prevHash, head.hash)) {
        return { seq: e.seq, problem: 'broken-link', detail: `its prevHash is not the hash of seq ${head.seq}: an entry at or before seq ${head.seq} was replaced` }
      }
      head = { seq: e.seq, hash: e.hash }
      return undefined
    },
    head: () => head
  }
}

/** Whether an entry whose hash did not match was in fact written, intact, as `writtenAs`. */
export function writtenAs (e: LedgerEntry, seq: number): boolean {
  return sameBytes(entryHash(seq, e.prevHash, e), e.hash)
}
