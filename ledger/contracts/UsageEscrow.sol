// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title UsageEscrow
/// @notice A consumer deposits credits for one provider once; each lease then draws against the deposit
/// off chain through receipts both parties sign (EIP-712 `Draw`, carrying the cumulative amount drawn
/// so far), so no lease needs a chain round trip. The provider claims with the latest receipt; the claim
/// pays out after a dispute window unless the consumer disputes it, in which case the arbiter decides.
/// After expiry the consumer takes back what was not paid.
contract UsageEscrow is EIP712 {
    using SafeERC20 for IERC20;

    /// The fee can never be more than 10 %.
    uint16 public constant MAX_FEE_BPS = 1000;
    uint16 private constant BPS = 10_000;

    bytes32 public constant DRAW_TYPEHASH =
        keccak256("Draw(uint256 depositId,address consumer,address provider,uint256 cumulative)");

    enum Status {
        Idle, // open, no claim outstanding
        Pending, // a claim waits for its dispute window to end
        Disputed, // the consumer disputed the pending claim; only the arbiter can settle it
        Closed // refunded; nothing more can happen
    }

    struct Deposit {
        address consumer;
        uint64 expiry;
        Status status;
        address provider;
        uint64 disputeEnds;
        uint128 amount; // deposited in total
        uint128 paidOut; // paid to the provider and the fee recipient together
        uint128 settled; // the cumulative amount finalized or resolved
        uint128 claimed; // the highest cumulative amount claimed (the pending one while a claim is outstanding)
    }

    IERC20 public immutable token;
    uint64 public immutable disputeWindow;
    address public immutable arbiter;
    uint16 public immutable feeBps;
    address public immutable feeRecipient;

    uint256 public depositCount;
    mapping(uint256 depositId => Deposit) private _deposits;

    event Opened(uint256 indexed depositId, address indexed consumer, address indexed provider, uint256 amount, uint64 expiry);
    event ToppedUp(uint256 indexed depositId, uint256 amount, uint256 total);
    event Extended(uint256 indexed depositId, uint64 expiry);
    event Claimed(uint256 indexed depositId, uint256 cumulative, uint64 disputeEnds);
    event Disputed(uint256 indexed depositId, uint256 cumulative);
    event Finalized(uint256 indexed depositId, uint256 cumulative, uint256 toProvider, uint256 fee);
    event Resolved(uint256 indexed depositId, uint256 allowedCumulative, uint256 toProvider, uint256 fee);
    event Refunded(uint256 indexed depositId, uint256 amount);

    error ZeroAddress();
    error ZeroAmount();
    error FeeTooHigh(uint256 feeBps, uint256 maxFeeBps);
    error ExpiryNotInFuture(uint64 expiry, uint256 nowTimestamp);
    error ExpiryNotLater(uint64 expiry, uint64 currentExpiry);
    error UnknownDeposit(uint256 depositId);
    error NotConsumer(uint256 depositId, address caller);
    error NotArbiter(address caller);
    error DepositClosed(uint256 depositId);
    error InvalidConsumerSignature(uint256 depositId);
    error InvalidProviderSignature(uint256 depositId);
    error ClaimNotAboveCurrent(uint256 depositId, uint256 cumulative, uint256 claimed);
    error ClaimExceedsDeposit(uint256 depositId, uint256 cumulative, uint256 amount);
    error ClaimDisputed(uint256 depositId);
    error NoPendingClaim(uint256 depositId);
    error DisputeWindowOpen(uint256 depositId, uint64 disputeEnds);
    error DisputeWindowClosed(uint256 depositId, uint64 disputeEnds);
    error NotDisputed(uint256 depositId);
    error AllowedOutOfRange(uint256 depositId, uint256 allowedCumulative, uint256 settled, uint256 claimed);
    error NotExpired(uint256 depositId, uint64 expiry);
    error ClaimOutstanding(uint256 depositId);

    constructor(IERC20 token_, uint64 disputeWindow_, address arbiter_, uint16 feeBps_, address feeRecipient_)
        EIP712("clawnode UsageEscrow", "1")
    {
        if (address(token_) == address(0) || arbiter_ == address(0)) revert ZeroAddress();
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        if (feeBps_ > 0 && feeRecipient_ == address(0)) revert ZeroAddress();
        token = token_;
        disputeWindow = disputeWindow_;
        arbiter = arbiter_;
        feeBps = feeBps_;
        feeRecipient = feeRecipient_;
    }

    /// @notice Deposits `amount` credits (approve this contract first) for draws by `provider` until `expiry`.
    function open(address provider, uint256 amount, uint64 expiry) external returns (uint256 depositId) {
        if (provider == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (expiry <= block.timestamp) revert ExpiryNotInFuture(expiry, block.timestamp);
        depositId = ++depositCount;
        _deposits[depositId] = Deposit({
            consumer: msg.sender,
            expiry: expiry,
            status: Status.Idle,
            provider: provider,
            disputeEnds: 0,
            amount: SafeCast.toUint128(amount),
            paidOut: 0,
            settled: 0,
            claimed: 0
        });
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Opened(depositId, msg.sender, provider, amount, expiry);
    }

    /// @notice Adds `amount` credits to the caller's deposit.
    function topUp(uint256 depositId, uint256 amount) external {
        Deposit storage d = _consumerDeposit(depositId);
        if (amount == 0) revert ZeroAmount();
        uint128 total = SafeCast.toUint128(uint256(d.amount) + amount);
        d.amount = total;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit ToppedUp(depositId, amount, total);
    }

    /// @notice Moves the caller's deposit's expiry later.
    function extend(uint256 depositId, uint64 newExpiry) external {
        Deposit storage d = _consumerDeposit(depositId);
        if (newExpiry <= d.expiry) revert ExpiryNotLater(newExpiry, d.expiry);
        d.expiry = newExpiry;
        emit Extended(depositId, newExpiry);
    }

    /// @notice Claims `cumulative` (the total drawn from the deposit so far) with a receipt signed by the
    /// consumer and countersigned by the provider. It pays after the dispute window (`finalize`). A newer
    /// receipt may replace a pending claim (and restarts the window); an older or replayed one cannot.
    function claim(uint256 depositId, uint256 cumulative, bytes calldata consumerSig, bytes calldata providerSig)
        external
    {
        Deposit storage d = _openDeposit(depositId);
        if (d.status == Status.Disputed) revert ClaimDisputed(depositId);
        if (cumulative <= d.claimed) revert ClaimNotAboveCurrent(depositId, cumulative, d.claimed);
        if (cumulative > d.amount) revert ClaimExceedsDeposit(depositId, cumulative, d.amount);
        bytes32 digest = drawDigest(depositId, d.consumer, d.provider, cumulative);
        if (!SignatureChecker.isValidSignatureNowCalldata(d.consumer, digest, consumerSig)) {
            revert InvalidConsumerSignature(depositId);
        }
        if (!SignatureChecker.isValidSignatureNowCalldata(d.provider, digest, providerSig)) {
            revert InvalidProviderSignature(depositId);
        }
        uint64 ends = uint64(block.timestamp) + disputeWindow;
        d.claimed = uint128(cumulative);
        d.status = Status.Pending;
        d.disputeEnds = ends;
        emit Claimed(depositId, cumulative, ends);
    }

    /// @notice Pays the pending claim once its dispute window has ended; anyone may call it.
    function finalize(uint256 depositId) external {
        Deposit storage d = _openDeposit(depositId);
        if (d.status == Status.Disputed) revert ClaimDisputed(depositId);
        if (d.status != Status.Pending) revert NoPendingClaim(depositId);
        if (block.timestamp < d.disputeEnds) revert DisputeWindowOpen(depositId, d.disputeEnds);
        uint128 cumulative = d.claimed;
        (uint256 toProvider, uint256 fee) = _settle(d, cumulative);
        emit Finalized(depositId, cumulative, toProvider, fee);
    }

    /// @notice The consumer disputes the pending claim inside its window; only the arbiter can then settle it.
    function dispute(uint256 depositId) external {
        Deposit storage d = _consumerDeposit(depositId);
        if (d.status != Status.Pending) revert NoPendingClaim(depositId);
        if (block.timestamp >= d.disputeEnds) revert DisputeWindowClosed(depositId, d.disputeEnds);
        d.status = Status.Disputed;
        emit Disputed(depositId, d.claimed);
    }

    /// @notice The arbiter settles a disputed claim at `allowedCumulative` (between what was already
    /// settled and what was claimed). The claimed receipt is used up either way.
    function resolve(uint256 depositId, uint256 allowedCumulative) external {
        if (msg.sender != arbiter) revert NotArbiter(msg.sender);
        Deposit storage d = _openDeposit(depositId);
        if (d.status != Status.Disputed) revert NotDisputed(depositId);
        if (allowedCumulative < d.settled || allowedCumulative > d.claimed) {
            revert AllowedOutOfRange(depositId, allowedCumulative, d.settled, d.claimed);
        }
        (uint256 toProvider, uint256 fee) = _settle(d, uint128(allowedCumulative));
        emit Resolved(depositId, allowedCumulative, toProvider, fee);
    }

    /// @notice After expiry, with no claim outstanding, returns what was not paid out to the consumer.
    function refund(uint256 depositId) external {
        Deposit storage d = _consumerDeposit(depositId);
        if (block.timestamp < d.expiry) revert NotExpired(depositId, d.expiry);
        if (d.status != Status.Idle) revert ClaimOutstanding(depositId);
        uint256 rest = d.amount - d.paidOut;
        d.status = Status.Closed;
        d.paidOut = d.amount;
        if (rest > 0) token.safeTransfer(d.consumer, rest);
        emit Refunded(depositId, rest);
    }

    /// @notice The deposit's full state.
    function getDeposit(uint256 depositId) external view returns (Deposit memory) {
        return _deposits[depositId];
    }

    /// @notice The EIP-712 digest of a `Draw` receipt, as both parties sign it.
    function drawDigest(uint256 depositId, address consumer, address provider, uint256 cumulative)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(DRAW_TYPEHASH, depositId, consumer, provider, cumulative)));
    }

    /// Pays `upTo - settled` (minus the fee) and uses up the claimed receipt.
    function _settle(Deposit storage d, uint128 upTo) private returns (uint256 toProvider, uint256 fee) {
        uint256 payout = upTo - d.settled;
        d.settled = d.claimed;
        d.paidOut += uint128(payout);
        d.status = Status.Idle;
        d.disputeEnds = 0;
        fee = (payout * feeBps) / BPS;
        toProvider = payout - fee;
        if (fee > 0) token.safeTransfer(feeRecipient, fee);
        if (toProvider > 0) token.safeTransfer(d.provider, toProvider);
    }

    function _openDeposit(uint256 depositId) private view returns (Deposit storage d) {
        d = _deposits[depositId];
        if (d.consumer == address(0)) revert UnknownDeposit(depositId);
        if (d.status == Status.Closed) revert DepositClosed(depositId);
    }

    function _consumerDeposit(uint256 depositId) private view returns (Deposit storage d) {
        d = _openDeposit(depositId);
        if (msg.sender != d.consumer) revert NotConsumer(depositId, msg.sender);
    }
}
