import { multiaddr } from '@multiformats/multiaddr'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createAddressPolicy } from '../../node/index.ts'

const table: Array<[string | string[], string, boolean]> = [
  ['loopback', '/ip4/127.0.0.1/tcp/4001', true],
  ['loopback', '/ip4/127.5.6.7/tcp/4001', true],
  ['loopback', '/ip6/::1/tcp/4001', true],
  ['loopback', '/ip4/198.18.0.1/tcp/4001', false],
  ['loopback', '/ip4/10.0.0.1/tcp/4001', false],
  ['loopback', '/ip4/8.8.8.8/tcp/4001', false],
  ['loopback', '/ip6/fd00::2/tcp/4001', false],
  ['loopback', '/dns4/example.com/tcp/443', false],
  ['loopback', '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit/webrtc', true],
  ['loopback', '/ip4/192.168.1.2/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit/webrtc', false],
  ['test-net', '/ip4/198.18.0.1/tcp/4001', true],
  ['test-net', '/ip4/198.19.255.254/udp/4001/webrtc-direct', true],
  ['test-net', '/ip4/198.20.0.1/tcp/4001', false],
  ['any', '/ip4/8.8.8.8/tcp/4001', true],
  ['any', '/dns4/example.com/tcp/443', true],
  [['10.1.0.0/16'], '/ip4/10.1.200.3/tcp/1', true],
  [['10.1.0.0/16'], '/ip4/10.2.0.3/tcp/1', false]
]

for (const [policy, addr, allowed] of table) {
  test(`${JSON.stringify(policy)} ${allowed ? 'allows' : 'denies'} ${addr}`, () => {
    assert.is(createAddressPolicy(policy).allows(multiaddr(addr)), allowed)
  })
}

test('bad policies are named errors', () => {
  for (const bad of ['nowhere', ['300.1.1.1/8'], ['10.0.0.0/33'], ['not-an-ip']]) {
    assert.throws(() => createAddressPolicy(bad), (err: Error) => err.name === 'AddressPolicyError')
  }
})

test.run()
