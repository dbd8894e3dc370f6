/**
 * The address policy: which IP ranges this node may dial and announce. Tests and local networks keep
 * the node on loopback (or on the 198.18.0.0/15 benchmark range of network namespaces they built);
 * a public node allows everything. Relay addresses are judged by their first IP (the relay's).
 * Pure: multiaddrs in, decisions out.
 */
import { ClawnodeError } from '../protocol/index.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

export class AddressPolicyError extends ClawnodeError {
  static override name = 'AddressPolicyError'
  constructor (problem: string) {
    super(`Invalid address policy: ${problem}`, { hint: 'Use "loopback", "test-net", "any", or a list of CIDR ranges like ["127.0.0.0/8", "198.18.0.0/15"].' })
  }
}

/** Named policies: loopback only; loopback plus the 198.18.0.0/15 range test namespaces use; anything. */
export const ADDRESS_POLICY_PRESETS: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  'test-net': ['127.0.0.0/8', '::1/128', '198.18.0.0/15'],
  any: ['0.0.0.0/0', '::/0']
}

interface Range { v6: boolean, base: bigint, bits: number }

function parseIp (ip: string): { v6: boolean, value: bigint } | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) {
    const parts = ip.split('.').map(Number)
    if (parts.some(p => p > 255)) return undefined
    return { v6: false, value: parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n) }
  }
  if (!ip.includes(':')) return undefined
  const [head = '', tail] = ip.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const fill = tail === undefined ? 0 : 8 - h.length - t.length
  const groups = [...h, ...Array<string>(Math.max(0, fill)).fill('0'), ...t]
  if (groups.length !== 8 || groups.some(g => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined
  return { v6: true, value: groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n) }
}

function parseRange (cidr: string): Range {
  const [ip = '', bitsText] = cidr.split('/')
  const parsed = parseIp(ip)
  if (parsed === undefined) throw new AddressPolicyError(`${JSON.stringify(cidr)} is not an IP range`)
  const max = parsed.v6 ? 128 : 32
  const bits = bitsText === undefined ? max : Number(bitsText)
  if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new AddressPolicyError(`${JSON.stringify(cidr)} has a bad prefix length`)
  return { v6: parsed.v6, base: parsed.value >> BigInt(max - bits), bits }
}

export interface AddressPolicy {
  /** The ranges, as given. */
  readonly ranges: string[]
  allowsIp: (ip: string) => boolean
  /** Whether a multiaddr may be dialled or announced (judged by its first IP component). */
  allows: (ma: Multiaddr) => boolean
}

export function createAddressPolicy (spec: string | string[]): AddressPolicy {
  const list = typeof spec === 'string' ? ADDRESS_POLICY_PRESETS[spec] : spec
  if (list === undefined) throw new AddressPolicyError(`unknown preset ${JSON.stringify(spec)}`)
  const ranges = list.map(parseRange)
  const allowsIp = (ip: string): boolean => {
    const parsed = parseIp(ip)
    if (parsed === undefined) return false
    const max = parsed.v6 ? 128 : 32
    return ranges.some(r => r.v6 === parsed.v6 && (parsed.value >> BigInt(max - r.bits)) === r.base)
  }
  return {
    ranges: [...list],
    allowsIp,
    allows (ma) {
      for (const { name, value } of ma.getComponents()) {
        if (name === 'ip4' || name === 'ip6') return value !== undefined && allowsIp(value)
        // A DNS name could resolve anywhere: only an open policy dials it.
        if (name === 'dns' || name === 'dns4' || name === 'dns6' || name === 'dnsaddr') return list.includes('0.0.0.0/0')
      }
      // No IP at all (a bare /p2p/<id>, /webrtc behind a relay): nothing to judge here.
      return true
    }
  }
}
