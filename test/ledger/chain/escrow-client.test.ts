/**
 * The typed escrow client on a real anvil: faucet, open, top up, claim with a co-signed receipt,
 * finalize after the window and refund after expiry with exact balances; disputes settled by the
 * arbiter; deposits listed from the Opened logs; reverts, a closed RPC port and a gasless account
 * turned into named errors with what to do next; a write waits for the confirmations asked for.
 */
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generatePrivateKey } from 'viem/accounts'
import {
  chainTime, claimDeposit, createChainClient, disputeClaim, extendDeposit, faucet, finalizeClaim, formatCredits, fundLocalGas, listDeposits,
  openDeposit, parseCredits, readDeposit, refundDeposit, resolveDispute, signDraw, tokenBalance, topUpDeposit
} from '../../../ledger/chain/index.ts'
import type { ChainWalletClient, EscrowDomain, EscrowRevertError } from '../../../ledger/chain/index.ts'
import { bounded, rejectsWith, setup } from '../../helpers.ts'
import { devAccount, startTestChain } from './chain-helpers.ts'
import type { TestChain } from './chain-helpers.ts'

const WINDOW = 600
const FEE_BPS = 250
const feeRecipient = devAccount(4).address
let t: TestChain
let consumer: ChainWalletClient
let provider: ChainWalletClient
let domain: EscrowDomain

test.before(setup(async () => {
  t = await startTestChain({ disputeWindowS: WINDOW, feeBps: FEE_BPS, feeRecipient })
  consumer = t.wallet(1)
  provider = t.wallet(2)
  domain = { chainId: t.deployment.chainId, escrow: t.deployment.usageEscrow }
}))
test.after(async () => { await t?.chain.stop() })

/** Both signatures over a receipt for `cumulative` of deposit `depositId`. */
async function cosign (depositId: bigint, cumulative: bigint) {
  const draw = { depositId, consumer: consumer.account.address, provider: provider.account.address, cumulative }
  return { depositId, cumulative, consumerSignature: await signDraw(devAccount(1), domain, draw), providerSignature: await signDraw(devAccount(2), domain, draw) }
}

/** The EscrowRevertError `p` rejects with (failing on any other outcome). */
async function revertOf (p: Promise<unknown>): Promise<EscrowRevertError> {
  try { await p } catch (err) {
    assert.is((err as Error).name, 'EscrowRevertError', (err as Error).message)
    return err as EscrowRevertError
  }
  throw new Error('expected a revert')
}

test('credits parse from and format to decimal credits (3 places) exactly', () => {
  for (const [text, units] of [['0', 0n], ['1', 1000n], ['1.5', 1500n], ['0.001', 1n], ['12.345', 12345n], ['1000000', 1_000_000_000n]] as const) {
    assert.is(parseCredits(text), units, text)
    assert.is(parseCredits(formatCredits(units)), units)
  }
  assert.is(formatCredits(1500n), '1.5')
  assert.is(formatCredits(-20n), '-0.02')
  for (const bad of ['1.2345', '-1', '1e3', '', '.5', '1,5', '0x10']) assert.throws(() => parseCredits(bad), RangeError, bad)
})

test('faucet, open, top up, claim, finalize after the window pay cumulative − fee; the rest is refunded after expiry', bounded(30_000, async () => {
  const d = t.deployment
  const c = consumer.account.address
  const p = provider.account.address
  await faucet(consumer, d, 50_000n)
  const start = { consumer: await tokenBalance(consumer, d, c), provider: await tokenBalance(consumer, d, p), fee: await tokenBalance(consumer, d, feeRecipient) }
  const expiry = await chainTime(consumer) + 3600n
  const { depositId, hash } = await openDeposit(consumer, d, { provider: p, amount: 10_000n, expiry })
  assert.match(hash, /^0x[0-9a-f]{64}$/)
  await topUpDeposit(consumer, d, { depositId, amount: 2_000n })
  assert.is(await tokenBalance(consumer, d, c), start.consumer - 12_000n)
  let state = await readDeposit(provider, d, depositId)
  assert.equal([state.status, state.amount, state.available, state.refundable, state.expiry, state.consumer, state.provider], ['idle', 12_000n, 12_000n, 12_000n, expiry, c, p])

  const { disputeEnds } = await claimDeposit(provider, d, await cosign(depositId, 8_000n))
  state = await readDeposit(provider, d, depositId)
  assert.equal([state.status, state.claimed, state.available, state.disputeEnds], ['pending', 8_000n, 4_000n, disputeEnds])
  await t.travel(WINDOW)
  const payout = await finalizeClaim(provider, d, depositId)
  assert.equal([payout.toProvider, payout.fee], [7_800n, 200n]) // 2.5 % of 8000
  assert.is(await tokenBalance(consumer, d, p), start.provider + 7_800n)
  assert.is(await tokenBalance(consumer, d, feeRecipient), start.fee + 200n)
  state = await readDeposit(provider, d, depositId)
  assert.equal([state.status, state.settled, state.paidOut, state.available, state.refundable], ['idle', 8_000n, 8_000n, 4_000n, 4_000n])

  await t.travel(3600)
  const { refunded } = await refundDeposit(consumer, d, depositId)
  assert.is(refunded, 4_000n)
  assert.is(await tokenBalance(consumer, d, c), start.consumer - 8_000n)
  state = await readDeposit(provider, d, depositId)
  assert.equal([state.status, state.available, state.refundable], ['closed', 0n, 0n])
}))

