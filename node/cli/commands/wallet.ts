/**
 * `clawnode wallet`: the node's settlement account on its chain: address, balances, the escrow
 * deposits it holds as a consumer and as a provider; the local faucet; opening, topping up, extending
 * and closing deposits; and the export of the key. Amounts are typed and shown in credits.
 */
import { getAddress } from 'viem'
import type { Address } from 'viem'
import {
  chainTime, exportSettlementKey, extendDeposit, faucet, formatCredits, gasBalance, listDeposits, loadOrCreateSettlementAccount, openDeposit,
  parseCredits, readDeposit, refundDeposit, tokenBalance, topUpDeposit
} from '../../../ledger/index.ts'
import type { DepositState } from '../../../ledger/index.ts'
import { openNodeChain } from '../../chain.ts'
import type { NodeChain } from '../../chain.ts'
import { loadConfig } from '../../config.ts'
import { ensureDataDir } from '../../data-dir.ts'
import { parseCommandArgs } from '../context.ts'
import type { CliContext } from '../context.ts'
import { EXIT, UsageError } from '../errors.ts'
import type { Command } from '../main.ts'

/** What `wallet faucet` mints without an amount, in credits. */
const DEFAULT_FAUCET_CREDITS = '1000'
/** Days a deposit lasts when neither --days nor settlement.depositDays says. */
const DEFAULT_DEPOSIT_DAYS = 7
/** The longest --days accepted (as settlement.depositDays). */
const MAX_DEPOSIT_DAYS = 3650
const DAY_S = 86_400

const USAGE = [
  'clawnode wallet                                   address, chain, balances and deposits',
  '       clawnode wallet faucet [credits]                  mint credits (chains with a faucet: the local one; default 1000)',
  '       clawnode wallet deposit open --provider <0xaddress> --amount <credits> [--days N]',
  '       clawnode wallet deposit topup <id> --amount <credits>',
  '       clawnode wallet deposit extend <id> --days N      move the expiry N days later',
  '       clawnode wallet deposit close <id>                after expiry: take back what was not paid',
  '       clawnode wallet export --yes-i-understand         print the settlement private key',
  '',
  'Options: --from-block <n> (where deposits are searched from; 0), --json, --data <dir>. Amounts in credits, up to 3 decimals.'
].join('\n')

