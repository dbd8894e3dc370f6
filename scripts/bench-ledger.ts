/**
 * Ledger throughput: appends per second where each append is acknowledged only once it is durable
 * (WAL, synchronous=FULL) and both Ed25519 signatures of the receipt are verified before it is
 * appended by the product's own code (openReceipt and openReceiptAck over real signed envelopes, from
 * one provider and many consumers), with many lease handlers appending at once (group commit) and with
 * one at a time; for comparison the same with libp2p's `publicKey.verify` over the same signatures (it
 * imports the key again on every call), with node:crypto verifying directly against a cached key, and
 * without verification (the ledger alone); then the integrity check on open, and Merkle root and proof times at 100k entries (ours and, for comparison,
 * @openzeppelin/merkle-tree's StandardMerkleTree), and on a real anvil the gas of one anchor of a batch
 * of 1, 1,000 and 100,000 entries (after the provider's first anchor, which also initialises its
 * storage), anchored by the anchorer. JSON to bench-results/ledger.json and a table on stdout.
 * Usage: node scripts/bench-ledger.ts [--entries N] [--concurrency C]
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import {
  batchTree, createAnchorer, createChainClient, ensureDeployed, hashToHex, openLedger, startLocalChain, verifyProof, ANVIL_DEV_PRIVATE_KEY, LEAF_ENCODING
} from '../ledger/index.ts'
import {
  envelopeSignature, openReceipt, openReceiptAck, signedBytes, signReceipt, signReceiptAck, RECEIPT_ACK_DOMAIN, RECEIPT_ACK_PAYLOAD_TYPE, RECEIPT_DOMAIN, RECEIPT_PAYLOAD_TYPE
} from '../protocol/index.ts'
// The bench's comparison rows check the same signatures without the envelope code, so they need the payloads.
import { Envelope } from '../protocol/gen/envelope.js'
import type { NewLedgerEntry } from '../ledger/index.ts'
import type { BidInfo, OrderInfo } from '../protocol/index.ts'

const root = join(import.meta.dirname, '..')
const flag = (name: string, def: number): number => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : def }
const ENTRIES = flag('--entries', 20_000)
const CONCURRENCY = flag('--concurrency', 64)
const SEQUENTIAL = 500
/** Consumers countersigning the provider's receipts (a provider's regular customers: all fit the signer cache). */
const CONSUMERS = 256
const MERKLE_LEAVES = 100_000
const GOAL_PER_S = 5_000
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d
const percentile = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0 }
const dir = await mkdtemp(join(tmpdir(), 'clawnode-bench-ledger-'))

// Real receipts signed by one provider, each countersigned by one of CONSUMERS consumers, ahead of time.
const provider = await generateKeyPair('Ed25519')
const consumers = await Promise.all(Array.from({ length: CONSUMERS }, async () => await generateKeyPair('Ed25519')))
const providerId = peerIdFromPublicKey(provider.publicKey)
const limits = { cpus: 1, memoryMb: 512, pids: 64, wallMs: 60_000, outputBytes: 1 << 20, artifactBytes: 0, tmpMb: 64 }
const signed = await Promise.all(Array.from({ length: ENTRIES + SEQUENTIAL }, async (_, i) => {
  const consumer = consumers[i % CONSUMERS] as typeof consumers[number]
  const orderId = new Uint8Array(randomBytes(32))
  const order: OrderInfo = { orderId, consumer: peerIdFromPublicKey(consumer.publicKey), provider: providerId, kind: 'inference', image: '', model: 'bench', limits, inputDigest: new Uint8Array(32), maxPrice: 1_000, deadlineMs: Date.now() + 60_000 }
  const bid: BidInfo = { orderId, bidId: new Uint8Array(randomBytes(32)), provider: providerId, price: 1_000, estimatedStartMs: 0, expiresAtMs: Date.now() + 60_000, connectivity: 'direct', rttMs: 1 }
  const usage = { wallMs: 1_200, cpuMs: 900, peakMemoryBytes: 1 << 26, exitCode: 0, oomKilled: false, bytesOut: 4_096, inputTokens: 500, outputTokens: 250 }
  const receipt = await signReceipt(provider, order, bid, { status: 'succeeded', usage, resultDigest: new Uint8Array(randomBytes(32)), price: 100 + i % 900 })
  const ack = await signReceiptAck(consumer, receipt)
  const r = Envelope.decode(receipt)
  const a = Envelope.decode(ack)
  return {
    order, bid, consumer, receipt, ack,
    receiptSigned: signedBytes(RECEIPT_DOMAIN, RECEIPT_PAYLOAD_TYPE, r.payload), providerSignature: r.signature,
    ackSigned: signedBytes(RECEIPT_ACK_DOMAIN, RECEIPT_ACK_PAYLOAD_TYPE, a.payload), ackSignature: a.signature
  }
}))
if (!signed.every(s => Buffer.from(envelopeSignature(s.receipt)).equals(s.providerSignature))) throw new Error('envelope signatures disagree')

