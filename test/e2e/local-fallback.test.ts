/**
 * The gateway's local fallback with real parts: a consumer on a loopback network where nobody provides
 * inference, and a real llama.cpp model (the generated tiny GGUF) in this node's own ModelHost. With
 * the fallback the official openai client gets its completion, streamed and not, named as served by
 * `local`, for nothing; without it the same request gets the network's error. `clawnode start
 * --gateway --local-fallback` reuses the node's own models; a fallback model that aborts llama.cpp is
 * refused by its probe before `lease --serve` starts its gateway.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import OpenAI from 'openai'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { createCapsService, createClawNode, createConsumer, createModelHost, createNetworkBackend, gatewayBackend, loadOrCreatePeerKey, startGateway } from '../../node/index.ts'
import { scanModels } from '../../sandbox/llama/index.ts'
import { bounded, cli, startNode, stopNode, tempDir } from '../helpers.ts'
import { writeLoadAbortModel } from '../llama/bad-gguf.ts'

const hello = [{ role: 'user' as const, content: 'Hello' }]

async function withModel (id: string): Promise<string> {
  const data = await tempDir()
  await mkdir(join(data, 'models'))
  generateModel({ ...PRESETS.tiny!, name: id, seed: 1, eos: 'never' }, join(data, 'models', `${id}.gguf`))
  return data
}

test('no provider on the network: the local model answers through the gateway, named local; without it, the network\'s error', bounded(120_000, async () => {
  const boot = await createClawNode({ dataDir: await tempDir() })
  await boot.start()
  const dir = await withModel('tiny')
  const node = await createClawNode({ dataDir: dir, network: { bootstrap: boot.getMultiaddrs().map(String) } })
  await node.start()
  const privateKey = await loadOrCreatePeerKey(dir)
  const caps = createCapsService({ node, privateKey, capabilities: { clawnodeVersion: '0.1.0', cpuCores: 0, memoryBytes: 0, gpus: [], runtimes: [], images: [], models: [], prices: { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond: 0, perGbSecond: 0 }, maxConcurrentJobs: 0 } })
  await caps.start()
  const models = createModelHost((await scanModels(dir)).models, { threads: 1, contextSize: 1024 })
  const network = createNetworkBackend({ consumer: createConsumer({ node, privateKey, caps }), caps })
  const gateway = await startGateway({ backend: gatewayBackend(network, { models, model: 'tiny' }), dataDir: dir, port: 0 })
  const plain = await startGateway({ backend: gatewayBackend(network), dataDir: await tempDir(), port: 0 })
  try {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0 })
    const { data: chat, response } = await client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 8, seed: 1 }).withResponse()
    assert.is((chat as unknown as { provider: string }).provider, 'local')
    assert.is(response.headers.get('x-clawnode-provider'), 'local')
    assert.is(chat.model, 'tiny')
    assert.is(chat.usage?.completion_tokens, 8, 'usage is the model\'s own meter')
    assert.ok((chat.usage?.prompt_tokens ?? 0) > 0)
    assert.ok((chat.choices[0]?.message.content ?? '').length > 0)
    assert.is(chat.choices[0]?.finish_reason, 'length')

    const stream = await client.chat.completions.create({ model: 'family:llama@1024', messages: hello, max_tokens: 8, seed: 1, stream: true, stream_options: { include_usage: true } })
    let text = ''
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const c of stream) { chunks.push(c); text += c.choices[0]?.delta.content ?? '' }
    assert.is(text, chat.choices[0]?.message.content, 'the same seed streams the same text')
    assert.is((chunks.at(-1) as unknown as { provider: string }).provider, 'local')
    assert.is(chunks.at(-1)?.model, 'tiny')
    assert.is(chunks.at(-1)?.usage?.completion_tokens, 8)
    assert.is((JSON.parse(await readFile(join(dir, 'gateway-spend.json'), 'utf8')) as { spent: number }).spent, 0, 'no credits spent')

    const without = new OpenAI({ baseURL: `${plain.url}/v1`, apiKey: plain.token, maxRetries: 0 })
    for (const streamed of [false, true]) {
      try {
        await without.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 8, stream: streamed })
        assert.unreachable('served without a provider or a fallback')
      } catch (err) {
        assert.is((err as { status?: number }).status, 404)
        assert.is((err as { code?: string }).code, 'model_not_found')
      }
    }
  } finally {
    await gateway.close()
    await plain.close()
    await models.close()
    await caps.stop()
    await node.stop()
    await boot.stop()
  }
}))

test('clawnode start --gateway --local-fallback answers from the node\'s own model; a model it lacks is refused', bounded(150_000, async () => {
  const boot = await createClawNode({ dataDir: await tempDir() })
  await boot.start()
  const bootstrap = boot.getMultiaddrs().map(String)[0] ?? ''
  const node = await startNode(['--bootstrap', bootstrap, '--gateway', '0', '--local-fallback', 'served'], { data: await withModel('served') })
  try {
    const token = (await readFile(join(node.data, 'gateway.token'), 'utf8')).trim()
    const client = new OpenAI({ baseURL: node.gateway, apiKey: token, maxRetries: 0, timeout: 120_000 })
    // Nobody else provides 'served' (a node does not lease from itself): after the discovery window, the fallback.
    const chat = await client.chat.completions.create({ model: 'served', messages: hello, max_tokens: 4 })
    assert.is((chat as unknown as { provider: string }).provider, 'local')
    assert.is(chat.usage?.completion_tokens, 4)
  } finally {
    assert.is(await stopNode(node), 0)
    await boot.stop()
  }
  const missing = await cli(['lease', '--serve', '--port', '0', '--local-fallback', 'nope', '--data', await withModel('tiny')], { timeoutMs: 60_000 })
  assert.is(missing.code, 1, missing.stderr)
  assert.match(missing.stderr, /local fallback model "nope" is not one of this node's models \(it has tiny\)/)
  assert.is((await cli(['start', '--local-fallback', 'tiny', '--data', await tempDir()])).code, 2, '--local-fallback without --gateway')
  // A fallback model that aborts llama.cpp at load is found by its probe before the gateway starts.
  const data = await withModel('tiny')
  await writeLoadAbortModel(join(data, 'models', 'tiny.gguf'), join(data, 'models', 'aborts.gguf'))
  const broken = await cli(['lease', '--serve', '--port', '0', '--local-fallback', 'aborts', '--data', data], { timeoutMs: 90_000 })
  assert.is(broken.code, 1, broken.stderr)
  assert.match(broken.stderr, /local fallback model "aborts" failed its probe/)
}))

test.run()
