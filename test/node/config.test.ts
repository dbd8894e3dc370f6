import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseConfig } from '../../node/index.ts'

test('an empty config is all defaults', () => {
  assert.equal(parseConfig('c.json', {}), { sandbox: {}, network: {}, provider: {}, chain: {}, settlement: {} })
})

test('every section parses its known keys', () => {
  const config = parseConfig('c.json', {
    sandbox: { runtime: 'runsc', maxLimits: { cpus: 2 } },
    network: { listen: ['/ip4/127.0.0.1/tcp/0'], dhtMode: 'server', addressPolicy: 'test-net', iceServers: [{ urls: 'stun:127.0.0.1:3478' }] },
    provider: { maxConcurrentJobs: 3, prices: { perCpuSecond: 7 }, recordTtlMs: 60_000 }
  })
  assert.is(config.network.dhtMode, 'server')
  assert.is(config.provider.prices?.perCpuSecond, 7)
})

test('the gateway section names a local fallback model; without the section there is none', () => {
  assert.equal(parseConfig('c.json', { gateway: { localFallback: 'tiny-1.5b.q8_0' } }).gateway, { localFallback: 'tiny-1.5b.q8_0' })
  assert.equal(parseConfig('c.json', { gateway: {} }).gateway, {})
  assert.is(parseConfig('c.json', {}).gateway, undefined)
})

test('the gateway section bounds spending: the most per request and per day, in millicredits', () => {
  assert.equal(parseConfig('c.json', { gateway: { maxRequestPrice: 5_000, dailyBudget: 0 } }).gateway, { maxRequestPrice: 5_000, dailyBudget: 0 })
})

test('provider.modelThreads sets the inference threads of each model process; without it the runner picks', () => {
  assert.is(parseConfig('c.json', { provider: { modelThreads: 1 } }).provider.modelThreads, 1)
  assert.is(parseConfig('c.json', { provider: {} }).provider.modelThreads, undefined)
})

const bad: Array<[unknown, RegExp]> = [
  [{ gateway: { localFallback: '../models/x' } }, /gateway\.localFallback must be a model id/],
  [{ gateway: { localFallback: 7 } }, /gateway\.localFallback must be a model id/],
  [{ gateway: { fallback: 'tiny' } }, /gateway\.fallback is not a known key/],
  [{ gateway: 'tiny' }, /gateway must be an object/],
  [{ gateway: { maxRequestPrice: -1 } }, /gateway\.maxRequestPrice must be a whole number of millicredits/],
  [{ gateway: { dailyBudget: '100' } }, /gateway\.dailyBudget must be a whole number of millicredits/],
  [{ gateway: { dailyBudget: 1.5 } }, /gateway\.dailyBudget must be a whole number of millicredits/],
  [[], /the file must hold a JSON object/],
  [{ wallet: {} }, /wallet is not a known section/],
  [{ sandbox: { runtime: 'kata' } }, /sandbox\.runtime must be "runsc"/],
  [{ sandbox: { pool: [{ image: 'busybox', size: 1 }] } }, /sandbox\.pool\[0\]\.image must be an image ID/],
  [{ network: { dhtMode: 'both' } }, /network\.dhtMode must be/],
  [{ network: { listen: '/ip4/127.0.0.1/tcp/0' } }, /network\.listen must be an array of strings/],
  [{ network: { iceServers: [{ url: 'stun:x' }] } }, /network\.iceServers\[0\]\.urls/],
  [{ provider: { maxConcurrentJobs: -1 } }, /provider\.maxConcurrentJobs must be an integer/],
  [{ provider: { prices: { perToken: 1 } } }, /provider\.prices\.perToken is not a known price/],
  [{ provider: { models: [{ id: 'x' }] } }, /provider\.models\[0\]\.path must be the path of a GGUF file/],
  [{ provider: { usageTickTokens: 'often' } }, /provider\.usageTickTokens must be an integer/],
  [{ provider: { modelThreads: 0 } }, /provider\.modelThreads must be an integer 1\.\.256/],
  [{ provider: { modelThreads: 1.5 } }, /provider\.modelThreads must be an integer 1\.\.256/],
  [{ provider: { modelThreads: 1000 } }, /provider\.modelThreads must be an integer 1\.\.256/],
  [{ network: { relayReservation: 'yes' } }, /network\.relayReservation must be true or false/],
  [{ chain: { mode: 'mainnet' } }, /chain\.mode must be "local", "rpc" or "off"/],
  [{ chain: { mode: 'rpc', rpcUrl: 'http://127.0.0.1:8545' } }, /chain in mode "rpc" needs rpcUrl, chainId and contracts/],
  [{ chain: { contracts: { creditToken: '0x12', usageAnchor: '0x12', usageEscrow: '0x12' } } }, /chain\.contracts\.creditToken must be a 0x… contract address/],
  [{ chain: { feeBps: 5000 } }, /chain\.feeBps must be an integer 0\.\.1000/],
  [{ settlement: { trusted: [{ peer: 'me' }] } }, /settlement\.trusted\[0\]\.peer must be a peer id/],
  [{ settlement: { depositDays: 'forever' } }, /settlement\.depositDays must be an integer/],
  [{ settlement: { period: 5 } }, /settlement\.period is not a known key/]
]

test('the chain and settlement sections parse', () => {
  const contracts = { creditToken: `0x${'1'.repeat(40)}`, usageAnchor: `0x${'2'.repeat(40)}`, usageEscrow: `0x${'3'.repeat(40)}` }
  const peer = '12D3KooWGzhqAFbo5uPiKK9Ryq6jRNmojbY9WEdDj4U6vUXxmKzw'
  assert.equal(parseConfig('c.json', {
    chain: { mode: 'rpc', rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, contracts, confirmations: 3 },
    settlement: { periodS: 60, depositAmount: 5000, depositDays: 2, trusted: [{ peer, capMillicredits: 1000, ordersPerMinute: 10 }] }
  }).chain, { mode: 'rpc', rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, contracts, confirmations: 3 })
  assert.equal(parseConfig('c.json', { settlement: { periodS: 60, trusted: [{ peer }] } }).settlement, { periodS: 60, trusted: [{ peer }] })
})
for (const [input, message] of bad) {
  test(`rejects ${JSON.stringify(input)}`, () => {
    try {
      parseConfig('c.json', input)
      assert.unreachable('accepted')
    } catch (err) {
      assert.is((err as Error).name, 'ConfigError')
      assert.match((err as Error).message, message)
    }
  })
}

test.run()
