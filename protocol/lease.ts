/**
 * Lease messages: TaskOrder → Bid or Decline → Award, each signed in an envelope under its own domain
 * and checked on receipt: the signer is the peer the message speaks for, ids bind both peers and the
 * order, digests match, deadlines and expiries hold, and nonces stop replays. Pure apart from signing.
 */
import { randomBytes } from 'node:crypto'
import { bytesEqual, safeNumber, sha256 } from './bytes.ts'
import {
  AWARD_DOMAIN, AWARD_PAYLOAD_TYPE, BID_DOMAIN, BID_PAYLOAD_TYPE, DECLINE_DOMAIN, DECLINE_PAYLOAD_TYPE,
  MAX_AWARD_BYTES, MAX_CLOCK_SKEW_MS, MAX_DECLINE_DETAIL_CHARS, MAX_LEASE_MESSAGE_BYTES, MAX_ORDER_DEADLINE_MS, NONCE_BYTES,
  ORDER_DOMAIN, ORDER_PAYLOAD_TYPE
} from './constants.ts'
import { openEnvelope, sealEnvelope } from './envelope.ts'
import { ClawnodeError, MalformedMessageError, PeerMismatchError, RecordExpiredError } from './errors.ts'
import { Award, Bid, Decline, TaskOrder } from './gen/lease.js'
import { peerIdFromBytes, peerIdToBytes } from './peer-bytes.ts'
import type { ReplayGuard } from './replay-guard.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export type JobKind = 'container' | 'inference'
export type Connectivity = 'direct' | 'relayed'
export const DECLINE_REASONS = ['busy', 'lacks-capability', 'price-below-minimum', 'policy', 'overloaded', 'payment-required'] as const
export type DeclineReason = typeof DECLINE_REASONS[number]

export class OrderMismatchError extends ClawnodeError {
  static override name = 'OrderMismatchError'
  constructor (what: string) {
    super(`The ${what} is for another order or bid`, { hint: 'The message is ignored; the lease goes on with the messages that match.' })
  }
}

export class InputDigestMismatchError extends ClawnodeError {
  static override name = 'InputDigestMismatchError'
  constructor () {
    super('The awarded job payload does not match the digest in the order', { hint: 'The award is refused; the consumer must send the payload it ordered.' })
  }
}

export interface LeaseLimits {
  cpus: number
  memoryMb: number
  pids: number
  wallMs: number
  outputBytes: number
  artifactBytes: number
  tmpMb: number
  /** Inference: the most tokens to generate. */
  maxTokens?: number
  /** Inference: an upper bound of the prompt's tokens. */
  promptTokens?: number
}

export interface OrderInfo {
  orderId: Uint8Array
  consumer: PeerId
  provider: PeerId
  kind: JobKind
  image: string
  model: string
  limits: LeaseLimits
  inputDigest: Uint8Array
  maxPrice: number
  deadlineMs: number
  /** How the consumer pays; absent on an unpaid order. */
  payment?: OrderPayment
}

/** An order's payment: the consumer's deposit id (0: none) and its settlement binding, as signed. */
export interface OrderPayment {
  depositId: bigint
  /** The consumer's settlement binding envelope; opened by whoever needs the address. */
  settlement: Uint8Array
}

export interface BidInfo {
  orderId: Uint8Array
  bidId: Uint8Array
  provider: PeerId
  price: number
  estimatedStartMs: number
  expiresAtMs: number
  connectivity: Connectivity
  rttMs: number
}


function decode<T> (what: string, f: () => T): T {
  try { return f() } catch (err) { throw new MalformedMessageError(what, (err as Error).message, { cause: err }) }
}

export function inputDigest (payload: Uint8Array): Uint8Array {
  return sha256(payload)
}

export interface NewOrder {
  provider: PeerId
  kind: JobKind
  image?: string
  model?: string
  limits: LeaseLimits
  payload: Uint8Array
  maxPrice: number
  deadlineMs: number
  payment?: OrderPayment
}

