"""The fitting base the maximum-likelihood models share (like statsmodels' LikelihoodModel).

BG/NBD, Gamma-Gamma and Pareto/NBD each define only their log-likelihood (on the natural
scale of their positive parameters) and their closed forms; everything about *fitting* lives
here, once:

* `LogScaleLikelihood`: a statsmodels ``GenericLikelihoodModel`` over the logs of the
  parameters (so the optimizer is unconstrained), with no ``exog``.
* `LogScaleLikelihood.fit_mle`: the optimizer cascade -- BFGS from the model's start,
  polished by Newton steps on the mean log-likelihood (a step must not lower it), then
  Nelder-Mead when the gradient is still too large. scipy's BFGS reports "precision loss" at
  true optima of flat likelihoods, so success is judged by the gradient norm of the mean
  log-likelihood, never by the optimizer's flag alone.
* `estimates_at_optimum`: the checks at the optimum -- the gradient is near zero and the
  observed information matrix is invertible and positive definite, else a typed
  `ConvergenceError` -- and standard errors by the delta method: ``d exp(u)/du = exp(u)``,
  so ``se(theta) = theta * se(log theta)``.
* `MLEFit`: what a fit returns (estimates, standard errors, covariance of the logs,
  log-likelihood, convergence report), with `MLEFit.table` giving 95% intervals taken on
  the log scale, so they stay positive.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import numpy as np
import pandas as pd
from statsmodels.base.model import GenericLikelihoodModel
from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

from simulations.calibration.errors import ConvergenceError

__all__ = ["LogScaleLikelihood", "MLEFit", "Optimum", "estimates_at_optimum", "estimates_table"]

# scipy's warnflag of the last optimizer run; BFGS's 2 ("precision loss") is common at a
# true optimum of a flat likelihood, which is why the gradient decides.
_OPTIMIZER_MESSAGES = {
    0: "optimizer reported success",
    1: "iteration limit reached",
    2: "precision loss (the gradient decides)",
}


class Optimum(NamedTuple):
    """A checked optimum: where it is, the estimates it gives and how it was reached."""

    log_params: np.ndarray
    estimates: dict[str, float]
    std_errors: dict[str, float]
    log_cov: np.ndarray
    report: dict


class LogScaleLikelihood(GenericLikelihoodModel):
    """A log-likelihood over ``log`` of positive parameters, fitted by `fit_mle`.

    Subclasses set `model_name` and `param_names`, and define `loglike_natural` (the
    per-observation log-likelihood at natural-scale parameters) and `start_params`. The
    endogenous variable is the one statsmodels reports on; the other data are arrays kept
    as attributes (there are no regressors).

    Attributes:
        model_name: the model's name in messages and tables (``BG/NBD``...).
        param_names: natural-scale parameter names, in order.
        newton_polish: whether `fit_mle` polishes the BFGS point with Newton steps.
        hint: what a failed gradient check may mean for this model's data.
    """

    model_name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    newton_polish: ClassVar[bool] = True
    hint: ClassVar[str] = ""

    def __init__(self, endog, **data):
        super().__init__(
            np.asarray(endog, dtype=float),
            exog=None,
            extra_params_names=[f"log_{name}" for name in self.param_names],
        )
        for name, values in data.items():
            setattr(self, name, np.asarray(values, dtype=float))

    def loglike_natural(self, *params: float) -> np.ndarray:
        """Log-likelihood of each observation at natural-scale ``params``."""
        raise NotImplementedError

    def start_params(self) -> np.ndarray:
        """Where the optimizer starts (log scale)."""
        raise NotImplementedError

    def loglikeobs(self, params):
        """Log-likelihood of each observation at ``params`` (log scale)."""
        return self.loglike_natural(*np.exp(np.clip(params, -30.0, 30.0)))

    def loglike(self, params):
        """Total log-likelihood at ``params`` (log scale)."""
        return float(np.sum(self.loglikeobs(params)))

    def _quiet_fit(self, start, method: str, maxiter: int):
        # The information matrix is computed and checked here (a singular one raises
        # ConvergenceError), so statsmodels' own warnings would only repeat it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HessianInversionWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            return self.fit(start_params=start, method=method, maxiter=maxiter, disp=0)

    def _newton_steps(self, params: np.ndarray, gradient_tol: float) -> np.ndarray:
        """Up to 20 Newton steps on the mean log-likelihood, each not lowering it."""
        n = len(self.endog)
        for _ in range(20):
            grad = self.score(params) / n
            if np.linalg.norm(grad) < gradient_tol * 1e-3:
                break
            try:
                step = np.linalg.solve(self.hessian(params) / n, -grad)
            except np.linalg.LinAlgError:
                break
            candidate = params + step
            if self.loglike(candidate) >= self.loglike(params) - 1e-9:
                params = candidate
            else:
                break
        return params

    def fit_mle(self, gradient_tol: float = 1e-3, maxiter: int = 2000) -> Optimum:
        """Run the optimizer cascade and check the optimum.

        Args:
            gradient_tol: largest accepted gradient norm of the mean log-likelihood (log
                scale).
            maxiter: iteration cap of BFGS (Nelder-Mead gets five times as many).

        Returns:
            The checked optimum with estimates, standard errors and the convergence report.

        Raises:
            ConvergenceError: gradient too large, or the information matrix is singular or
                not positive definite at the optimum.
        """
        n = len(self.endog)
        started = time.perf_counter()
        result = self._quiet_fit(self.start_params(), "bfgs", maxiter)
        flags = {"bfgs": bool(result.mle_retvals.get("converged", False))}
        steps = ["bfgs"]
        params = np.asarray(result.params)
        if self.newton_polish:
            # Newton steps move the BFGS point off a flat stretch where BFGS gave up.
            params = self._newton_steps(params, gradient_tol)
            steps.append("newton")
        grad_norm = float(np.linalg.norm(self.score(params) / n))
        if grad_norm > gradient_tol:
            result = self._quiet_fit(params, "nm", maxiter * 5)
            params = np.asarray(result.params)
            flags["nm"] = bool(result.mle_retvals.get("converged", False))
            steps.append("nm")
            grad_norm = float(np.linalg.norm(self.score(params) / n))
        report = {
            "method": "+".join(steps),
            "optimizer_flags": flags,
            "optimizer_message": _OPTIMIZER_MESSAGES.get(
                result.mle_retvals.get("warnflag"), "see flags"
            ),
            "function_calls": int(result.mle_retvals.get("fcalls", -1)),
            "gradient_norm": grad_norm,
            "gradient_tol": gradient_tol,
            "seconds": round(time.perf_counter() - started, 3),
        }
        estimates, std_errors, log_cov = estimates_at_optimum(
            self.model_name, self, params, self.param_names, report, hint=self.hint
        )
        return Optimum(params, estimates, std_errors, log_cov, report)


@dataclass(frozen=True)
class MLEFit:
    """A fitted maximum-likelihood model.

    Attributes:
        params: estimates (natural scale).
        std_errors: delta-method standard errors of the same.
        log_cov: covariance matrix of the log-parameters (inverse observed information).
        loglike: maximized log-likelihood.
        n_members: members fitted.
        convergence: optimizer report (method, flags, message, function calls, gradient
            norm and tolerance, seconds, converged).
    """

    model_name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]

    params: dict[str, float]
    std_errors: dict[str, float]
    log_cov: np.ndarray = field(repr=False)
    loglike: float
    n_members: int
    convergence: dict

    @classmethod
    def from_model(cls, model: LogScaleLikelihood, gradient_tol: float, maxiter: int, **more):
        """Fit ``model`` (`LogScaleLikelihood.fit_mle`) and keep the outcome.

        Args:
            model: the likelihood with its data.
            gradient_tol: see `LogScaleLikelihood.fit_mle`.
            maxiter: see `LogScaleLikelihood.fit_mle`.
            **more: further fields of the subclass (e.g. ``time_unit``).
        """
        optimum = model.fit_mle(gradient_tol, maxiter)
        return cls(
            params=optimum.estimates,
            std_errors=optimum.std_errors,
            log_cov=optimum.log_cov,
            loglike=float(model.loglike(optimum.log_params)),
            n_members=len(model.endog),
            convergence=optimum.report,
            **more,
        )

    def table(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% intervals (from the log scale)."""
        return estimates_table(
            self.model_name, self.param_names, self.params, self.std_errors, self.log_cov
        )


