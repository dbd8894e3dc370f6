/**
 * Signed envelopes, after libp2p's signed record envelope (RFC 0002): the signature covers a domain
 * string known to both sides (one per message type, never sent), the payload type and the payload
 * bytes exactly as sent, so nothing is ever re-serialised to check a signature, and a signature made
 * for one message type can never pass as another. The envelope is verified before its payload is
 * decoded any further. Signers' keys are parsed once and kept (signer-cache.ts).
 */
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { bytesEqual } from './bytes.ts'
import { MAX_ENVELOPE_BYTES } from './constants.ts'
import { InvalidSignatureError, MalformedMessageError, MessageTooLargeError } from './errors.ts'
import { Envelope } from './gen/envelope.js'
import { createSignerCache, importSigner } from './signer-cache.ts'
import type { Signer } from './signer-cache.ts'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'

export interface OpenedEnvelope {
  publicKey: PublicKey
  signer: PeerId
  payload: Uint8Array
}

/**
 * One cache for the process: it only memoises what a key's bytes determine (no trust, nothing secret),
 * and every message opener shares it, so a peer's key is imported once whatever it signs. A signer is
 * remembered only after one of its signatures has verified.
 */
const signers = createSignerCache()

function uvarint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return Uint8Array.from(out)
}

/** The bytes a signature covers: varint-length-prefixed domain, payload type and payload. */
export function signedBytes (domain: string, payloadType: Uint8Array, payload: Uint8Array): Uint8Array {
  const d = new TextEncoder().encode(domain)
  const parts = [uvarint(d.byteLength), d, uvarint(payloadType.byteLength), payloadType, uvarint(payload.byteLength), payload]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const p of parts) { out.set(p, offset); offset += p.byteLength }
  return out
}

export async function sealEnvelope (key: PrivateKey, domain: string, payloadType: Uint8Array, payload: Uint8Array): Promise<Uint8Array> {
  const signature = await key.sign(signedBytes(domain, payloadType, payload))
  return Envelope.encode({ publicKey: Uint8Array.from(publicKeyToProtobuf(key.publicKey)), payloadType: Uint8Array.from(payloadType), payload: Uint8Array.from(payload), signature: Uint8Array.from(signature) })
}

/** Decodes and verifies an envelope for the expected domain and payload type; throws a named error otherwise. */
export async function openEnvelope (bytes: Uint8Array, domain: string, payloadType: Uint8Array, maxBytes = MAX_ENVELOPE_BYTES): Promise<OpenedEnvelope> {
  if (bytes.byteLength > maxBytes) throw new MessageTooLargeError('envelope', bytes.byteLength, maxBytes)
  let envelope: Envelope
  let signer: Signer
  let cached: Signer | undefined
  try {
    envelope = Envelope.decode(bytes)
    cached = signers.get(envelope.publicKey)
    signer = cached ?? importSigner(envelope.publicKey)
  } catch (err) {
    throw new MalformedMessageError('envelope', (err as Error).message, { cause: err })
  }
  if (!bytesEqual(envelope.payloadType, payloadType)) throw new MalformedMessageError('envelope', 'has an unexpected payload type')
  let valid: boolean
  try {
    valid = await signer.verify(signedBytes(domain, envelope.payloadType, envelope.payload), envelope.signature)
  } catch {
    // libp2p's secp256k1 and RSA verify throw on a signature they cannot parse: that is a bad signature too.
    valid = false
  }
  if (!valid) throw new InvalidSignatureError(domain)
  if (cached === undefined) signers.remember(envelope.publicKey, signer)
  return { publicKey: signer.publicKey, signer: signer.peerId, payload: envelope.payload }
}

/** The signature inside an envelope, without checking it (for records that keep it apart, e.g. the ledger's). */
export function envelopeSignature (bytes: Uint8Array): Uint8Array {
  try {
    return Envelope.decode(bytes).signature
  } catch (err) {
    throw new MalformedMessageError('envelope', (err as Error).message, { cause: err })
  }
}
