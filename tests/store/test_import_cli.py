"""``python -m store import``: the Data page's import from a script, on a real SQLite file."""

import subprocess
import sys
from pathlib import Path

import pytest

import store
from store.__main__ import main

ROOT = Path(__file__).resolve().parents[2]

MEMBERS = "会员编号;入会日期\nC001;2024-01-05\nC002;2024-02-10\n"
TRANSACTIONS = (
    "transaction_id;member_id;date;amount;discount\n"
    "X1;C001;2024-01-05;1.234,50;0\n"
    "X2;C002;2024-03-01;99,90;9,90\n"
)
MAP = ["--map-members", "会员编号=member_id", "入会日期=join_date"]


@pytest.fixture
def files(tmp_path):
    members = tmp_path / "members.csv"
    members.write_bytes(MEMBERS.encode("gb18030"))
    transactions = tmp_path / "tx.csv"
    transactions.write_text(TRANSACTIONS, encoding="utf-8")
    return members, transactions


def args(url, members, transactions, *more):
    return ["import", "--members", str(members), "--transactions", str(transactions),
            "--encoding", "gb18030", "--delimiter", ";", "--decimal", ",", "--thousands", ".",
            *MAP, "--url", url, *more]  # fmt: skip


def test_dry_run_then_import(files, sqlite_url, capsys):
    status = main(args(sqlite_url, *files, "--dry-run"))
    out = capsys.readouterr().out
    assert status == 0, out
    assert "Check passed: 2 members, 2 transactions read; nothing was written" in out
    assert len(store.members(sqlite_url)) == 0
    assert main(args(sqlite_url, *files)) == 0
    assert "Import succeeded" in capsys.readouterr().out
    tx = store.transactions(url=sqlite_url).set_index("transaction_id")
    assert tx.loc["X1", "amount"] == pytest.approx(1234.50)
    assert tx.loc["X2", "net_amount"] == pytest.approx(90.00)
    # Again: the ids are taken now, so nothing is added; --replace reloads.
    assert main(args(sqlite_url, *files)) == 2
    assert "already in the database" in capsys.readouterr().err
    assert main(args(sqlite_url, *files, "--replace")) == 0
    assert len(store.transactions(url=sqlite_url)) == 2


def test_bad_rows_exit_2_with_the_report_and_write_nothing(files, sqlite_url, capsys):
    members, transactions = files
    transactions.write_text(
        TRANSACTIONS + "X3;C001;2999-01-01;10;0\nX4;C002;2024-03-01;5;7;x\n", encoding="utf-8"
    )
    status = main(args(sqlite_url, members, transactions))
    err = capsys.readouterr().err
    assert status == 2
    assert "Import failed: 2 problem(s)" in err
    assert "transactions line 4, column date (value: '2999-01-01'): date is in the future" in err
    assert "transactions line 5, column (field 6) (value: 'x')" in err
    assert len(store.members(sqlite_url)) == 0


def test_usage_errors_exit_2(files, sqlite_url, capsys):
    members, _ = files
    with pytest.raises(SystemExit) as stop:
        main(["import", "--url", sqlite_url])
    assert stop.value.code == 2
    assert "--members and/or --transactions" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["import", "--members", str(members), "--map-members", "member_id"])
    assert "CLIENT_COLUMN=OUR_COLUMN" in capsys.readouterr().err
    assert (
        main(["import", "--members", str(members), "--encoding", "nope", "--url", sqlite_url]) == 2
    )
    assert "'nope') is not an encoding" in capsys.readouterr().err


def test_a_real_process(files, tmp_path):
    url = f"sqlite:///{tmp_path / 'memberlab.sqlite'}"
    done = subprocess.run(
        [sys.executable, "-m", "store", *args(url, *files)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 members, 2 transactions loaded" in done.stdout
    assert len(store.members(url)) == 2
    store.dispose_engines()
