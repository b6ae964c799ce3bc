"""Data preparation for calibration: checked transaction logs and RFM summaries.

A *transaction log* has one row per purchase with at least ``member_id``, ``date`` and
``amount``. Purchases by one member on the same calendar day are one *occasion*, as in
the buy-till-you-die literature, so a basket split over two tills is not a repeat purchase.

`summarize_transactions` turns a log into the per-member summary the BG/NBD and
Gamma-Gamma models are fitted on (Fader, Hardie & Lee 2005, "Counting Your Customers the
Easy Way", Marketing Science 24(2); and "RFM and CLV", JMR 42(4)):

* ``frequency`` (x): number of *repeat* occasions, i.e. occasions after the first;
* ``recency`` (t_x): time from the first to the last occasion;
* ``T``: time from the first occasion to the end of observation;
* ``monetary_value``: mean value of the repeat occasions (0 when there are none), the
  quantity Gamma-Gamma models.

Times are in days or weeks (``time_unit``); the frame's ``attrs`` records the unit and the
observation end.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from simulations.calibration.errors import CalibrationDataError

__all__ = [
    "TRANSACTION_COLUMNS",
    "check_transactions",
    "daily_occasions",
    "read_transactions",
    "summarize_transactions",
    "unit_days",
]

TRANSACTION_COLUMNS = ("member_id", "date", "amount")
TimeUnit = Literal["day", "week"]


def unit_days(time_unit: str) -> float:
    """Days in one ``time_unit`` (``day`` -> 1, ``week`` -> 7)."""
    if time_unit == "day":
        return 1.0
    if time_unit == "week":
        return 7.0
    raise CalibrationDataError(f"time_unit(={time_unit!r}) must be 'day' or 'week'")


def _require_columns(frame: pd.DataFrame, required: tuple[str, ...], source: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CalibrationDataError(
            f"{source}: missing column(s) {', '.join(missing)}; the file needs at least"
            f" {', '.join(required)} (found: {', '.join(map(str, frame.columns)) or 'none'})"
        )


def _bad_row(frame: pd.DataFrame, mask: np.ndarray, column: str, source: str, valid: str):
    position = int(np.flatnonzero(mask)[0])
    value = frame[column].iloc[position]
    if isinstance(value, np.generic):
        value = value.item()
    # Row numbers as a spreadsheet shows them: the header is row 1.
    raise CalibrationDataError(
        f"{source}: row {position + 2}: {column}(={value!r}) is not valid; {valid}"
        f" ({int(mask.sum())} bad row(s) in all)"
    )


def parse_dates(frame: pd.DataFrame, column: str, source: str) -> pd.Series:
    """Parse a date column (YYYY-MM-DD), naming the first bad row if any."""
    raw = frame[column]
    parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        _bad_row(frame, bad, column, source, "dates are written YYYY-MM-DD")
    return parsed.dt.normalize()


def check_transactions(frame: pd.DataFrame, source: str = "transactions") -> pd.DataFrame:
    """Validate a transaction log and return a clean copy.

    Args:
        frame: rows with at least ``member_id``, ``date`` and ``amount``; other columns are
            kept.
        source: name used in error messages (a file name, say).

    Returns:
        A copy with ``member_id`` as string, ``date`` as a normalized ``datetime64`` and
        ``amount`` as float, sorted by member and date.

    Raises:
        CalibrationDataError: a required column is missing, a row has an empty member id,
            an unreadable date or a negative or non-numeric amount, or the log is empty.
    """
    _require_columns(frame, TRANSACTION_COLUMNS, source)
    if len(frame) == 0:
        raise CalibrationDataError(f"{source}: no transactions; at least one row is needed")
    out = frame.copy()
    member = out["member_id"]
    empty = (member.isna() | (member.astype(str).str.strip() == "")).to_numpy()
    if empty.any():
        _bad_row(out, empty, "member_id", source, "every purchase needs a member id")
    out["member_id"] = member.astype(str).str.strip()
    out["date"] = parse_dates(out, "date", source)
    amount = pd.to_numeric(out["amount"], errors="coerce")
    bad = (amount.isna() | ~np.isfinite(amount) | (amount < 0)).to_numpy()
    if bad.any():
        _bad_row(out, bad, "amount", source, "amounts are numbers >= 0 (e.g. 199.00)")
    out["amount"] = amount.astype(float)
    return out.sort_values(["member_id", "date"], kind="stable").reset_index(drop=True)


def read_transactions(path: str | Path) -> pd.DataFrame:
    """Read and check a transaction CSV (at least ``member_id,date,amount``).

    Raises:
        CalibrationDataError: the file is missing, unreadable or fails `check_transactions`.
    """
    path = Path(path)
    if not path.is_file():
        raise CalibrationDataError(f"{path.name}: file not found ({path})")
    try:
        frame = pd.read_csv(path, dtype={"member_id": str}, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CalibrationDataError(f"{path.name}: not a readable CSV file ({exc})") from exc
    return check_transactions(frame, source=path.name)


def daily_occasions(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per member and purchase day: ``member_id``, ``date``, ``amount`` (day total)."""
    return (
        transactions.groupby(["member_id", "date"], sort=True, observed=True)["amount"]
        .sum()
        .reset_index()
    )


def summarize_transactions(
    df: pd.DataFrame,
    calibration_end: str | dt.date | pd.Timestamp | None = None,
    time_unit: TimeUnit = "day",
) -> pd.DataFrame:
    """Per-member frequency, recency, T and monetary value (see the module docstring).

    Args:
        df: transaction log (``member_id``, ``date``, ``amount``).
        calibration_end: last day of observation (inclusive); later purchases are ignored and
            members whose first purchase is later are left out. Defaults to the last date.
        time_unit: ``day`` or ``week`` for ``recency`` and ``T``.

    Returns:
        A frame indexed by ``member_id`` with ``frequency``, ``recency``, ``T``,
        ``monetary_value`` and ``first_purchase``; ``attrs`` holds ``time_unit`` and
        ``observation_end``.

    Raises:
        CalibrationDataError: bad input (see `check_transactions`) or no purchase on or
            before ``calibration_end``.
    """
    scale = unit_days(time_unit)
    log = check_transactions(df)
    end = log["date"].max() if calibration_end is None else pd.Timestamp(calibration_end)
    log = log[log["date"] <= end]
    if log.empty:
        raise CalibrationDataError(
            f"calibration_end(={end.date().isoformat()}) is before the first purchase"
            f" ({df['date'].min()}); choose a later date"
        )
    occasions = daily_occasions(log)
    grouped = occasions.groupby("member_id", sort=True)
    first = grouped["date"].min()
    last = grouped["date"].max()
    count = grouped["date"].size()
    total = grouped["amount"].sum()
    first_value = occasions.loc[grouped["date"].idxmin(), ["member_id", "amount"]].set_index(
        "member_id"
    )["amount"]
    frequency = count - 1
    repeat_total = total - first_value
    monetary = np.where(frequency > 0, repeat_total / frequency.where(frequency > 0, 1), 0.0)
    out = pd.DataFrame(
        {
            "frequency": frequency.astype(np.int64),
            "recency": (last - first).dt.days / scale,
            "T": (end - first).dt.days / scale,
            "monetary_value": monetary,
            "first_purchase": first,
        }
    )
    out.index.name = "member_id"
    out.attrs["time_unit"] = time_unit
    out.attrs["observation_end"] = end.date().isoformat()
    return out
