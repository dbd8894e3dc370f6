/**
 * The node's chain (node/chain.ts): the embedded local chain is started once per machine folder and
 * shared, its contracts deployed once, the node's settlement account funded for gas; "off" means none.
 * A node killed with SIGKILL leaves its chain to the next node, which ends it when it closes; the
 * config's chain.key names the account that signs; the settlement waits for chain.confirmations.
 */
import { spawn } from 'node:child_process'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createTestClient, http } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { openNodeChain } from '../../node/chain.ts'
import { createConsumerSettlement } from '../../node/settlement.ts'
import { faucet, fundLocalGas, listDeposits, probeChainId, readChainFile, refundDeposit, tokenBalance } from '../../ledger/index.ts'
import { processExists } from '../../ledger/chain/lock.ts'
import type { CapabilityRecordInfo } from '../../protocol/index.ts'
import { bounded, gone, ROOT, tempDir } from '../helpers.ts'

test('two nodes share one local chain and one deployment; each account has gas', bounded(60_000, async () => {
  const localDir = await tempDir('clawnode-chain-')
  const a = await openNodeChain(await tempDir(), { localDir })
  try {
    const b = await openNodeChain(await tempDir(), { localDir })
    assert.ok(a !== undefined && b !== undefined)
    assert.is(b.rpcUrl, a.rpcUrl)
    assert.equal(b.deployment, a.deployment)
    assert.is.not(b.account.address, a.account.address)
    assert.ok(await b.client.getBalance({ address: b.account.address }) > 0n)
    assert.ok(((await a.client.getCode({ address: a.deployment.usageEscrow })) ?? '0x').length > 2)
    assert.ok(a.local && a.deployment.faucetEnabled)
    await b.close()
    // b did not start the chain: closing it leaves the chain up for a.
    assert.ok(await a.client.getBlockNumber() >= 0n)
  } finally {
    await a?.close()
  }
}))

test('a configured chain (mode rpc) is used with the same code: contracts and escrow parameters from config and the chain', bounded(60_000, async () => {
  const localDir = await tempDir('clawnode-chain-')
  const local = await openNodeChain(await tempDir(), { localDir, feeBps: 25, disputeWindowS: 900 })
  assert.ok(local !== undefined)
  try {
    const { creditToken, usageAnchor, usageEscrow } = local.deployment
    const remote = await openNodeChain(await tempDir(), { mode: 'rpc', rpcUrl: local.rpcUrl, chainId: local.deployment.chainId, contracts: { creditToken, usageAnchor, usageEscrow }, confirmations: 1 })
    assert.ok(remote !== undefined)
    assert.is(remote.local, false)
    assert.is(remote.deployment.feeBps, 25)
    assert.is(remote.deployment.disputeWindowS, 900)
    assert.is(remote.deployment.arbiter, local.deployment.arbiter)
    assert.is(remote.deployment.faucetEnabled, true)
    assert.is(remote.confirmations, 1)
    // Wrong chain id or contracts that are not ours: a clear configuration error.
    for (const config of [
      { mode: 'rpc' as const, rpcUrl: local.rpcUrl, chainId: 1, contracts: { creditToken, usageAnchor, usageEscrow } },
      { mode: 'rpc' as const, rpcUrl: local.rpcUrl, chainId: local.deployment.chainId, contracts: { creditToken, usageAnchor, usageEscrow: creditToken } }
    ]) {
      try {
        await openNodeChain(await tempDir(), config)
        assert.unreachable('opened')
      } catch (err) {
        assert.is((err as Error).name, 'ChainConfigError')
      }
    }
  } finally {
    await local.close()
  }
}))

test('when the node that started the local chain stops, another node follows it to its next start, state kept; the last one out stops it', bounded(90_000, async () => {
  const localDir = await tempDir('clawnode-chain-')
  const a = await openNodeChain(await tempDir(), { localDir })
  const b = await openNodeChain(await tempDir(), { localDir })
  assert.ok(a !== undefined && b !== undefined)
  try {
    await faucet(b.client, b.deployment, 5_000n)
    const before = b.rpcUrl
    // a started anvil: stopping a stops the chain (its state is saved as it exits).
    await a.close()
    assert.is(await probeChainId(before), undefined)
    // b's next request starts it again from the state file and goes there.
    assert.is(await tokenBalance(b.client, b.deployment, b.account.address), 5_000n)
    assert.is.not(b.rpcUrl, before)
    assert.is(await probeChainId(b.rpcUrl), b.deployment.chainId)
    // A contract's refusal still comes back as the named revert through the followed chain.
    try {
      await refundDeposit(b.client, b.deployment, 999n)
      assert.unreachable('refunded a deposit that does not exist')
    } catch (err) {
      assert.match((err as Error).name, /EscrowRevertError|DepositNotFoundError/)
    }
  } finally {
    await b.close()
  }
  // b became the chain's owner when it started it again: nothing is left running.
  assert.is(await readChainFile(localDir), undefined)
}))

