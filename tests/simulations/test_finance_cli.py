"""`python -m simulations finance`: a periods CSV or a run's results JSON to a schedule CSV."""

import json
from pathlib import Path

import pandas as pd
import pytest

from simulations.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_result_json(tmp_path_factory):
    """A small `run` of the classic policy (300 members, 14 months, 2 replications)."""
    out = tmp_path_factory.mktemp("run") / "results.json"
    policy = ROOT / "policies" / "examples" / "classic_four_tier.yaml"
    status = main(["run", "--policy", str(policy), "--members", "300", "--months", "14",
                   "--replications", "2", "--seed", "3", "--quiet", "--out", str(out)])  # fmt: skip
    assert status == 0
    return out


EXAMPLE_52_CSV = (
    "period,sales,points_issued,points_redeemed,expected_redemption_rate\n"
    "Year 1,100000,10000,4500,0.95\n"
    "Year 2,0,0,4000,0.97\n"
)


def test_example_52_from_a_periods_csv(tmp_path):
    periods = tmp_path / "periods.csv"
    periods.write_text(EXAMPLE_52_CSV)
    out, journal = tmp_path / "schedule.csv", tmp_path / "journal.csv"
    status = main(
        ["finance", "--periods", str(periods), "--point-value", "1", "--out", str(out),
         "--journal", str(journal)]
    )  # fmt: skip
    assert status == 0
    schedule = pd.read_csv(out)
    for column in ("allocated_to_points", "revenue_points", "revenue_goods",
                   "contract_liability_closing"):  # fmt: skip
        assert column in schedule
    assert schedule["allocated_to_points"].round().tolist() == [8_676, 0]
    assert schedule["revenue_points"].round().tolist() == [4_110, 3_493]
    lines = pd.read_csv(journal)
    assert lines["debit"].sum() == pytest.approx(lines["credit"].sum(), abs=1e-6)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("period,sales\nYear 1,100\n", "missing column"),
        (EXAMPLE_52_CSV.replace("0.97", "1.7"), "row 2: expected_redemption_rate"),
        (EXAMPLE_52_CSV.replace("100000", "a lot"), "row 1: sales"),
        ("", "cannot read"),
    ],
)
def test_bad_csv_exits_2_with_the_row_and_writes_nothing(tmp_path, capsys, text, message):
    periods = tmp_path / "periods.csv"
    periods.write_text(text)
    out = tmp_path / "schedule.csv"
    status = main(["finance", "--periods", str(periods), "--point-value", "1", "--out", str(out)])
    assert status == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["periods.csv"]


def test_missing_periods_file_exits_2(tmp_path, capsys):
    out = tmp_path / "schedule.csv"
    status = main(["finance", "--periods", str(tmp_path / "nope.csv"), "--point-value", "1",
                   "--out", str(out)])  # fmt: skip
    assert status == 2
    assert "cannot read" in capsys.readouterr().err
    assert not out.exists()


def test_a_simulation_result(tmp_path, small_result_json):
    out = tmp_path / "schedule.csv"
    status = main(["finance", "--results", str(small_result_json), "--point-value", "0.01",
                   "--cost-per-point", "0.006", "--out", str(out)])  # fmt: skip
    assert status == 0
    schedule = pd.read_csv(out)
    document = json.loads(small_result_json.read_text())
    months = sorted({row["month"] for row in document["monthly"]})
    assert schedule["period"].tolist() == months
    assert (schedule["contract_liability_closing"] >= 0).all()
    assert (schedule["cost_to_fulfil"] >= 0).all()
    roll = (schedule["contract_liability_opening"] + schedule["allocated_to_points"]
            - schedule["revenue_points"])  # fmt: skip
    pd.testing.assert_series_equal(
        roll, schedule["contract_liability_closing"], check_names=False, atol=1e-6
    )
    assert schedule["allocated_to_points"].sum() > 0


def test_a_results_file_that_is_not_one_exits_2(tmp_path, capsys):
    bad = tmp_path / "results.json"
    bad.write_text('{"summary": {}}')
    out = tmp_path / "schedule.csv"
    status = main(["finance", "--results", str(bad), "--point-value", "0.01", "--out", str(out)])
    assert status == 2
    assert "is not a results JSON" in capsys.readouterr().err
    assert not out.exists()
