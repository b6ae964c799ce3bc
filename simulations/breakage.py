"""Breakage: the one definition used for history, forecasts and backtests.

Definition
----------
Over a period, **breakage is the share of the points that left members' balances in that
period which left unredeemed**::

    breakage = expired / (redeemed + expired)        URR = 1 - breakage

where ``redeemed`` and ``expired`` are the totals of a monthly points roll-forward
(``opening + issued - redeemed - expired = closing``) over the months of the period. Nothing
resolved (no point redeemed or expired) gives NaN: there is no evidence either way.

The same function reads the roll-forward of the points ledger (history), of a simulation
(forecast) and of both sides of a backtest, so the three are comparable.

Why this basis
--------------
IFRS 15 (B46, with B39-B43 on customer options) asks for breakage to be estimated from the
pattern in which customers exercise their rights, using historical experience. Two other
bases are in use and both mix in points whose fate is not known yet:

* *expired / issued* counts in the denominator points issued last month that cannot have
  expired yet, so it depends on the program's growth and on the validity period, not only on
  members' behavior (a young program always shows low breakage);
* *expired / (expired + redeemed + held by dropped-out members)* needs to know who has dropped
  out, which a simulation knows and a ledger never does, so history cannot be put on it.

Points still held at the end of the period are left out of both numerator and denominator.
Over a period shorter than the validity period the figure is the mix of outcomes *within*
that period; for the share of one month's issue that will ultimately break, use the cohort
form below (`cohort_outcomes`, `cohort_breakage`), which a chain-ladder
projection develops further.

Cohort form
-----------
`cohort_outcomes` attributes each month's redeemed and expired points to the months the
points were issued in, first in first out (the ledger books points in lots and redeems and
expires the oldest first, `policies.ledger`). Within a month, expired points are taken from
the oldest lots before redeemed ones (they are the points that reached the end of their
validity). The opening balance of the first month is its own cohort, ``"opening"``.
`cohort_breakage` then gives, per issue month, issued, redeemed, expired, still outstanding
and the breakage on the resolved points by the same definition.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "DEFINITION",
    "OPENING_COHORT",
    "breakage",
    "breakage_by_month",
    "cohort_breakage",
    "cohort_outcomes",
    "redemption_rate",
    "roll_forward_breakage",
    "roll_forward_columns",
]

DEFINITION = "expired / (redeemed + expired) over the period"
"""The definition in words (recorded with every breakage figure)."""

OPENING_COHORT = "opening"
"""Cohort label of the points already held at the start of the first month."""

_NAMES = {
    # canonical -> accepted column names (history ledger; simulation monthly records)
    "opening": ("opening", "points_opening"),
    "issued": ("issued", "points_issued"),
    "redeemed": ("redeemed", "points_redeemed"),
    "expired": ("expired", "points_expired"),
    "closing": ("closing", "points_closing"),
}


def breakage(redeemed: float | Iterable[float], expired: float | Iterable[float]) -> float:
    """Share of resolved points that expired: ``expired / (redeemed + expired)``.

    Args:
        redeemed: points redeemed in the period (a number, or monthly figures to be summed).
        expired: points expired in the period (same form as ``redeemed``).

    Returns:
        The breakage share in 0..1, or NaN when nothing was redeemed or expired.

    Raises:
        ValueError: a negative total (redeemed and expired are counted as positive numbers).
    """
    r = float(np.sum(np.asarray(redeemed, dtype=float)))
    e = float(np.sum(np.asarray(expired, dtype=float)))
    if r < 0 or e < 0:
        raise ValueError(
            f"redeemed(={r:g}) and expired(={e:g}) must be counted as positive numbers of points"
        )
    resolved = r + e
    return e / resolved if resolved > 0 else float("nan")


def redemption_rate(redeemed: float | Iterable[float], expired: float | Iterable[float]) -> float:
    """Ultimate redemption rate on the same basis: ``1 - breakage`` (NaN if nothing resolved)."""
    return 1.0 - breakage(redeemed, expired)


def roll_forward_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The roll-forward with canonical column names (``opening`` ... ``closing``).

    Accepts the points ledger's roll-forward (`simulations.analytics.points_roll_forward`:
    ``issued``, ``redeemed``, ...) and a simulation's monthly records (``points_issued``,
    ``points_redeemed``, ...). Other columns (``month``, ``replication``) are kept.

    Raises:
        ValueError: ``redeemed`` or ``expired`` is missing, or, where ``opening`` and
            ``closing`` are both present, a month does not balance.
    """
    renames: dict[str, str] = {}
    for canonical, accepted in _NAMES.items():
        found = [name for name in accepted if name in table.columns]
        if found:
            renames[found[0]] = canonical
    out = table.rename(columns=renames)
    missing = [name for name in ("redeemed", "expired") if name not in out.columns]
    if missing:
        raise ValueError(
            f"roll-forward: missing column(s) {', '.join(missing)}; expected"
            " redeemed/expired (ledger history) or points_redeemed/points_expired (simulation)"
        )
    if {"opening", "issued", "closing"} <= set(out.columns) and len(out):
        gap = out["opening"] + out["issued"] - out["redeemed"] - out["expired"] - out["closing"]
        bad = np.flatnonzero(np.abs(gap.to_numpy(dtype=float)) > 0.5)
        if bad.size:
            row = out.iloc[int(bad[0])]
            label = row["month"] if "month" in out.columns else int(bad[0])
            raise ValueError(
                f"roll-forward does not balance in {label}: opening {row['opening']} +"
                f" issued {row['issued']} - redeemed {row['redeemed']} - expired"
                f" {row['expired']} != closing {row['closing']}"
            )
    return out


