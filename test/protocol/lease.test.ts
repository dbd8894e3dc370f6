import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  createReplayGuard, openAward, openBid, openDecline, openOrder, sealEnvelope, signAward, signBid, signDecline, signOrder,
  ORDER_DOMAIN, ORDER_PAYLOAD_TYPE
} from '../../protocol/index.ts'
import { TaskOrder } from '../../protocol/gen/lease.js'
import type { LeaseLimits, OrderInfo } from '../../protocol/index.ts'
import { rejectsWith } from '../helpers.ts'

const limits: LeaseLimits = { cpus: 1, memoryMb: 128, pids: 32, wallMs: 10_000, outputBytes: 65536, artifactBytes: 1 << 20, tmpMb: 16 }
const payload = new TextEncoder().encode(JSON.stringify({ version: 1, image: 'sha256:' + 'a'.repeat(64), argv: ['true'] }))


async function setup (): Promise<{ consumerKey: Awaited<ReturnType<typeof generateKeyPair>>, providerKey: Awaited<ReturnType<typeof generateKeyPair>>, order: OrderInfo, orderBytes: Uint8Array }> {
  const consumerKey = await generateKeyPair('Ed25519')
  const providerKey = await generateKeyPair('Ed25519')
  const provider = peerIdFromPublicKey(providerKey.publicKey)
  const { bytes } = await signOrder(consumerKey, { provider, kind: 'container', image: 'sha256:' + 'a'.repeat(64), limits, payload, maxPrice: 5000, deadlineMs: Date.now() + 60_000 })
  const order = await openOrder(bytes, { self: provider, guard: createReplayGuard() })
  return { consumerKey, providerKey, order, orderBytes: bytes }
}

test('order → bid → award: each side verifies the other and gets the payload it ordered', async () => {
  const { consumerKey, providerKey, order } = await setup()
  assert.ok(order.consumer.equals(peerIdFromPublicKey(consumerKey.publicKey)))
  // A container order carries no token limits: they decode as 0.
  assert.equal(order.limits, { ...limits, maxTokens: 0, promptTokens: 0 })
  const { bytes: bidBytes, bidId } = await signBid(providerKey, order, { price: 4000, estimatedStartMs: Date.now(), ttlMs: 30_000, connectivity: 'direct', rttMs: 1 })
  const bid = await openBid(bidBytes, { order })
  assert.is(bid.price, 4000)
  const award = await signAward(consumerKey, order, bid, payload)
  assert.equal(await openAward(award, { order, bidId, guard: createReplayGuard() }), payload)
})

test('an inference order carries its model and token limits', async () => {
  const consumerKey = await generateKeyPair('Ed25519')
  const provider = peerIdFromPublicKey((await generateKeyPair('Ed25519')).publicKey)
  const tokenLimits = { ...limits, maxTokens: 64, promptTokens: 100 }
  const { bytes } = await signOrder(consumerKey, { provider, kind: 'inference', model: 'tiny', limits: tokenLimits, payload, maxPrice: 5000, deadlineMs: Date.now() + 60_000 })
  const order = await openOrder(bytes, { self: provider, guard: createReplayGuard() })
  assert.is(order.kind, 'inference')
  assert.is(order.model, 'tiny')
  assert.equal(order.limits, tokenLimits)
})

test('a forged bid signature is refused', async () => {
  const { providerKey, order } = await setup()
  const { bytes } = await signBid(providerKey, order, { price: 1, estimatedStartMs: 0, ttlMs: 30_000, connectivity: 'direct', rttMs: 1 })
  const i = bytes.length - 5
  bytes[i] = (bytes[i] ?? 0) ^ 0xff
  await rejectsWith(openBid(bytes, { order }), 'InvalidSignatureError')
})

test('a bid signed by someone other than the provider is refused', async () => {
  const { order } = await setup()
  const mallory = await generateKeyPair('Ed25519')
  const { bytes } = await signBid(mallory, order, { price: 1, estimatedStartMs: 0, ttlMs: 30_000, connectivity: 'direct', rttMs: 1 })
  await rejectsWith(openBid(bytes, { order }), 'PeerMismatchError')
})

test('a bid for another order is refused', async () => {
  const a = await setup()
  const b = await setup()
  const { bytes } = await signBid(a.providerKey, a.order, { price: 1, estimatedStartMs: 0, ttlMs: 30_000, connectivity: 'direct', rttMs: 1 })
  await rejectsWith(openBid(bytes, { order: { ...b.order, provider: a.order.provider } }), 'OrderMismatchError')
})

