/**
 * UsageEscrow on a real anvil: a deposit opened, claimed with a co-signed Draw receipt, finalized after
 * the dispute window and refunded after expiry; disputes settled by the arbiter only; replayed, older,
 * forged and misdirected receipts refused on chain; claims capped by what the consumer signed and by
 * the deposit; the fee split.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Address, Hex } from 'viem'
import { creditTokenAbi, deployContracts, signDraw, usageEscrowAbi } from '../../../ledger/chain/index.ts'
import type { ChainWalletClient, Deployment, EscrowDomain } from '../../../ledger/chain/index.ts'
import { bounded, setup } from '../../helpers.ts'
import { devAccount, reverts, send, startTestChain } from './chain-helpers.ts'
import type { TestChain } from './chain-helpers.ts'

const WINDOW = 600
let t: TestChain
let consumer: ChainWalletClient
let provider: ChainWalletClient
let stranger: ChainWalletClient

test.before(setup(async () => {
  t = await startTestChain({ disputeWindowS: WINDOW })
  consumer = t.wallet(1)
  provider = t.wallet(2)
  stranger = t.wallet(3)
  await send(consumer, { address: t.deployment.creditToken, abi: creditTokenAbi, functionName: 'faucet', args: [consumer.account.address, 100_000n] })
}))
test.after(async () => { await t?.chain.stop() })

const domainOf = (d: Deployment): EscrowDomain => ({ chainId: d.chainId, escrow: d.usageEscrow })
const balance = async (who: Address, d = t.deployment): Promise<bigint> =>
  await t.deployer.readContract({ address: d.creditToken, abi: creditTokenAbi, functionName: 'balanceOf', args: [who] })
const deposit = async (id: bigint, d = t.deployment) =>
  await t.deployer.readContract({ address: d.usageEscrow, abi: usageEscrowAbi, functionName: 'getDeposit', args: [id] })

/** Approves and opens a deposit of `amount` for `provider`, expiring `ttl` seconds from now. */
async function open (amount: bigint, ttl = 3600, d = t.deployment): Promise<bigint> {
  await send(consumer, { address: d.creditToken, abi: creditTokenAbi, functionName: 'approve', args: [d.usageEscrow, amount] })
  const expiry = await t.now() + BigInt(ttl)
  const { result } = await consumer.simulateContract({ address: d.usageEscrow, abi: usageEscrowAbi, functionName: 'open', args: [provider.account.address, amount, expiry] })
  await send(consumer, { address: d.usageEscrow, abi: usageEscrowAbi, functionName: 'open', args: [provider.account.address, amount, expiry] })
  return result
}

/** A receipt for `cumulative` signed by the consumer and countersigned by the provider. */
async function receipt (depositId: bigint, cumulative: bigint, d = t.deployment, signers = { consumer: devAccount(1), provider: devAccount(2) }): Promise<{ consumerSig: Hex, providerSig: Hex }> {
  const draw = { depositId, consumer: consumer.account.address, provider: provider.account.address, cumulative }
  return { consumerSig: await signDraw(signers.consumer, domainOf(d), draw), providerSig: await signDraw(signers.provider, domainOf(d), draw) }
}

const claimCall = (id: bigint, cumulative: bigint, sigs: { consumerSig: Hex, providerSig: Hex }, d = t.deployment) =>
  ({ address: d.usageEscrow, abi: usageEscrowAbi, functionName: 'claim', args: [id, cumulative, sigs.consumerSig, sigs.providerSig] }) as const
const escrowCall = <const F extends 'finalize' | 'dispute' | 'refund'>(functionName: F, id: bigint, d = t.deployment) =>
  ({ address: d.usageEscrow, abi: usageEscrowAbi, functionName, args: [id] }) as const

