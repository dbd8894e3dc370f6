/**
 * The child of the kill -9 test (crash.test.ts): opens the ledger at argv[2] and appends entries
 * without end, several at a time, printing "seq k" for each one as soon as its append is acknowledged.
 * Entry k is fixtures.entry(k), numbered on from the head, so the parent knows what each seq must hold.
 */
import { openLedger } from '../../ledger/index.ts'
import { entry } from './fixtures.ts'

const IN_FLIGHT = 16
const path = process.argv[2]
if (path === undefined) throw new Error('usage: append-child.ts <ledger path>')
const ledger = await openLedger(path)
let k = ledger.head().seq
await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
  for (;;) {
    const mine = ++k
    const { seq } = await ledger.append(entry(mine))
    // Writes to a pipe are synchronous on Linux: once this returns, the parent can read the line.
    process.stdout.write(`${seq} ${mine}\n`)
  }
}))
