/**
 * The provider side of /clawnode/task/1.0.0. The provider answers orders by itself: it declines what it
 * cannot or will not run (capability, image, price, capacity), bids otherwise, and on a valid award runs
 * the job in the sandbox runner, streaming output and then artifacts back, and ends with a signed
 * receipt that the consumer countersigns. A malformed or hostile message closes only its own stream.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { freemem } from 'node:os'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import {
  ARTIFACT_CHUNK_BYTES, BID_TTL_MS, LEASE_STEP_TIMEOUT_MS, MAX_FRAME_BYTES, TASK_PROTOCOL, createReplayGuard, decodeFrame,
  encodeFrame, encodeOutputFrame, envelopeSignature, frameStream, MalformedMessageError, signUsageTick, DEFAULT_USAGE_TICK_TOKENS, openAward, openOrder, openReceiptAck, serializeError, signBid, signDecline, signReceipt
} from '../protocol/index.ts'
import { isImageAllowed, validateJobSpec } from '../sandbox/index.ts'
import { writeFileAtomic } from '../sandbox/index.ts'
import { chargedInferencePrice, chargedOutputPrice, chargedPrice, maxInferencePrice, maxJobPrice } from './pricing.ts'
import { MAX_INFERENCE_TOKENS, MAX_PROMPT_TOKENS, parseInferencePayload, promptTokenBound } from './inference-request.ts'
import { LeaseCancelledError, leaseInbox, UnexpectedFrameError } from './lease-inbox.ts'
import type { LeaseInbox } from './lease-inbox.ts'
import type { ModelHost } from './model-host.ts'
import type { ProviderHold, ProviderSettlement } from './settlement.ts'
import type { Ledger } from '../ledger/index.ts'
import type { ClawNode } from './libp2p.ts'
import type { Connectivity, DeclineReason, Frame, FrameStream, LeaseLimits, LeaseUsage, OrderInfo, PriceTable, ReceiptDraw, ReceiptStatus } from '../protocol/index.ts'
import type { JobPolicy, SandboxRunner } from '../sandbox/index.ts'
import type { Connection, PeerId, PrivateKey, Stream } from '@libp2p/interface'

const log = logger('clawnode:provider')

export interface ProviderServiceInit {
  node: ClawNode
  privateKey: PrivateKey
  runner: SandboxRunner
  dataDir: string
  prices: PriceTable
  maxConcurrentJobs: number
  /** The same job policy the runner enforces (maximum limits). */
  jobPolicy?: JobPolicy
  /** The models this node serves (inference orders); none when absent. */
  models?: ModelHost
  /** Tokens between two streamed usage ticks of an inference lease (default 64). */
  usageTickTokens?: number
  /**
   * Host memory kept free for everything else on the machine (default 256 MiB): an order whose memory
   * limit does not fit in what is free beyond it is declined as `overloaded`.
   */
  memoryReserveBytes?: number
  /** Payment through escrow: orders must carry a covering deposit, receipts draw on it. None: leases are unpaid. */
  settlement?: ProviderSettlement
  /** The provider ledger: every countersigned receipt is appended (kind earned) before the lease counts as done. */
  ledger?: Ledger
}

export interface ProviderService {
  start: () => Promise<void>
  stop: () => Promise<void>
  readonly running: number
  readonly done: number
}

/** The container part of an order's limits (an order also carries the inference token limits). */
function containerLimits (l: LeaseLimits): Omit<LeaseLimits, 'maxTokens' | 'promptTokens'> {
  const { maxTokens: _tokens, promptTokens: _prompt, ...rest } = l
  return rest
}

/** A usage tick as sent, with the draw it carries on a paid lease. */
interface Tick { bytes: Uint8Array, draw?: ReceiptDraw }

/**
 * Inference text goes out at most one frame per this window (the first at once; gathered in the model
 * process): per-frame work on the node (noise, yamux, the consumer, an SSE chunk) competes with the
 * model for the CPU. Same value as sandbox/llama's DEFAULT_TEXT_BATCH_MS, which the bench's direct path gets.
 */
export const TEXT_BATCH_MS = 16

