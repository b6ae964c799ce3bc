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

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special
from statsmodels.base.model import GenericLikelihoodModel
from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

from simulations.calibration.errors import CalibrationDataError
from simulations.calibration.mle import estimates_at_optimum, estimates_table

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


class BGNBDLikelihood(GenericLikelihoodModel):
    """BG/NBD log-likelihood over log-parameters ``log r, log alpha, log a, log b``.

    ``frequency`` is the endogenous variable; ``recency`` and ``T`` are data, not
    regressors, so there is no ``exog`` and the four parameters are extra parameters.
    """

    def __init__(self, frequency, recency, T, **kwds):
        frequency = np.asarray(frequency, dtype=float)
        super().__init__(
            frequency, exog=None, extra_params_names=[f"log_{n}" for n in PARAM_NAMES], **kwds
        )
        self.recency = np.asarray(recency, dtype=float)
        self.T = np.asarray(T, dtype=float)

    def loglikeobs(self, params):
        """Log-likelihood of each member at ``params`` (log scale)."""
        r, alpha, a, b = np.exp(np.clip(params, -30.0, 30.0))
        return _log_likelihood(r, alpha, a, b, self.endog, self.recency, self.T)

    def loglike(self, params):
        """Total log-likelihood at ``params`` (log scale)."""
        return float(np.sum(self.loglikeobs(params)))


@dataclass(frozen=True)
class BGNBDFit:
    """A fitted BG/NBD model.

    Attributes:
        params: ``r, alpha, a, b`` (natural scale).
        std_errors: delta-method standard errors of the same.
        log_cov: covariance matrix of the log-parameters (inverse observed information).
        loglike: maximized log-likelihood.
        n_members: members fitted.
        time_unit: unit of ``alpha`` (``day`` or ``week``).
        convergence: optimizer report (method, flag, message, iterations, gradient norm,
            seconds).
    """

    params: dict[str, float]
    std_errors: dict[str, float]
    log_cov: np.ndarray = field(repr=False)
    loglike: float
    n_members: int
    time_unit: str
    convergence: dict

    def table(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% intervals (from the log scale)."""
        return estimates_table("BG/NBD", PARAM_NAMES, self.params, self.std_errors, self.log_cov)

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


# scipy's BFGS warnflag; 2 ("precision loss") is common at a true optimum of a flat
# likelihood, which is why success is judged by the gradient norm.
_BFGS_MESSAGES = {
    0: "optimizer reported success",
    1: "iteration limit reached",
    2: "precision loss (the gradient decides)",
}


def quiet_fit(model, start, method: str, maxiter: int):
    """Run statsmodels' optimizer without its own Hessian warnings.

    The fit code computes and checks the information matrix itself (and raises
    `ConvergenceError` when it is singular), so statsmodels' warning would only repeat it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HessianInversionWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(start_params=start, method=method, maxiter=maxiter, disp=0)


def _start_params(frequency, T) -> np.ndarray:
    # Rate guess from repeat purchases per unit of observed time; a mild dropout prior.
    rate = max(float(np.sum(frequency)) / max(float(np.sum(T)), 1e-9), 1e-6)
    return np.log([1.0, 1.0 / rate, 1.0, 3.0])


def fit_bgnbd(
    summary: pd.DataFrame,
    time_unit: str | None = None,
    gradient_tol: float = 1e-3,
    maxiter: int = 2000,
) -> BGNBDFit:
    """Fit BG/NBD by maximum likelihood to a `summarize_transactions` frame.

    The optimizer is BFGS on the log-parameters, polished by Newton steps. scipy's BFGS
    sometimes reports failure ("precision loss") although it sits at the optimum, so success
    is judged by the gradient norm of the mean log-likelihood, not by the flag alone.

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
    start = _start_params(frequency, summary["T"].to_numpy(dtype=float))
    started = time.perf_counter()
    result = quiet_fit(model, start, "bfgs", maxiter)
    attempts = [("bfgs", bool(result.mle_retvals.get("converged", False)))]
    params = np.asarray(result.params)
    # A few Newton steps on the mean log-likelihood polish the BFGS point (and move it off a
    # flat stretch where BFGS gave up); each step must not lower the likelihood.
    n = len(frequency)
    for _ in range(20):
        grad = model.score(params) / n
        if np.linalg.norm(grad) < gradient_tol * 1e-3:
            break
        hess = model.hessian(params) / n
        try:
            step = np.linalg.solve(hess, -grad)
        except np.linalg.LinAlgError:
            break
        candidate = params + step
        if model.loglike(candidate) >= model.loglike(params) - 1e-9:
            params = candidate
        else:
            break
    grad_norm = float(np.linalg.norm(model.score(params) / n))
    if grad_norm > gradient_tol:
        result = quiet_fit(model, params, "nm", maxiter * 5)
        params = np.asarray(result.params)
        attempts.append(("nm", bool(result.mle_retvals.get("converged", False))))
        grad_norm = float(np.linalg.norm(model.score(params) / n))
    seconds = time.perf_counter() - started
    report = {
        "method": "+".join(m for m, _ in attempts) + "+newton",
        "optimizer_flags": {m: ok for m, ok in attempts},
        "optimizer_message": _BFGS_MESSAGES.get(result.mle_retvals.get("warnflag"), "see flags"),
        "function_calls": int(result.mle_retvals.get("fcalls", -1)),
        "gradient_norm": grad_norm,
        "gradient_tol": gradient_tol,
        "seconds": round(seconds, 3),
    }
    estimates, std_errors, log_cov = estimates_at_optimum(
        "BG/NBD",
        model,
        params,
        PARAM_NAMES,
        report,
        hint="the data may have too few repeat purchases or too short a history",
    )
    return BGNBDFit(
        params=estimates,
        std_errors=std_errors,
        log_cov=log_cov,
        loglike=float(model.loglike(params)),
        n_members=n,
        time_unit=unit,
        convergence=report,
    )
