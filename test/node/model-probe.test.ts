/**
 * The model host's probe: before a provider advertises its models, each is loaded and decodes one
 * token. With a fake loader: a model that fails to load or crashes at its first decode is withdrawn
 * (onWithdraw) and reported broken with the phase, the good one is probed and closed again; the kept
 * results spare the next start a probe and keep the bad ones withdrawn; a probe out of time withdraws
 * the model for this run only; a model that crashes while serving is withdrawn and stays so at the
 * next start. With real llama.cpp: generated files that pass the header checks but abort at load and
 * at the first decode are withdrawn while the good model keeps being offered and serves.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { createModelHost } from '../../node/model-host.ts'
import { inspectModelFile } from '../../sandbox/llama/model-file.ts'
import { openProbeStore } from '../../sandbox/llama/probe-store.ts'
import { ModelCrashedError } from '../../sandbox/llama/runner.ts'
import { writeDecodeAbortModel, writeLoadAbortModel } from '../llama/bad-gguf.ts'
import { bounded, rejectsWith, setup, tempDir } from '../helpers.ts'
import type { ModelHostInit } from '../../node/model-host.ts'
import type { LoadedModel, RegisteredModel } from '../../sandbox/llama/index.ts'

const messages = [{ role: 'user' as const, content: 'hi' }]
const model = (id: string): RegisteredModel => ({ id, path: `/models/${id}.gguf`, sha256: createHash('sha256').update(id).digest('hex'), sizeBytes: 1000 }) as unknown as RegisteredModel

/**
 * Fake models that behave as their names say: `load…` aborts while loading, `decode…` at its first
 * chat, `hang…` never finishes loading; the others answer, until their id is put in `crashNext`.
 */
function fakes (ids: string[], init: Partial<ModelHostInit> = {}): { host: ReturnType<typeof createModelHost>, events: string[], withdrawn: string[], crashNext: Set<string> } {
  const events: string[] = []
  const withdrawn: string[] = []
  const crashNext = new Set<string>()
  const load = async (m: RegisteredModel, o: { signal: AbortSignal }): Promise<LoadedModel> => {
    events.push(`load ${m.id}`)
    if (m.id.startsWith('load')) throw new ModelCrashedError(m.path, 'SIGABRT: GGML_ASSERT(load) failed', 'SIGABRT')
    if (m.id.startsWith('hang')) return await new Promise((_resolve, reject) => { o.signal.addEventListener('abort', () => { reject(o.signal.reason) }) })
    const exited = Promise.withResolvers<Error>()
    let ended = false
    return {
      path: m.path,
      contextSize: 1024,
      pid: undefined,
      exited: exited.promise,
      residentBytes: async () => undefined,
      async chat () {
        if (m.id.startsWith('decode') || crashNext.has(m.id)) {
          const err = new ModelCrashedError(m.path, 'SIGABRT: GGML_ASSERT(decode) failed', 'SIGABRT')
          ended = true
          exited.resolve(err)
          throw err
        }
        return { text: m.id, stopReason: 'maxTokens', usage: { promptTokens: 1, completionTokens: 1 } }
      },
      async close () {
        if (ended) return
        ended = true
        events.push(`close ${m.id}`)
        exited.resolve(new Error('ended'))
      }
    }
  }
  const host = createModelHost(ids.map(model), { memoryBytes: 1e12, estimate: () => 1, load, onWithdraw: (id, error) => { withdrawn.push(`${id}: ${error.message}`) }, ...init })
  return { host, events, withdrawn, crashNext }
}

const unit = suite('model host: probes (fake loader)')

unit('a model that fails to load or crashes at its first decode is withdrawn and reported; the good one passes and is closed', bounded(10_000, async () => {
  const dir = await tempDir()
  const f = fakes(['good', 'load-bad', 'decode-bad'], { probes: await openProbeStore(dir) })
  try {
    const report = await f.host.probe()
    assert.equal(report.map(r => [r.id, r.ok, r.cached]), [['good', true, false], ['load-bad', false, false], ['decode-bad', false, false]])
    assert.equal(f.host.offered().map(m => m.id), ['good'])
    assert.equal(f.host.broken().map(b => [b.id, b.phase, b.error.name]), [['load-bad', 'load', 'ModelProbeFailedError'], ['decode-bad', 'decode', 'ModelProbeFailedError']])
    assert.match(f.host.broken()[0]?.error.message ?? '', /^The model load-bad failed to load, so it is not advertised: .*GGML_ASSERT\(load\) failed\)$/)
    assert.match(f.host.broken()[1]?.error.message ?? '', /^The model decode-bad failed at its first decode, so it is not advertised: .*GGML_ASSERT\(decode\) failed/)
    assert.match(f.host.broken()[1]?.error.hint ?? '', /replace it with a good copy/)
    assert.equal(f.withdrawn.map(w => w.split(':')[0]), ['load-bad', 'decode-bad'])
    // One at a time, and the good model's process is closed once probed.
    assert.equal(f.events, ['load good', 'close good', 'load load-bad', 'load decode-bad'])
    assert.equal(f.host.loaded(), [])
    await rejectsWith(f.host.get('decode-bad'), 'ModelNotServedError')
    assert.is((await (await f.host.get('good')).chat(messages, { maxTokens: 1 })).text, 'good')
  } finally {
    await f.host.close()
  }
  // The next start: nothing is loaded to probe, the bad ones stay withdrawn, the good one offered.
  const next = fakes(['good', 'load-bad', 'decode-bad'], { probes: await openProbeStore(dir) })
  try {
    assert.equal(next.host.offered().map(m => m.id), ['good'])
    assert.equal(next.host.broken().map(b => [b.id, b.phase]), [['load-bad', 'load'], ['decode-bad', 'decode']])
    assert.equal((await next.host.probe()).map(r => [r.id, r.ok, r.cached]), [['good', true, true]])
    assert.equal(next.events, [])
    assert.equal(next.withdrawn, [], 'a model never offered is not withdrawn')
  } finally {
    await next.host.close()
  }
}))

