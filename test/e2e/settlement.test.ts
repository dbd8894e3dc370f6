/**
 * Leases paid through escrow on a real local chain (anvil), between real libp2p nodes on loopback
 * running real gVisor jobs: the consumer opens a deposit once, each receipt draws on it with both
 * settlement accounts' EIP-712 signatures, both ledgers record the lease, the provider's batch is
 * anchored and proved, and the provider's claim pays exactly what the receipts charged, split between
 * the provider and the escrow's fee recipient (the suite's escrow takes a 2.5 % fee). The consumer tops
 * up a deposit before it runs dry; the provider claims early once a deposit is 80 % drawn. A provider
 * refuses an order that carries no covering deposit (and the consumer sees why), a deposit that expires
 * too soon, and another peer's settlement binding.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  createCapsService, createClawNode, createConsumer, createConsumerSettlement, createProviderService, createProviderSettlement, loadOrCreatePeerKey, openNodeLedger,
  openNodeChain
} from '../../node/index.ts'
import type { CapsService, ClawNode, ConsumerSettlement, ExplainEntry, NodeChain, ProviderService, ProviderSettlement } from '../../node/index.ts'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chainTime, createAnchorer, faucet, listDeposits, openDeposit, proveOnChain, readChainFile, readDeposit, signDraw, tokenBalance } from '../../ledger/index.ts'
import type { Ledger } from '../../ledger/index.ts'
import { createReplayGuard, openOrder, signOrder, signSettlementBinding } from '../../protocol/index.ts'
import type { Capabilities } from '../../protocol/index.ts'
import { allowImage, createSandboxRunner } from '../../sandbox/index.ts'
import type { SandboxRunner } from '../../sandbox/index.ts'
import { bounded, setup, tempDir, testImage } from '../helpers.ts'

interface Side { dir: string, node: ClawNode, caps: CapsService, chain: NodeChain, ledger: Ledger }
interface Ctx { localDir: string, boot: ClawNode, provider: Side & { service: ProviderService, runner: SandboxRunner, settlement: ProviderSettlement }, consumer: Side & { settlement: ConsumerSettlement, lease: ReturnType<typeof createConsumer> } }
const s = suite<Ctx>('settlement', {} as Ctx)

// 1,000 millicredits per CPU-second: a 10-second, 1-CPU job bids 10,000 (10 credits).
const PRICES = { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond: 1000, perGbSecond: 0 }
const JOB = { version: 1, image: '', argv: ['sh', '-c', 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo paid'], limits: { wallMs: 10_000, cpus: 1 } }
/** Fifteen times the work (a few hundred millicredits), so that a 2.5 % fee on its price is not rounded away. */
const HEAVY_JOB = { ...JOB, argv: ['sh', '-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo paid'] }
const DISPUTE_WINDOW_S = 600
/** The suite's escrow fee, basis points (the local network's default is 0). */
const FEE_BPS = 250
/** What the provider lets its trusted consumer owe beyond its deposit. */
const TRUSTED_CAP = 15_000

async function side (localDir: string, bootstrap: string[], capabilities: (chain: NodeChain, dir: string) => Promise<Capabilities>, at?: string): Promise<Side> {
  const dir = at ?? await tempDir()
  const chain = await openNodeChain(dir, { localDir, disputeWindowS: DISPUTE_WINDOW_S, feeBps: FEE_BPS })
  if (chain === undefined) throw new Error('no chain')
  const node = await createClawNode({ dataDir: dir, network: { bootstrap } })
  await node.start()
  const caps = createCapsService({ node, privateKey: await loadOrCreatePeerKey(dir), capabilities: await capabilities(chain, dir) })
  const ledger = await openNodeLedger(dir, 'provider')
  return { dir, node, caps, chain, ledger }
}

