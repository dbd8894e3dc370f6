/**
 * The integrity check on open: an entry edited in the SQLite file, rows moved, a row removed, an entry
 * rewritten with a fresh hash, a tail cut off below a batch, and batched entries rewritten with every
 * hash after them recomputed (the batch's Merkle root no longer matches) are each found and named by
 * seq (or batch) and problem; `verify()` reports the same on an open ledger, and checks every root.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { entryHash, openLedger, LEDGER_OPEN_ROOT_CHECK_ENTRIES } from '../../ledger/index.ts'
import { bounded } from '../helpers.ts'
import { entry, ledgerPath, tamper } from './fixtures.ts'
import type { LedgerCorruptError, LedgerProblem } from '../../ledger/index.ts'

const N = 20

/** A closed ledger of entries 1..N. */
const filled = async (batchTo?: number): Promise<string> => {
  const path = await ledgerPath()
  const ledger = await openLedger(path)
  await ledger.appendMany(Array.from({ length: N }, (_, k) => entry(k + 1)))
  if (batchTo !== undefined) await ledger.closeBatch(batchTo)
  await ledger.close()
  return path
}

const refusedOnOpen = async (path: string, seq: number, problem: LedgerProblem): Promise<LedgerCorruptError> => {
  try {
    await openLedger(path)
  } catch (err) {
    const e = err as LedgerCorruptError
    assert.is(e.name, 'LedgerCorruptError', e.message)
    assert.is(e.problem, problem, e.message)
    assert.is(e.seq, seq, e.message)
    assert.match(e.message, `${seq}`)
    assert.match(e.hint, /restore/i)
    return e
  }
  assert.unreachable('the ledger opened')
  throw new Error('unreachable')
}

test('an amount edited in the file is a hash mismatch at that seq', bounded(10_000, async () => {
  const path = await filled()
  tamper(path, 'UPDATE entries SET amount = amount + 1 WHERE seq = 7')
  await refusedOnOpen(path, 7, 'hash-mismatch')
}))

test('receipt bytes edited in the file are a hash mismatch at that seq', bounded(10_000, async () => {
  const path = await filled()
  const receipt = Uint8Array.from(entry(13).receipt)
  receipt[100] = (receipt[100] ?? 0) ^ 1
  tamper(path, 'UPDATE entries SET receipt = ? WHERE seq = 13', receipt)
  await refusedOnOpen(path, 13, 'hash-mismatch')
}))

test('two rows that swapped seqs are reported as reordered at the first', bounded(10_000, async () => {
  const path = await filled()
  tamper(path, 'UPDATE entries SET seq = -1 WHERE seq = 5')
  tamper(path, 'UPDATE entries SET seq = 5 WHERE seq = 11')
  tamper(path, 'UPDATE entries SET seq = 11 WHERE seq = -1')
  const err = await refusedOnOpen(path, 5, 'reordered')
  assert.match(err.message, /written as seq 11/)
  // Neighbours too, where the moved entry's predecessor has moved as well.
  const next = await filled()
  tamper(next, 'UPDATE entries SET seq = -1 WHERE seq = 8')
  tamper(next, 'UPDATE entries SET seq = 8 WHERE seq = 9')
  tamper(next, 'UPDATE entries SET seq = 9 WHERE seq = -1')
  assert.match((await refusedOnOpen(next, 8, 'reordered')).message, /written as seq 9/)
}))

test('a removed row is a gap at its seq', bounded(10_000, async () => {
  const path = await filled()
  tamper(path, 'DELETE FROM entries WHERE seq = 6')
  await refusedOnOpen(path, 6, 'gap')
  const first = await filled()
  tamper(first, 'DELETE FROM entries WHERE seq = 1')
  await refusedOnOpen(first, 1, 'gap')
}))

test('an entry rewritten with a correct fresh hash breaks the link of the entry after it', bounded(10_000, async () => {
  const path = await filled()
  const ledger = await openLedger(path)
  const five = ledger.get(5)
  await ledger.close()
  if (five === undefined) return assert.unreachable()
  const forged = { ...entry(5), amount: 1 }
  tamper(path, 'UPDATE entries SET amount = 1, hash = ? WHERE seq = 5', entryHash(5, five.prevHash, forged))
  await refusedOnOpen(path, 6, 'broken-link')
}))

test('entries cut off below a batch are reported as truncated', bounded(10_000, async () => {
  const path = await filled(N)
  tamper(path, `DELETE FROM entries WHERE seq > ${N - 3}`)
  assert.match((await refusedOnOpen(path, N - 2, 'truncated')).message, `entries ${N - 2}..${N} were removed`)
}))

/** Rewrites entries fromSeq..N of a closed ledger as a forger would: new amounts, every hash and link after them recomputed. */
const rewriteTail = async (path: string, fromSeq: number): Promise<void> => {
  const ledger = await openLedger(path)
  let prev = ledger.get(fromSeq - 1)?.hash ?? new Uint8Array(32)
  await ledger.close()
  for (let seq = fromSeq; seq <= N; seq++) {
    const forged = entry(seq, { amount: 1 })
    const hash = entryHash(seq, prev, forged)
    tamper(path, 'UPDATE entries SET amount = 1, prev_hash = ?, hash = ? WHERE seq = ?', prev, hash, seq)
    prev = hash
  }
}

