/**
 * The local control API of a running `clawnode start`: HTTP over a unix socket in the data dir
 * (`control.sock`, mode 0600), so only this user reaches it and no port is ever open. GET endpoints
 * answer JSON (status, peers, capabilities); POST endpoints take a JSON body and stream NDJSON events
 * as they happen, ending with one `result` or `error` event (a lease: output, explain, the receipt).
 * A client that goes away aborts what it asked for. CLI commands use it to talk to the running node.
 */
import { chmod, rm } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import { join } from 'node:path'
import { ClawnodeError, serializeError } from '../protocol/index.ts'
import { MAX_SPEC_BYTES } from '../sandbox/index.ts'
import type { SerializedError } from '../protocol/index.ts'
import type { Server } from 'node:http'

export const CONTROL_SOCKET = 'control.sock'
/** Bound on one control request from the CLI. */
export const CONTROL_TIMEOUT_MS = 5_000
/** Largest control response the CLI reads (for a stream: one event line). */
export const MAX_CONTROL_RESPONSE_BYTES = 4 * 1024 * 1024
/** Largest request body a POST endpoint reads: a job spec at its own limit, and a little more. */
export const MAX_CONTROL_REQUEST_BYTES = MAX_SPEC_BYTES + 64 * 1024

export class NoRunningNodeError extends ClawnodeError {
  static override name = 'NoRunningNodeError'
  constructor (dataDir: string, options: { cause?: unknown } = {}) {
    super(`No running clawnode node uses ${dataDir}`, { ...options, hint: `Start one with \`clawnode start --data ${dataDir}\` (or pass the --data of the running node).` })
  }
}

/** An error the running node reported over the control API, with its name, hint and retryability. */
export class RemoteNodeError extends ClawnodeError {
  static override name = 'RemoteNodeError'
  constructor (data: SerializedError) {
    super(data.message, { hint: data.hint, retryable: data.retryable })
    this.name = data.name
  }
}

export type ControlHandlers = Record<string, () => Promise<unknown> | unknown>

export interface StreamIo {
  /** Aborted when the client goes away or the server closes. */
  signal: AbortSignal
  /** Sends one event to the client, in order. */
  send: (event: Record<string, unknown>) => void
}
/** A POST endpoint: runs with the request's JSON body; what it returns is the final `result` event. */
export type StreamHandler = (body: unknown, io: StreamIo) => Promise<Record<string, unknown>>

export interface ControlServer { close: () => Promise<void>, path: string }

export async function startControlServer (dataDir: string, handlers: ControlHandlers, streams: Record<string, StreamHandler> = {}): Promise<ControlServer> {
  const path = join(dataDir, CONTROL_SOCKET)
  // A socket left by a crashed node would block listen; a live node's would answer, so check first.
  try { await controlRequest(dataDir, '/status'); throw new ClawnodeError(`Another clawnode node is already running with ${dataDir}`, { hint: 'Stop it first, or use another --data dir.' }) } catch (err) { if (!(err instanceof NoRunningNodeError)) throw err }
  await rm(path, { force: true })
  const running = new Set<AbortController>()
  const server: Server = createServer((req, res) => {
    const stream = req.method === 'POST' ? streams[req.url ?? ''] : undefined
    if (stream !== undefined) { serveStream(stream, req, res, running); return }
    const handler = req.method === 'GET' ? handlers[req.url ?? ''] : undefined
    if (handler === undefined) { res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'no such endpoint' })); return }
    Promise.resolve(handler()).then((body) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }, (err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }))
    })
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, resolve) })
  await chmod(path, 0o600)
  return {
    path,
    async close () {
      for (const c of running) c.abort(new ClawnodeError('The node is stopping', { retryable: true, hint: 'Start it again, or lease without a running node.' }))
      await new Promise<void>((resolve) => { server.close(() => { resolve() }); server.closeAllConnections() })
      await rm(path, { force: true })
    }
  }
}

