/**
 * The consumer's OpenAI-compatible gateway: an HTTP server on 127.0.0.1 that speaks the OpenAI API
 * (models, chat completions, legacy completions; streamed or not) and buys each completion through an
 * InferenceBackend, so that existing tools use the network unchanged. It spends the user's credits,
 * so it is guarded: a bearer token from the data dir, Host and Origin checks against DNS rebinding, a
 * price ceiling per request, and a daily budget that survives restarts.
 */
import { createServer } from 'node:http'
import { logger } from '@libp2p/logger'
import { ensureDataDir } from './data-dir.ts'
import { openSpendLedger } from './gateway-budget.ts'
import { ClientGoneError, ForbiddenRequestError, GatewayAuthError, GatewayBusyError, GatewayHttpError, GatewayInitError, GatewayStoppingError, GatewayTimeoutError, MethodNotAllowedError, ModelNotOfferedError, PriceCeilingExceededError, RequestTooLargeError, toReply, UnknownRouteError } from './gateway-errors.ts'
import { InvalidGatewayRequestError, parseChatRequest, parseCompletionRequest } from './gateway-request.ts'
import { sseWriter } from './gateway-sse.ts'
import { bearerMatches, gatewayTokenPath, loadOrCreateGatewayToken } from './gateway-token.ts'
import type { SpendLedger } from './gateway-budget.ts'
import type { GatewayMessage, GatewayRequest, GatewayRequestParams } from './gateway-request.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const log = logger('clawnode:gateway')

export { GatewayInitError } from './gateway-errors.ts'
export { DailyBudgetExceededError, GatewaySpendFileError, GATEWAY_SPEND_FILE } from './gateway-budget.ts'
export { GatewayTokenError, GATEWAY_TOKEN_FILE, gatewayTokenPath, loadOrCreateGatewayToken } from './gateway-token.ts'
export { InvalidGatewayRequestError, DEFAULT_GATEWAY_MAX_TOKENS, MAX_GATEWAY_MAX_TOKENS, MAX_GATEWAY_MESSAGES, MAX_GATEWAY_STOP_SEQUENCES, MAX_GATEWAY_STOP_CHARS, MAX_GATEWAY_MODEL_ID_CHARS } from './gateway-request.ts'
export type { GatewayMessage } from './gateway-request.ts'
export { MAX_GATEWAY_UNSENT_BYTES } from './gateway-sse.ts'

/** Port when none is given: any free one (the caller prints the URL). */
export const DEFAULT_GATEWAY_PORT = 0
/** Most one request may cost, in millicredits, unless the gateway is given another ceiling. */
export const DEFAULT_GATEWAY_MAX_REQUEST_PRICE = 1_000_000
/** Most all requests of one UTC day may cost, in millicredits, unless the gateway is given another budget. */
export const DEFAULT_GATEWAY_DAILY_BUDGET = 100_000_000
/** One completion, from its request to its last byte (under the OpenAI SDK's own 10 minutes). */
export const DEFAULT_GATEWAY_REQUEST_TIMEOUT_MS = 5 * 60_000
/** A request body. */
export const MAX_GATEWAY_BODY_BYTES = 1024 * 1024
/** Receiving a request's headers, and its headers and body (Node's headersTimeout and requestTimeout). */
export const GATEWAY_HEADERS_TIMEOUT_MS = 10_000
export const GATEWAY_RECEIVE_TIMEOUT_MS = 30_000
/** Asking the backend which models the network offers. */
export const GATEWAY_LIST_MODELS_TIMEOUT_MS = 15_000
/** Completions in progress at once (bodies being read included); more are answered 429. */
export const MAX_GATEWAY_CONCURRENT_REQUESTS = 16
/** Open connections; more are dropped by the server. */
export const MAX_GATEWAY_CONNECTIONS = 64
/** How long `close()` lets aborted requests record what they cost. */
export const GATEWAY_CLOSE_TIMEOUT_MS = 5_000

export interface GatewayModel {
  id: string
  /** Context window in tokens. */
  contextLength: number
  /** Prices in millicredits per 1000 tokens (the cheapest provider's). */
  per1kInputTokens: number
  per1kOutputTokens: number
  /** Providers offering the model. */
  providers: number
}

