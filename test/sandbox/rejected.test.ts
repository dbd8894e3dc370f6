/**
 * Hostile specs are rejected before Docker is touched: the runner here points at a Docker socket that
 * does not exist, so any Docker call would end as DockerUnavailableError instead of the rejection.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { allowImage, createSandboxRunner, MAX_ENV_BYTES, MAX_STDIN_BYTES } from '../../sandbox/index.ts'
import type { JobResult, SandboxRunner } from '../../sandbox/index.ts'
import { bounded, setup, tempDir } from '../helpers.ts'

const ALLOWED = 'sha256:' + 'e'.repeat(64)
let runner: SandboxRunner

test.before(setup(async () => {
  const dataDir = await tempDir()
  await allowImage(dataDir, ALLOWED)
  runner = createSandboxRunner({ dataDir, socketPath: join(dataDir, 'no-docker.sock') })
}))

async function rejected (spec: unknown, name: string): Promise<JobResult> {
  const result = await runner.run(spec)
  assert.is(result.status, 'rejected', `${name}: got ${result.status} ${result.error?.name ?? ''}`)
  assert.is(result.error?.name, name)
  assert.ok((result.error?.hint ?? '').length > 0, 'a rejection says what to do')
  const onDisk = JSON.parse(await readFile(join(runner.runDir(result.jobId), 'result.json'), 'utf8')) as JobResult
  assert.equal(onDisk, result)
  return result
}

const base = { version: 1, image: ALLOWED, argv: ['true'] }

test('image not on the allowlist', bounded(10_000, async () => {
  await rejected({ ...base, image: 'sha256:' + 'f'.repeat(64) }, 'ImageNotAllowedError')
}))

test('limits out of range', bounded(10_000, async () => {
  const r = await rejected({ ...base, limits: { memoryMb: 1_000_000 } }, 'LimitOutOfRangeError')
  assert.match(r.error?.message ?? '', /limits\.memoryMb/)
}))

test('path traversal in input file names', bounded(10_000, async () => {
  await rejected({ ...base, files: [{ path: '../../etc/cron.d/x', content: { text: '* * * * * root sh' } }] }, 'UnsafePathError')
}))

test('oversized env', bounded(10_000, async () => {
  await rejected({ ...base, env: { X: 'y'.repeat(MAX_ENV_BYTES + 1) } }, 'SpecTooLargeError')
}))

test('oversized stdin', bounded(10_000, async () => {
  await rejected({ ...base, stdin: { text: 'z'.repeat(MAX_STDIN_BYTES + 1) } }, 'SpecTooLargeError')
}))

test('a valid spec does reach Docker (proving the rejections above did not)', bounded(20_000, async () => {
  const result = await runner.run(base)
  assert.is(result.status, 'failed')
  assert.is(result.error?.name, 'DockerUnavailableError')
  assert.is(result.error?.retryable, true)
}))

test('a job id that could escape the runs dir is refused', bounded(10_000, async () => {
  try {
    await runner.run(base, { jobId: '../x' })
    assert.unreachable('accepted')
  } catch (err) {
    assert.is((err as Error).name, 'InvalidJobIdError')
  }
}))

test.run()
