"""Pareto/NBD purchase-and-dropout model, for comparison with BG/NBD.

Schmittlein, Morrison & Colombo (1987), "Counting Your Customers: Who Are They and What
Will They Do Next?", Management Science 33(1); likelihood as written by Fader & Hardie
(2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions". While alive a
member buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``; the lifetime is
exponential with rate ``mu ~ Gamma(s, beta)`` (dropout can happen at any time, not only after
a purchase as in BG/NBD). For a member with history ``(x, t_x, T)``:

    L = G(r+x) alpha^r beta^s / G(r) * [ 1 / ((alpha+T)^(r+x) (beta+T)^s)
                                          + s / (r+s+x) * A0 ]

with, for ``alpha >= beta``,

    A0 = F(s+1, alpha-beta, alpha+t_x) - F(s+1, alpha-beta, alpha+T),
    F(b, d, u) = 2F1(r+s+x, b; r+s+x+1; d/u) / u^(r+s+x)

and for ``alpha < beta`` the same with ``b = r+x``, ``d = beta-alpha`` and ``beta`` in place
of ``alpha``. The simulator uses BG/NBD; this fit is for checking that the choice of model
does not drive the conclusions (compare log-likelihoods and P(alive)).
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
from simulations.calibration.mle import estimates_at_optimum

__all__ = ["ParetoNBDFit", "ParetoNBDLikelihood", "fit_pareto_nbd", "pareto_nbd_probability_alive"]

PARAM_NAMES = ("r", "alpha", "s", "beta")


def _log_terms(r, alpha, s, beta, x, t_x, T):
    """Logs of the 'alive at T' term and of the two A0 terms (A0 = first - second)."""
    rsx = r + s + x
    log_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    if alpha >= beta:
        b, d, base = s + 1, alpha - beta, alpha
    else:
        b, d, base = r + x, beta - alpha, beta
    with np.errstate(divide="ignore", over="ignore"):
        first = np.log(special.hyp2f1(rsx, b, rsx + 1, d / (base + t_x))) - rsx * np.log(base + t_x)
        second = np.log(special.hyp2f1(rsx, b, rsx + 1, d / (base + T))) - rsx * np.log(base + T)
    return log_alive, first, second


def _log_likelihood(r, alpha, s, beta, x, t_x, T):
    log_alive, first, second = _log_terms(r, alpha, s, beta, x, t_x, T)
    peak = np.maximum(log_alive, first)
    weight = s / (r + s + x)
    inner = np.exp(log_alive - peak) + weight * (np.exp(first - peak) - np.exp(second - peak))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (
            special.gammaln(r + x)
            - special.gammaln(r)
            + r * np.log(alpha)
            + s * np.log(beta)
            + peak
            + np.log(inner)
        )


class ParetoNBDLikelihood(GenericLikelihoodModel):
    """Pareto/NBD log-likelihood over ``log r, log alpha, log s, log beta`` (no exog)."""

    def __init__(self, frequency, recency, T, **kwds):
        super().__init__(
            np.asarray(frequency, dtype=float),
            exog=None,
            extra_params_names=[f"log_{n}" for n in PARAM_NAMES],
            **kwds,
        )
        self.recency = np.asarray(recency, dtype=float)
        self.T = np.asarray(T, dtype=float)

    def loglikeobs(self, params):
        """Log-likelihood of each member at ``params`` (log scale)."""
        r, alpha, s, beta = np.exp(np.clip(params, -30.0, 30.0))
        value = _log_likelihood(r, alpha, s, beta, self.endog, self.recency, self.T)
        # Outside the numerically safe region the optimizer must simply step back.
        return np.where(np.isfinite(value), value, -1e12)

    def loglike(self, params):
        """Total log-likelihood at ``params`` (log scale)."""
        return float(np.sum(self.loglikeobs(params)))


@dataclass(frozen=True)
class ParetoNBDFit:
    """A fitted Pareto/NBD model (parameters, delta-method SEs, convergence report)."""

    params: dict[str, float]
    std_errors: dict[str, float]
    log_cov: np.ndarray = field(repr=False)
    loglike: float
    n_members: int
    time_unit: str
    convergence: dict

    def probability_alive(self, frequency, recency, T):
        """P(alive) at the end of observation given each member's history."""
        return pareto_nbd_probability_alive(self.params, frequency, recency, T)


def pareto_nbd_probability_alive(params: dict[str, float], frequency, recency, T):
    """P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)."""
    r, alpha, s, beta = (params[n] for n in PARAM_NAMES)
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    T = np.asarray(T, dtype=float)
    log_alive, first, second = _log_terms(r, alpha, s, beta, x, t_x, T)
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = (s / (r + s + x)) * (np.exp(first - log_alive) - np.exp(second - log_alive))
    return 1.0 / (1.0 + ratio)


def fit_pareto_nbd(
    summary: pd.DataFrame, gradient_tol: float = 1e-3, maxiter: int = 2000
) -> ParetoNBDFit:
    """Fit Pareto/NBD by maximum likelihood to a `summarize_transactions` frame.

    Same approach and checks as `fit_bgnbd`: BFGS on log-parameters, success judged by the
    gradient norm of the mean log-likelihood, Nelder-Mead as a fallback.

    Raises:
        CalibrationDataError: fewer than 10 members or no repeat purchase.
        ConvergenceError: no optimum found.
    """
    frequency = summary["frequency"].to_numpy(dtype=float)
    n = len(frequency)
    if n < 10 or frequency.sum() == 0:
        raise CalibrationDataError(
            f"Pareto/NBD needs at least 10 members and some repeat purchases; got {n} members"
            f" and {int(frequency.sum())} repeat purchases"
        )
    model = ParetoNBDLikelihood(frequency, summary["recency"], summary["T"])
    rate = max(float(frequency.sum()) / max(float(summary["T"].sum()), 1e-9), 1e-6)
    start = np.log([1.0, 1.0 / rate, 1.0, float(summary["T"].mean())])
    started = time.perf_counter()
    result = quiet_fit(model, start, "bfgs", maxiter)
    params = np.asarray(result.params)
    flags = {"bfgs": bool(result.mle_retvals.get("converged", False))}
    grad_norm = float(np.linalg.norm(model.score(params) / n))
    if grad_norm > gradient_tol:
        result = quiet_fit(model, params, "nm", maxiter * 5)
        params = np.asarray(result.params)
        flags["nm"] = bool(result.mle_retvals.get("converged", False))
        grad_norm = float(np.linalg.norm(model.score(params) / n))
    report = {
        "method": "+".join(flags),
        "optimizer_flags": flags,
        "gradient_norm": grad_norm,
        "gradient_tol": gradient_tol,
        "seconds": round(time.perf_counter() - started, 3),
    }
    estimates, std_errors, log_cov = estimates_at_optimum(
        "Pareto/NBD", model, params, PARAM_NAMES, report
    )
    return ParetoNBDFit(
        params=estimates,
        std_errors=std_errors,
        log_cov=log_cov,
        loglike=float(model.loglike(params)),
        n_members=n,
        time_unit=summary.attrs.get("time_unit", "day"),
        convergence=report,
    )
