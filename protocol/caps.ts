/**
 * Capability records: what a provider offers (hardware, runtimes, images, models, prices, capacity),
 * signed in an envelope under the `clawnode:caps:v1` domain, with an expiry and a sequence number.
 * Decoding caps every repeated field; opening checks the signature first, then that the record is
 * the signer's own and is current.
 */
import {
  CAPABILITY_RECORD_VERSION, CAPS_DOMAIN, CAPS_PAYLOAD_TYPE, MAX_CAPABILITY_RECORD_BYTES, MAX_CLOCK_SKEW_MS,
  MAX_RECORD_GPUS, MAX_RECORD_IMAGES, MAX_RECORD_MODELS, MAX_RECORD_RUNTIMES, MAX_RECORD_TTL_MS, MAX_SETTLEMENT_FEE_BPS
} from './constants.ts'
import { safeNumber } from './bytes.ts'
import { openEnvelope, sealEnvelope } from './envelope.ts'
import { MalformedMessageError, PeerMismatchError, RecordExpiredError } from './errors.ts'
import { CapabilityRecord } from './gen/caps.js'
import { peerIdFromBytes } from './peer-bytes.ts'
import { addressBytes, openSettlementBinding } from './settlement.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** Prices in millicredits (1/1000 credit). */
export interface PriceTable {
  per1kInputTokens: number
  per1kOutputTokens: number
  perCpuSecond: number
  perGbSecond: number
}

export interface Capabilities {
  clawnodeVersion: string
  cpuCores: number
  memoryBytes: number
  /** `backend` is the llama.cpp backend that drives the device (cuda, vulkan, metal). */
  gpus: Array<{ name: string, memoryBytes: number, backend?: string }>
  runtimes: string[]
  images: string[]
  /** `family` is the GGUF architecture (absent when unknown). */
  models: Array<{ id: string, digest: string, quantisation: string, context: number, family?: string }>
  prices: PriceTable
  maxConcurrentJobs: number
  /** How to pay this provider; absent when it settles on no chain. */
  settlement?: SettlementInfo
}

/** A provider's settlement identity as its record carries it (opened: the binding is verified). */
export interface SettlementInfo {
  /** The settlement binding envelope (protocol/settlement.ts), signed by the provider's peer key. */
  binding: Uint8Array
  /** The EVM address the binding names (lowercase 0x-hex); filled in when the record is opened. */
  address?: string
  chainId: number
  /** The UsageEscrow contract (0x-hex; lowercase once opened). */
  escrow: string
  feeBps: number
}

export interface CapabilityRecordInfo extends Capabilities {
  peerId: PeerId
  expiresAtMs: number
  seq: number
}

export async function signCapabilityRecord (key: PrivateKey, caps: Capabilities, options: { ttlMs: number, seq: number, now?: number }): Promise<Uint8Array> {
  const now = options.now ?? Date.now()
  const record = CapabilityRecord.encode({
    version: CAPABILITY_RECORD_VERSION,
    peerId: Uint8Array.from(key.publicKey.toMultihash().bytes),
    clawnodeVersion: caps.clawnodeVersion,
    cpuCores: caps.cpuCores,
    memoryBytes: BigInt(caps.memoryBytes),
    gpus: caps.gpus.map(g => ({ name: g.name, memoryBytes: BigInt(g.memoryBytes), backend: g.backend ?? '' })),
    runtimes: caps.runtimes,
    images: caps.images,
    models: caps.models.map(m => ({ id: m.id, digest: m.digest, quantisation: m.quantisation, context: m.context, family: m.family ?? '' })),
    prices: {
      perThousandInputTokens: BigInt(caps.prices.per1kInputTokens),
      perThousandOutputTokens: BigInt(caps.prices.per1kOutputTokens),
      perCpuSecond: BigInt(caps.prices.perCpuSecond),
      perGbSecond: BigInt(caps.prices.perGbSecond)
    },
    maxConcurrentJobs: caps.maxConcurrentJobs,
    ...(caps.settlement === undefined ? {} : { settlement: { binding: Uint8Array.from(caps.settlement.binding), chainId: BigInt(caps.settlement.chainId), escrow: Uint8Array.from(addressBytes(caps.settlement.escrow)), feeBps: caps.settlement.feeBps } }),
    expiresAtMs: BigInt(now + options.ttlMs),
    seq: BigInt(options.seq)
  })
  return await sealEnvelope(key, CAPS_DOMAIN, CAPS_PAYLOAD_TYPE, record)
}

