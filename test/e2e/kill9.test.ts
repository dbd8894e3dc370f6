/**
 * `kill -9` of a node in the middle of a job: the next start removes the sandbox left behind and
 * records the interrupted run as failed, so its run directory ends with a result.json that parses.
 */
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { JobResult } from '../../sandbox/index.ts'
import { bounded, cli, ROOT, tempDir, testDocker, testImage } from '../helpers.ts'

test('a job interrupted by kill -9 is cleaned up and recorded on the next start', bounded(90_000, async () => {
  const data = await tempDir()
  const image = testImage()
  await cli(['images', 'allow', image, '--data', data])
  const spec = join(data, 'sleep.json')
  await writeFile(spec, JSON.stringify({ version: 1, image, argv: ['sleep', '60'], limits: { wallMs: 120_000 } }))

  const child = spawn(process.execPath, [join(ROOT, 'node', 'cli', 'bin.js'), 'run', spec, '--job-id', 'interrupted', '--data', data], { stdio: ['ignore', 'ignore', 'pipe'] })
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
  child.kill('SIGKILL')
  await new Promise(resolve => child.once('exit', resolve))

  const docker = await testDocker()
  const leftover = await docker.getContainer(containerId).inspect()
  assert.ok(leftover.State.Running, 'the sandbox outlives a killed node (nothing else could remove it)')

  const next = await cli(['run', join(ROOT, 'examples', 'hello.json'), '--image', image, '--data', data])
  assert.is(next.code, 0, next.stderr)
  const gone = await docker.getContainer(containerId).inspect().then(() => false, (e: { statusCode?: number }) => e.statusCode === 404)
  assert.ok(gone, 'the next start removed the sandbox left behind')
  const result = JSON.parse(await readFile(join(data, 'runs', 'interrupted', 'result.json'), 'utf8')) as JobResult
  assert.is(result.status, 'failed')
  assert.is(result.error?.name, 'RunInterruptedError')
  assert.is(result.error?.retryable, true)
  assert.is(result.image, image)
}))

test.run()
