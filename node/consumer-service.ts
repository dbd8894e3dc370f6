/**
 * The consumer side of a lease: discover capable providers, send each an order, collect bids within a
 * window, award the cheapest (then direct before relayed, then lowest RTT), stream the result, verify the receipt and countersign
 * it. If the awarded provider fails before any output arrives, the next bidder is awarded. Every step
 * is bounded; `onExplain` reports each provider's fate.
 */
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { logger } from '@libp2p/logger'
import {
  BID_TTL_MS, ClawnodeError, envelopeSignature, frameStream, inputDigest, openUsageTick, LEASE_STEP_TIMEOUT_MS, MAX_FRAME_BYTES, TASK_PROTOCOL, decodeFrame, decodeFrameList, encodeFrame, openBid,
  openDecline, openReceipt, signAward, signOrder, signReceiptAck
} from '../protocol/index.ts'
import { validateJobSpec } from '../sandbox/index.ts'
import { DEFAULT_INFERENCE_TIMEOUT_MS, DISCOVERY_RETRY_MS, LEASE_CANCEL_GRACE_MS, RECORD_CACHE_MS } from './constants.ts'
import { chargedOutputPrice, maxInferencePrice, maxJobPrice } from './pricing.ts'
import { encodeInferencePayload, inferenceInput, MAX_INFERENCE_TOKENS, promptTokenBound } from './inference-request.ts'
import { checkFamilyWant, InvalidModelFamilyError, lackingFamilyModel, pickFamilyModel } from './model-family.ts'
import type { InferenceMessage, InferenceParams } from './inference-request.ts'
import type { CapabilityKey } from './cap-keys.ts'
import type { CapsService } from './caps-service.ts'
import type { ConsumerHold, ConsumerSettlement } from './settlement.ts'
import type { Ledger } from '../ledger/index.ts'
import type { ClawNode } from './libp2p.ts'
import type { BidInfo, CapabilityRecordInfo, FrameStream, JobKind, UsageTickInfo, LeaseLimits, OrderInfo, PriceTable, ReceiptInfo } from '../protocol/index.ts'
import type { PrivateKey, PeerId, Stream } from '@libp2p/interface'

const log = logger('clawnode:consumer')

export class NoProviderError extends ClawnodeError {
  static override name = 'NoProviderError'
  constructor (detail: string) {
    super(`No provider could run the job: ${detail}`, { hint: 'Run with --explain to see each provider\'s answer; raise --max-price, or try again later.', retryable: true })
  }
}

export interface ExplainEntry { peer: string, fate: 'chosen' | 'outbid' | 'declined' | 'unreachable' | 'failed' | 'skipped', detail: string }

export interface LeaseOptions {
  /** Millicredits the consumer pays at most. */
  maxPrice: number
  /** Orders sent at once (default 3). */
  fanout?: number
  /** Where artifacts are written: required for container jobs; an inference lease has none. */
  artifactsDir?: string
  signal?: AbortSignal
  onOutput?: (stream: 'stdout' | 'stderr', data: Uint8Array) => void
  onExplain?: (entry: ExplainEntry) => void
  /**
   * Inference: each co-signed usage tick (the provider's signed count and this consumer's countersignature);
   * on a paid lease, `price`: the millicredits of this lease that the countersigned draw lets the provider claim.
   */
  onUsage?: (usage: { tick: Uint8Array, ack: Uint8Array, outputTokens: number, bytesDelivered: number, price?: number }) => void
  /**
   * Keep looking this long while discovery finds nobody (a node that just joined has an empty routing
   * table); 0 (the default) asks the DHT once.
   */
  discoveryWindowMs?: number
  /**
   * Each countersigned receipt, as soon as it is countersigned: that of a lease that completes, and that
   * of a lease cancelled through `signal` (status cancelled, covering what was produced), which then
   * still rejects with the signal's reason.
   */
  onReceipt?: (receipt: { info: ReceiptInfo, bytes: Uint8Array, ack: Uint8Array, provider: PeerId }) => void
}

