/**
 * `clawnode ledger` as a real process on the node's real ledgers and the embedded local chain (its own
 * chain folder): entries, a batch anchored with its transaction and block, earned and spent, tokens
 * contributed and saved per day / week / month, locked, available and claimable credits from real
 * escrow deposits; verify of an anchored and of an unbatched entry; and the ledger part alone when the
 * chain does not answer or is off. Every command starts and stops its own anvil; none is left behind.
 */
import { existsSync, readFileSync } from 'node:fs'
import { cp, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createAnchorer, faucet, openDeposit } from '../../ledger/index.ts'
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
  const pidFile = join(chainDir, 'anvil.pid')
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim())
    try { process.kill(pid, 'SIGTERM') } catch {}
    throw new Error(`an anvil (pid ${pid}) was left running`)
  }
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
  assert.equal([out.balances.earned, out.balances.spent, out.balances.net], ['11.75', '5.234', '6.516'])
}

test('ledger --json: entries, the anchored batch, usage per window, and earned, spent, locked, available, claimable', bounded(60_000, async () => {
  const out = await json(data)
  assertLedgerPart(out)
  assert.equal([batch.fromSeq, batch.toSeq, batch.anchorStatus], [1, 4, 'anchored'])
  assert.match(String(batch.anchorTxHash), /^0x[0-9a-f]{64}$/)
  assert.ok(Number(batch.anchorBlock) > 0)
  assert.equal(out.balances, { earned: '11.75', spent: '5.234', net: '6.516', locked: '25', lockedFrom: 'chain', openDeposits: 1, available: '75', claimable: '3.5' })
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
  assert.match(r.stdout, /^ {2}credits earned +1\.75 +3\.75 +6\.75 +11\.75$/m)
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

test('a chain that does not answer: the ledger part, locked from the settlement book, the rest null with the reason', bounded(30_000, async () => {
  const copy = await tempDir()
  await cp(data, copy, { recursive: true })
  const contracts = { creditToken: `0x${'1'.repeat(40)}`, usageAnchor: `0x${'2'.repeat(40)}`, usageEscrow: `0x${'3'.repeat(40)}` }
  await writeFile(join(copy, 'config.json'), JSON.stringify({ chain: { mode: 'rpc', rpcUrl: 'http://127.0.0.1:1', chainId: 31337, contracts } }))
  const started = Date.now()
  const out = await json(copy)
  assert.ok(Date.now() - started < 15_000, 'the chain part gives up in bounded time')
  assertLedgerPart(out)
  assert.equal(out.balances, { earned: '11.75', spent: '5.234', net: '6.516', locked: '21', lockedFrom: 'book', openDeposits: 1, available: null, claimable: null })
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
  assert.equal(out.balances, { earned: '11.75', spent: '5.234', net: '6.516', locked: null, lockedFrom: null, openDeposits: null, available: null, claimable: null })
  assert.equal([out.chain.mode, out.chain.reachable], ['off', false])
  assert.match(out.chain.reason, /chain\.mode is "off"/)
  const verify = await ledgerCli(copy, 'verify', '3')
  assert.is(verify.code, 2)
  assert.match(verify.stderr, /chain is off/)
}))

test.run()
