"""Deferred revenue of loyalty points (IFRS 15 / CAS 14): Example 52, roll-forward, journal."""

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations import deferral, finance, results

EXAMPLE_52 = pd.DataFrame(
    {
        "period": ["Year 1", "Year 2"],
        "sales": [100_000.0, 0.0],
        "points_issued": [10_000, 0],
        "points_redeemed": [4_500, 4_000],
        "expected_redemption_rate": [0.95, 0.97],
    }
)


def test_illustrative_example_52_to_the_unit():
    """IFRS 15 IE267-IE270: 8,676 allocated; 4,110 in year 1; 7,603 cumulative, 3,493 in year 2."""
    schedule = deferral.deferral_schedule(EXAMPLE_52, point_value=1.0)
    assert schedule["ssp_points"].round().tolist() == [9_500, 0]
    assert round(schedule["allocated_to_points"].iloc[0]) == 8_676
    assert round(schedule["revenue_goods"].iloc[0]) == 91_324
    assert round(schedule["revenue_points"].iloc[0]) == 4_110
    assert round(schedule["revenue_points"].cumsum().iloc[1]) == 7_603
    assert round(schedule["revenue_points"].iloc[1]) == 3_493
    assert round(schedule["contract_liability_closing"].iloc[0]) == 8_676 - 4_110
    assert round(schedule["contract_liability_closing"].iloc[1]) == 8_676 - 7_603


def test_example_52_year_2_catch_up_is_the_restatement_of_year_1():
    schedule = deferral.deferral_schedule(EXAMPLE_52, point_value=1.0)
    allocated = schedule["allocated_to_points"].iloc[0]
    # Year 1's cumulative 4,500 redeemed restated at 9,700 expected instead of 9,500.
    expected = allocated * 4_500 / 9_700 - allocated * 4_500 / 9_500
    assert schedule["revenue_catch_up"].iloc[1] == pytest.approx(expected, abs=1e-9)
    assert schedule["revenue_catch_up"].iloc[0] == 0.0
    parts = schedule[["revenue_redemption", "revenue_breakage", "revenue_catch_up"]].sum(axis=1)
    np.testing.assert_allclose(parts, schedule["revenue_points"], atol=1e-9)
    # Year 1: each redeemed point earns 0.8676 at face, plus its share of the 5% breakage.
    assert schedule["revenue_redemption"].iloc[0] == pytest.approx(4_500 * allocated / 10_000)
    assert schedule["revenue_breakage"].iloc[0] == pytest.approx(
        allocated * 500 / 10_000 * 4_500 / 9_500
    )


def test_cost_basis_is_a_separate_measure_of_the_points_expected_to_be_redeemed():
    schedule = deferral.deferral_schedule(EXAMPLE_52, point_value=1.0, cost_per_point=0.4)
    # End of year 1: 9,500 expected − 4,500 redeemed = 5,000 points still to be honoured.
    assert schedule["points_expected_outstanding"].tolist() == pytest.approx([5_000, 1_200])
    assert schedule["cost_to_fulfil"].tolist() == pytest.approx([2_000, 480])


def test_journal_balances_and_names_accounts():
    schedule = deferral.deferral_schedule(EXAMPLE_52, point_value=1.0)
    journal = deferral.journal_entries(schedule)
    assert set(journal.columns) >= {"period", "entry", "account", "account_name", "debit", "credit"}
    per_entry = journal.groupby(["period", "entry"])[["debit", "credit"]].sum()
    np.testing.assert_allclose(per_entry["debit"], per_entry["credit"], atol=0)
    year_1 = journal[journal["period"] == "Year 1"]
    sale = year_1[year_1["entry"] == "sale"].set_index("account")
    assert sale.loc["cash", "debit"] == 100_000.00
    assert sale.loc["contract_liability", "credit"] == 8_675.80
    assert sale.loc["revenue_goods", "credit"] == 91_324.20
    year_2 = journal[journal["period"] == "Year 2"]
    estimate = year_2[year_2["entry"] == "estimate_change"].set_index("account")
    # The revised estimate lowers cumulative revenue: the catch-up is a debit to revenue.
    assert estimate.loc["revenue_estimate_change", "debit"] > 0
    assert estimate.loc["contract_liability", "credit"] > 0
    # The liability account in the journal rolls to the schedule's closing balance.
    liability = journal[journal["account"] == "contract_liability"]
    balance = (liability["credit"] - liability["debit"]).sum()
    assert balance == pytest.approx(schedule["contract_liability_closing"].iloc[-1], abs=0.02)


