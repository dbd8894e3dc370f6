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
 * A consumer signs a draw only when it stays within what it owes: the most it has signed on that
 * deposit, plus what this lease adds since its own last draw, plus the maxima of its other leases
 * still running on it. A provider takes back a draw the consumer never countersigned (the stream
 * died), so the next draw follows on what both signed.
 * Both sides keep their deposit books in <data>/settlement/*.json, written before a signature leaves.
 */
export {
  CLAIM_WHEN_DRAWN, DEFAULT_DEPOSIT_AMOUNT, DEFAULT_DEPOSIT_DAYS, DEFAULT_SETTLEMENT_PERIOD_S, DEFAULT_TRUSTED_CAP, DEFAULT_TRUSTED_ORDERS_PER_MINUTE,
  DEPOSIT_CACHE_MS, DrawRefusedError
} from './settlement-shared.ts'
export { createProviderSettlement } from './provider-settlement.ts'
export type { Admission, ProviderHold, ProviderSettlement, ProviderSettlementInit } from './provider-settlement.ts'
export { createConsumerSettlement } from './consumer-settlement.ts'
export type { ConsumerHold, ConsumerSettlement, ConsumerSettlementInit } from './consumer-settlement.ts'
