/**
 * Helpers for the chain tests: a real anvil with the contracts deployed, anvil's dev accounts as
 * consumer/provider/arbiter, time travel, and assertions on transactions and named reverts.
 */
import * as assert from 'uvu/assert'
import { BaseError, ContractFunctionRevertedError, createTestClient, http, publicActions, walletActions } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import type { Abi, ContractFunctionArgs, ContractFunctionName, HDAccount, TransactionReceipt } from 'viem'
import {
  ANVIL_DEV_PRIVATE_KEY, createChainClient, ensureDeployed, startLocalChain
} from '../../../ledger/chain/index.ts'
import type { ChainWalletClient, DeployInit, Deployment, LocalChain } from '../../../ledger/chain/index.ts'
import { tempDir } from '../../helpers.ts'

/** anvil's default dev mnemonic; its accounts are funded with ETH on every anvil chain. */
const DEV_MNEMONIC = 'test test test test test test test test test test test junk'
export const devAccount = (index: number): HDAccount => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index })

export interface TestChain {
  dir: string
  chain: LocalChain
  deployer: ChainWalletClient
  deployment: Deployment
  /** A wallet client for dev account `index` (1 and up; 0 is the deployer). */
  wallet: (index: number) => ChainWalletClient
  /** Moves the chain's clock forward and mines a block. */
  travel: (seconds: number) => Promise<void>
  /** Mines `blocks` empty blocks. */
  mine: (blocks: number) => Promise<void>
  /** The latest block's timestamp. */
  now: () => Promise<bigint>
}

export async function startTestChain (init: DeployInit = {}): Promise<TestChain> {
  const dir = await tempDir('clawnode-chain-')
  const chain = await startLocalChain({ dir })
  const wallet = (index: number): ChainWalletClient => {
    const key = devAccount(index).getHdKey().privateKey
    if (key === null) throw new Error('no key')
    return createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: `0x${Buffer.from(key).toString('hex')}` })
  }
  const deployer = createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: ANVIL_DEV_PRIVATE_KEY })
  const deployment = await ensureDeployed(dir, deployer, init)
  const test = createTestClient({ mode: 'anvil', transport: http(chain.rpcUrl) }).extend(publicActions).extend(walletActions)
  return {
    dir,
    chain,
    deployer,
    deployment,
    wallet,
    travel: async (seconds) => {
      await test.increaseTime({ seconds })
      await test.mine({ blocks: 1 })
    },
    mine: async (blocks) => { await test.mine({ blocks }) },
    now: async () => (await test.getBlock()).timestamp
  }
}

interface Call<abi extends Abi, fn extends ContractFunctionName<abi, 'nonpayable'>> {
  address: `0x${string}`
  abi: abi
  functionName: fn
  args: ContractFunctionArgs<abi, 'nonpayable', fn>
}

/** Sends a transaction (after simulating it, so a revert throws with its name) and waits for it. */
export async function send<const abi extends Abi, fn extends ContractFunctionName<abi, 'nonpayable'>> (client: ChainWalletClient, call: Call<abi, fn>): Promise<TransactionReceipt> {
  const { request } = await client.simulateContract(call as never)
  const hash = await client.writeContract(request as never)
  const receipt = await client.waitForTransactionReceipt({ hash })
  assert.is(receipt.status, 'success')
  return receipt
}

/** Asserts that the call reverts on chain with the custom error `errorName`. */
export async function reverts<const abi extends Abi, fn extends ContractFunctionName<abi, 'nonpayable'>> (client: ChainWalletClient, call: Call<abi, fn>, errorName: string): Promise<void> {
  try {
    await client.simulateContract(call as never)
  } catch (err) {
    const revert = err instanceof BaseError ? err.walk(e => e instanceof ContractFunctionRevertedError) : null
    if (!(revert instanceof ContractFunctionRevertedError)) throw err
    assert.is(revert.data?.errorName, errorName, `expected ${errorName}, got ${revert.data?.errorName ?? revert.shortMessage}`)
    return
  }
  assert.unreachable(`expected the call to revert with ${errorName}`)
}
