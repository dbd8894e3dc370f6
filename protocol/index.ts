/**
 * The protocol layer: wire formats and the pieces every other layer shares. It depends on nothing of
 * ours; `sandbox`, `ledger` and `bootstrap` build on it and `node` composes them all.
 */
export { ClawnodeError, serializeError } from './errors.ts'
export type { ClawnodeErrorOptions, SerializedError } from './errors.ts'

/** Prefix of every clawnode libp2p protocol id: `/clawnode/<name>/<major.minor.patch>`. */
export const PROTOCOL_PREFIX = '/clawnode'
export { MalformedMessageError, MessageTooLargeError, InvalidSignatureError, RecordExpiredError, PeerMismatchError } from './errors.ts'
export * from './constants.ts'
export { sealEnvelope, openEnvelope, signedBytes, envelopeSignature } from './envelope.ts'
export type { OpenedEnvelope } from './envelope.ts'
export { signCapabilityRecord, openCapabilityRecord } from './caps.ts'
export type { Capabilities, CapabilityRecordInfo, PriceTable, SettlementInfo } from './caps.ts'
export { createReplayGuard, ReplayError, ReplayGuardFullError } from './replay-guard.ts'
export type { ReplayGuard } from './replay-guard.ts'
export {
  signOrder, openOrder, signBid, openBid, signDecline, openDecline, openDeclineInfo, describeDecline, signAward, openAward, inputDigest,
  OrderMismatchError, InputDigestMismatchError, DECLINE_REASONS
} from './lease.ts'
export type { OrderInfo, OrderPayment, BidInfo, NewOrder, NewBid, LeaseLimits, JobKind, Connectivity, DeclineReason } from './lease.ts'
export { signReceipt, openReceipt, signReceiptAck, openReceiptAck, DRAW_SIGNATURE_BYTES } from './receipt.ts'
export { signUsageTick, openUsageTick } from './usage.ts'
export type { UsageTickInfo } from './usage.ts'
export type { ReceiptInfo, ReceiptStatus, LeaseUsage, ReceiptDraw } from './receipt.ts'
export { encodeFrame, encodeOutputFrame, decodeFrame, decodeFrameList } from './frames.ts'
export { frameStream, StreamEndedError, FRAME_HIGH_WATER_BYTES } from './frame-stream.ts'
export type { FrameStream } from './frame-stream.ts'
export type { Frame, ReceivedFrame } from './frames.ts'
export { addressBytes, signSettlementBinding, openSettlementBinding } from './settlement.ts'
