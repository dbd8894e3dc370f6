/**
 * Recent signers, keyed by the protobuf public key an envelope carries: the parsed key, its PeerId and,
 * for Ed25519, a node:crypto key object imported once. libp2p's Ed25519 `verify` imports the raw key
 * into OpenSSL again on every call, which costs about half as much as the check itself (issue 5), so
 * Ed25519 signatures are checked here with node:crypto, on the libuv thread pool; other key types
 * (secp256k1, RSA, ECDSA) fall back to libp2p's `verify`.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { PeerId, PublicKey } from '@libp2p/interface'
import type { KeyObject } from 'node:crypto'
import { MAX_CACHED_SIGNERS } from './constants.ts'


/** DER SubjectPublicKeyInfo of an Ed25519 key: this prefix, then the 32 raw key bytes (RFC 8410 §4). */
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])
const ED25519_SIGNATURE_BYTES = 64

/**
 * node:crypto's callback form runs the check on the libuv thread pool rather than the event loop, so on
 * a 2-core host decoding and the ledger's commits go on while another core checks signatures: about
 * 1.4 times the durable appends per second of checking inline (scripts/bench-ledger.ts), at the cost
 * of a thread hop (tens of µs) for a lone message.
 */
async function verifyOnThreadPool (data: Uint8Array, key: KeyObject, signature: Uint8Array): Promise<boolean> {
  return await new Promise((resolve, reject) => {
    cryptoVerify(null, data, key, signature, (err, valid) => { if (err === null) resolve(valid); else reject(err) })
  })
}

export interface Signer {
  readonly publicKey: PublicKey
  readonly peerId: PeerId
  /** Whether `signature` is this signer's over `data`. May throw for a malformed signature (libp2p's secp256k1 does). */
  verify: (data: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>
}

export interface SignerCache {
  /** The remembered signer for these protobuf key bytes, if any (it becomes the most recently used). */
  get: (keyBytes: Uint8Array) => Signer | undefined
  /** Remembers a signer, dropping the least recently used one past the bound. */
  remember: (keyBytes: Uint8Array, signer: Signer) => void
  readonly size: number
}

/**
 * Parses protobuf public key bytes into a signer. Throws for a malformed or unsupported key (ECDSA
 * keys parse but have no PeerId); the caller names the error.
 */
export function importSigner (keyBytes: Uint8Array): Signer {
  // A copy: decoded envelopes are views of the caller's buffer, which may be reused after a signer is remembered.
  const publicKey = publicKeyFromProtobuf(Uint8Array.from(keyBytes))
  const peerId = peerIdFromPublicKey(publicKey)
  if (publicKey.type !== 'Ed25519') {
    return { publicKey, peerId, verify: (data, signature) => publicKey.verify(data, signature) }
  }
  const spki = new Uint8Array(ED25519_SPKI_PREFIX.byteLength + publicKey.raw.byteLength)
  spki.set(ED25519_SPKI_PREFIX)
  spki.set(publicKey.raw, ED25519_SPKI_PREFIX.byteLength)
  const keyObject = createPublicKey({ key: Buffer.from(spki.buffer), format: 'der', type: 'spki' })
  return {
    publicKey,
    peerId,
    verify: async (data, signature) => signature.byteLength === ED25519_SIGNATURE_BYTES && await verifyOnThreadPool(data, keyObject, signature)
  }
}

export { MAX_CACHED_SIGNERS }

export function createSignerCache (maxEntries = MAX_CACHED_SIGNERS): SignerCache {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const signers = new Map<string, Signer>()
  const keyOf = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
  return {
    get (keyBytes) {
      const key = keyOf(keyBytes)
      const signer = signers.get(key)
      if (signer !== undefined) { signers.delete(key); signers.set(key, signer) }
      return signer
    },
    remember (keyBytes, signer) {
      const key = keyOf(keyBytes)
      signers.delete(key)
      signers.set(key, signer)
      while (signers.size > maxEntries) signers.delete(signers.keys().next().value as string)
    },
    get size () { return signers.size }
  }
}
