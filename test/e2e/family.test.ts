/**
 * Orders by model family over loopback, real nodes and real llama.cpp: two providers serve llama
 * models (generated GGUFs) with different contexts, the cheaper one the smaller. An order for the
 * family with a minimum context above the smaller context goes to the provider whose model qualifies
 * and names that model; without one, the cheaper provider serves its own model; a family nobody
 * serves gets NoProviderError. The gateway takes `family:<name>@<minContext>` and lists families;
 * `clawnode lease --family` works standalone and through a running node.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import OpenAI from 'openai'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { createCapsService, createClawNode, createModelHost, createNetworkBackend, createProviderService, loadOrCreatePeerKey, modelOffer, startGateway } from '../../node/index.ts'
import type { CapsService, ClawNode, Consumer, ExplainEntry, ModelHost, ProviderService } from '../../node/index.ts'
import { createSandboxRunner } from '../../sandbox/index.ts'
import { scanModels } from '../../sandbox/llama/index.ts'
import type { Capabilities } from '../../protocol/index.ts'
import { startConsumerNode, untilDiscovered } from './consumer-node.ts'
import { bounded, cli, rejectsWith, setup, startNode, stopNode, tempDir } from '../helpers.ts'

interface Provider { node: ClawNode, caps: CapsService, provider: ProviderService, models: ModelHost }
interface Ctx { boot: ClawNode, small: Provider, large: Provider, consumerNode: ClawNode, consumerCaps: CapsService, consumer: Consumer }
const s = suite<Ctx>('model families', {} as Ctx)

const prices = (per1kOutputTokens: number): Capabilities['prices'] => ({ per1kInputTokens: 100, per1kOutputTokens, perCpuSecond: 0, perGbSecond: 0 })
const hello = [{ role: 'user' as const, content: 'Say something.' }]

/** A provider of one generated llama model with the given trained context. */
async function provider (bootstrap: string[], id: string, ctx: number, per1kOutputTokens: number): Promise<Provider> {
  const dataDir = await tempDir()
  await mkdir(join(dataDir, 'models'))
  generateModel({ ...PRESETS.tiny!, ctx, name: id, seed: 1, eos: 'never' }, join(dataDir, 'models', `${id}.gguf`))
  const node = await createClawNode({ dataDir, network: { bootstrap } })
  await node.start()
  const privateKey = await loadOrCreatePeerKey(dataDir)
  const registry = await scanModels(dataDir)
  const models = createModelHost(registry.models, { threads: 1, contextSize: 1024 })
  const capabilities: Capabilities = {
    clawnodeVersion: '0.1.0', cpuCores: 2, memoryBytes: 2 ** 30, gpus: [], runtimes: [], images: [],
    models: registry.models.map(modelOffer), prices: prices(per1kOutputTokens), maxConcurrentJobs: 2
  }
  const p = createProviderService({ node, privateKey, runner: createSandboxRunner({ dataDir }), dataDir, prices: capabilities.prices, maxConcurrentJobs: 2, models })
  await p.start()
  const caps = createCapsService({ node, privateKey, capabilities })
  await caps.start()
  return { node, caps, provider: p, models }
}

s.before(setup(async (ctx) => {
  ctx.boot = await createClawNode({ dataDir: await tempDir() })
  await ctx.boot.start()
  const boot = ctx.boot.getMultiaddrs().map(String)
  ctx.small = await provider(boot, 'llama-1k', 1024, 1000)
  ctx.large = await provider(boot, 'llama-4k', 4096, 5000)
  const c = await startConsumerNode(boot)
  ctx.consumerNode = c.node
  ctx.consumerCaps = c.caps
  ctx.consumer = c.consumer
  await untilDiscovered(c.caps, { kind: 'family', family: 'llama' }, 2)
}))

