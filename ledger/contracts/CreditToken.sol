// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title CreditToken
/// @notice The credit consumers pay providers with. It has 3 decimals: one unit is a millicredit, the
/// unit of clawnode's prices and receipts, and 1,000 units are one credit, the price of one token served
/// under the default rule, so amounts on chain and in receipts are the same whole numbers.
/// @dev The faucet exists for local and test networks only: it is fixed at construction, and a public
/// deployment passes `faucetEnabled = false` and mints its supply to `initialHolder` instead.
contract CreditToken is ERC20 {
    /// Whether `faucet` mints; immutable.
    bool public immutable faucetEnabled;
    /// The most one `faucet` call mints.
    uint256 public immutable faucetCap;

    /// Credits were minted by the faucet.
    event FaucetMinted(address indexed to, uint256 amount);

    /// This deployment has no faucet (a public network): buy or earn credits instead.
    error FaucetDisabled();
    /// One faucet call asked for more than the cap; ask for less, or call again.
    error FaucetCapExceeded(uint256 amount, uint256 cap);

    constructor(bool faucetEnabled_, uint256 faucetCap_, address initialHolder, uint256 initialSupply)
        ERC20("clawnode credit", "CLAWC")
    {
        faucetEnabled = faucetEnabled_;
        faucetCap = faucetCap_;
        if (initialSupply > 0) _mint(initialHolder, initialSupply);
    }

    /// @notice One unit is one millicredit.
    function decimals() public pure override returns (uint8) {
        return 3;
    }

    /// @notice Mints `amount` credits to `to`, at most `faucetCap` per call, when the faucet is enabled.
    function faucet(address to, uint256 amount) external {
        if (!faucetEnabled) revert FaucetDisabled();
        if (amount > faucetCap) revert FaucetCapExceeded(amount, faucetCap);
        _mint(to, amount);
        emit FaucetMinted(to, amount);
    }
}
