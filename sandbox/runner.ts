/**
 * The sandbox runner: the provider's executor. It validates a job, checks the image against the
 * operator's allowlist, takes a warm sandbox or starts a cold one, runs the job, collects artifacts and
 * usage, destroys the sandbox, and records everything in the job's run directory. Every outcome,
 * rejection included, ends in a `result.json` that parses.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { finished } from 'node:stream/promises'
import { logger } from '@libp2p/logger'
import { ClawnodeError, serializeError } from '../protocol/index.ts'
import { isImageAllowed } from './allowlist.ts'
import { writeFileAtomic } from './atomic-file.ts'
import { DEFAULT_RUNTIME, DOCKER_CALL_TIMEOUT_MS, JOB_RESULT_VERSION } from './constants.ts'
import { createDocker, pingDocker } from './docker.ts'
import {
  ImageNotAllowedError, JobCancelledError, JobFailedError, JobTimeoutError, OutOfMemoryError,
  OutputLimitError, RuntimeUnavailableError, SandboxDiedError, SandboxError
} from './errors.ts'
import { collectArtifacts, putInputs } from './files.ts'
import { validateJobSpec } from './job-spec.ts'
import { runJobProcess } from './job-process.ts'
import { resolveKeeper } from './keeper.ts'
import { createWarmPool } from './pool.ts'
import { createSandbox, profileOf, removeLeftoverSandboxes } from './sandbox.ts'
import { recoverInterruptedRuns, STAGING_PREFIX } from './recovery.ts'
import { emptyUsage } from './result.ts'
import type { Docker } from './docker.ts'
import type { OutputStream } from './demux.ts'
import type { Artifact } from './files.ts'
import type { JobLimits, JobPolicy, ValidatedJob } from './job-spec.ts'
import type { ProcessOutcome } from './job-process.ts'
import type { WarmPool, WarmPoolStats } from './pool.ts'
import type { JobResult, JobStatus } from './result.ts'
import type { Sandbox } from './sandbox.ts'

const log = logger('clawnode:sandbox:runner')

export interface PoolProfileInit {
  image: string
  limits?: Partial<JobLimits>
  size: number
}

export interface SandboxRunnerInit {
  /** The node's data dir; run directories go to `<dataDir>/runs/<jobId>`. */
  dataDir: string
  docker?: Docker
  socketPath?: string
  /** `runsc` (gVisor, the default) or `runc`, which needs `allowRunc`. */
  runtime?: string
  /** The operator's explicit opt-in to run jobs without gVisor (runc). */
  allowRunc?: boolean
  /** Path of a static busybox; found automatically when missing. */
  keeper?: string
  policy?: JobPolicy
  pool?: PoolProfileInit[]
}

export type JobProgressEvent =
  | { type: 'clawnode:job:sandbox', detail: { warm: boolean, containerId: string } }
  | { type: 'clawnode:job:started', detail: { jobId: string } }
  | { type: 'clawnode:job:ended', detail: { end: ProcessOutcome['end'], exitCode: number | null } }
  | { type: 'clawnode:job:artifacts', detail: { count: number, bytes: number } }

export interface JobRunOptions {
  jobId?: string
  signal?: AbortSignal
  onOutput?: (stream: OutputStream, data: Uint8Array) => void
  onProgress?: (event: JobProgressEvent) => void
}

export interface SandboxRunner {
  readonly runtime: string
  start: (options?: { signal?: AbortSignal }) => Promise<void>
  stop: () => Promise<void>
  run: (spec: unknown, options?: JobRunOptions) => Promise<JobResult>
  runDir: (jobId: string) => string
  poolStats: () => WarmPoolStats[]
  /** Resolves when the warm pool is full (for benchmarks and tests). */
  poolReady: (options?: { signal?: AbortSignal }) => Promise<void>
  /** Resolves when every finished job's sandbox has been removed. */
  settled: () => Promise<void>
}

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

