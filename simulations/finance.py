"""Finance tables read from a simulation: the points roll-forward and liability sensitivity.

The liability of outstanding points is measured as IFRS 15 asks for customer loyalty
points (IFRS 15 B39–B43, IE267–IE270): the points expected to be redeemed, i.e.
outstanding points x (1 − breakage), valued here at the company's cost per point.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

__all__ = ["MOVEMENTS", "excel_report", "liability_sensitivity", "roll_forward_table"]

MOVEMENTS = ("opening", "issued", "redeemed", "expired", "closing")


def roll_forward_table(monthly: pd.DataFrame, cost_per_point: float) -> pd.DataFrame:
    """The monthly points roll-forward, averaged over replications, in points and currency.

    The mean (not the median) is used because it keeps the identity opening + issued −
    redeemed − expired = closing that every replication satisfies.

    Args:
        monthly: the engine's monthly records (one row per replication and month).
        cost_per_point: currency value of one point for the currency columns.

    Returns:
        One row per month: ``month``, the five movements in points, the same in currency
        (``*_value``) and ``liability`` (the engine's liability, mean over replications).
    """
    columns = {f"points_{name}": name for name in MOVEMENTS}
    table = monthly.groupby("month", sort=True)[[*columns, "liability"]].mean()
    table = table.rename(columns=columns).reset_index()
    for name in MOVEMENTS:
        table[f"{name}_value"] = table[name] * cost_per_point
    return table


def liability_sensitivity(
    outstanding_points: float,
    cost_per_point: float,
    breakage: float,
    cost_steps: tuple[float, ...] = (0.6, 0.8, 1.0, 1.2, 1.4),
    breakage_steps: tuple[float, ...] = (-0.2, -0.1, 0.0, 0.1, 0.2),
) -> pd.DataFrame:
    """Liability = outstanding points x cost per point x (1 − breakage) over a grid.

    Args:
        outstanding_points: points outstanding at the measurement date.
        cost_per_point: the policy's cost per redeemed point.
        breakage: the estimated share of points never redeemed (0..1).
        cost_steps: multipliers applied to ``cost_per_point``.
        breakage_steps: amounts added to ``breakage`` (kept within 0..1; steps that clip to
            the same value are shown once).

    Returns:
        Long format: ``cost_per_point``, ``breakage``, ``liability`` (one row per pair).
    """
    rows = []
    levels = dict.fromkeys(float(np.clip(breakage + step, 0.0, 1.0)) for step in breakage_steps)
    for b in levels:
        for c_step in cost_steps:
            cpp = cost_per_point * c_step
            rows.append(
                {
                    "cost_per_point": cpp,
                    "breakage": b,
                    "liability": outstanding_points * cpp * (1.0 - b),
                }
            )
    return pd.DataFrame(rows)


def excel_report(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per frame (sheet names cut to Excel's 31 chars)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)
    return buffer.getvalue()
