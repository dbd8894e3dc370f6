/**
 * `clawnode ledger` as a real process on the node's real ledgers and the embedded local chain (its own
 * chain folder): entries, a batch anchored with its transaction and block, earned and spent, tokens
 * contributed and saved per day / week / month, locked, available and claimable credits from real
 * escrow deposits; the escrow's fee and net earned on a chain that takes one; verify of an anchored and
 * of an unbatched entry, and the full check of both ledgers; and the ledger part alone when the chain
 * does not answer or is off. Every command starts and stops its own anvil; none is left behind.
 */
import { existsSync, readFileSync } from 'node:fs'
import { cp, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createAnchorer, entryHash, faucet, openDeposit } from '../../ledger/index.ts'
import type { LedgerBatch, NewLedgerEntry } from '../../ledger/index.ts'
import { openNodeChain, openNodeLedger } from '../../node/chain.ts'
import { bounded, cli, setup, tempDir } from '../helpers.ts'
import { entry } from '../ledger/fixtures.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR

let chainDir: string
/** The node under test: it served (provider ledger) and bought (consumer ledger). */
let data: string
/** Its counterpart on the chain: the provider of one deposit and the consumer of another. */
let peerData: string
let batch: LedgerBatch
let depositToPeer: bigint
/** The chain folder of the test with an escrow fee. */
let feeChainDir: string | undefined

const ledgerCli = async (dir: string, ...args: string[]) =>
  await cli(['ledger', ...args, '--data', dir], { env: { CLAWNODE_CHAIN_DIR: chainDir, DEBUG: '' }, timeoutMs: 60_000 })
const json = async (dir: string, ...args: string[]): Promise<Record<string, any>> => {
  const r = await ledgerCli(dir, ...args, '--json')
  assert.is(r.code, 0, r.stderr + r.stdout)
  return JSON.parse(r.stdout) as Record<string, any>
}

/** Entry `i` of a ledger with a known amount (millicredits), output tokens and age. */
const at = (i: number, kind: 'earned' | 'spent', amount: number, outputTokens: number, ageMs: number): NewLedgerEntry =>
  entry(i, { kind, amount, outputTokens, inputTokens: 2 * outputTokens, timestampMs: Date.now() - ageMs })

test.before(setup(async () => {
  chainDir = await tempDir('clawnode-ledger-chain-')
  data = await tempDir()
  peerData = await tempDir()

  const provider = await openNodeLedger(data, 'provider')
  const consumer = await openNodeLedger(data, 'consumer')
  const node = await openNodeChain(data, { localDir: chainDir })
  const peer = await openNodeChain(peerData, { localDir: chainDir })
  assert.ok(node !== undefined && peer !== undefined)
  try {
    await provider.appendMany([
      at(1, 'earned', 5000, 400, 40 * DAY),
      at(2, 'earned', 3000, 300, 10 * DAY),
      at(3, 'earned', 2000, 200, 2 * DAY),
      at(4, 'earned', 1500, 100, HOUR)
    ])
    const run = await createAnchorer({ ledger: provider, client: node.client, anchor: node.deployment.usageAnchor, confirmations: 1 }).runOnce()
    assert.is(run.error, null)
    assert.is(run.anchored.length, 1)
    batch = run.anchored[0] as LedgerBatch
    // Served after the batch closed: not in a batch yet.
    await provider.append(at(5, 'earned', 250, 50, 60_000))
    await consumer.appendMany([at(6, 'spent', 4000, 1000, 20 * DAY), at(7, 'spent', 1234, 321, 3 * HOUR)])

    // As a consumer: 100 credits minted, 25 of them deposited for the peer, 4 spent on it.
    const expiry = BigInt(Math.floor(Date.now() / 1000) + 7 * 24 * 3600)
    await faucet(node.client, node.deployment, 100_000n)
    depositToPeer = (await openDeposit(node.client, node.deployment, { provider: peer.account.address, amount: 25_000n, expiry })).depositId
    await mkdir(join(data, 'settlement'), { recursive: true, mode: 0o700 })
    await writeFile(join(data, 'settlement', 'consumer.json'), JSON.stringify({
      deposits: { [String(depositToPeer)]: { provider: peer.account.address, escrow: node.deployment.usageEscrow, chainId: node.deployment.chainId, amount: '25000', expiry: Number(expiry), spent: '4000', signed: '4000' } }
    }, null, 2) + '\n')
    // As a provider: the peer deposited 10 credits for this node and co-signed draws of 3.5.
    await faucet(peer.client, peer.deployment, 10_000n)
    const fromPeer = (await openDeposit(peer.client, peer.deployment, { provider: node.account.address, amount: 10_000n, expiry })).depositId
    await writeFile(join(data, 'settlement', 'provider.json'), JSON.stringify({
      deposits: { [String(fromPeer)]: { consumer: peer.account.address, allocated: '3500', cosigned: { cumulative: '3500', consumerSignature: '0x', providerSignature: '0x' } } }
    }, null, 2) + '\n')
  } finally {
    await provider.close()
    await consumer.close()
    await peer.close()
    // This process started the chain: closing stops it, so each command below starts and stops its own.
    await node.close()
  }
}))

