/**
 * The models a provider serves: the registry's good models, each loaded on first use in its own
 * process (sandbox/llama) and kept loaded while the loaded models fit a memory budget
 * (provider.modelMemoryMb). Before a model loads, the least recently used idle models are closed until
 * its estimated memory fits; a model with a chat in progress is never closed under it. When the
 * models holding the memory are all busy, the request waits for one to finish (up to
 * MODEL_MEMORY_WAIT_MS, abortable), then fails with ModelMemoryBusyError (retryable): a consumer
 * would rather wait a few seconds than be refused, but not for as long as another's generation may
 * run. A model that alone exceeds the budget is not offered (ModelTooLargeError). A model whose
 * process crashes, at load or while serving, is dropped from the offer and not tried again.
 */
import { totalmem } from 'node:os'
import { logger } from '@libp2p/logger'
import { ClawnodeError } from '../protocol/index.ts'
import { DEFAULT_CONTEXT_SIZE, detectGpu, estimateModelMemory, loadModel, ModelTooLargeError } from '../sandbox/index.ts'
import { DEFAULT_MODEL_MEMORY_FRACTION, MODEL_MEMORY_WAIT_MS } from './constants.ts'
import type { LoadedModel, RegisteredModel } from '../sandbox/index.ts'
import type { AbortOptions } from '@libp2p/interface'

const log = logger('clawnode:models')
const MIB = 1024 * 1024

export class ModelNotServedError extends ClawnodeError {
  static override name = 'ModelNotServedError'
  constructor (id: string) {
    super(`This node does not offer the model ${id}`, { hint: 'Ask for one of the models in its capability record.' })
  }
}

export class ModelMemoryBusyError extends ClawnodeError {
  static override name = 'ModelMemoryBusyError'
  constructor (id: string, waitedMs: number) {
    super(`The model ${id} does not fit beside the models serving requests now (waited ${waitedMs} ms for one to finish)`, {
      retryable: true,
      hint: 'Try again shortly; the operator can raise provider.modelMemoryMb so that more models stay loaded at once.'
    })
  }
}

export class ModelHostClosedError extends ClawnodeError {
  static override name = 'ModelHostClosedError'
  constructor () {
    super('The node is stopping: its models are closed', { retryable: true, hint: 'Try another provider.' })
  }
}

/** The memory budget of the loaded models, bytes: provider.modelMemoryMb, or a share of the machine's memory. */
export function modelMemoryBudget (provider: { modelMemoryMb?: number } = {}): number {
  return provider.modelMemoryMb !== undefined ? provider.modelMemoryMb * MIB : Math.floor(totalmem() * DEFAULT_MODEL_MEMORY_FRACTION)
}

/** Splits models into those that fit the budget alone and those refused (ModelTooLargeError). Pure. */
export function fitModels (models: RegisteredModel[], budgetBytes: number, options: { contextSize?: number, estimate?: (model: RegisteredModel, contextSize: number) => number } = {}): { offered: RegisteredModel[], refused: Array<{ id: string, error: ModelTooLargeError }> } {
  const contextSize = options.contextSize ?? DEFAULT_CONTEXT_SIZE
  const estimate = options.estimate ?? estimateModelMemory
  const offered: RegisteredModel[] = []
  const refused: Array<{ id: string, error: ModelTooLargeError }> = []
  for (const m of models) {
    const need = estimate(m, contextSize)
    if (need <= budgetBytes) offered.push(m)
    else refused.push({ id: m.id, error: new ModelTooLargeError(m.id, need, budgetBytes) })
  }
  return { offered, refused }
}

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
}

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
  /** Stops offering a model (its process crashed while serving); it closes once idle. */
  drop: (id: string) => void
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

  const crashed = (e: Entry, err: Error): void => {
    if (err.name !== 'ModelCrashedError' || !offered.has(e.model.id)) return
    log.error('model %s crashed and is no longer offered: %e', e.model.id, err)
    offered.delete(e.model.id)
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
    if (shutdown.signal.aborted) { await evict(e); throw new ModelHostClosedError() }
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
    const e = { model, state: 'waiting', estimate: estimate(model, contextSize), busy: 0, lastUsed: ++clock, dropped: false } as Omit<Entry, 'ready'> as Entry
    e.ready = open(e)
    e.ready.catch((err: unknown) => {
      if (entries.get(model.id) === e) entries.delete(model.id)
      notify()
      const name = (err as Error).name
      if (name === 'ModelMemoryBusyError' || name === 'ModelHostClosedError' || shutdown.signal.aborted) return
      log.error('model %s failed to load and is no longer offered: %e', model.id, err)
      offered.delete(model.id)
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

  return {
    offered: () => [...offered.values()],
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
