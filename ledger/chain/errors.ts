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