test('a bid above the order\'s maximum price, and an expired bid, are refused', async () => {
  const { providerKey, order } = await setup()
  await rejectsWith(openBid((await signBid(providerKey, order, { price: 9999, estimatedStartMs: 0, ttlMs: 30_000, connectivity: 'direct', rttMs: 1 })).bytes, { order }), 'MalformedMessageError')
  await rejectsWith(openBid((await signBid(providerKey, order, { price: 1, estimatedStartMs: 0, ttlMs: 1, connectivity: 'direct', rttMs: 1, now: Date.now() - 600_000 })).bytes, { order }), 'RecordExpiredError')
})

test('a replayed order and a replayed award are refused', async () => {
  const { consumerKey, providerKey, order, orderBytes } = await setup()
  const guard = createReplayGuard()
  await openOrder(orderBytes, { self: order.provider, guard })
  await rejectsWith(openOrder(orderBytes, { self: order.provider, guard }), 'ReplayError')
  const { bytes: bidBytes, bidId } = await signBid(providerKey, order, { price: 1, estimatedStartMs: 0, ttlMs: 30_000, connectivity: 'direct', rttMs: 1 })
  const award = await signAward(consumerKey, order, await openBid(bidBytes, { order }), payload)
  await openAward(award, { order, bidId, guard })
  await rejectsWith(openAward(award, { order, bidId, guard }), 'ReplayError')
})

test('an expired order, one for another provider, and one whose id does not bind its peers are refused', async () => {
  const consumerKey = await generateKeyPair('Ed25519')
  const provider = peerIdFromPublicKey((await generateKeyPair('Ed25519')).publicKey)
  const other = peerIdFromPublicKey((await generateKeyPair('Ed25519')).publicKey)
  const expired = await signOrder(consumerKey, { provider, kind: 'container', limits, payload, maxPrice: 1, deadlineMs: Date.now() - 600_000 })
  await rejectsWith(openOrder(expired.bytes, { self: provider, guard: createReplayGuard() }), 'RecordExpiredError')
  const fresh = await signOrder(consumerKey, { provider, kind: 'container', limits, payload, maxPrice: 1, deadlineMs: Date.now() + 60_000 })
  await rejectsWith(openOrder(fresh.bytes, { self: other, guard: createReplayGuard() }), 'PeerMismatchError')
  const bogus = TaskOrder.encode({
    orderId: new Uint8Array(32), consumer: Uint8Array.from(consumerKey.publicKey.toMultihash().bytes), provider: Uint8Array.from(provider.toMultihash().bytes),
    kind: 'container', inputDigest: new Uint8Array(32), deadlineMs: BigInt(Date.now() + 60_000), nonce: new Uint8Array(16)
  })
  await rejectsWith(openOrder(await sealEnvelope(consumerKey, ORDER_DOMAIN, ORDER_PAYLOAD_TYPE, bogus), { self: provider, guard: createReplayGuard() }), 'MalformedMessageError')
})

test('an award whose payload differs from the ordered digest is refused, as is one from another consumer', async () => {
  const { consumerKey, providerKey, order } = await setup()
  const { bytes: bidBytes, bidId } = await signBid(providerKey, order, { price: 1, estimatedStartMs: 0, ttlMs: 30_000, connectivity: 'direct', rttMs: 1 })
  const bid = await openBid(bidBytes, { order })
  await rejectsWith(openAward(await signAward(consumerKey, order, bid, new TextEncoder().encode('something else')), { order, bidId, guard: createReplayGuard() }), 'InputDigestMismatchError')
  await rejectsWith(openAward(await signAward(await generateKeyPair('Ed25519'), order, bid, payload), { order, bidId, guard: createReplayGuard() }), 'PeerMismatchError')
})

test('a decline names a known reason and its order', async () => {
  const { providerKey, order } = await setup()
  assert.is(await openDecline(await signDecline(providerKey, order, 'busy'), { order }), 'busy')
  const other = await setup()
  await rejectsWith(openDecline(await signDecline(providerKey, order, 'busy'), { order: { ...other.order, provider: order.provider } }), 'OrderMismatchError')
})

test('the replay guard is bounded and fails closed when full of live entries', () => {
  const guard = createReplayGuard(2)
  const now = Date.now()
  guard.check('x', Uint8Array.of(1), now + 1000, now)
  guard.check('x', Uint8Array.of(2), now - 1, now - 10)
  guard.check('x', Uint8Array.of(3), now + 1000, now) // sweeps the expired one
  assert.is(guard.size, 2)
  assert.throws(() => { guard.check('x', Uint8Array.of(4), now + 1000, now) }, (err: Error) => err.name === 'ReplayGuardFullError')
})

test.run()
