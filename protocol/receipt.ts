/**
 * Receipts: the provider's signed account of a lease (usage, what was delivered, the price), and the
 * consumer's countersignature over the exact receipt bytes. Both sides keep both; the ledger stores them.
 */
import { bytesEqual, safeNumber, sha256 } from './bytes.ts'
import {
  MAX_CLOCK_SKEW_MS, MAX_LEASE_MESSAGE_BYTES, RECEIPT_ACK_DOMAIN, RECEIPT_ACK_PAYLOAD_TYPE, RECEIPT_DOMAIN, RECEIPT_PAYLOAD_TYPE
} from './constants.ts'
import { openEnvelope, sealEnvelope } from './envelope.ts'
import { MalformedMessageError, PeerMismatchError } from './errors.ts'
import { Receipt, ReceiptAck } from './gen/lease.js'
import { OrderMismatchError } from './lease.ts'
import { peerIdFromBytes, peerIdToBytes } from './peer-bytes.ts'
import type { BidInfo, OrderInfo } from './lease.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export type ReceiptStatus = 'succeeded' | 'failed' | 'timeout' | 'cancelled'
const STATUSES: readonly string[] = ['succeeded', 'failed', 'timeout', 'cancelled']

export interface LeaseUsage { wallMs: number, cpuMs: number, peakMemoryBytes: number, exitCode: number | null, oomKilled: boolean, bytesOut: number, inputTokens?: number, outputTokens?: number }

export interface ReceiptInfo {
  orderId: Uint8Array
  bidId: Uint8Array
  provider: PeerId
  consumer: PeerId
  status: ReceiptStatus
  usage: LeaseUsage
  resultDigest: Uint8Array
  price: number
  issuedAtMs: number
  /** The draw on the consumer's deposit that pays this receipt; absent for an unpaid lease. */
  draw?: ReceiptDraw
}

/**
 * A receipt's draw: the cumulative amount (millicredits) drawn from deposit `depositId` including this
 * receipt, with the provider's EIP-712 signature of Draw(depositId, consumer, provider, cumulative). The
 * signature is checked by the ledger layer, which knows the chain; here it is only carried.
 */
export interface ReceiptDraw { depositId: bigint, cumulative: bigint, providerSignature: Uint8Array }

/** An EIP-712 signature: r, s, v. */
export const DRAW_SIGNATURE_BYTES = 65

const num = (n: bigint): number => safeNumber(n, 'receipt')

export async function signReceipt (key: PrivateKey, order: OrderInfo, bid: BidInfo, r: { status: ReceiptStatus, usage: LeaseUsage, resultDigest: Uint8Array, price: number, draw?: ReceiptDraw, now?: number }): Promise<Uint8Array> {
  const u = r.usage
  const body = Receipt.encode({
    orderId: Uint8Array.from(order.orderId),
    bidId: Uint8Array.from(bid.bidId),
    provider: peerIdToBytes(order.provider),
    consumer: peerIdToBytes(order.consumer),
    status: r.status,
    usage: { wallMs: BigInt(u.wallMs), cpuMs: BigInt(u.cpuMs), peakMemoryBytes: BigInt(u.peakMemoryBytes), exitCode: u.exitCode ?? -1, oomKilled: u.oomKilled, bytesOut: BigInt(u.bytesOut), inputTokens: BigInt(u.inputTokens ?? 0), outputTokens: BigInt(u.outputTokens ?? 0) },
    resultDigest: Uint8Array.from(r.resultDigest),
    price: BigInt(r.price),
    issuedAtMs: BigInt(r.now ?? Date.now()),
    ...(r.draw === undefined ? {} : { draw: { depositId: r.draw.depositId, cumulative: r.draw.cumulative, providerSignature: Uint8Array.from(r.draw.providerSignature) } })
  })
  return await sealEnvelope(key, RECEIPT_DOMAIN, RECEIPT_PAYLOAD_TYPE, body)
}

