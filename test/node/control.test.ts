/**
 * The control API on a real unix socket: JSON GETs, streamed POSTs (events in order, then the result),
 * errors carried by name and hint, a client that goes away aborts the work, bad bodies are refused,
 * and a second node on the same data dir is refused.
 */
import { request } from 'node:http'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CONTROL_SOCKET, controlRequest, controlStream, startControlServer } from '../../node/control.ts'
import { ClawnodeError } from '../../protocol/index.ts'
import { bounded, rejectsWith, tempDir } from '../helpers.ts'

const post = async (dir: string, path: string, body: string): Promise<number | undefined> => await new Promise((resolve, reject) => {
  const req = request({ socketPath: join(dir, CONTROL_SOCKET), path, method: 'POST' }, (res) => { res.resume(); resolve(res.statusCode) })
  req.on('error', reject)
  req.end(body)
})

test('GET answers JSON; POST streams events then the result; errors keep their name and hint', bounded(20_000, async () => {
  const dir = await tempDir()
  const server = await startControlServer(dir, { '/status': () => ({ ok: true }) }, {
    '/count': async (body, io) => {
      const n = (body as { n: number }).n
      for (let i = 0; i < n; i++) io.send({ type: 'tick', i })
      return { total: n }
    },
    '/fail': async () => { throw new ClawnodeError('it broke', { hint: 'fix it', retryable: true }) }
  })
  try {
    assert.equal(await controlRequest(dir, '/status'), { ok: true })
    const events = controlStream(dir, '/count', { n: 3 })
    const ticks: unknown[] = []
    let next = await events.next()
    while (next.done !== true) { ticks.push(next.value.i); next = await events.next() }
    assert.equal(ticks, [0, 1, 2])
    assert.equal(next.value, { type: 'result', total: 3 })
    try {
      for await (const _ of controlStream(dir, '/fail', {})) assert.unreachable('no events')
      assert.unreachable('the error event was not thrown')
    } catch (err) {
      assert.is((err as Error).name, 'ClawnodeError')
      assert.is((err as ClawnodeError).hint, 'fix it')
      assert.is((err as ClawnodeError).retryable, true)
    }
    assert.is(await post(dir, '/count', 'not json'), 400)
    assert.is(await post(dir, '/nowhere', '{}'), 404)
    await rejectsWith(startControlServer(dir, {}), 'ClawnodeError')
  } finally {
    await server.close()
  }
  await rejectsWith(controlRequest(dir, '/status'), 'NoRunningNodeError')
}))

test('a client that goes away aborts the work it asked for', bounded(20_000, async () => {
  const dir = await tempDir()
  const { promise: aborted, resolve } = Promise.withResolvers<unknown>()
  const server = await startControlServer(dir, {}, {
    '/wait': async (_body, io) => {
      io.send({ type: 'started' })
      await new Promise((_resolve, reject) => { io.signal.addEventListener('abort', () => { resolve(io.signal.reason); reject(io.signal.reason as Error) }) })
      return {}
    }
  })
  try {
    const controller = new AbortController()
    const events = controlStream(dir, '/wait', {}, { signal: controller.signal })
    assert.is((await events.next()).value?.type, 'started')
    controller.abort()
    await events.next().catch(() => {})
    assert.match(String((await aborted as Error).message), /went away/)
  } finally {
    await server.close()
  }
}))

test.run()
