/**
 * Interrupting `clawnode run` mid-job. Ctrl-C (SIGINT) cancels: the sandbox is killed and removed and
 * the result says cancelled. `kill -9` cannot clean up, so the next start removes the sandbox left
 * behind and records the run as interrupted; either way the run directory ends with a result.json.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { JobResult } from '../../sandbox/index.ts'
import { bounded, cli, ROOT, tempDir, testDocker, testImage } from '../helpers.ts'

async function startSleepingJob (jobId: string): Promise<{ data: string, image: string, child: ChildProcess, containerId: string }> {
  const data = await tempDir()
  const image = testImage()
  await cli(['images', 'allow', image, '--data', data])
  const spec = join(data, 'sleep.json')
  await writeFile(spec, JSON.stringify({ version: 1, image, argv: ['sleep', '60'], limits: { wallMs: 120_000 } }))
  const child = spawn(process.execPath, [join(ROOT, 'node', 'cli', 'bin.js'), 'run', spec, '--job-id', jobId, '--data', data], { stdio: ['ignore', 'ignore', 'pipe'] })
  const containerId = await new Promise<string>((resolve, reject) => {
    let err = ''
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString()
      const m = /sandbox ([0-9a-f]{12})/.exec(err)
      if (m?.[1] !== undefined) resolve(m[1])
    })
    child.once('exit', () => { reject(new Error(`clawnode run exited early: ${err}`)) })
  })
  await new Promise(resolve => setTimeout(resolve, 500))
  return { data, image, child, containerId }
}

async function containerGone (id: string): Promise<boolean> {
  const docker = await testDocker()
  return await docker.getContainer(id).inspect().then(() => false, (e: { statusCode?: number }) => e.statusCode === 404)
}

test('Ctrl-C cancels the job: exit 130, sandbox removed, result cancelled', bounded(60_000, async () => {
  const { data, child, containerId } = await startSleepingJob('ctrl-c')
  const exited = new Promise<number | null>(resolve => child.once('exit', (code) => { resolve(code) }))
  child.kill('SIGINT')
  assert.is(await exited, 130)
  assert.ok(await containerGone(containerId), 'the sandbox was removed')
  const result = JSON.parse(await readFile(join(data, 'runs', 'ctrl-c', 'result.json'), 'utf8')) as JobResult
  assert.is(result.status, 'cancelled')
  assert.is(result.error?.name, 'JobCancelledError')
}))

test('a job interrupted by kill -9 is cleaned up and recorded on the next start', bounded(90_000, async () => {
  const { data, image, child, containerId } = await startSleepingJob('interrupted')
  child.kill('SIGKILL')
  await new Promise(resolve => child.once('exit', resolve))

  const docker = await testDocker()
  const leftover = await docker.getContainer(containerId).inspect()
  assert.ok(leftover.State.Running, 'the sandbox outlives a killed node (nothing else could remove it)')

  const next = await cli(['run', join(ROOT, 'examples', 'hello.json'), '--image', image, '--data', data])
  assert.is(next.code, 0, next.stderr)
  assert.ok(await containerGone(containerId), 'the next start removed the sandbox left behind')
  const result = JSON.parse(await readFile(join(data, 'runs', 'interrupted', 'result.json'), 'utf8')) as JobResult
  assert.is(result.status, 'failed')
  assert.is(result.error?.name, 'RunInterruptedError')
  assert.is(result.error?.retryable, true)
  assert.is(result.image, image)
}))

test.run()
