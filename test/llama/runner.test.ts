/**
 * Models in their own processes, on the generated tiny GGUF (real llama.cpp, CPU, one thread): chat
 * runs to max_tokens with streamed text equal to the result and usage from the token meter; the same
 * seed gives the same text; a stop string ends the text before it; top_p reaches the sampler; a
 * prompt is continued as raw text, with no chat template; an abort stops generation within a decode
 * step or two; a file that makes
 * llama.cpp abort, at load or at the first decode, kills only its own process (ModelCrashedError)
 * while the loaded model keeps serving; the process reports its resident memory and its end.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateModel, PRESETS } from '../../scripts/gen-gguf.ts'
import { promptTokenBound } from '../../node/inference-request.ts'
import { loadModel } from '../../sandbox/llama/runner.ts'
import type { ModelCrashedError } from '../../sandbox/llama/runner.ts'
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

s('a stop string ends generation before it: the text (streamed too) ends where it would begin; stop reason customStopTrigger', bounded(60_000, async (ctx) => {
  const messages = [{ role: 'user' as const, content: 'Hello there' }]
  const full = await ctx.model.chat(messages, { maxTokens: 48, temperature: 0.8, seed: 3 })
  assert.is(full.stopReason, 'maxTokens')
  // A piece from the middle of the output; it may also occur earlier, and the first occurrence counts.
  const stop = full.text.slice(20, 23)
  const cut = full.text.indexOf(stop)
  assert.ok(cut > 0 && stop.length === 3, `stop ${JSON.stringify(stop)} at ${cut} in ${JSON.stringify(full.text)}`)
  let streamed = ''
  const r = await ctx.model.chat(messages, { maxTokens: 48, temperature: 0.8, seed: 3, stop: ['no such text', stop] }, { onText: (t) => { streamed += t } })
  assert.is(r.stopReason, 'customStopTrigger')
  assert.is(r.text, full.text.slice(0, cut))
  assert.is(streamed, r.text, 'none of the stop string was streamed')
  assert.ok(r.usage.completionTokens < 48 && r.usage.completionTokens >= 1, `${r.usage.completionTokens} tokens`)
}))

s('top_p reaches the sampler: at a high temperature a tiny nucleus gives the greedy text, top_p 1 does not', bounded(60_000, async (ctx) => {
  const messages = [{ role: 'user' as const, content: 'Hello there' }]
  const greedy = (await ctx.model.chat(messages, { maxTokens: 32, temperature: 0 })).text
  for (const seed of [1, 2]) {
    const nucleus = await ctx.model.chat(messages, { maxTokens: 32, temperature: 1.5, seed, topP: 1e-6 })
    assert.is(nucleus.text, greedy, `seed ${seed}: only the likeliest token is left to sample`)
  }
  const wide = await ctx.model.chat(messages, { maxTokens: 32, temperature: 1.5, seed: 1, topP: 1 })
  assert.is.not(wide.text, greedy)
  const half = await ctx.model.chat(messages, { maxTokens: 32, temperature: 1.5, seed: 1, topP: 0.5 })
  assert.is.not(half.text, wide.text, 'the same seed samples differently from another nucleus')
}))

s('a prompt is continued as raw text: no chat template around it, usage from the token meter, stop strings too', bounded(60_000, async (ctx) => {
  const prompt = 'Once upon a time'
  let streamed = ''
  const r = await ctx.model.chat({ prompt }, { maxTokens: 24, temperature: 0 }, { onText: (t) => { streamed += t } })
  assert.is(r.stopReason, 'maxTokens')
  assert.is(r.usage.completionTokens, 24)
  assert.is(streamed, r.text)
  // The chat template adds its own tokens around the same text; a raw prompt has none of them.
  const chat = await ctx.model.chat([{ role: 'user', content: prompt }], { maxTokens: 24, temperature: 0 })
  assert.ok(r.usage.promptTokens >= 1 && r.usage.promptTokens < chat.usage.promptTokens, `${r.usage.promptTokens} prompt tokens raw, ${chat.usage.promptTokens} in a chat`)
  assert.ok(r.usage.promptTokens <= promptTokenBound({ prompt }), 'within the bound an order declares for it')
  assert.is.not(chat.text, r.text)
  // Raw text: the prompt with the start of its continuation appended continues with the rest.
  const more = await ctx.model.chat({ prompt: prompt + r.text.slice(0, 5) }, { maxTokens: 8, temperature: 0 })
  assert.ok(r.text.slice(5).startsWith(more.text), `${JSON.stringify(more.text)} continues ${JSON.stringify(r.text)}`)
  // Text that looks like the template's special tokens stays text: a byte-fallback token per byte.
  const special = await ctx.model.chat({ prompt: '<|im_start|>user' }, { maxTokens: 4, temperature: 0 })
  assert.ok(special.usage.promptTokens >= '<|im_start|>user'.length, `${special.usage.promptTokens} prompt tokens`)
  const seeded = await ctx.model.chat({ prompt }, { maxTokens: 24, temperature: 0.8, seed: 3 })
  assert.is((await ctx.model.chat({ prompt }, { maxTokens: 24, temperature: 0.8, seed: 3 })).text, seeded.text, 'the same seed gives the same text')
  const stop = seeded.text.slice(10, 12)
  const stopped = await ctx.model.chat({ prompt }, { maxTokens: 24, temperature: 0.8, seed: 3, stop: [stop] })
  assert.is(stopped.stopReason, 'customStopTrigger')
  assert.is(stopped.text, seeded.text.slice(0, seeded.text.indexOf(stop)))
}))

s('an abort stops generation within one decode step of reaching the model process', bounded(60_000, async (ctx) => {
  const controller = new AbortController()
  let at = 0
  const r = await ctx.model.chat([{ role: 'user', content: 'Go on' }], { maxTokens: 1000 }, { signal: controller.signal, onText: (_text, tokens) => { if (at === 0 && tokens >= 5) { at = tokens; controller.abort() } } })
  assert.is(r.stopReason, 'abort')
  // Counted from the parent's abort, tokens may already be on their way back over IPC (more on a busy
  // machine), so this bound is loose; the model process's own count below is the decode-step one.
  assert.ok(r.usage.completionTokens <= at + 100, `${r.usage.completionTokens} tokens after an abort at the ${at}th`)
  assert.ok(r.tokensAfterAbort !== undefined && r.tokensAfterAbort <= 1, `${r.tokensAfterAbort} tokens decoded after the abort reached the model process`)
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
  assert.is((why as ModelCrashedError).signal, 'SIGABRT', 'an abort, not a kill from outside')
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
