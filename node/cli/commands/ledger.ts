/**
 * `clawnode ledger`: what the node's two ledgers hold (the last entries, the Merkle batches with their
 * anchors), its balances (earned, spent, locked in escrow, available, claimable) and the tokens it
 * contributed and saved over the last day, week and month; `clawnode ledger verify <seq>`: an entry
 * of the provider ledger proved against the root its node anchored on chain; `clawnode ledger verify`:
 * both ledgers checked in full (ledger-check.ts).
 */
import { existsSync } from 'node:fs'
import {
  DepositNotFoundError, formatCredits, hashToHex, openLedger, proveOnChain, readDeposit, tokenBalance, MAX_RANGE_ENTRIES
} from '../../../ledger/index.ts'
import type { DepositState, LedgerBatch, LedgerEntry, LedgerTotals, OnChainProof } from '../../../ledger/index.ts'
import { ledgerPaths, openNodeChain } from '../../chain.ts'
import type { NodeChain } from '../../chain.ts'
import { loadConfig } from '../../config.ts'
import type { ChainConfig } from '../../config.ts'
import { ensureDataDir } from '../../data-dir.ts'
import { parseCommandArgs } from '../context.ts'
import type { CliContext } from '../context.ts'
import { readSettlementBook, settlementBookPath } from '../../settlement-shared.ts'
import { checkLedgers } from '../ledger-check.ts'
import { EXIT, UsageError } from '../errors.ts'
import type { Command } from '../main.ts'

/** Entries and batches shown without --limit. */
const DEFAULT_LIMIT = 20
/** The chain part (reaching or starting the chain, reading the balance and deposits) gives up after this; the ledger part is shown anyway. */
const LEDGER_CHAIN_TIMEOUT_MS = 20_000
/** Deposits of one settlement book read from the chain, the newest first; the rest are left out, and said so. */
const MAX_BOOK_DEPOSITS = 1_000
/** Deposits read from the chain at once. */
const DEPOSIT_READ_CONCURRENCY = 16
const DAY_MS = 86_400_000
/** The usage windows, back from now; a month is 30 days. */
const WINDOWS = { day: DAY_MS, week: 7 * DAY_MS, month: 30 * DAY_MS, all: Number.POSITIVE_INFINITY } as const
type WindowName = keyof typeof WINDOWS
const WINDOW_NAMES = Object.keys(WINDOWS) as WindowName[]

const USAGE = [
  'clawnode ledger [show] [--limit N]   balances, usage by day / week / month, and the last N entries (20) and batches with their anchors',
  '       clawnode ledger verify <seq>         prove entry <seq> of the provider ledger against the root anchored on chain',
  '       clawnode ledger verify               check both ledgers in full: every hash and link, and every batch\'s Merkle root',
  '                                            (opening a ledger recomputes only the newest batches\' roots)',
  '',
  'Balances, in credits:',
  '  earned      gross: the amounts of the provider ledger (what the receipts of the leases this node served charged)',
  '  fee         the escrow\'s fee on payouts (its feeBps of what is paid out, rounded down per payout: at most this)',
  '  earned net  earned − fee: what the escrow pays this node for those leases',
  '  spent       the amounts of the consumer ledger (leases this node bought)',
  '  locked      credits this node holds in open escrow deposits as a consumer (read from the chain; when it does',
  '              not answer, the settlement book\'s deposits less what was spent on them)',
  '  available   credits in the settlement account, free to deposit',
  '  claimable   draws consumers co-signed to this node as a provider, not yet paid out by the escrow',
  'Usage, for the last day, week, month (30 days) and all time:',
  '  tokens contributed   output tokens of the provider ledger: tokens this node generated for others',
  '  tokens saved         output tokens of the consumer ledger: tokens this node bought from providers',
  '                       instead of generating them on its own hardware',
  '',
  `Options: --json, --data <dir>. The chain part gives up after ${LEDGER_CHAIN_TIMEOUT_MS / 1000} s and is shown as unavailable.`
].join('\n')

type Role = 'provider' | 'consumer'

interface LedgerView {
  role: Role
  path: string
  exists: boolean
  entries: number
  totals: { amount: string, inputTokens: string, outputTokens: string }
  batches: { count: number, anchored: number, pending: number, last: LedgerBatch[] }
  last: Array<ReturnType<typeof entryView>>
}

/** A ledger's amounts and output tokens in each usage window. */
type Windows = Record<WindowName, LedgerTotals>

