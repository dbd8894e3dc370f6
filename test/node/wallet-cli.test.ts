/**
 * `clawnode wallet` as a real process on the embedded local chain (its own chain folder): faucet, a
 * deposit opened, topped up and listed on both sides, closing refused before expiry with the date,
 * bad amounts and peer ids refused as usage errors, and the key exported only when asked to in words.
 * Every command starts and stops its own anvil; none is left behind.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bounded, cli, tempDir } from '../helpers.ts'

let chainDir: string
let consumerData: string
let providerData: string

const wallet = async (data: string, ...args: string[]) =>
  await cli(['wallet', ...args, '--data', data], { env: { CLAWNODE_CHAIN_DIR: chainDir, DEBUG: '' }, timeoutMs: 60_000 })
const json = async (data: string, ...args: string[]): Promise<Record<string, any>> => {
  const r = await wallet(data, ...args, '--json')
  assert.is(r.code, 0, r.stderr + r.stdout)
  return JSON.parse(r.stdout) as Record<string, any>
}

test.before(async () => {
  chainDir = await tempDir('clawnode-wallet-chain-')
  consumerData = await tempDir()
  providerData = await tempDir()
})

test.after(() => {
  // Each command stops the anvil it started; end one left by a failed run so that nothing lingers.
  const pidFile = join(chainDir, 'anvil.pid')
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim())
    try { process.kill(pid, 'SIGTERM') } catch {}
    throw new Error(`an anvil (pid ${pid}) was left running by the CLI`)
  }
})

test('wallet shows the address and chain; the faucet mints credits', bounded(60_000, async () => {
  const before = await json(consumerData)
  assert.match(before.address, /^0x[0-9a-fA-F]{40}$/)
  assert.equal([before.chainId, before.local, before.credits], [31337, true, '0'])
  assert.ok(BigInt(before.gasWei) > 0n, 'the local chain funds gas')
  assert.equal(before.deposits, { asConsumer: [], asProvider: [] })
  const minted = await json(consumerData, 'faucet', '100.5')
  assert.equal([minted.minted, minted.balance], ['100.5', '100.5'])
  const human = await wallet(consumerData)
  assert.is(human.code, 0, human.stderr)
  assert.match(human.stdout, /^credits 100\.5 · ETH for gas \d+(\.\d+)?$/m)
}))

test('a deposit opened for a provider is listed on both sides, topped up, and not closed before expiry', bounded(90_000, async () => {
  const provider = (await json(providerData)).address as string
  const opened = await json(consumerData, 'deposit', 'open', '--provider', provider, '--amount', '20.25', '--days', '2')
  assert.equal([opened.provider, opened.amount], [provider, '20.25'])
  const id = opened.depositId as string
  const topped = await json(consumerData, 'deposit', 'topup', id, '--amount', '0.75')
  assert.is(topped.amount, '21')

  const mine = await json(consumerData)
  assert.is(mine.credits, '79.5')
  const d = (mine.deposits.asConsumer as Array<Record<string, unknown>>).find(x => x.id === id)
  assert.ok(d !== undefined)
  assert.equal([d?.status, d?.amount, d?.available, d?.expired, d?.provider], ['idle', '21', '21', false, provider])
  assert.equal((await json(providerData)).deposits.asProvider.map((x: { id: string }) => x.id), [id])

  const close = await wallet(consumerData, 'deposit', 'close', id)
  assert.is(close.code, 1)
  assert.match(close.stderr, /NotExpired/)
  assert.match(close.stderr, new RegExp(`wait until ${String(d?.expiry).replace(/\./g, '\\.')}`))
  const other = await wallet(providerData, 'deposit', 'topup', id, '--amount', '1')
  assert.is(other.code, 1)
  assert.match(other.stderr, /holds 0 millicredits and needs 1000/)
}))

test('bad amounts, ids and a peer id for --provider are usage errors (exit 2)', bounded(60_000, async () => {
  for (const args of [
    ['deposit', 'open', '--provider', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', '--amount', '1.2345'],
    ['deposit', 'open', '--provider', '12D3KooWGzh8F1tmEFv9kuYHzGmtPY8HTuQ3GXLT7ZuPSgxZ5FbR', '--amount', '1'],
    ['deposit', 'topup', 'x', '--amount', '1'],
    ['deposit', 'extend', '1', '--days', '-1'],
    ['faucet', '0'],
    ['deposit', 'frobnicate']
  ]) {
    const r = await wallet(consumerData, ...args)
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
  }
}))

test('export refuses without --yes-i-understand; with it, prints the key and warns on stderr', bounded(30_000, async () => {
  const refused = await wallet(consumerData, 'export')
  assert.is(refused.code, 2)
  assert.is(refused.stdout, '')
  assert.match(refused.stderr, /--yes-i-understand/)
  const r = await wallet(consumerData, 'export', '--yes-i-understand')
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /^0x[0-9a-f]{64}\n$/)
  assert.match(r.stderr, /can spend the account/)
  assert.is(r.stdout.trim(), readFileSync(join(consumerData, 'keys', 'settlement.key'), 'utf8').trim())
}))

test.run()