test('chain mode off gives no chain', async () => {
  assert.is(await openNodeChain(await tempDir(), { mode: 'off' }), undefined)
})

test('a configured remote chain that does not answer is a clear error', bounded(20_000, async () => {
  const contracts = { creditToken: `0x${'1'.repeat(40)}`, usageAnchor: `0x${'2'.repeat(40)}`, usageEscrow: `0x${'3'.repeat(40)}` } as const
  try {
    await openNodeChain(await tempDir(), { mode: 'rpc', rpcUrl: 'http://127.0.0.1:1', chainId: 31337, contracts })
    assert.unreachable('opened')
  } catch (err) {
    assert.is((err as Error).name, 'ChainUnavailableError')
  }
}))

test('a node killed with SIGKILL leaves its chain to the next node, which takes it over, keeps its state and ends it when it closes', bounded(120_000, async () => {
  const localDir = await tempDir('clawnode-chain-')
  const dataA = await tempDir()
  // Node A in a process of its own: opens the chain (starting anvil, deploying, taking faucet credits), then hangs.
  const script = `const { openNodeChain } = await import(${JSON.stringify(join(ROOT, 'node/chain.ts'))});
const { faucet } = await import(${JSON.stringify(join(ROOT, 'ledger/index.ts'))});
const c = await openNodeChain(process.env.DATA_DIR, { localDir: process.env.LOCAL_DIR });
await faucet(c.client, c.deployment, 7000n);
process.stdout.write(c.account.address + '\\n');
setInterval(() => {}, 60_000)`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, DATA_DIR: dataA, LOCAL_DIR: localDir }, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  let out = ''
  const addressA = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('\n')) resolve(out.trim()) })
    child.on('exit', (code) => { if (!out.includes('\n')) reject(new Error(`node A exited ${code}`)) })
  })
  const info = await readChainFile(localDir)
  assert.ok(info !== undefined && info.owner === child.pid)
  child.kill('SIGKILL')
  await exited
  try {
    assert.ok(processExists(info.pid), 'anvil should outlive its SIGKILLed node until another node takes it over')
    const b = await openNodeChain(await tempDir(), { localDir })
    assert.ok(b !== undefined)
    try {
      // The same chain, state and all: A's credits are there.
      assert.is(b.rpcUrl, info.rpcUrl)
      assert.is(await tokenBalance(b.client, b.deployment, addressA as `0x${string}`), 7000n)
      assert.is((await readChainFile(localDir))?.owner, process.pid)
    } finally {
      await b.close()
    }
    assert.ok(await gone(info.pid, 15_000), 'anvil was left behind after the last node closed')
    assert.is(await readChainFile(localDir), undefined)
    assert.is(await probeChainId(info.rpcUrl), undefined)
  } finally {
    // Only when the test failed: the run must not leave the orphan behind either.
    if (processExists(info.pid)) process.kill(info.pid, 'SIGTERM')
  }
}))

