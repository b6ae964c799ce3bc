"""Redemption requests: the logistic propensity of truth.json, seen from the data alone.

At each December opening the balance and tier of every member are rebuilt by replaying the
history before it; whether the member redeemed that December is read from the ledger.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from policies import rules
from policies.io import load_policy
from policies.ledger import replay
from sample_data.generator import PROJECT_ROOT


def decisions(program, year):
    """One row per member with a redeemable balance on 1 December ``year``."""
    policy = load_policy(PROJECT_ROOT / program.truth["policy"]["file"])
    opening = pd.Timestamp(year, 12, 1)
    members = program.members[program.members["join_date"] < opening]
    tx = program.transactions[program.transactions["date"] < opening]
    ledger = program.points_ledger
    redeemed = ledger[ledger["kind"] == "redeem"]
    earlier = redeemed[redeemed["date"] < opening]
    requests = pd.DataFrame(
        {"member_id": earlier["member_id"], "date": earlier["date"], "points": -earlier["points"]}
    )
    state = replay(
        policy,
        members[["member_id", "join_date", "birthday"]],
        tx[["transaction_id", "member_id", "date", "amount"]],
        requests,
        start=pd.Timestamp(program.truth["start"]).date(),
        end=opening.date() - dt.timedelta(days=1),
    )
    ids = members["member_id"].to_numpy()
    balance = np.array([state.accounts[m].balance for m in ids])
    tier = np.array([state.accounts[m].tier for m in ids])
    redeemable = rules.redeemable_points(policy, opening.date(), balance, np.zeros_like(balance))
    in_december = redeemed[redeemed["date"].dt.year.eq(year) & redeemed["date"].dt.month.eq(12)]
    frame = pd.DataFrame(
        {
            "member_id": ids,
            "balance": balance,
            "tier": tier,
            "redeemed": np.isin(ids, in_december["member_id"].to_numpy()),
        }
    )
    assert set(in_december["member_id"]) <= set(frame.loc[redeemable > 0, "member_id"])
    return frame[redeemable > 0].reset_index(drop=True)


def propensity(truth, frame):
    coefs = np.asarray(truth["tier_coefs"])
    score = (
        truth["intercept"]
        + truth["balance_coef"] * np.log1p(frame["balance"] / truth["balance_scale"])
        + coefs[frame["tier"]]
    )
    return 1 / (1 + np.exp(-score))


def test_redeemers_match_the_true_propensity(small_program):
    frame = decisions(small_program, 2025)
    chance = propensity(small_program.truth["redemption"], frame)
    expected, spread = chance.sum(), np.sqrt((chance * (1 - chance)).sum())
    assert len(frame) > 150
    # Tolerance: 4 binomial standard deviations of the number of redeemers.
    assert abs(frame["redeemed"].sum() - expected) < 4 * spread
    # Only members at or above the minimum balance are asked, and all of them may redeem.
    assert frame["balance"].min() >= 1_000


@pytest.mark.slow
def test_logistic_fit_recovers_the_redemption_coefficients(shipped):
    import statsmodels.api as sm

    truth = shipped.truth["redemption"]
    frame = pd.concat([decisions(shipped, year) for year in (2024, 2025)], ignore_index=True)
    exog = pd.DataFrame(
        {
            "const": 1.0,
            "log_balance": np.log1p(frame["balance"] / truth["balance_scale"]),
            **{f"tier_{k}": (frame["tier"] == k).astype(float) for k in (1, 2, 3)},
        }
    )
    fit = sm.Logit(frame["redeemed"].astype(float), exog).fit(disp=0)
    true = np.array([truth["intercept"], truth["balance_coef"], *truth["tier_coefs"][1:]])
    # Tolerance: 4 standard errors per coefficient.
    assert (np.abs(fit.params.to_numpy() - true) < 4 * fit.bse.to_numpy()).all(), fit.summary()
    assert fit.bse["log_balance"] < 0.2
