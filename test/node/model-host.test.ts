/**
 * The model host's memory budget. With a fake loader (models as in-memory doubles with set sizes):
 * least recently used idle models are closed first and only as many as needed; a model with a chat in
 * progress, or just handed out by get(), is never closed under it; when busy models hold the memory
 * a request waits (bounded, abortable) and then fails with ModelMemoryBusyError; a model larger than
 * the budget is refused with ModelTooLargeError; a model that crashes is dropped and frees its memory.
 * With real model processes (generated tiny GGUFs, llama.cpp on the CPU): a budget that holds one
 * model closes the first when the second loads, and a model that loads but aborts llama.cpp at its
 * first decode is reported as ModelCrashedError and dropped while another keeps serving.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { createModelHost, fitModels } from '../../node/model-host.ts'
import { estimateModelMemory } from '../../sandbox/llama/memory.ts'
import { inspectModelFile } from '../../sandbox/llama/model-file.ts'
import { ModelCrashedError } from '../../sandbox/llama/runner.ts'
import { bounded, rejectsWith, setup, tempDir } from '../helpers.ts'
import type { ModelHostInit } from '../../node/model-host.ts'
import type { LoadedModel, RegisteredModel } from '../../sandbox/llama/index.ts'

const MIB = 1024 * 1024
const registered = (id: string): RegisteredModel => ({ id, path: `/models/${id}.gguf` }) as unknown as RegisteredModel
const messages = [{ role: 'user' as const, content: 'hi' }]
const params = { maxTokens: 4 }

interface Fake { model: LoadedModel, finish: () => void, crash: () => void, closed: boolean }

/** A host over fake models of the given sizes (MiB); `events` records loads and closes in order. */
function fakeHost (sizes: Record<string, number>, budgetMib: number, init: Partial<ModelHostInit> = {}): { host: ReturnType<typeof createModelHost>, events: string[], fakes: Map<string, Fake> } {
  const events: string[] = []
  const fakes = new Map<string, Fake>()
  const load = async (m: RegisteredModel): Promise<LoadedModel> => {
    events.push(`load ${m.id}`)
    await new Promise(resolve => setTimeout(resolve, 5))
    const exited = Promise.withResolvers<Error>()
    let gates: Array<PromiseWithResolvers<void>> = []
    const fake: Fake = {
      closed: false,
      finish: () => { for (const g of gates) g.resolve(); gates = [] },
      crash: () => {
        const err = new ModelCrashedError(m.path, 'SIGABRT')
        for (const g of gates) g.reject(err)
        gates = []
        fake.closed = true
        exited.resolve(err)
      },
      model: {
        path: m.path,
        contextSize: 1024,
        pid: undefined,
        exited: exited.promise,
        residentBytes: async () => undefined,
        async chat () {
          if (fake.closed) throw new Error(`chat on closed model ${m.id}`)
          const gate = Promise.withResolvers<void>()
          gates.push(gate)
          await gate.promise
          return { text: m.id, stopReason: 'maxTokens', usage: { promptTokens: 1, completionTokens: 4 } }
        },
        async close () {
          if (fake.closed) return
          fake.closed = true
          events.push(`close ${m.id}`)
          exited.resolve(new Error('ended'))
        }
      }
    }
    fakes.set(m.id, fake)
    return fake.model
  }
  const host = createModelHost(Object.keys(sizes).map(registered), { memoryBytes: budgetMib * MIB, estimate: (m) => (sizes[m.id] ?? 0) * MIB, load, ...init })
  return { host, events, fakes }
}

/** Gets a model and runs one chat on it to the end. */
async function use (h: ReturnType<typeof fakeHost>, id: string): Promise<void> {
  const m = await h.host.get(id)
  const done = m.chat(messages, params)
  h.fakes.get(id)?.finish()
  await done
}

const unit = suite('model host: memory budget (fake loader)')

unit('the least recently used idle model is closed first, and only as many as the new one needs', bounded(10_000, async () => {
  const h = fakeHost({ a: 30, b: 30, c: 30, d: 60 }, 100)
  await use(h, 'a')
  await use(h, 'b')
  await use(h, 'c')
  await use(h, 'a') // b is now the least recently used, then c
  assert.equal(h.events, ['load a', 'load b', 'load c'])
  await use(h, 'd') // needs 60 of 100 with 90 in use: b and c go, a stays
  assert.equal(h.events, ['load a', 'load b', 'load c', 'close b', 'close c', 'load d'])
  assert.equal(h.host.loaded().map(l => l.id).sort(), ['a', 'd'])
  assert.is(h.host.memory().usedBytes, 90 * MIB)
  await h.host.close()
  assert.ok(h.events.includes('close a') && h.events.includes('close d'))
}))

