/**
 * Runs a model in its own child process (sandbox/llama/worker.ts), so a file that aborts llama.cpp
 * (at load or at the first decode) costs only that model: the caller gets ModelCrashedError and goes
 * on serving. Chat with sampling parameters, streamed text, AbortSignal (generation stops within a
 * decode step), and usage from the library's token meter. A `{ prompt }` instead of messages is a raw
 * text completion (node-llama-cpp's LlamaCompletion: the text is continued as it is, with no chat
 * template), what OpenAI's legacy /v1/completions asks for. Threads default to one on machines with
 * two cores or fewer: llama.cpp's default of four on two vCPUs was measured ~300× slower. With a GPU
 * backend (sandbox/llama/gpu.ts) node-llama-cpp offloads as many layers as fit ('auto').
 */
import { fork } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { ClawnodeError } from '../../protocol/index.ts'
import { DEFAULT_CONTEXT_SIZE, DEFAULT_TEXT_BATCH_MS, MODEL_CLOSE_TIMEOUT_MS, MODEL_LOAD_TIMEOUT_MS } from './constants.ts'
import { readResidentBytes } from './memory.ts'
import type { GpuBackend } from './gpu.ts'
import type { ChildProcess } from 'node:child_process'

const log = logger('clawnode:llama')

export { DEFAULT_CONTEXT_SIZE, MODEL_LOAD_TIMEOUT_MS }

export class ModelCrashedError extends ClawnodeError {
  static override name = 'ModelCrashedError'
  /** The signal that ended the process, if one did (SIGKILL: killed from outside, not by the file). */
  readonly signal: string | undefined
  constructor (path: string, how: string, signal?: string) {
    super(`The model process for ${path} died (${how})`, { retryable: false, hint: 'The file is probably corrupt or unsupported: replace it. The node keeps serving its other models.' })
    this.signal = signal
  }
}

/**
 * Why a model did not load: llama.cpp refused the file ('file'), the machine lacked the memory or VRAM
 * for it or its context ('resources'), or llama.cpp itself could not start ('runtime': no usable
 * build or GPU backend). Only 'file' says anything lasting about the file.
 */
export type LoadFailure = 'file' | 'resources' | 'runtime'

/** The step of the model process's start that failed (worker.ts): llama.cpp, the model, its context. */
export type LoadStage = 'llama' | 'model' | 'context'

// What llama.cpp and node-llama-cpp say when memory, not the file, ran out (host or device).
const RESOURCE_TEXT = /out of memory|insufficient memory|not enough (v?ram|memory)|(failed|unable) to allocate|too large for the available|OutOf(Device|Host)Memory|cudaMalloc/i

/**
 * Classifies a load failure the model process reported: its error's name (node-llama-cpp's
 * InsufficientMemoryError), its message and the process's last stderr, and the step that failed. A
 * context that could not be created is a matter of memory; only the model's own load is the file's.
 */
export function loadFailure (error: { name?: string, message?: string, stage?: string }, stderr = ''): LoadFailure {
  if (error.name === 'InsufficientMemoryError' || RESOURCE_TEXT.test(error.message ?? '') || RESOURCE_TEXT.test(stderr)) return 'resources'
  if (error.stage === 'model') return 'file'
  return error.stage === 'context' ? 'resources' : 'runtime'
}

const LOAD_HINTS: Record<LoadFailure, string> = {
  file: 'llama.cpp refused the file: check it (clawnode doctor) and replace it with a good copy.',
  resources: 'Not enough memory (RAM or VRAM) for the model and its context: free some, lower contextSize, or use a smaller quantisation. It is tried again at the next start.',
  runtime: 'llama.cpp could not start on this machine (no usable build or GPU backend): run clawnode doctor.'
}

export class ModelLoadError extends ClawnodeError {
  static override name = 'ModelLoadError'
  /** The name of the error the model process reported (InsufficientMemoryError, Error, …). */
  readonly errorName: string
  readonly failure: LoadFailure
  constructor (path: string, message: string, options: { errorName?: string, failure?: LoadFailure } = {}) {
    const errorName = options.errorName ?? 'Error'
    const failure = options.failure ?? 'file'
    super(`The model ${path} could not be loaded: ${errorName === 'Error' ? '' : `${errorName}: `}${message}`, { hint: LOAD_HINTS[failure] })
    this.errorName = errorName
    this.failure = failure
  }
}

export class ModelClosedError extends ClawnodeError {
  static override name = 'ModelClosedError'
  constructor (path: string) {
    super(`The model process for ${path} has ended`, { retryable: true, hint: 'The model was closed (to make room for another, or the node is stopping): ask again.' })
  }
}

export interface ChatMessage { role: 'system' | 'user' | 'assistant', content: string }
/** A raw text to continue: no chat template around it. */
export interface TextPrompt { prompt: string }
/** What a model generates from: chat messages (through the model's chat template), or a raw text prompt. */
export type GenerationInput = ChatMessage[] | TextPrompt
export interface SamplingParams { maxTokens: number, temperature?: number, topP?: number, seed?: number, stop?: string[] }
export interface Completion {
  text: string
  stopReason: string
  usage: { promptTokens: number, completionTokens: number }
  /** After an abort: the tokens decoded once it reached the model process (at most one decode step's). */
  tokensAfterAbort?: number
}

