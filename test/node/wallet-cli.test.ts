/**
 * `clawnode wallet` as a real process on the embedded local chain (its own chain folder): faucet, a
 * deposit opened, topped up and listed on both sides, closing refused before expiry with the date,
 * bad amounts and peer ids refused as usage errors, the key exported only when asked to in words, and
 * a claim from the provider's book disputed, resolved by the arbiter, and disputed too late, and a
 * deposit closed after expiry with its unpaid rest refunded (issue 5).
 * Every command starts and stops its own anvil (or reuses the one a test holds); none is left behind.
 */
import { existsSync, readFileSync } from 'node:fs'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Address } from 'viem'
import { ANVIL_DEV_PRIVATE_KEY, connectOrStartLocalChain, createReadClient, DEFAULT_DISPUTE_WINDOW_S, loadOrCreateSettlementAccount, signDraw } from '../../ledger/index.ts'
import { bounded, cli, setup, tempDir } from '../helpers.ts'

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

test.before(setup(async () => {
  chainDir = await tempDir('clawnode-wallet-chain-')
  consumerData = await tempDir()
  providerData = await tempDir()
}))

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

  // A node that signs with the operator's own key (chain.key) has no key of its own to print.
  const own = await tempDir()
  await writeFile(join(own, 'config.json'), JSON.stringify({ chain: { key: { env: 'CLAWNODE_TEST_UNUSED_KEY' } } }))
  const theirs = await wallet(own, 'export', '--yes-i-understand')
  assert.is(theirs.code, 2, theirs.stderr)
  assert.is(theirs.stdout, '')
  assert.match(theirs.stderr, /chain\.key/)
  assert.not.ok(existsSync(join(own, 'keys', 'settlement.key')), 'no key was made to be exported')
}))

