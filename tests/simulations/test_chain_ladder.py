"""Breakage by chain ladder: FIFO cohort tracing, projection to ultimate, backtest."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations import chain_ladder as cl

ROOT = Path(__file__).resolve().parents[2]


def _ledger(rows):
    return pd.DataFrame(rows, columns=["member_id", "date", "kind", "points"])


def test_redemptions_and_expiries_take_each_members_oldest_points_first():
    ledger = _ledger(
        [
            ("A", "2025-01-05", "earn", 100),
            ("B", "2025-01-09", "bonus", 40),
            ("A", "2025-02-03", "earn", 50),
            ("A", "2025-03-01", "redeem", -120),  # 100 from January, 20 from February
            ("B", "2025-03-02", "earn", 10),
            ("B", "2025-03-02", "redeem", -45),  # 40 January + 5 March, same-day earn first
            ("A", "2026-02-28", "expire", -30),
            ("B", "2026-03-31", "expire", -5),
        ]
    )
    issued, flows = cl.cohort_flows(ledger)
    assert issued.to_dict() == {
        pd.Period("2025-01", "M"): 140,
        pd.Period("2025-02", "M"): 50,
        pd.Period("2025-03", "M"): 10,
    }
    got = {(str(r.cohort), str(r.month), r.kind): r.points for r in flows.itertuples()}
    assert got == {
        ("2025-01", "2025-03", "redeem"): 140,
        ("2025-02", "2025-03", "redeem"): 20,
        ("2025-03", "2025-03", "redeem"): 5,
        ("2025-02", "2026-02", "expire"): 30,
        ("2025-03", "2026-03", "expire"): 5,
    }


@st.composite
def _random_ledger(draw):
    rows = []
    for member in range(draw(st.integers(1, 6))):
        balance = 0
        for day in sorted(draw(st.lists(st.integers(0, 700), min_size=1, max_size=15))):
            date = (pd.Timestamp("2024-01-01") + pd.Timedelta(days=day)).date().isoformat()
            if balance and draw(st.booleans()):
                take = draw(st.integers(1, balance))
                rows.append(
                    (f"M{member}", date, draw(st.sampled_from(["redeem", "expire"])), -take)
                )
                balance -= take
            else:
                gain = draw(st.integers(1, 500))
                rows.append((f"M{member}", date, draw(st.sampled_from(["earn", "bonus"])), gain))
                balance += gain
    return _ledger(rows)


@settings(max_examples=60, deadline=None)
@given(_random_ledger())
def test_tracing_keeps_every_point_and_never_goes_back_in_time(ledger):
    issued, flows = cl.cohort_flows(ledger)
    for kind in ("redeem", "expire"):
        taken = -ledger.loc[ledger["kind"] == kind, "points"].sum()
        assert flows.loc[flows["kind"] == kind, "points"].sum() == taken
    assert issued.sum() == ledger.loc[ledger["points"] > 0, "points"].sum()
    assert (flows["month"] >= flows["cohort"]).all()
    out = flows.groupby("cohort")["points"].sum().reindex(issued.index, fill_value=0)
    assert (out <= issued).all()


def _pattern_ledger(pattern, months, issue=1000):
    """One member per cohort month who redeems ``pattern[a]`` of the issue at age a."""
    rows = []
    for k, month in enumerate(pd.period_range("2024-01", periods=months, freq="M")):
        member = f"M{k}"
        rows.append((member, month.start_time.date(), "earn", issue))
        for age, share in enumerate(pattern):
            rows.append((member, (month + age).start_time.date(), "redeem", -int(issue * share)))
    return _ledger(rows)


def test_chain_ladder_recovers_a_known_development_pattern():
    pattern = [0.2, 0.3, 0.1]  # URR 0.6, developed 1/3 at age 0 and 5/6 at age 1
    ledger = _pattern_ledger(pattern, months=12)
    triangle = cl.redemption_triangle(ledger, "2024-12-31")
    result = cl.chain_ladder(triangle, seasonal=False, credible=0.3)
    table = result.cohorts.set_index(result.cohorts["cohort"].astype(str))
    assert table.loc["2024-12", "developed"] == pytest.approx(1 / 3)
    assert table.loc["2024-11", "developed"] == pytest.approx(5 / 6)
    np.testing.assert_allclose(table["urr"], 0.6, rtol=1e-12)
    assert result.urr() == pytest.approx(0.6)
    assert set(table["method"]) == {"chain ladder"}


def test_immature_cohorts_get_the_prior_of_their_calendar_month():
    # Redemption only in December: a January cohort redeems 50% at age 11, a June cohort 20%
    # at age 6. A year later, the new January and June cohorts have nothing redeemed yet.
    rows = []
    for year in (2024, 2025):
        for month, share in ((1, 0.5), (6, 0.2)):
            issue = pd.Timestamp(year=year, month=month, day=1)
            member = f"{year}-{month}"
            rows.append((member, issue.date(), "earn", 1000))
            if year == 2024:
                rows.append((member, pd.Timestamp(year=year, month=12, day=5).date(),
                             "redeem", -int(1000 * share)))  # fmt: skip
    result = cl.chain_ladder(cl.redemption_triangle(_ledger(rows), "2025-07-31"))
    table = result.cohorts.set_index(result.cohorts["cohort"].astype(str))
    assert table.loc["2025-01", "method"] == "bornhuetter-ferguson"
    assert table.loc["2025-01", "urr"] == pytest.approx(0.5)
    assert table.loc["2025-06", "urr"] == pytest.approx(0.2)
    # Without the calendar, the mature cohorts' pattern and URR are mixed: both miss.
    pooled = cl.chain_ladder(cl.redemption_triangle(_ledger(rows), "2025-07-31"), seasonal=False)
    plain = pooled.cohorts.set_index(pooled.cohorts["cohort"].astype(str))["urr"]
    assert abs(plain["2025-01"] - 0.5) > 0.1
    assert abs(plain["2025-06"] - 0.2) > 0.1


@pytest.mark.slow
def test_backtest_on_the_shipped_sample_within_stated_tolerance():
    """A year before the data ends, a year of cohorts: estimate within 6 points of actual."""
    ledger = pd.read_csv(ROOT / "sample_data" / "data" / "points_ledger.csv.gz",
                         usecols=["member_id", "date", "kind", "points"])  # fmt: skip
    table = cl.backtest(ledger, ["2025-10-31"])
    row = table.iloc[0]
    assert row["resolved"] == pytest.approx(1.0)
    assert 0.45 < row["actual"] < 0.55
    assert abs(row["error"]) < 0.06
