"""The one breakage definition: expired / (redeemed + expired) over a roll-forward."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.breakage import (
    OPENING_COHORT,
    breakage,
    breakage_by_month,
    cohort_breakage,
    cohort_outcomes,
    redemption_rate,
    roll_forward_breakage,
    roll_forward_columns,
)


def _roll_forward(opening, flows):
    """A balanced roll-forward from an opening balance and (issued, redeemed, expired)."""
    rows, balance = [], opening
    for k, (issued, redeemed, expired) in enumerate(flows):
        closing = balance + issued - redeemed - expired
        rows.append(
            {
                "month": f"2025-{k + 1:02d}",
                "opening": balance,
                "issued": issued,
                "redeemed": redeemed,
                "expired": expired,
                "closing": closing,
            }
        )
        balance = closing
    return pd.DataFrame(rows)


def test_definition_on_known_numbers():
    assert breakage(300, 100) == pytest.approx(0.25)
    assert redemption_rate(300, 100) == pytest.approx(0.75)
    assert breakage([100, 200], [40, 60]) == pytest.approx(100 / 400)
    assert math.isnan(breakage(0, 0))


def test_negative_totals_are_refused():
    with pytest.raises(ValueError, match="positive"):
        breakage(-5, 10)


def test_unresolved_points_do_not_count():
    # Issuing more points that are still held does not change breakage, unlike expired/issued.
    base = _roll_forward(0, [(1000, 300, 0), (0, 0, 100)])
    more = _roll_forward(0, [(5000, 300, 0), (0, 0, 100)])
    assert roll_forward_breakage(base) == roll_forward_breakage(more) == pytest.approx(0.25)


def test_history_and_simulation_columns_give_the_same_figure():
    history = _roll_forward(50, [(100, 30, 10), (80, 20, 30)])
    simulated = history.rename(columns={c: f"points_{c}" for c in history.columns[1:]})
    assert roll_forward_breakage(history) == roll_forward_breakage(simulated)
    assert roll_forward_breakage(history, start="2025-02") == pytest.approx(30 / 50)
    assert roll_forward_breakage(history, end="2025-01") == pytest.approx(10 / 40)


def test_unbalanced_roll_forward_names_the_month():
    table = _roll_forward(0, [(100, 30, 10), (80, 20, 30)])
    table.loc[1, "closing"] += 1
    with pytest.raises(ValueError, match="2025-02"):
        roll_forward_columns(table)


def test_missing_columns_say_what_is_expected():
    with pytest.raises(ValueError, match="points_redeemed"):
        roll_forward_breakage(pd.DataFrame({"month": ["2025-01"], "issued": [1]}))


def test_cumulative_and_monthly_breakage():
    table = _roll_forward(0, [(100, 0, 0), (0, 30, 10), (0, 0, 60)])
    monthly = breakage_by_month(table, cumulative=False)
    assert math.isnan(monthly.iloc[0])
    assert monthly.iloc[1:].tolist() == pytest.approx([0.25, 1.0])
    assert breakage_by_month(table).iloc[-1] == pytest.approx(70 / 100)


def test_cohorts_are_resolved_first_in_first_out():
    # Opening 100; Jan issues 50; Feb expires 120 (all of the opening lot, then 20 of Jan)
    # and redeems 10 of Jan.
    table = _roll_forward(100, [(50, 0, 0), (0, 10, 120)])
    outcomes = cohort_outcomes(table)
    by_cohort = outcomes.groupby("cohort")[["redeemed", "expired"]].sum()
    assert by_cohort.loc[OPENING_COHORT].tolist() == [0, 100]
    assert by_cohort.loc["2025-01"].tolist() == [10, 20]
    cohorts = cohort_breakage(table).set_index("cohort")
    assert cohorts.loc["2025-01", "outstanding"] == 20
    assert cohorts.loc["2025-01", "breakage"] == pytest.approx(20 / 30)


def test_taking_more_than_is_held_is_an_error():
    table = pd.DataFrame({"month": ["2025-01"], "issued": [10], "redeemed": [20], "expired": [0]})
    with pytest.raises(ValueError, match="more points than were held"):
        cohort_outcomes(table)


flows = st.lists(
    st.tuples(st.integers(0, 10_000), st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=24
)


@settings(max_examples=60, deadline=None)
@given(opening=st.integers(0, 10_000), shares=flows)
def test_cohort_attribution_conserves_points(opening, shares):
    # Any balanced roll-forward: cohorts add up to the months and to what was issued.
    rows, balance = [], opening
    for issued, share_out, share_expired in shares:
        available = balance + issued
        out = int(available * share_out)
        expired = int(out * share_expired)
        rows.append((issued, out - expired, expired))
        balance = available - out
    table = _roll_forward(opening, rows)
    outcomes = cohort_outcomes(table)
    per_month = outcomes.groupby("month")[["redeemed", "expired"]].sum()
    per_month = per_month.reindex(table["month"], fill_value=0)
    np.testing.assert_allclose(per_month["redeemed"], table["redeemed"])
    np.testing.assert_allclose(per_month["expired"], table["expired"])
    cohorts = cohort_breakage(table)
    assert (cohorts["outstanding"] >= -1e-9).all()
    assert cohorts["outstanding"].sum() == pytest.approx(table["closing"].iloc[-1])
    total = breakage(cohorts["redeemed"], cohorts["expired"])
    same = roll_forward_breakage(table)
    assert (math.isnan(total) and math.isnan(same)) or total == pytest.approx(same)
    assert cohorts["breakage"].dropna().between(0, 1).all()


def test_forecast_breakage_is_the_same_definition_as_history():
    # Each replication's breakage is the roll-forward breakage of its own monthly records
    # (before: expired / (redeemed + expired + points held by dropped-out members)).
    import datetime as dt
    from pathlib import Path

    from policies.io import load_policy
    from simulations import Model, Population

    root = Path(__file__).resolve().parents[2]
    policy = load_policy(root / "policies" / "examples" / "classic_four_tier.yaml")
    start = dt.date(2026, 1, 1)
    model = Model(
        policy, population=Population.synthetic(400, seed=3, as_of=start), months=12,
        replications=2, seed=5, start=start,
    )  # fmt: skip
    result = model.run()
    monthly = result.monthly
    for replication, (_, rows) in enumerate(monthly.groupby("replication", sort=True)):
        expected = roll_forward_breakage(rows)
        assert 1 - result.urr_by_replication[replication] == pytest.approx(expected)
