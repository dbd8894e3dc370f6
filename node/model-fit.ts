/**
 * Which models a provider can serve within its memory budget (provider.modelMemoryMb): pure, so that
 * `clawnode caps` and `clawnode doctor` say what `clawnode start` will offer.
 */
import { totalmem } from 'node:os'
import { DEFAULT_CONTEXT_SIZE, estimateModelMemory, ModelTooLargeError } from '../sandbox/index.ts'
import { DEFAULT_MODEL_MEMORY_FRACTION } from './constants.ts'
import type { RegisteredModel } from '../sandbox/index.ts'

const MIB = 1024 * 1024

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
