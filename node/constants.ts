/**
 * Defaults of the node layer, applied once where the config is read. Limits are listed in LIMITS.md.
 */

/** Listen on loopback with a port the OS picks: the embedded default is a local network. */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0']
/** Dial and announce loopback only unless the operator opens the policy. */
export const DEFAULT_ADDRESS_POLICY = 'loopback'
export const DEFAULT_DHT_MODE = 'auto'
/** The DHT runs on our own protocol id, apart from the public IPFS DHT. */
export const DHT_PROTOCOL = '/clawnode/kad/1.0.0'
/**
 * Largest yamux receive window per stream (yamux's default grows to 16 MiB). A stream whose reader
 * pauses still receives up to the window, and libp2p resets a stream holding over 4 MiB unread.
 */
export const YAMUX_MAX_STREAM_WINDOW_BYTES = 2 * 1024 * 1024
/** js-libp2p accepts 5 inbound connections per address per second by default; many nodes share loopback. */
export const INBOUND_CONNECTION_RATE = 1000

/** Provider defaults: jobs at once, and prices in millicredits (the product's default: 1 credit per token). */
export const DEFAULT_MAX_CONCURRENT_JOBS = 2
export const DEFAULT_PRICES = { per1kInputTokens: 1_000_000, per1kOutputTokens: 1_000_000, perCpuSecond: 1000, perGbSecond: 100 }
/** How long a lease keeps looking for providers while its node's DHT routing table fills. */
export const LEASE_DISCOVERY_WINDOW_MS = 20_000
/** How often `clawnode start` prints its status line. */
export const STATUS_INTERVAL_MS = 10_000

/** Validity of a signed capability record and of the DHT provider records announcing it. */
export const DEFAULT_RECORD_TTL_MS = 10 * 60 * 1000

/** Share of the machine's memory the loaded models may take together (provider.modelMemoryMb overrides). */
export const DEFAULT_MODEL_MEMORY_FRACTION = 0.5
/** How long a request waits for busy models to finish when its model does not fit beside them. */
export const MODEL_MEMORY_WAIT_MS = 30_000
/**
 * How long a consumer that cancelled a lease waits for the provider's final receipt (status cancelled,
 * covering what was produced) before it gives up on it and drops the stream.
 */
export const LEASE_CANCEL_GRACE_MS = 5_000

// Consumer: reuse of verified records, the pause between empty discoveries, and the inference bound.
/** Verified capability records are reused this long (never past their own expiry). */
export const RECORD_CACHE_MS = 30_000
/** Pause between discoveries that found nobody, inside a lease's discovery window. */
export const DISCOVERY_RETRY_MS = 300
/** One inference lease's time bound, unless the request names another. */
export const DEFAULT_INFERENCE_TIMEOUT_MS = 120_000
