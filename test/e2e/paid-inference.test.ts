/**
 * Inference paid through escrow, on a real local chain, real libp2p nodes and real llama.cpp: every
 * usage tick draws on the deposit for the output counted so far and the consumer countersigns it, so
 * a stream that dies mid-way still leaves the provider a co-signed, claimable draw for what was
 * delivered (within one tick), while a lease that completes ends with the receipt's draw.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import {
  chargedOutputPrice, createCapsService, createClawNode, createConsumer, createConsumerSettlement, createModelHost, createProviderService,
  createProviderSettlement, encodeInferencePayload, loadOrCreatePeerKey, maxInferencePrice, openNodeChain, promptTokenBound
} from '../../node/index.ts'
import type { CapsService, ClawNode, ConsumerSettlement, ModelHost, NodeChain, ProviderService, ProviderSettlement } from '../../node/index.ts'
import { readDeposit as readDepositState } from '../../ledger/index.ts'
import { readSettlementBook, settlementBookPath } from '../../node/settlement-shared.ts'
import {
  decodeFrame, encodeFrame, frameStream, MAX_FRAME_BYTES, openBid, openUsageTick, signAward, signOrder, signReceiptAck, TASK_PROTOCOL
} from '../../protocol/index.ts'
import type { Capabilities, CapabilityRecordInfo, LeaseLimits, UsageTickInfo } from '../../protocol/index.ts'
import { createSandboxRunner, scanModels } from '../../sandbox/index.ts'
import { bounded, setup, tempDir } from '../helpers.ts'

interface Ctx {
  boot: ClawNode
  provider: { dir: string, node: ClawNode, caps: CapsService, service: ProviderService, models: ModelHost, chain: NodeChain, settlement: ProviderSettlement }
  consumer: { dir: string, node: ClawNode, caps: CapsService, chain: NodeChain, settlement: ConsumerSettlement }
}
const s = suite<Ctx>('paid inference', {} as Ctx)

/** The provider's book entry of a deposit (node/provider-settlement.ts). */
async function readSettlementBookDeposit (dir: string, id: bigint): Promise<{ cosigned?: { cumulative: string } } | undefined> {
  return (await readSettlementBook(settlementBookPath(dir, 'provider')))?.deposits[id.toString()] as { cosigned?: { cumulative: string } } | undefined
}
const readDeposit = async (chain: NodeChain, id: bigint): ReturnType<typeof readDepositState> => await readDepositState(chain.client, chain.deployment, id)

// 100 millicredits per output token: a tick every 8 tokens draws 800 more.
const PRICES = { per1kInputTokens: 0, per1kOutputTokens: 100_000, perCpuSecond: 0, perGbSecond: 0 }
const TICK = 8

