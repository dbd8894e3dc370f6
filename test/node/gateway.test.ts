/**
 * The OpenAI-compatible gateway, driven by the official `openai` client (raw node:http where a client
 * would not misbehave on purpose) against an in-test backend: answers streamed and not, legacy
 * completions, models, usage, provider; the guards (token, Host, Origin, budget, body size, timeout);
 * and a client that goes away aborting the backend's work.
 */
import { readFile, stat, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import OpenAI from 'openai'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MAX_GATEWAY_CONCURRENT_REQUESTS, startGateway } from '../../node/gateway.ts'
import { ClawnodeError } from '../../protocol/index.ts'
import { bounded, tempDir } from '../helpers.ts'
import type { Gateway, GatewayModel, InferenceBackend, InferenceBackendRequest } from '../../node/gateway.ts'

const PROVIDER = '12D3KooWGatewayTestProvider'
const TOKENS = ['Hello', ',', ' clawnode', ' world', '!']
const PRICE = 42
const MODELS: GatewayModel[] = [
  { id: 'tiny-chat', contextLength: 2048, per1kInputTokens: 100, per1kOutputTokens: 300, providers: 2 },
  { id: 'slow-chat', contextLength: 4096, per1kInputTokens: 1000, per1kOutputTokens: 1000, providers: 1 }
]

class UnknownModelError extends ClawnodeError { static override name = 'UnknownModelError' }
class PriceCeilingError extends ClawnodeError { static override name = 'PriceCeilingError' }
class NoProviderError extends ClawnodeError { static override name = 'NoProviderError' }

/**
 * Deterministic: `tiny-chat` streams TOKENS and charges PRICE; `slow-chat` sends one token and then
 * waits for its signal; `pricey` and `nobody` fail the way the network's backend does, and `flaky`
 * fails after its first token.
 */
function testBackend () {
  const requests: InferenceBackendRequest[] = []
  const slow = Promise.withResolvers<unknown>()
  const backend: InferenceBackend = {
    async listModels () { return MODELS },
    async complete (req, { signal, onText }) {
      requests.push(req)
      if (req.model === 'pricey') throw new PriceCeilingError(`No provider offers pricey within ${req.maxPrice} millicredits`, { hint: 'Raise the ceiling.' })
      if (req.model === 'nobody') throw new NoProviderError('No provider could serve nobody', { retryable: true })
      if (req.model === 'flaky') { onText('partial'); await new Promise(resolve => setImmediate(resolve)); throw new ClawnodeError('The provider went away mid-answer', { hint: 'Try again.' }) }
      if (req.model === 'slow-chat') {
        onText('tick')
        await new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => { slow.resolve(signal.reason); reject(signal.reason) }, { once: true })
        })
      }
      if (!MODELS.some(m => m.id === req.model)) throw new UnknownModelError(`The model ${req.model} is not offered on the network`)
      for (const t of TOKENS) {
        signal.throwIfAborted()
        onText(t)
        await new Promise(resolve => setImmediate(resolve))
      }
      const promptTokens = ('prompt' in req ? req.prompt : req.messages.map(m => m.content).join(' ')).split(' ').length
      return { text: TOKENS.join(''), finishReason: 'stop', usage: { promptTokens, completionTokens: TOKENS.length }, provider: PROVIDER, price: PRICE }
    }
  }
  return { backend, requests, slowAborted: slow.promise }
}

function client (gw: Gateway, apiKey = gw.token): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 })
}

async function raw (gw: Gateway, options: { method?: string, path?: string, headers?: Record<string, string>, body?: string }): Promise<{ status: number, headers: Record<string, unknown>, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, method: options.method ?? 'GET', path: options.path ?? '/v1/models', headers: options.headers ?? {}, timeout: 10_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
    })
    req.on('timeout', () => { req.destroy(new Error('raw request timed out')) })
    req.on('error', reject)
    req.end(options.body)
  })
}