function entryView (e: LedgerEntry): { seq: number, hash: string, kind: string, amount: string, inputTokens: number, outputTokens: number, counterparty: string, orderId: string, time: string } {
  return {
    seq: e.seq,
    hash: hashToHex(e.hash),
    kind: e.kind,
    amount: formatCredits(BigInt(e.amount)),
    inputTokens: e.inputTokens,
    outputTokens: e.outputTokens,
    counterparty: e.counterparty,
    orderId: e.orderId,
    time: new Date(e.timestampMs).toISOString()
  }
}

async function view (role: Role, path: string, limit: number, nowMs: number, signal: AbortSignal): Promise<{ view: LedgerView, windows: Windows }> {
  const empty: LedgerTotals = { entries: 0, amount: 0n, inputTokens: 0n, outputTokens: 0n }
  const out = (totals: LedgerTotals, batches: LedgerView['batches'], last: LedgerView['last'], exists: boolean): LedgerView => ({
    role,
    path,
    exists,
    entries: totals.entries,
    totals: { amount: formatCredits(totals.amount), inputTokens: String(totals.inputTokens), outputTokens: String(totals.outputTokens) },
    batches,
    last
  })
  if (!existsSync(path)) {
    return { view: out(empty, { count: 0, anchored: 0, pending: 0, last: [] }, [], false), windows: { day: empty, week: empty, month: empty, all: empty } }
  }
  // Opening checks the whole chain (about 1 s per 100k entries); reading beside a running node is safe (WAL).
  const ledger = await openLedger(path, { signal })
  try {
    const head = ledger.head().seq
    const all = ledger.batches()
    const pending = ledger.pendingAnchors().length
    const totals = ledger.totals()
    const windows = Object.fromEntries(WINDOW_NAMES.map(w => [w, w === 'all' ? totals : ledger.totals({ sinceMs: nowMs - WINDOWS[w] })])) as Windows
    return {
      view: out(totals, { count: all.length, anchored: all.length - pending, pending, last: all.slice(-limit).reverse() },
        ledger.range(Math.max(1, head - limit + 1), head).reverse().map(entryView), true),
      windows
    }
  } finally {
    await ledger.close()
  }
}

// ———————————————————————————————————— the chain part ————————————————————————————————————

interface ChainView {
  mode: 'local' | 'rpc' | 'off'
  reachable: boolean
  /** Why the chain part is missing, or null. */
  reason: string | null
  address: string | null
  chainId: number | null
  locked: bigint | null
  /** Where `locked` comes from: the escrow on chain, or the settlement book when the chain does not answer. */
  lockedFrom: 'chain' | 'book' | null
  openDeposits: number | null
  available: bigint | null
  claimable: bigint | null
  /** The escrow's fee on payouts, basis points. */
  feeBps: number | null
}

type BookDeposit = Record<string, unknown>

/** A decimal string of millicredits from a settlement book; anything else counts as 0. */
const units = (v: unknown): bigint => typeof v === 'string' && /^\d{1,40}$/.test(v) ? BigInt(v) : 0n
const atLeastZero = (n: bigint): bigint => n < 0n ? 0n : n
const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''

/** The deposits of a settlement book (node/settlement.ts writes them), the newest first; none when there is no book. */
async function readBook (file: string, notes: string[]): Promise<Array<[string, BookDeposit]>> {
  let book: Awaited<ReturnType<typeof readSettlementBook>>
  try {
    book = await readSettlementBook(file)
  } catch (err) {
    notes.push(`${firstLine(err)}; its deposits are left out.`)
    return []
  }
  if (book === undefined) return []
  const deposits = Object.entries(book.deposits).filter((e): e is [string, BookDeposit] => /^\d{1,30}$/.test(e[0]) && typeof e[1] === 'object' && e[1] !== null)
  deposits.sort((a, b) => BigInt(a[0]) < BigInt(b[0]) ? 1 : -1)
  if (deposits.length > MAX_BOOK_DEPOSITS) notes.push(`${file} lists ${deposits.length} deposits; the newest ${MAX_BOOK_DEPOSITS} are counted.`)
  return deposits.slice(0, MAX_BOOK_DEPOSITS)
}

/** The deposits' states on chain, DEPOSIT_READ_CONCURRENCY at a time; ids the escrow does not know are left out. */
async function readDeposits (chain: NodeChain, ids: string[], signal: AbortSignal, notes: string[]): Promise<Map<string, DepositState>> {
  const states = new Map<string, DepositState>()
  for (let i = 0; i < ids.length; i += DEPOSIT_READ_CONCURRENCY) {
    await Promise.all(ids.slice(i, i + DEPOSIT_READ_CONCURRENCY).map(async (id) => {
      try {
        states.set(id, await readDeposit(chain.client, chain.deployment, BigInt(id), { signal }))
      } catch (err) {
        if (!(err instanceof DepositNotFoundError)) throw err
        notes.push(`Deposit #${id} of the settlement book is not on escrow ${chain.deployment.usageEscrow}; it is left out.`)
      }
    }))
  }
  return states
}

