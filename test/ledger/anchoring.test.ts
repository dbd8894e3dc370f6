/**
 * Anchoring on a real anvil: batches of new entries anchor in order with their transaction and block,
 * proofs check offline, against the anchored root and by the contract; a chain that is down for two
 * periods (a loopback forwarder in front of anvil, stopped and started again) holds nothing up and
 * the backlog anchors in order afterwards; a restarted node finishes what a dead one left; refusals
 * are named and not retried in a loop; tampered proofs fail.
 */
import { createServer, connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { getTransactionCount, getTransactionReceipt } from 'viem/actions'
import type { Address, Hex } from 'viem'
import { checkOnChain, createAnchorer, createChainClient, createReadClient, openLedger, proveOnChain, usageAnchorAbi } from '../../ledger/index.ts'
import type { AnchorEvent, ChainWalletClient, Ledger, LedgerBatch } from '../../ledger/index.ts'
import { bounded, rejectsWith, setup } from '../helpers.ts'
import { devAccount, send, startTestChain } from './chain/chain-helpers.ts'
import type { TestChain } from './chain/chain-helpers.ts'
import { entry, ledgerPath } from './fixtures.ts'
import type { Server, Socket } from 'node:net'

let t: TestChain
test.before(setup(async () => { t = await startTestChain() }))
test.after(async () => { await t?.chain.stop() })

const append = async (ledger: Ledger, from: number, to: number): Promise<void> => {
  await ledger.appendMany(Array.from({ length: to - from + 1 }, (_, k) => entry(from + k)))
}
const keyOf = (index: number): Hex => `0x${Buffer.from(devAccount(index).getHdKey().privateKey as Uint8Array).toString('hex')}`
const ranges = (bs: ReadonlyArray<{ fromSeq: number | bigint, toSeq: number | bigint }>): number[][] => bs.map(b => [Number(b.fromSeq), Number(b.toSeq)])
/** The provider's Anchored events in chain order. */
const anchoredOnChain = async (provider: Address) => {
  const logs = await t.deployer.getContractEvents({ address: t.deployment.usageAnchor, abi: usageAnchorAbi, eventName: 'Anchored', args: { provider }, fromBlock: 0n, strict: true })
  return logs.map(l => ({ fromSeq: l.args.fromSeq, toSeq: l.args.toSeq, root: l.args.root, txHash: l.transactionHash, block: Number(l.blockNumber), logIndex: l.logIndex }))
}
/** Waits (bounded) until `cond` holds. */
const until = async (what: string, ms: number, cond: () => boolean): Promise<void> => {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}
const recorder = () => {
  const events: Array<AnchorEvent & { at: number }> = []
  const of = <T extends AnchorEvent['type']>(type: T) => events.filter(e => e.type === type) as Array<Extract<AnchorEvent, { type: T }> & { at: number }>
  return { events, of, onEvent: (e: AnchorEvent) => { events.push({ ...e, at: Date.now() }) } }
}

/** A TCP forwarder on 127.0.0.1 in front of anvil: stopping it makes the chain unreachable (connection refused) on the same URL. */
async function forwarder (target: string): Promise<{ url: string, stop: () => Promise<void>, start: () => Promise<void> }> {
  const to = new URL(target)
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const start = async (): Promise<void> => {
    server = createServer((sock) => {
      const up = connect(Number(to.port), to.hostname)
      for (const s of [sock, up]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => { sock.destroy(); up.destroy() }) }
      sock.pipe(up).pipe(sock)
    })
    await new Promise<void>((resolve, reject) => { server?.once('error', reject); server?.listen(port, '127.0.0.1', () => { resolve() }) })
    port = (server.address() as { port: number }).port
  }
  await start()
  return {
    url: `http://127.0.0.1:${port}`,
    start,
    stop: async () => {
      const closed = new Promise<void>((resolve) => { server?.close(() => { resolve() }) })
      for (const s of sockets) s.destroy()
      await closed
    }
  }
}

