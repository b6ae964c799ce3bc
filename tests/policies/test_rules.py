"""Properties of the rules engine (policies.rules)."""

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import rules
from policies.io import load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"
CLASSIC = load_policy(EXAMPLES / "classic_four_tier.yaml")

amounts = st.floats(min_value=0, max_value=200_000, allow_nan=False, allow_infinity=False)
days = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2028, 12, 31))
tiers = st.integers(min_value=0, max_value=3)


def with_changes(policy, **sections):
    data = policy.model_dump()
    for key, value in sections.items():
        data[key] = value
    return type(policy).model_validate(data)


def price_one(policy, day, gross, tier, **kwargs):
    priced = rules.price_purchases(policy, day, np.array([gross]), np.array([tier]), **kwargs)
    return priced


@given(gross=amounts, day=days, tier=tiers, birthday=st.booleans())
def test_points_and_discounts_are_never_negative(gross, day, tier, birthday):
    priced = price_one(CLASSIC, day, gross, tier, birthday_today=np.array([birthday]))
    assert priced.points[0] >= 0
    assert priced.base_points[0] >= 0
    assert priced.bonus_points[0] >= 0
    assert 0 <= priced.discount[0] <= priced.gross[0]
    assert priced.net[0] == pytest.approx(priced.gross[0] - priced.discount[0], abs=0.005)


@given(low=amounts, extra=amounts, day=days, tier=tiers, birthday=st.booleans())
def test_a_higher_spend_never_earns_fewer_points(low, extra, day, tier, birthday):
    high = low + extra
    priced = rules.price_purchases(
        CLASSIC,
        day,
        np.array([low, high]),
        np.array([tier, tier]),
        birthday_today=np.array([birthday, birthday]),
    )
    assert priced.points[1] >= priced.points[0]
    assert priced.net[1] >= priced.net[0]


def test_base_rate_rounding_and_member_day_stacking():
    ordinary = dt.date(2026, 3, 9)
    member_day = dt.date(2026, 3, 8)
    # Regular tier, 1 point per ¥1, floored, on the net amount.
    assert price_one(CLASSIC, ordinary, 199.99, 0).points[0] == 199
    # Gold: 5% tier discount, 1.5x earn.
    gold = price_one(CLASSIC, ordinary, 1000.0, 2)
    assert gold.discount[0] == pytest.approx(50.0)
    assert gold.base_points[0] == 950
    assert gold.points[0] == 1425
    # Member day: 2x points (stack) and 5% off on top of the tier discount.
    day8 = price_one(CLASSIC, member_day, 1000.0, 2)
    assert day8.net[0] == pytest.approx(1000 * 0.95 * 0.95)
    assert day8.points[0] == int(np.floor(902.5 * 1.5 * 2))
    # Member day on a birthday: the birthday's 2x is 'best', so it competes with the stacked
    # member-day 2x and the larger (equal here) wins: still 2x, not 3x.
    both = price_one(CLASSIC, member_day, 1000.0, 2, birthday_today=np.array([True]))
    assert both.points[0] == day8.points[0]


def test_threshold_reduction_counts_every_full_threshold():
    data = CLASSIC.model_dump()
    data["campaigns"] = [
        {
            "id": "double11",
            "name": "¥30 off every ¥200",
            "kind": "threshold_reduction",
            "start": dt.date(2026, 11, 1),
            "end": dt.date(2026, 11, 11),
            "threshold": 200,
            "reduction": 30,
        }
    ]
    policy = type(CLASSIC).model_validate(data)
    priced = rules.price_purchases(
        policy, dt.date(2026, 11, 5), np.array([199.0, 200.0, 650.0]), np.zeros(3, int)
    )
    assert list(priced.discount) == [0.0, 30.0, 90.0]
    assert list(priced.points) == [199, 170, 560]


@given(scores=st.lists(st.floats(min_value=0, max_value=1e6), min_size=2, max_size=50))
def test_tiers_are_monotone_in_the_qualifying_score(scores):
    ordered = np.sort(np.array(scores))
    tier = rules.qualified_tier(CLASSIC, ordered)
    assert np.all(np.diff(tier) >= 0)
    assert tier.min() >= 0 and tier.max() <= 3


def test_qualified_tier_at_the_thresholds():
    score = np.array([0, 2999.99, 3000, 9999.99, 10000, 30000, 1e9])
    assert list(rules.qualified_tier(CLASSIC, score)) == [0, 0, 1, 1, 2, 3, 3]