test('a dispute waits for the arbiter, who pays what it allows; extend moves the expiry', bounded(30_000, async () => {
  const d = t.deployment
  const expiry = await chainTime(consumer) + 3600n
  const { depositId } = await openDeposit(consumer, d, { provider: provider.account.address, amount: 1_000n, expiry })
  await extendDeposit(consumer, d, { depositId, expiry: expiry + 100n })
  assert.is((await readDeposit(consumer, d, depositId)).expiry, expiry + 100n)
  await claimDeposit(provider, d, await cosign(depositId, 900n))
  await disputeClaim(consumer, d, depositId)
  assert.is((await readDeposit(consumer, d, depositId)).status, 'disputed')
  const notArbiter = await revertOf(resolveDispute(provider, d, { depositId, allowedCumulative: 500n }))
  assert.is(notArbiter.revert, 'NotArbiter')
  const payout = await resolveDispute(t.deployer, d, { depositId, allowedCumulative: 400n })
  assert.equal([payout.toProvider, payout.fee], [390n, 10n])
  const state = await readDeposit(consumer, d, depositId)
  assert.equal([state.status, state.settled, state.paidOut, state.refundable], ['idle', 900n, 400n, 600n])
}))

test('listDeposits finds deposits by consumer and by provider from the Opened logs', bounded(30_000, async () => {
  const d = t.deployment
  const other = t.wallet(3)
  await faucet(other, d, 5_000n)
  const expiry = await chainTime(consumer) + 3600n
  const mine = await openDeposit(consumer, d, { provider: other.account.address, amount: 100n, expiry })
  const theirs = await openDeposit(other, d, { provider: provider.account.address, amount: 200n, expiry })
  const byConsumer = await listDeposits(consumer, d, { consumer: consumer.account.address })
  assert.ok(byConsumer.length >= 3)
  assert.ok(byConsumer.every(x => x.consumer === consumer.account.address))
  assert.is(byConsumer.at(-1)?.id, mine.depositId, 'oldest first, the newest last')
  const forProvider = await listDeposits(consumer, d, { provider: provider.account.address })
  assert.ok(forProvider.some(x => x.id === theirs.depositId && x.amount === 200n))
  assert.not.ok(forProvider.some(x => x.id === mine.depositId))
  assert.equal((await listDeposits(consumer, d, { consumer: other.account.address, provider: provider.account.address })).map(x => x.id), [theirs.depositId])
  assert.is((await listDeposits(consumer, d, { consumer: consumer.account.address, limit: 1 }))[0]?.id, mine.depositId)
  const after = await t.deployer.getBlockNumber({ cacheTime: 0 }) + 1n
  assert.equal(await listDeposits(consumer, d, { consumer: consumer.account.address, fromBlock: after }), [])
}))