test('tail entries of a batched ledger rewritten with recomputed hashes: the batch root no longer matches on open', bounded(10_000, async () => {
  const path = await filled(10)
  const ledger = await openLedger(path)
  await ledger.closeBatch()
  await ledger.close()
  await rewriteTail(path, N - 2)
  const err = await refusedOnOpen(path, 2, 'bad-batch')
  assert.match(err.message, /corrupt at batch 2 \(bad-batch\): its entries 11\.\.20 hash to the Merkle root 0x[0-9a-f]{64}, not to the stored root 0x[0-9a-f]{64}/)
  assert.match(err.message, /rewritten, with the chain's hashes recomputed/)
  // The last entry alone, and a rewrite inside the first batch (which changes every later hash), are found too.
  const last = await filled(N)
  await rewriteTail(last, N)
  await refusedOnOpen(last, 1, 'bad-batch')
  const early = await filled(10)
  const reopened = await openLedger(early)
  await reopened.closeBatch()
  await reopened.close()
  await rewriteTail(early, 4)
  await refusedOnOpen(early, 1, 'bad-batch')
}))

test('an anchored batch whose entries were rewritten names its anchor', bounded(10_000, async () => {
  const path = await filled(N)
  const ledger = await openLedger(path)
  ledger.markAnchored(1, { txHash: `0x${'ab'.repeat(32)}`, block: 42 })
  await ledger.close()
  await rewriteTail(path, 7)
  assert.match((await refusedOnOpen(path, 1, 'bad-batch')).message, new RegExp(`anchored in block 42 \\(tx 0x${'ab'.repeat(32)}\\)`))
}))

test('on open only the newest batches\' roots are recomputed; verify() recomputes them all', bounded(60_000, async () => {
  // Batch 1 (1,000 entries) lies beyond LEDGER_OPEN_ROOT_CHECK_ENTRIES behind the newest batch.
  const path = await ledgerPath()
  const ledger = await openLedger(path)
  const total = 1_000 + LEDGER_OPEN_ROOT_CHECK_ENTRIES
  for (let i = 0; i < total; i += 4_000) await ledger.appendMany(Array.from({ length: Math.min(4_000, total - i) }, (_, k) => entry(i + k + 1)))
  await ledger.closeBatch(1_000)
  await ledger.closeBatch()
  const full = await ledger.verify()
  assert.ok(full.ok && full.rootsChecked === 2, JSON.stringify(full))
  await ledger.close()
  // Only a forger who also rewrote the newer stored roots gets past the open: here, a stored root edited alone.
  tamper(path, 'UPDATE batches SET root = ? WHERE idx = 1', new Uint8Array(32).fill(7))
  const opened = await openLedger(path)
  try {
    const recent = await opened.verify({ roots: 'recent' })
    assert.ok(recent.ok && recent.rootsChecked === 1, JSON.stringify(recent))
    const report = await opened.verify()
    assert.is(report.ok, false)
    if (report.ok) return
    assert.equal([report.fault.problem, report.fault.seq], ['bad-batch', 1])
    assert.match(report.error.message, /not to the stored root 0x(07){32}/)
  } finally {
    await opened.close()
  }
}))

test('a value of the wrong type in a row is reported as malformed', bounded(10_000, async () => {
  const path = await filled()
  tamper(path, 'UPDATE entries SET kind = ? WHERE seq = 3', 'stolen')
  await refusedOnOpen(path, 3, 'malformed')
}))

test('verify() on an open ledger reports the first fault without throwing', bounded(10_000, async () => {
  const path = await filled()
  const ledger = await openLedger(path)
  tamper(path, 'UPDATE entries SET output_tokens = 0 WHERE seq = 9')
  tamper(path, 'UPDATE entries SET output_tokens = 0 WHERE seq = 15')
  const report = await ledger.verify()
  assert.is(report.ok, false)
  if (report.ok) return
  assert.equal({ seq: report.fault.seq, problem: report.fault.problem, entries: report.entries }, { seq: 9, problem: 'hash-mismatch', entries: 8 })
  assert.is(report.error.name, 'LedgerCorruptError')
  await ledger.close()
}))

test('the check on open reports progress and honours its signal', bounded(10_000, async () => {
  const path = await filled()
  const events: number[] = []
  const ledger = await openLedger(path, { onProgress: (e) => { if (e.type === 'clawnode:ledger:verify') events.push(e.detail.checked) } })
  assert.equal(events.at(-1), N)
  await ledger.close()
  try { await openLedger(path, { signal: AbortSignal.abort() }); assert.unreachable() } catch (err) { assert.is((err as Error).name, 'AbortError') }
}))

test.run()
