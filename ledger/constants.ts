/**
 * Names, formats and limits of the ledger layer. Every bound on what the ledger accepts or reads at
 * once lives here and is listed in LIMITS.md.
 */

/** Domain string at the start of every entry's hashed encoding (see entry.ts). */
export const LEDGER_ENTRY_DOMAIN = 'clawnode:ledger-entry:v1'
/** Version of the SQLite schema; a newer file is refused rather than misread. */
export const LEDGER_SCHEMA_VERSION = 1
/** `format` and `version` of the export header (see export.ts). */
export const LEDGER_EXPORT_FORMAT = 'clawnode-ledger-export'
export const LEDGER_EXPORT_VERSION = 1

/** Largest receipt, provider signature or consumer countersignature stored in one entry, bytes. */
export const MAX_ENTRY_BLOB_BYTES = 64 * 1024
/** Longest order id (hex characters) and counterparty peer id string. */
export const MAX_ORDER_ID_CHARS = 128
export const MAX_COUNTERPARTY_CHARS = 256

/** Appends waiting for the next group commit; one more is refused with LedgerQueueFullError. */
export const MAX_PENDING_APPENDS = 16_384
/** Most entries written in one transaction; a fuller queue is committed in several. */
export const MAX_ENTRIES_PER_COMMIT = 4_096
/** Most entries one `range()` call returns. */
export const MAX_RANGE_ENTRIES = 1_000
/** Most entries in one Merkle batch; `closeBatch` closes a longer backlog in several batches. */
export const MAX_BATCH_ENTRIES = 100_000
/** Rows read per page while verifying or exporting; the event loop gets a turn between pages. */
export const LEDGER_PAGE_ROWS = 2_048
/**
 * Entries whose batch roots are recomputed when a ledger is opened: the newest batch always, and the
 * batches before it while their entries fit in this. A full check (`verify()`, `clawnode ledger verify`)
 * recomputes every root: about 2 s per 100k entries on two cores, too slow for every open.
 */
export const LEDGER_OPEN_ROOT_CHECK_ENTRIES = 16_384
/** Longest line accepted in an export file, bytes (three blobs in base64 plus the metadata). */
export const MAX_EXPORT_LINE_BYTES = 4 * MAX_ENTRY_BLOB_BYTES + 8 * 1024
/** SQLite busy timeout: how long a write waits for another connection's lock, ms. */
export const LEDGER_BUSY_TIMEOUT_MS = 5_000

/** How often the anchorer closes a batch of the new entries and anchors it (issue 5: every 5 minutes). */
export const DEFAULT_ANCHOR_PERIOD_MS = 5 * 60_000
/** Blocks an anchor transaction must have (its own included) before its batch counts as anchored. */
export const DEFAULT_ANCHOR_CONFIRMATIONS = 1
/** Back-off after an anchoring attempt failed (chain unreachable): first wait, doubling up to the most. */
export const DEFAULT_ANCHOR_MIN_BACKOFF_MS = 1_000
export const DEFAULT_ANCHOR_MAX_BACKOFF_MS = 60_000
/** How long one attempt waits for an anchor transaction to be mined; it is looked for again on the next attempt. */
export const ANCHOR_RECEIPT_TIMEOUT_MS = 60_000
/** How long `stop()` spends closing and anchoring a last batch. */
export const ANCHOR_STOP_TIMEOUT_MS = 10_000
/** Blocks per eth_getLogs request when looking for an Anchored event (public RPCs limit the range). */
export const ANCHOR_LOG_PAGE_BLOCKS = 10_000