test('a claim from the provider\'s book is disputed, resolved by the arbiter, and a dispute after the window is refused', bounded(240_000, async () => {
  // The test holds the chain for this scenario (the commands reuse it) to move its clock past the window.
  const chain = await connectOrStartLocalChain(chainDir)
  try {
    const providerInfo = await json(providerData)
    const provider = providerInfo.address as Address
    const id = (await json(consumerData, 'deposit', 'open', '--provider', provider, '--amount', '10')).depositId as string
    const domain = { chainId: providerInfo.chainId as number, escrow: providerInfo.escrow as Address }
    const consumerAccount = (await loadOrCreateSettlementAccount(consumerData)).account
    const providerAccount = (await loadOrCreateSettlementAccount(providerData)).account
    // The provider's book as node/provider-settlement.ts keeps it: the latest draw signed by both sides.
    const cosign = async (cumulative: bigint): Promise<void> => {
      const draw = { depositId: BigInt(id), consumer: consumerAccount.address, provider, cumulative }
      const cosigned = { cumulative: String(cumulative), consumerSignature: await signDraw(consumerAccount, domain, draw), providerSignature: await signDraw(providerAccount, domain, draw) }
      await mkdir(join(providerData, 'settlement'), { recursive: true })
      await writeFile(join(providerData, 'settlement', 'provider.json'), JSON.stringify({ deposits: { [id]: { consumer: consumerAccount.address, allocated: String(cumulative), cosigned } } }))
    }
    const failure = async (data: string, ...args: string[]): Promise<{ name: string, message: string, hint: string }> => {
      const r = await wallet(data, ...args, '--json')
      assert.is(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
      return (JSON.parse(r.stdout) as { error: { name: string, message: string, hint: string } }).error
    }
    const mine = async (data: string, side: 'asConsumer' | 'asProvider'): Promise<Record<string, any>> =>
      ((await json(data)).deposits[side] as Array<Record<string, any>>).find(d => d.id === id) as Record<string, any>

    assert.is((await failure(providerData, 'deposit', 'claim', id)).name, 'NoDrawToClaimError')
    await cosign(4_000n)
    const claimed = await json(providerData, 'deposit', 'claim', id)
    assert.equal([claimed.status, claimed.claim, claimed.cumulative], ['pending', '4', '4'])
    const pending = await mine(consumerData, 'asConsumer')
    assert.equal([pending.status, pending.claim?.amount, pending.claim?.windowOpen, pending.claim?.windowEnds], ['pending', '4', true, claimed.disputeEnds])
    assert.match((await wallet(consumerData)).stdout, new RegExp(`#${id} .*claim of 4 credits pending, disputable until .*deposit dispute ${id}`))
    assert.is((await failure(providerData, 'deposit', 'claim', id)).name, 'NoDrawToClaimError', 'a draw already claimed is not claimed again')

    assert.is((await json(consumerData, 'deposit', 'dispute', id)).status, 'disputed')
    assert.is((await mine(providerData, 'asProvider')).status, 'disputed')
    assert.match((await wallet(providerData)).stdout, /claim of 4 credits disputed: the arbiter decides/)
    const refused = await failure(providerData, 'deposit', 'finalize', id)
    assert.match(refused.message, /ClaimDisputed/)
    assert.match(refused.hint, /only the arbiter/)

    // Only the arbiter resolves: on the local chain the deployer, whose key comes from a private file.
    const notArbiter = await failure(providerData, 'arbiter', 'resolve', id, '--allow', '2.5')
    assert.equal([notArbiter.name, /--key-file/.test(notArbiter.hint)], ['NotArbiterError', true])
    const keyFile = join(await tempDir(), 'arbiter.key')
    await writeFile(keyFile, ANVIL_DEV_PRIVATE_KEY + '\n', { mode: 0o644 })
    await chmod(keyFile, 0o644)
    const open = await failure(providerData, 'arbiter', 'resolve', id, '--allow', '2.5', '--key-file', keyFile)
    assert.equal([open.name, /chmod 600/.test(open.hint)], ['KeyFileError', true])
    await chmod(keyFile, 0o600)
    const r = await wallet(providerData, 'arbiter', 'resolve', id, '--allow', '2.5', '--key-file', keyFile, '--json')
    assert.is(r.code, 0, r.stderr + r.stdout)
    assert.not.match(r.stdout + r.stderr, ANVIL_DEV_PRIVATE_KEY.slice(2))
    const resolved = JSON.parse(r.stdout) as Record<string, string>
    assert.equal([resolved.allowed, resolved.claimed, resolved.paid, resolved.provider], ['2.5', '4', '2.5', provider])
    assert.is((await json(providerData)).credits, '2.5')
    assert.is((await mine(consumerData, 'asConsumer')).status, 'idle')

    // A newer draw claimed; once the window has passed it can no longer be disputed, only finalized.
    await cosign(6_000n)
    assert.is((await json(providerData, 'deposit', 'claim', id)).claim, '2')
    const early = await failure(providerData, 'deposit', 'finalize', id)
    assert.match(early.message, /DisputeWindowOpen/)
    const rpc = createReadClient(chain.rpcUrl, chain.chainId)
    await rpc.request({ method: 'evm_increaseTime', params: [DEFAULT_DISPUTE_WINDOW_S + 1] } as never)
    await rpc.request({ method: 'evm_mine', params: [] } as never)
    assert.match((await wallet(providerData)).stdout, new RegExp(`claim of 2 credits pending, its window ended .*deposit finalize ${id}`))
    const late = await failure(consumerData, 'deposit', 'dispute', id)
    assert.match(late.message, /DisputeWindowClosed/)
    assert.match(late.hint, /can only be finalized now/)
    assert.is((await json(consumerData, 'deposit', 'finalize', id)).paid, '2')
    assert.is((await json(providerData)).credits, '4.5')
  } finally {
    await chain.stop()
  }
}))

test('after expiry (the chain\'s clock moved past it) deposit close refunds what was not paid out', bounded(120_000, async () => {
  const chain = await connectOrStartLocalChain(chainDir)
  try {
    const provider = (await json(providerData)).address as string
    const opened = await json(consumerData, 'deposit', 'open', '--provider', provider, '--amount', '5', '--days', '1')
    const id = opened.depositId as string
    const before = BigInt(Math.round(Number((await json(consumerData)).credits) * 1000))
    const rpc = createReadClient(chain.rpcUrl, chain.chainId)
    await rpc.request({ method: 'evm_increaseTime', params: [2 * 86_400] } as never)
    await rpc.request({ method: 'evm_mine', params: [] } as never)
    assert.match((await wallet(consumerData)).stdout, new RegExp(`#${id} .*expired .*\\(clawnode wallet deposit close ${id}\\)`))
    const closed = await json(consumerData, 'deposit', 'close', id)
    assert.equal([closed.depositId, closed.refunded], [id, '5'])
    assert.match(closed.tx, /^0x[0-9a-f]{64}$/)
    const after = await json(consumerData)
    assert.is(BigInt(Math.round(Number(after.credits) * 1000)) - before, 5_000n)
    assert.is((after.deposits.asConsumer as Array<Record<string, unknown>>).find(d => d.id === id)?.status, 'closed')
    // Closed once: a second close is refused.
    assert.is((await wallet(consumerData, 'deposit', 'close', id)).code, 1)
  } finally {
    await chain.stop()
  }
}))

test('arbiter resolve and deposit claim bad arguments are usage errors (exit 2)', bounded(30_000, async () => {
  for (const args of [
    ['arbiter', 'resolve', '1'],
    ['arbiter', 'resolve', '1', '--allow', '1.2345'],
    ['arbiter', 'frobnicate', '1', '--allow', '1'],
    ['deposit', 'dispute', 'x'],
    ['deposit', 'claim', '1', '--allow', '1']
  ]) {
    const r = await wallet(consumerData, ...args)
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
  }
}))

test.run()
