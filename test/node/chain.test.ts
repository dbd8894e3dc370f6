/**
 * The node's chain (node/chain.ts): the embedded local chain is started once per machine folder and
 * shared, its contracts deployed once, the node's settlement account funded for gas; "off" means none.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { openNodeChain } from '../../node/chain.ts'
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
