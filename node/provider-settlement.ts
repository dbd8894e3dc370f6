/**
 * The provider's side of escrow payment (node/settlement.ts): admission of an order against its
 * deposit (or a trusted peer's postpaid cap), the draw each receipt carries, its countersignature, and
 * the claims each period or when a deposit runs low.
 */
import { logger } from '@libp2p/logger'
import type { Address, Hex } from 'viem'
import type { AbortOptions, PrivateKey } from '@libp2p/interface'
import { openSettlementBinding, signSettlementBinding } from '../protocol/index.ts'
import type { OrderInfo, ReceiptDraw, SettlementInfo } from '../protocol/index.ts'
import { chainTime, claimDeposit, finalizeClaim, readDeposit, signDraw, verifyDraw } from '../ledger/index.ts'
import type { DepositState } from '../ledger/index.ts'
import type { NodeChain } from './chain.ts'
import type { SettlementConfig } from './config.ts'
import {
  bytesHex, CLAIM_WHEN_DRAWN, DEFAULT_SETTLEMENT_PERIOD_S, DEFAULT_TRUSTED_CAP, DEFAULT_TRUSTED_ORDERS_PER_MINUTE, DEPOSIT_CACHE_MS, DEPOSIT_READ_TIMEOUT_MS, domainOf,
  DrawRefusedError, openBook, reserve, settlementBookPath
} from './settlement-shared.ts'

const log = logger('clawnode:settlement')
const NOT_TRUSTED = 'not trusted'

