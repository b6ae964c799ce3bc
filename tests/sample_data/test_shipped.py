"""The shipped sample program: its ledger reconciles with a fresh replay of its transactions.

The default run replays a seeded sample of members (each member's ledger depends on that
member's purchases only); the full replay and the regeneration check are marked slow.
"""

import numpy as np
import pandas as pd
import pytest

from policies.io import content_id, load_policy
from policies.ledger import replay, roll_forward
from sample_data import DEFAULT_PARAMS, SHIPPED_FOLDER, generate
from sample_data.generator import PROJECT_ROOT

ENTRY_COLUMNS = ["member_id", "date", "kind", "points", "transaction_id", "note"]


def _fresh_replay(program, member_ids):
    """Book the shipped transactions (and redemption requests) of ``member_ids`` again."""
    policy = load_policy(PROJECT_ROOT / program.truth["policy"]["file"])
    chosen = set(member_ids)
    members = program.members[program.members["member_id"].isin(chosen)]
    tx = program.transactions[program.transactions["member_id"].isin(chosen)]
    ledger = program.points_ledger[program.points_ledger["member_id"].isin(chosen)]
    redeemed = ledger[ledger["kind"] == "redeem"]
    requests = pd.DataFrame(
        {
            "member_id": redeemed["member_id"],
            "date": redeemed["date"],
            "points": -redeemed["points"],
        }
    )
    result = replay(
        policy,
        members[["member_id", "join_date", "birthday"]],
        tx[["transaction_id", "member_id", "date", "amount"]],
        requests,
        start=pd.Timestamp(program.truth["start"]).date(),
        end=pd.Timestamp(program.truth["end"]).date(),
    )
    return result, tx, ledger


def _assert_reconciles(program, member_ids):
    result, tx, ledger = _fresh_replay(program, member_ids)
    fresh = result.entries.copy()
    fresh["date"] = pd.to_datetime(fresh["date"])

    def by_member_month(frame):
        month = frame["date"].dt.strftime("%Y-%m")
        return frame.groupby(["member_id", month, "kind"])["points"].sum().sort_index()

    pd.testing.assert_series_equal(by_member_month(fresh), by_member_month(ledger))

    def ordered(frame):
        out = frame[ENTRY_COLUMNS].astype({"points": np.int64, "member_id": str})
        return out.sort_values(ENTRY_COLUMNS).reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(fresh), ordered(ledger), check_dtype=False)

    priced = result.purchases.set_index("transaction_id").loc[tx["transaction_id"]]
    np.testing.assert_array_equal(priced["discount"].to_numpy(), tx["discount"].to_numpy())
    np.testing.assert_array_equal(priced["net_amount"].to_numpy(), tx["net_amount"].to_numpy())
    np.testing.assert_array_equal(
        priced["points_earned"].to_numpy(), tx["points_earned"].to_numpy()
    )

    months = pd.period_range(program.truth["start"], program.truth["end"], freq="M")
    months = [str(m) for m in months]
    pd.testing.assert_frame_equal(
        roll_forward(fresh, months), roll_forward(ledger, months), check_dtype=False
    )


def test_shipped_ledger_reconciles_for_sampled_members(shipped):
    ids = shipped.members["member_id"].to_numpy()
    sample = np.random.default_rng(20261123).choice(ids, size=2_000, replace=False)
    _assert_reconciles(shipped, sample)


@pytest.mark.slow
def test_shipped_ledger_reconciles_for_all_members(shipped):
    _assert_reconciles(shipped, shipped.members["member_id"])


def test_shipped_roll_forward_balances_every_month(shipped):
    ledger = shipped.points_ledger
    months = [
        str(m) for m in pd.period_range(shipped.truth["start"], shipped.truth["end"], freq="M")
    ]
    table = roll_forward(ledger, months)
    assert list(table["month"]) == months
    change = table["issued"] - table["redeemed"] - table["expired"]
    assert (table["opening"] + change == table["closing"]).all()
    assert (table["closing"].shift(1).iloc[1:] == table["opening"].iloc[1:]).all()
    assert table["opening"].iloc[0] == 0
    assert table["closing"].iloc[-1] == ledger["points"].sum()
    assert (table["closing"] >= 0).all()
    # Every member's running balance stays non-negative.
    running = ledger.groupby("member_id")["points"].cumsum()
    assert running.min() >= 0
    # Redemption happens only in the December appreciation month.
    assert set(table.loc[table["redeemed"] > 0, "month"].str[-2:]) == {"12"}


def test_shipped_truth_matches_the_generator_and_policy(shipped):
    truth = shipped.truth
    policy = load_policy(PROJECT_ROOT / truth["policy"]["file"])
    assert truth["policy"]["content_id"] == content_id(policy), (
        "the policy file changed since the sample was generated: run python -m sample_data"
    )
    params = DEFAULT_PARAMS.to_dict()
    for section in ("bgnbd", "gamma_gamma", "seasonality", "acquisition", "redemption", "members"):
        assert truth[section] == params[section]
    assert truth["time_unit"] == "day" and truth["ledger"] is True
    assert len(shipped.members) == truth["n_members"] == 20_000
    assert shipped.transactions["date"].max() <= pd.Timestamp(truth["generation_end"])


def test_shipped_program_is_plausible(shipped):
    tx = shipped.transactions
    assert 250 <= tx["amount"].mean() <= 400  # a department-store basket
    assert 5 <= len(tx) / len(shipped.members) <= 15
    # a few MB in the repository (the prebuilt database beside it: tests/store/test_prebuilt.py)
    size = sum(p.stat().st_size for p in SHIPPED_FOLDER.iterdir() if ".sqlite" not in p.name)
    assert size < 10_000_000


@pytest.mark.slow
def test_shipped_copy_is_what_the_generator_makes(shipped):
    truth = shipped.truth
    fresh = generate(n_members=truth["n_members"], seed=truth["seed"])
    for name, frame in fresh.tables().items():
        pd.testing.assert_frame_equal(shipped.tables()[name], frame)
