/**
 * The node's chain (node/chain.ts): the embedded local chain is started once per machine folder and
 * shared, its contracts deployed once, the node's settlement account funded for gas; "off" means none.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { openNodeChain } from '../../node/chain.ts'
import { faucet, probeChainId, readChainFile, refundDeposit, tokenBalance } from '../../ledger/index.ts'
import { bounded, tempDir } from '../helpers.ts'

test('two nodes share one local chain and one deployment; each account has gas', bounded(60_000, async () => {
  const localDir = await tempDir('clawnode-chain-')
  const a = await openNodeChain(await tempDir(), { localDir })
  try {
    const b = await openNodeChain(await tempDir(), { localDir })
    assert.ok(a !== undefined && b !== undefined)
    assert.is(b.rpcUrl, a.rpcUrl)
    assert.equal(b.deployment, a.deployment)
    assert.is.not(b.account.address, a.account.address)
    assert.ok(await b.client.getBalance({ address: b.account.address }) > 0n)
    assert.ok(((await a.client.getCode({ address: a.deployment.usageEscrow })) ?? '0x').length > 2)
    assert.ok(a.local && a.deployment.faucetEnabled)
    await b.close()
    // b did not start the chain: closing it leaves the chain up for a.
    assert.ok(await a.client.getBlockNumber() >= 0n)
  } finally {
    await a?.close()
  }
}))

test('a configured chain (mode rpc) is used with the same code: contracts and escrow parameters from config and the chain', bounded(60_000, async () => {
  const localDir = await tempDir('clawnode-chain-')
  const local = await openNodeChain(await tempDir(), { localDir, feeBps: 25, disputeWindowS: 900 })
  assert.ok(local !== undefined)
  try {
    const { creditToken, usageAnchor, usageEscrow } = local.deployment
    const remote = await openNodeChain(await tempDir(), { mode: 'rpc', rpcUrl: local.rpcUrl, chainId: local.deployment.chainId, contracts: { creditToken, usageAnchor, usageEscrow }, confirmations: 1 })
    assert.ok(remote !== undefined)
    assert.is(remote.local, false)
    assert.is(remote.deployment.feeBps, 25)
    assert.is(remote.deployment.disputeWindowS, 900)
    assert.is(remote.deployment.arbiter, local.deployment.arbiter)
    assert.is(remote.deployment.faucetEnabled, true)
    assert.is(remote.confirmations, 1)
    // Wrong chain id or contracts that are not ours: a clear configuration error.
    for (const config of [
      { mode: 'rpc' as const, rpcUrl: local.rpcUrl, chainId: 1, contracts: { creditToken, usageAnchor, usageEscrow } },
      { mode: 'rpc' as const, rpcUrl: local.rpcUrl, chainId: local.deployment.chainId, contracts: { creditToken, usageAnchor, usageEscrow: creditToken } }
    ]) {
      try {
        await openNodeChain(await tempDir(), config)
        assert.unreachable('opened')
      } catch (err) {
        assert.is((err as Error).name, 'ChainConfigError')
      }
    }
  } finally {
    await local.close()
  }
}))

test('when the node that started the local chain stops, another node follows it to its next start, state kept; the last one out stops it', bounded(90_000, async () => {
  const localDir = await tempDir('clawnode-chain-')
  const a = await openNodeChain(await tempDir(), { localDir })
  const b = await openNodeChain(await tempDir(), { localDir })
  assert.ok(a !== undefined && b !== undefined)
  try {
    await faucet(b.client, b.deployment, 5_000n)
    const before = b.rpcUrl
    // a started anvil: stopping a stops the chain (its state is saved as it exits).
    await a.close()
    assert.is(await probeChainId(before), undefined)
    // b's next request starts it again from the state file and goes there.
    assert.is(await tokenBalance(b.client, b.deployment, b.account.address), 5_000n)
    assert.is.not(b.rpcUrl, before)
    assert.is(await probeChainId(b.rpcUrl), b.deployment.chainId)
    // A contract's refusal still comes back as the named revert through the followed chain.
    try {
      await refundDeposit(b.client, b.deployment, 999n)
      assert.unreachable('refunded a deposit that does not exist')
    } catch (err) {
      assert.match((err as Error).name, /EscrowRevertError|DepositNotFoundError/)
    }
  } finally {
    await b.close()
  }
  // b became the chain's owner when it started it again: nothing is left running.
  assert.is(await readChainFile(localDir), undefined)
}))

test('chain mode off gives no chain', async () => {
  assert.is(await openNodeChain(await tempDir(), { mode: 'off' }), undefined)
})

test('a configured remote chain that does not answer is a clear error', bounded(20_000, async () => {
  const contracts = { creditToken: `0x${'1'.repeat(40)}`, usageAnchor: `0x${'2'.repeat(40)}`, usageEscrow: `0x${'3'.repeat(40)}` } as const
  try {
    await openNodeChain(await tempDir(), { mode: 'rpc', rpcUrl: 'http://127.0.0.1:1', chainId: 31337, contracts })
    assert.unreachable('opened')
  } catch (err) {
    assert.is((err as Error).name, 'ChainUnavailableError')
  }
}))

test.run()
