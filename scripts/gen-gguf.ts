/**
 * Writes a tiny, deterministic llama-architecture GGUF v3 model with random weights.
 *
 * Runs on Node >= 24 with type stripping (erasable syntax only, node: built-ins only):
 *   node scripts/gen-gguf.ts --out tiny.gguf                     # ~4 MB test model (default preset 'tiny')
 *   node scripts/gen-gguf.ts --size bench --out bench.gguf       # ~60 MB benchmark model
 *   node scripts/gen-gguf.ts --dim 256 --layers 6 --type q8_0 --out x.gguf
 *
 * Properties of the generated model:
 * - architecture 'llama', SPM ('llama') tokenizer with full byte fallback (<0x00>..<0xFF>), so any UTF-8 text tokenizes
 * - vocabulary: <unk> <s> </s> <|im_start|> <|im_end|>, 256 byte tokens, '▁' (space), printable ASCII, then optional
 *   two-character merge tokens (--vocab-extra)
 * - chat template: ChatML in tokenizer.chat_template
 * - weights from a fixed-seed PRNG: identical arguments give identical file bytes
 * - --eos never (default): a constant 'bias channel' (channel 0 of the residual stream) is kept out of every layer's
 *   input/output, and the output projection maps it to a huge negative logit for every control token (EOS, EOT, BOS,
 *   UNK, <|im_start|>) and every raw byte token. So the model never ends a generation on its own (it runs to
 *   maxTokens) and only ever emits printable ASCII / spaces. --eos always: the EOS logit gets a huge positive bias
 *   instead (the first generated token is EOS). --eos sample: no shaping at all.
 */
import { openSync, writeSync, closeSync, renameSync } from 'node:fs'
import { parseArgs } from 'node:util'

// ---------- GGUF constants ----------
const GGUF_MAGIC = 0x46554747 // 'GGUF' little-endian
const GGUF_VERSION = 3
const ALIGNMENT = 32

const T_UINT32 = 4
const T_INT32 = 5
const T_FLOAT32 = 6
const T_BOOL = 7
const T_STRING = 8
const T_ARRAY = 9

const GGML_F32 = 0
const GGML_F16 = 1
const GGML_Q8_0 = 8

// llama_ftype (general.file_type)
const FTYPE_ALL_F32 = 0
const FTYPE_MOSTLY_F16 = 1
const FTYPE_MOSTLY_Q8_0 = 7

// llama_token_type
const TOK_NORMAL = 1
const TOK_UNKNOWN = 2
const TOK_CONTROL = 3
const TOK_BYTE = 6

type WeightType = 'f32' | 'f16' | 'q8_0'

export interface Config {
  name: string
  dim: number
  layers: number
  heads: number
  kvHeads: number
  ff: number
  ctx: number
  vocabExtra: number
  type: WeightType
  seed: number
  eos: 'never' | 'always' | 'sample'
}

export const PRESETS: Record<string, Omit<Config, 'seed' | 'eos' | 'name'>> = {
  // ~3.9 MB: 4 layers, 128-dim, GQA 4/2 heads, f32
  tiny: { dim: 128, layers: 4, heads: 4, kvHeads: 2, ff: 384, ctx: 2048, vocabExtra: 0, type: 'f32' },
  // ~63 MB: 8 layers, 512-dim, GQA 8/4 heads, 4k vocab, f16
  bench: { dim: 512, layers: 8, heads: 8, kvHeads: 4, ff: 1536, ctx: 4096, vocabExtra: 3700, type: 'f16' },
}

// ---------- deterministic PRNG (mulberry32) ----------
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 // [0, 1)
  }
}

// FNV-1a of a string, so each tensor gets its own stream (independent of generation order).
function hash32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

// ---------- float16 ----------
const f32buf = new Float32Array(1)
const u32buf = new Uint32Array(f32buf.buffer)
function toHalf(v: number): number {
  f32buf[0] = v
  const x = u32buf[0]!
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0) // inf / nan
  let e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00 // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign // underflow -> 0
    mant |= 0x800000
    const shift = 14 - e
    let h = mant >>> shift
    const rem = mant & ((1 << shift) - 1)
    const half = 1 << (shift - 1)
    if (rem > half || (rem === half && (h & 1))) h++
    return sign | h
  }
  let h = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++ // may carry into exponent: still correct (-> inf at top)
  return sign | h
}

