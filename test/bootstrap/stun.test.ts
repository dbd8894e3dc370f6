/**
 * The bootstrap's STUN server: the codec against RFC 5769's test vectors, malformed datagrams ignored,
 * a real request answered over UDP on loopback, clients outside the address policy ignored, and
 * node-datachannel's ICE agent (what @libp2p/webrtc uses) gathering a server-reflexive candidate from it.
 */
import { createSocket } from 'node:dgram'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bindingSuccess, createStunServer, parseBindingRequest, parseBindingSuccess, STUN_MAGIC_COOKIE, StunServerError } from '../../bootstrap/index.ts'
import { bounded, rejectsWith } from '../helpers.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'))
// RFC 5769 section 2.1 and 2.2: the transaction id and the XOR-MAPPED-ADDRESS attributes.
const TXID = hex('b7 e7 a7 01 bc 34 d6 86 fa 87 df ae')

function request (txid = TXID, extra = new Uint8Array(0)): Uint8Array {
  const msg = new Uint8Array(20 + extra.length)
  const view = new DataView(msg.buffer)
  view.setUint16(0, 0x0001)
  view.setUint16(2, extra.length)
  view.setUint32(4, STUN_MAGIC_COOKIE)
  msg.set(txid, 8)
  msg.set(extra, 20)
  return msg
}

test('binding responses carry XOR-MAPPED-ADDRESS exactly as RFC 5769 encodes it, and parse back', () => {
  for (const [address, port, attr] of [
    ['192.0.2.1', 32853, '0020 0008 0001 a147 e112a643'],
    ['2001:db8:1234:5678:11:2233:4455:6677', 32853, '0020 0014 0002 a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9']
  ] as const) {
    const msg = bindingSuccess(TXID, address, port)
    assert.equal(Buffer.from(msg.subarray(20, 20 + hex(attr).length)).toString('hex'), Buffer.from(hex(attr)).toString('hex'), address)
    const parsed = parseBindingSuccess(msg)
    assert.is(parsed?.port, port)
    assert.equal(parsed?.transactionId, TXID)
    assert.is(parsed?.address, address === '192.0.2.1' ? address : '2001:db8:1234:5678:11:2233:4455:6677')
  }
})

test('the RFC 5769 sample IPv4 response parses to 192.0.2.1:32853', () => {
  const sample = hex(`0101 003c 2112a442 b7e7a701 bc34d686 fa87dfae
    8022 000b 74657374 20766563 746f7220 0020 0008 0001 a147 e112a643
    0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7 8028 0004 c07d4c96`)
  assert.equal(parseBindingSuccess(sample), { transactionId: TXID, address: '192.0.2.1', port: 32853 })
})

test('only well-formed binding requests are accepted', () => {
  assert.equal(parseBindingRequest(request()), TXID)
  assert.equal(parseBindingRequest(request(TXID, new Uint8Array(8))), TXID)
  const bad: Array<[string, Uint8Array]> = [
    ['too short', request().subarray(0, 19)],
    ['a response', (() => { const m = request(); m[1] = 0x01; m[0] = 0x01; return m })()],
    ['an indication', (() => { const m = request(); m[1] = 0x11; return m })()],
    ['no magic cookie', (() => { const m = request(); m[4] = 0; return m })()],
    ['a length that lies', (() => { const m = request(TXID, new Uint8Array(8)); m[3] = 12; return m })()],
    ['an unaligned length', (() => { const m = request(TXID, new Uint8Array(3)); return m })()],
    ['oversized', request(TXID, new Uint8Array(1024))],
    ['not STUN (top bits set)', (() => { const m = request(); m[0] = 0x80; return m })()]
  ]
  for (const [what, msg] of bad) assert.is(parseBindingRequest(msg), undefined, what)
})

async function ask (port: number, msg: Uint8Array, ms = 500): Promise<Uint8Array | undefined> {
  const socket = createSocket('udp4')
  try {
    await new Promise<void>(resolve => { socket.bind(0, '127.0.0.1', () => { resolve() }) })
    const reply = new Promise<Uint8Array | undefined>((resolve) => {
      const timer = setTimeout(() => { resolve(undefined) }, ms)
      socket.once('message', (m) => { clearTimeout(timer); resolve(Uint8Array.from(m)) })
    })
    socket.send(msg, port, '127.0.0.1')
    const got = await reply
    if (got !== undefined) assert.is(parseBindingSuccess(got)?.port, socket.address().port)
    return got
  } finally {
    socket.close()
  }
}

test('the server answers a binding request with the client\'s address and ignores junk', bounded(10_000, async () => {
  const server = createStunServer({ hosts: ['127.0.0.1'], port: 0 })
  await server.start()
  try {
    const port = server.addresses()[0]?.port ?? 0
    const reply = await ask(port, request())
    assert.ok(reply !== undefined, 'answered')
    assert.is(parseBindingSuccess(reply)?.address, '127.0.0.1')
    assert.is(await ask(port, new TextEncoder().encode('hello there, not stun at all')), undefined)
    assert.is(server.answered, 1)
    assert.is(server.ignored, 1)
  } finally {
    await server.stop()
  }
}))

test('clients outside the address policy get no answer', bounded(10_000, async () => {
  const server = createStunServer({ hosts: ['127.0.0.1'], port: 0, allowsIp: ip => ip.startsWith('198.18.') })
  await server.start()
  try {
    assert.is(await ask(server.addresses()[0]?.port ?? 0, request()), undefined)
    assert.is(server.answered, 0)
  } finally {
    await server.stop()
  }
}))

test('a port in use is a StunServerError with a hint', bounded(10_000, async () => {
  const first = createStunServer({ hosts: ['127.0.0.1'], port: 0 })
  await first.start()
  try {
    const second = createStunServer({ hosts: ['127.0.0.1'], port: first.addresses()[0]?.port ?? 0 })
    await rejectsWith(second.start(), StunServerError.name)
  } finally {
    await first.stop()
  }
}))

test('node-datachannel\'s ICE agent gathers a server-reflexive candidate from it', bounded(15_000, async () => {
  const server = createStunServer({ hosts: ['127.0.0.1'], port: 0 })
  await server.start()
  const { RTCPeerConnection } = await import('node-datachannel/polyfill')
  // (Without the DOM lib, RTCConfiguration has no fields: node-datachannel's own type is the DOM's.)
  const pc = new RTCPeerConnection({ iceServers: [{ urls: `stun:127.0.0.1:${server.addresses()[0]?.port ?? 0}` }] } as ConstructorParameters<typeof RTCPeerConnection>[0])
  try {
    const srflx = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('no srflx candidate within 10 s')) }, 10_000)
      pc.onicecandidate = (e: { candidate: { candidate?: string } | null }) => {
        const c = e.candidate?.candidate ?? ''
        if (c.includes(' typ srflx ')) { clearTimeout(timer); resolve(c) }
      }
    })
    pc.createDataChannel('probe')
    await pc.setLocalDescription(await pc.createOffer())
    assert.match(await srflx, / 127\.0\.0\.1 \d+ typ srflx /)
    assert.ok(server.answered >= 1)
  } finally {
    pc.close()
    await server.stop()
    const { cleanup } = await import('node-datachannel')
    cleanup()
  }
}))

test.run()
