/**
 * Merkle trees over ledger batches whose proofs verify with OpenZeppelin's `MerkleProof.verify` on
 * chain, without I/O. The tree is the one `@openzeppelin/merkle-tree` builds with
 * `StandardMerkleTree.of(values, ['uint256', 'bytes32'], { sortLeaves: false })` for values
 * `[seq, entryHash]` in seq order: the same leaf hash, keccak256(bytes.concat(keccak256(abi.encode(seq,
 * entryHash)))), the same node hash, keccak256 of the two children sorted as bytes, and the same layout
 * (a complete binary tree in an array, leaves at the end in reverse order), so the roots are equal.
 * It is written here because that library takes about 7.5 s for 100k leaves; this takes about a third
 * of that. Leaves stay in seq order, so an entry's place in the tree follows from its seq.
 */
import { keccak256 } from 'viem'
import type { Hex } from 'viem'

/** The encoding of a leaf in `StandardMerkleTree` terms. */
export const LEAF_ENCODING = ['uint256', 'bytes32'] as const

/** One leaf: an entry's seq and its hash (32 bytes, or 0x-hex). */
export interface MerkleLeaf {
  seq: number
  hash: Uint8Array | Hex
}

const bytes32 = (h: Uint8Array | Hex): Uint8Array => {
  const b = typeof h === 'string' ? Buffer.from(h.startsWith('0x') ? h.slice(2) : h, 'hex') : h
  if (b.byteLength !== 32) throw new RangeError('an entry hash must be 32 bytes')
  return b
}
/** 32 bytes as 0x-hex, the form viem and the contract take. */
export const hashToHex = (b: Uint8Array): Hex => `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`
const toHex = hashToHex

/** keccak256(keccak256(abi.encode(uint256 seq, bytes32 hash))). */
export function leafHash (seq: number, hash: Uint8Array | Hex): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError('seq must be a non-negative safe integer')
  const enc = new Uint8Array(64)
  const view = new DataView(enc.buffer)
  // uint256 big-endian: a safe integer lives in the last 8 of its 32 bytes.
  view.setUint32(24, Math.floor(seq / 0x1_0000_0000))
  view.setUint32(28, seq >>> 0)
  enc.set(bytes32(hash), 32)
  return keccak256(keccak256(enc, 'bytes'), 'bytes')
}

/** The hash of two nodes as `MerkleProof` computes it: keccak256 of the pair, smaller first. */
export function nodeHash (a: Uint8Array, b: Uint8Array): Uint8Array {
  const pair = new Uint8Array(64)
  const aFirst = Buffer.compare(a, b) <= 0
  pair.set(aFirst ? a : b, 0)
  pair.set(aFirst ? b : a, 32)
  return keccak256(pair, 'bytes')
}

/** A built tree: its root, and proofs for its entries without rebuilding it. */
export interface BatchTree {
  root: Hex
  leafCount: number
  /** The sibling path from entry `seq`'s leaf to the root, as `MerkleProof.verify` takes it. */
  proof: (seq: number) => Hex[]
}

/** Hashes between two turns of the event loop when a tree is built with `batchTreeAsync`. */
const HASHES_PER_TURN = 4_096

/**
 * Builds the tree as an array (root at 0, leaf i at length - 1 - i), as the OpenZeppelin library lays
 * it out, pausing (yield) every HASHES_PER_TURN hashes so a large batch can be built without holding
 * the event loop.
 */
function * build (entries: readonly MerkleLeaf[]): Generator<undefined, Uint8Array[]> {
  const n = entries.length
  if (n === 0) throw new RangeError('a Merkle tree needs at least one leaf')
  const tree = new Array<Uint8Array>(2 * n - 1)
  for (let i = 0; i < n; i++) {
    const e = entries[i] as MerkleLeaf
    tree[tree.length - 1 - i] = leafHash(e.seq, e.hash)
    if (i % HASHES_PER_TURN === HASHES_PER_TURN - 1) yield
  }
  for (let i = tree.length - 1 - n, k = 0; i >= 0; i--, k++) {
    tree[i] = nodeHash(tree[2 * i + 1] as Uint8Array, tree[2 * i + 2] as Uint8Array)
    if (k % HASHES_PER_TURN === HASHES_PER_TURN - 1) yield
  }
  return tree
}

function treeOf (entries: readonly MerkleLeaf[], tree: Uint8Array[]): BatchTree {
  const first = entries[0]?.seq ?? 0
  return {
    root: toHex(tree[0] as Uint8Array),
    leafCount: entries.length,
    proof (seq) {
      // Entries of a batch are consecutive, so the index is seq - first; anything else is searched.
      let index = seq - first
      if (entries[index]?.seq !== seq) index = entries.findIndex(e => e.seq === seq)
      if (index < 0) throw new RangeError(`seq ${seq} is not in this batch`)
      const proof: Hex[] = []
      for (let i = tree.length - 1 - index; i > 0; i = Math.floor((i - 1) / 2)) proof.push(toHex(tree[i % 2 === 1 ? i + 1 : i - 1] as Uint8Array))
      return proof
    }
  }
}

/** The tree of a batch: entries in seq order. */
export function batchTree (entries: readonly MerkleLeaf[]): BatchTree {
  const it = build(entries)
  for (;;) {
    const r = it.next()
    if (r.done === true) return treeOf(entries, r.value)
  }
}

/** As batchTree, giving the event loop a turn every few thousand hashes; honours `options.signal`. */
export async function batchTreeAsync (entries: readonly MerkleLeaf[], options: { signal?: AbortSignal } = {}): Promise<BatchTree> {
  const it = build(entries)
  for (;;) {
    options.signal?.throwIfAborted()
    const r = it.next()
    if (r.done === true) return treeOf(entries, r.value)
    await new Promise(resolve => setImmediate(resolve))
  }
}

/** The root of a batch: entries in seq order. */
export function batchRoot (entries: readonly MerkleLeaf[]): Hex {
  return batchTree(entries).root
}

/** The proof that entry `seq` is in the batch made of `entries` (in seq order), for `MerkleProof.verify`. */
export function proofFor (entries: readonly MerkleLeaf[], seq: number): Hex[] {
  return batchTree(entries).proof(seq)
}

/** Checks a proof offline, exactly as `MerkleProof.verify(proof, root, leaf)` does on chain. */
export function verifyProof (root: Uint8Array | Hex, seq: number, entryHash: Uint8Array | Hex, proof: ReadonlyArray<Uint8Array | Hex>): boolean {
  let node = leafHash(seq, entryHash)
  for (const p of proof) node = nodeHash(node, bytes32(p))
  return Buffer.compare(node, bytes32(root)) === 0
}

