/**
 * Runs a model in its own child process (sandbox/llama/worker.ts), so a file that aborts llama.cpp
 * (at load or at the first decode) costs only that model: the caller gets ModelCrashedError and goes
 * on serving. Chat with sampling parameters, streamed text, AbortSignal (generation stops within a
 * decode step), and usage from the library's token meter. Threads default to one on machines with
 * two cores or fewer: llama.cpp's default of four on two vCPUs was measured ~300× slower.
 */
import { fork } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { ClawnodeError } from '../../protocol/index.ts'
import type { ChildProcess } from 'node:child_process'

const log = logger('clawnode:llama')

/** How long loading a model may take before the child is killed. */
export const MODEL_LOAD_TIMEOUT_MS = 120_000
export const DEFAULT_CONTEXT_SIZE = 2048

export class ModelCrashedError extends ClawnodeError {
  static override name = 'ModelCrashedError'
  constructor (path: string, how: string) {
    super(`The model process for ${path} died (${how})`, { retryable: false, hint: 'The file is probably corrupt or unsupported: replace it. The node keeps serving its other models.' })
  }
}

export class ModelLoadError extends ClawnodeError {
  static override name = 'ModelLoadError'
  constructor (path: string, message: string) {
    super(`The model ${path} could not be loaded: ${message}`, { hint: 'Check the file (clawnode doctor) and the memory free for it.' })
  }
}

export interface ChatMessage { role: 'system' | 'user' | 'assistant', content: string }
export interface SamplingParams { maxTokens: number, temperature?: number, topP?: number, seed?: number, stop?: string[] }
export interface Completion {
  text: string
  stopReason: string
  usage: { promptTokens: number, completionTokens: number }
}

export interface LoadedModel {
  readonly path: string
  readonly contextSize: number
  /** `onText` gets each piece of text and the tokens generated so far. */
  chat: (messages: ChatMessage[], params: SamplingParams, options?: { signal?: AbortSignal, onText?: (text: string, tokens: number) => void }) => Promise<Completion>
  close: () => Promise<void>
}

export function defaultThreads (): number {
  return Math.max(1, availableParallelism() - 1)
}

/** Starts a child process with the model loaded in it. */
export async function loadModel (path: string, options: { threads?: number, contextSize?: number } = {}): Promise<LoadedModel> {
  const init = { path, threads: options.threads ?? defaultThreads(), contextSize: options.contextSize ?? DEFAULT_CONTEXT_SIZE }
  // worker.ts from source, worker.js from the compiled package.
  const child: ChildProcess = fork(join(import.meta.dirname, import.meta.filename.endsWith('.ts') ? 'worker.ts' : 'worker.js'), [JSON.stringify(init)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-2000) })
  const pending = new Map<number, { resolve: (c: Completion) => void, reject: (e: Error) => void, onText?: (t: string, tokens: number) => void, text: string }>()
  let dead: Error | undefined
  const loaded = Promise.withResolvers<number>()
  child.on('message', (m: Record<string, unknown>) => {
    if (m.type === 'loaded') { loaded.resolve(m.contextSize as number); return }
    const p = typeof m.id === 'number' ? pending.get(m.id) : undefined
    if (m.type === 'text' && p !== undefined) { p.text += m.text as string; p.onText?.(m.text as string, m.tokens as number); return }
    if (m.type === 'done' && p !== undefined) {
      pending.delete(m.id as number)
      p.resolve({ text: p.text, stopReason: m.stopReason as string, usage: m.usage as Completion['usage'] })
      return
    }
    if (m.type === 'error') {
      const e = m.error as { name: string, message: string }
      if (p === undefined) { loaded.reject(new ModelLoadError(path, e.message)); return }
      pending.delete(m.id as number)
      p.reject(new ClawnodeError(`${e.name}: ${e.message}`))
    }
  })
  child.once('exit', (code, signal) => {
    dead = signal !== null || (code ?? 0) !== 0 ? new ModelCrashedError(path, `${signal ?? `exit code ${code}`}${stderr.trim() === '' ? '' : `: ${stderr.trim().split('\n').at(-1) ?? ''}`}`) : new ModelLoadError(path, 'the model process ended')
    log('model process for %s ended: %s', path, dead.message)
    loaded.reject(dead)
    for (const p of pending.values()) p.reject(dead)
    pending.clear()
  })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, MODEL_LOAD_TIMEOUT_MS)
  let contextSize: number
  try {
    contextSize = await loaded.promise
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  } finally {
    clearTimeout(timer)
  }
  let next = 0
  return {
    path,
    contextSize,
    async chat (messages, params, opts = {}) {
      if (dead !== undefined) throw dead
      opts.signal?.throwIfAborted()
      const id = next++
      const done = new Promise<Completion>((resolve, reject) => { pending.set(id, { resolve, reject, text: '', ...(opts.onText === undefined ? {} : { onText: opts.onText }) }) })
      const onAbort = (): void => { child.send({ type: 'abort', id }) }
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      child.send({ type: 'generate', id, messages, params })
      try {
        return await done
      } finally {
        opts.signal?.removeEventListener('abort', onAbort)
      }
    },
    async close () {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.disconnect()
      const kill = setTimeout(() => { child.kill('SIGKILL') }, 5_000)
      await exited
      clearTimeout(kill)
    }
  }
}