def estimates_at_optimum(
    model_name: str,
    model,
    log_params: np.ndarray,
    names: Sequence[str],
    report: dict,
    hint: str = "",
) -> tuple[dict[str, float], dict[str, float], np.ndarray]:
    """Check an optimum and return (estimates, standard errors, covariance of the logs).

    Args:
        model_name: the model's name for messages (``BG/NBD``...).
        model: the statsmodels likelihood model (``hessian`` on the log scale).
        log_params: the optimum, on the log scale.
        names: parameter names, in order.
        report: the convergence report so far (``gradient_norm``, ``gradient_tol``);
            ``converged`` is set on success.
        hint: what a failed gradient check may mean for this model's data.

    Raises:
        ConvergenceError: gradient too large, or the information matrix is singular or not
            positive definite.
    """
    grad_norm, tol = report["gradient_norm"], report["gradient_tol"]
    if not np.isfinite(grad_norm) or grad_norm > tol:
        message = f"gradient norm {grad_norm:.3g} above tolerance {tol:g}"
        raise ConvergenceError(model_name, f"{message}; {hint}" if hint else message, report)
    try:
        log_cov = np.linalg.inv(-model.hessian(log_params))
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError(model_name, "singular information matrix", report) from exc
    if not np.all(np.isfinite(log_cov)) or np.any(np.diag(log_cov) <= 0):
        raise ConvergenceError(
            model_name, "information matrix is not positive definite at the optimum", report
        )
    report["converged"] = True
    values = np.exp(log_params)
    std = values * np.sqrt(np.diag(log_cov))
    return (
        {n: float(v) for n, v in zip(names, values, strict=True)},
        {n: float(s) for n, s in zip(names, std, strict=True)},
        log_cov,
    )


def estimates_table(
    model_name: str,
    names: Sequence[str],
    params: dict[str, float],
    std_errors: dict[str, float],
    log_cov: np.ndarray,
) -> pd.DataFrame:
    """Estimates with standard errors and 95% intervals taken on the log scale."""
    rows = []
    for i, name in enumerate(names):
        se_log = float(np.sqrt(max(log_cov[i, i], 0.0)))
        value = params[name]
        rows.append(
            {
                "model": model_name,
                "parameter": name,
                "estimate": value,
                "std_err": std_errors[name],
                "ci_low": value * np.exp(-1.96 * se_log),
                "ci_high": value * np.exp(1.96 * se_log),
            }
        )
    return pd.DataFrame(rows)
