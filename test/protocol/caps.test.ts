import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  openCapabilityRecord, sealEnvelope, signCapabilityRecord, signSettlementBinding, CAPS_DOMAIN, CAPS_PAYLOAD_TYPE, MAX_RECORD_IMAGES, MAX_RECORD_TTL_MS,
  MAX_SETTLEMENT_FEE_BPS, SETTLEMENT_DOMAIN, SETTLEMENT_PAYLOAD_TYPE
} from '../../protocol/index.ts'
import { CapabilityRecord } from '../../protocol/gen/caps.js'
import type { Capabilities } from '../../protocol/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import { ROOT, rejectsWith } from '../helpers.ts'

const caps: Capabilities = {
  clawnodeVersion: '0.1.0',
  cpuCores: 2,
  memoryBytes: 24 * 1024 ** 3,
  gpus: [{ name: 'NVIDIA H100', memoryBytes: 80 * 1024 ** 3, backend: 'cuda' }],
  runtimes: ['gvisor'],
  images: ['sha256:' + 'a'.repeat(64)],
  models: [{ id: 'tiny-llama', digest: 'sha256:' + 'b'.repeat(64), quantisation: 'Q8_0', context: 2048 }],
  prices: { per1kInputTokens: 1000, per1kOutputTokens: 2000, perCpuSecond: 5, perGbSecond: 1 },
  maxConcurrentJobs: 4
}


test('a signed capability record round-trips', async () => {
  const key = await generateKeyPair('Ed25519')
  const info = await openCapabilityRecord(await signCapabilityRecord(key, caps, { ttlMs: 60_000, seq: 7 }), { expectedPeer: peerIdFromPublicKey(key.publicKey) })
  const { peerId, expiresAtMs, seq, ...rest } = info
  assert.equal(rest, caps)
  assert.ok(peerId.equals(peerIdFromPublicKey(key.publicKey)))
  assert.is(seq, 7)
  assert.ok(expiresAtMs > Date.now())
})

test('expired records, and records claiming too long a life, are refused', async () => {
  const key = await generateKeyPair('Ed25519')
  const old = await signCapabilityRecord(key, caps, { ttlMs: 1000, seq: 1, now: Date.now() - 10 * 60_000 })
  await rejectsWith(openCapabilityRecord(old), 'RecordExpiredError')
  const forever = await signCapabilityRecord(key, caps, { ttlMs: MAX_RECORD_TTL_MS * 10, seq: 1 })
  await rejectsWith(openCapabilityRecord(forever), 'RecordExpiredError')
})

test('a record describing another peer, or from an unexpected peer, is refused', async () => {
  const a = await generateKeyPair('Ed25519')
  const b = await generateKeyPair('Ed25519')
  const claimsB = CapabilityRecord.encode({ version: 1, peerId: Uint8Array.from(b.publicKey.toMultihash().bytes), expiresAtMs: BigInt(Date.now() + 60_000) })
  await rejectsWith(openCapabilityRecord(await sealEnvelope(a, CAPS_DOMAIN, CAPS_PAYLOAD_TYPE, claimsB)), 'PeerMismatchError')
  await rejectsWith(openCapabilityRecord(await signCapabilityRecord(a, caps, { ttlMs: 60_000, seq: 1 }), { expectedPeer: peerIdFromPublicKey(b.publicKey) }), 'PeerMismatchError')
})

const ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const ESCROW = '0x5FbDB2315678afecb367f032d93F642f64180aa3'

/** A record signed by `key` whose settlement part is encoded as given, bypassing signCapabilityRecord's own checks. */
const withSettlement = async (key: PrivateKey, settlement: { binding: Uint8Array, chainId: bigint, escrow: Uint8Array, feeBps: number }): Promise<Uint8Array> => {
  const record = CapabilityRecord.encode({
    version: 1,
    peerId: Uint8Array.from(key.publicKey.toMultihash().bytes),
    clawnodeVersion: '0.1.0',
    cpuCores: 1,
    memoryBytes: 1n,
    gpus: [],
    runtimes: [],
    images: [],
    models: [],
    maxConcurrentJobs: 1,
    settlement: { ...settlement, binding: Uint8Array.from(settlement.binding), escrow: Uint8Array.from(settlement.escrow) },
    expiresAtMs: BigInt(Date.now() + 60_000),
    seq: 1n
  })
  return await sealEnvelope(key, CAPS_DOMAIN, CAPS_PAYLOAD_TYPE, record)
}
const escrowBytes = (n = 20): Uint8Array => Buffer.from(ESCROW.slice(2), 'hex').subarray(0, n)

