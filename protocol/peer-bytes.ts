/** Peer ids as they travel inside messages: the multihash bytes, decoded with a named error. */
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { MalformedMessageError } from './errors.ts'
import type { PeerId } from '@libp2p/interface'

export function peerIdToBytes (peer: PeerId): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(peer.toMultihash().bytes)
}

export function peerIdFromBytes (bytes: Uint8Array, what: string): PeerId {
  try {
    return peerIdFromMultihash(Digest.decode(bytes))
  } catch (err) {
    throw new MalformedMessageError(what, 'has an invalid peer id', { cause: err })
  }
}
