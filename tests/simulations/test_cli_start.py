"""`python -m simulations run` starts where the database's data ends unless told otherwise."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

import store
from policies.settings import get_settings
from simulations.__main__ import main
from store.db import load_tables, write_connection

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "examples" / "classic_four_tier.yaml"


@pytest.fixture
def small_database(tmp_path, monkeypatch):
    """A SQLite database of three members whose data ends on 2025-06-17 (a member joins then)."""
    url = f"sqlite:///{tmp_path / 'small.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    store.ensure_database(url, load_sample=False)
    members = pd.DataFrame(
        {
            "member_id": ["M1", "M2", "M3"],
            "join_date": ["2025-01-05", "2025-03-01", "2025-06-17"],
            "birthday": [None, "1990-04-02", None],
            "gender": ["F", "M", "U"],
            "home_store": ["S01", "S02", "S01"],
            "channel": ["app", "store", "app"],
        }
    )
    transactions = pd.DataFrame(
        {
            "transaction_id": ["T1", "T2", "T3"],
            "member_id": ["M1", "M1", "M2"],
            "date": ["2025-01-05", "2025-05-20", "2025-04-11"],
            "amount": [120.0, 80.5, 300.0],
            "points_earned": [120, 80, 300],
        }
    )
    with write_connection(url) as conn:
        load_tables(conn, {"members": members, "transactions": transactions})
    yield url
    store.dispose_engines()
    get_settings.cache_clear()


def _run(tmp_path, *extra: str) -> dict:
    out = tmp_path / "results.json"
    arguments = ["run", "--policy", str(POLICY), "--months", "1", "--replications", "1"]
    status = main([*arguments, "--quiet", "--out", str(out), *extra])
    assert status == 0
    return json.loads(out.read_text())


def test_default_start_is_the_day_after_the_data_ends(small_database, tmp_path, capsys):
    document = _run(tmp_path)
    assert document["inputs"]["start"] == "2025-06-18"
    assert document["inputs"]["population"]["members"] == 3
    assert "simulating from 2025-06-18" in capsys.readouterr().err


def test_an_earlier_start_simulates_the_members_who_had_joined(small_database, tmp_path):
    # M3 joins after 2025-04-01: the run must leave them out, not fail on their join date.
    document = _run(tmp_path, "--start", "2025-04-01")
    assert document["inputs"]["start"] == "2025-04-01"
    assert document["inputs"]["population"]["members"] == 2


def test_synthetic_members_start_today_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "never-used.sqlite"))
    document = _run(tmp_path, "--members", "50")
    assert document["inputs"]["start"] == dt.date.today().isoformat()
    assert not (tmp_path / "never-used.sqlite").exists()
