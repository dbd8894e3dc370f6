/**
 * The circuit-relay v2 server a bootstrap node runs for peers behind NAT, with every resource bounded
 * by the constants in constants.ts (js-libp2p's defaults leave the per-connection limits at 2 min and
 * 128 KiB and the reservation store at 15).
 */
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import {
  RELAY_CONNECTION_DATA_BYTES, RELAY_CONNECTION_DURATION_MS, RELAY_HOP_TIMEOUT_MS, RELAY_MAX_INBOUND_HOP_STREAMS, RELAY_MAX_OUTBOUND_STOP_STREAMS,
  RELAY_MAX_RESERVATIONS, RELAY_RESERVATION_TTL_MS
} from './constants.ts'
import type { CircuitRelayServerInit, CircuitRelayService } from '@libp2p/circuit-relay-v2'

/** The relay server's options: reservations, per-connection limits and stream caps. */
export const RELAY_SERVER_INIT: CircuitRelayServerInit = {
  hopTimeout: RELAY_HOP_TIMEOUT_MS,
  maxInboundHopStreams: RELAY_MAX_INBOUND_HOP_STREAMS,
  maxOutboundStopStreams: RELAY_MAX_OUTBOUND_STOP_STREAMS,
  reservations: {
    maxReservations: RELAY_MAX_RESERVATIONS,
    reservationTtl: RELAY_RESERVATION_TTL_MS,
    applyDefaultLimit: true,
    defaultDurationLimit: RELAY_CONNECTION_DURATION_MS,
    defaultDataLimit: BigInt(RELAY_CONNECTION_DATA_BYTES)
  }
}

/** The libp2p service factory for a bounded circuit-relay v2 server. */
export function relayServer (): ReturnType<typeof circuitRelayServer> {
  return circuitRelayServer(RELAY_SERVER_INIT)
}

/** The peers holding a reservation on this relay, and when each lapses. */
export function relayReservations (relay: CircuitRelayService): Array<{ peerId: string, expiresAt: string }> {
  return [...relay.reservations.entries()].map(([peer, r]) => ({ peerId: peer.toString(), expiresAt: r.expiry.toISOString() }))
}
