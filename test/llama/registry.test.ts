/**
 * The model registry on generated GGUF files (scripts/gen-gguf.ts): a good model is listed with the
 * metadata its header gives (architecture, quantisation, parameters, context, chat template, sha256);
 * files that would abort llama.cpp (duplicate token strings, no head count; a negative RMS-norm epsilon
 * at the first decode) or that are truncated or not GGUF at all are listed as broken with the reason,
 * without ever being loaded.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { scanModels } from '../../sandbox/llama/registry.ts'
import { tempDir } from '../helpers.ts'

const lenPrefixed = (s: string): Buffer => {
  const b = Buffer.alloc(8 + Buffer.byteLength(s))
  b.writeBigUInt64LE(BigInt(Buffer.byteLength(s)))
  b.write(s, 8)
  return b
}
const patch = (buf: Buffer, from: Buffer, to: Buffer): Buffer => {
  const i = buf.indexOf(from)
  if (i < 0 || to.length !== from.length) throw new Error('patch target not found')
  const out = Buffer.from(buf)
  to.copy(out, i)
  return out
}

test('good models are listed with their metadata; broken ones with the reason, never loaded', async () => {
  const data = await tempDir()
  const models = join(data, 'models')
  await mkdir(models)
  const tiny = join(models, 'tiny.gguf')
  const made = generateModel({ ...PRESETS.tiny!, name: 'clawnode-test-tiny', seed: 1, eos: 'never' }, tiny)
  const good = await readFile(tiny)
  await writeFile(join(models, 'truncated.gguf'), good.subarray(0, good.length >> 1))
  await writeFile(join(models, 'cut-header.gguf'), good.subarray(0, 200))
  await writeFile(join(models, 'duplicate-token.gguf'), patch(good, Buffer.concat([lenPrefixed('A'), lenPrefixed('B')]), Buffer.concat([lenPrefixed('B'), lenPrefixed('B')])))
  await writeFile(join(models, 'no-heads.gguf'), patch(good, lenPrefixed('llama.attention.head_count'), lenPrefixed('llama.attention.xead_count')))
  await writeFile(join(models, 'not-gguf.gguf'), patch(good, Buffer.from('GGUF'), Buffer.from('GGUX')))
  const eps = Buffer.from('llama.attention.layer_norm_rms_epsilon')
  const negativeEps = Buffer.from(good)
  negativeEps.writeFloatLE(-1e-5, good.indexOf(eps) + eps.length + 4)
  await writeFile(join(models, 'negative-eps.gguf'), negativeEps)
  await writeFile(join(models, 'notes.txt'), 'not a model')

  const registry = await scanModels(data)
  assert.equal(registry.models.map(m => m.id), ['tiny'])
  const m = registry.models[0]!
  assert.is(m.architecture, 'llama')
  assert.is(m.name, 'clawnode-test-tiny')
  assert.is(m.quantisation, 'F32')
  assert.is(m.parameterCount, made.params)
  assert.is(m.contextLength, 2048)
  assert.is(m.hasChatTemplate, true)
  assert.equal(m.shape, { layers: 4, embeddingLength: 128, headCount: 4, headCountKv: 2, keyLength: 32, valueLength: 32, vocabularySize: made.vocab })
  assert.is(m.sizeBytes, good.length)
  assert.is(m.sha256, createHash('sha256').update(good).digest('hex'))

  const why = Object.fromEntries(registry.broken.map(b => [b.id, `${b.error.name}: ${b.error.message}`]))
  assert.equal(Object.keys(why).sort(), ['cut-header', 'duplicate-token', 'negative-eps', 'no-heads', 'not-gguf', 'truncated'])
  assert.match(why['negative-eps'] ?? '', /BrokenModelError: .*layer_norm_rms_epsilon is -0\.0000099.*aborts at the first decode/)
  assert.match(why['duplicate-token'] ?? '', /BrokenModelError: .*the token "B" twice/)
  assert.match(why['no-heads'] ?? '', /BrokenModelError: .*llama\.attention\.head_count is missing/)
  assert.match(why.truncated ?? '', /BrokenModelError: .*past the end of the file/)
  assert.match(why['cut-header'] ?? '', /BrokenModelError/)
  assert.match(why['not-gguf'] ?? '', /BrokenModelError: .*not a readable GGUF file/)
  for (const b of registry.broken) assert.ok(b.error.hint.length > 0)
})

test('models named in the config: relative to the data dir or absolute; a missing one is reported, not fatal', async () => {
  const data = await tempDir()
  const elsewhere = await tempDir()
  generateModel({ ...PRESETS.tiny!, name: 'a', seed: 1, eos: 'never' }, join(data, 'here.gguf'))
  generateModel({ ...PRESETS.tiny!, name: 'b', seed: 2, eos: 'never' }, join(elsewhere, 'there.gguf'))
  const registry = await scanModels(data, [{ path: 'here.gguf' }, { id: 'far', path: join(elsewhere, 'there.gguf') }, { id: 'gone', path: 'missing.gguf' }])
  assert.equal(registry.models.map(m => m.id), ['here', 'far'])
  assert.equal(registry.broken.map(b => b.id), ['gone'])
  assert.is(registry.broken[0]?.error.name, 'BrokenModelError')
  assert.match(registry.broken[0]?.error.message ?? '', /missing\.gguf does not exist/)
})

test('the generator is deterministic: same arguments, same bytes; another seed, other bytes', async () => {
  const dir = await tempDir()
  const cfg = { ...PRESETS.tiny!, name: 'x', seed: 7, eos: 'never' as const }
  generateModel(cfg, join(dir, 'a.gguf'))
  generateModel(cfg, join(dir, 'b.gguf'))
  generateModel({ ...cfg, seed: 8 }, join(dir, 'c.gguf'))
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async n => await readFile(join(dir, `${n}.gguf`))))
  assert.ok(a!.equals(b!))
  assert.not.ok(a!.equals(c!))
})

test.run()
