/**
 * Models in their own processes, on the generated tiny GGUF (real llama.cpp, CPU, one thread): chat
 * runs to max_tokens with streamed text equal to the result and usage from the token meter; the same
 * seed gives the same text; an abort stops generation within a decode step or two; a file that makes
 * llama.cpp abort, at load or at the first decode, kills only its own process (ModelCrashedError)
 * while the loaded model keeps serving; the process reports its resident memory and its end.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { loadModel } from '../../sandbox/llama/runner.ts'
import type { LoadedModel } from '../../sandbox/llama/runner.ts'
import { bounded, rejectsWith, setup, tempDir } from '../helpers.ts'

const s = suite<{ dir: string, model: LoadedModel }>('llama runner', {} as { dir: string, model: LoadedModel })

s.before(setup(async (ctx) => {
  ctx.dir = await tempDir()
  generateModel({ ...PRESETS.tiny!, name: 'tiny', seed: 1, eos: 'never' }, join(ctx.dir, 'tiny.gguf'))
  ctx.model = await loadModel(join(ctx.dir, 'tiny.gguf'), { threads: 1, contextSize: 1024 })
}))

s.after(async (ctx) => { await ctx.model?.close() })

s('chat runs to max_tokens; streamed text is the result; usage comes from the token meter', bounded(60_000, async (ctx) => {
  let streamed = ''
  const r = await ctx.model.chat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }], { maxTokens: 24, temperature: 0.8, seed: 3 }, { onText: (t) => { streamed += t } })
  assert.is(r.stopReason, 'maxTokens')
  assert.is(r.usage.completionTokens, 24)
  assert.ok(r.usage.promptTokens > 10, `prompt tokens ${r.usage.promptTokens}`)
  assert.is(streamed, r.text)
  assert.ok(r.text.length > 0)
  const again = await ctx.model.chat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }], { maxTokens: 24, temperature: 0.8, seed: 3 })
  assert.is(again.text, r.text, 'the same seed gives the same text')
}))

s('an abort stops generation within a decode step or two', bounded(60_000, async (ctx) => {
  const controller = new AbortController()
  let at = 0
  const r = await ctx.model.chat([{ role: 'user', content: 'Go on' }], { maxTokens: 1000 }, { signal: controller.signal, onText: (_text, tokens) => { if (at === 0 && tokens >= 5) { at = tokens; controller.abort() } } })
  assert.is(r.stopReason, 'abort')
  assert.ok(r.usage.completionTokens <= at + 3, `${r.usage.completionTokens} tokens after an abort at the ${at}th`)
}))

s('text is batched: the first piece at once, then pieces of several tokens, ending where a break is due', bounded(60_000, async (ctx) => {
  const messages = [{ role: 'user' as const, content: 'Tell me more' }]
  const pieces: Array<{ text: string, tokens: number }> = []
  const r = await ctx.model.chat(messages, { maxTokens: 64, seed: 1 }, { textBatchMs: 50, textBreakTokens: 16, onText: (text, tokens) => { pieces.push({ text, tokens }) } })
  assert.is(pieces.map(p => p.text).join(''), r.text)
  assert.is(pieces[0]?.tokens, 1, 'the first token goes out alone, at once')
  assert.ok(pieces.length < 32, `${pieces.length} pieces for 64 tokens`)
  assert.ok(pieces.every((p, i) => i === 0 || p.tokens > (pieces[i - 1]?.tokens ?? 0)), 'counts grow')
  for (const n of [16, 32, 48, 64]) assert.ok(pieces.some(p => p.tokens === n), `a piece ends at ${n} tokens: ${pieces.map(p => p.tokens).join(' ')}`)
  // Unbatched: one piece per token, the same text.
  const each: number[] = []
  const again = await ctx.model.chat(messages, { maxTokens: 64, seed: 1 }, { textBatchMs: 0, onText: (_text, tokens) => { each.push(tokens) } })
  assert.is(again.text, r.text)
  assert.equal(each, Array.from({ length: 64 }, (_, i) => i + 1))
}))

s('a file that aborts llama.cpp kills only its own process; the loaded model keeps serving', bounded(60_000, async (ctx) => {
  const good = await readFile(join(ctx.dir, 'tiny.gguf'))
  const len = (t: string): Buffer => { const b = Buffer.alloc(8 + t.length); b.writeBigUInt64LE(BigInt(t.length)); b.write(t, 8); return b }
  const from = Buffer.concat([len('A'), len('B')])
  const bad = Buffer.from(good)
  Buffer.concat([len('B'), len('B')]).copy(bad, good.indexOf(from))
  await writeFile(join(ctx.dir, 'duplicate-token.gguf'), bad)
  await rejectsWith(loadModel(join(ctx.dir, 'duplicate-token.gguf'), { threads: 1 }), 'ModelCrashedError')
  const r = await ctx.model.chat([{ role: 'user', content: 'Still there?' }], { maxTokens: 4 })
  assert.is(r.usage.completionTokens, 4)
}))

s('a file that loads but aborts llama.cpp at the first decode: ModelCrashedError from chat, and the process is gone', bounded(60_000, async (ctx) => {
  // A negative RMS-norm epsilon passes llama.cpp's load; ggml-cpu asserts eps >= 0 when it computes.
  const bad = await readFile(join(ctx.dir, 'tiny.gguf'))
  const key = Buffer.from('llama.attention.layer_norm_rms_epsilon')
  bad.writeFloatLE(-1e-5, bad.indexOf(key) + key.length + 4)
  await writeFile(join(ctx.dir, 'negative-eps.gguf'), bad)
  const m = await loadModel(join(ctx.dir, 'negative-eps.gguf'), { threads: 1, contextSize: 512 })
  await rejectsWith(m.chat([{ role: 'user', content: 'Hello' }], { maxTokens: 4 }), 'ModelCrashedError')
  const why = await m.exited
  assert.is(why.name, 'ModelCrashedError')
  assert.match(why.message, /SIGABRT: .*GGML_ASSERT\(eps >= 0\.0f\) failed/)
  assert.is(await m.residentBytes(), undefined)
  await rejectsWith(m.chat([{ role: 'user', content: 'Again?' }], { maxTokens: 4 }), 'ModelCrashedError')
  const r = await ctx.model.chat([{ role: 'user', content: 'Still there?' }], { maxTokens: 4 })
  assert.is(r.usage.completionTokens, 4)
}))

s('the process reports its resident memory, and its end when closed', bounded(60_000, async (ctx) => {
  const rss = await ctx.model.residentBytes()
  assert.ok(rss !== undefined && rss > 50 * 1024 * 1024, `VmRSS ${rss}`)
  const other = await loadModel(join(ctx.dir, 'tiny.gguf'), { threads: 1, contextSize: 256 })
  await other.close()
  assert.is((await other.exited).name, 'ModelClosedError', 'a closed model ended, it did not crash')
  await rejectsWith(loadModel(join(ctx.dir, 'tiny.gguf'), { threads: 1, signal: AbortSignal.timeout(1) }), 'TimeoutError')
}))

s.run()