const entryOf = (s: typeof signed[number], i: number): NewLedgerEntry => ({
  kind: 'earned', receipt: s.receipt, providerSignature: s.providerSignature, countersignature: s.ack,
  orderId: Buffer.from(s.order.orderId).toString('hex'), counterparty: s.order.consumer.toString(), amount: 100 + i % 900, inputTokens: 500, outputTokens: 250, timestampMs: Date.now()
})

type Check = (s: typeof signed[number]) => Promise<boolean> | boolean
/** What a lease handler runs: the receipt and its countersignature opened and checked in full (envelope.ts verifies). */
const productVerify: Check = async (s) => {
  await openReceipt(s.receipt, { order: s.order, bid: s.bid })
  await openReceiptAck(s.ack, { receiptBytes: s.receipt, consumer: s.order.consumer })
  return true
}
const libp2pVerify: Check = async (s) => await provider.publicKey.verify(s.receiptSigned, s.providerSignature) && await s.consumer.publicKey.verify(s.ackSigned, s.ackSignature)
const keyObject = (raw: Uint8Array): ReturnType<typeof createPublicKey> => createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') } })
const providerKey = keyObject(provider.publicKey.raw)
const consumerKeys = new Map(consumers.map(c => [c, keyObject(c.publicKey.raw)]))
const cachedVerify: Check = (s) => verify(null, s.receiptSigned, providerKey, s.providerSignature) && verify(null, s.ackSigned, consumerKeys.get(s.consumer) as ReturnType<typeof createPublicKey>, s.ackSignature)

/** Appends `items` from `concurrency` handlers at once; each verifies both signatures (`check`), then awaits its append. */
const run = async (path: string, items: typeof signed, concurrency: number, check?: Check): Promise<{ perS: number, transactions: number, p50: number, p99: number }> => {
  const ledger = await openLedger(path)
  const latencies: number[] = []
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < items.length; i = next++) {
      const s = items[i] as typeof signed[number]
      if (check !== undefined && !(await check(s))) throw new Error('bad signature')
      const t = performance.now()
      await ledger.append(entryOf(s, i))
      latencies.push(performance.now() - t)
    }
  }))
  const ms = performance.now() - started
  const { transactions } = ledger.stats()
  await ledger.close()
  return { perS: Math.round(items.length / ms * 1000), transactions, p50: round(percentile(latencies, 0.5), 2), p99: round(percentile(latencies, 0.99), 2) }
}

const grouped = await run(join(dir, 'grouped.db'), signed.slice(0, ENTRIES), CONCURRENCY, productVerify)
const viaLibp2p = await run(join(dir, 'libp2p.db'), signed.slice(0, ENTRIES), CONCURRENCY, libp2pVerify)
const cached = await run(join(dir, 'cached.db'), signed.slice(0, ENTRIES), CONCURRENCY, cachedVerify)
const alone = await run(join(dir, 'alone.db'), signed.slice(0, ENTRIES), CONCURRENCY)
const sequential = await run(join(dir, 'sequential.db'), signed.slice(ENTRIES), 1, productVerify)

// Verifying both signatures alone, for scale.
const pairsPerS = async (check: Check): Promise<number> => {
  const t = performance.now()
  for (const s of signed.slice(0, 5_000)) await check(s)
  return Math.round(5_000 / (performance.now() - t) * 1000)
}
const verifyPairsPerS = await pairsPerS(productVerify)
const libp2pPairsPerS = await pairsPerS(libp2pVerify)
let t = performance.now()

