import { advertisedKeys } from '../../caps-service.ts'
import { openProbeStore, scanModels } from '../../../sandbox/index.ts'
import type { ProbePhase } from '../../../sandbox/index.ts'
import { detectCapabilities } from '../../capabilities.ts'
import { loadConfig } from '../../config.ts'
import { controlRequest, NoRunningNodeError } from '../../control.ts'
import { fitModels, modelMemoryBudget } from '../../model-host.ts'
import { ensureDataDir } from '../../data-dir.ts'
import { parseCommandArgs } from '../context.ts'
import { EXIT } from '../errors.ts'
import { serializeError } from '../../../protocol/index.ts'
import type { Capabilities, SerializedError } from '../../../protocol/index.ts'
import type { Command } from '../main.ts'

/** A model in <data>/models that is not advertised, and why: its header checks, its probe, or the memory budget. */
export interface NotOfferedModel { id: string, reason: NotOfferedReason, error: SerializedError }
export type NotOfferedReason = 'broken' | 'failed its probe' | 'crashed while serving' | 'too large'

interface Advertised { capabilities: Capabilities, keys: string[], notOffered: NotOfferedModel[], source: 'running node' | 'files' }

const LABELS: Record<NotOfferedReason, string> = { broken: 'broken', 'failed its probe': 'failed its probe', 'crashed while serving': 'crashed while serving', 'too large': 'too large for provider.modelMemoryMb' }

/**
 * The models a node does not offer, in the order people read them: files the header checks refused,
 * models that failed their probe (or crashed while serving), models too large for the memory budget.
 */
export function notOfferedModels (parts: { broken: Array<{ id: string, error: SerializedError }>, failed: Array<{ id: string, phase?: ProbePhase, error: SerializedError }>, refused: Array<{ id: string, error: unknown }> }): NotOfferedModel[] {
  return [
    ...parts.broken.map(b => ({ id: b.id, reason: 'broken' as const, error: b.error })),
    ...parts.failed.map(f => ({ id: f.id, reason: f.phase === 'serving' ? 'crashed while serving' as const : 'failed its probe' as const, error: f.error })),
    ...parts.refused.map(r => ({ id: r.id, reason: 'too large' as const, error: serializeError(r.error) }))
  ]
}

/** A running node's answer, checked (an older node sent ids only: they were all broken). */
function parseNotOffered (v: unknown): NotOfferedModel[] {
  if (!Array.isArray(v)) return []
  return v.filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null && typeof m.id === 'string').map(m => {
    const reason = typeof m.reason === 'string' && m.reason in LABELS ? m.reason as NotOfferedReason : 'broken'
    const e = (typeof m.error === 'object' && m.error !== null ? m.error : {}) as Record<string, unknown>
    return { id: String(m.id), reason, error: { name: String(e.name ?? 'Error'), message: String(e.message ?? ''), retryable: e.retryable === true, hint: String(e.hint ?? '') } }
  })
}

/**
 * What the node running with this data dir advertises (its control API: the record it serves, which
 * drops a model that crashed); with no node running, what `clawnode start` would advertise, from
 * the files: models the header checks, the memory budget or a kept probe result rule out are not.
 */
async function advertised (dataDir: string): Promise<Advertised> {
  try {
    const running = await controlRequest(dataDir, '/caps') as { capabilities: Capabilities, keys: string[], notOffered?: unknown }
    return { capabilities: running.capabilities, keys: running.keys, notOffered: parseNotOffered(running.notOffered), source: 'running node' }
  } catch (err) {
    if (!(err instanceof NoRunningNodeError)) throw err
  }
  const config = await loadConfig(dataDir)
  const registry = await scanModels(dataDir, config.provider.models ?? [])
  const fit = fitModels(registry.models, modelMemoryBudget(config.provider))
  const probes = await openProbeStore(dataDir)
  const failed = fit.offered.flatMap(m => {
    const kept = probes.get(m)
    return kept?.ok === false && kept.error !== undefined ? [{ model: m, ...(kept.phase === undefined ? {} : { phase: kept.phase }), error: kept.error }] : []
  })
  const caps = await detectCapabilities(dataDir, config, fit.offered.filter(m => !failed.some(f => f.model === m)))
  const notOffered = notOfferedModels({ broken: registry.broken, failed: failed.map(f => ({ id: f.model.id, ...(f.phase === undefined ? {} : { phase: f.phase }), error: f.error })), refused: fit.refused })
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
      ctx.stdout(JSON.stringify({ capabilities: caps, keys, notOffered, source }, null, 2) + '\n')
      return EXIT.ok
    }
    const p = caps.prices
    ctx.stdout([
      source === 'running node' ? 'advertised by the running node:' : 'no node runs with this data dir; `clawnode start` would advertise:',
      `clawnode ${caps.clawnodeVersion}: ${caps.cpuCores} CPU cores, ${(caps.memoryBytes / 1024 ** 3).toFixed(1)} GiB memory, ${caps.gpus.length === 0 ? 'no GPU' : caps.gpus.map(g => `${g.name} (${(g.memoryBytes / 1024 ** 3).toFixed(1)} GiB)`).join(', ')}`,
      `runtimes: ${caps.runtimes.join(', ')}; up to ${caps.maxConcurrentJobs} jobs at once`,
      `images: ${caps.images.length === 0 ? 'none allowed (clawnode images allow <image-id>)' : caps.images.join(', ')}`,
      `models: ${caps.models.length === 0 ? 'none (put GGUF files in <data>/models)' : caps.models.map(m => `${m.id} (${m.quantisation}, context ${m.context})`).join(', ')}${notOffered.length === 0 ? '' : `; not offered: ${notOffered.map(m => `${m.id} (${LABELS[m.reason]})`).join(', ')}, see clawnode doctor`}`,
      `prices (millicredits): ${p.perCpuSecond}/CPU-second, ${p.perGbSecond}/GB-second, ${p.per1kInputTokens}/1K input tokens, ${p.per1kOutputTokens}/1K output tokens`,
      'DHT keys:',
      ...keys.map(k => `  ${k}`),
      ''
    ].join('\n'))
    return EXIT.ok
  }
}
