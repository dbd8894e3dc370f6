/**
 * Inference through the gateway against node-llama-cpp called directly, same model, same parameters,
 * same run, taking turns round by round: tokens/s of decoding and time to first token. The model is
 * the generated bench GGUF (scripts/gen-gguf.ts --size bench, ~59 MB), large enough that decoding, not
 * overhead, dominates.
 * - Direct (the baseline): node-llama-cpp in this process, as its own docs use it: getLlama (never
 *   built at run time, CPU), the same file, context size, threads, chat template (a LlamaChatSession
 *   with no system prompt, as the model process makes one), sampling parameters, seed and maxTokens.
 * - Model process: the runner the provider uses (sandbox/llama: the model in a child process, text
 *   batched over IPC), called from this process: what the process boundary alone costs.
 * - Gateway: a provider node serving the same file, a consumer node with the OpenAI-compatible
 *   gateway, and the official `openai` client streaming from it over loopback (unpaid: no chain).
 * The ratio and the added time to first token are the gateway's against the direct baseline; the
 * model process's figures are reported beside them.
 * JSON to bench-results/inference.json and a table on stdout.
 * Usage: node scripts/bench-inference.ts [--rounds N] [--tokens N]
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getLlama, LlamaChatSession, LlamaLogLevel } from 'node-llama-cpp'
import OpenAI from 'openai'
import { generateModel, PRESETS } from './gen-gguf.ts'
import { createCapsService, createClawNode, createConsumer, createModelHost, createNetworkBackend, createProviderService, loadOrCreatePeerKey, startGateway } from '../node/index.ts'
import { createSandboxRunner, loadModel, scanModels } from '../sandbox/index.ts'

const root = join(import.meta.dirname, '..')
const flag = (name: string, fallback: number): number => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : fallback }
const ROUNDS = flag('--rounds', 11)
const TOKENS = flag('--tokens', 128)
const THREADS = 1
const CONTEXT_SIZE = 1024
const SEED = 1
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 === 1 ? s[m] ?? 0 : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2 }
const tmp = async (): Promise<string> => await mkdtemp(join(tmpdir(), 'clawnode-bench-inference-'))
const messages = [{ role: 'user' as const, content: 'Tell me a long story about the sea.' }]

const providerDir = await tmp()
await mkdir(join(providerDir, 'models'))
const modelPath = join(providerDir, 'models', 'bench.gguf')
const made = generateModel({ ...PRESETS.bench!, name: 'bench', seed: 1, eos: 'never' }, modelPath)
process.stderr.write(`▸ model: ${(made.bytes / 1e6).toFixed(1)} MB, ${(made.params / 1e6).toFixed(1)}M parameters; ${TOKENS} tokens, ${ROUNDS} rounds, ${THREADS} thread\n`)

// Direct: node-llama-cpp in this process, set up as sandbox/llama/worker.ts sets up its model.
const llama = await getLlama({ build: 'never', gpu: false, maxThreads: THREADS, logLevel: LlamaLogLevel.error })
const llamaModel = await llama.loadModel({ modelPath, gpuLayers: 0 })
const llamaContext = await llamaModel.createContext({ contextSize: Math.min(CONTEXT_SIZE, llamaModel.trainContextSize), threads: THREADS })
const sequence = llamaContext.getSequence()
// The model process: sandbox/llama's runner, as the provider uses it.
const modelProcess = await loadModel(modelPath, { threads: THREADS, contextSize: CONTEXT_SIZE })

// Gateway: a bootstrap node, a provider serving the same file, a consumer with the gateway.
const boot = await createClawNode({ dataDir: await tmp() })
await boot.start()
const bootstrap = boot.getMultiaddrs().map(String)
const providerNode = await createClawNode({ dataDir: providerDir, network: { bootstrap } })
await providerNode.start()
const providerKey = await loadOrCreatePeerKey(providerDir)
const registry = await scanModels(providerDir)
const models = createModelHost(registry.models, { threads: THREADS, contextSize: CONTEXT_SIZE })
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

/**
 * Decoding runs from the first token's text to the last token's; `tailMs` is what follows the last
 * token before the answer is complete (for the gateway: the receipt, its countersignature and the
 * usage chunk), reported apart.
 */
