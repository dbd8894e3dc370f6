/**
 * Recovery of run directories after a crash (unit test of sandbox/recovery.ts on a real directory):
 * interrupted runs get a result.json; half-assembled run directories of dead processes are removed;
 * live and finished runs are left alone.
 */
import { spawnSync } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { recoverInterruptedRuns, STAGING_PREFIX } from '../../sandbox/recovery.ts'
import type { JobResult } from '../../sandbox/index.ts'
import { tempDir } from '../helpers.ts'

async function run (runs: string, name: string, files: Record<string, string>): Promise<void> {
  await mkdir(join(runs, name), { recursive: true })
  for (const [f, text] of Object.entries(files)) await writeFile(join(runs, name, f), text)
}

test('interrupted runs are recorded, dead staging dirs removed, live and finished runs left alone', async () => {
  const runs = join(await tempDir(), 'runs')
  // A pid that belonged to a process that has exited.
  const dead = String(spawnSync('true').pid)
  const live = String(process.pid)
  await run(runs, 'interrupted', { pid: dead, 'request.json': JSON.stringify({ image: 'sha256:abc' }) })
  await run(runs, 'running', { pid: live, 'request.json': '{}' })
  await run(runs, 'finished', { pid: dead, 'request.json': '{}', 'result.json': '{"status":"succeeded"}' })
  await run(runs, `${STAGING_PREFIX}half.${dead}`, { pid: dead })
  await run(runs, `${STAGING_PREFIX}busy.${live}`, { pid: live })

  assert.is(await recoverInterruptedRuns(runs, 'runsc'), 1)
  const result = JSON.parse(await readFile(join(runs, 'interrupted', 'result.json'), 'utf8')) as JobResult
  assert.is(result.status, 'failed')
  assert.is(result.error?.name, 'RunInterruptedError')
  assert.is(result.image, 'sha256:abc')
  assert.equal((await readdir(runs)).sort(), [`${STAGING_PREFIX}busy.${live}`, 'finished', 'interrupted', 'running'])
  assert.is(await readFile(join(runs, 'finished', 'result.json'), 'utf8'), '{"status":"succeeded"}')
  assert.equal(await readdir(join(runs, 'running')), ['pid', 'request.json'].sort())
})

test.run()