test('a record\'s settlement part opens with its binding verified: the address, chain, escrow and fee', async () => {
  const key = await generateKeyPair('Ed25519')
  const binding = await signSettlementBinding(key, ADDRESS)
  const info = await openCapabilityRecord(await signCapabilityRecord(key, { ...caps, settlement: { binding, chainId: 31337, escrow: ESCROW, feeBps: 250 } }, { ttlMs: 60_000, seq: 1 }))
  assert.equal(info.settlement, { binding, address: ADDRESS.toLowerCase(), chainId: 31337, escrow: ESCROW.toLowerCase(), feeBps: 250 })
  // The highest fee a record may carry is accepted.
  const max = await openCapabilityRecord(await withSettlement(key, { binding, chainId: 1n, escrow: escrowBytes(), feeBps: MAX_SETTLEMENT_FEE_BPS }))
  assert.is(max.settlement?.feeBps, MAX_SETTLEMENT_FEE_BPS)
})

test('a settlement part with an escrow that is not an address, or a fee above the maximum, is malformed', async () => {
  const key = await generateKeyPair('Ed25519')
  const binding = await signSettlementBinding(key, ADDRESS)
  for (const escrow of [escrowBytes(19), new Uint8Array(21), new Uint8Array(0)]) {
    await rejectsWith(openCapabilityRecord(await withSettlement(key, { binding, chainId: 1n, escrow, feeBps: 0 })), 'MalformedMessageError')
  }
  try {
    await openCapabilityRecord(await withSettlement(key, { binding, chainId: 1n, escrow: escrowBytes(), feeBps: MAX_SETTLEMENT_FEE_BPS + 1 }))
    assert.unreachable('a fee above the maximum was accepted')
  } catch (err) {
    assert.is((err as Error).name, 'MalformedMessageError')
    assert.match((err as Error).message, `settlement fee of ${MAX_SETTLEMENT_FEE_BPS + 1} basis points, above ${MAX_SETTLEMENT_FEE_BPS}`)
  }
})

test('a settlement binding signed by another peer, or over something other than an address, is refused', async () => {
  const key = await generateKeyPair('Ed25519')
  const other = await generateKeyPair('Ed25519')
  // Another provider's settlement account, claimed in this provider's record.
  const foreign = await signSettlementBinding(other, ADDRESS)
  await rejectsWith(openCapabilityRecord(await withSettlement(key, { binding: foreign, chainId: 1n, escrow: escrowBytes(), feeBps: 0 })), 'PeerMismatchError')
  const notAnAddress = await sealEnvelope(key, SETTLEMENT_DOMAIN, SETTLEMENT_PAYLOAD_TYPE, new Uint8Array(19))
  await rejectsWith(openCapabilityRecord(await withSettlement(key, { binding: notAnAddress, chainId: 1n, escrow: escrowBytes(), feeBps: 0 })), 'MalformedMessageError')
  // Bytes that are not a binding envelope at all.
  await rejectsWith(openCapabilityRecord(await withSettlement(key, { binding: new Uint8Array([1, 2, 3]), chainId: 1n, escrow: escrowBytes(), feeBps: 0 })), 'MalformedMessageError')
})

test('repeated fields are capped while decoding', async () => {
  const key = await generateKeyPair('Ed25519')
  const many = { ...caps, images: Array.from({ length: MAX_RECORD_IMAGES + 1 }, (_, i) => `sha256:${i.toString(16).padStart(64, '0')}`) }
  await rejectsWith(openCapabilityRecord(await signCapabilityRecord(key, many, { ttlMs: 60_000, seq: 1 })), 'MalformedMessageError')
})

test('the committed generated codecs match a fresh protons run', () => {
  const out = join(ROOT, 'protocol', 'gen')
  const fresh = execFileSync('mktemp', ['-d']).toString().trim()
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'gen-proto.ts'), '--out', fresh])
  const files = readdirSync(out).filter(f => /\.(js|d\.ts)$/.test(f)).sort()
  assert.equal(readdirSync(fresh).sort(), files)
  for (const f of files) assert.is(readFileSync(join(fresh, f), 'utf8'), readFileSync(join(out, f), 'utf8'), `${f} is stale: run node scripts/gen-proto.ts`)
})

test.run()
