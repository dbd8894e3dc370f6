/**
 * The local control API of a running `clawnode start`: HTTP over a unix socket in the data dir
 * (`control.sock`, mode 0600), so only this user reaches it and no port is ever open. Read-only for
 * now: status, peers and capabilities. CLI commands use it to talk to the running node.
 */
import { chmod, rm } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import { join } from 'node:path'
import { ClawnodeError } from '../protocol/index.ts'
import type { Server } from 'node:http'

export const CONTROL_SOCKET = 'control.sock'
/** Bound on one control request from the CLI. */
export const CONTROL_TIMEOUT_MS = 5_000
/** Largest control response the CLI reads. */
export const MAX_CONTROL_RESPONSE_BYTES = 4 * 1024 * 1024

export class NoRunningNodeError extends ClawnodeError {
  static override name = 'NoRunningNodeError'
  constructor (dataDir: string, options: { cause?: unknown } = {}) {
    super(`No running clawnode node uses ${dataDir}`, { ...options, hint: `Start one with \`clawnode start --data ${dataDir}\` (or pass the --data of the running node).` })
  }
}

export type ControlHandlers = Record<string, () => Promise<unknown> | unknown>

export interface ControlServer { close: () => Promise<void>, path: string }

export async function startControlServer (dataDir: string, handlers: ControlHandlers): Promise<ControlServer> {
  const path = join(dataDir, CONTROL_SOCKET)
  // A socket left by a crashed node would block listen; a live node's would answer, so check first.
  try { await controlRequest(dataDir, '/status'); throw new ClawnodeError(`Another clawnode node is already running with ${dataDir}`, { hint: 'Stop it first, or use another --data dir.' }) } catch (err) { if (!(err instanceof NoRunningNodeError)) throw err }
  await rm(path, { force: true })
  const server: Server = createServer((req, res) => {
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
