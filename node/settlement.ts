/**
 * Paying for leases in credits through UsageEscrow, with no chain round trip per lease. A consumer
 * opens a deposit for a provider once; every lease then draws on it off-chain: the receipt carries an
 * EIP-712 Draw of the cumulative amount drawn so far, signed by the provider's settlement account, and
 * the consumer countersigns it in its receipt acknowledgement. The provider claims the latest co-signed
 * cumulative amount each period, or sooner when the deposit runs low; the escrow never pays more than
 * the consumer signed.
 *
 * The provider starts a lease only when the deposit (as last read from the chain, cached briefly)
 * covers the bid's maximum beyond what is already drawn and held for running leases; otherwise it
 * declines with `payment-required` and says what is missing. Trusted peers (config) are served
 * postpaid: their draws may exceed the deposit up to a per-peer cap, at a bounded order rate, and their
 * node tops the deposit up each period to what it signed.
 *
 * A consumer signs a draw only when it stays within what it owes: its countersigned prices on that
 * deposit plus this receipt's price plus the maxima of its other leases still running on it.
 * Both sides keep their deposit books in <data>/settlement/*.json, written before a signature leaves.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import type { Address, Hex } from 'viem'
import type { AbortOptions, PrivateKey } from '@libp2p/interface'
import { ClawnodeError, openSettlementBinding, signSettlementBinding } from '../protocol/index.ts'
import type { CapabilityRecordInfo, OrderInfo, OrderPayment, ReceiptDraw, ReceiptInfo, SettlementInfo } from '../protocol/index.ts'
import {
  chainTime, claimDeposit, faucet, finalizeClaim, openDeposit, readDeposit, signDraw, tokenBalance, topUpDeposit, verifyDraw
} from '../ledger/index.ts'
import type { DepositState, EscrowDomain } from '../ledger/index.ts'
import { writeFileAtomic } from '../sandbox/index.ts'
import type { NodeChain } from './chain.ts'
import type { SettlementConfig } from './config.ts'

const log = logger('clawnode:settlement')

/** How long a deposit read from the chain is trusted before it is read again. */
export const DEPOSIT_CACHE_MS = 5_000
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

/** The consumer cannot fund a deposit. */
export class InsufficientCreditsError extends ClawnodeError {
  static override name = 'InsufficientCreditsError'
  constructor (needed: bigint, held: bigint) {
    super(`A deposit needs ${needed} millicredits, the settlement account holds ${held}`, { hint: 'Get credits into the account `clawnode wallet` shows (on the local chain: `clawnode wallet faucet`), or lower settlement.depositAmount.' })
  }
}

const NOT_TRUSTED = 'not trusted'
const CHAIN_WRITES = 'chain writes'

