"""Writing and reading sample programs, and the command line."""

import datetime as dt
import gzip

import pandas as pd
import pytest

import sample_data.generator as generator
from sample_data import generate, load_sample, write
from sample_data.__main__ import build_parser, main


@pytest.fixture(scope="module")
def tiny():
    return generate(n_members=120, seed=3)


def test_write_then_load_gives_the_same_program(tiny, tmp_path):
    folder = write(tiny, tmp_path / "program")
    loaded = load_sample(folder)
    for name, frame in tiny.tables().items():
        pd.testing.assert_frame_equal(loaded.tables()[name], frame)
    assert loaded.truth == tiny.truth
    assert sorted(p.name for p in folder.iterdir()) == [
        "campaigns_run.csv",
        "members.csv",
        "points_ledger.csv",
        "transactions.csv",
        "truth.json",
    ]


def test_large_tables_are_gzipped_reproducibly(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(generator, "GZIP_ABOVE_BYTES", 1_000)
    first = write(tiny, tmp_path / "a")
    second = write(tiny, tmp_path / "b")
    packed = first / "transactions.csv.gz"
    assert packed.exists() and not (first / "transactions.csv").exists()
    assert gzip.decompress(packed.read_bytes()).startswith(b"transaction_id,member_id,date")
    assert packed.read_bytes() == (second / "transactions.csv.gz").read_bytes()
    pd.testing.assert_frame_equal(load_sample(first).transactions, tiny.transactions)


def test_a_failed_write_leaves_the_old_program(tiny, tmp_path, monkeypatch):
    folder = write(tiny, tmp_path / "program")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    calls = []

    real = generator._write_csv

    def broken(frame, path):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        real(frame, path)

    monkeypatch.setattr(generator, "_write_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write(tiny, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["program"]  # no temporary leftovers


def test_rewriting_replaces_the_whole_folder(tiny, tmp_path):
    folder = write(tiny, tmp_path / "program")
    (folder / "stale.csv").write_text("x\n")
    write(tiny, folder)
    assert not (folder / "stale.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["program"]


def test_loading_an_empty_folder_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m sample_data"):
        load_sample(tmp_path)


def test_loading_without_the_ledger_file_names_it(tiny, tmp_path):
    folder = write(tiny, tmp_path / "program")
    (folder / "points_ledger.csv").unlink()
    with pytest.raises(FileNotFoundError, match="points_ledger.csv"):
        load_sample(folder)


def test_command_line_writes_a_program(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["--members", "80", "--seed", "9", "--out", str(out), "--no-ledger"]) == 0
    program = load_sample(out)
    assert len(program.members) == 80 and program.points_ledger is None
    assert program.truth["seed"] == 9 and program.truth["ledger"] is False
    captured = capsys.readouterr()
    assert "members" in captured.out and "%" in captured.err  # progress goes to stderr


def test_command_line_rejects_bad_input(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["--members", "10", "--start", "2025-01-01", "--end", "2024-01-01", "--out", str(out)]
    assert main(args) == 2
    assert "must be after start" in capsys.readouterr().err
    assert not out.exists()
    bad_policy = tmp_path / "policy.yaml"
    bad_policy.write_text("program: {name: x}\n")
    assert main(["--members", "10", "--policy", str(bad_policy), "--out", str(out)]) == 2
    assert "is not a valid policy" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["--members", "ten"])
    assert "not a whole number" in capsys.readouterr().err


def test_help_mentions_the_fast_mode():
    text = build_parser().format_help()
    assert "--no-ledger" in text and "1,000,000 members" in text


def test_policy_of_a_program_is_checked_against_its_content_id(tiny):
    from dataclasses import replace

    assert tiny.policy().tier_names == ("Regular", "Silver", "Gold", "Diamond")
    moved = replace(
        tiny, truth={**tiny.truth, "policy": {**tiny.truth["policy"], "content_id": "0" * 64}}
    )
    with pytest.raises(ValueError, match="changed since the sample was generated"):
        moved.policy()


def test_redemption_requests_mirror_the_redeem_entries(tiny):
    requests = tiny.redemption_requests()
    redeemed = tiny.points_ledger[tiny.points_ledger["kind"] == "redeem"]
    assert len(requests) == len(redeemed)
    assert (requests["points"] > 0).all() and requests["points"].sum() == -redeemed["points"].sum()


def test_campaign_costs_follow_the_engine_convention():
    from policies.io import load_policy
    from sample_data.generator import CLASSIC_POLICY

    classic = load_policy(CLASSIC_POLICY)
    data = classic.model_dump()
    data["campaigns"] = list(data["campaigns"])
    data["campaigns"].append(
        {
            "id": "weekend-points",
            "name": "Saturday double points",
            "kind": "bonus_points",
            "start": "2024-03-01",
            "end": "2024-03-31",
            "recurrence": {"weekday": 5},
            "points_multiplier": 2,
            "fixed_cost": 100,
            "stacking": "stack",
        }
    )
    data["campaigns"].append(
        {
            "id": "spring-activation",
            "name": "Welcome texts",
            "kind": "activation",
            "start": "2024-03-01",
            "end": "2024-04-30",
            "contact_cost": 0.5,
            "fixed_cost": 30,
        }
    )
    policy = type(classic).model_validate(data)
    program = generate(
        n_members=150, seed=2, start=dt.date(2024, 1, 1), end=dt.date(2024, 6, 30),
        policy=policy, ledger=False,
    )  # fmt: skip
    runs = program.campaigns_run.set_index("campaign_id")
    saturdays = runs.loc["weekend-points"]
    assert saturdays["cost"] == 5 * 100  # five Saturdays in March 2024
    assert saturdays["start_date"] == pd.Timestamp("2024-03-02")
    activation = runs.loc[["spring-activation"]]
    joins = program.members["join_date"]
    for row in activation.itertuples():
        month = row.start_date.to_period("M")
        previous = joins.dt.to_period("M") == month - 1
        assert row.contacts == previous.sum()
        assert row.cost == pytest.approx(30 + 0.5 * row.contacts)
    assert program.truth["policy"]["file"] == "(in memory)"
    with pytest.raises(ValueError, match="in-memory policy"):
        program.policy()
