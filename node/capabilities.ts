/**
 * What this node offers, as advertised in its capability record: detected hardware, the sandbox
 * runtime, the images the operator allowed, the models in the registry, and prices and capacity from
 * the config.
 */
import { availableParallelism, totalmem } from 'node:os'
import { readAllowlist } from '../sandbox/index.ts'
import { DEFAULT_MAX_CONCURRENT_JOBS, DEFAULT_PRICES } from './constants.ts'
import { clawnodeVersion } from './version.ts'
import type { NodeConfig } from './config.ts'
import type { Capabilities } from '../protocol/index.ts'
import type { RegisteredModel } from '../sandbox/index.ts'

export async function detectCapabilities (dataDir: string, config: NodeConfig, models: RegisteredModel[] = []): Promise<Capabilities> {
  const runtime = config.sandbox.runtime ?? 'runsc'
  return {
    clawnodeVersion: clawnodeVersion(),
    cpuCores: availableParallelism(),
    memoryBytes: totalmem(),
    // GPUs are detected through node-llama-cpp with the inference runner (a later issue).
    gpus: [],
    runtimes: [runtime === 'runsc' ? 'gvisor' : runtime],
    images: (await readAllowlist(dataDir)).map(i => i.id),
    models: models.map(m => ({ id: m.id, digest: m.sha256, quantisation: m.quantisation, context: m.contextLength })),
    prices: { ...DEFAULT_PRICES, ...config.provider.prices },
    maxConcurrentJobs: config.provider.maxConcurrentJobs ?? DEFAULT_MAX_CONCURRENT_JOBS
  }
}