// The integrity check on open, over a ledger of 100k entries.
const big = await openLedger(join(dir, 'big.db'))
for (let i = 0; i < MERKLE_LEAVES; i += 4_000) await big.appendMany(Array.from({ length: 4_000 }, (_, k) => entryOf(signed[(i + k) % signed.length] as typeof signed[number], i + k)))
await big.close()
t = performance.now()
await (await openLedger(join(dir, 'big.db'))).close()
const openMs = round(performance.now() - t)

// Merkle trees at 100k leaves.
const leaves = Array.from({ length: MERKLE_LEAVES }, (_, i) => ({ seq: i + 1, hash: new Uint8Array(randomBytes(32)) }))
t = performance.now()
const tree = batchTree(leaves)
const rootMs = round(performance.now() - t)
t = performance.now()
const proofs = Array.from({ length: 1_000 }, (_, i) => tree.proof(1 + i * 97))
const proofUs = round((performance.now() - t) / 1_000 * 1000, 2)
t = performance.now()
const verified = proofs.every((p, i) => verifyProof(tree.root, 1 + i * 97, leaves[i * 97]?.hash as Uint8Array, p))
const verifyProofUs = round((performance.now() - t) / 1_000 * 1000, 2)
t = performance.now()
const oz = StandardMerkleTree.of(leaves.map(l => [l.seq, hashToHex(l.hash)]), [...LEAF_ENCODING], { sortLeaves: false })
const ozRootMs = round(performance.now() - t)
if (oz.root !== tree.root || !verified) throw new Error('Merkle trees disagree')

// Gas per anchor by batch size, on a real anvil through the anchorer: a first anchor (it turns the
// provider's two storage slots non-zero, so it costs more), then batches of 1, 1,000 and 100,000.
const GAS_BATCHES = [1, 1_000, 100_000]
interface GasRow { entries: number, gasUsed: number, closeMs: number }
let gas: { first: number, batches: GasRow[], proveEntryMs: number } | { skipped: string }
try {
  const chain = await startLocalChain({ dir: join(dir, 'chain') })
  try {
    const client = createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: ANVIL_DEV_PRIVATE_KEY })
    const deployment = await ensureDeployed(join(dir, 'chain'), client)
    const ledger = await openLedger(join(dir, 'anchored.db'))
    const total = 1 + GAS_BATCHES.reduce((a, b) => a + b, 0)
    for (let i = 0; i < total; i += 4_000) {
      await ledger.appendMany(Array.from({ length: Math.min(4_000, total - i) }, (_, k) => entryOf(signed[(i + k) % signed.length] as typeof signed[number], i + k)))
    }
    const used: number[] = []
    const anchorer = createAnchorer({ ledger, client, anchor: deployment.usageAnchor, onEvent: (e) => { if (e.type === 'clawnode:anchor:anchored') used.push(Number(e.detail.gasUsed)) } })
    const rows: GasRow[] = []
    let upTo = 0
    for (const n of [1, ...GAS_BATCHES]) {
      upTo += n
      t = performance.now()
      await ledger.closeBatch(upTo)
      const closeMs = round(performance.now() - t)
      const { error } = await anchorer.runOnce({ close: false })
      if (error !== null) throw error
      rows.push({ entries: n, gasUsed: used.at(-1) ?? 0, closeMs })
    }
    // A proof from the ledger rebuilds its batch's tree from the file: the cost of `clawnode ledger verify` in a full batch.
    t = performance.now()
    await ledger.proveEntry(total - 50_000)
    const proveEntryMs = round(performance.now() - t)
    await ledger.close()
    gas = { first: rows[0]?.gasUsed ?? 0, batches: rows.slice(1), proveEntryMs }
  } finally {
    await chain.stop()
  }
} catch (err) {
  if ((err as Error).name !== 'AnvilNotFoundError') throw err
  gas = { skipped: (err as Error).message }
}
await rm(dir, { recursive: true, force: true })

