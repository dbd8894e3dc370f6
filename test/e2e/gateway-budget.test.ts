/**
 * The gateway's daily budget when a paid provider dies mid-stream: the provider (a `clawnode start`
 * process with the generated tiny GGUF, a usage tick every 16 tokens at 1 millicredit a token) is
 * killed with `kill -9` while the gateway streams its answer, so no receipt ever comes; the consumer
 * had countersigned its ticks' draws, which the provider can still claim, and the gateway's spend
 * record counts the last of them instead of releasing the request's reservation.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import OpenAI from 'openai'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { createClawNode, createNetworkBackend, startGateway } from '../../node/index.ts'
import { startConsumerNode, untilDiscovered } from './consumer-node.ts'
import { bounded, modelWorkerPids, startNode, stopNode, tempDir } from '../helpers.ts'

const TICK = 16

test('a paid provider killed mid-stream: the gateway counts what was countersigned against the daily budget', bounded(180_000, async () => {
  const boot = await createClawNode({ dataDir: await tempDir() })
  await boot.start()
  const bootstrap = boot.getMultiaddrs().map(String)[0] ?? ''
  const data = await tempDir()
  await mkdir(join(data, 'models'))
  generateModel({ ...PRESETS.tiny!, name: 'tiny', seed: 1, eos: 'never' }, join(data, 'models', 'tiny.gguf'))
  await writeFile(join(data, 'config.json'), JSON.stringify({ provider: { prices: { per1kInputTokens: 0, per1kOutputTokens: 1000 }, usageTickTokens: TICK } }))
  const provider = await startNode(['--bootstrap', bootstrap], { data })
  const { dir: consumerDir, caps, consumer, stop } = await startConsumerNode([bootstrap], { paying: true })
  const gateway = await startGateway({ backend: createNetworkBackend({ consumer, caps }), dataDir: consumerDir, port: 0 })
  try {
    await untilDiscovered(caps, { kind: 'model', model: 'tiny' }, 1)
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0, timeout: 120_000 })
    let text = ''
    let killed = false
    const failed = await (async () => {
      const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Go on.' }], max_tokens: 8000, stream: true })
      for await (const c of stream) {
        text += c.choices[0]?.delta.content ?? ''
        // Several ticks in (the tiny model makes about a character a token), well before the end.
        if (!killed && text.length >= 6 * TICK) {
          killed = true
          const workers = await modelWorkerPids({ dir: data })
          provider.child.kill('SIGKILL')
          for (const pid of workers) { try { process.kill(pid, 'SIGKILL') } catch {} }
        }
      }
    })().then(() => undefined, (err: unknown) => err)
    assert.ok(killed, 'the provider was killed mid-stream')
    assert.ok(failed instanceof Error, `the stream ended with an error (got ${String(failed)} after ${text.length} characters)`)
    const spend = JSON.parse(await readFile(join(consumerDir, 'gateway-spend.json'), 'utf8')) as { spent: number }
    // One millicredit a token: the last countersigned tick's draw for this lease, a whole number of ticks.
    assert.ok(spend.spent >= TICK, `spent ${spend.spent}: the countersigned ticks were counted`)
    assert.is(spend.spent % TICK, 0, `spent ${spend.spent}: a whole number of ${TICK}-token ticks`)
    assert.ok(spend.spent < 8000, `spent ${spend.spent}: not the whole reservation`)
  } finally {
    await gateway.close()
    await stop()
    await stopNode(provider, 'SIGKILL')
    await boot.stop()
  }
}))

test.run()
