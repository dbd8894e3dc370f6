/**
 * A real lease over loopback: a bootstrap peer, two providers with different prices (real libp2p
 * nodes, real gVisor runners) and one that is full, and a consumer. The consumer discovers them, the
 * cheapest bid wins, the job's output and artifact come back, and both sides verify the receipt.
 */
import { readFile } from 'node:fs/promises'
import { totalmem } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createCapsService, createClawNode, createConsumer, createProviderService, loadOrCreatePeerKey, maxJobPrice } from '../../node/index.ts'
import { allowImage, createSandboxRunner, DEFAULT_LIMITS } from '../../sandbox/index.ts'
import type { CapsService, ClawNode, ExplainEntry, ProviderService } from '../../node/index.ts'
import { createReplayGuard, decodeFrame, encodeFrame, inputDigest, MAX_FRAME_BYTES, openBid, openOrder, signAward, signBid, signOrder, TASK_PROTOCOL } from '../../protocol/index.ts'
import type { Capabilities, Frame } from '../../protocol/index.ts'
import { lpStream } from '@libp2p/utils'
import type { SandboxRunner } from '../../sandbox/index.ts'
import { bounded, setup, tempDir, testImage } from '../helpers.ts'

interface Provider { node: ClawNode, caps: CapsService, provider: ProviderService, runner: SandboxRunner }
interface Ctx { consumerDir: string, boot: ClawNode, cheap: Provider, dear: Provider, full: Provider, tight: Provider, consumerNode: ClawNode, consumerCaps: CapsService, consumer: ReturnType<typeof createConsumer> }
const s = suite<Ctx>('lease', {} as Ctx)

const capsFor = (image: string, perCpuSecond: number, maxConcurrentJobs: number): Capabilities => ({
  clawnodeVersion: '0.1.0', cpuCores: 2, memoryBytes: 2 ** 30, gpus: [], runtimes: ['gvisor'], images: [image], models: [],
  prices: { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond, perGbSecond: 0 }, maxConcurrentJobs
})

async function provider (bootstrap: string[], perCpuSecond: number, maxConcurrentJobs: number, memoryReserveBytes?: number): Promise<Provider> {
  const dataDir = await tempDir()
  const image = testImage()
  await allowImage(dataDir, image)
  const node = await createClawNode({ dataDir, network: { bootstrap } })
  await node.start()
  const privateKey = await loadOrCreatePeerKey(dataDir)
  const capabilities = capsFor(image, perCpuSecond, maxConcurrentJobs)
  const runner = createSandboxRunner({ dataDir, policy: { maxLimits: { memoryMb: 1024 } } })
  await runner.start()
  const p = createProviderService({ node, privateKey, runner, dataDir, prices: capabilities.prices, maxConcurrentJobs, jobPolicy: { maxLimits: { memoryMb: 1024 } }, ...(memoryReserveBytes === undefined ? {} : { memoryReserveBytes }) })
  await p.start()
  const caps = createCapsService({ node, privateKey, capabilities })
  await caps.start()
  return { node, caps, provider: p, runner }
}

