import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Envelope } from '../../protocol/gen/envelope.js'
import { openEnvelope, sealEnvelope, MAX_ENVELOPE_BYTES } from '../../protocol/index.ts'
import { createSignerCache, importSigner, MAX_CACHED_SIGNERS } from '../../protocol/signer-cache.ts'
import { rejectsWith } from '../helpers.ts'
import type { PrivateKey } from '@libp2p/interface'

const TYPE = new TextEncoder().encode('/test/1')
const payload = new TextEncoder().encode('hello')

/** An envelope's fields, changed by `edit` and encoded again. */
const edited = (bytes: Uint8Array, edit: (e: Envelope) => Partial<Envelope>): Uint8Array => {
  const e = Envelope.decode(bytes)
  return Envelope.encode({ ...e, ...edit(e) })
}
const flipBit = (b: Uint8Array, i: number): Uint8Array<ArrayBuffer> => { const c = Uint8Array.from(b); c[i] = (c[i] ?? 0) ^ 1; return c }

test('a sealed envelope opens with its signer and payload', async () => {
  const key = await generateKeyPair('Ed25519')
  const opened = await openEnvelope(await sealEnvelope(key, 'clawnode:test:v1', TYPE, payload), 'clawnode:test:v1', TYPE)
  assert.equal(opened.payload, payload)
  assert.ok(opened.signer.equals(peerIdFromPublicKey(key.publicKey)))
})

test('a signature for another domain does not verify (no cross-message replay)', async () => {
  const key = await generateKeyPair('Ed25519')
  await rejectsWith(openEnvelope(await sealEnvelope(key, 'clawnode:bid:v1', TYPE, payload), 'clawnode:award:v1', TYPE), 'InvalidSignatureError')
})

test('a flipped payload bit fails the signature', async () => {
  const key = await generateKeyPair('Ed25519')
  const bytes = await sealEnvelope(key, 'd', TYPE, payload)
  const i = Buffer.from(bytes).indexOf(Buffer.from('hello'))
  bytes[i] = (bytes[i] ?? 0) ^ 1
  await rejectsWith(openEnvelope(bytes, 'd', TYPE), 'InvalidSignatureError')
})

test('garbage, the wrong payload type and oversized input are named errors', async () => {
  const key = await generateKeyPair('Ed25519')
  await rejectsWith(openEnvelope(Uint8Array.from([0xff, 0xff, 0xff]), 'd', TYPE), 'MalformedMessageError')
  await rejectsWith(openEnvelope(await sealEnvelope(key, 'd', new TextEncoder().encode('/other/1'), payload), 'd', TYPE), 'MalformedMessageError')
  await rejectsWith(openEnvelope(new Uint8Array(MAX_ENVELOPE_BYTES + 1), 'd', TYPE), 'MessageTooLargeError')
})

test('envelopes from more signers than the cache holds all open with the right signer, evicted ones again too', async () => {
  const keys: PrivateKey[] = []
  for (let i = 0; i < MAX_CACHED_SIGNERS + 64; i++) keys.push(await generateKeyPair('Ed25519'))
  const open = async (key: PrivateKey, i: number): Promise<void> => {
    const body = new TextEncoder().encode(`message ${i}`)
    const opened = await openEnvelope(await sealEnvelope(key, 'd', TYPE, body), 'd', TYPE)
    assert.equal(opened.payload, body)
    assert.ok(opened.signer.equals(peerIdFromPublicKey(key.publicKey)))
    assert.ok(opened.publicKey.equals(key.publicKey))
  }
  for (const [i, key] of keys.entries()) await open(key, i)
  // The first signers were evicted by the last: they are imported again, and still checked.
  for (const [i, key] of keys.slice(0, 64).entries()) {
    await open(key, i)
    await rejectsWith(openEnvelope(edited(await sealEnvelope(key, 'd', TYPE, payload), e => ({ signature: flipBit(e.signature, 5) })), 'd', TYPE), 'InvalidSignatureError')
  }
})

test('a remembered Ed25519 signer rejects a flipped signature bit and a flipped payload bit', async () => {
  const key = await generateKeyPair('Ed25519')
  const bytes = await sealEnvelope(key, 'd', TYPE, payload)
  await openEnvelope(bytes, 'd', TYPE)
  await rejectsWith(openEnvelope(edited(bytes, e => ({ signature: flipBit(e.signature, 17) })), 'd', TYPE), 'InvalidSignatureError')
  await rejectsWith(openEnvelope(edited(bytes, e => ({ payload: flipBit(e.payload, 2) })), 'd', TYPE), 'InvalidSignatureError')
  await openEnvelope(bytes, 'd', TYPE)
})

