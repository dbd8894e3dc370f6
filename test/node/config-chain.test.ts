/**
 * The config's chain.key: a key file path (or { file }) or an environment variable's name ({ env });
 * the key itself, inline, is refused with a hint saying where to put it instead.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseConfig } from '../../node/index.ts'

const KEY = `0x${'ab'.repeat(32)}`

test('chain.key names a key file (a path or { file }) or an environment variable ({ env })', () => {
  assert.equal(parseConfig('c.json', { chain: { key: 'keys/remote.key' } }).chain.key, { file: 'keys/remote.key' })
  assert.equal(parseConfig('c.json', { chain: { key: { file: '/etc/clawnode/key' } } }).chain.key, { file: '/etc/clawnode/key' })
  assert.equal(parseConfig('c.json', { chain: { key: { env: 'CLAWNODE_CHAIN_KEY' } } }).chain.key, { env: 'CLAWNODE_CHAIN_KEY' })
  const rpc = parseConfig('c.json', {
    chain: { mode: 'rpc', rpcUrl: 'http://10.0.0.5:8545', chainId: 84532, contracts: { creditToken: `0x${'1'.repeat(40)}`, usageAnchor: `0x${'2'.repeat(40)}`, usageEscrow: `0x${'3'.repeat(40)}` }, confirmations: 3, key: { env: 'K' } }
  }).chain
  assert.equal([rpc.mode, rpc.confirmations, rpc.key], ['rpc', 3, { env: 'K' }])
  assert.is(parseConfig('c.json', {}).chain.key, undefined)
})

const bad: Array<[unknown, RegExp]> = [
  [KEY, /chain\.key must not hold the private key itself.*file of mode 0600.*"env"/],
  [KEY.slice(2), /chain\.key must not hold the private key itself/],
  [{ file: KEY }, /chain\.key must not hold the private key itself/],
  [{ env: KEY }, /chain\.key must not hold the private key itself/],
  [{ env: 'NOT A NAME' }, /chain\.key\.env must be the name of an environment variable/],
  [{ file: '' }, /chain\.key\.file must be the path of a file/],
  [{ file: 'a', env: 'B' }, /chain\.key must be a key file path, \{ "file": "<path>" \} or \{ "env": "<NAME>" \}/],
  [{}, /chain\.key must be a key file path/],
  [{ key: 'x' }, /chain\.key\.key is not a known key/],
  [42, /chain\.key must be an object/]
]

test('a chain.key that holds the key itself or is malformed is a ConfigError naming chain.key, with a hint', () => {
  for (const [key, message] of bad) {
    try {
      parseConfig('c.json', { chain: { key } })
      assert.unreachable(`accepted ${JSON.stringify(key)}`)
    } catch (err) {
      assert.is((err as Error).name, 'ConfigError', JSON.stringify(key))
      assert.match((err as Error).message, message)
      assert.match((err as { hint?: string }).hint ?? '', /Fix chain\.key/)
      // The error never repeats a key it was given.
      assert.not.match((err as Error).message, /abababab/)
    }
  }
})

test.run()
