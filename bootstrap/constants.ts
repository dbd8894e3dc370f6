/**
 * Limits of the bootstrap layer: what one bootstrap node's circuit relay and STUN server give away.
 * Every value is listed in LIMITS.md.
 */

/** Relay slots (reservations) held at once; peers past it are refused until one lapses. */
export const RELAY_MAX_RESERVATIONS = 128
/** How long a reservation lasts before the peer must renew it. */
export const RELAY_RESERVATION_TTL_MS = 60 * 60 * 1000
/**
 * A relayed connection is reset after this long or this many bytes in each direction: the relay is
 * for reaching a peer behind NAT and signalling a direct WebRTC connection, not for carrying leases.
 */
export const RELAY_CONNECTION_DURATION_MS = 2 * 60 * 1000
export const RELAY_CONNECTION_DATA_BYTES = 1024 * 1024
/** Relay requests (HOP streams) one peer may have open at once. */
export const RELAY_MAX_INBOUND_HOP_STREAMS = 32
/** Relayed connections (STOP streams) to one reserved peer at once. */
export const RELAY_MAX_OUTBOUND_STOP_STREAMS = 64
/** A relay request must complete within this time. */
export const RELAY_HOP_TIMEOUT_MS = 30_000

/** The STUN port (RFC 8489's default). */
export const DEFAULT_STUN_PORT = 3478
/** Larger datagrams are not STUN binding requests worth answering. */
export const MAX_STUN_REQUEST_BYTES = 548
/** Answers per second, all clients together, so the server cannot be used to flood anyone. */
export const STUN_MAX_RESPONSES_PER_SECOND = 500