export const command: Command = {
  summary: 'The node\'s settlement address, balances and escrow deposits (open, top up, extend, close); the local faucet; key export',
  usage: USAGE,
  async run (ctx, args) {
    const { values, positionals } = parseCommandArgs(args, {
      provider: { type: 'string' },
      amount: { type: 'string' },
      days: { type: 'string' },
      'from-block': { type: 'string' },
      'yes-i-understand': { type: 'boolean' }
    })
    await ensureDataDir(ctx.dataDir)
    const [sub, action, target] = positionals
    if (sub === 'export') return await exportKey(ctx, values['yes-i-understand'] === true)
    if (sub !== undefined && sub !== 'faucet' && sub !== 'deposit') {
      throw new UsageError(`Unknown wallet subcommand "${sub}"`, 'The subcommands are faucet, deposit (open, topup, extend, close) and export; run `clawnode wallet --help`.')
    }
    const config = await loadConfig(ctx.dataDir)
    const chain = await openNodeChain(ctx.dataDir, config.chain, { signal: ctx.signal })
    if (chain === undefined) throw new UsageError('The chain is off in this node\'s config (chain.mode "off")', 'Set chain.mode to "local" (the embedded chain) or "rpc" in config.json to use the wallet.')
    try {
      const write = { signal: ctx.signal, confirmations: chain.confirmations }
      const print = (human: string, data: Record<string, unknown>): void => { ctx.stdout(ctx.json ? JSON.stringify(data, null, 2) + '\n' : human) }
      if (sub === undefined) {
        await show(ctx, chain, blockFlag(values['from-block']))
        return EXIT.ok
      }
      if (sub === 'faucet') {
        const amount = credits(action ?? DEFAULT_FAUCET_CREDITS, 'the faucet amount')
        const { hash } = await faucet(chain.client, chain.deployment, amount, write)
        const balance = await tokenBalance(chain.client, chain.deployment, chain.account.address, write)
        print(`✓ minted ${formatCredits(amount)} credits to ${chain.account.address}; balance ${formatCredits(balance)} credits\n`,
          { minted: formatCredits(amount), balance: formatCredits(balance), address: chain.account.address, tx: hash })
        return EXIT.ok
      }
      switch (action) {
        case 'open': {
          const provider = providerFlag(values.provider)
          const amount = credits(required(values.amount, '--amount'), '--amount')
          const days = daysFlag(values.days ?? String(config.settlement.depositDays ?? DEFAULT_DEPOSIT_DAYS))
          const expiry = await chainTime(chain.client, write) + days
          const { depositId, hash } = await openDeposit(chain.client, chain.deployment, { provider, amount, expiry }, write)
          print(`✓ deposit #${depositId} opened for ${provider}: ${formatCredits(amount)} credits until ${date(expiry)}\n`,
            { depositId: String(depositId), provider, amount: formatCredits(amount), expiry: date(expiry), tx: hash })
          return EXIT.ok
        }
        case 'topup': {
          const depositId = idArg(target)
          const amount = credits(required(values.amount, '--amount'), '--amount')
          const { total, hash } = await topUpDeposit(chain.client, chain.deployment, { depositId, amount }, write)
          print(`✓ deposit #${depositId} topped up by ${formatCredits(amount)} to ${formatCredits(total)} credits\n`,
            { depositId: String(depositId), added: formatCredits(amount), amount: formatCredits(total), tx: hash })
          return EXIT.ok
        }
        case 'extend': {
          const depositId = idArg(target)
          const days = daysFlag(required(values.days, '--days'))
          const current = await readDeposit(chain.client, chain.deployment, depositId, write)
          const now = await chainTime(chain.client, write)
          // N days after the current expiry, or after now for a deposit that has expired already.
          const expiry = (current.expiry > now ? current.expiry : now) + days
          const { hash } = await extendDeposit(chain.client, chain.deployment, { depositId, expiry }, write)
          print(`✓ deposit #${depositId} now expires at ${date(expiry)}\n`, { depositId: String(depositId), expiry: date(expiry), tx: hash })
          return EXIT.ok
        }
        case 'close': {
          const depositId = idArg(target)
          const { refunded, hash } = await refundDeposit(chain.client, chain.deployment, depositId, write)
          print(`✓ deposit #${depositId} closed; ${formatCredits(refunded)} credits came back\n`, { depositId: String(depositId), refunded: formatCredits(refunded), tx: hash })
          return EXIT.ok
        }
        default:
          throw new UsageError(action === undefined ? 'wallet deposit needs an action: open, topup, extend or close' : `Unknown wallet deposit action "${action}"`, 'Run `clawnode wallet --help`.')
      }
    } finally {
      await chain.close()
    }
  }
}

/** The overview: account, chain, balances and deposits on both sides. */
async function show (ctx: CliContext, chain: NodeChain, fromBlock: bigint): Promise<void> {
  const { client, deployment, account } = chain
  const options = { signal: ctx.signal }
  const [balance, gas, now, asConsumer, asProvider] = await Promise.all([
    tokenBalance(client, deployment, account.address, options),
    gasBalance(client, account.address, options),
    chainTime(client, options),
    listDeposits(client, deployment, { consumer: account.address, fromBlock, ...options }),
    listDeposits(client, deployment, { provider: account.address, fromBlock, ...options })
  ])
  if (ctx.json) {
    ctx.stdout(JSON.stringify({
      address: account.address,
      chainId: deployment.chainId,
      local: chain.local,
      rpcUrl: chain.rpcUrl,
      escrow: deployment.usageEscrow,
      creditToken: deployment.creditToken,
      credits: formatCredits(balance),
      gasWei: String(gas),
      deposits: { asConsumer: asConsumer.map(d => depositJson(d, now)), asProvider: asProvider.map(d => depositJson(d, now)) }
    }, null, 2) + '\n')
    return
  }
  const line = (d: DepositState, other: string): string =>
    `  #${d.id} ${other} ${formatCredits(d.amount)} credits, ${formatCredits(d.available)} drawable, ${formatCredits(d.paidOut)} paid; ${state(d, now)}\n`
  ctx.stdout([
    `address ${account.address}\n`,
    `chain   ${deployment.chainId}${chain.local ? ' (the local chain)' : ''} at ${chain.rpcUrl}; escrow ${deployment.usageEscrow}\n`,
    `credits ${formatCredits(balance)} · ETH for gas ${ether(gas)}\n`,
    `deposits as consumer: ${asConsumer.length === 0 ? 'none (clawnode wallet deposit open --provider <0xaddress> --amount <credits>)' : ''}\n`,
    ...asConsumer.map(d => line(d, `→ ${d.provider}`)),
    `deposits as provider: ${asProvider.length === 0 ? 'none' : ''}\n`,
    ...asProvider.map(d => line(d, `← ${d.consumer}`))
  ].join(''))
}