export interface LeaseResult {
  provider: PeerId
  /** The winning bid: price, connectivity (direct or relayed) and the round trip the provider measured. */
  bid: BidInfo
  receipt: ReceiptInfo
  receiptBytes: Uint8Array
  artifacts: Array<{ path: string, size: number, sha256: string }>
  explain: ExplainEntry[]
}

/** (`prices`: the provider's record's, which a usage tick's draw is checked against.) */
interface Offer { peer: PeerId, stream: Stream, lp: FrameStream, order: OrderInfo, bid: BidInfo, prices: PriceTable, hold?: ConsumerHold }

/** The provider sent a frame this lease does not take. */
export class UnexpectedLeaseFrameError extends ClawnodeError {
  static override name = 'UnexpectedLeaseFrameError'
  constructor (type: string, why: string) {
    super(`The provider sent an ${type} frame: ${why}`, { hint: 'The provider broke the lease protocol; the lease fails and another provider may serve it.' })
  }
}

/** An error as explain shows it: its name (the kind of failure) and message. */
const describe = (err: unknown): string => err instanceof Error ? `${err.name}: ${err.message}` : String(err)

/** What to generate, and from which model: a model id, or a model family and the least context it needs. */
export interface InferenceRequest {
  /** The model id; or leave it out and name `family`. */
  model?: string
  /** A model family (the GGUF architecture, "llama"): each provider is ordered its own model of it. */
  family?: string
  /** With `family`: the least context (tokens) the model must have (default 0). */
  minContext?: number
  /** Chat messages; or leave them out and give `prompt`, a raw text the model continues (no chat template). */
  messages?: InferenceMessage[]
  prompt?: string
  maxTokens: number
  params?: InferenceParams
  /** The whole lease's time bound (default 2 min). */
  timeoutMs?: number
}

export interface InferenceLeaseResult extends LeaseResult {
  /** The model that served: the one named in the order to the chosen provider. */
  model: string
}

/** Inference orders carry container limits too; only wallMs (the time bound) means anything there. */
const INFERENCE_BASE_LIMITS: LeaseLimits = { cpus: 0, memoryMb: 0, pids: 0, wallMs: 0, outputBytes: 0, artifactBytes: 0, tmpMb: 0 }

export interface Consumer {
  lease: (spec: unknown, options: LeaseOptions) => Promise<LeaseResult>
  /** Buys inference: output is the generated text (UTF-8) as it streams; usage is in the receipt. */
  leaseInference: (request: InferenceRequest, options: LeaseOptions) => Promise<InferenceLeaseResult>
}

export interface ConsumerInit {
  node: ClawNode
  privateKey: PrivateKey
  caps: CapsService
  /** Payment through escrow for providers that settle on this node's chain; none: orders are unpaid. */
  settlement?: ConsumerSettlement
  /** The consumer ledger: every countersigned receipt is appended (kind spent). */
  ledger?: Ledger
}

