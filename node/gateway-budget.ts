/**
 * The gateway's daily spending budget: what today's completions cost (UTC days), persisted in
 * `<data>/gateway-spend.json` by atomic writes so that a restart does not hand out the day's budget
 * again. A request reserves its price ceiling before it is sent to the network and is refused when
 * the rest of the day's budget, less what requests in flight may still cost, is below it.
 */
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { ClawnodeError } from '../protocol/index.ts'
import { writeFileAtomic } from '../sandbox/index.ts'

const log = logger('clawnode:gateway')

export const GATEWAY_SPEND_FILE = 'gateway-spend.json'
/** Largest spend file read: it holds a date and a number. */
const MAX_SPEND_FILE_BYTES = 4096

export class DailyBudgetExceededError extends ClawnodeError {
  static override name = 'DailyBudgetExceededError'
  /** When the budget starts afresh: the next midnight UTC. */
  readonly resetsAt: Date
  constructor (ceiling: number, remaining: number, budget: number, resetsAt: Date) {
    super(`The gateway's daily budget is spent: ${remaining} of ${budget} millicredits are left today (UTC), less than this request's price ceiling of ${ceiling}`, {
      hint: `Send a lower max_price (at most ${remaining}) or a smaller max_tokens, raise the gateway's daily budget, or wait until ${resetsAt.toISOString()}.`
    })
    this.resetsAt = resetsAt
  }
}

export class GatewaySpendFileError extends ClawnodeError {
  static override name = 'GatewaySpendFileError'
  constructor (path: string, problem: string, options: { cause?: unknown } = {}) {
    // Never start from zero over a file we cannot read: that would hand out the day's budget again.
    super(`The gateway's spend record ${path} ${problem}`, { ...options, hint: `Fix it to {"date":"YYYY-MM-DD","spent":<millicredits>}, or delete it to count today's spending from zero.` })
  }
}

/** A request's hold on the budget, from before it is sent until it is charged or released. */
export interface BudgetReservation {
  /** Adds what the request cost to the day's spending and persists it; ends the reservation. */
  charge: (price: number) => Promise<void>
  /** Ends the reservation without a charge (the request failed). Idempotent. */
  release: () => void
}

export interface SpendLedger {
  /** Holds `ceiling` millicredits for one request, or throws DailyBudgetExceededError. */
  reserve: (ceiling: number) => BudgetReservation
  /** Today's figures, in millicredits. */
  status: () => { date: string, spent: number, reserved: number, budget: number, remaining: number }
  /** Resolves once every charge so far is on disk. */
  flush: () => Promise<void>
}

/** Reads (or starts) the data dir's spend record. */
export async function openSpendLedger (dataDir: string, budget: number): Promise<SpendLedger> {
  const path = join(dataDir, GATEWAY_SPEND_FILE)
  let state = await readSpend(path)
  let reserved = 0
  let writes: Promise<void> = Promise.resolve()

  const today = (): { date: string, spent: number } => {
    const date = utcDate(new Date())
    if (state.date !== date) state = { date, spent: 0 }
    return state
  }
  const persist = async (): Promise<void> => {
    // Writes run one after another, each with the state as it is then: the last one on disk is the latest.
    writes = writes.then(async () => { await writeFileAtomic(path, JSON.stringify(state) + '\n', 0o600) }).catch((err: unknown) => {
      log.error('could not record the gateway spending in %s: %e', path, err)
    })
    await writes
  }

  return {
    reserve (ceiling) {
      const { spent } = today()
      const remaining = Math.max(0, budget - spent - reserved)
      if (remaining < ceiling) throw new DailyBudgetExceededError(ceiling, remaining, budget, nextUtcMidnight())
      reserved += ceiling
      let open = true
      const end = (): void => { if (open) { open = false; reserved -= ceiling } }
      return {
        async charge (price) {
          end()
          today().spent += price
          await persist()
        },
        release: end
      }
    },
    status () {
      const { date, spent } = today()
      return { date, spent, reserved, budget, remaining: Math.max(0, budget - spent - reserved) }
    },
    async flush () { await writes }
  }
}

async function readSpend (path: string): Promise<{ date: string, spent: number }> {
  let text: string
  try {
    const fh = await open(path, 'r')
    try {
      const stats = await fh.stat()
      if (!stats.isFile() || stats.size > MAX_SPEND_FILE_BYTES) throw new GatewaySpendFileError(path, `is not a file of at most ${MAX_SPEND_FILE_BYTES} bytes`)
      text = await fh.readFile('utf8')
    } finally { await fh.close() }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { date: utcDate(new Date()), spent: 0 }
    throw err instanceof GatewaySpendFileError ? err : new GatewaySpendFileError(path, 'cannot be read', { cause: err })
  }
  let data: unknown
  try { data = JSON.parse(text) } catch (err) { throw new GatewaySpendFileError(path, 'is not JSON', { cause: err }) }
  const { date, spent } = (typeof data === 'object' && data !== null ? data : {}) as { date?: unknown, spent?: unknown }
  if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date) || !Number.isSafeInteger(spent) || (spent as number) < 0) {
    throw new GatewaySpendFileError(path, 'does not hold a date (YYYY-MM-DD) and a whole number of millicredits spent')
  }
  return { date, spent: spent as number }
}

function utcDate (d: Date): string {
  return d.toISOString().slice(0, 10)
}

function nextUtcMidnight (): Date {
  const d = new Date()
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1))
}