/** An order's deposit read, bounded well inside the consumer's wait for an answer (a slow chain: the state seen before). */
const readBound = (options: AbortOptions): AbortOptions => ({ signal: AbortSignal.any([AbortSignal.timeout(DEPOSIT_READ_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])]) })

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
  /**
   * A draw for `total` millicredits of this lease so far: a usage tick's (the output counted), then the
   * receipt's (`final`, which also frees what the admission held). The deposit's cumulative amount
   * grows by what the lease added since its last draw.
   */
  draw: (total: number, final: boolean) => Promise<ReceiptDraw>
  /** Records the consumer's countersignature of `draw`; throws DrawRefusedError when it is missing or wrong. */
  settle: (draw: ReceiptDraw, drawSignature: Uint8Array) => Promise<void>
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
  const book = await openBook<{ deposits: Record<string, ProviderDeposit> }>(settlementBookPath(init.dataDir, 'provider'), { deposits: {} })
  // No lease runs yet: a draw above the latest countersigned one (sent by a run killed before its
  // countersignature came back) can never be countersigned now, so the next draws follow on from
  // what the consumer signed; else the consumer would refuse every later draw on the deposit.
  let reset = false
  for (const entry of Object.values(book.data.deposits)) {
    const signed = entry.cosigned?.cumulative ?? '0'
    if (BigInt(entry.allocated) > BigInt(signed)) { entry.allocated = signed; reset = true }
  }
  if (reset) await book.save()
  const trusted = new Map((init.config?.trusted ?? []).map(t => [t.peer, { cap: BigInt(t.capMillicredits ?? DEFAULT_TRUSTED_CAP), perMinute: t.ordersPerMinute ?? DEFAULT_TRUSTED_ORDERS_PER_MINUTE, recent: [] as number[] }]))
  const held = new Map<string, bigint>()
  // Leases running on each deposit (admitted, not yet released).
  const live = new Map<string, number>()
  const cache = new Map<string, { at: number, state: DepositState }>()
  let binding: Uint8Array | undefined
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> = Promise.resolve()
  // How far the chain's clock runs ahead of this machine's (seconds, never negative), as last read: the
  // escrow checks expiry against block time, which a local chain moved forward or a drifting clock leads.
  let chainAheadS = 0n

  const deposit = async (id: bigint, fresh: boolean, options: AbortOptions): Promise<DepositState> => {
    const hit = cache.get(id.toString())
    if (!fresh && hit !== undefined && Date.now() - hit.at < DEPOSIT_CACHE_MS) return hit.state
    let state: DepositState
    try {
      let blockS: bigint
      [state, blockS] = await Promise.all([readDeposit(chain.client, chain.deployment, id, options), chainTime(chain.client, options)])
      const wallS = BigInt(Math.floor(Date.now() / 1000))
      chainAheadS = blockS > wallS ? blockS - wallS : 0n
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
    const freeHeld = reserve(held, id, maxPrice)
    live.set(id, (live.get(id) ?? 0) + 1)
    // What this lease has added to the deposit's cumulative amount so far, and how much of it the consumer countersigned.
    let drawn = 0n
    let cosigned = 0n
    let lastCumulative = 0n
    let ended = false
    // For each draw of this lease (by its cumulative amount), what the lease had drawn by then.
    const drawnAt = new Map<bigint, bigint>()
    return {
      async draw (total, final) {
        const entry = book.data.deposits[id] as ProviderDeposit
        // Allocated synchronously, so leases drawing together get distinct, growing amounts.
        const add = BigInt(total) > drawn ? BigInt(total) - drawn : 0n
        drawn += add
        const cumulative = BigInt(entry.allocated) + add
        entry.allocated = cumulative.toString()
        lastCumulative = cumulative
        drawnAt.set(cumulative, drawn)
        if (final) freeHeld()
        const depositId = BigInt(id)
        const signature = await signDraw(chain.account.account, domain, { depositId, consumer: entry.consumer, provider: me, cumulative })
        await book.save()
        return { depositId, cumulative, providerSignature: Buffer.from(signature.slice(2), 'hex') }
      },
      async settle (draw, drawSignature) {
        const entry = book.data.deposits[id] as ProviderDeposit
        const consumerSignature = bytesHex(drawSignature)
        const ok = drawSignature.byteLength > 0 && await verifyDraw(domain, { depositId: draw.depositId, consumer: entry.consumer, provider: me, cumulative: draw.cumulative }, entry.consumer, consumerSignature)
        if (!ok) {
          log.error('consumer %p did not countersign the draw of %s on deposit %s', order.consumer, draw.cumulative, id)
          throw new DrawRefusedError(drawSignature.byteLength === 0 ? 'the acknowledgement carries no draw signature' : 'the draw signature is not the depositor\'s')
        }
        const upTo = drawnAt.get(draw.cumulative) ?? 0n
        if (upTo > cosigned) cosigned = upTo
        if (entry.cosigned === undefined || BigInt(entry.cosigned.cumulative) < draw.cumulative) {
          entry.cosigned = { cumulative: draw.cumulative.toString(), consumerSignature, providerSignature: bytesHex(draw.providerSignature) }
          await book.save()
        }
        // Running low: claim now rather than at the end of the period.
        const state = cache.get(id)?.state
        if (state !== undefined && Number(draw.cumulative - state.claimed) >= Number(state.amount - state.claimed) * CLAIM_WHEN_DRAWN) queuePeriod().catch(() => {})
      },
      release () {
        freeHeld()
        if (ended) return
        ended = true
        const others = (live.get(id) ?? 1) - 1
        if (others > 0) live.set(id, others); else live.delete(id)
        const entry = book.data.deposits[id]
        if (entry === undefined) return
        let allocated = BigInt(entry.allocated)
        // A lease that ends with a draw the consumer never countersigned (the stream died) takes it back,
        // unless another lease has drawn since: the next draw then follows on what both sides signed.
        if (drawn !== cosigned && allocated === lastCumulative) allocated = lastCumulative - (drawn - cosigned)
        // The last lease on the deposit to end: nothing above the latest countersigned draw can be
        // countersigned any more (a lease that died while another drew left its part in between), so
        // the next lease draws on from exactly what the consumer signed; else the consumer refuses it.
        const signed = BigInt(entry.cosigned?.cumulative ?? '0')
        if (others === 0 && allocated > signed) allocated = signed
        if (allocated === BigInt(entry.allocated)) return
        entry.allocated = allocated.toString()
        book.save().catch((err: unknown) => { log.error('saving the settlement book failed: %e', err) })
      }
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
          const payout = await finalizeClaim(chain.client, chain.deployment, BigInt(id), { ...options, confirmations: chain.confirmations })
          init.onEvent?.({ type: 'finalized', depositId: BigInt(id), hash: payout.hash })
          finalized++
          continue
        }
        if (entry.cosigned === undefined || state.status === 'disputed' || state.status === 'closed') continue
        const cumulative = BigInt(entry.cosigned.cumulative)
        // A receipt above the deposit (a trusted peer's, before its top-up) waits for the top-up.
        if (cumulative <= state.claimed || cumulative > state.amount) continue
        const result = await claimDeposit(chain.client, chain.deployment, { depositId: BigInt(id), cumulative, consumerSignature: entry.cosigned.consumerSignature, providerSignature: entry.cosigned.providerSignature }, { ...options, confirmations: chain.confirmations })
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
        state = await deposit(order.payment.depositId, false, readBound(options))
      } catch (err) {
        return { ok: false, detail: `deposit #${id} cannot be read from the chain (${(err as Error).message.split('\n')[0] ?? ''}); try again later` }
      }
      if (state.consumer.toLowerCase() !== consumer.toLowerCase() || state.provider.toLowerCase() !== me.toLowerCase()) return { ok: false, detail: `deposit #${id} is not yours for this provider: ${how}` }
      if (state.status === 'closed') return { ok: false, detail: `deposit #${id} is closed: ${how}` }
      const nowS = BigInt(Math.floor(Date.now() / 1000)) + chainAheadS
      if (state.expiry < nowS + BigInt(Math.ceil(2 * periodMs / 1000)) + BigInt(Math.ceil(order.limits.wallMs / 1000))) return { ok: false, detail: `deposit #${id} expires too soon to be claimed after this lease: extend it (clawnode wallet deposit extend ${id})` }
      if (book.data.deposits[id] === undefined) book.data.deposits[id] = { consumer: state.consumer, allocated: '0' }
      if (room(id, state) < need) {
        // The cache may be stale (a top-up): read again before saying no.
        state = await deposit(order.payment.depositId, true, readBound(options)).catch(() => state)
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

