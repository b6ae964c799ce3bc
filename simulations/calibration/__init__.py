"""Calibration: behavior parameters estimated from a client's own transactions.

Pure data preparation (`summarize_transactions`) feeds maximum-likelihood fits of BG/NBD
(purchases and dropout; Pareto/NBD for comparison) and Gamma-Gamma (spend), regressions
for seasonality, campaign uplift and redemption propensity, and `calibrate` ties them into
a `CalibrationResult` whose `behavior_params()` is the `BehaviorParams` the simulator reads.

The names are imported on first use (`simulations.lazy_imports`): the data checks that the
Overview and Finance pages use do not load statsmodels and scipy with the fits.
"""

from __future__ import annotations

from simulations.lazy_imports import lazy_exports

_EXPORTS = {
    "calibrate": "simulations.calibration.calibrate",
    "campaign_kind_from_id": "simulations.calibration.uplift",
    "check_ledger": "simulations.calibration.redemption",
    "check_transactions": "simulations.calibration.data",
    "conditional_expected_purchases": "simulations.calibration.bgnbd",
    "conditional_expected_spend": "simulations.calibration.gamma_gamma",
    "expected_purchases": "simulations.calibration.bgnbd",
    "fit_bgnbd": "simulations.calibration.bgnbd",
    "fit_gamma_gamma": "simulations.calibration.gamma_gamma",
    "fit_pareto_nbd": "simulations.calibration.pareto_nbd",
    "fit_purchase_rate": "simulations.calibration.uplift",
    "fit_redemption": "simulations.calibration.redemption",
    "holdout_check": "simulations.calibration.calibrate",
    "pareto_nbd_probability_alive": "simulations.calibration.pareto_nbd",
    "policy_tiers": "simulations.calibration.tiers",
    "probability_alive": "simulations.calibration.bgnbd",
    "read_transactions": "simulations.calibration.data",
    "simulate_bgnbd_transactions": "simulations.calibration.synthetic",
    "summarize_transactions": "simulations.calibration.data",
    "BGNBDFit": "simulations.calibration.bgnbd",
    "CalibrationDataError": "simulations.calibration.errors",
    "CalibrationResult": "simulations.calibration.calibrate",
    "ConvergenceError": "simulations.calibration.errors",
    "GammaGammaFit": "simulations.calibration.gamma_gamma",
    "ParetoNBDFit": "simulations.calibration.pareto_nbd",
    "RedemptionFit": "simulations.calibration.redemption",
    "UpliftFit": "simulations.calibration.uplift",
}
"""Each public name and the submodule that defines it."""

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