test.after(() => {
  // Ends every leftover anvil (the fee chain's too) before failing once with the list.
  const left: string[] = []
  for (const dir of [chainDir, feeChainDir]) {
    if (dir === undefined) continue
    const pidFile = join(dir, 'anvil.pid')
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim())
      try { process.kill(pid, 'SIGTERM') } catch {}
      left.push(`pid ${pid} in ${dir}`)
    }
  }
  if (left.length > 0) throw new Error(`anvil was left running: ${left.join(', ')}`)
})

/** What both ledgers hold, whatever the chain does. */
function assertLedgerPart (out: Record<string, any>): void {
  const p = out.provider
  assert.equal([p.exists, p.entries, p.totals], [true, 5, { amount: '11.75', inputTokens: '2100', outputTokens: '1050' }])
  assert.equal(p.last.map((e: { seq: number }) => e.seq), [5, 4, 3, 2, 1])
  assert.equal([p.last[0].kind, p.last[0].amount, p.last[0].outputTokens], ['earned', '0.25', 50])
  assert.equal(p.batches, { count: 1, anchored: 1, pending: 0, last: [batch] })
  assert.equal([out.consumer.entries, out.consumer.totals.amount, out.consumer.batches.count], [2, '5.234', 0])
  assert.equal(out.usage.day, { since: out.usage.day.since, tokensContributed: '150', tokensSaved: '321', earned: '1.75', spent: '1.234' })
  assert.equal(out.usage.week, { since: out.usage.week.since, tokensContributed: '350', tokensSaved: '321', earned: '3.75', spent: '1.234' })
  assert.equal(out.usage.month, { since: out.usage.month.since, tokensContributed: '650', tokensSaved: '1321', earned: '6.75', spent: '5.234' })
  assert.equal(out.usage.all, { since: null, tokensContributed: '1050', tokensSaved: '1321', earned: '11.75', spent: '5.234' })
  const sinceAgo = (iso: string): number => Date.now() - Date.parse(iso)
  assert.ok(Math.abs(sinceAgo(out.usage.week.since) - 7 * DAY) < 60_000)
  assert.equal([out.balances.earned, out.balances.spent], ['11.75', '5.234'])
}

test('ledger --json: entries, the anchored batch, usage per window, and earned, spent, locked, available, claimable', bounded(60_000, async () => {
  const out = await json(data)
  assertLedgerPart(out)
  assert.equal([batch.fromSeq, batch.toSeq, batch.anchorStatus], [1, 4, 'anchored'])
  assert.match(String(batch.anchorTxHash), /^0x[0-9a-f]{64}$/)
  assert.ok(Number(batch.anchorBlock) > 0)
  assert.equal(out.balances, { earned: '11.75', fee: '0', feeBps: 0, earnedNet: '11.75', spent: '5.234', net: '6.516', locked: '25', lockedFrom: 'chain', openDeposits: 1, available: '75', claimable: '3.5' })
  assert.equal([out.chain.mode, out.chain.reachable, out.chain.reason, out.chain.chainId], ['local', true, null, 31337])
  assert.match(out.chain.address, /^0x[0-9a-fA-F]{40}$/)
  assert.equal(out.notes, [])
}))