export interface LoadedModel {
  readonly path: string
  readonly contextSize: number
  /** The model's process. */
  readonly pid: number | undefined
  /** Settles (never rejects) when the process ends, with why: ModelCrashedError if it died, else ModelClosedError. */
  readonly exited: Promise<Error>
  /** The process's resident memory now (VmRSS), where the OS tells. */
  residentBytes: () => Promise<number | undefined>
  /**
   * Generates from chat messages, or continues a `{ prompt }` as raw text. `onText` gets each piece of
   * text and the tokens generated so far. `stopReason` is node-llama-cpp's: 'maxTokens', 'eogToken',
   * 'customStopTrigger' (a `stop` string, left out of the text), 'abort'.
   */
  chat: (input: GenerationInput, params: SamplingParams, options?: ChatOptions) => Promise<Completion>
  close: () => Promise<void>
}

export interface ChatOptions {
  signal?: AbortSignal
  onText?: (text: string, tokens: number) => void
  /** At most one piece per this window: the first text, and text later than that, at once; the rest gathered (default DEFAULT_TEXT_BATCH_MS; 0: as generated). */
  textBatchMs?: number
  /** A piece also ends at once when `tokens` is this many past the last piece that did so (usage ticks every N tokens see each count). */
  textBreakTokens?: number
}

export function defaultThreads (): number {
  return Math.max(1, availableParallelism() - 1)
}

export interface LoadModelOptions {
  threads?: number
  contextSize?: number
  /** The GPU backend to load it on (detectGpu); the CPU when absent or 'cpu'. */
  gpu?: GpuBackend
  /** Aborting kills the process while it loads. */
  signal?: AbortSignal
}

/** Starts a child process with the model loaded in it. */
export async function loadModel (path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  options.signal?.throwIfAborted()
  const init = { path, threads: options.threads ?? defaultThreads(), contextSize: options.contextSize ?? DEFAULT_CONTEXT_SIZE, gpu: options.gpu === undefined || options.gpu === 'cpu' ? false : options.gpu }
  // worker.ts from source, worker.js from the compiled package.
  const child: ChildProcess = fork(join(import.meta.dirname, import.meta.filename.endsWith('.ts') ? 'worker.ts' : 'worker.js'), [JSON.stringify(init)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-2000) })
  const pending = new Map<number, { resolve: (c: Completion) => void, reject: (e: Error) => void, onText?: (t: string, tokens: number) => void, text: string }>()
  let dead: Error | undefined
  const exited = Promise.withResolvers<Error>()
  const loaded = Promise.withResolvers<number>()
  child.on('message', (m: Record<string, unknown>) => {
    if (m.type === 'loaded') { loaded.resolve(m.contextSize as number); return }
    const p = typeof m.id === 'number' ? pending.get(m.id) : undefined
    if (m.type === 'text' && p !== undefined) { p.text += m.text as string; p.onText?.(m.text as string, m.tokens as number); return }
    if (m.type === 'done' && p !== undefined) {
      pending.delete(m.id as number)
      p.resolve({ text: p.text, stopReason: m.stopReason as string, usage: m.usage as Completion['usage'], ...(typeof m.tokensAfterAbort === 'number' ? { tokensAfterAbort: m.tokensAfterAbort } : {}) })
      return
    }
    if (m.type === 'error') {
      const e = m.error as { name: string, message: string, stage?: LoadStage }
      if (p === undefined) { loaded.reject(new ModelLoadError(path, e.message, { errorName: String(e.name).slice(0, 64), failure: loadFailure(e, stderr) })); return }
      pending.delete(m.id as number)
      p.reject(new ClawnodeError(`${e.name}: ${e.message}`))
    }
  })
  child.once('exit', (code, signal) => {
    dead = signal !== null || (code ?? 0) !== 0 ? new ModelCrashedError(path, `${signal ?? `exit code ${code}`}${stderr.trim() === '' ? '' : `: ${stderr.trim().split('\n').at(-1) ?? ''}`}`, signal ?? undefined) : new ModelClosedError(path)
    log('model process for %s ended: %s', path, dead.message)
    exited.resolve(dead)
    loaded.reject(dead)
    for (const p of pending.values()) p.reject(dead)
    pending.clear()
  })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, MODEL_LOAD_TIMEOUT_MS)
  const onAbort = (): void => { loaded.reject(options.signal?.reason); child.kill('SIGKILL') }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  let contextSize: number
  try {
    contextSize = await loaded.promise
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
  let next = 0
  return {
    path,
    contextSize,
    pid: child.pid,
    exited: exited.promise,
    residentBytes: async () => child.pid === undefined || dead !== undefined ? undefined : await readResidentBytes(child.pid),
    async chat (input, params, opts = {}) {
      if (dead !== undefined) throw dead
      opts.signal?.throwIfAborted()
      const id = next++
      const done = new Promise<Completion>((resolve, reject) => { pending.set(id, { resolve, reject, text: '', ...(opts.onText === undefined ? {} : { onText: opts.onText }) }) })
      const onAbort = (): void => { child.send({ type: 'abort', id }) }
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      child.send({ type: 'generate', id, ...(Array.isArray(input) ? { messages: input } : { prompt: input.prompt }), params, batch: { ms: opts.textBatchMs ?? DEFAULT_TEXT_BATCH_MS, breakTokens: opts.textBreakTokens ?? 0 } })
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
      const kill = setTimeout(() => { child.kill('SIGKILL') }, MODEL_CLOSE_TIMEOUT_MS)
      await exited
      clearTimeout(kill)
    }
  }
}