export function createConsumer (init: ConsumerInit): Consumer {
  const self = init.node.peerId
  const cache = new Map<string, { at: number, records: Awaited<ReturnType<CapsService['discover']>> }>()
  const discover = async (key: CapabilityKey, signal?: AbortSignal, windowMs = 0): Promise<Awaited<ReturnType<CapsService['discover']>>> => {
    const now = Date.now()
    const cacheKey = JSON.stringify(key)
    const hit = cache.get(cacheKey)
    if (hit !== undefined && now - hit.at < RECORD_CACHE_MS && hit.records.length > 0 && hit.records.every(r => r.expiresAtMs > now)) return hit.records
    const until = now + windowMs
    let records = await init.caps.discover(key, signal === undefined ? {} : { signal })
    // Bounded by the window: one DHT query at a time, a pause between them.
    while (records.length === 0 && Date.now() < until && signal?.aborted !== true) {
      await new Promise(resolve => setTimeout(resolve, DISCOVERY_RETRY_MS))
      records = await init.caps.discover(key, { signal: AbortSignal.any([AbortSignal.timeout(Math.max(1, until - Date.now())), ...(signal === undefined ? [] : [signal])]) }).catch(() => [])
    }
    // Bounded: one entry per image asked for, the oldest dropped past 64.
    if (cache.size >= 64) cache.delete(cache.keys().next().value as string)
    cache.set(cacheKey, { at: now, records })
    return records
  }
  /**
   * What is being bought: how to find capable providers, what each would charge, and the order
   * (`modelFor`: the model the order to that provider names, when it is not the same for all).
   */
  interface Want { key: CapabilityKey, kind: JobKind, image: string, model: string, modelFor?: (r: CapabilityRecordInfo) => string, limits: LeaseLimits, payload: Uint8Array, capable: (r: CapabilityRecordInfo) => string | undefined, quote: (r: CapabilityRecordInfo) => number }

  const leaseWith = async (want: Want, options: LeaseOptions): Promise<LeaseResult> => {
    const { payload, limits } = want
    const explain: ExplainEntry[] = []
    const note = (e: ExplainEntry): void => { explain.push(e); options.onExplain?.(e) }
    const records = (await discover(want.key, options.signal, options.discoveryWindowMs)).filter(r => {
      // A node that also provides finds itself: it does not lease from itself.
      if (r.peerId.equals(self)) { note({ peer: r.peerId.toString(), fate: 'skipped', detail: 'this node itself' }); return false }
      return true
    })
    const capable = records.filter(r => {
      const lacking = want.capable(r)
      if (lacking !== undefined) note({ peer: r.peerId.toString(), fate: 'skipped', detail: lacking })
      return lacking === undefined
    })
    // Orders go to the k providers whose advertised prices make the job cheapest; the rest wait.
    const fanout = options.fanout ?? 3
    const ranked = capable.map(r => ({ r, quote: want.quote(r) })).sort((a, b) => a.quote - b.quote)
    for (const { r, quote } of ranked.slice(fanout)) note({ peer: r.peerId.toString(), fate: 'skipped', detail: `advertises ${quote} for this job; orders went to the ${fanout} cheapest` })
    const offers: Offer[] = []
    await Promise.all(ranked.slice(0, fanout).map(async ({ r: record, quote }) => {
      const peer = record.peerId
      let stream: Stream | undefined
      let hold: ConsumerHold | undefined
      try {
        const signal = AbortSignal.any([AbortSignal.timeout(LEASE_STEP_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
        // Paying first: a deposit with this provider that covers its quote (opened or topped up once, not per lease).
        const paying = await init.settlement?.pay(record, quote, { signal: options.signal ?? AbortSignal.timeout(LEASE_STEP_TIMEOUT_MS) })
        if (paying !== undefined && 'skip' in paying) {
          note({ peer: peer.toString(), fate: 'skipped', detail: paying.skip })
          return
        }
        hold = paying?.hold
        stream = await init.node.libp2p.dialProtocol(peer, TASK_PROTOCOL, { signal })
        const lp = frameStream(stream, { maxFrameBytes: MAX_FRAME_BYTES })
        const { bytes, orderId } = await signOrder(init.privateKey, { provider: peer, kind: want.kind, image: want.image, model: want.modelFor?.(record) ?? want.model, limits, payload, maxPrice: options.maxPrice, deadlineMs: Date.now() + limits.wallMs + 5 * 60_000, ...(hold === undefined ? {} : { payment: hold.payment }) })
        const order: OrderInfo = { orderId, consumer: self, provider: peer, kind: want.kind, image: want.image, model: want.modelFor?.(record) ?? want.model, limits: { ...limits, maxTokens: limits.maxTokens ?? 0, promptTokens: limits.promptTokens ?? 0 }, inputDigest: inputDigest(payload), maxPrice: options.maxPrice, deadlineMs: 0, ...(hold === undefined ? {} : { payment: hold.payment }) }
        await lp.write(encodeFrame({ type: 'order', bytes }), { signal })
        const answer = decodeFrame(await lp.read({ signal }))
        if (answer.type === 'decline') {
          hold?.release()
          note({ peer: peer.toString(), fate: 'declined', detail: await openDecline(answer.bytes, { order }) })
          await stream.close().catch(() => {})
          return
        }
        if (answer.type !== 'bid') throw new Error(`answered the order with ${answer.type}`)
        offers.push({ peer, stream, lp, order, bid: await openBid(answer.bytes, { order }), prices: record.prices, ...(hold === undefined ? {} : { hold }) })
      } catch (err) {
        hold?.release()
        stream?.abort(err as Error)
        note({ peer: peer.toString(), fate: 'unreachable', detail: describe(err) })
      }
    }))
    // Price first; at the same price a direct connection beats a relayed one, then the shorter round trip.
    const viaRelay = (o: Offer): number => o.bid.connectivity === 'relayed' ? 1 : 0
    offers.sort((a, b) => a.bid.price - b.bid.price || viaRelay(a) - viaRelay(b) || a.bid.rttMs - b.bid.rttMs)
    try {
      for (const offer of offers) {
        let delivered = false
        try {
          const result = await award(offer, payload, options, () => { delivered = true })
          note({ peer: offer.peer.toString(), fate: 'chosen', detail: `price ${offer.bid.price}, ${offer.bid.connectivity}, rtt ${offer.bid.rttMs} ms, charged ${result.receipt.price}` })
          for (const other of offers) if (other !== offer && !explain.some(e => e.peer === other.peer.toString())) note({ peer: other.peer.toString(), fate: 'outbid', detail: `price ${other.bid.price}, ${other.bid.connectivity}, rtt ${other.bid.rttMs} ms` })
          return { ...result, provider: offer.peer, bid: offer.bid, explain }
        } catch (err) {
          note({ peer: offer.peer.toString(), fate: 'failed', detail: describe(err) })
          // After output has reached the user, switching providers would mix two runs: fail instead.
          if (delivered || options.signal?.aborted === true) throw err
          log('provider %p failed before any output; awarding the next bidder', offer.peer)
        }
      }
    } finally {
      for (const o of offers) { o.hold?.release(); o.stream.abort(new Error('lease over')) }
    }
    throw new NoProviderError(records.length === 0 ? `none found for this ${want.kind === 'inference' ? 'model' : 'image'}` : `${offers.length} bid(s), ${explain.filter(e => e.fate === 'declined').length} decline(s)`)
  }

  return {
    async lease (spec, options) {
      const job = validateJobSpec(spec)
      if (options.artifactsDir === undefined) throw new ClawnodeError('A container lease needs a folder for its artifacts', { hint: 'Pass artifactsDir (clawnode lease --out <dir>).' })
      return await leaseWith({
        key: { kind: 'image', image: job.image },
        kind: 'container',
        image: job.image,
        model: '',
        limits: job.limits,
        payload: new TextEncoder().encode(JSON.stringify(spec)),
        capable: r => r.images.includes(job.image) && r.runtimes.includes('gvisor') ? undefined : 'its record lacks the image or gVisor',
        quote: r => maxJobPrice(job.limits, r.prices)
      }, options)
    },
    async leaseInference (request, options) {
      if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1 || request.maxTokens > MAX_INFERENCE_TOKENS) throw new ClawnodeError(`maxTokens must be 1..${MAX_INFERENCE_TOKENS}`, { hint: 'Ask for fewer tokens.' })
      const { model } = request
      if ((model === undefined) === (request.family === undefined)) throw new InvalidModelFamilyError('an inference request names a model or a model family (with a minimum context), one of the two')
      if (model !== undefined && request.minContext !== undefined) throw new InvalidModelFamilyError('a minimum context goes with a family, not with a model id')
      const family = request.family === undefined ? undefined : checkFamilyWant(request.family, request.minContext)
      const input = inferenceInput(request)
      const payload = encodeInferencePayload({ ...input, params: request.params ?? {} })
      const limits: LeaseLimits = { ...INFERENCE_BASE_LIMITS, wallMs: request.timeoutMs ?? DEFAULT_INFERENCE_TIMEOUT_MS, maxTokens: request.maxTokens, promptTokens: promptTokenBound(input) }
      // By family, each capable provider's record resolves to its own model; its order names that one.
      const picked = new Map<string, string>()
      const result = await leaseWith({
        key: family === undefined ? { kind: 'model', model: model ?? '' } : { kind: 'family', family: family.family },
        kind: 'inference',
        image: '',
        model: model ?? '',
        modelFor: r => picked.get(r.peerId.toString()) ?? model ?? '',
        limits,
        payload,
        capable: r => {
          if (family === undefined) return r.models.some(m => m.id === model) ? undefined : 'its record lacks the model'
          const m = pickFamilyModel(r.models, family)
          if (m === undefined) return lackingFamilyModel(r.models, family)
          picked.set(r.peerId.toString(), m.id)
          return undefined
        },
        quote: r => maxInferencePrice(limits, r.prices)
      }, options)
      return { ...result, model: picked.get(result.provider.toString()) ?? model ?? '' }
    }
  }

  async function award (offer: Offer, payload: Uint8Array, options: LeaseOptions, onDelivered: () => void): Promise<Omit<LeaseResult, 'provider' | 'bid' | 'explain'>> {
    const { lp, order, bid } = offer
    const user = options.signal
    // Reading stops at the lease's wall time, or a grace period after the user cancels: a cancel is
    // sent to the provider, which stops the job and still ends the lease with a receipt.
    const reading = new AbortController()
    const wall = AbortSignal.timeout(order.limits.wallMs + BID_TTL_MS + LEASE_STEP_TIMEOUT_MS)
    const stop = (): void => { reading.abort(user?.aborted === true ? user.reason : wall.reason) }
    wall.addEventListener('abort', stop, { once: true })
    let cancelled = false
    let grace: ReturnType<typeof setTimeout> | undefined
    const cancel = (): void => {
      cancelled = true
      lp.write(encodeFrame({ type: 'cancel', reason: describe(user?.reason).slice(0, 200) }), { signal: AbortSignal.timeout(LEASE_STEP_TIMEOUT_MS) }).catch(stop)
      grace = setTimeout(stop, LEASE_CANCEL_GRACE_MS)
    }
    user?.throwIfAborted()
    await lp.write(encodeFrame({ type: 'award', bytes: await signAward(init.privateKey, order, bid, payload) }), { signal: AbortSignal.any([wall, ...(user === undefined ? [] : [user])]) })
    user?.addEventListener('abort', cancel, { once: true })
    try {
      return await readResult()
    } finally {
      user?.removeEventListener('abort', cancel)
      wall.removeEventListener('abort', stop)
      clearTimeout(grace)
    }

    async function readResult (): Promise<Omit<LeaseResult, 'provider' | 'bid' | 'explain'>> {
      const digest = createHash('sha256')
      let received = 0
      let lastTick: UsageTickInfo | undefined
      const artifacts: LeaseResult['artifacts'] = []
      const partial = new Map<string, Buffer[]>()
      for (;;) {
        // Output stays in the pieces it arrived in: a frame spanning two received chunks is not joined.
        const frame = decodeFrameList(await lp.readList({ signal: reading.signal }))
        if (frame.type === 'output') {
          onDelivered()
          for (const piece of frame.data) {
            digest.update(piece)
            // (After a cancel, what still arrives is counted and hashed but no longer shown.)
            if (!cancelled) options.onOutput?.(frame.stream, piece)
          }
          received += frame.data.byteLength
        } else if (frame.type === 'artifact') {
          if (options.artifactsDir === undefined) throw new UnexpectedLeaseFrameError('artifact', 'this lease has no place for artifacts')
          onDelivered()
          const parts = partial.get(frame.path) ?? []
          parts.push(Buffer.from(frame.data))
          partial.set(frame.path, parts)
          if (frame.last) {
            const data = Buffer.concat(parts)
            partial.delete(frame.path)
            const sha = createHash('sha256').update(data).digest()
            if (!sha.equals(Buffer.from(frame.sha256)) || data.byteLength !== frame.size) throw new Error(`artifact ${frame.path} does not match its digest`)
            const safe = frame.path.split('/').filter(p => p !== '' && p !== '.' && p !== '..').join('/')
            const target = join(options.artifactsDir, safe)
            await mkdir(dirname(target), { recursive: true })
            await writeFile(target, data)
            artifacts.push({ path: safe, size: data.byteLength, sha256: sha.toString('hex') })
            digest.update(sha)
          }
        } else if (frame.type === 'usage') {
          // A running count: it must cover exactly what arrived so far; countersigned at once.
          const info = await openUsageTick(frame.bytes, { order, bid, ...(lastTick === undefined ? {} : { previous: lastTick }), received: { bytes: received, digest: digest.copy().digest() } })
          // A paid lease: the tick draws for the output counted so far, at the provider's advertised output price.
          if (info.draw !== undefined && offer.hold === undefined) throw new UnexpectedLeaseFrameError('usage', 'it draws on a deposit this unpaid order did not name')
          const drawn = chargedOutputPrice(info.outputTokens, offer.prices, bid.price)
          const tickSignature = info.draw === undefined ? undefined : await offer.hold?.sign(info.draw, drawn, false)
          const ack = await signReceiptAck(init.privateKey, frame.bytes, tickSignature)
          await lp.write(encodeFrame({ type: 'usageAck', bytes: ack }), { signal: reading.signal })
          lastTick = info
          options.onUsage?.({ tick: frame.bytes, ack, outputTokens: info.outputTokens, bytesDelivered: info.bytesDelivered, ...(tickSignature === undefined ? {} : { price: drawn }) })
        } else if (frame.type === 'receipt') {
          const receipt = await openReceipt(frame.bytes, { order, bid })
          if (!Buffer.from(receipt.resultDigest).equals(digest.digest())) throw new Error('the receipt\'s result digest does not match what was delivered')
          // A paid lease: the receipt's draw must be on the order's deposit and within what this node owes.
          if (offer.hold === undefined && receipt.draw !== undefined) throw new UnexpectedLeaseFrameError('receipt', 'it draws on a deposit this unpaid order did not name')
          const drawSignature = receipt.draw === undefined ? undefined : await offer.hold?.sign(receipt.draw, receipt.price, true)
          if (receipt.draw === undefined) offer.hold?.release()
          const ack = await signReceiptAck(init.privateKey, frame.bytes, drawSignature)
          await lp.write(encodeFrame({ type: 'receiptAck', bytes: ack }), { signal: AbortSignal.timeout(LEASE_STEP_TIMEOUT_MS) })
          await init.ledger?.append({
            kind: 'spent',
            receipt: frame.bytes,
            providerSignature: envelopeSignature(frame.bytes),
            countersignature: ack,
            orderId: Buffer.from(order.orderId).toString('hex'),
            counterparty: offer.peer.toString(),
            amount: receipt.price,
            inputTokens: receipt.usage.inputTokens ?? 0,
            outputTokens: receipt.usage.outputTokens ?? 0,
            timestampMs: receipt.issuedAtMs
          })
          await offer.stream.close({ signal: AbortSignal.timeout(LEASE_STEP_TIMEOUT_MS) }).catch(() => {})
          options.onReceipt?.({ info: receipt, bytes: frame.bytes, ack, provider: offer.peer })
          if (cancelled) throw user?.reason
          return { receipt, receiptBytes: frame.bytes, artifacts }
        } else if (frame.type === 'error') {
          throw new Error(`${frame.name}: ${frame.message}`)
        } else {
          throw new Error(`unexpected ${frame.type} during the result`)
        }
      }
    }
  }
}
