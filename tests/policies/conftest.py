"""Shared policy-loading fixtures and a strategy of valid policies for property tests."""

import copy
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import strategies as st

from policies.io import load_policy, policy_from_dict, policy_to_dict

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = REPO_ROOT / "policies" / "examples"
CLASSIC_PATH = EXAMPLES_DIR / "classic_four_tier.yaml"


@pytest.fixture(scope="session", autouse=True)
def compiled_rules() -> None:
    """Compile (or load from numba's cache) the scalar rules once, before timed properties.

    The first call of a compiled rule in a process costs its compilation, which is not what
    a property's deadline measures.
    """
    import numpy as np

    from policies import rules

    policy = load_policy(CLASSIC_PATH)
    one = np.ones(1)
    rules.price_purchases(policy, dt.date(2026, 3, 8), one, one, lifecycle=one, quadrant=one)
    rules.qualified_tier(policy, one)
    rules.lifecycle_codes(policy, one, one, one)
    rules.quadrant_codes(policy, one, one)
    rules.consume_fifo(np.ones((1, 2)), one)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return EXAMPLES_DIR


@pytest.fixture(scope="session")
def example_paths() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.yaml"))


@pytest.fixture(scope="session")
def classic_path() -> Path:
    return CLASSIC_PATH


@pytest.fixture(scope="session")
def classic_policy():
    return load_policy(CLASSIC_PATH)


@pytest.fixture
def classic_data(classic_policy) -> dict:
    """The classic example as plain data, a fresh copy each test may edit."""
    return copy.deepcopy(policy_to_dict(classic_policy))


# A strategy of valid policies: the classic example with its thresholds, rates, values,
# expiry, redemption windows and campaign dates varied. Session scoped so that
# hypothesis tests can draw from it with ``st.data()``.

_money = st.floats(min_value=0.01, max_value=100_000, allow_nan=False, allow_infinity=False)
_ratio = st.floats(min_value=0.001, max_value=20, allow_nan=False, allow_infinity=False)
_day = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))


@st.composite
def _windows(draw):
    count = draw(st.integers(0, 2))
    out = []
    for _ in range(count):
        start_month, end_month = draw(st.integers(1, 12)), draw(st.integers(1, 12))
        out.append(
            {
                "start_month": start_month,
                "start_day": draw(st.integers(1, 28)),
                "end_month": end_month,
                "end_day": draw(st.integers(1, 28)),
            }
        )
    return out


_expiries = st.one_of(
    st.just({"kind": "none"}),
    st.builds(lambda m: {"kind": "rolling", "months": m}, st.integers(1, 120)),
    st.builds(lambda m: {"kind": "inactivity", "months": m}, st.integers(1, 120)),
    st.builds(
        lambda m, d, y: {"kind": "fixed_date", "month": m, "day": d, "years_after": y},
        st.integers(1, 12),
        st.integers(1, 28),
        st.integers(0, 10),
    ),
)


@st.composite
def classic_variants(draw):
    """Valid policies built from the classic example by varying its numbers and dates."""
    data = copy.deepcopy(policy_to_dict(load_policy(CLASSIC_PATH)))
    steps = draw(st.lists(_money, min_size=3, max_size=3))
    threshold = 0.0
    for tier, step in zip(data["tiers"]["tiers"][1:], steps, strict=True):
        threshold += step
        tier["threshold"] = threshold
    for tier in data["tiers"]["tiers"]:
        tier["benefits"]["earn_multiplier"] = draw(_ratio)
        tier["benefits"]["discount_pct"] = draw(st.floats(0, 100, allow_nan=False))
    data["tiers"]["qualifying_metric"] = draw(st.sampled_from(["spend", "purchases", "points"]))
    earn = data["points"]["earn"]
    earn["points_per_unit"] = draw(st.floats(0.01, 1000, allow_nan=False))
    earn["per_amount"] = draw(_money)
    redemption = data["points"]["redemption"]
    redemption["point_value"] = draw(st.floats(0.0001, 10, allow_nan=False))
    redemption["cost_per_point"] = draw(st.floats(0, 10, allow_nan=False))
    redemption["unit_points"] = draw(st.sampled_from([1, 10, 50, 100]))
    redemption["minimum_points"] = redemption["unit_points"] * draw(st.integers(0, 100))
    redemption["windows"] = draw(_windows())
    data["expiry"] = draw(_expiries)
    data["program"]["effective_date"] = draw(_day).isoformat()
    for campaign in data["campaigns"]:
        start = draw(_day)
        campaign["start"] = start.isoformat()
        campaign["end"] = (start + dt.timedelta(days=draw(st.integers(0, 3000)))).isoformat()
        campaign["points_multiplier"] = draw(st.floats(1, 20, allow_nan=False))
    return policy_from_dict(data, "generated policy")


@pytest.fixture(scope="session")
def policy_strategy():
    """Hypothesis strategy of valid policies (draw with ``data.draw(policy_strategy)``)."""
    return classic_variants()
