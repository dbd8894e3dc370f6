/**
 * GPU detection through node-llama-cpp, in a child process (sandbox/llama/gpu-probe.ts): which
 * backend loads here (CUDA, Vulkan, Metal, or none) and its devices with their memory. Never throws
 * for what it finds: a backend that fails to load, or a probe that dies, gives the CPU with the
 * reason. The answer is kept for the life of the process (the hardware does not change under it).
 */
import { fork } from 'node:child_process'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { GPU_PROBE_TIMEOUT_MS, MAX_GPU_DEVICES, MAX_GPU_NAME_LENGTH } from './constants.ts'
import type { AbortOptions } from '@libp2p/interface'

const log = logger('clawnode:llama:gpu')

export type GpuBackend = 'cuda' | 'vulkan' | 'metal' | 'cpu'
export interface GpuDevice { name: string, memoryBytes: number }
export interface GpuDetection {
  backend: GpuBackend
  devices: GpuDevice[]
  /** Backends that were found but failed to load, with why (the node then runs on the CPU). */
  failures: Array<{ backend: string, message: string }>
}

const BACKENDS = new Set<string>(['cuda', 'vulkan', 'metal', 'cpu'])
/** Failures kept, and characters of each (the probe tries at most three backends). */
const MAX_FAILURES = 8
const MAX_FAILURE_LENGTH = 300

/** The detection in words, for doctor and logs: the backend and devices, or why only the CPU. */
export function describeGpu (gpu: GpuDetection): string {
  if (gpu.backend !== 'cpu') {
    const devices = gpu.devices.map(d => `${d.name} (${(d.memoryBytes / 1024 ** 3).toFixed(1)} GiB)`).join(', ')
    return `${gpu.backend}: ${devices === '' ? 'no device names reported' : devices}`
  }
  if (gpu.failures.length === 0) return 'CPU only: no CUDA/Vulkan/Metal device found'
  return `CPU only: ${gpu.failures.map(f => BACKENDS.has(f.backend) ? `${f.backend} did not load (${f.message})` : f.message).join('; ')}`
}

/** Checks the probe's answer (our own child, but still bounded). */
function parseProbe (m: unknown): GpuDetection {
  const o = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>
  if (o.type !== 'gpu' || typeof o.backend !== 'string' || !BACKENDS.has(o.backend) || !Array.isArray(o.devices) || !Array.isArray(o.failures)) throw new Error('the GPU probe answered something else')
  const devices = (o.devices as unknown[]).slice(0, MAX_GPU_DEVICES).map(d => {
    const { name, memoryBytes } = (d ?? {}) as Record<string, unknown>
    return { name: String(name).slice(0, MAX_GPU_NAME_LENGTH), memoryBytes: typeof memoryBytes === 'number' && Number.isSafeInteger(memoryBytes) && memoryBytes >= 0 ? memoryBytes : 0 }
  })
  const failures = (o.failures as unknown[]).slice(0, MAX_FAILURES).map(f => {
    const { backend, message } = (f ?? {}) as Record<string, unknown>
    return { backend: String(backend).slice(0, 32), message: String(message).slice(0, MAX_FAILURE_LENGTH) }
  })
  return { backend: o.backend as GpuBackend, devices, failures }
}

/** Runs the probe once (not cached). Resolves with the CPU and the reason when the probe fails. */
export async function probeGpu (options: AbortOptions & { timeoutMs?: number } = {}): Promise<GpuDetection> {
  options.signal?.throwIfAborted()
  const child = fork(join(import.meta.dirname, import.meta.filename.endsWith('.ts') ? 'gpu-probe.ts' : 'gpu-probe.js'), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-2000) })
  const answer = Promise.withResolvers<GpuDetection>()
  child.once('message', (m) => {
    try { answer.resolve(parseProbe(m)) } catch (err) { answer.reject(err) }
  })
  // 'close', not 'exit': by then the answer, if one was sent, has been read.
  child.once('close', (code, signal) => {
    const last = stderr.trim().split('\n').at(-1) ?? ''
    answer.reject(new Error(`the GPU probe ended (${signal ?? `exit code ${code}`})${last === '' ? '' : `: ${last}`}`))
  })
  child.once('error', (err) => { answer.reject(err) })
  const timer = setTimeout(() => { answer.reject(new Error(`the GPU probe took longer than ${options.timeoutMs ?? GPU_PROBE_TIMEOUT_MS} ms`)) }, options.timeoutMs ?? GPU_PROBE_TIMEOUT_MS)
  const onAbort = (): void => { answer.reject(options.signal?.reason) }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const found = await answer.promise
    log('GPU: %s', describeGpu(found))
    return found
  } catch (err) {
    if (options.signal?.aborted === true) throw err
    log.error('GPU detection failed, running on the CPU: %e', err)
    return { backend: 'cpu', devices: [], failures: [{ backend: 'probe', message: `GPU detection failed: ${(err as Error).message}` }] }
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

// One probe per process: every caller shares it (a caller's abort stops only its own wait).
let detected: Promise<GpuDetection> | undefined

/** The GPU backend and devices of this machine, probed once per process. */
export async function detectGpu (options: AbortOptions = {}): Promise<GpuDetection> {
  options.signal?.throwIfAborted()
  detected ??= probeGpu()
  if (options.signal === undefined) return await detected
  const aborted = Promise.withResolvers<never>()
  const onAbort = (): void => { aborted.reject(options.signal?.reason) }
  options.signal.addEventListener('abort', onAbort, { once: true })
  try {
    return await Promise.race([detected, aborted.promise])
  } finally {
    options.signal.removeEventListener('abort', onAbort)
  }
}
