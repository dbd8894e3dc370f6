/**
 * The gateway's streamed answers: OpenAI's server-sent events for chat and legacy completions, with
 * the serving provider and model in the last chunks and a cut-off for clients that stop reading.
 */
import { randomBytes } from 'node:crypto'
import { ClientGoneError } from './gateway-errors.ts'
import type { GatewayRequest } from './gateway-request.ts'
import type { ServerResponse } from 'node:http'

/** Streamed bytes a client has not read yet; past this it is cut off and its completion aborted. */
export const MAX_GATEWAY_UNSENT_BYTES = 4 * 1024 * 1024

/**
 * A streamed answer. Headers go out with the first text, so that everything that fails before it
 * (no provider, unknown model, price) is still answered with its own HTTP status.
 */
export function sseWriter (kind: 'chat' | 'completion', request: GatewayRequest, res: ServerResponse, abort: (reason: Error) => void) {
  const id = (kind === 'chat' ? 'chatcmpl-' : 'cmpl-') + randomBytes(12).toString('base64url')
  const created = Math.floor(Date.now() / 1000)
  let sent = ''
  const write = (data: string): void => {
    if (res.destroyed || res.writableEnded) return
    if (!res.headersSent) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
      if (kind === 'chat') write(chunk({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }))
    }
    res.write(`data: ${data}\n\n`)
    // A client that stops reading would make us hold the whole answer.
    if (res.writableLength > MAX_GATEWAY_UNSENT_BYTES) abort(new ClientGoneError(`The client left more than ${MAX_GATEWAY_UNSENT_BYTES} bytes unread`))
  }
  const chunk = (choice: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}): string => JSON.stringify({
    id, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model: request.model,
    choices: choice === undefined ? [] : [choice], ...(request.includeUsage ? { usage: null } : {}), ...extra
  })
  const textChoice = (text: string, finishReason: string | null = null): Record<string, unknown> => kind === 'chat'
    ? { index: 0, delta: text === '' ? {} : { content: text }, logprobs: null, finish_reason: finishReason }
    : { index: 0, text, logprobs: null, finish_reason: finishReason }
  return {
    id,
    created,
    text (text: string): void {
      if (text === '') return
      sent += text
      write(chunk(textChoice(text)))
    },
    end (text: string, finishReason: string, usage: Record<string, number>, served: { provider: string, model: string }, price: number): void {
      // A backend that did not stream (or not all of it) still has its answer sent.
      const rest = text.startsWith(sent) ? text.slice(sent.length) : ''
      if (rest !== '') write(chunk(textChoice(rest)))
      // The last chunks say who served, and with which model (known only now).
      write(chunk(textChoice('', finishReason), served))
      if (request.includeUsage) write(chunk(undefined, { usage, ...served, price_millicredits: price }))
      if (!res.destroyed) res.end('data: [DONE]\n\n')
    }
  }
}