unit('a model with a chat in progress is not closed: the new one waits for the chat to end', bounded(10_000, async () => {
  const h = fakeHost({ a: 60, b: 60 }, 100)
  const a = await h.host.get('a')
  const chat = a.chat(messages, params)
  let bReady = false
  const b = h.host.get('b').then((m) => { bReady = true; return m })
  await new Promise(resolve => setTimeout(resolve, 50))
  assert.is(bReady, false, 'b waits while a serves')
  assert.equal(h.events, ['load a'])
  h.fakes.get('a')?.finish()
  assert.is((await chat).text, 'a', 'the chat on a ends normally')
  await b
  assert.equal(h.events, ['load a', 'close a', 'load b'])
  await h.host.close()
}))

unit('a model just handed out by get() is not closed before its caller chats on it', bounded(10_000, async () => {
  const h = fakeHost({ a: 60, b: 60 }, 100)
  const a = await h.host.get('a')
  const b = h.host.get('b') // would close a if a were idle
  const chat = a.chat(messages, params)
  await new Promise(resolve => setTimeout(resolve, 20))
  h.fakes.get('a')?.finish()
  assert.is((await chat).text, 'a')
  await b
  assert.equal(h.events, ['load a', 'close a', 'load b'])
  await h.host.close()
}))

unit('when busy models hold the memory, the wait is bounded (ModelMemoryBusyError) and abortable', bounded(10_000, async () => {
  const h = fakeHost({ a: 60, b: 60 }, 100, { memoryWaitMs: 100 })
  const a = await h.host.get('a')
  const chat = a.chat(messages, params)
  const started = Date.now()
  try {
    await h.host.get('b')
    assert.unreachable('b should not load beside a busy a')
  } catch (err) {
    assert.is((err as Error).name, 'ModelMemoryBusyError')
    assert.is((err as { retryable: boolean }).retryable, true)
    assert.ok(Date.now() - started >= 90, `gave up after ${Date.now() - started} ms`)
  }
  await rejectsWith(h.host.get('b', { signal: AbortSignal.timeout(30) }), 'TimeoutError')
  assert.equal(h.events, ['load a'])
  assert.ok(h.host.has('b'), 'a model that had to wait is still offered')
  h.fakes.get('a')?.finish()
  await chat
  await use(h, 'b')
  assert.equal(h.events, ['load a', 'close a', 'load b'])
  await h.host.close()
}))

unit('concurrent requests for one model load it once', bounded(10_000, async () => {
  const h = fakeHost({ a: 60 }, 100)
  const [x, y] = await Promise.all([h.host.get('a'), h.host.get('a')])
  assert.is(x.path, y.path)
  assert.equal(h.events, ['load a'])
  await h.host.close()
}))

unit('a model larger than the budget is refused with ModelTooLargeError and never loaded', bounded(10_000, async () => {
  const h = fakeHost({ small: 60, huge: 150 }, 100)
  assert.equal(h.host.offered().map(m => m.id), ['small'])
  assert.is(h.host.has('huge'), false)
  const [refused] = h.host.refused()
  assert.is(refused?.id, 'huge')
  assert.is(refused?.error.name, 'ModelTooLargeError')
  assert.match(refused?.error.message ?? '', /needs about 150 MiB, more than the 100 MiB/)
  assert.match(refused?.error.hint ?? '', /provider\.modelMemoryMb.*smaller quantisation/)
  await rejectsWith(h.host.get('huge'), 'ModelTooLargeError')
  await rejectsWith(h.host.get('nothing'), 'ModelNotServedError')
  assert.equal(h.events, [])
  const fit = fitModels([registered('small'), registered('huge')], 100 * MIB, { estimate: (m) => (m.id === 'huge' ? 150 : 60) * MIB })
  assert.equal([fit.offered.map(m => m.id), fit.refused.map(r => r.id)], [['small'], ['huge']])
}))

unit('a model that crashes while serving is dropped from the offer and frees its memory', bounded(10_000, async () => {
  const h = fakeHost({ a: 60, b: 60 }, 100)
  const a = await h.host.get('a')
  const chat = a.chat(messages, params)
  const b = h.host.get('b') // waits for a
  h.fakes.get('a')?.crash()
  await rejectsWith(chat, 'ModelCrashedError')
  assert.is(h.host.has('a'), false)
  assert.equal(h.host.offered().map(m => m.id), ['b'])
  await b // a's memory is free: b loads without closing anything
  assert.equal(h.events, ['load a', 'load b'])
  await rejectsWith(h.host.get('a'), 'ModelNotServedError')
  await h.host.close()
}))

