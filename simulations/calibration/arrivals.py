"""New members per month: a log-linear trend (and seasonality) fitted to monthly sign-ups.

Sign-ups in calendar month ``t`` (counted from the last full month before the end of the
data, ``t = 0``; earlier months negative) are taken as Poisson with

    log E[N_t] = level + trend * t + season[month(t)]

fitted by maximum likelihood as a Poisson GLM (McCullagh & Nelder 1989, "Generalized Linear
Models", ch. 6; statsmodels ``GLM``). The month effects use sum-to-zero (effects) coding, so
``exp(level)`` is the deseasonalised rate of the origin month and the twelve multipliers
``exp(season)`` have geometric mean 1. Extra-Poisson variation between months is allowed for
by scaling the covariance with the Pearson dispersion when it exceeds 1 (quasi-likelihood,
McCullagh & Nelder 1989, ch. 9), so the parameter draws of a backtest are honest about it.

What the data supports is fitted and nothing else, and the result says which:

* fewer than `MIN_TREND_MONTHS` full months: no trend (the mean of the months);
* fewer than `MIN_SEASON_MONTHS` full months: no seasonality. With a month pattern in the
  data, the trend is identified only by calendar months seen twice (year on year); a trend
  fitted without the pattern is biased by where the peaks fall in the window. 18 months
  give every calendar month once and half of them twice, with 5 residual degrees of
  freedom for the dispersion.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from simulations.calibration.errors import ConvergenceError

__all__ = ["MAX_MONTHS", "MIN_SEASON_MONTHS", "MIN_TREND_MONTHS", "ArrivalFit", "fit_arrivals"]

MAX_MONTHS = 36
"""Most recent full months fitted (a constant growth rate is a local description)."""
MIN_TREND_MONTHS = 6
"""Full months of sign-ups needed to estimate a trend."""
MIN_SEASON_MONTHS = 18
"""Full months of sign-ups needed to estimate month effects (see the module docstring)."""


@dataclass(frozen=True)
class ArrivalFit:
    """Estimated acquisition of new members.

    Attributes:
        per_month: deseasonalised expected sign-ups in the ``origin`` month.
        origin: the last full month of the data (``YYYY-MM``).
        trend: growth of the expected sign-ups per month, on the log scale (0 when not
            estimated).
        seasonality: multiplier per calendar month, Jan..Dec (all 1 when not estimated).
        params: the GLM coefficients (``level``, ``trend``, ``month:1`` ... ``month:11``,
            those estimated only).
        cov: their covariance (dispersion-scaled), aligned with ``params``.
        months_used: full months of sign-ups in the fit (first and last month used).
        dispersion: Pearson chi-square over residual degrees of freedom (1 = Poisson).
        estimated: what was estimated, among ``level``, ``trend``, ``seasonality``.
        notes: what was not estimated and why.
    """

    per_month: float
    origin: str
    trend: float
    seasonality: tuple[float, ...]
    params: pd.Series = field(repr=False)
    cov: pd.DataFrame = field(repr=False)
    months_used: tuple[int, str, str]
    dispersion: float
    estimated: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def behavior_fields(self, params: pd.Series | None = None) -> dict:
        """The `BehaviorParams` acquisition fields from ``params`` (default: the estimates)."""
        values = self.params if params is None else params
        trend = float(values.get("trend", 0.0))
        effects = [float(values.get(f"month:{m}", 0.0)) for m in range(1, 12)]
        season = (*effects, -sum(effects))
        return {
            "new_members_per_month": float(np.exp(values["level"])),
            "new_members_trend": trend,
            "new_members_origin": self.origin,
            "new_members_seasonality": tuple(float(np.exp(s)) for s in season),
        }

    def draw(self, rng: np.random.Generator) -> dict:
        """Acquisition fields with the coefficients drawn from their sampling distribution."""
        if not np.isfinite(self.params).all():
            return self.behavior_fields()
        drawn = rng.multivariate_normal(self.params.to_numpy(), self.cov.to_numpy())
        return self.behavior_fields(pd.Series(drawn, index=self.params.index))


def fit_arrivals(
    joined: pd.Series,
    end: pd.Timestamp,
    trend: bool = True,
    max_months: int = MAX_MONTHS,
    seasonality: bool = True,
) -> ArrivalFit | None:
    """Fit the acquisition model to join dates up to ``end`` (see the module docstring).

    Args:
        joined: join date per member (datetimes).
        end: last day of the data; the month containing it counts only if ``end`` is its
            last day. The first month counts only if it starts on or after the first join
            (a month the data covers in part would understate sign-ups).
        trend: fit the trend and month pattern where the data supports them; False fits
            the level only (the mean), e.g. after the full model failed.
        max_months: the most recent full months used.
        seasonality: fit the month pattern where the data supports it.

    Calendar months without any sign-up, or sign-ups that stop (a closed cohort), leave the
    likelihood without a maximum (a month effect or the trend runs off to minus infinity;
    IRLS warns of separation or does not converge): the month pattern is then dropped, and
    if that is not enough the trend too, the level being the mean of the last 12 full
    months; ``notes`` says which.

    Returns:
        The fit, or None when no full month of sign-ups is available.

    Raises:
        ConvergenceError: the GLM did not converge.
    """
    joined = pd.to_datetime(joined).dropna()
    joined = joined[joined <= end]
    if joined.empty:
        return None
    last_full = (end + pd.Timedelta(days=1)).to_period("M") - 1
    first = joined.min()
    first_full = first.to_period("M") + (0 if first.day == 1 else 1)
    if last_full < first_full:
        return None
    first_full = max(first_full, last_full - (max_months - 1))
    months = pd.period_range(first_full, last_full, freq="M")
    counts = joined.dt.to_period("M").value_counts().reindex(months, fill_value=0)
    n = len(months)
    t = np.arange(n, dtype=float) - (n - 1)
    design = pd.DataFrame({"level": np.ones(n)}, index=months.strftime("%Y-%m"))
    notes = []
    estimated = ["level"]
    if trend and n >= MIN_TREND_MONTHS:
        design["trend"] = t
        estimated.append("trend")
    elif trend:
        notes.append(
            f"new members: trend not estimated ({n} full months of sign-ups,"
            f" {MIN_TREND_MONTHS} needed); the forecast is flat at the mean of those months"
        )
    if trend and seasonality and n >= MIN_SEASON_MONTHS:
        month_of_year = months.month.to_numpy()
        for m in range(1, 12):
            design[f"month:{m}"] = (month_of_year == m).astype(float) - (month_of_year == 12)
        estimated.append("seasonality")
    elif trend and seasonality:
        notes.append(
            f"new members: month pattern of sign-ups not estimated ({n} full months,"
            f" {MIN_SEASON_MONTHS} needed); every month gets the same rate"
        )
    y = counts.to_numpy(dtype=float)
    if y.sum() == 0:  # nobody joined: the estimate is zero, with no sampling variation
        zero = pd.Series({"level": -np.inf})
        return ArrivalFit(
            per_month=0.0,
            origin=str(last_full),
            trend=0.0,
            seasonality=(1.0,) * 12,
            params=zero,
            cov=pd.DataFrame(0.0, index=zero.index, columns=zero.index),
            months_used=(n, str(months[0]), str(months[-1])),
            dispersion=1.0,
            estimated=("level",),
            notes=(*notes, f"new members: nobody joined in the {n} months used"),
        )
    try:
        with warnings.catch_warnings():
            # Sign-ups that stop (a closed cohort) have no finite maximum: say so, not fit on.
            warnings.simplefilter("error", PerfectSeparationWarning)
            fitted = sm.GLM(y, design, family=sm.families.Poisson()).fit()
        if not fitted.converged or not (
            np.isfinite(fitted.params).all() and np.isfinite(fitted.bse).all()
        ):
            raise PerfectSeparationWarning("no finite maximum")
    except PerfectSeparationWarning:
        if "seasonality" in estimated:
            simpler = fit_arrivals(joined, end, trend, max_months, seasonality=False)
            why = (
                "new members: month pattern of sign-ups not identified (calendar months"
                " without any sign-up: the likelihood has no maximum); fitted without it"
            )
        elif "trend" in estimated:
            simpler = fit_arrivals(joined, end, trend=False, max_months=12)
            why = (
                "new members: trend not identified (sign-ups stop: the likelihood has no"
                " maximum); the level is the mean of the last 12 full months, with no trend"
            )
        else:
            raise ConvergenceError("new members (Poisson GLM)", "IRLS did not converge") from None
        return dataclasses.replace(simpler, notes=(why, *simpler.notes))
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ConvergenceError("new members (Poisson GLM)", str(exc)) from exc
    dof = n - design.shape[1]
    dispersion = float(fitted.pearson_chi2 / dof) if dof > 0 else 1.0
    cov = fitted.cov_params() * max(dispersion, 1.0)
    fit = ArrivalFit(
        per_month=0.0,
        origin=str(last_full),
        trend=0.0,
        seasonality=(1.0,) * 12,
        params=fitted.params,
        cov=cov,
        months_used=(n, str(months[0]), str(months[-1])),
        dispersion=dispersion,
        estimated=tuple(estimated),
        notes=tuple(notes),
    )
    fields = fit.behavior_fields()
    return dataclasses.replace(
        fit,
        per_month=fields["new_members_per_month"],
        trend=fields["new_members_trend"],
        seasonality=fields["new_members_seasonality"],
    )
