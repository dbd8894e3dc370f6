import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var Limits;
(function (Limits) {
    let _codec;
    Limits.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.cpus != null && obj.cpus !== 0)) {
                    w.uint32(9);
                    w.double(obj.cpus);
                }
                if ((obj.memoryMb != null && obj.memoryMb !== 0)) {
                    w.uint32(16);
                    w.uint32(obj.memoryMb);
                }
                if ((obj.pids != null && obj.pids !== 0)) {
                    w.uint32(24);
                    w.uint32(obj.pids);
                }
                if ((obj.wallMs != null && obj.wallMs !== 0n)) {
                    w.uint32(32);
                    w.uint64(obj.wallMs);
                }
                if ((obj.outputBytes != null && obj.outputBytes !== 0n)) {
                    w.uint32(40);
                    w.uint64(obj.outputBytes);
                }
                if ((obj.artifactBytes != null && obj.artifactBytes !== 0n)) {
                    w.uint32(48);
                    w.uint64(obj.artifactBytes);
                }
                if ((obj.tmpMb != null && obj.tmpMb !== 0)) {
                    w.uint32(56);
                    w.uint32(obj.tmpMb);
                }
                if ((obj.maxTokens != null && obj.maxTokens !== 0)) {
                    w.uint32(64);
                    w.uint32(obj.maxTokens);
                }
                if ((obj.promptTokens != null && obj.promptTokens !== 0)) {
                    w.uint32(72);
                    w.uint32(obj.promptTokens);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    cpus: 0,
                    memoryMb: 0,
                    pids: 0,
                    wallMs: 0n,
                    outputBytes: 0n,
                    artifactBytes: 0n,
                    tmpMb: 0,
                    maxTokens: 0,
                    promptTokens: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.cpus = reader.double();
                            break;
                        }
                        case 2: {
                            obj.memoryMb = reader.uint32();
                            break;
                        }
                        case 3: {
                            obj.pids = reader.uint32();
                            break;
                        }
                        case 4: {
                            obj.wallMs = reader.uint64();
                            break;
                        }
                        case 5: {
                            obj.outputBytes = reader.uint64();
                            break;
                        }
                        case 6: {
                            obj.artifactBytes = reader.uint64();
                            break;
                        }
                        case 7: {
                            obj.tmpMb = reader.uint32();
                            break;
                        }
                        case 8: {
                            obj.maxTokens = reader.uint32();
                            break;
                        }
                        case 9: {
                            obj.promptTokens = reader.uint32();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.cpus`,
                                value: reader.double()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.memoryMb`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.pids`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.wallMs`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.outputBytes`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.artifactBytes`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.tmpMb`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.maxTokens`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 9: {
                            yield {
                                field: `${prefix}.promptTokens`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Limits.codec());
    }
    Limits.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Limits.codec(), opts);
    }
    Limits.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Limits.codec(), opts);
    }
    Limits.stream = stream;
})(Limits || (Limits = {}));
export var TaskOrder;
(function (TaskOrder) {
    let _codec;
    TaskOrder.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.orderId != null && obj.orderId.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.orderId);
                }
                if ((obj.consumer != null && obj.consumer.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.consumer);
                }
                if ((obj.provider != null && obj.provider.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.provider);
                }
                if ((obj.kind != null && obj.kind !== '')) {
                    w.uint32(34);
                    w.string(obj.kind);
                }
                if ((obj.image != null && obj.image !== '')) {
                    w.uint32(42);
                    w.string(obj.image);
                }
                if ((obj.model != null && obj.model !== '')) {
                    w.uint32(50);
                    w.string(obj.model);
                }
                if (obj.limits != null) {
                    w.uint32(58);
                    Limits.codec().encode(obj.limits, w);
                }
                if ((obj.inputDigest != null && obj.inputDigest.byteLength > 0)) {
                    w.uint32(66);
                    w.bytes(obj.inputDigest);
                }
                if ((obj.maxPrice != null && obj.maxPrice !== 0n)) {
                    w.uint32(72);
                    w.uint64(obj.maxPrice);
                }
                if ((obj.deadlineMs != null && obj.deadlineMs !== 0n)) {
                    w.uint32(80);
                    w.uint64(obj.deadlineMs);
                }
                if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
                    w.uint32(90);
                    w.bytes(obj.nonce);
                }
                if (obj.payment != null) {
                    w.uint32(98);
                    Payment.codec().encode(obj.payment, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    orderId: uint8ArrayAlloc(0),
                    consumer: uint8ArrayAlloc(0),
                    provider: uint8ArrayAlloc(0),
                    kind: '',
                    image: '',
                    model: '',
                    inputDigest: uint8ArrayAlloc(0),
                    maxPrice: 0n,
                    deadlineMs: 0n,
                    nonce: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.orderId = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.consumer = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.provider = reader.bytes();
                            break;
                        }
                        case 4: {
                            obj.kind = reader.string();
                            break;
                        }
                        case 5: {
                            obj.image = reader.string();
                            break;
                        }
                        case 6: {
                            obj.model = reader.string();
                            break;
                        }
                        case 7: {
                            obj.limits = Limits.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.limits
                            });
                            break;
                        }
                        case 8: {
                            obj.inputDigest = reader.bytes();
                            break;
                        }
                        case 9: {
                            obj.maxPrice = reader.uint64();
                            break;
                        }
                        case 10: {
                            obj.deadlineMs = reader.uint64();
                            break;
                        }
                        case 11: {
                            obj.nonce = reader.bytes();
                            break;
                        }
                        case 12: {
                            obj.payment = Payment.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.payment
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.orderId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.consumer`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.provider`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.kind`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.image`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.model`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 7: {
                            yield* Limits.codec().stream(reader, reader.uint32(), `${prefix}.limits`, {
                                limits: opts.limits?.limits
                            });
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.inputDigest`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 9: {
                            yield {
                                field: `${prefix}.maxPrice`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 10: {
                            yield {
                                field: `${prefix}.deadlineMs`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 11: {
                            yield {
                                field: `${prefix}.nonce`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 12: {
                            yield* Payment.codec().stream(reader, reader.uint32(), `${prefix}.payment`, {
                                limits: opts.limits?.payment
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TaskOrder.codec());
    }
    TaskOrder.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TaskOrder.codec(), opts);
    }
    TaskOrder.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TaskOrder.codec(), opts);
    }
    TaskOrder.stream = stream;
})(TaskOrder || (TaskOrder = {}));
export var Payment;
(function (Payment) {
    let _codec;
    Payment.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.depositId != null && obj.depositId !== 0n)) {
                    w.uint32(8);
                    w.uint64(obj.depositId);
                }
                if ((obj.settlement != null && obj.settlement.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.settlement);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    depositId: 0n,
                    settlement: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.depositId = reader.uint64();
                            break;
                        }
                        case 2: {
                            obj.settlement = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.depositId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.settlement`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Payment.codec());
    }
    Payment.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Payment.codec(), opts);
    }
    Payment.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Payment.codec(), opts);
    }
    Payment.stream = stream;
})(Payment || (Payment = {}));
export var Bid;
(function (Bid) {
    let _codec;
    Bid.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.orderId != null && obj.orderId.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.orderId);
                }
                if ((obj.bidId != null && obj.bidId.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.bidId);
                }
                if ((obj.provider != null && obj.provider.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.provider);
                }
                if ((obj.price != null && obj.price !== 0n)) {
                    w.uint32(32);
                    w.uint64(obj.price);
                }
                if ((obj.estimatedStartMs != null && obj.estimatedStartMs !== 0n)) {
                    w.uint32(40);
                    w.uint64(obj.estimatedStartMs);
                }
                if ((obj.expiresAtMs != null && obj.expiresAtMs !== 0n)) {
                    w.uint32(48);
                    w.uint64(obj.expiresAtMs);
                }
                if ((obj.connectivity != null && obj.connectivity !== '')) {
                    w.uint32(58);
                    w.string(obj.connectivity);
                }
                if ((obj.rttMs != null && obj.rttMs !== 0)) {
                    w.uint32(64);
                    w.uint32(obj.rttMs);
                }
                if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
                    w.uint32(74);
                    w.bytes(obj.nonce);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    orderId: uint8ArrayAlloc(0),
                    bidId: uint8ArrayAlloc(0),
                    provider: uint8ArrayAlloc(0),
                    price: 0n,
                    estimatedStartMs: 0n,
                    expiresAtMs: 0n,
                    connectivity: '',
                    rttMs: 0,
                    nonce: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.orderId = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.bidId = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.provider = reader.bytes();
                            break;
                        }
                        case 4: {
                            obj.price = reader.uint64();
                            break;
                        }
                        case 5: {
                            obj.estimatedStartMs = reader.uint64();
                            break;
                        }
                        case 6: {
                            obj.expiresAtMs = reader.uint64();
                            break;
                        }
                        case 7: {
                            obj.connectivity = reader.string();
                            break;
                        }
                        case 8: {
                            obj.rttMs = reader.uint32();
                            break;
                        }
                        case 9: {
                            obj.nonce = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.orderId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.bidId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.provider`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.price`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.estimatedStartMs`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.expiresAtMs`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.connectivity`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.rttMs`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 9: {
                            yield {
                                field: `${prefix}.nonce`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Bid.codec());
    }
    Bid.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Bid.codec(), opts);
    }
    Bid.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Bid.codec(), opts);
    }
    Bid.stream = stream;
})(Bid || (Bid = {}));
export var Decline;
(function (Decline) {
    let _codec;
    Decline.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.orderId != null && obj.orderId.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.orderId);
                }
                if ((obj.provider != null && obj.provider.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.provider);
                }
                if ((obj.reason != null && obj.reason !== '')) {
                    w.uint32(26);
                    w.string(obj.reason);
                }
                if ((obj.detail != null && obj.detail !== '')) {
                    w.uint32(34);
                    w.string(obj.detail);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    orderId: uint8ArrayAlloc(0),
                    provider: uint8ArrayAlloc(0),
                    reason: '',
                    detail: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.orderId = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.provider = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.reason = reader.string();
                            break;
                        }
                        case 4: {
                            obj.detail = reader.string();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.orderId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.provider`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.reason`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.detail`,
                                value: reader.string()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Decline.codec());
    }
    Decline.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Decline.codec(), opts);
    }
    Decline.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Decline.codec(), opts);
    }
    Decline.stream = stream;
})(Decline || (Decline = {}));
export var Award;
(function (Award) {
    let _codec;
    Award.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.orderId != null && obj.orderId.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.orderId);
                }
                if ((obj.bidId != null && obj.bidId.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.bidId);
                }
                if ((obj.payload != null && obj.payload.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.payload);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    orderId: uint8ArrayAlloc(0),
                    bidId: uint8ArrayAlloc(0),
                    payload: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.orderId = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.bidId = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.payload = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.orderId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.bidId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.payload`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Award.codec());
    }
    Award.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Award.codec(), opts);
    }
    Award.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Award.codec(), opts);
    }
    Award.stream = stream;
})(Award || (Award = {}));
export var Usage;
(function (Usage) {
    let _codec;
    Usage.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.wallMs != null && obj.wallMs !== 0n)) {
                    w.uint32(8);
                    w.uint64(obj.wallMs);
                }
                if ((obj.cpuMs != null && obj.cpuMs !== 0n)) {
                    w.uint32(16);
                    w.uint64(obj.cpuMs);
                }
                if ((obj.peakMemoryBytes != null && obj.peakMemoryBytes !== 0n)) {
                    w.uint32(24);
                    w.uint64(obj.peakMemoryBytes);
                }
                if ((obj.exitCode != null && obj.exitCode !== 0)) {
                    w.uint32(32);
                    w.sint32(obj.exitCode);
                }
                if ((obj.oomKilled != null && obj.oomKilled !== false)) {
                    w.uint32(40);
                    w.bool(obj.oomKilled);
                }
                if ((obj.bytesOut != null && obj.bytesOut !== 0n)) {
                    w.uint32(48);
                    w.uint64(obj.bytesOut);
                }
                if ((obj.inputTokens != null && obj.inputTokens !== 0n)) {
                    w.uint32(56);
                    w.uint64(obj.inputTokens);
                }
                if ((obj.outputTokens != null && obj.outputTokens !== 0n)) {
                    w.uint32(64);
                    w.uint64(obj.outputTokens);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    wallMs: 0n,
                    cpuMs: 0n,
                    peakMemoryBytes: 0n,
                    exitCode: 0,
                    oomKilled: false,
                    bytesOut: 0n,
                    inputTokens: 0n,
                    outputTokens: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.wallMs = reader.uint64();
                            break;
                        }
                        case 2: {
                            obj.cpuMs = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.peakMemoryBytes = reader.uint64();
                            break;
                        }
                        case 4: {
                            obj.exitCode = reader.sint32();
                            break;
                        }
                        case 5: {
                            obj.oomKilled = reader.bool();
                            break;
                        }
                        case 6: {
                            obj.bytesOut = reader.uint64();
                            break;
                        }
                        case 7: {
                            obj.inputTokens = reader.uint64();
                            break;
                        }
                        case 8: {
                            obj.outputTokens = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.wallMs`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.cpuMs`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.peakMemoryBytes`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.exitCode`,
                                value: reader.sint32()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.oomKilled`,
                                value: reader.bool()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.bytesOut`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.inputTokens`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.outputTokens`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Usage.codec());
    }
    Usage.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Usage.codec(), opts);
    }
    Usage.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Usage.codec(), opts);
    }
    Usage.stream = stream;
})(Usage || (Usage = {}));
export var Receipt;
(function (Receipt) {
    let _codec;
    Receipt.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.orderId != null && obj.orderId.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.orderId);
                }
                if ((obj.bidId != null && obj.bidId.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.bidId);
                }
                if ((obj.provider != null && obj.provider.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.provider);
                }
                if ((obj.consumer != null && obj.consumer.byteLength > 0)) {
                    w.uint32(34);
                    w.bytes(obj.consumer);
                }
                if ((obj.status != null && obj.status !== '')) {
                    w.uint32(42);
                    w.string(obj.status);
                }
                if (obj.usage != null) {
                    w.uint32(50);
                    Usage.codec().encode(obj.usage, w);
                }
                if ((obj.resultDigest != null && obj.resultDigest.byteLength > 0)) {
                    w.uint32(58);
                    w.bytes(obj.resultDigest);
                }
                if ((obj.price != null && obj.price !== 0n)) {
                    w.uint32(64);
                    w.uint64(obj.price);
                }
                if ((obj.issuedAtMs != null && obj.issuedAtMs !== 0n)) {
                    w.uint32(72);
                    w.uint64(obj.issuedAtMs);
                }
                if (obj.draw != null) {
                    w.uint32(82);
                    Draw.codec().encode(obj.draw, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    orderId: uint8ArrayAlloc(0),
                    bidId: uint8ArrayAlloc(0),
                    provider: uint8ArrayAlloc(0),
                    consumer: uint8ArrayAlloc(0),
                    status: '',
                    resultDigest: uint8ArrayAlloc(0),
                    price: 0n,
                    issuedAtMs: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.orderId = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.bidId = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.provider = reader.bytes();
                            break;
                        }
                        case 4: {
                            obj.consumer = reader.bytes();
                            break;
                        }
                        case 5: {
                            obj.status = reader.string();
                            break;
                        }
                        case 6: {
                            obj.usage = Usage.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.usage
                            });
                            break;
                        }
                        case 7: {
                            obj.resultDigest = reader.bytes();
                            break;
                        }
                        case 8: {
                            obj.price = reader.uint64();
                            break;
                        }
                        case 9: {
                            obj.issuedAtMs = reader.uint64();
                            break;
                        }
                        case 10: {
                            obj.draw = Draw.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.draw
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.orderId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.bidId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.provider`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.consumer`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.status`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 6: {
                            yield* Usage.codec().stream(reader, reader.uint32(), `${prefix}.usage`, {
                                limits: opts.limits?.usage
                            });
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.resultDigest`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.price`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 9: {
                            yield {
                                field: `${prefix}.issuedAtMs`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 10: {
                            yield* Draw.codec().stream(reader, reader.uint32(), `${prefix}.draw`, {
                                limits: opts.limits?.draw
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Receipt.codec());
    }
    Receipt.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Receipt.codec(), opts);
    }
    Receipt.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Receipt.codec(), opts);
    }
    Receipt.stream = stream;
})(Receipt || (Receipt = {}));
export var Draw;
(function (Draw) {
    let _codec;
    Draw.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.depositId != null && obj.depositId !== 0n)) {
                    w.uint32(8);
                    w.uint64(obj.depositId);
                }
                if ((obj.cumulative != null && obj.cumulative !== 0n)) {
                    w.uint32(16);
                    w.uint64(obj.cumulative);
                }
                if ((obj.providerSignature != null && obj.providerSignature.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.providerSignature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    depositId: 0n,
                    cumulative: 0n,
                    providerSignature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.depositId = reader.uint64();
                            break;
                        }
                        case 2: {
                            obj.cumulative = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.providerSignature = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.depositId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.cumulative`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.providerSignature`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Draw.codec());
    }
    Draw.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Draw.codec(), opts);
    }
    Draw.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Draw.codec(), opts);
    }
    Draw.stream = stream;
})(Draw || (Draw = {}));
export var UsageTick;
(function (UsageTick) {
    let _codec;
    UsageTick.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.orderId != null && obj.orderId.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.orderId);
                }
                if ((obj.bidId != null && obj.bidId.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.bidId);
                }
                if ((obj.seq != null && obj.seq !== 0)) {
                    w.uint32(24);
                    w.uint32(obj.seq);
                }
                if ((obj.outputTokens != null && obj.outputTokens !== 0n)) {
                    w.uint32(32);
                    w.uint64(obj.outputTokens);
                }
                if ((obj.bytesDelivered != null && obj.bytesDelivered !== 0n)) {
                    w.uint32(40);
                    w.uint64(obj.bytesDelivered);
                }
                if ((obj.deliveredDigest != null && obj.deliveredDigest.byteLength > 0)) {
                    w.uint32(50);
                    w.bytes(obj.deliveredDigest);
                }
                if ((obj.issuedAtMs != null && obj.issuedAtMs !== 0n)) {
                    w.uint32(56);
                    w.uint64(obj.issuedAtMs);
                }
                if (obj.draw != null) {
                    w.uint32(66);
                    Draw.codec().encode(obj.draw, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    orderId: uint8ArrayAlloc(0),
                    bidId: uint8ArrayAlloc(0),
                    seq: 0,
                    outputTokens: 0n,
                    bytesDelivered: 0n,
                    deliveredDigest: uint8ArrayAlloc(0),
                    issuedAtMs: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.orderId = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.bidId = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.seq = reader.uint32();
                            break;
                        }
                        case 4: {
                            obj.outputTokens = reader.uint64();
                            break;
                        }
                        case 5: {
                            obj.bytesDelivered = reader.uint64();
                            break;
                        }
                        case 6: {
                            obj.deliveredDigest = reader.bytes();
                            break;
                        }
                        case 7: {
                            obj.issuedAtMs = reader.uint64();
                            break;
                        }
                        case 8: {
                            obj.draw = Draw.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.draw
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.orderId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.bidId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.seq`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.outputTokens`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.bytesDelivered`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.deliveredDigest`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.issuedAtMs`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 8: {
                            yield* Draw.codec().stream(reader, reader.uint32(), `${prefix}.draw`, {
                                limits: opts.limits?.draw
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, UsageTick.codec());
    }
    UsageTick.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, UsageTick.codec(), opts);
    }
    UsageTick.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, UsageTick.codec(), opts);
    }
    UsageTick.stream = stream;
})(UsageTick || (UsageTick = {}));
export var ReceiptAck;
(function (ReceiptAck) {
    let _codec;
    ReceiptAck.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.receiptDigest != null && obj.receiptDigest.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.receiptDigest);
                }
                if ((obj.consumer != null && obj.consumer.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.consumer);
                }
                if ((obj.drawSignature != null && obj.drawSignature.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.drawSignature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    receiptDigest: uint8ArrayAlloc(0),
                    consumer: uint8ArrayAlloc(0),
                    drawSignature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.receiptDigest = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.consumer = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.drawSignature = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.receiptDigest`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.consumer`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.drawSignature`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, ReceiptAck.codec());
    }
    ReceiptAck.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ReceiptAck.codec(), opts);
    }
    ReceiptAck.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ReceiptAck.codec(), opts);
    }
    ReceiptAck.stream = stream;
})(ReceiptAck || (ReceiptAck = {}));
export var LeaseFrame;
(function (LeaseFrame) {
    let _codec;
    LeaseFrame.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.order != null && obj.order.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.order);
                }
                if ((obj.bid != null && obj.bid.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.bid);
                }
                if ((obj.decline != null && obj.decline.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.decline);
                }
                if ((obj.award != null && obj.award.byteLength > 0)) {
                    w.uint32(34);
                    w.bytes(obj.award);
                }
                if (obj.output != null) {
                    w.uint32(42);
                    OutputChunk.codec().encode(obj.output, w);
                }
                if (obj.artifact != null) {
                    w.uint32(50);
                    ArtifactChunk.codec().encode(obj.artifact, w);
                }
                if ((obj.receipt != null && obj.receipt.byteLength > 0)) {
                    w.uint32(58);
                    w.bytes(obj.receipt);
                }
                if ((obj.receiptAck != null && obj.receiptAck.byteLength > 0)) {
                    w.uint32(66);
                    w.bytes(obj.receiptAck);
                }
                if (obj.error != null) {
                    w.uint32(74);
                    LeaseError.codec().encode(obj.error, w);
                }
                if ((obj.usage != null && obj.usage.byteLength > 0)) {
                    w.uint32(82);
                    w.bytes(obj.usage);
                }
                if ((obj.usageAck != null && obj.usageAck.byteLength > 0)) {
                    w.uint32(90);
                    w.bytes(obj.usageAck);
                }
                if (obj.cancel != null) {
                    w.uint32(98);
                    LeaseCancel.codec().encode(obj.cancel, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    order: uint8ArrayAlloc(0),
                    bid: uint8ArrayAlloc(0),
                    decline: uint8ArrayAlloc(0),
                    award: uint8ArrayAlloc(0),
                    receipt: uint8ArrayAlloc(0),
                    receiptAck: uint8ArrayAlloc(0),
                    usage: uint8ArrayAlloc(0),
                    usageAck: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.order = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.bid = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.decline = reader.bytes();
                            break;
                        }
                        case 4: {
                            obj.award = reader.bytes();
                            break;
                        }
                        case 5: {
                            obj.output = OutputChunk.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.output
                            });
                            break;
                        }
                        case 6: {
                            obj.artifact = ArtifactChunk.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.artifact
                            });
                            break;
                        }
                        case 7: {
                            obj.receipt = reader.bytes();
                            break;
                        }
                        case 8: {
                            obj.receiptAck = reader.bytes();
                            break;
                        }
                        case 9: {
                            obj.error = LeaseError.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        case 10: {
                            obj.usage = reader.bytes();
                            break;
                        }
                        case 11: {
                            obj.usageAck = reader.bytes();
                            break;
                        }
                        case 12: {
                            obj.cancel = LeaseCancel.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.cancel
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.order`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.bid`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.decline`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.award`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 5: {
                            yield* OutputChunk.codec().stream(reader, reader.uint32(), `${prefix}.output`, {
                                limits: opts.limits?.output
                            });
                            break;
                        }
                        case 6: {
                            yield* ArtifactChunk.codec().stream(reader, reader.uint32(), `${prefix}.artifact`, {
                                limits: opts.limits?.artifact
                            });
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.receipt`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.receiptAck`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 9: {
                            yield* LeaseError.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        case 10: {
                            yield {
                                field: `${prefix}.usage`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 11: {
                            yield {
                                field: `${prefix}.usageAck`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 12: {
                            yield* LeaseCancel.codec().stream(reader, reader.uint32(), `${prefix}.cancel`, {
                                limits: opts.limits?.cancel
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, LeaseFrame.codec());
    }
    LeaseFrame.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, LeaseFrame.codec(), opts);
    }
    LeaseFrame.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, LeaseFrame.codec(), opts);
    }
    LeaseFrame.stream = stream;
})(LeaseFrame || (LeaseFrame = {}));
export var LeaseCancel;
(function (LeaseCancel) {
    let _codec;
    LeaseCancel.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.reason != null && obj.reason !== '')) {
                    w.uint32(10);
                    w.string(obj.reason);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    reason: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.reason = reader.string();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.reason`,
                                value: reader.string()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, LeaseCancel.codec());
    }
    LeaseCancel.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, LeaseCancel.codec(), opts);
    }
    LeaseCancel.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, LeaseCancel.codec(), opts);
    }
    LeaseCancel.stream = stream;
})(LeaseCancel || (LeaseCancel = {}));
export var OutputChunk;
(function (OutputChunk) {
    let _codec;
    OutputChunk.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.stream != null && obj.stream !== '')) {
                    w.uint32(10);
                    w.string(obj.stream);
                }
                if ((obj.data != null && obj.data.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.data);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    stream: '',
                    data: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.stream = reader.string();
                            break;
                        }
                        case 2: {
                            obj.data = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.stream`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.data`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, OutputChunk.codec());
    }
    OutputChunk.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, OutputChunk.codec(), opts);
    }
    OutputChunk.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, OutputChunk.codec(), opts);
    }
    OutputChunk.stream = stream;
})(OutputChunk || (OutputChunk = {}));
export var ArtifactChunk;
(function (ArtifactChunk) {
    let _codec;
    ArtifactChunk.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.path != null && obj.path !== '')) {
                    w.uint32(10);
                    w.string(obj.path);
                }
                if ((obj.data != null && obj.data.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.data);
                }
                if ((obj.last != null && obj.last !== false)) {
                    w.uint32(24);
                    w.bool(obj.last);
                }
                if ((obj.size != null && obj.size !== 0n)) {
                    w.uint32(32);
                    w.uint64(obj.size);
                }
                if ((obj.sha256 != null && obj.sha256.byteLength > 0)) {
                    w.uint32(42);
                    w.bytes(obj.sha256);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    path: '',
                    data: uint8ArrayAlloc(0),
                    last: false,
                    size: 0n,
                    sha256: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.path = reader.string();
                            break;
                        }
                        case 2: {
                            obj.data = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.last = reader.bool();
                            break;
                        }
                        case 4: {
                            obj.size = reader.uint64();
                            break;
                        }
                        case 5: {
                            obj.sha256 = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.path`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.data`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.last`,
                                value: reader.bool()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.size`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.sha256`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, ArtifactChunk.codec());
    }
    ArtifactChunk.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ArtifactChunk.codec(), opts);
    }
    ArtifactChunk.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ArtifactChunk.codec(), opts);
    }
    ArtifactChunk.stream = stream;
})(ArtifactChunk || (ArtifactChunk = {}));
export var LeaseError;
(function (LeaseError) {
    let _codec;
    LeaseError.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.name != null && obj.name !== '')) {
                    w.uint32(10);
                    w.string(obj.name);
                }
                if ((obj.message != null && obj.message !== '')) {
                    w.uint32(18);
                    w.string(obj.message);
                }
                if ((obj.retryable != null && obj.retryable !== false)) {
                    w.uint32(24);
                    w.bool(obj.retryable);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    name: '',
                    message: '',
                    retryable: false
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.name = reader.string();
                            break;
                        }
                        case 2: {
                            obj.message = reader.string();
                            break;
                        }
                        case 3: {
                            obj.retryable = reader.bool();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.name`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.message`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.retryable`,
                                value: reader.bool()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, LeaseError.codec());
    }
    LeaseError.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, LeaseError.codec(), opts);
    }
    LeaseError.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, LeaseError.codec(), opts);
    }
    LeaseError.stream = stream;
})(LeaseError || (LeaseError = {}));
