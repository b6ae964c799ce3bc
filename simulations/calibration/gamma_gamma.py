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

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special
from statsmodels.base.model import GenericLikelihoodModel

from simulations.calibration.bgnbd import quiet_fit
from simulations.calibration.errors import CalibrationDataError
from simulations.calibration.mle import estimates_at_optimum, estimates_table

__all__ = ["GammaGammaFit", "GammaGammaLikelihood", "conditional_expected_spend", "fit_gamma_gamma"]

PARAM_NAMES = ("p", "q", "gamma")


class GammaGammaLikelihood(GenericLikelihoodModel):
    """Gamma-Gamma log-likelihood over ``log p, log q, log gamma``.

    ``monetary_value`` (mean repeat-occasion value) is the endogenous variable and the
    number of repeat occasions is data; there is no ``exog``.
    """

    def __init__(self, monetary_value, frequency, **kwds):
        super().__init__(
            np.asarray(monetary_value, dtype=float),
            exog=None,
            extra_params_names=[f"log_{n}" for n in PARAM_NAMES],
            **kwds,
        )
        self.frequency = np.asarray(frequency, dtype=float)

    def loglikeobs(self, params):
        """Log-density of each member's mean repeat value at ``params`` (log scale)."""
        p, q, gamma = np.exp(np.clip(params, -30.0, 30.0))
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

    def loglike(self, params):
        """Total log-likelihood at ``params`` (log scale)."""
        return float(np.sum(self.loglikeobs(params)))


@dataclass(frozen=True)
class GammaGammaFit:
    """A fitted Gamma-Gamma model (parameters, delta-method SEs, convergence report)."""

    params: dict[str, float]
    std_errors: dict[str, float]
    log_cov: np.ndarray = field(repr=False)
    loglike: float
    n_members: int
    convergence: dict

    @property
    def mean_spend(self) -> float:
        """Population mean spend per purchase, ``p gamma / (q - 1)`` (infinite if q <= 1)."""
        p, q, gamma = (self.params[n] for n in PARAM_NAMES)
        return p * gamma / (q - 1) if q > 1 else float("inf")

    def table(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% intervals (from the log scale)."""
        return estimates_table(
            "Gamma-Gamma", PARAM_NAMES, self.params, self.std_errors, self.log_cov
        )

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
    out (the density is defined for a positive mean). Success is judged by the gradient norm
    of the mean log-likelihood, as for `fit_bgnbd`.

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
    mean = float(used["monetary_value"].mean())
    # Start: p = 1, q = 3 puts the population mean p*gamma/(q-1) at the sample mean.
    start = np.log([1.0, 3.0, 2.0 * mean])
    started = time.perf_counter()
    result = quiet_fit(model, start, "bfgs", maxiter)
    params = np.asarray(result.params)
    flags = {"bfgs": bool(result.mle_retvals.get("converged", False))}
    for _ in range(20):
        grad = model.score(params) / n
        if np.linalg.norm(grad) < gradient_tol * 1e-3:
            break
        try:
            step = np.linalg.solve(model.hessian(params) / n, -grad)
        except np.linalg.LinAlgError:
            break
        if model.loglike(params + step) >= model.loglike(params) - 1e-9:
            params = params + step
        else:
            break
    grad_norm = float(np.linalg.norm(model.score(params) / n))
    if grad_norm > gradient_tol:
        result = quiet_fit(model, params, "nm", maxiter * 5)
        params = np.asarray(result.params)
        flags["nm"] = bool(result.mle_retvals.get("converged", False))
        grad_norm = float(np.linalg.norm(model.score(params) / n))
    report = {
        "method": "+".join(flags) + "+newton",
        "optimizer_flags": flags,
        "gradient_norm": grad_norm,
        "gradient_tol": gradient_tol,
        "seconds": round(time.perf_counter() - started, 3),
    }
    estimates, std_errors, log_cov = estimates_at_optimum(
        "Gamma-Gamma", model, params, PARAM_NAMES, report
    )
    return GammaGammaFit(
        params=estimates,
        std_errors=std_errors,
        log_cov=log_cov,
        loglike=float(model.loglike(params)),
        n_members=n,
        convergence=report,
    )