test('open, claim the cumulative amount, finalize after the window, refund the rest after expiry', bounded(20_000, async () => {
  const id = await open(100n)
  const providerBefore = await balance(provider.account.address)
  const consumerBefore = await balance(consumer.account.address)
  await send(provider, claimCall(id, 30n, await receipt(id, 30n)))
  await reverts(provider, escrowCall('finalize', id), 'DisputeWindowOpen')
  await reverts(consumer, escrowCall('refund', id), 'NotExpired')
  await t.travel(WINDOW)
  await send(stranger, escrowCall('finalize', id)) // anyone may finalize
  assert.is(await balance(provider.account.address), providerBefore + 30n)
  await reverts(provider, escrowCall('finalize', id), 'NoPendingClaim')
  await t.travel(3600)
  await reverts(stranger, escrowCall('refund', id), 'NotConsumer')
  await send(consumer, escrowCall('refund', id))
  assert.is(await balance(consumer.account.address), consumerBefore + 70n)
  assert.is((await deposit(id)).status, 3) // Closed
  await reverts(provider, claimCall(id, 40n, await receipt(id, 40n)), 'DepositClosed')
}))

test('a replayed or older receipt cannot raise the claim; a newer one replaces it and pays the difference', bounded(20_000, async () => {
  const id = await open(100n)
  const before = await balance(provider.account.address)
  const r30 = await receipt(id, 30n)
  await send(provider, claimCall(id, 30n, r30))
  await reverts(provider, claimCall(id, 30n, r30), 'ClaimNotAboveCurrent')
  await reverts(provider, claimCall(id, 20n, await receipt(id, 20n)), 'ClaimNotAboveCurrent')
  await send(provider, claimCall(id, 50n, await receipt(id, 50n))) // replaces the pending 30
  await t.travel(WINDOW)
  await send(provider, escrowCall('finalize', id))
  assert.is(await balance(provider.account.address), before + 50n)
  await reverts(provider, claimCall(id, 30n, r30), 'ClaimNotAboveCurrent')
  await send(provider, claimCall(id, 80n, await receipt(id, 80n)))
  await t.travel(WINDOW)
  await send(provider, escrowCall('finalize', id))
  assert.is(await balance(provider.account.address), before + 80n)
}))

test('forged receipts, receipts for another deposit or escrow, and amounts beyond the signature or the deposit are refused', bounded(20_000, async () => {
  const a = await open(100n)
  const b = await open(100n)
  const rogue = { consumer: devAccount(3), provider: devAccount(2) }
  await reverts(provider, claimCall(a, 30n, await receipt(a, 30n, t.deployment, rogue)), 'InvalidConsumerSignature')
  await reverts(provider, claimCall(a, 30n, await receipt(a, 30n, t.deployment, { consumer: devAccount(1), provider: devAccount(3) })), 'InvalidProviderSignature')
  // Signed for deposit a, submitted for b (same consumer and provider): the signature binds the id.
  await reverts(provider, claimCall(b, 30n, await receipt(a, 30n)), 'InvalidConsumerSignature')
  // Signed for another escrow contract.
  const elsewhere = { ...t.deployment, usageEscrow: t.deployment.usageAnchor }
  await reverts(provider, claimCall(a, 30n, await receipt(a, 30n, elsewhere)), 'InvalidConsumerSignature')
  // The consumer signed 30; the provider's own countersignature of 40 does not make 40 claimable.
  const signed30 = await receipt(a, 30n)
  const own40 = await receipt(a, 40n)
  await reverts(provider, claimCall(a, 40n, { consumerSig: signed30.consumerSig, providerSig: own40.providerSig }), 'InvalidConsumerSignature')
  // Both signed more than the deposit holds.
  await reverts(provider, claimCall(a, 101n, await receipt(a, 101n)), 'ClaimExceedsDeposit')
  await reverts(provider, claimCall(999n, 1n, await receipt(999n, 1n)), 'UnknownDeposit')
  await send(provider, claimCall(a, 30n, signed30))
}))