/** Balances from the chain: the settlement account's credits, what its consumer deposits lock and what its provider draws can claim. */
async function chainView (ctx: CliContext, config: ChainConfig, notes: string[]): Promise<ChainView> {
  const mode = config.mode ?? 'local'
  const none = { mode, reachable: false, address: null, chainId: null, locked: null, lockedFrom: null, openDeposits: null, available: null, claimable: null, feeBps: null }
  if (mode === 'off') return { ...none, reason: 'chain.mode is "off" in config.json: nothing is anchored or settled' }
  const consumer = await readBook(settlementBookPath(ctx.dataDir, 'consumer'), notes)
  const provider = await readBook(settlementBookPath(ctx.dataDir, 'provider'), notes)
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(LEDGER_CHAIN_TIMEOUT_MS)])
  let chain: NodeChain | undefined
  try {
    chain = await openNodeChain(ctx.dataDir, config, { signal })
    if (chain === undefined) return { ...none, reason: 'the chain is off' }
    const c = chain
    const me = c.account.address.toLowerCase()
    const here = consumer.filter(([, d]) => String(d.escrow).toLowerCase() === c.deployment.usageEscrow.toLowerCase() && d.chainId === c.deployment.chainId)
    if (here.length < consumer.length) notes.push(`${consumer.length - here.length} deposit(s) of the consumer book are on another chain or escrow; they are left out.`)
    const drawn = provider.filter(([, d]) => units((d.cosigned as BookDeposit | undefined)?.cumulative) > 0n)
    const [available, asConsumer, asProvider] = await Promise.all([
      tokenBalance(c.client, c.deployment, c.account.address, { signal }),
      readDeposits(c, here.map(([id]) => id), signal, notes),
      readDeposits(c, drawn.map(([id]) => id), signal, notes)
    ])
    let locked = 0n
    let openDeposits = 0
    for (const s of asConsumer.values()) {
      if (s.status === 'closed' || s.consumer.toLowerCase() !== me) continue
      locked += s.refundable
      openDeposits++
    }
    let claimable = 0n
    for (const [id, d] of drawn) {
      const s = asProvider.get(id)
      // A closed deposit pays nothing more; one of another provider is another chain's deposit of the same id.
      if (s === undefined || s.status === 'closed' || s.provider.toLowerCase() !== me) continue
      claimable += atLeastZero(units((d.cosigned as BookDeposit).cumulative) - s.settled)
    }
    return { mode, reachable: true, reason: null, address: c.account.address, chainId: c.deployment.chainId, locked, lockedFrom: 'chain', openDeposits, available, claimable, feeBps: c.deployment.feeBps }
  } catch (err) {
    ctx.signal.throwIfAborted()
    const reason = signal.aborted ? `the chain did not answer within ${LEDGER_CHAIN_TIMEOUT_MS / 1000} s` : firstLine(err)
    // The book's view: what was deposited less what was spent on it (it does not know which deposits were closed since).
    const locked = consumer.reduce((sum, [, d]) => sum + atLeastZero(units(d.amount) - units(d.spent)), 0n)
    return { ...none, reason, locked, lockedFrom: 'book', openDeposits: consumer.length }
  } finally {
    await chain?.close()
  }
}

// ———————————————————————————————————————— output ————————————————————————————————————————

const short = (h: string | null): string => h === null ? '' : `${h.slice(0, 10)}…${h.slice(-4)}`
function batchLine (b: LedgerBatch): string {
  const state = b.anchorStatus === 'anchored'
    ? `anchored in block ${b.anchorBlock ?? '?'}, tx ${b.anchorTxHash ?? '?'}`
    : b.anchorStatus === 'submitted' ? `submitted, tx ${b.anchorTxHash ?? '?'} (waiting to be mined)` : 'pending (waits for the chain)'
  return `    #${b.index}  seq ${b.fromSeq}..${b.toSeq}  root ${short(b.root)}  ${state}`
}