s.before(setup(async (ctx) => {
  const localDir = await tempDir('clawnode-chain-')
  ctx.boot = await createClawNode({ dataDir: await tempDir() })
  await ctx.boot.start()
  const boot = ctx.boot.getMultiaddrs().map(String)

  const dir = await tempDir()
  const { mkdir } = await import('node:fs/promises')
  await mkdir(join(dir, 'models'))
  generateModel({ ...PRESETS.tiny!, name: 'tiny', seed: 1, eos: 'never' }, join(dir, 'models', 'tiny.gguf'))
  const chain = await openNodeChain(dir, { localDir })
  if (chain === undefined) throw new Error('no chain')
  const node = await createClawNode({ dataDir: dir, network: { bootstrap: boot } })
  await node.start()
  const privateKey = await loadOrCreatePeerKey(dir)
  const registry = await scanModels(dir)
  const models = createModelHost(registry.models, { threads: 1, contextSize: 1024 })
  const settlement = await createProviderSettlement({ chain, privateKey, dataDir: dir, config: { periodS: 3600 } })
  const capabilities: Capabilities = {
    clawnodeVersion: '0.1.0', cpuCores: 2, memoryBytes: 2 ** 30, gpus: [], runtimes: [], images: [],
    models: registry.models.map(m => ({ id: m.id, digest: m.sha256, quantisation: m.quantisation, context: m.contextLength })),
    prices: PRICES, maxConcurrentJobs: 2, settlement: await settlement.recordInfo()
  }
  const service = createProviderService({ node, privateKey, runner: createSandboxRunner({ dataDir: dir }), dataDir: dir, prices: PRICES, maxConcurrentJobs: 2, models, usageTickTokens: TICK, settlement })
  await service.start()
  const caps = createCapsService({ node, privateKey, capabilities })
  await caps.start()
  ctx.provider = { dir, node, caps, service, models, chain, settlement }

  const cdir = await tempDir()
  const cchain = await openNodeChain(cdir, { localDir })
  if (cchain === undefined) throw new Error('no chain')
  const cnode = await createClawNode({ dataDir: cdir, network: { bootstrap: boot } })
  await cnode.start()
  const ckey = await loadOrCreatePeerKey(cdir)
  const ccaps = createCapsService({ node: cnode, privateKey: ckey, capabilities: { ...capabilities, models: [], maxConcurrentJobs: 0 } })
  await ccaps.start()
  ctx.consumer = { dir: cdir, node: cnode, caps: ccaps, chain: cchain, settlement: await createConsumerSettlement({ chain: cchain, privateKey: ckey, dataDir: cdir }) }
  for (let i = 0; i < 60; i++) {
    if ((await ccaps.discover({ kind: 'model', model: 'tiny' }, { signal: AbortSignal.timeout(8_000) })).length > 0) break
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}))

s.after(async (ctx) => {
  await ctx.consumer?.caps.stop(); await ctx.consumer?.node.stop(); await ctx.consumer?.chain.close()
  await ctx.provider?.caps.stop(); await ctx.provider?.service.stop(); await ctx.provider?.models.close(); await ctx.provider?.node.stop()
  await ctx.provider?.settlement.stop(); await ctx.provider?.chain.close()
  await ctx.boot?.stop()
})

s('each usage tick draws for the output so far; the receipt\'s draw is the lease\'s price', bounded(120_000, async (ctx) => {
  const { provider, consumer } = ctx
  const lease = createConsumer({ node: consumer.node, privateKey: await loadOrCreatePeerKey(consumer.dir), caps: consumer.caps, settlement: consumer.settlement })
  const ticks: number[] = []
  const result = await lease.leaseInference({ model: 'tiny', messages: [{ role: 'user', content: 'Count.' }], maxTokens: 24, params: { seed: 3 } }, {
    maxPrice: 100_000_000, onUsage: (u) => { ticks.push(u.outputTokens) }
  })
  assert.equal(ticks, [8, 16, 24])
  assert.is(result.receipt.price, 24 * 100)
  assert.is(result.receipt.draw?.cumulative, 2400n)
  // The provider's book holds the receipt's co-signed draw (the ticks' were lower).
  for (let i = 0; i < 50 && (await readSettlementBookDeposit(provider.dir, result.receipt.draw?.depositId ?? 0n))?.cosigned?.cumulative !== '2400'; i++) await new Promise(resolve => setTimeout(resolve, 50))
  assert.is((await readSettlementBookDeposit(provider.dir, result.receipt.draw?.depositId ?? 0n))?.cosigned?.cumulative, '2400')
}))

s('a stream that dies after two ticks leaves the provider a co-signed draw for them, which it claims', bounded(120_000, async (ctx) => {
  const { provider, consumer } = ctx
  const key = await loadOrCreatePeerKey(consumer.dir)
  const [record] = await consumer.caps.discover({ kind: 'model', model: 'tiny' }, { signal: AbortSignal.timeout(8_000) }) as CapabilityRecordInfo[]
  assert.ok(record !== undefined)
  const messages = [{ role: 'user' as const, content: 'Go on.' }]
  const limits: LeaseLimits = { cpus: 0, memoryMb: 0, pids: 0, wallMs: 60_000, outputBytes: 0, artifactBytes: 0, tmpMb: 0, maxTokens: 400, promptTokens: promptTokenBound(messages) }
  const quote = maxInferencePrice(limits, PRICES)
  const paying = await consumer.settlement.pay(record, quote)
  assert.ok('hold' in paying && paying.hold !== undefined)
  const hold = paying.hold
  const depositId = hold.payment.depositId
  const before = BigInt((await readSettlementBookDeposit(provider.dir, depositId))?.cosigned?.cumulative ?? '0')

  // A consumer driven by hand, to die on purpose: order, award, read, countersign two ticks, then abort the stream.
  const payload = encodeInferencePayload({ messages, params: { seed: 5 } })
  const stream = await consumer.node.libp2p.dialProtocol(provider.node.peerId, TASK_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  const lp = frameStream(stream, { maxFrameBytes: MAX_FRAME_BYTES })
  const { bytes, orderId } = await signOrder(key, { provider: provider.node.peerId, kind: 'inference', model: 'tiny', limits, payload, maxPrice: quote, deadlineMs: Date.now() + 120_000, payment: hold.payment })
  const order = { orderId, consumer: consumer.node.peerId, provider: provider.node.peerId, kind: 'inference' as const, image: '', model: 'tiny', limits, inputDigest: createHash('sha256').update(payload).digest(), maxPrice: quote, deadlineMs: 0, payment: hold.payment }
  await lp.write(encodeFrame({ type: 'order', bytes }))
  const bidFrame = decodeFrame(await lp.read({ signal: AbortSignal.timeout(10_000) }))
  assert.is(bidFrame.type, 'bid')
  const bid = await openBid((bidFrame as { bytes: Uint8Array }).bytes, { order })
  await lp.write(encodeFrame({ type: 'award', bytes: await signAward(key, order, bid, payload) }))
  const digest = createHash('sha256')
  let received = 0
  let last: UsageTickInfo | undefined
  while (last === undefined || last.seq < 1) {
    const frame = decodeFrame(await lp.read({ signal: AbortSignal.timeout(30_000) }))
    if (frame.type === 'output') { digest.update(frame.data); received += frame.data.byteLength; continue }
    assert.is(frame.type, 'usage')
    const tickBytes = (frame as { bytes: Uint8Array }).bytes
    last = await openUsageTick(tickBytes, { order, bid, ...(last === undefined ? {} : { previous: last }), received: { bytes: received, digest: digest.copy().digest() } })
    assert.ok(last.draw !== undefined, 'a paid lease\'s tick draws on the deposit')
    assert.is(last.draw.cumulative, before + BigInt(chargedOutputPrice(last.outputTokens, PRICES, bid.price)))
    const signature = await hold.sign(last.draw, chargedOutputPrice(last.outputTokens, PRICES, bid.price), false)
    await lp.write(encodeFrame({ type: 'usageAck', bytes: await signReceiptAck(key, tickBytes, signature) }))
  }
  assert.is(last.outputTokens, 2 * TICK)
  stream.abort(new Error('the consumer died'))

  // The provider recorded the second tick's co-signed draw: 16 tokens at 100 millicredits.
  const expected = before + 1600n
  for (let i = 0; i < 100 && (await readSettlementBookDeposit(provider.dir, depositId))?.cosigned?.cumulative !== expected.toString(); i++) await new Promise(resolve => setTimeout(resolve, 50))
  assert.is((await readSettlementBookDeposit(provider.dir, depositId))?.cosigned?.cumulative, expected.toString())
  assert.equal(await provider.settlement.runPeriod(), { claimed: 1, finalized: 0 })
  assert.is((await readDeposit(provider.chain, depositId)).claimed, expected)
  hold.release()

  // The provider took back its receipt's draw that was never countersigned: the next lease on the
  // deposit follows on what both sides signed, and the consumer signs it. (The co-signed draws are in
  // the book while the dead lease still winds down: the next lease waits until it has ended.)
  for (let i = 0; i < 200 && provider.service.running > 0; i++) await new Promise(resolve => setTimeout(resolve, 50))
  assert.is(provider.service.running, 0, 'the dead lease has ended')
  const lease = createConsumer({ node: consumer.node, privateKey: key, caps: consumer.caps, settlement: consumer.settlement })
  const next = await lease.leaseInference({ model: 'tiny', messages: [{ role: 'user', content: 'Again.' }], maxTokens: 8, params: { seed: 2 } }, { maxPrice: 100_000_000 })
  assert.is(next.receipt.draw?.depositId, depositId)
  assert.is(next.receipt.draw?.cumulative, expected + 800n)
}))

s.run()