export async function signOrder (key: PrivateKey, order: NewOrder): Promise<{ bytes: Uint8Array, orderId: Uint8Array }> {
  const nonce = new Uint8Array(randomBytes(NONCE_BYTES))
  const consumer = Uint8Array.from(key.publicKey.toMultihash().bytes)
  const provider = peerIdToBytes(order.provider)
  const orderId = sha256(consumer, provider, nonce)
  const l = order.limits
  const body = TaskOrder.encode({
    orderId: Uint8Array.from(orderId),
    consumer,
    provider,
    kind: order.kind,
    image: order.image ?? '',
    model: order.model ?? '',
    limits: { cpus: l.cpus, memoryMb: l.memoryMb, pids: l.pids, wallMs: BigInt(l.wallMs), outputBytes: BigInt(l.outputBytes), artifactBytes: BigInt(l.artifactBytes), tmpMb: l.tmpMb, maxTokens: l.maxTokens ?? 0, promptTokens: l.promptTokens ?? 0 },
    inputDigest: Uint8Array.from(inputDigest(order.payload)),
    maxPrice: BigInt(order.maxPrice),
    deadlineMs: BigInt(order.deadlineMs),
    nonce,
    ...(order.payment === undefined ? {} : { payment: { depositId: order.payment.depositId, settlement: Uint8Array.from(order.payment.settlement) } })
  })
  return { bytes: await sealEnvelope(key, ORDER_DOMAIN, ORDER_PAYLOAD_TYPE, body), orderId }
}

/** Opens an order addressed to `self`; refuses forged, expired, misaddressed and replayed orders. */
export async function openOrder (bytes: Uint8Array, options: { self: PeerId, guard: ReplayGuard, now?: number }): Promise<OrderInfo> {
  const now = options.now ?? Date.now()
  const { signer, payload } = await openEnvelope(bytes, ORDER_DOMAIN, ORDER_PAYLOAD_TYPE, MAX_LEASE_MESSAGE_BYTES)
  const o = decode('task order', () => TaskOrder.decode(payload))
  const consumer = peerIdFromBytes(o.consumer, 'task order')
  const provider = peerIdFromBytes(o.provider, 'task order')
  if (!consumer.equals(signer)) throw new PeerMismatchError('task order', signer.toString(), consumer.toString())
  if (!provider.equals(options.self)) throw new PeerMismatchError('task order', options.self.toString(), provider.toString())
  if (o.nonce.byteLength !== NONCE_BYTES) throw new MalformedMessageError('task order', 'has a bad nonce')
  if (!bytesEqual(o.orderId, sha256(o.consumer, o.provider, o.nonce))) throw new MalformedMessageError('task order', 'has an order id that does not bind its peers and nonce')
  if (o.kind !== 'container' && o.kind !== 'inference') throw new MalformedMessageError('task order', `has an unknown kind ${JSON.stringify(o.kind.slice(0, 40))}`)
  if (o.inputDigest.byteLength !== 32) throw new MalformedMessageError('task order', 'has a bad input digest')
  const deadlineMs = safeNumber(o.deadlineMs, 'task order')
  if (deadlineMs + MAX_CLOCK_SKEW_MS < now) throw new RecordExpiredError('task order', `passed its deadline at ${new Date(deadlineMs).toISOString()}`)
  if (deadlineMs > now + MAX_ORDER_DEADLINE_MS) throw new RecordExpiredError('task order', 'has a deadline too far ahead')
  options.guard.check('task order', o.orderId, deadlineMs + MAX_CLOCK_SKEW_MS, now)
  const l = o.limits ?? { cpus: 0, memoryMb: 0, pids: 0, wallMs: 0n, outputBytes: 0n, artifactBytes: 0n, tmpMb: 0, maxTokens: 0, promptTokens: 0 }
  return {
    orderId: o.orderId,
    consumer,
    provider,
    kind: o.kind,
    image: o.image,
    model: o.model,
    limits: { cpus: l.cpus, memoryMb: l.memoryMb, pids: l.pids, wallMs: safeNumber(l.wallMs, 'task order'), outputBytes: safeNumber(l.outputBytes, 'task order'), artifactBytes: safeNumber(l.artifactBytes, 'task order'), tmpMb: l.tmpMb, maxTokens: l.maxTokens, promptTokens: l.promptTokens },
    inputDigest: o.inputDigest,
    maxPrice: safeNumber(o.maxPrice, 'task order'),
    deadlineMs,
    ...(o.payment === undefined ? {} : { payment: { depositId: o.payment.depositId, settlement: o.payment.settlement } })
  }
}

