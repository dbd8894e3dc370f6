/**
 * The inference lease's payload: chat messages (as every payload had) or a raw prompt, with sampling
 * parameters; what each decodes to, each bad one refused, and the prompt bound an order declares.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeInferencePayload, inferenceInput, MAX_PROMPT_TOKENS, parseInferencePayload, promptTokenBound } from '../../node/inference-request.ts'

const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))

test('a payload with messages decodes as before, the one with a prompt as a prompt', () => {
  // Bytes as consumers built them before prompts existed.
  const chat = parseInferencePayload(json({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }], params: { seed: 1, temperature: 0.5, topP: 0.9, stop: ['\n'] } }))
  assert.equal(chat, { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }], params: { seed: 1, temperature: 0.5, topP: 0.9, stop: ['\n'] } })
  const raw = parseInferencePayload(encodeInferencePayload({ prompt: 'Once upon a time', params: { maxTokens: 3, seed: 2 } as never }))
  assert.equal(raw, { prompt: 'Once upon a time', params: { seed: 2 } }, 'unknown params are dropped')
  assert.equal(parseInferencePayload(json({ prompt: '' })), { prompt: '', params: {} }, 'an empty prompt is a prompt')
})

test('the prompt bound: UTF-8 bytes, plus 16 per message and 16 for the chat, or 16 for a raw prompt', () => {
  assert.is(promptTokenBound([{ role: 'user', content: 'héllo' }]), 6 + 16 + 16)
  assert.is(promptTokenBound({ messages: [{ role: 'user', content: 'héllo' }] }), 6 + 16 + 16)
  assert.is(promptTokenBound({ prompt: 'héllo' }), 6 + 16)
  assert.is(promptTokenBound({ prompt: '' }), 16)
})

test('inferenceInput takes messages or a prompt, exactly one', () => {
  assert.equal(inferenceInput({ prompt: 'a' }), { prompt: 'a' })
  assert.equal(inferenceInput({ messages: [{ role: 'user', content: 'a' }] }), { messages: [{ role: 'user', content: 'a' }] })
  for (const both of [{}, { prompt: 'a', messages: [{ role: 'user' as const, content: 'a' }] }]) {
    try { inferenceInput(both); assert.unreachable(JSON.stringify(both)) } catch (err) { assert.is((err as Error).name, 'MalformedMessageError') }
  }
})

const bad: Array<[string, unknown, RegExp]> = [
  ['not an object', null, /not an object/],
  ['neither messages nor a prompt', { params: {} }, /messages, or a prompt/],
  ['both', { prompt: 'a', messages: [{ role: 'user', content: 'a' }] }, /both messages and a prompt/],
  ['a prompt that is not text', { prompt: ['a'] }, /prompt that is not text/],
  ['a prompt past the bound', { prompt: 'x'.repeat(MAX_PROMPT_TOKENS) }, /longer than 131072 prompt tokens/],
  ['messages past the bound', { messages: [{ role: 'user', content: 'x'.repeat(MAX_PROMPT_TOKENS) }] }, /longer than 131072 prompt tokens/],
  ['messages ending with the assistant', { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }, /end with a user message/],
  ['a bad top_p', { prompt: 'a', params: { topP: 0 } }, /topP/],
  ['an empty stop string', { prompt: 'a', params: { stop: [''] } }, /stop must be/]
]
for (const [what, payload, message] of bad) {
  test(`refused: ${what}`, () => {
    try {
      parseInferencePayload(json(payload))
      assert.unreachable('accepted')
    } catch (err) {
      assert.is((err as Error).name, 'MalformedMessageError')
      assert.match((err as Error).message, message)
    }
  })
}

test.run()