test('ledger prints the balances and the usage table for people', bounded(60_000, async () => {
  const r = await ledgerCli(data)
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /^ {4}#1 {2}seq 1\.\.4 {2}root 0x\S+ {2}anchored in block \d+, tx 0x[0-9a-f]{64}$/m)
  assert.match(r.stdout, /^ {2}locked +25 {2}in 1 open escrow deposit\(s\) as consumer$/m)
  assert.match(r.stdout, /^ {2}available +75 {2}in the settlement account$/m)
  assert.match(r.stdout, /^ {2}claimable +3\.5 {2}co-signed draws/m)
  assert.match(r.stdout, /^ +day +week +month +all$/m)
  assert.match(r.stdout, /^ {2}tokens contributed +150 +350 +650 +1050$/m)
  assert.match(r.stdout, /^ {2}tokens saved +321 +321 +1321 +1321$/m)
  assert.match(r.stdout, /^ {2}credits earned \(gross\) +1\.75 +3\.75 +6\.75 +11\.75$/m)
  assert.match(r.stdout, /^ {2}earned +11\.75 {2}gross: what the receipts of the leases served charged/m)
  assert.match(r.stdout, /^ {2}earned net +11\.75 {2}earned − fee/m)
  const help = await ledgerCli(data, '--help')
  assert.match(help.stdout, /tokens saved +output tokens of the consumer ledger/)
}))

test('ledger verify proves an anchored entry; an unbatched one exits 1 and says when to try again', bounded(60_000, async () => {
  const proof = await json(data, 'verify', '3')
  assert.equal([proof.ok, proof.offline, proof.onChainRoot, proof.contract, proof.seq], [true, true, true, true, 3])
  assert.is(proof.batch.txHash, batch.anchorTxHash)
  const r = await ledgerCli(data, 'verify', '5')
  assert.is(r.code, 1, r.stderr)
  assert.match(r.stderr, /Entry 5 is not in a batch yet/)
  assert.match(r.stderr, /→ The running node closes the next batch .*verify again after that/)
  assert.is((await ledgerCli(data, 'verify', 'x')).code, 2)
}))