test('new entries anchor period by period as contiguous batches with tx and block; proofs check offline, against the anchored root and by the contract', bounded(30_000, async () => {
  const client = t.wallet(1)
  const provider = client.account.address
  const ledger = await openLedger(await ledgerPath())
  const rec = recorder()
  const anchorer = createAnchorer({ ledger, client, anchor: t.deployment.usageAnchor, onEvent: rec.onEvent })

  await append(ledger, 1, 5)
  const first = await anchorer.runOnce()
  assert.equal([ranges(first.closed), ranges(first.anchored), first.error], [[[1, 5]], [[1, 5]], null])
  // No new entries: no batch, no transaction.
  const nonce = await getTransactionCount(client, { address: provider })
  const idle = await anchorer.runOnce()
  assert.equal([idle.closed.length, idle.anchored.length], [0, 0])
  assert.is(await getTransactionCount(client, { address: provider }), nonce)
  await append(ledger, 6, 6)
  await anchorer.runOnce()
  await append(ledger, 7, 20)
  await anchorer.runOnce()

  const batches = ledger.batches()
  assert.equal(ranges(batches), [[1, 5], [6, 6], [7, 20]])
  const onChain = await anchoredOnChain(provider)
  assert.equal(ranges(onChain), ranges(batches))
  for (const [i, b] of batches.entries()) {
    assert.is(b.anchorStatus, 'anchored')
    const receipt = await getTransactionReceipt(client, { hash: b.anchorTxHash as Hex })
    assert.equal([receipt.status, Number(receipt.blockNumber), b.anchorTxHash], ['success', b.anchorBlock, onChain[i]?.txHash])
    assert.is(onChain[i]?.root, b.root)
  }
  assert.ok((batches[0]?.anchorBlock ?? 0) < (batches[1]?.anchorBlock ?? 0) && (batches[1]?.anchorBlock ?? 0) < (batches[2]?.anchorBlock ?? 0))
  const gas = rec.of('clawnode:anchor:anchored').map(e => e.detail.gasUsed)
  assert.ok(gas.length === 3 && gas.slice(1).every(g => g > 20_000n && g < 40_000n), `gas ${gas.join(', ')}`)

  const init = { client: createReadClient(t.chain.rpcUrl, t.chain.chainId), anchor: t.deployment.usageAnchor, provider }
  for (const seq of [1, 5, 6, 7, 13, 20]) {
    const p = await proveOnChain(ledger, seq, init)
    assert.equal([p.offline, p.onChainRoot, p.contract, p.ok], [true, true, true, true], `seq ${seq}`)
    assert.is(p.latest, seq >= 7, `seq ${seq} latest`)
    assert.is(p.batch.txHash, batches.find(b => b.fromSeq <= seq && seq <= b.toSeq)?.anchorTxHash)
  }
  // The same proof does not pass for another provider, which anchored nothing.
  const other = await proveOnChain(ledger, 13, { ...init, provider: t.wallet(9).account.address })
  assert.equal([other.offline, other.onChainRoot, other.latest, other.ok], [true, false, false, false])
  await ledger.close()
}))