export interface NewBid { price: number, estimatedStartMs: number, ttlMs: number, connectivity: Connectivity, rttMs: number, now?: number }

export async function signBid (key: PrivateKey, order: OrderInfo, bid: NewBid): Promise<{ bytes: Uint8Array, bidId: Uint8Array }> {
  const nonce = new Uint8Array(randomBytes(NONCE_BYTES))
  const provider = peerIdToBytes(order.provider)
  const bidId = sha256(order.orderId, provider, nonce)
  const body = Bid.encode({
    orderId: Uint8Array.from(order.orderId), bidId: Uint8Array.from(bidId), provider, price: BigInt(bid.price),
    estimatedStartMs: BigInt(bid.estimatedStartMs), expiresAtMs: BigInt((bid.now ?? Date.now()) + bid.ttlMs),
    connectivity: bid.connectivity, rttMs: bid.rttMs, nonce
  })
  return { bytes: await sealEnvelope(key, BID_DOMAIN, BID_PAYLOAD_TYPE, body), bidId }
}

/** Opens a bid for `order`: signed by the order's provider, for this order, unexpired, within the price. */
export async function openBid (bytes: Uint8Array, options: { order: OrderInfo, now?: number }): Promise<BidInfo> {
  const now = options.now ?? Date.now()
  const { signer, payload } = await openEnvelope(bytes, BID_DOMAIN, BID_PAYLOAD_TYPE, MAX_LEASE_MESSAGE_BYTES)
  const b = decode('bid', () => Bid.decode(payload))
  const provider = peerIdFromBytes(b.provider, 'bid')
  if (!provider.equals(signer)) throw new PeerMismatchError('bid', signer.toString(), provider.toString())
  if (!provider.equals(options.order.provider)) throw new PeerMismatchError('bid', options.order.provider.toString(), provider.toString())
  if (!bytesEqual(b.orderId, options.order.orderId)) throw new OrderMismatchError('bid')
  if (b.nonce.byteLength !== NONCE_BYTES || !bytesEqual(b.bidId, sha256(b.orderId, b.provider, b.nonce))) throw new MalformedMessageError('bid', 'has a bid id that does not bind its order, provider and nonce')
  if (b.connectivity !== 'direct' && b.connectivity !== 'relayed') throw new MalformedMessageError('bid', `has an unknown connectivity ${JSON.stringify(b.connectivity.slice(0, 40))}`)
  const expiresAtMs = safeNumber(b.expiresAtMs, 'bid')
  if (expiresAtMs + MAX_CLOCK_SKEW_MS < now) throw new RecordExpiredError('bid', `expired at ${new Date(expiresAtMs).toISOString()}`)
  const price = safeNumber(b.price, 'bid')
  if (price > options.order.maxPrice) throw new MalformedMessageError('bid', `asks ${price}, above the order's maximum of ${options.order.maxPrice}`)
  return { orderId: b.orderId, bidId: b.bidId, provider, price, estimatedStartMs: safeNumber(b.estimatedStartMs, 'bid'), expiresAtMs, connectivity: b.connectivity, rttMs: b.rttMs }
}

