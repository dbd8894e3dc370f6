/**
 * Containment, on both the cold path (a sandbox started for the job) and the warm path (a pre-started
 * sandbox from the pool). After each case: the job's container is gone, the host's Docker still
 * answers, and the runner still runs a job.
 */
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { writeFile, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { allowImage, createSandboxRunner } from '../../sandbox/index.ts'
import type { JobLimits, JobResult, SandboxRunner } from '../../sandbox/index.ts'
import { bounded, setup, tempDir, testDocker, testImage } from '../helpers.ts'

// One container profile for nearly every case (and one more for the pids case), so the warm pool serves all of them.
const PROFILE: Partial<JobLimits> = { cpus: 1, memoryMb: 96, pids: 32, tmpMb: 8 }

interface Ctx { runner: SandboxRunner, image: string, warm: boolean }

async function run (ctx: Ctx, script: string, limits: Partial<JobLimits> = {}, signal?: AbortSignal): Promise<{ result: JobResult, stdout: string, stderr: string }> {
  if (ctx.warm) await ctx.runner.poolReady({ signal: AbortSignal.timeout(30_000) })
  let stdout = ''
  let stderr = ''
  let containerId = ''
  const result = await ctx.runner.run({ version: 1, image: ctx.image, argv: ['sh', '-c', script], limits: { ...PROFILE, ...limits } }, {
    ...(signal === undefined ? {} : { signal }),
    onOutput: (s, d) => { if (s === 'stdout') stdout += Buffer.from(d).toString(); else stderr += Buffer.from(d).toString() },
    onProgress: (e) => { if (e.type === 'clawnode:job:sandbox') containerId = e.detail.containerId }
  })
  assert.is(result.warm, ctx.warm, `expected a ${ctx.warm ? 'warm' : 'cold'} sandbox`)
  await hostIsFine(ctx, containerId)
  return { result, stdout, stderr }
}

async function hostIsFine (ctx: Ctx, containerId: string): Promise<void> {
  await ctx.runner.settled()
  const docker = await testDocker()
  if (containerId !== '') {
    const gone = await docker.getContainer(containerId).inspect().then(() => false, (err: { statusCode?: number }) => err.statusCode === 404)
    assert.ok(gone, `sandbox ${containerId.slice(0, 12)} was left behind`)
  }
  await docker.ping()
}

function containment (warm: boolean): void {
  const s = suite<Ctx>(`containment (${warm ? 'warm pool' : 'cold start'})`, { runner: undefined as unknown as SandboxRunner, image: '', warm })

  s.before(setup(async (ctx) => {
    ctx.image = testImage()
    const dataDir = await tempDir()
    await allowImage(dataDir, ctx.image)
    ctx.runner = createSandboxRunner({ dataDir, pool: warm ? [{ image: ctx.image, limits: PROFILE, size: 2 }, { image: ctx.image, limits: { ...PROFILE, pids: 4 }, size: 1 }] : [] })
    await ctx.runner.start()
  }))
  s.after(async (ctx) => { await ctx.runner?.stop() })

  s('no network interface but loopback, and no way out', bounded(60_000, async (ctx) => {
    // 198.18.0.1 is a benchmark-range address: with no interface and no route the connect fails at
    // once inside the sandbox, so nothing is ever sent.
    const { result, stdout } = await run(ctx, 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; echo routes=$(tail -n +2 /proc/net/route | wc -l); echo | nc -w 2 198.18.0.1 80 2>&1; echo nc=$?')
    assert.is(result.status, 'succeeded')
    const lines = stdout.trim().split('\n')
    assert.equal(lines.filter(l => !l.startsWith('routes=') && !l.startsWith('nc')), ['lo'])
    assert.ok(lines.includes('routes=0'), stdout)
    assert.match(stdout, /nc=1/)
    assert.match(stdout, /can't connect to remote host \(198\.18\.0\.1\): (No route to host|Network is unreachable)/)
  }))

  s('host files are invisible', bounded(60_000, async (ctx) => {
    const name = `clawnode-marker-${randomBytes(6).toString('hex')}`
    const marker = join(tmpdir(), name)
    await writeFile(marker, 'host secret')
    try {
      const hostPasswd = await readFile('/etc/passwd', 'utf8')
      const { result, stdout } = await run(ctx, `test -e ${marker} && echo visible; find / -name ${name} 2>/dev/null; cat /etc/passwd; ls /`)
      assert.is(result.status, 'succeeded')
      assert.not.match(stdout, /visible/)
      assert.not.match(stdout, new RegExp(name))
      assert.ok(!stdout.includes(hostPasswd), 'the host\'s /etc/passwd leaked in')
      assert.match(stdout, /^nobody:x:65534/m)
    } finally {
      await rm(marker, { force: true })
    }
  }))

  s('the job is not root and has no capabilities', bounded(60_000, async (ctx) => {
    // gVisor's /proc/self/status has no NoNewPrivs line; that flag is checked in the container options.
    const { stdout } = await run(ctx, 'id -u; id -g; grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status')
    const [uid, gid] = stdout.split('\n')
    assert.is(uid, '65534')
    assert.is(gid, '65534')
    assert.match(stdout, /CapEff:\s+0000000000000000/)
    assert.match(stdout, /CapBnd:\s+0000000000000000/)
  }))

  s('the root filesystem is read-only; /tmp, /in and /out are writable', bounded(60_000, async (ctx) => {
    const { result, stdout } = await run(ctx, 'grep " / " /proc/mounts; touch /newfile 2>&1; echo root=$?; touch /tmp/a /in/a /out/a && echo scratch=ok')
    assert.is(result.status, 'succeeded')
    assert.match(stdout, / \/ \S+ ro[ ,]/)
    assert.match(stdout, /root=1/)
    assert.match(stdout, /scratch=ok/)
  }))

  s('the job cannot run more processes than its pids limit', bounded(60_000, async (ctx) => {
    // pids 4 = the shell and 3 sleeps; the 4th sleep's fork fails, which ends a non-interactive ash.
    const { result, stdout, stderr } = await run(ctx, 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "spawn $i"; sleep 2 & done; wait', { pids: 4 })
    assert.match(stderr, /can't fork: Resource temporarily unavailable/)
    assert.is(stdout.trim().split('\n').pop(), 'spawn 4')
    assert.is(result.status, 'failed')
    assert.is(result.exitCode, 2)
  }))

  s('a fork bomb ends the job, the runner lives on, no process is left', bounded(90_000, async (ctx) => {
    const before = readdirSync('/proc').filter(p => /^\d+$/.test(p)).length
    const { result } = await run(ctx, 'f(){ f | f & }; f; sleep 30', { wallMs: 5_000 })
    assert.ok(['failed', 'timeout'].includes(result.status), `status ${result.status}`)
    assert.ok(result.usage.wallMs < 10_000)
    const after = readdirSync('/proc').filter(p => /^\d+$/.test(p)).length
    assert.ok(after < before + 20, `host processes went from ${before} to ${after}`)
    const next = await run(ctx, 'echo still here')
    assert.is(next.stdout, 'still here\n')
  }))

  s('a memory hog cannot pass its limit and ends as out of memory', bounded(90_000, async (ctx) => {
    const { result } = await run(ctx, 'awk "BEGIN { s = \\"x\\"; while (1) s = s s }"', { wallMs: 30_000 })
    assert.is(result.status, 'failed')
    assert.is(result.error?.name, 'OutOfMemoryError')
    assert.is(result.usage.oomKilled, true)
    // The kernel may record a charge of a page or so past the limit just before it OOM-kills.
    const limit = (PROFILE.memoryMb ?? 0) * 1024 * 1024
    assert.ok(result.usage.peakMemoryBytes <= limit + 64 * 1024, `peak ${result.usage.peakMemoryBytes} past the limit ${limit}`)
    assert.ok(result.usage.peakMemoryBytes >= limit / 2, `peak ${result.usage.peakMemoryBytes}: the hog never got near the limit`)
  }))

  s('an endless loop ends at the wall timeout', bounded(60_000, async (ctx) => {
    const { result } = await run(ctx, 'while :; do :; done', { wallMs: 1500 })
    assert.is(result.status, 'timeout')
    assert.is(result.error?.name, 'JobTimeoutError')
    // Node timers may fire up to a millisecond early.
    assert.ok(result.usage.wallMs >= 1490 && result.usage.wallMs < 6000, `wallMs ${result.usage.wallMs}`)
  }))

  s('an output flood is cut at the cap', bounded(60_000, async (ctx) => {
    const { result, stdout } = await run(ctx, 'yes flood', { outputBytes: 4096 })
    assert.is(result.status, 'failed')
    assert.is(result.error?.name, 'OutputLimitError')
    assert.is(result.outputTruncated, true)
    assert.is(stdout.length, 4096)
    assert.is(result.usage.stdoutBytes, 4096)
  }))

  s('an abort mid-run removes the container', bounded(60_000, async (ctx) => {
    const controller = new AbortController()
    const started = Date.now()
    setTimeout(() => { controller.abort() }, 1500)
    const { result } = await run(ctx, 'echo started; sleep 30', { wallMs: 60_000 }, controller.signal)
    assert.is(result.status, 'cancelled')
    assert.is(result.error?.name, 'JobCancelledError')
    assert.ok(Date.now() - started < 10_000, 'cancellation took too long')
  }))

  s.run()
}

containment(false)
containment(true)