// ---------- tensor encoding ----------
function encode(data: Float32Array, type: number): Buffer {
  if (type === GGML_F32) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (type === GGML_F16) {
    const out = Buffer.allocUnsafe(data.length * 2)
    for (let i = 0; i < data.length; i++) out.writeUInt16LE(toHalf(data[i]!), i * 2)
    return out
  }
  // Q8_0: blocks of 32 values: f16 scale d, then 32 x int8 (matches ggml quantize_row_q8_0_ref)
  const nb = data.length / 32
  const out = Buffer.alloc(nb * 34)
  for (let b = 0; b < nb; b++) {
    let amax = 0
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(data[b * 32 + j]!))
    const d = Math.fround(amax / 127)
    const id = d ? Math.fround(1 / d) : 0
    out.writeUInt16LE(toHalf(d), b * 34)
    for (let j = 0; j < 32; j++) {
      const v = Math.fround(data[b * 32 + j]! * id)
      out.writeInt8(Math.sign(v) * Math.round(Math.abs(v)), b * 34 + 2 + j) // roundf: half away from zero
    }
  }
  return out
}

function byteSize(n: number, type: number): number {
  return type === GGML_F32 ? n * 4 : type === GGML_F16 ? n * 2 : (n / 32) * 34
}

// ---------- vocabulary ----------
interface Vocab {
  tokens: string[]
  scores: number[]
  types: number[]
  suppress: number[] // token ids the model must never emit (with --eos never)
}
const UNK = 0
const BOS = 1
const EOS = 2

function buildVocab(extra: number): Vocab {
  const tokens = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>']
  const types = [TOK_UNKNOWN, TOK_CONTROL, TOK_CONTROL, TOK_CONTROL, TOK_CONTROL]
  const suppress = [0, 1, 2, 3, 4]
  for (let b = 0; b < 256; b++) {
    suppress.push(tokens.length)
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)
    types.push(TOK_BYTE)
  }
  const chars = ['\u2581'] // SPM word-boundary marker: spaces in input become this token; decodes to ' '
  for (let c = 0x21; c <= 0x7e; c++) chars.push(String.fromCharCode(c))
  for (const c of chars) {
    tokens.push(c)
    types.push(TOK_NORMAL)
  }
  const scores = tokens.map(() => 0)
  // two-character merges, most 'useful' first (space+letter, lowercase pairs, ...); SPM merges by highest score
  const order = ['\u2581', ...'etaoinshrdlucmfwypvbgkjqxz', ...'ETAOINSHRDLUCMFWYPVBGKJQXZ', ...'0123456789', ...chars.slice(1).filter((c) => !/[A-Za-z0-9]/.test(c))]
  let added = 0
  outer: for (const a of order) {
    for (const b of order) {
      if (added >= extra) break outer
      if (b === '\u2581') continue
      tokens.push(a + b)
      types.push(TOK_NORMAL)
      scores.push(-1 - added)
      added++
    }
  }
  if (added < extra) throw new Error(`--vocab-extra at most ${added}`)
  return { tokens, scores, types, suppress }
}

// ChatML, as used by Qwen & co.; llama.cpp's llm_chat_detect_template and node-llama-cpp both recognise it.
const CHAT_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// ---------- GGUF writer ----------
class Bytes {
  chunks: Buffer[] = []
  length = 0
  push(b: Buffer): void {
    this.chunks.push(b)
    this.length += b.length
  }
  u32(v: number): void {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(v)
    this.push(b)
  }
  i32(v: number): void {
    const b = Buffer.alloc(4)
    b.writeInt32LE(v)
    this.push(b)
  }
  u64(v: number): void {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(BigInt(v))
    this.push(b)
  }
  f32(v: number): void {
    const b = Buffer.alloc(4)
    b.writeFloatLE(v)
    this.push(b)
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8')
    this.u64(b.length)
    this.push(b)
  }
}

