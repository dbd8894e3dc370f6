/**
 * The EIP-712 `Draw` receipt both parties of a lease sign to draw against an escrow deposit: the one
 * definition the node, the tests and UsageEscrow.sol (DRAW_TYPEHASH, domain) agree on.
 */
import { hashTypedData, recoverTypedDataAddress, isAddressEqual } from 'viem'
import type { Address, Hex, LocalAccount } from 'viem'
import { ESCROW_DOMAIN_NAME, ESCROW_DOMAIN_VERSION } from './constants.ts'

export const DRAW_TYPES = {
  Draw: [
    { name: 'depositId', type: 'uint256' },
    { name: 'consumer', type: 'address' },
    { name: 'provider', type: 'address' },
    { name: 'cumulative', type: 'uint256' }
  ]
} as const

/** A receipt: `cumulative` credits drawn so far from deposit `depositId` of `consumer` for `provider`. */
export interface Draw {
  depositId: bigint
  consumer: Address
  provider: Address
  cumulative: bigint
}

/** Which escrow a receipt is for: it binds the chain and the contract. */
export interface EscrowDomain {
  chainId: number
  escrow: Address
}

/** The full typed data of a receipt, as viem's signTypedData and hashTypedData take it. */
export function drawTypedData (domain: EscrowDomain, draw: Draw) {
  return {
    domain: { name: ESCROW_DOMAIN_NAME, version: ESCROW_DOMAIN_VERSION, chainId: domain.chainId, verifyingContract: domain.escrow },
    types: DRAW_TYPES,
    primaryType: 'Draw',
    message: draw
  } as const
}

/** The digest both parties sign (UsageEscrow.drawDigest gives the same). */
export function hashDraw (domain: EscrowDomain, draw: Draw): Hex {
  return hashTypedData(drawTypedData(domain, draw))
}

/** Signs a receipt with a local account (consumer first, then the provider countersigns the same data). */
export async function signDraw (account: LocalAccount, domain: EscrowDomain, draw: Draw): Promise<Hex> {
  return await account.signTypedData(drawTypedData(domain, draw))
}

/** Whether `signature` is `signer`'s signature of the receipt (EOA signatures; false when malformed). */
export async function verifyDraw (domain: EscrowDomain, draw: Draw, signer: Address, signature: Hex): Promise<boolean> {
  try {
    const recovered = await recoverTypedDataAddress({ ...drawTypedData(domain, draw), signature })
    return isAddressEqual(recovered, signer)
  } catch {
    return false
  }
}
