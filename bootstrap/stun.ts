/**
 * A STUN binding server (RFC 8489, the part ICE needs): a peer behind NAT asks it which address and
 * port its packets come from, and offers that server-reflexive address to the other peer as a WebRTC
 * ICE candidate. That is what lets two peers behind separate NATs reach each other directly once a
 * relay has carried their signalling. The codec is pure; the server is one UDP socket per host.
 */
import { createSocket } from 'node:dgram'
import { isIPv4, isIPv6 } from 'node:net'
import { crc32 } from 'node:zlib'
import { logger } from '@libp2p/logger'
import { ClawnodeError } from '../protocol/index.ts'
import { DEFAULT_STUN_PORT, MAX_STUN_REQUEST_BYTES, STUN_MAX_RESPONSES_PER_SECOND } from './constants.ts'
import type { Socket } from 'node:dgram'

const log = logger('clawnode:stun')

export const STUN_MAGIC_COOKIE = 0x2112a442
const HEADER_BYTES = 20
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const XOR_MAPPED_ADDRESS = 0x0020
const FINGERPRINT = 0x8028
const FINGERPRINT_XOR = 0x5354554e

export class StunServerError extends ClawnodeError {
  static override name = 'StunServerError'
  constructor (host: string, port: number, options: { cause?: unknown } = {}) {
    const inUse = (options.cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE'
    super(`The STUN server cannot listen on udp ${host}:${port}${inUse ? ': the port is in use' : ''}`, {
      ...options,
      hint: inUse ? 'Stop what uses the port, or pick another with --stun <port> (or --stun off).' : 'Check that the address is one of this host\'s, or turn STUN off with --stun off.'
    })
  }
}

/** The transaction id of a well-formed binding request, or undefined for anything else. */
export function parseBindingRequest (msg: Uint8Array): Uint8Array | undefined {
  if (msg.length < HEADER_BYTES || msg.length > MAX_STUN_REQUEST_BYTES) return undefined
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength)
  const type = view.getUint16(0)
  const length = view.getUint16(2)
  if ((type & 0xc000) !== 0 || type !== BINDING_REQUEST) return undefined
  if (view.getUint32(4) !== STUN_MAGIC_COOKIE) return undefined
  if (length % 4 !== 0 || length !== msg.length - HEADER_BYTES) return undefined
  return msg.slice(8, HEADER_BYTES)
}