type KV =
  | { key: string; t: 'u32'; v: number }
  | { key: string; t: 'f32'; v: number }
  | { key: string; t: 'bool'; v: boolean }
  | { key: string; t: 'str'; v: string }
  | { key: string; t: 'str[]'; v: string[] }
  | { key: string; t: 'f32[]'; v: number[] }
  | { key: string; t: 'i32[]'; v: number[] }

function writeKV(out: Bytes, kv: KV): void {
  out.str(kv.key)
  switch (kv.t) {
    case 'u32': out.u32(T_UINT32); out.u32(kv.v); break
    case 'f32': out.u32(T_FLOAT32); out.f32(kv.v); break
    case 'bool': out.u32(T_BOOL); out.push(Buffer.from([kv.v ? 1 : 0])); break
    case 'str': out.u32(T_STRING); out.str(kv.v); break
    case 'str[]': out.u32(T_ARRAY); out.u32(T_STRING); out.u64(kv.v.length); for (const s of kv.v) out.str(s); break
    case 'f32[]': out.u32(T_ARRAY); out.u32(T_FLOAT32); out.u64(kv.v.length); for (const x of kv.v) out.f32(x); break
    case 'i32[]': out.u32(T_ARRAY); out.u32(T_INT32); out.u64(kv.v.length); for (const x of kv.v) out.i32(x); break
  }
}

interface TensorSpec {
  name: string
  ne: number[] // GGML order: ne[0] = innermost (row length / input features)
  type: number
  fill: (rng: () => number) => Float32Array
}

const pad = (n: number): number => (n + ALIGNMENT - 1) - ((n + ALIGNMENT - 1) % ALIGNMENT)