async function apiError (p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try { await p } catch (err) {
    if (err instanceof OpenAI.APIError) return err
    throw err
  }
  throw new Error('expected an API error, but the request succeeded')
}

const hello = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Say hello to the network' }]

test('a chat completion: the backend\'s text, usage and provider, and the sampling parameters passed on', bounded(20_000, async () => {
  const { backend, requests } = testBackend()
  const gw = await startGateway({ backend, dataDir: await tempDir(), port: 0, maxRequestPriceMillicredits: 5000 })
  try {
    const { data, response } = await client(gw).chat.completions.create({ model: 'tiny-chat', messages: hello, max_tokens: 64, temperature: 0.5, top_p: 0.9, stop: ['\n\n'], seed: 7 }).withResponse()
    assert.is(data.object, 'chat.completion')
    assert.is(data.model, 'tiny-chat')
    assert.is(data.choices.length, 1)
    assert.is(data.choices[0]?.message.role, 'assistant')
    assert.is(data.choices[0]?.message.content, 'Hello, clawnode world!')
    assert.is(data.choices[0]?.finish_reason, 'stop')
    assert.equal(data.usage, { prompt_tokens: 2 + 5, completion_tokens: TOKENS.length, total_tokens: 7 + TOKENS.length })
    assert.is((data as unknown as { provider: string }).provider, PROVIDER)
    assert.is(response.headers.get('x-clawnode-provider'), PROVIDER)
    assert.is(response.headers.get('x-clawnode-price'), String(PRICE))
    assert.equal(requests[0], { model: 'tiny-chat', messages: hello, maxTokens: 64, maxPrice: 5000, temperature: 0.5, topP: 0.9, stop: ['\n\n'], seed: 7 })
  } finally { await gw.close() }
}))

test('a streamed chat completion: deltas in order, a finish chunk, and the usage chunk with include_usage', bounded(20_000, async () => {
  const { backend } = testBackend()
  const gw = await startGateway({ backend, dataDir: await tempDir() })
  try {
    const stream = await client(gw).chat.completions.create({ model: 'tiny-chat', messages: hello, stream: true, stream_options: { include_usage: true } })
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const c of stream) chunks.push(c)
    assert.ok(chunks.every(c => c.object === 'chat.completion.chunk' && c.model === 'tiny-chat' && c.id === chunks[0]?.id))
    assert.is(chunks[0]?.choices[0]?.delta.role, 'assistant')
    assert.is(chunks.map(c => c.choices[0]?.delta.content ?? '').join(''), 'Hello, clawnode world!')
    const finish = chunks.at(-2)
    assert.is(finish?.choices[0]?.finish_reason, 'stop')
    assert.is((finish as unknown as { provider: string }).provider, PROVIDER)
    const last = chunks.at(-1)
    assert.equal(last?.choices, [])
    assert.equal(last?.usage, { prompt_tokens: 7, completion_tokens: TOKENS.length, total_tokens: 7 + TOKENS.length })
    assert.ok(chunks.slice(0, -1).every(c => c.usage === null), 'usage is null in the other chunks')

    const plain = await client(gw).chat.completions.create({ model: 'tiny-chat', messages: hello, stream: true })
    const plainChunks: OpenAI.ChatCompletionChunk[] = []
    for await (const c of plain) plainChunks.push(c)
    assert.ok(plainChunks.every(c => c.usage === undefined && c.choices.length === 1), 'no usage chunk without include_usage')
  } finally { await gw.close() }
}))

