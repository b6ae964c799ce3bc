"""The simulation engine: invariants, BG/NBD analytics, the reference model, reproducibility."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_model import simulate_reference
from scipy.special import hyp2f1

from policies.io import load_policy
from simulations import Model, Population, SimulationResult
from simulations.behavior import DEFAULT_BEHAVIOR
from simulations.engine import simulate_replication

ROOT = Path(__file__).resolve().parents[2]
CLASSIC = load_policy(ROOT / "policies" / "examples" / "classic_four_tier.yaml")
START = dt.date(2026, 1, 1)


def plain_behavior(**changes):
    """Program effects off, no seasonality, holidays or campaign uplift."""
    effects = DEFAULT_BEHAVIOR.effects.model_copy(
        update={
            "tier_rate_lift": 0.0,
            "tier_dropout_reduction": 0.0,
            "goal_gradient_lift": 0.0,
            "post_redemption_lift": 0.0,
            "reactivation_response": 0.0,
            "discount_rate_lift": 0.0,
            "reward_rate_lift": 0.0,
        }
    )
    uplift = {k: 1.0 for k in DEFAULT_BEHAVIOR.campaign_uplift.model_dump()}
    data = {
        "effects": effects,
        "campaign_uplift": DEFAULT_BEHAVIOR.campaign_uplift.model_copy(update=uplift),
        "month_seasonality": (1.0,) * 12,
        "weekday_seasonality": (1.0,) * 7,
        "holiday_uplift": {},
    }
    data.update(changes)
    return DEFAULT_BEHAVIOR.model_copy(update=data)


def single_tier_policy(**points):
    data = CLASSIC.model_dump()
    data["tiers"]["tiers"] = [{"name": "Member", "threshold": 0}]
    data["campaigns"] = ()
    data["expiry"] = {"kind": "none"}
    data["points"]["redemption"].update(points)
    return type(CLASSIC).model_validate(data)


EXPIRIES = [
    {"kind": "none"},
    {"kind": "rolling", "months": 12},
    {"kind": "rolling", "months": 2},
    {"kind": "fixed_date", "month": 3, "day": 31, "years_after": 1},
    {"kind": "inactivity", "months": 3},
]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expiry=st.sampled_from(EXPIRIES),
    anytime=st.booleans(),
    signup=st.integers(0, 500),
    seed=st.integers(0, 2**32 - 1),
)
def test_points_roll_forward_balances_every_month(expiry, anytime, signup, seed):
    data = CLASSIC.model_dump()
    data["expiry"] = expiry
    data["points"]["bonuses"]["signup"] = signup
    if anytime:
        data["points"]["redemption"]["windows"] = ()
    policy = type(CLASSIC).model_validate(data)
    population = Population.synthetic(300, seed=seed % 1000, as_of=START)
    behavior = DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": 30.0})
    out = simulate_replication(
        policy, behavior, population, START, 13, np.random.SeedSequence(seed)
    )
    frame = pd.DataFrame(out.monthly)
    change = frame["points_issued"] - frame["points_redeemed"] - frame["points_expired"]
    np.testing.assert_array_equal(frame["points_opening"] + change, frame["points_closing"])
    np.testing.assert_array_equal(frame["points_opening"].iloc[1:], frame["points_closing"][:-1])
    assert (frame[["points_issued", "points_redeemed", "points_expired"]] >= 0).all().all()
    assert (frame["points_closing"] >= 0).all()
    if expiry["kind"] == "none":
        assert frame["points_expired"].sum() == 0


def expected_repeat_purchases(t, r, alpha, a, b):
    """BG/NBD E[X(t)] (Fader, Hardie & Lee 2005, eq. 9)."""
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def test_new_cohort_repeat_purchases_match_bgnbd_expectation():
    behavior = plain_behavior(new_members_per_month=3000.0)
    policy = single_tier_policy()
    months = 7
    out = simulate_replication(
        policy, behavior, Population.empty(START), START, months, np.random.SeedSequence(11),
        trace=True,
    )  # fmt: skip
    cohort = np.flatnonzero(out.join_day < 31)  # joined in January: at least 150 days of life
    assert cohort.size > 2500
    purchase_member = np.concatenate([idx for idx, _, _ in out.trace.purchases])
    purchase_day = np.concatenate([np.full(idx.size, day) for idx, day, _ in out.trace.purchases])
    bg = behavior.bgnbd
    for t in (30, 90, 150):
        in_cohort = np.isin(purchase_member, cohort)
        age = purchase_day - out.join_day[purchase_member]
        counts = np.bincount(purchase_member[in_cohort & (age <= t)], minlength=len(out.join_day))
        repeat = counts[cohort] - 1  # the join-day purchase is the first, not a repeat
        expected = expected_repeat_purchases(t, bg.r, bg.alpha, bg.a, bg.b)
        # Purchases are counted by whole day: at most one day of extra exposure (+0.5 day
        # on average), well inside the sampling tolerance of 4 standard errors.
        stderr = repeat.std(ddof=1) / np.sqrt(repeat.size)
        assert abs(repeat.mean() - expected) < 4 * stderr + expected * 0.02, (t, repeat.mean())


def test_without_redemption_and_expiry_outstanding_equals_issued():
    behavior = plain_behavior(
        redemption=DEFAULT_BEHAVIOR.redemption.model_copy(update={"intercept": -60.0}),
        new_members_per_month=200.0,
    )
    out = simulate_replication(
        single_tier_policy(windows=()), behavior, Population.empty(START), START, 6,
        np.random.SeedSequence(3),
    )  # fmt: skip
    frame = pd.DataFrame(out.monthly)
    assert frame["points_redeemed"].sum() == 0 and frame["points_expired"].sum() == 0
    np.testing.assert_array_equal(frame["points_closing"], frame["points_issued"].cumsum())


def test_engine_agrees_with_the_per_member_reference_model_month_by_month():
    """Monthly means over replications agree within 4 standard errors (plus 2%)."""
    behavior = plain_behavior(
        month_seasonality=DEFAULT_BEHAVIOR.month_seasonality,
        weekday_seasonality=DEFAULT_BEHAVIOR.weekday_seasonality,
        new_members_per_month=300.0,
    )
    policy = single_tier_policy()
    months, reps = 4, 8
    fast = [
        pd.DataFrame(
            simulate_replication(
                policy,
                behavior,
                Population.empty(START),
                START,
                months,
                np.random.SeedSequence(100 + i),
            ).monthly
        )  # fmt: skip
        for i in range(reps)
    ]
    slow = [
        pd.DataFrame(simulate_reference(policy, behavior, START, months, seed=500 + i))
        for i in range(reps)
    ]
    fast_stack = pd.concat(fast).groupby("month")
    slow_stack = pd.concat(slow).groupby("month")
    for metric in ("new_members", "revenue_gross", "points_issued"):
        f_mean, s_mean = fast_stack[metric].mean(), slow_stack[metric].mean()
        se = np.sqrt(fast_stack[metric].var() / reps + slow_stack[metric].var() / reps)
        gap = (f_mean - s_mean).abs()
        assert (gap <= 4 * se + 0.02 * s_mean).all(), (metric, f_mean, s_mean)
    assert len(f_mean) == months


def test_same_seed_same_results_whatever_the_workers():
    population = Population.synthetic(400, seed=5, as_of=START)
    kwargs = dict(population=population, months=4, replications=3, seed=9)
    behavior = DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": 40.0})
    one = Model(CLASSIC, behavior=behavior, workers=1, **kwargs).run()
    two = Model(CLASSIC, behavior=behavior, workers=2, **kwargs).run()
    pd.testing.assert_frame_equal(one.monthly, two.monthly)
    other = Model(CLASSIC, behavior=behavior, workers=1, **{**kwargs, "seed": 10}).run()
    assert not one.monthly["revenue_net"].equals(other.monthly["revenue_net"])


@pytest.mark.parametrize("example", sorted((ROOT / "policies" / "examples").glob("*.yaml")))
def test_same_numbers_whatever_the_threads_and_with_a_trace(example, monkeypatch):
    """Members draw from their own streams: threads and the traced (in order) kernel agree."""
    policy = load_policy(example)
    # Several chunks of members, so the threads share the work.
    population = Population.synthetic(5000, seed=3, as_of=START)
    behavior = DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": 300.0})

    def monthly(threads: str, trace: bool = False) -> pd.DataFrame:
        monkeypatch.setenv("MEMBERLAB_THREADS", threads)
        out = simulate_replication(policy, behavior, population, START, 13,
                                   np.random.SeedSequence(21), trace=trace)  # fmt: skip
        return pd.DataFrame(out.monthly)

    one = monthly("1")
    assert one["points_redeemed"].sum() > 0 and one["points_issued"].sum() > 0
    pd.testing.assert_frame_equal(one, monthly("2"))
    pd.testing.assert_frame_equal(one, monthly("3"))
    pd.testing.assert_frame_equal(one, monthly("2", trace=True))


def test_cohort_retention_counts_what_the_trace_shows():
    behavior = DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": 150.0})
    out = simulate_replication(CLASSIC, behavior, Population.empty(START), START, 6,
                               np.random.SeedSequence(12), trace=True)  # fmt: skip
    month_of = lambda day: (START + dt.timedelta(days=int(day))).strftime("%Y-%m")  # noqa: E731
    cohort = {m: month_of(d) for m, d in enumerate(out.join_day)}
    buyers: dict[tuple[str, str], set] = {}
    for idx, day, _ in out.trace.purchases:
        for m in idx:
            buyers.setdefault((cohort[int(m)], month_of(day)), set()).add(int(m))
    rows = pd.DataFrame(out.cohorts)
    assert len(rows) == 6 * 7 // 2  # every cohort in every month since it joined
    for row in rows.itertuples():
        assert row.purchasing == len(buyers.get((row.cohort, row.month), ()))
        assert row.cohort_size == sum(1 for c in cohort.values() if c == row.cohort)
    joined = rows[rows["months_since_join"] == 0]
    assert (joined["purchasing"] == joined["cohort_size"]).all()  # the joining purchase
    assert joined["cohort_size"].sum() == len(out.join_day)


def test_a_baseline_shares_the_scenarios_random_numbers():
    """Common random numbers: the same policy as its own baseline changes nothing at all."""
    population = Population.synthetic(2000, seed=6, as_of=START)
    behavior = DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": 80.0})
    result = Model(CLASSIC, behavior=behavior, population=population, months=4, replications=2,
                   seed=3, baseline_policy=CLASSIC).run()  # fmt: skip
    monthly = result.monthly
    assert (monthly["revenue_net"] > 0).all()
    assert (monthly["incremental_revenue"] == 0).all()
    assert (monthly["incremental_cost"] == 0).all()
    # The same seed object used twice gives the same replication.
    seed = np.random.SeedSequence(8)
    one = simulate_replication(CLASSIC, behavior, population, START, 2, seed)
    again = simulate_replication(CLASSIC, behavior, population, START, 2, seed)
    assert again.monthly == one.monthly


def test_a_trace_that_outgrows_its_record_resumes_where_it_stopped():
    from simulations import engine, kernel

    population = Population.synthetic(3000, seed=2, as_of=START)
    behavior = DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": 100.0})
    args = (CLASSIC, behavior, population, START, 3, np.random.SeedSequence(5))
    full = simulate_replication(*args, trace=True)
    sim = engine._Simulation(*args, trace=True)
    # A record just larger than one member's room: the kernel stops and resumes many times.
    sim.record = kernel.Record.empty(kernel.SLACK + 8)
    small = sim.run()
    assert sim.record.kind.size > kernel.SLACK + 8  # it grew
    assert small.monthly == full.monthly
    flat = [(int(m), d, float(g)) for idx, d, gross in full.trace.purchases
            for m, g in zip(idx, gross, strict=True)]  # fmt: skip
    again = [(int(m), d, float(g)) for idx, d, gross in small.trace.purchases
             for m, g in zip(idx, gross, strict=True)]  # fmt: skip
    assert len(flat) > 5000 and sorted(flat) == sorted(again)


def test_reactivation_contacts_bring_back_the_stated_share():
    """Dropped-out members contacted by a reactivation campaign come back at the set rate."""
    data = CLASSIC.model_dump(mode="json")
    data["campaigns"] = [
        {
            "id": "winback", "name": "Win back", "kind": "reactivation",
            "start": "2026-03-01", "end": "2026-03-01", "recency_days": 60,
            "contact_cost": 1.0,
        }
    ]  # fmt: skip
    policy = type(CLASSIC).model_validate(data)
    population = Population.synthetic(20_000, seed=8, as_of=START)

    def march_buyers(response: float) -> int:
        base = plain_behavior(new_members_per_month=0.0)
        effects = base.effects.model_copy(update={"reactivation_response": response})
        behavior = base.model_copy(update={"effects": effects})
        out = simulate_replication(policy, behavior, population, START, 3,
                                   np.random.SeedSequence(2))  # fmt: skip
        return out.monthly[2]["purchasing_members"]

    # Common random numbers: the runs differ only in who comes back. With a response of 1
    # every dropped-out contact buys in March (the contact window is 30 days), so the
    # difference to a response of 0 counts the dropped-out contacts; a response of 0.2
    # brings back a binomial share of them.
    none, share, everyone = march_buyers(0.0), march_buyers(0.2), march_buyers(1.0)
    dead = everyone - none
    back = share - none
    assert dead > 1000
    assert abs(back - 0.2 * dead) < 4 * np.sqrt(dead * 0.2 * 0.8)


def test_members_who_dropped_out_redeem_at_the_modelled_rate():
    """Redemption is its own process over every balance holder, buying or not.

    Members drop out right after their first repeat purchase (p close to 1) and keep a
    sign-up bonus well above the minimum; the propensity is a flat 1/2 a month. Each month
    every member who joined before it is a holder, so redemptions are binomial with that
    many trials whether or not the holders still buy.
    """
    data = CLASSIC.model_dump()
    data["tiers"]["tiers"] = [{"name": "Member", "threshold": 0}]
    data["campaigns"], data["expiry"] = (), {"kind": "none"}
    data["points"]["bonuses"]["signup"] = 20_000
    data["points"]["redemption"].update(windows=(), minimum_points=1000, unit_points=100)
    policy = type(CLASSIC).model_validate(data)
    behavior = plain_behavior(
        bgnbd=DEFAULT_BEHAVIOR.bgnbd.model_copy(
            update={"r": 2.0, "alpha": 2.0, "a": 200.0, "b": 0.01}
        ),  # fmt: skip
        redemption=DEFAULT_BEHAVIOR.redemption.model_copy(
            update={
                "intercept": 0.0,
                "balance_coef": 0.0,
                "tier_coefs": (0.0,),
                "redeem_share": 0.1,
            }  # fmt: skip
        ),
        new_members_per_month=300.0,
    )
    out = simulate_replication(
        policy, behavior, Population.empty(START), START, 6, np.random.SeedSequence(5)
    )
    joined = np.cumsum([0] + [m["new_members"] for m in out.monthly])[:-1]
    churned = np.cumsum([m["churned_members"] for m in out.monthly])
    redemptions = np.array([m["redemptions"] for m in out.monthly])
    holders = int(joined.sum())
    assert churned[-2] > 0.8 * joined[-1], "most holders should have dropped out"
    assert holders > 3000
    assert abs(redemptions.sum() - 0.5 * holders) < 4 * np.sqrt(holders * 0.25)


def test_progress_moves_month_by_month_up_to_done():
    seen: list[tuple[float, str]] = []
    model = Model(
        CLASSIC, population=Population.synthetic(200, seed=1, as_of=START), months=6,
        replications=2, seed=4, baseline_policy=CLASSIC.model_copy(update={"campaigns": ()}),
    )  # fmt: skip
    model.run(progress=lambda share, message: seen.append((share, message)))
    shares = [share for share, _ in seen]
    # Two replications x (scenario + baseline) x 6 months, plus one call per replication.
    assert len(shares) >= 2 * 2 * 6
    assert shares == sorted(shares) and shares[-1] == 1.0 and 0 < shares[0] < 0.1
    assert seen[0][1] == "replication 1 of 2" and seen[-1][1] == "replication 2 of 2"


def test_result_is_immutable_bands_summary_and_json_round_trip():
    baseline = CLASSIC.model_copy(update={"campaigns": ()})
    model = Model(
        CLASSIC, population=Population.synthetic(300, seed=1, as_of=START), months=3,
        replications=3, seed=4, baseline_policy=baseline,
        behavior=DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": 30.0}),
    )  # fmt: skip
    result = model.run()
    assert model.replications == 3  # run() did not change the model
    cohorts = result.cohort_retention()
    assert len(cohorts) == 3 * 4 // 2
    assert (cohorts.query("months_since_join == 0")["p50"] == 1).all()
    assert (cohorts["p10"] <= cohorts["p50"]).all() and (cohorts["p50"] <= cohorts["p90"]).all()
    again = SimulationResult.from_json(result.to_json())
    pd.testing.assert_frame_equal(again.cohort_retention(), cohorts)
    monthly = result.monthly
    assert len(monthly) == 9
    for column in ("liability", "program_cost", "incremental_revenue", "roi", "members_Gold"):
        assert column in monthly
    assert set(result.summary()["kpi"]) >= {"revenue_net", "breakage", "roi"}
    bands = result.bands("points_closing")
    assert (bands["p10"] <= bands["p50"]).all() and (bands["p50"] <= bands["p90"]).all()
    monthly["revenue_net"] = 0
    assert result.monthly["revenue_net"].sum() > 0
    again = SimulationResult.from_json(result.to_json())
    pd.testing.assert_frame_equal(again.summary(), result.summary())
    assert again.breakage == pytest.approx(result.breakage)
    assert 0 <= result.breakage <= 1
    expected = monthly["points_closing"] * CLASSIC.points.redemption.cost_per_point
    assert (result.monthly["liability"] <= expected + 1e-9).all()


def test_cli_writes_results_and_refuses_a_bad_policy(tmp_path, capsys):
    """The run command in this process (start-up in a real process is the benchmark's job)."""
    from simulations.__main__ import main

    out = tmp_path / "results.json"
    policy = ROOT / "policies" / "examples" / "classic_four_tier.yaml"
    status = main(["run", "--policy", str(policy), "--members", "300", "--months", "2",
                   "--replications", "2", "--seed", "1", "--quiet", "--out", str(out)])  # fmt: skip
    assert status == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert set(data["summary"]["revenue_net"]) == {"p10", "p50", "p90"}
    assert len(data["monthly"]) == 4
    for key in ("replication", "month", "active_members", "points_closing", "liability"):
        assert key in data["monthly"][0]
    bad = tmp_path / "bad.yaml"
    bad.write_text(policy.read_text().replace("threshold: 3000", "threshold: -5"))
    capsys.readouterr()
    status = main(["run", "--policy", str(bad), "--members", "10", "--out",
                   str(tmp_path / "never.json")])  # fmt: skip
    assert status == 2
    assert "threshold" in capsys.readouterr().err
    assert not (tmp_path / "never.json").exists()


@pytest.mark.slow
def test_cli_in_a_real_process(tmp_path):
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = tmp_path / "results.json"
    policy = ROOT / "policies" / "examples" / "classic_four_tier.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "simulations", "run", "--policy", str(policy), "--members", "300",
         "--months", "2", "--replications", "1", "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    assert len(document["monthly"]) == 2
    cohorts = document["cohort_retention"]
    assert {row["months_since_join"] for row in cohorts} == {0, 1}
    assert all(row["p50"] == 1.0 for row in cohorts if row["months_since_join"] == 0)


def test_points_beyond_a_32_bit_lot_raise_a_clear_error():
    data = CLASSIC.model_dump(mode="json")
    # 1,000 points per ¥0.01 (the finest earn rate a policy allows) with the top multipliers:
    # one ordinary basket earns billions of points.
    data["points"]["earn"].update(points_per_unit=1000, per_amount=0.01)
    for tier in data["tiers"]["tiers"]:
        tier["benefits"]["earn_multiplier"] = 20
    policy = type(CLASSIC).model_validate(data)
    model = Model(
        policy,
        population=Population.synthetic(200, seed=1),
        months=2,
        replications=1,
        seed=1,
        start=dt.date(2027, 1, 1),
    )
    with pytest.raises(OverflowError, match="lower the earn rate or multipliers"):
        model.run()


def assert_same_output(one, other):
    """Two replications with the same figures, tiers and traced point bookings."""
    assert one.monthly == other.monthly and one.cohorts == other.cohorts
    assert one.urr == other.urr
    np.testing.assert_array_equal(one.migration, other.migration)
    np.testing.assert_array_equal(one.final_tier, other.final_tier)
    assert len(one.trace.points) == len(other.trace.points) > 100
    for a, b in zip(one.trace.points, other.trace.points, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:3] == b[1:3]
        np.testing.assert_array_equal(a[3], b[3])


@pytest.mark.parametrize(
    ("metric", "period", "thresholds"),
    [
        ("spend", {"kind": "rolling", "months": 12}, (0, 2000, 4000, 8000)),
        ("spend", {"kind": "rolling", "months": 18}, (0, 2000, 4000, 8000)),
        ("purchases", {"kind": "rolling", "months": 6}, (0, 2, 5, 9)),
        ("points", {"kind": "calendar_year"}, (0, 1000, 3000, 6000)),
    ],
)
def test_a_replication_from_kept_starts_equals_one_drawn_anew(metric, period, thresholds):
    """Starts kept by one policy and reused by others give those policies' own replications."""
    from simulations.engine import MemberStarts

    population = Population.synthetic(1000, seed=4, as_of=START)
    behavior = DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": 80.0})
    data = CLASSIC.model_dump()
    data["tiers"]["qualifying_metric"] = metric
    data["tiers"]["qualifying_period"] = period
    for tier, threshold in zip(data["tiers"]["tiers"], thresholds, strict=True):
        tier["threshold"] = threshold
    data["expiry"] = {"kind": "inactivity", "months": 2}
    data["points"]["earn"]["points_per_unit"] *= 3  # points scores unlike spend scores
    other = type(CLASSIC).model_validate(data)
    seed = np.random.SeedSequence(11).spawn(2)[1]
    args = (behavior, population, START, 3, seed)
    starts = MemberStarts()
    simulate_replication(CLASSIC, *args, starts=starts)
    assert len(starts) == 1
    # The first reuse derives the policy's scores from the kept histories, the second
    # reuses those too.
    first = simulate_replication(other, *args, trace=True, starts=starts)
    second = simulate_replication(other, *args, trace=True, starts=starts)
    assert len(starts) == 1  # reused, not drawn again
    anew = simulate_replication(other, *args, trace=True)
    assert_same_output(first, anew)
    assert_same_output(second, anew)
    # Another seed is drawn and kept; starts that do not fit are drawn for the call only.
    simulate_replication(other, *args[:-1], np.random.SeedSequence(3), starts=starts)
    assert len(starts) == 2
    none_kept = MemberStarts(max_bytes=0)
    again = simulate_replication(other, *args, trace=True, starts=none_kept)
    assert len(none_kept) == 0
    assert_same_output(again, anew)


def test_monthly_purchases_are_the_purchases_members_made_that_month():
    """Each month's purchase count is the number of purchases the trace holds for it."""
    data = CLASSIC.model_dump(mode="json")
    data["campaigns"] = [
        *data["campaigns"],
        {
            "id": "winback", "name": "Win back", "kind": "reactivation",
            "start": "2026-02-10", "end": "2026-02-10", "recency_days": 30,
        },
    ]  # fmt: skip
    policy = type(CLASSIC).model_validate(data)
    population = Population.synthetic(1200, seed=6, as_of=dt.date(2026, 1, 10))
    behavior = DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": 60.0})
    # A start that is not the 1st: the first month is partial.
    out = simulate_replication(policy, behavior, population, dt.date(2026, 1, 10), 4,
                               np.random.SeedSequence(9), trace=True)  # fmt: skip
    counted: dict[str, int] = {}
    for idx, d, _ in out.trace.purchases:
        day = dt.date(2026, 1, 10) + dt.timedelta(days=d)
        month = f"{day.year:04d}-{day.month:02d}"
        counted[month] = counted.get(month, 0) + idx.size
    reported = {row["month"]: row["purchases"] for row in out.monthly}
    assert reported == counted
    assert min(reported.values()) > 100