/** Chat messages (through the model's chat template), or a raw prompt to continue (none). */
export type InferenceBackendRequest = Pick<GatewayRequestParams, 'model' | 'maxTokens' | 'temperature' | 'topP' | 'stop' | 'seed'> & ({ messages: GatewayMessage[] } | { prompt: string }) & {
  /** Millicredits the completion may cost at most. */
  maxPrice: number
}

export interface InferenceBackendResult {
  text: string
  finishReason: 'stop' | 'length'
  usage: { promptTokens: number, completionTokens: number }
  /** Who served it (a peer id, or `local` for this node's own fallback model). */
  provider: string
  /** The model that served, when it is not the request's own `model` (a family, a fallback); answered as `model`. */
  model?: string
  /** Millicredits charged. */
  price: number
}

export interface CompleteOptions {
  signal: AbortSignal
  onText: (text: string) => void
  /**
   * The least the completion now costs whatever happens next, in millicredits: what this node has
   * countersigned so far (a paid lease's usage ticks), which the provider can claim even if the stream
   * dies before its receipt. Grows; the gateway counts the last one if the completion fails.
   */
  onSpend?: (millicredits: number) => void
}

/** How the gateway buys inference; the gateway does not care how. */
export interface InferenceBackend {
  /** Models offered on the network. Cached by the backend. */
  listModels: (options: { signal: AbortSignal }) => Promise<GatewayModel[]>
  /**
   * One completion, streamed through `onText`. Throws ClawnodeErrors; the gateway maps the names
   * UnknownModelError (404), PriceCeilingError (402) and NoProviderError (503), and any other to 502.
   * An error carrying a numeric `price` (millicredits charged although the completion failed) is
   * counted against the daily budget, and so is the last `onSpend` amount if it is more.
   */
  complete: (request: InferenceBackendRequest, options: CompleteOptions) => Promise<InferenceBackendResult>
}

export interface GatewayInit {
  backend: InferenceBackend
  /** Holds `gateway.token` and `gateway-spend.json`. */
  dataDir: string
  /** Loopback only: the gateway spends credits. */
  host?: '127.0.0.1'
  /** 0 = any free port. */
  port?: number
  maxRequestPriceMillicredits?: number
  dailyBudgetMillicredits?: number
  requestTimeoutMs?: number
}

export interface Gateway {
  /** `http://127.0.0.1:<port>`: OpenAI clients take `${url}/v1` as their base URL. */
  url: string
  port: number
  /** The bearer token clients send (the OpenAI client's apiKey). */
  token: string
  /** Aborts requests in flight, closes every connection, and waits until spending is on disk. */
  close: () => Promise<void>
}


interface GatewayState {
  backend: InferenceBackend
  token: string
  tokenPath: string
  ledger: SpendLedger
  maxRequestPrice: number
  requestTimeoutMs: number
  port: number
  /** The `created` of every model: when this gateway started, in Unix seconds. */
  created: number
  stopping: AbortSignal
  inFlight: number
}

