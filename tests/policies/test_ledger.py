"""The live ledger (policies.ledger): replay balances, expiry and tiers."""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.io import load_policy
from policies.ledger import replay, roll_forward

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"
CLASSIC = load_policy(EXAMPLES / "classic_four_tier.yaml")

EXPIRIES = [
    {"kind": "none"},
    {"kind": "rolling", "months": 12},
    {"kind": "rolling", "months": 3},
    {"kind": "fixed_date", "month": 6, "day": 30, "years_after": 1},
    {"kind": "inactivity", "months": 4},
]


def policy_with(expiry=None, **redemption):
    data = CLASSIC.model_dump()
    if expiry is not None:
        data["expiry"] = expiry
    data["points"]["redemption"].update(redemption)
    return type(CLASSIC).model_validate(data)


def one_member(join=dt.date(2025, 1, 5), birthday=dt.date(1990, 7, 1)):
    return pd.DataFrame({"member_id": ["A"], "join_date": [join], "birthday": [birthday]})


@st.composite
def logs(draw):
    n_members = draw(st.integers(1, 6))
    start = dt.date(2025, 1, 1)
    joins = [start + dt.timedelta(days=draw(st.integers(0, 200))) for _ in range(n_members)]
    births = [dt.date(1990, 1, 1) + dt.timedelta(days=draw(st.integers(0, 364))) for _ in joins]
    members = pd.DataFrame(
        {"member_id": [f"M{i}" for i in range(n_members)], "join_date": joins, "birthday": births}
    )
    rows, requests = [], []
    for member in members.itertuples():
        for _ in range(draw(st.integers(0, 12))):
            day = member.join_date + dt.timedelta(days=draw(st.integers(0, 700)))
            amount = draw(st.floats(min_value=0, max_value=20_000, allow_nan=False))
            rows.append((member.member_id, day, round(amount, 2)))
        for _ in range(draw(st.integers(0, 3))):
            day = member.join_date + dt.timedelta(days=draw(st.integers(0, 700)))
            requests.append((member.member_id, day, draw(st.integers(0, 30_000))))
    purchases = pd.DataFrame(rows, columns=["member_id", "date", "amount"])
    redemptions = pd.DataFrame(requests, columns=["member_id", "date", "points"])
    return members, purchases, redemptions


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=logs(), expiry=st.sampled_from(EXPIRIES), windows=st.booleans())
def test_replay_roll_forward_balances_and_matches_accounts(log, expiry, windows):
    members, purchases, redemptions = log
    policy = policy_with(expiry, **({} if windows else {"windows": []}))
    result = replay(policy, members, purchases, redemptions, end=dt.date(2027, 6, 30))
    table = result.roll_forward()
    change = table["issued"] - table["redeemed"] - table["expired"]
    assert (table["opening"] + change == table["closing"]).all()
    assert (table["closing"].shift(1).fillna(0) == table["opening"]).all()
    assert (table[["issued", "redeemed", "expired"]] >= 0).all().all()
    held = sum(account.balance for account in result.accounts.values())
    closing = int(table["closing"].iloc[-1]) if len(table) else 0
    assert held == closing
    for account in result.accounts.values():
        assert all(points > 0 for points in account.lots.values())
    if expiry["kind"] == "none":
        assert table["expired"].sum() == 0


def test_rolling_expiry_removes_points_at_the_end_of_the_expiry_month():
    policy = policy_with({"kind": "rolling", "months": 12}, windows=[])
    purchases = pd.DataFrame({"member_id": ["A"], "date": [dt.date(2025, 3, 17)], "amount": [500]})
    result = replay(policy, one_member(), purchases, end=dt.date(2026, 4, 30))
    expiries = result.entries[result.entries["kind"] == "expire"]
    # 500 points from the purchase expire after 31 March 2026 (signup bonus from January
    # 2025 expired after 31 January 2026).
    assert list(zip(expiries["date"], expiries["points"], strict=True)) == [
        (dt.date(2026, 1, 31), -100),
        (dt.date(2026, 3, 31), -500),
    ]


def test_fifo_redemption_spares_the_newest_points():
    policy = policy_with({"kind": "rolling", "months": 12}, windows=[], minimum_points=100)
    purchases = pd.DataFrame(
        {
            "member_id": ["A", "A"],
            "date": [dt.date(2025, 2, 1), dt.date(2025, 9, 1)],
            "amount": [1000, 1000],
        }
    )
    redemptions = pd.DataFrame(
        {"member_id": ["A"], "date": [dt.date(2025, 10, 1)], "points": [1100]}
    )
    result = replay(policy, one_member(), purchases, redemptions, end=dt.date(2026, 9, 30))
    expiries = result.entries[result.entries["kind"] == "expire"]
    # The 100 signup + 1000 February points were redeemed; only September's 1000 expire.
    assert expiries["points"].tolist() == [-1000]
    assert expiries["date"].tolist() == [dt.date(2026, 9, 30)]


def test_inactivity_lapses_the_whole_balance():
    policy = policy_with({"kind": "inactivity", "months": 4}, windows=[])
    dates = [dt.date(2025, 2, 1), dt.date(2025, 5, 20)]
    purchases = pd.DataFrame({"member_id": ["A", "A"], "date": dates, "amount": [300, 200]})
    result = replay(policy, one_member(), purchases, end=dt.date(2025, 12, 31))
    expiries = result.entries[result.entries["kind"] == "expire"]
    assert expiries["points"].tolist() == [-600]
    assert expiries["date"].tolist() == [dt.date(2025, 9, 30)]


def test_immediate_upgrade_and_yearly_one_level_downgrade():
    purchases = pd.DataFrame(
        {
            "member_id": ["A", "A"],
            "date": [dt.date(2025, 2, 1), dt.date(2025, 2, 2)],
            "amount": [4000, 40000],
        }
    )
    result = replay(CLASSIC, one_member(), purchases, end=dt.date(2027, 1, 2))
    account = result.accounts["A"]
    priced = result.purchases.set_index("transaction_id")
    # The second purchase earns at Silver (1.2x, 2% off) after the first one upgraded.
    assert priced.loc["T1", "points_earned"] == int(np.floor(40000 * 0.98 * 1.2 + 1e-9))
    # Diamond in 2025; the January 2026 review still sees the spend of Feb 2025 in the
    # rolling 12 months; the January 2027 review drops one level.
    assert account.tier == 2


def test_roll_forward_fills_empty_months():
    entries = pd.DataFrame(
        {
            "member_id": ["A", "A"],
            "date": [dt.date(2025, 1, 3), dt.date(2025, 3, 3)],
            "kind": ["earn", "redeem"],
            "points": [500, -200],
            "transaction_id": ["", ""],
            "note": ["", ""],
        }
    )
    table = roll_forward(entries, months=["2025-01", "2025-02", "2025-03"])
    assert table["closing"].tolist() == [500, 500, 300]
    assert table["opening"].tolist() == [0, 500, 500]
