import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { release } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { allowImage, createSandboxRunner } from '../../sandbox/index.ts'
import type { JobResult, SandboxRunner } from '../../sandbox/index.ts'
import { bounded, setup, tempDir, testDocker, testImage } from '../helpers.ts'

let runner: SandboxRunner
let dataDir: string
let image: string

test.before(setup(async () => {
  image = testImage()
  dataDir = await tempDir()
  await allowImage(dataDir, image)
  runner = createSandboxRunner({ dataDir })
  await runner.start()
}))

test.after(async () => { await runner?.stop() })

test('a job reads stdin, writes an artifact, prints to stdout and stderr and exits 3: all captured', bounded(60_000, async () => {
  const out = { stdout: '', stderr: '' }
  const events: string[] = []
  const result = await runner.run({
    version: 1,
    image,
    argv: ['sh', '-c', 'read line; echo "got: $line"; echo "to stderr" >&2; cat /in/data/input.txt > /out/report.txt; printf "%s" "$line" >> /out/report.txt; mkdir -p /out/sub && echo nested > /out/sub/n.txt; exit 3'],
    stdin: { text: 'the stdin line\n' },
    files: [{ path: 'data/input.txt', content: { text: 'input file\n' } }]
  }, {
    onOutput: (stream, data) => { out[stream] += Buffer.from(data).toString() },
    onProgress: (e) => { events.push(e.type) }
  })
  assert.is(result.status, 'failed')
  assert.is(result.exitCode, 3)
  assert.is(result.error?.name, 'JobFailedError')
  assert.is(out.stdout, 'got: the stdin line\n')
  assert.is(out.stderr, 'to stderr\n')
  const dir = runner.runDir(result.jobId)
  assert.is(await readFile(join(dir, 'logs', 'stdout.log'), 'utf8'), out.stdout)
  assert.is(await readFile(join(dir, 'logs', 'stderr.log'), 'utf8'), out.stderr)

  const report = 'input file\nthe stdin line'
  const digest = createHash('sha256').update(report).digest('hex')
  assert.equal(result.artifacts, [
    { path: 'report.txt', size: report.length, sha256: digest },
    { path: 'sub/n.txt', size: 7, sha256: createHash('sha256').update('nested\n').digest('hex') }
  ])
  assert.is(await readFile(join(dir, 'artifacts', 'report.txt'), 'utf8'), report)

  const u = result.usage
  assert.is(u.exitCode, 3)
  assert.ok(u.wallMs > 0, 'wall time measured')
  assert.ok(u.cpuMs > 0, 'cpu time measured')
  assert.ok(u.peakMemoryBytes > 1024 * 1024, 'peak memory measured')
  assert.is(u.stdoutBytes, out.stdout.length)
  assert.is(u.stderrBytes, out.stderr.length)
  assert.is(u.bytesOut, out.stdout.length + out.stderr.length + report.length + 7)
  assert.is(u.oomKilled, false)
  assert.equal(events, ['clawnode:job:sandbox', 'clawnode:job:started', 'clawnode:job:ended', 'clawnode:job:artifacts'])

  const onDisk = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as JobResult
  assert.equal(onDisk, result)
  const request = JSON.parse(await readFile(join(dir, 'request.json'), 'utf8')) as { image: string }
  assert.is(request.image, image)
}))

test('the job sees gVisor\'s kernel, not the host\'s', bounded(60_000, async () => {
  let stdout = ''
  const result = await runner.run({ version: 1, image, argv: ['sh', '-c', 'uname -r; dmesg | head -n 1'] }, { onOutput: (_s, d) => { stdout += Buffer.from(d).toString() } })
  assert.is(result.status, 'succeeded')
  const [kernel, firstLog] = stdout.split('\n')
  assert.is.not(kernel, release(), 'the sandbox must not see the host kernel release')
  assert.match(firstLog ?? '', /Starting gVisor/)
  assert.is(result.runtime, 'runsc')
}))

