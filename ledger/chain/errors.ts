/**
 * One error class per condition the chain side of the ledger can meet: the embedded anvil chain, the
 * shared chain file, the data dir locks and the contract deployment. Each says what to do next.
 */
import { ClawnodeError } from '../../protocol/index.ts'
import type { ClawnodeErrorOptions } from '../../protocol/index.ts'

/** No anvil binary for this platform in node_modules. */
export class AnvilNotFoundError extends ClawnodeError {
  static override name = 'AnvilNotFoundError'
  readonly packageName: string
  constructor (packageName: string, options: ClawnodeErrorOptions = {}) {
    super(`No anvil binary for ${process.platform}-${process.arch}: ${packageName} is not installed`, {
      hint: `Run \`npm install\` without --omit=optional (anvil comes in @foundry-rs/anvil-<os>-<arch>, an optional dependency; only linux-amd64 is listed), or point the node at an existing chain with an RPC URL instead of the embedded one.`,
      ...options
    })
    this.packageName = packageName
  }
}

/** Anvil exited, or did not say where it listens, before it was ready. */
export class AnvilStartError extends ClawnodeError {
  static override name = 'AnvilStartError'
  /** The end of what anvil printed, for the operator. */
  readonly output: string
  constructor (problem: string, output: string, options: ClawnodeErrorOptions = {}) {
    super(`The local chain (anvil) did not start: ${problem}${output === '' ? '' : `\n${output}`}`, {
      hint: 'Run with DEBUG=clawnode:chain for anvil\'s output. If the state file is damaged, move anvil-state.json out of the chain\'s data dir (the chain then starts empty and the contracts are deployed again).',
      retryable: true,
      ...options
    })
    this.output = output
  }
}

/** A live chain in the data dir has another chain id than the one asked for. */
export class ChainMismatchError extends ClawnodeError {
  static override name = 'ChainMismatchError'
  readonly expected: number
  readonly actual: number
  constructor (rpcUrl: string, expected: number, actual: number) {
    super(`The chain at ${rpcUrl} has chain id ${actual}, not ${expected}`, {
      hint: 'Another node shares this chain dir with a different chain id: use the same chain id on every node that shares it, or give this node its own chain dir.'
    })
    this.expected = expected
    this.actual = actual
  }
}

/** Another process held a lock of the chain's data dir for longer than the wait allowed. */
export class LockTimeoutError extends ClawnodeError {
  static override name = 'LockTimeoutError'
  readonly path: string
  constructor (path: string, holder: string, timeoutMs: number) {
    super(`${path} was still held by ${holder} after ${timeoutMs} ms`, {
      hint: `Wait for the other node to finish starting, or, if no clawnode process is running, remove ${path}.`,
      retryable: true
    })
    this.path = path
  }
}

/** A deployment transaction reverted or produced no contract. */
export class DeployFailedError extends ClawnodeError {
  static override name = 'DeployFailedError'
  readonly contract: string
  constructor (contract: string, problem: string, options: ClawnodeErrorOptions = {}) {
    super(`Deploying ${contract} failed: ${problem}`, {
      hint: 'Check that the deployer account has funds for gas on this chain and that the RPC URL points at the intended chain; run with DEBUG=clawnode:chain for details.',
      ...options
    })
    this.contract = contract
  }
}

/** When a unix time in seconds (a contract's uint64) is, for a hint. */
function at (seconds: unknown): string {
  if (typeof seconds !== 'bigint') return 'later'
  return seconds > 8_640_000_000_000n ? 'a date too far to show' : new Date(Number(seconds) * 1000).toISOString()
}

/** What to do next after each named revert of UsageEscrow and CreditToken, from the revert's arguments. */
const REVERT_HINTS: Record<string, (args: readonly unknown[]) => string> = {
  ZeroAddress: () => 'Pass a non-zero address (the provider\'s settlement address, 0x followed by 40 hex digits).',
  ZeroAmount: () => 'Pass an amount above zero.',
  ExpiryNotInFuture: ([expiry, now]) => `The expiry ${at(expiry)} is not after the chain's time ${at(now)}: choose a later expiry.`,
  ExpiryNotLater: ([, current]) => `A deposit can only be extended: choose an expiry after the current one, ${at(current)}.`,
  UnknownDeposit: ([id]) => `There is no deposit ${String(id)} on this escrow: check the id (clawnode wallet lists yours) and that the node uses the right chain.`,
  NotConsumer: ([id]) => `Only the consumer who opened deposit ${String(id)} can do this: use that node's wallet.`,
  NotArbiter: () => 'Only the escrow\'s arbiter can resolve a dispute.',
  DepositClosed: ([id]) => `Deposit ${String(id)} was refunded and is closed: open a new deposit.`,
  InvalidConsumerSignature: ([id]) => `The receipt is not signed by deposit ${String(id)}'s consumer for this deposit, escrow and amount: claim with a receipt the consumer signed.`,
  InvalidProviderSignature: ([id]) => `The receipt is not countersigned by deposit ${String(id)}'s provider: countersign it with the provider's settlement key.`,
  ClaimNotAboveCurrent: ([, , claimed]) => `The escrow already holds a claim for ${String(claimed)}: claim only with a newer receipt, for more.`,
  ClaimExceedsDeposit: ([id, , amount]) => `The receipt draws more than the ${String(amount)} deposited: the consumer must top up deposit ${String(id)} (clawnode wallet deposit topup ${String(id)} --amount <credits>) before the claim can pass.`,
  ClaimDisputed: ([id]) => `The claim on deposit ${String(id)} is disputed: only the arbiter can settle it now.`,
  NoPendingClaim: ([id]) => `Deposit ${String(id)} has no claim waiting: claim with a receipt first.`,
  DisputeWindowOpen: ([id, ends]) => `The dispute window of deposit ${String(id)} is still open: finalize after ${at(ends)}.`,
  DisputeWindowClosed: ([id, ends]) => `The dispute window of deposit ${String(id)} closed at ${at(ends)}: the claim can only be finalized now.`,
  NotDisputed: ([id]) => `Deposit ${String(id)} has no disputed claim to resolve.`,
  AllowedOutOfRange: ([, , settled, claimed]) => `Allow an amount between what was settled (${String(settled)}) and what was claimed (${String(claimed)}).`,
  NotExpired: ([id, expiry]) => `Deposit ${String(id)} has not expired: wait until ${at(expiry)}, then close it to take back the rest.`,
  ClaimOutstanding: ([id]) => `Deposit ${String(id)} has a claim that is pending or disputed: wait until it is finalized (or resolved), then close it.`,
  FeeTooHigh: ([, max]) => `The fee can be at most ${String(max)} basis points.`,
  SafeCastOverflowedUintDowncast: () => 'The amount or time is too large for the escrow: pass a smaller one.',
  SafeERC20FailedOperation: () => 'The credit token refused the transfer: check the balance and the allowance.',
  ERC20InsufficientBalance: ([, balance, needed]) => `The account holds ${String(balance)} millicredits and needs ${String(needed)}: get credits first (on the local chain: clawnode wallet faucet).`,
  ERC20InsufficientAllowance: ([, allowance, needed]) => `The escrow may move ${String(allowance)} millicredits, not ${String(needed)}: approve the amount first (openDeposit and topUpDeposit do).`,
  FaucetDisabled: () => 'This deployment has no faucet (a public network): buy or earn credits instead.',
  FaucetCapExceeded: ([, cap]) => `Ask the faucet for at most ${String(cap)} millicredits per call, or call it again.`
}

