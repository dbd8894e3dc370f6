/**
 * The child process that holds one model (sandbox/llama/runner.ts starts it). llama.cpp can abort the
 * whole process on a bad file (SIGABRT, not an exception), so a model lives alone in here: if it
 * dies, only this model is lost. Speaks JSON messages over the IPC channel:
 *   in:  { type: 'generate', id, messages | prompt, params, batch } | { type: 'abort', id }
 *   out: { type: 'loaded', contextSize } | { type: 'text', id, text, tokens } | { type: 'done', id, … } |
 *        { type: 'error', id?, error: { name, message, stage? } } (stage: the load step that failed)
 * Text goes out batched (`batch`): the first piece at once, then at most one message per `ms` (a piece
 * that comes later than that goes at once), and at once when the token count is `breakTokens` past the
 * last message that ended such a break, so the node sees every such count.
 * The model path, thread count, context size and GPU backend come as argv (JSON), so loading starts
 * at once. On a GPU, node-llama-cpp offloads as many layers as fit ('auto'); on the CPU, none.
 * Messages go through the model's chat template (LlamaChatSession); a prompt is continued as raw text
 * (LlamaCompletion). Both start from an empty sequence, so usage counts the whole input.
 */
import { getLlama, LlamaChatSession, LlamaCompletion, LlamaLogLevel } from 'node-llama-cpp'
import type { ChatHistoryItem, LlamaContextSequence } from 'node-llama-cpp'

interface Message { role: 'system' | 'user' | 'assistant', content: string }
interface Params { maxTokens: number, temperature?: number, topP?: number, seed?: number, stop?: string[] }
interface Batch { ms: number, breakTokens: number }
type In = { type: 'generate', id: number, messages?: Message[], prompt?: string, params: Params, batch?: Batch } | { type: 'abort', id: number }
/** What both generators take besides their input. */
interface Generation { maxTokens: number, temperature?: number, topP?: number, seed?: number, customStopTriggers?: string[], signal: AbortSignal, stopOnAbortSignal: true, onToken: (tokens: unknown[]) => void, onTextChunk: (text: string) => void }

const send = (message: Record<string, unknown>): void => { process.send?.(message) }
const fail = (err: unknown, id?: number, stage?: 'llama' | 'model' | 'context'): void => {
  const e = err as Error
  // node-llama-cpp's InsufficientMemoryError leaves `name` as 'Error': its class says what it is.
  const name = e?.name === undefined || e.name === 'Error' ? (e?.constructor?.name ?? 'Error') : e.name
  send({ type: 'error', ...(id === undefined ? {} : { id }), error: { name, message: e?.message ?? String(err), ...(stage === undefined ? {} : { stage }) } })
}

const init = JSON.parse(process.argv[2] ?? '{}') as { path: string, threads: number, contextSize: number, gpu: false | 'cuda' | 'vulkan' | 'metal' }
// The parent going away ends this process too: a model never outlives its node.
process.on('disconnect', () => { process.exit(0) })

