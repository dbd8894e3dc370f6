/**
 * The chain side of the ledger: the embedded anvil chain (alone or shared by the nodes of one
 * machine), the contracts' deployment, viem clients, and the escrow's EIP-712 receipts.
 */
export { anvilBinary, startLocalChain } from './anvil.ts'
export type { LocalChain, LocalChainInit } from './anvil.ts'
export { connectOrStartLocalChain, probeChainId, readChainFile } from './shared.ts'
export type { ChainInfo } from './shared.ts'
export { chainFor, createChainClient, createReadClient } from './client.ts'
export type { ChainClient, ChainClientInit, ChainWalletClient } from './client.ts'
export { deployContracts, ensureDeployed, readDeployment } from './deploy.ts'
export type { DeployInit, Deployment } from './deploy.ts'
export { DRAW_TYPES, drawTypedData, hashDraw, signDraw, verifyDraw } from './eip712.ts'
export type { Draw, EscrowDomain } from './eip712.ts'
export { AnvilNotFoundError, AnvilStartError, ChainMismatchError, DeployFailedError, LockTimeoutError } from './errors.ts'
export {
  ChainUnreachableError, DepositNotFoundError, EscrowRevertError, FaucetUnavailableError, InsufficientCreditsError, InsufficientGasError, TransactionFailedError
} from './errors.ts'
export {
  chainTime, claimDeposit, CREDIT_DECIMALS, decodeEscrowError, DEPOSIT_LOG_BLOCK_RANGE, disputeClaim, ESCROW_RECEIPT_TIMEOUT_MS, extendDeposit, faucet,
  finalizeClaim, formatCredits, fundLocalGas, gasBalance, listDeposits, LOCAL_GAS_WEI, MAX_LISTED_DEPOSITS, openDeposit, parseCredits, readDeposit,
  refundDeposit, resolveDispute, tokenBalance, topUpDeposit
} from './escrow.ts'
export type { ClaimInit, DepositState, DepositStatus, ListDepositsOptions, OpenDepositInit, Payout, ReadClient, TxResult, WriteOptions } from './escrow.ts'
export {
  ANVIL_DEV_PRIVATE_KEY, DEFAULT_DISPUTE_WINDOW_S, DEFAULT_FAUCET_CAP, DEFAULT_FEE_BPS, DEFAULT_LOCAL_CHAIN_ID, MAX_FEE_BPS
} from './constants.ts'
export {
  creditTokenAbi, creditTokenBytecode, INPUT_SHA256, SOLC_VERSION, usageAnchorAbi, usageAnchorBytecode, usageEscrowAbi, usageEscrowBytecode
} from '../contracts/artifacts.ts'