/** A transaction of the escrow or the credit token reverted with one of the contracts' named errors. */
export class EscrowRevertError extends ClawnodeError {
  static override name = 'EscrowRevertError'
  /** The Solidity error's name, e.g. `ClaimExceedsDeposit`. */
  readonly revert: string
  /** The error's arguments, as viem decodes them (bigints, addresses). */
  readonly args: readonly unknown[]
  constructor (revert: string, args: readonly unknown[] = [], options: ClawnodeErrorOptions = {}) {
    super(`The escrow refused: ${revert}(${args.map(String).join(', ')})`, {
      hint: REVERT_HINTS[revert]?.(args) ?? 'The contract refused the call; run with DEBUG=clawnode:escrow for the details.',
      ...options
    })
    this.revert = revert
    this.args = args
  }
}

/** The chain's RPC did not answer (nothing listens, the connection failed, or it timed out). */
export class ChainUnreachableError extends ClawnodeError {
  static override name = 'ChainUnreachableError'
  readonly rpcUrl: string
  constructor (rpcUrl: string, problem: string, options: ClawnodeErrorOptions = {}) {
    super(`The chain at ${rpcUrl} is unreachable: ${problem}`, {
      hint: 'Start the node (or its local chain) again, or check the RPC URL in the config\'s chain section and that the chain is up.',
      retryable: true,
      ...options
    })
    this.rpcUrl = rpcUrl
  }
}

/** The account has too little ETH to pay for the transaction's gas. */
export class InsufficientGasError extends ClawnodeError {
  static override name = 'InsufficientGasError'
  readonly address: string
  constructor (address: string, options: ClawnodeErrorOptions = {}) {
    super(`The account ${address} has too little ETH to pay for gas`, {
      hint: `Send ETH for gas to ${address}; on the local chain, \`clawnode wallet faucet\` funds it.`,
      ...options
    })
    this.address = address
  }
}

/** `faucet` on a deployment whose CreditToken has no faucet. */
export class FaucetUnavailableError extends ClawnodeError {
  static override name = 'FaucetUnavailableError'
  constructor (chainId: number) {
    super(`The credit token on chain ${chainId} has no faucet`, {
      hint: 'The faucet exists on the local chain only; on a public chain buy or earn credits and send them to this node\'s address.'
    })
  }
}

/** `readDeposit` of an id the escrow has never opened. */
export class DepositNotFoundError extends ClawnodeError {
  static override name = 'DepositNotFoundError'
  readonly depositId: bigint
  constructor (depositId: bigint) {
    super(`There is no deposit ${depositId} on this escrow`, {
      hint: 'Check the id (`clawnode wallet` lists your deposits) and that the node uses the chain the deposit was opened on.'
    })
    this.depositId = depositId
  }
}

/** A transaction was mined but failed, or was not mined within the wait allowed. */
export class TransactionFailedError extends ClawnodeError {
  static override name = 'TransactionFailedError'
  readonly hash: string
  constructor (what: string, hash: string, problem: string, options: ClawnodeErrorOptions = {}) {
    super(`${what} (transaction ${hash}) ${problem}`, {
      hint: 'Look at the transaction on the chain; read the deposit again (`clawnode wallet`) before retrying, since a late transaction may still be mined.',
      ...options
    })
    this.hash = hash
  }
}

/** The account holds fewer credits than a deposit or top-up needs (checked before any transaction). */
export class InsufficientCreditsError extends ClawnodeError {
  static override name = 'InsufficientCreditsError'
  readonly balance: bigint
  readonly needed: bigint
  constructor (address: string, balance: bigint, needed: bigint) {
    super(`The account ${address} holds ${balance} millicredits and needs ${needed}`, {
      hint: 'Get credits first: on the local chain `clawnode wallet faucet`; elsewhere have credits sent to this address.'
    })
    this.balance = balance
    this.needed = needed
  }
}