test('a remembered key cannot make a forged envelope pass: same public key, another key\'s or a malformed signature', async () => {
  const key = await generateKeyPair('Ed25519')
  const forger = await generateKeyPair('Ed25519')
  const bytes = await sealEnvelope(key, 'd', TYPE, payload)
  await openEnvelope(bytes, 'd', TYPE)
  const forged = edited(await sealEnvelope(forger, 'd', TYPE, payload), () => ({ publicKey: Uint8Array.from(publicKeyToProtobuf(key.publicKey)) }))
  await rejectsWith(openEnvelope(forged, 'd', TYPE), 'InvalidSignatureError')
  const good = Envelope.decode(bytes).signature
  const malformed: Array<Uint8Array<ArrayBuffer>> = [new Uint8Array(), new Uint8Array(64), good.slice(0, 63), Uint8Array.from([...good, 0])]
  for (const signature of malformed) {
    await rejectsWith(openEnvelope(edited(bytes, () => ({ signature })), 'd', TYPE), 'InvalidSignatureError')
  }
})

test('a secp256k1 key is checked through libp2p: it opens with its signer and a bad or malformed signature is InvalidSignatureError', async () => {
  const key = await generateKeyPair('secp256k1')
  const bytes = await sealEnvelope(key, 'd', TYPE, payload)
  for (let i = 0; i < 2; i++) {
    const opened = await openEnvelope(bytes, 'd', TYPE)
    assert.ok(opened.signer.equals(peerIdFromPublicKey(key.publicKey)))
    assert.equal(opened.payload, payload)
  }
  await rejectsWith(openEnvelope(edited(bytes, e => ({ payload: flipBit(e.payload, 0) })), 'd', TYPE), 'InvalidSignatureError')
  await rejectsWith(openEnvelope(edited(bytes, e => ({ signature: flipBit(e.signature, e.signature.byteLength - 1) })), 'd', TYPE), 'InvalidSignatureError')
  await rejectsWith(openEnvelope(edited(bytes, () => ({ signature: Uint8Array.from([0x30, 0x01]) })), 'd', TYPE), 'InvalidSignatureError')
})

test('malformed keys are MalformedMessageError, a 32-byte non-point Ed25519 key is InvalidSignatureError', async () => {
  const key = await generateKeyPair('Ed25519')
  const bytes = await sealEnvelope(key, 'd', TYPE, payload)
  const ed25519Key = (raw: Uint8Array): Uint8Array<ArrayBuffer> => Uint8Array.from([0x08, 0x01, 0x12, raw.byteLength, ...raw])
  await rejectsWith(openEnvelope(edited(bytes, () => ({ publicKey: ed25519Key(new Uint8Array(31)) })), 'd', TYPE), 'MalformedMessageError')
  await rejectsWith(openEnvelope(edited(bytes, () => ({ publicKey: new Uint8Array() })), 'd', TYPE), 'MalformedMessageError')
  await rejectsWith(openEnvelope(edited(bytes, () => ({ publicKey: Uint8Array.from([0x08, 0x09, 0x12, 0x00]) })), 'd', TYPE), 'MalformedMessageError')
  // ECDSA keys parse, but a PeerId cannot be made of one.
  await rejectsWith(openEnvelope(await sealEnvelope(await generateKeyPair('ECDSA'), 'd', TYPE, payload), 'd', TYPE), 'MalformedMessageError')
  await rejectsWith(openEnvelope(edited(bytes, () => ({ publicKey: ed25519Key(new Uint8Array(32).fill(0xff)) })), 'd', TYPE), 'InvalidSignatureError')
})

test('a signer cache keeps at most its bound, dropping the least recently used first', async () => {
  const cache = createSignerCache(2)
  const keys = await Promise.all([1, 2, 3].map(async () => await generateKeyPair('Ed25519')))
  const [a, b, c] = keys.map(k => Uint8Array.from(publicKeyToProtobuf(k.publicKey))) as [Uint8Array, Uint8Array, Uint8Array]
  cache.remember(a, importSigner(a))
  cache.remember(b, importSigner(b))
  assert.ok(cache.get(a) !== undefined) // a is now the most recently used
  cache.remember(c, importSigner(c))
  assert.is(cache.size, 2)
  assert.ok(cache.get(a) !== undefined)
  assert.ok(cache.get(b) === undefined)
  assert.ok(cache.get(c)?.peerId.equals(peerIdFromPublicKey(keys[2]!.publicKey)))
})

test('a remembered signer is a copy: reusing the buffer an envelope came in does not change it', async () => {
  const key = await generateKeyPair('secp256k1')
  const bytes = await sealEnvelope(key, 'd', TYPE, payload)
  const keyBytes = Envelope.decode(bytes).publicKey
  const signer = importSigner(keyBytes)
  keyBytes.fill(0)
  assert.ok(signer.publicKey.equals(key.publicKey))
})

test.run()
