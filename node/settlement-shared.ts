/**
 * What both sides of escrow payment share (node/settlement.ts): defaults, the refusal of a draw, the
 * deposit books kept in <data>/settlement/*.json, held amounts, and the escrow's EIP-712 domain.
 */
import { mkdir, open } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { ClawnodeError } from '../protocol/index.ts'
import type { EscrowDomain } from '../ledger/index.ts'
import { writeFileAtomic } from '../sandbox/index.ts'
import type { NodeChain } from './chain.ts'

/** How long a deposit read from the chain is trusted before it is read again. */
export const DEPOSIT_CACHE_MS = 5_000
/** The largest settlement book read. */
export const MAX_BOOK_BYTES = 16 * 1024 * 1024
/** How long a provider waits for the chain when it checks an order's deposit (then: the state it saw last). */
export const DEPOSIT_READ_TIMEOUT_MS = 3_000
/** A provider claims early once the co-signed draws reach this share of a deposit. */
export const CLAIM_WHEN_DRAWN = 0.8
/** Default settlement period (anchor, claims, postpaid top-ups), seconds. */
export const DEFAULT_SETTLEMENT_PERIOD_S = 300
/** A consumer's new deposit, millicredits (100 credits), and its life in days. */
export const DEFAULT_DEPOSIT_AMOUNT = 100_000
export const DEFAULT_DEPOSIT_DAYS = 7
/** A trusted peer's postpaid cap when config names none, millicredits (10 credits). */
export const DEFAULT_TRUSTED_CAP = 10_000
export const DEFAULT_TRUSTED_ORDERS_PER_MINUTE = 60

/** The consumer refuses to sign a receipt's draw (it asks for more than the consumer owes, or is forged). */
export class DrawRefusedError extends ClawnodeError {
  static override name = 'DrawRefusedError'
  constructor (problem: string) {
    super(`The receipt's draw on the deposit is refused: ${problem}`, { hint: 'The provider is asking for more than this lease owes; the receipt is not countersigned. Avoid this provider; the deposit can only be claimed up to what you signed.' })
  }
}

export const bytesHex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`

/** A settlement book's file: what this node's provider or consumer side keeps of its deposits. */
export function settlementBookPath (dataDir: string, side: 'provider' | 'consumer'): string {
  return join(dataDir, 'settlement', `${side}.json`)
}

/**
 * Reads a settlement book (at most MAX_BOOK_BYTES): its deposits by id, or undefined when there is no
 * book yet. An unreadable or oversized book is a ClawnodeError saying what to do.
 */
export async function readSettlementBook (file: string): Promise<{ deposits: Record<string, unknown> } | undefined> {
  let text: string
  try {
    const fh = await open(file, 'r')
    try {
      const { size } = await fh.stat()
      if (size > MAX_BOOK_BYTES) throw new Error(`it is ${size} bytes, more than the ${MAX_BOOK_BYTES} read`)
      text = await fh.readFile('utf8')
    } finally {
      await fh.close()
    }
    const data = JSON.parse(text) as { deposits?: unknown }
    if (typeof data?.deposits !== 'object' || data.deposits === null || Array.isArray(data.deposits)) throw new Error('it holds no deposits object')
    return { deposits: data.deposits as Record<string, unknown> }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ClawnodeError(`The settlement book ${file} cannot be read: ${(err as Error).message}`, { hint: 'Restore it from a backup, or move it away to start a new one (co-signed draws in it would be lost).', cause: err })
  }
}

/** A JSON book kept in a file, every change written atomically before it is relied upon. */
export async function openBook<T extends { deposits: Record<string, unknown> }> (file: string, empty: T): Promise<{ data: T, save: () => Promise<void> }> {
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 })
  const data = (await readSettlementBook(file) as T | undefined) ?? empty
  let writing = Promise.resolve()
  return {
    data,
    save: async () => {
      const next = writing.then(async () => { await writeFileAtomic(file, JSON.stringify(data, null, 2) + '\n') })
      writing = next.catch(() => {})
      await next
    }
  }
}

/** Adds `amount` to what is held on deposit `id`; the function returned gives it back, once. */
export function reserve (held: Map<string, bigint>, id: string, amount: bigint): () => void {
  held.set(id, (held.get(id) ?? 0n) + amount)
  let released = false
  return () => {
    if (released) return
    released = true
    const left = (held.get(id) ?? 0n) - amount
    if (left > 0n) held.set(id, left); else held.delete(id)
  }
}

export const domainOf = (chain: NodeChain): EscrowDomain => ({ chainId: chain.deployment.chainId, escrow: chain.deployment.usageEscrow })

