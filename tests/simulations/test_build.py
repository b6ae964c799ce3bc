"""One Model builder for the app and the command line."""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import store
from policies.io import load_policy
from policies.settings import get_settings
from simulations import DEFAULT_BEHAVIOR, Model, Population
from simulations.__main__ import _database_population
from simulations.build import build_model, database_population

ROOT = Path(__file__).resolve().parents[2]
CLASSIC = load_policy(ROOT / "policies" / "examples" / "classic_four_tier.yaml")
START = dt.date(2026, 3, 1)


def test_synthetic_members_are_drawn_with_the_runs_seed_on_the_start_day():
    model = build_model(CLASSIC, population=300, start=START, months=2, replications=2, seed=5)
    assert isinstance(model, Model)
    assert model.start == START and model.seed == 5
    assert model.population.as_of == START and len(model.population) == 300
    drawn = Population.synthetic(300, DEFAULT_BEHAVIOR, seed=5, as_of=START)
    assert (model.population.join_day == drawn.join_day).all()


def test_a_snapshot_and_a_population_start_where_the_members_are_observed():
    snapshot = pd.DataFrame(
        {
            "member_id": ["a", "b"],
            "join_date": ["2025-01-10", "2025-06-01"],
            "last_purchase": ["2026-02-27", None],
        }
    )
    from_data = build_model(CLASSIC, population=snapshot)
    assert from_data.start == dt.date(2026, 2, 28)  # the day after the latest purchase
    assert build_model(CLASSIC, population=snapshot, start=START).start == START
    members = build_model(CLASSIC, population=50, start=START).population
    model = build_model(CLASSIC, population=members, baseline=CLASSIC, workers=2)
    assert model.population is members and model.start == START
    assert model.baseline_policy is CLASSIC and model.workers == 2
    with pytest.raises(ValueError, match="population's date"):
        build_model(CLASSIC, population=members, start=START + dt.timedelta(days=1))
    with pytest.raises(ValueError, match="0 or more"):
        build_model(CLASSIC, population=-1)


def _recent_points_database(folder, url, members=200):
    """A database whose members hold only points earned in the two months before 2026-11.

    Each member joined in 2024 and earned 2,000 points in January 2025 (expired in
    January 2026), then 3,000 points in September and in October 2026.
    """
    ids = [f"M{i:04d}" for i in range(members)]
    purchases = [("2025-01-15", 2000), ("2026-09-15", 3000), ("2026-10-15", 3000)]
    tx = pd.DataFrame(
        [
            {
                "transaction_id": f"T{i:04d}-{k}",
                "member_id": member,
                "date": day,
                "amount": float(points),
                "discount": 0.0,
                "net_amount": float(points),
                "points_earned": points,
                "store_id": "S01",
                "channel": "store",
                "campaign_ids": "",
            }
            for i, member in enumerate(ids)
            for k, (day, points) in enumerate(purchases)
        ]
    )
    earned = tx[["member_id", "date", "points_earned", "transaction_id"]].rename(
        columns={"points_earned": "points"}
    )
    expired = pd.DataFrame(
        {"member_id": ids, "date": "2026-01-31", "points": -2000, "transaction_id": ""}
    )
    ledger = pd.concat(
        [earned.assign(kind="earn", note="purchase"), expired.assign(kind="expire", note="")],
        ignore_index=True,
    )
    ledger.insert(0, "entry_id", [f"E{i}" for i in range(len(ledger))])
    folder.mkdir()
    pd.DataFrame(
        {
            "member_id": ids,
            "join_date": "2024-06-01",
            "birthday": "",
            "gender": "U",
            "home_store": "S01",
            "channel": "store",
        }
    ).to_csv(folder / "members.csv", index=False)
    tx.to_csv(folder / "transactions.csv", index=False)
    ledger.to_csv(folder / "points_ledger.csv", index=False)
    pd.DataFrame(
        columns=[
            "campaign_id",
            "name",
            "kind",
            "start_date",
            "end_date",
            "target",
            "cost",
            "contacts",
        ]  # fmt: skip
    ).to_csv(folder / "campaigns_run.csv", index=False)
    store.ensure_database(url, sample_folder=folder)


def test_database_members_hold_their_points_by_the_month_they_were_earned(tmp_path, monkeypatch):
    url = f"sqlite:///{(tmp_path / 'memberlab.sqlite').as_posix()}"
    _recent_points_database(tmp_path / "data", url)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        members = database_population(as_of=dt.date(2026, 11, 1), url=url)
        snapshot = store.member_snapshot(as_of=members.as_of, url=url)
        command_line = _database_population(members.as_of, DEFAULT_BEHAVIOR, seed=1)
    finally:
        store.dispose_engines(url)
        get_settings.cache_clear()
    assert (command_line.points_lots == members.points_lots).all()
    assert members.as_of == dt.date(2026, 11, 1) == snapshot.attrs["as_of"]
    assert (members.points_balance == 6000).all()
    # Columns: 2025-11 ... 2026-10; everything is held in the last two.
    expected = np.zeros(12, np.int64)
    expected[[10, 11]] = 3000
    assert (members.points_lots == expected).all()

    def expired(population):
        model = build_model(CLASSIC, population=population, months=10, replications=2, seed=3)
        monthly = model.run().monthly
        return monthly.groupby("month")["points_expired"].max()

    # The opening points expire 12 months after they were earned, after this horizon...
    assert (expired(members) == 0).all()
    # ...not spread over the last 12 months, which expires 500 a member in the first month.
    spread = Population.from_frame(snapshot, as_of=members.as_of)
    assert spread.points_lots is None
    assert expired(spread).iloc[0] == 500 * len(members)
