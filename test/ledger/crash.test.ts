/**
 * kill -9: a child process appends without end and prints each acknowledged seq; it is killed with
 * SIGKILL at a random moment, over and over, on the same file. After each kill the ledger opens (so its
 * chain verifies) and holds every acknowledged entry, with the right contents, at its seq.
 */
import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { openLedger } from '../../ledger/index.ts'
import { bounded } from '../helpers.ts'
import { entry, ledgerPath, sameEntry } from './fixtures.ts'

const KILLS = 24
const MAX_DELAY_MS = 60
const child = join(import.meta.dirname, 'append-child.ts')

/** Runs the child until it has acknowledged something, waits a random moment, kills it; its acknowledged [seq, k] pairs. */
const runAndKill = async (path: string): Promise<Array<[number, number]>> => {
  const proc = spawn(process.execPath, [child, path], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  let killTimer: NodeJS.Timeout | undefined
  proc.stderr.on('data', (c: Buffer) => { err += c.toString('utf8') })
  proc.stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8')
    killTimer ??= setTimeout(() => { proc.kill('SIGKILL') }, Math.random() * MAX_DELAY_MS)
  })
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => { proc.on('close', (c, s) => { resolve([c, s]) }) })
  clearTimeout(killTimer)
  assert.is(signal, 'SIGKILL', `the child ended by itself (code ${code}): ${err.slice(0, 2000)}`)
  // A line without its newline was cut by the kill; it was not acknowledged to us.
  const lines = out.split('\n').slice(0, -1)
  return lines.map(l => l.split(' ').map(Number) as [number, number])
}

test(`every acknowledged append survives SIGKILL, ${KILLS} times over`, bounded(60_000, async () => {
  const path = await ledgerPath()
  let acknowledged = 0
  for (let run = 0; run < KILLS; run++) {
    const acks = await runAndKill(path)
    assert.ok(acks.length > 0, `run ${run}: nothing was acknowledged`)
    const ledger = await openLedger(path)
    const head = ledger.head().seq
    for (const [seq, k] of acks) {
      assert.is(seq, k, `run ${run}: entry ${k} was stored at seq ${seq}`)
      assert.ok(seq <= head, `run ${run}: acknowledged seq ${seq} is past the head ${head}`)
      assert.ok(sameEntry(ledger.get(seq), entry(k)), `run ${run}: seq ${seq} does not hold entry ${k}`)
    }
    assert.is(ledger.count(), head)
    acknowledged += acks.length
    await ledger.close()
  }
  assert.ok(acknowledged >= KILLS)
  await rm(dirname(path), { recursive: true, force: true })
}))

test.run()
