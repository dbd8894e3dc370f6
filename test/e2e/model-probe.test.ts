/**
 * Bad model files on a running provider (`clawnode start`, real llama.cpp, nodes on loopback). GGUF
 * files that pass the header checks but abort llama.cpp at load and at the first decode: the provider
 * starts, probes them before advertising, serves its good model, and neither its control API nor the
 * signed record it serves over the network ever names the bad ones, while `clawnode caps` lists them
 * (and a file the header checks refuse) as not offered, with why; `clawnode doctor` reports them
 * with the reason and the fix; a restart probes nothing again. A model whose file turns bad while the
 * node runs crashes at its next request and is withdrawn from the published record.
 */
import { readFile, mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { createClawNode } from '../../node/index.ts'
import type { ClawNode } from '../../node/index.ts'
import type { Capabilities } from '../../protocol/index.ts'
import { writeDecodeAbortModel, writeLoadAbortModel } from '../llama/bad-gguf.ts'
import { startConsumerNode, untilDiscovered } from './consumer-node.ts'
import type { ConsumerNode } from './consumer-node.ts'
import { bounded, cli, rejectsWith, setup, startNode, stopNode, tempDir } from '../helpers.ts'
import type { StartedNode } from '../helpers.ts'

interface Ctx { boot: ClawNode, consumer: ConsumerNode }
const s = suite<Ctx>('model probes on a running provider', {} as Ctx)
interface Report { checks: Array<{ name: string, ok: boolean, detail: string, fix?: string }> }
// No chain: these leases are unpaid. One inference thread (provider.modelThreads).
const CONFIG = { chain: { mode: 'off' }, provider: { modelThreads: 1 } }

s.before(setup(async (ctx) => {
  ctx.boot = await createClawNode({ dataDir: await tempDir() })
  await ctx.boot.start()
  ctx.consumer = await startConsumerNode(ctx.boot.getMultiaddrs().map(String))
}))

s.after(async (ctx) => {
  await ctx.consumer?.stop()
  await ctx.boot?.stop()
})

/** What the running node advertises: its control API (`clawnode caps`), and the record it serves over the network. */
async function advertised (ctx: Ctx, provider: StartedNode): Promise<{ control: string[], record: string[], source: string }> {
  const caps = JSON.parse((await cli(['caps', '--json', '--data', provider.data])).stdout) as { capabilities: Capabilities, source: string }
  const record = await ctx.consumer.caps.fetch(peerIdFromString(provider.peerId))
  return { control: caps.capabilities.models.map(m => m.id), record: record.models.map(m => m.id), source: caps.source }
}

const lease = async (ctx: Ctx, model: string): Promise<number> => {
  const r = await ctx.consumer.consumer.leaseInference({ model, messages: [{ role: 'user', content: 'Hello' }], maxTokens: 4, params: { seed: 1 } }, { maxPrice: 1_000_000, artifactsDir: await tempDir() })
  return r.receipt.usage.outputTokens ?? 0
}

s('GGUFs that abort llama.cpp at load and at the first decode: the provider serves its good model, never advertises the bad ones, doctor reports them', bounded(180_000, async (ctx) => {
  const data = await tempDir()
  await mkdir(join(data, 'models'))
  generateModel({ ...PRESETS.tiny!, name: 'served', seed: 5, eos: 'never' }, join(data, 'models', 'served.gguf'))
  await writeLoadAbortModel(join(data, 'models', 'served.gguf'), join(data, 'models', 'aborts-at-load.gguf'))
  await writeDecodeAbortModel(join(data, 'models', 'served.gguf'), join(data, 'models', 'aborts-at-decode.gguf'))
  await writeFile(join(data, 'models', 'junk.gguf'), 'not a GGUF file at all')
  const boot = ctx.boot.getMultiaddrs().map(String)[0] ?? ''
  let provider = await startNode(['--bootstrap', boot], { data, config: CONFIG })
  try {
    assert.ok(provider.keys.includes('/clawnode/cap/1/model/served'))
    assert.equal(provider.keys.filter(k => k.includes('aborts')), [], 'no key of a bad model is announced')
    const offered = await advertised(ctx, provider)
    assert.equal(offered, { control: ['served'], record: ['served'], source: 'running node' })
    // The running node names every model it does not offer, with why: the file the header checks
    // refused as well as those that failed their probe.
    const caps = JSON.parse((await cli(['caps', '--json', '--data', provider.data])).stdout) as { notOffered: Array<{ id: string, reason: string, error: { name: string, message: string } }> }
    const why = new Map(caps.notOffered.map(m => [m.id, m]))
    assert.equal([...why.keys()].sort(), ['aborts-at-decode', 'aborts-at-load', 'junk'])
    assert.is(why.get('junk')?.reason, 'broken')
    assert.is(why.get('junk')?.error.name, 'BrokenModelError')
    assert.match(why.get('junk')?.error.message ?? '', /^The model junk\.gguf cannot be used: /)
    assert.is(why.get('aborts-at-load')?.reason, 'failed its probe')
    assert.match(why.get('aborts-at-load')?.error.message ?? '', /failed to load, so it is not advertised: .*SIGABRT/)
    assert.is(why.get('aborts-at-decode')?.reason, 'failed its probe')
    assert.match((await cli(['caps', '--data', provider.data])).stdout, /not offered: junk \(broken\), aborts-at-(load|decode) \(failed its probe\), aborts-at-(load|decode) \(failed its probe\), see clawnode doctor/)
    await untilDiscovered(ctx.consumer.caps, { kind: 'model', model: 'served' }, 1)
    assert.is(await lease(ctx, 'served'), 4)
    await rejectsWith(lease(ctx, 'aborts-at-decode'), 'NoProviderError')
  } finally {
    assert.is(await stopNode(provider), 0)
  }

  const doctor = JSON.parse((await cli(['doctor', '--json', '--docker-socket', join(data, 'none.sock'), '--data', data])).stdout) as Report
  const check = (id: string): Report['checks'][number] | undefined => doctor.checks.find(c => c.name === `model ${id}`)
  assert.is(check('served')?.ok, true)
  assert.match(check('served')?.detail ?? '', /passed its load probe$/)
  assert.is(check('aborts-at-load')?.ok, false)
  assert.match(check('aborts-at-load')?.detail ?? '', /failed to load, so it is not advertised: .*SIGABRT.*rope_scaling_type_train/)
  assert.match(check('aborts-at-load')?.fix ?? '', /replace it with a good copy .*or remove it.*probed again at the next start/)
  assert.is(check('aborts-at-decode')?.ok, false)
  assert.match(check('aborts-at-decode')?.detail ?? '', /failed at its first decode, so it is not advertised: .*SIGABRT.*unsupported types/)

  // A restart keeps the results: nothing is probed again (the results file is as it was), nothing bad advertised.
  const kept = await readFile(join(data, 'model-probes.json'), 'utf8')
  provider = await startNode(['--bootstrap', boot], { data, config: CONFIG })
  try {
    assert.equal((await advertised(ctx, provider)).record, ['served'])
    assert.is(await readFile(join(data, 'model-probes.json'), 'utf8'), kept)
  } finally {
    assert.is(await stopNode(provider), 0)
  }
}))

s('a model that crashes while serving is withdrawn from the record the running node publishes', bounded(180_000, async (ctx) => {
  const data = await tempDir()
  await mkdir(join(data, 'models'))
  generateModel({ ...PRESETS.tiny!, name: 'steady', seed: 6, eos: 'never' }, join(data, 'models', 'steady.gguf'))
  generateModel({ ...PRESETS.tiny!, name: 'flaky', seed: 7, eos: 'never' }, join(data, 'models', 'flaky.gguf'))
  const provider = await startNode(['--bootstrap', ctx.boot.getMultiaddrs().map(String)[0] ?? ''], { data, config: CONFIG })
  try {
    assert.equal((await advertised(ctx, provider)).record, ['flaky', 'steady'])
    // The file turns bad under the running node (its probe passed; the probe's process has ended, so
    // the next request loads it again): that request crashes it.
    await writeDecodeAbortModel(join(data, 'models', 'flaky.gguf'), join(data, 'flaky.tmp'))
    await rename(join(data, 'flaky.tmp'), join(data, 'models', 'flaky.gguf'))
    await untilDiscovered(ctx.consumer.caps, { kind: 'model', model: 'flaky' }, 1)
    await lease(ctx, 'flaky').then(() => { assert.unreachable('the lease on a crashing model succeeded') }, () => {})
    let now = await advertised(ctx, provider)
    for (let i = 0; i < 50 && now.record.includes('flaky'); i++) {
      await new Promise(resolve => setTimeout(resolve, 200))
      now = await advertised(ctx, provider)
    }
    assert.equal(now, { control: ['steady'], record: ['steady'], source: 'running node' })
    assert.is(await lease(ctx, 'steady'), 4, 'the other model keeps serving')
  } finally {
    assert.is(await stopNode(provider), 0)
  }
  const doctor = JSON.parse((await cli(['doctor', '--json', '--docker-socket', join(data, 'none.sock'), '--data', data])).stdout) as Report
  const flaky = doctor.checks.find(c => c.name === 'model flaky')
  assert.is(flaky?.ok, false)
  assert.match(flaky?.detail ?? '', /crashed while serving, so it is not advertised: .*SIGABRT/)
}))

s.run()
