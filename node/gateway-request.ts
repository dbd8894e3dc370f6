/**
 * Strict parsing of the OpenAI request bodies the gateway accepts (chat completions and legacy
 * completions) into one inference request: chat messages, or a legacy completion's raw prompt (which
 * the model continues as it is, with no chat template). Pure: every problem is an InvalidGatewayRequestError that
 * names the parameter, the way OpenAI's own 400s do, and an argument the network cannot honour is
 * refused rather than silently dropped.
 */
import { ClawnodeError } from '../protocol/index.ts'
import { MAX_INFERENCE_TOKENS, MAX_MESSAGES, MAX_PROMPT_TOKENS, MAX_STOP_LENGTH, MAX_STOP_STRINGS, promptTokenBound } from './inference-request.ts'

/** `max_tokens` when the request gives none. */
export const DEFAULT_GATEWAY_MAX_TOKENS = 512
// The gateway refuses up front what an inference lease would refuse later: the same limits.
/** Largest `max_tokens` / `max_completion_tokens` a request may ask for. */
export const MAX_GATEWAY_MAX_TOKENS = MAX_INFERENCE_TOKENS
/** Messages in one chat request. */
export const MAX_GATEWAY_MESSAGES = MAX_MESSAGES
/** Stop sequences in one request (OpenAI's own limit), and characters in each. */
export const MAX_GATEWAY_STOP_SEQUENCES = MAX_STOP_STRINGS
export const MAX_GATEWAY_STOP_CHARS = MAX_STOP_LENGTH
/** Characters of a model id. */
export const MAX_GATEWAY_MODEL_ID_CHARS = 256

export class InvalidGatewayRequestError extends ClawnodeError {
  static override name = 'InvalidGatewayRequestError'
  /** The request parameter at fault (OpenAI's `param`), or null for the body as a whole. */
  readonly param: string | null
  constructor (param: string | null, problem: string) {
    super(param === null ? problem : `Invalid '${param}': ${problem}`, { hint: 'Fix the request; the README lists the OpenAI parameters clawnode supports.' })
    this.param = param
  }
}

export interface GatewayMessage { role: 'system' | 'user' | 'assistant', content: string }

/** What both endpoints' requests have. */
export interface GatewayRequestParams {
  model: string
  maxTokens: number
  temperature?: number
  topP?: number
  stop?: string[]
  seed?: number
  stream: boolean
  /** `stream_options.include_usage`: a last chunk with the usage and no choices. */
  includeUsage: boolean
  /** The `max_price` extension: millicredits this request may cost at most. */
  maxPrice?: number
}

/** A chat completion's messages, or a legacy completion's prompt: raw text to continue. */
export type GatewayRequest = GatewayRequestParams & ({ kind: 'chat', messages: GatewayMessage[] } | { kind: 'completion', prompt: string })

type Body = Record<string, unknown>
type Check = (value: unknown, param: string) => void

/** Parameters accepted by both endpoints with no effect on the answer (OpenAI platform bookkeeping). */
const IGNORED: Record<string, Check> = {
  user: (v, p) => { if (typeof v !== 'string') throw new InvalidGatewayRequestError(p, `must be a string (got ${show(v)})`) },
  metadata: (v, p) => { if (!isObject(v)) throw new InvalidGatewayRequestError(p, `must be an object (got ${show(v)})`) },
  store: (v, p) => { if (typeof v !== 'boolean') throw new InvalidGatewayRequestError(p, `must be a boolean (got ${show(v)})`) },
  service_tier: (v, p) => { if (typeof v !== 'string') throw new InvalidGatewayRequestError(p, `must be a string (got ${show(v)})`) }
}

/** Parameters clawnode providers cannot honour: accepted only at the value that means "off". */
const OFF_ONLY: Record<string, { ok: (v: unknown) => boolean, off: string }> = {
  frequency_penalty: { ok: v => v === 0, off: '0' },
  presence_penalty: { ok: v => v === 0, off: '0' },
  logit_bias: { ok: v => isObject(v) && Object.keys(v).length === 0, off: '{}' },
  logprobs: { ok: v => v === false || v === 0, off: 'false' },
  top_logprobs: { ok: v => v === 0, off: '0' }
}
const CHAT_OFF_ONLY: typeof OFF_ONLY = {
  response_format: { ok: v => isObject(v) && v.type === 'text' && Object.keys(v).length === 1, off: '{"type":"text"}' },
  tools: { ok: v => Array.isArray(v) && v.length === 0, off: '[]' },
  functions: { ok: v => Array.isArray(v) && v.length === 0, off: '[]' },
  tool_choice: { ok: v => v === 'none' || v === 'auto', off: '"none"' },
  function_call: { ok: v => v === 'none' || v === 'auto', off: '"none"' },
  parallel_tool_calls: { ok: v => typeof v === 'boolean', off: 'false' }
}
const COMPLETION_OFF_ONLY: typeof OFF_ONLY = {
  echo: { ok: v => v === false, off: 'false' },
  suffix: { ok: v => v === '', off: '""' },
  best_of: { ok: v => v === 1, off: '1' }
}

