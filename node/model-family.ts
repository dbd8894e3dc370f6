/**
 * Model families: an inference order may name a family (the GGUF architecture, "llama") and a minimum
 * context instead of a model id; each provider's record is then resolved to the one model of its own
 * that qualifies, and the order sent to that provider names it. Pure.
 */
import { ClawnodeError } from '../protocol/index.ts'
import type { Capabilities } from '../protocol/index.ts'

/** Characters of a family name (it is part of a DHT capability key). */
export const MAX_FAMILY_LENGTH = 64
/** Largest minimum context an order may ask for, tokens. */
export const MAX_MIN_CONTEXT = 16 * 1024 * 1024
/** How a gateway request names a family instead of a model: `family:<name>` or `family:<name>@<minContext>`. */
export const FAMILY_MODEL_PREFIX = 'family:'

export type RecordModel = Capabilities['models'][number]

export class InvalidModelFamilyError extends ClawnodeError {
  static override name = 'InvalidModelFamilyError'
  constructor (problem: string) {
    super(`Invalid model family request: ${problem}`, { hint: `Name a family such as "llama" (the GGUF architecture) and a minimum context of 0..${MAX_MIN_CONTEXT} tokens.` })
  }
}

/**
 * The family a GGUF architecture is advertised under: lowercase, each run of characters other than
 * a-z, 0-9, '.', '_' and '-' one '-', none at either end, at most MAX_FAMILY_LENGTH ("" when nothing is left).
 */
export function modelFamily (architecture: string): string {
  return architecture.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').slice(0, MAX_FAMILY_LENGTH).replace(/^[-.]+|[-.]+$/g, '')
}

/** What a family order asks for, checked and normalised. */
export interface FamilyWant { family: string, minContext: number }

export function checkFamilyWant (family: string, minContext = 0): FamilyWant {
  if (typeof family !== 'string' || family.length > MAX_FAMILY_LENGTH * 4) throw new InvalidModelFamilyError('the family must be a short string')
  const f = modelFamily(family)
  if (f === '') throw new InvalidModelFamilyError(`${JSON.stringify(family)} names no family`)
  if (!Number.isSafeInteger(minContext) || minContext < 0 || minContext > MAX_MIN_CONTEXT) throw new InvalidModelFamilyError(`the minimum context must be a whole number 0..${MAX_MIN_CONTEXT} (got ${String(minContext)})`)
  return { family: f, minContext }
}

/**
 * The model of a provider's record that serves a family order: same family, context ≥ minContext; of
 * those the largest context, then the smallest id (a provider prices all its models alike, so the
 * larger window costs the consumer nothing more). Undefined when none qualifies.
 */
export function pickFamilyModel (models: readonly RecordModel[], want: FamilyWant): RecordModel | undefined {
  let best: RecordModel | undefined
  for (const m of models) {
    if (m.family === undefined || modelFamily(m.family) !== want.family || m.context < want.minContext) continue
    if (best === undefined || m.context > best.context || (m.context === best.context && m.id < best.id)) best = m
  }
  return best
}

/** Why a record has no model for a family order (explain's 'skipped' detail). */
export function lackingFamilyModel (models: readonly RecordModel[], want: FamilyWant): string {
  const same = models.filter(m => m.family !== undefined && modelFamily(m.family) === want.family)
  if (same.length === 0) return `its record has no ${want.family} model`
  const shown = same.slice(0, 4).map(m => `${m.id} ${m.context}`).join(', ')
  return `its ${want.family} models have less context than ${want.minContext} tokens (${shown}${same.length > 4 ? ', …' : ''})`
}

/**
 * A gateway's `model`: a model id, or `family:<name>` / `family:<name>@<minContext>`. Throws
 * InvalidModelFamilyError for a malformed family form.
 */
export function parseModelSelector (model: string): { model: string } | FamilyWant {
  if (!model.startsWith(FAMILY_MODEL_PREFIX)) return { model }
  const rest = model.slice(FAMILY_MODEL_PREFIX.length)
  const at = rest.lastIndexOf('@')
  if (at === -1) return checkFamilyWant(rest)
  const context = rest.slice(at + 1)
  if (!/^\d{1,9}$/.test(context)) throw new InvalidModelFamilyError(`${JSON.stringify(model.slice(0, 100))}: after '@' comes the minimum context, in tokens`)
  return checkFamilyWant(rest.slice(0, at), Number(context))
}

/** The gateway's model id of a family (`family:llama`). */
export function familyModelId (family: string): string {
  return `${FAMILY_MODEL_PREFIX}${family}`
}