// Which step a load failure came from (the runner tells the file's fault from the machine's by it).
let stage: 'llama' | 'model' | 'context' = 'llama'
try {
  const llama = await getLlama({ build: 'never', gpu: init.gpu ?? false, maxThreads: init.threads, logLevel: LlamaLogLevel.error })
  stage = 'model'
  const model = await llama.loadModel({ modelPath: init.path, gpuLayers: llama.gpu === false ? 0 : 'auto' })
  stage = 'context'
  const context = await model.createContext({ contextSize: Math.min(init.contextSize, model.trainContextSize), threads: init.threads })
  const sequence = context.getSequence()
  const running = new Map<number, AbortController>()
  let queue = Promise.resolve()
  send({ type: 'loaded', contextSize: context.contextSize })

  process.on('message', (message: In) => {
    if (message.type === 'abort') { running.get(message.id)?.abort(); return }
    if (message.type !== 'generate') return
    const controller = new AbortController()
    running.set(message.id, controller)
    // One sequence, one request at a time, in order.
    queue = queue.then(async () => {
      const { id, messages, params } = message
      // A message per token cost this process a few per cent of a fast model's decode step, and the
      // node a frame per token on the lease.
      const batchMs = message.batch?.ms ?? 0
      const breakTokens = message.batch?.breakTokens ?? 0
      let generated = 0
      let atAbort: number | undefined
      controller.signal.addEventListener('abort', () => { atAbort = generated }, { once: true })
      let pending = ''
      let sentAt = Number.NEGATIVE_INFINITY
      // The next break counts from the message that reached the last one, as the provider's ticks do.
      let nextBreak = breakTokens > 0 ? breakTokens : Number.POSITIVE_INFINITY
      let timer: NodeJS.Timeout | undefined
      const flush = (): void => {
        clearTimeout(timer)
        timer = undefined
        if (pending === '') return
        send({ type: 'text', id, text: pending, tokens: generated })
        pending = ''
        sentAt = performance.now()
        if (generated >= nextBreak) nextBreak = generated + breakTokens
      }
      const onText = (text: string): void => {
        pending += text
        const wait = sentAt + batchMs - performance.now()
        if (wait <= 0 || generated >= nextBreak) flush()
        else timer ??= setTimeout(flush, wait)
      }
      try {
        await sequence.clearHistory()
        const before = sequence.tokenMeter.getState()
        const options: Generation = {
          maxTokens: params.maxTokens,
          ...(params.temperature === undefined ? {} : { temperature: params.temperature }),
          ...(params.topP === undefined ? {} : { topP: params.topP }),
          ...(params.seed === undefined ? {} : { seed: params.seed }),
          ...(params.stop === undefined || params.stop.length === 0 ? {} : { customStopTriggers: params.stop }),
          signal: controller.signal,
          stopOnAbortSignal: true,
          // Each text chunk says how many tokens have been generated so far (streamed usage counts them).
          onToken: (tokens: unknown[]) => { generated += tokens.length },
          onTextChunk: onText
        }
        const stopReason = message.prompt !== undefined ? await complete(sequence, message.prompt, options) : await chat(sequence, messages ?? [], options)
        flush()
        const used = sequence.tokenMeter.diff(before)
        send({ type: 'done', id, stopReason, usage: { promptTokens: used.usedInputTokens, completionTokens: used.usedOutputTokens }, ...(atAbort === undefined ? {} : { tokensAfterAbort: generated - atAbort }) })
      } catch (err) {
        clearTimeout(timer)
        fail(err, id)
      } finally {
        running.delete(id)
      }
    })
  })
} catch (err) {
  fail(err, undefined, stage)
  process.exitCode = 1
  process.disconnect?.()
}

/** Answers the last user message after the others, through the model's chat template. */
async function chat (sequence: LlamaContextSequence, messages: Message[], options: Generation): Promise<string> {
  const system = messages.filter(m => m.role === 'system').map(m => m.content).join('\n')
  const turns = messages.filter(m => m.role !== 'system')
  const last = turns.at(-1)
  if (last?.role !== 'user') throw new Error('the last message must come from the user')
  const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt: system, autoDisposeSequence: false })
  try {
    const history: ChatHistoryItem[] = [...(system === '' ? [] : [{ type: 'system' as const, text: system }])]
    for (const m of turns.slice(0, -1)) history.push(m.role === 'user' ? { type: 'user', text: m.content } : { type: 'model', response: [m.content] })
    session.setChatHistory(history)
    return (await session.promptWithMeta(last.content, options)).stopReason
  } finally {
    session.dispose({ disposeSequence: false })
  }
}

/** Continues the prompt as raw text: no template, special-token text in it stays plain text. */
async function complete (sequence: LlamaContextSequence, prompt: string, options: Generation): Promise<string> {
  const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false })
  try {
    return (await completion.generateCompletionWithMeta(prompt, options)).metadata.stopReason
  } finally {
    completion.dispose({ disposeSequence: false })
  }
}
