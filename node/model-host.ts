/**
 * The models a provider serves: the registry's good models, each loaded on first use in its own
 * process (sandbox/llama) and kept loaded while the loaded models fit a memory budget
 * (provider.modelMemoryMb). Before a model loads, the least recently used idle models are closed until
 * its estimated memory fits; a model with a chat in progress is never closed under it. When the
 * models holding the memory are all busy, the request waits for one to finish (up to
 * MODEL_MEMORY_WAIT_MS, abortable), then fails with ModelMemoryBusyError (retryable): a consumer
 * would rather wait a few seconds than be refused, but not for as long as another's generation may
 * run. A model that alone exceeds the budget is not offered (ModelTooLargeError).
 * Before the node advertises them, probe() loads each model and decodes one token, one model at a
 * time, through the same loader that serves requests: a file that passes the header checks but aborts
 * llama.cpp costs a probe, not a consumer's request. A model whose process fails, in its probe or
 * while serving, is withdrawn (onWithdraw: the node republishes its record without it) and reported
 * broken; when the file is at fault the result is kept (sandbox/llama/probe-store.ts), so it stays
 * withdrawn across restarts until the file changes, and a file that passed is not probed again.
 */
import { logger } from '@libp2p/logger'
import { serializeError } from '../protocol/index.ts'
import { DEFAULT_CONTEXT_SIZE, detectGpu, estimateModelMemory, fileDigest, isFileFault, loadModel, ModelProbeFailedError, ModelTooLargeError, MODEL_PROBE_TIMEOUT_MS } from '../sandbox/index.ts'
import { MODEL_MEMORY_WAIT_MS } from './constants.ts'
import { fitModels, modelMemoryBudget } from './model-fit.ts'
import { ModelHostClosedError, ModelMemoryBusyError, ModelNotServedError, ModelProbeTimeoutError } from './model-host-errors.ts'
import type { SerializedError } from '../protocol/index.ts'
import type { LoadedModel, ProbePhase, ProbeStore, RegisteredModel } from '../sandbox/index.ts'
import type { AbortOptions } from '@libp2p/interface'

const log = logger('clawnode:models')
const MIB = 1024 * 1024
/** A probe's request: one short prompt, one token (the prompt's evaluation and one decode). */
const PROBE_MESSAGES = [{ role: 'user' as const, content: 'Hello' }]
const PROBE_PARAMS = { maxTokens: 1, temperature: 0, seed: 0 }

export { ModelNotServedError, ModelMemoryBusyError, ModelProbeTimeoutError, ModelHostClosedError } from './model-host-errors.ts'

export { fitModels, modelMemoryBudget } from './model-fit.ts'

export interface ModelHostInit {
  threads?: number
  contextSize?: number
  /** Bytes all loaded models may take together (default: modelMemoryBudget()). */
  memoryBytes?: number
  /** How long get() waits for busy models to free memory (default MODEL_MEMORY_WAIT_MS). */
  memoryWaitMs?: number
  /** Loads a model. Default: in its own process, on the GPU backend detectGpu finds (tests pass a fake). */
  load?: (model: RegisteredModel, options: { contextSize: number, threads?: number, signal: AbortSignal }) => Promise<LoadedModel>
  /** A model's resident bytes before it is loaded. Default: estimateModelMemory from its header. */
  estimate?: (model: RegisteredModel, contextSize: number) => number
  /** Kept probe results: models marked broken there are not offered; probe() and crashes add to it. */
  probes?: ProbeStore
  /** How long one model's probe (load and one token) may take (default MODEL_PROBE_TIMEOUT_MS). */
  probeTimeoutMs?: number
  /** A model that was offered is no longer: its probe failed or it crashed while serving. */
  onWithdraw?: (id: string, error: ModelProbeFailedError) => void
}

export interface ProbeReport { id: string, ok: boolean, /** The kept result was used; nothing was loaded. */ cached: boolean, error?: SerializedError }
export interface BrokenServedModel { id: string, phase: ProbePhase, error: SerializedError }

export interface LoadedModelStats {
  id: string
  state: 'loading' | 'ready' | 'closing'
  /** What the model is counted for: the larger of the estimate and its last measured VmRSS. */
  accountedBytes: number
  estimatedBytes: number
  residentBytes?: number
  /** Chats in progress (and get() calls being answered). */
  busy: number
}

