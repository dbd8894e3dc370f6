/**
 * The payload of an inference lease: chat messages and sampling parameters, as JSON whose sha256 the
 * order binds. Built by the consumer, checked by the provider (sizes, roles, ranges) before a model
 * sees it. The prompt's token bound that an order declares is computed here the same way on both
 * sides: no tokenizer makes more tokens than UTF-8 bytes, plus a few per message for the template.
 */
import { MalformedMessageError } from '../protocol/index.ts'

/** Most tokens one inference lease may generate. */
export const MAX_INFERENCE_TOKENS = 8192
/** Most prompt tokens (by the bound below) one inference lease may send. */
export const MAX_PROMPT_TOKENS = 131_072
/** Most messages in one request. */
export const MAX_MESSAGES = 256
/** Most stop strings, and their length. */
export const MAX_STOP_STRINGS = 4
export const MAX_STOP_LENGTH = 64
/** Template tokens allowed per message in the prompt bound. */
const TEMPLATE_TOKENS_PER_MESSAGE = 16

export interface InferenceMessage { role: 'system' | 'user' | 'assistant', content: string }
export interface InferenceParams { temperature?: number, topP?: number, seed?: number, stop?: string[] }
export interface InferencePayload { messages: InferenceMessage[], params: InferenceParams }

/** The most prompt tokens these messages can make with any tokenizer and chat template. */
export function promptTokenBound (messages: InferenceMessage[]): number {
  return messages.reduce((n, m) => n + Buffer.byteLength(m.content) + TEMPLATE_TOKENS_PER_MESSAGE, TEMPLATE_TOKENS_PER_MESSAGE)
}

export function encodeInferencePayload (payload: InferencePayload): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(checkPayload(payload)))
}

export function parseInferencePayload (bytes: Uint8Array): InferencePayload {
  let data: unknown
  try { data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) } catch (err) { throw new MalformedMessageError('inference request', 'is not UTF-8 JSON', { cause: err }) }
  return checkPayload(data)
}

function checkPayload (data: unknown): InferencePayload {
  const bad = (problem: string): never => { throw new MalformedMessageError('inference request', problem) }
  const d = (typeof data === 'object' && data !== null ? data : bad('is not an object')) as Record<string, unknown>
  if (!Array.isArray(d.messages) || d.messages.length === 0 || d.messages.length > MAX_MESSAGES) bad(`needs 1 to ${MAX_MESSAGES} messages`)
  const messages = (d.messages as unknown[]).map((m, i) => {
    const e = (typeof m === 'object' && m !== null ? m : bad(`message ${i} is not an object`)) as Record<string, unknown>
    if (e.role !== 'system' && e.role !== 'user' && e.role !== 'assistant') bad(`message ${i} has an unknown role`)
    if (typeof e.content !== 'string') bad(`message ${i} has no text content`)
    return { role: e.role as InferenceMessage['role'], content: e.content as string }
  })
  if (messages.at(-1)?.role !== 'user') bad('must end with a user message')
  const p = (typeof d.params === 'object' && d.params !== null ? d.params : {}) as Record<string, unknown>
  const params: InferenceParams = {}
  if (p.temperature !== undefined) { if (typeof p.temperature !== 'number' || !(p.temperature >= 0 && p.temperature <= 2)) bad('temperature must be 0..2'); params.temperature = p.temperature as number }
  if (p.topP !== undefined) { if (typeof p.topP !== 'number' || !(p.topP > 0 && p.topP <= 1)) bad('topP must be in (0, 1]'); params.topP = p.topP as number }
  if (p.seed !== undefined) { if (!Number.isSafeInteger(p.seed) || (p.seed as number) < 0) bad('seed must be a whole number'); params.seed = p.seed as number }
  if (p.stop !== undefined) {
    if (!Array.isArray(p.stop) || p.stop.length > MAX_STOP_STRINGS || p.stop.some(x => typeof x !== 'string' || x === '' || x.length > MAX_STOP_LENGTH)) bad(`stop must be up to ${MAX_STOP_STRINGS} strings of 1..${MAX_STOP_LENGTH} characters`)
    params.stop = p.stop as string[]
  }
  if (promptTokenBound(messages) > MAX_PROMPT_TOKENS) bad(`is longer than ${MAX_PROMPT_TOKENS} prompt tokens`)
  return { messages, params }
}
