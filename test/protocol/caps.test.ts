import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  openCapabilityRecord, sealEnvelope, signCapabilityRecord, CAPS_DOMAIN, CAPS_PAYLOAD_TYPE, MAX_RECORD_IMAGES, MAX_RECORD_TTL_MS
} from '../../protocol/index.ts'
import { CapabilityRecord } from '../../protocol/gen/caps.js'
import type { Capabilities } from '../../protocol/index.ts'
import { ROOT, rejectsWith } from '../helpers.ts'

const caps: Capabilities = {
  clawnodeVersion: '0.1.0',
  cpuCores: 2,
  memoryBytes: 24 * 1024 ** 3,
  gpus: [{ name: 'NVIDIA H100', memoryBytes: 80 * 1024 ** 3 }],
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
