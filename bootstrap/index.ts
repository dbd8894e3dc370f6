/**
 * Bootstrap, circuit-relay and STUN pieces for peers behind NAT. Filled in by the libp2p issue; the
 * layer exists now so that imports run one way from the start.
 */
export const BOOTSTRAP_LAYER = 'bootstrap'
