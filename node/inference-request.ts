/**
 * The payload of an inference lease: chat messages (answered through the model's chat template) or a
 * raw text prompt (continued as it is), and sampling parameters, as JSON whose sha256 the order binds.
 * Built by the consumer, checked by the provider (sizes, roles, ranges) before a model sees it. The
 * prompt's token bound that an order declares is computed here the same way on both sides: no
 * tokenizer makes more tokens than UTF-8 bytes, plus a few per message for the template (and a few
 * for a raw prompt's beginning-of-text token).
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
/** Template tokens allowed per message in the prompt bound (and for a raw prompt's special tokens). */
const TEMPLATE_TOKENS_PER_MESSAGE = 16

export interface InferenceMessage { role: 'system' | 'user' | 'assistant', content: string }
export interface InferenceParams { temperature?: number, topP?: number, seed?: number, stop?: string[] }
/** What the model generates from: chat messages, or a raw text prompt to continue (no chat template). */
export type InferenceInput = { messages: InferenceMessage[] } | { prompt: string }
export type InferencePayload = InferenceInput & { params: InferenceParams }

/**
 * The most prompt tokens this input can make with any tokenizer (and chat template, for messages).
 * A raw prompt has no template, only the beginning-of-text token a tokenizer may add: one
 * allowance covers it, as it covers the template's own tokens around a chat.
 */
export function promptTokenBound (input: InferenceMessage[] | InferenceInput): number {
  if (!Array.isArray(input) && 'prompt' in input) return Buffer.byteLength(input.prompt) + TEMPLATE_TOKENS_PER_MESSAGE
  const messages = Array.isArray(input) ? input : input.messages
  return messages.reduce((n, m) => n + Buffer.byteLength(m.content) + TEMPLATE_TOKENS_PER_MESSAGE, TEMPLATE_TOKENS_PER_MESSAGE)
}

/** The input of a request that names messages or a prompt, exactly one of the two (else MalformedMessageError). */
export function inferenceInput (request: { messages?: InferenceMessage[] | undefined, prompt?: string | undefined }): InferenceInput {
  if ((request.messages === undefined) === (request.prompt === undefined)) throw new MalformedMessageError('inference request', 'needs messages or a prompt, exactly one of the two')
  return request.prompt !== undefined ? { prompt: request.prompt } : { messages: request.messages ?? [] }
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
  // A payload has messages (as it always had) or, instead, a prompt.
  let input: InferenceInput
  if (d.prompt !== undefined) {
    if (d.messages !== undefined) bad('has both messages and a prompt')
    if (typeof d.prompt !== 'string') bad('has a prompt that is not text')
    input = { prompt: d.prompt as string }
  } else {
    if (!Array.isArray(d.messages) || d.messages.length === 0 || d.messages.length > MAX_MESSAGES) bad(`needs 1 to ${MAX_MESSAGES} messages, or a prompt`)
    const messages = (d.messages as unknown[]).map((m, i) => {
      const e = (typeof m === 'object' && m !== null ? m : bad(`message ${i} is not an object`)) as Record<string, unknown>
      if (e.role !== 'system' && e.role !== 'user' && e.role !== 'assistant') bad(`message ${i} has an unknown role`)
      if (typeof e.content !== 'string') bad(`message ${i} has no text content`)
      return { role: e.role as InferenceMessage['role'], content: e.content as string }
    })
    if (messages.at(-1)?.role !== 'user') bad('must end with a user message')
    input = { messages }
  }
  const p = (typeof d.params === 'object' && d.params !== null ? d.params : {}) as Record<string, unknown>
  const params: InferenceParams = {}
  if (p.temperature !== undefined) { if (typeof p.temperature !== 'number' || !(p.temperature >= 0 && p.temperature <= 2)) bad('temperature must be 0..2'); params.temperature = p.temperature as number }
  if (p.topP !== undefined) { if (typeof p.topP !== 'number' || !(p.topP > 0 && p.topP <= 1)) bad('topP must be in (0, 1]'); params.topP = p.topP as number }
  if (p.seed !== undefined) { if (!Number.isSafeInteger(p.seed) || (p.seed as number) < 0) bad('seed must be a whole number'); params.seed = p.seed as number }
  if (p.stop !== undefined) {
    if (!Array.isArray(p.stop) || p.stop.length > MAX_STOP_STRINGS || p.stop.some(x => typeof x !== 'string' || x === '' || x.length > MAX_STOP_LENGTH)) bad(`stop must be up to ${MAX_STOP_STRINGS} strings of 1..${MAX_STOP_LENGTH} characters`)
    params.stop = p.stop as string[]
  }
  if (promptTokenBound(input) > MAX_PROMPT_TOKENS) bad(`is longer than ${MAX_PROMPT_TOKENS} prompt tokens`)
  return { ...input, params }
}
