"""Exact equivalence: simulated members replayed through the live ledger give the same points.

The engine traces every member's purchases (gross amounts) and redemption requests; replaying
them through `policies.ledger.replay` must book exactly the same points issued, redeemed and
expired per member and month, and leave every member in the same tier.
"""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from policies.io import load_policy
from policies.ledger import replay
from simulations.behavior import DEFAULT_BEHAVIOR
from simulations.engine import simulate_replication
from simulations.population import Population

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"
CLASSIC = load_policy(EXAMPLES / "classic_four_tier.yaml")
START = dt.date(2026, 1, 1)

# Busy members so a few hundred of them exercise tiers, redemption and expiry.
BUSY = DEFAULT_BEHAVIOR.model_copy(
    update={
        "bgnbd": DEFAULT_BEHAVIOR.bgnbd.model_copy(update={"alpha": 4.0, "b": 12.0}),
        "redemption": DEFAULT_BEHAVIOR.redemption.model_copy(update={"intercept": 0.5}),
        "new_members_per_month": 15.0,
    }
)


def variant(**changes):
    data = CLASSIC.model_dump()
    for path, value in changes.items():
        target = data
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return type(CLASSIC).model_validate(data)


# Every campaign kind, targeted on one axis, running through the horizon (the last months
# too, where a 12-month quadrant window first differs from a shorter one).
_KINDS = {
    "member_day": {"recurrence": {"weekday": 5}, "points_multiplier": 3, "discount_pct": 5},
    "bonus_points": {"recurrence": {"day_of_month": 15}, "points_multiplier": 4},
    "birthday": {"birthday_scope": "month", "points_multiplier": 2, "bonus_points": 300},
    "threshold_reduction": {"threshold": 200, "reduction": 30},
    "activation": {"recurrence": {"day_of_month": 1}, "coupon_value": 10},
    "reactivation": {"recurrence": {"day_of_month": 20}, "recency_days": 30},
    "redemption_event": {"recurrence": {"day_of_month": 25}},
}


def targeted(axis: str, values_by_kind: dict, extra=(), **changes):
    """The classic policy with one campaign of every kind, each targeted on ``axis``."""
    campaigns = (
        *extra,
        *(
            {
                "id": f"{axis}-{kind}",
                "name": f"{kind} for {axis}",
                "kind": kind,
                "start": "2026-01-01",
                "end": "2027-12-31",
                "target": {axis: values_by_kind[kind]} if values_by_kind[kind] else {},
                "stacking": "stack",
                **fields,
            }
            for kind, fields in _KINDS.items()
        ),
    )
    return variant(campaigns=campaigns, **changes)


# Cut-offs near the busy members' yearly purchases and spend, so the window's oldest month
# often decides the quadrant.
_QUADRANT_CUTS = {"quadrant_min_purchases": 60, "quadrant_min_spend": 15000.0}

TARGETED = {
    "quadrant_targeted": targeted(
        "quadrants",
        {
            "member_day": ("close_friends",),
            "bonus_points": ("barnacles", "close_friends"),
            "birthday": ("butterflies", "close_friends"),
            "threshold_reduction": ("passers_by",),
            "activation": ("passers_by",),
            "reactivation": ("barnacles", "passers_by"),
            "redemption_event": ("close_friends",),
        },
        segments={**CLASSIC.segments.model_dump(), **_QUADRANT_CUTS},
    ),
    "lifecycle_targeted": targeted(
        "lifecycle",
        {
            "member_day": ("active",),
            "bonus_points": ("new", "silent"),
            "birthday": ("active", "dormant"),
            "threshold_reduction": ("silent", "dormant", "churned"),
            "activation": ("new",),
            "reactivation": ("silent", "dormant"),
            "redemption_event": ("active",),
        },
        segments={"new_days": 20, "active_days": 30, "silent_days": 60, "dormant_days": 120},
    ),
    # Everyone on every axis: birthday offers target by the birthday alone (the day and the
    # month), with a program birthday bonus on top.
    "birthday_targeted": targeted(
        "tiers",
        dict.fromkeys(_KINDS, ()),
        extra=(
            {
                "id": "birthday-day",
                "name": "Triple points on the birthday",
                "kind": "birthday",
                "start": "2026-01-01",
                "end": "2027-12-31",
                "birthday_scope": "day",
                "points_multiplier": 3,
                "discount_pct": 10,
                "bonus_points": 100,
                "stacking": "best",
            },
        ),
        points__bonuses__birthday=80,
    ),
    "tier_targeted": targeted(
        "tiers",
        {
            "member_day": ("Silver", "Gold"),
            "bonus_points": ("Regular",),
            "birthday": ("Gold", "Diamond"),
            "threshold_reduction": ("Regular", "Silver"),
            "activation": ("Regular",),
            "reactivation": ("Silver",),
            "redemption_event": ("Diamond", "Gold"),
        },
    ),
}