function human (v: LedgerView): string[] {
  const title = `${v.role} ledger (${v.path})`
  if (!v.exists) return [`${title}: none yet`]
  const verb = v.role === 'provider' ? 'earned' : 'spent'
  return [
    `${title}: ${v.entries} entries, ${verb} ${v.totals.amount} credits, ${v.totals.inputTokens} input / ${v.totals.outputTokens} output tokens`,
    `  batches: ${v.batches.count} (${v.batches.anchored} anchored, ${v.batches.pending} waiting)${v.batches.count > v.batches.last.length ? `, the last ${v.batches.last.length}:` : ''}`,
    ...v.batches.last.map(batchLine),
    ...(v.last.length === 0 ? [] : [`  the last ${v.last.length} entries:`]),
    ...v.last.map(e => `    #${e.seq}  ${e.time}  ${e.kind}  ${e.amount} credits  ${e.inputTokens} in / ${e.outputTokens} out tokens  ${e.counterparty}  order ${e.orderId}`)
  ]
}

/** Rows two spaces apart: the first column (a label) left-aligned, the figures right-aligned, a last text column (`note`) left-aligned. */
function table (rows: string[][], options: { note?: boolean } = {}): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map(r => (r[i] ?? '').length))) ?? []
  const left = (i: number, n: number): boolean => i === 0 || (options.note === true && i === n - 1)
  return rows.map(r => '  ' + r.map((cell, i) => left(i, r.length) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)).join('  ').trimEnd())
}

const credits = (n: bigint | null): string | null => n === null ? null : formatCredits(n)

async function show (ctx: CliContext, limit: number): Promise<number> {
  const paths = ledgerPaths(ctx.dataDir)
  const nowMs = Date.now()
  const provider = await view('provider', paths.provider, limit, nowMs, ctx.signal)
  const consumer = await view('consumer', paths.consumer, limit, nowMs, ctx.signal)
  const config = await loadConfig(ctx.dataDir)
  const notes: string[] = []
  const chain = await chainView(ctx, config.chain, notes)
  const earned = provider.windows.all.amount
  const spent = consumer.windows.all.amount
  // The ledger keeps what the receipts charged; the escrow pays the provider that less its fee.
  const fee = chain.feeBps === null ? null : earned * BigInt(chain.feeBps) / 10_000n
  const earnedNet = fee === null ? null : earned - fee
  if (fee === null && chain.mode !== 'off') notes.push('The escrow\'s fee is not known while the chain does not answer: earned and net are before it.')
  const usage = Object.fromEntries(WINDOW_NAMES.map(w => [w, {
    since: w === 'all' ? null : new Date(nowMs - WINDOWS[w]).toISOString(),
    tokensContributed: String(provider.windows[w].outputTokens),
    tokensSaved: String(consumer.windows[w].outputTokens),
    earned: formatCredits(provider.windows[w].amount),
    spent: formatCredits(consumer.windows[w].amount)
  }])) as Record<WindowName, { since: string | null, tokensContributed: string, tokensSaved: string, earned: string, spent: string }>
  const balances = {
    earned: formatCredits(earned),
    fee: credits(fee),
    feeBps: chain.feeBps,
    earnedNet: credits(earnedNet),
    spent: formatCredits(spent),
    net: formatCredits((earnedNet ?? earned) - spent),
    locked: credits(chain.locked),
    lockedFrom: chain.lockedFrom,
    openDeposits: chain.openDeposits,
    available: credits(chain.available),
    claimable: credits(chain.claimable)
  }
  if (ctx.json) {
    const { locked: _l, lockedFrom: _f, openDeposits: _o, available: _a, claimable: _c, feeBps: _b, ...chainJson } = chain
    ctx.stdout(JSON.stringify({ provider: provider.view, consumer: consumer.view, balances, usage, chain: chainJson, notes }, null, 2) + '\n')
    return EXIT.ok
  }
  const dash = (s: string | null): string => s ?? '—'
  const lockedWhere = chain.lockedFrom === 'chain'
    ? `in ${chain.openDeposits ?? 0} open escrow deposit(s) as consumer`
    : chain.lockedFrom === 'book' ? 'the settlement book\'s deposits less what was spent (the chain did not answer)' : ''
  const chainLine = chain.reachable
    ? `chain ${chain.chainId ?? '?'} (${chain.mode}), settlement account ${chain.address ?? '?'}`
    : `chain part unavailable: ${chain.reason ?? 'unknown'}`
  ctx.stdout([
    ...human(provider.view),
    ...human(consumer.view),
    '',
    'balances (credits)',
    ...table([
      ['earned', balances.earned, 'gross: what the receipts of the leases served charged (the provider ledger)'],
      ['fee', dash(balances.fee), chain.feeBps === null ? '' : `the escrow's ${chain.feeBps / 100} % fee on payouts (at most)`],
      ['earned net', dash(balances.earnedNet), chain.feeBps === null ? '' : 'earned − fee: what the escrow pays this node'],
      ['spent', balances.spent, 'bought, as the consumer ledger records'],
      ['net', balances.net, earnedNet === null ? 'earned − spent (before the escrow\'s fee)' : 'earned net − spent'],
      ['locked', dash(balances.locked), lockedWhere],
      ['available', dash(balances.available), chain.reachable ? 'in the settlement account' : ''],
      ['claimable', dash(balances.claimable), chain.reachable ? 'co-signed draws not yet paid to this node' : '']
    ], { note: true }),
    `  ${chainLine}`,
    '',
    'usage (a month is 30 days)',
    ...table([
      ['', ...WINDOW_NAMES],
      ['tokens contributed', ...WINDOW_NAMES.map(w => usage[w].tokensContributed)],
      ['tokens saved', ...WINDOW_NAMES.map(w => usage[w].tokensSaved)],
      ['credits earned (gross)', ...WINDOW_NAMES.map(w => usage[w].earned)],
      ['credits spent', ...WINDOW_NAMES.map(w => usage[w].spent)]
    ]),
    ...notes.map(n => `! ${n}`),
    ''
  ].join('\n'))
  return EXIT.ok
}