test('chain down during two periods: appends go on, batches wait with back-off reported; after recovery the backlog anchors in order', bounded(60_000, async () => {
  const fwd = await forwarder(t.chain.rpcUrl)
  const client = createChainClient({ rpcUrl: fwd.url, chainId: t.chain.chainId, privateKey: keyOf(2) })
  const provider = client.account.address
  const ledger = await openLedger(await ledgerPath())
  const rec = recorder()
  const anchorer = createAnchorer({ ledger, client, anchor: t.deployment.usageAnchor, periodMs: 400, minBackoffMs: 50, maxBackoffMs: 200, onEvent: rec.onEvent })
  await append(ledger, 1, 3)
  assert.is((await anchorer.runOnce()).anchored.length, 1)

  await fwd.stop()
  anchorer.start()
  const closed = (toSeq: number) => () => rec.of('clawnode:anchor:batch-closed').some(e => e.detail.batch.toSeq === toSeq)
  // Period one and two while down: each closes the entries appended before it.
  await append(ledger, 4, 6)
  await until('the first period while down', 20_000, closed(6))
  await append(ledger, 7, 9)
  await until('the second period while down', 20_000, closed(9))
  await until('a failed attempt after the second period', 20_000, () => rec.of('clawnode:anchor:unreachable').some(e => e.at > (rec.of('clawnode:anchor:batch-closed').at(-1)?.at ?? 0)))
  // The ledger keeps serving: an append is acknowledged at once.
  const ackStarted = Date.now()
  await append(ledger, 10, 10)
  assert.ok(Date.now() - ackStarted < 1_000)
  assert.equal(ledger.pendingAnchors().map(b => [b.index, b.anchorStatus]), [[2, 'pending'], [3, 'pending']])
  const down = rec.of('clawnode:anchor:unreachable')
  assert.ok(down.length >= 2)
  assert.equal(down.map(e => e.detail.failures), down.map((_, i) => i + 1))
  for (const e of down) {
    assert.is(e.detail.error.name, 'ChainUnreachableError')
    assert.ok(e.detail.error.hint.length > 0)
    assert.ok(e.detail.retryAt !== null && e.detail.retryAt >= e.at - 5 && e.detail.retryAt <= e.at + 200 + 5, `retry at +${(e.detail.retryAt ?? 0) - e.at} ms`)
  }
  assert.is(rec.of('clawnode:anchor:submitted').length, 1, 'nothing was sent while the chain was down')
  const status = anchorer.status()
  assert.equal([status.running, status.pendingBatches, status.lastError?.name], [true, 2, 'ChainUnreachableError'])

  await fwd.start()
  await until('the backlog anchored', 20_000, () => rec.of('clawnode:anchor:anchored').some(e => e.detail.batch.toSeq === 9))
  // The attempt that anchored them ends after its last event; then the failures count is reset.
  await until('the failures count reset', 10_000, () => anchorer.status().failures === 0 && anchorer.status().lastError === null)
  await anchorer.stop() // closes and anchors seq 10 as the last batch

  const batches = ledger.batches()
  assert.ok(batches.every(b => b.anchorStatus === 'anchored'))
  const onChain = await anchoredOnChain(provider)
  assert.equal(ranges(onChain), ranges(batches))
  assert.equal(ranges(onChain).flat().slice(0, 7), [1, 3, 4, 6, 7, 9, 10])
  for (let i = 1; i < onChain.length; i++) {
    assert.is(Number(onChain[i]?.fromSeq), Number(onChain[i - 1]?.toSeq) + 1)
    assert.ok((onChain[i]?.block ?? 0) > (onChain[i - 1]?.block ?? 0), 'each batch anchored after the one before')
  }
  assert.equal(rec.of('clawnode:anchor:submitted').map(e => e.detail.batch.index), batches.map(b => b.index))
  await fwd.stop()
  await ledger.close()
}))

test('after a restart: a sent and recorded tx is taken from its receipt, a sent but unrecorded anchor from its event, an unknown tx is sent again', bounded(30_000, async () => {
  const client = t.wallet(3)
  const provider = client.account.address
  const path = await ledgerPath()
  const ledger = await openLedger(path)
  const sendAnchor = async (b: LedgerBatch | null): Promise<Hex> => {
    if (b === null) throw new Error('no batch')
    return (await send(client, { address: t.deployment.usageAnchor, abi: usageAnchorAbi, functionName: 'anchor', args: [b.root, BigInt(b.fromSeq), BigInt(b.toSeq)] })).transactionHash
  }
  await append(ledger, 1, 4)
  const hash1 = await sendAnchor(await ledger.closeBatch())
  ledger.markSubmitted(1, { txHash: hash1 }) // died waiting for the receipt
  await append(ledger, 5, 7)
  const hash2 = await sendAnchor(await ledger.closeBatch()) // died before recording the hash
  await append(ledger, 8, 9)
  await ledger.closeBatch()
  const lost = `0x${'5a'.repeat(32)}` as Hex
  ledger.markSubmitted(3, { txHash: lost }) // recorded, but never reached the chain
  await ledger.close()

  const again = await openLedger(path)
  const rec = recorder()
  const nonce = await getTransactionCount(client, { address: provider })
  const result = await createAnchorer({ ledger: again, client, anchor: t.deployment.usageAnchor, onEvent: rec.onEvent }).runOnce({ close: false })
  assert.is(result.error, null)
  assert.equal(result.anchored.map(b => b.index), [1, 2, 3])
  assert.equal(rec.of('clawnode:anchor:anchored').map(e => e.detail.recovered), [true, true, false])
  assert.is(await getTransactionCount(client, { address: provider }), nonce + 1, 'only the lost one was sent again')
  const [b1, b2, b3] = again.batches()
  assert.equal([b1?.anchorTxHash, b2?.anchorTxHash], [hash1, hash2])
  assert.ok(b3?.anchorTxHash !== lost && b3?.anchorStatus === 'anchored')
  const onChain = await anchoredOnChain(provider)
  assert.equal(ranges(onChain), [[1, 4], [5, 7], [8, 9]])
  assert.equal(again.batches().map(b => b.anchorBlock), onChain.map(e => e.block))
  await again.close()
}))