function ipBytes (address: string): Uint8Array {
  if (isIPv4(address)) return Uint8Array.from(address.split('.').map(Number))
  if (!isIPv6(address)) throw new TypeError(`${address} is not an IP address`)
  let text = address.split('%')[0] as string
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4 !== null) {
    const [a, b, c, d] = (v4[1] as string).split('.').map(Number) as [number, number, number, number]
    text = text.slice(0, -(v4[1] as string).length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  const out = new Uint8Array(16)
  groups.forEach((g, i) => { const n = parseInt(g, 16); out[2 * i] = n >> 8; out[2 * i + 1] = n & 0xff })
  return out
}

/** A binding success response telling the client its reflexive address, with a FINGERPRINT. */
export function bindingSuccess (transactionId: Uint8Array, address: string, port: number): Uint8Array {
  if (transactionId.length !== 12) throw new TypeError('a STUN transaction id is 12 bytes')
  const ip = ipBytes(address)
  const attrLength = 4 + ip.length
  const total = HEADER_BYTES + 4 + attrLength + 8
  const msg = new Uint8Array(total)
  const view = new DataView(msg.buffer)
  view.setUint16(0, BINDING_SUCCESS)
  view.setUint32(4, STUN_MAGIC_COOKIE)
  msg.set(transactionId, 8)
  // XOR-MAPPED-ADDRESS: the port XORed with the cookie's high half, the address with the cookie
  // (IPv4) or the cookie and the transaction id (IPv6).
  let o = HEADER_BYTES
  view.setUint16(o, XOR_MAPPED_ADDRESS)
  view.setUint16(o + 2, attrLength)
  view.setUint8(o + 5, ip.length === 4 ? 0x01 : 0x02)
  view.setUint16(o + 6, port ^ (STUN_MAGIC_COOKIE >>> 16))
  const mask = msg.subarray(4, 4 + ip.length)
  for (let i = 0; i < ip.length; i++) msg[o + 8 + i] = (ip[i] as number) ^ (mask[i] as number)
  o += 4 + attrLength
  // FINGERPRINT covers everything before it, with the length already counting it.
  view.setUint16(2, total - HEADER_BYTES)
  view.setUint16(o, FINGERPRINT)
  view.setUint16(o + 2, 4)
  view.setUint32(o + 4, (crc32(msg.subarray(0, o)) ^ FINGERPRINT_XOR) >>> 0)
  return msg
}

/** The reflexive address in a binding success response (for tests and clients), or undefined. */
export function parseBindingSuccess (msg: Uint8Array): { transactionId: Uint8Array, address: string, port: number } | undefined {
  if (msg.length < HEADER_BYTES) return undefined
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength)
  if (view.getUint16(0) !== BINDING_SUCCESS || view.getUint32(4) !== STUN_MAGIC_COOKIE || view.getUint16(2) !== msg.length - HEADER_BYTES) return undefined
  for (let o = HEADER_BYTES; o + 4 <= msg.length;) {
    const type = view.getUint16(o)
    const length = view.getUint16(o + 2)
    if (o + 4 + length > msg.length) return undefined
    if (type === XOR_MAPPED_ADDRESS && length >= 8) {
      const family = view.getUint8(o + 5)
      const size = family === 0x01 ? 4 : 16
      if (length < 4 + size) return undefined
      const bytes = msg.slice(o + 8, o + 8 + size).map((b, i) => b ^ (msg[4 + i] as number))
      const address = size === 4
        ? [...bytes].join('.')
        : Array.from({ length: 8 }, (_, i) => (((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number)).toString(16)).join(':')
      return { transactionId: msg.slice(8, HEADER_BYTES), address, port: view.getUint16(o + 6) ^ (STUN_MAGIC_COOKIE >>> 16) }
    }
    o += 4 + length + ((4 - (length % 4)) % 4)
  }
  return undefined
}

export interface StunServerInit {
  /** IP addresses to listen on (default 0.0.0.0). */
  hosts?: string[]
  /** UDP port (default 3478; 0 lets the OS pick). */
  port?: number
  /** Only clients whose address passes are answered (the node's address policy). */
  allowsIp?: (ip: string) => boolean
}

export interface StunServer {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Where it listens, once started. */
  addresses: () => Array<{ host: string, port: number }>
  /** Requests answered and datagrams ignored (malformed, outside the policy, or over the rate). */
  readonly answered: number
  readonly ignored: number
}

export function createStunServer (init: StunServerInit = {}): StunServer {
  const hosts = init.hosts ?? ['0.0.0.0']
  const port = init.port ?? DEFAULT_STUN_PORT
  let sockets: Socket[] = []
  let answered = 0
  let ignored = 0
  // A token bucket shared by all sockets.
  let tokens = STUN_MAX_RESPONSES_PER_SECOND
  let refilledAt = Date.now()
  const take = (): boolean => {
    const now = Date.now()
    tokens = Math.min(STUN_MAX_RESPONSES_PER_SECOND, tokens + (now - refilledAt) * STUN_MAX_RESPONSES_PER_SECOND / 1000)
    refilledAt = now
    if (tokens < 1) return false
    tokens--
    return true
  }

  const listen = async (host: string): Promise<Socket> => {
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' })
    socket.on('message', (msg, rinfo) => {
      const transactionId = parseBindingRequest(msg)
      if (transactionId === undefined || init.allowsIp?.(rinfo.address) === false || !take()) {
        ignored++
        return
      }
      answered++
      socket.send(bindingSuccess(transactionId, rinfo.address, rinfo.port), rinfo.port, rinfo.address, (err) => {
        if (err != null) log.error('could not answer %s:%d - %e', rinfo.address, rinfo.port, err)
      })
    })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) => {
        socket.close()
        reject(new StunServerError(host, port, { cause: err }))
      })
      socket.bind(port, host, () => {
        socket.removeAllListeners('error')
        socket.on('error', (err) => { log.error('STUN socket on %s: %e', host, err) })
        resolve()
      })
    })
    return socket
  }

  return {
    async start () {
      if (sockets.length > 0) return
      try {
        for (const host of hosts) sockets.push(await listen(host))
      } catch (err) {
        for (const s of sockets) s.close()
        sockets = []
        throw err
      }
      log('STUN server on %s', sockets.map(s => `${s.address().address}:${s.address().port}`).join(', '))
    },
    async stop () {
      const closing = sockets.map(async s => { await new Promise<void>(resolve => { s.close(() => { resolve() }) }) })
      sockets = []
      await Promise.all(closing)
    },
    addresses: () => sockets.map(s => ({ host: s.address().address, port: s.address().port })),
    get answered () { return answered },
    get ignored () { return ignored }
  }
}
