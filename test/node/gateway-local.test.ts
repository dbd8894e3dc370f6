/**
 * The gateway's local fallback, driven by the official `openai` client: an in-test network backend
 * that fails the way the network's does, and a ModelHost whose model is an in-test generator (the
 * real llama.cpp path is in test/e2e/local-fallback.test.ts). When the network gives no provider the
 * local model answers, named `local`, for nothing; once network text has reached the client, or for
 * any other failure, there is no fallback.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import OpenAI from 'openai'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createModelHost, gatewayBackend, LOCAL_PROVIDER, startGateway, withLocalFallback } from '../../node/index.ts'
import { ClawnodeError } from '../../protocol/index.ts'
import { bounded, tempDir } from '../helpers.ts'
import type { InferenceBackend, ModelHost } from '../../node/index.ts'
import type { LoadedModel, RegisteredModel } from '../../sandbox/index.ts'

const WORDS = ['local', ' words', ' from', ' here']
class NoProviderError extends ClawnodeError { static override name = 'NoProviderError' }
class UnknownModelError extends ClawnodeError { static override name = 'UnknownModelError' }
class PriceCeilingError extends ClawnodeError { static override name = 'PriceCeilingError' }

/** The network: `nobody`, `unknown` and `pricey` find no provider; `flaky` fails after its first text; `broken` fails at once. */
const network: InferenceBackend = {
  async listModels () { return [] },
  async complete (req, { onText }) {
    if (req.model === 'nobody') throw new NoProviderError('No provider could run the job: 2 bid(s), 0 decline(s)', { retryable: true })
    if (req.model === 'unknown') throw new UnknownModelError('No provider on the network offers the model "unknown"')
    if (req.model === 'pricey') throw new PriceCeilingError('No provider offers pricey within the price ceiling')
    if (req.model === 'flaky') { onText('net'); throw new ClawnodeError('The provider went away mid-answer') }
    throw new ClawnodeError('The provider broke the lease protocol')
  }
}

/** A host with one model, `local-tiny`, that says WORDS (one token each) up to maxTokens, or until aborted. */
function localHost (aborted: Array<unknown> = []): ModelHost {
  const load = async (): Promise<LoadedModel> => ({
    path: 'local-tiny.gguf', contextSize: 1024, pid: undefined, exited: new Promise<Error>(() => {}), residentBytes: async () => undefined, close: async () => {},
    async chat (_messages, params, options = {}) {
      let text = ''
      let n = 0
      for (const w of WORDS.slice(0, params.maxTokens)) {
        await new Promise(resolve => setTimeout(resolve, 5))
        if (options.signal?.aborted === true) { aborted.push(options.signal.reason); return { text, stopReason: 'abort', usage: { promptTokens: 3, completionTokens: n } } }
        text += w
        options.onText?.(w, ++n)
      }
      return { text, stopReason: n >= params.maxTokens ? 'maxTokens' : 'eogToken', usage: { promptTokens: 3, completionTokens: n } }
    }
  })
  return createModelHost([{ id: 'local-tiny', path: 'local-tiny.gguf' } as RegisteredModel], { load, estimate: () => 1, memoryBytes: 1024 })
}

const hello = [{ role: 'user' as const, content: 'Hello' }]

