"""The pure helpers behind the screens: policy tables, finance tables, formatting."""

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import editing
from app.formatting import money, pct, problems_by_section
from app.state import examples
from policies import (
    PolicyValidationError,
    content_id,
    load_policy,
    policy_from_dict,
    policy_to_dict,
)
from simulations import finance

POLICIES = [load_policy(path) for path in examples().values()]


@pytest.mark.parametrize("policy", POLICIES, ids=[p.program.name for p in POLICIES])
def test_tables_round_trip_every_example(policy):
    data = policy_to_dict(policy)
    data = editing.apply_tiers(data, editing.tiers_frame(policy))
    data = editing.apply_windows(data, editing.windows_frame(policy))
    data = editing.apply_campaigns(data, editing.campaigns_frame(policy))
    assert content_id(policy_from_dict(data)) == content_id(policy)


def test_an_added_blank_row_is_ignored_and_a_half_filled_one_is_explained():
    policy = POLICIES[0]
    frame = editing.tiers_frame(policy)
    blank = pd.concat([frame, pd.DataFrame([{}])], ignore_index=True)
    same = policy_from_dict(editing.apply_tiers(policy_to_dict(policy), blank))
    assert content_id(same) == content_id(policy)
    half = pd.concat([frame, pd.DataFrame([{"name": "Black"}])], ignore_index=True)
    with pytest.raises(PolicyValidationError) as info:
        policy_from_dict(editing.apply_tiers(policy_to_dict(policy), half))
    paths = [path for path, _ in info.value.problems]
    assert f"tiers.tiers[{len(frame)}].threshold" in paths


@settings(max_examples=25, deadline=None)
@given(year=st.integers(2023, 2028), index=st.integers(0, len(POLICIES) - 1))
def test_calendar_segments_cover_exactly_the_days_campaigns_run(year, index):
    policy = POLICIES[index]
    segments = editing.campaign_segments(policy, year)
    for campaign in policy.campaigns:
        mine = segments[segments["id"] == campaign.id]
        expected = sum(
            campaign.runs_on(dt.date(year, 1, 1) + dt.timedelta(days=d))
            for d in range((dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days)
        )
        assert int(mine["days"].sum()) == expected
        starts = mine["start"].sort_values().to_list()
        ends = mine.sort_values("start")["end"].to_list()
        assert all(ends[i] < starts[i + 1] for i in range(len(starts) - 1))  # disjoint runs


@settings(max_examples=40, deadline=None)
@given(
    flows=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 5_000), st.integers(0, 5_000)),
        min_size=1,
        max_size=6,
    ),
    replications=st.integers(1, 3),
    cpp=st.floats(0.0001, 1.0),
)
def test_roll_forward_table_balances(flows, replications, cpp):
    rows = []
    for r in range(replications):
        balance = 1_000.0 * (r + 1)
        for m, (issued, redeemed, expired) in enumerate(flows):
            redeemed = min(redeemed, balance + issued)
            expired = min(expired, balance + issued - redeemed)
            closing = balance + issued - redeemed - expired
            rows.append(
                {
                    "replication": r,
                    "month": f"2026-{m + 1:02d}",
                    "points_opening": balance,
                    "points_issued": issued,
                    "points_redeemed": redeemed,
                    "points_expired": expired,
                    "points_closing": closing,
                    "liability": closing * cpp,
                }
            )
            balance = closing
    table = finance.roll_forward_table(pd.DataFrame(rows), cpp)
    lhs = table["opening"] + table["issued"] - table["redeemed"] - table["expired"]
    assert lhs.to_numpy() == pytest.approx(table["closing"].to_numpy())
    assert table["closing_value"].to_numpy() == pytest.approx(table["closing"].to_numpy() * cpp)
    assert (table["opening"].iloc[1:].to_numpy() == table["closing"].iloc[:-1].to_numpy()).all()


@settings(max_examples=40, deadline=None)
@given(outstanding=st.floats(0, 1e9), cpp=st.floats(0, 1), breakage=st.floats(0, 1))
def test_liability_grows_with_cost_and_falls_with_breakage(outstanding, cpp, breakage):
    grid = finance.liability_sensitivity(outstanding, cpp, breakage)
    assert len(grid) == 5 * grid["breakage"].nunique()
    assert grid["breakage"].nunique() == len(
        {min(max(breakage + step, 0.0), 1.0) for step in (-0.2, -0.1, 0.0, 0.1, 0.2)}
    )
    assert grid["breakage"].between(0, 1).all()
    for _, by_breakage in grid.groupby("breakage"):
        assert by_breakage["liability"].is_monotonic_increasing
    for _, by_cost in grid.groupby("cost_per_point"):
        assert by_cost.sort_values("breakage")["liability"].is_monotonic_decreasing
    middle = grid[(grid["cost_per_point"] == cpp) & (grid["breakage"] == breakage)]
    assert middle["liability"].iloc[0] == pytest.approx(outstanding * cpp * (1 - breakage))


def test_excel_report_has_one_sheet_per_table():
    import io

    import openpyxl

    frames = {"roll_forward": pd.DataFrame({"a": [1, 2]}), "kpis": pd.DataFrame({"b": [3]})}
    book = openpyxl.load_workbook(io.BytesIO(finance.excel_report(frames)))
    assert book.sheetnames == ["roll_forward", "kpis"]
    assert book["roll_forward"]["A3"].value == 2


def test_formatting_and_problem_routing():
    assert money(-1500, "¥") == "-¥1,500"
    assert money(float("nan")) == "–"
    assert pct(0.256) == "25.6%"
    grouped = problems_by_section(
        [
            ("tiers.tiers[2].threshold", "must be greater"),
            ("points.redemption.windows[0].end_day", "does not exist"),
            ("points.redemption.minimum_points", "multiple"),
            ("", "campaigns[0] (x) and campaigns[1] (y) both run"),
            ("", "something else"),
        ]
    )
    assert list(grouped["tiers"]) == ["tiers.tiers[2].threshold: must be greater"]
    assert len(grouped["windows"]) == 1 and len(grouped["points"]) == 1
    assert grouped["campaigns"] == ["campaigns[0] (x) and campaigns[1] (y) both run"]
    assert grouped["general"] == ["something else"]


def test_read_only_tables_show_gaps_blank_and_whole_numbers_grouped():
    from app.formatting import blank_missing

    frame = pd.DataFrame(
        {"line": [12500, None], "column": ["points", None], "share": [0.25, None], "n": [1, 2]}
    )
    shown = blank_missing(frame)
    assert shown["line"].tolist() == ["12,500", ""]
    assert shown["column"].tolist() == ["points", ""]
    assert shown["share"].tolist() == ["0.25", ""]
    assert shown["n"].dtype == frame["n"].dtype  # no gap: left as numbers
    assert not shown.isin(["None", "nan"]).any().any()
