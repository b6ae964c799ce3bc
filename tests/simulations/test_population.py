"""Synthetic populations follow BG/NBD and Gamma-Gamma; snapshots keep their invariants.

Statistical checks use fixed seeds and a tolerance of 4 standard errors of the sample mean
(the model is drawn exactly, so there is no discretization allowance).
"""

import dataclasses
import datetime as dt

import numpy as np
import pytest
from scipy.special import hyp2f1

from simulations import population as population_module
from simulations.behavior import DEFAULT_BEHAVIOR
from simulations.population import HISTORY_MONTHS, Population

AS_OF = dt.date(2026, 1, 1)
SPAN = (AS_OF - dt.date(2023, 1, 1)).days  # 36 months of join dates before AS_OF


def expected_repeat_purchases(t, r, alpha, a, b):
    """BG/NBD E[X(t)] (Fader, Hardie & Lee 2005, eq. 9); ``t`` may be an array."""
    t = np.asarray(t, dtype=np.float64)
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def within(observed, expected, stderr, k=4.0):
    return np.abs(np.asarray(observed) - expected) <= k * np.asarray(stderr)


@pytest.fixture(scope="module")
def large():
    return Population.synthetic(300_000, seed=7, as_of=AS_OF)


def test_arrays_are_aligned_typed_and_consistent(large):
    pop = large
    n = len(pop)
    assert n == 300_000 and pop.source == "synthetic"
    assert pop.describe() == {"source": "synthetic", "members": n, "as_of": "2026-01-01"}
    for name, dtype in [
        ("join_day", np.int32),
        ("birthday_month", np.int8),
        ("birthday_day", np.int8),
        ("repeat_purchases", np.int64),
        ("last_purchase_day", np.int32),
        ("mean_spend", np.float64),
        ("points_balance", np.int64),
    ]:
        values = getattr(pop, name)
        assert values.shape == (n,) and values.dtype == dtype, name
    assert pop.purchases_by_month.shape == (n, HISTORY_MONTHS)
    assert pop.purchases_by_month.dtype == np.int32
    assert pop.spend_by_month.shape == (n, HISTORY_MONTHS)
    assert pop.spend_by_month.dtype == np.int64
    assert pop.join_day.min() >= -SPAN and pop.join_day.max() <= -1
    # The last purchase lies between the join day and the day before the snapshot, and is
    # the join day itself without a repeat purchase.
    assert (pop.last_purchase_day >= pop.join_day).all() and (pop.last_purchase_day < 0).all()
    none = pop.repeat_purchases == 0
    np.testing.assert_array_equal(pop.last_purchase_day[none], pop.join_day[none])
    assert (pop.last_purchase_day[~none] > pop.join_day[~none]).mean() > 0.95
    assert (pop.repeat_purchases >= 0).all()
    assert np.isfinite(pop.mean_spend).all() and (pop.mean_spend > 0).all()
    # Every month with spend has a purchase, and purchases cost something.
    assert (pop.purchases_by_month >= 0).all() and (pop.spend_by_month >= 0).all()
    assert not ((pop.spend_by_month > 0) & (pop.purchases_by_month == 0)).any()
    assert (pop.spend_by_month[pop.purchases_by_month > 0] > 0).mean() > 0.999
    # At most the join-day purchase plus the repeat purchases fall in the window.
    assert (pop.purchases_by_month.sum(axis=1) <= pop.repeat_purchases + 1).all()
    assert (pop.tier == "").all() and (pop.points_balance == -1).all()
    dates = [
        dt.date(2001, m, d)
        for m, d in zip(pop.birthday_month[:2000], pop.birthday_day[:2000], strict=True)
    ]
    assert len(dates) == 2000  # every (month, day) is a real date of a common year
    counts = np.bincount(pop.birthday_month, minlength=13)[1:]
    days_in_month = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    np.testing.assert_allclose(counts / n, days_in_month / 365, atol=0.003)


def test_member_ids_are_numbered_strings():
    pop = Population.synthetic(1234, seed=1, as_of=AS_OF)
    assert pop.member_id[0] == "S0000000" and pop.member_id[1233] == "S0001233"
    assert isinstance(pop.member_id[5], str)
    assert len(set(pop.member_id.tolist())) == 1234
    assert Population.synthetic(0, as_of=AS_OF).member_id.shape == (0,)


def test_empty_and_invalid_sizes():
    pop = Population.synthetic(0, as_of=AS_OF)
    assert len(pop) == 0 and pop.purchases_by_month.shape == (0, HISTORY_MONTHS)
    with pytest.raises(ValueError, match=r"n_members\(=-1\) must be >= 0"):
        Population.synthetic(-1)


FIELDS = (
    "member_id",
    "join_day",
    "birthday_month",
    "birthday_day",
    "repeat_purchases",
    "last_purchase_day",
    "mean_spend",
    "purchases_by_month",
    "spend_by_month",
)


def assert_same(one, two):
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name), err_msg=name)