/** Opens a receipt for `order`/`bid`: signed by the provider, for this lease, within the bid's price. */
export async function openReceipt (bytes: Uint8Array, options: { order: OrderInfo, bid: BidInfo, now?: number }): Promise<ReceiptInfo> {
  const { signer, payload } = await openEnvelope(bytes, RECEIPT_DOMAIN, RECEIPT_PAYLOAD_TYPE, MAX_LEASE_MESSAGE_BYTES)
  if (!signer.equals(options.order.provider)) throw new PeerMismatchError('receipt', options.order.provider.toString(), signer.toString())
  let r: Receipt
  try { r = Receipt.decode(payload) } catch (err) { throw new MalformedMessageError('receipt', (err as Error).message, { cause: err }) }
  if (!bytesEqual(r.orderId, options.order.orderId) || !bytesEqual(r.bidId, options.bid.bidId)) throw new OrderMismatchError('receipt')
  const provider = peerIdFromBytes(r.provider, 'receipt')
  const consumer = peerIdFromBytes(r.consumer, 'receipt')
  if (!provider.equals(signer) || !consumer.equals(options.order.consumer)) throw new PeerMismatchError('receipt', options.order.consumer.toString(), consumer.toString())
  if (!STATUSES.includes(r.status)) throw new MalformedMessageError('receipt', `has an unknown status ${JSON.stringify(r.status.slice(0, 40))}`)
  const price = num(r.price)
  if (price > options.bid.price) throw new MalformedMessageError('receipt', `charges ${price}, more than the bid's ${options.bid.price}`)
  const issuedAtMs = num(r.issuedAtMs)
  if (issuedAtMs > (options.now ?? Date.now()) + MAX_CLOCK_SKEW_MS) throw new MalformedMessageError('receipt', 'is dated in the future')
  if (r.resultDigest.byteLength !== 32) throw new MalformedMessageError('receipt', 'has a bad result digest')
  const u = r.usage ?? { wallMs: 0n, cpuMs: 0n, peakMemoryBytes: 0n, exitCode: -1, oomKilled: false, bytesOut: 0n, inputTokens: 0n, outputTokens: 0n }
  return {
    orderId: r.orderId,
    bidId: r.bidId,
    provider,
    consumer,
    status: r.status as ReceiptStatus,
    usage: { wallMs: num(u.wallMs), cpuMs: num(u.cpuMs), peakMemoryBytes: num(u.peakMemoryBytes), exitCode: u.exitCode === -1 ? null : u.exitCode, oomKilled: u.oomKilled, bytesOut: num(u.bytesOut), inputTokens: num(u.inputTokens), outputTokens: num(u.outputTokens) },
    resultDigest: r.resultDigest,
    price,
    issuedAtMs,
    ...(r.draw === undefined ? {} : { draw: openDraw(r.draw, price, options.order) })
  }
}

/** A draw must be on the order's deposit, cover at least this receipt's price, and carry a full signature. */
export function openDraw (d: NonNullable<Receipt['draw']>, price: number, order: OrderInfo, what = 'receipt'): ReceiptDraw {
  if (order.payment === undefined || d.depositId !== order.payment.depositId) throw new MalformedMessageError(what, 'draws on a deposit the order did not name')
  if (d.cumulative < BigInt(price)) throw new MalformedMessageError(what, `draws a cumulative ${d.cumulative}, less than its own price ${price}`)
  if (d.providerSignature.byteLength !== DRAW_SIGNATURE_BYTES) throw new MalformedMessageError(what, 'has a draw signature that is not 65 bytes')
  return { depositId: d.depositId, cumulative: d.cumulative, providerSignature: d.providerSignature }
}

/** The consumer's countersignature over the receipt envelope's exact bytes, with its signature of the receipt's draw when there is one. */
export async function signReceiptAck (key: PrivateKey, receiptBytes: Uint8Array, drawSignature?: Uint8Array): Promise<Uint8Array> {
  const body = ReceiptAck.encode({ receiptDigest: Uint8Array.from(sha256(receiptBytes)), consumer: Uint8Array.from(key.publicKey.toMultihash().bytes), drawSignature: drawSignature === undefined ? new Uint8Array() : Uint8Array.from(drawSignature) })
  return await sealEnvelope(key, RECEIPT_ACK_DOMAIN, RECEIPT_ACK_PAYLOAD_TYPE, body)
}

/**
 * Checks a countersignature: by the lease's consumer, over exactly these receipt bytes. Returns the
 * consumer's draw signature (empty when there is none; the ledger layer checks it against the chain).
 */
export async function openReceiptAck (bytes: Uint8Array, options: { receiptBytes: Uint8Array, consumer: PeerId }): Promise<{ drawSignature: Uint8Array }> {
  const { signer, payload } = await openEnvelope(bytes, RECEIPT_ACK_DOMAIN, RECEIPT_ACK_PAYLOAD_TYPE, MAX_LEASE_MESSAGE_BYTES)
  if (!signer.equals(options.consumer)) throw new PeerMismatchError('receipt acknowledgement', options.consumer.toString(), signer.toString())
  let a: ReceiptAck
  try { a = ReceiptAck.decode(payload) } catch (err) { throw new MalformedMessageError('receipt acknowledgement', (err as Error).message, { cause: err }) }
  if (!bytesEqual(a.receiptDigest, sha256(options.receiptBytes))) throw new OrderMismatchError('receipt acknowledgement')
  if (a.drawSignature.byteLength !== 0 && a.drawSignature.byteLength !== DRAW_SIGNATURE_BYTES) throw new MalformedMessageError('receipt acknowledgement', 'has a draw signature that is not 65 bytes')
  return { drawSignature: a.drawSignature }
}
