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

import csv
import datetime as dt
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from simulations.calibration.errors import CalibrationDataError

__all__ = [
    "TRANSACTION_COLUMNS",
    "check_transactions",
    "daily_occasions",
    "parse_dates",
    "read_transactions",
    "refuse_future_dates",
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


def parse_dates(
    frame: pd.DataFrame, column: str, source: str, date_format: str | None = None
) -> pd.Series:
    """Parse a date column, naming the first bad row if any.

    Text must be ISO 8601 (``YYYY-MM-DD``, a time of day allowed) unless ``date_format``
    (``strftime`` codes) says otherwise: guessing per value would read ``05/01/2025`` as
    1 May in one row and ``13/01/2025`` as 13 January in the next.
    """
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw
    else:
        parsed = pd.to_datetime(raw, errors="coerce", format=date_format or "ISO8601")
    bad = parsed.isna().to_numpy()
    if bad.any():
        if date_format:
            example = dt.date(2024, 3, 31).strftime(date_format)
            valid = f"dates are written {date_format} (e.g. {example})"
        else:
            valid = (
                "dates are written YYYY-MM-DD (e.g. 2024-03-31): a date like 05/01/2025 could"
                " be 5 January or 1 May (give the date format if the file writes dates so)"
            )
        _bad_row(frame, bad, column, source, valid)
    return parsed.dt.normalize()


def refuse_future_dates(
    frame: pd.DataFrame,
    dates: pd.Series,
    column: str,
    source: str,
    today: dt.date | None = None,
) -> None:
    """Raise on the first date after today: one such row would move the end of observation.

    Raises:
        CalibrationDataError: naming the row, the value, today and how many rows are late.
    """
    today = dt.date.today() if today is None else today
    future = (dates > pd.Timestamp(today)).to_numpy()
    if future.any():
        _bad_row(
            frame,
            future,
            column,
            source,
            f"it is in the future (today is {today}); correct or remove such rows, as one"
            " would move the end of observation and every member's time since purchase",
        )


def check_transactions(
    frame: pd.DataFrame,
    source: str = "transactions",
    date_format: str | None = None,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Validate a transaction log and return a clean copy.

    Args:
        frame: rows with at least ``member_id``, ``date`` and ``amount``; other columns are
            kept.
        source: name used in error messages (a file name, say).
        date_format: how text dates are written (``strftime`` codes; default ISO 8601).
        today: dates after it are refused (default: the system's date).

    Returns:
        A copy with ``member_id`` as string, ``date`` as a normalized ``datetime64`` and
        ``amount`` as float, sorted by member and date.

    Raises:
        CalibrationDataError: a required column is missing, a row has an empty member id,
            an unreadable or future date or a negative or non-numeric amount, or the log is
            empty.
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
    out["date"] = parse_dates(out, "date", source, date_format)
    refuse_future_dates(frame, out["date"], "date", source, today)
    amount = pd.to_numeric(out["amount"], errors="coerce")
    bad = (amount.isna() | ~np.isfinite(amount) | (amount < 0)).to_numpy()
    if bad.any():
        _bad_row(out, bad, "amount", source, "amounts are numbers >= 0 (e.g. 199.00)")
    out["amount"] = amount.astype(float)
    return out.sort_values(["member_id", "date"], kind="stable").reset_index(drop=True)


def read_transactions(path: str | Path, date_format: str | None = None) -> pd.DataFrame:
    """Read and check a transaction CSV (at least ``member_id,date,amount``).

    Args:
        path: the CSV file.
        date_format: how its dates are written (``strftime`` codes; default ISO 8601).

    Raises:
        CalibrationDataError: the file is missing, unreadable or fails `check_transactions`.
    """
    path = Path(path)
    if not path.is_file():
        raise CalibrationDataError(f"{path.name}: file not found ({path})")
    frame = read_csv_strictly(path, keep_default_na=False, na_values=[""])
    return check_transactions(frame, source=path.name, date_format=date_format)


def read_csv_strictly(path: Path, **options) -> pd.DataFrame:
    """Read a CSV whose every line has as many fields as the header (``member_id`` as text).

    pandas takes a first data line with one field more than the header as an index and
    shifts every column (members would be called ``2024-01-01``); here that line is an
    error naming it.

    Raises:
        CalibrationDataError: the file is not readable CSV, or a line has too many fields.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(path, dtype={"member_id": str}, index_col=False, **options)
    except pd.errors.ParserWarning:
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.reader(handle)
            width = len(next(reader, []))
            for record in reader:
                if len(record) > width:
                    raise CalibrationDataError(
                        f"{path.name}: line {reader.line_num} has {len(record)} fields, the"
                        f" header has {width}: a delimiter too many or an unquoted ',' in a"
                        " value? (quote values that contain it)"
                    ) from None
        raise CalibrationDataError(f"{path.name}: lines longer than the header") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CalibrationDataError(f"{path.name}: not a readable CSV file ({exc})") from exc


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
