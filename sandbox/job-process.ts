/**
 * Runs the job's process inside a sandbox and watches it: streams stdout/stderr live (capped), enforces
 * the wall-clock limit, honours the abort signal, samples the sandbox's cgroup for CPU and memory, and
 * notices when the sandbox itself dies (gVisor's answer to an out-of-memory or pids-limit kill is to
 * lose the whole sandbox, and Docker's exec stream may then never end).
 */
import { CGROUP_SAMPLE_INTERVAL_MS, DOCKER_CALL_TIMEOUT_MS, EXEC_POLL_INTERVAL_MS, IN_DIR } from './constants.ts'
import { readCgroup, resetPeak } from './cgroup.ts'
import { createDemuxer } from './demux.ts'
import { feedStdin, startExec } from './exec.ts'
import type { CgroupSample } from './cgroup.ts'
import type { OutputStream } from './demux.ts'
import type { ValidatedJob } from './job-spec.ts'
import type { Sandbox } from './sandbox.ts'

export type ProcessEnd = 'exited' | 'timeout' | 'cancelled' | 'output-limit' | 'sandbox-died' | 'stream-error'

export interface ProcessOutcome {
  end: ProcessEnd
  exitCode: number | null
  wallMs: number
  cpuNs: number
  peakMemoryBytes: number
  /** The sandbox hit its memory limit (OOM kill or limit hits seen in the cgroup). */
  memoryExhausted: boolean
  stdoutBytes: number
  stderrBytes: number
  outputTruncated: boolean
  /** The sandbox still runs, so artifacts can be collected. */
  sandboxAlive: boolean
  detail: string
}

export interface ProcessOptions {
  signal?: AbortSignal
  /** Called with each piece of output as it arrives, already cut at the output cap. */
  onOutput?: (stream: OutputStream, data: Uint8Array) => void
}

async function sample (sandbox: Sandbox): Promise<CgroupSample | undefined> {
  if (sandbox.cgroup === undefined) return undefined
  try { return await readCgroup(sandbox.cgroup) } catch { return undefined }
}

interface SandboxState { running: boolean, exitCode: number | null, oomKilled: boolean }

async function sandboxState (sandbox: Sandbox): Promise<SandboxState> {
  try {
    const info = await sandbox.container.inspect({ abortSignal: AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS) } as object)
    return { running: info.State.Running, exitCode: info.State.Running ? null : info.State.ExitCode, oomKilled: info.State.OOMKilled }
  } catch {
    return { running: false, exitCode: null, oomKilled: false }
  }
}

async function isRunning (sandbox: Sandbox): Promise<boolean> {
  return (await sandboxState(sandbox)).running
}

