/**
 * GGUF files that pass the header checks (sandbox/llama/model-file.ts) yet abort llama.cpp, made from
 * a good generated model by patching bytes in place:
 * - at load: `llama.rope.scaling.type` holds a name llama.cpp does not know, and load_hparams hits
 *   GGML_ASSERT(hparams.rope_scaling_type_train != LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED). The key
 *   replaces `tokenizer.chat_template` (the same length), whose text becomes its value.
 * - at the first decode: one RMS-norm weight is typed I32 (four bytes a value, as F32, so every offset
 *   and size still holds); loading only checks shapes, and ggml-cpu's binary op aborts with
 *   "unsupported types" when it first computes.
 */
import { readFile, writeFile } from 'node:fs/promises'

const GGML_TYPE_F32 = 0
const GGML_TYPE_I32 = 26

/** Writes a copy of `good` that aborts llama.cpp while it loads. */
export async function writeLoadAbortModel (good: string, out: string): Promise<void> {
  const bytes = await readFile(good)
  const from = Buffer.from('tokenizer.chat_template')
  const to = Buffer.from('llama.rope.scaling.type')
  const at = bytes.indexOf(from)
  if (at < 0 || from.length !== to.length) throw new Error('the model has no chat template to turn into a rope scaling type')
  to.copy(bytes, at)
  await writeFile(out, bytes)
}

/** Writes a copy of `good` that loads and then aborts llama.cpp at its first decode. */
export async function writeDecodeAbortModel (good: string, out: string): Promise<void> {
  const bytes = await readFile(good)
  const name = Buffer.from('blk.0.attn_norm.weight')
  const at = bytes.indexOf(name) + name.length
  if (at < name.length) throw new Error('the model has no blk.0.attn_norm.weight')
  const typeAt = at + 4 + 8 * bytes.readUInt32LE(at)
  if (bytes.readUInt32LE(typeAt) !== GGML_TYPE_F32) throw new Error('blk.0.attn_norm.weight is not F32')
  bytes.writeUInt32LE(GGML_TYPE_I32, typeAt)
  await writeFile(out, bytes)
}