def test_journal_exports_to_csv_and_excel():
    journal = deferral.journal_entries(deferral.deferral_schedule(EXAMPLE_52, point_value=1.0))
    text = journal.to_csv(index=False)
    assert pd.read_csv(io.StringIO(text)).shape == journal.shape
    workbook = finance.excel_report({"journal": journal})
    back = pd.read_excel(io.BytesIO(workbook), sheet_name="journal")
    assert back.shape == journal.shape


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sales": [-1.0, 0.0]}, "sales"),
        ({"points_issued": [10_000, -5]}, "points_issued"),
        ({"expected_redemption_rate": [0.95, 1.5]}, "expected_redemption_rate"),
        ({"expected_redemption_rate": [0.0, 0.97]}, "expected_redemption_rate"),
        ({"points_redeemed": [4_500, 6_000]}, "points_redeemed"),
        ({"expected_redemption_rate": [0.30, 0.97]}, "already redeemed"),
        ({"sales": ["lots", 0.0]}, "sales"),
    ],
)
def test_bad_periods_name_the_row_column_and_what_is_valid(change, message):
    frame = EXAMPLE_52.assign(**change)
    with pytest.raises(deferral.PeriodsError, match=message) as caught:
        deferral.deferral_schedule(frame, point_value=1.0)
    assert "row" in str(caught.value)


def test_missing_columns_and_bad_point_value_are_reported():
    with pytest.raises(deferral.PeriodsError, match="points_redeemed"):
        deferral.deferral_schedule(EXAMPLE_52.drop(columns="points_redeemed"), point_value=1.0)
    with pytest.raises(deferral.PeriodsError, match="point_value"):
        deferral.deferral_schedule(EXAMPLE_52, point_value=0.0)


@st.composite
def _periods(draw):
    n = draw(st.integers(1, 12))
    sales = draw(st.lists(st.floats(0, 1e6), min_size=n, max_size=n))
    issued = draw(st.lists(st.integers(0, 100_000), min_size=n, max_size=n))
    redeemed, rates, held, cum_issued, cum_redeemed = [], [], 0, 0, 0
    for k in range(n):
        held += issued[k]
        cum_issued += issued[k]
        r = draw(st.integers(0, held))
        held -= r
        cum_redeemed += r
        redeemed.append(r)
        floor = cum_redeemed / cum_issued if cum_issued else 0.0
        rates.append(draw(st.floats(max(floor, 0.01), 1.0)))
    frame = pd.DataFrame(
        {
            "period": [f"P{k}" for k in range(n)],
            "sales": sales,
            "points_issued": issued,
            "points_redeemed": redeemed,
            "expected_redemption_rate": rates,
        }
    )
    return frame


@settings(max_examples=60, deadline=None)
@given(_periods(), st.floats(0.001, 10.0))
def test_liability_never_negative_and_rolls_forward(periods, value):
    schedule = deferral.deferral_schedule(periods, point_value=value)
    scale = 1e-9 * max(1.0, schedule["allocated_to_points"].sum())
    assert (schedule["contract_liability_closing"] >= -scale).all()
    roll = (
        schedule["contract_liability_opening"]
        + schedule["allocated_to_points"]
        - schedule["revenue_points"]
    )
    np.testing.assert_allclose(roll, schedule["contract_liability_closing"], atol=scale)
    np.testing.assert_allclose(
        schedule["contract_liability_opening"].iloc[1:].to_numpy(),
        schedule["contract_liability_closing"].iloc[:-1].to_numpy(),
        atol=0,
    )
    np.testing.assert_allclose(
        schedule["allocated_to_points"] + schedule["revenue_goods"], schedule["sales"], rtol=1e-12
    )
    assert (schedule["allocated_to_points"] <= schedule["sales"] + 1e-9).all()


@settings(max_examples=60, deadline=None)
@given(_periods(), st.floats(0.001, 10.0))
def test_everything_allocated_is_recognised_once_every_point_is_resolved(periods, value):
    # Resolved: the final estimate equals what was actually redeemed of all points issued.
    issued = periods["points_issued"].sum()
    redeemed = periods["points_redeemed"].sum()
    if redeemed == 0:
        return  # no redemption pattern: nothing is recognised until the estimate says so
    final = periods.copy()
    final.loc[final.index[-1], "expected_redemption_rate"] = redeemed / issued
    schedule = deferral.deferral_schedule(final, point_value=value)
    allocated = schedule["allocated_to_points"].sum()
    assert schedule["revenue_points"].sum() == pytest.approx(allocated, rel=1e-9, abs=1e-6)
    assert schedule["contract_liability_closing"].iloc[-1] == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(_periods(), st.floats(0.001, 10.0), st.floats(1.01, 3.0))
def test_deferred_share_grows_with_the_value_of_a_point(periods, value, factor):
    low = deferral.deferral_schedule(periods, point_value=value)
    high = deferral.deferral_schedule(periods, point_value=value * factor)
    assert (high["allocated_to_points"] >= low["allocated_to_points"] - 1e-9).all()


