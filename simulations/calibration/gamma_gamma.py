"""Gamma-Gamma spend-per-purchase model fitted by maximum likelihood.

Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base
Analysis", Journal of Marketing Research 42(4), 415-430 (building on Colombo & Jiang 1999).
Each purchase value is ``z ~ Gamma(p, nu)`` with a member-specific rate
``nu ~ Gamma(q, gamma)``. For a member with ``x`` repeat purchases of mean value ``m_x``
the density of ``m_x`` is

    f(m_x | p, q, gamma, x) = G(px+q) / (G(px) G(q)) * gamma^q m_x^(px-1) x^(px)
                              / (gamma + m_x x)^(px+q)

and the expected spend per purchase given the history is
``(gamma + x m_x) p / (p x + q - 1)``. Only repeat buyers (``x > 0``) enter the fit, with
the mean value of their repeat occasions, as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from simulations.calibration.errors import CalibrationDataError
from simulations.calibration.mle import LogScaleLikelihood, MLEFit

__all__ = ["GammaGammaFit", "GammaGammaLikelihood", "conditional_expected_spend", "fit_gamma_gamma"]

PARAM_NAMES = ("p", "q", "gamma")


class GammaGammaLikelihood(LogScaleLikelihood):
    """Gamma-Gamma log-likelihood over ``log p, log q, log gamma``.

    ``monetary_value`` (mean repeat-occasion value) is the endogenous variable and the
    number of repeat occasions is data; there is no ``exog``.
    """

    model_name = "Gamma-Gamma"
    param_names = PARAM_NAMES

    def __init__(self, monetary_value, frequency):
        super().__init__(monetary_value, frequency=frequency)

    def loglike_natural(self, p, q, gamma):
        """Log-density of each member's mean repeat value."""
        x = self.frequency
        m = self.endog
        px = p * x
        return (
            special.gammaln(px + q)
            - special.gammaln(px)
            - special.gammaln(q)
            + q * np.log(gamma)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(gamma + m * x)
        )

    def start_params(self) -> np.ndarray:
        """Start at p = 1, q = 3, which puts the mean p*gamma/(q-1) at the sample mean."""
        return np.log([1.0, 3.0, 2.0 * float(np.mean(self.endog))])


@dataclass(frozen=True)
class GammaGammaFit(MLEFit):
    """A fitted Gamma-Gamma model (see `MLEFit`)."""

    model_name = "Gamma-Gamma"
    param_names = PARAM_NAMES

    @property
    def mean_spend(self) -> float:
        """Population mean spend per purchase, ``p gamma / (q - 1)`` (infinite if q <= 1)."""
        p, q, gamma = (self.params[n] for n in PARAM_NAMES)
        return p * gamma / (q - 1) if q > 1 else float("inf")

    def conditional_expected_spend(self, frequency, monetary_value):
        """Expected spend per purchase given a member's repeat count and mean value."""
        return conditional_expected_spend(self.params, frequency, monetary_value)


def conditional_expected_spend(params: dict[str, float], frequency, monetary_value):
    """E[Z | x, m_x] = (gamma + x m_x) p / (p x + q - 1) (Fader, Hardie & Lee 2005, JMR).

    With ``x = 0`` this is the population mean ``p gamma / (q - 1)``.
    """
    p, q, gamma = (params[n] for n in PARAM_NAMES)
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    return (gamma + x * m) * p / (p * x + q - 1)


def fit_gamma_gamma(
    summary: pd.DataFrame, gradient_tol: float = 1e-3, maxiter: int = 2000
) -> GammaGammaFit:
    """Fit Gamma-Gamma to the repeat buyers of a `summarize_transactions` frame.

    Members without repeat purchases, or whose repeat occasions are worth nothing, are left
    out (the density is defined for a positive mean). The fit is the shared cascade of
    `simulations.calibration.mle`, as for `fit_bgnbd`.

    Raises:
        CalibrationDataError: fewer than 10 repeat buyers with a positive spend.
        ConvergenceError: no optimum found.
    """
    used = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    n = len(used)
    if n < 10:
        raise CalibrationDataError(
            f"Gamma-Gamma needs at least 10 repeat buyers with a positive spend; got {n}"
        )
    model = GammaGammaLikelihood(used["monetary_value"], used["frequency"])
    return GammaGammaFit.from_model(model, gradient_tol, maxiter)