s.before(setup(async (ctx) => {
  const localDir = await tempDir('clawnode-chain-')
  ctx.localDir = localDir
  ctx.boot = await createClawNode({ dataDir: await tempDir() })
  await ctx.boot.start()
  const boot = ctx.boot.getMultiaddrs().map(String)
  const image = testImage()
  let providerSettlement: ProviderSettlement | undefined
  // The consumer's identity first: the provider trusts it for postpaid leases up to a cap.
  const consumerDir = await tempDir()
  const trustedPeer = peerIdFromPrivateKey(await loadOrCreatePeerKey(consumerDir)).toString()
  const p = await side(localDir, boot, async (chain, dir) => {
    providerSettlement = await createProviderSettlement({ chain, privateKey: await loadOrCreatePeerKey(dir), dataDir: dir, config: { periodS: 3600, trusted: [{ peer: trustedPeer, capMillicredits: TRUSTED_CAP }] } })
    return { clawnodeVersion: '0.1.0', cpuCores: 2, memoryBytes: 2 ** 30, gpus: [], runtimes: ['gvisor'], images: [image], models: [], prices: PRICES, maxConcurrentJobs: 2, settlement: await providerSettlement.recordInfo() }
  })
  await allowImage(p.dir, image)
  const runner = createSandboxRunner({ dataDir: p.dir })
  await runner.start()
  const settlement = providerSettlement as ProviderSettlement
  const service = createProviderService({ node: p.node, privateKey: await loadOrCreatePeerKey(p.dir), runner, dataDir: p.dir, prices: PRICES, maxConcurrentJobs: 2, settlement, ledger: p.ledger })
  await service.start()
  await p.caps.start()
  ctx.provider = { ...p, service, runner, settlement }

  const c = await side(localDir, boot, async () => ({ clawnodeVersion: '0.1.0', cpuCores: 1, memoryBytes: 2 ** 30, gpus: [], runtimes: [], images: [], models: [], prices: PRICES, maxConcurrentJobs: 0 }), consumerDir)
  await c.ledger.close()
  const consumerLedger = await openNodeLedger(c.dir, 'consumer')
  const consumerSettlement = await createConsumerSettlement({ chain: c.chain, privateKey: await loadOrCreatePeerKey(c.dir), dataDir: c.dir, config: { depositAmount: 50_000 } })
  await c.caps.start()
  const lease = createConsumer({ node: c.node, privateKey: await loadOrCreatePeerKey(c.dir), caps: c.caps, settlement: consumerSettlement, ledger: consumerLedger })
  ctx.consumer = { ...c, ledger: consumerLedger, settlement: consumerSettlement, lease }
  for (let i = 0; i < 60; i++) {
    if ((await c.caps.discover({ kind: 'image', image }, { signal: AbortSignal.timeout(8_000) })).length > 0) break
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}))

s.after(async (ctx) => {
  await ctx.consumer?.caps.stop(); await ctx.consumer?.node.stop(); await ctx.consumer?.ledger.close(); await ctx.consumer?.chain.close()
  await ctx.provider?.caps.stop(); await ctx.provider?.service.stop(); await ctx.provider?.runner.stop(); await ctx.provider?.node.stop()
  await ctx.provider?.ledger.close(); await ctx.provider?.settlement.stop()
  // The provider's node started the chain: it goes last.
  await ctx.provider?.chain.close()
  await ctx.boot?.stop()
})

s('leases against a deposit: both ledgers, an anchored batch with proofs, and a claim that pays exactly the receipts, less the fee', bounded(240_000, async (ctx) => {
  const { provider, consumer } = ctx
  const job = { ...HEAVY_JOB, image: testImage() }
  const prices: number[] = []
  for (let i = 0; i < 2; i++) {
    const result = await consumer.lease.lease(job, { maxPrice: 1_000_000, artifactsDir: await tempDir() })
    assert.is(result.receipt.status, 'succeeded')
    assert.ok(result.receipt.price > 0, `charged ${result.receipt.price}`)
    assert.ok(result.receipt.draw !== undefined, 'the receipt draws on the deposit')
    assert.is(result.receipt.draw?.cumulative, BigInt(prices.reduce((a, b) => a + b, 0) + result.receipt.price))
    prices.push(result.receipt.price)
  }
  const total = prices.reduce((a, b) => a + b, 0)
  // One deposit, opened by the consumer for the provider's settlement address, covering both leases.
  const deposits = await listDeposits(consumer.chain.client, consumer.chain.deployment, { consumer: consumer.chain.account.address })
  assert.is(deposits.length, 1)
  assert.is(deposits[0]?.provider, provider.chain.account.address)
  assert.is(deposits[0]?.amount, 50_000n)

  // Both ledgers hold both leases: the same receipts, earned on one side and spent on the other.
  for (let i = 0; i < 50 && provider.ledger.count() < 2; i++) await new Promise(resolve => setTimeout(resolve, 50))
  assert.is(provider.ledger.count(), 2)
  assert.is(consumer.ledger.count(), 2)
  assert.is(provider.ledger.totals({ kind: 'earned' }).amount, BigInt(total))
  assert.is(consumer.ledger.totals({ kind: 'spent' }).amount, BigInt(total))
  for (const seq of [1, 2]) assert.ok(Buffer.from(provider.ledger.get(seq)?.receipt ?? []).equals(Buffer.from(consumer.ledger.get(seq)?.receipt ?? [1])))

  // The provider's batch is anchored; an entry's proof verifies offline and on chain.
  const anchorer = createAnchorer({ ledger: provider.ledger, client: provider.chain.client, anchor: provider.chain.deployment.usageAnchor })
  const run = await anchorer.runOnce()
  assert.is(run.error, null)
  assert.is(run.anchored.length, 1)
  const proof = await proveOnChain(provider.ledger, 2, { client: provider.chain.client, anchor: provider.chain.deployment.usageAnchor, provider: provider.chain.account.address })
  assert.ok(proof.offline && proof.onChainRoot && proof.contract, JSON.stringify(proof))

  // The claim: the co-signed cumulative amount, paid after the dispute window.
  assert.equal(await provider.settlement.runPeriod(), { claimed: 1, finalized: 0 })
  const pending = await readDeposit(provider.chain.client, provider.chain.deployment, deposits[0]?.id ?? 0n)
  assert.is(pending.status, 'pending')
  assert.is(pending.claimed, BigInt(total))
  await provider.chain.client.request({ method: 'evm_increaseTime', params: [DISPUTE_WINDOW_S + 1] } as never)
  await provider.chain.client.request({ method: 'evm_mine', params: [] } as never)
  const { client, deployment } = provider.chain
  assert.is(deployment.feeBps, FEE_BPS)
  const balances = async (): Promise<bigint[]> => await Promise.all([consumer.chain.account.address, provider.chain.account.address, deployment.feeRecipient].map(async (a) => await tokenBalance(client, deployment, a)))
  const before = await balances()
  assert.equal(await provider.settlement.runPeriod(), { claimed: 0, finalized: 1 })
  const after = await balances()
  // consumer spend = provider earning + fee, to the millicredit: the fee is 2.5 % of the payout, rounded down.
  const fee = BigInt(total) * BigInt(FEE_BPS) / 10_000n
  assert.ok(fee > 0n, `a fee is taken from ${total}`)
  assert.equal(after.map((b, i) => b - (before[i] as bigint)), [0n, BigInt(total) - fee, fee], `charged ${total}`)
  const settled = await readDeposit(client, deployment, deposits[0]?.id ?? 0n)
  assert.is(settled.paidOut, BigInt(total))
  assert.is(settled.refundable, 50_000n - BigInt(total))
}))

s('the consumer tops up its deposit before it runs dry: the next lease draws on the same, larger deposit', bounded(120_000, async (ctx) => {
  const { provider, consumer } = ctx
  // A book of its own whose deposits hold exactly one bid (10,000): after one lease the rest no longer covers the next bid.
  const topping = await createConsumerSettlement({ chain: consumer.chain, privateKey: await loadOrCreatePeerKey(consumer.dir), dataDir: await tempDir(), config: { depositAmount: 10_000 } })
  const lease = createConsumer({ node: consumer.node, privateKey: await loadOrCreatePeerKey(consumer.dir), caps: consumer.caps, settlement: topping, ledger: consumer.ledger })
  const first = await lease.lease({ ...JOB, image: testImage() }, { maxPrice: 1_000_000, artifactsDir: await tempDir() })
  const id = first.receipt.draw?.depositId ?? 0n
  assert.is((await readDeposit(consumer.chain.client, consumer.chain.deployment, id)).amount, 10_000n)
  const second = await lease.lease({ ...JOB, image: testImage() }, { maxPrice: 1_000_000, artifactsDir: await tempDir() })
  assert.is(second.receipt.draw?.depositId, id, 'the second lease draws on the same deposit')
  assert.is(second.receipt.draw?.cumulative, BigInt(first.receipt.price + second.receipt.price))
  // Topped up by its deposit amount before the second order went out.
  assert.is((await readDeposit(consumer.chain.client, consumer.chain.deployment, id)).amount, 20_000n)
  assert.is((await listDeposits(consumer.chain.client, consumer.chain.deployment, { consumer: consumer.chain.account.address })).filter(d => d.provider === provider.chain.account.address && d.amount >= 10_000n && d.amount < 50_000n).length, 1)
}))

/** An order from `key` to the suite's provider, paying from deposit `depositId` with `binding`. */
async function paidOrder (ctx: Ctx, key: Awaited<ReturnType<typeof generateKeyPair>>, depositId: bigint, binding: Uint8Array): Promise<Parameters<ProviderSettlement['admit']>[0]> {
  const { bytes } = await signOrder(key, { provider: ctx.provider.node.peerId, kind: 'container', image: testImage(), limits: { cpus: 1, memoryMb: 64, pids: 64, wallMs: 10_000, outputBytes: 1024, artifactBytes: 0, tmpMb: 8 }, payload: new Uint8Array(), maxPrice: 1_000_000, deadlineMs: Date.now() + 60_000, payment: { depositId, settlement: binding } })
  return await openOrder(bytes, { self: ctx.provider.node.peerId, guard: createReplayGuard() })
}

/** A month past both the wall clock and the chain's (which the suite moves forward). */
const farExpiry = async (ctx: Ctx): Promise<bigint> => {
  const now = await chainTime(ctx.consumer.chain.client)
  const wall = BigInt(Math.floor(Date.now() / 1000))
  return (now > wall ? now : wall) + 86_400n * 30n
}

/** A month-long deposit of `amount` for the suite's provider, funded from the faucet, and a fresh consumer peer key bound to the consumer's account. */
const freshDeposit = async (ctx: Ctx, amount: bigint) => {
  const { provider, consumer } = ctx
  await faucet(consumer.chain.client, consumer.chain.deployment, amount)
  const { depositId } = await openDeposit(consumer.chain.client, consumer.chain.deployment, { provider: provider.chain.account.address, amount, expiry: await farExpiry(ctx) })
  const key = await generateKeyPair('Ed25519')
  const binding = await signSettlementBinding(key, consumer.chain.account.address)
  const domain = { chainId: consumer.chain.deployment.chainId, escrow: consumer.chain.deployment.usageEscrow }
  return { depositId, key, binding, domain }
}

s('the provider claims early once co-signed draws reach 80 % of a deposit, not waiting for its period', bounded(60_000, async (ctx) => {
  const { provider, consumer } = ctx
  // A settlement of its own with an hour-long period: a claim within this test can only be the early one.
  const settlement = await createProviderSettlement({ chain: provider.chain, privateKey: await loadOrCreatePeerKey(provider.dir), dataDir: await tempDir(), config: { periodS: 3600 } })
  try {
    const { depositId, key, binding, domain } = await freshDeposit(ctx, 10_000n)
    /** One lease's draw of `price`, countersigned by the consumer's settlement account as its node would. */
    const lease = async (price: number): Promise<bigint> => {
      const admission = await settlement.admit(await paidOrder(ctx, key, depositId, binding), 5_000)
      if (!admission.ok) throw new Error(admission.detail)
      const draw = await admission.hold.draw(price, true)
      const signature = await signDraw(consumer.chain.account.account, domain, { depositId, consumer: consumer.chain.account.address, provider: provider.chain.account.address, cumulative: draw.cumulative })
      await admission.hold.settle(draw, Buffer.from(signature.slice(2), 'hex'))
      admission.hold.release()
      return draw.cumulative
    }
    const deposit = async (): Promise<Awaited<ReturnType<typeof readDeposit>>> => await readDeposit(consumer.chain.client, consumer.chain.deployment, depositId)
    // Half drawn: no claim yet.
    assert.is(await lease(5_000), 5_000n)
    await new Promise(resolve => setTimeout(resolve, 1_500))
    assert.equal([(await deposit()).status, (await deposit()).claimed], ['idle', 0n])
    // 80 % drawn: the provider claims the co-signed cumulative amount at once.
    assert.is(await lease(3_000), 8_000n)
    let state = await deposit()
    for (let i = 0; i < 100 && state.status !== 'pending'; i++) {
      await new Promise(resolve => setTimeout(resolve, 200))
      state = await deposit()
    }
    assert.equal([state.status, state.claimed], ['pending', 8_000n])
  } finally {
    await settlement.stop()
  }
}))

s('a lease that died uncountersigned while another drew, or with its provider killed, does not lock the deposit: the next lease draws on from what the consumer signed', bounded(60_000, async (ctx) => {
  const { provider, consumer } = ctx
  const dataDir = await tempDir()
  let settlement = await createProviderSettlement({ chain: provider.chain, privateKey: await loadOrCreatePeerKey(provider.dir), dataDir, config: { periodS: 3600 } })
  try {
    const { depositId, key, binding, domain } = await freshDeposit(ctx, 30_000n)
    const admit = async () => {
      const admission = await settlement.admit(await paidOrder(ctx, key, depositId, binding), 5_000)
      if (!admission.ok) throw new Error(admission.detail)
      return admission.hold
    }
    const countersign = async (hold: Awaited<ReturnType<typeof admit>>, draw: Awaited<ReturnType<Awaited<ReturnType<typeof admit>>['draw']>>): Promise<void> => {
      const signature = await signDraw(consumer.chain.account.account, domain, { depositId, consumer: consumer.chain.account.address, provider: provider.chain.account.address, cumulative: draw.cumulative })
      await hold.settle(draw, Buffer.from(signature.slice(2), 'hex'))
    }
    // Lease A: a tick co-signed at 1,000, then a tick for 2,000 the consumer never countersigns (A's stream died).
    const a = await admit()
    await countersign(a, await a.draw(1_000, false))
    assert.is((await a.draw(2_000, false)).cumulative, 2_000n)
    // Lease B draws on top of it before the provider noticed A's death; the consumer, seeing A dead, refuses it.
    const b = await admit()
    assert.is((await b.draw(500, false)).cumulative, 2_500n)
    a.release() // B still runs: A's part cannot be taken back yet
    b.release()
    // Both ended: the next lease follows on from the 1,000 the consumer signed, not from 2,000 or 2,500.
    const c = await admit()
    const next = await c.draw(700, true)
    assert.is(next.cumulative, 1_700n)
    await countersign(c, next)
    c.release()
    // A provider killed between a draw and its countersignature (no release ever runs): once started
    // again, it draws on from what the consumer signed.
    const d = await admit()
    assert.is((await d.draw(400, false)).cumulative, 2_100n)
    await settlement.stop()
    settlement = await createProviderSettlement({ chain: provider.chain, privateKey: await loadOrCreatePeerKey(provider.dir), dataDir, config: { periodS: 3600 } })
    const e = await admit()
    assert.is((await e.draw(300, true)).cumulative, 2_000n)
    e.release()
  } finally {
    await settlement.stop()
  }
}))

s('a provider refuses a deposit that expires before the lease could be claimed, and an order with another peer\'s settlement binding', bounded(60_000, async (ctx) => {
  const { provider, consumer } = ctx
  const settlement = await createProviderSettlement({ chain: provider.chain, privateKey: await loadOrCreatePeerKey(provider.dir), dataDir: await tempDir(), config: { periodS: 3600 } })
  try {
    await faucet(consumer.chain.client, consumer.chain.deployment, 30_000n)
    const key = await generateKeyPair('Ed25519')
    const binding = await signSettlementBinding(key, consumer.chain.account.address)
    // Ten minutes left: less than two claim periods (two hours here) and the lease.
    const soon = await openDeposit(consumer.chain.client, consumer.chain.deployment, { provider: provider.chain.account.address, amount: 10_000n, expiry: await chainTime(consumer.chain.client) + 600n })
    const refused = await settlement.admit(await paidOrder(ctx, key, soon.depositId, binding), 10_000)
    assert.is(refused.ok, false)
    assert.is((refused as { detail: string }).detail, `deposit #${soon.depositId} expires too soon to be claimed after this lease: extend it (clawnode wallet deposit extend ${soon.depositId})`)
    // Expiry is judged by the chain's clock (the escrow's), not this machine's: with the chain a day
    // ahead, a deposit that ends an hour after the chain's now is a day away by the wall clock, and refused.
    await consumer.chain.client.request({ method: 'evm_increaseTime', params: [86_400] } as never)
    await consumer.chain.client.request({ method: 'evm_mine', params: [] } as never)
    const ahead = await openDeposit(consumer.chain.client, consumer.chain.deployment, { provider: provider.chain.account.address, amount: 10_000n, expiry: await chainTime(consumer.chain.client) + 3_600n })
    const byChain = await settlement.admit(await paidOrder(ctx, key, ahead.depositId, binding), 10_000)
    assert.is((byChain as { detail?: string }).detail, `deposit #${ahead.depositId} expires too soon to be claimed after this lease: extend it (clawnode wallet deposit extend ${ahead.depositId})`)
    // The same deposit, a month long, is taken.
    const later = await openDeposit(consumer.chain.client, consumer.chain.deployment, { provider: provider.chain.account.address, amount: 10_000n, expiry: await farExpiry(ctx) })
    const taken = await settlement.admit(await paidOrder(ctx, key, later.depositId, binding), 10_000)
    assert.ok(taken.ok, JSON.stringify(taken))
    if (taken.ok) taken.hold.release()
    // A binding that another peer signed for the same account, carried in this peer's order.
    const other = await generateKeyPair('Ed25519')
    const foreign = await settlement.admit(await paidOrder(ctx, key, later.depositId, await signSettlementBinding(other, consumer.chain.account.address)), 10_000)
    assert.is(foreign.ok, false)
    assert.match((foreign as { detail: string }).detail, /^the order's settlement binding does not hold: /)
  } finally {
    await settlement.stop()
  }
}))

s('a provider refuses an order that no deposit covers, and says why', bounded(120_000, async (ctx) => {
  const { provider, consumer } = ctx
  // A consumer of the same node that does not pay: no deposit in its orders.
  const unpaid = createConsumer({ node: consumer.node, privateKey: await loadOrCreatePeerKey(consumer.dir), caps: consumer.caps })
  const explain: ExplainEntry[] = []
  try {
    await unpaid.lease({ ...JOB, image: testImage() }, { maxPrice: 1_000_000, artifactsDir: await tempDir(), onExplain: (e) => { explain.push(e) } })
    assert.unreachable('an unpaid order was served')
  } catch (err) {
    assert.is((err as Error).name, 'NoProviderError')
  }
  const declined = explain.find(e => e.peer === provider.node.peerId.toString())
  assert.is(declined?.fate, 'declined')
  assert.match(declined?.detail ?? '', /^payment-required: this provider is paid through escrow: open a deposit for 0x[0-9a-fA-F]{40}/)

  // A deposit that is too small for the bid: declined with how much it lacks.
  const small = await openDeposit(consumer.chain.client, consumer.chain.deployment, { provider: provider.chain.account.address, amount: 10n, expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400 * 30) })
  // (From a peer the provider does not trust: the consumer's own peer is trusted for postpaid leases.)
  const key = await generateKeyPair('Ed25519')
  const { bytes } = await signOrder(key, { provider: provider.node.peerId, kind: 'container', image: testImage(), limits: { cpus: 1, memoryMb: 64, pids: 64, wallMs: 10_000, outputBytes: 1024, artifactBytes: 0, tmpMb: 8 }, payload: new Uint8Array(), maxPrice: 1_000_000, deadlineMs: Date.now() + 60_000, payment: { depositId: small.depositId, settlement: await signSettlementBinding(key, consumer.chain.account.address) } })
  const order = await openOrder(bytes, { self: provider.node.peerId, guard: createReplayGuard() })
  const admission = await provider.settlement.admit(order, 10_000)
  assert.is(admission.ok, false)
  assert.match((admission as { detail: string }).detail, new RegExp(`deposit #${small.depositId} has 10 millicredits left, the bid's maximum is 10000: top up by 9990`))
}))

s('a consumer whose deposit does not cover the bid sees the provider\'s reason and how much to top up', bounded(120_000, async (ctx) => {
  const { provider } = ctx
  // A consumer the provider does not trust (the suite's consumer is trusted for postpaid leases).
  const other = await side(ctx.localDir, ctx.boot.getMultiaddrs().map(String), async () => ({ clawnodeVersion: '0.1.0', cpuCores: 1, memoryBytes: 2 ** 30, gpus: [], runtimes: [], images: [], models: [], prices: PRICES, maxConcurrentJobs: 0 }))
  try {
    await faucet(other.chain.client, other.chain.deployment, 1_000n)
    const expiry = await farExpiry(ctx)
    const small = await openDeposit(other.chain.client, other.chain.deployment, { provider: provider.chain.account.address, amount: 10n, expiry })
    // Its settlement book is stale (restored from an old backup): it believes the deposit holds 50 credits, so it orders on it.
    await mkdir(join(other.dir, 'settlement'), { recursive: true, mode: 0o700 })
    await writeFile(join(other.dir, 'settlement', 'consumer.json'), JSON.stringify({ deposits: { [String(small.depositId)]: { provider: provider.chain.account.address, escrow: other.chain.deployment.usageEscrow, chainId: other.chain.deployment.chainId, amount: '50000', expiry: Number(expiry), spent: '0', signed: '0' } } }))
    const settlement = await createConsumerSettlement({ chain: other.chain, privateKey: await loadOrCreatePeerKey(other.dir), dataDir: other.dir })
    await other.caps.start()
    const lease = createConsumer({ node: other.node, privateKey: await loadOrCreatePeerKey(other.dir), caps: other.caps, settlement, ledger: other.ledger })
    for (let i = 0; i < 60; i++) {
      if ((await other.caps.discover({ kind: 'image', image: testImage() }, { signal: AbortSignal.timeout(8_000) })).length > 0) break
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    const explain: ExplainEntry[] = []
    try {
      await lease.lease({ ...JOB, image: testImage() }, { maxPrice: 1_000_000, artifactsDir: await tempDir(), onExplain: (e) => { explain.push(e) } })
      assert.unreachable('an order on a deposit too small was served')
    } catch (err) {
      assert.is((err as Error).name, 'NoProviderError', (err as Error).message)
    }
    const declined = explain.find(e => e.peer === provider.node.peerId.toString())
    assert.is(declined?.fate, 'declined')
    assert.is(declined?.detail, `payment-required: deposit #${small.depositId} has 10 millicredits left, the bid's maximum is 10000: top up by 9990 (clawnode wallet deposit topup ${small.depositId})`)
  } finally {
    await other.caps.stop(); await other.node.stop(); await other.ledger.close(); await other.chain.close()
  }
}))

s('a trusted peer leases postpaid beyond its deposit up to its cap; its node tops up at the period, then the provider claims', bounded(180_000, async (ctx) => {
  const { provider, consumer } = ctx
  // A second book for the same account: deposits of 10 millicredits, topped up each period, not before a lease.
  const postpaid = await createConsumerSettlement({ chain: consumer.chain, privateKey: await loadOrCreatePeerKey(consumer.dir), dataDir: await tempDir(), config: { depositAmount: 10, postpaidWith: [provider.node.peerId.toString()] } })
  const lease = createConsumer({ node: consumer.node, privateKey: await loadOrCreatePeerKey(consumer.dir), caps: consumer.caps, settlement: postpaid, ledger: consumer.ledger })
  const entries = provider.ledger.count()
  const result = await lease.lease({ ...JOB, image: testImage() }, { maxPrice: 1_000_000, artifactsDir: await tempDir() })
  const draw = result.receipt.draw
  assert.ok(draw !== undefined && result.receipt.price > 10, `charged ${result.receipt.price}`)
  // The provider has the countersigned draw once the lease is in its ledger (the consumer returns before).
  for (let i = 0; i < 100 && provider.ledger.count() === entries; i++) await new Promise(resolve => setTimeout(resolve, 50))
  let deposit = await readDeposit(consumer.chain.client, consumer.chain.deployment, draw.depositId)
  assert.is(deposit.amount, 10n)
  assert.ok(draw.cumulative > deposit.amount, 'the draw is beyond the deposit')
  // Beyond the cap: a 20-second job bids 20,000 > 15,000 owed at most.
  const explain: ExplainEntry[] = []
  try {
    await lease.lease({ ...JOB, image: testImage(), limits: { wallMs: 20_000, cpus: 1 } }, { maxPrice: 1_000_000, artifactsDir: await tempDir(), onExplain: (e) => { explain.push(e) } })
    assert.unreachable('a lease above the postpaid cap was served')
  } catch (err) {
    assert.is((err as Error).name, 'NoProviderError')
  }
  assert.match(explain.find(e => e.fate === 'declined')?.detail ?? '', /^payment-required: this lease would leave \d+ millicredits unpaid, above your postpaid cap of 15000/)
  // The provider cannot claim a draw beyond the deposit yet; after the consumer's period top-up it can.
  assert.equal(await provider.settlement.runPeriod(), { claimed: 0, finalized: 0 })
  assert.is(await postpaid.runPeriod(), 1)
  deposit = await readDeposit(consumer.chain.client, consumer.chain.deployment, draw.depositId)
  assert.is(deposit.amount, draw.cumulative)
  assert.equal(await provider.settlement.runPeriod(), { claimed: 1, finalized: 0 })
  assert.is((await readDeposit(consumer.chain.client, consumer.chain.deployment, draw.depositId)).claimed, draw.cumulative)
}))

s('a trusted peer\'s postpaid orders are rate limited', bounded(60_000, async (ctx) => {
  const { provider, consumer } = ctx
  const key = await loadOrCreatePeerKey(consumer.dir)
  const settlement = await createProviderSettlement({ chain: provider.chain, privateKey: await loadOrCreatePeerKey(provider.dir), dataDir: await tempDir(), config: { trusted: [{ peer: consumer.node.peerId.toString(), capMillicredits: 1_000_000, ordersPerMinute: 2 }] } })
  const small = await openDeposit(consumer.chain.client, consumer.chain.deployment, { provider: provider.chain.account.address, amount: 10n, expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400 * 30) })
  const binding = await signSettlementBinding(key, consumer.chain.account.address)
  const admit = async (): Promise<Awaited<ReturnType<ProviderSettlement['admit']>>> => {
    const { bytes } = await signOrder(key, { provider: provider.node.peerId, kind: 'container', image: testImage(), limits: { cpus: 1, memoryMb: 64, pids: 64, wallMs: 10_000, outputBytes: 1024, artifactBytes: 0, tmpMb: 8 }, payload: new Uint8Array(), maxPrice: 1_000_000, deadlineMs: Date.now() + 60_000, payment: { depositId: small.depositId, settlement: binding } })
    return await settlement.admit(await openOrder(bytes, { self: provider.node.peerId, guard: createReplayGuard() }), 10_000)
  }
  // Beyond the deposit, within the cap: two a minute, then refused with the reason.
  const first = await admit()
  const second = await admit()
  assert.ok(first.ok && second.ok)
  const third = await admit()
  assert.is(third.ok, false)
  assert.match((third as { detail: string }).detail, /trusted peers may order 2 leases a minute here/)
  if (first.ok) first.hold.release()
  if (second.ok) second.hold.release()
  await settlement.stop()
}))

s('with the chain not answering, paid leases go on against the deposit already seen, both ledgers record them, and anchoring waits', bounded(120_000, async (ctx) => {
  const { provider, consumer } = ctx
  const before = provider.ledger.count()
  // The chain hangs (a stopped process answers nothing; a stopped-and-gone one would be started again).
  const anvil = (await readChainFile(ctx.localDir))?.pid ?? 0
  assert.ok(anvil > 0)
  process.kill(anvil, 'SIGSTOP')
  try {
    const result = await consumer.lease.lease({ ...JOB, image: testImage() }, { maxPrice: 1_000_000, artifactsDir: await tempDir() })
    assert.is(result.receipt.status, 'succeeded')
    assert.ok(result.receipt.draw !== undefined, 'the lease is still paid: its receipt draws on the deposit')
    for (let i = 0; i < 50 && provider.ledger.count() <= before; i++) await new Promise(resolve => setTimeout(resolve, 50))
    assert.is(provider.ledger.count(), before + 1)
    const run = await createAnchorer({ ledger: provider.ledger, client: provider.chain.client, anchor: provider.chain.deployment.usageAnchor, receiptTimeoutMs: 2_000 }).runOnce({ signal: AbortSignal.timeout(30_000) })
    assert.is(run.error?.name, 'ChainUnreachableError')
    assert.is(run.pending.length, 1)
  } finally {
    process.kill(anvil, 'SIGCONT')
  }
}))

s.run()
