import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulations.behavior import load_behavior
from simulations.calibration.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_log(bgnbd_log):
    members = bgnbd_log["member_id"].drop_duplicates().head(1500)
    return bgnbd_log[bgnbd_log["member_id"].isin(members)].assign(
        date=lambda f: f["date"].dt.strftime("%Y-%m-%d")
    )


def test_writes_behavior_params(small_log, tmp_path, capsys):
    csv = tmp_path / "tx.csv"
    small_log.to_csv(csv, index=False)
    out = tmp_path / "params.json"
    code = main(["--transactions", str(csv), "--calibration-end", "2025-09-30", "--out", str(out)])
    assert code == 0
    params = load_behavior(out)
    assert params.diagnostics["calibration_end"] == "2025-09-30"
    assert params.diagnostics["n_members"] <= 1500
    said = capsys.readouterr().out
    assert "wrote" in said
    # what no calibration can estimate is said to be assumed, in the output and in the file
    assert "note: effects.reward_rate_lift is assumed, not estimated" in said
    assert params.diagnostics["parameter_sources"]["effects.reward_rate_lift"].startswith("assumed")


def test_policy_names_campaign_kinds(small_log, tmp_path):
    csv = tmp_path / "tx.csv"
    tagged = small_log.assign(
        campaign_ids=lambda f: f["date"].str.endswith("-08").map({True: "member-day", False: ""})
    )
    tagged.to_csv(csv, index=False)
    out = tmp_path / "params.json"
    policy = ROOT / "policies" / "examples" / "classic_four_tier.yaml"
    code = main(["--transactions", str(csv), "--policy", str(policy), "--out", str(out)])
    assert code == 0
    uplift = {row["term"] for row in load_behavior(out).diagnostics["uplift"]}
    assert "campaign:member-day" in uplift


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns="amount"), "missing column(s) amount"),
        (
            lambda f: f.assign(date=f["date"].where(f.index != f.index[4], "31/02/2024")),
            "row 6: date",
        ),
        (lambda f: f.assign(amount=f["amount"].where(f.index != f.index[0], -1)), "row 2: amount"),
    ],
)
def test_bad_file_exit_2_and_no_output(small_log, tmp_path, capsys, edit, message):
    csv = tmp_path / "tx.csv"
    edit(small_log.reset_index(drop=True)).to_csv(csv, index=False)
    out = tmp_path / "params.json"
    assert main(["--transactions", str(csv), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "tx.csv" in err and message in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [csv]


def test_missing_file_and_bad_date_option(tmp_path, capsys):
    out = tmp_path / "params.json"
    assert main(["--transactions", str(tmp_path / "nope.csv"), "--out", str(out)]) == 2
    assert "file not found" in capsys.readouterr().err
    csv = tmp_path / "tx.csv"
    csv.write_text("member_id,date,amount\nA,2024-01-01,10\nA,2024-02-01,10\n")
    assert main(["--transactions", str(csv), "--calibration-end", "soon", "--out", str(out)]) == 2
    assert "--calibration-end(='soon')" in capsys.readouterr().err
    assert not out.exists()


def test_runs_as_a_module(small_log, tmp_path):
    csv = tmp_path / "tx.csv"
    members = small_log["member_id"].drop_duplicates().head(400)
    small_log[small_log["member_id"].isin(members)].to_csv(csv, index=False)
    out = tmp_path / "params.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulations.calibration.cli",
            "--transactions",
            str(csv),
            "--time-unit",
            "week",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert load_behavior(out).time_unit == "week"


def test_a_future_date_exits_2_instead_of_moving_the_observation_end(small_log, tmp_path, capsys):
    csv = tmp_path / "tx.csv"
    log = small_log.reset_index(drop=True)
    log.loc[7, "date"] = "3000-01-01"
    log.to_csv(csv, index=False)
    out = tmp_path / "params.json"
    assert main(["--transactions", str(csv), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "tx.csv: row 9: date(='3000-01-01')" in err and "in the future" in err
    assert not out.exists()


def test_future_calibration_end_and_ledger_dates_exit_2(small_log, tmp_path, capsys):
    csv = tmp_path / "tx.csv"
    small_log.to_csv(csv, index=False)
    out = tmp_path / "params.json"
    assert main(["--transactions", str(csv), "--calibration-end", "3000-01-01",
                 "--out", str(out)]) == 2  # fmt: skip
    assert "--calibration-end(=3000-01-01) is in the future" in capsys.readouterr().err
    ledger = tmp_path / "ledger.csv"
    ledger.write_text("member_id,date,kind,points\nA,2024-01-01,earn,10\nA,2999-01-01,earn,5\n")
    assert main(["--transactions", str(csv), "--ledger", str(ledger), "--out", str(out)]) == 2
    assert "ledger.csv: row 3: date(='2999-01-01')" in capsys.readouterr().err
    assert not out.exists()


def test_day_first_files_need_the_date_format(small_log, tmp_path, capsys):
    csv = tmp_path / "tx.csv"
    day_first = small_log.assign(date=pd.to_datetime(small_log["date"]).dt.strftime("%d/%m/%Y"))
    day_first.to_csv(csv, index=False)
    out = tmp_path / "params.json"
    assert main(["--transactions", str(csv), "--out", str(out)]) == 2
    assert "5 January or 1 May" in capsys.readouterr().err
    code = main(["--transactions", str(csv), "--date-format", "%d/%m/%Y",
                 "--calibration-end", "2025-09-30", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    # The same fit as the ISO file gives (test_writes_behavior_params).
    assert load_behavior(out).diagnostics["calibration_end"] == "2025-09-30"
    assert load_behavior(out).diagnostics["last_date"] == small_log["date"].max()


def test_a_line_with_a_field_too_many_is_named_not_shifted(tmp_path, capsys):
    csv = tmp_path / "tx.csv"
    # pandas took the first field as an index: member "2024-01-01" bought for "10".
    csv.write_text("member_id,date,amount\nA,2024-01-01,10,X\nB,2024-01-02,5\n")
    out = tmp_path / "params.json"
    assert main(["--transactions", str(csv), "--out", str(out)]) == 2
    assert "tx.csv: line 2 has 4 fields, the header has 3" in capsys.readouterr().err
    members = tmp_path / "members.csv"
    members.write_text("member_id,join_date\nA,2024-01-01,2024\n")
    csv.write_text("member_id,date,amount\nA,2024-01-01,10\nA,2024-01-02,5\n")
    assert main(["--transactions", str(csv), "--members", str(members), "--out", str(out)]) == 2
    assert "members.csv: line 2 has 3 fields" in capsys.readouterr().err
    assert not out.exists()


def test_a_failed_fit_is_a_warning_and_exit_status_4(small_log, tmp_path, capsys):
    # A ledger without redemptions: the redemption fit fails. Before, the defaults went into
    # the file with only a "note" on stdout and exit status 0.
    csv, ledger_csv = tmp_path / "tx.csv", tmp_path / "ledger.csv"
    small_log.to_csv(csv, index=False)
    small_log.assign(kind="earn", points=small_log["amount"].round().astype(int))[
        ["member_id", "date", "kind", "points"]
    ].to_csv(ledger_csv, index=False)
    out = tmp_path / "params.json"
    code = main(["--transactions", str(csv), "--ledger", str(ledger_csv), "--out", str(out)])
    assert code == 4
    err = capsys.readouterr().err
    assert "WARNING: redemption propensity: the fit failed" in err and "intercept -2.2" in err
    sources = load_behavior(out).diagnostics["parameter_sources"]
    assert sources["redemption.intercept"].startswith("default")
    assert sources["bgnbd.r"] == "estimated"