export function generateModel (cfg: Config, outPath: string): { bytes: number; params: number; vocab: number } {
  const { dim, layers, heads, kvHeads, ff } = cfg
  if (dim % heads) throw new Error('--dim must be divisible by --heads')
  if (heads % kvHeads) throw new Error('--heads must be divisible by --kv-heads')
  const headDim = dim / heads
  if (headDim % 2) throw new Error('head dim (dim/heads) must be even (RoPE)')
  const kvDim = headDim * kvHeads
  const wtype = cfg.type === 'f32' ? GGML_F32 : cfg.type === 'f16' ? GGML_F16 : GGML_Q8_0
  if (wtype === GGML_Q8_0 && (dim % 32 || ff % 32)) throw new Error('q8_0 needs --dim and --ff divisible by 32')
  const vocab = buildVocab(cfg.vocabExtra)
  const nVocab = vocab.tokens.length

  const BIAS = 4 // value of the constant residual channel 0
  const K = 1e4 // logit weight for shaped tokens (fits f16; exact enough in q8_0)
  const uniform = (n: number, std: number, rng: () => number): Float32Array => {
    const a = std * Math.sqrt(3)
    const out = new Float32Array(n)
    for (let i = 0; i < n; i++) out[i] = (rng() * 2 - 1) * a
    return out
  }
  const ones = (n: number, zeroBiasChannel: boolean): Float32Array => {
    const o = new Float32Array(n).fill(1)
    if (zeroBiasChannel) o[0] = 0 // keep the bias channel out of the layer inputs
    return o
  }
  // weight matrix [rows = ne1 outputs][cols = ne0 inputs], row-major
  const matrix = (cols: number, rows: number, std: number, zeroRow0: boolean) => (rng: () => number) => {
    const m = uniform(cols * rows, std, rng)
    if (zeroRow0) m.fill(0, 0, cols) // output channel 0 (bias channel) receives nothing
    return m
  }

  const tensors: TensorSpec[] = []
  const shaped = cfg.eos !== 'sample'
  tensors.push({
    name: 'token_embd.weight', ne: [dim, nVocab], type: wtype,
    fill: (rng) => {
      const m = uniform(dim * nVocab, 1, rng)
      if (shaped) for (let t = 0; t < nVocab; t++) m[t * dim] = BIAS
      return m
    },
  })
  const resStd = 1 / Math.sqrt(2 * layers) // scaled residual init keeps the stream (and the bias channel's share) stable
  for (let l = 0; l < layers; l++) {
    tensors.push({ name: `blk.${l}.attn_norm.weight`, ne: [dim], type: GGML_F32, fill: () => ones(dim, shaped) })
    tensors.push({ name: `blk.${l}.attn_q.weight`, ne: [dim, dim], type: wtype, fill: matrix(dim, dim, 1 / Math.sqrt(dim), false) })
    tensors.push({ name: `blk.${l}.attn_k.weight`, ne: [dim, kvDim], type: wtype, fill: matrix(dim, kvDim, 1 / Math.sqrt(dim), false) })
    tensors.push({ name: `blk.${l}.attn_v.weight`, ne: [dim, kvDim], type: wtype, fill: matrix(dim, kvDim, 1 / Math.sqrt(dim), false) })
    tensors.push({ name: `blk.${l}.attn_output.weight`, ne: [dim, dim], type: wtype, fill: matrix(dim, dim, resStd / Math.sqrt(dim), shaped) })
    tensors.push({ name: `blk.${l}.ffn_norm.weight`, ne: [dim], type: GGML_F32, fill: () => ones(dim, shaped) })
    tensors.push({ name: `blk.${l}.ffn_gate.weight`, ne: [dim, ff], type: wtype, fill: matrix(dim, ff, 1 / Math.sqrt(dim), false) })
    tensors.push({ name: `blk.${l}.ffn_up.weight`, ne: [dim, ff], type: wtype, fill: matrix(dim, ff, 1 / Math.sqrt(dim), false) })
    tensors.push({ name: `blk.${l}.ffn_down.weight`, ne: [ff, dim], type: wtype, fill: matrix(ff, dim, resStd / Math.sqrt(ff), shaped) })
  }
  tensors.push({ name: 'output_norm.weight', ne: [dim], type: GGML_F32, fill: () => ones(dim, false) })
  tensors.push({
    name: 'output.weight', ne: [dim, nVocab], type: wtype,
    fill: (rng) => {
      // logit std ~ 3 for ordinary tokens: a peaked-but-varied distribution
      const m = uniform(dim * nVocab, 3 / Math.sqrt(dim), rng)
      if (!shaped) return m
      for (let t = 0; t < nVocab; t++) m[t * dim] = 0
      if (cfg.eos === 'never') {
        for (const t of vocab.suppress) { m.fill(0, t * dim, (t + 1) * dim); m[t * dim] = -K; }
      } else {
        m.fill(0, EOS * dim, (EOS + 1) * dim)
        m[EOS * dim] = K
      }
      return m
    },
  })

  const kvs: KV[] = [
    { key: 'general.architecture', t: 'str', v: 'llama' },
    { key: 'general.name', t: 'str', v: cfg.name },
    { key: 'general.file_type', t: 'u32', v: wtype === GGML_F32 ? FTYPE_ALL_F32 : wtype === GGML_F16 ? FTYPE_MOSTLY_F16 : FTYPE_MOSTLY_Q8_0 },
    { key: 'general.alignment', t: 'u32', v: ALIGNMENT },
    { key: 'llama.vocab_size', t: 'u32', v: nVocab },
    { key: 'llama.context_length', t: 'u32', v: cfg.ctx },
    { key: 'llama.embedding_length', t: 'u32', v: dim },
    { key: 'llama.block_count', t: 'u32', v: layers },
    { key: 'llama.feed_forward_length', t: 'u32', v: ff },
    { key: 'llama.attention.head_count', t: 'u32', v: heads },
    { key: 'llama.attention.head_count_kv', t: 'u32', v: kvHeads },
    { key: 'llama.rope.dimension_count', t: 'u32', v: headDim },
    { key: 'llama.rope.freq_base', t: 'f32', v: 10000 },
    { key: 'llama.attention.layer_norm_rms_epsilon', t: 'f32', v: 1e-5 },
    { key: 'tokenizer.ggml.model', t: 'str', v: 'llama' },
    { key: 'tokenizer.ggml.tokens', t: 'str[]', v: vocab.tokens },
    { key: 'tokenizer.ggml.scores', t: 'f32[]', v: vocab.scores },
    { key: 'tokenizer.ggml.token_type', t: 'i32[]', v: vocab.types },
    { key: 'tokenizer.ggml.bos_token_id', t: 'u32', v: BOS },
    { key: 'tokenizer.ggml.eos_token_id', t: 'u32', v: EOS },
    { key: 'tokenizer.ggml.unknown_token_id', t: 'u32', v: UNK },
    { key: 'tokenizer.ggml.add_bos_token', t: 'bool', v: true },
    { key: 'tokenizer.ggml.add_eos_token', t: 'bool', v: false },
    { key: 'tokenizer.ggml.add_space_prefix', t: 'bool', v: false },
    { key: 'tokenizer.chat_template', t: 'str', v: CHAT_TEMPLATE },
  ]

  // header + KV + tensor infos
  const head = new Bytes()
  head.u32(GGUF_MAGIC)
  head.u32(GGUF_VERSION)
  head.u64(tensors.length)
  head.u64(kvs.length)
  for (const kv of kvs) writeKV(head, kv)
  let offset = 0
  let params = 0
  for (const t of tensors) {
    const n = t.ne.reduce((a, b) => a * b, 1)
    params += n
    head.str(t.name)
    head.u32(t.ne.length)
    for (const d of t.ne) head.u64(d)
    head.u32(t.type)
    head.u64(offset) // relative to the start of the (aligned) data section
    offset = pad(offset + byteSize(n, t.type))
  }
  const headLen = pad(head.length)
  head.push(Buffer.alloc(headLen - head.length))

  const tmp = `${outPath}.tmp-${process.pid}`
  const fd = openSync(tmp, 'w')
  try {
    for (const c of head.chunks) writeSync(fd, c)
    let written = 0
    for (const t of tensors) {
      const rng = mulberry32((cfg.seed ^ hash32(t.name)) >>> 0)
      const data = encode(t.fill(rng), t.type)
      writeSync(fd, data)
      written += data.length
      const padded = pad(written)
      if (padded > written) writeSync(fd, Buffer.alloc(padded - written))
      written = padded
    }
    if (written !== offset) throw new Error('internal: data size mismatch')
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, outPath)
  return { bytes: headLen + offset, params, vocab: nVocab }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', short: 'o' },
      size: { type: 'string', default: 'tiny' },
      dim: { type: 'string' },
      layers: { type: 'string' },
      heads: { type: 'string' },
      'kv-heads': { type: 'string' },
      ff: { type: 'string' },
      ctx: { type: 'string' },
      'vocab-extra': { type: 'string' },
      type: { type: 'string' },
      seed: { type: 'string', default: '1' },
      eos: { type: 'string', default: 'never' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    console.log('usage: node gen-gguf.ts --out FILE [--size tiny|bench] [--dim N --layers N --heads N --kv-heads N --ff N --ctx N --vocab-extra N] [--type f32|f16|q8_0] [--seed N] [--eos never|always|sample] [--name S]')
    return
  }
  const preset = PRESETS[values.size ?? 'tiny']
  if (!preset) throw new Error(`unknown --size ${values.size} (tiny|bench)`)
  const int = (s: string | undefined, d: number): number => {
    if (s === undefined) return d
    const n = Number(s)
    if (!Number.isInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${s}`)
    return n
  }
  const type = (values.type ?? preset.type) as WeightType
  if (!['f32', 'f16', 'q8_0'].includes(type)) throw new Error('--type f32|f16|q8_0')
  const eos = values.eos as Config['eos']
  if (!['never', 'always', 'sample'].includes(eos)) throw new Error('--eos never|always|sample')
  const heads = int(values.heads, preset.heads)
  const cfg: Config = {
    name: values.name ?? `clawnode-test-${values.size}`,
    dim: int(values.dim, preset.dim),
    layers: int(values.layers, preset.layers),
    heads,
    kvHeads: int(values['kv-heads'], values.heads !== undefined ? heads : preset.kvHeads),
    ff: int(values.ff, preset.ff),
    ctx: int(values.ctx, preset.ctx),
    vocabExtra: int(values['vocab-extra'], preset.vocabExtra),
    type,
    seed: int(values.seed, 1),
    eos,
  }
  const out = values.out ?? `${values.size}.gguf`
  const t0 = performance.now()
  const r = generateModel(cfg, out)
  console.log(JSON.stringify({ out, ...cfg, ...r, ms: Math.round(performance.now() - t0) }))
}

if (import.meta.main) main()