s.after(async (ctx) => {
  for (const p of [ctx.small, ctx.large]) {
    await p?.caps.stop(); await p?.provider.stop(); await p?.models.close(); await p?.node.stop()
  }
  await ctx.consumerCaps?.stop()
  await ctx.consumerNode?.stop()
  await ctx.boot?.stop()
})

s('providers advertise their models\' family under /clawnode/cap/1/family/<family>', (ctx) => {
  assert.ok(ctx.small.caps.keys().includes('/clawnode/cap/1/family/llama'))
  assert.ok(ctx.large.caps.keys().includes('/clawnode/cap/1/family/llama'))
})

s('a family order with a minimum context goes to the provider whose model has it, and names that model', bounded(120_000, async (ctx) => {
  const explain: ExplainEntry[] = []
  let text = ''
  const result = await ctx.consumer.leaseInference({ family: 'llama', minContext: 2048, messages: hello, maxTokens: 8, params: { seed: 1 } }, {
    maxPrice: 1_000_000, onOutput: (_s, d) => { text += Buffer.from(d).toString() }, onExplain: (e) => { explain.push(e) }
  })
  const why = explain.map(e => `${e.fate} ${e.detail}`).join('; ')
  assert.ok(result.provider.equals(ctx.large.node.peerId), why)
  assert.is(result.model, 'llama-4k')
  assert.is(result.receipt.status, 'succeeded')
  assert.is(result.receipt.usage.outputTokens, 8)
  assert.ok(text.length > 0)
  const skipped = explain.find(e => e.peer === ctx.small.node.peerId.toString())
  assert.is(skipped?.fate, 'skipped', why)
  assert.is(skipped?.detail, 'its llama models have less context than 2048 tokens (llama-1k 1024)')
  assert.is(explain.find(e => e.peer === ctx.large.node.peerId.toString())?.fate, 'chosen')
}))

s('without a minimum context the cheaper provider serves the family with its own model', bounded(120_000, async (ctx) => {
  const result = await ctx.consumer.leaseInference({ family: 'llama', messages: hello, maxTokens: 4 }, { maxPrice: 1_000_000 })
  assert.ok(result.provider.equals(ctx.small.node.peerId))
  assert.is(result.model, 'llama-1k')
  const byId = await ctx.consumer.leaseInference({ model: 'llama-4k', messages: hello, maxTokens: 4 }, { maxPrice: 1_000_000 })
  assert.is(byId.model, 'llama-4k', 'a lease by id names its model too')
}))

s('a family nobody serves, or a context nobody has, gets NoProviderError; a malformed request is refused', bounded(60_000, async (ctx) => {
  await rejectsWith(ctx.consumer.leaseInference({ family: 'gemma', messages: hello, maxTokens: 4 }, { maxPrice: 1_000_000 }), 'NoProviderError')
  const explain: ExplainEntry[] = []
  await rejectsWith(ctx.consumer.leaseInference({ family: 'llama', minContext: 100_000, messages: hello, maxTokens: 4 }, { maxPrice: 1_000_000, onExplain: (e) => { explain.push(e) } }), 'NoProviderError')
  assert.equal(explain.map(e => e.fate), ['skipped', 'skipped'])
  await rejectsWith(ctx.consumer.leaseInference({ model: 'llama-1k', family: 'llama', messages: hello, maxTokens: 4 }, { maxPrice: 1_000_000 }), 'InvalidModelFamilyError')
  await rejectsWith(ctx.consumer.leaseInference({ model: 'llama-1k', minContext: 2, messages: hello, maxTokens: 4 }, { maxPrice: 1_000_000 }), 'InvalidModelFamilyError')
  await rejectsWith(ctx.consumer.leaseInference({ family: 'llama', minContext: -1, messages: hello, maxTokens: 4 }, { maxPrice: 1_000_000 }), 'InvalidModelFamilyError')
}))

