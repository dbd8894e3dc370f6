/**
 * `clawnode wallet`: the node's settlement account on its chain: address, balances, the escrow
 * deposits it holds as a consumer and as a provider; the local faucet; opening, topping up, extending
 * and closing deposits; claims (claim, dispute, finalize) and the arbiter's resolution of a disputed
 * one (issue 5); and the export of the key. Amounts are typed and shown in credits.
 */
import { readFile, stat } from 'node:fs/promises'
import { getAddress } from 'viem'
import type { Address, Hex } from 'viem'
import { ClawnodeError } from '../../../protocol/index.ts'
import {
  chainTime, claimDeposit, createChainClient, disputeClaim, exportSettlementKey, extendDeposit, faucet, finalizeClaim, formatCredits, gasBalance,
  listDeposits, loadOrCreateSettlementAccount, openDeposit, parseCredits, readDeposit, refundDeposit, resolveDispute, tokenBalance, topUpDeposit
} from '../../../ledger/index.ts'
import type { ClaimInit, DepositState } from '../../../ledger/index.ts'
import { openNodeChain } from '../../chain.ts'
import type { NodeChain } from '../../chain.ts'
import { loadConfig } from '../../config.ts'
import { ensureDataDir } from '../../data-dir.ts'
import { parseCommandArgs } from '../context.ts'
import type { CliContext } from '../context.ts'
import { readSettlementBook, settlementBookPath } from '../../settlement-shared.ts'
import { EXIT, UsageError } from '../errors.ts'
import type { Command } from '../main.ts'

/** What `wallet faucet` mints without an amount, in credits. */
const DEFAULT_FAUCET_CREDITS = '1000'
/** Days a deposit lasts when neither --days nor settlement.depositDays says. */
const DEFAULT_DEPOSIT_DAYS = 7
/** The longest --days accepted (as settlement.depositDays). */
const MAX_DEPOSIT_DAYS = 3650
const DAY_S = 86_400
/** The largest --key-file read (a 0x key and a newline fit in 67 bytes). */
const MAX_KEY_FILE_BYTES = 1024
/** The largest provider book `wallet deposit claim` reads. */
const KEY = /^0x[0-9a-fA-F]{64}$/
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/

/** No co-signed draw for the deposit in the provider's book, or none above what is already claimed. */
export class NoDrawToClaimError extends ClawnodeError {
  static override name = 'NoDrawToClaimError'
  constructor (depositId: bigint, problem: string, hint: string) {
    super(`Nothing to claim on deposit #${depositId}: ${problem}`, { hint })
  }
}

/** `wallet arbiter resolve` signed by an account that is not the escrow's arbiter. */
export class NotArbiterError extends ClawnodeError {
  static override name = 'NotArbiterError'
  constructor (signer: Address, arbiter: Address, local: boolean) {
    super(`${signer} is not the arbiter of this escrow; ${arbiter} is`, {
      hint: local
        ? 'On the local chain the arbiter is the deployer (anvil\'s dev account 0): pass --key-file <path> with its 0x private key (mode 0600).'
        : 'Only the arbiter named when the escrow was deployed can resolve disputes: run this with --key-file <path> holding its key (mode 0600).'
    })
  }
}

/** The --key-file is missing, open to others, or holds no private key. */
export class KeyFileError extends ClawnodeError {
  static override name = 'KeyFileError'
  constructor (path: string, problem: string, hint: string, options: { cause?: unknown } = {}) {
    super(`The key file ${path} ${problem}`, { ...options, hint })
  }
}

const USAGE = [
  'clawnode wallet                                   address, chain, balances and deposits',
  '       clawnode wallet faucet [credits]                  mint credits (chains with a faucet: the local one; default 1000)',
  '       clawnode wallet deposit open --provider <0xaddress> --amount <credits> [--days N]',
  '       clawnode wallet deposit topup <id> --amount <credits>',
  '       clawnode wallet deposit extend <id> --days N      move the expiry N days later',
  '       clawnode wallet deposit close <id>                after expiry: take back what was not paid',
  '       clawnode wallet deposit claim <id>                provider: claim the latest co-signed draw of its book',
  '       clawnode wallet deposit dispute <id>              consumer: dispute the pending claim inside its window',
  '       clawnode wallet deposit finalize <id>             anyone: pay a pending claim once its window has ended',
  '       clawnode wallet arbiter resolve <id> --allow <credits> [--key-file <path>]',
  '                                                         the arbiter settles a disputed claim at a cumulative amount',
  '       clawnode wallet export --yes-i-understand         print the settlement private key',
  '',
  'Options: --from-block <n> (where deposits are searched from; 0), --json, --data <dir>. Amounts in credits, up to 3 decimals.',
  '--allow is cumulative: between what the deposit has settled and what was claimed; it pays allow − settled.',
  '--key-file: a file (mode 0600) holding the arbiter\'s 0x private key, when the node\'s own account is not the arbiter.'
].join('\n')

