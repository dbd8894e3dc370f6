/**
 * Brain switch: the provider chosen for a completion is killed (`kill -9`) after the award, while it
 * loads the model and before the first token; the gateway serves the same request from the next
 * bidder, and the response names that provider. Providers are `clawnode start` processes with a
 * generated tiny GGUF; the client is the official openai package.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import OpenAI from 'openai'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { createClawNode, createNetworkBackend, startGateway } from '../../node/index.ts'
import { startConsumerNode } from './consumer-node.ts'
import type { ExplainEntry } from '../../node/index.ts'
import { bounded, modelWorkerPids, startNode, stopNode, tempDir } from '../helpers.ts'

const withModel = async (per1kOutputTokens: number): Promise<string> => {
  const data = await tempDir()
  await mkdir(join(data, 'models'))
  generateModel({ ...PRESETS.tiny!, name: 'tiny', seed: 1, eos: 'never' }, join(data, 'models', 'tiny.gguf'))
  const { writeFile } = await import('node:fs/promises')
  await writeFile(join(data, 'config.json'), JSON.stringify({ provider: { prices: { per1kInputTokens: 0, per1kOutputTokens } } }))
  return data
}

test('a provider killed before the first token: the gateway serves the request from the next bidder', bounded(180_000, async () => {
  const boot = await createClawNode({ dataDir: await tempDir() })
  await boot.start()
  const bootstrap = boot.getMultiaddrs().map(String)[0] ?? ''
  const cheap = await startNode(['--bootstrap', bootstrap], { data: await withModel(1000) })
  const dear = await startNode(['--bootstrap', bootstrap], { data: await withModel(5000) })
  // It pays as a node does by default: a deposit on the machine's local chain for each provider.
  const { dir: consumerDir, caps, consumer, stop } = await startConsumerNode([bootstrap], { paying: true })
  const explain: ExplainEntry[] = []
  // The backend's leases report their explanations here (as `clawnode lease --explain` would print them).
  const explaining: typeof consumer = { ...consumer, leaseInference: async (request, options) => await consumer.leaseInference(request, { ...options, onExplain: (e) => { explain.push(e); options.onExplain?.(e) } }) }
  const gateway = await startGateway({ backend: createNetworkBackend({ consumer: explaining, caps }), dataDir: consumerDir, port: 0 })
  try {
    for (let i = 0; i < 60; i++) {
      if ((await caps.discover({ kind: 'model', model: 'tiny' }, { signal: AbortSignal.timeout(8_000) })).length >= 2) break
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    // The cheap provider is killed as soon as it starts loading the model for the awarded lease.
    const killed = (async () => {
      for (let i = 0; i < 1500; i++) {
        const workers = await modelWorkerPids({ dir: cheap.data })
        if (workers.length > 0) {
          cheap.child.kill('SIGKILL')
          for (const pid of workers) { try { process.kill(pid, 'SIGKILL') } catch {} }
          return true
        }
        await new Promise(resolve => setTimeout(resolve, 20))
      }
      return false
    })()
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0 })
    const chat = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8, seed: 1 })
    assert.ok(await killed, 'the cheap provider got the award and was killed')
    assert.is((chat as unknown as { provider: string }).provider, dear.peerId, 'the response names the provider that served')
    assert.is(chat.usage?.completion_tokens, 8)
    assert.ok((chat.choices[0]?.message.content ?? '').length > 0)
    assert.is(explain.find(e => e.peer === cheap.peerId)?.fate, 'failed')
    assert.is(explain.find(e => e.peer === dear.peerId)?.fate, 'chosen')
  } finally {
    await gateway.close()
    await stop()
    await stopNode(cheap, 'SIGKILL')
    assert.is(await stopNode(dear), 0)
    await boot.stop()
  }
}))

test.run()