def test_sensitivity_moves_each_basis_with_its_own_drivers():
    table = finance.schedule_sensitivity(EXAMPLE_52, point_value=1.0, cost_per_point=0.4)
    base = table[table["driver"] == "base"].iloc[0]
    assert base["contract_liability"] == pytest.approx(
        deferral.deferral_schedule(EXAMPLE_52, 1.0)["contract_liability_closing"].iloc[-1]
    )
    rows = table.set_index(["driver", "case"])
    # More breakage: fewer points to honour (cost down); the final rate 0.97 -> 0.92.
    assert rows.loc[("breakage", "high"), "input"] == pytest.approx(0.08)
    assert rows.loc[("breakage", "high"), "cost_to_fulfil"] == pytest.approx(0.4 * (9_200 - 8_500))
    # Breakage 3% less 5 points stops at 0 (the rate is capped at 1).
    assert rows.loc[("breakage", "low"), "input"] == pytest.approx(0.0)
    # Cost per point does not move the contract liability; value per point does not move cost.
    assert rows.loc[("cost_per_point", "high"), "contract_liability_change"] == 0
    assert rows.loc[("point_value", "high"), "cost_to_fulfil_change"] == 0
    assert rows.loc[("point_value", "high"), "contract_liability_change"] > 0
    assert rows.loc[("cost_per_point", "low"), "cost_to_fulfil"] == pytest.approx(0.32 * 1_200)


def _monthly(revenue, cost):
    rows = []
    for rep, (rev, cst) in enumerate(zip(revenue, cost, strict=True)):
        for month in ("2026-01", "2026-02"):
            rows.append(
                {
                    "replication": rep,
                    "month": month,
                    "revenue_net": rev / 2,
                    "program_cost": cst / 2,
                }
            )
    return pd.DataFrame(rows)


def test_profit_not_revenue_a_generous_policy_can_lose_money():
    # +100,000 revenue for +30,000 program cost: ROI on revenue 2.3, but at a 20% margin the
    # extra revenue keeps 20,000, so profit falls by 10,000.
    baseline = _monthly([1_000_000, 1_100_000], [50_000, 55_000])
    scenario = _monthly([1_100_000, 1_200_000], [80_000, 85_000])
    effect = finance.profit_effect(scenario, baseline, gross_margin_pct=20)
    assert effect["incremental_revenue"]["p50"] == pytest.approx(100_000)
    assert effect["incremental_cost"]["p50"] == pytest.approx(30_000)
    assert effect["incremental_gross_profit"]["p50"] == pytest.approx(-10_000)
    assert effect["roi_profit"]["p50"] == pytest.approx(-1 / 3)
    rich = finance.profit_effect(scenario, baseline, gross_margin_pct=60)
    assert rich["incremental_gross_profit"]["p50"] == pytest.approx(30_000)
    gp = finance.gross_profit(baseline, 40)
    assert gp.tolist() == pytest.approx([400_000 - 50_000, 440_000 - 55_000])
    with pytest.raises(ValueError, match="gross_margin_pct"):
        finance.gross_profit(baseline, 140)


def test_profit_kpis_read_the_baseline_a_run_carries():
    baseline = _monthly([1_000_000, 1_100_000], [50_000, 55_000])
    scenario = _monthly([1_100_000, 1_200_000], [80_000, 85_000])
    alone = finance.profit_kpis(scenario, 20)
    assert list(alone) == ["gross_profit"]
    assert alone["gross_profit"]["p50"] == pytest.approx((220_000 + 240_000) / 2 - 82_500)
    carried = scenario.assign(
        baseline_revenue_net=baseline["revenue_net"],
        baseline_program_cost=baseline["program_cost"],
    )
    explicit = finance.profit_kpis(scenario, 20, baseline=baseline, baseline_margin_pct=20)
    assert finance.profit_kpis(carried, 20) == explicit
    assert explicit["incremental_gross_profit"]["p50"] == pytest.approx(-10_000)
    assert {k.name for k in results.PROFIT_KPIS} <= set(explicit)


def test_fulfil_sensitivity_starts_from_the_engines_liability():
    monthly = pd.DataFrame(
        {
            "replication": [0, 0, 1, 1, 2, 2],
            "month": ["2026-01", "2026-02"] * 3,
            "points_closing": [5, 1_000, 5, 2_000, 5, 4_000],
        }
    )
    moves = finance.fulfil_sensitivity(monthly, [0.5, 0.6, 0.7], cost_per_point=0.01)
    assert moves[("base", "base")] == pytest.approx(2_000 * 0.6 * 0.01)  # P50 of 5, 12, 28
    assert moves[("breakage", "high")] == pytest.approx(2_000 * 0.55 * 0.01)
    assert moves[("breakage", "low")] == pytest.approx(2_000 * 0.65 * 0.01)
    assert moves[("cost_per_point", "high")] == pytest.approx(2_000 * 0.6 * 0.012)
    assert moves[("point_value", "high")] == moves[("base", "base")]