export interface ModelHost {
  /** The models offered now (crashed and too large ones are not). */
  offered: () => RegisteredModel[]
  /** Models never offered: alone they exceed the memory budget. */
  refused: () => Array<{ id: string, error: ModelTooLargeError }>
  has: (id: string) => boolean
  /** Stops offering a model; it closes once idle. */
  drop: (id: string) => void
  /**
   * Loads each offered model not yet known good and decodes one token, one at a time (bounded by
   * probeTimeoutMs each), then closes it; a model that fails is withdrawn. Saves the results.
   */
  probe: (options?: AbortOptions) => Promise<ProbeReport[]>
  /** Models withdrawn (failed probe, crash while serving) or marked broken by a kept probe result. */
  broken: () => BrokenServedModel[]
  /**
   * The model, loaded. It is not closed while one of its chats runs, nor before the task that awaited
   * get() has had its turn (so `const m = await host.get(id); await m.chat(…)` is safe). Its close()
   * does nothing: the host decides when a model's process ends.
   */
  get: (id: string, options?: AbortOptions) => Promise<LoadedModel>
  loaded: () => LoadedModelStats[]
  memory: () => { budgetBytes: number, usedBytes: number }
  close: () => Promise<void>
}

interface Entry {
  model: RegisteredModel
  state: 'waiting' | 'loading' | 'ready' | 'closing'
  estimate: number
  resident?: number
  busy: number
  lastUsed: number
  dropped: boolean
  /** Its probe runs: a crash now is a failed first decode. */
  probing: boolean
  ready: Promise<LoadedModel>
  loaded?: LoadedModel
  closed?: Promise<void>
}

