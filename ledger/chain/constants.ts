/**
 * Defaults and bounds of the chain side of the ledger: the embedded anvil chain, the contract
 * deployment, and the escrow's EIP-712 domain. Every time bound is listed in LIMITS.md.
 */

/** Chain id of the embedded local chain (anvil's own default, which wallets and viem know). */
export const DEFAULT_LOCAL_CHAIN_ID = 31337

/** The only host the embedded chain listens on. */
export const LOCAL_CHAIN_HOST = '127.0.0.1'

/**
 * The EVM rules the local chain runs, pinned so that gas figures do not move with anvil upgrades. The
 * contracts are compiled for cancun (scripts/build-contracts.ts), which every later hardfork runs.
 */
export const DEFAULT_HARDFORK = 'prague'

/** How long anvil may take to print the address it listens on. */
export const DEFAULT_ANVIL_START_TIMEOUT_MS = 15_000

/** How long anvil may take to dump its state and exit after SIGTERM before it is killed. */
export const ANVIL_STOP_TIMEOUT_MS = 10_000

/** Anvil also dumps its state this often, so a chain killed without warning loses at most this much. */
export const DEFAULT_STATE_INTERVAL_S = 5

/** Bytes of anvil's startup output kept while looking for the listening address. */
export const MAX_ANVIL_BANNER_BYTES = 64 * 1024

/** How long a check that a shared chain answers (eth_chainId) may take. */
export const CHAIN_PROBE_TIMEOUT_MS = 2_000

/** How long to wait for another process that holds the start or deploy lock of a data dir. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000

/** How often a waiting process looks at a held lock again. */
export const LOCK_POLL_MS = 50

/** Files in the chain's data dir. */
export const ANVIL_STATE_FILE = 'anvil-state.json'
export const ANVIL_PID_FILE = 'anvil.pid'
export const CHAIN_FILE = 'chain.json'
export const CONTRACTS_FILE = 'contracts.json'
export const START_LOCK_FILE = 'chain.lock'
export const DEPLOY_LOCK_FILE = 'deploy.lock'

/**
 * Anvil's first default dev account (from the "test test … junk" mnemonic). The key is public; it only
 * ever deploys and pays gas on the local chain, never on a real network.
 */
export const ANVIL_DEV_PRIVATE_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'

/** Escrow defaults: the window in which a consumer can dispute a claim, and the fee (none locally). */
export const DEFAULT_DISPUTE_WINDOW_S = 600
export const DEFAULT_FEE_BPS = 0
/** The contract refuses more (UsageEscrow.MAX_FEE_BPS). */
export const MAX_FEE_BPS = 1000

/** The local faucet: the most one call mints, in millicredits (1,000,000 credits). */
export const DEFAULT_FAUCET_CAP = 1_000_000_000n

/** How long one deployment transaction may take to be mined. */
export const DEPLOY_RECEIPT_TIMEOUT_MS = 30_000

/** The escrow's EIP-712 domain (must match the UsageEscrow constructor). */
export const ESCROW_DOMAIN_NAME = 'clawnode UsageEscrow'
export const ESCROW_DOMAIN_VERSION = '1'