const COMMON = ['model', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'seed', 'n', 'stream', 'stream_options', 'max_price']

/** A `POST /v1/chat/completions` body. */
export function parseChatRequest (body: unknown): GatewayRequest {
  const b = checkBody(body, [...COMMON, 'messages'], CHAT_OFF_ONLY)
  const messages = parseMessages(b.messages)
  checkPromptBound('messages', promptTokenBound(messages))
  return { ...parseCommon(b), kind: 'chat', messages }
}

/** A legacy `POST /v1/completions` body: the prompt is continued as raw text, with no chat template. */
export function parseCompletionRequest (body: unknown): GatewayRequest {
  const b = checkBody(body, [...COMMON, 'prompt'], COMPLETION_OFF_ONLY)
  let prompt = b.prompt
  // Many tools send a batch of one; a batch of several would need n answers.
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0]
  if (typeof prompt !== 'string') throw new InvalidGatewayRequestError('prompt', `must be a string, or an array of exactly one string (got ${show(b.prompt)}); token arrays and batches are not supported`)
  checkPromptBound('prompt', promptTokenBound({ prompt }))
  return { ...parseCommon(b), kind: 'completion', prompt }
}

/** A prompt an inference lease could not carry is refused here, by the same bound the lease declares. */
function checkPromptBound (param: 'messages' | 'prompt', bound: number): void {
  if (bound > MAX_PROMPT_TOKENS) throw new InvalidGatewayRequestError(param, `is too long: up to ${MAX_PROMPT_TOKENS} prompt tokens are accepted, counted as UTF-8 bytes (${bound} here)`)
}

/** An object body with only known parameters; `null` counts as absent (as OpenAI treats it). */
function checkBody (body: unknown, known: string[], offOnly: typeof OFF_ONLY): Body {
  if (!isObject(body)) throw new InvalidGatewayRequestError(null, 'The request body must be a JSON object')
  const out: Body = {}
  const all = { ...OFF_ONLY, ...offOnly }
  for (const [key, value] of Object.entries(body)) {
    if (value === null) continue
    const ignored = IGNORED[key]
    const off = all[key]
    if (ignored !== undefined) { ignored(value, key); continue }
    if (off !== undefined) {
      if (!off.ok(value)) throw new InvalidGatewayRequestError(key, `is not supported by clawnode providers (only ${off.off} or null; got ${show(value)})`)
      continue
    }
    if (!known.includes(key)) throw new InvalidGatewayRequestError(key, `unrecognized request argument (got ${show(value)})`)
    out[key] = value
  }
  return out
}

function parseCommon (b: Body): GatewayRequestParams {
  if (b.model === undefined) throw new InvalidGatewayRequestError('model', 'is required: the id of a model on the network (GET /v1/models lists them)')
  if (typeof b.model !== 'string' || b.model === '' || b.model.length > MAX_GATEWAY_MODEL_ID_CHARS) throw new InvalidGatewayRequestError('model', `must be a model id of 1 to ${MAX_GATEWAY_MODEL_ID_CHARS} characters (got ${show(b.model)})`)
  const out: GatewayRequestParams = { model: b.model, maxTokens: parseMaxTokens(b), stream: false, includeUsage: false }
  if (b.temperature !== undefined) out.temperature = number(b.temperature, 'temperature', 0, 2)
  if (b.top_p !== undefined) {
    // Providers sample from a non-empty nucleus: 0 would leave nothing to sample.
    if (b.top_p === 0) throw new InvalidGatewayRequestError('top_p', 'must be more than 0 and at most 1 (got 0); for the single likeliest token use temperature 0')
    out.topP = number(b.top_p, 'top_p', 0, 1)
  }
  if (b.seed !== undefined) {
    if (!Number.isSafeInteger(b.seed) || (b.seed as number) < 0) throw new InvalidGatewayRequestError('seed', `must be an integer, 0 or more (got ${show(b.seed)})`)
    out.seed = b.seed as number
  }
  if (b.stop !== undefined) {
    const stop = typeof b.stop === 'string' ? [b.stop] : b.stop
    if (!Array.isArray(stop) || stop.length > MAX_GATEWAY_STOP_SEQUENCES || !stop.every(s => typeof s === 'string' && s !== '' && s.length <= MAX_GATEWAY_STOP_CHARS)) {
      throw new InvalidGatewayRequestError('stop', `must be a string of 1 to ${MAX_GATEWAY_STOP_CHARS} characters or an array of at most ${MAX_GATEWAY_STOP_SEQUENCES} of them (got ${show(b.stop)})`)
    }
    if (stop.length > 0) out.stop = stop as string[]
  }
  if (b.n !== undefined && b.n !== 1) throw new InvalidGatewayRequestError('n', `must be 1: one choice per request (got ${show(b.n)})`)
  if (b.stream !== undefined) {
    if (typeof b.stream !== 'boolean') throw new InvalidGatewayRequestError('stream', `must be a boolean (got ${show(b.stream)})`)
    out.stream = b.stream
  }
  if (b.stream_options !== undefined) {
    const so = b.stream_options
    if (!out.stream) throw new InvalidGatewayRequestError('stream_options', 'is only allowed when stream is true')
    if (!isObject(so)) throw new InvalidGatewayRequestError('stream_options', `must be an object (got ${show(so)})`)
    for (const [key, value] of Object.entries(so)) {
      if (key !== 'include_usage' && key !== 'include_obfuscation') throw new InvalidGatewayRequestError(`stream_options.${key}`, 'unrecognized argument')
      if (value !== null && typeof value !== 'boolean') throw new InvalidGatewayRequestError(`stream_options.${key}`, `must be a boolean (got ${show(value)})`)
    }
    out.includeUsage = so.include_usage === true
  }
  if (b.max_price !== undefined) {
    if (!Number.isSafeInteger(b.max_price) || (b.max_price as number) < 0) throw new InvalidGatewayRequestError('max_price', `must be a whole number of millicredits, 0 or more (got ${show(b.max_price)})`)
    out.maxPrice = b.max_price as number
  }
  return out
}

