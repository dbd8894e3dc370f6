/**
 * UsageAnchor on a real anvil: ranges follow on from 1 without gaps or overlaps, every anchor after a
 * provider's first costs the same gas (about 32k, below 40k), and entries proven with
 * @openzeppelin/merkle-tree verify through verify() and verifyLatest().
 */
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { keccak256, toHex } from 'viem'
import type { Hex } from 'viem'
import { usageAnchorAbi } from '../../../ledger/chain/index.ts'
import { bounded, setup } from '../../helpers.ts'
import { reverts, send, startTestChain } from './chain-helpers.ts'
import type { TestChain } from './chain-helpers.ts'

let t: TestChain
test.before(setup(async () => { t = await startTestChain() }))
test.after(async () => { await t?.chain.stop() })

const anchorCall = (t: TestChain, root: Hex, fromSeq: bigint, toSeq: bigint) =>
  ({ address: t.deployment.usageAnchor, abi: usageAnchorAbi, functionName: 'anchor', args: [root, fromSeq, toSeq] }) as const

/** A batch of log entries `(seq, entryHash)` for seqs from..to, as the ledger builds them. */
function batch (from: number, to: number): StandardMerkleTree<[bigint, Hex]> {
  const leaves: Array<[bigint, Hex]> = []
  for (let seq = from; seq <= to; seq++) leaves.push([BigInt(seq), keccak256(toHex(`entry ${seq}`))])
  return StandardMerkleTree.of(leaves, ['uint256', 'bytes32'])
}

/** Gas of the transaction's calldata (EIP-2028): it varies with the zero bytes of root and seqs. */
function calldataGas (input: Hex): bigint {
  let gas = 0n
  for (let i = 2; i < input.length; i += 2) gas += input.slice(i, i + 2) === '00' ? 4n : 16n
  return gas
}

test('ranges must follow on from 1: a gap, an overlap, a start other than 1 and an empty range revert', bounded(20_000, async () => {
  const provider = t.wallet(5)
  const root = batch(1, 4).root as Hex
  await reverts(provider, anchorCall(t, root, 2n, 4n), 'RangeNotContiguous')
  await reverts(provider, anchorCall(t, root, 1n, 0n), 'EmptyRange')
  await send(provider, anchorCall(t, root, 1n, 4n))
  await reverts(provider, anchorCall(t, root, 6n, 9n), 'RangeNotContiguous')
  await reverts(provider, anchorCall(t, root, 4n, 9n), 'RangeNotContiguous')
  await reverts(provider, anchorCall(t, root, 1n, 4n), 'RangeNotContiguous')
  await send(provider, anchorCall(t, root, 5n, 5n))
  const [latestRoot, from, to] = await provider.readContract({ address: t.deployment.usageAnchor, abi: usageAnchorAbi, functionName: 'latest', args: [provider.account.address] })
  assert.equal([latestRoot, from, to], [root, 5n, 5n])
  // Each provider has its own sequence.
  await send(t.wallet(6), anchorCall(t, root, 1n, 1n))
}))

test('gas per anchor is the same for every anchor after the first, and below 40k', bounded(30_000, async () => {
  const provider = t.wallet(7)
  const gas: bigint[] = []
  const execution: bigint[] = []
  for (let i = 0; i < 6; i++) {
    const from = i * 100 + 1
    const to = from + 99
    const receipt = await send(provider, anchorCall(t, batch(from, to).root as Hex, BigInt(from), BigInt(to)))
    const tx = await provider.getTransaction({ hash: receipt.transactionHash })
    gas.push(receipt.gasUsed)
    execution.push(receipt.gasUsed - calldataGas(tx.input))
  }
  process.stdout.write(`\n  UsageAnchor.anchor gas: first ${gas[0]}, then ${gas.slice(1).join(', ')} (without calldata: ${execution.join(', ')})\n`)
  for (const g of gas.slice(1)) assert.ok(g < 40_000n, `anchor gas ${g} ≥ 40000`)
  // Only the calldata (zero bytes in the root and seqs) varies; what the contract does costs the same.
  assert.equal(new Set(execution.slice(1)).size, 1, `execution gas varies: ${execution.join(', ')}`)
  // The first anchor turns two zero slots non-zero.
  assert.ok(gas[0]! > gas[1]!)
}))

test('verify() and verifyLatest() accept a StandardMerkleTree proof and refuse a wrong entry or an old batch', bounded(20_000, async () => {
  const provider = t.wallet(8)
  const address = provider.account.address
  const first = batch(1, 10)
  await send(provider, anchorCall(t, first.root as Hex, 1n, 10n))
  const read = t.deployer
  const anchor = t.deployment.usageAnchor
  const [seq, entryHash] = first.at(3)!
  const proof = first.getProof(3) as Hex[]
  const leaf = first.leafHash([seq, entryHash]) as Hex

  assert.ok(await read.readContract({ address: anchor, abi: usageAnchorAbi, functionName: 'verify', args: [first.root as Hex, leaf, proof] }))
  assert.ok(await read.readContract({ address: anchor, abi: usageAnchorAbi, functionName: 'verifyLatest', args: [address, seq, entryHash, proof] }))
  // Another entry hash, another seq, or a seq outside the anchored range does not verify.
  assert.not.ok(await read.readContract({ address: anchor, abi: usageAnchorAbi, functionName: 'verifyLatest', args: [address, seq, keccak256('0x01'), proof] }))
  assert.not.ok(await read.readContract({ address: anchor, abi: usageAnchorAbi, functionName: 'verifyLatest', args: [address, seq + 1n, entryHash, proof] }))
  assert.not.ok(await read.readContract({ address: anchor, abi: usageAnchorAbi, functionName: 'verifyLatest', args: [address, 11n, entryHash, proof] }))
  assert.not.ok(await read.readContract({ address: anchor, abi: usageAnchorAbi, functionName: 'verifyLatest', args: [t.wallet(9).account.address, seq, entryHash, proof] }))

  // After the next batch, the old proof verifies against the old root (from the event log) only.
  const second = batch(11, 20)
  await send(provider, anchorCall(t, second.root as Hex, 11n, 20n))
  assert.not.ok(await read.readContract({ address: anchor, abi: usageAnchorAbi, functionName: 'verifyLatest', args: [address, seq, entryHash, proof] }))
  const logs = await read.getContractEvents({ address: anchor, abi: usageAnchorAbi, eventName: 'Anchored', args: { provider: address }, fromBlock: 0n })
  assert.equal(logs.map(l => [l.args.fromSeq, l.args.toSeq]), [[1n, 10n], [11n, 20n]])
  assert.ok(await read.readContract({ address: anchor, abi: usageAnchorAbi, functionName: 'verify', args: [logs[0]!.args.root!, leaf, proof] }))
  const [s2, h2] = second.at(9)!
  assert.ok(await read.readContract({ address: anchor, abi: usageAnchorAbi, functionName: 'verifyLatest', args: [address, s2, h2, second.getProof(9) as Hex[]] }))
}))

test.run()