function depositJson (d: DepositState, now: bigint): Record<string, unknown> {
  return {
    id: String(d.id),
    consumer: d.consumer,
    provider: d.provider,
    status: d.status,
    expired: d.expiry <= now,
    amount: formatCredits(d.amount),
    available: formatCredits(d.available),
    claimed: formatCredits(d.claimed),
    settled: formatCredits(d.settled),
    paidOut: formatCredits(d.paidOut),
    refundable: formatCredits(d.refundable),
    expiry: date(d.expiry),
    ...(d.disputeEnds === 0n ? {} : { disputeEnds: date(d.disputeEnds) })
  }
}

function state (d: DepositState, now: bigint): string {
  if (d.status === 'closed') return 'closed'
  const claim = d.status === 'pending' ? `, claim of ${formatCredits(d.claimed)} final after ${date(d.disputeEnds)}` : d.status === 'disputed' ? `, claim of ${formatCredits(d.claimed)} disputed` : ''
  return d.expiry <= now ? `expired ${date(d.expiry)}${claim}${d.status === 'idle' ? ` (clawnode wallet deposit close ${d.id})` : ''}` : `expires ${date(d.expiry)}${claim}`
}

/** Prints the key only when asked to in so many words, with the warning on stderr. */
async function exportKey (ctx: CliContext, understood: boolean): Promise<number> {
  if (!understood) {
    throw new UsageError('wallet export prints the settlement private key only with --yes-i-understand',
      'Whoever holds the key can spend the account\'s credits and ETH: keep the export offline. Run `clawnode wallet export --yes-i-understand`.')
  }
  const { address } = await loadOrCreateSettlementAccount(ctx.dataDir)
  const privateKey = await exportSettlementKey(ctx.dataDir)
  ctx.stderr(`! This is the private key of ${address}. Whoever holds it can spend the account: never share it, keep it offline.\n`)
  ctx.stdout(ctx.json ? JSON.stringify({ address, privateKey }) + '\n' : `${privateKey}\n`)
  return EXIT.ok
}

function required (value: string | undefined, flag: string): string {
  if (value === undefined) throw new UsageError(`${flag} is needed`, 'Run `clawnode wallet --help`.')
  return value
}

function credits (text: string, what: string): bigint {
  let units: bigint
  try {
    units = parseCredits(text)
  } catch {
    throw new UsageError(`${what} must be an amount of credits with at most 3 decimals (e.g. 12.5), not "${text}"`)
  }
  if (units === 0n) throw new UsageError(`${what} must be above zero`)
  return units
}

function daysFlag (text: string): bigint {
  const days = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || !(days > 0) || days > MAX_DEPOSIT_DAYS) throw new UsageError(`--days must be a number of days above 0 and at most ${MAX_DEPOSIT_DAYS}, not "${text}"`)
  return BigInt(Math.max(1, Math.round(days * DAY_S)))
}

function idArg (text: string | undefined): bigint {
  if (text === undefined || !/^\d{1,30}$/.test(text) || BigInt(text) === 0n) throw new UsageError(`The deposit id must be a whole number above 0${text === undefined ? '' : `, not "${text}"`}`, '`clawnode wallet` lists your deposits with their ids.')
  return BigInt(text)
}

function blockFlag (text: string | undefined): bigint {
  if (text === undefined) return 0n
  if (!/^\d{1,20}$/.test(text)) throw new UsageError(`--from-block must be a block number, not "${text}"`)
  return BigInt(text)
}

function providerFlag (text: string | undefined): Address {
  const value = required(text, '--provider')
  if (/^0x[0-9a-fA-F]{40}$/.test(value)) return getAddress(value.toLowerCase())
  throw new UsageError(`--provider must be the provider's settlement address (0x and 40 hex digits), not "${value.slice(0, 80)}"`,
    'A peer id is not enough here: the provider\'s `clawnode wallet` shows its address, and its capability record carries it.')
}

function date (seconds: bigint): string {
  return seconds > 8_640_000_000_000n ? `block time ${seconds}` : new Date(Number(seconds) * 1000).toISOString()
}

function ether (wei: bigint): string {
  const whole = wei / 10n ** 18n
  const frac = ((wei % 10n ** 18n) / 10n ** 14n).toString().padStart(4, '0').replace(/0+$/, '')
  return `${whole}${frac === '' ? '' : `.${frac}`}`
}