const big = (n: bigint): number => safeNumber(n, 'capability record')

/** Verifies and decodes a signed capability record; `expectedPeer` is the peer it came from. */
export async function openCapabilityRecord (bytes: Uint8Array, options: { expectedPeer?: PeerId, now?: number } = {}): Promise<CapabilityRecordInfo> {
  const { signer, payload } = await openEnvelope(bytes, CAPS_DOMAIN, CAPS_PAYLOAD_TYPE, MAX_CAPABILITY_RECORD_BYTES)
  let record: CapabilityRecord
  try {
    record = CapabilityRecord.decode(payload, {
      limits: { gpus: MAX_RECORD_GPUS, runtimes: MAX_RECORD_RUNTIMES, images: MAX_RECORD_IMAGES, models: MAX_RECORD_MODELS }
    })
  } catch (err) {
    throw new MalformedMessageError('capability record', (err as Error).message, { cause: err })
  }
  if (record.version !== CAPABILITY_RECORD_VERSION) throw new MalformedMessageError('capability record', `has version ${record.version}, this node reads ${CAPABILITY_RECORD_VERSION}`)
  const subject = peerIdFromBytes(record.peerId, 'capability record')
  if (!subject.equals(signer)) throw new PeerMismatchError('capability record', signer.toString(), subject.toString())
  if (options.expectedPeer !== undefined && !subject.equals(options.expectedPeer)) throw new PeerMismatchError('capability record', options.expectedPeer.toString(), subject.toString())
  const now = options.now ?? Date.now()
  const expiresAtMs = big(record.expiresAtMs)
  if (expiresAtMs + MAX_CLOCK_SKEW_MS < now) throw new RecordExpiredError('capability record', `expired at ${new Date(expiresAtMs).toISOString()}`)
  if (expiresAtMs > now + MAX_RECORD_TTL_MS + MAX_CLOCK_SKEW_MS) throw new RecordExpiredError('capability record', 'claims to stay valid for longer than a record may')
  const prices = record.prices ?? { perThousandInputTokens: 0n, perThousandOutputTokens: 0n, perCpuSecond: 0n, perGbSecond: 0n }
  return {
    peerId: subject,
    clawnodeVersion: record.clawnodeVersion,
    cpuCores: record.cpuCores,
    memoryBytes: big(record.memoryBytes),
    gpus: record.gpus.map(g => ({ name: g.name, memoryBytes: big(g.memoryBytes), ...(g.backend === '' ? {} : { backend: g.backend }) })),
    runtimes: record.runtimes,
    images: record.images,
    models: record.models.map(m => ({ id: m.id, digest: m.digest, quantisation: m.quantisation, context: m.context, ...(m.family === '' ? {} : { family: m.family }) })),
    prices: { per1kInputTokens: big(prices.perThousandInputTokens), per1kOutputTokens: big(prices.perThousandOutputTokens), perCpuSecond: big(prices.perCpuSecond), perGbSecond: big(prices.perGbSecond) },
    maxConcurrentJobs: record.maxConcurrentJobs,
    ...(record.settlement === undefined ? {} : { settlement: await openRecordSettlement(record.settlement, subject) }),
    expiresAtMs,
    seq: big(record.seq)
  }
}

/** The record's settlement part, checked: the binding is the provider's own, the escrow an address. */
async function openRecordSettlement (s: NonNullable<CapabilityRecord['settlement']>, provider: PeerId): Promise<SettlementInfo> {
  if (s.escrow.byteLength !== 20) throw new MalformedMessageError('capability record', 'has a settlement escrow that is not a 20-byte address')
  if (s.feeBps > MAX_SETTLEMENT_FEE_BPS) throw new MalformedMessageError('capability record', `has a settlement fee of ${s.feeBps} basis points, above ${MAX_SETTLEMENT_FEE_BPS}`)
  const { address } = await openSettlementBinding(s.binding, { peer: provider })
  return { binding: s.binding, address, chainId: big(s.chainId), escrow: `0x${Buffer.from(s.escrow).toString('hex')}`, feeBps: s.feeBps }
}
