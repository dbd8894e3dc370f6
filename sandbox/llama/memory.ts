/**
 * How much memory a loaded model takes, estimated from its GGUF header before it is loaded (pure), and
 * measured afterwards from its process (/proc/<pid>/status VmRSS). The estimate follows what llama.cpp
 * allocates on the CPU: the weights (memory-mapped: the file), the KV cache (F16 keys and values for
 * every layer and context position), the compute buffers of one batch (activations, attention scores
 * without flash attention, a batch of logits), and the process itself. node-llama-cpp's GgufInsights
 * gives a similar figure but needs the native library in the calling process, which the node keeps
 * out of its own.
 */
import { readFile } from 'node:fs/promises'
import { ClawnodeError } from '../../protocol/index.ts'
import { DEFAULT_BATCH_SIZE, MODEL_PROCESS_OVERHEAD_BYTES } from './constants.ts'

/** The sizes from a model's header that its memory depends on. */
export interface ModelShape {
  layers: number
  embeddingLength: number
  headCount: number
  /** Key/value heads (grouped-query attention); the largest over layers when they differ. */
  headCountKv: number
  keyLength: number
  valueLength: number
  vocabularySize: number
}

export interface ModelMemoryInput {
  sizeBytes: number
  contextLength: number
  shape: ModelShape
}

const MIB = 1024 * 1024
const F16_BYTES = 2
const F32_BYTES = 4
/** llama.cpp pads the KV cache to a multiple of 256 cells. */
const KV_PAD = 256

export class ModelTooLargeError extends ClawnodeError {
  static override name = 'ModelTooLargeError'
  constructor (id: string, neededBytes: number, budgetBytes: number) {
    super(`The model ${id} needs about ${Math.ceil(neededBytes / MIB)} MiB, more than the ${Math.floor(budgetBytes / MIB)} MiB this node gives models`, {
      hint: `Raise provider.modelMemoryMb in the config (to at least ${Math.ceil(neededBytes / MIB)}), or use a smaller quantisation of the model (Q4_K_M instead of F16, for example). It is not offered meanwhile.`
    })
  }
}

/** Resident bytes of a model with the given context size, as llama.cpp will allocate them on the CPU. */
export function estimateModelMemory (model: ModelMemoryInput, contextSize: number): number {
  const s = model.shape
  const context = Math.ceil(Math.max(1, Math.min(contextSize, model.contextLength)) / KV_PAD) * KV_PAD
  const batch = Math.min(context, DEFAULT_BATCH_SIZE)
  const kvCache = F16_BYTES * s.layers * context * s.headCountKv * (s.keyLength + s.valueLength)
  const compute = F32_BYTES * batch * (4 * s.embeddingLength + context * s.headCount + s.vocabularySize)
  return model.sizeBytes + kvCache + compute + MODEL_PROCESS_OVERHEAD_BYTES
}

/** VmRSS of a process, in bytes; undefined where /proc is not there (or the process is gone). */
export async function readResidentBytes (pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1]
    return kb === undefined ? undefined : Number(kb) * 1024
  } catch {
    return undefined
  }
}
