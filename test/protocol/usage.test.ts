/**
 * Streamed usage ticks: a tick verifies for its lease; a tampered count or digest, a forged signer,
 * a tick for another order, one that goes backwards or skips a number, are refused by name.
 */
import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createReplayGuard, openBid, openOrder, openUsageTick, signBid, signOrder, signUsageTick } from '../../protocol/index.ts'
import type { LeaseLimits } from '../../protocol/index.ts'
import { rejectsWith } from '../helpers.ts'

const limits: LeaseLimits = { cpus: 0, memoryMb: 0, pids: 0, wallMs: 60_000, outputBytes: 0, artifactBytes: 0, tmpMb: 0, maxTokens: 64, promptTokens: 100 }

async function lease (): Promise<{ providerKey: Awaited<ReturnType<typeof generateKeyPair>>, order: Awaited<ReturnType<typeof openOrder>>, bid: Awaited<ReturnType<typeof openBid>> }> {
  const consumerKey = await generateKeyPair('Ed25519')
  const providerKey = await generateKeyPair('Ed25519')
  const provider = peerIdFromPublicKey(providerKey.publicKey)
  const { bytes } = await signOrder(consumerKey, { provider, kind: 'inference', model: 'tiny', limits, payload: new Uint8Array([1]), maxPrice: 1000, deadlineMs: Date.now() + 60_000 })
  const order = await openOrder(bytes, { self: provider, guard: createReplayGuard() })
  const bid = await openBid((await signBid(providerKey, order, { price: 10, estimatedStartMs: 0, ttlMs: 30_000, connectivity: 'direct', rttMs: 0 })).bytes, { order })
  return { providerKey, order, bid }
}

test('ticks verify in order against what was received; tampering, forgery and regressions are refused', async () => {
  const { providerKey, order, bid } = await lease()
  const text = Buffer.from('hello world')
  const digest = createHash('sha256').update(text).digest()
  const t0 = await signUsageTick(providerKey, order, bid, { seq: 0, outputTokens: 8, bytesDelivered: text.byteLength, deliveredDigest: digest })
  const first = await openUsageTick(t0, { order, bid, received: { bytes: text.byteLength, digest } })
  assert.is(first.outputTokens, 8)
  // What the consumer received differs from what the tick claims.
  await rejectsWith(openUsageTick(t0, { order, bid, received: { bytes: text.byteLength, digest: createHash('sha256').update('other').digest() } }), 'MalformedMessageError')
  await rejectsWith(openUsageTick(t0, { order, bid, received: { bytes: text.byteLength + 1, digest } }), 'MalformedMessageError')
  // A tampered byte breaks the signature.
  const tampered = Uint8Array.from(t0)
  tampered[tampered.length - 70] = (tampered[tampered.length - 70] ?? 0) ^ 1
  await rejectsWith(openUsageTick(tampered, { order, bid }), 'InvalidSignatureError')
  // Signed by someone else, or for another lease.
  await rejectsWith(openUsageTick(await signUsageTick(await generateKeyPair('Ed25519'), order, bid, { seq: 0, outputTokens: 8, bytesDelivered: 0, deliveredDigest: digest }), { order, bid }), 'PeerMismatchError')
  const other = await lease()
  await rejectsWith(openUsageTick(await signUsageTick(other.providerKey, other.order, other.bid, { seq: 0, outputTokens: 8, bytesDelivered: 0, deliveredDigest: digest }), { order: { ...other.order, orderId: order.orderId }, bid: other.bid }), 'OrderMismatchError')
  // Counts only grow, one tick after the other.
  const back = await signUsageTick(providerKey, order, bid, { seq: 1, outputTokens: 4, bytesDelivered: text.byteLength, deliveredDigest: digest })
  await rejectsWith(openUsageTick(back, { order, bid, previous: first }), 'MalformedMessageError')
  const skip = await signUsageTick(providerKey, order, bid, { seq: 2, outputTokens: 16, bytesDelivered: text.byteLength, deliveredDigest: digest })
  await rejectsWith(openUsageTick(skip, { order, bid, previous: first }), 'MalformedMessageError')
  const next = await signUsageTick(providerKey, order, bid, { seq: 1, outputTokens: 16, bytesDelivered: text.byteLength, deliveredDigest: digest })
  assert.is((await openUsageTick(next, { order, bid, previous: first })).outputTokens, 16)
})

test.run()