test('a dispute blocks finalize until the arbiter resolves; the arbiter pays what it allows', bounded(20_000, async () => {
  const id = await open(100n, 3 * WINDOW)
  const providerBefore = await balance(provider.account.address)
  const consumerBefore = await balance(consumer.account.address)
  await send(provider, claimCall(id, 80n, await receipt(id, 80n)))
  await reverts(stranger, escrowCall('dispute', id), 'NotConsumer')
  await send(consumer, escrowCall('dispute', id))
  await t.travel(WINDOW)
  await reverts(provider, escrowCall('finalize', id), 'ClaimDisputed')
  await reverts(provider, claimCall(id, 90n, await receipt(id, 90n)), 'ClaimDisputed')
  const resolve = (allowed: bigint) => ({ address: t.deployment.usageEscrow, abi: usageEscrowAbi, functionName: 'resolve', args: [id, allowed] }) as const
  await reverts(provider, resolve(50n), 'NotArbiter')
  await reverts(t.deployer, resolve(81n), 'AllowedOutOfRange')
  await send(t.deployer, resolve(50n))
  assert.is(await balance(provider.account.address), providerBefore + 50n)
  // The disputed receipt is used up: it cannot be claimed again, and the 30 not allowed go back.
  await reverts(provider, claimCall(id, 80n, await receipt(id, 80n)), 'ClaimNotAboveCurrent')
  await t.travel(3 * WINDOW)
  await send(consumer, escrowCall('refund', id))
  assert.is(await balance(consumer.account.address), consumerBefore + 50n)
}))

test('a dispute after the window is refused, and refund waits for an outstanding claim', bounded(20_000, async () => {
  const id = await open(100n, WINDOW / 2)
  await send(provider, claimCall(id, 10n, await receipt(id, 10n)))
  await t.travel(WINDOW)
  await reverts(consumer, escrowCall('dispute', id), 'DisputeWindowClosed')
  await reverts(consumer, escrowCall('refund', id), 'ClaimOutstanding')
  await send(provider, escrowCall('finalize', id))
  await send(consumer, escrowCall('refund', id))
}))

test('top up and extend a deposit', bounded(20_000, async () => {
  const id = await open(10n, 100)
  await send(consumer, { address: t.deployment.creditToken, abi: creditTokenAbi, functionName: 'approve', args: [t.deployment.usageEscrow, 15n] })
  await send(consumer, { address: t.deployment.usageEscrow, abi: usageEscrowAbi, functionName: 'topUp', args: [id, 15n] })
  const { expiry } = await deposit(id)
  await reverts(consumer, { address: t.deployment.usageEscrow, abi: usageEscrowAbi, functionName: 'extend', args: [id, expiry] }, 'ExpiryNotLater')
  await send(consumer, { address: t.deployment.usageEscrow, abi: usageEscrowAbi, functionName: 'extend', args: [id, expiry + 1000n] })
  const after = await deposit(id)
  assert.equal([after.amount, after.expiry], [25n, expiry + 1000n])
  await send(provider, claimCall(id, 25n, await receipt(id, 25n)))
}))

test('the fee in basis points goes to the fee recipient, the rest to the provider', bounded(20_000, async () => {
  const feeRecipient = t.wallet(4).account.address
  const d = await deployContracts(t.deployer, { feeBps: 250, feeRecipient, disputeWindowS: WINDOW })
  await send(consumer, { address: d.creditToken, abi: creditTokenAbi, functionName: 'faucet', args: [consumer.account.address, 1000n] })
  const id = await open(1000n, 3600, d)
  await send(provider, claimCall(id, 1000n, await receipt(id, 1000n, d), d))
  await t.travel(WINDOW)
  await send(provider, escrowCall('finalize', id, d))
  assert.is(await balance(provider.account.address, d), 975n)
  assert.is(await balance(feeRecipient, d), 25n)
}))

test.run()