export async function startGateway (init: GatewayInit): Promise<Gateway> {
  const amount = (option: string, value: number): number => {
    if (!Number.isSafeInteger(value) || value < 0) throw new GatewayInitError(option, `must be a whole number of millicredits, 0 or more (got ${value})`)
    return value
  }
  const maxRequestPrice = amount('maxRequestPriceMillicredits', init.maxRequestPriceMillicredits ?? DEFAULT_GATEWAY_MAX_REQUEST_PRICE)
  const dailyBudget = amount('dailyBudgetMillicredits', init.dailyBudgetMillicredits ?? DEFAULT_GATEWAY_DAILY_BUDGET)
  const requestTimeoutMs = init.requestTimeoutMs ?? DEFAULT_GATEWAY_REQUEST_TIMEOUT_MS
  if (!Number.isSafeInteger(requestTimeoutMs) || requestTimeoutMs <= 0) throw new GatewayInitError('requestTimeoutMs', `must be a positive whole number of milliseconds (got ${requestTimeoutMs})`)
  const host = init.host ?? '127.0.0.1'
  if (host !== '127.0.0.1') throw new GatewayInitError('host', `must be 127.0.0.1: the gateway spends credits, so it listens on loopback only (got ${String(host)})`)
  const port = init.port ?? DEFAULT_GATEWAY_PORT
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new GatewayInitError('port', `must be 0 to 65535 (got ${port})`)

  await ensureDataDir(init.dataDir)
  const token = await loadOrCreateGatewayToken(init.dataDir)
  const ledger = await openSpendLedger(init.dataDir, dailyBudget)
  const stopping = new AbortController()
  const g: GatewayState = { backend: init.backend, token, tokenPath: gatewayTokenPath(init.dataDir), ledger, maxRequestPrice, requestTimeoutMs, port: 0, created: Math.floor(Date.now() / 1000), stopping: stopping.signal, inFlight: 0 }
  const handling = new Set<Promise<void>>()
  const server = createServer({ headersTimeout: GATEWAY_HEADERS_TIMEOUT_MS, requestTimeout: GATEWAY_RECEIVE_TIMEOUT_MS }, (req, res) => {
    const p: Promise<void> = handle(g, req, res).finally(() => { handling.delete(p) })
    handling.add(p)
  })
  server.maxConnections = MAX_GATEWAY_CONNECTIONS
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  g.port = (server.address() as AddressInfo).port
  log('OpenAI-compatible gateway on http://%s:%d/v1', host, g.port)
  return {
    url: `http://127.0.0.1:${g.port}`,
    port: g.port,
    token,
    async close () {
      const closed = new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      stopping.abort(new GatewayStoppingError())
      // Aborted requests end quickly; let them record what they cost before their connections go.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.allSettled([...handling]), new Promise((resolve) => { timer = setTimeout(resolve, GATEWAY_CLOSE_TIMEOUT_MS) })])
      clearTimeout(timer)
      server.closeAllConnections()
      await closed
      await ledger.flush()
    }
  }
}

async function handle (g: GatewayState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/'
  const method = req.method ?? 'GET'
  try {
    checkHostAndOrigin(req, g.port)
    if (!bearerMatches(req.headers.authorization, g.token)) throw new GatewayAuthError(req.headers.authorization === undefined, g.tokenPath)
    if (path === '/v1/models' || path.startsWith('/v1/models/')) {
      if (method !== 'GET') throw new MethodNotAllowedError(method, path, 'GET')
      await serveModels(g, path === '/v1/models' ? undefined : modelIdOf(path), res)
    } else if (path === '/v1/chat/completions' || path === '/v1/completions') {
      if (method !== 'POST') throw new MethodNotAllowedError(method, path, 'POST')
      await serveCompletion(g, path === '/v1/chat/completions' ? 'chat' : 'completion', req, res)
    } else {
      throw new UnknownRouteError(method, path)
    }
  } catch (err) {
    try { sendError(res, err) } catch (sendErr) { log.error('could not send an error answer: %e', sendErr); res.destroy() }
  }
}

function modelIdOf (path: string): string {
  try { return decodeURIComponent(path.slice('/v1/models/'.length)) } catch { throw new InvalidGatewayRequestError('model', 'the model id in the URL is not valid percent-encoding') }
}

/** DNS rebinding: a web page whose name resolves to 127.0.0.1 still sends its own name as Host. */
function checkHostAndOrigin (req: IncomingMessage, port: number): void {
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, ...(port === 80 ? ['127.0.0.1', 'localhost'] : [])]
  const host = req.headers.host
  if (host === undefined || !allowed.includes(host.toLowerCase())) throw new ForbiddenRequestError('forbidden_host', `The Host header ${JSON.stringify(host ?? null)} is not this gateway's (${allowed.join(' or ')})`)
  const origin = req.headers.origin
  if (origin !== undefined && !allowed.some(a => origin.toLowerCase() === `http://${a}`)) throw new ForbiddenRequestError('forbidden_origin', `Requests from the web origin ${JSON.stringify(origin)} are not allowed`)
}

