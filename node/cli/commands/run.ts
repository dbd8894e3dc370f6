import { open } from 'node:fs/promises'
import { ensureDataDir } from '../../data-dir.ts'
import { loadConfig, runnerInit } from '../../config.ts'
import { createSandboxRunner, InvalidJobSpecError, MAX_SPEC_BYTES, SpecTooLargeError } from '../../../sandbox/index.ts'
import { parseCommandArgs } from '../context.ts'
import { EXIT, UsageError } from '../errors.ts'
import type { JobResult, JobStatus } from '../../../sandbox/index.ts'
import type { Command } from '../main.ts'

const STATUS_EXIT: Record<JobStatus, number> = {
  succeeded: EXIT.ok, failed: EXIT.failure, timeout: EXIT.timeout, cancelled: EXIT.cancelled, rejected: EXIT.rejected
}

async function readSpec (path: string): Promise<unknown> {
  let text: string
  try {
    const fh = await open(path, 'r')
    try {
      const stats = await fh.stat()
      if (!stats.isFile()) throw new UsageError(`${path} is not a regular file`, 'Pass the path of a JSON job spec, e.g. examples/hello.json.')
      const size = stats.size
      if (size > MAX_SPEC_BYTES) throw new SpecTooLargeError('spec file', size, MAX_SPEC_BYTES)
      text = await fh.readFile('utf8')
    } finally { await fh.close() }
  } catch (err) {
    if (err instanceof SpecTooLargeError || err instanceof UsageError) throw err
    throw new UsageError(`Cannot read the job spec ${path}: ${(err as Error).message}`, 'Pass the path of a JSON job spec, e.g. examples/hello.json.')
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new InvalidJobSpecError('spec', `is not valid JSON (${(err as Error).message})`)
  }
}

function formatBytes (n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`
}

function summary (r: JobResult, runDir: string): string {
  const u = r.usage
  const lines = [
    '',
    `${r.status === 'succeeded' ? '✓' : '✗'} job ${r.jobId} ${r.status}${r.exitCode === null ? '' : ` (exit code ${r.exitCode})`} on ${r.runtime}${r.warm ? ', warm sandbox' : ''}`,
    `  usage: wall ${u.wallMs} ms, cpu ${u.cpuMs} ms, peak memory ${formatBytes(u.peakMemoryBytes)}, out ${formatBytes(u.bytesOut)}${u.oomKilled ? ', OUT OF MEMORY' : ''}${r.outputTruncated ? ', output cut at the cap' : ''}`
  ]
  for (const a of r.artifacts) lines.push(`  artifact ${a.path} ${formatBytes(a.size)} sha256:${a.sha256}`)
  if (r.error !== null) {
    lines.push(`  ${r.error.name}: ${r.error.message}`)
    if (r.error.hint !== '') lines.push(`  → ${r.error.hint}`)
  }
  lines.push(`  run directory: ${runDir}`, '')
  return lines.join('\n')
}

export const command: Command = {
  summary: 'Run a job spec in the local gVisor sandbox, stream its output and print the result',
  usage: 'clawnode run <jobspec.json> [--image <image-id>] [--job-id <id>] [--unsafe-runc] [--json] [--data <dir>]\n\n' +
    'The spec format is sandbox/schema/job-spec.v1.json; examples are in examples/. --image replaces the\n' +
    'spec\'s image. Exit code: 0 succeeded, 1 failed, 65 rejected, 124 timed out, 130 cancelled.',
  async run (ctx, args) {
    const { values, positionals } = parseCommandArgs(args, {
      image: { type: 'string' },
      'job-id': { type: 'string' },
      'unsafe-runc': { type: 'boolean' }
    })
    const path = positionals[0]
    if (path === undefined) throw new UsageError('run needs a job spec file', 'Try: clawnode run examples/hello.json')
    const spec = await readSpec(path)
    if (values.image !== undefined && typeof spec === 'object' && spec !== null) (spec as Record<string, unknown>).image = values.image
    await ensureDataDir(ctx.dataDir)
    const config = await loadConfig(ctx.dataDir)
    const unsafeRunc = values['unsafe-runc'] === true
    if (unsafeRunc) ctx.stderr('⚠ WARNING: --unsafe-runc runs the job with runc, WITHOUT the gVisor sandbox. Only do this for code you trust.\n')
    // One-shot: no warm pool.
    const runner = createSandboxRunner({ ...runnerInit(ctx.dataDir, config.sandbox, { pool: false }), ...(unsafeRunc ? { runtime: 'runc', allowRunc: true } : {}) })
    if (runner.runtime === 'runc' && !unsafeRunc) ctx.stderr('⚠ WARNING: the config runs jobs with runc, WITHOUT the gVisor sandbox (sandbox.runtime). Only do this for code you trust.\n')
    try {
      const result = await runner.run(spec, {
        signal: ctx.signal,
        ...(values['job-id'] === undefined ? {} : { jobId: values['job-id'] }),
        ...(ctx.json
          ? {}
          : {
              onOutput: (stream, data) => { (stream === 'stdout' ? process.stdout : process.stderr).write(data) },
              onProgress: (e) => {
                if (e.type === 'clawnode:job:sandbox') ctx.stderr(`▸ ${e.detail.warm ? 'warm' : 'new'} ${runner.runtime} sandbox ${e.detail.containerId.slice(0, 12)}\n`)
                if (e.type === 'clawnode:job:artifacts' && e.detail.count > 0) ctx.stderr(`▸ collected ${e.detail.count} artifact(s)\n`)
              }
            })
      })
      const dir = runner.runDir(result.jobId)
      if (ctx.json) ctx.stdout(JSON.stringify({ ...result, runDir: dir }, null, 2) + '\n')
      else ctx.stderr(summary(result, dir))
      return STATUS_EXIT[result.status]
    } finally {
      await runner.stop()
    }
  }
}
