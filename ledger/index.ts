/**
 * The provider ledger: durable usage records, Merkle batches and on-chain anchors. A provider keeps
 * what it earned and a consumer what it spent, each in its own hash-chained SQLite ledger.
 */
export const LEDGER_LAYER = 'ledger'

export { openLedger } from './store.ts'
export type {
  Ledger, LedgerTotals, LedgerStats, LedgerVerifyReport, LedgerProgressEvent, LedgerProgressOptions, LedgerVerifyOptions, EntryProof
} from './store.ts'
export { entryHash, validateEntry, chainVerifier, LEDGER_KINDS, ZERO_HASH } from './entry.ts'
export type { LedgerEntry, NewLedgerEntry, LedgerHead, LedgerKind, ChainFault, ChainVerifier } from './entry.ts'
export type { LedgerBatch, AnchorStatus } from './batches.ts'
export type { LedgerExportSummary } from './export.ts'
export { batchRoot, batchTree, batchTreeAsync, proofFor, verifyProof, leafHash, nodeHash, hashToHex, LEAF_ENCODING } from './merkle.ts'
export type { BatchTree, MerkleLeaf } from './merkle.ts'
export {
  LedgerCorruptError, InvalidLedgerEntryError, LedgerQueueFullError, LedgerWriteError, LedgerClosedError, LedgerNotEmptyError,
  UnsupportedLedgerFormatError, LedgerRangeTooLargeError, BatchNotFoundError
} from './errors.ts'
export type { LedgerProblem } from './errors.ts'
export { createAnchorer, findAnchoredEvent } from './anchoring.ts'
export { AnchorRejectedError, AnchorFailedError } from './errors.ts'
export type { Anchorer, AnchorerInit, AnchorerStatus, AnchorEvent, AnchorError, AnchorRunOptions, AnchorRunResult, AnchoredEvent } from './anchoring.ts'
export { proveOnChain, checkOnChain, EntryNotFoundError, EntryNotBatchedError, BatchNotAnchoredError } from './verify-entry.ts'
export type { OnChainProof, ProofChecks, EntryClaim, ProveOnChainInit } from './verify-entry.ts'
export * from './constants.ts'
export * from './chain/index.ts'
export { exportSettlementKey, loadOrCreateSettlementAccount, settlementKeyPath, SettlementKeyError } from './account.ts'
export type { SettlementAccount } from './account.ts'
