import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { openEnvelope, sealEnvelope, MAX_ENVELOPE_BYTES } from '../../protocol/index.ts'
import { rejectsWith } from '../helpers.ts'

const TYPE = new TextEncoder().encode('/test/1')
const payload = new TextEncoder().encode('hello')


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

test.run()