test('the stream on the wire: SSE data lines ending with [DONE]', bounded(20_000, async () => {
  const { backend } = testBackend()
  const gw = await startGateway({ backend, dataDir: await tempDir() })
  try {
    const res = await raw(gw, { method: 'POST', path: '/v1/chat/completions', headers: { host: `localhost:${gw.port}`, authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny-chat', messages: hello, stream: true }) })
    assert.is(res.status, 200)
    assert.match(String(res.headers['content-type']), /^text\/event-stream/)
    const events = res.body.split('\n\n')
    assert.is(events.pop(), '')
    assert.is(events.pop(), 'data: [DONE]')
    assert.ok(events.every(e => e.startsWith('data: {')), res.body)
    assert.is(events.length, 1 + TOKENS.length + 1)
  } finally { await gw.close() }
}))

test('legacy completions: the prompt goes to the backend as a raw prompt; text_completion answers, streamed or not', bounded(20_000, async () => {
  const { backend, requests } = testBackend()
  const gw = await startGateway({ backend, dataDir: await tempDir() })
  try {
    const openai = client(gw)
    const done = await openai.completions.create({ model: 'tiny-chat', prompt: 'Once upon a time', max_tokens: 16 })
    assert.is(done.object, 'text_completion')
    assert.is(done.choices[0]?.text, 'Hello, clawnode world!')
    assert.is(done.choices[0]?.finish_reason, 'stop')
    assert.equal(done.usage, { prompt_tokens: 4, completion_tokens: TOKENS.length, total_tokens: 4 + TOKENS.length })
    assert.equal(requests[0], { model: 'tiny-chat', prompt: 'Once upon a time', maxTokens: 16, maxPrice: 1_000_000 })
    assert.is(requests[0]?.maxTokens, 16)

    const stream = await openai.completions.create({ model: 'tiny-chat', prompt: 'Once upon a time', stream: true, stream_options: { include_usage: true } })
    const chunks: OpenAI.Completion[] = []
    for await (const c of stream) chunks.push(c)
    assert.ok(chunks.every(c => c.object === 'text_completion'))
    assert.is(chunks.map(c => c.choices[0]?.text ?? '').join(''), 'Hello, clawnode world!')
    assert.equal(chunks.at(-1)?.usage, done.usage)
  } finally { await gw.close() }
}))

test('/v1/models lists the network\'s models with price, context and providers', bounded(20_000, async () => {
  const { backend } = testBackend()
  const gw = await startGateway({ backend, dataDir: await tempDir() })
  try {
    const openai = client(gw)
    const models: OpenAI.Model[] = []
    for await (const m of openai.models.list()) models.push(m)
    assert.equal(models.map(m => m.id), ['tiny-chat', 'slow-chat'])
    const first = models[0] as unknown as Record<string, unknown>
    assert.is(first.object, 'model')
    assert.is(first.owned_by, 'clawnode-network')
    assert.type(first.created, 'number')
    assert.is(first.context_length, 2048)
    assert.is(first.providers, 2)
    assert.equal(first.pricing, { unit: 'millicredits', per_1k_input_tokens: 100, per_1k_output_tokens: 300 })
    assert.is((await openai.models.retrieve('slow-chat')).id, 'slow-chat')
    const missing = await apiError(openai.models.retrieve('no-such-model'))
    assert.is(missing.status, 404)
    assert.is(missing.code, 'model_not_found')
  } finally { await gw.close() }
}))

test('errors in OpenAI\'s shape: unknown model 404, bad parameter 400, price ceiling 402, no provider 503', bounded(20_000, async () => {
  const { backend } = testBackend()
  const gw = await startGateway({ backend, dataDir: await tempDir() })
  try {
    const openai = client(gw)
    const unknown = await apiError(openai.chat.completions.create({ model: 'no-such-model', messages: hello }))
    assert.instance(unknown, OpenAI.NotFoundError)
    assert.is(unknown.code, 'model_not_found')
    assert.is(unknown.param, 'model')
    assert.match(unknown.message, /no-such-model/)

    const bad = await apiError(openai.chat.completions.create({ model: 'tiny-chat', messages: hello, temperature: 3 }))
    assert.instance(bad, OpenAI.BadRequestError)
    assert.is(bad.param, 'temperature')
    assert.match(bad.message, /temperature.*0 to 2/)
    assert.is((await apiError(openai.chat.completions.create({ model: 'tiny-chat', messages: hello, n: 2 }))).param, 'n')

    const pricey = await apiError(openai.chat.completions.create({ model: 'pricey', messages: hello }))
    assert.is(pricey.status, 402)
    assert.is(pricey.code, 'price_ceiling_exceeded')
    assert.match(pricey.message, /price ceiling was 1000000 millicredits/)

    const nobody = await apiError(openai.chat.completions.create({ model: 'nobody', messages: hello, stream: true }))
    assert.is(nobody.status, 503, 'a stream that fails before its first token still gets its own status')
    assert.is(nobody.code, 'no_provider_available')

    let partial = ''
    const flaky = await apiError((async () => {
      for await (const c of await openai.chat.completions.create({ model: 'flaky', messages: hello, stream: true })) partial += c.choices[0]?.delta.content ?? ''
    })())
    assert.is(partial, 'partial')
    assert.match(flaky.message, /The provider went away mid-answer/, 'an error after the first token comes as an error event')
    const flakyPlain = await apiError(openai.chat.completions.create({ model: 'flaky', messages: hello }))
    assert.is(flakyPlain.status, 502)
    assert.is(flakyPlain.code, 'provider_error')

    const notJson = await raw(gw, { method: 'POST', path: '/v1/chat/completions', headers: { authorization: `Bearer ${gw.token}` }, body: '{"model":' })
    assert.is(notJson.status, 400)
    assert.equal(JSON.parse(notJson.body), { error: { message: 'The request body is not valid JSON. Fix the request; the README lists the OpenAI parameters clawnode supports.', type: 'invalid_request_error', param: null, code: null } })
    assert.is((await raw(gw, { path: '/v1/nothing', headers: { authorization: `Bearer ${gw.token}` } })).status, 404)
    assert.is((await raw(gw, { method: 'DELETE', path: '/v1/models', headers: { authorization: `Bearer ${gw.token}` } })).status, 405)
  } finally { await gw.close() }
}))

test('no token or a wrong one is refused with 401; the token is made once, mode 0600, and reused', bounded(20_000, async () => {
  const { backend, requests } = testBackend()
  const dir = await tempDir()
  const gw = await startGateway({ backend, dataDir: dir })
  try {
    const wrong = await apiError(client(gw, 'sk-clawnode-' + 'x'.repeat(43)).chat.completions.create({ model: 'tiny-chat', messages: hello }))
    assert.instance(wrong, OpenAI.AuthenticationError)
    assert.is(wrong.code, 'invalid_api_key')
    const none = await raw(gw, { method: 'POST', path: '/v1/chat/completions', body: JSON.stringify({ model: 'tiny-chat', messages: hello }) })
    assert.is(none.status, 401)
    assert.match(none.body, /No API key/)
    assert.is(none.headers['www-authenticate'], 'Bearer realm="clawnode"')
    assert.is((await raw(gw, { headers: { authorization: `Basic ${gw.token}` } })).status, 401)
    assert.is((await raw(gw, { headers: { authorization: `Bearer ${gw.token}x` } })).status, 401)
    assert.is(requests.length, 0, 'nothing was bought')
    assert.is(await readFile(join(dir, 'gateway.token'), 'utf8'), gw.token + '\n')
    assert.is((await stat(join(dir, 'gateway.token'))).mode & 0o777, 0o600)
    assert.match(gw.token, /^sk-clawnode-[A-Za-z0-9_-]{43}$/)
  } finally { await gw.close() }
  const again = await startGateway({ backend, dataDir: dir })
  try {
    assert.is(again.token, gw.token)
  } finally { await again.close() }
}))

test('a foreign Host (DNS rebinding) or a foreign Origin is refused with 403, even with the token', bounded(20_000, async () => {
  const { backend, requests } = testBackend()
  const gw = await startGateway({ backend, dataDir: await tempDir() })
  const auth = { authorization: `Bearer ${gw.token}` }
  const body = JSON.stringify({ model: 'tiny-chat', messages: hello })
  try {
    const host = await raw(gw, { method: 'POST', path: '/v1/chat/completions', headers: { ...auth, host: `evil.example:${gw.port}` }, body })
    assert.is(host.status, 403)
    assert.is(JSON.parse(host.body).error.code, 'forbidden_host')
    assert.is((await raw(gw, { headers: { ...auth, host: `127.0.0.1:${gw.port + 1}` } })).status, 403, 'another port')
    const origin = await raw(gw, { method: 'POST', path: '/v1/chat/completions', headers: { ...auth, origin: 'http://evil.example' }, body })
    assert.is(origin.status, 403)
    assert.is(JSON.parse(origin.body).error.code, 'forbidden_origin')
    assert.is((await raw(gw, { headers: { ...auth, origin: 'null' } })).status, 403)
    assert.is(requests.length, 0)
    assert.is((await raw(gw, { headers: { ...auth, host: `LOCALHOST:${gw.port}`, origin: `http://localhost:${gw.port}` } })).status, 200, 'its own names are fine')
  } finally { await gw.close() }
}))

test('the daily budget refuses a request whose ceiling it cannot cover, and survives a restart', bounded(20_000, async () => {
  const { backend, requests } = testBackend()
  const dir = await tempDir()
  const init = { backend, dataDir: dir, maxRequestPriceMillicredits: 60, dailyBudgetMillicredits: 100 }
  const gw = await startGateway(init)
  try {
    await client(gw).chat.completions.create({ model: 'tiny-chat', messages: hello })
    const spend = JSON.parse(await readFile(join(dir, 'gateway-spend.json'), 'utf8')) as { date: string, spent: number }
    assert.equal(spend, { date: new Date().toISOString().slice(0, 10), spent: PRICE })
    assert.is((await stat(join(dir, 'gateway-spend.json'))).mode & 0o777, 0o600)
    // 58 left, below the ceiling of 60.
    const refused = await apiError(client(gw).chat.completions.create({ model: 'tiny-chat', messages: hello }))
    assert.instance(refused, OpenAI.RateLimitError)
    assert.is(refused.code, 'daily_budget_exceeded')
    assert.is(refused.type, 'insufficient_quota')
    assert.match(refused.message, /58 of 100 millicredits are left today/)
    assert.is(refused.headers?.get('x-should-retry'), 'false')
  } finally { await gw.close() }
  assert.is(requests.length, 1)

  const restarted = await startGateway(init)
  try {
    assert.is((await apiError(client(restarted).chat.completions.create({ model: 'tiny-chat', messages: hello }))).status, 429, 'still spent after a restart')
    // A lower max_price fits what is left, and is what the backend is told.
    await client(restarted).chat.completions.create({ model: 'tiny-chat', messages: hello, max_price: 50 } as OpenAI.ChatCompletionCreateParamsNonStreaming)
    assert.is(requests.at(-1)?.maxPrice, 50)
    assert.is((JSON.parse(await readFile(join(dir, 'gateway-spend.json'), 'utf8')) as { spent: number }).spent, 2 * PRICE)
  } finally { await restarted.close() }

  // Yesterday's spending does not count today.
  await writeFile(join(dir, 'gateway-spend.json'), JSON.stringify({ date: '2000-01-01', spent: 100 }))
  const nextDay = await startGateway(init)
  try {
    await client(nextDay).chat.completions.create({ model: 'tiny-chat', messages: hello })
  } finally { await nextDay.close() }
  await writeFile(join(dir, 'gateway-spend.json'), '{"date":')
  try { await startGateway(init); assert.unreachable('a corrupt spend record must not start from zero') } catch (err) { assert.is((err as Error).name, 'GatewaySpendFileError') }
}))

test('a client that aborts mid-stream aborts the backend\'s work, and its reservation is released', bounded(20_000, async () => {
  const { backend, slowAborted } = testBackend()
  const gw = await startGateway({ backend, dataDir: await tempDir(), maxRequestPriceMillicredits: 100, dailyBudgetMillicredits: 100 })
  try {
    const controller = new AbortController()
    const stream = await client(gw).chat.completions.create({ model: 'slow-chat', messages: hello, stream: true }, { signal: controller.signal })
    let text = ''
    // The SDK ends the iteration quietly when its own signal aborts it.
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? ''
      if (text === 'tick') controller.abort()
    }
    assert.is(text, 'tick')
    const reason = await slowAborted
    assert.is((reason as Error).name, 'ClientGoneError')
    // The whole budget is free again: nothing was charged.
    await client(gw).chat.completions.create({ model: 'tiny-chat', messages: hello })
  } finally { await gw.close() }
}))

test('a completion past the request timeout is aborted and answered 504', bounded(20_000, async () => {
  const { backend, slowAborted } = testBackend()
  const gw = await startGateway({ backend, dataDir: await tempDir(), requestTimeoutMs: 300 })
  try {
    const late = await apiError(client(gw).chat.completions.create({ model: 'slow-chat', messages: hello }))
    assert.is(late.status, 504)
    assert.is(late.code, 'request_timeout')
    assert.is(((await slowAborted) as Error).name, 'GatewayTimeoutError')
  } finally { await gw.close() }
}))

test('completions at once are capped (429); close() ends those in flight (503) and returns', bounded(20_000, async () => {
  const { backend, requests } = testBackend()
  const gw = await startGateway({ backend, dataDir: await tempDir() })
  const openai = client(gw)
  const waiting = Array.from({ length: MAX_GATEWAY_CONCURRENT_REQUESTS }, async () => await openai.chat.completions.create({ model: 'slow-chat', messages: hello }))
  try {
    while (requests.length < MAX_GATEWAY_CONCURRENT_REQUESTS) await new Promise(resolve => setTimeout(resolve, 10))
    const busy = await apiError(openai.chat.completions.create({ model: 'tiny-chat', messages: hello }))
    assert.instance(busy, OpenAI.RateLimitError)
    assert.is(busy.code, 'rate_limit_exceeded')
  } finally { await gw.close() }
  const ended = await Promise.allSettled(waiting)
  assert.ok(ended.every(e => e.status === 'rejected' && (e.reason as { status?: number }).status === 503), 'each gets 503 gateway_stopping')
}))

test('a body over 1 MiB is refused with 413 and never reaches the backend', bounded(20_000, async () => {
  const { backend, requests } = testBackend()
  const gw = await startGateway({ backend, dataDir: await tempDir() })
  try {
    const big = await apiError(client(gw).chat.completions.create({ model: 'tiny-chat', messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }] }))
    assert.is(big.status, 413)
    assert.is(big.code, 'request_too_large')
    // Chunked, with no Content-Length to refuse it by.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/v1/chat/completions', headers: { authorization: `Bearer ${gw.token}` } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
      req.on('error', reject)
      for (let i = 0; i < 3; i++) req.write('y'.repeat(512 * 1024))
      req.end()
    })
    assert.is(chunked, 413)
    assert.is(requests.length, 0)
    // The connection is still good for the next request.
    await client(gw).chat.completions.create({ model: 'tiny-chat', messages: hello })
  } finally { await gw.close() }
}))

test('only loopback, and spending options are checked', bounded(20_000, async () => {
  const { backend } = testBackend()
  const dataDir = await tempDir()
  for (const init of [{ host: '0.0.0.0' }, { dailyBudgetMillicredits: -1 }, { maxRequestPriceMillicredits: 1.5 }, { port: 70000 }]) {
    try {
      await startGateway({ backend, dataDir, ...init } as Parameters<typeof startGateway>[0])
      assert.unreachable(`${JSON.stringify(init)} was accepted`)
    } catch (err) { assert.is((err as Error).name, 'GatewayInitError') }
  }
}))

test.run()
