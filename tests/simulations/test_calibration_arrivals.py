"""New members per month: trend and month pattern of sign-ups, and what was not estimated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from policies.io import load_policy
from simulations.behavior import DEFAULT_BEHAVIOR
from simulations.calibration.arrivals import fit_arrivals
from simulations.engine import Model
from simulations.population import Population

ROOT = Path(__file__).resolve().parents[2]

SEASON = np.array([1.2, 0.9, 0.9, 0.9, 0.9, 1.4, 0.9, 0.9, 0.9, 0.9, 1.3, 1.1])


def _join_dates(months: int, level: float, trend: float, season=SEASON, seed=0) -> pd.Series:
    """Poisson sign-ups per month, ``level * exp(trend * t) * season`` (t = 0 in the last)."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range(end="2025-12", periods=months, freq="M")
    days = []
    for t, month in zip(range(1 - months, 1), periods, strict=True):
        count = rng.poisson(level * np.exp(trend * t) * season[month.month - 1])
        start = month.start_time
        days.extend(start + pd.to_timedelta(rng.integers(0, month.days_in_month, count), "D"))
    return pd.Series(pd.to_datetime(days))


def test_trend_and_month_pattern_are_recovered():
    # Before: the mean of the last 12 months, 8% below the last month's level at this growth.
    joined = _join_dates(36, level=2_000.0, trend=0.015)
    fit = fit_arrivals(joined, pd.Timestamp("2025-12-31"))
    assert fit.estimated == ("level", "trend", "seasonality") and fit.notes == ()
    geometric = np.exp(np.log(SEASON).mean())
    assert fit.trend == pytest.approx(0.015, abs=0.002)
    assert fit.per_month * geometric == pytest.approx(2_000.0, rel=0.03)
    np.testing.assert_allclose(fit.seasonality, SEASON / geometric, rtol=0.05)
    se = np.sqrt(np.diag(fit.cov))
    assert 0 < se[1] < 0.002  # the trend's standard error, from the Poisson information
    rng = np.random.default_rng(1)
    trends = np.array([fit.draw(rng)["new_members_trend"] for _ in range(2_000)])
    assert trends.mean() == pytest.approx(fit.trend, abs=0.1 * se[1])
    assert trends.std() == pytest.approx(se[1], rel=0.1)


def test_short_data_says_what_was_not_estimated():
    flat = _join_dates(4, level=300.0, trend=0.0, season=np.ones(12))
    fit = fit_arrivals(flat, pd.Timestamp("2025-12-31"))
    assert fit.estimated == ("level",) and fit.trend == 0.0
    assert "trend not estimated (4 full months" in fit.notes[0]
    year = fit_arrivals(_join_dates(12, 300.0, 0.01, np.ones(12)), pd.Timestamp("2025-12-31"))
    assert year.estimated == ("level", "trend")
    assert "month pattern of sign-ups not estimated (12 full months" in year.notes[0]
    assert fit_arrivals(flat, pd.Timestamp("2025-08-30")) is None  # no full month yet


def test_the_engine_draws_new_members_around_the_trend():
    behavior = DEFAULT_BEHAVIOR.model_copy(
        update={"new_members_per_month": 200.0, "new_members_trend": 0.2,
                "new_members_origin": "2025-12", "new_members_seasonality": (1.0,) * 12}
    )  # fmt: skip
    policy = load_policy(ROOT / "policies" / "examples" / "classic_four_tier.yaml")
    model = Model(policy, behavior=behavior, population=Population.empty(dt.date(2026, 1, 1)),
                  months=4, replications=4, seed=5, start=dt.date(2026, 1, 1))  # fmt: skip
    joined = model.run().monthly.groupby("month")["new_members"].mean().to_numpy()
    expected = 200.0 * np.exp(0.2 * np.arange(1, 5))
    np.testing.assert_allclose(joined, expected, rtol=0.1)


def test_sign_ups_that_stop_fall_back_to_what_is_identified_and_say_so():
    # A closed cohort: calendar months without sign-ups send their effects (and the trend) to
    # minus infinity, the likelihood has no maximum; before, the fit ran on to an infinite
    # rate. The simpler models are used instead, and the notes say why.
    cohort = _join_dates(24, 300.0, 0.0)
    cohort = cohort[cohort < "2024-06-01"]
    fit = fit_arrivals(cohort, pd.Timestamp("2025-12-31"))
    assert fit.estimated == ("level", "trend") and np.isfinite(fit.cov.to_numpy()).all()
    assert "month pattern of sign-ups not identified" in fit.notes[0]
    assert fit.per_month < 1.0  # nobody joined for 18 months
    # Sign-ups that stop completely within the window: no trend either.
    stopped = cohort[cohort < "2024-02-01"]
    fit = fit_arrivals(stopped, pd.Timestamp("2024-12-31"), seasonality=False)
    assert fit.estimated == ("level",) and fit.per_month == pytest.approx(len(stopped) / 12)
    assert "trend not identified" in fit.notes[0]
