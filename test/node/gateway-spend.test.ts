/**
 * The gateway's daily budget when a paid completion fails: what the consumer had already
 * countersigned (a paid lease's usage ticks, reported through onSpend) can be claimed by the provider
 * although no receipt came, so the gateway counts it instead of releasing the reservation; a failure
 * with nothing countersigned costs nothing. Driven by the official `openai` client against in-test
 * backends that fail the way a provider dying mid-stream makes the network's backend fail.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import OpenAI from 'openai'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startGateway } from '../../node/gateway.ts'
import { ClawnodeError } from '../../protocol/index.ts'
import { bounded, tempDir } from '../helpers.ts'
import type { Gateway, InferenceBackend } from '../../node/gateway.ts'

const hello = [{ role: 'user' as const, content: 'Say hello' }]

/** A provider that streams, has two ticks countersigned (12, then 30 millicredits), and dies. */
function dyingBackend (options: { cosign?: number[], failWith?: () => Error } = {}): InferenceBackend & { calls: number } {
  const backend = {
    calls: 0,
    async listModels () { return [] },
    async complete (_req: unknown, { onText, onSpend }: Parameters<InferenceBackend['complete']>[1]) {
      backend.calls++
      onText('Hello')
      for (const amount of options.cosign ?? [12, 30]) {
        await new Promise(resolve => setImmediate(resolve))
        onText(' more')
        onSpend?.(amount)
      }
      await new Promise(resolve => setImmediate(resolve))
      throw options.failWith?.() ?? new ClawnodeError('The provider went away mid-answer', { hint: 'Try again.' })
    }
  }
  return backend
}

async function spent (dir: string): Promise<number> {
  return (JSON.parse(await readFile(join(dir, 'gateway-spend.json'), 'utf8')) as { spent: number }).spent
}

function client (gw: Gateway): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0, timeout: 10_000 })
}

test('a paid completion that dies after countersigned ticks counts the last countersigned amount, not nothing', bounded(20_000, async () => {
  const dir = await tempDir()
  const gw = await startGateway({ backend: dyingBackend(), dataDir: dir, maxRequestPriceMillicredits: 60, dailyBudgetMillicredits: 100 })
  try {
    const failed = await client(gw).chat.completions.create({ model: 'm', messages: hello }).then(() => undefined, (err: unknown) => err)
    assert.instance(failed, OpenAI.APIError)
    assert.is((failed as InstanceType<typeof OpenAI.APIError>).status, 502)
    assert.is(await spent(dir), 30)
    // 70 left: a second request (ceiling 60) still fits, and dies the same way.
    await client(gw).chat.completions.create({ model: 'm', messages: hello }).catch(() => {})
    assert.is(await spent(dir), 60)
    // 40 left, below the ceiling of 60: refused without reaching the backend.
    const refused = await client(gw).chat.completions.create({ model: 'm', messages: hello }).then(() => undefined, (err: unknown) => err)
    assert.is((refused as { code?: string }).code, 'daily_budget_exceeded')
    assert.match((refused as Error).message, /40 of 100 millicredits are left today/)
  } finally { await gw.close() }
}))

test('streamed: the client sees the error mid-stream, and the countersigned amount is counted', bounded(20_000, async () => {
  const dir = await tempDir()
  const gw = await startGateway({ backend: dyingBackend({ cosign: [7, 19] }), dataDir: dir })
  try {
    let text = ''
    const failed = await (async () => {
      for await (const c of await client(gw).chat.completions.create({ model: 'm', messages: hello, stream: true })) text += c.choices[0]?.delta.content ?? ''
    })().then(() => undefined, (err: unknown) => err)
    assert.match((failed as Error).message, /went away mid-answer/)
    assert.is(text, 'Hello more more')
    assert.is(await spent(dir), 19)
  } finally { await gw.close() }
}))

test('an error that carries a price counts the larger of it and what was countersigned', bounded(20_000, async () => {
  const withPrice = (price: number) => () => Object.assign(new ClawnodeError('The completion was cancelled'), { price })
  const dir = await tempDir()
  const gw = await startGateway({ backend: dyingBackend({ cosign: [12, 30], failWith: withPrice(45) }), dataDir: dir })
  try {
    await client(gw).chat.completions.create({ model: 'm', messages: hello }).catch(() => {})
    assert.is(await spent(dir), 45, 'the receipt\'s price, above the last tick')
  } finally { await gw.close() }
  const again = await startGateway({ backend: dyingBackend({ cosign: [12, 30], failWith: withPrice(20) }), dataDir: dir })
  try {
    await client(again).chat.completions.create({ model: 'm', messages: hello }).catch(() => {})
    assert.is(await spent(dir), 45 + 30, 'the countersigned tick, above the error\'s price')
  } finally { await again.close() }
}))

test('a failure with nothing countersigned releases the reservation: nothing is counted', bounded(20_000, async () => {
  const dir = await tempDir()
  const backend = dyingBackend({ cosign: [] })
  const gw = await startGateway({ backend, dataDir: dir, maxRequestPriceMillicredits: 100, dailyBudgetMillicredits: 100 })
  try {
    for (let i = 0; i < 3; i++) await client(gw).chat.completions.create({ model: 'm', messages: hello }).catch(() => {})
    assert.is(backend.calls, 3, 'the whole budget was free each time')
  } finally { await gw.close() }
  const record = await readFile(join(dir, 'gateway-spend.json'), 'utf8').then(t => (JSON.parse(t) as { spent: number }).spent, () => 0)
  assert.is(record, 0)
}))

test.run()