def _window(table: pd.DataFrame, start: str | None, end: str | None) -> pd.DataFrame:
    if start is None and end is None:
        return table
    if "month" not in table.columns:
        raise ValueError("roll-forward: a period needs a month column (YYYY-MM)")
    month = table["month"].astype(str).str[:7]
    keep = np.ones(len(table), dtype=bool)
    if start is not None:
        keep &= (month >= str(start)[:7]).to_numpy()
    if end is not None:
        keep &= (month <= str(end)[:7]).to_numpy()
    return table[keep]


def roll_forward_breakage(
    table: pd.DataFrame, start: str | None = None, end: str | None = None
) -> float:
    """Breakage of a monthly roll-forward over the months ``start``..``end`` (inclusive).

    Args:
        table: one row per month (see `roll_forward_columns` for the accepted columns). A
            simulation's records with a ``replication`` column are summed over all
            replications; use `breakage_by_month` or group by replication for one figure each.
        start: first month, ``YYYY-MM`` (default: the first row).
        end: last month, ``YYYY-MM`` (default: the last row).

    Returns:
        ``expired / (redeemed + expired)`` over the period (NaN if nothing resolved).
    """
    rows = _window(roll_forward_columns(table), start, end)
    return breakage(rows["redeemed"], rows["expired"])


def breakage_by_month(table: pd.DataFrame, cumulative: bool = True) -> pd.Series:
    """Breakage month by month: over all months so far (default) or of each month alone.

    Returns:
        A float Series aligned with ``table`` (NaN where nothing was resolved yet).
    """
    rows = roll_forward_columns(table)
    redeemed = rows["redeemed"].astype(float)
    expired = rows["expired"].astype(float)
    if cumulative:
        redeemed, expired = redeemed.cumsum(), expired.cumsum()
    resolved = redeemed + expired
    return (expired / resolved.where(resolved > 0)).rename("breakage")


def cohort_outcomes(table: pd.DataFrame) -> pd.DataFrame:
    """Redeemed and expired points of each month attributed to their issue month (FIFO).

    Args:
        table: a roll-forward in month order with ``month``, ``issued``, ``redeemed``,
            ``expired`` and, optionally, ``opening`` of the first month (points held before;
            their cohort is ``"opening"``).

    Returns:
        Long records ``cohort`` (issue month or ``"opening"``), ``month``, ``redeemed``,
        ``expired``, one row per (cohort, month) with something resolved.

    Raises:
        ValueError: a month takes out more points than were held.
    """
    rows = roll_forward_columns(table)
    for name in ("month", "issued"):
        if name not in rows.columns:
            raise ValueError(f"roll-forward: cohorts need a {name} column")
    lots: deque[list] = deque()
    opening = float(rows["opening"].iloc[0]) if "opening" in rows.columns and len(rows) else 0.0
    if opening > 0:
        lots.append([OPENING_COHORT, opening])
    records = []
    for month, issued, redeemed, expired in zip(
        rows["month"].astype(str), rows["issued"], rows["redeemed"], rows["expired"], strict=True
    ):
        if issued > 0:
            lots.append([month, float(issued)])
        taken: dict[str, list[float]] = {}
        for kind, amount in ((1, float(expired)), (0, float(redeemed))):
            while amount > 0:
                if not lots:
                    raise ValueError(
                        f"roll-forward: {month} redeems and expires more points than were held"
                    )
                lot = lots[0]
                take = min(lot[1], amount)
                taken.setdefault(lot[0], [0.0, 0.0])[kind] += take
                lot[1] -= take
                amount -= take
                if lot[1] <= 0:
                    lots.popleft()
        for cohort, (red, exp) in taken.items():
            records.append({"cohort": cohort, "month": month, "redeemed": red, "expired": exp})
    out = pd.DataFrame(records, columns=["cohort", "month", "redeemed", "expired"])
    return out.astype({"cohort": str, "month": str, "redeemed": float, "expired": float})


def cohort_breakage(table: pd.DataFrame) -> pd.DataFrame:
    """Per issue month: issued, redeemed, expired, outstanding and breakage so far.

    Breakage is `breakage` of the cohort's resolved points (NaN while none is resolved), so a
    cohort whose validity has run out carries its ultimate breakage.

    Returns:
        ``cohort``, ``issued``, ``redeemed``, ``expired``, ``outstanding``, ``breakage``, in
        issue order (``"opening"`` first when the first month has an opening balance).
    """
    rows = roll_forward_columns(table)
    outcomes = cohort_outcomes(rows)
    issued = {str(m): float(i) for m, i in zip(rows["month"], rows["issued"], strict=True)}
    cohorts = [str(m) for m, i in zip(rows["month"], rows["issued"], strict=True) if i > 0]
    opening = float(rows["opening"].iloc[0]) if "opening" in rows.columns and len(rows) else 0.0
    if opening > 0:
        issued[OPENING_COHORT] = opening
        cohorts.insert(0, OPENING_COHORT)
    totals = outcomes.groupby("cohort")[["redeemed", "expired"]].sum()
    totals = totals.reindex(cohorts, fill_value=0.0)
    out = pd.DataFrame(
        {
            "cohort": cohorts,
            "issued": [issued[c] for c in cohorts],
            "redeemed": totals["redeemed"].to_numpy(),
            "expired": totals["expired"].to_numpy(),
        }
    )
    out["outstanding"] = out["issued"] - out["redeemed"] - out["expired"]
    resolved = out["redeemed"] + out["expired"]
    out["breakage"] = out["expired"] / resolved.where(resolved > 0)
    return out