unit('after close, get() fails with ModelHostClosedError and waiting requests end', bounded(10_000, async () => {
  const h = fakeHost({ a: 60, b: 60 }, 100)
  const a = await h.host.get('a')
  const chat = a.chat(messages, params)
  const b = h.host.get('b')
  await new Promise(resolve => setTimeout(resolve, 10))
  const closed = h.host.close()
  await rejectsWith(b, 'ModelHostClosedError')
  await closed
  await rejectsWith(h.host.get('a'), 'ModelHostClosedError')
  h.fakes.get('a')?.finish()
  await chat.catch(() => {})
  assert.equal(h.events, ['load a', 'close a'])
}))

unit.run()

const real = suite<{ dir: string, good: RegisteredModel, other: RegisteredModel }>('model host: real model processes', {} as { dir: string, good: RegisteredModel, other: RegisteredModel })

real.before(setup(async (ctx) => {
  ctx.dir = await tempDir()
  generateModel({ ...PRESETS.tiny!, name: 'one', seed: 1, eos: 'never' }, join(ctx.dir, 'one.gguf'))
  generateModel({ ...PRESETS.tiny!, name: 'two', seed: 2, eos: 'never' }, join(ctx.dir, 'two.gguf'))
  ctx.good = { id: 'one', ...await inspectModelFile(join(ctx.dir, 'one.gguf')) }
  ctx.other = { id: 'two', ...await inspectModelFile(join(ctx.dir, 'two.gguf')) }
}))

const alive = (pid: number | undefined): boolean => {
  try { process.kill(pid ?? 0, 0); return true } catch { return false }
}

real('a budget that holds one model: loading the second closes the first; memory is measured', bounded(90_000, async (ctx) => {
  const contextSize = 1024
  const one = estimateModelMemory(ctx.good, contextSize)
  const host = createModelHost([ctx.good, ctx.other], { threads: 1, contextSize, memoryBytes: Math.floor(one * 1.5) })
  try {
    const a = await host.get('one')
    assert.is((await a.chat(messages, params)).usage.completionTokens, 4)
    const [stats] = host.loaded()
    assert.is(stats?.id, 'one')
    // The estimate is close to what the process holds (VmRSS), and on the safe side.
    assert.ok((stats?.residentBytes ?? 0) > 50 * MIB, `resident ${stats?.residentBytes}`)
    assert.ok((stats?.residentBytes ?? 0) <= one * 1.1, `resident ${stats?.residentBytes} vs estimate ${one}`)
    const b = await host.get('two')
    assert.is((await b.chat(messages, params)).usage.completionTokens, 4)
    assert.equal(host.loaded().map(l => l.id), ['two'])
    assert.is(alive(a.pid), false, 'the first model\'s process has ended')
    assert.ok(alive(b.pid))
    assert.ok(host.memory().usedBytes <= host.memory().budgetBytes)
  } finally {
    await host.close()
  }
}))

real('a model that aborts llama.cpp at its first decode is reported crashed and dropped; another keeps serving', bounded(90_000, async (ctx) => {
  // A negative RMS-norm epsilon loads, and the first decode hits GGML_ASSERT(eps >= 0.0f) in ggml-cpu.
  // The registry knows this one and refuses it; here it stands for a decode-time abort it does not know.
  const good = await readFile(ctx.good.path)
  const key = Buffer.from('llama.attention.layer_norm_rms_epsilon')
  const at = good.indexOf(key) + key.length
  assert.is(good.readUInt32LE(at), 6, 'an f32 value follows the key')
  const bad = Buffer.from(good)
  bad.writeFloatLE(-1e-5, at + 4)
  await writeFile(join(ctx.dir, 'bad.gguf'), bad)
  const host = createModelHost([ctx.good, { ...ctx.good, id: 'bad', path: join(ctx.dir, 'bad.gguf') }], { threads: 1, contextSize: 1024 })
  try {
    const m = await host.get('bad') // loads fine
    try {
      await m.chat(messages, params)
      assert.unreachable('the first decode should abort the model process')
    } catch (err) {
      assert.is((err as Error).name, 'ModelCrashedError')
      assert.match((err as Error).message, /SIGABRT.*eps >= 0/)
    }
    assert.is(host.has('bad'), false)
    assert.equal(host.offered().map(m => m.id), ['one'])
    await rejectsWith(host.get('bad'), 'ModelNotServedError')
    const r = await (await host.get('one')).chat(messages, params)
    assert.is(r.usage.completionTokens, 4)
    assert.equal(host.loaded().map(l => l.id), ['one'])
  } finally {
    await host.close()
  }
}))

real.run()
