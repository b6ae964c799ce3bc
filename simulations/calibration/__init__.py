"""Calibration: behavior parameters estimated from a client's own transactions.

Pure data preparation (`summarize_transactions`) feeds maximum-likelihood fits of BG/NBD
(purchases and dropout; Pareto/NBD for comparison) and Gamma-Gamma (spend), regressions
for seasonality, campaign uplift and redemption propensity, and `calibrate` ties them into
a `CalibrationResult` whose `behavior_params()` is the `BehaviorParams` the simulator reads.
"""

from simulations.calibration.bgnbd import (
    BGNBDFit,
    conditional_expected_purchases,
    expected_purchases,
    fit_bgnbd,
    probability_alive,
)
from simulations.calibration.calibrate import CalibrationResult, calibrate, holdout_check
from simulations.calibration.data import (
    check_transactions,
    read_transactions,
    summarize_transactions,
)
from simulations.calibration.errors import CalibrationDataError, ConvergenceError
from simulations.calibration.gamma_gamma import (
    GammaGammaFit,
    conditional_expected_spend,
    fit_gamma_gamma,
)
from simulations.calibration.pareto_nbd import (
    ParetoNBDFit,
    fit_pareto_nbd,
    pareto_nbd_probability_alive,
)
from simulations.calibration.redemption import RedemptionFit, check_ledger, fit_redemption
from simulations.calibration.synthetic import simulate_bgnbd_transactions
from simulations.calibration.tiers import policy_tiers
from simulations.calibration.uplift import UpliftFit, campaign_kind_from_id, fit_purchase_rate

__all__ = [
    "BGNBDFit",
    "CalibrationDataError",
    "CalibrationResult",
    "ConvergenceError",
    "GammaGammaFit",
    "ParetoNBDFit",
    "RedemptionFit",
    "UpliftFit",
    "calibrate",
    "campaign_kind_from_id",
    "check_ledger",
    "check_transactions",
    "conditional_expected_purchases",
    "conditional_expected_spend",
    "expected_purchases",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_pareto_nbd",
    "fit_purchase_rate",
    "fit_redemption",
    "holdout_check",
    "pareto_nbd_probability_alive",
    "policy_tiers",
    "probability_alive",
    "read_transactions",
    "simulate_bgnbd_transactions",
    "summarize_transactions",
]
