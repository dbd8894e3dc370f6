import { stat, writeFile } from 'node:fs/promises'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { verifyMessage } from 'viem'
import { exportSettlementKey, loadOrCreateSettlementAccount, settlementKeyPath } from '../../ledger/account.ts'
import { openSettlementBinding, signSettlementBinding } from '../../protocol/index.ts'
import { sealEnvelope, SETTLEMENT_DOMAIN, SETTLEMENT_PAYLOAD_TYPE } from '../../protocol/index.ts'
import { tempDir } from '../helpers.ts'

test('the settlement key is generated once, mode 0600, and signs as its address', async () => {
  const dir = await tempDir()
  const a = await loadOrCreateSettlementAccount(dir)
  assert.match(a.address, /^0x[0-9a-fA-F]{40}$/)
  assert.is((await stat(settlementKeyPath(dir))).mode & 0o777, 0o600)
  const b = await loadOrCreateSettlementAccount(dir)
  assert.is(b.address, a.address, 'a restarted node keeps its account')
  const signature = await b.account.signMessage({ message: 'hello' })
  assert.ok(await verifyMessage({ address: a.address, message: 'hello', signature }))
  assert.is((await exportSettlementKey(dir)).length, 66)
})

test('a corrupt settlement key is refused by name, not replaced', async () => {
  const dir = await tempDir()
  await loadOrCreateSettlementAccount(dir)
  await writeFile(settlementKeyPath(dir), 'not a key\n', { mode: 0o600 })
  try {
    await loadOrCreateSettlementAccount(dir)
    assert.unreachable('a corrupt key was accepted')
  } catch (err) {
    assert.is((err as Error).name, 'SettlementKeyError')
  }
})

test('the peer key binds the address; another peer, a changed address or a wrong payload is refused', async () => {
  const key = await generateKeyPair('Ed25519')
  const other = await generateKeyPair('Ed25519')
  const { address } = await loadOrCreateSettlementAccount(await tempDir())
  const binding = await signSettlementBinding(key, address)
  const opened = await openSettlementBinding(binding, { peer: peerIdFromPrivateKey(key) })
  assert.is(opened.address, address.toLowerCase())
  await openSettlementBinding(binding, { peer: peerIdFromPrivateKey(other) }).then(() => { assert.unreachable('bound to another peer') }, (err: Error) => { assert.is(err.name, 'PeerMismatchError') })
  const tampered = Uint8Array.from(binding)
  const at = Buffer.from(tampered).indexOf(Buffer.from(address.slice(2), 'hex'))
  tampered[at] = (tampered[at] ?? 0) ^ 1
  await openSettlementBinding(tampered).then(() => { assert.unreachable('a changed address verified') }, (err: Error) => { assert.is(err.name, 'InvalidSignatureError') })
  const short = await sealEnvelope(key, SETTLEMENT_DOMAIN, SETTLEMENT_PAYLOAD_TYPE, new Uint8Array(19))
  await openSettlementBinding(short).then(() => { assert.unreachable('a 19-byte address') }, (err: Error) => { assert.is(err.name, 'MalformedMessageError') })
  await signSettlementBinding(key, '0x1234').then(() => { assert.unreachable('a short address was signed') }, (err: Error) => { assert.is(err.name, 'MalformedMessageError') })
})

test.run()