test('CPU time matches a job of known cost within ±20%', bounded(60_000, async () => {
  // A single busy shell loop for 2 s under a 1-CPU quota costs 2 s of CPU.
  const result = await runner.run({ version: 1, image, argv: ['timeout', '2', 'sh', '-c', 'while :; do :; done'], limits: { cpus: 1 } })
  assert.is(result.exitCode, 143, 'timeout(1) ends the loop with SIGTERM')
  assert.ok(result.usage.cpuMs >= 1600 && result.usage.cpuMs <= 2400, `cpuMs ${result.usage.cpuMs} not within 2000 ± 20%`)
  assert.ok(result.usage.wallMs >= 2000, `wallMs ${result.usage.wallMs}`)
}))

test('an idle job costs almost no CPU', bounded(60_000, async () => {
  const result = await runner.run({ version: 1, image, argv: ['sleep', '1'] })
  assert.is(result.status, 'succeeded')
  assert.ok(result.usage.cpuMs < 300, `cpuMs ${result.usage.cpuMs} for a sleeping job`)
}))

test('the sandbox container is removed after the job', bounded(60_000, async () => {
  let containerId = ''
  await runner.run({ version: 1, image, argv: ['true'] }, { onProgress: (e) => { if (e.type === 'clawnode:job:sandbox') containerId = e.detail.containerId } })
  await runner.settled()
  const docker = await testDocker()
  try {
    await docker.getContainer(containerId).inspect()
    assert.unreachable('container still exists')
  } catch (err) {
    assert.is((err as { statusCode?: number }).statusCode, 404)
  }
}))

test('a runtime Docker does not know fails with RuntimeUnavailableError, not a silent fallback', bounded(30_000, async () => {
  const dir = await tempDir()
  await allowImage(dir, image)
  const other = createSandboxRunner({ dataDir: dir, runtime: 'no-such-runtime' })
  const result = await other.run({ version: 1, image, argv: ['true'] })
  assert.is(result.status, 'failed')
  assert.is(result.error?.name, 'RuntimeUnavailableError')
  assert.is(result.runtime, 'no-such-runtime')
  await other.stop()
}))

test('a job that closes its output streams and goes on is still waited for, with its exit code', bounded(30_000, async () => {
  const result = await runner.run({ version: 1, image, argv: ['sh', '-c', 'echo before; exec >&- 2>&-; sleep 1; exit 4'] })
  assert.is(result.exitCode, 4)
  assert.is(result.status, 'failed')
  assert.ok(result.usage.wallMs >= 1000, `wallMs ${result.usage.wallMs}`)
}))

test('a job id names one run only', bounded(30_000, async () => {
  const first = await runner.run({ version: 1, image, argv: ['true'] }, { jobId: 'once-only' })
  assert.is(first.status, 'succeeded')
  try {
    await runner.run({ version: 1, image, argv: ['true'] }, { jobId: 'once-only' })
    assert.unreachable('a reused job id was accepted')
  } catch (err) {
    assert.is((err as Error).name, 'InvalidJobIdError')
  }
  const kept = JSON.parse(await readFile(join(runner.runDir('once-only'), 'result.json'), 'utf8')) as JobResult
  assert.equal(kept, first)
}))

test('a stopped runner takes no new jobs', bounded(30_000, async () => {
  const dir = await tempDir()
  await allowImage(dir, image)
  const other = createSandboxRunner({ dataDir: dir })
  await other.start()
  await other.stop()
  try {
    await other.run({ version: 1, image, argv: ['true'] })
    assert.unreachable('ran a job after stop()')
  } catch (err) {
    assert.is((err as Error).name, 'RunnerStoppedError')
  }
}))

test('runc is refused unless the operator opts in', bounded(30_000, async () => {
  const dir = await tempDir()
  await allowImage(dir, image)
  const other = createSandboxRunner({ dataDir: dir, runtime: 'runc' })
  const result = await other.run({ version: 1, image, argv: ['true'] })
  assert.is(result.status, 'failed')
  assert.is(result.error?.name, 'RuncNotAllowedError')
  await other.stop()
}))

test.run()