export const command: Command = {
  summary: 'The node\'s settlement address, balances and escrow deposits (open, top up, extend, close, claim, dispute, finalize); arbiter resolve; the local faucet; key export',
  usage: USAGE,
  async run (ctx, args) {
    const { values, positionals } = parseCommandArgs(args, {
      provider: { type: 'string' },
      amount: { type: 'string' },
      days: { type: 'string' },
      'from-block': { type: 'string' },
      allow: { type: 'string' },
      'key-file': { type: 'string' },
      'yes-i-understand': { type: 'boolean' }
    })
    await ensureDataDir(ctx.dataDir)
    const [sub, action, target] = positionals
    if (sub === 'export') return await exportKey(ctx, values['yes-i-understand'] === true)
    if (sub !== undefined && sub !== 'faucet' && sub !== 'deposit' && sub !== 'arbiter') {
      throw new UsageError(`Unknown wallet subcommand "${sub}"`, 'The subcommands are faucet, deposit (open, topup, extend, close, claim, dispute, finalize), arbiter resolve and export; run `clawnode wallet --help`.')
    }
    if ((values.allow !== undefined || values['key-file'] !== undefined) && sub !== 'arbiter') throw new UsageError('--allow and --key-file belong to `wallet arbiter resolve`')
    // Checked before the chain is opened: a bad request starts no anvil.
    const resolution = sub === 'arbiter' ? await resolutionArgs(action, target, values.allow, values['key-file']) : undefined
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
      if (resolution !== undefined) {
        const { depositId, allowed, key } = resolution
        const client = key === undefined ? chain.client : createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.deployment.chainId, privateKey: key })
        if (client.account.address.toLowerCase() !== chain.deployment.arbiter.toLowerCase()) throw new NotArbiterError(client.account.address, chain.deployment.arbiter, chain.local)
        const before = await readDeposit(chain.client, chain.deployment, depositId, write)
        const payout = await resolveDispute(client, chain.deployment, { depositId, allowedCumulative: allowed }, write)
        print(`✓ the dispute on deposit #${depositId} is resolved at ${formatCredits(allowed)} of the ${formatCredits(before.claimed)} claimed (cumulative): ${formatCredits(payout.toProvider)} credits paid to ${before.provider}${payout.fee > 0n ? `, ${formatCredits(payout.fee)} in fees` : ''}\n`,
          { depositId: String(depositId), allowed: formatCredits(allowed), claimed: formatCredits(before.claimed), paid: formatCredits(payout.toProvider), fee: formatCredits(payout.fee), provider: before.provider, arbiter: client.account.address, tx: payout.hash })
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
        case 'claim': {
          const depositId = idArg(target)
          const draw = await latestDraw(ctx.dataDir, depositId)
          const current = await readDeposit(chain.client, chain.deployment, depositId, write)
          if (draw.cumulative <= current.claimed) {
            throw new NoDrawToClaimError(depositId, `its latest co-signed draw (${formatCredits(draw.cumulative)} credits, cumulative) is already claimed`,
              current.status === 'pending' ? `The claim pays after its window: clawnode wallet deposit finalize ${depositId} after ${date(current.disputeEnds)}.` : 'Claim again once more leases have drawn on it.')
          }
          const { hash, disputeEnds } = await claimDeposit(chain.client, chain.deployment, draw, write)
          const payout = draw.cumulative - current.settled
          print(`✓ deposit #${depositId}: claimed ${formatCredits(payout)} credits (cumulative ${formatCredits(draw.cumulative)}); the consumer may dispute it until ${date(disputeEnds)}, then: clawnode wallet deposit finalize ${depositId}\n`,
            { depositId: String(depositId), status: 'pending', claim: formatCredits(payout), cumulative: formatCredits(draw.cumulative), disputeEnds: date(disputeEnds), tx: hash })
          return EXIT.ok
        }
        case 'dispute': {
          const depositId = idArg(target)
          const { hash } = await disputeClaim(chain.client, chain.deployment, depositId, write)
          const d = await readDeposit(chain.client, chain.deployment, depositId, write)
          print(`✓ the claim of ${formatCredits(d.claimed - d.settled)} credits on deposit #${depositId} is disputed: the arbiter (${chain.deployment.arbiter}) decides how much of it is paid\n`,
            { depositId: String(depositId), status: d.status, claim: formatCredits(d.claimed - d.settled), cumulative: formatCredits(d.claimed), arbiter: chain.deployment.arbiter, tx: hash })
          return EXIT.ok
        }
        case 'finalize': {
          const depositId = idArg(target)
          const payout = await finalizeClaim(chain.client, chain.deployment, depositId, write)
          print(`✓ deposit #${depositId}: the claim is final; ${formatCredits(payout.toProvider)} credits paid to the provider${payout.fee > 0n ? `, ${formatCredits(payout.fee)} in fees` : ''}\n`,
            { depositId: String(depositId), paid: formatCredits(payout.toProvider), fee: formatCredits(payout.fee), tx: payout.hash })
          return EXIT.ok
        }
        default:
          throw new UsageError(action === undefined ? 'wallet deposit needs an action: open, topup, extend, close, claim, dispute or finalize' : `Unknown wallet deposit action "${action}"`, 'Run `clawnode wallet --help`.')
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
  const line = (d: DepositState, other: string, side: Side): string =>
    `  #${d.id} ${other} ${formatCredits(d.amount)} credits, ${formatCredits(d.available)} drawable, ${formatCredits(d.paidOut)} paid; ${state(d, now, side)}\n`
  ctx.stdout([
    `address ${account.address}\n`,
    `chain   ${deployment.chainId}${chain.local ? ' (the local chain)' : ''} at ${chain.rpcUrl}; escrow ${deployment.usageEscrow}\n`,
    `credits ${formatCredits(balance)} · ETH for gas ${ether(gas)}\n`,
    `deposits as consumer: ${asConsumer.length === 0 ? 'none (clawnode wallet deposit open --provider <0xaddress> --amount <credits>)' : ''}\n`,
    ...asConsumer.map(d => line(d, `→ ${d.provider}`, 'consumer')),
    `deposits as provider: ${asProvider.length === 0 ? 'none' : ''}\n`,
    ...asProvider.map(d => line(d, `← ${d.consumer}`, 'provider'))
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
    ...(d.disputeEnds === 0n ? {} : { disputeEnds: date(d.disputeEnds) }),
    // The claim waiting on its window or the arbiter: what it pays (beyond what was settled) and when its window ends.
    ...(d.status === 'pending' || d.status === 'disputed'
      ? { claim: { amount: formatCredits(d.claimed - d.settled), cumulative: formatCredits(d.claimed), windowEnds: date(d.disputeEnds), windowOpen: now < d.disputeEnds } }
      : {})
  }
}

type Side = 'consumer' | 'provider'

function state (d: DepositState, now: bigint, side: Side): string {
  if (d.status === 'closed') return 'closed'
  const amount = formatCredits(d.claimed - d.settled)
  const open = now < d.disputeEnds
  const claim = d.status === 'disputed'
    ? `; claim of ${amount} credits disputed: the arbiter decides`
    : d.status === 'pending'
      ? `; claim of ${amount} credits pending, ${open ? 'disputable until' : 'its window ended'} ${date(d.disputeEnds)}` +
        (open ? (side === 'consumer' ? ` (to contest it: clawnode wallet deposit dispute ${d.id})` : '') : ` (clawnode wallet deposit finalize ${d.id})`)
      : ''
  return d.expiry <= now ? `expired ${date(d.expiry)}${claim}${d.status === 'idle' ? ` (clawnode wallet deposit close ${d.id})` : ''}` : `expires ${date(d.expiry)}${claim}`
}

/** `arbiter resolve <id> --allow <credits> [--key-file <path>]`, checked, with the key read. */
async function resolutionArgs (action: string | undefined, target: string | undefined, allow: string | undefined, keyFile: string | undefined): Promise<{ depositId: bigint, allowed: bigint, key?: Hex }> {
  if (action !== 'resolve') throw new UsageError(action === undefined ? 'wallet arbiter needs an action: resolve' : `Unknown wallet arbiter action "${action}"`, 'Run `clawnode wallet --help`.')
  const depositId = idArg(target)
  // Zero is a fair ruling: nothing more is paid for the disputed claim.
  const allowed = credits(required(allow, '--allow'), '--allow', true)
  return keyFile === undefined ? { depositId, allowed } : { depositId, allowed, key: await readKeyFile(keyFile) }
}

/** A private key from a file only its owner can read; the key never goes into a message. */
async function readKeyFile (path: string): Promise<Hex> {
  const fix = `Write the 0x private key (64 hex digits) alone into ${path} and make it private: chmod 600 ${path}.`
  let info
  try {
    info = await stat(path)
  } catch (err) {
    throw new KeyFileError(path, 'cannot be read', fix, { cause: err })
  }
  if (!info.isFile() || info.size > MAX_KEY_FILE_BYTES) throw new KeyFileError(path, 'is not a key file', fix)
  if ((info.mode & 0o077) !== 0) throw new KeyFileError(path, `can be read by others (mode ${(info.mode & 0o777).toString(8).padStart(3, '0')})`, `Make it private first: chmod 600 ${path}.`)
  const text = (await readFile(path, 'utf8')).trim()
  if (!KEY.test(text)) throw new KeyFileError(path, 'does not hold a private key (0x and 64 hex digits)', fix)
  return text.toLowerCase() as Hex
}

/** The latest co-signed draw of deposit `depositId` in the provider's book (node/provider-settlement.ts). */
async function latestDraw (dataDir: string, depositId: bigint): Promise<ClaimInit> {
  const path = settlementBookPath(dataDir, 'provider')
  const none = (problem: string): NoDrawToClaimError => new NoDrawToClaimError(depositId, problem,
    `The provider node records each draw the consumer countersigns in ${path} (and claims it itself each settlement period); run this with the provider's --data.`)
  const book = await readSettlementBook(path)
  if (book === undefined) throw none(`this node has no provider book (${path})`)
  const entry = (book.deposits[String(depositId)] as { cosigned?: unknown } | undefined)?.cosigned
  if (entry === undefined) throw none('the provider\'s book holds no draw for it that the consumer countersigned')
  const c = entry as { cumulative?: unknown, consumerSignature?: unknown, providerSignature?: unknown }
  if (typeof c.cumulative !== 'string' || !/^\d{1,40}$/.test(c.cumulative) || typeof c.consumerSignature !== 'string' || !SIGNATURE.test(c.consumerSignature) ||
    typeof c.providerSignature !== 'string' || !SIGNATURE.test(c.providerSignature)) {
    throw new ClawnodeError(`The co-signed draw of deposit #${depositId} in ${path} is malformed`, { hint: 'Restore the book from a backup.' })
  }
  return { depositId, cumulative: BigInt(c.cumulative), consumerSignature: c.consumerSignature as Hex, providerSignature: c.providerSignature as Hex }
}

/** Prints the key only when asked to in so many words, with the warning on stderr. */
async function exportKey (ctx: CliContext, understood: boolean): Promise<number> {
  if (!understood) {
    throw new UsageError('wallet export prints the settlement private key only with --yes-i-understand',
      'Whoever holds the key can spend the account\'s credits and ETH: keep the export offline. Run `clawnode wallet export --yes-i-understand`.')
  }
  // A key the operator supplied (chain.key) is theirs already: the node only exports the one it made.
  const configured = (await loadConfig(ctx.dataDir)).chain.key
  if (configured !== undefined) {
    throw new UsageError('This node signs with the key named by chain.key in its config, not a key of its own: there is nothing to export',
      'The key is wherever chain.key points (a file or an environment variable); back that up instead.')
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

function credits (text: string, what: string, zero = false): bigint {
  let units: bigint
  try {
    units = parseCredits(text)
  } catch {
    throw new UsageError(`${what} must be an amount of credits with at most 3 decimals (e.g. 12.5), not "${text}"`)
  }
  if (units === 0n && !zero) throw new UsageError(`${what} must be above zero`)
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
