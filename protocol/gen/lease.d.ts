import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface Limits {
    cpus: number;
    memoryMb: number;
    pids: number;
    wallMs: bigint;
    outputBytes: bigint;
    artifactBytes: bigint;
    tmpMb: number;
    maxTokens: number;
    promptTokens: number;
}
export declare namespace Limits {
    const codec: () => Codec<Limits>;
    interface LimitsCpusFieldEvent {
        field: '$.cpus';
        value: number;
    }
    interface LimitsMemoryMbFieldEvent {
        field: '$.memoryMb';
        value: number;
    }
    interface LimitsPidsFieldEvent {
        field: '$.pids';
        value: number;
    }
    interface LimitsWallMsFieldEvent {
        field: '$.wallMs';
        value: bigint;
    }
    interface LimitsOutputBytesFieldEvent {
        field: '$.outputBytes';
        value: bigint;
    }
    interface LimitsArtifactBytesFieldEvent {
        field: '$.artifactBytes';
        value: bigint;
    }
    interface LimitsTmpMbFieldEvent {
        field: '$.tmpMb';
        value: number;
    }
    interface LimitsMaxTokensFieldEvent {
        field: '$.maxTokens';
        value: number;
    }
    interface LimitsPromptTokensFieldEvent {
        field: '$.promptTokens';
        value: number;
    }
    function encode(obj: Partial<Limits>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Limits>): Limits;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Limits>): Generator<LimitsCpusFieldEvent | LimitsMemoryMbFieldEvent | LimitsPidsFieldEvent | LimitsWallMsFieldEvent | LimitsOutputBytesFieldEvent | LimitsArtifactBytesFieldEvent | LimitsTmpMbFieldEvent | LimitsMaxTokensFieldEvent | LimitsPromptTokensFieldEvent>;
}
export interface TaskOrder {
    orderId: Uint8Array<ArrayBuffer>;
    consumer: Uint8Array<ArrayBuffer>;
    provider: Uint8Array<ArrayBuffer>;
    kind: string;
    image: string;
    model: string;
    limits?: Limits;
    inputDigest: Uint8Array<ArrayBuffer>;
    maxPrice: bigint;
    deadlineMs: bigint;
    nonce: Uint8Array<ArrayBuffer>;
    payment?: Payment;
}
export declare namespace TaskOrder {
    const codec: () => Codec<TaskOrder>;
    interface TaskOrderOrderIdFieldEvent {
        field: '$.orderId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TaskOrderConsumerFieldEvent {
        field: '$.consumer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TaskOrderProviderFieldEvent {
        field: '$.provider';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TaskOrderKindFieldEvent {
        field: '$.kind';
        value: string;
    }
    interface TaskOrderImageFieldEvent {
        field: '$.image';
        value: string;
    }
    interface TaskOrderModelFieldEvent {
        field: '$.model';
        value: string;
    }
    interface TaskOrderLimitsCpusFieldEvent {
        field: '$.limits.cpus';
        value: number;
    }
    interface TaskOrderLimitsMemoryMbFieldEvent {
        field: '$.limits.memoryMb';
        value: number;
    }
    interface TaskOrderLimitsPidsFieldEvent {
        field: '$.limits.pids';
        value: number;
    }
    interface TaskOrderLimitsWallMsFieldEvent {
        field: '$.limits.wallMs';
        value: bigint;
    }
    interface TaskOrderLimitsOutputBytesFieldEvent {
        field: '$.limits.outputBytes';
        value: bigint;
    }
    interface TaskOrderLimitsArtifactBytesFieldEvent {
        field: '$.limits.artifactBytes';
        value: bigint;
    }
    interface TaskOrderLimitsTmpMbFieldEvent {
        field: '$.limits.tmpMb';
        value: number;
    }
    interface TaskOrderLimitsMaxTokensFieldEvent {
        field: '$.limits.maxTokens';
        value: number;
    }
    interface TaskOrderLimitsPromptTokensFieldEvent {
        field: '$.limits.promptTokens';
        value: number;
    }
    interface TaskOrderInputDigestFieldEvent {
        field: '$.inputDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TaskOrderMaxPriceFieldEvent {
        field: '$.maxPrice';
        value: bigint;
    }
    interface TaskOrderDeadlineMsFieldEvent {
        field: '$.deadlineMs';
        value: bigint;
    }
    interface TaskOrderNonceFieldEvent {
        field: '$.nonce';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TaskOrderPaymentDepositIdFieldEvent {
        field: '$.payment.depositId';
        value: bigint;
    }
    interface TaskOrderPaymentSettlementFieldEvent {
        field: '$.payment.settlement';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<TaskOrder>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskOrder>): TaskOrder;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskOrder>): Generator<TaskOrderOrderIdFieldEvent | TaskOrderConsumerFieldEvent | TaskOrderProviderFieldEvent | TaskOrderKindFieldEvent | TaskOrderImageFieldEvent | TaskOrderModelFieldEvent | TaskOrderLimitsCpusFieldEvent | TaskOrderLimitsMemoryMbFieldEvent | TaskOrderLimitsPidsFieldEvent | TaskOrderLimitsWallMsFieldEvent | TaskOrderLimitsOutputBytesFieldEvent | TaskOrderLimitsArtifactBytesFieldEvent | TaskOrderLimitsTmpMbFieldEvent | TaskOrderLimitsMaxTokensFieldEvent | TaskOrderLimitsPromptTokensFieldEvent | TaskOrderInputDigestFieldEvent | TaskOrderMaxPriceFieldEvent | TaskOrderDeadlineMsFieldEvent | TaskOrderNonceFieldEvent | TaskOrderPaymentDepositIdFieldEvent | TaskOrderPaymentSettlementFieldEvent>;
}
export interface Payment {
    depositId: bigint;
    settlement: Uint8Array<ArrayBuffer>;
}
export declare namespace Payment {
    const codec: () => Codec<Payment>;
    interface PaymentDepositIdFieldEvent {
        field: '$.depositId';
        value: bigint;
    }
    interface PaymentSettlementFieldEvent {
        field: '$.settlement';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Payment>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Payment>): Payment;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Payment>): Generator<PaymentDepositIdFieldEvent | PaymentSettlementFieldEvent>;
}
export interface Bid {
    orderId: Uint8Array<ArrayBuffer>;
    bidId: Uint8Array<ArrayBuffer>;
    provider: Uint8Array<ArrayBuffer>;
    price: bigint;
    estimatedStartMs: bigint;
    expiresAtMs: bigint;
    connectivity: string;
    rttMs: number;
    nonce: Uint8Array<ArrayBuffer>;
}
export declare namespace Bid {
    const codec: () => Codec<Bid>;
    interface BidOrderIdFieldEvent {
        field: '$.orderId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface BidBidIdFieldEvent {
        field: '$.bidId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface BidProviderFieldEvent {
        field: '$.provider';
        value: Uint8Array<ArrayBuffer>;
    }
    interface BidPriceFieldEvent {
        field: '$.price';
        value: bigint;
    }
    interface BidEstimatedStartMsFieldEvent {
        field: '$.estimatedStartMs';
        value: bigint;
    }
    interface BidExpiresAtMsFieldEvent {
        field: '$.expiresAtMs';
        value: bigint;
    }
    interface BidConnectivityFieldEvent {
        field: '$.connectivity';
        value: string;
    }
    interface BidRttMsFieldEvent {
        field: '$.rttMs';
        value: number;
    }
    interface BidNonceFieldEvent {
        field: '$.nonce';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Bid>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Bid>): Bid;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Bid>): Generator<BidOrderIdFieldEvent | BidBidIdFieldEvent | BidProviderFieldEvent | BidPriceFieldEvent | BidEstimatedStartMsFieldEvent | BidExpiresAtMsFieldEvent | BidConnectivityFieldEvent | BidRttMsFieldEvent | BidNonceFieldEvent>;
}
export interface Decline {
    orderId: Uint8Array<ArrayBuffer>;
    provider: Uint8Array<ArrayBuffer>;
    reason: string;
    detail: string;
}
export declare namespace Decline {
    const codec: () => Codec<Decline>;
    interface DeclineOrderIdFieldEvent {
        field: '$.orderId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface DeclineProviderFieldEvent {
        field: '$.provider';
        value: Uint8Array<ArrayBuffer>;
    }
    interface DeclineReasonFieldEvent {
        field: '$.reason';
        value: string;
    }
    interface DeclineDetailFieldEvent {
        field: '$.detail';
        value: string;
    }
    function encode(obj: Partial<Decline>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Decline>): Decline;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Decline>): Generator<DeclineOrderIdFieldEvent | DeclineProviderFieldEvent | DeclineReasonFieldEvent | DeclineDetailFieldEvent>;
}
export interface Award {
    orderId: Uint8Array<ArrayBuffer>;
    bidId: Uint8Array<ArrayBuffer>;
    payload: Uint8Array<ArrayBuffer>;
}
export declare namespace Award {
    const codec: () => Codec<Award>;
    interface AwardOrderIdFieldEvent {
        field: '$.orderId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface AwardBidIdFieldEvent {
        field: '$.bidId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface AwardPayloadFieldEvent {
        field: '$.payload';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Award>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Award>): Award;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Award>): Generator<AwardOrderIdFieldEvent | AwardBidIdFieldEvent | AwardPayloadFieldEvent>;
}
export interface Usage {
    wallMs: bigint;
    cpuMs: bigint;
    peakMemoryBytes: bigint;
    exitCode: number;
    oomKilled: boolean;
    bytesOut: bigint;
    inputTokens: bigint;
    outputTokens: bigint;
}
export declare namespace Usage {
    const codec: () => Codec<Usage>;
    interface UsageWallMsFieldEvent {
        field: '$.wallMs';
        value: bigint;
    }
    interface UsageCpuMsFieldEvent {
        field: '$.cpuMs';
        value: bigint;
    }
    interface UsagePeakMemoryBytesFieldEvent {
        field: '$.peakMemoryBytes';
        value: bigint;
    }
    interface UsageExitCodeFieldEvent {
        field: '$.exitCode';
        value: number;
    }
    interface UsageOomKilledFieldEvent {
        field: '$.oomKilled';
        value: boolean;
    }
    interface UsageBytesOutFieldEvent {
        field: '$.bytesOut';
        value: bigint;
    }
    interface UsageInputTokensFieldEvent {
        field: '$.inputTokens';
        value: bigint;
    }
    interface UsageOutputTokensFieldEvent {
        field: '$.outputTokens';
        value: bigint;
    }
    function encode(obj: Partial<Usage>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Usage>): Usage;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Usage>): Generator<UsageWallMsFieldEvent | UsageCpuMsFieldEvent | UsagePeakMemoryBytesFieldEvent | UsageExitCodeFieldEvent | UsageOomKilledFieldEvent | UsageBytesOutFieldEvent | UsageInputTokensFieldEvent | UsageOutputTokensFieldEvent>;
}
export interface Receipt {
    orderId: Uint8Array<ArrayBuffer>;
    bidId: Uint8Array<ArrayBuffer>;
    provider: Uint8Array<ArrayBuffer>;
    consumer: Uint8Array<ArrayBuffer>;
    status: string;
    usage?: Usage;
    resultDigest: Uint8Array<ArrayBuffer>;
    price: bigint;
    issuedAtMs: bigint;
    draw?: Draw;
}
export declare namespace Receipt {
    const codec: () => Codec<Receipt>;
    interface ReceiptOrderIdFieldEvent {
        field: '$.orderId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ReceiptBidIdFieldEvent {
        field: '$.bidId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ReceiptProviderFieldEvent {
        field: '$.provider';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ReceiptConsumerFieldEvent {
        field: '$.consumer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ReceiptStatusFieldEvent {
        field: '$.status';
        value: string;
    }
    interface ReceiptUsageWallMsFieldEvent {
        field: '$.usage.wallMs';
        value: bigint;
    }
    interface ReceiptUsageCpuMsFieldEvent {
        field: '$.usage.cpuMs';
        value: bigint;
    }
    interface ReceiptUsagePeakMemoryBytesFieldEvent {
        field: '$.usage.peakMemoryBytes';
        value: bigint;
    }
    interface ReceiptUsageExitCodeFieldEvent {
        field: '$.usage.exitCode';
        value: number;
    }
    interface ReceiptUsageOomKilledFieldEvent {
        field: '$.usage.oomKilled';
        value: boolean;
    }
    interface ReceiptUsageBytesOutFieldEvent {
        field: '$.usage.bytesOut';
        value: bigint;
    }
    interface ReceiptUsageInputTokensFieldEvent {
        field: '$.usage.inputTokens';
        value: bigint;
    }
    interface ReceiptUsageOutputTokensFieldEvent {
        field: '$.usage.outputTokens';
        value: bigint;
    }
    interface ReceiptResultDigestFieldEvent {
        field: '$.resultDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ReceiptPriceFieldEvent {
        field: '$.price';
        value: bigint;
    }
    interface ReceiptIssuedAtMsFieldEvent {
        field: '$.issuedAtMs';
        value: bigint;
    }
    interface ReceiptDrawDepositIdFieldEvent {
        field: '$.draw.depositId';
        value: bigint;
    }
    interface ReceiptDrawCumulativeFieldEvent {
        field: '$.draw.cumulative';
        value: bigint;
    }
    interface ReceiptDrawProviderSignatureFieldEvent {
        field: '$.draw.providerSignature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Receipt>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Receipt;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Generator<ReceiptOrderIdFieldEvent | ReceiptBidIdFieldEvent | ReceiptProviderFieldEvent | ReceiptConsumerFieldEvent | ReceiptStatusFieldEvent | ReceiptUsageWallMsFieldEvent | ReceiptUsageCpuMsFieldEvent | ReceiptUsagePeakMemoryBytesFieldEvent | ReceiptUsageExitCodeFieldEvent | ReceiptUsageOomKilledFieldEvent | ReceiptUsageBytesOutFieldEvent | ReceiptUsageInputTokensFieldEvent | ReceiptUsageOutputTokensFieldEvent | ReceiptResultDigestFieldEvent | ReceiptPriceFieldEvent | ReceiptIssuedAtMsFieldEvent | ReceiptDrawDepositIdFieldEvent | ReceiptDrawCumulativeFieldEvent | ReceiptDrawProviderSignatureFieldEvent>;
}
export interface Draw {
    depositId: bigint;
    cumulative: bigint;
    providerSignature: Uint8Array<ArrayBuffer>;
}
export declare namespace Draw {
    const codec: () => Codec<Draw>;
    interface DrawDepositIdFieldEvent {
        field: '$.depositId';
        value: bigint;
    }
    interface DrawCumulativeFieldEvent {
        field: '$.cumulative';
        value: bigint;
    }
    interface DrawProviderSignatureFieldEvent {
        field: '$.providerSignature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Draw>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Draw>): Draw;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Draw>): Generator<DrawDepositIdFieldEvent | DrawCumulativeFieldEvent | DrawProviderSignatureFieldEvent>;
}
export interface UsageTick {
    orderId: Uint8Array<ArrayBuffer>;
    bidId: Uint8Array<ArrayBuffer>;
    seq: number;
    outputTokens: bigint;
    bytesDelivered: bigint;
    deliveredDigest: Uint8Array<ArrayBuffer>;
    issuedAtMs: bigint;
    draw?: Draw;
}
export declare namespace UsageTick {
    const codec: () => Codec<UsageTick>;
    interface UsageTickOrderIdFieldEvent {
        field: '$.orderId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface UsageTickBidIdFieldEvent {
        field: '$.bidId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface UsageTickSeqFieldEvent {
        field: '$.seq';
        value: number;
    }
    interface UsageTickOutputTokensFieldEvent {
        field: '$.outputTokens';
        value: bigint;
    }
    interface UsageTickBytesDeliveredFieldEvent {
        field: '$.bytesDelivered';
        value: bigint;
    }
    interface UsageTickDeliveredDigestFieldEvent {
        field: '$.deliveredDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface UsageTickIssuedAtMsFieldEvent {
        field: '$.issuedAtMs';
        value: bigint;
    }
    interface UsageTickDrawDepositIdFieldEvent {
        field: '$.draw.depositId';
        value: bigint;
    }
    interface UsageTickDrawCumulativeFieldEvent {
        field: '$.draw.cumulative';
        value: bigint;
    }
    interface UsageTickDrawProviderSignatureFieldEvent {
        field: '$.draw.providerSignature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<UsageTick>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<UsageTick>): UsageTick;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<UsageTick>): Generator<UsageTickOrderIdFieldEvent | UsageTickBidIdFieldEvent | UsageTickSeqFieldEvent | UsageTickOutputTokensFieldEvent | UsageTickBytesDeliveredFieldEvent | UsageTickDeliveredDigestFieldEvent | UsageTickIssuedAtMsFieldEvent | UsageTickDrawDepositIdFieldEvent | UsageTickDrawCumulativeFieldEvent | UsageTickDrawProviderSignatureFieldEvent>;
}
export interface ReceiptAck {
    receiptDigest: Uint8Array<ArrayBuffer>;
    consumer: Uint8Array<ArrayBuffer>;
    drawSignature: Uint8Array<ArrayBuffer>;
}
export declare namespace ReceiptAck {
    const codec: () => Codec<ReceiptAck>;
    interface ReceiptAckReceiptDigestFieldEvent {
        field: '$.receiptDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ReceiptAckConsumerFieldEvent {
        field: '$.consumer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ReceiptAckDrawSignatureFieldEvent {
        field: '$.drawSignature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<ReceiptAck>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptAck>): ReceiptAck;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptAck>): Generator<ReceiptAckReceiptDigestFieldEvent | ReceiptAckConsumerFieldEvent | ReceiptAckDrawSignatureFieldEvent>;
}
export interface LeaseFrame {
    order: Uint8Array<ArrayBuffer>;
    bid: Uint8Array<ArrayBuffer>;
    decline: Uint8Array<ArrayBuffer>;
    award: Uint8Array<ArrayBuffer>;
    output?: OutputChunk;
    artifact?: ArtifactChunk;
    receipt: Uint8Array<ArrayBuffer>;
    receiptAck: Uint8Array<ArrayBuffer>;
    error?: LeaseError;
    usage: Uint8Array<ArrayBuffer>;
    usageAck: Uint8Array<ArrayBuffer>;
    cancel?: LeaseCancel;
}
export declare namespace LeaseFrame {
    const codec: () => Codec<LeaseFrame>;
    interface LeaseFrameOrderFieldEvent {
        field: '$.order';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LeaseFrameBidFieldEvent {
        field: '$.bid';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LeaseFrameDeclineFieldEvent {
        field: '$.decline';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LeaseFrameAwardFieldEvent {
        field: '$.award';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LeaseFrameOutputStreamFieldEvent {
        field: '$.output.stream';
        value: string;
    }
    interface LeaseFrameOutputDataFieldEvent {
        field: '$.output.data';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LeaseFrameArtifactPathFieldEvent {
        field: '$.artifact.path';
        value: string;
    }
    interface LeaseFrameArtifactDataFieldEvent {
        field: '$.artifact.data';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LeaseFrameArtifactLastFieldEvent {
        field: '$.artifact.last';
        value: boolean;
    }
    interface LeaseFrameArtifactSizeFieldEvent {
        field: '$.artifact.size';
        value: bigint;
    }
    interface LeaseFrameArtifactSha256FieldEvent {
        field: '$.artifact.sha256';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LeaseFrameReceiptFieldEvent {
        field: '$.receipt';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LeaseFrameReceiptAckFieldEvent {
        field: '$.receiptAck';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LeaseFrameErrorNameFieldEvent {
        field: '$.error.name';
        value: string;
    }
    interface LeaseFrameErrorMessageFieldEvent {
        field: '$.error.message';
        value: string;
    }
    interface LeaseFrameErrorRetryableFieldEvent {
        field: '$.error.retryable';
        value: boolean;
    }
    interface LeaseFrameUsageFieldEvent {
        field: '$.usage';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LeaseFrameUsageAckFieldEvent {
        field: '$.usageAck';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LeaseFrameCancelReasonFieldEvent {
        field: '$.cancel.reason';
        value: string;
    }
    function encode(obj: Partial<LeaseFrame>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LeaseFrame>): LeaseFrame;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LeaseFrame>): Generator<LeaseFrameOrderFieldEvent | LeaseFrameBidFieldEvent | LeaseFrameDeclineFieldEvent | LeaseFrameAwardFieldEvent | LeaseFrameOutputStreamFieldEvent | LeaseFrameOutputDataFieldEvent | LeaseFrameArtifactPathFieldEvent | LeaseFrameArtifactDataFieldEvent | LeaseFrameArtifactLastFieldEvent | LeaseFrameArtifactSizeFieldEvent | LeaseFrameArtifactSha256FieldEvent | LeaseFrameReceiptFieldEvent | LeaseFrameReceiptAckFieldEvent | LeaseFrameErrorNameFieldEvent | LeaseFrameErrorMessageFieldEvent | LeaseFrameErrorRetryableFieldEvent | LeaseFrameUsageFieldEvent | LeaseFrameUsageAckFieldEvent | LeaseFrameCancelReasonFieldEvent>;
}
export interface LeaseCancel {
    reason: string;
}
export declare namespace LeaseCancel {
    const codec: () => Codec<LeaseCancel>;
    interface LeaseCancelReasonFieldEvent {
        field: '$.reason';
        value: string;
    }
    function encode(obj: Partial<LeaseCancel>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LeaseCancel>): LeaseCancel;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LeaseCancel>): Generator<LeaseCancelReasonFieldEvent>;
}
export interface OutputChunk {
    stream: string;
    data: Uint8Array<ArrayBuffer>;
}
export declare namespace OutputChunk {
    const codec: () => Codec<OutputChunk>;
    interface OutputChunkStreamFieldEvent {
        field: '$.stream';
        value: string;
    }
    interface OutputChunkDataFieldEvent {
        field: '$.data';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<OutputChunk>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<OutputChunk>): OutputChunk;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<OutputChunk>): Generator<OutputChunkStreamFieldEvent | OutputChunkDataFieldEvent>;
}
export interface ArtifactChunk {
    path: string;
    data: Uint8Array<ArrayBuffer>;
    last: boolean;
    size: bigint;
    sha256: Uint8Array<ArrayBuffer>;
}
export declare namespace ArtifactChunk {
    const codec: () => Codec<ArtifactChunk>;
    interface ArtifactChunkPathFieldEvent {
        field: '$.path';
        value: string;
    }
    interface ArtifactChunkDataFieldEvent {
        field: '$.data';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ArtifactChunkLastFieldEvent {
        field: '$.last';
        value: boolean;
    }
    interface ArtifactChunkSizeFieldEvent {
        field: '$.size';
        value: bigint;
    }
    interface ArtifactChunkSha256FieldEvent {
        field: '$.sha256';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<ArtifactChunk>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ArtifactChunk>): ArtifactChunk;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ArtifactChunk>): Generator<ArtifactChunkPathFieldEvent | ArtifactChunkDataFieldEvent | ArtifactChunkLastFieldEvent | ArtifactChunkSizeFieldEvent | ArtifactChunkSha256FieldEvent>;
}
export interface LeaseError {
    name: string;
    message: string;
    retryable: boolean;
}
export declare namespace LeaseError {
    const codec: () => Codec<LeaseError>;
    interface LeaseErrorNameFieldEvent {
        field: '$.name';
        value: string;
    }
    interface LeaseErrorMessageFieldEvent {
        field: '$.message';
        value: string;
    }
    interface LeaseErrorRetryableFieldEvent {
        field: '$.retryable';
        value: boolean;
    }
    function encode(obj: Partial<LeaseError>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LeaseError>): LeaseError;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LeaseError>): Generator<LeaseErrorNameFieldEvent | LeaseErrorMessageFieldEvent | LeaseErrorRetryableFieldEvent>;
}
