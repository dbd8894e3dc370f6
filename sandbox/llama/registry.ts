/**
 * The model registry: the GGUF files in `<data>/models/` and the paths the config names, each read
 * and checked (sandbox/llama/model-file.ts) without loading it. Good models get an id (the file name
 * without `.gguf`, or the one the config gives) and their metadata; broken ones are listed with the
 * reason, for `clawnode doctor`, and never advertised.
 */
import { readdir } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { ClawnodeError, serializeError } from '../../protocol/index.ts'
import { inspectModelFile } from './model-file.ts'
import type { SerializedError } from '../../protocol/index.ts'
import type { ModelFileInfo } from './model-file.ts'

export const MODELS_DIR = 'models'
/** Model files a registry looks at, at most (a models folder is not a dumping ground). */
export const MAX_MODEL_FILES = 256
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export interface RegisteredModel extends ModelFileInfo { id: string }
export interface BrokenModel { id: string, path: string, error: SerializedError }
export interface ModelRegistry { models: RegisteredModel[], broken: BrokenModel[] }

/** Reads the registry. `extra`: model files named in the config (relative to the data dir or absolute). */
export async function scanModels (dataDir: string, extra: Array<{ id?: string, path: string }> = [], options: { onProgress?: (path: string) => void } = {}): Promise<ModelRegistry> {
  const dir = join(dataDir, MODELS_DIR)
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return []; throw err })
  const files = [
    ...names.filter(n => n.endsWith('.gguf')).sort().map(n => ({ id: basename(n, '.gguf'), path: join(dir, n) })),
    ...extra.map(e => ({ id: e.id ?? basename(e.path, '.gguf'), path: resolve(dataDir, e.path) }))
  ]
  if (files.length > MAX_MODEL_FILES) throw new ClawnodeError(`${files.length} model files, more than ${MAX_MODEL_FILES}`, { hint: `Keep at most ${MAX_MODEL_FILES} models in ${dir} and the config.` })
  const registry: ModelRegistry = { models: [], broken: [] }
  const ids = new Set<string>()
  for (const { id, path } of files) {
    options.onProgress?.(path)
    try {
      if (!MODEL_ID.test(id)) throw new ClawnodeError(`"${id}" is not a usable model id`, { hint: 'Rename the file (letters, digits, ".", "_", "-"; up to 128 characters).' })
      if (ids.has(id)) throw new ClawnodeError(`the model id "${id}" is taken by another file`, { hint: 'Give each model file a different name.' })
      const info = await inspectModelFile(path)
      ids.add(id)
      registry.models.push({ id, ...info })
    } catch (err) {
      registry.broken.push({ id, path, error: serializeError(err) })
    }
  }
  return registry
}
