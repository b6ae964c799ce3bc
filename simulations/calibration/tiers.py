"""Approximate tier history of each member from a transaction log and a policy.

Client exports rarely carry the tier a member held in each past month, yet redemption
propensity depends on it. This module rebuilds it from the policy's own rules
(`policies.rules.qualified_tier`) at the start of each month:

* the qualifying score of a month end is the policy's metric (spend, purchase days, or
  points issued from the ledger) over its qualifying period (rolling N months, or the
  calendar year to date);
* with immediate upgrades, a member holds the best tier qualified for at any month end since
  the last review; at a review the tier is the one qualified for then, dropping at most one
  level when the policy downgrades one level at a time.

It ignores grace months and mid-month upgrades (a tier reached on the 20th shows from the
next month), which is enough for a covariate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from policies import rules
from policies.model import Policy

__all__ = ["policy_tiers"]


def _monthly_scores(policy: Policy, transactions, ledger, months) -> pd.DataFrame:
    metric = policy.tiers.qualifying_metric
    if metric == "points":
        if ledger is None:
            raise ValueError("a points-qualified policy needs the points ledger for tiers")
        issued = ledger[ledger["kind"].isin(("earn", "bonus"))]
        frame = issued.assign(month=issued["date"].dt.to_period("M"))
        values = "points"
    elif metric == "purchases":
        frame = transactions[["member_id", "date"]].drop_duplicates()
        frame = frame.assign(month=frame["date"].dt.to_period("M"), count=1)
        values = "count"
    else:
        frame = transactions.assign(month=transactions["date"].dt.to_period("M"))
        values = "amount"
    table = frame.pivot_table(index="member_id", columns="month", values=values, aggfunc="sum")
    return table.reindex(columns=months, fill_value=0).fillna(0)


def policy_tiers(
    policy: Policy,
    transactions: pd.DataFrame,
    ledger: pd.DataFrame | None = None,
    months: pd.PeriodIndex | None = None,
) -> pd.DataFrame:
    """Tier code held at the start of each month (see the module docstring).

    Args:
        policy: the policy whose tier rules apply.
        transactions: checked log (``member_id``, ``date`` as datetime, ``amount``).
        ledger: checked points ledger (needed when tiers qualify on points).
        months: months to report (default: from the first to the month after the last
            purchase).

    Returns:
        ``member_id``, ``month`` (``YYYY-MM``), ``tier`` (0 = entry tier).
    """
    first = transactions["date"].min().to_period("M")
    last = transactions["date"].max().to_period("M") + 1
    if months is None:
        months = pd.period_range(first, last, freq="M")
    span = pd.period_range(min(first, months.min()), max(last, months.max()), freq="M")
    scores = _monthly_scores(policy, transactions, ledger, span).to_numpy(dtype=float)
    cumulative = np.concatenate([np.zeros((len(scores), 1)), scores.cumsum(axis=1)], axis=1)
    period = policy.tiers.qualifying_period
    review_months = set(policy.tiers.review_months())
    immediate = policy.tiers.upgrade_timing == "immediate"
    one_level = policy.tiers.downgrade == "one_level"
    never_down = policy.tiers.downgrade == "none"

    def qualified(end: int) -> np.ndarray:
        # Score over the qualifying period ending with month index `end` (inclusive).
        if period.kind == "rolling":
            start = max(end - period.months + 1, 0)
        else:
            start = max(end - (span[end].month - 1), 0)
        return rules.qualified_tier(policy, cumulative[:, end + 1] - cumulative[:, start])

    tier = np.zeros(len(scores), dtype=np.int64)
    held = {}
    for j, month in enumerate(span):
        # `tier` is the tier held at the start of `month`.
        held[month] = tier.copy()
        earned = qualified(j)
        following = month + 1
        if following.month in review_months:
            if never_down:
                tier = np.maximum(tier, earned)
            elif one_level:
                tier = np.maximum(np.maximum(tier - 1, 0), earned)
            else:
                tier = earned
        elif immediate:
            tier = np.maximum(tier, earned)
    ids = _monthly_scores(policy, transactions, ledger, span).index.to_numpy()
    parts = [
        pd.DataFrame({"member_id": ids, "month": str(month), "tier": held[month]})
        for month in months
        if month in held
    ]
    return pd.concat(parts, ignore_index=True)
