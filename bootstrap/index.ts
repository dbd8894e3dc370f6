/**
 * The bootstrap layer: the pieces a bootstrap node offers peers behind NAT. A bounded circuit-relay v2
 * server (to reach them, and to carry the signalling of direct WebRTC connections) and a STUN server
 * (so each learns the address its NAT gives it). `clawnode bootstrap` (node/cli) composes them with a
 * DHT server.
 */
export * from './constants.ts'
export { RELAY_SERVER_INIT, relayServer, relayReservations } from './relay.ts'
export { createStunServer, parseBindingRequest, bindingSuccess, parseBindingSuccess, StunServerError, STUN_MAGIC_COOKIE } from './stun.ts'
export type { StunServer, StunServerInit } from './stun.ts'
