/**
 * `clawnode bootstrap`: a bootstrap node. A Kademlia DHT server peers join through, a bounded circuit
 * relay for peers behind NAT (it also carries the signalling of their direct WebRTC connections), and
 * a STUN server that tells those peers the address their NAT gives them. Runs until Ctrl-C, printing
 * the addresses peers pass to --bootstrap and a status line.
 */
import { logger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import {
  createStunServer, DEFAULT_STUN_PORT, RELAY_CONNECTION_DATA_BYTES, RELAY_CONNECTION_DURATION_MS, RELAY_MAX_RESERVATIONS, relayReservations
} from '../../../bootstrap/index.ts'
import { loadConfig } from '../../config.ts'
import { DEFAULT_LISTEN, STATUS_INTERVAL_MS } from '../../constants.ts'
import { startControlServer } from '../../control.ts'
import { ensureDataDir } from '../../data-dir.ts'
import { createClawNode } from '../../libp2p.ts'
import { eventWriter, parseCommandArgs, untilAborted } from '../context.ts'
import { EXIT, UsageError } from '../errors.ts'
import { NETWORK_OPTIONS, networkFromFlags } from '../network-flags.ts'
import type { StunServer } from '../../../bootstrap/index.ts'
import type { ControlServer } from '../../control.ts'
import type { Command } from '../main.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'

const log = logger('clawnode:bootstrap')

/** The IP hosts of listen multiaddrs (0.0.0.0 stays 0.0.0.0): where the STUN server listens too. */
function listenHosts (listen: string[]): string[] {
  const hosts = new Set<string>()
  for (const addr of listen) {
    const ip = multiaddr(addr).getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
    if (ip !== undefined) hosts.add(ip)
  }
  return [...hosts]
}

function stunPort (flag: string | undefined): number | undefined {
  if (flag === undefined) return DEFAULT_STUN_PORT
  if (flag === 'off') return undefined
  const port = Number(flag)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--stun takes a UDP port (0-65535) or off')
  return port
}

export const command: Command = {
  summary: 'Run a bootstrap node: DHT server, circuit relay and STUN for peers behind NAT, until Ctrl-C',
  usage: 'clawnode bootstrap [--listen <multiaddr>]… [--bootstrap <multiaddr>]… [--address-policy loopback|test-net|any]\n' +
    '                          [--stun <port>|off] [--json] [--data <dir>]\n\n' +
    'A public bootstrap listens on a fixed port, e.g. --listen /ip4/0.0.0.0/tcp/4001 --address-policy any.\n' +
    'The DHT always runs in server mode. STUN (default udp port 3478) listens on the same IPs as --listen;\n' +
    'peers behind NAT list it in their config\'s network.iceServers. Flags override the config file\'s\n' +
    'network section. With --json, events are JSON lines on stdout.',
  async run (ctx, args) {
    const { values } = parseCommandArgs(args, {
      bootstrap: NETWORK_OPTIONS.bootstrap,
      listen: NETWORK_OPTIONS.listen,
      'address-policy': NETWORK_OPTIONS['address-policy'],
      stun: { type: 'string' }
    })
    const port = stunPort(values.stun)
    await ensureDataDir(ctx.dataDir)
    const config = await loadConfig(ctx.dataDir)
    // A bootstrap node is where others find the DHT: always a server.
    const network = { ...networkFromFlags(config.network, values), dhtMode: 'server' as const }
    const emit = eventWriter(ctx)

    const node = await createClawNode({ dataDir: ctx.dataDir, network, relayServer: true })
    const stun: StunServer | undefined = port === undefined ? undefined : createStunServer({ hosts: listenHosts(network.listen ?? DEFAULT_LISTEN), port, allowsIp: node.policy.allowsIp })
    const relay = (): CircuitRelayService => node.libp2p.services.relay as CircuitRelayService
    let status: NodeJS.Timeout | undefined
    let control: ControlServer | undefined
    try {
      await stun?.start()
      await node.start()
      // What peers pass to --bootstrap: this node's own addresses, not ones through a relay.
      const addrs = node.getMultiaddrs().map(String).filter(a => !a.includes('/p2p-circuit') && !a.includes('/webrtc'))
      // The STUN URLs peers should use: this node's announced IPs, where the STUN server listens.
      const stunUrls = stun === undefined
        ? []
        : [...new Set(addrs.flatMap((a) => {
            const ip = multiaddr(a).getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')
            if (ip?.value === undefined) return []
            const host = ip.name === 'ip6' ? `[${ip.value}]` : ip.value
            return stun.addresses().filter(s => s.host === ip.value || s.host === '0.0.0.0' || s.host === '::').map(s => `stun:${host}:${s.port}`)
          }))]
      control = await startControlServer(ctx.dataDir, {
        '/status': () => ({
          peerId: node.peerId.toString(),
          addrs,
          peers: node.libp2p.getPeers().length,
          reservations: relayReservations(relay()),
          stun: { urls: stunUrls, answered: stun?.answered ?? 0 }
        }),
        '/peers': () => ({ peers: node.libp2p.getConnections().map(c => ({ peerId: c.remotePeer.toString(), addrs: [String(c.remoteAddr)] })) })
      })
      const limits = { maxReservations: RELAY_MAX_RESERVATIONS, connectionDurationMs: RELAY_CONNECTION_DURATION_MS, connectionDataBytes: RELAY_CONNECTION_DATA_BYTES }
      emit('started', { peerId: node.peerId.toString(), addrs, stun: stunUrls, relay: limits }, [
        `✓ clawnode bootstrap ${node.peerId.toString()}`,
        `  DHT server and circuit relay (up to ${RELAY_MAX_RESERVATIONS} reservations; a relayed connection is reset after ${RELAY_CONNECTION_DURATION_MS / 60_000} min or ${RELAY_CONNECTION_DATA_BYTES / 1024 / 1024} MiB each way)`,
        '  peers join with:',
        ...addrs.map(a => `    --bootstrap ${a}`),
        ...(stun === undefined
          ? ['  STUN off']
          : [`  STUN on udp ${stun.addresses().map(s => `${s.host}:${s.port}`).join(', ')}; peers behind NAT add to network.iceServers:`, ...stunUrls.map(u => `    { "urls": "${u}" }`)]),
        '  Ctrl-C to stop',
        ''
      ].join('\n'))
      status = setInterval(() => {
        const peers = node.libp2p.getPeers().length
        const reservations = relay().reservations.size
        emit('status', { peers, reservations, stunAnswered: stun?.answered ?? 0 }, `▸ peers ${peers} · relay reservations ${reservations} · STUN answers ${stun?.answered ?? 0}\n`)
      }, STATUS_INTERVAL_MS)
      await untilAborted(ctx.signal)
    } finally {
      clearInterval(status)
      await control?.close().catch((err: unknown) => { log.error('%e', err) })
      await stun?.stop().catch((err: unknown) => { log.error('%e', err) })
      await node.stop().catch((err: unknown) => { log.error('%e', err) })
    }
    emit('stopped', {}, '✓ stopped\n')
    return EXIT.ok
  }
}
