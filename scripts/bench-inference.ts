/**
 * Inference through the gateway against node-llama-cpp directly, same model, same parameters, same
 * run, alternating round by round: tokens/s of decoding and time to first token. The model is the
 * generated bench GGUF (scripts/gen-gguf.ts --size bench, ~59 MB), large enough that decoding, not
 * overhead, dominates. Direct: a model process (sandbox/llama) used in this process, with the runner's
 * default text batching (the same window as the provider's TEXT_BATCH_MS). Gateway: a
 * provider node serving the same file, a consumer node with the OpenAI-compatible gateway, and the
 * official `openai` client streaming from it over loopback (settlement is not involved yet).
 * JSON to bench-results/inference.json and a table on stdout.
 * Usage: node scripts/bench-inference.ts [--rounds N] [--tokens N]
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { generateModel, PRESETS } from './gen-gguf.ts'
import { createCapsService, createClawNode, createConsumer, createModelHost, createNetworkBackend, createProviderService, loadOrCreatePeerKey, startGateway } from '../node/index.ts'
import { createSandboxRunner, loadModel, scanModels } from '../sandbox/index.ts'

const root = join(import.meta.dirname, '..')
const flag = (name: string, fallback: number): number => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : fallback }
const ROUNDS = flag('--rounds', 11)
const TOKENS = flag('--tokens', 128)
const THREADS = 1
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 === 1 ? s[m] ?? 0 : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2 }
const tmp = async (): Promise<string> => await mkdtemp(join(tmpdir(), 'clawnode-bench-inference-'))
const messages = [{ role: 'user' as const, content: 'Tell me a long story about the sea.' }]

const providerDir = await tmp()
await mkdir(join(providerDir, 'models'))
const modelPath = join(providerDir, 'models', 'bench.gguf')
const made = generateModel({ ...PRESETS.bench!, name: 'bench', seed: 1, eos: 'never' }, modelPath)
process.stderr.write(`▸ model: ${(made.bytes / 1e6).toFixed(1)} MB, ${(made.params / 1e6).toFixed(1)}M parameters; ${TOKENS} tokens, ${ROUNDS} rounds, ${THREADS} thread\n`)

// Direct.
const direct = await loadModel(modelPath, { threads: THREADS, contextSize: 1024 })

// Gateway: a bootstrap node, a provider serving the same file, a consumer with the gateway.
const boot = await createClawNode({ dataDir: await tmp() })
await boot.start()
const bootstrap = boot.getMultiaddrs().map(String)
const providerNode = await createClawNode({ dataDir: providerDir, network: { bootstrap } })
await providerNode.start()
const providerKey = await loadOrCreatePeerKey(providerDir)
const registry = await scanModels(providerDir)
const models = createModelHost(registry.models, { threads: THREADS, contextSize: 1024 })
const prices = { per1kInputTokens: 1, per1kOutputTokens: 1, perCpuSecond: 0, perGbSecond: 0 }
const provider = createProviderService({ node: providerNode, privateKey: providerKey, runner: createSandboxRunner({ dataDir: providerDir }), dataDir: providerDir, prices, maxConcurrentJobs: 1, models })
await provider.start()
const providerCaps = createCapsService({ node: providerNode, privateKey: providerKey, capabilities: { clawnodeVersion: '0', cpuCores: 2, memoryBytes: 0, gpus: [], runtimes: [], images: [], models: registry.models.map(m => ({ id: m.id, digest: m.sha256, quantisation: m.quantisation, context: m.contextLength })), prices, maxConcurrentJobs: 1 } })
await providerCaps.start()
const consumerDir = await tmp()
const consumerNode = await createClawNode({ dataDir: consumerDir, network: { bootstrap } })
await consumerNode.start()
const consumerKey = await loadOrCreatePeerKey(consumerDir)
const consumerCaps = createCapsService({ node: consumerNode, privateKey: consumerKey, capabilities: { clawnodeVersion: '0', cpuCores: 0, memoryBytes: 0, gpus: [], runtimes: [], images: [], models: [], prices, maxConcurrentJobs: 0 } })
await consumerCaps.start()
for (let i = 0; i < 60; i++) {
  if ((await consumerCaps.discover({ kind: 'model', model: 'bench' }, { signal: AbortSignal.timeout(5000) })).length > 0) break
  await new Promise(resolve => setTimeout(resolve, 250))
}
const gateway = await startGateway({ backend: createNetworkBackend({ consumer: createConsumer({ node: consumerNode, privateKey: consumerKey, caps: consumerCaps }), caps: consumerCaps }), dataDir: consumerDir, port: 0 })
const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0 })

interface Sample { ttftMs: number, tokensPerS: number }
const series: Record<'direct' | 'gateway', Sample[]> = { direct: [], gateway: [] }
const viaDirect = async (): Promise<Sample> => {
  const t0 = performance.now()
  let first = 0
  const r = await direct.chat(messages, { maxTokens: TOKENS, seed: 1 }, { onText: () => { if (first === 0) first = performance.now() } })
  const end = performance.now()
  return { ttftMs: first - t0, tokensPerS: (r.usage.completionTokens - 1) / ((end - first) / 1000) }
}
const viaGateway = async (): Promise<Sample> => {
  // The provider finishes its bookkeeping (the receipt's record) after the consumer has its receipt:
  // two gateway rounds in a row would otherwise find its one slot busy.
  for (let i = 0; i < 1000 && provider.running > 0; i++) await new Promise(resolve => setTimeout(resolve, 5))
  const t0 = performance.now()
  let first = 0
  let completion = 0
  const stream = await client.chat.completions.create({ model: 'bench', messages, max_tokens: TOKENS, seed: 1, stream: true, stream_options: { include_usage: true } })
  for await (const chunk of stream) {
    if (first === 0 && (chunk.choices[0]?.delta.content ?? '') !== '') first = performance.now()
    if (chunk.usage != null) completion = chunk.usage.completion_tokens
  }
  const end = performance.now()
  return { ttftMs: first - t0, tokensPerS: (completion - 1) / ((end - first) / 1000) }
}
// A warm-up of each (the provider loads its model on first use; discovery gets cached).
await viaDirect()
await viaGateway()
for (let i = 0; i < ROUNDS; i++) {
  const order = i % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const)
  for (const name of order) series[name].push(name === 'direct' ? await viaDirect() : await viaGateway())
  process.stderr.write(`\rround ${i + 1}/${ROUNDS}`)
}
process.stderr.write('\n')

const d = { tokensPerS: median(series.direct.map(s => s.tokensPerS)), ttftMs: median(series.direct.map(s => s.ttftMs)) }
const g = { tokensPerS: median(series.gateway.map(s => s.tokensPerS)), ttftMs: median(series.gateway.map(s => s.ttftMs)) }
const report = {
  date: new Date().toISOString(), model: { bytes: made.bytes, parameters: made.params }, tokens: TOKENS, rounds: ROUNDS, threads: THREADS,
  direct: d, gateway: g,
  ratio: { tokensPerS: Number((g.tokensPerS / d.tokensPerS).toFixed(3)), goal: 0.95 },
  ttftAddedMs: { value: Number((g.ttftMs - d.ttftMs).toFixed(1)), goal: 30 },
  series
}
await mkdir(join(root, 'bench-results'), { recursive: true })
await writeFile(join(root, 'bench-results', 'inference.json'), JSON.stringify(report, null, 2) + '\n')
const fmt = (n: number): string => n.toFixed(1)
process.stdout.write([
  '',
  `| ${(made.bytes / 1e6).toFixed(0)} MB generated model, ${TOKENS} tokens, ${THREADS} thread (median of ${ROUNDS}) | decode tokens/s | time to first token |`,
  '|---|---|---|',
  `| node-llama-cpp directly (model process) | ${fmt(d.tokensPerS)} | ${fmt(d.ttftMs)} ms |`,
  `| through the gateway (openai client, provider on loopback) | ${fmt(g.tokensPerS)} | ${fmt(g.ttftMs)} ms |`,
  `| gateway vs direct | ${report.ratio.tokensPerS} (goal ≥ 0.95: ${report.ratio.tokensPerS >= 0.95 ? 'met' : 'NOT met'}) | +${report.ttftAddedMs.value} ms (goal ≤ 30 ms: ${report.ttftAddedMs.value <= 30 ? 'met' : 'NOT met'}) |`,
  '',
  'JSON: bench-results/inference.json',
  ''
].join('\n'))

await gateway.close()
await direct.close()
await consumerCaps.stop(); await consumerNode.stop()
await providerCaps.stop(); await provider.stop(); await models.close(); await providerNode.stop()
await boot.stop()
process.exit(0)
