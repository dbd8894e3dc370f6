/**
 * Merkle batches: each follows on from the last, its root is merkle.ts's root of its entries, anchor
 * state persists across reopening, and an entry's proof from the store verifies.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { batchRoot, openLedger, verifyProof, MAX_BATCH_ENTRIES } from '../../ledger/index.ts'
import { bounded } from '../helpers.ts'
import { entry, ledgerPath } from './fixtures.ts'
import type { Ledger } from '../../ledger/index.ts'

const append = async (ledger: Ledger, from: number, to: number): Promise<void> => {
  await ledger.appendMany(Array.from({ length: to - from + 1 }, (_, k) => entry(from + k)))
}
const rootOf = (ledger: Ledger, from: number, to: number): string => batchRoot(ledger.range(from, to).map(e => ({ seq: e.seq, hash: e.hash })))
const TX = `0x${'ab'.repeat(32)}` as const

test('batches follow on, cover the new entries up to the head or a given seq, and carry their Merkle root', bounded(10_000, async () => {
  const ledger = await openLedger(await ledgerPath())
  assert.is(await ledger.closeBatch(), null)
  await append(ledger, 1, 5)
  const first = await ledger.closeBatch()
  assert.equal(first && { index: first.index, fromSeq: first.fromSeq, toSeq: first.toSeq, anchorStatus: first.anchorStatus }, { index: 1, fromSeq: 1, toSeq: 5, anchorStatus: 'pending' })
  assert.is(first?.root, rootOf(ledger, 1, 5))
  assert.is(await ledger.closeBatch(), null)
  await append(ledger, 6, 9)
  const second = await ledger.closeBatch(7)
  assert.equal([second?.index, second?.fromSeq, second?.toSeq], [2, 6, 7])
  assert.is(await ledger.closeBatch(3), null, 'a seq already in a batch closes nothing')
  const third = await ledger.closeBatch(1_000)
  assert.equal([third?.index, third?.fromSeq, third?.toSeq], [3, 8, 9])
  assert.is(third?.root, rootOf(ledger, 8, 9))
  assert.equal(ledger.batches().map(b => [b.fromSeq, b.toSeq]), [[1, 5], [6, 7], [8, 9]])
  assert.ok(MAX_BATCH_ENTRIES >= 1_000)
  await ledger.close()
}))

test('anchor state persists, pendingAnchors lists the batches not yet anchored, unknown batches are refused', bounded(10_000, async () => {
  const path = await ledgerPath()
  const ledger = await openLedger(path)
  await append(ledger, 1, 3)
  await ledger.closeBatch()
  await append(ledger, 4, 6)
  await ledger.closeBatch()
  assert.equal(ledger.pendingAnchors().map(b => b.index), [1, 2])
  ledger.markSubmitted(1, { txHash: TX })
  assert.equal(ledger.pendingAnchors().map(b => [b.index, b.anchorStatus, b.anchorTxHash]), [[1, 'submitted', TX], [2, 'pending', null]])
  ledger.markAnchored(1, { txHash: TX, block: 1234 })
  assert.throws(() => { ledger.markAnchored(9, { txHash: TX, block: 1 }) }, (err: Error) => err.name === 'BatchNotFoundError')
  assert.throws(() => { ledger.markAnchored(2, { txHash: '0x12', block: 1 }) }, (err: Error) => err.name === 'InvalidParametersError')
  await ledger.close()
  const again = await openLedger(path)
  const [one, two] = again.batches()
  assert.equal([one?.anchorStatus, one?.anchorTxHash, one?.anchorBlock], ['anchored', TX, 1234])
  assert.equal([two?.anchorStatus, two?.anchorTxHash, two?.anchorBlock], ['pending', null, null])
  assert.equal(again.pendingAnchors().map(b => b.index), [2])
  await again.close()
}))

test('the proof of an entry in a batch verifies against the batch root; an entry outside a batch has none', bounded(10_000, async () => {
  const ledger = await openLedger(await ledgerPath())
  await append(ledger, 1, 11)
  await ledger.closeBatch(4)
  const batch = await ledger.closeBatch(10)
  for (const seq of [5, 6, 10]) {
    const p = await ledger.proveEntry(seq)
    assert.is(p?.batch.index, 2)
    assert.ok(p !== null && verifyProof(batch?.root ?? '0x', seq, p.hash, p.proof), `seq ${seq}`)
    assert.not.ok(p !== null && verifyProof(batch?.root ?? '0x', seq + 1, p.hash, p.proof))
  }
  assert.is(await ledger.proveEntry(11), null)
  await ledger.close()
}))

test.run()