async function serveModels (g: GatewayState, id: string | undefined, res: ServerResponse): Promise<void> {
  const scope = requestScope(g, res, GATEWAY_LIST_MODELS_TIMEOUT_MS)
  let models: GatewayModel[]
  try {
    models = await g.backend.listModels({ signal: scope.signal })
  } catch (err) {
    throw scope.signal.aborted ? scope.signal.reason : err
  } finally { scope.finish() }
  const entry = (m: GatewayModel): Record<string, unknown> => ({
    id: m.id,
    object: 'model',
    created: g.created,
    owned_by: 'clawnode-network',
    context_length: m.contextLength,
    providers: m.providers,
    pricing: { unit: 'millicredits', per_1k_input_tokens: m.per1kInputTokens, per_1k_output_tokens: m.per1kOutputTokens }
  })
  if (id === undefined) { sendJson(res, 200, { object: 'list', data: models.map(entry) }); return }
  const model = models.find(m => m.id === id)
  if (model === undefined) throw new ModelNotOfferedError(id)
  sendJson(res, 200, entry(model))
}

async function serveCompletion (g: GatewayState, kind: 'chat' | 'completion', req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (g.inFlight >= MAX_GATEWAY_CONCURRENT_REQUESTS) throw new GatewayBusyError(MAX_GATEWAY_CONCURRENT_REQUESTS)
  g.inFlight++
  try {
    const body = await readJson(req)
    const request = kind === 'chat' ? parseChatRequest(body) : parseCompletionRequest(body)
    const ceiling = Math.min(g.maxRequestPrice, request.maxPrice ?? Number.POSITIVE_INFINITY)
    const reservation = g.ledger.reserve(ceiling)
    const scope = requestScope(g, res, g.requestTimeoutMs)
    const sse = sseWriter(kind, request, res, scope.abort)
    let result: InferenceBackendResult
    // What has been countersigned so far: owed even if the stream dies before its receipt.
    let cosigned = 0
    const onSpend = (millicredits: number): void => { if (Number.isFinite(millicredits) && millicredits > cosigned) cosigned = millicredits }
    try {
      result = await g.backend.complete(backendRequest(request, ceiling), { signal: scope.signal, onText: request.stream ? sse.text : () => {}, onSpend })
    } catch (err) {
      const reason: unknown = scope.signal.aborted ? scope.signal.reason : err
      scope.finish()
      const price = (err as { price?: unknown } | null)?.price
      const owed = Math.max(cosigned, typeof price === 'number' && Number.isFinite(price) ? price : 0)
      if (owed > 0) {
        log('%s %s failed after %d millicredits were owed for it; counting them: %s', kind, request.model, owed, (reason as Error | null)?.message)
        await reservation.charge(Math.ceil(owed))
      } else reservation.release()
      if ((reason as Error | null)?.name === 'PriceCeilingError') throw new PriceCeilingExceededError(reason as Error, ceiling, g.maxRequestPrice, request.maxPrice)
      throw reason
    }
    scope.finish()
    let price = result.price
    if (!Number.isFinite(price) || price < 0) { log.error('the backend reported the price %s; counting the ceiling %d', price, ceiling); price = ceiling }
    price = Math.ceil(price)
    // The day's total counts the price at once (charge adds it before it writes the file); a stream's
    // last chunks go out while the file is written (an fsync: milliseconds on this project's machines).
    const charged = reservation.charge(price)
    if (!request.stream) await charged
    log('%s %s: %d prompt + %d completion tokens from %s for %d millicredits', kind, request.model, result.usage.promptTokens, result.usage.completionTokens, result.provider, price)
    const usage = { prompt_tokens: result.usage.promptTokens, completion_tokens: result.usage.completionTokens, total_tokens: result.usage.promptTokens + result.usage.completionTokens }
    const finishReason = result.finishReason === 'length' ? 'length' : 'stop'
    const model = result.model ?? request.model
    if (request.stream) { sse.end(result.text, finishReason, usage, { provider: result.provider, model }, price); await charged; return }
    const choice = kind === 'chat'
      ? { index: 0, message: { role: 'assistant', content: result.text, refusal: null }, logprobs: null, finish_reason: finishReason }
      : { index: 0, text: result.text, logprobs: null, finish_reason: finishReason }
    sendJson(res, 200, { id: sse.id, object: kind === 'chat' ? 'chat.completion' : 'text_completion', created: sse.created, model, choices: [choice], usage, provider: result.provider, price_millicredits: price }, providerHeaders(result.provider, price))
  } finally { g.inFlight-- }
}