/** GETs a control endpoint of the node running with `dataDir`. */
export async function controlRequest (dataDir: string, endpoint: string): Promise<unknown> {
  const socketPath = join(dataDir, CONTROL_SOCKET)
  return await new Promise((resolve, reject) => {
    const req = request({ socketPath, path: endpoint, method: 'GET', timeout: CONTROL_TIMEOUT_MS }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c; if (body.length > MAX_CONTROL_RESPONSE_BYTES) req.destroy(new Error('control response too large')) })
      res.on('end', () => {
        try {
          const data = JSON.parse(body) as unknown
          if (res.statusCode !== 200) reject(new ClawnodeError(`The running node answered ${res.statusCode}: ${(data as { error?: string }).error ?? ''}`))
          else resolve(data)
        } catch (err) { reject(err) }
      })
    })
    req.on('timeout', () => { req.destroy(new NoRunningNodeError(dataDir)) })
    req.on('error', (err) => { reject(err instanceof ClawnodeError ? err : new NoRunningNodeError(dataDir, { cause: err })) })
    req.end()
  })
}

function serveStream (handler: StreamHandler, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, running: Set<AbortController>): void {
  const controller = new AbortController()
  running.add(controller)
  let finished = false
  // The client went away (Ctrl-C in the CLI): abort what it asked for.
  res.on('close', () => { if (!finished) controller.abort(new ClawnodeError('The control client went away')) })
  const chunks: Buffer[] = []
  let size = 0
  req.on('data', (c: Buffer) => {
    size += c.byteLength
    if (size > MAX_CONTROL_REQUEST_BYTES) { res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `request body over ${MAX_CONTROL_REQUEST_BYTES} bytes` })); req.destroy(); return }
    chunks.push(c)
  })
  req.on('end', () => {
    if (res.headersSent) return
    let body: unknown
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'the request body is not JSON' }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' })
    const send = (event: Record<string, unknown>): void => { if (!res.writableEnded) res.write(JSON.stringify(event) + '\n') }
    handler(body, { signal: controller.signal, send }).then(
      (result) => { send({ type: 'result', ...result }) },
      (err: unknown) => { send({ type: 'error', error: serializeError(err) }) }
    ).finally(() => { finished = true; running.delete(controller); res.end() })
  })
}

/**
 * POSTs `body` to a streaming endpoint of the node running with `dataDir` and yields its events until
 * the final one, whose `result` it returns; an `error` event is thrown as a RemoteNodeError. Aborting
 * `signal` closes the request, which aborts the work on the node.
 */
export async function * controlStream (dataDir: string, endpoint: string, body: unknown, options: { signal?: AbortSignal } = {}): AsyncGenerator<Record<string, unknown>, Record<string, unknown>> {
  const socketPath = join(dataDir, CONTROL_SOCKET)
  const payload = JSON.stringify(body)
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = request({ socketPath, path: endpoint, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, ...(options.signal === undefined ? {} : { signal: options.signal }) }, resolve)
    // Only connecting is bounded here: the stream itself lasts as long as the work.
    const connecting = setTimeout(() => { req.destroy(new NoRunningNodeError(dataDir)) }, CONTROL_TIMEOUT_MS)
    req.on('socket', (socket) => { socket.once('connect', () => { clearTimeout(connecting) }) })
    req.on('response', () => { clearTimeout(connecting) })
    req.on('error', (err) => { clearTimeout(connecting); reject(err instanceof ClawnodeError || (err as Error).name === 'AbortError' ? err : new NoRunningNodeError(dataDir, { cause: err })) })
    req.end(payload)
  })
  if (res.statusCode !== 200) {
    let text = ''
    for await (const c of res) { text += String(c); if (text.length > MAX_CONTROL_RESPONSE_BYTES) break }
    throw new ClawnodeError(`The running node answered ${res.statusCode}: ${text.slice(0, 500)}`, { hint: 'Is the running node the same clawnode version as this command? Restart it if not.' })
  }
  let pending = ''
  res.setEncoding('utf8')
  for await (const chunk of res) {
    pending += chunk as string
    if (pending.length > MAX_CONTROL_RESPONSE_BYTES) throw new ClawnodeError('The running node sent an event line over the size limit')
    let nl: number
    while ((nl = pending.indexOf('\n')) >= 0) {
      const event = JSON.parse(pending.slice(0, nl)) as Record<string, unknown>
      pending = pending.slice(nl + 1)
      if (event.type === 'result') return event
      if (event.type === 'error') throw new RemoteNodeError(event.error as SerializedError)
      yield event
    }
  }
  throw new ClawnodeError('The running node closed the control stream before the end', { retryable: true, hint: 'Check the node\'s log (it may have stopped or crashed) and try again.' })
}