const bytesHex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`

/** A JSON book kept in a file, every change written atomically before it is relied upon. */
async function openBook<T extends object> (file: string, empty: T): Promise<{ data: T, save: () => Promise<void> }> {
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
function reserve (held: Map<string, bigint>, id: string, amount: bigint): () => void {
  held.set(id, (held.get(id) ?? 0n) + amount)
  let released = false
  return () => {
    if (released) return
    released = true
    const left = (held.get(id) ?? 0n) - amount
    if (left > 0n) held.set(id, left); else held.delete(id)
  }
}

const domainOf = (chain: NodeChain): EscrowDomain => ({ chainId: chain.deployment.chainId, escrow: chain.deployment.usageEscrow })

// ————————————————————————————————————————— provider ——————————————————————————————————————————

interface ProviderDeposit {
  consumer: Address
  /** Cumulative amount allocated to receipts sent (millicredits, decimal string). */
  allocated: string
  /** The latest co-signed draw. */
  cosigned?: { cumulative: string, consumerSignature: Hex, providerSignature: Hex }
  /** Trusted postpaid peer id, when the deposit serves one. */
  peer?: string
}

/** An admitted order: the amount held on its deposit until the lease ends. */
export interface ProviderHold {
  /** The draw the receipt carries (allocates the cumulative amount); undefined for an unpaid lease. */
  draw: (price: number) => Promise<ReceiptDraw | undefined>
  /** Records the consumer's countersignature of the draw; throws DrawRefusedError when it is missing or wrong. */
  settle: (drawSignature: Uint8Array) => Promise<void>
  release: () => void
}

export type Admission = { ok: true, hold: ProviderHold } | { ok: false, detail: string }

export interface ProviderSettlement {
  /** The record's settlement part (the binding is signed once). */
  recordInfo: () => Promise<SettlementInfo>
  admit: (order: OrderInfo, maxPrice: number, options?: AbortOptions) => Promise<Admission>
  /** Claims co-signed draws not yet claimed and finalizes claims past their dispute window. */
  runPeriod: (options?: AbortOptions) => Promise<{ claimed: number, finalized: number }>
  start: () => void
  stop: () => Promise<void>
}

export interface ProviderSettlementInit {
  chain: NodeChain
  privateKey: PrivateKey
  dataDir: string
  config?: SettlementConfig
  onEvent?: (event: { type: 'claimed' | 'finalized', depositId: bigint, cumulative?: bigint, hash: Hex } | { type: 'claim-failed', depositId: bigint, error: Error }) => void
}

export async function createProviderSettlement (init: ProviderSettlementInit): Promise<ProviderSettlement> {
  const { chain } = init
  const me = chain.account.address
  const domain = domainOf(chain)
  const periodMs = (init.config?.periodS ?? DEFAULT_SETTLEMENT_PERIOD_S) * 1000
  const book = await openBook<{ deposits: Record<string, ProviderDeposit> }>(join(init.dataDir, 'settlement', 'provider.json'), { deposits: {} })
  const trusted = new Map((init.config?.trusted ?? []).map(t => [t.peer, { cap: BigInt(t.capMillicredits ?? DEFAULT_TRUSTED_CAP), perMinute: t.ordersPerMinute ?? DEFAULT_TRUSTED_ORDERS_PER_MINUTE, recent: [] as number[] }]))
  const held = new Map<string, bigint>()
  const cache = new Map<string, { at: number, state: DepositState }>()
  let binding: Uint8Array | undefined
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> = Promise.resolve()

  const deposit = async (id: bigint, fresh: boolean, options: AbortOptions): Promise<DepositState> => {
    const hit = cache.get(id.toString())
    if (!fresh && hit !== undefined && Date.now() - hit.at < DEPOSIT_CACHE_MS) return hit.state
    let state: DepositState
    try {
      state = await readDeposit(chain.client, chain.deployment, id, options)
    } catch (err) {
      // The chain is down: the provider keeps serving on the state it has seen.
      if (hit === undefined) throw err
      log('deposit %s: the chain does not answer, using what was read %d s ago: %e', id, Math.round((Date.now() - hit.at) / 1000), err)
      return hit.state
    }
    cache.set(id.toString(), { at: Date.now(), state })
    if (cache.size > 4096) cache.delete(cache.keys().next().value as string)
    return state
  }

  /** What the deposit can still cover for a new lease: its amount beyond what is drawn and held. */
  const room = (id: string, state: DepositState): bigint => {
    const drawn = BigInt(book.data.deposits[id]?.allocated ?? '0')
    const used = drawn > state.claimed ? drawn : state.claimed
    return state.amount - used - (held.get(id) ?? 0n)
  }

  /** Undefined when a trusted peer may run this lease postpaid; otherwise why not. */
  const admitTrusted = (order: OrderInfo, id: string, state: DepositState, maxPrice: bigint): string | undefined => {
    const peer = trusted.get(order.consumer.toString())
    if (peer === undefined) return NOT_TRUSTED
    const now = Date.now()
    peer.recent = peer.recent.filter(t => now - t < 60_000)
    if (peer.recent.length >= peer.perMinute) return `trusted peers may order ${peer.perMinute} leases a minute here; wait a little`
    const owed = maxPrice - room(id, state)
    if (owed > peer.cap) return `this lease would leave ${owed} millicredits unpaid, above your postpaid cap of ${peer.cap}: top up your deposit`
    peer.recent.push(now)
    return undefined
  }

  const hold = (id: string, order: OrderInfo, maxPrice: bigint): ProviderHold => {
    const release = reserve(held, id, maxPrice)
    let draw: ReceiptDraw | undefined
    return {
      async draw (price) {
        const entry = book.data.deposits[id] as ProviderDeposit
        // Allocated synchronously, so leases ending together get distinct, growing amounts.
        const cumulative = BigInt(entry.allocated) + BigInt(price)
        entry.allocated = cumulative.toString()
        release()
        const depositId = BigInt(id)
        const signature = await signDraw(chain.account.account, domain, { depositId, consumer: entry.consumer, provider: me, cumulative })
        await book.save()
        draw = { depositId, cumulative, providerSignature: Buffer.from(signature.slice(2), 'hex') }
        return draw
      },
      async settle (drawSignature) {
        if (draw === undefined) return
        const entry = book.data.deposits[id] as ProviderDeposit
        const consumerSignature = bytesHex(drawSignature)
        const ok = drawSignature.byteLength > 0 && await verifyDraw(domain, { depositId: draw.depositId, consumer: entry.consumer, provider: me, cumulative: draw.cumulative }, entry.consumer, consumerSignature)
        if (!ok) {
          log.error('consumer %p did not countersign the draw of %s on deposit %s', order.consumer, draw.cumulative, id)
          throw new DrawRefusedError(drawSignature.byteLength === 0 ? 'the acknowledgement carries no draw signature' : 'the draw signature is not the depositor\'s')
        }
        if (entry.cosigned === undefined || BigInt(entry.cosigned.cumulative) < draw.cumulative) {
          entry.cosigned = { cumulative: draw.cumulative.toString(), consumerSignature, providerSignature: bytesHex(draw.providerSignature) }
          await book.save()
        }
        // Running low: claim now rather than at the end of the period.
        const state = cache.get(id)?.state
        if (state !== undefined && Number(draw.cumulative - state.claimed) >= Number(state.amount - state.claimed) * CLAIM_WHEN_DRAWN) queuePeriod().catch(() => {})
      },
      release
    }
  }

  const claimAll = async (options: AbortOptions): Promise<{ claimed: number, finalized: number }> => {
    let claimed = 0
    let finalized = 0
    // Dispute windows run on the chain's clock.
    const nowS = await chainTime(chain.client, options)
    for (const [id, entry] of Object.entries(book.data.deposits)) {
      try {
        const state = await deposit(BigInt(id), true, options)
        if (state.status === 'pending' && state.disputeEnds <= nowS) {
          const payout = await finalizeClaim(chain.client, chain.deployment, BigInt(id), options)
          init.onEvent?.({ type: 'finalized', depositId: BigInt(id), hash: payout.hash })
          finalized++
          continue
        }
        if (entry.cosigned === undefined || state.status === 'disputed' || state.status === 'closed') continue
        const cumulative = BigInt(entry.cosigned.cumulative)
        // A receipt above the deposit (a trusted peer's, before its top-up) waits for the top-up.
        if (cumulative <= state.claimed || cumulative > state.amount) continue
        const result = await claimDeposit(chain.client, chain.deployment, { depositId: BigInt(id), cumulative, consumerSignature: entry.cosigned.consumerSignature, providerSignature: entry.cosigned.providerSignature }, options)
        cache.delete(id)
        init.onEvent?.({ type: 'claimed', depositId: BigInt(id), cumulative, hash: result.hash })
        claimed++
      } catch (err) {
        options.signal?.throwIfAborted()
        log.error('settling deposit %s failed: %e', id, err)
        init.onEvent?.({ type: 'claim-failed', depositId: BigInt(id), error: err as Error })
      }
    }
    return { claimed, finalized }
  }
  const queuePeriod = (options: AbortOptions = {}): Promise<{ claimed: number, finalized: number }> => {
    const next = running.then(async () => await claimAll(options))
    running = next.catch(() => {})
    return next
  }

  return {
    async recordInfo () {
      binding ??= await signSettlementBinding(init.privateKey, me)
      return { binding, address: me.toLowerCase(), chainId: chain.deployment.chainId, escrow: chain.deployment.usageEscrow.toLowerCase(), feeBps: chain.deployment.feeBps }
    },
    async admit (order, maxPrice, options = {}) {
      const need = BigInt(maxPrice)
      const how = `open a deposit for ${me} on UsageEscrow ${chain.deployment.usageEscrow} (chain ${chain.deployment.chainId}) covering ${need} millicredits`
      if (order.payment === undefined) return { ok: false, detail: `this provider is paid through escrow: ${how}` }
      let consumer: Address
      try {
        consumer = (await openSettlementBinding(order.payment.settlement, { peer: order.consumer })).address as Address
      } catch (err) {
        return { ok: false, detail: `the order's settlement binding does not hold: ${(err as Error).message}` }
      }
      const id = order.payment.depositId.toString()
      // (Postpaid leases of trusted peers draw on a deposit too: it may run short, not be missing.)
      if (order.payment.depositId === 0n) return { ok: false, detail: `the order names no deposit: ${how}` }
      let state: DepositState
      try {
        state = await deposit(order.payment.depositId, false, options)
      } catch (err) {
        return { ok: false, detail: `deposit #${id} cannot be read from the chain (${(err as Error).message.split('\n')[0] ?? ''}); try again later` }
      }
      if (state.consumer.toLowerCase() !== consumer.toLowerCase() || state.provider.toLowerCase() !== me.toLowerCase()) return { ok: false, detail: `deposit #${id} is not yours for this provider: ${how}` }
      if (state.status === 'closed') return { ok: false, detail: `deposit #${id} is closed: ${how}` }
      const nowS = BigInt(Math.floor(Date.now() / 1000))
      if (state.expiry < nowS + BigInt(Math.ceil(2 * periodMs / 1000)) + BigInt(Math.ceil(order.limits.wallMs / 1000))) return { ok: false, detail: `deposit #${id} expires too soon to be claimed after this lease: extend it (clawnode wallet deposit extend ${id})` }
      if (book.data.deposits[id] === undefined) book.data.deposits[id] = { consumer: state.consumer, allocated: '0' }
      if (room(id, state) < need) {
        // The cache may be stale (a top-up): read again before saying no.
        state = await deposit(order.payment.depositId, true, options).catch(() => state)
        const left = room(id, state)
        const refused = left < need ? admitTrusted(order, id, state, need) : undefined
        if (refused !== undefined) {
          return { ok: false, detail: refused !== NOT_TRUSTED ? refused : `deposit #${id} has ${left < 0n ? 0n : left} millicredits left, the bid's maximum is ${need}: top up by ${need - left} (clawnode wallet deposit topup ${id})` }
        }
      }
      return { ok: true, hold: hold(id, order, need) }
    },
    runPeriod: async (options = {}) => await queuePeriod(options),
    start () {
      timer = setInterval(() => { queuePeriod().catch(() => {}) }, periodMs)
      timer.unref()
    },
    async stop () {
      clearInterval(timer)
      await running
    }
  }
}