test('a tampered proof, another entry hash or another seq fails offline and on the contract', bounded(20_000, async () => {
  const client = t.wallet(4)
  const ledger = await openLedger(await ledgerPath())
  const anchorer = createAnchorer({ ledger, client, anchor: t.deployment.usageAnchor })
  await append(ledger, 1, 6)
  await anchorer.runOnce()
  await append(ledger, 7, 8)
  await anchorer.runOnce()
  const init = { client: t.deployer, anchor: t.deployment.usageAnchor, provider: client.account.address }
  for (const seq of [3, 8]) { // an older batch (verify) and the latest (verify and verifyLatest)
    const p = await proveOnChain(ledger, seq, init)
    assert.ok(p.ok && p.latest === (seq === 8))
    const claim = { seq, entryHash: p.entryHash, proof: p.proof, batch: p.batch }
    const flipped = `0x${(p.proof[0] as string).slice(2, 4) === 'ff' ? '00' : 'ff'}${(p.proof[0] as string).slice(4)}` as Hex
    const bad = [
      { ...claim, proof: [flipped, ...p.proof.slice(1)] },
      { ...claim, entryHash: `0x${Buffer.from(ledger.get(seq === 3 ? 4 : 7)?.hash as Uint8Array).toString('hex')}` as Hex },
      { ...claim, seq: seq - 1 }
    ]
    for (const [i, c] of bad.entries()) {
      const r = await checkOnChain(init, c)
      assert.equal([r.offline, r.contract], [false, false], `seq ${seq}, case ${i}`)
      assert.ok(r.onChainRoot, 'the root itself is the anchored one')
    }
    // A root that was never anchored for this range is not on chain, even with a proof that fits it.
    const forged = await checkOnChain(init, { ...claim, batch: { ...claim.batch, root: `0x${'11'.repeat(32)}` } })
    assert.equal([forged.offline, forged.onChainRoot, forged.contract], [false, false, false])
  }
  await ledger.close()
}))

test('a batch the contract refuses is named with a hint and waits for the next period instead of retrying in a loop', bounded(30_000, async () => {
  const client = t.wallet(6)
  // The same settlement account already anchored seq 1..3 from another ledger.
  await send(client, { address: t.deployment.usageAnchor, abi: usageAnchorAbi, functionName: 'anchor', args: [`0x${'22'.repeat(32)}`, 1n, 3n] })
  const ledger = await openLedger(await ledgerPath())
  await append(ledger, 1, 3)
  const rec = recorder()
  const anchorer = createAnchorer({ ledger, client, anchor: t.deployment.usageAnchor, periodMs: 300, minBackoffMs: 10, maxBackoffMs: 20, onEvent: rec.onEvent })
  const same = await anchorer.runOnce()
  assert.equal([same.error?.name, (same.error as { reason?: string })?.reason, same.pending.length], ['AnchorRejectedError', 'root-mismatch', 1])
  assert.match(same.error?.hint ?? '', /settlement key/)

  anchorer.start()
  await sleep(1_000)
  await anchorer.stop()
  const failed = rec.of('clawnode:anchor:failed')
  // At most one attempt per period (300 ms) and one on stop, not one per back-off (10-20 ms, some 50 in a second).
  assert.ok(failed.length >= 2 && failed.length <= 7, `${failed.length} attempts: ${failed.map(e => `${e.detail.error.name} ${e.detail.error.message}`).join('; ')}`)
  assert.ok(failed.every(e => e.detail.error.name === 'AnchorRejectedError' && e.detail.batch === 1))
  assert.is(rec.of('clawnode:anchor:submitted').length, 0)

  // A ledger whose first batch does not follow on from what the account anchored: RangeNotContiguous.
  const other = await openLedger(await ledgerPath())
  await append(other, 1, 5)
  const gap = await createAnchorer({ ledger: other, client, anchor: t.deployment.usageAnchor }).runOnce()
  assert.equal([gap.error?.name, (gap.error as { reason?: string })?.reason], ['AnchorRejectedError', 'RangeNotContiguous'])
  assert.equal(other.pendingAnchors().map(b => b.anchorStatus), ['pending'])
  await other.close()
  await ledger.close()
}))

