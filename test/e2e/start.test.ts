/**
 * `clawnode start` as real processes: a first provider, a second that bootstraps from it, and a
 * consumer node in the test that discovers both through the DHT by their gvisor runtime and allowed
 * image; Ctrl-C stops each cleanly. `clawnode id` and `clawnode caps` agree with what start announces.
 */
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startConsumerNode } from './consumer-node.ts'
import { bounded, cli, ROOT, startNode as start, stopNode as stop, tempDir, testImage } from '../helpers.ts'

test('two providers started with clawnode start are discovered by their capabilities and serve a lease; Ctrl-C stops them', bounded(150_000, async () => {
  const a = await start()
  const b = await start(['--bootstrap', a.addrs[0] ?? ''])
  // It pays as a node does by default: a deposit on the machine's local chain for each provider.
  const { caps, consumer, stop: stopConsumer } = await startConsumerNode([a.addrs[0] ?? ''], { paying: true })
  try {
    assert.ok(a.keys.includes('/clawnode/cap/1/runtime/gvisor'))
    assert.ok(a.keys.includes(`/clawnode/cap/1/image/${testImage()}`))
    let found: string[] = []
    for (let i = 0; i < 40 && found.length < 2; i++) {
      found = (await caps.discover({ kind: 'image', image: testImage() }, { signal: AbortSignal.timeout(8_000) })).map(r => r.peerId.toString()).sort()
      if (found.length < 2) await new Promise(resolve => setTimeout(resolve, 250))
    }
    assert.equal(found, [a.peerId, b.peerId].sort())

    // And they serve leases: a job bought from them runs in one of their sandboxes.
    let out = ''
    const leased = await consumer.lease({ version: 1, image: testImage(), argv: ['echo', 'served by clawnode start'] }, { maxPrice: 1_000_000_000, artifactsDir: await tempDir(), onOutput: (_s, d) => { out += Buffer.from(d).toString() } })
    assert.is(out, 'served by clawnode start\n')
    assert.ok([a.peerId, b.peerId].includes(leased.provider.toString()))
    assert.is(leased.receipt.status, 'succeeded')

    // The same through the CLI: a short-lived consumer node.
    const viaCli = await cli(['lease', '--image', testImage(), '--bootstrap', a.addrs[0] ?? '', '--explain', '--json', '--data', await tempDir(), '--', 'sh', '-c', 'echo cli lease > /out/x.txt'], { timeoutMs: 60_000 })
    assert.is(viaCli.code, 0, viaCli.stderr)
    const summary = JSON.parse(viaCli.stdout) as { status: string, provider: string, artifacts: Array<{ path: string }>, explain: Array<{ fate: string }> }
    assert.is(summary.status, 'succeeded')
    assert.equal(summary.artifacts.map(x => x.path), ['x.txt'])
    assert.ok(summary.explain.some(e => e.fate === 'chosen'))

    // With `clawnode start` running on the same data dir, `clawnode lease` goes through that node (which
    // does not lease from itself): output streams back as produced, the summary names the other provider.
    const through = await cli(['lease', '--image', testImage(), '--explain', '--data', a.data, '--', 'sh', '-c', 'echo through the node; echo art > /out/y.txt'], { timeoutMs: 60_000 })
    assert.is(through.code, 0, through.stderr)
    assert.is(through.stdout, 'through the node\n')
    assert.match(through.stderr, /leasing through the running node/)
    assert.not.match(through.stderr, new RegExp(`chosen\\s+${a.peerId}`))
    assert.match(through.stderr, new RegExp(`✓ succeeded on ${b.peerId} \\(direct, rtt \\d+ ms`))
    const throughJson = await cli(['lease', '--image', testImage(), '--json', '--data', a.data, '--out', join(a.data, 'got'), '--', 'sh', '-c', 'echo art > /out/y.txt'], { timeoutMs: 60_000 })
    assert.is(throughJson.code, 0, throughJson.stderr)
    assert.is((JSON.parse(throughJson.stdout) as { provider: string }).provider, b.peerId)
    assert.is(await readFile(join(a.data, 'got', 'y.txt'), 'utf8'), 'art\n')

    // Ctrl-C on such a lease cancels it on the running node, and the provider's job ends.
    const interrupted = spawn(process.execPath, [`${ROOT}/node/cli/bin.js`, 'lease', '--image', testImage(), '--data', a.data, '--', 'sh', '-c', 'echo begun; sleep 30'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | null>(resolve => interrupted.once('exit', (code) => { resolve(code) }))
    await new Promise<void>((resolve) => { interrupted.stdout?.on('data', (c: Buffer) => { if (c.toString().includes('begun')) resolve() }) })
    const cancelledAt = Date.now()
    interrupted.kill('SIGINT')
    assert.is(await exited, 130)
    let running = 1
    for (let i = 0; i < 100 && running > 0; i++) {
      running = (JSON.parse((await cli(['status', '--json', '--data', b.data])).stdout) as { jobsRunning: number }).jobsRunning
      if (running > 0) await new Promise(resolve => setTimeout(resolve, 100))
    }
    assert.is(running, 0)
    assert.ok(Date.now() - cancelledAt < 15_000, 'the provider\'s job ended well before its 30 s sleep')

    // The running node answers on its control socket: b is among a's peers.
    const peers = JSON.parse((await cli(['peers', '--json', '--data', a.data])).stdout) as { peers: Array<{ peerId: string }> }
    assert.ok(peers.peers.some(p => p.peerId === b.peerId))
    const idle = await cli(['peers', '--data', await tempDir()])
    assert.is(idle.code, 1)
    assert.match(idle.stderr, /No running clawnode node uses .*\n.*clawnode start --data/)

    const id = JSON.parse((await cli(['id', '--json', '--data', a.data])).stdout) as { peerId: string }
    assert.is(id.peerId, a.peerId)
    const advertised = JSON.parse((await cli(['caps', '--json', '--data', a.data])).stdout) as { keys: string[] }
    assert.equal(advertised.keys, a.keys)
  } finally {
    await stopConsumer()
    assert.is(await stop(b), 0)
    assert.is(await stop(a), 0)
  }
}))

test.run()
