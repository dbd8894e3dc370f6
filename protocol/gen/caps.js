import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var CapabilityRecord;
(function (CapabilityRecord) {
    let _codec;
    CapabilityRecord.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.version != null && obj.version !== 0)) {
                    w.uint32(8);
                    w.uint32(obj.version);
                }
                if ((obj.peerId != null && obj.peerId.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.peerId);
                }
                if ((obj.clawnodeVersion != null && obj.clawnodeVersion !== '')) {
                    w.uint32(26);
                    w.string(obj.clawnodeVersion);
                }
                if ((obj.cpuCores != null && obj.cpuCores !== 0)) {
                    w.uint32(32);
                    w.uint32(obj.cpuCores);
                }
                if ((obj.memoryBytes != null && obj.memoryBytes !== 0n)) {
                    w.uint32(40);
                    w.uint64(obj.memoryBytes);
                }
                if (obj.gpus != null && obj.gpus.length > 0) {
                    for (const value of obj.gpus) {
                        w.uint32(50);
                        Gpu.codec().encode(value, w);
                    }
                }
                if (obj.runtimes != null && obj.runtimes.length > 0) {
                    for (const value of obj.runtimes) {
                        w.uint32(58);
                        w.string(value);
                    }
                }
                if (obj.images != null && obj.images.length > 0) {
                    for (const value of obj.images) {
                        w.uint32(66);
                        w.string(value);
                    }
                }
                if (obj.models != null && obj.models.length > 0) {
                    for (const value of obj.models) {
                        w.uint32(74);
                        Model.codec().encode(value, w);
                    }
                }
                if (obj.prices != null) {
                    w.uint32(82);
                    Prices.codec().encode(obj.prices, w);
                }
                if ((obj.maxConcurrentJobs != null && obj.maxConcurrentJobs !== 0)) {
                    w.uint32(88);
                    w.uint32(obj.maxConcurrentJobs);
                }
                if ((obj.expiresAtMs != null && obj.expiresAtMs !== 0n)) {
                    w.uint32(96);
                    w.uint64(obj.expiresAtMs);
                }
                if ((obj.seq != null && obj.seq !== 0n)) {
                    w.uint32(104);
                    w.uint64(obj.seq);
                }
                if (obj.settlement != null) {
                    w.uint32(114);
                    Settlement.codec().encode(obj.settlement, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    version: 0,
                    peerId: uint8ArrayAlloc(0),
                    clawnodeVersion: '',
                    cpuCores: 0,
                    memoryBytes: 0n,
                    gpus: [],
                    runtimes: [],
                    images: [],
                    models: [],
                    maxConcurrentJobs: 0,
                    expiresAtMs: 0n,
                    seq: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.version = reader.uint32();
                            break;
                        }
                        case 2: {
                            obj.peerId = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.clawnodeVersion = reader.string();
                            break;
                        }
                        case 4: {
                            obj.cpuCores = reader.uint32();
                            break;
                        }
                        case 5: {
                            obj.memoryBytes = reader.uint64();
                            break;
                        }
                        case 6: {
                            if (opts.limits?.gpus != null && obj.gpus.length === opts.limits.gpus) {
                                throw new MaxLengthError('Decode error - repeated field "gpus" had too many elements');
                            }
                            obj.gpus.push(Gpu.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.gpus$
                            }));
                            break;
                        }
                        case 7: {
                            if (opts.limits?.runtimes != null && obj.runtimes.length === opts.limits.runtimes) {
                                throw new MaxLengthError('Decode error - repeated field "runtimes" had too many elements');
                            }
                            obj.runtimes.push(reader.string());
                            break;
                        }
                        case 8: {
                            if (opts.limits?.images != null && obj.images.length === opts.limits.images) {
                                throw new MaxLengthError('Decode error - repeated field "images" had too many elements');
                            }
                            obj.images.push(reader.string());
                            break;
                        }
                        case 9: {
                            if (opts.limits?.models != null && obj.models.length === opts.limits.models) {
                                throw new MaxLengthError('Decode error - repeated field "models" had too many elements');
                            }
                            obj.models.push(Model.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.models$
                            }));
                            break;
                        }
                        case 10: {
                            obj.prices = Prices.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.prices
                            });
                            break;
                        }
                        case 11: {
                            obj.maxConcurrentJobs = reader.uint32();
                            break;
                        }
                        case 12: {
                            obj.expiresAtMs = reader.uint64();
                            break;
                        }
                        case 13: {
                            obj.seq = reader.uint64();
                            break;
                        }
                        case 14: {
                            obj.settlement = Settlement.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.settlement
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
                const obj = {
                    gpus: 0,
                    runtimes: 0,
                    images: 0,
                    models: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.version`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.peerId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.clawnodeVersion`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.cpuCores`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.memoryBytes`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 6: {
                            if (opts.limits?.gpus != null && obj.gpus === opts.limits.gpus) {
                                throw new MaxLengthError('Streaming decode error - repeated field "gpus" had too many elements');
                            }
                            for (const evt of Gpu.codec().stream(reader, reader.uint32(), `${prefix}.gpus[]`, {
                                limits: opts.limits?.gpus$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.gpus
                                };
                            }
                            obj.gpus++;
                            break;
                        }
                        case 7: {
                            if (opts.limits?.runtimes != null && obj.runtimes === opts.limits.runtimes) {
                                throw new MaxLengthError('Streaming decode error - repeated field "runtimes" had too many elements');
                            }
                            yield {
                                field: `${prefix}.runtimes[]`,
                                index: obj.runtimes,
                                value: reader.string()
                            };
                            obj.runtimes++;
                            break;
                        }
                        case 8: {
                            if (opts.limits?.images != null && obj.images === opts.limits.images) {
                                throw new MaxLengthError('Streaming decode error - repeated field "images" had too many elements');
                            }
                            yield {
                                field: `${prefix}.images[]`,
                                index: obj.images,
                                value: reader.string()
                            };
                            obj.images++;
                            break;
                        }
                        case 9: {
                            if (opts.limits?.models != null && obj.models === opts.limits.models) {
                                throw new MaxLengthError('Streaming decode error - repeated field "models" had too many elements');
                            }
                            for (const evt of Model.codec().stream(reader, reader.uint32(), `${prefix}.models[]`, {
                                limits: opts.limits?.models$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.models
                                };
                            }
                            obj.models++;
                            break;
                        }
                        case 10: {
                            yield* Prices.codec().stream(reader, reader.uint32(), `${prefix}.prices`, {
                                limits: opts.limits?.prices
                            });
                            break;
                        }
                        case 11: {
                            yield {
                                field: `${prefix}.maxConcurrentJobs`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 12: {
                            yield {
                                field: `${prefix}.expiresAtMs`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 13: {
                            yield {
                                field: `${prefix}.seq`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 14: {
                            yield* Settlement.codec().stream(reader, reader.uint32(), `${prefix}.settlement`, {
                                limits: opts.limits?.settlement
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
        return encodeMessage(obj, CapabilityRecord.codec());
    }
    CapabilityRecord.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, CapabilityRecord.codec(), opts);
    }
    CapabilityRecord.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, CapabilityRecord.codec(), opts);
    }
    CapabilityRecord.stream = stream;
})(CapabilityRecord || (CapabilityRecord = {}));
export var Settlement;
(function (Settlement) {
    let _codec;
    Settlement.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.binding != null && obj.binding.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.binding);
                }
                if ((obj.chainId != null && obj.chainId !== 0n)) {
                    w.uint32(16);
                    w.uint64(obj.chainId);
                }
                if ((obj.escrow != null && obj.escrow.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.escrow);
                }
                if ((obj.feeBps != null && obj.feeBps !== 0)) {
                    w.uint32(32);
                    w.uint32(obj.feeBps);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    binding: uint8ArrayAlloc(0),
                    chainId: 0n,
                    escrow: uint8ArrayAlloc(0),
                    feeBps: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.binding = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.chainId = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.escrow = reader.bytes();
                            break;
                        }
                        case 4: {
                            obj.feeBps = reader.uint32();
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
                                field: `${prefix}.binding`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.chainId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.escrow`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.feeBps`,
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
        return encodeMessage(obj, Settlement.codec());
    }
    Settlement.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Settlement.codec(), opts);
    }
    Settlement.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Settlement.codec(), opts);
    }
    Settlement.stream = stream;
})(Settlement || (Settlement = {}));
export var Gpu;
(function (Gpu) {
    let _codec;
    Gpu.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.name != null && obj.name !== '')) {
                    w.uint32(10);
                    w.string(obj.name);
                }
                if ((obj.memoryBytes != null && obj.memoryBytes !== 0n)) {
                    w.uint32(16);
                    w.uint64(obj.memoryBytes);
                }
                if ((obj.backend != null && obj.backend !== '')) {
                    w.uint32(26);
                    w.string(obj.backend);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    name: '',
                    memoryBytes: 0n,
                    backend: ''
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
                            obj.memoryBytes = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.backend = reader.string();
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
                                field: `${prefix}.memoryBytes`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.backend`,
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
        return encodeMessage(obj, Gpu.codec());
    }
    Gpu.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Gpu.codec(), opts);
    }
    Gpu.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Gpu.codec(), opts);
    }
    Gpu.stream = stream;
})(Gpu || (Gpu = {}));
export var Model;
(function (Model) {
    let _codec;
    Model.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.id != null && obj.id !== '')) {
                    w.uint32(10);
                    w.string(obj.id);
                }
                if ((obj.digest != null && obj.digest !== '')) {
                    w.uint32(18);
                    w.string(obj.digest);
                }
                if ((obj.quantisation != null && obj.quantisation !== '')) {
                    w.uint32(26);
                    w.string(obj.quantisation);
                }
                if ((obj.context != null && obj.context !== 0)) {
                    w.uint32(32);
                    w.uint32(obj.context);
                }
                if ((obj.family != null && obj.family !== '')) {
                    w.uint32(42);
                    w.string(obj.family);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    id: '',
                    digest: '',
                    quantisation: '',
                    context: 0,
                    family: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.id = reader.string();
                            break;
                        }
                        case 2: {
                            obj.digest = reader.string();
                            break;
                        }
                        case 3: {
                            obj.quantisation = reader.string();
                            break;
                        }
                        case 4: {
                            obj.context = reader.uint32();
                            break;
                        }
                        case 5: {
                            obj.family = reader.string();
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
                                field: `${prefix}.id`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.digest`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.quantisation`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.context`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.family`,
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
        return encodeMessage(obj, Model.codec());
    }
    Model.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Model.codec(), opts);
    }
    Model.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Model.codec(), opts);
    }
    Model.stream = stream;
})(Model || (Model = {}));
export var Prices;
(function (Prices) {
    let _codec;
    Prices.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.perThousandInputTokens != null && obj.perThousandInputTokens !== 0n)) {
                    w.uint32(8);
                    w.uint64(obj.perThousandInputTokens);
                }
                if ((obj.perThousandOutputTokens != null && obj.perThousandOutputTokens !== 0n)) {
                    w.uint32(16);
                    w.uint64(obj.perThousandOutputTokens);
                }
                if ((obj.perCpuSecond != null && obj.perCpuSecond !== 0n)) {
                    w.uint32(24);
                    w.uint64(obj.perCpuSecond);
                }
                if ((obj.perGbSecond != null && obj.perGbSecond !== 0n)) {
                    w.uint32(32);
                    w.uint64(obj.perGbSecond);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    perThousandInputTokens: 0n,
                    perThousandOutputTokens: 0n,
                    perCpuSecond: 0n,
                    perGbSecond: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.perThousandInputTokens = reader.uint64();
                            break;
                        }
                        case 2: {
                            obj.perThousandOutputTokens = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.perCpuSecond = reader.uint64();
                            break;
                        }
                        case 4: {
                            obj.perGbSecond = reader.uint64();
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
                                field: `${prefix}.perThousandInputTokens`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.perThousandOutputTokens`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.perCpuSecond`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.perGbSecond`,
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
        return encodeMessage(obj, Prices.codec());
    }
    Prices.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Prices.codec(), opts);
    }
    Prices.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Prices.codec(), opts);
    }
    Prices.stream = stream;
})(Prices || (Prices = {}));
