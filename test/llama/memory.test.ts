/**
 * A model's memory, estimated from its header (pure: weights, KV cache, compute buffers, the process)
 * and measured from /proc (VmRSS).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MODEL_PROCESS_OVERHEAD_BYTES } from '../../sandbox/llama/constants.ts'
import { estimateModelMemory, readResidentBytes } from '../../sandbox/llama/memory.ts'
import type { ModelMemoryInput } from '../../sandbox/llama/memory.ts'

const MIB = 1024 * 1024
// Llama 3 8B Q4_K_M: 32 layers, 4096 wide, 32 heads, 8 KV heads of 128, 128256 tokens.
const llama3: ModelMemoryInput = {
  sizeBytes: 4_920_000_000,
  contextLength: 8192,
  shape: { layers: 32, embeddingLength: 4096, headCount: 32, headCountKv: 8, keyLength: 128, valueLength: 128, vocabularySize: 128256 }
}

test('the estimate is the file, the F16 KV cache, one batch of compute buffers and the process', () => {
  const at = (ctx: number): number => estimateModelMemory(llama3, ctx) - llama3.sizeBytes - MODEL_PROCESS_OVERHEAD_BYTES
  // KV cache: 2 bytes × 32 layers × 2048 cells × 8 heads × (128 + 128) = 256 MiB.
  const kv2048 = 2 * 32 * 2048 * 8 * 256
  assert.is(kv2048, 256 * MIB)
  const compute2048 = 4 * 512 * (4 * 4096 + 2048 * 32 + 128256)
  assert.is(at(2048), kv2048 + compute2048)
  // The context is rounded up to llama.cpp's 256-cell padding, and never beyond the trained length.
  assert.is(at(2000), at(2048))
  assert.is(at(100_000), at(8192))
  // Twice the context: twice the KV cache.
  assert.ok(at(4096) - at(2048) > kv2048)
  // A context shorter than one batch: the batch shrinks with it.
  assert.is(at(256), 2 * 32 * 256 * 8 * 256 + 4 * 256 * (4 * 4096 + 256 * 32 + 128256))
})

test('resident memory is read from /proc; a process that is gone has none', async () => {
  const rss = await readResidentBytes(process.pid)
  assert.ok(rss !== undefined && rss > 10 * MIB && rss < process.memoryUsage().rss * 2, `VmRSS ${rss}`)
  assert.is(await readResidentBytes(2 ** 22 + 12345), undefined)
})

test.run()