s('the gateway: family:<name>@<minContext> leases by family and answers with the model that served; /v1/models lists families', bounded(120_000, async (ctx) => {
  const gateway = await startGateway({ backend: createNetworkBackend({ consumer: ctx.consumer, caps: ctx.consumerCaps }), dataDir: await tempDir(), port: 0 })
  try {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0 })
    const models = await client.models.list()
    assert.equal(models.data.map(m => m.id), ['llama-1k', 'llama-4k', 'family:llama'])
    const family = models.data[2] as unknown as { context_length: number, providers: number, pricing: { per_1k_output_tokens: number } }
    assert.is(family.context_length, 4096)
    assert.is(family.providers, 2)
    assert.is(family.pricing.per_1k_output_tokens, 1000)
    assert.is((await client.models.retrieve('family:llama')).id, 'family:llama')

    const { data: chat, response } = await client.chat.completions.create({ model: 'family:llama@2048', messages: hello, max_tokens: 6, seed: 2 }).withResponse()
    assert.is(chat.model, 'llama-4k')
    assert.is((chat as unknown as { provider: string }).provider, ctx.large.node.peerId.toString())
    assert.is(response.headers.get('x-clawnode-provider'), ctx.large.node.peerId.toString())
    assert.is(chat.usage?.completion_tokens, 6)

    const stream = await client.chat.completions.create({ model: 'family:llama', messages: hello, max_tokens: 6, stream: true, stream_options: { include_usage: true } })
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const c of stream) chunks.push(c)
    assert.is(chunks.at(-1)?.model, 'llama-1k', 'the last chunks name the model that served')
    assert.is((chunks.at(-1) as unknown as { provider: string }).provider, ctx.small.node.peerId.toString())
    assert.is(chunks.at(-1)?.usage?.completion_tokens, 6)

    for (const model of ['family:gemma', 'family:llama@100000']) {
      try {
        await client.chat.completions.create({ model, messages: hello, max_tokens: 4 })
        assert.unreachable(`${model} was served`)
      } catch (err) {
        assert.is((err as { status?: number }).status, 404, model)
        assert.is((err as { code?: string }).code, 'model_not_found')
      }
    }
    try {
      await client.chat.completions.create({ model: 'family:llama@4k', messages: hello, max_tokens: 4 })
      assert.unreachable('a malformed family was served')
    } catch (err) {
      assert.is((err as { status?: number }).status, 400)
      assert.is((err as { param?: string }).param, 'model')
    }
  } finally {
    await gateway.close()
  }
}))

s('clawnode lease --family --min-context: standalone, and through a running node', bounded(150_000, async (ctx) => {
  const boot = ctx.boot.getMultiaddrs().map(String)[0] ?? ''
  const standalone = await cli(['lease', '--family', 'llama', '--min-context', '2048', '--max-tokens', '4', '--bootstrap', boot, '--standalone', '--json', '--data', await tempDir(), 'Hi'], { timeoutMs: 80_000 })
  assert.is(standalone.code, 0, standalone.stderr)
  const summary = JSON.parse(standalone.stdout) as { provider: string, model: string, usage: { outputTokens: number } }
  assert.is(summary.provider, ctx.large.node.peerId.toString())
  assert.is(summary.model, 'llama-4k')
  assert.is(summary.usage.outputTokens, 4)
  assert.is((await cli(['lease', '--min-context', '2048', '--data', await tempDir(), 'Hi'])).code, 2, '--min-context without --family')
  assert.is((await cli(['lease', '--model', 'x', '--family', 'llama', '--data', await tempDir(), 'Hi'])).code, 2, '--model and --family')

  const consumer = await startNode(['--bootstrap', boot])
  try {
    const human = await cli(['lease', '--family', 'llama', '--min-context', '2048', '--max-tokens', '4', '--data', consumer.data, 'Hi'], { timeoutMs: 80_000 })
    assert.is(human.code, 0, human.stderr)
    assert.match(human.stderr, new RegExp(`✓ succeeded on ${ctx.large.node.peerId.toString()} with llama-4k \\(`))
  } finally {
    assert.is(await stopNode(consumer), 0)
  }
}))

s.run()
