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

/** The lease protocol. */
export const TASK_PROTOCOL = '/clawnode/task/1.0.0'
export const ORDER_DOMAIN = 'clawnode:order:v1'
export const BID_DOMAIN = 'clawnode:bid:v1'
export const DECLINE_DOMAIN = 'clawnode:decline:v1'
export const AWARD_DOMAIN = 'clawnode:award:v1'
export const ORDER_PAYLOAD_TYPE = new TextEncoder().encode('/clawnode/order/1')
export const BID_PAYLOAD_TYPE = new TextEncoder().encode('/clawnode/bid/1')
export const DECLINE_PAYLOAD_TYPE = new TextEncoder().encode('/clawnode/decline/1')
export const AWARD_PAYLOAD_TYPE = new TextEncoder().encode('/clawnode/award/1')
/** Largest order, bid or decline (inside its envelope), bytes. */
export const MAX_LEASE_MESSAGE_BYTES = 16 * 1024
/** Largest award: the job payload rides in it. */
export const MAX_AWARD_BYTES = 48 * 1024 * 1024
/** Nonces are 16 bytes; ids are sha256 digests. */
export const NONCE_BYTES = 16
/** An order may not run further ahead than this. */
export const MAX_ORDER_DEADLINE_MS = 24 * 60 * 60 * 1000
/** Entries a replay guard keeps (oldest expired first; at the cap, new messages are refused). */
export const MAX_REPLAY_ENTRIES = 100_000
export const RECEIPT_DOMAIN = 'clawnode:receipt:v1'
export const RECEIPT_ACK_DOMAIN = 'clawnode:receipt-ack:v1'
export const RECEIPT_PAYLOAD_TYPE = new TextEncoder().encode('/clawnode/receipt/1')
export const RECEIPT_ACK_PAYLOAD_TYPE = new TextEncoder().encode('/clawnode/receipt-ack/1')
export const USAGE_DOMAIN = 'clawnode:usage:v1'
export const USAGE_PAYLOAD_TYPE = new TextEncoder().encode('/clawnode/usage/1')
/** Tokens between two streamed usage ticks of an inference lease, unless the provider configures it. */
export const DEFAULT_USAGE_TICK_TOKENS = 64
/** Largest frame on a task stream: an award (with its payload) plus framing. */
export const MAX_FRAME_BYTES = MAX_AWARD_BYTES + 4096
/** Artifacts travel in chunks of at most this many bytes. */
export const ARTIFACT_CHUNK_BYTES = 256 * 1024
/** Time allowed for each step of a lease: order → bid, bid → award, receipt → acknowledgement. */
export const LEASE_STEP_TIMEOUT_MS = 10_000
/** How long a bid stays open. */
export const BID_TTL_MS = 30_000
/** A node's settlement address (its EVM account) bound to its peer id by the peer key's signature. */
export const SETTLEMENT_DOMAIN = 'clawnode:settlement:v1'
export const SETTLEMENT_PAYLOAD_TYPE = new TextEncoder().encode('/clawnode/settlement-address/1')
/** EVM addresses are 20 bytes. */
export const SETTLEMENT_ADDRESS_BYTES = 20
/** The highest escrow fee a record may state, in basis points (10 %; the contract's own cap). */
export const MAX_SETTLEMENT_FEE_BPS = 1000
/** The longest decline detail carried (characters). */
export const MAX_DECLINE_DETAIL_CHARS = 300

/**
 * Signers one cache remembers, the least recently used dropped first. An Ed25519 entry is well under
 * 1 KiB (an RSA one a few KiB), so a full cache stays within a few MiB; past the bound, a signer is
 * imported again on its next message, which is only slower.
 */
export const MAX_CACHED_SIGNERS = 4_096
