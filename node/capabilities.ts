/**
 * What this node offers, as advertised in its capability record: detected hardware (GPUs through
 * node-llama-cpp, sandbox/llama/gpu.ts), the sandbox runtime, the images the operator allowed, the
 * models it serves, and prices and capacity from the config.
 */
import { availableParallelism, totalmem } from 'node:os'
import { detectGpu, readAllowlist } from '../sandbox/index.ts'
import { DEFAULT_MAX_CONCURRENT_JOBS, DEFAULT_PRICES } from './constants.ts'
import { modelFamily } from './model-family.ts'
import { clawnodeVersion } from './version.ts'
import type { NodeConfig } from './config.ts'
import type { Capabilities } from '../protocol/index.ts'
import type { GpuDetection, RegisteredModel } from '../sandbox/index.ts'
import type { AbortOptions } from '@libp2p/interface'

export interface DetectCapabilitiesOptions extends AbortOptions {
  /** The GPU detection to advertise (default: detectGpu(), probed once per process). */
  gpu?: GpuDetection
}

/** How a registered model appears in the capability record; its family is its GGUF architecture. */
export function modelOffer (m: RegisteredModel): Capabilities['models'][number] {
  const family = modelFamily(m.architecture)
  return { id: m.id, digest: m.sha256, quantisation: m.quantisation, context: m.contextLength, ...(family === '' ? {} : { family }) }
}

export async function detectCapabilities (dataDir: string, config: NodeConfig, models: RegisteredModel[] = [], options: DetectCapabilitiesOptions = {}): Promise<Capabilities> {
  const runtime = config.sandbox.runtime ?? 'runsc'
  const gpu = options.gpu ?? await detectGpu(options)
  return {
    clawnodeVersion: clawnodeVersion(),
    cpuCores: availableParallelism(),
    memoryBytes: totalmem(),
    gpus: gpu.devices.map(d => ({ name: d.name, memoryBytes: d.memoryBytes, ...(gpu.backend === 'cpu' ? {} : { backend: gpu.backend }) })),
    runtimes: [runtime === 'runsc' ? 'gvisor' : runtime],
    images: (await readAllowlist(dataDir)).map(i => i.id),
    models: models.map(modelOffer),
    prices: { ...DEFAULT_PRICES, ...config.provider.prices },
    maxConcurrentJobs: config.provider.maxConcurrentJobs ?? DEFAULT_MAX_CONCURRENT_JOBS
  }
}