unit('a probe that runs out of time withdraws the model for this run only', bounded(10_000, async () => {
  const dir = await tempDir()
  const f = fakes(['hang', 'good'], { probes: await openProbeStore(dir), probeTimeoutMs: 100 })
  try {
    const report = await f.host.probe()
    assert.equal(report.map(r => [r.id, r.ok]), [['hang', false], ['good', true]])
    assert.match(report[0]?.error?.message ?? '', /^The model hang failed to load, so it is not advertised: Probing the model hang took longer than 100 ms$/)
    assert.equal(f.host.offered().map(m => m.id), ['good'])
  } finally {
    await f.host.close()
  }
  const store = await openProbeStore(dir)
  assert.is(store.get(model('hang')), undefined, 'a timeout says nothing about the file: not kept')
  assert.is(store.get(model('good'))?.ok, true)
}))

unit('a model that crashes while serving is withdrawn at once, and stays withdrawn at the next start', bounded(10_000, async () => {
  const dir = await tempDir()
  const f = fakes(['a', 'b'], { probes: await openProbeStore(dir) })
  try {
    await f.host.probe()
    f.crashNext.add('a')
    await rejectsWith((await f.host.get('a')).chat(messages, { maxTokens: 4 }), 'ModelCrashedError')
    assert.equal(f.host.offered().map(m => m.id), ['b'])
    assert.equal(f.withdrawn.map(w => w.split(':')[0]), ['a'])
    assert.match(f.withdrawn[0] ?? '', /^a: The model a crashed while serving/)
    assert.equal(f.host.broken().map(b => [b.id, b.phase]), [['a', 'serving']])
  } finally {
    await f.host.close()
  }
  // (The result is written in the background: the host's close does not wait for it.)
  let kept
  for (let i = 0; i < 50 && kept?.ok !== false; i++) {
    kept = (await openProbeStore(dir)).get(model('a'))
    if (kept?.ok !== false) await new Promise(resolve => setTimeout(resolve, 20))
  }
  assert.is(kept?.phase, 'serving')
  const next = fakes(['a', 'b'], { probes: await openProbeStore(dir) })
  assert.equal(next.host.offered().map(m => m.id), ['b'])
  await next.host.close()
}))

unit.run()

const real = suite<{ dir: string }>('model host: probes with real llama.cpp', { dir: '' })

real.before(setup(async (ctx) => {
  ctx.dir = await tempDir()
  generateModel({ ...PRESETS.tiny!, name: 'good', seed: 1, eos: 'never' }, join(ctx.dir, 'good.gguf'))
  await writeLoadAbortModel(join(ctx.dir, 'good.gguf'), join(ctx.dir, 'aborts-at-load.gguf'))
  await writeDecodeAbortModel(join(ctx.dir, 'good.gguf'), join(ctx.dir, 'aborts-at-decode.gguf'))
}))

real('files that pass the header checks but abort llama.cpp at load or at the first decode are withdrawn; the good model serves', bounded(120_000, async (ctx) => {
  const models: RegisteredModel[] = []
  for (const id of ['good', 'aborts-at-load', 'aborts-at-decode']) models.push({ id, ...await inspectModelFile(join(ctx.dir, `${id}.gguf`)) })
  const withdrawn: string[] = []
  const host = createModelHost(models, { threads: 1, contextSize: 512, probes: await openProbeStore(ctx.dir), onWithdraw: (id) => { withdrawn.push(id) } })
  try {
    const report = await host.probe()
    assert.equal(report.map(r => [r.id, r.ok]), [['good', true], ['aborts-at-load', false], ['aborts-at-decode', false]])
    assert.equal(host.offered().map(m => m.id), ['good'])
    assert.equal(withdrawn, ['aborts-at-load', 'aborts-at-decode'])
    const [atLoad, atDecode] = host.broken()
    assert.is(atLoad?.phase, 'load')
    assert.match(atLoad?.error.message ?? '', /SIGABRT.*GGML_ASSERT\(hparams\.rope_scaling_type_train != LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED\)/)
    assert.is(atDecode?.phase, 'decode')
    assert.match(atDecode?.error.message ?? '', /SIGABRT.*unsupported types/)
    assert.equal(host.loaded(), [], 'probed models are closed again')
    const r = await (await host.get('good')).chat(messages, { maxTokens: 4 })
    assert.is(r.usage.completionTokens, 4)
  } finally {
    await host.close()
  }
  // Kept: the next start probes nothing and offers the same.
  const next = createModelHost(models, { threads: 1, contextSize: 512, probes: await openProbeStore(ctx.dir), load: async () => { throw new Error('nothing should load') } })
  assert.equal((await next.probe()).map(r => [r.id, r.cached]), [['good', true]])
  assert.equal(next.offered().map(m => m.id), ['good'])
  assert.equal(next.broken().map(b => b.id), ['aborts-at-load', 'aborts-at-decode'])
  await next.close()
}))

real.run()
