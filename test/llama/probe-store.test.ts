/**
 * Kept probe results (<data>/model-probes.json): a result is found again after a restart for the same
 * file content (sha256 and size), and not for a changed file; a failure keeps its phase and reason;
 * an unreadable, oversized (in bytes) or corrupt file means no results (everything is probed again)
 * and says why, never a crash; only a file's own fault is kept (an abort or llama.cpp refusing the
 * file is; a SIGKILL, a timeout or a load that ran out of memory or VRAM is not).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MAX_PROBE_FILE_BYTES } from '../../sandbox/llama/constants.ts'
import { isFileFault, ModelProbeFailedError, openProbeStore, PROBE_FILE, ProbeFileInvalidError } from '../../sandbox/llama/probe-store.ts'
import { loadFailure, ModelCrashedError, ModelLoadError } from '../../sandbox/llama/runner.ts'
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

test('a results file over the limit in bytes is not used, and says why', async () => {
  const dir = await tempDir()
  // Fewer characters than the limit, more bytes (a character of three bytes each).
  const padding = '€'.repeat(Math.floor(MAX_PROBE_FILE_BYTES / 3) + 1)
  assert.ok(padding.length < MAX_PROBE_FILE_BYTES)
  await writeFile(join(dir, PROBE_FILE), JSON.stringify({ results: [], padding }))
  const store = await openProbeStore(dir)
  assert.is(store.invalid?.name, 'ProbeFileInvalidError')
  assert.match(store.invalid?.message ?? '', `over ${MAX_PROBE_FILE_BYTES} bytes`)
  assert.is(store.get(good), undefined)
  // The next save replaces it with a file that is used again.
  store.set(good, { ok: true })
  await store.save()
  const again = await openProbeStore(dir)
  assert.is(again.invalid, undefined)
  assert.is(again.get(good)?.ok, true)
  // Not JSON: the same typed outcome, with its own reason.
  await writeFile(join(dir, PROBE_FILE), '{ not json')
  const corrupt = await openProbeStore(dir)
  assert.ok(corrupt.invalid instanceof ProbeFileInvalidError)
  assert.match(corrupt.invalid?.message ?? '', 'not JSON')
  // None yet is not a fault.
  assert.is((await openProbeStore(await tempDir())).invalid, undefined)
})

test('only the file\'s own fault is kept: an abort or llama.cpp refusing it, not a SIGKILL or a timeout', () => {
  assert.is(isFileFault(new ModelCrashedError('/m', 'SIGABRT', 'SIGABRT')), true)
  assert.is(isFileFault(new ModelCrashedError('/m', 'SIGSEGV', 'SIGSEGV')), true)
  assert.is(isFileFault(new ModelCrashedError('/m', 'exit code 3')), true)
  assert.is(isFileFault(new ModelLoadError('/m', 'failed to load model', { failure: 'file' })), true)
  assert.is(isFileFault(new ModelCrashedError('/m', 'SIGKILL', 'SIGKILL')), false)
  assert.is(isFileFault(new DOMException('timed out', 'TimeoutError')), false)
})

test('a load that failed for want of memory or VRAM is not the file\'s fault; llama.cpp refusing the file is', () => {
  // As the model process reports them (worker.ts: the error's name, its message, the step that failed).
  const cases: Array<[{ name: string, message: string, stage?: string }, string, string, boolean]> = [
    [{ name: 'Error', message: 'Failed to load model', stage: 'model' }, '', 'file', true],
    [{ name: 'InvalidGgufMagicError', message: 'Invalid GGUF magic', stage: 'model' }, '', 'file', true],
    [{ name: 'InsufficientMemoryError', message: 'Not enough VRAM to fit the model with the specified settings', stage: 'model' }, '', 'resources', false],
    [{ name: 'InsufficientMemoryError', message: 'A context size of 4096 is too large for the available RAM', stage: 'context' }, '', 'resources', false],
    [{ name: 'Error', message: 'Failed to create context', stage: 'context' }, '', 'resources', false],
    [{ name: 'Error', message: 'Failed to load model', stage: 'model' }, 'ggml_backend_cuda_buffer_type_alloc_buffer: allocating 9000.00 MiB on device 0: cudaMalloc failed: out of memory', 'resources', false],
    [{ name: 'NoBinaryFoundError', message: 'NoBinaryFoundError', stage: 'llama' }, '', 'runtime', false]
  ]
  for (const [reported, stderr, failure, kept] of cases) {
    assert.is(loadFailure(reported, stderr), failure, reported.message)
    const err = new ModelLoadError('/m/x.gguf', reported.message, { errorName: reported.name, failure: loadFailure(reported, stderr) })
    assert.is(err.errorName, reported.name)
    assert.is(isFileFault(err), kept, `${reported.name}: ${reported.message}`)
    // What the operator reads names the error and says what to do about this kind of failure.
    if (reported.name !== 'Error') assert.match(err.message, `${reported.name}: `)
    assert.match(err.hint, failure === 'resources' ? /memory/ : failure === 'file' ? /replace it/ : /doctor/)
  }
})

test.run()
