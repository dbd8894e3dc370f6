/**
 * What a GGUF model file is, read from its header without loading it into llama.cpp: architecture,
 * name, quantisation, parameter count, context length, and the file's sha256. Also the checks that
 * keep a bad file from taking the whole process down: llama.cpp aborts (SIGABRT, not an exception)
 * on duplicate token strings and on a missing attention head count, at the first decode on a negative
 * (or NaN) RMS-norm epsilon (GGML_ASSERT(eps >= 0.0f) in ggml-cpu), and only says "failed to load"
 * for tensors past the end of the file. A file that fails a check is reported with the reason and
 * never loaded. (Loading still happens in a child process: these checks cannot know everything.)
 */
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { readGgufFileInfo } from 'node-llama-cpp'
import { ClawnodeError } from '../../protocol/index.ts'
import { sha256File } from './digest.ts'
import type { ModelShape } from './memory.ts'

export class BrokenModelError extends ClawnodeError {
  static override name = 'BrokenModelError'
  constructor (path: string, problem: string, options: { cause?: unknown } = {}) {
    super(`The model ${basename(path)} cannot be used: ${problem}`, { ...options, hint: 'Replace the file with a good copy (check its sha256 against the source), or remove it from the models folder. It is not advertised.' })
  }
}

export interface ModelFileInfo {
  path: string
  /** Hex sha256 of the whole file. */
  sha256: string
  sizeBytes: number
  architecture: string
  name: string
  /** The dominant weight type (llama.cpp's general.file_type), e.g. F16, Q8_0, Q4_K_M. */
  quantisation: string
  parameterCount: number
  contextLength: number
  hasChatTemplate: boolean
  /** The sizes its memory depends on (sandbox/llama/memory.ts). */
  shape: ModelShape
}

/** Bytes per block and values per block of the ggml tensor types we can check bounds for. */
const GGML_TYPE_SIZES: Record<number, [bytes: number, values: number]> = {
  0: [4, 1], 1: [2, 1], 30: [2, 1], // F32, F16, BF16
  2: [18, 32], 3: [20, 32], 6: [22, 32], 7: [24, 32], 8: [34, 32], 9: [36, 32], // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1
  10: [84, 256], 11: [110, 256], 12: [144, 256], 13: [176, 256], 14: [210, 256], 15: [292, 256] // Q2_K … Q8_K
}

/** llama.cpp's general.file_type values, named. */
const FILE_TYPES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M', 13: 'Q3_K_L',
  14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K', 32: 'BF16'
}

type Meta = Record<string, unknown>
const at = (meta: Meta, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Meta | undefined)?.[k], meta)

/** Reads and checks a GGUF file; throws BrokenModelError naming the first problem. */
export async function inspectModelFile (path: string): Promise<ModelFileInfo> {
  let size: number
  try {
    size = (await stat(path)).size
  } catch (err) {
    throw new BrokenModelError(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${path} does not exist` : `${path} cannot be read (${(err as Error).message})`, { cause: err })
  }
  let info: Awaited<ReturnType<typeof readGgufFileInfo>>
  try {
    info = await readGgufFileInfo(path, { ignoreKeys: ['tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges'] })
  } catch (err) {
    throw new BrokenModelError(path, `it is not a readable GGUF file (${(err as Error).message})`, { cause: err })
  }
  const meta = info.metadata as unknown as Meta
  const architecture = at(meta, 'general.architecture')
  if (typeof architecture !== 'string' || architecture === '') throw new BrokenModelError(path, 'general.architecture is missing')
  const positive = (key: string): number => {
    const v = at(meta, `${architecture}.${key}`)
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new BrokenModelError(path, `${architecture}.${key} is missing or not a positive integer`)
    return v
  }
  const headCount = positive('attention.head_count')
  const layers = positive('block_count')
  const embeddingLength = positive('embedding_length')
  const contextLength = positive('context_length')
  // Per-layer head counts (an array) in some architectures: the largest decides the memory.
  const kv = at(meta, `${architecture}.attention.head_count_kv`)
  const headCountKv = Array.isArray(kv) ? Math.max(0, ...kv.filter((n): n is number => typeof n === 'number')) : typeof kv === 'number' ? kv : headCount
  const length = (key: string): number => { const v = at(meta, `${architecture}.attention.${key}`); return typeof v === 'number' && v > 0 ? v : Math.ceil(embeddingLength / headCount) }
  for (const key of ['attention.layer_norm_rms_epsilon', 'attention.layer_norm_epsilon']) {
    const eps = at(meta, `${architecture}.${key}`)
    if (eps !== undefined && !(typeof eps === 'number' && eps >= 0)) throw new BrokenModelError(path, `${architecture}.${key} is ${String(eps)}: llama.cpp aborts at the first decode unless it is a number >= 0`)
  }
  const tokens = at(meta, 'tokenizer.ggml.tokens')
  if (!Array.isArray(tokens) || tokens.length === 0) throw new BrokenModelError(path, 'it has no tokenizer vocabulary (tokenizer.ggml.tokens)')
  const seen = new Set<string>()
  for (const t of tokens as unknown[]) {
    if (typeof t !== 'string') throw new BrokenModelError(path, 'a token of its vocabulary is not a string')
    if (seen.has(t)) throw new BrokenModelError(path, `its vocabulary has the token ${JSON.stringify(t.slice(0, 40))} twice`)
    seen.add(t)
  }
  const tensors = info.tensorInfo ?? []
  if (tensors.length === 0) throw new BrokenModelError(path, 'it has no tensors')
  let parameterCount = 0
  for (const t of tensors) {
    const values = t.dimensions.reduce<number>((n, d) => n * Number(d), 1)
    parameterCount += values
    const block = GGML_TYPE_SIZES[t.ggmlType]
    const bytes = block === undefined ? 0 : Math.ceil(values / block[1]) * block[0]
    if (Number(t.fileOffset) + bytes > size) throw new BrokenModelError(path, `tensor ${t.name} lies past the end of the file (truncated?)`)
  }
  const fileType = at(meta, 'general.file_type')
  return {
    path,
    sha256: await sha256File(path),
    sizeBytes: size,
    architecture,
    name: typeof at(meta, 'general.name') === 'string' ? at(meta, 'general.name') as string : basename(path, '.gguf'),
    quantisation: typeof fileType === 'number' ? FILE_TYPES[fileType] ?? `type ${fileType}` : 'unknown',
    parameterCount,
    contextLength,
    hasChatTemplate: typeof at(meta, 'tokenizer.chat_template') === 'string',
    shape: { layers, embeddingLength, headCount, headCountKv, keyLength: length('key_length'), valueLength: length('value_length'), vocabularySize: tokens.length }
  }
}
