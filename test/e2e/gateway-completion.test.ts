/**
 * Legacy completions end to end: the official openai client's /v1/completions through the gateway, a
 * consumer node and a provider node on loopback serving the generated tiny GGUF. The provider continues
 * the prompt as raw text (no chat template): the answer and its prompt tokens are those of the same
 * model continuing the same prompt in this process, the order's prompt bound covers them, and a stop
 * string ends the answer before it with finish_reason 'stop'.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import OpenAI from 'openai'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { createCapsService, createClawNode, createModelHost, createNetworkBackend, createProviderService, loadOrCreatePeerKey, promptTokenBound, startGateway } from '../../node/index.ts'
import { createSandboxRunner } from '../../sandbox/index.ts'
import { loadModel, scanModels } from '../../sandbox/llama/index.ts'
import { startConsumerNode, untilDiscovered } from './consumer-node.ts'
import { bounded, setup, tempDir } from '../helpers.ts'
import type { CapsService, ClawNode, Gateway, ModelHost, ProviderService } from '../../node/index.ts'
import type { LoadedModel } from '../../sandbox/llama/index.ts'
import type { Capabilities } from '../../protocol/index.ts'

interface Ctx {
  boot: ClawNode
  provider: { node: ClawNode, caps: CapsService, service: ProviderService, models: ModelHost }
  consumer: { stop: () => Promise<void> }
  gateway: Gateway
  client: OpenAI
  /** The same model file, in a process of this test's own. */
  local: LoadedModel
}
const s = suite<Ctx>('gateway completions', {} as Ctx)

s.before(setup(async (ctx) => {
  const dataDir = await tempDir()
  await mkdir(join(dataDir, 'models'))
  generateModel({ ...PRESETS.tiny!, name: 'tiny', seed: 1, eos: 'never' }, join(dataDir, 'models', 'tiny.gguf'))
  ctx.boot = await createClawNode({ dataDir: await tempDir() })
  await ctx.boot.start()
  const bootstrap = ctx.boot.getMultiaddrs().map(String)
  const node = await createClawNode({ dataDir, network: { bootstrap } })
  await node.start()
  const privateKey = await loadOrCreatePeerKey(dataDir)
  const registry = await scanModels(dataDir)
  const models = createModelHost(registry.models, { threads: 1, contextSize: 1024 })
  const prices = { per1kInputTokens: 100, per1kOutputTokens: 1000, perCpuSecond: 0, perGbSecond: 0 }
  const capabilities: Capabilities = {
    clawnodeVersion: '0.1.0', cpuCores: 2, memoryBytes: 2 ** 30, gpus: [], runtimes: [], images: [],
    models: registry.models.map(m => ({ id: m.id, digest: m.sha256, quantisation: m.quantisation, context: m.contextLength })),
    prices, maxConcurrentJobs: 1
  }
  const service = createProviderService({ node, privateKey, runner: createSandboxRunner({ dataDir }), dataDir, prices, maxConcurrentJobs: 1, models })
  await service.start()
  const caps = createCapsService({ node, privateKey, capabilities })
  await caps.start()
  ctx.provider = { node, caps, service, models }
  const c = await startConsumerNode(bootstrap)
  ctx.consumer = c
  await untilDiscovered(c.caps, { kind: 'model', model: 'tiny' }, 1)
  ctx.gateway = await startGateway({ backend: createNetworkBackend({ consumer: c.consumer, caps: c.caps }), dataDir: c.dir, port: 0 })
  ctx.client = new OpenAI({ baseURL: `${ctx.gateway.url}/v1`, apiKey: ctx.gateway.token, maxRetries: 0, timeout: 60_000 })
  ctx.local = await loadModel(join(dataDir, 'models', 'tiny.gguf'), { threads: 1, contextSize: 1024 })
}))

s.after(async (ctx) => {
  await ctx.gateway?.close()
  await ctx.local?.close()
  await ctx.consumer?.stop()
  const p = ctx.provider
  await p?.caps.stop(); await p?.service.stop(); await p?.models.close(); await p?.node.stop()
  await ctx.boot?.stop()
})

/** The provider finishes its bookkeeping after the consumer has its receipt; its one slot frees soon after. */
async function providerIdle (ctx: Ctx): Promise<void> {
  for (let i = 0; i < 1000 && ctx.provider.service.running > 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
}

s('/v1/completions continues the prompt as raw text: the same answer and prompt tokens as the model continuing it directly', bounded(120_000, async (ctx) => {
  const prompt = 'Once upon a time'
  const done = await ctx.client.completions.create({ model: 'tiny', prompt, max_tokens: 16, temperature: 0 })
  const direct = await ctx.local.chat({ prompt }, { maxTokens: 16, temperature: 0 })
  const chat = await ctx.local.chat([{ role: 'user', content: prompt }], { maxTokens: 16, temperature: 0 })
  assert.is(done.object, 'text_completion')
  assert.is(done.choices[0]?.text, direct.text)
  assert.is.not(direct.text, chat.text, 'a chat-templated prompt would answer otherwise')
  assert.is(done.choices[0]?.finish_reason, 'length')
  assert.equal(done.usage, { prompt_tokens: direct.usage.promptTokens, completion_tokens: 16, total_tokens: direct.usage.promptTokens + 16 })
  assert.ok(direct.usage.promptTokens <= promptTokenBound({ prompt }))
  // Charged for the tokens used: prompt tokens at 100 and output tokens at 1000 per 1K, rounded up.
  assert.is((done as unknown as { price_millicredits: number }).price_millicredits, Math.ceil((direct.usage.promptTokens * 100 + 16 * 1000) / 1000))
}))

s('a stop string ends a streamed completion before it, with finish_reason stop', bounded(120_000, async (ctx) => {
  await providerIdle(ctx)
  const prompt = 'The sea'
  const full = await ctx.local.chat({ prompt }, { maxTokens: 32, temperature: 0.8, seed: 5 })
  const stop = full.text.slice(12, 14)
  const cut = full.text.indexOf(stop)
  assert.ok(cut > 0, `stop ${JSON.stringify(stop)} in ${JSON.stringify(full.text)}`)
  const stream = await ctx.client.completions.create({ model: 'tiny', prompt, max_tokens: 32, temperature: 0.8, seed: 5, stop: [stop], stream: true, stream_options: { include_usage: true } })
  let text = ''
  let finish: string | null | undefined
  let usage: OpenAI.CompletionUsage | undefined
  for await (const c of stream) {
    text += c.choices[0]?.text ?? ''
    finish = c.choices[0]?.finish_reason ?? finish
    if (c.usage != null) usage = c.usage
  }
  assert.is(text, full.text.slice(0, cut))
  assert.is(finish, 'stop')
  assert.ok(usage !== undefined && usage.completion_tokens < 32, `${usage?.completion_tokens} completion tokens`)
}))

s.run()