export function createModelHost (models: RegisteredModel[], init: ModelHostInit = {}): ModelHost {
  const contextSize = init.contextSize ?? DEFAULT_CONTEXT_SIZE
  const budget = init.memoryBytes ?? modelMemoryBudget()
  const waitMs = init.memoryWaitMs ?? MODEL_MEMORY_WAIT_MS
  const estimate = init.estimate ?? ((m: RegisteredModel, ctx: number) => estimateModelMemory(m, ctx))
  const load = init.load ?? (async (m: RegisteredModel, o: { contextSize: number, threads?: number, signal: AbortSignal }) => {
    const gpu = await detectGpu({ signal: o.signal })
    return await loadModel(m.path, { ...o, gpu: gpu.backend })
  })
  const fit = fitModels(models, budget, { contextSize, estimate })
  const offered = new Map(fit.offered.map(m => [m.id, m]))
  const refused = new Map(fit.refused.map(r => [r.id, r.error]))
  for (const r of fit.refused) log.error('%s', r.error.message)
  const broken = new Map<string, BrokenServedModel>()
  for (const m of fit.offered) {
    const kept = init.probes?.get(m)
    if (kept?.ok !== false || kept.phase === undefined || kept.error === undefined) continue
    offered.delete(m.id)
    broken.set(m.id, { id: m.id, phase: kept.phase, error: kept.error })
    log.error('model %s is not offered (probe result of %s): %s', m.id, kept.at, kept.error.message)
  }
  const probeTimeoutMs = init.probeTimeoutMs ?? MODEL_PROBE_TIMEOUT_MS
  // Loading, loaded and closing models, each counted until its process has ended.
  const entries = new Map<string, Entry>()
  const closing = new Set<Entry>()
  const shutdown = new AbortController()
  let clock = 0
  let changed = Promise.withResolvers<void>()
  const notify = (): void => { changed.resolve(); changed = Promise.withResolvers() }

  const accounted = (e: Entry): number => Math.max(e.estimate, e.resident ?? 0)
  const used = (): number => {
    let n = 0
    for (const e of [...entries.values(), ...closing]) if (e.state !== 'waiting') n += accounted(e)
    return n
  }

  const evict = async (e: Entry): Promise<void> => {
    if (e.state === 'closing') return await e.closed
    if (entries.get(e.model.id) === e) entries.delete(e.model.id)
    e.state = 'closing'
    closing.add(e)
    log('closing model %s (%d MiB)', e.model.id, Math.round(accounted(e) / MIB))
    e.closed = (async () => {
      await e.loaded?.close().catch((err: unknown) => { log.error('closing model %s: %e', e.model.id, err) })
      closing.delete(e)
      notify()
    })()
    await e.closed
  }

  const release = (e: Entry): void => {
    e.busy--
    e.lastUsed = ++clock
    if (e.busy > 0) return
    if (e.dropped && e.state === 'ready') void evict(e)
    notify()
  }

  /** Stops offering a model that failed, says why, keeps the result when the file is at fault. */
  const withdraw = (model: RegisteredModel, phase: ProbePhase, err: unknown): void => {
    if (!offered.has(model.id) || shutdown.signal.aborted) return
    offered.delete(model.id)
    const error = new ModelProbeFailedError(model.id, phase, err, init.probes === undefined ? {} : { file: init.probes.path })
    broken.set(model.id, { id: model.id, phase, error: serializeError(error) })
    log.error('%s', error.message)
    if (init.probes !== undefined && isFileFault(err)) void keep(init.probes, model, phase, error)
    init.onWithdraw?.(model.id, error)
  }

  /**
   * Keeps a failure by the file's content. While serving, that is the file as it is now: it may have
   * changed since the registry read it, and what crashed is what the last load found on disk.
   */
  const keep = async (probes: ProbeStore, model: RegisteredModel, phase: ProbePhase, error: ModelProbeFailedError): Promise<void> => {
    try {
      probes.set(phase === 'serving' ? { id: model.id, ...await fileDigest(model.path).catch(() => model) } : model, { ok: false, phase, error })
      await probes.save()
    } catch (err) {
      log.error('could not keep the probe result of %s: %e', model.id, err)
    }
  }

  const crashed = (e: Entry, err: Error): void => {
    if (err.name === 'ModelCrashedError') withdraw(e.model, e.probing ? 'decode' : 'serving', err)
  }

  /**
   * Waits until the model fits, closing idle models least recently used first; then counts it (in the
   * same turn as the check, so two admissions never both take the same room).
   */
  const admit = async (e: Entry): Promise<void> => {
    const started = Date.now()
    let timer: NodeJS.Timeout | undefined
    let timedOut = false
    try {
      while (true) {
        if (shutdown.signal.aborted) throw new ModelHostClosedError()
        if (used() + e.estimate <= budget) { e.state = 'loading'; return }
        const idle = [...entries.values()].filter(o => o.state === 'ready' && o.busy === 0).sort((a, b) => a.lastUsed - b.lastUsed)
        let room = budget - used()
        const victims: Entry[] = []
        for (const o of idle) {
          if (room >= e.estimate) break
          victims.push(o)
          room += accounted(o)
        }
        if (room >= e.estimate) {
          await Promise.all(victims.map(evict))
          continue
        }
        // Not enough even with every idle model closed: wait for a chat to end or a process to exit.
        if (timedOut) throw new ModelMemoryBusyError(e.model.id, Date.now() - started)
        const wake = changed.promise
        timer ??= setTimeout(() => { timedOut = true; notify() }, waitMs)
        await wake
      }
    } finally {
      clearTimeout(timer)
    }
  }

  const open = async (e: Entry): Promise<LoadedModel> => {
    await admit(e)
    const { model } = e
    log('loading model %s (about %d MiB; %d of %d MiB in use)', model.id, Math.round(e.estimate / MIB), Math.round(used() / MIB), Math.round(budget / MIB))
    const loaded = await load(model, { contextSize, signal: shutdown.signal, ...(init.threads === undefined ? {} : { threads: init.threads }) })
    e.loaded = loaded
    if (shutdown.signal.aborted || e.dropped) { await evict(e); throw e.dropped ? new ModelNotServedError(model.id) : new ModelHostClosedError() }
    e.state = 'ready'
    void loaded.exited.then((err) => {
      if (e.state === 'closing') return
      // Died on its own: it holds no memory any more.
      if (entries.get(model.id) === e) entries.delete(model.id)
      e.state = 'closing'
      crashed(e, err)
      notify()
    })
    const resident = await loaded.residentBytes()
    if (resident !== undefined) e.resident = resident
    log('model %s loaded: %d MiB resident, %d MiB estimated', model.id, Math.round((e.resident ?? 0) / MIB), Math.round(e.estimate / MIB))
    return loaded
  }

  const start = (model: RegisteredModel): Entry => {
    const e = { model, state: 'waiting', estimate: estimate(model, contextSize), busy: 0, lastUsed: ++clock, dropped: false, probing: false } as Omit<Entry, 'ready'> as Entry
    e.ready = open(e)
    e.ready.catch((err: unknown) => {
      if (entries.get(model.id) === e) entries.delete(model.id)
      notify()
      const name = (err as Error).name
      if (name === 'ModelMemoryBusyError' || name === 'ModelHostClosedError' || name === 'ModelNotServedError' || shutdown.signal.aborted) return
      withdraw(model, 'load', err)
    })
    entries.set(model.id, e)
    return e
  }

  const wrap = (e: Entry, m: LoadedModel): LoadedModel => ({
    path: m.path,
    contextSize: m.contextSize,
    pid: m.pid,
    exited: m.exited,
    residentBytes: m.residentBytes,
    async chat (messages, params, options) {
      e.busy++
      try {
        return await m.chat(messages, params, options)
      } catch (err) {
        crashed(e, err as Error)
        throw err
      } finally {
        release(e)
        // Pages the decode touched count from now on.
        void m.residentBytes().then((bytes) => { if (bytes !== undefined && e.state === 'ready') { e.resident = bytes; notify() } })
      }
    },
    async close () {}
  })

  /** Loads a model and decodes one token; undefined when it passed, else why it is withdrawn. */
  const probeOne = async (model: RegisteredModel, options: AbortOptions): Promise<SerializedError | undefined> => {
    const e = entries.get(model.id) ?? start(model)
    e.busy++
    e.probing = true
    let phase: 'load' | 'decode' = 'load'
    const timeout = AbortSignal.timeout(probeTimeoutMs)
    const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
    const stopped = Promise.withResolvers<never>()
    const onAbort = (): void => { stopped.reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      const loaded = await Promise.race([e.ready, stopped.promise])
      phase = 'decode'
      await Promise.race([wrap(e, loaded).chat(PROBE_MESSAGES, PROBE_PARAMS), stopped.promise])
      return undefined
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      // A load failure or a crash was withdrawn where it happened; a probe out of time is withdrawn
      // here, for this run only, and its process ends (now, or once it has loaded).
      if (timeout.aborted) {
        withdraw(model, phase, new ModelProbeTimeoutError(model.id, probeTimeoutMs))
        e.dropped = true
        if (e.state === 'ready') void evict(e)
      } else {
        withdraw(model, phase, err)
      }
      return broken.get(model.id)?.error ?? serializeError(err)
    } finally {
      signal.removeEventListener('abort', onAbort)
      e.probing = false
      release(e)
      // Probed, not needed yet: its memory is free for requests until one asks for it.
      if (e.state === 'ready' && e.busy === 0) await evict(e)
    }
  }

  return {
    offered: () => [...offered.values()],
    broken: () => [...broken.values()],
    async probe (options = {}) {
      const report: ProbeReport[] = []
      for (const model of [...offered.values()]) {
        options.signal?.throwIfAborted()
        if (shutdown.signal.aborted) throw new ModelHostClosedError()
        if (!offered.has(model.id)) continue
        if (init.probes?.get(model)?.ok === true) { report.push({ id: model.id, ok: true, cached: true }); continue }
        log('probing model %s', model.id)
        const error = await probeOne(model, options)
        if (error === undefined) init.probes?.set(model, { ok: true })
        report.push({ id: model.id, ok: error === undefined, cached: false, ...(error === undefined ? {} : { error }) })
      }
      await init.probes?.save()
      return report
    },
    refused: () => [...refused].map(([id, error]) => ({ id, error })),
    has: (id) => offered.has(id),
    drop (id) {
      offered.delete(id)
      const e = entries.get(id)
      if (e === undefined) return
      e.dropped = true
      if (e.state === 'ready' && e.busy === 0) void evict(e)
    },
    async get (id, options = {}) {
      options.signal?.throwIfAborted()
      if (shutdown.signal.aborted) throw new ModelHostClosedError()
      const model = offered.get(id)
      if (model === undefined) throw refused.get(id) ?? new ModelNotServedError(id)
      const e = entries.get(id) ?? start(model)
      e.busy++
      e.lastUsed = ++clock
      try {
        if (options.signal === undefined) return wrap(e, await e.ready)
        const aborted = Promise.withResolvers<never>()
        const onAbort = (): void => { aborted.reject(options.signal?.reason) }
        options.signal.addEventListener('abort', onAbort, { once: true })
        try {
          return wrap(e, await Promise.race([e.ready, aborted.promise]))
        } finally {
          options.signal.removeEventListener('abort', onAbort)
        }
      } finally {
        // Held until the caller's continuation has run (and called chat, which holds it on its own).
        setImmediate(() => { release(e) })
      }
    },
    loaded: () => [...entries.values(), ...closing].filter(e => e.state !== 'waiting').map(e => ({
      id: e.model.id,
      state: e.state as LoadedModelStats['state'],
      accountedBytes: accounted(e),
      estimatedBytes: e.estimate,
      ...(e.resident === undefined ? {} : { residentBytes: e.resident }),
      busy: e.busy
    })),
    memory: () => ({ budgetBytes: budget, usedBytes: used() }),
    async close () {
      shutdown.abort()
      notify()
      const all = [...entries.values()]
      await Promise.all(all.map(async e => { await e.ready.then(async () => { await evict(e) }, () => {}) }))
      await Promise.all([...closing].map(async e => { await e.closed }))
    }
  }
}
