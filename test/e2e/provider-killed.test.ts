/**
 * A provider killed mid-stream: `kill -9` of a real `clawnode start` process while it streams an
 * inference lease. Both sides still hold a co-signed usage count within N tokens of what was delivered:
 * the consumer its last countersigned tick, the provider the tick it wrote to <data>/inference/<order>.json
 * as the countersignature came (and, on a paid lease, the co-signed draw in its settlement book).
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { createClawNode } from '../../node/index.ts'
import type { ClawNode } from '../../node/index.ts'
import { readSettlementBook, settlementBookPath } from '../../node/settlement-shared.ts'
import { openReceiptAck, USAGE_DOMAIN, USAGE_PAYLOAD_TYPE } from '../../protocol/index.ts'
import { openEnvelope } from '../../protocol/envelope.ts'
import { UsageTick } from '../../protocol/gen/lease.js'
import { startConsumerNode, untilDiscovered } from './consumer-node.ts'
import type { ConsumerNode } from './consumer-node.ts'
import { bounded, modelWorkerPids, setup, startNode, stopNode, tempDir } from '../helpers.ts'
import type { StartedNode } from '../helpers.ts'

interface Ctx { boot: ClawNode }
const s = suite<Ctx>('provider killed mid-stream', {} as Ctx)

/** Tokens between two usage ticks (the provider's provider.usageTickTokens). */
const N = 8
/** Far more than is generated before the kill: the lease is mid-stream when the provider dies. */
const MAX_TOKENS = 1000
/** How long the paused stream's state must stay the same (between two polls) before the kill. */
const SETTLED_MS = 1_500
/** How often that state is polled. */
const POLL_MS = 100
/** The most the paused stream may take to settle (a loaded 2-vCPU machine included). */
const SETTLE_DEADLINE_MS = 30_000

s.before(setup(async (ctx) => {
  ctx.boot = await createClawNode({ dataDir: await tempDir() })
  await ctx.boot.start()
}))

s.after(async (ctx) => { await ctx.boot?.stop() })

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** The model worker a provider process forked (sandbox/llama/runner.ts). */
async function modelWorker (parent: number): Promise<number> {
  const found = await modelWorkerPids({ parent })
  assert.is(found.length, 1, `the provider runs one model worker (${found.join(', ')})`)
  return found[0] as number
}

interface Held { outputTokens: number, bytesDelivered: number, deliveredDigest: Uint8Array, draw?: { depositId: bigint, cumulative: bigint } }

/** A co-signed tick as kept: the provider's signature and the consumer's countersignature both hold. */
async function openCosigned (tick: Uint8Array, ack: Uint8Array, provider: string, consumer: ConsumerNode): Promise<Held> {
  const opened = await openEnvelope(tick, USAGE_DOMAIN, USAGE_PAYLOAD_TYPE, 1 << 20)
  assert.is(opened.signer.toString(), provider, 'the provider signed the tick')
  await openReceiptAck(ack, { receiptBytes: tick, consumer: consumer.node.peerId })
  const t = UsageTick.decode(opened.payload)
  return { outputTokens: Number(t.outputTokens), bytesDelivered: Number(t.bytesDelivered), deliveredDigest: t.deliveredDigest, ...(t.draw === undefined ? {} : { draw: { depositId: t.draw.depositId, cumulative: t.draw.cumulative } }) }
}

/**
 * Leases from a fresh provider process and kills it (SIGKILL) right after the consumer has
 * countersigned its second tick. To make that a well-defined moment, the provider's model worker is
 * paused (SIGSTOP) there: whatever the provider already sent still arrives and is countersigned, and
 * the kill comes once the provider's file holds the consumer's last countersignature and neither it nor
 * the bytes delivered have changed for SETTLED_MS (so the test checks what is kept, not a race with a
 * tick or an ack in flight).
 */
