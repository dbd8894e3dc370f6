/**
 * What both sides of escrow payment share (node/settlement.ts): defaults, the refusal of a draw, the
 * deposit books kept in <data>/settlement/*.json, held amounts, and the escrow's EIP-712 domain.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { ClawnodeError } from '../protocol/index.ts'
import type { EscrowDomain } from '../ledger/index.ts'
import { writeFileAtomic } from '../sandbox/index.ts'
import type { NodeChain } from './chain.ts'

/** How long a deposit read from the chain is trusted before it is read again. */
export const DEPOSIT_CACHE_MS = 5_000
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

/** A JSON book kept in a file, every change written atomically before it is relied upon. */
export async function openBook<T extends object> (file: string, empty: T): Promise<{ data: T, save: () => Promise<void> }> {
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 })
  let data = empty
  try {
    data = JSON.parse(await readFile(file, 'utf8')) as T
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ClawnodeError(`The settlement book ${file} cannot be read: ${(err as Error).message}`, { hint: 'Restore it from a backup, or move it away to start a new one (co-signed draws in it would be lost).', cause: err })
  }
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

