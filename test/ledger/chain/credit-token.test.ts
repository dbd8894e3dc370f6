/**
 * CreditToken (3 decimals: a unit is a millicredit, a capped faucet only where enabled) and the shared EIP-712 Draw definition:
 * the digest the node signs is the one UsageEscrow checks, and verifyDraw accepts only the signer.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { creditTokenAbi, deployContracts, DEFAULT_FAUCET_CAP, hashDraw, signDraw, usageEscrowAbi, verifyDraw } from '../../../ledger/chain/index.ts'
import { bounded, setup } from '../../helpers.ts'
import { devAccount, reverts, send, startTestChain } from './chain-helpers.ts'
import type { TestChain } from './chain-helpers.ts'

let t: TestChain
test.before(setup(async () => { t = await startTestChain() }))
test.after(async () => { await t?.chain.stop() })

test('credits have 3 decimals (a unit is a millicredit) and the faucet mints up to its cap per call', bounded(20_000, async () => {
  const token = t.deployment.creditToken
  const who = t.wallet(1)
  assert.is(await t.deployer.readContract({ address: token, abi: creditTokenAbi, functionName: 'decimals' }), 3)
  await send(who, { address: token, abi: creditTokenAbi, functionName: 'faucet', args: [who.account.address, DEFAULT_FAUCET_CAP] })
  assert.is(await t.deployer.readContract({ address: token, abi: creditTokenAbi, functionName: 'balanceOf', args: [who.account.address] }), DEFAULT_FAUCET_CAP)
  await reverts(who, { address: token, abi: creditTokenAbi, functionName: 'faucet', args: [who.account.address, DEFAULT_FAUCET_CAP + 1n] }, 'FaucetCapExceeded')
}))

test('a deployment without faucet refuses to mint and holds its supply at the deployer', bounded(20_000, async () => {
  const d = await deployContracts(t.deployer, { faucetEnabled: false, initialSupply: 1_000n })
  await reverts(t.wallet(1), { address: d.creditToken, abi: creditTokenAbi, functionName: 'faucet', args: [t.wallet(1).account.address, 1n] }, 'FaucetDisabled')
  assert.is(await t.deployer.readContract({ address: d.creditToken, abi: creditTokenAbi, functionName: 'balanceOf', args: [d.deployer] }), 1_000n)
}))

test('the Draw digest matches UsageEscrow.drawDigest and verifyDraw accepts only the signer of that draw', bounded(20_000, async () => {
  const domain = { chainId: t.deployment.chainId, escrow: t.deployment.usageEscrow }
  const consumer = devAccount(1)
  const draw = { depositId: 7n, consumer: consumer.address, provider: devAccount(2).address, cumulative: 123n }
  const onChain = await t.deployer.readContract({
    address: t.deployment.usageEscrow, abi: usageEscrowAbi, functionName: 'drawDigest', args: [draw.depositId, draw.consumer, draw.provider, draw.cumulative]
  })
  assert.is(hashDraw(domain, draw), onChain)
  const sig = await signDraw(consumer, domain, draw)
  assert.ok(await verifyDraw(domain, draw, consumer.address, sig))
  assert.not.ok(await verifyDraw(domain, draw, devAccount(2).address, sig))
  assert.not.ok(await verifyDraw(domain, { ...draw, depositId: 8n }, consumer.address, sig))
  assert.not.ok(await verifyDraw(domain, { ...draw, cumulative: 124n }, consumer.address, sig))
  assert.not.ok(await verifyDraw({ ...domain, chainId: 1 }, draw, consumer.address, sig))
  assert.not.ok(await verifyDraw(domain, draw, consumer.address, '0x1234'))
}))

test.run()
