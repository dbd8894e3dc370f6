import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  createReplayGuard, openBid, openOrder, openReceipt, openReceiptAck, signBid, signOrder, signReceipt, signReceiptAck
} from '../../protocol/index.ts'
import type { BidInfo, LeaseUsage, OrderInfo } from '../../protocol/index.ts'
import { rejectsWith } from '../helpers.ts'

const usage: LeaseUsage = { wallMs: 48, cpuMs: 12, peakMemoryBytes: 15 << 20, exitCode: 3, oomKilled: false, bytesOut: 76 }
const digest = new Uint8Array(createHash('sha256').update('delivered').digest())


async function lease (): Promise<{ consumerKey: Awaited<ReturnType<typeof generateKeyPair>>, providerKey: Awaited<ReturnType<typeof generateKeyPair>>, order: OrderInfo, bid: BidInfo }> {
  const consumerKey = await generateKeyPair('Ed25519')
  const providerKey = await generateKeyPair('Ed25519')
  const provider = peerIdFromPublicKey(providerKey.publicKey)
  const limits = { cpus: 1, memoryMb: 64, pids: 8, wallMs: 1000, outputBytes: 1024, artifactBytes: 1024, tmpMb: 1 }
  const { bytes } = await signOrder(consumerKey, { provider, kind: 'container', limits, payload: new Uint8Array([1]), maxPrice: 100, deadlineMs: Date.now() + 60_000 })
  const order = await openOrder(bytes, { self: provider, guard: createReplayGuard() })
  const bid = await openBid((await signBid(providerKey, order, { price: 80, estimatedStartMs: 0, ttlMs: 30_000, connectivity: 'direct', rttMs: 1 })).bytes, { order })
  return { consumerKey, providerKey, order, bid }
}

test('a receipt both sides verify, countersigned over its exact bytes', async () => {
  const { consumerKey, providerKey, order, bid } = await lease()
  const receipt = await signReceipt(providerKey, order, bid, { status: 'failed', usage, resultDigest: digest, price: 80 })
  const info = await openReceipt(receipt, { order, bid })
  // A container receipt counts no tokens: they decode as 0.
  assert.equal(info.usage, { ...usage, inputTokens: 0, outputTokens: 0 })
  assert.is(info.price, 80)
  assert.is(info.status, 'failed')
  const ack = await signReceiptAck(consumerKey, receipt)
  await openReceiptAck(ack, { receiptBytes: receipt, consumer: order.consumer })
  const other = await signReceipt(providerKey, order, bid, { status: 'succeeded', usage, resultDigest: digest, price: 80 })
  await rejectsWith(openReceiptAck(ack, { receiptBytes: other, consumer: order.consumer }), 'OrderMismatchError')
})

test('a receipt over the bid\'s price, or signed by another peer, is refused', async () => {
  const { providerKey, order, bid } = await lease()
  await rejectsWith(openReceipt(await signReceipt(providerKey, order, bid, { status: 'succeeded', usage, resultDigest: digest, price: 81 }), { order, bid }), 'MalformedMessageError')
  await rejectsWith(openReceipt(await signReceipt(await generateKeyPair('Ed25519'), order, bid, { status: 'succeeded', usage, resultDigest: digest, price: 1 }), { order, bid }), 'PeerMismatchError')
})

test('an acknowledgement by someone other than the consumer is refused', async () => {
  const { providerKey, order, bid } = await lease()
  const receipt = await signReceipt(providerKey, order, bid, { status: 'succeeded', usage: { ...usage, exitCode: null }, resultDigest: digest, price: 1 })
  assert.is((await openReceipt(receipt, { order, bid })).usage.exitCode, null)
  await rejectsWith(openReceiptAck(await signReceiptAck(providerKey, receipt), { receiptBytes: receipt, consumer: order.consumer }), 'PeerMismatchError')
})

test.run()