/** How long the provider waits for a ping when it measures the round trip to a consumer for a bid. */
export const RTT_PING_TIMEOUT_MS = 2_000
export const DEFAULT_MEMORY_RESERVE_BYTES = 256 * 1024 * 1024

/**
 * Relayed: libp2p marks the connection as not direct, or the relay put limits on it. (Not judged by the
 * address: a WebRTC connection signalled through a relay keeps a /p2p-circuit address on the dialling
 * side, yet its packets go peer to peer.)
 */
export function connectivityOf (connection: Connection): Connectivity {
  return !connection.direct || connection.limits !== undefined ? 'relayed' : 'direct'
}

export function createProviderService (init: ProviderServiceInit): ProviderService {
  const { node } = init
  const reserve = init.memoryReserveBytes ?? DEFAULT_MEMORY_RESERVE_BYTES
  // One measured round trip per connection (libp2p's connection monitor refreshes connection.rtt later).
  const rtts = new WeakMap<Connection, Promise<number>>()
  const rttOf = async (connection: Connection): Promise<number> => {
    if (connection.rtt !== undefined) return Math.round(connection.rtt)
    let measured = rtts.get(connection)
    if (measured === undefined) {
      const ping = node.libp2p.services.ping as { ping: (peer: PeerId, options: { signal: AbortSignal }) => Promise<number> }
      measured = ping.ping(connection.remotePeer, { signal: AbortSignal.timeout(RTT_PING_TIMEOUT_MS) }).catch((err: unknown) => {
        log('could not measure the round trip to %p: %e', connection.remotePeer, err)
        return RTT_PING_TIMEOUT_MS
      })
      rtts.set(connection, measured)
    }
    return await measured
  }
  const guard = createReplayGuard()
  let running = 0
  let done = 0
  const streams = new Set<Stream>()
  const serving = new Set<Promise<void>>()

  const decide = async (order: OrderInfo, price: number): Promise<DeclineReason | undefined> => {
    if (order.kind === 'inference') {
      if (init.models?.has(order.model) !== true) return 'lacks-capability'
      const tokens = order.limits.maxTokens ?? 0
      if (tokens < 1 || tokens > MAX_INFERENCE_TOKENS || (order.limits.promptTokens ?? 0) > MAX_PROMPT_TOKENS) return 'policy'
      if (price > order.maxPrice) return 'price-below-minimum'
      if (running >= init.maxConcurrentJobs) return 'busy'
      return undefined
    }
    if (order.kind !== 'container') return 'lacks-capability'
    if (!(await isImageAllowed(init.dataDir, order.image))) return 'lacks-capability'
    // Limits this provider would refuse at the award are declined now, before anyone waits on a bid.
    try {
      validateJobSpec({ version: 1, image: order.image, argv: ['true'], limits: containerLimits(order.limits) }, init.jobPolicy ?? {})
    } catch {
      return 'policy'
    }
    if (price > order.maxPrice) return 'price-below-minimum'
    if (running >= init.maxConcurrentJobs) return 'busy'
    // A free slot, but the host itself has no room for the job's memory right now.
    if (freemem() - reserve < order.limits.memoryMb * 1024 * 1024) return 'overloaded'
    return undefined
  }

  interface Outcome {
    status: ReceiptStatus
    usage: LeaseUsage
    price: (bid: number) => number
    /** Sends what follows the output (artifacts), adding to the result digest. */
    afterOutput?: (send: (frame: Frame) => Promise<void>, digest: ReturnType<typeof createHash>) => Promise<void>
    /** Keeps the countersigned receipt. */
    keep?: (receipt: Uint8Array, ack: Uint8Array) => Promise<void>
  }

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
   * Reads the consumer's countersignature of each usage tick (they arrive behind the output) and keeps
   * the last co-signed count in <data>/inference/<order>.json, even when the stream died on the way.
   */
  /**
   * Reads the consumer's countersignature of each usage tick (they arrive behind the output) and
   * returns the last co-signed one; if the stream dies on the way, what was co-signed is kept in
   * <data>/inference/<order>.json before the error goes on.
   */
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

  const serve = async (stream: Stream, connection: Connection, lp: FrameStream): Promise<void> => {
    // Resolves at once unless the consumer reads slower than the job writes; then it waits, bounded.
    const send = async (frame: Frame): Promise<void> => { await lp.write(encodeFrame(frame), { signal: AbortSignal.timeout(LEASE_STEP_TIMEOUT_MS) }) }
    const expect = async <T extends Frame['type']>(type: T, timeoutMs: number): Promise<Extract<Frame, { type: T }>> => {
      const frame = decodeFrame(await lp.read({ signal: AbortSignal.timeout(timeoutMs) }))
      if (frame.type !== type) throw new UnexpectedFrameError(type, frame.type)
      return frame as Extract<Frame, { type: T }>
    }

    // The round trip is measured while the order is read and judged.
    const rtt = rttOf(connection)
    const order = await openOrder((await expect('order', LEASE_STEP_TIMEOUT_MS)).bytes, { self: node.peerId, guard })
    const quote = order.kind === 'inference' ? maxInferencePrice(order.limits, init.prices) : maxJobPrice(order.limits, init.prices)
    let reason = await decide(order, quote)
    let detail = ''
    let hold: ProviderHold | undefined
    if (reason === undefined && init.settlement !== undefined) {
      const admission = await init.settlement.admit(order, quote, { signal: AbortSignal.timeout(LEASE_STEP_TIMEOUT_MS) })
      if (admission.ok) hold = admission.hold
      else { reason = 'payment-required'; detail = admission.detail }
    }
    if (reason !== undefined) {
      log('declining order from %p: %s %s', order.consumer, reason, detail)
      await send({ type: 'decline', bytes: await signDecline(init.privateKey, order, reason, detail) })
      await stream.close()
      return
    }
    const connectivity = connectivityOf(connection)
    const rttMs = await rtt
    const { bytes: bidBytes, bidId } = await signBid(init.privateKey, order, { price: quote, estimatedStartMs: Date.now(), ttlMs: BID_TTL_MS, connectivity, rttMs })
    // The slot is held from the bid until the award comes or the bid lapses.
    running++
    let inbox: LeaseInbox | undefined
    try {
      await send({ type: 'bid', bytes: bidBytes })
      let awardBytes: Uint8Array
      try {
        awardBytes = (await expect('award', BID_TTL_MS)).bytes
      } catch {
        // No award (the consumer chose another bid, or went away): nothing more to do.
        await stream.close().catch(() => {})
        return
      }
      const payload = await openAward(awardBytes, { order, bidId, guard })
      const bid = { orderId: order.orderId, bidId, provider: order.provider, price: quote, estimatedStartMs: 0, expiresAtMs: 0, connectivity, rttMs }
      const controller = new AbortController()
      // From here on one loop reads the consumer: acks queue for later, a cancel stops the job at once.
      inbox = leaseInbox(lp, (reason) => {
        log('consumer %p cancelled the lease: %s', order.consumer, reason)
        controller.abort(new LeaseCancelledError(reason))
      })
      const onClose = (): void => { controller.abort(new Error('the consumer closed the stream')) }
      stream.addEventListener('close', onClose)
      const digest = createHash('sha256')
      let sending = Promise.resolve()
      // Output goes out as produced, in order; a write that fails ends the job.
      let delivered = 0
      const ticks: Tick[] = []
      const emit = (which: 'stdout' | 'stderr', data: Uint8Array): void => {
        digest.update(data)
        delivered += data.byteLength
        sending = sending.then(async () => { await lp.write(encodeOutputFrame(which, data), { signal: AbortSignal.timeout(LEASE_STEP_TIMEOUT_MS) }) }).catch((err: unknown) => { controller.abort(err) })
      }
      // A signed running count of what was delivered so far, queued behind the output it covers.
      const tick = (outputTokens: number): void => {
        const deliveredDigest = digest.copy().digest()
        const bytesDelivered = delivered
        const seq = ticks.length
        const entry: Tick = { bytes: new Uint8Array() }
        ticks.push(entry)
        sending = sending.then(async () => {
          // A paid lease draws for the output counted so far: a stream that dies still leaves it claimable.
          if (hold !== undefined) entry.draw = await hold.draw(chargedOutputPrice(outputTokens, init.prices, quote), false)
          entry.bytes = await signUsageTick(init.privateKey, order, bid, { seq, outputTokens, bytesDelivered, deliveredDigest, ...(entry.draw === undefined ? {} : { draw: entry.draw }) })
          await send({ type: 'usage', bytes: entry.bytes })
        }).catch((err: unknown) => { controller.abort(err) })
      }
      const outcome = order.kind === 'inference'
        ? await runInference(order, payload, controller.signal, emit, tick)
        : await runContainer(order, payload, controller.signal, emit)
      await sending
      stream.removeEventListener('close', onClose)
      const reader = inbox
      await outcome.afterOutput?.((frame) => send(frame), digest)
      const price = outcome.price(quote)
      const draw = await hold?.draw(price, true)
      const issuedAtMs = Date.now()
      const receipt = await signReceipt(init.privateKey, order, bid, {
        status: outcome.status,
        usage: outcome.usage,
        resultDigest: new Uint8Array(digest.digest()),
        price,
        now: issuedAtMs,
        ...(draw === undefined ? {} : { draw })
      })
      const sendingReceipt = send({ type: 'receipt', bytes: receipt }).then(() => undefined, (err: unknown) => err)
      // The ticks' countersignatures arrive ahead of the receipt's (the consumer acks each tick as it comes):
      // the receipt does not wait for them, and the last co-signed tick is saved while the receipt travels.
      // (If the stream died, the acks that did arrive are still recorded before the error goes on.)
      const lastTick = ticks.length > 0 ? await collectUsageAcks(order, ticks, async (ms) => (await reader.next('usageAck', ms)).bytes, hold) : undefined
      const notSent = await sendingReceipt
      if (notSent !== undefined) throw notSent
      const savingTick = lastTick === undefined ? undefined : saveInferenceRecord(order, { tick: lastTick.tick, ack: lastTick.ack })
      savingTick?.catch(() => {})
      const ack = (await reader.next('receiptAck', LEASE_STEP_TIMEOUT_MS)).bytes
      const { drawSignature } = await openReceiptAck(ack, { receiptBytes: receipt, consumer: order.consumer })
      await savingTick
      await outcome.keep?.(receipt, ack)
      // The draw's countersignature is what the escrow pays on; then the receipt goes into the ledger.
      if (draw !== undefined) await hold?.settle(draw, drawSignature)
      await init.ledger?.append({
        kind: 'earned',
        receipt,
        providerSignature: envelopeSignature(receipt),
        countersignature: ack,
        orderId: Buffer.from(order.orderId).toString('hex'),
        counterparty: order.consumer.toString(),
        amount: price,
        inputTokens: outcome.usage.inputTokens ?? 0,
        outputTokens: outcome.usage.outputTokens ?? 0,
        timestampMs: issuedAtMs
      })
      done++
      await stream.close()
    } finally {
      hold?.release()
      inbox?.close()
      running--
    }
  }

  return {
    get running () { return running },
    get done () { return done },
    async start () {
      await node.libp2p.handle(TASK_PROTOCOL, (stream, connection) => {
        streams.add(stream)
        const lp = frameStream(stream, { maxFrameBytes: MAX_FRAME_BYTES })
        const p = serve(stream, connection, lp).catch(async (err: unknown) => {
          log('lease stream failed: %e', err)
          // Tell the peer what went wrong when the stream still works, then close only this stream.
          try {
            const e = serializeError(err)
            await lp.write(encodeFrame({ type: 'error', name: e.name, message: e.message, retryable: e.retryable }), { signal: AbortSignal.timeout(1000) })
            await stream.close({ signal: AbortSignal.timeout(1000) })
          } catch {
            stream.abort(err as Error)
          }
        }).finally(() => { streams.delete(stream); serving.delete(p) })
        serving.add(p)
      }, { maxInboundStreams: 64 })
    },
    /**
     * Takes no new leases, then gives running ones a bounded moment to end: stop the runner first, so
     * its jobs end as cancelled and their consumers get a receipt saying so. What is left is aborted.
     */
    async stop () {
      await node.libp2p.unhandle(TASK_PROTOCOL)
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled([...serving]),
        new Promise(resolve => { timer = setTimeout(resolve, LEASE_STEP_TIMEOUT_MS) })
      ])
      clearTimeout(timer)
      for (const s of streams) s.abort(new Error('the provider is stopping'))
    }
  }
}
