import datetime as dt

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import store
from store.db import load_tables


def test_members_and_transactions_frames(loaded_url):
    members = store.members(loaded_url)
    assert list(members["member_id"]) == ["M1", "M2", "M3"]
    assert members["join_date"].dtype == "datetime64[ns]"
    assert pd.isna(members.loc[1, "birthday"])
    tx = store.transactions(url=loaded_url)
    assert len(tx) == 5
    assert tx["amount"].sum() == pytest.approx(780.75)
    assert tx.loc[tx.transaction_id == "T4", "campaign_ids"].item() == "member-day;double"


def test_transactions_date_range_is_inclusive(loaded_url):
    tx = store.transactions("2024-02-10", dt.date(2024, 6, 1), url=loaded_url)
    assert sorted(tx["transaction_id"]) == ["T2", "T3"]
    assert list(store.transactions(member_id="M1", url=loaded_url)["transaction_id"]) == [
        "T1",
        "T2",
        "T4",
    ]


def test_bad_date_range_is_refused(loaded_url):
    with pytest.raises(ValueError, match="before start"):
        store.transactions("2025-01-01", "2024-01-01", url=loaded_url)
    with pytest.raises(ValueError, match="not a date"):
        store.transactions("first of May", url=loaded_url)


def test_ledger_and_campaigns(loaded_url):
    ledger = store.ledger(url=loaded_url)
    assert ledger["points"].sum() == 460
    assert set(ledger["kind"]) == {"earn", "redeem", "expire"}
    campaigns = store.campaigns_run(loaded_url)
    assert campaigns.loc[0, "cost"] == pytest.approx(2000.0)


def test_member_snapshot_worked_example(loaded_url):
    snap = store.member_snapshot("2025-03-01", url=loaded_url).set_index("member_id")
    # M3 joins after the snapshot date; T4 is dated on it (not yet counted).
    assert list(snap.index) == ["M1", "M2"]
    m1 = snap.loc["M1"]
    assert m1["last_purchase"] == pd.Timestamp("2024-06-01")
    assert m1["purchases"] == 2
    assert m1["repeat_purchases"] == 1
    assert m1["purchases_12m"] == 1  # 2024-03-01 .. 2025-02-28 holds only T2
    assert m1["spend_12m"] == pytest.approx(240.0)
    assert m1["points_balance"] == 140
    m2 = snap.loc["M2"]
    assert m2["points_balance"] == 0
    assert m2["purchases_12m"] == 0
    assert m2["repeat_purchases"] == 0


def _reference_snapshot(members, tx, ledger, as_of):
    """The snapshot computed in pandas, straight from the definitions."""
    day = pd.Timestamp(as_of)
    members = members[members.join_date <= day].set_index("member_id")
    past = tx[tx.date < day]
    recent = past[past.date >= day - pd.Timedelta(days=365)]
    out = pd.DataFrame(index=members.index)
    out["last_purchase"] = past.groupby("member_id").date.max()
    out["purchases"] = past.groupby("member_id").size()
    out["purchase_days"] = past.groupby("member_id").date.nunique()
    out["purchases_12m"] = recent.groupby("member_id").size()
    out["spend_12m"] = recent.groupby("member_id").net_amount.sum()
    out["points_balance"] = ledger[ledger.date < day].groupby("member_id").points.sum()
    filled = {c: 0 for c in out.columns if c != "last_purchase"}
    return out.fillna(filled)


@pytest.mark.parametrize("seed", [1, 2])
def test_member_snapshot_matches_a_pandas_reference(db_url, seed):
    rng = np.random.default_rng(seed)
    n, k = 40, 400
    start = pd.Timestamp("2023-01-01")
    members = pd.DataFrame(
        {
            "member_id": [f"M{i:03d}" for i in range(n)],
            "join_date": start + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
        }
    )
    who = rng.integers(0, n, k)
    tx = pd.DataFrame(
        {
            "transaction_id": [f"T{i:05d}" for i in range(k)],
            "member_id": members.member_id.to_numpy()[who],
            "date": members.join_date.to_numpy()[who]
            + pd.to_timedelta(rng.integers(0, 400, k), unit="D"),
            "amount": rng.gamma(2.0, 80.0, k).round(2),
        }
    )
    tx["net_amount"] = tx["amount"]
    ledger = pd.DataFrame(
        {
            "entry_id": [f"E{i:05d}" for i in range(k)],
            "member_id": tx.member_id,
            "date": tx.date,
            "kind": "earn",
            "points": tx.amount.astype(int),
        }
    )
    store.ensure_database(db_url, load_sample=False)
    with store.write_connection(db_url) as conn:
        load_tables(conn, {"members": members, "transactions": tx, "points_ledger": ledger})
    as_of = dt.date(2024, 9, 15)
    got = store.member_snapshot(as_of, url=db_url).set_index("member_id")
    want = _reference_snapshot(members, tx, ledger, as_of)
    assert list(got.index) == sorted(want.index)
    got = got.loc[want.index]
    for column in ("purchases", "purchase_days", "purchases_12m", "points_balance"):
        assert got[column].tolist() == want[column].astype(int).tolist(), column
    assert_allclose(got["spend_12m"], want["spend_12m"], atol=0.005)
    assert (got["last_purchase"].isna() == want["last_purchase"].isna()).all()
    both = want["last_purchase"].notna()
    assert (got.loc[both, "last_purchase"] == want.loc[both, "last_purchase"]).all()


def test_snapshot_defaults_to_the_day_after_the_latest_activity(loaded_url):
    snap = store.member_snapshot(url=loaded_url)
    assert snap.attrs["as_of"] == dt.date(2025, 6, 2)
    assert len(snap) == 3
    assert snap["points_balance"].sum() == 460


def test_snapshot_feeds_the_simulator_population(loaded_url):
    from simulations.population import Population

    snap = store.member_snapshot("2025-07-01", url=loaded_url)
    population = Population.from_frame(snap, as_of=dt.date(2025, 7, 1))
    assert len(population.member_id) == 3


def test_data_state_changes_with_the_data_and_only_then(loaded_url):
    from sqlalchemy import text

    before = store.data_state(loaded_url)
    assert store.data_state(loaded_url) == before  # reading changes nothing
    # a changed amount keeps every count and date: the totals still tell
    with store.write_connection(loaded_url) as conn:
        conn.execute(
            text("UPDATE transactions SET net_amount = net_amount + 1 WHERE transaction_id = 'T2'")
        )
    after_amount = store.data_state(loaded_url)
    assert after_amount != before
    with store.write_connection(loaded_url) as conn:
        conn.execute(text("DELETE FROM points_ledger WHERE kind = 'expire'"))
    assert store.data_state(loaded_url) not in (before, after_amount)
