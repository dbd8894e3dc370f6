/**
 * The clawnode libp2p node: TCP, WebRTC and circuit-relay transports, noise, yamux, identify, ping,
 * autonat and a Kademlia DHT on our own protocol id, with a persistent identity and datastore in the
 * data dir and an address policy that bounds what the node dials and announces.
 */
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { kadDHT } from '@libp2p/kad-dht'
import { logger } from '@libp2p/logger'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webRTC } from '@libp2p/webrtc'
import { createLibp2p } from 'libp2p'
import { relayServer } from '../bootstrap/index.ts'
import { createAddressPolicy } from './address-policy.ts'
import { DEFAULT_ADDRESS_POLICY, DEFAULT_DHT_MODE, DEFAULT_LISTEN, DEFAULT_RECORD_TTL_MS, DHT_PROTOCOL, INBOUND_CONNECTION_RATE, YAMUX_MAX_STREAM_WINDOW_BYTES } from './constants.ts'
import { createNodeDatastore } from './datastore.ts'
import { loadOrCreatePeerKey } from './identity.ts'
import { holdStrayErrorGuard } from './stray-errors.ts'
import type { AddressPolicy } from './address-policy.ts'
import type { NetworkConfig } from './config.ts'
import type { KadDHT } from '@libp2p/kad-dht'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'

const log = logger('clawnode:node')

// bindAddress is a node-datachannel option passed through, absent from the DOM RTCConfiguration type.
type RtcConfig = NonNullable<NonNullable<Parameters<typeof webRTC>[0]>['rtcConfiguration']>

export interface ClawNodeInit {
  dataDir: string
  network?: NetworkConfig
  /** Run the circuit-relay server (bootstrap operators), bounded by the bootstrap layer's relay limits. */
  relayServer?: boolean
  /**
   * How long provider records this node stores for others stay valid (default: the capability record
   * TTL), so a provider that stops republishing drops out of discovery once its records lapse.
   */
  recordTtlMs?: number
}

export interface ClawNodeServices {
  dht: KadDHT
  [name: string]: unknown
}

export interface ClawNode {
  readonly peerId: PeerId
  readonly libp2p: Libp2p<ClawNodeServices>
  readonly policy: AddressPolicy
  /** Whether the node reserves a slot on a circuit relay (listens on /p2p-circuit). */
  readonly relayReservation: boolean
  getMultiaddrs: () => Multiaddr[]
  start: () => Promise<void>
  stop: () => Promise<void>
}

// node-datachannel keeps native threads that can hold the process open after every peer connection
// is closed; its cleanup() is process-wide, so it runs when the last node in the process stops.
let runningNodes = 0

export async function createClawNode (init: ClawNodeInit): Promise<ClawNode> {
  const network = init.network ?? {}
  const policy = createAddressPolicy(network.addressPolicy ?? DEFAULT_ADDRESS_POLICY)
  // On a closed policy (loopback, test-net) nobody has a public address, and auto mode would leave every
  // node a client that nobody can find: such networks default to server mode.
  const dhtMode = network.dhtMode ?? (policy.ranges.includes('0.0.0.0/0') ? DEFAULT_DHT_MODE : 'server')
  const ttlMs = init.recordTtlMs ?? DEFAULT_RECORD_TTL_MS
  const privateKey = await loadOrCreatePeerKey(init.dataDir)
  const store = createNodeDatastore(join(init.dataDir, 'datastore'))
  const onlyLoopback = policy.ranges.every(r => r.startsWith('127.') || r === '::1/128')
  // Listening on /p2p-circuit makes libp2p look for a relay until it holds a reservation, walking the
  // DHT at random meanwhile: a node with no relay to find burned a CPU core doing so. Only nodes that
  // may sit behind NAT look, and never a relay itself.
  const reserveRelay = network.relayReservation ?? (!onlyLoopback && init.relayServer !== true)
  const keep = <T extends { multiaddrs: Multiaddr[] }>(peer: T): T => ({ ...peer, multiaddrs: peer.multiaddrs.filter(policy.allows) })

  const libp2p = await createLibp2p({
    start: false,
    privateKey,
    datastore: store.datastore,
    addresses: {
      listen: [...(network.listen ?? DEFAULT_LISTEN), ...(reserveRelay ? ['/p2p-circuit'] : []), '/webrtc'],
      announceFilter: (addrs) => addrs.filter(policy.allows)
    },
    connectionGater: {
      // Never dial outside the policy; the gater runs before any packet is sent.
      denyDialMultiaddr: (ma) => !policy.allows(ma)
    },
    connectionManager: { inboundConnectionThreshold: INBOUND_CONNECTION_RATE },
    transports: [
      tcp(),
      circuitRelayTransport(),
      // ICE servers only from config: js-libp2p's defaults are public STUN hosts. On a loopback-only
      // policy ICE also binds to loopback, so no candidate names another interface.
      webRTC({ rtcConfiguration: { iceServers: network.iceServers ?? [], ...(onlyLoopback ? { bindAddress: '127.0.0.1' } : {}) } as RtcConfig })
    ],
    connectionEncrypters: [noise()],
    // A paused stream (a reader applying backpressure) still takes in what the peer's window allows,
    // and more than 4 MiB buffered resets the stream: the window stays below that.
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: YAMUX_MAX_STREAM_WINDOW_BYTES } })],
    peerDiscovery: (network.bootstrap ?? []).length > 0 ? [bootstrap({ list: network.bootstrap ?? [], timeout: 100 })] : [],
    services: {
      identify: identify(),
      ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 4 }),
      autoNAT: autoNAT(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        // auto: a client until the node sees a public address of its own. Tests and local networks
        // use server, with a mapper that keeps the addresses the policy allows (the default mapper
        // drops loopback and private ones, and nobody would be found).
        ...(dhtMode === 'auto' ? {} : { clientMode: dhtMode === 'client' }),
        peerInfoMapper: keep,
        initialQuerySelfInterval: 200,
        // Provider records others announced to us lapse with the capability record; the sweep runs at
        // half of it. (Our own are republished by the capability service, so the threshold is small.)
        reprovide: { validity: ttlMs, interval: Math.max(1000, Math.floor(ttlMs / 2)), threshold: Math.floor(ttlMs / 4) }
      }),
      ...(init.relayServer === true ? { relay: relayServer() } : {})
    }
  })

  let started = false
  let releaseGuard = (): void => {}
  return {
    peerId: libp2p.peerId,
    libp2p: libp2p as unknown as Libp2p<ClawNodeServices>,
    policy,
    relayReservation: reserveRelay,
    getMultiaddrs: () => libp2p.getMultiaddrs(),
    async start () {
      if (started) return
      // While the node runs, errors its dependencies leave unhandled are logged, not fatal.
      releaseGuard = holdStrayErrorGuard()
      await store.open()
      await libp2p.start()
      started = true
      runningNodes++
      log('node %p started on %a', libp2p.peerId, libp2p.getMultiaddrs())
    },
    async stop () {
      if (!started) return
      started = false
      await libp2p.stop()
      await store.close()
      if (--runningNodes === 0) {
        const { cleanup } = await import('node-datachannel')
        cleanup()
      }
      releaseGuard()
      log('node %p stopped', libp2p.peerId)
    }
  }
}