def test_same_seed_same_population_whatever_the_threads(monkeypatch):
    n = 2 * population_module._CHUNK + 17  # three chunks of members
    threaded = Population.synthetic(n, seed=3, as_of=AS_OF)
    monkeypatch.setattr(population_module.os, "cpu_count", lambda: 1)
    serial = Population.synthetic(n, seed=3, as_of=AS_OF)
    assert_same(threaded, serial)
    other = Population.synthetic(n, seed=4, as_of=AS_OF)
    assert not np.array_equal(other.repeat_purchases, serial.repeat_purchases)


def test_a_seed_sequence_gives_the_same_population_each_time():
    seed = np.random.SeedSequence(99)
    one = Population.synthetic(5000, seed=seed, as_of=AS_OF)
    two = Population.synthetic(5000, seed=seed, as_of=AS_OF)
    assert_same(one, two)
    assert_same(one, Population.synthetic(5000, seed=np.random.SeedSequence(99), as_of=AS_OF))


@pytest.mark.parametrize("time_unit", ["day", "week"])
def test_repeat_purchases_match_bgnbd_expectation(time_unit, large):
    behavior = DEFAULT_BEHAVIOR.model_copy(update={"time_unit": time_unit})
    pop = large if time_unit == "day" else Population.synthetic(300_000, behavior, seed=8)
    bg = behavior.bgnbd
    # Members join on a uniform day: E[x] averages E[X(T)] over the possible exposures T,
    # checked separately for the newest, middle and oldest thirds of members.
    for lo, hi in [(1, SPAN // 3), (SPAN // 3 + 1, 2 * SPAN // 3), (2 * SPAN // 3 + 1, SPAN)]:
        group = (-pop.join_day >= lo) & (-pop.join_day <= hi)
        days = np.arange(lo, hi + 1) / (1.0 if time_unit == "day" else 7.0)
        expected = expected_repeat_purchases(days, bg.r, bg.alpha, bg.a, bg.b).mean()
        x = pop.repeat_purchases[group]
        stderr = x.std(ddof=1) / np.sqrt(x.size)
        assert within(x.mean(), expected, stderr), (time_unit, lo, x.mean(), expected)


def test_months_histogram_matches_bgnbd_expectation(large):
    pop = large
    bg = DEFAULT_BEHAVIOR.bgnbd
    join = -np.arange(1, SPAN + 1)  # every possible join day, equally likely
    expected = np.empty(HISTORY_MONTHS)
    for col in range(HISTORY_MONTHS):
        start = dt.date(2025, col + 1, 1)
        end = dt.date(2025, col + 2, 1) if col < 11 else AS_OF
        d0, d1 = (start - AS_OF).days, (end - AS_OF).days
        # A purchase t days after joining falls on day join + floor(t): it is in the month
        # when t lies in [d0 - join, d1 - join). The join-day purchase counts when in it.
        upper = np.clip(d1 - join, 0, None)
        lower = np.clip(d0 - join, 0, None)
        repeat = expected_repeat_purchases(upper, bg.r, bg.alpha, bg.a, bg.b)
        repeat -= expected_repeat_purchases(lower, bg.r, bg.alpha, bg.a, bg.b)
        first = (join >= d0) & (join < d1)
        expected[col] = (repeat + first).mean()
    counts = pop.purchases_by_month
    stderr = counts.std(axis=0, ddof=1) / np.sqrt(len(pop))
    assert within(counts.mean(axis=0), expected, stderr).all(), (counts.mean(axis=0), expected)
    # More members are around, and alive members buy, in the later months.
    assert expected[-1] > 1.2 * expected[0]


def test_spend_follows_gamma_gamma(large):
    pop = large
    gg = DEFAULT_BEHAVIOR.gamma_gamma
    mean_basket = gg.p * gg.gamma / (gg.q - 1)  # ¥250: E[p / nu]
    buyers = pop.mean_spend[pop.repeat_purchases > 0]
    stderr = buyers.std(ddof=1) / np.sqrt(buyers.size)
    assert within(buyers.mean(), mean_basket, stderr), buyers.mean()
    # Spend per member is independent of how often the member buys: the 12-month spend has
    # mean E[purchases] * E[basket] (in cents).
    spend = pop.spend_by_month.sum(axis=1) / 100.0
    purchases = pop.purchases_by_month.sum(axis=1)
    expected = purchases.mean() * mean_basket
    stderr = spend.std(ddof=1) / np.sqrt(spend.size)
    assert abs(spend.mean() - expected) <= 4 * stderr + 0.02 * expected, (spend.mean(), expected)
    # A member's baskets all share the member's nu: for members with many purchases, the
    # mean spend and the 12-month basket agree far more closely than two members' would
    # (log nu has a spread of about 0.5 for q = 4).
    purchases_12m = pop.purchases_by_month.sum(axis=1)
    many = (pop.repeat_purchases >= 40) & (purchases_12m >= 20)
    assert many.sum() > 2000
    basket_12m = pop.spend_by_month[many].sum(axis=1) / 100.0 / purchases_12m[many]
    log_ratio = np.log(pop.mean_spend[many] / basket_12m)
    assert abs(np.median(log_ratio)) < 0.03
    assert np.quantile(log_ratio, 0.9) - np.quantile(log_ratio, 0.1) < 0.5


def reference_histories(n, seed):
    """Repeat purchases, recency and exposure by the textbook construction of BG/NBD.

    ``N ~ Poisson(lambda T)`` arrivals uniform on ``(0, T)``; the member keeps the earliest
    ``min(N, G)`` of them, ``G`` geometric in the dropout probability.
    """
    bg = DEFAULT_BEHAVIOR.bgnbd
    rng = np.random.default_rng(seed)
    exposure = rng.integers(1, SPAN + 1, size=n)
    rate = rng.gamma(bg.r, 1.0 / bg.alpha, size=n)
    dropout = rng.beta(bg.a, bg.b, size=n)
    arrivals = rng.poisson(rate * exposure)
    x = np.minimum(arrivals, rng.geometric(dropout))
    owner = np.repeat(np.arange(n), arrivals)
    times = rng.random(owner.size) * exposure[owner]
    order = np.lexsort((times, owner))
    times = times[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
    kept = rank < x[owner]
    last = np.zeros(n)
    np.maximum.at(last, owner[kept], np.floor(times[kept]))
    return x, last, exposure


def test_recency_matches_the_textbook_construction(large):
    x_ref, last_ref, exposure_ref = reference_histories(150_000, seed=12)
    pop = large
    x = pop.repeat_purchases
    recency = (pop.last_purchase_day - pop.join_day).astype(np.float64)
    exposure = -pop.join_day.astype(np.float64)
    statistics = {
        "share without repeat purchase": ((x == 0) * 1.0, (x_ref == 0) * 1.0),
        "recency / exposure of buyers": (
            recency[x > 0] / exposure[x > 0],
            last_ref[x_ref > 0] / exposure_ref[x_ref > 0],
        ),
        "bought in the last 90 days": (
            (pop.last_purchase_day >= -90) * 1.0,
            (last_ref - exposure_ref >= -90) * 1.0,
        ),
    }
    for name, (ours, ref) in statistics.items():
        stderr = np.sqrt(ours.var() / ours.size + ref.var() / ref.size)
        assert within(ours.mean(), ref.mean(), stderr), (name, ours.mean(), ref.mean())


def test_window_ends_before_the_snapshot_month():
    as_of = dt.date(2025, 7, 17)
    pop = Population.synthetic(50_000, seed=2, as_of=as_of, history_months=6)
    span = (as_of - dt.date(2025, 1, 17)).days
    assert -pop.join_day.min() <= span
    # Members who joined in July 2025 have no purchase in the window (Jul 2024 - Jun 2025).
    july = pop.join_day >= -16
    assert july.sum() > 3000
    assert (pop.purchases_by_month[july] == 0).all()
    # Nobody joined before January 2025: the window's first six months are empty...
    assert (pop.purchases_by_month[:, :6] == 0).all()
    # ... and the join-day purchase of a member who joined in June 2025 counts in June.
    june = (pop.join_day >= -46) & (pop.join_day < -16)
    assert (pop.purchases_by_month[june, 11] >= 1).all()
    assert (pop.purchases_by_month[june, :11] == 0).all()


def test_synthetic_opening_balances_follow_the_policys_own_history():
    # Before: 12 months of points with nothing redeemed or expired. Under the classic policy
    # (December appreciation month, 12-month rolling expiry) a year's history includes one
    # redemption window: balances are lower than the points earned.
    from pathlib import Path

    from policies.io import load_policy
    from simulations.population import policy_opening_balances

    root = Path(__file__).resolve().parents[2]
    policy = load_policy(root / "policies" / "examples" / "classic_four_tier.yaml")
    pop = Population.synthetic(3000, seed=1, as_of=dt.date(2026, 1, 1))
    balances = pop.with_policy_balances(policy).points_balance
    assert (balances >= 0).all()
    earned_without_redemption = policy_opening_balances(
        pop, policy, DEFAULT_BEHAVIOR.model_copy(
            update={"redemption": DEFAULT_BEHAVIOR.redemption.model_copy(
                update={"intercept": -50.0})}
        ),
    )  # fmt: skip
    assert balances.sum() < 0.95 * earned_without_redemption.sum()
    assert (balances <= earned_without_redemption).all()
    # Nothing earned 12+ months ago survives a 12-month validity: at most a year of points.
    spend = pop.spend_by_month.sum(axis=1) / 100
    assert (earned_without_redemption <= 2 * spend + policy.points.bonuses.signup + 1).all()
    # A known balance is kept.
    known = dataclasses.replace(pop, points_balance=np.full(len(pop), 7, np.int64))
    assert (known.with_policy_balances(policy).points_balance == 7).all()
