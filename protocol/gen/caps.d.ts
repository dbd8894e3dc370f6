import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface CapabilityRecord {
    version: number;
    peerId: Uint8Array<ArrayBuffer>;
    clawnodeVersion: string;
    cpuCores: number;
    memoryBytes: bigint;
    gpus: Gpu[];
    runtimes: string[];
    images: string[];
    models: Model[];
    prices?: Prices;
    maxConcurrentJobs: number;
    expiresAtMs: bigint;
    seq: bigint;
    settlement?: Settlement;
}
export declare namespace CapabilityRecord {
    const codec: () => Codec<CapabilityRecord>;
    interface CapabilityRecordVersionFieldEvent {
        field: '$.version';
        value: number;
    }
    interface CapabilityRecordPeerIdFieldEvent {
        field: '$.peerId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface CapabilityRecordClawnodeVersionFieldEvent {
        field: '$.clawnodeVersion';
        value: string;
    }
    interface CapabilityRecordCpuCoresFieldEvent {
        field: '$.cpuCores';
        value: number;
    }
    interface CapabilityRecordMemoryBytesFieldEvent {
        field: '$.memoryBytes';
        value: bigint;
    }
    interface CapabilityRecordGpusNameFieldEvent {
        field: '$.gpus[].name';
        value: string;
        index: number;
    }
    interface CapabilityRecordGpusMemoryBytesFieldEvent {
        field: '$.gpus[].memoryBytes';
        value: bigint;
        index: number;
    }
    interface CapabilityRecordGpusBackendFieldEvent {
        field: '$.gpus[].backend';
        value: string;
        index: number;
    }
    interface CapabilityRecordRuntimesFieldEvent {
        field: '$.runtimes[]';
        index: number;
        value: string;
    }
    interface CapabilityRecordImagesFieldEvent {
        field: '$.images[]';
        index: number;
        value: string;
    }
    interface CapabilityRecordModelsIdFieldEvent {
        field: '$.models[].id';
        value: string;
        index: number;
    }
    interface CapabilityRecordModelsDigestFieldEvent {
        field: '$.models[].digest';
        value: string;
        index: number;
    }
    interface CapabilityRecordModelsQuantisationFieldEvent {
        field: '$.models[].quantisation';
        value: string;
        index: number;
    }
    interface CapabilityRecordModelsContextFieldEvent {
        field: '$.models[].context';
        value: number;
        index: number;
    }
    interface CapabilityRecordModelsFamilyFieldEvent {
        field: '$.models[].family';
        value: string;
        index: number;
    }
    interface CapabilityRecordPricesPerThousandInputTokensFieldEvent {
        field: '$.prices.perThousandInputTokens';
        value: bigint;
    }
    interface CapabilityRecordPricesPerThousandOutputTokensFieldEvent {
        field: '$.prices.perThousandOutputTokens';
        value: bigint;
    }
    interface CapabilityRecordPricesPerCpuSecondFieldEvent {
        field: '$.prices.perCpuSecond';
        value: bigint;
    }
    interface CapabilityRecordPricesPerGbSecondFieldEvent {
        field: '$.prices.perGbSecond';
        value: bigint;
    }
    interface CapabilityRecordMaxConcurrentJobsFieldEvent {
        field: '$.maxConcurrentJobs';
        value: number;
    }
    interface CapabilityRecordExpiresAtMsFieldEvent {
        field: '$.expiresAtMs';
        value: bigint;
    }
    interface CapabilityRecordSeqFieldEvent {
        field: '$.seq';
        value: bigint;
    }
    interface CapabilityRecordSettlementBindingFieldEvent {
        field: '$.settlement.binding';
        value: Uint8Array<ArrayBuffer>;
    }
    interface CapabilityRecordSettlementChainIdFieldEvent {
        field: '$.settlement.chainId';
        value: bigint;
    }
    interface CapabilityRecordSettlementEscrowFieldEvent {
        field: '$.settlement.escrow';
        value: Uint8Array<ArrayBuffer>;
    }
    interface CapabilityRecordSettlementFeeBpsFieldEvent {
        field: '$.settlement.feeBps';
        value: number;
    }
    function encode(obj: Partial<CapabilityRecord>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapabilityRecord>): CapabilityRecord;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapabilityRecord>): Generator<CapabilityRecordVersionFieldEvent | CapabilityRecordPeerIdFieldEvent | CapabilityRecordClawnodeVersionFieldEvent | CapabilityRecordCpuCoresFieldEvent | CapabilityRecordMemoryBytesFieldEvent | CapabilityRecordGpusNameFieldEvent | CapabilityRecordGpusMemoryBytesFieldEvent | CapabilityRecordGpusBackendFieldEvent | CapabilityRecordRuntimesFieldEvent | CapabilityRecordImagesFieldEvent | CapabilityRecordModelsIdFieldEvent | CapabilityRecordModelsDigestFieldEvent | CapabilityRecordModelsQuantisationFieldEvent | CapabilityRecordModelsContextFieldEvent | CapabilityRecordModelsFamilyFieldEvent | CapabilityRecordPricesPerThousandInputTokensFieldEvent | CapabilityRecordPricesPerThousandOutputTokensFieldEvent | CapabilityRecordPricesPerCpuSecondFieldEvent | CapabilityRecordPricesPerGbSecondFieldEvent | CapabilityRecordMaxConcurrentJobsFieldEvent | CapabilityRecordExpiresAtMsFieldEvent | CapabilityRecordSeqFieldEvent | CapabilityRecordSettlementBindingFieldEvent | CapabilityRecordSettlementChainIdFieldEvent | CapabilityRecordSettlementEscrowFieldEvent | CapabilityRecordSettlementFeeBpsFieldEvent>;
}
export interface Settlement {
    binding: Uint8Array<ArrayBuffer>;
    chainId: bigint;
    escrow: Uint8Array<ArrayBuffer>;
    feeBps: number;
}
export declare namespace Settlement {
    const codec: () => Codec<Settlement>;
    interface SettlementBindingFieldEvent {
        field: '$.binding';
        value: Uint8Array<ArrayBuffer>;
    }
    interface SettlementChainIdFieldEvent {
        field: '$.chainId';
        value: bigint;
    }
    interface SettlementEscrowFieldEvent {
        field: '$.escrow';
        value: Uint8Array<ArrayBuffer>;
    }
    interface SettlementFeeBpsFieldEvent {
        field: '$.feeBps';
        value: number;
    }
    function encode(obj: Partial<Settlement>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Settlement>): Settlement;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Settlement>): Generator<SettlementBindingFieldEvent | SettlementChainIdFieldEvent | SettlementEscrowFieldEvent | SettlementFeeBpsFieldEvent>;
}
export interface Gpu {
    name: string;
    memoryBytes: bigint;
    backend: string;
}
export declare namespace Gpu {
    const codec: () => Codec<Gpu>;
    interface GpuNameFieldEvent {
        field: '$.name';
        value: string;
    }
    interface GpuMemoryBytesFieldEvent {
        field: '$.memoryBytes';
        value: bigint;
    }
    interface GpuBackendFieldEvent {
        field: '$.backend';
        value: string;
    }
    function encode(obj: Partial<Gpu>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Gpu>): Gpu;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Gpu>): Generator<GpuNameFieldEvent | GpuMemoryBytesFieldEvent | GpuBackendFieldEvent>;
}
export interface Model {
    id: string;
    digest: string;
    quantisation: string;
    context: number;
    family: string;
}
export declare namespace Model {
    const codec: () => Codec<Model>;
    interface ModelIdFieldEvent {
        field: '$.id';
        value: string;
    }
    interface ModelDigestFieldEvent {
        field: '$.digest';
        value: string;
    }
    interface ModelQuantisationFieldEvent {
        field: '$.quantisation';
        value: string;
    }
    interface ModelContextFieldEvent {
        field: '$.context';
        value: number;
    }
    interface ModelFamilyFieldEvent {
        field: '$.family';
        value: string;
    }
    function encode(obj: Partial<Model>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Model>): Model;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Model>): Generator<ModelIdFieldEvent | ModelDigestFieldEvent | ModelQuantisationFieldEvent | ModelContextFieldEvent | ModelFamilyFieldEvent>;
}
export interface Prices {
    perThousandInputTokens: bigint;
    perThousandOutputTokens: bigint;
    perCpuSecond: bigint;
    perGbSecond: bigint;
}
export declare namespace Prices {
    const codec: () => Codec<Prices>;
    interface PricesPerThousandInputTokensFieldEvent {
        field: '$.perThousandInputTokens';
        value: bigint;
    }
    interface PricesPerThousandOutputTokensFieldEvent {
        field: '$.perThousandOutputTokens';
        value: bigint;
    }
    interface PricesPerCpuSecondFieldEvent {
        field: '$.perCpuSecond';
        value: bigint;
    }
    interface PricesPerGbSecondFieldEvent {
        field: '$.perGbSecond';
        value: bigint;
    }
    function encode(obj: Partial<Prices>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Prices>): Prices;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Prices>): Generator<PricesPerThousandInputTokensFieldEvent | PricesPerThousandOutputTokensFieldEvent | PricesPerCpuSecondFieldEvent | PricesPerGbSecondFieldEvent>;
}
