import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.io import load_policy
from policies.ledger import replay
from simulations.analytics import (
    breakage_to_date,
    cohort_retention,
    concentration_curve,
    four_quadrants,
    lifecycle_states,
    points_roll_forward,
    policy_quadrants,
    revenue_concentration,
    rfm_scores,
)
from simulations.calibration import CalibrationDataError

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"


def tx(rows):
    return pd.DataFrame(rows, columns=["member_id", "date", "amount"])


# Four members over January 2024:
# A: 4 purchase days, 1,000 in all; B: 1 day, 900; C: 5 days (one day twice), 50; D: 1 day, 10.
LOG = tx(
    [("A", f"2024-01-0{d}", 250.0) for d in (1, 2, 3, 4)]
    + [("B", "2024-01-05", 900.0)]
    + [("C", f"2024-01-0{d}", 10.0) for d in (1, 2, 3, 4)]
    + [("C", "2024-01-04", 5.0), ("C", "2024-01-06", 5.0)]
    + [("D", "2024-01-31", 10.0)]
)


def test_four_quadrants_with_cut_offs():
    table = four_quadrants(LOG, min_purchases=3, min_spend=500)
    assert table["quadrant"].to_dict() == {
        "A": "close_friends",
        "B": "butterflies",
        "C": "barnacles",
        "D": "passers_by",
    }
    # C bought twice on 4 January: one purchase that day.
    assert table.loc["C", "purchases"] == 5
    assert table.loc["C", "spend"] == 50.0


def test_four_quadrants_split_at_the_median_by_default():
    # Purchases 4, 1, 5, 1 -> median 2.5; spend 1000, 900, 50, 10 -> median 475.
    table = four_quadrants(LOG)
    assert table["quadrant"].tolist() == ["close_friends", "butterflies", "barnacles", "passers_by"]
    assert table.attrs["high_spend"] == "> 475.00 (median)"


def test_four_quadrants_period_and_non_buyers():
    table = four_quadrants(LOG, start="2024-01-05", min_purchases=1, min_spend=100, members=["E"])
    assert table.loc["B", "quadrant"] == "close_friends"
    assert table.loc["A", "purchases"] == 0
    assert table.loc["E", "quadrant"] == "passers_by"


def test_rfm_scores_by_hand():
    scores = rfm_scores(LOG, as_of="2024-01-31", bins=4)
    assert scores["recency_days"].to_dict() == {"A": 27, "B": 26, "C": 25, "D": 0}
    assert scores["r_score"].to_dict() == {"A": 1, "B": 2, "C": 3, "D": 4}
    assert scores["f_score"].to_dict() == {"A": 3, "B": 2, "C": 4, "D": 2}  # B, D tie
    assert scores["m_score"].to_dict() == {"A": 4, "B": 3, "C": 2, "D": 1}
    assert scores.loc["A", "rfm_code"] == "134"
    assert scores.loc["A", "rfm_total"] == 8


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1e5, allow_nan=False), min_size=1, max_size=50))
def test_rfm_monetary_score_is_monotone(spends):
    log = tx([(f"M{i}", "2024-01-01", v) for i, v in enumerate(spends)])
    scores = rfm_scores(log)
    ordered = scores.sort_values("monetary")
    assert ordered["m_score"].is_monotonic_increasing
    assert scores["m_score"].between(1, 5).all()