/** A decline; `detail` says what the consumer can do about it (capped at MAX_DECLINE_DETAIL_CHARS). */
export async function signDecline (key: PrivateKey, order: OrderInfo, reason: DeclineReason, detail = ''): Promise<Uint8Array> {
  return await sealEnvelope(key, DECLINE_DOMAIN, DECLINE_PAYLOAD_TYPE, Decline.encode({ orderId: Uint8Array.from(order.orderId), provider: peerIdToBytes(order.provider), reason, detail: detail.slice(0, MAX_DECLINE_DETAIL_CHARS) }))
}

/** The reason, with the provider's detail after it when there is one ("payment-required: …"). */
export async function openDecline (bytes: Uint8Array, options: { order: OrderInfo }): Promise<string> {
  return describeDecline(await openDeclineInfo(bytes, options))
}

export function describeDecline (d: { reason: DeclineReason, detail: string }): string {
  return d.detail === '' ? d.reason : `${d.reason}: ${d.detail}`
}

export async function openDeclineInfo (bytes: Uint8Array, options: { order: OrderInfo }): Promise<{ reason: DeclineReason, detail: string }> {
  const { signer, payload } = await openEnvelope(bytes, DECLINE_DOMAIN, DECLINE_PAYLOAD_TYPE, MAX_LEASE_MESSAGE_BYTES)
  const d = decode('decline', () => Decline.decode(payload))
  const provider = peerIdFromBytes(d.provider, 'decline')
  if (!provider.equals(signer) || !provider.equals(options.order.provider)) throw new PeerMismatchError('decline', options.order.provider.toString(), signer.toString())
  if (!bytesEqual(d.orderId, options.order.orderId)) throw new OrderMismatchError('decline')
  if (!(DECLINE_REASONS as readonly string[]).includes(d.reason)) throw new MalformedMessageError('decline', `has an unknown reason ${JSON.stringify(d.reason.slice(0, 40))}`)
  return { reason: d.reason as DeclineReason, detail: d.detail.slice(0, MAX_DECLINE_DETAIL_CHARS) }
}

export async function signAward (key: PrivateKey, order: OrderInfo, bid: BidInfo, payload: Uint8Array): Promise<Uint8Array> {
  return await sealEnvelope(key, AWARD_DOMAIN, AWARD_PAYLOAD_TYPE, Award.encode({ orderId: Uint8Array.from(order.orderId), bidId: Uint8Array.from(bid.bidId), payload: Uint8Array.from(payload) }))
}

/**
 * Opens an award for the provider's own bid on `order`: signed by the order's consumer, naming this
 * bid, carrying exactly the payload the order's digest promised, at most once, before the deadline.
 */
export async function openAward (bytes: Uint8Array, options: { order: OrderInfo, bidId: Uint8Array, guard: ReplayGuard, now?: number }): Promise<Uint8Array> {
  const now = options.now ?? Date.now()
  const { signer, payload } = await openEnvelope(bytes, AWARD_DOMAIN, AWARD_PAYLOAD_TYPE, MAX_AWARD_BYTES)
  if (!signer.equals(options.order.consumer)) throw new PeerMismatchError('award', options.order.consumer.toString(), signer.toString())
  const a = decode('award', () => Award.decode(payload))
  if (!bytesEqual(a.orderId, options.order.orderId) || !bytesEqual(a.bidId, options.bidId)) throw new OrderMismatchError('award')
  if (options.order.deadlineMs + MAX_CLOCK_SKEW_MS < now) throw new RecordExpiredError('award', 'came after the order\'s deadline')
  if (!bytesEqual(inputDigest(a.payload), options.order.inputDigest)) throw new InputDigestMismatchError()
  options.guard.check('award', a.bidId, options.order.deadlineMs + MAX_CLOCK_SKEW_MS, now)
  return a.payload
}