// ————————————————————————————————————————— consumer ——————————————————————————————————————————

interface ConsumerDeposit {
  provider: Address
  escrow: Address
  chainId: number
  /** Deposited in total, as this node knows it (millicredits, decimal string). */
  amount: string
  /** Unix seconds. */
  expiry: number
  /** The sum of the prices of receipts countersigned on it. */
  spent: string
  /** The highest cumulative amount signed. */
  signed: string
}

/** A consumer's payment for one order, held until the lease ends. */
export interface ConsumerHold {
  payment: OrderPayment
  /** Checks the receipt's draw and signs it; the signature goes into the receipt acknowledgement. */
  sign: (receipt: ReceiptInfo) => Promise<Uint8Array | undefined>
  release: () => void
}

export interface ConsumerSettlement {
  /** How to pay `record`'s provider up to `maxPrice`: a hold on a deposit (opened or topped up as needed), none when the provider settles nowhere, or why it cannot be paid. */
  pay: (record: CapabilityRecordInfo, maxPrice: number, options?: AbortOptions) => Promise<{ hold?: ConsumerHold } | { skip: string }>
  /** Tops up deposits whose signed draws exceed them (postpaid leases of trusted peers). */
  runPeriod: (options?: AbortOptions) => Promise<number>
  start: () => void
  stop: () => Promise<void>
}