test('verify names why it cannot prove: no such entry, not in a batch, not anchored, chain unreachable; stop() ends a back-off wait at once', bounded(30_000, async () => {
  const fwd = await forwarder(t.chain.rpcUrl)
  const client: ChainWalletClient = createChainClient({ rpcUrl: fwd.url, chainId: t.chain.chainId, privateKey: keyOf(7) })
  const ledger = await openLedger(await ledgerPath())
  const init = { client, anchor: t.deployment.usageAnchor, provider: client.account.address }
  await append(ledger, 1, 2)
  await rejectsWith(proveOnChain(ledger, 3, init), 'EntryNotFoundError')
  await rejectsWith(proveOnChain(ledger, 1, init), 'EntryNotBatchedError')
  await ledger.closeBatch()
  await rejectsWith(proveOnChain(ledger, 1, init), 'BatchNotAnchoredError')
  const rec = recorder()
  const anchorer = createAnchorer({ ledger, client, anchor: t.deployment.usageAnchor, minBackoffMs: 30_000, onEvent: rec.onEvent })
  await anchorer.runOnce()
  assert.ok((await proveOnChain(ledger, 2, init)).ok)

  await fwd.stop()
  await rejectsWith(proveOnChain(ledger, 2, init), 'ChainUnreachableError')
  await append(ledger, 3, 4)
  await ledger.closeBatch()
  // The first attempt on start anchors the waiting batch, fails, and backs off for 30 s.
  anchorer.start()
  await until('an unreachable chain reported', 10_000, () => rec.of('clawnode:anchor:unreachable').length > 0)
  const [down] = rec.of('clawnode:anchor:unreachable')
  assert.ok((down?.detail.retryAt ?? 0) - (down?.at ?? 0) > 25_000)
  const stopStarted = Date.now()
  await anchorer.stop() // ends the wait; its last attempt fails fast (connection refused)
  assert.ok(Date.now() - stopStarted < 5_000, `stop took ${Date.now() - stopStarted} ms`)
  assert.equal(ledger.pendingAnchors().map(b => [b.fromSeq, b.toSeq, b.anchorStatus]), [[3, 4, 'pending']])
  assert.is(anchorer.status().running, false)
  await ledger.close()
}))

test('gas per anchor does not grow with the batch: batches of 1, 1,000 and 10,000 entries of a real ledger cost the same after the first anchor', bounded(120_000, async () => {
  const client = t.wallet(8)
  const ledger = await openLedger(await ledgerPath())
  const rec = recorder()
  const anchorer = createAnchorer({ ledger, client, anchor: t.deployment.usageAnchor, onEvent: rec.onEvent })
  const sizes = [1, 1, 1_000, 10_000, 1]
  let next = 1
  for (const size of sizes) {
    // In chunks, below the ledger's bound on appends waiting at once.
    for (let from = next; from < next + size; from += 2_000) await append(ledger, from, Math.min(from + 1_999, next + size - 1))
    next += size
    const run = await anchorer.runOnce()
    assert.equal([run.error, run.anchored.length], [null, 1], `batch of ${size}`)
  }
  await ledger.close()
  const anchored = rec.of('clawnode:anchor:anchored').map(e => e.detail)
  assert.equal(anchored.map(a => a.batch.toSeq - a.batch.fromSeq + 1), sizes)
  const gas = anchored.map(a => a.gasUsed)
  // What varies is only the calldata: the zero bytes in the root and the seqs (16 gas a byte, 4 a zero byte).
  const execution = await Promise.all(anchored.map(async a => {
    const tx = await client.getTransaction({ hash: a.txHash })
    let calldata = 0n
    for (let i = 2; i < tx.input.length; i += 2) calldata += tx.input.slice(i, i + 2) === '00' ? 4n : 16n
    return a.gasUsed - calldata
  }))
  process.stdout.write(`\n  anchor gas by batch size: ${sizes.map((n, i) => `${n}: ${gas[i]}`).join(', ')}\n`)
  // The provider's first anchor makes its storage slots non-zero, which costs more.
  assert.ok(gas[0]! > gas[1]!, `first ${gas[0]}, then ${gas[1]}`)
  const later = gas.slice(1)
  const [min, max] = [later.reduce((a, b) => a < b ? a : b), later.reduce((a, b) => a > b ? a : b)]
  assert.ok(max - min <= 300n, `anchor gas varies with the batch size: ${later.join(', ')}`)
  assert.equal(new Set(execution.slice(1)).size, 1, `execution gas varies: ${execution.join(', ')}`)
}))

test.run()