export async function runJobProcess (sandbox: Sandbox, job: ValidatedJob, options: ProcessOptions = {}): Promise<ProcessOutcome> {
  const limits = job.limits
  if (sandbox.cgroup !== undefined) await resetPeak(sandbox.cgroup)
  const before = await sample(sandbox)
  let last = before
  let peak = 0
  let memoryExhausted = false
  const track = (s: CgroupSample): void => {
    last = s
    peak = Math.max(peak, s.memoryPeakBytes)
    if (before !== undefined && (s.oomKills > before.oomKills || s.memoryLimitHits > before.memoryLimitHits)) memoryExhausted = true
  }

  const { exec, stream } = await startExec(sandbox, {
    cmd: job.argv,
    env: job.env.map(([k, v]) => `${k}=${v}`),
    workdir: IN_DIR,
    stdin: job.stdin !== undefined,
    ...(options.signal === undefined ? {} : { signal: options.signal })
  })
  const started = performance.now()
  const ended = Promise.withResolvers<{ end: ProcessEnd, detail: string }>()
  let stdoutBytes = 0
  let stderrBytes = 0
  let outputTruncated = false

  const demux = createDemuxer((which, data) => {
    const room = limits.outputBytes - stdoutBytes - stderrBytes
    const part = data.byteLength > room ? data.subarray(0, Math.max(0, room)) : data
    if (which === 'stdout') stdoutBytes += part.byteLength
    else stderrBytes += part.byteLength
    if (part.byteLength > 0) options.onOutput?.(which, part)
    if (part.byteLength < data.byteLength) {
      outputTruncated = true
      ended.resolve({ end: 'output-limit', detail: `output passed ${limits.outputBytes} bytes` })
    }
  })
  stream.on('data', (chunk: Uint8Array) => {
    if (outputTruncated) return
    try { demux.push(chunk) } catch (err) { ended.resolve({ end: 'stream-error', detail: (err as Error).message }) }
  })
  let decided = false
  void ended.promise.then(() => { decided = true })
  // A job may close its stdout and stderr and go on running: the stream ends, the process does not.
  // So the end of the stream starts polling the exec until its process is gone (the wall timer, the
  // abort and the sandbox watch still apply meanwhile).
  stream.once('end', () => {
    void (async () => {
      while (!decided) {
        const info = await exec.inspect({ abortSignal: AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS) } as object).catch(() => undefined)
        if (info === undefined || !info.Running) { ended.resolve({ end: 'exited', detail: 'process ended' }); return }
        await new Promise(resolve => setTimeout(resolve, EXEC_POLL_INTERVAL_MS))
      }
    })()
  })
  stream.once('error', (err) => { ended.resolve({ end: 'stream-error', detail: err.message }) })

  const timer = setTimeout(() => { ended.resolve({ end: 'timeout', detail: `wall limit ${limits.wallMs} ms` }) }, limits.wallMs)
  const onAbort = (): void => { ended.resolve({ end: 'cancelled', detail: 'aborted by caller' }) }
  if (options.signal?.aborted === true) onAbort()
  options.signal?.addEventListener('abort', onAbort, { once: true })

  // Sampling also notices a dead sandbox: its cgroup vanishes when the container stops.
  let sampling = false
  const sampler = setInterval(() => {
    if (sampling) return
    sampling = true
    void sample(sandbox).then(async (s) => {
      if (s !== undefined) { track(s); return }
      if (!(await isRunning(sandbox))) ended.resolve({ end: 'sandbox-died', detail: 'the sandbox container stopped' })
    }).finally(() => { sampling = false })
  }, CGROUP_SAMPLE_INTERVAL_MS)

  feedStdin(stream, job.stdin)
  const { end, detail } = await ended.promise
  const wallMs = Math.round(performance.now() - started)
  clearTimeout(timer)
  clearInterval(sampler)
  options.signal?.removeEventListener('abort', onAbort)

  // Read the cgroup once more while the sandbox still exists (the process is done or about to be killed).
  const final = await sample(sandbox)
  if (final !== undefined) track(final)
  let exitCode: number | null = null
  let sandboxAlive = final !== undefined
  let outcome = end
  if (end === 'exited') {
    try {
      const info = await exec.inspect({ abortSignal: AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS) } as object)
      exitCode = info.Running ? null : info.ExitCode
    } catch { exitCode = null }
    sandboxAlive = await isRunning(sandbox)
    if (!sandboxAlive) outcome = 'sandbox-died'
  } else {
    stream.destroy()
  }
  const cpuNs = before !== undefined && last !== undefined ? Math.max(0, last.cpuNs - before.cpuNs) : 0
  let detail2 = detail
  if (outcome === 'sandbox-died') {
    // gVisor loses the whole sandbox when the host OOM killer picks its sentry (SIGKILL, exit 137), and
    // Docker does not flag runsc containers as OOMKilled. A SIGKILL we did not send, with memory past
    // half the limit at the last sample (samples are 100 ms apart; memory can double in between), is
    // taken as out-of-memory.
    const state = await sandboxState(sandbox)
    detail2 = `the sandbox container stopped with exit code ${state.exitCode ?? 'unknown'}`
    if (state.oomKilled || (state.exitCode === 137 && peak >= 0.5 * limits.memoryMb * 1024 * 1024)) memoryExhausted = true
  }
  return {
    end: outcome,
    exitCode,
    wallMs,
    cpuNs,
    peakMemoryBytes: peak,
    memoryExhausted,
    stdoutBytes,
    stderrBytes,
    outputTruncated,
    sandboxAlive,
    detail: detail2
  }
}