const mark = (ok: boolean): string => ok ? '✓' : '✗'

async function verify (ctx: CliContext, seqArg: string | undefined): Promise<number> {
  const seq = Number(seqArg)
  if (seqArg === undefined || !Number.isSafeInteger(seq) || seq < 1) throw new UsageError(`"${seqArg ?? ''}" is not an entry's seq`, 'Give the seq of a provider ledger entry: `clawnode ledger verify 42` (`clawnode ledger` lists them).')
  const path = ledgerPaths(ctx.dataDir).provider
  if (!existsSync(path)) throw new UsageError(`This node has no provider ledger (${path})`, 'Entries are written when the node serves leases (`clawnode start`); verify one of those.')
  const config = await loadConfig(ctx.dataDir)
  const chain = await openNodeChain(ctx.dataDir, config.chain, { signal: ctx.signal })
  if (chain === undefined) throw new UsageError('The chain is off in this node\'s config (chain.mode "off"), so nothing is anchored', 'Set chain.mode to "local" or "rpc" in config.json.')
  let proof: OnChainProof
  try {
    const ledger = await openLedger(path, { signal: ctx.signal })
    try {
      proof = await proveOnChain(ledger, seq, { client: chain.client, anchor: chain.deployment.usageAnchor, provider: chain.account.address }, { signal: ctx.signal })
    } finally {
      await ledger.close()
    }
  } finally {
    await chain.close()
  }
  if (ctx.json) ctx.stdout(JSON.stringify(proof, null, 2) + '\n')
  else {
    const b = proof.batch
    ctx.stdout([
      `entry ${proof.seq} (hash ${proof.entryHash}) in batch #${b.index}, seq ${b.fromSeq}..${b.toSeq}, root ${b.root}`,
      `  anchored by ${chain.account.address} in block ${b.block ?? '?'}, tx ${b.txHash ?? '?'}`,
      `  proof: ${proof.proof.length} hashes`,
      `  ${mark(proof.offline)} the proof leads to the batch root (offline)`,
      `  ${mark(proof.onChainRoot)} the root is the one anchored on chain for this range (UsageAnchor Anchored event)`,
      `  ${mark(proof.contract)} UsageAnchor.verify${proof.latest ? ' and verifyLatest (the latest batch) accept it' : ' accepts it'}`,
      proof.ok ? '✓ verified' : '✗ NOT verified: the ledger does not match what was anchored; keep the file and check it (it is verified again on every open)',
      ''
    ].join('\n'))
  }
  return proof.ok ? EXIT.ok : EXIT.failure
}

export const command: Command = {
  summary: 'The ledgers: last entries, batches and their on-chain anchors, totals and balance; verify <seq> proves an entry against its anchored root',
  usage: USAGE,
  async run (ctx, args) {
    const { values, positionals } = parseCommandArgs(args, { limit: { type: 'string' } })
    await ensureDataDir(ctx.dataDir)
    const [sub, seq, extra] = positionals
    if (extra !== undefined) throw new UsageError(`Unexpected argument "${extra}"`, USAGE)
    if (sub === 'verify') return seq === undefined ? await checkLedgers(ctx) : await verify(ctx, seq)
    if (sub !== undefined && sub !== 'show') throw new UsageError(`Unknown ledger subcommand "${sub}"`, 'The subcommands are show (the default) and verify <seq>; run `clawnode ledger --help`.')
    const limit = values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit)
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_RANGE_ENTRIES) throw new UsageError(`--limit must be a whole number from 1 to ${MAX_RANGE_ENTRIES}`)
    return await show(ctx, limit)
  }
}
