/**
 * Inference leases over loopback with real llama.cpp (the generated tiny GGUF, one thread): two
 * providers offer the model at different per-token prices; the consumer finds them under the model's
 * capability key, the cheaper one streams the generated text, and the receipt both sides verify
 * carries the token meter's usage, charged per token and never above the bid. A model nobody offers
 * gets a clear error.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import OpenAI from 'openai'
import { createNetworkBackend } from '../../node/gateway-backend.ts'
import { startGateway } from '../../node/gateway.ts'
import { createCapsService, createClawNode, createModelHost, createProviderService, loadOrCreatePeerKey, maxInferencePrice, promptTokenBound } from '../../node/index.ts'
import type { CapsService, ClawNode, Consumer, ExplainEntry, LeaseOptions, ModelHost, ProviderService } from '../../node/index.ts'
import { createSandboxRunner } from '../../sandbox/index.ts'
import { scanModels } from '../../sandbox/llama/index.ts'
import { openReceiptAck, RECEIPT_DOMAIN, RECEIPT_PAYLOAD_TYPE, USAGE_DOMAIN, USAGE_PAYLOAD_TYPE } from '../../protocol/index.ts'
import { openEnvelope } from '../../protocol/envelope.ts'
import { Receipt, UsageTick } from '../../protocol/gen/lease.js'
import type { Capabilities } from '../../protocol/index.ts'
import type { SandboxRunner } from '../../sandbox/index.ts'
import { startConsumerNode, untilDiscovered } from './consumer-node.ts'
import { bounded, cli, rejectsWith, ROOT, setup, startNode, stopNode, tempDir } from '../helpers.ts'

interface Provider { node: ClawNode, caps: CapsService, provider: ProviderService, runner: SandboxRunner, models: ModelHost }
interface Ctx { boot: ClawNode, cheap: Provider, dear: Provider, consumerNode: ClawNode, consumerCaps: CapsService, consumer: Consumer }
const s = suite<Ctx>('inference leases', {} as Ctx)
const providerDirs = new Map<string, string>()

const prices = (per1kOutputTokens: number): Capabilities['prices'] => ({ per1kInputTokens: 100, per1kOutputTokens, perCpuSecond: 0, perGbSecond: 0 })

async function provider (bootstrap: string[], modelsDir: string, per1kOutputTokens: number, usageTickTokens?: number): Promise<Provider> {
  const dataDir = await tempDir()
  const node = await createClawNode({ dataDir, network: { bootstrap } })
  await node.start()
  const privateKey = await loadOrCreatePeerKey(dataDir)
  const registry = await scanModels(modelsDir)
  const models = createModelHost(registry.models, { threads: 1, contextSize: 1024 })
  const capabilities: Capabilities = {
    clawnodeVersion: '0.1.0', cpuCores: 2, memoryBytes: 2 ** 30, gpus: [], runtimes: [], images: [],
    models: registry.models.map(m => ({ id: m.id, digest: m.sha256, quantisation: m.quantisation, context: m.contextLength })),
    prices: prices(per1kOutputTokens), maxConcurrentJobs: 2
  }
  const runner = createSandboxRunner({ dataDir })
  const p = createProviderService({ node, privateKey, runner, dataDir, prices: capabilities.prices, maxConcurrentJobs: 2, models, ...(usageTickTokens === undefined ? {} : { usageTickTokens }) })
  providerDirs.set(node.peerId.toString(), dataDir)
  await p.start()
  const caps = createCapsService({ node, privateKey, capabilities })
  await caps.start()
  return { node, caps, provider: p, runner, models }
}

s.before(setup(async (ctx) => {
  const modelsRoot = await tempDir()
  generateModel({ ...PRESETS.tiny!, name: 'tiny', seed: 1, eos: 'never' }, join(modelsRoot, 'tiny.gguf'))
  // scanModels reads <dir>/models: give each provider the same folder.
  const { mkdir, rename } = await import('node:fs/promises')
  await mkdir(join(modelsRoot, 'models'))
  await rename(join(modelsRoot, 'tiny.gguf'), join(modelsRoot, 'models', 'tiny.gguf'))
  ctx.boot = await createClawNode({ dataDir: await tempDir() })
  await ctx.boot.start()
  const boot = ctx.boot.getMultiaddrs().map(String)
  ctx.cheap = await provider(boot, modelsRoot, 1000, 8)
  ctx.dear = await provider(boot, modelsRoot, 5000)
  const c = await startConsumerNode(boot)
  ctx.consumerNode = c.node
  ctx.consumerCaps = c.caps
  ctx.consumer = c.consumer
  await untilDiscovered(c.caps, { kind: 'model', model: 'tiny' }, 2)
}))

s.after(async (ctx) => {
  for (const p of [ctx.cheap, ctx.dear]) {
    await p?.caps.stop(); await p?.provider.stop(); await p?.models.close(); await p?.node.stop()
  }
  await ctx.consumerCaps?.stop()
  await ctx.consumerNode?.stop()
  await ctx.boot?.stop()
})

s('the cheaper provider streams the text; the receipt carries token usage, charged per token', bounded(120_000, async (ctx) => {
  const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Say something.' }]
  let text = ''
  const explain: ExplainEntry[] = []
  const decoder = new TextDecoder()
  const result = await ctx.consumer.leaseInference({ model: 'tiny', messages, maxTokens: 32, params: { seed: 1, temperature: 0.8 } }, {
    maxPrice: 1_000_000, artifactsDir: await tempDir(), onOutput: (_s, d) => { text += decoder.decode(d, { stream: true }) }, onExplain: (e) => { explain.push(e) }
  })
  assert.ok(result.provider.equals(ctx.cheap.node.peerId), explain.map(e => `${e.fate} ${e.detail}`).join('; '))
  assert.is(result.receipt.status, 'succeeded')
  assert.is(result.receipt.usage.outputTokens, 32)
  assert.ok((result.receipt.usage.inputTokens ?? 0) > 0)
  assert.ok(text.length > 0)
  assert.is(result.receipt.usage.bytesOut, Buffer.byteLength(text))
  const bound = promptTokenBound(messages)
  const bid = maxInferencePrice({ cpus: 0, memoryMb: 0, pids: 0, wallMs: 0, outputBytes: 0, artifactBytes: 0, tmpMb: 0, maxTokens: 32, promptTokens: bound }, prices(1000))
  assert.is(result.bid.price, bid)
  const charged = Math.ceil(((result.receipt.usage.inputTokens ?? 0) * 100 + 32 * 1000) / 1000)
  assert.is(result.receipt.price, Math.min(bid, charged))
  assert.is(explain.find(e => e.peer === ctx.dear.node.peerId.toString())?.fate, 'outbid')
}))

s('usage streams as co-signed ticks every N tokens; an aborted lease leaves both sides a count within N', bounded(120_000, async (ctx) => {
  const ticks: Array<{ tick: Uint8Array, ack: Uint8Array, outputTokens: number }> = []
  const result = await ctx.consumer.leaseInference({ model: 'tiny', messages: [{ role: 'user', content: 'Count.' }], maxTokens: 32, params: { seed: 4 } }, {
    maxPrice: 1_000_000, artifactsDir: await tempDir(), onUsage: (u) => { ticks.push(u) }
  })
  assert.ok(result.provider.equals(ctx.cheap.node.peerId))
  assert.equal(ticks.map(t => t.outputTokens), [8, 16, 24, 32])
  const savedAt = join(providerDirs.get(ctx.cheap.node.peerId.toString()) ?? '', 'inference', `${Buffer.from(result.receipt.orderId).toString('hex').slice(0, 32)}.json`)
  // (The provider's record is final once it holds the receipt, which it keeps after the consumer is done.)
  const final = async (f: string): Promise<boolean> => existsSync(f) && 'receipt' in (JSON.parse(await readFile(f, 'utf8')) as object)
  for (let i = 0; i < 100 && !(await final(savedAt)); i++) await new Promise(resolve => setTimeout(resolve, 50))
  const saved = JSON.parse(await readFile(savedAt, 'utf8')) as { tick: string, ack: string }
  assert.is(Buffer.from(saved.tick, 'base64').equals(Buffer.from(ticks.at(-1)!.tick)), true, 'the provider keeps the last co-signed tick')
  await openReceiptAck(Buffer.from(saved.ack, 'base64'), { receiptBytes: Buffer.from(saved.tick, 'base64'), consumer: ctx.consumerNode.peerId })

  // The consumer stops reading after the second tick: each side's last co-signed count is within N (8)
  // tokens of what was delivered.
  const dir = join(providerDirs.get(ctx.cheap.node.peerId.toString()) ?? '', 'inference')
  const before = new Set(await readdir(dir))
  const controller = new AbortController()
  const seen: number[] = []
  let deliveredBytes = 0
  await ctx.consumer.leaseInference({ model: 'tiny', messages: [{ role: 'user', content: 'Go on.' }], maxTokens: 400, params: { seed: 5 } }, {
    maxPrice: 10_000_000, artifactsDir: await tempDir(), signal: controller.signal,
    onOutput: (_s, d) => { deliveredBytes += d.byteLength },
    onUsage: (u) => { seen.push(u.outputTokens); if (seen.length === 2) controller.abort() }
  }).then(() => { assert.unreachable('an aborted lease completed') }, () => {})
  // Ticks already on the way when the cancel went out are still countersigned (the receipt must cover
  // what was produced), so under load the consumer may see one or two more.
  const last = seen.at(-1) ?? 0
  assert.ok(last >= 16 && last % 8 === 0, `the consumer's last co-signed count is ${last}`)
  // The provider's file for that lease holds its last co-signed tick.
  const tokensIn = async (f: string): Promise<number> => {
    const t = JSON.parse(await readFile(join(dir, f), 'utf8')) as { tick: string }
    return Number(UsageTick.decode((await openEnvelope(Buffer.from(t.tick, 'base64'), USAGE_DOMAIN, USAGE_PAYLOAD_TYPE, 1 << 20)).payload).outputTokens)
  }
  let providerCount = 0
  for (let i = 0; i < 100 && providerCount === 0; i++) {
    for (const f of await readdir(dir)) if (!before.has(f) && await final(join(dir, f))) providerCount = await tokensIn(f)
    if (providerCount === 0) await new Promise(resolve => setTimeout(resolve, 100))
  }
  // The provider holds no more than the consumer signed, and at most one tick (N = 8) less.
  assert.ok(providerCount >= 16 && providerCount <= last && providerCount >= last - 8, `the provider holds a co-signed count of ${providerCount}, the consumer ${last}`)
  assert.ok(deliveredBytes > 0)
}))

s('clawnode lease --model streams the text and prints the token usage and cost', bounded(90_000, async (ctx) => {
  const boot = ctx.boot.getMultiaddrs().map(String)[0] ?? ''
  const human = await cli(['lease', '--model', 'tiny', '--max-tokens', '12', '--seed', '2', '--bootstrap', boot, '--standalone', '--data', await tempDir(), 'Say hi'], { timeoutMs: 80_000 })
  assert.is(human.code, 0, human.stderr)
  assert.ok(human.stdout.length > 0)
  assert.match(human.stderr, /✓ succeeded on .*\n  usage: \d+ prompt \+ 12 completion tokens in \d+ ms; charged \d+ millicredits/)
  const json = await cli(['lease', '--model', 'tiny', '--max-tokens', '8', '--bootstrap', boot, '--standalone', '--json', '--data', await tempDir(), 'Say hi'], { timeoutMs: 80_000 })
  assert.is(json.code, 0, json.stderr)
  const summary = JSON.parse(json.stdout) as { status: string, usage: { outputTokens: number }, provider: string }
  assert.is(summary.status, 'succeeded')
  assert.is(summary.usage.outputTokens, 8)
  assert.is(summary.provider, ctx.cheap.node.peerId.toString())
  const bad = await cli(['lease', '--model', 'tiny', '--max-tokens', '0', '--data', await tempDir(), 'x'])
  assert.is(bad.code, 2)
}))

s('clawnode start serves its models; clawnode lease --model goes through a running node', bounded(120_000, async (ctx) => {
  const boot = ctx.boot.getMultiaddrs().map(String)[0] ?? ''
  const data = await tempDir()
  const { mkdir, writeFile } = await import('node:fs/promises')
  await mkdir(join(data, 'models'))
  generateModel({ ...PRESETS.tiny!, name: 'served', seed: 5, eos: 'never' }, join(data, 'models', 'served.gguf'))
  await writeFile(join(data, 'models', 'broken.gguf'), 'junk')
  const provider = await startNode(['--bootstrap', boot], { data })
  const consumer = await startNode(['--bootstrap', boot, '--gateway', '0'])
  try {
    // What the running node advertises (its control API, not a fresh look at the files), and the
    // signed record it serves over the network: the broken file is in neither.
    const offered = JSON.parse((await cli(['caps', '--json', '--data', data])).stdout) as { capabilities: Capabilities, keys: string[], source: string }
    assert.is(offered.source, 'running node')
    assert.equal(offered.capabilities.models.map(m => m.id), ['served'])
    const { peerIdFromString } = await import('@libp2p/peer-id')
    assert.equal((await ctx.consumerCaps.fetch(peerIdFromString(provider.peerId))).models.map(m => m.id), ['served'])
    assert.ok(offered.keys.includes('/clawnode/cap/1/model/served'))
    assert.ok(offered.keys.includes('/clawnode/cap/1/inference'))
    const r = await cli(['lease', '--model', 'served', '--max-tokens', '6', '--json', '--data', consumer.data, 'Hello'], { timeoutMs: 80_000 })
    assert.is(r.code, 0, r.stderr)
    const summary = JSON.parse(r.stdout) as { provider: string, usage: { outputTokens: number } }
    assert.is(summary.provider, provider.peerId)
    assert.is(summary.usage.outputTokens, 6)
    // The running consumer node's own gateway serves the same model to the official client.
    const token = (await readFile(join(consumer.data, 'gateway.token'), 'utf8')).trim()
    const status = JSON.parse((await cli(['status', '--json', '--data', consumer.data])).stdout) as { peerId: string }
    assert.is(status.peerId, consumer.peerId)
    assert.match(consumer.gateway ?? '', /^http:\/\/127\.0\.0\.1:\d+\/v1$/)
    const client = new OpenAI({ baseURL: consumer.gateway, apiKey: token, maxRetries: 0 })
    const chat = await client.chat.completions.create({ model: 'served', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3 })
    assert.is(chat.usage?.completion_tokens, 3)
    assert.is((chat as unknown as { provider: string }).provider, provider.peerId)
  } finally {
    assert.is(await stopNode(consumer), 0)
    assert.is(await stopNode(provider), 0)
  }
}))

s('a client that aborts mid-stream: the provider stops at once; both sides hold the same cancelled receipt, which the gateway charges', bounded(120_000, async (ctx) => {
  const receipts: Array<Parameters<NonNullable<LeaseOptions['onReceipt']>>[0]> = []
  const backend = createNetworkBackend({ consumer: ctx.consumer, caps: ctx.consumerCaps, onReceipt: (r) => { receipts.push(r) } })
  const gatewayDir = await tempDir()
  const gateway = await startGateway({ backend, dataDir: gatewayDir, port: 0 })
  try {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0 })
    const controller = new AbortController()
    const maxTokens = 4000
    const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Tell a long story.' }], max_tokens: maxTokens, seed: 3, stream: true }, { signal: controller.signal })
    let pieces = 0
    await (async () => { for await (const chunk of stream) if ((chunk.choices[0]?.delta.content ?? '') !== '' && ++pieces === 3) controller.abort() })().catch(() => {})
    for (let i = 0; i < 100 && receipts.length === 0; i++) await new Promise(resolve => setTimeout(resolve, 100))
    const r = receipts[0]
    assert.ok(r !== undefined, 'the consumer got a receipt for the aborted lease')
    assert.is(r.info.status, 'cancelled')
    assert.ok(r.provider.equals(ctx.cheap.node.peerId))
    const tokens = r.info.usage.outputTokens ?? 0
    assert.ok(tokens > 0 && tokens < maxTokens / 10, `the provider stopped early (${tokens} of ${maxTokens} tokens)`)
    // The provider keeps the very receipt the consumer countersigned, and the countersignature.
    const saved = JSON.parse(await readFile(join(providerDirs.get(ctx.cheap.node.peerId.toString()) ?? '', 'inference', `${Buffer.from(r.info.orderId).toString('hex').slice(0, 32)}.json`), 'utf8')) as { receipt: string, receiptAck: string }
    assert.ok(Buffer.from(saved.receipt, 'base64').equals(Buffer.from(r.bytes)), 'both sides hold the same receipt')
    assert.ok(Buffer.from(saved.receiptAck, 'base64').equals(Buffer.from(r.ack)))
    for (let i = 0; i < 100 && ctx.cheap.provider.running > 0; i++) await new Promise(resolve => setTimeout(resolve, 50))
    assert.is(ctx.cheap.provider.running, 0, 'the provider is free again')
    await gateway.close()
    const spend = JSON.parse(await readFile(join(gatewayDir, 'gateway-spend.json'), 'utf8')) as { spent: number }
    assert.is(spend.spent, r.info.price, 'the gateway charged what the receipt says')
  } finally {
    await gateway.close()
  }
}))

s('the official openai client through the gateway: chat streamed and not, models, usage as on the receipt, errors', bounded(120_000, async (ctx) => {
  const leased: Array<Uint8Array> = []
  const backend = createNetworkBackend({ consumer: ctx.consumer, caps: ctx.consumerCaps, onReceipt: (r) => { leased.push(r.info.orderId) } })
  const gateway = await startGateway({ backend, dataDir: await tempDir(), port: 0 })
  // The usage on the receipt the provider signed and kept for the request's lease (in its data dir).
  const providerReceipt = async (i: number): Promise<{ prompt: number, completion: number }> => {
    const orderId = leased[i]
    assert.ok(orderId !== undefined, `request ${i} was a lease`)
    const file = join(providerDirs.get(ctx.cheap.node.peerId.toString()) ?? '', 'inference', `${Buffer.from(orderId).toString('hex').slice(0, 32)}.json`)
    const kept = async (): Promise<{ receipt?: string }> => existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) as { receipt?: string } : {}
    for (let n = 0; n < 100 && (await kept()).receipt === undefined; n++) await new Promise(resolve => setTimeout(resolve, 50))
    const { receipt } = await kept()
    assert.ok(receipt !== undefined, 'the provider kept the receipt')
    const opened = await openEnvelope(Buffer.from(receipt, 'base64'), RECEIPT_DOMAIN, RECEIPT_PAYLOAD_TYPE, 1 << 20)
    assert.ok(opened.signer.equals(ctx.cheap.node.peerId), 'the provider signed it')
    const usage = Receipt.decode(opened.payload).usage
    return { prompt: Number(usage?.inputTokens ?? -1), completion: Number(usage?.outputTokens ?? -1) }
  }
  try {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0 })
    const models = await client.models.list()
    assert.equal(models.data.map(m => m.id), ['tiny'])
    const chat = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10, seed: 1 })
    assert.is(chat.usage?.completion_tokens, 10)
    assert.ok((chat.usage?.prompt_tokens ?? 0) > 0)
    assert.ok((chat.choices[0]?.message.content ?? '').length > 0)
    assert.is(chat.choices[0]?.finish_reason, 'length')
    assert.is((chat as unknown as { provider: string }).provider, ctx.cheap.node.peerId.toString())
    assert.equal({ prompt: chat.usage?.prompt_tokens, completion: chat.usage?.completion_tokens }, await providerReceipt(0), 'non-streamed usage is the provider\'s receipt\'s')
    const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10, seed: 1, stream: true, stream_options: { include_usage: true } })
    let text = ''
    let usage: { completion_tokens: number, prompt_tokens: number } | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      if (chunk.usage != null) usage = chunk.usage
    }
    assert.is(text, chat.choices[0]?.message.content, 'the same seed streams the same text')
    assert.is(usage?.completion_tokens, 10)
    assert.equal({ prompt: usage?.prompt_tokens, completion: usage?.completion_tokens }, await providerReceipt(1), 'streamed usage is the provider\'s receipt\'s')
    try {
      await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }], max_tokens: 4 })
      assert.unreachable('an unknown model was served')
    } catch (err) {
      assert.is((err as { status?: number }).status, 404)
      assert.is((err as { code?: string }).code, 'model_not_found')
    }
    try {
      await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }], max_tokens: 100, max_price: 1 } as never)
      assert.unreachable('a lease above every ceiling was served')
    } catch (err) {
      assert.is((err as { status?: number }).status, 402)
    }
  } finally {
    await gateway.close()
  }
}))

s('clawnode lease --serve: the official client uses the endpoint with the key from the data dir; Ctrl-C stops it', bounded(120_000, async (ctx) => {
  const data = await tempDir()
  const boot = ctx.boot.getMultiaddrs().map(String)[0] ?? ''
  const child = spawn(process.execPath, [join(ROOT, 'node', 'cli', 'bin.js'), 'lease', '--serve', '--port', '0', '--json', '--bootstrap', boot, '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  try {
    const serving = await new Promise<{ url: string, tokenFile: string }>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', (line) => { resolve(JSON.parse(line) as { url: string, tokenFile: string }) })
      child.once('exit', (code) => { reject(new Error(`lease --serve exited with ${code}: ${stderr}`)) })
    })
    const token = (await readFile(serving.tokenFile, 'utf8')).trim()
    const client = new OpenAI({ baseURL: serving.url, apiKey: token, maxRetries: 0 })
    const chat = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 })
    assert.is(chat.usage?.completion_tokens, 5)
    const refused = new OpenAI({ baseURL: serving.url, apiKey: 'wrong', maxRetries: 0 })
    await refused.models.list().then(() => { assert.unreachable('a wrong key was accepted') }, (err: { status?: number }) => { assert.is(err.status, 401) })
  } finally {
    const exited = new Promise<number | null>(resolve => child.once('exit', resolve))
    child.kill('SIGINT')
    assert.is(await exited, 0)
  }
}))

s('a model nobody offers gets NoProviderError', bounded(60_000, async (ctx) => {
  await rejectsWith(ctx.consumer.leaseInference({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }], maxTokens: 4 }, { maxPrice: 1_000_000, artifactsDir: await tempDir() }), 'NoProviderError')
}))

s.run()
