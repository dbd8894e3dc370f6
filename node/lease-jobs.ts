/**
 * What a provider runs for an awarded lease, by kind: a container job in the sandbox runner (its
 * output, then its artifacts) or an inference request on a served model (its text in pieces, with
 * usage ticks every N tokens). Each ends in an Outcome the lease service turns into the receipt.
 * Also the provider's record of an inference lease: the last co-signed tick, then the receipt.
 */
import type { createHash } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  ARTIFACT_CHUNK_BYTES, DEFAULT_USAGE_TICK_TOKENS, LEASE_STEP_TIMEOUT_MS, MalformedMessageError, openReceiptAck
} from '../protocol/index.ts'
import type { Frame, LeaseLimits, LeaseUsage, OrderInfo, PriceTable, ReceiptDraw, ReceiptStatus } from '../protocol/index.ts'
import { writeFileAtomic } from '../sandbox/index.ts'
import type { SandboxRunner } from '../sandbox/index.ts'
import { chargedInferencePrice, chargedPrice } from './pricing.ts'
import { parseInferencePayload, promptTokenBound } from './inference-request.ts'
import type { ModelHost } from './model-host.ts'
import type { ProviderHold } from './settlement.ts'

/** The container part of an order's limits (an order also carries the inference token limits). */
export function containerLimits (l: LeaseLimits): Omit<LeaseLimits, 'maxTokens' | 'promptTokens'> {
  const { maxTokens: _tokens, promptTokens: _prompt, ...rest } = l
  return rest
}

/**
 * Inference text goes out at most one frame per this window (the first at once; gathered in the model
 * process): per-frame work on the node (noise, yamux, the consumer, an SSE chunk) competes with the
 * model for the CPU. Same value as sandbox/llama's DEFAULT_TEXT_BATCH_MS, which the bench's direct path gets.
 */
export const TEXT_BATCH_MS = 16

/** A usage tick as sent, with the draw it carries on a paid lease. */
export interface Tick { bytes: Uint8Array, draw?: ReceiptDraw }

export interface Outcome {
  status: ReceiptStatus
  usage: LeaseUsage
  price: (bid: number) => number
  /** Sends what follows the output (artifacts), adding to the result digest. */
  afterOutput?: (send: (frame: Frame) => Promise<void>, digest: ReturnType<typeof createHash>) => Promise<void>
  /** Keeps the countersigned receipt. */
  keep?: (receipt: Uint8Array, ack: Uint8Array) => Promise<void>
}

/** A usage tick and the consumer's countersignature of it. */
export interface CosignedTick { tick: Uint8Array, ack: Uint8Array }

/** The countersignatures of an inference lease's usage ticks, taken in order while the lease runs. */
export interface UsageAcks {
  /** A tick went out (its bytes set): its countersignature is the next one awaited. */
  sent: (tick: Tick) => void
  /**
   * No more ticks: resolves with the last co-signed tick once every sent tick's countersignature is in
   * and on disk; rejects with what went wrong (after keeping what was co-signed before it).
   */
  end: () => Promise<CosignedTick | undefined>
}

export interface LeaseJobsInit {
  runner: SandboxRunner
  dataDir: string
  prices: PriceTable
  models?: ModelHost
  usageTickTokens?: number
}

type Emit = (which: 'stdout' | 'stderr', data: Uint8Array) => void

export interface LeaseJobs {
  runContainer: (order: OrderInfo, payload: Uint8Array, signal: AbortSignal, emit: Emit) => Promise<Outcome>
  runInference: (order: OrderInfo, payload: Uint8Array, signal: AbortSignal, emit: Emit, tick: (outputTokens: number) => void) => Promise<Outcome>
  collectUsageAcks: (order: OrderInfo, next: (timeoutMs: number) => Promise<Uint8Array>, hold: ProviderHold | undefined, onError: (err: unknown) => void) => UsageAcks
  saveInferenceRecord: (order: OrderInfo, record: Record<string, Uint8Array>, options?: { fresh?: boolean }) => Promise<void>
}

