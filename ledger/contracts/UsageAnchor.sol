// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title UsageAnchor
/// @notice Providers anchor the Merkle root of each batch of their usage log here. Only the latest root
/// and range per provider are stored (two slots, so every anchor after the first costs the same gas);
/// the history of roots lives in the `Anchored` events.
/// @dev Leaves are OpenZeppelin StandardMerkleTree leaves of `(uint256 seq, bytes32 entryHash)`:
/// `keccak256(bytes.concat(keccak256(abi.encode(seq, entryHash))))`.
contract UsageAnchor {
    /// The sequence range of a provider's latest batch, packed in one slot.
    struct Range {
        uint64 fromSeq;
        uint64 toSeq;
    }

    mapping(address provider => Range) private _ranges;
    mapping(address provider => bytes32) private _roots;

    /// A provider anchored the root of the batch of its log entries `fromSeq..toSeq` (inclusive).
    event Anchored(address indexed provider, bytes32 root, uint64 fromSeq, uint64 toSeq);

    /// The batch does not start right after the provider's previous one (`expectedFromSeq`).
    error RangeNotContiguous(uint64 expectedFromSeq, uint64 fromSeq);
    /// The batch ends before it starts.
    error EmptyRange(uint64 fromSeq, uint64 toSeq);

    /// @notice Anchors the root of the caller's batch `fromSeq..toSeq`; ranges follow on from 1 without gaps.
    function anchor(bytes32 root, uint64 fromSeq, uint64 toSeq) external {
        Range memory previous = _ranges[msg.sender];
        uint64 expected = previous.toSeq + 1;
        if (fromSeq != expected) revert RangeNotContiguous(expected, fromSeq);
        if (toSeq < fromSeq) revert EmptyRange(fromSeq, toSeq);
        _ranges[msg.sender] = Range(fromSeq, toSeq);
        _roots[msg.sender] = root;
        emit Anchored(msg.sender, root, fromSeq, toSeq);
    }

    /// @notice The provider's latest anchored root and its range; all zero before its first anchor.
    function latest(address provider) external view returns (bytes32 root, uint64 fromSeq, uint64 toSeq) {
        Range memory r = _ranges[provider];
        return (_roots[provider], r.fromSeq, r.toSeq);
    }

    /// @notice Whether `leaf` is in the tree of `root` according to `proof` (OpenZeppelin MerkleProof).
    function verify(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @notice Whether the entry `(seq, entryHash)` is in the provider's latest anchored batch.
    function verifyLatest(address provider, uint256 seq, bytes32 entryHash, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        Range memory r = _ranges[provider];
        if (seq < r.fromSeq || seq > r.toSeq || r.toSeq == 0) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(seq, entryHash))));
        return MerkleProof.verifyCalldata(proof, _roots[provider], leaf);
    }
}
