/**
 * `clawnode bootstrap` as a real process on loopback: it prints the addresses peers bootstrap from and
 * its STUN URL; a node that joins through it holds a relay reservation, which the running bootstrap
 * reports on its control socket; its STUN server answers; bad flags are usage errors; Ctrl-C stops it.
 */
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createInterface } from 'node:readline'
import { multiaddr } from '@multiformats/multiaddr'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseBindingSuccess, STUN_MAGIC_COOKIE } from '../../bootstrap/index.ts'
import { controlRequest, createClawNode } from '../../node/index.ts'
import { bounded, cli, ROOT, tempDir } from '../helpers.ts'

async function waitFor<T> (what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`)
}

async function stunRequest (port: number): Promise<{ address: string, port: number } | undefined> {
  const socket = createSocket('udp4')
  try {
    await new Promise<void>(resolve => { socket.bind(0, '127.0.0.1', () => { resolve() }) })
    const msg = new Uint8Array(20)
    new DataView(msg.buffer).setUint16(0, 0x0001)
    new DataView(msg.buffer).setUint32(4, STUN_MAGIC_COOKIE)
    msg.set(crypto.getRandomValues(new Uint8Array(12)), 8)
    const reply = new Promise<Uint8Array | undefined>((resolve) => {
      const timer = setTimeout(() => { resolve(undefined) }, 2_000)
      socket.once('message', (m) => { clearTimeout(timer); resolve(Uint8Array.from(m)) })
    })
    socket.send(msg, port, '127.0.0.1')
    const got = await reply
    return got === undefined ? undefined : parseBindingSuccess(got)
  } finally {
    socket.close()
  }
}

test('clawnode bootstrap serves the DHT, relay reservations and STUN until Ctrl-C', bounded(60_000, async () => {
  const data = await tempDir()
  const child = spawn(process.execPath, [`${ROOT}/node/cli/bin.js`, 'bootstrap', '--json', '--data', data, '--stun', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const lines = createInterface({ input: child.stdout })
  const events: Array<Record<string, unknown>> = []
  lines.on('line', (line) => { events.push(JSON.parse(line) as Record<string, unknown>) })
  const node = await createClawNode({ dataDir: await tempDir(), network: { addressPolicy: 'loopback', relayReservation: true } })
  try {
    const started = await waitFor('the started event', 20_000, async () => events.find(e => e.event === 'started') ?? (child.exitCode === null ? undefined : Promise.reject(new Error(stderr))))
    const addrs = started.addrs as string[]
    assert.ok(addrs.length > 0)
    for (const a of addrs) assert.match(a, new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${started.peerId as string}$`))
    const stun = started.stun as string[]
    assert.match(stun[0] ?? '', /^stun:127\.0\.0\.1:\d+$/)
    assert.equal(started.relay, { maxReservations: 128, connectionDurationMs: 120_000, connectionDataBytes: 1024 * 1024 })

    // A node that bootstraps from it reserves a relay slot there.
    await node.start()
    await node.libp2p.dial(multiaddr(addrs[0] ?? ''), { signal: AbortSignal.timeout(10_000) })
    const status = await waitFor('a relay reservation', 20_000, async () => {
      const s = await controlRequest(data, '/status') as { peers: number, reservations: Array<{ peerId: string }> }
      return s.reservations.some(r => r.peerId === node.peerId.toString()) ? s : undefined
    })
    assert.ok(status.peers >= 1)
    assert.ok(node.getMultiaddrs().some(a => a.toString().startsWith(`${addrs[0] ?? ''}/p2p-circuit`)), 'the node announces a circuit address through it')
    const peers = JSON.parse((await cli(['peers', '--json', '--data', data])).stdout) as { peers: Array<{ peerId: string }> }
    assert.ok(peers.peers.some(p => p.peerId === node.peerId.toString()))

    // Its STUN server tells a client where its packets come from.
    const reflexive = await stunRequest(Number((stun[0] ?? '').split(':').pop()))
    assert.is(reflexive?.address, '127.0.0.1')
  } finally {
    await node.stop()
    const exited = new Promise<number | null>(resolve => child.once('exit', (code) => { resolve(code) }))
    child.kill('SIGINT')
    assert.is(await exited, 0, stderr)
  }
  assert.ok(events.some(e => e.event === 'stopped'))
}))

test('bootstrap flags are checked: --stun takes a port or off, and there is no --dht-mode', bounded(20_000, async () => {
  const data = await tempDir()
  const bad = await cli(['bootstrap', '--stun', 'nope', '--data', data])
  assert.is(bad.code, 2)
  assert.match(bad.stderr, /--stun takes a UDP port/)
  const mode = await cli(['bootstrap', '--dht-mode', 'client', '--data', data])
  assert.is(mode.code, 2)
  const help = await cli(['bootstrap', '--help'])
  assert.is(help.code, 0)
  assert.match(help.stdout, /clawnode bootstrap \[--listen <multiaddr>\]/)
}))

test.run()