def test_lifecycle_states_by_hand():
    members = pd.DataFrame(
        {
            "member_id": ["new", "new2", "active", "silent", "dormant", "churned", "never", "late"],
            "join_date": [
                "2024-06-10",
                "2024-06-10",
                "2023-01-01",
                "2023-01-01",
                "2023-01-01",
                "2023-01-01",
                "2024-02-01",
                "2024-07-05",
            ],
        }
    )
    log = tx(
        [
            ("new", "2024-06-20", 10),
            ("new2", "2024-06-12", 10),  # two purchases: no longer "new"
            ("new2", "2024-06-25", 10),
            ("active", "2024-04-01", 10),  # 90 days before 30 June: still active
            ("silent", "2024-03-31", 10),  # 91 days
            ("dormant", "2023-07-01", 10),  # 365 days
            ("churned", "2023-06-30", 10),  # 366 days
        ]
    )
    states = lifecycle_states(members, log, as_of="2024-06-30")
    assert states["state"].to_dict() == {
        "new": "new",
        "new2": "active",
        "active": "active",
        "silent": "silent",
        "dormant": "dormant",
        "churned": "churned",
        "never": "silent",  # no purchase: counted from joining (150 days)
    }
    assert states.loc["never", "days_since_purchase"] == 150


def test_lifecycle_thresholds_must_increase():
    with pytest.raises(ValueError, match="thresholds must increase"):
        lifecycle_states(pd.DataFrame({"member_id": [], "join_date": []}), LOG, silent_days=50)


def test_revenue_concentration_by_hand():
    # Spend 1000, 900, 50, 10 (total 1960); with E who bought nothing: 5 members.
    table = revenue_concentration(LOG, top_shares=(0.2, 0.4, 1.0), members=["E"])
    assert table["members"].tolist() == [1, 2, 5]
    np.testing.assert_allclose(table["revenue_share"], [1000 / 1960, 1900 / 1960, 1.0])