test('chain.key: the node signs with the key file or environment variable it names, in rpc and local mode; a key file open to others or missing, or an unset variable, is a ChainKeyError with a hint', bounded(60_000, async () => {
  const localDir = await tempDir('clawnode-chain-')
  const dataDir = await tempDir()
  const key = generatePrivateKey()
  const keyFile = join(dataDir, 'remote.key')
  await writeFile(keyFile, key + '\n', { mode: 0o600 })
  const local = await openNodeChain(dataDir, { localDir, key: { file: 'remote.key' } })
  assert.ok(local !== undefined)
  try {
    assert.is(local.account.address, privateKeyToAddress(key))
    // It signs: a faucet transaction from that account.
    await faucet(local.client, local.deployment, 1_000n)
    assert.is(await tokenBalance(local.client, local.deployment, privateKeyToAddress(key)), 1_000n)

    const { creditToken, usageAnchor, usageEscrow } = local.deployment
    const rpc = { mode: 'rpc' as const, rpcUrl: local.rpcUrl, chainId: local.deployment.chainId, contracts: { creditToken, usageAnchor, usageEscrow } }
    const envKey = generatePrivateKey()
    process.env.CLAWNODE_TEST_CHAIN_KEY = envKey
    try {
      const remote = await openNodeChain(await tempDir(), { ...rpc, key: { env: 'CLAWNODE_TEST_CHAIN_KEY' } })
      assert.is(remote?.account.address, privateKeyToAddress(envKey))
      const byFile = await openNodeChain(await tempDir(), { ...rpc, key: { file: keyFile } })
      assert.is(byFile?.account.address, privateKeyToAddress(key))
    } finally {
      delete process.env.CLAWNODE_TEST_CHAIN_KEY
    }

    const fails = async (config: Parameters<typeof openNodeChain>[1], message: RegExp, hint: RegExp): Promise<void> => {
      try {
        await openNodeChain(dataDir, config)
        assert.unreachable('opened')
      } catch (err) {
        assert.is((err as Error).name, 'ChainKeyError')
        assert.match((err as Error).message, message)
        assert.match((err as { hint?: string }).hint ?? '', hint)
        assert.not.match(`${(err as Error).message} ${(err as { hint?: string }).hint ?? ''}`, new RegExp(key.slice(2, 20)))
      }
    }
    await chmod(keyFile, 0o644)
    await fails({ ...rpc, key: { file: keyFile } }, /can be read by others \(mode 644\)/, /chmod 600/)
    await fails({ ...rpc, key: { file: 'nowhere.key' } }, /nowhere\.key does not exist/, /mode 0600/)
    await fails({ ...rpc, key: { env: 'CLAWNODE_TEST_UNSET_KEY' } }, /CLAWNODE_TEST_UNSET_KEY is not set/, /Set CLAWNODE_TEST_UNSET_KEY/)
    await writeFile(join(dataDir, 'bad.key'), 'not a key\n', { mode: 0o600 })
    await fails({ ...rpc, key: { file: 'bad.key' } }, /does not hold a private key/, /64 hex digits/)
  } finally {
    await local.close()
  }
}))

test('with chain.confirmations 2 the deposit writes of a consumer wait for a second block', bounded(90_000, async () => {
  const localDir = await tempDir('clawnode-chain-')
  const local = await openNodeChain(await tempDir(), { localDir })
  assert.ok(local !== undefined)
  try {
    assert.is(local.confirmations, 1)
    const { creditToken, usageAnchor, usageEscrow } = local.deployment
    const dataDir = await tempDir()
    const remote = await openNodeChain(dataDir, { mode: 'rpc', rpcUrl: local.rpcUrl, chainId: local.deployment.chainId, contracts: { creditToken, usageAnchor, usageEscrow }, confirmations: 2 })
    assert.ok(remote !== undefined)
    assert.is(remote.confirmations, 2)
    await fundLocalGas(local.client, remote.account.address)
    const consumer = await createConsumerSettlement({ chain: remote, privateKey: await generateKeyPair('Ed25519'), dataDir })
    const providerKey = await generateKeyPair('Ed25519')
    const provider = privateKeyToAddress(generatePrivateKey())
    const record = {
      peerId: peerIdFromPrivateKey(providerKey),
      settlement: { address: provider, chainId: local.deployment.chainId, escrow: usageEscrow, feeBps: 0, binding: new Uint8Array() }
    } as unknown as CapabilityRecordInfo
    let done = false
    const paying = consumer.pay(record, 5_000)
    paying.then(() => { done = true }, () => { done = true })
    // anvil mines each transaction at once in its own block; with nothing mining the next one, the
    // first write (the faucet) waits for its second confirmation.
    await sleep(1_500)
    assert.not.ok(done, 'the settlement returned with one confirmation')
    // Each write (faucet, approve, open) needs a block on top of its own: mine until it is through.
    const miner = createTestClient({ mode: 'anvil', transport: http(local.rpcUrl) })
    let blocks = 0
    const deadline = Date.now() + 60_000
    while (!done && Date.now() < deadline) {
      await miner.mine({ blocks: 1 })
      blocks++
      await sleep(500)
    }
    const paid = await paying
    assert.ok('hold' in paid && paid.hold !== undefined)
    assert.ok(blocks >= 3, `only ${blocks} extra blocks were mined for three writes`)
    const [deposit] = await listDeposits(local.client, local.deployment, { consumer: remote.account.address })
    assert.is(deposit?.provider.toLowerCase(), provider.toLowerCase())
    await consumer.stop()
  } finally {
    await local.close()
  }
}))

test.run()