POLICIES = {
    "classic": CLASSIC,
    "inactivity_anytime_capped": variant(
        expiry={"kind": "inactivity", "months": 2},
        points__redemption__windows=(),
        points__redemption__max_points_per_year=3000,
        points__bonuses__birthday=50,
    ),
    "fixed_date_calendar_purchases": variant(
        expiry={"kind": "fixed_date", "month": 6, "day": 30, "years_after": 0},
        tiers__qualifying_metric="purchases",
        tiers__qualifying_period={"kind": "calendar_year", "months": 12},
        tiers__upgrade_timing="at_review",
        tiers__review_every_months=3,
        tiers__grace_months=3,
        tiers__tiers=[
            {"name": "Regular", "threshold": 0},
            {"name": "Silver", "threshold": 4, "benefits": {"earn_multiplier": 1.5}},
            {"name": "Gold", "threshold": 12, "benefits": {"earn_multiplier": 2.0}},
        ],
        campaigns=(),
        points__redemption__windows=({"start_month": 3, "end_month": 4, "end_day": 30},),
    ),
    "rolling_points_bands": variant(
        expiry={"kind": "rolling", "months": 3},
        tiers__qualifying_metric="points",
        tiers__qualifying_period={"kind": "rolling", "months": 6},
        tiers__downgrade="at_review",
        tiers__review_every_months=6,
        points__earn__balance_bands=({"min_balance": 2000, "multiplier": 1.5},),
        points__earn__rounding="round",
        points__redemption__windows=(),
    ),
    **TARGETED,
}


def _ledger_inputs(out):
    members = pd.DataFrame(
        {
            "member_id": out.member_id,
            "join_date": [START + dt.timedelta(days=int(d)) for d in out.join_day],
            "birthday": [dt.date(2001, int(m), int(d)) for m, d in out.birthday],
        }
    )
    rows = [
        (out.member_id[i], START + dt.timedelta(days=day), float(g))
        for idx, day, gross in out.trace.purchases
        for i, g in zip(idx, gross, strict=True)
    ]
    purchases = pd.DataFrame(rows, columns=["member_id", "date", "amount"])
    requests = [
        (out.member_id[i], START + dt.timedelta(days=day), int(p))
        for idx, day, points in out.trace.redemptions
        for i, p in zip(idx, points, strict=True)
    ]
    redemptions = pd.DataFrame(requests, columns=["member_id", "date", "points"])
    return members, purchases, redemptions


def _engine_points(out) -> pd.DataFrame:
    rows = [
        (out.member_id[i], START + dt.timedelta(days=day), kind, int(p))
        for idx, day, kind, points in out.trace.points
        for i, p in zip(idx, points, strict=True)
    ]
    return pd.DataFrame(rows, columns=["member_id", "date", "kind", "points"])


def _by_member_month(entries: pd.DataFrame) -> pd.DataFrame:
    frame = entries[entries["points"] != 0].copy()
    frame["month"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m")
    frame["kind"] = frame["kind"].replace({"earn": "issued", "bonus": "issued"})
    table = frame.pivot_table(
        index=["member_id", "month"], columns="kind", values="points", aggfunc="sum", fill_value=0
    )
    return table.reindex(columns=["issued", "redeem", "expire"], fill_value=0).sort_index()


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_replayed_trace_books_the_same_points_and_tiers(name):
    policy = POLICIES[name]
    # The quadrant policy runs 20 months: the 12-month window first reaches back past a
    # member's first month in the 13th, and members who joined in the first months need a
    # few months more to meet it.
    months = 20 if name == "quadrant_targeted" else 14
    out = simulate_replication(
        policy, BUSY, Population.empty(START), START, months, np.random.SeedSequence(7), trace=True
    )
    assert 120 <= len(out.member_id) <= 500
    members, purchases, redemptions = _ledger_inputs(out)
    assert len(purchases) > 1000
    end = dt.date(2027, 8, 31) if name == "quadrant_targeted" else dt.date(2027, 2, 28)
    result = replay(policy, members, purchases, redemptions, start=START, end=end)

    engine = _by_member_month(_engine_points(out))
    ledger = _by_member_month(result.entries)
    pd.testing.assert_frame_equal(engine, ledger, check_dtype=False)
    assert (engine["redeem"] < 0).any(), "the test should exercise redemption"
    if name != "inactivity_anytime_capped":
        assert (engine["expire"] < 0).any(), "the test should exercise expiry"

    ledger_tiers = np.array([result.accounts[m].tier for m in out.member_id])
    np.testing.assert_array_equal(out.final_tier, ledger_tiers)
    assert len(set(ledger_tiers.tolist())) > 1, "the test should exercise tier changes"

    # The monthly roll-forward of the engine equals the ledger's, month by month.
    monthly = pd.DataFrame(out.monthly).set_index("month")
    rolled = result.roll_forward().set_index("month")
    for engine_col, ledger_col in [
        ("points_issued", "issued"),
        ("points_redeemed", "redeemed"),
        ("points_expired", "expired"),
        ("points_closing", "closing"),
    ]:
        np.testing.assert_array_equal(
            monthly[engine_col].to_numpy(), rolled[ledger_col].reindex(monthly.index).to_numpy()
        )