s.before(setup(async (ctx) => {
  ctx.boot = await createClawNode({ dataDir: await tempDir() })
  await ctx.boot.start()
  const boot = ctx.boot.getMultiaddrs().map(String)
  ctx.cheap = await provider(boot, 10, 2)
  ctx.dear = await provider(boot, 50, 2)
  ctx.full = await provider(boot, 1, 0)
  // Free slots, but it keeps all of the host's memory for itself: every order is too big for it now.
  ctx.tight = await provider(boot, 2, 2, totalmem())
  const dir = await tempDir()
  ctx.consumerDir = dir
  ctx.consumerNode = await createClawNode({ dataDir: dir, network: { bootstrap: boot } })
  await ctx.consumerNode.start()
  const privateKey = await loadOrCreatePeerKey(dir)
  ctx.consumerCaps = createCapsService({ node: ctx.consumerNode, privateKey, capabilities: { ...capsFor(testImage(), 0, 0), images: [], runtimes: [] } })
  await ctx.consumerCaps.start()
  ctx.consumer = createConsumer({ node: ctx.consumerNode, privateKey, caps: ctx.consumerCaps })
  // Wait until all three providers can be discovered.
  for (let i = 0; i < 60; i++) {
    const found = await ctx.consumerCaps.discover({ kind: 'image', image: testImage() }, { signal: AbortSignal.timeout(8_000) })
    if (found.length >= 4) break
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}))

s.after(async (ctx) => {
  for (const p of [ctx.cheap, ctx.dear, ctx.full, ctx.tight]) {
    await p?.caps.stop(); await p?.provider.stop(); await p?.runner.stop(); await p?.node.stop()
  }
  await ctx.consumerCaps?.stop()
  await ctx.consumerNode?.stop()
  await ctx.boot?.stop()
})

s('the cheapest bid wins; output, artifact and a receipt both sides verify come back', bounded(120_000, async (ctx) => {
  const artifactsDir = await tempDir()
  let stdout = ''
  const explain: ExplainEntry[] = []
  const result = await ctx.consumer.lease({
    version: 1, image: testImage(), argv: ['sh', '-c', 'cat; echo leased > /out/note.txt'], stdin: { text: 'over the network\n' }, limits: { wallMs: 10_000, cpus: 1 }
  }, { maxPrice: 10_000_000, fanout: 4, artifactsDir, onOutput: (_s, d) => { stdout += Buffer.from(d).toString() }, onExplain: (e) => { explain.push(e) } })
  assert.ok(result.provider.equals(ctx.cheap.node.peerId), `chose ${result.provider.toString()}`)
  assert.is(stdout, 'over the network\n')
  assert.is(await readFile(join(artifactsDir, 'note.txt'), 'utf8'), 'leased\n')
  assert.is(result.receipt.status, 'succeeded')
  assert.ok(result.receipt.usage.cpuMs > 0)
  const bid = maxJobPrice({ ...DEFAULT_LIMITS, wallMs: 10_000, cpus: 1 }, capsFor('', 10, 0).prices)
  assert.ok(result.receipt.price > 0 && result.receipt.price <= bid, `charged ${result.receipt.price} of a ${bid} bid`)
  const fates = Object.fromEntries(explain.map(e => [e.peer, `${e.fate}${e.fate === 'declined' ? `:${e.detail}` : ''}`]))
  assert.is(fates[ctx.cheap.node.peerId.toString()], 'chosen')
  assert.is(fates[ctx.dear.node.peerId.toString()], 'outbid')
  assert.is(fates[ctx.full.node.peerId.toString()], 'declined:busy')
  assert.is(fates[ctx.tight.node.peerId.toString()], 'declined:overloaded')
  // The bid says how the provider is reached and the round trip it measured: direct, on loopback.
  assert.is(result.bid.connectivity, 'direct')
  assert.ok(Number.isInteger(result.bid.rttMs) && result.bid.rttMs >= 0 && result.bid.rttMs < 1000, `rtt ${result.bid.rttMs}`)
  assert.match(explain.find(e => e.fate === 'chosen')?.detail ?? '', /direct, rtt \d+ ms/)
  // The provider keeps the countersigned receipt in the job's run directory once the ack is checked.
  for (let i = 0; i < 100 && ctx.cheap.provider.done < 1; i++) await new Promise(resolve => setTimeout(resolve, 50))
  assert.is(ctx.cheap.provider.done, 1)
  const runs = ctx.cheap.runner.runDir('x').replace(/x$/, '')
  const { readdir } = await import('node:fs/promises')
  const [jobId] = (await readdir(runs))
  const stored = JSON.parse(await readFile(join(runs, jobId ?? '', 'receipt.json'), 'utf8')) as { receipt: string, ack: string }
  assert.is(Buffer.from(stored.receipt, 'base64').equals(Buffer.from(result.receiptBytes)), true)
}))

s('an order whose limits a provider refuses is declined for policy before any bid', bounded(60_000, async (ctx) => {
  const explain: ExplainEntry[] = []
  try {
    await ctx.consumer.lease({ version: 1, image: testImage(), argv: ['true'], limits: { memoryMb: 16 * 1024, wallMs: 1000 } },
      { maxPrice: 1_000_000_000, artifactsDir: await tempDir(), onExplain: (e) => { explain.push(e) } })
    assert.unreachable('a lease above every provider\'s limits went through')
  } catch (err) {
    assert.is((err as Error).name, 'NoProviderError')
  }
  const declined = explain.filter(e => e.fate === 'declined')
  assert.ok(declined.length >= 2, JSON.stringify(explain))
  for (const e of declined) assert.ok(['policy', 'busy', 'overloaded'].includes(e.detail), e.detail)
  assert.ok(declined.some(e => e.detail === 'policy'))
  // Orders go to the 3 providers advertising the lowest prices (the default fanout); the dearest waits.
  const dear = explain.find(e => e.peer === ctx.dear.node.peerId.toString())
  assert.is(dear?.fate, 'skipped')
  assert.match(dear?.detail ?? '', /orders went to the 3 cheapest/)
}))

s('a malformed message closes only its own stream; the provider goes on serving', bounded(60_000, async (ctx) => {
  const stream = await ctx.consumerNode.libp2p.dialProtocol(ctx.cheap.node.peerId, TASK_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
  const lp = lpStream(stream)
  await lp.write(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), { signal: AbortSignal.timeout(5_000) })
  const answer = decodeFrame((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray())
  assert.is(answer.type, 'error')
  assert.is((answer as { name: string }).name, 'MalformedMessageError')
  const again = await ctx.consumerCaps.fetch(ctx.cheap.node.peerId)
  assert.ok(again.peerId.equals(ctx.cheap.node.peerId), 'the same connection still serves other protocols')
}))

s('an oversized frame ends only its own stream: a lease on the same connection completes', bounded(90_000, async (ctx) => {
  const bad = await ctx.consumerNode.libp2p.dialProtocol(ctx.dear.node.peerId, TASK_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
  // A length prefix far past MAX_FRAME_BYTES: the provider must refuse it without reading it all.
  const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])
  const leased = ctx.consumer.lease({ version: 1, image: testImage(), argv: ['echo', 'unharmed'], limits: { wallMs: 10_000, cpus: 1 } }, { maxPrice: 10_000_000, artifactsDir: await tempDir() })
  bad.send(huge)
  const answer = decodeFrame((await lpStream(bad).read({ signal: AbortSignal.timeout(10_000) })).subarray())
  assert.is(answer.type, 'error')
  assert.is((answer as { name: string }).name, 'MessageTooLargeError')
  await bad.close()
  const result = await leased
  assert.is(result.receipt.status, 'succeeded')
  // Every connection any node made stayed on loopback.
  for (const n of [ctx.boot, ctx.cheap.node, ctx.dear.node, ctx.full.node, ctx.tight.node, ctx.consumerNode]) {
    for (const c of n.libp2p.getConnections()) assert.match(String(c.remoteAddr), /^\/ip4\/127\.0\.0\.1\//)
  }
}))

s('an award carrying 5 MiB of input files goes through (frames larger than a stream buffer)', bounded(90_000, async (ctx) => {
  const big = Buffer.alloc(5 * 1024 * 1024, 7)
  let stdout = ''
  const result = await ctx.consumer.lease({ version: 1, image: testImage(), argv: ['wc', '-c', 'big.bin'], files: [{ path: 'big.bin', content: { base64: big.toString('base64') } }], limits: { wallMs: 20_000, cpus: 1 } },
    { maxPrice: 10_000_000, artifactsDir: await tempDir(), onOutput: (_s, d) => { stdout += Buffer.from(d).toString() } })
  assert.is(result.receipt.status, 'succeeded')
  assert.match(stdout, /^\s*5242880 big\.bin\n$/)
}))

s('hostile messages over the network get named errors; provider and consumer go on serving', bounded(120_000, async (ctx) => {
  const key = await loadOrCreatePeerKey(ctx.consumerDir)
  const limits = { ...DEFAULT_LIMITS, wallMs: 5_000, cpus: 1 }
  const payload = new TextEncoder().encode(JSON.stringify({ version: 1, image: testImage(), argv: ['true'], limits }))
  const exchange = async (frames: Uint8Array[]): Promise<Frame> => {
    const stream = await ctx.consumerNode.libp2p.dialProtocol(ctx.dear.node.peerId, TASK_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    let answer: Frame | undefined
    for (const bytes of frames) {
      await lp.write(bytes, { signal: AbortSignal.timeout(5_000) })
      answer = decodeFrame((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())
      if (answer.type === 'error') break
    }
    stream.abort(new Error('done'))
    return answer as Frame
  }
  const order = async (deadlineMs = Date.now() + 60_000): Promise<{ bytes: Uint8Array, orderId: Uint8Array }> =>
    await signOrder(key, { provider: ctx.dear.node.peerId, kind: 'container', image: testImage(), limits, payload, maxPrice: 1_000_000_000, deadlineMs })
  const errorName = (f: Frame): string => f.type === 'error' ? f.name : `a ${f.type} frame`

  // An expired order.
  assert.is(errorName(await exchange([encodeFrame({ type: 'order', bytes: (await order(Date.now() - 60_000)).bytes })])), 'RecordExpiredError')
  // The same order twice: the second is a replay.
  const once = await order()
  assert.is((await exchange([encodeFrame({ type: 'order', bytes: once.bytes })])).type, 'bid')
  assert.is(errorName(await exchange([encodeFrame({ type: 'order', bytes: once.bytes })])), 'ReplayError')
  // An award made for another order (and its bid), sent after a fresh order's bid.
  const first = await order()
  const bidFrame = await exchange([encodeFrame({ type: 'order', bytes: first.bytes })])
  assert.is(bidFrame.type, 'bid')
  const firstOrder = { orderId: first.orderId, consumer: ctx.consumerNode.peerId, provider: ctx.dear.node.peerId, kind: 'container' as const, image: testImage(), model: '', limits, inputDigest: inputDigest(payload), maxPrice: 1_000_000_000, deadlineMs: 0 }
  const staleAward = await signAward(key, firstOrder, await openBid((bidFrame as { bytes: Uint8Array }).bytes, { order: firstOrder }), payload)
  const answer = await exchange([encodeFrame({ type: 'order', bytes: (await order()).bytes }), encodeFrame({ type: 'award', bytes: staleAward })])
  assert.match(errorName(answer), /OrderMismatchError|PeerMismatchError/)

  // A provider that forges its bids' signatures: the consumer names the error and leases elsewhere.
  const liarDir = await tempDir()
  await allowImage(liarDir, testImage())
  const liar = await createClawNode({ dataDir: liarDir, network: { bootstrap: ctx.boot.getMultiaddrs().map(String) } })
  await liar.start()
  const liarKey = await loadOrCreatePeerKey(liarDir)
  await liar.libp2p.handle(TASK_PROTOCOL, async (stream) => {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    const frame = decodeFrame((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray())
    if (frame.type !== 'order') return
    const opened = await openOrder(frame.bytes, { self: liar.peerId, guard: createReplayGuard() })
    const { bytes } = await signBid(liarKey, opened, { price: 1, estimatedStartMs: Date.now(), ttlMs: 30_000, connectivity: 'direct', rttMs: 0 })
    const forged = Uint8Array.from(bytes)
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 0xff
    await lp.write(encodeFrame({ type: 'bid', bytes: forged }), { signal: AbortSignal.timeout(5_000) })
  })
  const liarCaps = createCapsService({ node: liar, privateKey: liarKey, capabilities: capsFor(testImage(), 0, 4) })
  await liarCaps.start()
  try {
    for (let i = 0; i < 60; i++) {
      const found = await ctx.consumerCaps.discover({ kind: 'image', image: testImage() }, { signal: AbortSignal.timeout(8_000) })
      if (found.some(r => r.peerId.equals(liar.peerId))) break
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    const explain: ExplainEntry[] = []
    const fresh = createConsumer({ node: ctx.consumerNode, privateKey: key, caps: ctx.consumerCaps })
    const result = await fresh.lease({ version: 1, image: testImage(), argv: ['echo', 'honest'], limits: { wallMs: 10_000, cpus: 1 } }, { maxPrice: 10_000_000, fanout: 5, artifactsDir: await tempDir(), onExplain: (e) => { explain.push(e) } })
    assert.is(result.receipt.status, 'succeeded')
    assert.not.ok(result.provider.equals(liar.peerId))
    const lie = explain.find(e => e.peer === liar.peerId.toString())
    assert.is(lie?.fate, 'unreachable')
    assert.match(lie?.detail ?? '', /InvalidSignatureError/)
  } finally {
    await liarCaps.stop()
    await liar.stop()
  }
}))

s('a consumer that cancels a running lease gets a countersigned receipt: cancelled, covering what was produced', bounded(90_000, async (ctx) => {
  let stdout = ''
  const controller = new AbortController()
  const receipts: Array<{ status: string, bytesOut: number, wallMs: number, provider: string }> = []
  const started = Date.now()
  const failure = await ctx.consumer.lease({ version: 1, image: testImage(), argv: ['sh', '-c', 'echo started; sleep 30; echo never'], limits: { wallMs: 60_000, cpus: 1 } }, {
    maxPrice: 1_000_000_000,
    fanout: 4,
    artifactsDir: await tempDir(),
    signal: controller.signal,
    onOutput: (_s, d) => { stdout += Buffer.from(d).toString(); if (stdout.includes('started')) controller.abort(new Error('enough')) },
    onReceipt: (r) => { receipts.push({ status: r.info.status, bytesOut: r.info.usage.bytesOut, wallMs: r.info.usage.wallMs, provider: r.provider.toString() }) }
  }).then(() => undefined, (err: unknown) => err)
  assert.is((failure as Error | undefined)?.message, 'enough', 'the lease rejects with the reason it was cancelled for')
  assert.is(receipts.length, 1)
  assert.is(receipts[0]?.status, 'cancelled')
  assert.is(receipts[0]?.provider, ctx.cheap.node.peerId.toString())
  assert.is(receipts[0]?.bytesOut, 'started\n'.length, 'the receipt covers exactly what was produced')
  assert.ok(Date.now() - started < 20_000, 'the job was stopped, not waited for')
  for (let i = 0; i < 100 && ctx.cheap.provider.running > 0; i++) await new Promise(resolve => setTimeout(resolve, 50))
  assert.is(ctx.cheap.provider.running, 0, 'the provider is free again')
}))

s('a provider shutting down cancels the running job and tells its consumer with a receipt', bounded(90_000, async (ctx) => {
  let stdout = ''
  let stopping: Promise<void> | undefined
  const result = await ctx.consumer.lease({ version: 1, image: testImage(), argv: ['sh', '-c', 'echo started; sleep 30'], limits: { wallMs: 60_000, cpus: 1 } }, {
    maxPrice: 1_000_000_000,
    fanout: 4,
    artifactsDir: await tempDir(),
    onOutput: (_s, d) => {
      stdout += Buffer.from(d).toString()
      // Once the job runs, the chosen (cheapest) provider's runner shuts down, as `clawnode start` does on Ctrl-C.
      if (stopping === undefined && stdout.includes('started')) stopping = ctx.cheap.runner.stop()
    }
  })
  await stopping
  assert.ok(result.provider.equals(ctx.cheap.node.peerId))
  assert.is(result.receipt.status, 'cancelled')
  assert.ok(result.receipt.usage.wallMs < 30_000)
}))

s('when the chosen provider fails before any output, the next bidder is awarded', bounded(120_000, async (ctx) => {
  // The cheapest provider's runner is stopped: it still bids, then fails the award at once.
  await ctx.cheap.runner.stop()
  const explain: ExplainEntry[] = []
  let stdout = ''
  const result = await ctx.consumer.lease({ version: 1, image: testImage(), argv: ['echo', 'second choice'], limits: { wallMs: 10_000, cpus: 1 } },
    { maxPrice: 10_000_000, fanout: 4, artifactsDir: await tempDir(), onOutput: (_s, d) => { stdout += Buffer.from(d).toString() }, onExplain: (e) => { explain.push(e) } })
  assert.ok(result.provider.equals(ctx.dear.node.peerId))
  assert.is(stdout, 'second choice\n')
  const cheap = explain.find(e => e.peer === ctx.cheap.node.peerId.toString())
  assert.is(cheap?.fate, 'failed')
  assert.match(cheap?.detail ?? '', /RunnerStoppedError/)
}))

s.run()
