/**
 * Streamed usage of an inference lease: every N tokens the provider signs a running count (tokens and
 * bytes delivered, and the sha256 of every output byte so far); the consumer checks it against what it
 * received and countersigns it (a receipt acknowledgement over the tick's exact bytes). Counts only
 * grow: a tick below the last one, or one whose digest is not what arrived, is refused.
 */
import { bytesEqual, safeNumber } from './bytes.ts'
import { MAX_CLOCK_SKEW_MS, MAX_LEASE_MESSAGE_BYTES, USAGE_DOMAIN, USAGE_PAYLOAD_TYPE } from './constants.ts'
import { openEnvelope, sealEnvelope } from './envelope.ts'
import { MalformedMessageError, PeerMismatchError } from './errors.ts'
import { UsageTick } from './gen/lease.js'
import { OrderMismatchError } from './lease.ts'
import { openDraw } from './receipt.ts'
import type { ReceiptDraw } from './receipt.ts'
import type { BidInfo, OrderInfo } from './lease.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface UsageTickInfo {
  seq: number
  outputTokens: number
  bytesDelivered: number
  deliveredDigest: Uint8Array
  issuedAtMs: number
  /** A paid lease's draw so far (its cumulative amount includes the output counted); absent when unpaid. */
  draw?: ReceiptDraw
}

export async function signUsageTick (key: PrivateKey, order: OrderInfo, bid: BidInfo, t: { seq: number, outputTokens: number, bytesDelivered: number, deliveredDigest: Uint8Array, draw?: ReceiptDraw, now?: number }): Promise<Uint8Array> {
  const body = UsageTick.encode({
    orderId: Uint8Array.from(order.orderId),
    bidId: Uint8Array.from(bid.bidId),
    seq: t.seq,
    outputTokens: BigInt(t.outputTokens),
    bytesDelivered: BigInt(t.bytesDelivered),
    deliveredDigest: Uint8Array.from(t.deliveredDigest),
    issuedAtMs: BigInt(t.now ?? Date.now()),
    ...(t.draw === undefined ? {} : { draw: { depositId: t.draw.depositId, cumulative: t.draw.cumulative, providerSignature: Uint8Array.from(t.draw.providerSignature) } })
  })
  return await sealEnvelope(key, USAGE_DOMAIN, USAGE_PAYLOAD_TYPE, body)
}

/**
 * Opens a tick of this lease, signed by its provider, after `previous` (if any), whose delivered
 * bytes and digest match what the consumer received.
 */
export async function openUsageTick (bytes: Uint8Array, options: { order: OrderInfo, bid: BidInfo, previous?: UsageTickInfo, received?: { bytes: number, digest: Uint8Array }, now?: number }): Promise<UsageTickInfo> {
  const { signer, payload } = await openEnvelope(bytes, USAGE_DOMAIN, USAGE_PAYLOAD_TYPE, MAX_LEASE_MESSAGE_BYTES)
  if (!signer.equals(options.order.provider)) throw new PeerMismatchError('usage tick', options.order.provider.toString(), signer.toString())
  let t: UsageTick
  try { t = UsageTick.decode(payload) } catch (err) { throw new MalformedMessageError('usage tick', (err as Error).message, { cause: err }) }
  if (!bytesEqual(t.orderId, options.order.orderId) || !bytesEqual(t.bidId, options.bid.bidId)) throw new OrderMismatchError('usage tick')
  const info: UsageTickInfo = {
    seq: t.seq,
    outputTokens: safeNumber(t.outputTokens, 'usage tick'),
    bytesDelivered: safeNumber(t.bytesDelivered, 'usage tick'),
    deliveredDigest: t.deliveredDigest,
    issuedAtMs: safeNumber(t.issuedAtMs, 'usage tick'),
    ...(t.draw === undefined ? {} : { draw: openDraw(t.draw, 0, options.order, 'usage tick') })
  }
  const prev = options.previous
  if (prev !== undefined && (info.seq !== prev.seq + 1 || info.outputTokens < prev.outputTokens || info.bytesDelivered < prev.bytesDelivered)) throw new MalformedMessageError('usage tick', `does not follow tick ${prev.seq} (seq ${info.seq}, ${info.outputTokens} tokens after ${prev.outputTokens})`)
  if (prev === undefined && info.seq !== 0) throw new MalformedMessageError('usage tick', 'is not the first of its lease')
  if (options.received !== undefined && (info.bytesDelivered !== options.received.bytes || !bytesEqual(info.deliveredDigest, options.received.digest))) {
    throw new MalformedMessageError('usage tick', `counts ${info.bytesDelivered} bytes delivered with another digest than the ${options.received.bytes} received`)
  }
  if (info.issuedAtMs > (options.now ?? Date.now()) + MAX_CLOCK_SKEW_MS) throw new MalformedMessageError('usage tick', 'is dated in the future')
  return info
}