export function createLeaseJobs (init: LeaseJobsInit): LeaseJobs {

  /**
   * An inference lease's record in <data>/inference/<order>.json: the last co-signed usage tick, and
   * the final receipt with its countersignature once the lease ends (also when it was cancelled).
   */
  const saveInferenceRecord = async (order: OrderInfo, record: Record<string, Uint8Array>, options: { fresh?: boolean } = {}): Promise<void> => {
    const dir = join(init.dataDir, 'inference')
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const file = join(dir, `${Buffer.from(order.orderId).toString('hex').slice(0, 32)}.json`)
    // (A usage tick replaces the whole record: nothing else is in it until the receipt comes.)
    const before = options.fresh === true ? {} : JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<string, string>
    const after = { ...before, ...Object.fromEntries(Object.entries(record).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) }
    await writeFileAtomic(file, JSON.stringify(after, null, 2) + '\n')
  }

  /**
   * Reads the consumer's countersignature of each usage tick as it arrives, while the model still
   * generates: a paid lease's countersigned draw goes into the settlement book, and the tick and its
   * countersignature into <data>/inference/<order>.json (crash-safe, replaced by each newer one), so a
   * provider killed mid-stream holds a co-signed count within about a tick of what it delivered. A
   * write still under way when the next ack comes is followed by the newest tick only (one write in flight).
   * A wrong countersignature (or none in time) is reported through `onError` at once.
   */
  const collectUsageAcks = (order: OrderInfo, next: (timeoutMs: number) => Promise<Uint8Array>, hold: ProviderHold | undefined, onError: (err: unknown) => void): UsageAcks => {
    const sent: Tick[] = []
    let ended = false
    let wake: (() => void) | undefined
    let last: CosignedTick | undefined
    let written: CosignedTick | undefined
    let writing: Promise<void> | undefined
    // Writes the newest co-signed tick until the file holds it; the first failure stays (and is thrown at the end).
    // (Nothing new: no writer starts. The writer clears `writing` only while it is still its own
    // promise, so a body that finished before `writing` was assigned cannot leave a settled one there.)
    const keep = (): Promise<void> => {
      if (writing !== undefined) return writing
      if (last === undefined || written === last) return Promise.resolve()
      let writer: Promise<void> | undefined
      writer = (async () => {
        try {
          while (last !== undefined && written !== last) {
            const cosigned = last
            await saveInferenceRecord(order, { tick: cosigned.tick, ack: cosigned.ack }, { fresh: true })
            written = cosigned
          }
        } finally {
          if (writing === writer) writing = undefined
        }
      })()
      writing = writer
      return writer
    }
    let failed: unknown
    const reading = (async (): Promise<void> => {
      for (let i = 0; ; i++) {
        // (Bounded by the lease: `end` is called once its output is over, whatever the outcome.)
        while (i >= sent.length) {
          if (ended) return
          await new Promise<void>(resolve => { wake = resolve })
        }
        const tick = sent[i] as Tick
        const ack = await next(LEASE_STEP_TIMEOUT_MS)
        const { drawSignature } = await openReceiptAck(ack, { receiptBytes: tick.bytes, consumer: order.consumer })
        if (tick.draw !== undefined) await hold?.settle(tick.draw, drawSignature)
        last = { tick: tick.bytes, ack }
        keep().catch((err: unknown) => { failed ??= err })
      }
    })().catch((err: unknown) => {
      failed ??= err
      onError(err)
    })
    return {
      sent (tick) { sent.push(tick); wake?.() },
      async end () {
        ended = true
        wake?.()
        await reading
        await keep().catch((err: unknown) => { failed ??= err })
        if (failed !== undefined) throw failed
        return last
      }
    }
  }

  const runContainer = async (order: OrderInfo, payload: Uint8Array, signal: AbortSignal, emit: (which: 'stdout' | 'stderr', data: Uint8Array) => void): Promise<Outcome> => {
    const spec = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>
    // The provider runs what was ordered: the ordered image and limits, whatever the payload says.
    const jobSpec = { ...spec, image: order.image, limits: containerLimits(order.limits) }
    const jobId = Buffer.from(order.orderId).toString('hex').slice(0, 32)
    // (The runner hands over each chunk once and never reuses it: no copy needed.)
    const result = await init.runner.run(jobSpec, { jobId, signal, onOutput: emit })
    const dir = init.runner.runDir(jobId)
    return {
      status: result.status === 'rejected' ? 'failed' : result.status,
      usage: { wallMs: result.usage.wallMs, cpuMs: result.usage.cpuMs, peakMemoryBytes: result.usage.peakMemoryBytes, exitCode: result.usage.exitCode, oomKilled: result.usage.oomKilled, bytesOut: result.usage.bytesOut },
      price: (bid) => chargedPrice(result.usage, order.limits, init.prices, bid),
      async afterOutput (send, digest) {
        for (const artifact of result.artifacts) {
          const data = await readFile(join(dir, 'artifacts', artifact.path))
          for (let offset = 0; offset < data.byteLength || offset === 0; offset += ARTIFACT_CHUNK_BYTES) {
            const last = offset + ARTIFACT_CHUNK_BYTES >= data.byteLength
            await send({ type: 'artifact', path: artifact.path, data: data.subarray(offset, offset + ARTIFACT_CHUNK_BYTES), last, size: artifact.size, sha256: last ? Buffer.from(artifact.sha256, 'hex') : new Uint8Array() })
            if (last) break
          }
          digest.update(Buffer.from(artifact.sha256, 'hex'))
        }
      },
      async keep (receipt, ack) {
        await writeFileAtomic(join(dir, 'receipt.json'), JSON.stringify({ receipt: Buffer.from(receipt).toString('base64'), ack: Buffer.from(ack).toString('base64') }, null, 2) + '\n')
      }
    }
  }

  const runInference = async (order: OrderInfo, payload: Uint8Array, signal: AbortSignal, emit: (which: 'stdout' | 'stderr', data: Uint8Array) => void, tick: (outputTokens: number) => void): Promise<Outcome> => {
    const every = init.usageTickTokens ?? DEFAULT_USAGE_TICK_TOKENS
    let nextTick = every
    const request = parseInferencePayload(payload)
    if (promptTokenBound(request) > (order.limits.promptTokens ?? 0)) throw new MalformedMessageError('inference request', 'is longer than the prompt bound its order declared')
    const models = init.models as ModelHost
    const started = Date.now()
    const encoder = new TextEncoder()
    let bytesOut = 0
    const model = await models.get(order.model)
    // The ordered token limit holds, whatever the payload says.
    // A prompt is continued as raw text (no chat template), as /v1/completions means it.
    const completion = await model.chat('prompt' in request ? { prompt: request.prompt } : request.messages, { ...request.params, maxTokens: order.limits.maxTokens ?? 0 }, {
      signal,
      // The model process sends the first text at once and then at most a piece per TEXT_BATCH_MS, so
      // a fast model makes a frame per several tokens; a piece ends where a usage tick is due, so that
      // ticks stay every N tokens and each counts every byte before it.
      textBatchMs: TEXT_BATCH_MS,
      textBreakTokens: every,
      onText: (text, tokens) => {
        if (text === '') return
        const data = encoder.encode(text)
        bytesOut += data.byteLength
        emit('stdout', data)
        if (tokens >= nextTick) { tick(tokens); nextTick = tokens + every }
      }
    })
    // (A model whose process crashes is dropped from the offer by the model host itself.)
    const usage = { inputTokens: completion.usage.promptTokens, outputTokens: completion.usage.completionTokens }
    return {
      status: completion.stopReason === 'abort' ? 'cancelled' : 'succeeded',
      usage: { wallMs: Date.now() - started, cpuMs: 0, peakMemoryBytes: 0, exitCode: null, oomKilled: false, bytesOut, ...usage },
      price: (bid) => chargedInferencePrice(usage, order.limits, init.prices, bid),
      async keep (receipt, receiptAck) { await saveInferenceRecord(order, { receipt, receiptAck }) }
    }
  }

  return { runContainer, runInference, collectUsageAcks, saveInferenceRecord }
}