async function killMidStream (ctx: Ctx, paid: boolean): Promise<void> {
  const boot = ctx.boot.getMultiaddrs().map(String)
  const model = paid ? 'killed-paid' : 'killed-unpaid'
  const data = await tempDir()
  await mkdir(join(data, 'models'))
  generateModel({ ...PRESETS.tiny!, name: model, seed: 1, eos: 'never' }, join(data, 'models', `${model}.gguf`))
  // Unpaid: settlement off; paid: the run's local chain, as a node settles by default.
  const config = { provider: { usageTickTokens: N }, ...(paid ? {} : { chain: { mode: 'off' } }) }
  let provider: StartedNode | undefined
  let worker: number | undefined
  const consumer = await startConsumerNode(boot, { paying: paid })
  try {
    provider = await startNode(['--bootstrap', boot[0] ?? ''], { data, config })
    await untilDiscovered(consumer.caps, { kind: 'model', model }, 1)
    // A first lease loads the model (and on a paid lease opens the deposit).
    const warm = await consumer.consumer.leaseInference({ model, messages: [{ role: 'user', content: 'Hi' }], maxTokens: 4 }, { maxPrice: 10_000_000, discoveryWindowMs: 20_000 })
    assert.is(warm.provider.toString(), provider.peerId)
    assert.is(warm.receipt.draw !== undefined, paid)
    worker = await modelWorker(provider.child.pid ?? 0)
    const workerPid = worker

    const pieces: Buffer[] = []
    const ticks: Array<{ tick: Uint8Array, ack: Uint8Array, outputTokens: number, bytesDelivered: number }> = []
    let deliveredBytes = 0
    const leasing = consumer.consumer.leaseInference({ model, messages: [{ role: 'user', content: 'Go on and on.' }], maxTokens: MAX_TOKENS, params: { seed: 7 } }, {
      maxPrice: 100_000_000,
      onOutput: (_s, d) => { pieces.push(Buffer.from(d)); deliveredBytes += d.byteLength },
      onUsage: (u) => {
        ticks.push(u)
        if (ticks.length === 2) process.kill(workerPid, 'SIGSTOP')
      }
    }).then(() => undefined, (err: unknown) => err)

    for (let i = 0; i < 400 && ticks.length < 2; i++) await sleep(50)
    assert.ok(ticks.length >= 2, `the consumer countersigned ${ticks.length} tick(s)`)
    // The lease's file on the provider, named after the order.
    const first = UsageTick.decode((await openEnvelope((ticks[0] as typeof ticks[number]).tick, USAGE_DOMAIN, USAGE_PAYLOAD_TYPE, 1 << 20)).payload)
    const file = join(data, 'inference', `${Buffer.from(first.orderId).toString('hex').slice(0, 32)}.json`)
    const kept = async (): Promise<{ tick: string, ack: string, receipt?: string } | undefined> =>
      existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) as { tick: string, ack: string, receipt?: string } : undefined
    // Settled: the provider's file holds the consumer's last countersigned tick, and that state (the tick
    // and the bytes delivered) is the same on two polls taken at least SETTLED_MS apart, with no poll
    // in between seeing a change; a tick still in flight on a loaded machine restarts the wait.
    const state = async (): Promise<string | undefined> => {
      const record = await kept()
      const last = ticks.at(-1)
      if (record === undefined || last === undefined || !Buffer.from(record.tick, 'base64').equals(Buffer.from(last.tick))) return undefined
      return `${ticks.length}/${deliveredBytes}/${record.tick}`
    }
    const settleBy = Date.now() + SETTLE_DEADLINE_MS
    let since: { state: string, at: number } | undefined
    let settled = false
    while (!settled && Date.now() < settleBy) {
      await sleep(POLL_MS)
      const now = await state()
      if (now === undefined || now !== since?.state) since = now === undefined ? undefined : { state: now, at: Date.now() }
      else settled = Date.now() - since.at >= SETTLED_MS
    }
    assert.ok(settled, `the paused stream settled within ${SETTLE_DEADLINE_MS} ms (${ticks.length} tick(s), ${deliveredBytes} bytes, provider's file ${since === undefined ? 'behind' : 'in step'})`)

    assert.is(await stopNode(provider, 'SIGKILL'), null, 'the provider was killed')
    process.kill(workerPid, 'SIGKILL')
    worker = undefined
    const failed = await leasing
    assert.ok(failed instanceof Error, 'the lease died with its provider (it never got a receipt)')

    const delivered = Buffer.concat(pieces)
    // The generated model's vocabulary gives one byte per token (printable ASCII and the space, no merges).
    for (const t of ticks) assert.is(t.outputTokens, t.bytesDelivered, 'a token is a byte of this model')
    const deliveredTokens = delivered.byteLength
    assert.ok(deliveredTokens < MAX_TOKENS, `the provider was killed mid-stream (${deliveredTokens} of ${MAX_TOKENS} tokens delivered)`)

    // The consumer's side: its last countersigned tick.
    const last = ticks.at(-1) as typeof ticks[number]
    const consumerHeld = await openCosigned(last.tick, last.ack, provider.peerId, consumer)
    assert.ok(consumerHeld.outputTokens >= 2 * N && deliveredTokens - consumerHeld.outputTokens <= N, `the consumer holds a co-signed count of ${consumerHeld.outputTokens} for ${deliveredTokens} delivered`)

    // The provider's side: what it had on disk when it was killed.
    const record = await kept()
    assert.ok(record !== undefined, 'the killed provider kept the lease\'s last co-signed tick on disk')
    assert.is(record.receipt, undefined, 'no receipt: the lease never ended')
    const providerHeld = await openCosigned(Buffer.from(record.tick, 'base64'), Buffer.from(record.ack, 'base64'), provider.peerId, consumer)
    assert.ok(providerHeld.outputTokens >= 2 * N && providerHeld.outputTokens <= consumerHeld.outputTokens && deliveredTokens - providerHeld.outputTokens <= N,
      `the provider holds a co-signed count of ${providerHeld.outputTokens} for ${deliveredTokens} delivered (the consumer ${consumerHeld.outputTokens})`)
    // It covers exactly the first bytes the consumer received.
    assert.ok(Buffer.from(providerHeld.deliveredDigest).equals(createHash('sha256').update(delivered.subarray(0, providerHeld.bytesDelivered)).digest()), 'the provider\'s tick covers what was delivered')

    if (paid) {
      // A paid lease: the tick's draw, countersigned, is in the provider's settlement book (what it claims).
      assert.ok(providerHeld.draw !== undefined, 'a paid lease\'s tick draws on the deposit')
      const book = await readSettlementBook(settlementBookPath(data, 'provider'))
      const entry = book?.deposits[providerHeld.draw.depositId.toString()] as { cosigned?: { cumulative: string } } | undefined
      assert.is(entry?.cosigned?.cumulative, providerHeld.draw.cumulative.toString(), 'the provider\'s book holds the tick\'s co-signed draw')
    } else {
      assert.is(providerHeld.draw, undefined)
    }
  } finally {
    if (worker !== undefined) process.kill(worker, 'SIGKILL')
    if (provider !== undefined) await stopNode(provider, 'SIGKILL')
    await consumer.stop()
  }
}

s('an unpaid lease: both sides keep a co-signed count within N tokens of what was delivered', bounded(120_000, async (ctx) => {
  await killMidStream(ctx, false)
}))

s('a paid lease: the same, and the provider\'s book holds the co-signed draw', bounded(150_000, async (ctx) => {
  await killMidStream(ctx, true)
}))

s.run()
