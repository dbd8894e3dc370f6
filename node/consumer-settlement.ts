/**
 * The consumer's side of escrow payment (node/settlement.ts): a deposit with each provider, opened or
 * topped up before a lease needs it (or each period, for providers that trust this node), and its
 * countersignature of each receipt's draw, only within what it owes.
 */
import { logger } from '@libp2p/logger'
import type { Address } from 'viem'
import type { AbortOptions, PrivateKey } from '@libp2p/interface'
import { signSettlementBinding } from '../protocol/index.ts'
import type { CapabilityRecordInfo, OrderPayment, ReceiptDraw } from '../protocol/index.ts'
import { faucet, InsufficientCreditsError, openDeposit, signDraw, tokenBalance, topUpDeposit, verifyDraw } from '../ledger/index.ts'
import type { NodeChain } from './chain.ts'
import type { SettlementConfig } from './config.ts'
import { bytesHex, DEFAULT_DEPOSIT_AMOUNT, DEFAULT_DEPOSIT_DAYS, DEFAULT_SETTLEMENT_PERIOD_S, domainOf, DrawRefusedError, openBook, reserve, settlementBookPath } from './settlement-shared.ts'

const log = logger('clawnode:settlement')
const CHAIN_WRITES = 'chain writes'

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
  /**
   * Checks a draw of this lease, a usage tick's and then the receipt's (`final`), for `total`
   * millicredits of the lease so far (what the tick's tokens or the receipt charge), and signs it; the
   * signature goes into the acknowledgement. The receipt's frees what was held for the lease.
   */
  sign: (draw: ReceiptDraw, total: number, final: boolean) => Promise<Uint8Array>
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
  const book = await openBook<{ deposits: Record<string, ConsumerDeposit> }>(settlementBookPath(init.dataDir, 'consumer'), { deposits: {} })
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
    if (!chain.deployment.faucetEnabled) throw new InsufficientCreditsError(me, have, need)
    await faucet(chain.client, chain.deployment, need - have + depositAmount, { ...options, confirmations: chain.confirmations })
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
      const { total } = await topUpDeposit(chain.client, chain.deployment, { depositId: BigInt(id), amount: add }, { ...options, confirmations: chain.confirmations })
      d.amount = total.toString()
      await book.save()
      log('topped up deposit %s for %s by %s', id, provider, add)
      return id
    }
    const amount = need > depositAmount ? need : depositAmount
    await fund(amount, options)
    const expiry = BigInt(Math.floor(Date.now() / 1000) + depositS)
    const { depositId } = await openDeposit(chain.client, chain.deployment, { provider, amount, expiry }, { ...options, confirmations: chain.confirmations })
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
        const { total } = await topUpDeposit(chain.client, chain.deployment, { depositId: BigInt(id), amount: owed }, { ...options, confirmations: chain.confirmations })
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
      let signedForLease = 0n
      return {
        hold: {
          payment: { depositId: BigInt(id), settlement: binding },
          async sign (draw, total, final) {
            if (draw.depositId !== BigInt(id)) throw new DrawRefusedError(`it draws on deposit #${draw.depositId}, the order named #${id}`)
            // What this lease adds since its last signed draw; the cumulative amount may include others' leases still running.
            const add = BigInt(total) > signedForLease ? BigInt(total) - signedForLease : 0n
            const others = (inflight.get(id) ?? 0n) - need
            // Relative to the most this node has signed (what the escrow could already pay): a draw of
            // another lease that died uncountersigned after this one drew cannot lock the deposit.
            const signed = BigInt(entry.signed) > BigInt(entry.spent) ? BigInt(entry.signed) : BigInt(entry.spent)
            const ceiling = signed + add + (others > 0n ? others : 0n)
            if (draw.cumulative > ceiling) throw new DrawRefusedError(`it draws a cumulative ${draw.cumulative}, but this node owes at most ${ceiling} on deposit #${id}`)
            const message = { depositId: draw.depositId, consumer: me, provider, cumulative: draw.cumulative }
            if (!await verifyDraw(domain, message, provider, bytesHex(draw.providerSignature))) throw new DrawRefusedError('the provider\'s draw signature is not its settlement account\'s')
            const signature = await signDraw(chain.account.account, domain, message)
            signedForLease += add
            entry.spent = (BigInt(entry.spent) + add).toString()
            if (draw.cumulative > BigInt(entry.signed)) entry.signed = draw.cumulative.toString()
            if (final) release()
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
