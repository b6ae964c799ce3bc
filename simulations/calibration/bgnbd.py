"""BG/NBD purchase-and-dropout model fitted by maximum likelihood.

Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2), 275-284. While alive, a member buys as a
Poisson process with rate ``lambda ~ Gamma(r, alpha)``; after each repeat purchase the
member drops out for good with probability ``p ~ Beta(a, b)``. For a member with ``x``
repeat purchases, the last at ``t_x``, observed for ``T`` time units since the first:

    L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))

(equation 6 of the paper). The parameters are estimated on the log scale, so the optimizer
is unconstrained; standard errors of ``r, alpha, a, b`` follow by the delta method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from simulations.calibration.errors import CalibrationDataError
from simulations.calibration.mle import LogScaleLikelihood, MLEFit

__all__ = [
    "BGNBDFit",
    "BGNBDLikelihood",
    "conditional_expected_purchases",
    "expected_purchases",
    "fit_bgnbd",
    "probability_alive",
]

PARAM_NAMES = ("r", "alpha", "a", "b")


def _log_likelihood(r, alpha, a, b, x, t_x, T):
    """Per-member log-likelihood (equation 6 of Fader, Hardie & Lee 2005)."""
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    log_beta_ab = special.betaln(a, b)
    survived = special.betaln(a, b + x) - log_beta_ab - (r + x) * np.log(alpha + T)
    repeat = x > 0
    dropped = np.full_like(survived, -np.inf)
    xr = x[repeat]
    dropped[repeat] = (
        special.betaln(a + 1, b + xr - 1) - log_beta_ab - (r + xr) * np.log(alpha + t_x[repeat])
    )
    return common + np.logaddexp(survived, dropped)


class BGNBDLikelihood(LogScaleLikelihood):
    """BG/NBD log-likelihood over log-parameters ``log r, log alpha, log a, log b``.

    ``frequency`` is the endogenous variable; ``recency`` and ``T`` are data, not
    regressors, so there is no ``exog`` and the four parameters are extra parameters.
    """

    model_name = "BG/NBD"
    param_names = PARAM_NAMES
    hint = "the data may have too few repeat purchases or too short a history"

    def __init__(self, frequency, recency, T):
        super().__init__(frequency, recency=recency, T=T)

    def loglike_natural(self, r, alpha, a, b):
        """Log-likelihood of each member (equation 6)."""
        return _log_likelihood(r, alpha, a, b, self.endog, self.recency, self.T)

    def start_params(self) -> np.ndarray:
        """A rate guess from repeat purchases per unit of observed time; a mild dropout prior."""
        rate = max(float(np.sum(self.endog)) / max(float(np.sum(self.T)), 1e-9), 1e-6)
        return np.log([1.0, 1.0 / rate, 1.0, 3.0])


@dataclass(frozen=True)
class BGNBDFit(MLEFit):
    """A fitted BG/NBD model (see `MLEFit`).

    Attributes:
        time_unit: unit of ``alpha`` (``day`` or ``week``).
    """

    model_name = "BG/NBD"
    param_names = PARAM_NAMES

    time_unit: str

    def expected_purchases(self, t):
        """E[X(t)]: expected repeat purchases of a new member in ``t`` time units."""
        return expected_purchases(self.params, t)

    def conditional_expected_purchases(self, t, frequency, recency, T):
        """Expected purchases in the next ``t`` units given a member's history."""
        return conditional_expected_purchases(self.params, t, frequency, recency, T)

    def probability_alive(self, frequency, recency, T):
        """P(alive) at the end of observation given a member's history."""
        return probability_alive(self.params, frequency, recency, T)


def expected_purchases(params: dict[str, float], t):
    """E[X(t)], equation 9 of Fader, Hardie & Lee (2005).

    ``(a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r * 2F1(r, b; a+b-1; t/(alpha+t))]``.
    """
    r, alpha, a, b = (params[n] for n in PARAM_NAMES)
    t = np.asarray(t, dtype=float)
    hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def _alive_odds_term(params, frequency, recency, T):
    r, alpha, a, b = (params[n] for n in PARAM_NAMES)
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    T = np.asarray(T, dtype=float)
    # log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x), only defined for x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = (
            np.log(a)
            - np.log(np.maximum(b + x - 1, 1e-300))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    return np.where(x > 0, np.exp(np.minimum(log_term, 700.0)), 0.0)


def probability_alive(params: dict[str, float], frequency, recency, T):
    """P(alive | x, t_x, T), equation 11 of Fader, Hardie & Lee (2005).

    ``1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))``; a member with no repeat
    purchase is alive for sure under BG/NBD.
    """
    return 1.0 / (1.0 + _alive_odds_term(params, frequency, recency, T))


def conditional_expected_purchases(params: dict[str, float], t, frequency, recency, T):
    """E[Y(t) | x, t_x, T], equation 10 of Fader, Hardie & Lee (2005).

    Expected purchases in ``(T, T+t]`` for a member with history ``(x, t_x, T)``.
    """
    r, alpha, a, b = (params[n] for n in PARAM_NAMES)
    x = np.asarray(frequency, dtype=float)
    T = np.asarray(T, dtype=float)
    t = np.asarray(t, dtype=float)
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    return numerator / (1.0 + _alive_odds_term(params, frequency, recency, T))


def fit_bgnbd(
    summary: pd.DataFrame,
    time_unit: str | None = None,
    gradient_tol: float = 1e-3,
    maxiter: int = 2000,
) -> BGNBDFit:
    """Fit BG/NBD by maximum likelihood to a `summarize_transactions` frame.

    The fit is the shared cascade of `simulations.calibration.mle` (BFGS on the
    log-parameters, Newton polish, Nelder-Mead fallback; success judged by the gradient
    norm of the mean log-likelihood).

    Args:
        summary: ``frequency``, ``recency`` and ``T`` per member.
        time_unit: unit of ``recency``/``T``; defaults to ``summary.attrs["time_unit"]``.
        gradient_tol: largest accepted gradient norm of the mean log-likelihood (log scale).
        maxiter: iteration cap for each optimizer.

    Returns:
        The fit with parameters, standard errors and a convergence report.

    Raises:
        CalibrationDataError: fewer than 10 members or no repeat purchase at all.
        ConvergenceError: no optimum found (gradient too large or a singular information
            matrix).
    """
    unit = time_unit or summary.attrs.get("time_unit", "day")
    frequency = summary["frequency"].to_numpy(dtype=float)
    if len(frequency) < 10:
        raise CalibrationDataError(
            f"BG/NBD needs at least 10 members with purchases; got {len(frequency)}"
        )
    if frequency.sum() == 0:
        raise CalibrationDataError(
            "BG/NBD needs repeat purchases; no member bought on more than one day"
        )
    model = BGNBDLikelihood(frequency, summary["recency"], summary["T"])
    return BGNBDFit.from_model(model, gradient_tol, maxiter, time_unit=unit)
