/**
 * Merkle batches against @openzeppelin/merkle-tree, whose proofs OpenZeppelin's MerkleProof verifies on
 * chain: the same leaf hash, the same root for the same leaves in seq order, proofs that verify both
 * ways; a wrong leaf, proof or root fails.
 */
import { createHash } from 'node:crypto'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeAbiParameters, keccak256 } from 'viem'
import { batchRoot, batchTree, batchTreeAsync, hashToHex, leafHash, proofFor, verifyProof, LEAF_ENCODING } from '../../ledger/index.ts'
import type { MerkleLeaf } from '../../ledger/index.ts'

const leaves = (n: number, first = 1): MerkleLeaf[] =>
  Array.from({ length: n }, (_, k) => ({ seq: first + k, hash: new Uint8Array(createHash('sha256').update(`entry ${first + k}`).digest()) }))
const ozOf = (ls: MerkleLeaf[]): StandardMerkleTree<[number, string]> =>
  StandardMerkleTree.of(ls.map(l => [l.seq, hashToHex(l.hash as Uint8Array)] as [number, string]), [...LEAF_ENCODING], { sortLeaves: false })

test('the leaf hash is keccak256(bytes.concat(keccak256(abi.encode(seq, entryHash)))), as the library and the contract compute it', () => {
  for (const l of [...leaves(3), { seq: 2 ** 40 + 5, hash: new Uint8Array(32).fill(0xee) }]) {
    const hex = hashToHex(l.hash as Uint8Array)
    const solidity = keccak256(keccak256(encodeAbiParameters([{ type: 'uint256' }, { type: 'bytes32' }], [BigInt(l.seq), hex])), 'bytes')
    assert.equal(leafHash(l.seq, l.hash), solidity)
    assert.equal(leafHash(l.seq, hex), solidity)
    assert.is(hashToHex(leafHash(l.seq, l.hash)), ozOf([l]).leafHash([l.seq, hex]))
  }
})

test('roots equal StandardMerkleTree roots (leaves in seq order) for every shape of tree', () => {
  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 33, 100, 257]) {
    const ls = leaves(n, 1000)
    assert.is(batchRoot(ls), ozOf(ls).root, `${n} leaves`)
  }
})

test('every proof verifies with StandardMerkleTree.verify and equals the library\'s own proof', () => {
  for (const n of [1, 2, 7, 33]) {
    const ls = leaves(n)
    const tree = batchTree(ls)
    const oz = ozOf(ls)
    ls.forEach((l, i) => {
      const proof = tree.proof(l.seq)
      const value: [number, string] = [l.seq, hashToHex(l.hash as Uint8Array)]
      assert.ok(StandardMerkleTree.verify(tree.root, [...LEAF_ENCODING], value, proof), `${n} leaves, seq ${l.seq}`)
      assert.equal(proof, oz.getProof(i))
      assert.ok(verifyProof(tree.root, l.seq, l.hash, proof))
      assert.equal(proofFor(ls, l.seq), proof)
    })
  }
})

test('a wrong seq, entry hash, proof or root fails verification', () => {
  const ls = leaves(20)
  const tree = batchTree(ls)
  const l = ls[6] as MerkleLeaf
  const proof = tree.proof(l.seq)
  assert.ok(verifyProof(tree.root, l.seq, l.hash, proof))
  assert.not.ok(verifyProof(tree.root, l.seq + 1, l.hash, proof))
  assert.not.ok(verifyProof(tree.root, l.seq, (ls[7] as MerkleLeaf).hash, proof))
  const flipped = Uint8Array.from(l.hash as Uint8Array)
  flipped[0] = (flipped[0] ?? 0) ^ 1
  assert.not.ok(verifyProof(tree.root, l.seq, flipped, proof))
  assert.not.ok(verifyProof(tree.root, l.seq, l.hash, proof.slice(1)))
  assert.not.ok(verifyProof(tree.root, l.seq, l.hash, [...proof].reverse()))
  assert.not.ok(verifyProof(batchRoot(leaves(20, 2)), l.seq, l.hash, proof))
  assert.not.ok(StandardMerkleTree.verify(tree.root, [...LEAF_ENCODING], [l.seq + 1, hashToHex(l.hash as Uint8Array)], proof))
  assert.throws(() => tree.proof(99), RangeError)
  assert.throws(() => batchRoot([]), RangeError)
  assert.throws(() => leafHash(1, new Uint8Array(31)), RangeError)
})

test('the async builder gives the same tree and honours its signal', async () => {
  const ls = leaves(10_000)
  const tree = await batchTreeAsync(ls)
  assert.is(tree.root, batchTree(ls).root)
  assert.equal(tree.proof(4321), batchTree(ls).proof(4321))
  try { await batchTreeAsync(ls, { signal: AbortSignal.abort() }); assert.unreachable() } catch (err) { assert.is((err as Error).name, 'AbortError') }
})

test.run()
