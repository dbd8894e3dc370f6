/**
 * The provider side of /clawnode/task/1.0.0. The provider answers orders by itself: it declines what it
 * cannot or will not run (capability, image, price, capacity), bids otherwise, and on a valid award runs
 * the job in the sandbox runner, streaming output and then artifacts back, and ends with a signed
 * receipt that the consumer countersigns. A malformed or hostile message closes only its own stream.
 */
import { createHash } from 'node:crypto'
import { freemem } from 'node:os'
import { logger } from '@libp2p/logger'
import {
  BID_TTL_MS, LEASE_STEP_TIMEOUT_MS, MAX_FRAME_BYTES, TASK_PROTOCOL, createReplayGuard, decodeFrame,
  encodeFrame, encodeOutputFrame, envelopeSignature, frameStream, signUsageTick, openAward, openOrder, openReceiptAck, serializeError, signBid, signDecline, signReceipt
} from '../protocol/index.ts'
import { isImageAllowed, validateJobSpec } from '../sandbox/index.ts'
import { chargedOutputPrice, maxInferencePrice, maxJobPrice } from './pricing.ts'
import { MAX_INFERENCE_TOKENS, MAX_PROMPT_TOKENS } from './inference-request.ts'
import { LeaseCancelledError, leaseInbox, UnexpectedFrameError } from './lease-inbox.ts'
import { containerLimits, createLeaseJobs } from './lease-jobs.ts'
import type { Tick, UsageAcks } from './lease-jobs.ts'
import type { LeaseInbox } from './lease-inbox.ts'
import type { ModelHost } from './model-host.ts'
import type { ProviderHold, ProviderSettlement } from './settlement.ts'
import type { Ledger } from '../ledger/index.ts'
import type { ClawNode } from './libp2p.ts'
import type { Connectivity, DeclineReason, Frame, FrameStream, OrderInfo, PriceTable } from '../protocol/index.ts'
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

  const jobs = createLeaseJobs(init)

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
    let acks: UsageAcks | undefined
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
      const reader = inbox
      // Each tick's countersignature is taken (and kept on disk) as it comes; a wrong one stops the job.
      acks = jobs.collectUsageAcks(order, async (ms) => (await reader.next('usageAck', ms)).bytes, hold, (err) => { controller.abort(err) })
      const usageAcks = acks
      const onClose = (): void => { controller.abort(new Error('the consumer closed the stream')) }
      stream.addEventListener('close', onClose)
      const digest = createHash('sha256')
      let sending = Promise.resolve()
      // Output goes out as produced, in order; a write that fails ends the job.
      let delivered = 0
      let ticks = 0
      const emit = (which: 'stdout' | 'stderr', data: Uint8Array): void => {
        digest.update(data)
        delivered += data.byteLength
        sending = sending.then(async () => { await lp.write(encodeOutputFrame(which, data), { signal: AbortSignal.timeout(LEASE_STEP_TIMEOUT_MS) }) }).catch((err: unknown) => { controller.abort(err) })
      }
      // A signed running count of what was delivered so far, queued behind the output it covers.
      const tick = (outputTokens: number): void => {
        const deliveredDigest = digest.copy().digest()
        const bytesDelivered = delivered
        const seq = ticks++
        const entry: Tick = { bytes: new Uint8Array() }
        sending = sending.then(async () => {
          // A paid lease draws for the output counted so far: a stream that dies still leaves it claimable.
          if (hold !== undefined) entry.draw = await hold.draw(chargedOutputPrice(outputTokens, init.prices, quote), false)
          entry.bytes = await signUsageTick(init.privateKey, order, bid, { seq, outputTokens, bytesDelivered, deliveredDigest, ...(entry.draw === undefined ? {} : { draw: entry.draw }) })
          await send({ type: 'usage', bytes: entry.bytes })
          usageAcks.sent(entry)
        }).catch((err: unknown) => { controller.abort(err) })
      }
      const outcome = order.kind === 'inference'
        ? await jobs.runInference(order, payload, controller.signal, emit, tick)
        : await jobs.runContainer(order, payload, controller.signal, emit)
      await sending
      stream.removeEventListener('close', onClose)
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
      // the receipt does not wait for the last of them, nor for the last co-signed tick to be on disk.
      // (If the stream died, the acks that did arrive are still recorded before the error goes on.)
      await acks.end()
      const notSent = await sendingReceipt
      if (notSent !== undefined) throw notSent
      const ack = (await reader.next('receiptAck', LEASE_STEP_TIMEOUT_MS)).bytes
      const { drawSignature } = await openReceiptAck(ack, { receiptBytes: receipt, consumer: order.consumer })
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
      inbox?.close()
      // Acks that did arrive are kept (their draws settled) before the hold takes back what was not countersigned.
      await acks?.end().catch(() => {})
      hold?.release()
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
