/**
 * The ledger store: appends are chained and acknowledged only once committed, concurrent appends share
 * commits (group commit), reads and totals, and the failure paths (bad entry, full queue, abort, closed).
 */
import { DatabaseSync } from 'node:sqlite'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { entryHash, openLedger, MAX_PENDING_APPENDS, MAX_RANGE_ENTRIES, ZERO_HASH } from '../../ledger/index.ts'
import { bounded } from '../helpers.ts'
import { entry, ledgerPath, sameEntry } from './fixtures.ts'

test('appends are numbered from 1, chained by prevHash, and read back as written', bounded(10_000, async () => {
  const ledger = await openLedger(await ledgerPath())
  assert.equal(ledger.head(), { seq: 0, hash: ZERO_HASH })
  for (let i = 1; i <= 12; i++) {
    const head = await ledger.append(entry(i))
    assert.is(head.seq, i)
  }
  assert.is(ledger.count(), 12)
  let prev = ZERO_HASH
  for (let i = 1; i <= 12; i++) {
    const e = ledger.get(i)
    assert.ok(sameEntry(e, entry(i)), `entry ${i}`)
    assert.equal(e?.prevHash, prev)
    assert.equal(e?.hash, entryHash(i, prev, entry(i)))
    prev = e?.hash ?? ZERO_HASH
  }
  assert.equal(ledger.head(), { seq: 12, hash: prev })
  assert.is(ledger.get(13), undefined)
  assert.equal(ledger.range(3, 6).map(e => e.seq), [3, 4, 5, 6])
  assert.equal(ledger.range(11, 20).map(e => e.seq), [11, 12])
  assert.equal(ledger.range(6, 3), [])
  assert.throws(() => ledger.range(1, MAX_RANGE_ENTRIES + 1), (err: Error) => err.name === 'LedgerRangeTooLargeError')
  assert.is((await ledger.verify()).ok, true)
  await ledger.close()
}))

test('totals sum amounts and tokens by kind and time window', bounded(10_000, async () => {
  const ledger = await openLedger(await ledgerPath())
  await ledger.appendMany(Array.from({ length: 30 }, (_, k) => entry(k + 1)))
  const all = ledger.totals()
  const sum = (f: (i: number) => number, pick: (i: number) => boolean = () => true): bigint => {
    let s = 0n
    for (let i = 1; i <= 30; i++) if (pick(i)) s += BigInt(f(i))
    return s
  }
  assert.equal(all, { entries: 30, amount: sum(i => 1000 + i), inputTokens: sum(i => 10 * i), outputTokens: sum(i => 5 * i) })
  const spent = ledger.totals({ kind: 'spent' })
  assert.equal(spent, { entries: 10, amount: sum(i => 1000 + i, i => i % 3 === 0), inputTokens: sum(i => 10 * i, i => i % 3 === 0), outputTokens: sum(i => 5 * i, i => i % 3 === 0) })
  const since = entry(21).timestampMs
  assert.is(ledger.totals({ sinceMs: since }).entries, 10)
  // 21..24, of which 22 and 23 are earned (every third entry is spent).
  assert.is(ledger.totals({ sinceMs: since, untilMs: entry(25).timestampMs, kind: 'earned' }).entries, 2)
  await ledger.close()
}))

test('an append resolves only once its entry is committed: another connection sees it then, not before', bounded(10_000, async () => {
  const path = await ledgerPath()
  const ledger = await openLedger(path)
  const reader = new DatabaseSync(path, { readOnly: true })
  const rows = (): number => reader.prepare('SELECT count(*) AS n FROM entries').get()?.n as number
  const pending = ledger.append(entry(1))
  assert.is(rows(), 0)
  await pending
  assert.is(rows(), 1)
  reader.close()
  await ledger.close()
}))

test('concurrent appends share commits (group commit) and keep the order they were made in', bounded(20_000, async () => {
  const ledger = await openLedger(await ledgerPath())
  const n = 2_000
  const heads = await Promise.all(Array.from({ length: n }, async (_, k) => await ledger.append(entry(k + 1))))
  assert.equal(heads.map(h => h.seq), Array.from({ length: n }, (_, k) => k + 1))
  const { appended, transactions, pending } = ledger.stats()
  assert.is(appended, n)
  assert.is(pending, 0)
  assert.ok(transactions < n / 100, `${transactions} transactions for ${n} appends`)
  for (const seq of [1, 777, n]) assert.ok(sameEntry(ledger.get(seq), entry(seq)))
  // Appends that arrive while handlers await earlier ones are grouped too.
  await Promise.all(Array.from({ length: 50 }, async (_, w) => { for (let k = 0; k < 10; k++) await ledger.append(entry(n + 1 + w * 10 + k)) }))
  assert.ok(ledger.stats().transactions - transactions <= 20, `${ledger.stats().transactions - transactions} transactions for 500 appends by 50 handlers`)
  assert.is((await ledger.verify()).ok, true)
  await ledger.close()
}))

test('a bad entry, a full queue, an aborted append and a closed ledger are refused by name', bounded(20_000, async () => {
  const path = await ledgerPath()
  const ledger = await openLedger(path)
  const refused = async (p: Promise<unknown>, name: string): Promise<void> => {
    try { await p } catch (err) { assert.is((err as Error).name, name); return }
    assert.unreachable(`expected ${name}`)
  }
  await refused(ledger.append(entry(1, { amount: -1 })), 'InvalidLedgerEntryError')
  await refused(ledger.append(entry(1, { amount: 2 ** 53 })), 'InvalidLedgerEntryError')
  await refused(ledger.append(entry(1, { orderId: 'XYZ' })), 'InvalidLedgerEntryError')
  await refused(ledger.append(entry(1, { kind: 'stolen' as 'earned' })), 'InvalidLedgerEntryError')
  await refused(ledger.append(entry(1, { receipt: new Uint8Array(64 * 1024 + 1) })), 'InvalidLedgerEntryError')
  await refused(ledger.appendMany(Array.from({ length: MAX_PENDING_APPENDS + 1 }, () => entry(1))), 'LedgerQueueFullError')
  const controller = new AbortController()
  const aborted = ledger.append(entry(1), { signal: controller.signal })
  controller.abort()
  await refused(aborted, 'AbortError')
  await refused(ledger.append(entry(1), { signal: AbortSignal.abort() }), 'AbortError')
  assert.is(ledger.count(), 0)
  // Appends queued when close() is called are committed before the file is closed.
  const queued = ledger.append(entry(1))
  await ledger.close()
  assert.is((await queued).seq, 1)
  await refused(ledger.append(entry(2)), 'LedgerClosedError')
  assert.throws(() => ledger.get(1), (err: Error) => err.name === 'LedgerClosedError')
  const again = await openLedger(path)
  assert.ok(sameEntry(again.get(1), entry(1)))
  assert.is(again.count(), 1)
  await again.close()
}))

test('a file that is not a ledger is refused by name', bounded(10_000, async () => {
  const path = await ledgerPath()
  const { writeFile } = await import('node:fs/promises')
  await writeFile(path, 'not a database at all, just text that is long enough to look like a header')
  try { await openLedger(path); assert.unreachable() } catch (err) { assert.is((err as Error).name, 'UnsupportedLedgerFormatError') }
}))

test.run()