export function newJobId (): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`
}

export class InvalidJobIdError extends ClawnodeError {
  static override name = 'InvalidJobIdError'
  constructor (jobId: string, problem: string) {
    super(`Job id ${JSON.stringify(jobId.slice(0, 80))} ${problem}`, { hint: 'Use 1-64 characters of A-Z, a-z, 0-9, "_" and "-", starting with a letter or digit, not used by an earlier job.' })
  }
}

export class RunnerStoppedError extends ClawnodeError {
  static override name = 'RunnerStoppedError'
  constructor () {
    super('The sandbox runner is stopped and takes no new jobs', { hint: 'The node is shutting down; submit the job to another provider.', retryable: true })
  }
}

class RuncNotAllowedError extends ClawnodeError {
  static override name = 'RuncNotAllowedError'
  constructor () {
    super('The runc runtime gives jobs no gVisor sandbox and was not explicitly allowed', {
      hint: 'Keep the default runtime (runsc). To accept the risk anyway, pass --unsafe-runc (or set sandbox.allowRunc: true).'
    })
  }
}

export function createSandboxRunner (init: SandboxRunnerInit): SandboxRunner {
  const dataDir = resolve(init.dataDir)
  const runtime = init.runtime ?? DEFAULT_RUNTIME
  const home = createHash('sha256').update(dataDir).digest('hex').slice(0, 16)
  let docker = init.docker
  let keeperPath: string | undefined
  let pool: WarmPool | undefined
  let starting: Promise<void> | undefined
  const running = new Set<AbortController>()
  const inFlight = new Set<Promise<JobResult>>()
  let stopped = false
  // Sandboxes of jobs that ended normally are removed after the result is returned (the job is over
  // and its usage read); killed jobs' sandboxes are removed before. stop() waits for all of them.
  const removing = new Set<Promise<void>>()
  const removeLater = (sandbox: Sandbox): void => {
    const p = sandbox.destroy().catch((err: unknown) => { log.error('removing sandbox %s: %e', sandbox.id.slice(0, 12), err) }).finally(() => { removing.delete(p) })
    removing.add(p)
  }
  const settled = async (): Promise<void> => { while (removing.size > 0) await Promise.allSettled([...removing]) }

  const doStart = async (signal?: AbortSignal): Promise<void> => {
    if (runtime === 'runc' && init.allowRunc !== true) throw new RuncNotAllowedError()
    if (runtime === 'runc') log.error('WARNING: jobs run with runc, without the gVisor sandbox (operator opt-in)')
    keeperPath = await resolveKeeper(init.keeper)
    docker ??= await createDocker(init.socketPath === undefined ? {} : { socketPath: init.socketPath })
    await pingDocker(docker, signal === undefined ? {} : { signal })
    const info = await (docker.info as (opts: object) => Promise<{ Runtimes?: Record<string, unknown> }>).call(docker, { abortSignal: AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS) })
    if (info.Runtimes?.[runtime] === undefined) throw new RuntimeUnavailableError(runtime, 'is not registered with Docker')
    const removed = await removeLeftoverSandboxes(docker, home, signal === undefined ? {} : { signal })
    if (removed > 0) log('removed %d sandboxes left behind by an earlier run', removed)
    const recovered = await recoverInterruptedRuns(join(dataDir, 'runs'), runtime)
    if (recovered > 0) log('recorded %d runs interrupted by a crash as failed', recovered)
    const entries = (init.pool ?? []).filter(p => p.size > 0).map(p => {
      const job = validateJobSpec({ version: 1, image: p.image, argv: ['true'], limits: p.limits ?? {} }, init.policy)
      return { profile: profileOf(job.image, job.limits), size: p.size }
    })
    pool = createWarmPool({ docker, runtime, keeperPath, home, entries })
    pool.start()
  }

  const runDir = (jobId: string): string => join(dataDir, 'runs', jobId)

  const runner: SandboxRunner = {
    runtime,
    async start (options = {}) {
      stopped = false
      await ensureStarted(options.signal)
    },
    async stop () {
      stopped = true
      for (const c of running) c.abort(new JobCancelledError({ hint: 'The node is shutting down; submit the job to another provider.' }))
      // A start still under way finishes first, so its pool cannot come up after the stop.
      await starting?.catch(() => {})
      while (inFlight.size > 0) await Promise.allSettled([...inFlight])
      await pool?.stop()
      await settled()
      pool = undefined
      starting = undefined
    },
    settled,
    runDir,
    poolStats: () => pool?.stats() ?? [],
    poolReady: async (options = {}) => { await pool?.whenFull(options) },

    async run (spec, options = {}) {
      if (stopped) throw new RunnerStoppedError()
      const p = runJob(spec, options)
      inFlight.add(p)
      try { return await p } finally { inFlight.delete(p) }
    }
  }

  const ensureStarted = async (signal?: AbortSignal): Promise<void> => {
    starting ??= doStart(signal).catch((err: unknown) => { starting = undefined; throw err })
    // A caller's own abort ends its wait, though the shared start goes on for the others.
    await (signal === undefined ? starting : Promise.race([starting, new Promise<never>((_resolve, reject) => {
      if (signal.aborted) reject(signal.reason)
      signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
    })]))
  }

  async function runJob (spec: unknown, options: JobRunOptions): Promise<JobResult> {
    const jobId = options.jobId ?? newJobId()
    if (!JOB_ID.test(jobId)) throw new InvalidJobIdError(jobId, 'is not a valid job id')
    const dir = runDir(jobId)
    await mkdir(join(dataDir, 'runs'), { recursive: true, mode: 0o700 })
    if (existsSync(dir)) throw new InvalidJobIdError(jobId, 'was already used by another job')
    // The run directory appears whole (pid, request, folders) by a rename, so a crash at any moment
    // leaves either nothing or a run that recovery can record. The pid marks the run as ours while it
    // lasts. A directory belongs to exactly one run: the rename fails if another run took the id.
    const staging = join(dataDir, 'runs', `${STAGING_PREFIX}${jobId}.${process.pid}`)
    await rm(staging, { recursive: true, force: true })
    await mkdir(join(staging, 'logs'), { recursive: true })
    await mkdir(join(staging, 'artifacts'))
    await writeFileAtomic(join(staging, 'pid'), String(process.pid))
    await writeFileAtomic(join(staging, 'request.json'), JSON.stringify(spec, null, 2) + '\n')
    try {
      await rename(staging, dir)
    } catch (err) {
      await rm(staging, { recursive: true, force: true })
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST' || code === 'ENOTEMPTY') throw new InvalidJobIdError(jobId, 'was already used by another job')
      throw err
    }
    const startedAt = new Date().toISOString()
    const controller = new AbortController()
    running.add(controller)
    const signal = options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal])
    const result: JobResult = {
      version: JOB_RESULT_VERSION, jobId, status: 'rejected', image: null, runtime, warm: false, startedAt,
      finishedAt: startedAt, exitCode: null, usage: emptyUsage(), outputTruncated: false, artifacts: [], error: null
    }
    const finish = async (status: JobStatus, error?: unknown): Promise<JobResult> => {
      result.status = status
      result.error = error === undefined ? null : serializeError(error)
      result.finishedAt = new Date().toISOString()
      running.delete(controller)
      await writeFileAtomic(join(dir, 'result.json'), JSON.stringify(result, null, 2) + '\n')
      log('job %s %s', jobId, status)
      return result
    }

    let job: ValidatedJob
    try {
      job = validateJobSpec(spec, init.policy)
      result.image = job.image
      if (!(await isImageAllowed(dataDir, job.image))) throw new ImageNotAllowedError(job.image)
    } catch (err) {
      return await finish('rejected', err)
    }
    if (signal.aborted) return await finish('cancelled', new JobCancelledError({ cause: signal.reason }))

    let sandbox: Sandbox | undefined
    let keep = false
    try {
      await ensureStarted(signal)
      const profile = profileOf(job.image, job.limits)
      sandbox = pool?.take(profile)
      result.warm = sandbox !== undefined
      sandbox ??= await createSandbox({ docker: docker as Docker, profile, runtime, keeperPath: keeperPath as string, owner: jobId, home }, { signal })
      options.onProgress?.({ type: 'clawnode:job:sandbox', detail: { warm: result.warm, containerId: sandbox.id } })
      await putInputs(sandbox, job.files, { signal })
      return await execute(sandbox, job)
    } catch (err) {
      if (signal.aborted) return await finish('cancelled', new JobCancelledError({ cause: err }))
      return await finish('failed', err instanceof ClawnodeError ? err : new SandboxError((err as Error).message, { cause: err }))
    } finally {
      if (sandbox !== undefined) {
        if (keep) removeLater(sandbox)
        else await sandbox.destroy().catch((err: unknown) => { log.error('job %s: %e', jobId, err) })
      }
    }

    async function execute (sandbox: Sandbox, job: ValidatedJob): Promise<JobResult> {
      const logs = { stdout: createWriteStream(join(dir, 'logs', 'stdout.log')), stderr: createWriteStream(join(dir, 'logs', 'stderr.log')) }
      // A full or failing disk must fail this job, not crash the node.
      let logError: Error | undefined
      for (const stream of Object.values(logs)) stream.on('error', (err) => { logError ??= err })
      options.onProgress?.({ type: 'clawnode:job:started', detail: { jobId } })
      let outcome: ProcessOutcome
      try {
        outcome = await runJobProcess(sandbox, job, {
          signal,
          onOutput: (stream, data) => { logs[stream].write(data); options.onOutput?.(stream, data) }
        })
      } finally {
        logs.stdout.end()
        logs.stderr.end()
        await Promise.allSettled([finished(logs.stdout), finished(logs.stderr)])
      }
      if (logError !== undefined) throw new SandboxError(`Could not write the job's logs: ${logError.message}`, { cause: logError, hint: 'Free disk space in the data dir (`clawnode doctor` shows it), then retry.' })
      options.onProgress?.({ type: 'clawnode:job:ended', detail: { end: outcome.end, exitCode: outcome.exitCode } })
      const usage = result.usage
      usage.wallMs = outcome.wallMs
      usage.cpuMs = Math.round(outcome.cpuNs / 1e6)
      usage.peakMemoryBytes = outcome.peakMemoryBytes
      usage.exitCode = outcome.exitCode
      usage.stdoutBytes = outcome.stdoutBytes
      usage.stderrBytes = outcome.stderrBytes
      result.exitCode = outcome.exitCode
      result.outputTruncated = outcome.outputTruncated
      const oom = outcome.memoryExhausted && (outcome.end === 'sandbox-died' || outcome.exitCode === 137)
      usage.oomKilled = oom

      let artifactError: unknown
      if (outcome.end === 'exited' && outcome.sandboxAlive) {
        try {
          result.artifacts = await collectArtifacts(sandbox, join(dir, 'artifacts'), { maxBytes: job.limits.artifactBytes, signal })
        } catch (err) { artifactError = err }
        // The job's process tree is done: the sandbox may go in the background.
        keep = true
      }
      usage.artifactBytes = result.artifacts.reduce((n: number, a: Artifact) => n + a.size, 0)
      usage.bytesOut = usage.stdoutBytes + usage.stderrBytes + usage.artifactBytes
      options.onProgress?.({ type: 'clawnode:job:artifacts', detail: { count: result.artifacts.length, bytes: usage.artifactBytes } })

      switch (outcome.end) {
        case 'cancelled': return await finish('cancelled', new JobCancelledError({ cause: signal.reason }))
        case 'timeout': return await finish('timeout', new JobTimeoutError(job.limits.wallMs))
        case 'output-limit': return await finish('failed', new OutputLimitError(job.limits.outputBytes))
        case 'sandbox-died': return await finish('failed', oom ? new OutOfMemoryError(job.limits.memoryMb) : new SandboxDiedError(outcome.detail))
        case 'stream-error': return await finish('failed', new SandboxError(`Lost the job's output stream: ${outcome.detail}`))
        case 'exited':
          if (signal.aborted) return await finish('cancelled', new JobCancelledError({ cause: signal.reason }))
          if (oom) return await finish('failed', new OutOfMemoryError(job.limits.memoryMb))
          if (artifactError !== undefined) return await finish('failed', artifactError)
          if (outcome.exitCode !== 0) return await finish('failed', new JobFailedError(outcome.exitCode ?? -1))
          return await finish('succeeded')
      }
    }
  }

  return runner
}
