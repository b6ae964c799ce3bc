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

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from simulations.calibration.errors import CalibrationDataError
from simulations.calibration.mle import LogScaleLikelihood, MLEFit

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


class ParetoNBDLikelihood(LogScaleLikelihood):
    """Pareto/NBD log-likelihood over ``log r, log alpha, log s, log beta`` (no exog).

    Its cascade has no Newton polish (BFGS, then Nelder-Mead when the gradient is still too
    large), as the fit has always been run.
    """

    model_name = "Pareto/NBD"
    param_names = PARAM_NAMES
    newton_polish = False

    def __init__(self, frequency, recency, T):
        super().__init__(frequency, recency=recency, T=T)

    def loglike_natural(self, r, alpha, s, beta):
        """Log-likelihood of each member."""
        value = _log_likelihood(r, alpha, s, beta, self.endog, self.recency, self.T)
        # Outside the numerically safe region the optimizer must simply step back.
        return np.where(np.isfinite(value), value, -1e12)

    def start_params(self) -> np.ndarray:
        """Rate from repeat purchases per unit of observed time; lifetime scale about T."""
        rate = max(float(np.sum(self.endog)) / max(float(np.sum(self.T)), 1e-9), 1e-6)
        return np.log([1.0, 1.0 / rate, 1.0, float(np.mean(self.T))])


@dataclass(frozen=True)
class ParetoNBDFit(MLEFit):
    """A fitted Pareto/NBD model (see `MLEFit`).

    Attributes:
        time_unit: unit of ``alpha`` and ``beta`` (``day`` or ``week``).
    """

    model_name = "Pareto/NBD"
    param_names = PARAM_NAMES

    time_unit: str

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

    The shared cascade of `simulations.calibration.mle` without the Newton polish: BFGS on
    log-parameters, success judged by the gradient norm of the mean log-likelihood,
    Nelder-Mead as a fallback.

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
    return ParetoNBDFit.from_model(
        model, gradient_tol, maxiter, time_unit=summary.attrs.get("time_unit", "day")
    )