test('with an escrow fee, earned is gross and the fee and net earned are shown: 2.5 % of 11.75 credits', bounded(90_000, async () => {
  // The same ledgers against a chain of their own whose escrow takes 250 basis points.
  const copy = await tempDir()
  await cp(data, copy, { recursive: true })
  await rm(join(copy, 'settlement'), { recursive: true })
  feeChainDir = await tempDir('clawnode-ledger-fee-chain-')
  await writeFile(join(copy, 'config.json'), JSON.stringify({ chain: { localDir: feeChainDir, feeBps: 250 } }))
  const out = await json(copy)
  assertLedgerPart(out)
  // 11,750 millicredits × 2.5 % = 293.75, rounded down as the escrow rounds.
  assert.equal(out.balances, { earned: '11.75', fee: '0.293', feeBps: 250, earnedNet: '11.457', spent: '5.234', net: '6.223', locked: '0', lockedFrom: 'chain', openDeposits: 0, available: '0', claimable: '0' })
  const human = await ledgerCli(copy)
  assert.is(human.code, 0, human.stderr)
  assert.match(human.stdout, /^ {2}fee +0\.293 {2}the escrow's 2\.5 % fee on payouts/m)
  assert.match(human.stdout, /^ {2}earned net +11\.457 {2}earned − fee: what the escrow pays this node$/m)
  assert.match(human.stdout, /^ {2}net +6\.223 {2}earned net − spent$/m)
}))

test('ledger verify without a seq checks both ledgers in full; batched entries rewritten with recomputed hashes fail it', bounded(30_000, async () => {
  const ok = await json(data, 'verify')
  assert.is(ok.ok, true)
  assert.equal(ok.ledgers.map((l: Record<string, unknown>) => [l.role, l.ok, l.entries, l.batches, l.rootsChecked]), [['provider', true, 5, 1, 1], ['consumer', true, 2, 0, 0]])
  const human = await ledgerCli(data, 'verify')
  assert.is(human.code, 0, human.stderr)
  assert.match(human.stdout, /^✓ provider ledger \(.*provider\.db\): 5 entries, every hash and link, and the Merkle roots of all 1 batches recomputed/m)
  // Entries 3..5 of the provider ledger rewritten, every hash after them recomputed: the anchored batch's root no longer matches.
  const copy = await tempDir()
  await cp(data, copy, { recursive: true })
  const file = join(copy, 'ledger', 'provider.db')
  const db = new DatabaseSync(file)
  try {
    let prev = (db.prepare('SELECT hash FROM entries WHERE seq = 2').get() as { hash: Uint8Array }).hash
    for (const seq of [3, 4, 5]) {
      const row = db.prepare('SELECT * FROM entries WHERE seq = ?').get(seq) as Record<string, any>
      const forged: NewLedgerEntry = { kind: row.kind, orderId: row.order_id, counterparty: row.counterparty, amount: 1, inputTokens: row.input_tokens, outputTokens: row.output_tokens, timestampMs: row.timestamp_ms, receipt: row.receipt, providerSignature: row.provider_signature, countersignature: row.countersignature }
      const hash = entryHash(seq, prev, forged)
      db.prepare('UPDATE entries SET amount = 1, prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, seq)
      prev = hash
    }
  } finally {
    db.close()
  }
  const bad = await ledgerCli(copy, 'verify')
  assert.is(bad.code, 1, bad.stderr + bad.stdout)
  assert.match(bad.stdout, /^✗ provider ledger .*corrupt at batch 1 \(bad-batch\): its entries 1\.\.4 hash to the Merkle root 0x[0-9a-f]{64}, not to the stored root/m)
  assert.match(bad.stdout, /anchored in block \d+/)
  assert.match(bad.stdout, /^✓ consumer ledger/m)
}))

test('a chain that does not answer: the ledger part, locked from the settlement book, the rest null with the reason', bounded(30_000, async () => {
  const copy = await tempDir()
  await cp(data, copy, { recursive: true })
  const contracts = { creditToken: `0x${'1'.repeat(40)}`, usageAnchor: `0x${'2'.repeat(40)}`, usageEscrow: `0x${'3'.repeat(40)}` }
  await writeFile(join(copy, 'config.json'), JSON.stringify({ chain: { mode: 'rpc', rpcUrl: 'http://127.0.0.1:1', chainId: 31337, contracts } }))
  const started = Date.now()
  const out = await json(copy)
  assert.ok(Date.now() - started < 15_000, 'the chain part gives up in bounded time')
  assertLedgerPart(out)
  assert.equal(out.balances, { earned: '11.75', fee: null, feeBps: null, earnedNet: null, spent: '5.234', net: '6.516', locked: '21', lockedFrom: 'book', openDeposits: 1, available: null, claimable: null })
  assert.ok(out.notes.includes('The escrow\'s fee is not known while the chain does not answer: earned and net are before it.'), out.notes.join('\n'))
  assert.equal([out.chain.mode, out.chain.reachable, out.chain.address, out.chain.chainId], ['rpc', false, null, null])
  assert.match(out.chain.reason, /http:\/\/127\.0\.0\.1:1 does not answer/)
  const human = await ledgerCli(copy)
  assert.is(human.code, 0, human.stderr)
  assert.match(human.stdout, /^ {2}chain part unavailable: The chain at http:\/\/127\.0\.0\.1:1 does not answer$/m)
  assert.match(human.stdout, /^ {2}available +—$/m)
}))

test('chain mode off: the ledger part alone, the chain part null and why', bounded(30_000, async () => {
  const copy = await tempDir()
  await cp(data, copy, { recursive: true })
  await writeFile(join(copy, 'config.json'), JSON.stringify({ chain: { mode: 'off' } }))
  const out = await json(copy)
  assertLedgerPart(out)
  assert.equal(out.balances, { earned: '11.75', fee: null, feeBps: null, earnedNet: null, spent: '5.234', net: '6.516', locked: null, lockedFrom: null, openDeposits: null, available: null, claimable: null })
  assert.equal([out.chain.mode, out.chain.reachable], ['off', false])
  assert.match(out.chain.reason, /chain\.mode is "off"/)
  const verify = await ledgerCli(copy, 'verify', '3')
  assert.is(verify.code, 2)
  assert.match(verify.stderr, /chain is off/)
}))

test.run()
