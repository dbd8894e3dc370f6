/**
 * viem clients for the ledger's chain: one definition of a local chain, and a wallet client with public
 * actions that signs locally with a private key (the node's own key, or anvil's dev key locally).
 */
import { createPublicClient, createWalletClient, defineChain, http, publicActions } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Account, Chain, Client, Hex, LocalAccount, PublicClient, Transport, WalletClient, PublicActions } from 'viem'
import { DEFAULT_LOCAL_CHAIN_ID } from './constants.ts'

/** How often viem polls the local chain (blocks are mined at once, so a short interval costs little). */
const LOCAL_POLLING_INTERVAL_MS = 100

/** Any viem client that can send transactions from an account on a known chain. */
export type ChainClient = Client<Transport, Chain, Account>

/** A wallet client with public actions, as `createChainClient` returns. */
export type ChainWalletClient = WalletClient<Transport, Chain, Account> & PublicActions<Transport, Chain, Account>

export interface ChainClientInit {
  rpcUrl: string
  /** DEFAULT_LOCAL_CHAIN_ID */
  chainId?: number
  /** The account that signs and pays gas: a private key, or an account made already (e.g. with a nonce manager). */
  privateKey?: Hex
  account?: LocalAccount
  /** How requests travel; `http(rpcUrl)` by default. */
  transport?: Transport
}

/** A viem chain for an RPC URL: the local chain, or any EVM chain given by id. */
export function chainFor (rpcUrl: string, chainId = DEFAULT_LOCAL_CHAIN_ID): Chain {
  return defineChain({
    id: chainId,
    name: chainId === DEFAULT_LOCAL_CHAIN_ID ? 'clawnode local' : `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } }
  })
}

/** A client that signs with `privateKey` and reads the chain at `rpcUrl`. */
export function createChainClient (init: ChainClientInit): ChainWalletClient {
  const chain = chainFor(init.rpcUrl, init.chainId)
  const account = init.account ?? (init.privateKey === undefined ? undefined : privateKeyToAccount(init.privateKey))
  if (account === undefined) throw new TypeError('createChainClient needs a privateKey or an account')
  return createWalletClient({
    account,
    chain,
    transport: init.transport ?? http(init.rpcUrl),
    pollingInterval: LOCAL_POLLING_INTERVAL_MS
  }).extend(publicActions)
}

/** A read-only client for the chain at `rpcUrl`. */
export function createReadClient (rpcUrl: string, chainId = DEFAULT_LOCAL_CHAIN_ID): PublicClient<Transport, Chain> {
  return createPublicClient({ chain: chainFor(rpcUrl, chainId), transport: http(rpcUrl), pollingInterval: LOCAL_POLLING_INTERVAL_MS })
}