export interface ConsumerSettlementInit {
  chain: NodeChain
  privateKey: PrivateKey
  dataDir: string
  config?: SettlementConfig
}

export async function createConsumerSettlement (init: ConsumerSettlementInit): Promise<ConsumerSettlement> {
  const { chain } = init
  const me = chain.account.address
  const domain = domainOf(chain)
  const book = await openBook<{ deposits: Record<string, ConsumerDeposit> }>(join(init.dataDir, 'settlement', 'consumer.json'), { deposits: {} })
  const depositAmount = BigInt(init.config?.depositAmount ?? DEFAULT_DEPOSIT_AMOUNT)
  const depositS = (init.config?.depositDays ?? DEFAULT_DEPOSIT_DAYS) * 24 * 3600
  const periodMs = (init.config?.periodS ?? DEFAULT_SETTLEMENT_PERIOD_S) * 1000
  const inflight = new Map<string, bigint>()
  const postpaidWith = new Set(init.config?.postpaidWith ?? [])
  const locks = new Map<string, Promise<unknown>>()
  let binding: Uint8Array | undefined
  let timer: NodeJS.Timeout | undefined

  /**
   * One deposit decision at a time, so parallel leases do not open two deposits for one provider, and
   * token approvals for two deposits never overwrite each other (an ERC-20 allowance is set, not added).
   */
  const serially = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const before = locks.get(key) ?? Promise.resolve()
    const next = before.then(fn, fn)
    locks.set(key, next.catch(() => {}))
    return await next
  }

  const fund = async (need: bigint, options: AbortOptions): Promise<void> => {
    const have = await tokenBalance(chain.client, chain.deployment, me, options)
    if (have >= need) return
    if (!chain.deployment.faucetEnabled) throw new InsufficientCreditsError(need, have)
    await faucet(chain.client, chain.deployment, need - have + depositAmount, options)
  }

  const free = (id: string, d: ConsumerDeposit): bigint => BigInt(d.amount) - BigInt(d.spent) - (inflight.get(id) ?? 0n)

  const ensureDeposit = async (provider: Address, need: bigint, lastsUntil: number, options: AbortOptions, postpaid = false): Promise<string> => {
    const mine = Object.entries(book.data.deposits).filter(([, d]) => d.provider.toLowerCase() === provider.toLowerCase() && d.escrow.toLowerCase() === domain.escrow.toLowerCase() && d.chainId === domain.chainId && d.expiry > lastsUntil)
    const covering = mine.find(([id, d]) => free(id, d) >= need)
    if (covering !== undefined) return covering[0]
    if (postpaid && mine.length > 0) return (mine.at(-1) as [string, ConsumerDeposit])[0]
    const newest = mine.at(-1)
    if (newest !== undefined) {
      const [id, d] = newest
      const add = (need - free(id, d) > depositAmount ? need - free(id, d) : depositAmount)
      await fund(add, options)
      const { total } = await topUpDeposit(chain.client, chain.deployment, { depositId: BigInt(id), amount: add }, options)
      d.amount = total.toString()
      await book.save()
      log('topped up deposit %s for %s by %s', id, provider, add)
      return id
    }
    const amount = need > depositAmount ? need : depositAmount
    await fund(amount, options)
    const expiry = BigInt(Math.floor(Date.now() / 1000) + depositS)
    const { depositId } = await openDeposit(chain.client, chain.deployment, { provider, amount, expiry }, options)
    const id = depositId.toString()
    book.data.deposits[id] = { provider, escrow: domain.escrow, chainId: domain.chainId, amount: amount.toString(), expiry: Number(expiry), spent: '0', signed: '0' }
    await book.save()
    log('opened deposit %s of %s for %s', id, amount, provider)
    return id
  }

  const topUpPostpaid = async (options: AbortOptions): Promise<number> => {
    let n = 0
    for (const [id, d] of Object.entries(book.data.deposits)) {
      const owed = BigInt(d.signed) - BigInt(d.amount)
      if (owed <= 0n || d.escrow.toLowerCase() !== domain.escrow.toLowerCase()) continue
      await serially(CHAIN_WRITES, async () => {
        await fund(owed, options)
        const { total } = await topUpDeposit(chain.client, chain.deployment, { depositId: BigInt(id), amount: owed }, options)
        d.amount = total.toString()
        await book.save()
        n++
      }).catch((err: unknown) => { log.error('topping up deposit %s failed: %e', id, err) })
    }
    return n
  }

  return {
    async pay (record, maxPrice, options = {}) {
      const s = record.settlement
      if (s === undefined) return {}
      if (s.chainId !== domain.chainId || s.escrow.toLowerCase() !== domain.escrow.toLowerCase()) return { skip: `it settles on chain ${s.chainId} through ${s.escrow}, this node on chain ${domain.chainId} through ${domain.escrow}` }
      const provider = s.address as Address
      const need = BigInt(maxPrice)
      // A provider that trusts this node takes leases beyond the deposit; it is topped up each period instead.
      const postpaid = postpaidWith.has(record.peerId.toString())
      const { id, release } = await serially(CHAIN_WRITES, async () => {
        // The provider wants the deposit to outlive the lease and its next claim; a week by default does.
        const lastsUntil = Math.floor(Date.now() / 1000) + 3600
        const chosen = await ensureDeposit(provider, postpaid ? 1n : need, lastsUntil, options, postpaid)
        // Held at once, so the next lease's choice sees it.
        return { id: chosen, release: reserve(inflight, chosen, need) }
      })
      binding ??= await signSettlementBinding(init.privateKey, me)
      const entry = book.data.deposits[id] as ConsumerDeposit
      return {
        hold: {
          payment: { depositId: BigInt(id), settlement: binding },
          async sign (receipt) {
            const draw = receipt.draw
            if (draw === undefined) { release(); return undefined }
            if (draw.depositId !== BigInt(id)) throw new DrawRefusedError(`it draws on deposit #${draw.depositId}, the order named #${id}`)
            const price = BigInt(receipt.price)
            const others = (inflight.get(id) ?? 0n) - need
            const ceiling = BigInt(entry.spent) + price + (others > 0n ? others : 0n)
            if (draw.cumulative > ceiling) throw new DrawRefusedError(`it draws a cumulative ${draw.cumulative}, but this node owes at most ${ceiling} on deposit #${id}`)
            const message = { depositId: draw.depositId, consumer: me, provider, cumulative: draw.cumulative }
            if (!await verifyDraw(domain, message, provider, bytesHex(draw.providerSignature))) throw new DrawRefusedError('the provider\'s draw signature is not its settlement account\'s')
            const signature = await signDraw(chain.account.account, domain, message)
            entry.spent = (BigInt(entry.spent) + price).toString()
            if (draw.cumulative > BigInt(entry.signed)) entry.signed = draw.cumulative.toString()
            release()
            await book.save()
            return Buffer.from(signature.slice(2), 'hex')
          },
          release
        }
      }
    },
    runPeriod: async (options = {}) => await topUpPostpaid(options),
    start () {
      timer = setInterval(() => { topUpPostpaid({}).catch(() => {}) }, periodMs)
      timer.unref()
    },
    async stop () { clearInterval(timer) }
  }
}