test('no provider on the network: the local model answers, streamed and not, named local, for nothing', bounded(20_000, async () => {
  const models = localHost()
  const dir = await tempDir()
  const gw = await startGateway({ backend: withLocalFallback({ network, models, model: 'local-tiny' }), dataDir: dir })
  try {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0 })
    for (const model of ['nobody', 'unknown', 'pricey']) {
      const { data, response } = await client.chat.completions.create({ model, messages: hello, max_tokens: 3 }).withResponse()
      assert.is(data.choices[0]?.message.content, 'local words from', model)
      assert.is(data.choices[0]?.finish_reason, 'length')
      assert.is(data.model, 'local-tiny')
      assert.is((data as unknown as { provider: string }).provider, LOCAL_PROVIDER)
      assert.is(response.headers.get('x-clawnode-provider'), 'local')
      assert.is(response.headers.get('x-clawnode-price'), '0')
      assert.equal(data.usage, { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 })
    }
    const stream = await client.chat.completions.create({ model: 'nobody', messages: hello, max_tokens: 10, stream: true, stream_options: { include_usage: true } })
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const c of stream) chunks.push(c)
    assert.is(chunks.map(c => c.choices[0]?.delta.content ?? '').join(''), WORDS.join(''))
    assert.is(chunks.at(-2)?.choices[0]?.finish_reason, 'stop')
    assert.is((chunks.at(-1) as unknown as { provider: string }).provider, 'local')
    assert.is(chunks.at(-1)?.model, 'local-tiny')
    assert.is(chunks.at(-1)?.usage?.completion_tokens, WORDS.length)
  } finally { await gw.close(); await models.close() }
  assert.is((JSON.parse(await readFile(join(dir, 'gateway-spend.json'), 'utf8')) as { spent: number }).spent, 0, 'no credits spent')
}))

test('no fallback once network text reached the client, nor for other failures; without a fallback the network\'s error stands', bounded(20_000, async () => {
  const models = localHost()
  const gw = await startGateway({ backend: withLocalFallback({ network, models, model: 'local-tiny' }), dataDir: await tempDir() })
  const plain = await startGateway({ backend: gatewayBackend(network), dataDir: await tempDir() })
  try {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0 })
    let partial = ''
    await (async () => { for await (const c of await client.chat.completions.create({ model: 'flaky', messages: hello, stream: true })) partial += c.choices[0]?.delta.content ?? '' })().then(() => { assert.unreachable('flaky succeeded') }, (err: Error) => { assert.match(err.message, /went away mid-answer/) })
    assert.is(partial, 'net', 'the local model did not add to a network answer')
    await client.chat.completions.create({ model: 'broken', messages: hello }).then(() => { assert.unreachable('broken succeeded') }, (err: { status?: number }) => { assert.is(err.status, 502) })

    const without = new OpenAI({ baseURL: `${plain.url}/v1`, apiKey: plain.token, maxRetries: 0 })
    await without.chat.completions.create({ model: 'nobody', messages: hello }).then(() => { assert.unreachable('served without a fallback') }, (err: { status?: number, code?: string }) => {
      assert.is(err.status, 503)
      assert.is(err.code, 'no_provider_available')
    })
  } finally { await gw.close(); await plain.close(); await models.close() }
}))

test('a client that goes away stops the local generation', bounded(20_000, async () => {
  const aborted: unknown[] = []
  const models = localHost(aborted)
  const gw = await startGateway({ backend: withLocalFallback({ network, models, model: 'local-tiny' }), dataDir: await tempDir() })
  try {
    const controller = new AbortController()
    const stream = await new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0 }).chat.completions.create({ model: 'nobody', messages: hello, stream: true }, { signal: controller.signal })
    for await (const c of stream) if ((c.choices[0]?.delta.content ?? '') !== '') controller.abort()
    for (let i = 0; i < 100 && aborted.length === 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
    assert.is((aborted[0] as Error | undefined)?.name, 'ClientGoneError')
  } finally { await gw.close(); await models.close() }
}))

test('a fallback model this node does not have is refused when the gateway is set up', () => {
  const models = localHost()
  for (const make of [() => withLocalFallback({ network, models, model: 'nope' }), () => gatewayBackend(network, { model: 'local-tiny' })]) {
    try {
      make()
      assert.unreachable('accepted')
    } catch (err) {
      assert.is((err as Error).name, 'LocalFallbackModelError')
      assert.ok((err as ClawnodeError).hint.includes('<data>/models'))
    }
  }
  assert.is(gatewayBackend(network, { models }), network, 'no fallback named: the network alone')
})

test.run()
