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
  collectUsageAcks: (order: OrderInfo, ticks: Tick[], next: (timeoutMs: number) => Promise<Uint8Array>, hold: ProviderHold | undefined) => Promise<{ tick: Uint8Array, ack: Uint8Array } | undefined>
  saveInferenceRecord: (order: OrderInfo, record: Record<string, Uint8Array>) => Promise<void>
}

export function createLeaseJobs (init: LeaseJobsInit): LeaseJobs {

  /**
   * An inference lease's record in <data>/inference/<order>.json: the last co-signed usage tick, and
   * the final receipt with its countersignature once the lease ends (also when it was cancelled).
   */
  const saveInferenceRecord = async (order: OrderInfo, record: Record<string, Uint8Array>): Promise<void> => {
    const dir = join(init.dataDir, 'inference')
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const file = join(dir, `${Buffer.from(order.orderId).toString('hex').slice(0, 32)}.json`)
    const before = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<string, string>
    const after = { ...before, ...Object.fromEntries(Object.entries(record).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) }
    await writeFileAtomic(file, JSON.stringify(after, null, 2) + '\n')
  }

  /**
   * Reads the consumer's countersignature of each usage tick (they arrive behind the output), records
   * each countersigned draw of a paid lease as it comes, and returns the last co-signed tick; if the
   * stream dies on the way, what was co-signed is kept in <data>/inference/<order>.json (and the
   * settlement book) before the error goes on.
   */
  const collectUsageAcks = async (order: OrderInfo, ticks: Tick[], next: (timeoutMs: number) => Promise<Uint8Array>, hold: ProviderHold | undefined): Promise<{ tick: Uint8Array, ack: Uint8Array } | undefined> => {
    let last: { tick: Uint8Array, ack: Uint8Array } | undefined
    try {
      for (const tick of ticks) {
        const ack = await next(LEASE_STEP_TIMEOUT_MS)
        const { drawSignature } = await openReceiptAck(ack, { receiptBytes: tick.bytes, consumer: order.consumer })
        if (tick.draw !== undefined) await hold?.settle(tick.draw, drawSignature)
        last = { tick: tick.bytes, ack }
      }
      return last
    } catch (err) {
      if (last !== undefined) await saveInferenceRecord(order, { tick: last.tick, ack: last.ack })
      throw err
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
    if (promptTokenBound(request.messages) > (order.limits.promptTokens ?? 0)) throw new MalformedMessageError('inference request', 'is longer than the prompt bound its order declared')
    const models = init.models as ModelHost
    const started = Date.now()
    const encoder = new TextEncoder()
    let bytesOut = 0
    const model = await models.get(order.model)
    // The ordered token limit holds, whatever the payload says.
    const completion = await model.chat(request.messages, { ...request.params, maxTokens: order.limits.maxTokens ?? 0 }, {
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
