"""The backtest: calibrate up to a cutoff, forecast the months after it, compare with the data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from policies.io import load_policy
from simulations.__main__ import main
from simulations.backtest import (
    METRICS,
    actual_monthly,
    backtest,
    holdout_months,
    no_program_policy,
    population_at,
)
from simulations.behavior import DEFAULT_BEHAVIOR
from simulations.calibration import calibrate
from simulations.calibration.bgnbd import conditional_expected_purchases
from simulations.calibration.data import summarize_transactions

ROOT = Path(__file__).resolve().parents[2]
CLASSIC = load_policy(ROOT / "policies" / "examples" / "classic_four_tier.yaml")


def test_holdout_months_stop_where_the_data_ends():
    months = holdout_months(dt.date(2025, 10, 31), dt.date(2026, 4, 15), 12)
    assert [str(m) for m in months] == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert len(holdout_months(dt.date(2025, 10, 31), dt.date(2026, 10, 31), 12)) == 12


def _tiny():
    tx = pd.DataFrame(
        {
            "member_id": ["a", "a", "a", "b", "b", "c"],
            "date": pd.to_datetime(
                ["2025-01-10", "2025-01-10", "2025-03-05", "2025-02-01", "2025-04-02", "2025-04-20"]
            ),  # fmt: skip
            "amount": [100.0, 50.0, 80.0, 200.0, 20.0, 60.0],
        }
    )
    ledger = pd.DataFrame(
        {
            "member_id": ["a", "a", "b", "b", "c", "a"],
            "date": pd.to_datetime(
                ["2025-01-10", "2025-03-05", "2025-02-01", "2025-04-02", "2025-04-20", "2025-04-30"]
            ),  # fmt: skip
            "kind": ["earn", "earn", "earn", "redeem", "earn", "expire"],
            "points": [150, 80, 200, -100, 60, -30],
        }
    )
    members = pd.DataFrame(
        {"member_id": ["a", "b", "c"], "join_date": ["2025-01-10", "2025-02-01", "2025-04-20"]}
    )
    return tx, ledger, members


def test_actuals_by_segment_count_purchase_days_and_points():
    tx, ledger, members = _tiny()
    months = [pd.Period("2025-04", "M")]
    table = actual_monthly(tx, ledger, members, months, dt.date(2025, 3, 31), CLASSIC)
    value = table.set_index(["metric", "segment"])["actual"]
    assert value[("purchases", "existing")] == 1  # b on 04-02
    assert value[("purchases", "new")] == 1  # c joined after the cutoff
    assert value[("revenue_gross", "all")] == 80.0
    assert value[("points_redeemed", "existing")] == 100
    assert value[("points_expired", "all")] == 30
    assert value[("points_closing", "existing")] == 150 + 80 + 200 - 100 - 30
    assert value[("points_closing", "new")] == 60
    # Everyone bought within 90 days of the month end: all active (c is new).
    assert value[("active_members", "all")] == 3


def test_population_as_of_the_day_after_the_cutoff():
    tx, ledger, members = _tiny()
    pop = population_at(tx, ledger, members, dt.date(2025, 4, 1))
    assert sorted(pop.member_id) == ["a", "b"]  # c joined later; b's 04-02 purchase is later
    i = list(pop.member_id).index("a")
    assert pop.repeat_purchases[i] == 1  # two receipts on 01-10 are one purchase day
    assert pop.points_balance[i] == 230
    assert pop.join_day[i] == -(dt.date(2025, 4, 1) - dt.date(2025, 1, 10)).days
    # Column 11 is March 2025 (the month before as_of), column 9 January.
    assert pop.purchases_by_month[i, 9] == 1 and pop.purchases_by_month[i, 11] == 1
    assert pop.spend_by_month[i, 9] == 15_000


def test_no_program_policy_earns_nothing():
    from policies import rules

    none = no_program_policy(CLASSIC)
    assert len(none.tiers.tiers) == 1 and none.campaigns == ()
    assert none.segments == CLASSIC.segments
    priced = rules.price_purchases(
        none, dt.date(2025, 11, 8), np.array([999_999.0, 1.0]), np.zeros(2, dtype=np.int64)
    )
    assert priced.points.sum() == 0 and priced.discount.sum() == 0


@pytest.fixture(scope="module")
def none_backtest(bgnbd_log):
    return backtest(bgnbd_log, cutoff="2024-12-31", months=6, policy=None, arrivals="actual",
                    replications=8, seed=3, parameter_uncertainty=False)  # fmt: skip


def test_without_program_the_engine_reproduces_the_fitted_bgnbd(none_backtest, bgnbd_log):
    # Done-when of the backtest: P50 of the holdout purchases of existing members within 3% of
    # the fitted BG/NBD's own conditional expectation (calibrated parameters used unedited).
    fit = calibrate(bgnbd_log[bgnbd_log["date"] <= "2024-12-31"], calibration_end="2024-12-31")
    summary = summarize_transactions(bgnbd_log, "2024-12-31")
    horizon = (dt.date(2025, 6, 30) - dt.date(2024, 12, 31)).days
    expected = conditional_expected_purchases(
        fit.bgnbd.params, horizon, summary["frequency"], summary["recency"], summary["T"]
    ).sum()
    rows = none_backtest.summary.set_index(["metric", "segment"])
    p50 = rows.loc[("purchases", "existing"), "p50"]
    assert p50 == pytest.approx(expected, rel=0.03)
    # The reference forecast is that same expectation.
    ref = none_backtest.reference_summary.set_index(["reference", "metric", "segment"])
    assert ref.loc[("bgnbd_gamma_gamma", "purchases", "existing"), "forecast"] == pytest.approx(
        expected, rel=1e-6
    )


def test_records_are_tidy_and_errors_are_p50_over_actual(none_backtest):
    monthly, summary = none_backtest.monthly, none_backtest.summary
    assert list(monthly.columns) == ["month", "metric", "segment", "actual", "p10", "p50", "p90"]
    assert set(monthly["segment"]) == {"all", "existing", "new"}
    assert set(monthly["metric"]) == {"purchases", "active_members", "revenue_gross"}
    assert (monthly["p10"] <= monthly["p50"]).all() and (monthly["p50"] <= monthly["p90"]).all()
    assert len(monthly) == 6 * 3 * 3
    with_actual = summary.dropna(subset=["error"])
    np.testing.assert_allclose(with_actual["error"], with_actual["p50"] / with_actual["actual"] - 1)
    # All = existing + new (no new members: recorded arrivals are zero in this log).
    wide = monthly.pivot_table(index=["month", "metric"], columns="segment", values="actual")
    np.testing.assert_allclose(wide["all"], wide["existing"] + wide["new"])
    purchases = summary.set_index(["metric", "segment"]).loc[("purchases", "all"), "actual"]
    months = monthly[(monthly["metric"] == "purchases") & (monthly["segment"] == "all")]
    assert purchases == months["actual"].sum()
    cov = none_backtest.coverage
    assert 0 <= cov["share"] <= 1 and cov["cells"] == 6 * 3


def test_cli_writes_the_document_and_refuses_bad_input(tmp_path, bgnbd_log):
    small = bgnbd_log[bgnbd_log["member_id"].isin(bgnbd_log["member_id"].unique()[:800])]
    path = tmp_path / "tx.csv"
    small.to_csv(path, index=False)
    out = tmp_path / "backtest.json"
    argv = ["backtest", "--cutoff", "2024-12-31", "--months", "2", "--policy", "none",
            "--transactions", str(path), "--replications", "2", "--out", str(out)]  # fmt: skip
    status = main(argv)
    assert status == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert set(document) >= {"monthly", "summary", "breakage", "coverage", "references"}
    assert {r["segment"] for r in document["monthly"]} == {"all", "existing", "new"}
    assert set(document["summary"][0]) == {"metric", "segment", "actual", "p10", "p50", "p90",
                                           "error"}  # fmt: skip
    assert {r["reference"] for r in document["references"]["summary"]} == {
        "seasonal_naive",
        "bgnbd_gamma_gamma",
    }
    late = tmp_path / "late.json"
    status = main(["backtest", "--cutoff", "2025-12-30", "--policy", "none", "--transactions",
                   str(path), "--out", str(late)])  # fmt: skip
    assert status == 2 and not late.exists()


@pytest.mark.slow
def test_policy_backtest_on_a_generated_program():
    from sample_data import generate

    program = generate(n_members=1_500, seed=11)
    result = backtest(
        program.transactions, program.points_ledger, program.members, cutoff="2025-10-31",
        months=6, policy=CLASSIC, replications=3, seed=1,
    )  # fmt: skip
    assert set(result.monthly["metric"]) == set(METRICS)
    assert result.breakage["actual"] is not None and 0 <= result.breakage["p50"] <= 1


def test_program_effects_act_relative_to_the_calibration_policy(bgnbd_log, none_backtest):
    # The log was recorded under the classic program, whose effects its rates contain.
    # Simulating that same program (the status quo) must reproduce the fitted behavior, not
    # add the default tier lift, goal gradient and post-redemption lift on top (before: +5%).
    result = backtest(bgnbd_log, cutoff="2024-12-31", months=6, policy=CLASSIC,
                      arrivals="actual", replications=8, seed=3)  # fmt: skip
    ref = none_backtest.reference_summary.set_index(["reference", "metric", "segment"])
    expected = ref.loc[("bgnbd_gamma_gamma", "purchases", "existing"), "forecast"]
    rows = result.summary.set_index(["metric", "segment"])
    assert rows.loc[("purchases", "existing"), "p50"] == pytest.approx(expected, rel=0.03)


def test_parameter_uncertainty_widens_the_band(bgnbd_log, none_backtest):
    # On by default: a band of simulation noise alone is too narrow to read as a forecast.
    wide = backtest(bgnbd_log, cutoff="2024-12-31", months=6, policy=None, arrivals="actual",
                    replications=8, seed=3)  # fmt: skip
    key = ("purchases", "existing")
    narrow = none_backtest.summary.set_index(["metric", "segment"]).loc[key]
    drawn = wide.summary.set_index(["metric", "segment"]).loc[key]
    assert drawn["p90"] - drawn["p10"] > narrow["p90"] - narrow["p10"]
    assert drawn["p50"] == pytest.approx(narrow["p50"], rel=0.05)
    assert wide.inputs["parameter_uncertainty"] is True


def _held_points():
    """a: 1000 points from May 2024 redeemed in December, 1000 from April 2025 held; b: 600
    from May 2024 held."""
    tx = pd.DataFrame(
        {
            "member_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-05-10", "2025-04-10", "2024-05-10"]),
            "amount": [1000.0, 1000.0, 600.0],
        }
    )
    ledger = pd.DataFrame(
        {
            "member_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2024-05-10", "2024-12-05", "2025-04-10", "2024-05-10"]),
            "kind": ["earn", "redeem", "earn", "earn"],
            "points": [1000, -1000, 1000, 600],
        }
    )
    members = pd.DataFrame({"member_id": ["a", "b"], "join_date": ["2024-05-10", "2024-05-10"]})
    return tx, ledger, members


def test_opening_points_keep_the_month_they_were_earned_in():
    # Before: a known balance was spread evenly over 12 lots, so a's points (all from April
    # 2025: the December redemption took the May 2024 ones) partly expired in May 2025 and
    # only a twelfth of b's May 2024 points did.
    from simulations.engine import Model

    tx, ledger, members = _held_points()
    pop = population_at(tx, ledger, members, dt.date(2025, 5, 1))
    lots = dict(zip(pop.member_id, pop.points_lots.tolist(), strict=True))
    assert lots["a"] == [0] * 11 + [1000]  # column 11 = April 2025
    assert lots["b"] == [600] + [0] * 11  # column 0 = May 2024
    quiet = CLASSIC.model_copy(update={"campaigns": ()})
    behavior = DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": 0.0})
    model = Model(quiet, behavior=behavior, population=pop, months=1, replications=1, seed=1,
                  start=dt.date(2025, 5, 1))  # fmt: skip
    month = model.run().monthly.iloc[0]
    assert month["points_opening"] == 1600
    assert month["points_expired"] == 600  # b's May 2024 lot, none of a's


def test_both_segments_share_each_replications_parameter_draws(bgnbd_log):
    # Existing and new members are simulated apart and summed; with separate draws the sum's
    # band carried each model's estimation error twice, half-cancelled (before: draws came
    # from each segment's own simulation seed).
    from simulations.backtest import parameter_draws

    fit = calibrate(bgnbd_log[bgnbd_log["date"] <= "2024-12-31"], calibration_end="2024-12-31")
    new = fit.behavior_params()
    existing = new.model_copy(update={"new_members_per_month": 0.0})
    drawn_new = parameter_draws(fit, new, 4, seed=7)
    drawn_existing = parameter_draws(fit, existing, 4, seed=7)
    assert [d["bgnbd"] for d in drawn_new] == [d["bgnbd"] for d in drawn_existing]
    assert len({d["bgnbd"] for d in drawn_new}) == 4
    assert "new_members_trend" in drawn_new[0] and "new_members_trend" not in drawn_existing[0]
    edited = new.model_copy(update={"bgnbd": new.bgnbd.model_copy(update={"r": 1.0})})
    assert "bgnbd" not in parameter_draws(fit, edited, 1, seed=7)[0]  # the user's value stays
