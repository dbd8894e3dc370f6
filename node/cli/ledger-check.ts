/**
 * `clawnode ledger verify` without a seq: the full integrity check of the node's two ledgers, every
 * hash and link and every batch's Merkle root recomputed. Opening a ledger recomputes only the newest
 * batches' roots (ledger/store.ts), which catches any rewrite of batched entries whose hashes were
 * recomputed; this check also catches stored roots rewritten along with them.
 */
import { existsSync } from 'node:fs'
import { openLedger } from '../../ledger/index.ts'
import { ledgerPaths } from '../chain.ts'
import type { CliContext } from './context.ts'
import { EXIT } from './errors.ts'

interface CheckView {
  role: 'provider' | 'consumer'
  path: string
  exists: boolean
  ok: boolean
  entries: number
  batches: number
  rootsChecked: number
  ms: number
  /** The first fault, in LedgerCorruptError's words; null when the ledger is intact. */
  error: { problem: string, seq: number, message: string, hint: string } | null
}

async function check (role: CheckView['role'], path: string, ctx: CliContext): Promise<CheckView> {
  const none = { role, path, entries: 0, batches: 0, rootsChecked: 0, ms: 0 }
  if (!existsSync(path)) return { ...none, exists: false, ok: true, error: null }
  const started = performance.now()
  const fault = (err: unknown): CheckView['error'] => {
    const e = err as { name?: string, problem?: string, seq?: number, message: string, hint?: string }
    if (e.name !== 'LedgerCorruptError') throw err
    return { problem: e.problem ?? '', seq: e.seq ?? 0, message: e.message, hint: e.hint ?? '' }
  }
  let ledger
  try {
    ledger = await openLedger(path, { signal: ctx.signal })
  } catch (err) {
    return { ...none, exists: true, ok: false, ms: performance.now() - started, error: fault(err) }
  }
  try {
    const report = await ledger.verify({ signal: ctx.signal })
    const ms = Math.round(performance.now() - started)
    if (report.ok) return { ...none, exists: true, ok: true, entries: report.entries, batches: report.batches, rootsChecked: report.rootsChecked, ms, error: null }
    return { ...none, exists: true, ok: false, entries: report.entries, ms, error: fault(report.error) }
  } finally {
    await ledger.close()
  }
}

/** Checks both ledgers in full; exit 0 when both are intact (or absent), 1 otherwise. */
export async function checkLedgers (ctx: CliContext): Promise<number> {
  const paths = ledgerPaths(ctx.dataDir)
  const views = [await check('provider', paths.provider, ctx), await check('consumer', paths.consumer, ctx)]
  const ok = views.every(v => v.ok)
  if (ctx.json) {
    ctx.stdout(JSON.stringify({ ok, ledgers: views }, null, 2) + '\n')
  } else {
    ctx.stdout([
      ...views.map(v => {
        const title = `${v.role} ledger (${v.path})`
        if (!v.exists) return `  ${title}: none yet`
        if (v.error !== null) return `✗ ${title}: ${v.error.message}\n  → ${v.error.hint}`
        return `✓ ${title}: ${v.entries} entries, every hash and link, and the Merkle roots of all ${v.rootsChecked} batches recomputed (${v.ms} ms)`
      }),
      ''
    ].join('\n'))
  }
  return ok ? EXIT.ok : EXIT.failure
}
