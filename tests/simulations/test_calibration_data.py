import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.calibration import CalibrationDataError, summarize_transactions
from simulations.calibration.data import check_transactions


def hand_log():
    return pd.DataFrame(
        {
            "member_id": ["A", "A", "A", "A", "B"],
            "date": ["2024-01-01", "2024-01-01", "2024-01-05", "2024-01-10", "2024-01-03"],
            "amount": [100.0, 50.0, 30.0, 70.0, 20.0],
        }
    )


def test_same_day_purchases_are_one_occasion_and_repeat_value_excludes_the_first():
    out = summarize_transactions(hand_log(), calibration_end="2024-01-20")
    a, b = out.loc["A"], out.loc["B"]
    # A: occasions Jan 1 (150), Jan 5 (30), Jan 10 (70) -> 2 repeats worth 50 on average.
    assert (a["frequency"], a["recency"], a["T"], a["monetary_value"]) == (2, 9.0, 19.0, 50.0)
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0.0, 17.0, 0.0)
    assert out.attrs == {"time_unit": "day", "observation_end": "2024-01-20"}


def test_weeks_and_calibration_end_cut_the_log():
    out = summarize_transactions(hand_log(), calibration_end="2024-01-07", time_unit="week")
    a = out.loc["A"]
    assert a["frequency"] == 1
    assert a["recency"] == pytest.approx(4 / 7)
    assert a["T"] == pytest.approx(6 / 7)
    assert a["monetary_value"] == 30.0
    assert out.attrs["time_unit"] == "week"


def test_observation_ends_at_last_date_by_default():
    out = summarize_transactions(hand_log())
    assert out.attrs["observation_end"] == "2024-01-10"
    assert out.loc["A", "T"] == 9.0
    assert out.loc["A", "T"] == out.loc["A", "recency"]


def test_members_first_seen_after_the_end_are_left_out():
    out = summarize_transactions(hand_log(), calibration_end="2024-01-02")
    assert list(out.index) == ["A"]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("date", "2024-13-45", "row 3: date(='2024-13-45')"),
        ("amount", -5, "row 3: amount(=-5)"),
        ("amount", "abc", "row 3: amount(='abc')"),
        ("member_id", " ", "row 3: member_id"),
    ],
)
def test_bad_rows_are_named(column, value, expected):
    frame = hand_log().astype(object)
    frame.loc[1, column] = value
    with pytest.raises(
        CalibrationDataError, match=expected.replace("(", r"\(").replace(")", r"\)")
    ):
        check_transactions(frame, source="tx.csv")


def test_missing_column_is_named():
    with pytest.raises(CalibrationDataError, match="missing column.*amount"):
        check_transactions(hand_log().drop(columns="amount"))


def test_unknown_time_unit():
    with pytest.raises(CalibrationDataError, match="time_unit"):
        summarize_transactions(hand_log(), time_unit="month")


purchases = st.lists(
    st.tuples(
        st.sampled_from(["m1", "m2", "m3", "m4"]),
        st.integers(0, 60),
        st.floats(0, 1000, allow_nan=False).map(lambda v: round(v, 2)),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(purchases, st.integers(0, 90))
def test_summary_invariants(rows, end_offset):
    start = dt.date(2024, 1, 1)
    frame = pd.DataFrame(
        [(m, start + dt.timedelta(days=d), v) for m, d, v in rows],
        columns=["member_id", "date", "amount"],
    )
    end = pd.Timestamp(start + dt.timedelta(days=end_offset))
    kept = frame[pd.to_datetime(frame["date"]) <= end]
    if kept.empty:
        with pytest.raises(CalibrationDataError):
            summarize_transactions(frame, calibration_end=end)
        return
    out = summarize_transactions(frame, calibration_end=end)
    days = kept.groupby("member_id")["date"].nunique()
    assert (out["frequency"] == days.reindex(out.index) - 1).all()
    assert ((out["recency"] >= 0) & (out["recency"] <= out["T"])).all()
    assert (out.loc[out["frequency"] == 0, "recency"] == 0).all()
    # Repeat value x frequency plus the first-day value is every member's total spend.
    first_day = kept.assign(date=pd.to_datetime(kept["date"]))
    first_total = (
        first_day[first_day["date"] == first_day.groupby("member_id")["date"].transform("min")]
        .groupby("member_id")["amount"]
        .sum()
    )
    total = kept.groupby("member_id")["amount"].sum()
    rebuilt = out["monetary_value"] * out["frequency"] + first_total.reindex(out.index)
    np.testing.assert_allclose(rebuilt, total.reindex(out.index), rtol=1e-9, atol=1e-6)


def test_a_future_date_is_refused_rather_than_moving_the_observation_end():
    log = pd.DataFrame(
        {
            "member_id": ["A", "A", "B", "C"],
            "date": ["2024-01-01", "2024-03-01", "3000-01-01", "2024-02-01"],
            "amount": [10.0, 20.0, 5.0, 7.0],
        }
    )
    with pytest.raises(CalibrationDataError, match=r"row 4: date\(='3000-01-01'\)") as error:
        summarize_transactions(log)
    assert "in the future" in str(error.value)
    with pytest.raises(CalibrationDataError, match=r"row 4: date\(='2024-05-02'\)"):
        check_transactions(log.iloc[:3].assign(date=["2024-01-01", "2024-05-01", "2024-05-02"]),
                           today=dt.date(2024, 5, 1))  # fmt: skip
    kept = summarize_transactions(log.drop(index=2))
    assert kept.attrs["observation_end"] == "2024-03-01"


def test_day_and_month_are_never_guessed():
    log = pd.DataFrame(
        {
            "member_id": ["A", "A", "A"],
            "date": ["2025-01-04", "05/01/2025", "13/01/2025"],
            "amount": [10.0, 20.0, 5.0],
        }
    )
    # Parsed per value, 05/01/2025 was 1 May (after 13 January).
    with pytest.raises(CalibrationDataError, match="row 3: date") as error:
        check_transactions(log)
    assert "5 January or 1 May" in str(error.value)
    day_first = log.assign(date=["04/01/2025", "05/01/2025", "13/01/2025"])
    parsed = check_transactions(day_first, date_format="%d/%m/%Y")["date"]
    assert parsed.dt.strftime("%Y-%m-%d").tolist() == ["2025-01-04", "2025-01-05", "2025-01-13"]
    with pytest.raises(CalibrationDataError, match=r"%d/%m/%Y \(e.g. 31/03/2024\)"):
        check_transactions(log, date_format="%d/%m/%Y")
