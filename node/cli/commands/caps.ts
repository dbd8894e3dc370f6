import { advertisedKeys } from '../../caps-service.ts'
import { scanModels } from '../../../sandbox/index.ts'
import { detectCapabilities } from '../../capabilities.ts'
import { loadConfig } from '../../config.ts'
import { fitModels, modelMemoryBudget } from '../../model-host.ts'
import { ensureDataDir } from '../../data-dir.ts'
import { parseCommandArgs } from '../context.ts'
import { EXIT } from '../errors.ts'
import type { Command } from '../main.ts'

export const command: Command = {
  summary: 'Show what this node advertises (hardware, runtimes, allowed images, models, prices, capacity) and its DHT keys',
  usage: 'clawnode caps [--json] [--data <dir>]',
  async run (ctx, args) {
    parseCommandArgs(args, {})
    await ensureDataDir(ctx.dataDir)
    const config = await loadConfig(ctx.dataDir)
    const registry = await scanModels(ctx.dataDir, config.provider.models ?? [])
    // As `clawnode start` advertises them: models larger than provider.modelMemoryMb are not offered.
    const fit = fitModels(registry.models, modelMemoryBudget(config.provider))
    const caps = await detectCapabilities(ctx.dataDir, config, fit.offered)
    const notOffered = [...registry.broken.map(b => `${b.id} (broken)`), ...fit.refused.map(r => `${r.id} (too large for provider.modelMemoryMb)`)]
    const keys = advertisedKeys(caps)
    if (ctx.json) {
      ctx.stdout(JSON.stringify({ capabilities: caps, keys }, null, 2) + '\n')
      return EXIT.ok
    }
    const p = caps.prices
    ctx.stdout([
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