interface Sample { ttftMs: number, tokensPerS: number, tailMs: number }
type Way = 'direct' | 'modelProcess' | 'gateway'
const WAYS: Way[] = ['direct', 'modelProcess', 'gateway']
const series: Record<Way, Sample[]> = { direct: [], modelProcess: [], gateway: [] }
const content = messages[0]?.content ?? ''
const viaDirect = async (): Promise<Sample> => {
  const t0 = performance.now()
  let first = 0
  let last = 0
  // As the model process answers each request: an empty sequence, a fresh session, no system prompt.
  await sequence.clearHistory()
  const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt: '', autoDisposeSequence: false })
  session.setChatHistory([])
  const before = sequence.tokenMeter.getState()
  const r = await session.promptWithMeta(content, { maxTokens: TOKENS, seed: SEED, onTextChunk: () => { last = performance.now(); if (first === 0) first = last } })
  const end = performance.now()
  const completion = sequence.tokenMeter.diff(before).usedOutputTokens
  session.dispose({ disposeSequence: false })
  if (r.stopReason !== 'maxTokens' || completion !== TOKENS) throw new Error(`direct generation stopped early (${r.stopReason}, ${completion} tokens)`)
  return { ttftMs: first - t0, tokensPerS: (completion - 1) / ((last - first) / 1000), tailMs: end - last }
}
const viaModelProcess = async (): Promise<Sample> => {
  const t0 = performance.now()
  let first = 0
  let last = 0
  const r = await modelProcess.chat(messages, { maxTokens: TOKENS, seed: SEED }, { onText: () => { last = performance.now(); if (first === 0) first = last } })
  const end = performance.now()
  return { ttftMs: first - t0, tokensPerS: (r.usage.completionTokens - 1) / ((last - first) / 1000), tailMs: end - last }
}
const viaGateway = async (): Promise<Sample> => {
  // The provider finishes its bookkeeping (the receipt's record) after the consumer has its receipt:
  // two gateway rounds in a row would otherwise find its one slot busy.
  for (let i = 0; i < 1000 && provider.running > 0; i++) await new Promise(resolve => setTimeout(resolve, 5))
  const t0 = performance.now()
  let first = 0
  let last = 0
  let completion = 0
  const stream = await client.chat.completions.create({ model: 'bench', messages, max_tokens: TOKENS, seed: SEED, stream: true, stream_options: { include_usage: true } })
  for await (const chunk of stream) {
    if ((chunk.choices[0]?.delta.content ?? '') !== '') { last = performance.now(); if (first === 0) first = last }
    if (chunk.usage != null) completion = chunk.usage.completion_tokens
  }
  const end = performance.now()
  if (completion !== TOKENS) throw new Error(`the gateway's answer stopped early (${completion} tokens)`)
  return { ttftMs: first - t0, tokensPerS: (completion - 1) / ((last - first) / 1000), tailMs: end - last }
}
const run: Record<Way, () => Promise<Sample>> = { direct: viaDirect, modelProcess: viaModelProcess, gateway: viaGateway }
// A warm-up of each (the provider loads its model on first use; discovery gets cached).
for (const way of WAYS) await run[way]()
for (let i = 0; i < ROUNDS; i++) {
  // Each way goes first, second and third in turn: drift in the machine's speed falls on all alike.
  const order = WAYS.map((_, k) => WAYS[(i + k) % WAYS.length] as Way)
  for (const way of order) series[way].push(await run[way]())
  process.stderr.write(`\rround ${i + 1}/${ROUNDS}`)
}
process.stderr.write('\n')

const summary = (way: Way): { tokensPerS: number, ttftMs: number, tailMs: number } => ({
  tokensPerS: Number(median(series[way].map(s => s.tokensPerS)).toFixed(2)),
  ttftMs: Number(median(series[way].map(s => s.ttftMs)).toFixed(2)),
  tailMs: Number(median(series[way].map(s => s.tailMs)).toFixed(2))
})
const d = summary('direct')
const m = summary('modelProcess')
const g = summary('gateway')
const report = {
  date: new Date().toISOString(), model: { bytes: made.bytes, parameters: made.params }, tokens: TOKENS, rounds: ROUNDS, threads: THREADS, contextSize: CONTEXT_SIZE, seed: SEED,
  // direct: node-llama-cpp in this process (the baseline); modelProcess: sandbox/llama's child-process runner.
  direct: d, modelProcess: m, gateway: g,
  ratio: { tokensPerS: Number((g.tokensPerS / d.tokensPerS).toFixed(3)), goal: 0.95 },
  ttftAddedMs: { value: Number((g.ttftMs - d.ttftMs).toFixed(1)), goal: 30 },
  modelProcessVsDirect: { tokensPerS: Number((m.tokensPerS / d.tokensPerS).toFixed(3)), ttftAddedMs: Number((m.ttftMs - d.ttftMs).toFixed(1)) },
  gatewayVsModelProcess: { tokensPerS: Number((g.tokensPerS / m.tokensPerS).toFixed(3)), ttftAddedMs: Number((g.ttftMs - m.ttftMs).toFixed(1)) },
  series
}
await mkdir(join(root, 'bench-results'), { recursive: true })
await writeFile(join(root, 'bench-results', 'inference.json'), JSON.stringify(report, null, 2) + '\n')
const fmt = (n: number): string => n.toFixed(1)
const signed = (n: number): string => `${n >= 0 ? '+' : ''}${n}`
process.stdout.write([
  '',
  `| ${(made.bytes / 1e6).toFixed(0)} MB generated model, ${TOKENS} tokens, ${THREADS} thread (median of ${ROUNDS}) | decode tokens/s | time to first token | last token to complete |`,
  '|---|---|---|---|',
  `| node-llama-cpp called directly (in process) | ${fmt(d.tokensPerS)} | ${fmt(d.ttftMs)} ms | ${fmt(d.tailMs)} ms |`,
  `| the provider's model process (sandbox/llama) | ${fmt(m.tokensPerS)} | ${fmt(m.ttftMs)} ms | ${fmt(m.tailMs)} ms |`,
  `| through the gateway (openai client, provider on loopback) | ${fmt(g.tokensPerS)} | ${fmt(g.ttftMs)} ms | ${fmt(g.tailMs)} ms |`,
  `| gateway vs direct | ${report.ratio.tokensPerS} (goal ≥ 0.95: ${report.ratio.tokensPerS >= 0.95 ? 'met' : 'NOT met'}) | ${signed(report.ttftAddedMs.value)} ms (goal ≤ 30 ms: ${report.ttftAddedMs.value <= 30 ? 'met' : 'NOT met'}) | |`,
  `| model process vs direct | ${report.modelProcessVsDirect.tokensPerS} | ${signed(report.modelProcessVsDirect.ttftAddedMs)} ms | |`,
  '',
  'JSON: bench-results/inference.json',
  ''
].join('\n'))

await gateway.close()
await modelProcess.close()
await llamaContext.dispose(); await llamaModel.dispose(); await llama.dispose()
await consumerCaps.stop(); await consumerNode.stop()
await providerCaps.stop(); await provider.stop(); await models.close(); await providerNode.stop()
await boot.stop()
process.exit(0)