function parseMaxTokens (b: Body): number {
  const { max_tokens: legacy, max_completion_tokens: current } = b
  if (legacy !== undefined && current !== undefined && legacy !== current) throw new InvalidGatewayRequestError('max_tokens', 'and max_completion_tokens differ: give one of them')
  const param = current !== undefined ? 'max_completion_tokens' : 'max_tokens'
  const value = current ?? legacy
  if (value === undefined) return DEFAULT_GATEWAY_MAX_TOKENS
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new InvalidGatewayRequestError(param, `must be an integer of 1 or more (got ${show(value)})`)
  if ((value as number) > MAX_GATEWAY_MAX_TOKENS) throw new InvalidGatewayRequestError(param, `is at most ${MAX_GATEWAY_MAX_TOKENS} on this gateway (got ${show(value)})`)
  return value as number
}

function parseMessages (value: unknown): GatewayMessage[] {
  if (value === undefined) throw new InvalidGatewayRequestError('messages', 'is required: an array of {role, content} messages')
  if (!Array.isArray(value) || value.length === 0) throw new InvalidGatewayRequestError('messages', `must be a non-empty array (got ${show(value)})`)
  if (value.length > MAX_GATEWAY_MESSAGES) throw new InvalidGatewayRequestError('messages', `has ${value.length} messages; at most ${MAX_GATEWAY_MESSAGES} are accepted`)
  const messages = value.map((m: unknown, i) => parseMessage(m, `messages[${i}]`))
  // Providers answer the last user turn; an assistant prefix to continue is not supported.
  if (messages.at(-1)?.role !== 'user') throw new InvalidGatewayRequestError(`messages[${messages.length - 1}].role`, 'the last message must be a user message')
  return messages
}

function parseMessage (m: unknown, at: string): GatewayMessage {
  if (!isObject(m)) throw new InvalidGatewayRequestError(at, `must be an object with role and content (got ${show(m)})`)
  for (const [key, v] of Object.entries(m)) {
    if (key === 'role' || key === 'content') continue
    if (key === 'name' && typeof v === 'string') continue
    // What an assistant turn echoes back from an earlier answer, when it is empty.
    if ((key === 'tool_calls' || key === 'refusal' || key === 'function_call' || key === 'audio') && (v === null || (Array.isArray(v) && v.length === 0))) continue
    throw new InvalidGatewayRequestError(`${at}.${key}`, key === 'tool_calls' ? 'tool calls are not supported by clawnode providers' : `is not supported (got ${show(v)})`)
  }
  const role = m.role === 'developer' ? 'system' : m.role
  if (role !== 'system' && role !== 'user' && role !== 'assistant') {
    throw new InvalidGatewayRequestError(`${at}.role`, `must be "system", "developer", "user" or "assistant" (got ${show(m.role)}); tool and function messages are not supported`)
  }
  return { role, content: parseContent(m.content, `${at}.content`) }
}

/** A string, or an array of text parts (what the OpenAI SDKs send for multi-part messages). */
function parseContent (content: unknown, at: string): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) throw new InvalidGatewayRequestError(at, `must be a string or an array of text parts (got ${show(content)})`)
  return content.map((part: unknown, i) => {
    if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
      throw new InvalidGatewayRequestError(`${at}[${i}]`, `only {"type":"text","text":"…"} parts are supported (got ${show(part)})`)
    }
    return part.text
  }).join('')
}

function number (value: unknown, param: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw new InvalidGatewayRequestError(param, `must be a number from ${min} to ${max} (got ${show(value)})`)
  return value
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A short rendering of a bad value for an error message. */
function show (v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v)
  return s.length > 60 ? `${s.slice(0, 57)}…` : s
}
