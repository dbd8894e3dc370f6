/**
 * Kept probe results (<data>/model-probes.json): a result is found again after a restart for the same
 * file content (sha256 and size), and not for a changed file; a failure keeps its phase and reason;
 * an unreadable file means no results (everything is probed again), never a crash; only a file's own
 * fault is kept (an abort is, a SIGKILL or a timeout is not).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isFileFault, ModelProbeFailedError, openProbeStore, PROBE_FILE } from '../../sandbox/llama/probe-store.ts'
import { ModelCrashedError, ModelLoadError } from '../../sandbox/llama/runner.ts'
import { tempDir } from '../helpers.ts'

const good = { id: 'good', sha256: 'a'.repeat(64), sizeBytes: 100 }
const bad = { id: 'bad', sha256: 'b'.repeat(64), sizeBytes: 200 }

test('results are kept by content across a restart; a changed file has none', async () => {
  const dir = await tempDir()
  const store = await openProbeStore(dir)
  assert.is(store.get(good), undefined)
  store.set(good, { ok: true })
  const crash = new ModelCrashedError('/m/bad.gguf', 'SIGABRT: GGML_ASSERT(x) failed', 'SIGABRT')
  store.set(bad, { ok: false, phase: 'decode', error: new ModelProbeFailedError('bad', 'decode', crash, { file: store.path }) })
  await store.save()
  assert.is(store.path, join(dir, PROBE_FILE))

  const again = await openProbeStore(dir)
  assert.is(again.get(good)?.ok, true)
  const failed = again.get(bad)
  assert.is(failed?.ok, false)
  assert.is(failed?.phase, 'decode')
  assert.is(failed?.error?.name, 'ModelProbeFailedError')
  assert.match(failed?.error?.message ?? '', /^The model bad failed at its first decode, so it is not advertised: .*SIGABRT: GGML_ASSERT\(x\) failed/)
  assert.match(failed?.error?.hint ?? '', new RegExp(`replace it .*delete ${join(dir, PROBE_FILE).replaceAll('/', '\\/')}`))
  // The same name with other content (or another size) is another file.
  assert.is(again.get({ ...good, sizeBytes: 101 }), undefined)
  assert.is(again.get({ ...good, sha256: 'c'.repeat(64) }), undefined)
})

test('an unreadable results file means no results, and the next save replaces it', async () => {
  const dir = await tempDir()
  await writeFile(join(dir, PROBE_FILE), '{ not json')
  const store = await openProbeStore(dir)
  assert.is(store.get(good), undefined)
  store.set(good, { ok: true })
  await store.save()
  assert.is((JSON.parse(await readFile(join(dir, PROBE_FILE), 'utf8')) as { results: unknown[] }).results.length, 1)
  // Entries that are not results are skipped, the rest kept.
  await writeFile(join(dir, PROBE_FILE), JSON.stringify({ results: [{ sha256: 'x' }, ...(JSON.parse(await readFile(join(dir, PROBE_FILE), 'utf8')) as { results: unknown[] }).results] }))
  assert.is((await openProbeStore(dir)).get(good)?.ok, true)
})

test('only the file\'s own fault is kept: an abort or llama.cpp refusing it, not a SIGKILL or a timeout', () => {
  assert.is(isFileFault(new ModelCrashedError('/m', 'SIGABRT', 'SIGABRT')), true)
  assert.is(isFileFault(new ModelCrashedError('/m', 'SIGSEGV', 'SIGSEGV')), true)
  assert.is(isFileFault(new ModelCrashedError('/m', 'exit code 3')), true)
  assert.is(isFileFault(new ModelLoadError('/m', 'failed to load model')), true)
  assert.is(isFileFault(new ModelCrashedError('/m', 'SIGKILL', 'SIGKILL')), false)
  assert.is(isFileFault(new DOMException('timed out', 'TimeoutError')), false)
})

test.run()
