"""What the maximum-likelihood fits share: checks at the optimum and log-scale estimates.

BG/NBD, Gamma-Gamma and Pareto/NBD are all fitted on the logs of their (positive)
parameters. At the optimum the gradient must be near zero (scipy's own flag is not trusted:
BFGS reports "precision loss" at true optima), and the observed information matrix must be
invertible and positive definite. Standard errors then follow by the delta method:
``d exp(u)/du = exp(u)``, so ``se(theta) = theta * se(log theta)``; 95% intervals are taken
on the log scale, so they stay positive.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from simulations.calibration.errors import ConvergenceError

__all__ = ["estimates_at_optimum", "estimates_table"]


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
