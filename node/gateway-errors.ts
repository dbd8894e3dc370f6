/**
 * The gateway's errors, and how each one (its own, and the backend's by name) is answered in OpenAI's
 * error shape `{ error: { message, type, param, code } }` with an HTTP status.
 */
import { ClawnodeError } from '../protocol/index.ts'
import { DailyBudgetExceededError } from './gateway-budget.ts'
import { InvalidGatewayRequestError } from './gateway-request.ts'

export class GatewayInitError extends ClawnodeError {
  static override name = 'GatewayInitError'
  constructor (option: string, problem: string) {
    super(`The gateway's ${option} ${problem}`, { hint: `Pass a valid ${option}.` })
  }
}

export interface Reply { status: number, type: string, code: string | null, param?: string, headers?: Record<string, string> }

/** An error the gateway answers with a fixed OpenAI error shape. */
export class GatewayHttpError extends ClawnodeError {
  static override name = 'GatewayHttpError'
  readonly reply: Reply
  constructor (message: string, reply: Reply, hint = '', cause?: unknown) {
    super(message, { hint, ...(cause === undefined ? {} : { cause }) })
    this.reply = reply
  }
}
export class GatewayAuthError extends GatewayHttpError {
  static override name = 'GatewayAuthError'
  constructor (missing: boolean, tokenPath: string) {
    super(missing ? 'No API key was sent' : 'Incorrect API key', { status: 401, type: 'invalid_request_error', code: 'invalid_api_key', headers: { 'www-authenticate': 'Bearer realm="clawnode"' } },
      `Send the gateway's token as \`Authorization: Bearer <token>\` (the OpenAI client's apiKey); it is in ${tokenPath}.`)
  }
}
export class ForbiddenRequestError extends GatewayHttpError {
  static override name = 'ForbiddenRequestError'
  constructor (code: 'forbidden_host' | 'forbidden_origin', message: string) {
    super(message, { status: 403, type: 'permission_error', code }, 'The gateway answers only requests addressed to 127.0.0.1 or localhost on its own port, and no web page of another origin: use http://127.0.0.1:<port>/v1 as the base URL.')
  }
}
export class UnknownRouteError extends GatewayHttpError {
  static override name = 'UnknownRouteError'
  constructor (method: string, path: string) {
    super(`Invalid URL (${method} ${path})`, { status: 404, type: 'invalid_request_error', code: 'unknown_url' }, 'The gateway serves GET /v1/models, POST /v1/chat/completions and POST /v1/completions.')
  }
}
export class MethodNotAllowedError extends GatewayHttpError {
  static override name = 'MethodNotAllowedError'
  constructor (method: string, path: string, allow: string) {
    super(`${path} does not take ${method}`, { status: 405, type: 'invalid_request_error', code: 'method_not_allowed', headers: { allow } }, `Use ${allow}.`)
  }
}
export class ModelNotOfferedError extends GatewayHttpError {
  static override name = 'ModelNotOfferedError'
  constructor (model: string) {
    super(`The model '${model}' is not offered on the clawnode network`, { status: 404, type: 'invalid_request_error', code: 'model_not_found', param: 'model' }, 'GET /v1/models lists the models on offer.')
  }
}
export class RequestTooLargeError extends GatewayHttpError {
  static override name = 'RequestTooLargeError'
  constructor (limit: number) {
    super(`The request body is larger than ${limit} bytes`, { status: 413, type: 'invalid_request_error', code: 'request_too_large' }, 'Send a shorter prompt.')
  }
}
export class GatewayBusyError extends GatewayHttpError {
  static override name = 'GatewayBusyError'
  constructor (limit: number) {
    super(`The gateway already has ${limit} completions in progress`, { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', headers: { 'retry-after': '1' } }, 'Try again in a moment.')
  }
}
export class GatewayTimeoutError extends GatewayHttpError {
  static override name = 'GatewayTimeoutError'
  constructor (ms: number) {
    // Not retried by the SDK: a retry would buy the completion again.
    super(`The completion did not finish within ${ms / 1000} s`, { status: 504, type: 'timeout_error', code: 'request_timeout', headers: { 'x-should-retry': 'false' } }, 'Ask for fewer max_tokens, or stream the answer.')
  }
}
export class GatewayStoppingError extends GatewayHttpError {
  static override name = 'GatewayStoppingError'
  constructor () {
    super('The gateway is stopping', { status: 503, type: 'server_error', code: 'gateway_stopping' }, 'Start it again and retry.')
  }
}
/** The backend found no provider within the request's ceiling; says which ceiling that was and why. */
export class PriceCeilingExceededError extends GatewayHttpError {
  static override name = 'PriceCeilingExceededError'
  constructor (cause: Error, ceiling: number, gatewayCeiling: number, maxPrice: number | undefined) {
    super(`${cause.message.replace(/\.$/, '')}. This request's price ceiling was ${ceiling} millicredits (the gateway's per-request ceiling is ${gatewayCeiling}${maxPrice === undefined ? '' : `, its max_price ${maxPrice}`})`,
      // Not retried by the SDK: the same request meets the same prices.
      { status: 402, type: 'invalid_request_error', code: 'price_ceiling_exceeded', param: 'max_price', headers: { 'x-should-retry': 'false' } },
      'Ask for fewer max_tokens or send a shorter prompt, or raise the gateway\'s per-request ceiling.', cause)
  }
}
/** Abort reasons with nobody left to answer. */
export class ClientGoneError extends ClawnodeError { static override name = 'ClientGoneError' }

/** An error as OpenAI answers it: the reply (status, type, code, param, headers) and the message with its hint. */
export function toReply (err: unknown): { reply: Reply, message: string } {
  const e = err instanceof Error ? err : new Error(String(err))
  const message = e instanceof ClawnodeError && e.hint !== '' ? `${e.message.replace(/\.$/, '')}. ${e.hint}` : e.message
  if (e instanceof GatewayHttpError) return { reply: e.reply, message }
  if (e instanceof InvalidGatewayRequestError) return { reply: { status: 400, type: 'invalid_request_error', code: null, ...(e.param === null ? {} : { param: e.param }) }, message }
  if (e instanceof DailyBudgetExceededError) {
    const seconds = Math.max(1, Math.ceil((e.resetsAt.getTime() - Date.now()) / 1000))
    return { reply: { status: 429, type: 'insufficient_quota', code: 'daily_budget_exceeded', headers: { 'x-should-retry': 'false', 'retry-after': String(seconds) } }, message }
  }
  // The backend's errors, by name (they come from another layer).
  switch (e.name) {
    case 'UnknownModelError': return { reply: { status: 404, type: 'invalid_request_error', code: 'model_not_found', param: 'model' }, message }
    case 'NoProviderError': return { reply: { status: 503, type: 'server_error', code: 'no_provider_available' }, message }
    default: return e instanceof ClawnodeError
      ? { reply: { status: 502, type: 'api_error', code: 'provider_error' }, message }
      : { reply: { status: 500, type: 'server_error', code: 'internal_error' }, message: `The gateway failed unexpectedly: ${e.message}. Run with DEBUG=clawnode:* and report it with the log.` }
  }
}