@pytest.mark.parametrize(
    ("downgrade", "grace", "expected"),
    [("none", 0, [3, 3]), ("at_review", 0, [0, 0]), ("one_level", 0, [2, 2])],
)
def test_review_downgrade_policies(downgrade, grace, expected):
    tier_rules = CLASSIC.tiers.model_dump() | {"downgrade": downgrade, "grace_months": grace}
    policy = with_changes(CLASSIC, tiers=tier_rules)
    tier, grace_until = rules.review_tiers(
        policy, np.array([3, 3]), np.array([100.0, 500.0]), np.array([-1, -1]), 24312
    )
    assert list(tier) == expected
    assert list(grace_until) == [-1, -1]


def test_grace_keeps_the_tier_until_it_ends():
    tier_rules = CLASSIC.tiers.model_dump() | {"downgrade": "one_level", "grace_months": 6}
    policy = with_changes(CLASSIC, tiers=tier_rules)
    tier, grace = rules.review_tiers(policy, [2], [0.0], [-1], 100)
    assert (tier[0], grace[0]) == (2, 106)
    tier, grace = rules.review_tiers(policy, tier, [0.0], grace, 103)
    assert (tier[0], grace[0]) == (2, 106)
    tier, grace = rules.review_tiers(policy, tier, [0.0], grace, 106)
    assert (tier[0], grace[0]) == (1, -1)
    # Requalifying during grace clears it.
    tier, grace = rules.review_tiers(policy, [2], [0.0], [-1], 100)
    tier, grace = rules.review_tiers(policy, tier, [20000.0], grace, 101)
    assert (tier[0], grace[0]) == (2, -1)


@given(
    lots=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=8),
    share=st.floats(min_value=0, max_value=1),
)
def test_fifo_consumes_the_oldest_lots_first(lots, share):
    held = np.array([lots])
    amount = int(held.sum() * share)
    taken = rules.consume_fifo(held, np.array([amount]))[0]
    assert taken.sum() == amount
    assert np.all(taken >= 0) and np.all(taken <= held[0])
    # Any lot touched means every older lot is used up.
    touched = np.flatnonzero(taken)
    if touched.size:
        last = touched[-1]
        assert np.array_equal(taken[:last], held[0][:last])


@given(
    balance=st.integers(min_value=0, max_value=100_000),
    requested=st.integers(min_value=0, max_value=100_000),
    day=days,
)
def test_redemption_respects_window_minimum_and_unit(balance, requested, day):
    allowed = rules.redeemable_points(CLASSIC, day, np.array([balance]), np.array([0]))
    got = rules.redemption_points(CLASSIC, np.array([requested]), allowed)[0]
    redemption = CLASSIC.points.redemption
    assert 0 <= got <= min(balance, requested)
    assert got % redemption.unit_points == 0
    if got:
        assert day.month == 12
        assert got >= redemption.minimum_points
    if day.month != 12:
        assert allowed[0] == 0


def test_rolling_expiry_month_and_fixed_date_expiry():
    march_2025 = rules.month_index(dt.date(2025, 3, 17))
    assert rules.expiry_month_of_lot(CLASSIC, march_2025) == rules.month_index(dt.date(2026, 3, 1))
    fixed = with_changes(CLASSIC, expiry={"kind": "fixed_date", "month": 12, "day": 31})
    assert rules.expiry_month_of_lot(fixed, march_2025) == rules.month_index(dt.date(2026, 12, 1))
    assert rules.expires_at_end_of(fixed, dt.date(2026, 12, 31))
    assert not rules.expires_at_end_of(fixed, dt.date(2026, 11, 30))
    assert rules.expires_at_end_of(CLASSIC, dt.date(2026, 2, 28))
    assert not rules.expires_at_end_of(CLASSIC, dt.date(2026, 2, 27))


@settings(max_examples=50)
@given(since=st.integers(min_value=0, max_value=2000), joined=st.integers(0, 2000))
def test_lifecycle_codes_follow_the_thresholds(since, joined):
    code = rules.lifecycle_codes(CLASSIC, np.array([joined]), np.array([since]), np.array([5]))
    names = {v: k for k, v in rules.LIFECYCLE_CODES.items()}
    state = names[int(code[0])]
    seg = CLASSIC.segments
    if since <= seg.active_days:
        assert state == "active"
    elif since <= seg.silent_days:
        assert state == "silent"
    elif since <= seg.dormant_days:
        assert state == "dormant"
    else:
        assert state == "churned"


def test_quadrants():
    codes = rules.quadrant_codes(CLASSIC, np.array([10, 1, 10, 1]), np.array([5e3, 5e3, 1e2, 1e2]))
    names = {v: k for k, v in rules.QUADRANT_CODES.items()}
    assert [names[int(c)] for c in codes] == [
        "close_friends",
        "butterflies",
        "barnacles",
        "passers_by",
    ]
