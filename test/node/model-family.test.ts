/**
 * Model families, pure: the family a GGUF architecture is advertised under, the DHT keys it adds, how
 * a family order resolves to one model of a provider's record (and why a record has none), and the
 * gateway's `family:<name>[@<minContext>]` model form.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { advertisedKeys, capabilityKey, checkFamilyWant, familyModelId, lackingFamilyModel, MAX_MIN_CONTEXT, modelFamily, modelOffer, parseModelSelector, pickFamilyModel } from '../../node/index.ts'
import type { RecordModel } from '../../node/index.ts'
import type { Capabilities } from '../../protocol/index.ts'
import type { RegisteredModel } from '../../sandbox/index.ts'

const model = (id: string, family: string | undefined, context: number): RecordModel => ({ id, digest: '0'.repeat(64), quantisation: 'F32', context, ...(family === undefined ? {} : { family }) })

test('the family is the GGUF architecture, normalised for a capability key', () => {
  const cases: Array<[string, string]> = [
    ['llama', 'llama'],
    ['Qwen2', 'qwen2'],
    ['gpt-oss', 'gpt-oss'],
    ['jina-bert-v2', 'jina-bert-v2'],
    ['t5/encoder', 't5-encoder'],
    ['  phi3  ', 'phi3'],
    ['../..', ''],
    ['***', ''],
    ['x'.repeat(100), 'x'.repeat(64)]
  ]
  for (const [architecture, want] of cases) assert.is(modelFamily(architecture), want, architecture)
  assert.is(capabilityKey({ kind: 'family', family: 'llama' }), '/clawnode/cap/1/family/llama')
})

test('a registered model is offered with its family; each offered family is one DHT key', () => {
  const registered = { id: 'tiny', sha256: 'a'.repeat(64), quantisation: 'F32', contextLength: 2048, architecture: 'LLaMA' } as RegisteredModel
  assert.equal(modelOffer(registered), { id: 'tiny', digest: 'a'.repeat(64), quantisation: 'F32', context: 2048, family: 'llama' })
  const caps: Capabilities = {
    clawnodeVersion: '0.1.0', cpuCores: 1, memoryBytes: 0, gpus: [], runtimes: [], images: [],
    models: [model('a', 'llama', 1024), model('b', 'llama', 4096), model('c', 'Qwen2', 8192), model('d', undefined, 512), model('e', '///', 512)],
    prices: { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond: 0, perGbSecond: 0 }, maxConcurrentJobs: 1
  }
  assert.equal(advertisedKeys(caps).filter(k => k.includes('/family/')), ['/clawnode/cap/1/family/llama', '/clawnode/cap/1/family/qwen2'])
})

test('a family order resolves to the provider\'s model of that family with enough context: the largest, then the first id', () => {
  const models = [model('small', 'llama', 1024), model('big-b', 'llama', 4096), model('big-a', 'llama', 4096), model('other', 'qwen2', 32768), model('bare', undefined, 65536)]
  const cases: Array<[string, number, string | undefined]> = [
    ['llama', 0, 'big-a'],
    ['llama', 1024, 'big-a'],
    ['llama', 4096, 'big-a'],
    ['llama', 4097, undefined],
    ['qwen2', 8192, 'other'],
    ['gemma', 0, undefined]
  ]
  for (const [family, minContext, want] of cases) assert.is(pickFamilyModel(models, checkFamilyWant(family, minContext))?.id, want, `${family}@${minContext}`)
  assert.is(pickFamilyModel([model('x', 'LLaMA', 2048)], checkFamilyWant('Llama'))?.id, 'x', 'families compare normalised')
  assert.is(pickFamilyModel([], checkFamilyWant('llama')), undefined)
  // The order does not matter.
  assert.is(pickFamilyModel([...models].reverse(), checkFamilyWant('llama', 1))?.id, 'big-a')
})

test('a record without a qualifying model says why (explain\'s skipped detail)', () => {
  assert.is(lackingFamilyModel([model('q', 'qwen2', 4096)], checkFamilyWant('llama', 0)), 'its record has no llama model')
  assert.is(lackingFamilyModel([model('small', 'llama', 1024)], checkFamilyWant('llama', 2048)), 'its llama models have less context than 2048 tokens (small 1024)')
})

test('a family request is checked: a name, and a minimum context 0..MAX_MIN_CONTEXT', () => {
  assert.equal(checkFamilyWant('Llama'), { family: 'llama', minContext: 0 })
  for (const [family, minContext] of [['', 0], ['///', 0], ['llama', -1], ['llama', 1.5], ['llama', MAX_MIN_CONTEXT + 1], ['x'.repeat(1000), 0]] as Array<[string, number]>) {
    try {
      checkFamilyWant(family, minContext)
      assert.unreachable(`${family}@${minContext} was accepted`)
    } catch (err) {
      assert.is((err as Error).name, 'InvalidModelFamilyError')
    }
  }
})

test('the gateway\'s model: an id, family:<name> or family:<name>@<minContext>', () => {
  assert.equal(parseModelSelector('tiny'), { model: 'tiny' })
  assert.equal(parseModelSelector('family:llama'), { family: 'llama', minContext: 0 })
  assert.equal(parseModelSelector('family:llama@4096'), { family: 'llama', minContext: 4096 })
  assert.is(familyModelId('llama'), 'family:llama')
  for (const bad of ['family:', 'family:@4096', 'family:llama@', 'family:llama@4k', 'family:llama@-1', 'family:llama@9999999999']) {
    try {
      parseModelSelector(bad)
      assert.unreachable(`${bad} was accepted`)
    } catch (err) {
      assert.is((err as Error).name, 'InvalidModelFamilyError', bad)
    }
  }
})

test.run()
