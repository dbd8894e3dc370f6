/**
 * Protocol limits and names. Every bound on what a peer may send is here and in LIMITS.md.
 */

/** Largest signed envelope accepted, bytes. */
export const MAX_ENVELOPE_BYTES = 64 * 1024
/** Largest capability record accepted (inside its envelope), bytes. */
export const MAX_CAPABILITY_RECORD_BYTES = 48 * 1024
/** Caps on the repeated fields of a capability record, enforced while decoding. */
export const MAX_RECORD_GPUS = 16
export const MAX_RECORD_RUNTIMES = 8
export const MAX_RECORD_IMAGES = 256
export const MAX_RECORD_MODELS = 64
/** A record may claim to live at most this long. */
export const MAX_RECORD_TTL_MS = 24 * 60 * 60 * 1000
/** Clock skew tolerated between peers. */
export const MAX_CLOCK_SKEW_MS = 60 * 1000

/** Domains and payload types of signed envelopes, one per message type. */
export const CAPS_DOMAIN = 'clawnode:caps:v1'
export const CAPS_PAYLOAD_TYPE = new TextEncoder().encode('/clawnode/caps-record/1')
export const CAPABILITY_RECORD_VERSION = 1

/** The protocol that serves a node's signed capability record. */
export const CAPS_PROTOCOL = '/clawnode/caps/1.0.0'
/** Time allowed to open a caps stream and read the record. */
export const CAPS_FETCH_TIMEOUT_MS = 5_000
