import { advertisedKeys } from '../../caps-service.ts'
import { openProbeStore, scanModels } from '../../../sandbox/index.ts'
import { detectCapabilities } from '../../capabilities.ts'
import { loadConfig } from '../../config.ts'
import { controlRequest, NoRunningNodeError } from '../../control.ts'
import { fitModels, modelMemoryBudget } from '../../model-host.ts'
import { ensureDataDir } from '../../data-dir.ts'
import { parseCommandArgs } from '../context.ts'
import { EXIT } from '../errors.ts'
import type { Capabilities } from '../../../protocol/index.ts'
import type { Command } from '../main.ts'

interface Advertised { capabilities: Capabilities, keys: string[], notOffered: string[], source: 'running node' | 'files' }

/**
 * What the node running with this data dir advertises (its control API: the record it serves, which
 * drops a model that crashed); with no node running, what `clawnode start` would advertise, from
 * the files: models the header checks, the memory budget or a kept probe result rule out are not.
 */
async function advertised (dataDir: string): Promise<Advertised> {
  try {
    const running = await controlRequest(dataDir, '/caps') as { capabilities: Capabilities, keys: string[], notOffered?: Array<{ id: string }> }
    return { capabilities: running.capabilities, keys: running.keys, notOffered: (running.notOffered ?? []).map(b => `${b.id} (broken)`), source: 'running node' }
  } catch (err) {
    if (!(err instanceof NoRunningNodeError)) throw err
  }
  const config = await loadConfig(dataDir)
  const registry = await scanModels(dataDir, config.provider.models ?? [])
  const fit = fitModels(registry.models, modelMemoryBudget(config.provider))
  const probes = await openProbeStore(dataDir)
  const failed = fit.offered.filter(m => probes.get(m)?.ok === false)
  const caps = await detectCapabilities(dataDir, config, fit.offered.filter(m => !failed.includes(m)))
  const notOffered = [...registry.broken.map(b => `${b.id} (broken)`), ...failed.map(m => `${m.id} (failed its probe)`), ...fit.refused.map(r => `${r.id} (too large for provider.modelMemoryMb)`)]
  return { capabilities: caps, keys: advertisedKeys(caps), notOffered, source: 'files' }
}

export const command: Command = {
  summary: 'Show what this node advertises (hardware, runtimes, allowed images, models, prices, capacity) and its DHT keys',
  usage: 'clawnode caps [--json] [--data <dir>]\n\n' +
    'Asks the node running with this data dir; with none running, shows what `clawnode start` would advertise.',
  async run (ctx, args) {
    parseCommandArgs(args, {})
    await ensureDataDir(ctx.dataDir)
    const { capabilities: caps, keys, notOffered, source } = await advertised(ctx.dataDir)
    if (ctx.json) {
      ctx.stdout(JSON.stringify({ capabilities: caps, keys, source }, null, 2) + '\n')
      return EXIT.ok
    }
    const p = caps.prices
    ctx.stdout([
      source === 'running node' ? 'advertised by the running node:' : 'no node runs with this data dir; `clawnode start` would advertise:',
      `clawnode ${caps.clawnodeVersion}: ${caps.cpuCores} CPU cores, ${(caps.memoryBytes / 1024 ** 3).toFixed(1)} GiB memory, ${caps.gpus.length === 0 ? 'no GPU' : caps.gpus.map(g => `${g.name} (${(g.memoryBytes / 1024 ** 3).toFixed(1)} GiB)`).join(', ')}`,
      `runtimes: ${caps.runtimes.join(', ')}; up to ${caps.maxConcurrentJobs} jobs at once`,
      `images: ${caps.images.length === 0 ? 'none allowed (clawnode images allow <image-id>)' : caps.images.join(', ')}`,
      `models: ${caps.models.length === 0 ? 'none (put GGUF files in <data>/models)' : caps.models.map(m => `${m.id} (${m.quantisation}, context ${m.context})`).join(', ')}${notOffered.length === 0 ? '' : `; not offered: ${notOffered.join(', ')}, see clawnode doctor`}`,
      `prices (millicredits): ${p.perCpuSecond}/CPU-second, ${p.perGbSecond}/GB-second, ${p.per1kInputTokens}/1K input tokens, ${p.per1kOutputTokens}/1K output tokens`,
      'DHT keys:',
      ...keys.map(k => `  ${k}`),
      ''
    ].join('\n'))
    return EXIT.ok
  }
}