function backendRequest (r: GatewayRequest, maxPrice: number): InferenceBackendRequest {
  return {
    model: r.model,
    ...(r.kind === 'chat' ? { messages: r.messages } : { prompt: r.prompt }),
    maxTokens: r.maxTokens,
    maxPrice,
    ...(r.temperature === undefined ? {} : { temperature: r.temperature }),
    ...(r.topP === undefined ? {} : { topP: r.topP }),
    ...(r.stop === undefined ? {} : { stop: r.stop }),
    ...(r.seed === undefined ? {} : { seed: r.seed })
  }
}

/** One request's signal: aborted by its timeout, the client going away, or the gateway stopping. */
function requestScope (g: GatewayState, res: ServerResponse, timeoutMs: number): { signal: AbortSignal, abort: (reason: Error) => void, finish: () => void } {
  const controller = new AbortController()
  const abort = (reason: Error): void => { if (!controller.signal.aborted) controller.abort(reason) }
  const timer = setTimeout(() => { abort(new GatewayTimeoutError(timeoutMs)) }, timeoutMs)
  const onStop = (): void => { abort(new GatewayStoppingError()) }
  const onClose = (): void => { abort(new ClientGoneError('The client went away')) }
  if (g.stopping.aborted) onStop()
  g.stopping.addEventListener('abort', onStop, { once: true })
  res.on('close', onClose)
  return {
    signal: controller.signal,
    abort,
    finish () { clearTimeout(timer); g.stopping.removeEventListener('abort', onStop); res.off('close', onClose) }
  }
}

async function readJson (req: IncomingMessage): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_GATEWAY_BODY_BYTES) { reject(new RequestTooLargeError(MAX_GATEWAY_BODY_BYTES)); return }
    const chunks: Buffer[] = []
    let size = 0
    let failed = false
    // Past the cap the rest is read and dropped (bounded by GATEWAY_RECEIVE_TIMEOUT_MS), so that the
    // client, still sending, gets to read the 413 instead of a reset connection.
    req.on('data', (c: Buffer) => {
      if (failed) return
      size += c.byteLength
      if (size > MAX_GATEWAY_BODY_BYTES) { failed = true; chunks.length = 0; reject(new RequestTooLargeError(MAX_GATEWAY_BODY_BYTES)); return }
      chunks.push(c)
    })
    req.on('end', () => {
      if (failed) return
      try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))) } catch { reject(new InvalidGatewayRequestError(null, 'The request body is not valid JSON')) }
    })
    req.on('close', () => { if (!req.complete) reject(new ClientGoneError('The client went away while sending its request')) })
    req.on('error', reject)
  })
}

function providerHeaders (provider: string, price: number): Record<string, string> {
  // A peer id is plain ASCII; anything else stays out of the headers (it is in the body either way).
  return /^[\x21-\x7e]{1,256}$/.test(provider) ? { 'x-clawnode-provider': provider, 'x-clawnode-price': String(price) } : { 'x-clawnode-price': String(price) }
}

function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return
  const payload = JSON.stringify(body)
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }).end(payload)
}

/** Any error as OpenAI's `{ error: { message, type, param, code } }`, with its HTTP status. */
function sendError (res: ServerResponse, err: unknown): void {
  if (err instanceof ClientGoneError) { res.destroy(); return }
  const { reply, message } = toReply(err)
  if (reply.status >= 500 && !(err instanceof GatewayHttpError)) log.error('%s', message)
  const body = { error: { message, type: reply.type, param: reply.param ?? null, code: reply.code } }
  if (res.destroyed || res.writableEnded) return
  if (res.headersSent) {
    // Mid-stream: OpenAI's streams carry the error as an event; its SDK throws it.
    res.end(`data: ${JSON.stringify(body)}\n\n`)
    return
  }
  sendJson(res, reply.status, body, reply.headers)
}
