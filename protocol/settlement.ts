/**
 * Settlement identities: a node settles on an EVM chain with a secp256k1 account of its own, which
 * the EVM can check, while peers know it by its Ed25519 peer id, which the EVM cannot. The peer key
 * signs the account's address (an envelope under its own domain) so that whoever holds a capability
 * record knows which address the peer settles with. Pure apart from signing.
 */
import { MAX_ENVELOPE_BYTES, SETTLEMENT_ADDRESS_BYTES, SETTLEMENT_DOMAIN, SETTLEMENT_PAYLOAD_TYPE } from './constants.ts'
import { openEnvelope, sealEnvelope } from './envelope.ts'
import { MalformedMessageError, PeerMismatchError } from './errors.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** `0x` + 40 hex digits, any case. */
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

export function addressBytes (address: string): Uint8Array {
  if (!ADDRESS.test(address)) throw new MalformedMessageError('settlement address', `is not a 20-byte hex address: ${JSON.stringify(address.slice(0, 60))}`)
  return Uint8Array.from(Buffer.from(address.slice(2), 'hex'))
}

/** The binding of `address` to the peer that owns `key`. */
export async function signSettlementBinding (key: PrivateKey, address: string): Promise<Uint8Array> {
  return await sealEnvelope(key, SETTLEMENT_DOMAIN, SETTLEMENT_PAYLOAD_TYPE, addressBytes(address))
}

/** Opens a binding: signed by `peer` (when given), over a 20-byte address; the address as lowercase 0x-hex. */
export async function openSettlementBinding (bytes: Uint8Array, options: { peer?: PeerId } = {}): Promise<{ address: string, signer: PeerId }> {
  const { signer, payload } = await openEnvelope(bytes, SETTLEMENT_DOMAIN, SETTLEMENT_PAYLOAD_TYPE, MAX_ENVELOPE_BYTES)
  if (options.peer !== undefined && !signer.equals(options.peer)) throw new PeerMismatchError('settlement binding', options.peer.toString(), signer.toString())
  if (payload.byteLength !== SETTLEMENT_ADDRESS_BYTES) throw new MalformedMessageError('settlement binding', `holds ${payload.byteLength} bytes, not a 20-byte address`)
  return { address: `0x${Buffer.from(payload).toString('hex')}`, signer }
}
