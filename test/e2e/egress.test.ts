/**
 * Nothing dials outside the address policy, checked where packets leave: a clawnode network runs in a
 * network namespace (test/e2e/egress-network.ts) whose only other interface leads to a second,
 * empty namespace; iptables there counts (and drops) every IPv4 and IPv6 packet that leaves by any
 * interface but loopback. The nodes use the default loopback policy and are fed addresses outside it;
 * after discovery, a real lease and idle time, the counters must read zero. A probe afterwards shows
 * that the counters do count.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createNetnsWorld, netnsUnavailable } from '../netns.ts'
import { bounded, ROOT, testImage } from '../helpers.ts'
import { join } from 'node:path'

const COMMENT = 'clawnode-egress'

const unavailable = netnsUnavailable()
if (unavailable === undefined) {
  test('no packet leaves the loopback policy: DHT, identify, autoNAT, a lease and forbidden peers', bounded(120_000, async () => {
    const world = await createNetnsWorld()
    try {
      const fenced = await world.ns('fenced')
      const beyond = await world.ns('beyond')
      await world.link(fenced, '198.18.7.1/24', beyond, '198.18.7.2/24')
      // Count everything that leaves by a non-loopback interface (ICMPv6 aside: the kernel's own
      // neighbour discovery), and drop it so nothing gets further.
      await fenced.iptables(['-A', 'OUTPUT', '!', '-o', 'lo', '-m', 'comment', '--comment', COMMENT, '-j', 'DROP'])
      await fenced.exec(['ip6tables', '-w', '5', '-A', 'OUTPUT', '!', '-o', 'lo', '!', '-p', 'ipv6-icmp', '-m', 'comment', '--comment', COMMENT, '-j', 'DROP'])
      const counted = async (): Promise<number> => {
        const v4 = (await fenced.counters()).filter(c => c.comment === COMMENT).reduce((n, c) => n + c.packets, 0)
        const v6text = (await fenced.exec(['ip6tables-save', '-c', '-t', 'filter'])).stdout
        const v6 = v6text.split('\n').filter(l => l.includes(COMMENT)).reduce((n, l) => n + Number(/^\[(\d+):/.exec(l)?.[1] ?? 0), 0)
        return v4 + v6
      }
      assert.is(await counted(), 0)

      const child = fenced.spawn([process.execPath, join(ROOT, 'test', 'e2e', 'egress-network.ts'), testImage(), '198.18.7.2', '198.18.7.3'], { stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout?.on('data', (c: Buffer) => { stdout += c.toString() })
      child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
      const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
      assert.is(code, 0, stderr)
      const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { refused: string[], leased: string, announced: string[] }
      assert.is(report.leased, 'succeeded: inside the fence')
      // Dials of forbidden addresses were refused before any packet, by name.
      assert.ok(report.refused.filter(r => r.includes('198.18.7.')).length === 2, JSON.stringify(report.refused))
      for (const r of report.refused.filter(r => r.includes('198.18.7.'))) assert.match(r, /DialDenied|Denied|NoValidAddresses/)
      // The node listening on 0.0.0.0 announces only loopback.
      assert.ok(report.announced.length > 0)
      for (const a of report.announced) assert.match(a, /^\/ip4\/127\.|^\/ip6\/::1\/|\/p2p-circuit/, a)

      assert.is(await counted(), 0, 'packets left the loopback policy')
      // The fence counts: a connection attempt from the namespace is seen (and dropped).
      const probe = await fenced.probeTcp('198.18.7.2', 9, 500)
      assert.is(probe.result, 'timeout')
      assert.ok(await counted() > 0, 'the counting rule saw the probe')
    } finally {
      await world.cleanup()
    }
  }))
} else if (process.env.CLAWNODE_REQUIRE_ALL === '1') {
  test('no packet leaves the loopback policy', () => { assert.unreachable(`cannot run: ${unavailable} (CLAWNODE_REQUIRE_ALL=1 allows no skips)`) })
} else {
  process.stdout.write(`egress.test.ts: skipped (not counted): ${unavailable}\n`)
}

test.run()
