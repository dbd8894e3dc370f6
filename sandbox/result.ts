/**
 * The outcome of a job as plain data: what `result.json` holds and what a receipt will carry.
 */
import type { SerializedError } from '../protocol/index.ts'
import type { Artifact } from './files.ts'

export type JobStatus = 'succeeded' | 'failed' | 'timeout' | 'cancelled' | 'rejected'

export interface JobUsage {
  /** Wall-clock time of the job process, ms. */
  wallMs: number
  /** CPU time the sandbox's cgroup spent while the job ran (gVisor's overhead included), ms. */
  cpuMs: number
  /** Peak memory of the sandbox's cgroup during the job, bytes. */
  peakMemoryBytes: number
  exitCode: number | null
  /** True when the sandbox was killed for memory (see LIMITS.md for how this is detected). */
  oomKilled: boolean
  /** stdout + stderr + artifact bytes delivered. */
  bytesOut: number
  stdoutBytes: number
  stderrBytes: number
  artifactBytes: number
}

export interface JobResult {
  version: 1
  jobId: string
  status: JobStatus
  image: string | null
  runtime: string
  /** Whether the job ran in a pre-started sandbox from the warm pool. */
  warm: boolean
  startedAt: string
  finishedAt: string
  exitCode: number | null
  usage: JobUsage
  /** True when stdout/stderr were cut at limits.outputBytes. */
  outputTruncated: boolean
  artifacts: Artifact[]
  error: SerializedError | null
}

export function emptyUsage (): JobUsage {
  return { wallMs: 0, cpuMs: 0, peakMemoryBytes: 0, exitCode: null, oomKilled: false, bytesOut: 0, stdoutBytes: 0, stderrBytes: 0, artifactBytes: 0 }
}
