/**
 * The models a provider serves: the registry's good models, each loaded on first use in its own
 * process (sandbox/llama) and kept loaded, up to MAX_LOADED_MODELS (the least recently used is closed
 * first). A model whose process crashes is dropped from the offer: it is not tried again.
 */
import { logger } from '@libp2p/logger'
import { ClawnodeError } from '../protocol/index.ts'
import { loadModel } from '../sandbox/index.ts'
import type { LoadedModel, RegisteredModel } from '../sandbox/index.ts'

const log = logger('clawnode:models')

/** Models kept loaded at once. */
export const MAX_LOADED_MODELS = 2

export interface ModelHost {
  /** The models offered now (crashed ones are gone). */
  offered: () => RegisteredModel[]
  has: (id: string) => boolean
  /** Stops offering a model (its process crashed while serving). */
  drop: (id: string) => void
  get: (id: string) => Promise<LoadedModel>
  close: () => Promise<void>
}

export function createModelHost (models: RegisteredModel[], options: { threads?: number, contextSize?: number } = {}): ModelHost {
  const offered = new Map(models.map(m => [m.id, m]))
  const loaded = new Map<string, Promise<LoadedModel>>()
  const evict = async (): Promise<void> => {
    while (loaded.size > MAX_LOADED_MODELS) {
      const [id, oldest] = loaded.entries().next().value as [string, Promise<LoadedModel>]
      loaded.delete(id)
      await oldest.then(async m => { await m.close() }, () => {})
    }
  }
  return {
    offered: () => [...offered.values()],
    has: (id) => offered.has(id),
    drop (id) {
      offered.delete(id)
      const p = loaded.get(id)
      loaded.delete(id)
      void p?.then(async m => { await m.close() }, () => {})
    },
    async get (id) {
      const model = offered.get(id)
      if (model === undefined) throw new ClawnodeError(`This node does not offer the model ${id}`, { hint: 'Ask for one of the models in its capability record.' })
      let p = loaded.get(id)
      if (p === undefined) {
        p = loadModel(model.path, { ...(options.threads === undefined ? {} : { threads: options.threads }), ...(options.contextSize === undefined ? {} : { contextSize: options.contextSize }) })
        loaded.set(id, p)
        p.catch((err: unknown) => {
          log.error('model %s failed to load and is no longer offered: %e', id, err)
          offered.delete(id)
          loaded.delete(id)
        })
        await evict()
      } else {
        // Most recently used last.
        loaded.delete(id)
        loaded.set(id, p)
      }
      return await p
    },
    async close () {
      const all = [...loaded.values()]
      loaded.clear()
      await Promise.all(all.map(async p => { await p.then(async m => { await m.close() }, () => {}) }))
    }
  }
}
