"""Descriptive analytics of a member base: segments, RFM, lifecycle, concentration, cohorts.

Pure functions from tables to tables (pandas in, pandas out; no I/O, no randomness). The
inputs follow the sample-data contract:

* transactions: ``member_id``, ``date``, ``amount`` (gross; pass ``amount_column`` to use
  ``net_amount``), one row per purchase;
* members: ``member_id``, ``join_date``;
* points ledger: ``member_id``, ``date``, ``kind`` in {earn, bonus, redeem, expire} and
  signed ``points`` (earn/bonus positive, redeem/expire negative).

Purchases by one member on one day count as one purchase (one *occasion*), as in the
calibration and the rules engine. Segment definitions follow the policy's `SegmentRules`
(lifecycle thresholds are "at most N days"; quadrant cut-offs are "at least").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from policies import compiled, rules
from policies.model import LIFECYCLE_STATES, QUADRANTS, SegmentRules
from simulations.breakage import breakage_by_month, roll_forward_breakage
from simulations.calibration.data import check_transactions, parse_dates
from simulations.calibration.errors import CalibrationDataError
from simulations.calibration.redemption import check_ledger

__all__ = [
    "LIFECYCLE_STATES",
    "QUADRANTS",
    "breakage_to_date",
    "cohort_retention",
    "concentration_curve",
    "four_quadrants",
    "lifecycle_states",
    "points_roll_forward",
    "policy_quadrants",
    "revenue_concentration",
    "rfm_scores",
]

_SEGMENTS = SegmentRules()
DateLike = str | dt.date | pd.Timestamp


def _log(transactions: pd.DataFrame, amount_column: str) -> pd.DataFrame:
    frame = transactions
    if amount_column != "amount":
        if amount_column not in transactions:
            raise CalibrationDataError(
                f"transactions: missing column {amount_column} (asked for as the amount)"
            )
        frame = transactions.drop(columns="amount", errors="ignore").rename(
            columns={amount_column: "amount"}
        )
    return check_transactions(frame)


def _per_member(log: pd.DataFrame) -> pd.DataFrame:
    """Purchase occasions, spend, first and last purchase day per member."""
    grouped = log.groupby("member_id", sort=True)
    return pd.DataFrame(
        {
            "purchases": grouped["date"].nunique(),
            "spend": grouped["amount"].sum(),
            "first_purchase": grouped["date"].min(),
            "last_purchase": grouped["date"].max(),
        }
    )


def four_quadrants(
    transactions: pd.DataFrame,
    start: DateLike | None = None,
    end: DateLike | None = None,
    min_purchases: float | None = None,
    min_spend: float | None = None,
    members: Iterable[str] | None = None,
    amount_column: str = "amount",
) -> pd.DataFrame:
    """Four-quadrant segments (四象限) on purchase count x spend over a period.

    ``close_friends`` (many purchases, high spend), ``butterflies`` (few, high),
    ``barnacles`` (many, low), ``passers_by`` (few, low). "Many" means at least
    ``min_purchases`` and "high" at least ``min_spend``; by default each cut-off splits at
    the median of the members with a purchase in the period: strictly above the median is
    many/high (so a median of one purchase does not make every buyer "many").

    Args:
        transactions: purchases (``member_id``, ``date``, amount).
        start: first day of the period (default: the first day of the log).
        end: last day of the period, included (default: the last day of the log).
        min_purchases: "many" cut-off (at least), or None for the median rule.
        min_spend: "high" cut-off (at least), or None for the median rule.
        members: also list these members (with no purchase they are passers-by); members
            of the log who bought only outside the period are always listed.
        amount_column: the spend column (``amount`` or ``net_amount``).

    Returns:
        One row per member (index ``member_id``): ``purchases``, ``spend``, ``quadrant``;
        ``attrs`` holds the cut-offs used.
    """
    log = _log(transactions, amount_column)
    known = pd.Index(log["member_id"].unique(), name="member_id")
    if members is not None:
        known = known.union(pd.Index([str(m) for m in members], name="member_id"))
    if start is not None:
        log = log[log["date"] >= pd.Timestamp(start)]
    if end is not None:
        log = log[log["date"] <= pd.Timestamp(end)]
    table = _per_member(log)[["purchases", "spend"]].reindex(known.sort_values(), fill_value=0)
    buyers = table[table["purchases"] > 0]
    if min_purchases is None:
        median = float(buyers["purchases"].median()) if len(buyers) else 0.0
        many = table["purchases"] > median
        purchases_rule = f"> {median:g} (median)"
    else:
        many = table["purchases"] >= min_purchases
        purchases_rule = f">= {min_purchases:g}"
    spend = table["spend"].round(2)
    if min_spend is None:
        median = float(buyers["spend"].median()) if len(buyers) else 0.0
        high = spend > round(median, 2)
        spend_rule = f"> {median:.2f} (median)"
    else:
        high = spend >= min_spend
        spend_rule = f">= {min_spend:.2f}"
    table = table.assign(
        quadrant=np.where(
            many,
            np.where(high, "close_friends", "barnacles"),
            np.where(high, "butterflies", "passers_by"),
        )
    )
    table.attrs = {"many_purchases": purchases_rule, "high_spend": spend_rule}
    return table


def _score(values: pd.Series, bins: int) -> pd.Series:
    # Percentile rank, ties sharing the average rank, cut into equal bands 1..bins.
    pct = values.rank(method="average", pct=True)
    return np.clip(np.ceil(pct * bins), 1, bins).astype(np.int64)


def rfm_scores(
    transactions: pd.DataFrame,
    as_of: DateLike | None = None,
    bins: int = 5,
    amount_column: str = "amount",
) -> pd.DataFrame:
    """RFM (recency, frequency, monetary) values and 1-``bins`` scores per member.

    Recency is days from the last purchase to ``as_of`` (default: the last day in the log);
    frequency counts purchase occasions; monetary is total spend. Scores are percentile
    bands (quintiles by default) with ties sharing a score; 5 is best on every axis, so the
    most recent buyers get recency 5.

    Returns:
        Index ``member_id``; columns ``recency_days``, ``frequency``, ``monetary``,
        ``r_score``, ``f_score``, ``m_score``, ``rfm_code`` (e.g. ``"545"``) and
        ``rfm_total``.
    """
    if bins < 2:
        raise ValueError(f"bins(={bins}) must be at least 2")
    log = _log(transactions, amount_column)
    end = log["date"].max() if as_of is None else pd.Timestamp(as_of)
    log = log[log["date"] <= end]
    base = _per_member(log)
    table = pd.DataFrame(
        {
            "recency_days": (end - base["last_purchase"]).dt.days.astype(np.int64),
            "frequency": base["purchases"].astype(np.int64),
            "monetary": base["spend"],
        }
    )
    table["r_score"] = _score(-table["recency_days"], bins)
    table["f_score"] = _score(table["frequency"], bins)
    table["m_score"] = _score(table["monetary"], bins)
    table["rfm_code"] = (
        table["r_score"].astype(str) + table["f_score"].astype(str) + table["m_score"].astype(str)
    )
    table["rfm_total"] = table[["r_score", "f_score", "m_score"]].sum(axis=1)
    return table


def lifecycle_states(
    members: pd.DataFrame,
    transactions: pd.DataFrame,
    as_of: DateLike | None = None,
    new_days: int = _SEGMENTS.new_days,
    active_days: int = _SEGMENTS.active_days,
    silent_days: int = _SEGMENTS.silent_days,
    dormant_days: int = _SEGMENTS.dormant_days,
) -> pd.DataFrame:
    """Lifecycle state of each member on ``as_of`` (潜在 -> 新 -> 活跃 -> 沉默 -> 沉睡 -> 流失).

    The policy's rule (`policies.compiled.lifecycle_code`, thresholds as in
    `policies.model.SegmentRules`, whose defaults these are): ``new``: joined at most
    ``new_days`` ago with at most one purchase; otherwise by days since the last purchase
    (since joining for members who never bought): ``active`` at most ``active_days``,
    ``silent`` at most ``silent_days``, ``dormant`` at most ``dormant_days``, else
    ``churned``. Members who join after ``as_of`` are left out.

    Returns:
        Index ``member_id``; ``days_since_join``, ``days_since_purchase``, ``purchases``,
        ``state``.
    """
    if not 0 < active_days < silent_days < dormant_days:
        raise ValueError(
            f"thresholds must increase: active_days(={active_days}) < silent_days"
            f"(={silent_days}) < dormant_days(={dormant_days})"
        )
    if "member_id" not in members or "join_date" not in members:
        raise CalibrationDataError("members: needs columns member_id and join_date")
    log = check_transactions(transactions)
    end = log["date"].max() if as_of is None else pd.Timestamp(as_of)
    log = log[log["date"] <= end]
    joined = pd.Series(
        parse_dates(members, "join_date", "members").to_numpy(),
        index=members["member_id"].astype(str).str.strip(),
    )
    joined = joined[joined <= end]
    base = _per_member(log).reindex(joined.index)
    purchases = base["purchases"].fillna(0).astype(np.int64)
    since_join = (end - joined).dt.days.astype(np.int64)
    last = base["last_purchase"].fillna(joined)
    since_purchase = (end - last).dt.days.astype(np.int64)
    codes = compiled.lifecycle_codes(
        new_days, active_days, silent_days, dormant_days, since_join.to_numpy(),
        since_purchase.to_numpy(), purchases.to_numpy(),
    )  # fmt: skip
    out = pd.DataFrame(
        {
            "days_since_join": since_join,
            "days_since_purchase": since_purchase,
            "purchases": purchases,
            "state": np.asarray(LIFECYCLE_STATES, dtype=object)[codes],
        }
    )
    out.index.name = "member_id"
    return out


def policy_quadrants(
    transactions: pd.DataFrame,
    segments: SegmentRules,
    as_of: DateLike | None = None,
    members: Iterable[str] | None = None,
    amount_column: str = "amount",
) -> pd.DataFrame:
    """The policy's four quadrants on ``as_of``: what a quadrant-targeted campaign sees.

    The window is the policy's (`policies.rules.quadrant_months`: the 12 full months before
    the month of ``as_of``), the cut-offs are ``segments``' and the rule is
    `policies.compiled.quadrant_code`, exactly as in the live ledger and the simulator.
    ``as_of`` defaults to the day after the last purchase in the log, so a log that ends on
    a month's last day is judged over its last 12 months.

    Every purchase counts (as in the ledger), and spend is ``amount_column`` (the ledger
    uses ``net_amount``).

    Returns:
        Index ``member_id``: ``purchases``, ``spend``, ``quadrant``; ``attrs`` holds the
        cut-offs and the window's first and last day.
    """
    log = _log(transactions, amount_column)
    day = (log["date"].max() + pd.Timedelta(days=1)) if as_of is None else pd.Timestamp(as_of)
    first, last = rules.quadrant_months(rules.month_index(day.date()))
    start = pd.Timestamp(first // 12, first % 12 + 1, 1)
    end = pd.Timestamp(last // 12, last % 12 + 1, 1) + pd.offsets.MonthEnd(0)
    known = pd.Index(log["member_id"].unique(), name="member_id")
    if members is not None:
        known = known.union(pd.Index([str(m) for m in members], name="member_id"))
    window = log[(log["date"] >= start) & (log["date"] <= end)]
    grouped = window.groupby("member_id", sort=True)["amount"]
    # Every purchase counts, as in the ledger (not purchase occasions).
    table = pd.DataFrame({"purchases": grouped.size(), "spend": grouped.sum()})
    table = table.reindex(known.sort_values(), fill_value=0)
    codes = compiled.quadrant_codes(
        segments.quadrant_min_purchases, float(segments.quadrant_min_spend),
        table["purchases"].to_numpy(np.int64), table["spend"].to_numpy(np.float64),
    )  # fmt: skip
    table["quadrant"] = np.asarray(QUADRANTS, dtype=object)[codes]
    table.attrs = {
        "many_purchases": f">= {segments.quadrant_min_purchases:g}",
        "high_spend": f">= {segments.quadrant_min_spend:.2f}",
    }
    table.attrs.update(window_first=start.date(), window_last=end.date())
    return table


def _spend_by_member(transactions, members, amount_column) -> pd.Series:
    log = _log(transactions, amount_column)
    spend = log.groupby("member_id")["amount"].sum()
    if members is not None:
        ids = pd.Index([str(m) for m in members]).union(spend.index)
        spend = spend.reindex(ids, fill_value=0.0)
    return spend.sort_values(ascending=False, kind="stable")


def revenue_concentration(
    transactions: pd.DataFrame,
    top_shares: Sequence[float] = (0.01, 0.05, 0.1, 0.2, 0.5),
    members: Iterable[str] | None = None,
    amount_column: str = "amount",
) -> pd.DataFrame:
    """Share of revenue from the top x% of members (the 80/20 check).

    The top ``x`` share is the ``ceil(x * N)`` biggest spenders of the ``N`` members (those
    in the log, plus ``members`` who bought nothing when given).

    Returns:
        ``top_share``, ``members``, ``revenue``, ``revenue_share``.
    """
    spend = _spend_by_member(transactions, members, amount_column)
    total = float(spend.sum())
    cumulative = spend.cumsum().to_numpy()
    rows = []
    for share in top_shares:
        if not 0 < share <= 1:
            raise ValueError(f"top share(={share}) must be in (0, 1]")
        count = int(np.ceil(share * len(spend) - 1e-9))
        revenue = float(cumulative[count - 1]) if count else 0.0
        rows.append(
            {
                "top_share": share,
                "members": count,
                "revenue": revenue,
                "revenue_share": revenue / total if total > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def concentration_curve(
    transactions: pd.DataFrame,
    points: int = 101,
    members: Iterable[str] | None = None,
    amount_column: str = "amount",
) -> pd.DataFrame:
    """The concentration curve: cumulative revenue share against members ranked by spend.

    Returns ``points`` rows of ``member_share`` (0..1) and ``revenue_share`` (0..1),
    interpolated linearly between members; the curve is concave, from (0, 0) to (1, 1).
    """
    spend = _spend_by_member(transactions, members, amount_column).to_numpy()
    total = spend.sum()
    x = np.arange(len(spend) + 1) / len(spend)
    y = np.concatenate([[0.0], np.cumsum(spend) / total]) if total > 0 else x
    grid = np.linspace(0.0, 1.0, points)
    return pd.DataFrame({"member_share": grid, "revenue_share": np.interp(grid, x, y)})


def _month_number(periods: pd.Series) -> pd.Series:
    return periods.dt.year * 12 + periods.dt.month


def cohort_retention(
    transactions: pd.DataFrame,
    members: pd.DataFrame | None = None,
    max_months: int | None = None,
) -> pd.DataFrame:
    """Share of each join-month cohort purchasing in each month since joining.

    Cohorts are join months (from ``members.join_date``, or the first purchase month without
    a member table). Month 0 is the join month. Only months up to the last month of the log
    are reported.

    Returns:
        Long table: ``cohort`` (``YYYY-MM``), ``months_since_join``, ``cohort_size``,
        ``purchasing`` (members with a purchase that month) and ``share``. Pivot with
        ``pivot(index="cohort", columns="months_since_join", values="share")``.
    """
    log = check_transactions(transactions)
    if members is not None:
        if "member_id" not in members or "join_date" not in members:
            raise CalibrationDataError("members: needs columns member_id and join_date")
        join = pd.Series(
            parse_dates(members, "join_date", "members").dt.to_period("M").to_numpy(),
            index=members["member_id"].astype(str).str.strip(),
        )
    else:
        join = log.groupby("member_id")["date"].min().dt.to_period("M")
    last = log["date"].max().to_period("M")
    bought = log.assign(month=log["date"].dt.to_period("M"))[["member_id", "month"]]
    bought = bought.drop_duplicates()
    bought = bought[bought["member_id"].isin(join.index)]
    bought["cohort"] = bought["member_id"].map(join)
    bought["age"] = _month_number(bought["month"]) - _month_number(bought["cohort"])
    bought = bought[bought["age"] >= 0]
    sizes = join.value_counts()
    rows = []
    counts = bought.groupby(["cohort", "age"]).size()
    for cohort in sorted(sizes.index):
        if cohort > last:
            continue
        horizon = (last - cohort).n
        if max_months is not None:
            horizon = min(horizon, max_months)
        for age in range(horizon + 1):
            purchasing = int(counts.get((cohort, age), 0))
            rows.append(
                {
                    "cohort": str(cohort),
                    "months_since_join": age,
                    "cohort_size": int(sizes[cohort]),
                    "purchasing": purchasing,
                    "share": purchasing / int(sizes[cohort]),
                }
            )
    return pd.DataFrame(
        rows, columns=["cohort", "months_since_join", "cohort_size", "purchasing", "share"]
    )


def points_roll_forward(ledger: pd.DataFrame, through: DateLike | None = None) -> pd.DataFrame:
    """Monthly points roll-forward: opening + issued - redeemed - expired = closing.

    Issued counts earn and bonus points; redeemed and expired are shown as positive numbers.
    Every month from the first entry to ``through`` (default: the last entry) appears, with
    zeros where nothing happened, and each closing is the next opening. ``breakage_to_date``
    is breakage over all months so far by the one definition of `simulations.breakage`
    (expired / (redeemed + expired)), the same basis forecasts and backtests use.

    Returns:
        ``month`` (``YYYY-MM``), ``opening``, ``issued``, ``redeemed``, ``expired``,
        ``closing`` (integers) and ``breakage_to_date``.
    """
    entries = check_ledger(ledger)
    if through is not None:
        entries = entries[entries["date"] <= pd.Timestamp(through)]
    columns = ["month", "opening", "issued", "redeemed", "expired", "closing", "breakage_to_date"]
    if entries.empty:
        return pd.DataFrame(columns=columns)
    month = entries["date"].dt.to_period("M")
    last = pd.Timestamp(through).to_period("M") if through is not None else month.max()
    months = pd.period_range(month.min(), last, freq="M")
    issued_kind = entries["kind"].isin(("earn", "bonus"))
    by_month = pd.DataFrame(
        {
            "issued": entries["points"].where(issued_kind, 0),
            "redeemed": -entries["points"].where(entries["kind"] == "redeem", 0),
            "expired": -entries["points"].where(entries["kind"] == "expire", 0),
            "month": month,
        }
    )
    totals = by_month.groupby("month").sum().reindex(months, fill_value=0).astype(np.int64)
    change = totals["issued"] - totals["redeemed"] - totals["expired"]
    closing = change.cumsum()
    out = pd.DataFrame(
        {
            "month": [str(m) for m in months],
            "opening": (closing - change).to_numpy(),
            "issued": totals["issued"].to_numpy(),
            "redeemed": totals["redeemed"].to_numpy(),
            "expired": totals["expired"].to_numpy(),
            "closing": closing.to_numpy(),
        }
    )
    out["breakage_to_date"] = breakage_by_month(out).to_numpy()
    return out[columns]


def breakage_to_date(ledger: pd.DataFrame, through: DateLike | None = None) -> float:
    """Breakage realized over the whole ledger (`simulations.breakage`; NaN if none resolved)."""
    table = points_roll_forward(ledger, through)
    if table.empty:
        return float("nan")
    return roll_forward_breakage(table)
