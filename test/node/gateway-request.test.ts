/**
 * The gateway's request parsing, table-driven: what each OpenAI body becomes, and each bad one refused
 * with the parameter it names.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_GATEWAY_MAX_TOKENS, InvalidGatewayRequestError, MAX_GATEWAY_MAX_TOKENS, MAX_GATEWAY_MESSAGES, parseChatRequest, parseCompletionRequest } from '../../node/gateway-request.ts'
import { MAX_PROMPT_TOKENS } from '../../node/inference-request.ts'

const user = [{ role: 'user', content: 'hi' }]

test('chat bodies: defaults, every supported parameter, and what is accepted but has no effect', () => {
  assert.equal(parseChatRequest({ model: 'm', messages: user }), { model: 'm', maxTokens: DEFAULT_GATEWAY_MAX_TOKENS, stream: false, includeUsage: false, kind: 'chat', messages: [{ role: 'user', content: 'hi' }] })
  assert.equal(parseChatRequest({
    model: 'm',
    messages: [{ role: 'developer', content: 'rules' }, { role: 'assistant', content: 'ok', tool_calls: [], refusal: null }, { role: 'user', name: 'ann', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
    max_completion_tokens: 10,
    max_tokens: 10,
    temperature: 0,
    top_p: 1,
    stop: 'END',
    seed: 0,
    n: 1,
    stream: true,
    stream_options: { include_usage: true },
    max_price: 0,
    user: 'u',
    frequency_penalty: 0,
    presence_penalty: null,
    logprobs: false,
    response_format: { type: 'text' },
    tools: [],
    store: false
  }), {
    model: 'm', maxTokens: 10, temperature: 0, topP: 1, stop: ['END'], seed: 0, stream: true, includeUsage: true, maxPrice: 0, kind: 'chat',
    messages: [{ role: 'system', content: 'rules' }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'ab' }]
  })
})

test('legacy completion bodies: the prompt, or a batch of one, is a raw prompt (no chat messages)', () => {
  assert.equal(parseCompletionRequest({ model: 'm', prompt: 'once', max_tokens: 5, echo: false, best_of: 1 }), { model: 'm', maxTokens: 5, stream: false, includeUsage: false, kind: 'completion', prompt: 'once' })
  assert.equal(parseCompletionRequest({ model: 'm', prompt: ['once'] }), { model: 'm', maxTokens: DEFAULT_GATEWAY_MAX_TOKENS, stream: false, includeUsage: false, kind: 'completion', prompt: 'once' })
})

test('a prompt or messages longer than an inference lease may carry are refused, naming the parameter', () => {
  const long = 'x'.repeat(MAX_PROMPT_TOKENS)
  for (const [parse, body, param] of [
    [parseCompletionRequest, { model: 'm', prompt: long }, 'prompt'],
    [parseChatRequest, { model: 'm', messages: [{ role: 'user', content: long }] }, 'messages']
  ] as Array<[(b: unknown) => unknown, unknown, string]>) {
    try {
      parse(body)
      assert.unreachable(`accepted a ${param} of ${long.length} bytes`)
    } catch (err) {
      assert.instance(err, InvalidGatewayRequestError)
      assert.is((err as InvalidGatewayRequestError).param, param)
      assert.match((err as Error).message, /too long: up to 131072 prompt tokens/)
    }
  }
  // Just under the bound (its bytes and the allowance for special tokens) is fine.
  assert.is((parseCompletionRequest({ model: 'm', prompt: 'x'.repeat(MAX_PROMPT_TOKENS - 16) }) as { prompt: string }).prompt.length, MAX_PROMPT_TOKENS - 16)
})

const bad: Array<[string, unknown, string | null, RegExp]> = [
  ['not an object', [], null, /JSON object/],
  ['no model', { messages: user }, 'model', /is required/],
  ['empty model', { model: '', messages: user }, 'model', /1 to 256/],
  ['no messages', { model: 'm' }, 'messages', /is required/],
  ['empty messages', { model: 'm', messages: [] }, 'messages', /non-empty/],
  ['too many messages', { model: 'm', messages: Array.from({ length: MAX_GATEWAY_MESSAGES + 1 }, () => user[0]) }, 'messages', /at most 256/],
  ['tool role', { model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role', /tool and function messages/],
  ['ends with assistant', { model: 'm', messages: [...user, { role: 'assistant', content: 'x' }] }, 'messages[1].role', /last message must be a user/],
  ['image part', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content[0]', /text/],
  ['tool calls', { model: 'm', messages: [{ role: 'assistant', content: 'x', tool_calls: [{ id: 1 }] }, ...user] }, 'messages[0].tool_calls', /tool calls/],
  ['max_tokens 0', { model: 'm', messages: user, max_tokens: 0 }, 'max_tokens', /1 or more/],
  ['max_tokens over the cap', { model: 'm', messages: user, max_tokens: MAX_GATEWAY_MAX_TOKENS + 1 }, 'max_tokens', /at most 8192/],
  ['max_completion_tokens not whole', { model: 'm', messages: user, max_completion_tokens: 1.5 }, 'max_completion_tokens', /integer/],
  ['both max token fields, differing', { model: 'm', messages: user, max_tokens: 5, max_completion_tokens: 6 }, 'max_tokens', /differ/],
  ['temperature over 2', { model: 'm', messages: user, temperature: 2.1 }, 'temperature', /0 to 2/],
  ['temperature as a string', { model: 'm', messages: user, temperature: '1' }, 'temperature', /number/],
  ['top_p over 1', { model: 'm', messages: user, top_p: 1.5 }, 'top_p', /0 to 1/],
  ['top_p 0', { model: 'm', messages: user, top_p: 0 }, 'top_p', /more than 0/],
  ['five stops', { model: 'm', messages: user, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', /at most 4/],
  ['an empty stop', { model: 'm', messages: user, stop: [''] }, 'stop', /1 to 64/],
  ['seed not whole', { model: 'm', messages: user, seed: 1.5 }, 'seed', /integer/],
  ['n 2', { model: 'm', messages: user, n: 2 }, 'n', /must be 1/],
  ['stream as a string', { model: 'm', messages: user, stream: 'yes' }, 'stream', /boolean/],
  ['stream_options without stream', { model: 'm', messages: user, stream_options: { include_usage: true } }, 'stream_options', /only allowed when stream/],
  ['unknown stream option', { model: 'm', messages: user, stream: true, stream_options: { everything: true } }, 'stream_options.everything', /unrecognized/],
  ['max_price negative', { model: 'm', messages: user, max_price: -1 }, 'max_price', /0 or more/],
  ['a penalty', { model: 'm', messages: user, presence_penalty: 0.5 }, 'presence_penalty', /not supported/],
  ['tools', { model: 'm', messages: user, tools: [{ type: 'function' }] }, 'tools', /not supported/],
  ['json mode', { model: 'm', messages: user, response_format: { type: 'json_object' } }, 'response_format', /not supported/],
  ['an unknown argument', { model: 'm', messages: user, temprature: 1 }, 'temprature', /unrecognized request argument/]
]

for (const [what, body, param, message] of bad) {
  test(`chat body refused: ${what}`, () => {
    try {
      parseChatRequest(body)
      assert.unreachable('accepted')
    } catch (err) {
      assert.instance(err, InvalidGatewayRequestError)
      assert.is((err as InvalidGatewayRequestError).param, param)
      assert.match((err as Error).message, message)
      if (param !== null) assert.ok((err as Error).message.includes(`'${param}'`), 'the message names the parameter')
    }
  })
}

test('legacy completion bodies refused: prompt batches and token arrays, echo, chat-only arguments', () => {
  for (const [body, param] of [
    [{ model: 'm' }, 'prompt'],
    [{ model: 'm', prompt: ['a', 'b'] }, 'prompt'],
    [{ model: 'm', prompt: [1, 2, 3] }, 'prompt'],
    [{ model: 'm', prompt: 'a', echo: true }, 'echo'],
    [{ model: 'm', prompt: 'a', messages: user }, 'messages']
  ] as Array<[unknown, string]>) {
    try {
      parseCompletionRequest(body)
      assert.unreachable(`accepted ${JSON.stringify(body)}`)
    } catch (err) {
      assert.is((err as InvalidGatewayRequestError).param, param, JSON.stringify(body))
    }
  }
})

test.run()