const report = {
  date: new Date().toISOString(),
  cpus: (await import('node:os')).availableParallelism(),
  appends: { entries: ENTRIES, concurrency: CONCURRENCY, consumers: CONSUMERS, verifiedBy: 'openReceipt + openReceiptAck', perS: grouped.perS, transactions: grouped.transactions, entriesPerCommit: round(ENTRIES / grouped.transactions), ackMsP50: grouped.p50, ackMsP99: grouped.p99 },
  ledgerAloneAppends: { perS: alone.perS, entriesPerCommit: round(ENTRIES / alone.transactions), ackMsP50: alone.p50, ackMsP99: alone.p99 },
  libp2pVerifyAppends: { perS: viaLibp2p.perS, ackMsP50: viaLibp2p.p50, ackMsP99: viaLibp2p.p99 },
  cachedKeyAppends: { perS: cached.perS, ackMsP50: cached.p50, ackMsP99: cached.p99 },
  sequentialAppends: { entries: SEQUENTIAL, perS: sequential.perS, ackMsP50: sequential.p50, ackMsP99: sequential.p99 },
  signatureVerifyPairsPerS: verifyPairsPerS,
  libp2pVerifyPairsPerS: libp2pPairsPerS,
  openVerifyMs: { entries: MERKLE_LEAVES, ms: openMs },
  merkle: { leaves: MERKLE_LEAVES, rootMs, proofUs, verifyProofUs, openZeppelinRootMs: ozRootMs },
  anchorGas: gas,
  goal: { appendsPerS: GOAL_PER_S, met: grouped.perS >= GOAL_PER_S }
}
await mkdir(join(root, 'bench-results'), { recursive: true })
await writeFile(join(root, 'bench-results', 'ledger.json'), JSON.stringify(report, null, 2) + '\n')
process.stdout.write(`\n| ledger (${report.cpus} CPUs) | figure |\n|---|---|\n` +
  `| durable appends, both signatures verified (openReceipt + openReceiptAck), ${CONCURRENCY} handlers at once | ${grouped.perS}/s (goal ≥ ${GOAL_PER_S}/s: ${report.goal.met ? 'met' : 'NOT met'}), ${report.appends.entriesPerCommit} entries per commit, ack p50 ${grouped.p50} ms, p99 ${grouped.p99} ms |\n` +
  `| the same, libp2p publicKey.verify over the same signatures | ${viaLibp2p.perS}/s, ack p50 ${viaLibp2p.p50} ms |\n` +
  `| the same, node:crypto verifying directly against a cached key | ${cached.perS}/s, ack p50 ${cached.p50} ms |\n` +
  `| the same without verification (the ledger alone) | ${alone.perS}/s, ${report.ledgerAloneAppends.entriesPerCommit} entries per commit, ack p50 ${alone.p50} ms |\n` +
  `| durable appends one at a time (an fsync each), openReceipt + openReceiptAck | ${sequential.perS}/s, ack p50 ${sequential.p50} ms |\n` +
  `| verifying both signatures alone: openReceipt + openReceiptAck / libp2p publicKey.verify | ${verifyPairsPerS} / ${libp2pPairsPerS} pairs/s |\n` +
  `| integrity check on open, ${MERKLE_LEAVES} entries | ${openMs} ms |\n` +
  `| Merkle root, ${MERKLE_LEAVES} leaves | ${rootMs} ms (StandardMerkleTree.of: ${ozRootMs} ms, same root) |\n` +
  `| one proof from the built tree / verifying it | ${proofUs} µs / ${verifyProofUs} µs |\n` +
  ('skipped' in gas
    ? `| gas per anchor | skipped: ${gas.skipped} |\n`
    : `| gas per anchor (goal: constant, about 35k), after a first of ${gas.first} | ${gas.batches.map(b => `${b.entries} entries: ${b.gasUsed}`).join(', ')} |\n` +
      `| closing a batch (reading its entries, building its tree) | ${gas.batches.map(b => `${b.entries} entries: ${b.closeMs} ms`).join(', ')} |\n` +
      `| an entry's proof from the ledger in a batch of ${GAS_BATCHES.at(-1)} | ${gas.proveEntryMs} ms |\n`) +
  '\nJSON: bench-results/ledger.json\n')
