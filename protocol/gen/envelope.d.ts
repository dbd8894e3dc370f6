import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface Envelope {
    publicKey: Uint8Array<ArrayBuffer>;
    payloadType: Uint8Array<ArrayBuffer>;
    payload: Uint8Array<ArrayBuffer>;
    signature: Uint8Array<ArrayBuffer>;
}
export declare namespace Envelope {
    const codec: () => Codec<Envelope>;
    interface EnvelopePublicKeyFieldEvent {
        field: '$.publicKey';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopePayloadTypeFieldEvent {
        field: '$.payloadType';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopePayloadFieldEvent {
        field: '$.payload';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeSignatureFieldEvent {
        field: '$.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Envelope>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Envelope;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Generator<EnvelopePublicKeyFieldEvent | EnvelopePayloadTypeFieldEvent | EnvelopePayloadFieldEvent | EnvelopeSignatureFieldEvent>;
}