test('reverts decode by name with a hint saying what to do, before any transaction is sent', bounded(30_000, async () => {
  const d = t.deployment
  const expiry = await chainTime(consumer) + 3600n
  const { depositId } = await openDeposit(consumer, d, { provider: provider.account.address, amount: 1_000n, expiry })
  const nonce = await consumer.getTransactionCount({ address: provider.account.address })
  const exceeds = await revertOf(claimDeposit(provider, d, await cosign(depositId, 1_001n)))
  assert.is(exceeds.revert, 'ClaimExceedsDeposit')
  assert.equal(exceeds.args, [depositId, 1_001n, 1_000n])
  assert.match(exceeds.hint, /consumer must top up/)
  assert.is(await consumer.getTransactionCount({ address: provider.account.address }), nonce, 'nothing was sent')

  const early = await revertOf(refundDeposit(consumer, d, depositId))
  assert.is(early.revert, 'NotExpired')
  assert.ok(early.hint.includes(`wait until ${new Date(Number(expiry) * 1000).toISOString()}`), early.hint)
  const { disputeEnds } = await claimDeposit(provider, d, await cosign(depositId, 10n))
  const window = await revertOf(finalizeClaim(provider, d, depositId))
  assert.is(window.revert, 'DisputeWindowOpen')
  assert.ok(window.hint.includes(`finalize after ${new Date(Number(disputeEnds) * 1000).toISOString()}`), window.hint)
  assert.is((await revertOf(topUpDeposit(provider, d, { depositId, amount: 1n }))).revert, 'NotConsumer')
  await rejectsWith(readDeposit(consumer, d, 999_999n), 'DepositNotFoundError')
  await rejectsWith(openDeposit(consumer, d, { provider: provider.account.address, amount: 10n ** 15n, expiry }), 'InsufficientCreditsError')
  await rejectsWith(faucet(consumer, { ...d, faucetEnabled: false }, 1n), 'FaucetUnavailableError')
  const cap = await revertOf(faucet(consumer, d, 10n ** 12n))
  assert.is(cap.revert, 'FaucetCapExceeded')
}))

test('a fresh account without ETH gets InsufficientGasError, and fundLocalGas fixes it', bounded(30_000, async () => {
  const fresh = createChainClient({ rpcUrl: t.chain.rpcUrl, chainId: t.chain.chainId, privateKey: generatePrivateKey() })
  const err = await faucet(fresh, t.deployment, 1n).then(() => undefined, (e: Error) => e)
  assert.is(err?.name, 'InsufficientGasError', err?.message)
  assert.ok(err?.message.includes(fresh.account.address))
  assert.ok(await fundLocalGas(fresh, fresh.account.address))
  assert.not.ok(await fundLocalGas(fresh, fresh.account.address), 'funded once')
  await faucet(fresh, t.deployment, 1n)
  assert.is(await tokenBalance(fresh, t.deployment, fresh.account.address), 1n)
}))

test('an aborted signal stops a write before anything is sent', bounded(10_000, async () => {
  const controller = new AbortController()
  controller.abort(new Error('stop'))
  try {
    await faucet(consumer, t.deployment, 1n, { signal: controller.signal })
    assert.unreachable()
  } catch (err) {
    assert.is((err as Error).message, 'stop')
  }
}))

test('a closed loopback port is ChainUnreachableError, quickly', bounded(10_000, async () => {
  const server = createServer()
  const port = await new Promise<number>((resolve) => { server.listen(0, '127.0.0.1', () => { resolve((server.address() as { port: number }).port) }) })
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  const client = createChainClient({ rpcUrl: `http://127.0.0.1:${port}`, privateKey: generatePrivateKey() })
  const started = Date.now()
  const err = await tokenBalance(client, t.deployment, client.account.address).then(() => undefined, (e: Error) => e)
  assert.is(err?.name, 'ChainUnreachableError', err?.message)
  assert.ok((err as { retryable?: boolean }).retryable)
  assert.match(err?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${port}`))
  assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`)
  await rejectsWith(openDeposit(client, t.deployment, { provider: client.account.address, amount: 1n, expiry: 1n }), 'ChainUnreachableError')
}))

test('a write with confirmations: 2 returns only once a block is mined on top of its own; with the default (1) at once', bounded(30_000, async () => {
  const client = t.wallet(5)
  const before = await client.getBlockNumber({ cacheTime: 0 })
  let done = false
  const write = faucet(client, t.deployment, 1_000n, { confirmations: 2 })
  write.then(() => { done = true }, () => { done = true })
  // anvil mines the transaction at once in a block of its own; nothing else mines the next one.
  const deadline = Date.now() + 10_000
  while (await client.getBlockNumber({ cacheTime: 0 }) === before && Date.now() < deadline) await sleep(50)
  const mined = await client.getBlockNumber({ cacheTime: 0 })
  assert.is(mined, before + 1n, 'the transaction was not mined')
  // The wait polls every 100 ms: a second is many polls that see one confirmation only.
  await sleep(1_000)
  assert.not.ok(done, 'the write returned after one confirmation')
  await t.mine(1)
  const { hash } = await write
  const receipt = await client.getTransactionReceipt({ hash })
  assert.is(receipt.blockNumber, mined)
  assert.ok(await client.getBlockNumber({ cacheTime: 0 }) >= receipt.blockNumber + 1n)

  const one = await faucet(client, t.deployment, 1_000n)
  assert.is((await client.getTransactionReceipt({ hash: one.hash })).blockNumber, await client.getBlockNumber({ cacheTime: 0 }))
}))

test.run()
