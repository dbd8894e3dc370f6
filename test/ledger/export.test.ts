/**
 * Export and import: a ledger survives the round trip with its batches and anchor state; a tampered,
 * truncated or foreign export is refused by name and leaves the target empty; an import only goes into
 * an empty ledger.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { openLedger } from '../../ledger/index.ts'
import { bounded, tempDir } from '../helpers.ts'
import { entry, ledgerPath } from './fixtures.ts'

const N = 40
const TX = `0x${'cd'.repeat(32)}` as const

/** An export of entries 1..N with two batches (the first anchored), and its lines. */
const exported = async (): Promise<{ file: string, lines: string[] }> => {
  const ledger = await openLedger(await ledgerPath())
  await ledger.appendMany(Array.from({ length: N }, (_, k) => entry(k + 1)))
  await ledger.closeBatch(15)
  await ledger.closeBatch(30)
  ledger.markAnchored(1, { txHash: TX, block: 42 })
  const file = join(await tempDir('clawnode-ledger-export-'), 'ledger.jsonl')
  const summary = await ledger.exportTo(file)
  assert.equal({ entries: summary.entries, batches: summary.batches }, { entries: N, batches: 2 })
  await ledger.close()
  return { file, lines: (await readFile(file, 'utf8')).trimEnd().split('\n') }
}

/** Imports `lines` into a new ledger and returns the error name, problem and seq it was refused with. */
const refused = async (lines: string[]): Promise<{ name: string, problem?: string, seq?: number, count: number }> => {
  const file = join(await tempDir('clawnode-ledger-export-'), 'bad.jsonl')
  await writeFile(file, lines.join('\n') + '\n')
  const ledger = await openLedger(await ledgerPath())
  try {
    await ledger.importFrom(file)
  } catch (err) {
    const e = err as { name: string, problem?: string, seq?: number }
    const count = ledger.count() + ledger.batches().length
    await ledger.close()
    return { name: e.name, ...(e.problem === undefined ? {} : { problem: e.problem }), ...(e.seq === undefined ? {} : { seq: e.seq }), count }
  }
  await ledger.close()
  assert.unreachable('the import was accepted')
  throw new Error('unreachable')
}

const edit = (lines: string[], index: number, change: (o: Record<string, unknown>) => void): string[] => {
  const copy = [...lines]
  const o = JSON.parse(copy[index] ?? '{}') as Record<string, unknown>
  change(o)
  copy[index] = JSON.stringify(o)
  return copy
}

test('export then import gives the same entries, head, batches and anchor state', bounded(15_000, async () => {
  const { file, lines } = await exported()
  assert.is(lines.length, 1 + N + 2)
  assert.equal(JSON.parse(lines[0] ?? '').format, 'clawnode-ledger-export')
  const path = await ledgerPath()
  const ledger = await openLedger(path)
  const events: string[] = []
  const summary = await ledger.importFrom(file, { onProgress: (e) => { events.push(e.type) } })
  assert.equal({ entries: summary.entries, batches: summary.batches }, { entries: N, batches: 2 })
  await ledger.close()
  const again = await openLedger(path)
  assert.is(again.count(), N)
  for (let i = 1; i <= N; i++) assert.equal(again.get(i)?.amount, entry(i).amount)
  const [one, two] = again.batches()
  assert.equal([one?.fromSeq, one?.toSeq, one?.anchorStatus, one?.anchorTxHash, one?.anchorBlock], [1, 15, 'anchored', TX, 42])
  assert.equal([two?.fromSeq, two?.toSeq, two?.anchorStatus], [16, 30, 'pending'])
  // Appends go on from the imported head.
  assert.is((await again.append(entry(N + 1))).seq, N + 1)
  assert.is((await again.closeBatch())?.fromSeq, 31)
  // A second export of the imported ledger is line for line the first, except the header's time and the new entry.
  const file2 = join(await tempDir('clawnode-ledger-export-'), 'again.jsonl')
  await again.exportTo(file2)
  const lines2 = (await readFile(file2, 'utf8')).trimEnd().split('\n')
  assert.equal(lines2.slice(1, 1 + N), lines.slice(1, 1 + N))
  assert.is(await again.importFrom(file).catch((err: Error) => err.name), 'LedgerNotEmptyError')
  await again.close()
}))

test('a tampered export is refused with LedgerCorruptError naming the entry, and nothing is imported', bounded(15_000, async () => {
  const { lines } = await exported()
  assert.equal(await refused(edit(lines, 12, o => { o.amount = (o.amount as number) + 1 })), { name: 'LedgerCorruptError', problem: 'hash-mismatch', seq: 12, count: 0 })
  assert.equal(await refused(edit(lines, 20, o => { o.receipt = Buffer.from('forged').toString('base64') })), { name: 'LedgerCorruptError', problem: 'hash-mismatch', seq: 20, count: 0 })
  const swapped = [...lines]
  ;[swapped[7], swapped[8]] = [swapped[8] ?? '', swapped[7] ?? '']
  assert.equal(await refused(swapped), { name: 'LedgerCorruptError', problem: 'gap', seq: 7, count: 0 })
  assert.equal(await refused(lines.filter((_, i) => i !== 25)), { name: 'LedgerCorruptError', problem: 'gap', seq: 25, count: 0 })
  assert.equal(await refused(edit(lines, 5, o => { o.kind = 'stolen' })), { name: 'LedgerCorruptError', problem: 'malformed', seq: 5, count: 0 })
  assert.equal(await refused(edit(lines, N + 1, o => { o.root = `0x${'00'.repeat(32)}` })), { name: 'LedgerCorruptError', problem: 'bad-batch', seq: 1, count: 0 })
  assert.equal(await refused(edit(lines, N + 2, o => { o.fromSeq = 17 })), { name: 'LedgerCorruptError', problem: 'bad-batch', seq: 2, count: 0 })
}))

test('a truncated export is refused: the header says how much there should be', bounded(15_000, async () => {
  const { lines } = await exported()
  assert.equal(await refused(lines.slice(0, N)), { name: 'LedgerCorruptError', problem: 'truncated', seq: N, count: 0 })
  assert.equal(await refused(lines.slice(0, N + 2)), { name: 'LedgerCorruptError', problem: 'truncated', seq: N + 1, count: 0 })
}))

test('a file that is not an export, or of another version, is refused by name', bounded(15_000, async () => {
  const { lines } = await exported()
  assert.is((await refused(['hello', 'world'])).name, 'UnsupportedLedgerFormatError')
  assert.is((await refused(edit(lines, 0, o => { o.version = 99 }))).name, 'UnsupportedLedgerFormatError')
  assert.equal(await refused([lines[0] ?? '', 'x'.repeat(300 * 1024)]), { name: 'LedgerCorruptError', problem: 'malformed', seq: 0, count: 0 })
}))

test.run()
