/**
 * The gateway of a running `clawnode start --gateway` takes its spending controls from the config's
 * gateway section: with at most 5 millicredits a request and 10 a day, two requests are let through
 * (each holds its 5 while it looks for a provider) and a third is refused for the day's budget.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bounded, startNode, stopNode } from '../helpers.ts'

test('clawnode start --gateway applies the config\'s gateway.maxRequestPrice and gateway.dailyBudget', bounded(60_000, async () => {
  const node = await startNode(['--gateway', '0'], { config: { chain: { mode: 'off' }, gateway: { maxRequestPrice: 5, dailyBudget: 10 } } })
  const held = new AbortController()
  try {
    const token = (await readFile(join(node.data, 'gateway.token'), 'utf8')).trim()
    const ask = async (signal: AbortSignal): Promise<Response> => await fetch(`${node.gateway ?? ''}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
      signal
    })
    // No provider is known to this node, so these two stay in discovery, each holding 5 of the 10.
    const pending = [ask(held.signal), ask(held.signal)].map(async p => await p.then(r => r.status, () => 'aborted'))
    // (With the default ceiling of 1,000,000 a request would not fit the budget of 10 at all.)
    // Until both hold theirs, a third may get in first: it is then given up (its 5 go back) and asked again.
    let third: Response | undefined
    for (let i = 0; i < 20 && third === undefined; i++) {
      third = await ask(AbortSignal.timeout(2_000)).catch(() => undefined)
    }
    assert.is(third?.status, 429)
    if (third === undefined) return
    const body = await third.json() as { error: { code: string, message: string } }
    assert.is(body.error.code, 'daily_budget_exceeded', body.error.message)
    held.abort()
    assert.equal(await Promise.all(pending), ['aborted', 'aborted'], 'the first two were held, not refused')
  } finally {
    held.abort()
    await stopNode(node)
  }
}))

test.run()