def test_concentration_curve_is_concave_and_ends_at_one():
    curve = concentration_curve(LOG, points=5)
    np.testing.assert_allclose(curve["member_share"], [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(
        curve["revenue_share"], [0, 1000 / 1960, 1900 / 1960, 1950 / 1960, 1]
    )
    assert np.all(np.diff(curve["revenue_share"], 2) <= 1e-12)


def test_cohort_retention_by_hand():
    members = pd.DataFrame(
        {"member_id": ["a", "b", "c"], "join_date": ["2024-01-15", "2024-01-20", "2024-02-01"]}
    )
    log = tx(
        [
            ("a", "2024-01-15", 10),
            ("a", "2024-01-16", 10),  # same month: counted once
            ("b", "2024-03-02", 10),
            ("a", "2024-03-09", 10),
            ("c", "2024-03-10", 10),
        ]
    )
    table = cohort_retention(log, members)
    jan = table[table["cohort"] == "2024-01"].set_index("months_since_join")
    assert jan["share"].tolist() == [0.5, 0.0, 1.0]
    assert jan["cohort_size"].unique().tolist() == [2]
    feb = table[table["cohort"] == "2024-02"].set_index("months_since_join")
    assert feb["share"].tolist() == [0.0, 1.0]
    assert cohort_retention(log, members, max_months=1)["months_since_join"].max() == 1


def ledger(rows):
    return pd.DataFrame(rows, columns=["member_id", "date", "kind", "points"])


def test_roll_forward_by_hand():
    entries = ledger(
        [
            ("a", "2024-01-05", "earn", 100),
            ("a", "2024-01-05", "bonus", 50),
            ("b", "2024-01-20", "earn", 200),
            ("a", "2024-03-01", "redeem", -120),
            ("b", "2024-03-31", "expire", -30),
        ]
    )
    table = points_roll_forward(entries)
    assert table["month"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert table[["opening", "issued", "redeemed", "expired", "closing"]].values.tolist() == [
        [0, 350, 0, 0, 350],
        [350, 0, 0, 0, 350],
        [350, 0, 120, 30, 200],
    ]
    # The one breakage definition: expired / (redeemed + expired), not expired / issued.
    assert table["breakage_to_date"].isna().tolist() == [True, True, False]
    assert table["breakage_to_date"].iloc[-1] == pytest.approx(30 / 150)
    assert breakage_to_date(entries) == pytest.approx(30 / 150)
    assert points_roll_forward(entries, through="2024-04-30")["month"].iloc[-1] == "2024-04"


def test_roll_forward_rejects_a_wrong_sign():
    with pytest.raises(CalibrationDataError, match=r"row 2: points\(=50\)"):
        points_roll_forward(ledger([("a", "2024-01-05", "redeem", 50)]))


entry = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.dates(
        min_value=pd.Timestamp("2023-01-01").date(), max_value=pd.Timestamp("2025-12-31").date()
    ),
    st.sampled_from(["earn", "bonus", "redeem", "expire"]),
    st.integers(0, 100_000),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(entry, min_size=1, max_size=60))
def test_roll_forward_balances_exactly(rows):
    signed = [(m, d, k, p if k in ("earn", "bonus") else -p) for m, d, k, p in rows]
    entries = ledger(signed)
    table = points_roll_forward(entries)
    assert (
        table["opening"] + table["issued"] - table["redeemed"] - table["expired"]
        == table["closing"]
    ).all()
    assert (table["opening"].iloc[1:].to_numpy() == table["closing"].iloc[:-1].to_numpy()).all()
    assert table["opening"].iloc[0] == 0
    assert table["closing"].iloc[-1] == sum(p for *_, p in signed)
    # Consecutive months, no gaps.
    months = pd.PeriodIndex(table["month"], freq="M")
    assert (np.diff(months.asi8) == 1).all()
    assert table["issued"].sum() == sum(p for _, _, k, p in signed if k in ("earn", "bonus"))


def test_policy_quadrants_use_the_ledgers_window_and_rule():
    """The Overview's quadrants are the ones a quadrant-targeted campaign sees in the ledger."""
    policy = load_policy(EXAMPLES / "classic_four_tier.yaml")
    segments = policy.segments.model_copy(
        update={"quadrant_min_purchases": 2, "quadrant_min_spend": 100.0}
    )
    log = tx(
        [
            ("old", "2024-02-29", 80.0),  # 13 months before March 2025: outside the window
            ("old", "2024-03-01", 60.0),  # the window's first day
            ("old", "2025-02-28", 30.0),  # its last day
            ("now", "2025-03-01", 500.0),  # the month in progress never counts
            ("now", "2025-03-02", 500.0),
            ("edge", "2024-03-31", 100.0),
        ]
    )
    table = policy_quadrants(log, segments, as_of="2025-03-15", members=["none"])
    assert table.attrs["window_first"] == dt.date(2024, 3, 1)
    assert table.attrs["window_last"] == dt.date(2025, 2, 28)
    assert table["purchases"].to_dict() == {"edge": 1, "none": 0, "now": 0, "old": 2}
    assert table["quadrant"].to_dict() == {
        "edge": "butterflies",
        "none": "passers_by",
        "now": "passers_by",
        "old": "barnacles",
    }
    # In the ledger, a 5x campaign for barnacles on 15 March 2025 rewards exactly them.
    data = policy.model_dump()
    data["segments"] = segments.model_dump()
    data["campaigns"] = (
        {
            "id": "barnacles",
            "name": "Barnacles x5",
            "kind": "bonus_points",
            "start": "2025-03-15",
            "end": "2025-03-15",
            "points_multiplier": 5,
            "target": {"quadrants": ["barnacles"]},
        },
    )
    targeted = type(policy).model_validate(data)
    members = pd.DataFrame({"member_id": ["old", "now", "edge"], "join_date": ["2024-01-01"] * 3})
    probe = tx([(m, "2025-03-15", 100.0) for m in ("old", "now", "edge")])
    priced = replay(targeted, members, pd.concat([log, probe]), start=dt.date(2024, 1, 1)).purchases
    on_day = priced[priced["date"] == dt.date(2025, 3, 15)].set_index("member_id")
    rewarded = set(on_day.index[on_day["points_earned"] == 500])
    assert rewarded == set(table.index[table["quadrant"] == "barnacles"]) == {"old"}
