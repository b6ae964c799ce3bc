"""Import a client's members and transactions from CSV or Parquet, all or nothing.

The client's files rarely use our column names, so a mapping (client column -> our column)
renames them first; columns already named like ours need no mapping. Then every row is
checked and every problem is reported at once, by line as the person sees the file in a
spreadsheet or text editor (the header is line 1, the first data row line 2; for Parquet
files and DataFrames, "row" 1 is the first row):

* required columns are present (members: ``member_id``, ``join_date``; transactions:
  ``transaction_id``, ``member_id``, ``date``, ``amount``);
* identifiers are not empty; dates parse (``YYYY-MM-DD`` unless another format is given)
  and are not in the future (birthdays not before 1900); ``gender`` is F/M/U; money
  (``amount``, ``discount``, ``net_amount``) is a finite number >= 0; ``points_earned`` is
  a whole number >= 0;
* no duplicates: the same ``member_id`` or ``transaction_id`` twice, or an exact copy of
  another row, in the file or (when adding to existing data) already in the database;
* every transaction's member is in the same import or already in the database.

Inconsistencies that may be legitimate are warnings: ``net_amount`` differing from
``amount - discount``, purchases dated before the member joined, ignored extra columns.

Nothing is written unless every check passes; the load itself is one database transaction
(with ``replace=True`` it first removes the existing members, transactions and points
ledger in that same transaction), so a failure leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from store.db import INITIAL_DATA_MARKER, _take_lock, load_tables, write_connection
from store.models import LedgerEntry, Member, StoreMarker, Transaction

__all__ = [
    "MEMBER_COLUMNS",
    "TRANSACTION_COLUMNS",
    "ImportIssue",
    "ImportReport",
    "format_report",
    "import_client_data",
]

MEMBER_COLUMNS = {
    "member_id": True,
    "join_date": True,
    "birthday": False,
    "gender": False,
    "home_store": False,
    "channel": False,
}
"""Our member columns -> required?"""

TRANSACTION_COLUMNS = {
    "transaction_id": True,
    "member_id": True,
    "date": True,
    "amount": True,
    "discount": False,
    "net_amount": False,
    "points_earned": False,
    "store_id": False,
    "channel": False,
    "campaign_ids": False,
}
"""Our transaction columns -> required?"""

MAX_ISSUES = 1000
"""Problems kept in a report (the count covers all of them)."""

_GENDERS = {"F": "F", "M": "M", "U": "U", "FEMALE": "F", "MALE": "M", "": "U", "女": "F", "男": "M"}


class ImportIssue(NamedTuple):
    """One problem found in a file: where, which column, the bad value, what is wrong."""

    line: int
    column: str
    value: str
    message: str
    table: str = ""


@dataclass
class ImportReport:
    """What an import found and did.

    Attributes:
        ok: every check passed and (unless a dry run) the data was loaded.
        rows_read: data rows read per table (``members``, ``transactions``).
        rows_loaded: rows written per table (all zero unless ``ok``).
        errors: problems that stopped the import (at most `MAX_ISSUES` kept).
        warnings: things worth a look that did not stop it.
        error_count: how many errors were found in all.
        line_kind: per table, ``line`` (CSV: header is line 1) or ``row`` (Parquet, frames).
        dry_run: only checked, nothing written.
    """

    ok: bool = False
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_loaded: dict[str, int] = field(default_factory=dict)
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error_count: int = 0
    line_kind: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False

    def add_error(self, table: str, line: int, column: str, value: Any, message: str) -> None:
        """Record one error (kept up to `MAX_ISSUES`, counted always)."""
        self.error_count += 1
        if len(self.errors) < MAX_ISSUES:
            self.errors.append(ImportIssue(int(line), column, _show(value), message, table))


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _NothingToWrite(Exception):
    """Leave the write transaction without writing (checks failed, or a dry run)."""


class _Table:
    """One input table: the frame (text or native values) and how its rows are numbered."""

    def __init__(self, name: str, frame: pd.DataFrame, first_line: int, kind: str):
        self.name = name
        self.frame = frame.reset_index(drop=True)
        self.first_line = first_line
        self.kind = kind

    def line(self, position: int) -> int:
        return self.first_line + int(position)


# -- Reading -------------------------------------------------------------------------------


def _read(name: str, source: Any, report: ImportReport) -> _Table | None:
    if isinstance(source, pd.DataFrame):
        return _Table(name, source.copy(), 1, "row")
    path = Path(source)
    suffixes = "".join(path.suffixes[-2:]).lower()
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return _Table(name, pd.read_parquet(path), 1, "row")
        if suffixes.endswith(".csv") or suffixes.endswith(".csv.gz") or path.suffix == ".txt":
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                encoding="utf-8-sig",
            )
            return _Table(name, frame, 2, "line")
    except FileNotFoundError:
        report.add_error(name, 0, "", str(path), f"file not found: {path}")
        return None
    except UnicodeDecodeError:
        report.add_error(
            name, 0, "", path.name, "the file is not UTF-8 text; save it as CSV UTF-8 and retry"
        )
        return None
    except (OSError, ValueError) as exc:
        report.add_error(name, 0, "", path.name, f"cannot read the file: {exc}")
        return None
    report.add_error(name, 0, "", path.name, "unsupported file type: use .csv, .csv.gz or .parquet")
    return None


def _apply_mapping(
    table: _Table, mapping: Mapping[str, str] | None, ours: dict[str, bool], report: ImportReport
) -> bool:
    """Rename client columns to ours; check required columns. False if the table is unusable."""
    mapping = dict(mapping or {})
    frame = table.frame
    frame.columns = [str(c).strip() for c in frame.columns]
    ok = True
    for source, target in mapping.items():
        if target not in ours:
            report.add_error(
                table.name,
                1,
                source,
                target,
                f"mapping target {target!r} is not one of our columns: {', '.join(ours)}",
            )
            ok = False
        if source not in frame.columns:
            report.add_error(
                table.name,
                1,
                source,
                "",
                f"mapped column {source!r} is not in the file; its columns are:"
                f" {', '.join(map(str, frame.columns))}",
            )
            ok = False
    targets = list(mapping.values())
    for target in {t for t in targets if targets.count(t) > 1}:
        sources = [s for s, t in mapping.items() if t == target]
        report.add_error(
            table.name, 1, target, "", f"several columns are mapped to {target!r}: {sources}"
        )
        ok = False
    if not ok:
        return False
    renamed = frame.rename(columns=mapping)
    kept = [c for c in renamed.columns if c in ours]
    ignored = [c for c in renamed.columns if c not in ours]
    if ignored:
        report.warnings.append(
            f"{table.name}: ignored column(s) {', '.join(ignored)} (not mapped to any of ours:"
            f" {', '.join(ours)})"
        )
    duplicated = {c for c in kept if kept.count(c) > 1}
    for column in duplicated:
        report.add_error(table.name, 1, column, "", f"column {column!r} appears more than once")
    missing = [c for c, required in ours.items() if required and c not in renamed.columns]
    for column in missing:
        report.add_error(
            table.name,
            1,
            column,
            "",
            f"required column {column!r} is missing; the file has"
            f" {', '.join(map(str, frame.columns)) or 'no columns'}: map one of them to it",
        )
    if duplicated or missing:
        return False
    table.frame = renamed[kept]
    return True


# -- Checking ------------------------------------------------------------------------------


def _blank(series: pd.Series) -> np.ndarray:
    text = series.astype(object).where(series.notna(), "")
    return text.map(lambda v: str(v).strip() == "").to_numpy(bool)


def _text(series: pd.Series) -> pd.Series:
    out = series.astype(object).where(series.notna(), "")
    return out.map(lambda v: str(v).strip())


def _errors_where(
    report: ImportReport, table: _Table, bad: np.ndarray, column: str, message: str
) -> None:
    values = table.frame[column]
    for position in np.flatnonzero(bad).tolist():
        report.add_error(table.name, table.line(position), column, values.iloc[position], message)


def _dates(
    report: ImportReport, table: _Table, column: str, date_format: str, required: bool
) -> pd.Series:
    raw = table.frame[column]
    blank = _blank(raw)
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw)
    else:
        values = raw.astype(object).map(
            lambda v: v if isinstance(v, dt.date) else (str(v).strip() if v is not None else "")
        )
        parsed = pd.to_datetime(values, format=date_format, errors="coerce")
    parsed = parsed.dt.normalize().astype("datetime64[ns]")
    unparsed = parsed.isna().to_numpy() & ~blank
    example = dt.date(2024, 3, 31).strftime(date_format)
    _errors_where(report, table, unparsed, column, f"not a date: expected a date like {example}")
    if required:
        _errors_where(report, table, blank, column, f"{column} is empty: every row needs one")
    today = pd.Timestamp(dt.date.today())
    future = (parsed > today).to_numpy()
    _errors_where(
        report, table, future, column, f"{column} is in the future (today is {today.date()})"
    )
    if column == "birthday":
        ancient = (parsed < pd.Timestamp("1900-01-01")).to_numpy()
        _errors_where(report, table, ancient, column, "birthday is before 1900")
    return parsed


def _numbers(
    report: ImportReport, table: _Table, column: str, *, integer: bool, default: float | None
) -> pd.Series:
    raw = table.frame[column]
    blank = _blank(raw)
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
    else:
        cleaned = _text(raw).str.replace(",", "", regex=False)
        values = pd.to_numeric(cleaned, errors="coerce").astype("float64")
    array = values.to_numpy()
    not_number = np.isnan(array) & ~blank
    kind = "a whole number" if integer else "a number"
    _errors_where(report, table, not_number, column, f"not {kind} (use digits, e.g. 128.50)")
    if default is None:
        _errors_where(report, table, blank, column, f"{column} is empty: every row needs one")
    infinite = np.isinf(array)
    _errors_where(report, table, infinite, column, f"{column} must be finite")
    negative = np.isfinite(array) & (array < 0)
    _errors_where(report, table, negative, column, f"{column} must be >= 0")
    if integer:
        fractional = np.isfinite(array) & (np.floor(array) != array)
        _errors_where(report, table, fractional, column, f"{column} must be a whole number")
    if default is not None:
        values = values.where(~pd.Series(blank, index=values.index), default)
    return values


def _ids(report: ImportReport, table: _Table, column: str) -> pd.Series:
    values = _text(table.frame[column])
    blank = (values == "").to_numpy()
    _errors_where(report, table, blank, column, f"{column} is empty: every row needs one")
    too_long = (values.str.len() > 64).to_numpy()
    _errors_where(report, table, too_long, column, f"{column} is longer than 64 characters")
    return values


def _duplicates(report: ImportReport, table: _Table, key: pd.Series, column: str) -> None:
    """Errors for repeated keys, naming the line of the first occurrence."""
    valid = key != ""
    repeated = key.duplicated(keep="first") & valid
    if not repeated.any():
        return
    first_position = {}
    for position, value in enumerate(key.tolist()):
        first_position.setdefault(value, position)
    # Rows as the file has them (hashed), to tell an exact copy from a reused id.
    rows = pd.util.hash_pandas_object(table.frame.astype(object), index=False)
    for position in np.flatnonzero(repeated.to_numpy()).tolist():
        value = key.iloc[position]
        first = first_position[value]
        same_row = rows.iloc[position] == rows.iloc[first]
        message = (
            f"exact duplicate of line {table.line(first)}"
            if same_row
            else f"{column} {value!r} already used on line {table.line(first)}"
        )
        if table.kind == "row":
            message = message.replace("line ", "row ")
        report.add_error(table.name, table.line(position), column, value, message)


def _check_members(report: ImportReport, table: _Table, date_format: str) -> pd.DataFrame:
    frame = table.frame
    out = pd.DataFrame(index=frame.index)
    out["member_id"] = _ids(report, table, "member_id")
    out["join_date"] = _dates(report, table, "join_date", date_format, required=True)
    if "birthday" in frame:
        out["birthday"] = _dates(report, table, "birthday", date_format, required=False)
    if "gender" in frame:
        gender = _text(frame["gender"]).str.upper()
        mapped = gender.map(_GENDERS)
        _errors_where(
            report,
            table,
            mapped.isna().to_numpy(),
            "gender",
            "gender must be F, M or U (unknown), or empty",
        )
        out["gender"] = mapped.fillna("U")
    else:
        out["gender"] = "U"
    for column in ("home_store", "channel"):
        if column in frame:
            values = _text(frame[column])
            out[column] = values.where(values != "", None)
    _duplicates(report, table, out["member_id"], "member_id")
    return out


def _check_transactions(report: ImportReport, table: _Table, date_format: str) -> pd.DataFrame:
    frame = table.frame
    out = pd.DataFrame(index=frame.index)
    out["transaction_id"] = _ids(report, table, "transaction_id")
    out["member_id"] = _ids(report, table, "member_id")
    out["date"] = _dates(report, table, "date", date_format, required=True)
    out["amount"] = _numbers(report, table, "amount", integer=False, default=None).round(2)
    if "discount" in frame:
        out["discount"] = _numbers(report, table, "discount", integer=False, default=0.0)
    else:
        out["discount"] = 0.0
    out["discount"] = out["discount"].round(2)
    if "net_amount" in frame:
        out["net_amount"] = _numbers(report, table, "net_amount", integer=False, default=np.nan)
        out["net_amount"] = out["net_amount"].fillna(out["amount"] - out["discount"]).round(2)
        gap = (out["net_amount"] - (out["amount"] - out["discount"])).abs() > 0.011
        if gap.any():
            first = int(np.argmax(gap.to_numpy()))
            report.warnings.append(
                f"transactions: {int(gap.sum()):,} row(s) have net_amount different from"
                f" amount - discount (first on {table.kind} {table.line(first)}); net_amount is"
                " kept as given"
            )
    else:
        out["net_amount"] = (out["amount"] - out["discount"]).round(2)
    if "points_earned" in frame:
        points = _numbers(report, table, "points_earned", integer=True, default=0.0)
        out["points_earned"] = points.fillna(0)
    else:
        out["points_earned"] = 0
    for column in ("store_id", "channel"):
        if column in frame:
            values = _text(frame[column])
            out[column] = values.where(values != "", None)
    out["campaign_ids"] = _text(frame["campaign_ids"]) if "campaign_ids" in frame else ""
    _duplicates(report, table, out["transaction_id"], "transaction_id")
    return out


# -- Import --------------------------------------------------------------------------------


def import_client_data(
    members: str | Path | pd.DataFrame | None = None,
    transactions: str | Path | pd.DataFrame | None = None,
    *,
    member_mapping: Mapping[str, str] | None = None,
    transaction_mapping: Mapping[str, str] | None = None,
    replace: bool = False,
    dry_run: bool = False,
    date_format: str = "%Y-%m-%d",
    url: str | None = None,
) -> ImportReport:
    """Check a client's files and load them into the database in one transaction.

    Args:
        members: members file (``.csv``, ``.csv.gz``, ``.parquet``) or frame.
        transactions: transactions file or frame.
        member_mapping: client column -> our column (`MEMBER_COLUMNS`) for members.
        transaction_mapping: client column -> our column (`TRANSACTION_COLUMNS`).
        replace: remove the existing members, transactions and points ledger first (same
            transaction); otherwise add to them, refusing ids that already exist.
        dry_run: only check; write nothing.
        date_format: how dates are written in the files (``strftime`` codes).
        url: database URL (default: the configured one).

    Returns:
        The report; ``ok`` is False (and nothing was written) if any error was found.
    """
    report = ImportReport(dry_run=dry_run)
    if members is None and transactions is None:
        report.add_error(
            "", 0, "", "", "nothing to import: give a members and/or transactions file"
        )
        return report
    clean: dict[str, pd.DataFrame] = {}
    tables: dict[str, _Table] = {}
    for name, source, mapping, ours, check in (
        ("members", members, member_mapping, MEMBER_COLUMNS, _check_members),
        (
            "transactions",
            transactions,
            transaction_mapping,
            TRANSACTION_COLUMNS,
            _check_transactions,
        ),
    ):
        if source is None:
            continue
        table = _read(name, source, report)
        if table is None:
            continue
        tables[name] = table
        report.line_kind[name] = table.kind
        report.rows_read[name] = len(table.frame)
        if _apply_mapping(table, mapping, ours, report):
            clean[name] = check(report, table, date_format)
    if report.error_count:
        return report

    try:
        with write_connection(url) as conn:
            _take_lock(conn)
            _check_against_database(conn, report, tables, clean, replace)
            if report.error_count or dry_run:
                raise _NothingToWrite
            if replace:
                for model in (LedgerEntry, Transaction, Member):
                    conn.execute(delete(model))
            if (
                conn.execute(
                    select(StoreMarker.key).where(StoreMarker.key == INITIAL_DATA_MARKER)
                ).first()
                is None
            ):
                conn.execute(
                    insert(StoreMarker.__table__),
                    [{"key": INITIAL_DATA_MARKER, "value": "client import"}],
                )
            counts = load_tables(conn, clean)
    except _NothingToWrite:
        report.ok = report.error_count == 0
        return report
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        report.add_error(
            "", 0, "", "", f"the database refused the load, nothing was written: {reason}"
        )
        report.rows_loaded = {}
        return report
    report.rows_loaded = {name: counts.get(name, 0) for name in clean}
    report.ok = True
    return report


def _check_against_database(
    conn,
    report: ImportReport,
    tables: dict[str, _Table],
    clean: dict[str, pd.DataFrame],
    replace: bool,
) -> None:
    """Cross-table and database checks: members known, ids new, purchases after joining."""
    existing_members: set[str] = set()
    if not replace:
        existing_members = set(conn.execute(select(Member.member_id)).scalars())
    members = clean.get("members")
    if members is not None and existing_members:
        table = tables["members"]
        taken = members["member_id"].isin(existing_members).to_numpy()
        _errors_where(
            report,
            table,
            taken,
            "member_id",
            "member already in the database (import with replace to reload everything)",
        )
    tx = clean.get("transactions")
    if tx is None:
        return
    table = tables["transactions"]
    known = set(existing_members)
    if members is not None:
        known.update(members["member_id"])
    unknown = ~tx["member_id"].isin(known).to_numpy() & (tx["member_id"] != "").to_numpy()
    _errors_where(
        report,
        table,
        unknown,
        "member_id",
        "unknown member: not in the members file nor in the database",
    )
    if not replace:
        ids = tx["transaction_id"].tolist()
        taken_ids: set[str] = set()
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            taken_ids.update(
                conn.execute(
                    select(Transaction.transaction_id).where(Transaction.transaction_id.in_(chunk))
                ).scalars()
            )
        if taken_ids:
            taken = tx["transaction_id"].isin(taken_ids).to_numpy()
            _errors_where(
                report,
                table,
                taken,
                "transaction_id",
                "transaction already in the database (import with replace to reload everything)",
            )
    if members is not None:
        joins = dict(zip(members["member_id"], members["join_date"], strict=True))
        join = tx["member_id"].map(joins)
        early = (tx["date"] < join).to_numpy()
        if early.any():
            first = int(np.argmax(early))
            report.warnings.append(
                f"transactions: {int(early.sum()):,} purchase(s) dated before the member's"
                f" join_date (first on {table.kind} {table.line(first)})"
            )


def format_report(report: ImportReport, limit: int = 50) -> str:
    """The report as text a person can act on: outcome, counts, then each problem."""
    lines = []
    read = ", ".join(f"{n:,} {name}" for name, n in report.rows_read.items()) or "nothing"
    if report.ok and report.dry_run:
        lines.append(f"Check passed: {read} read; nothing was written (dry run).")
    elif report.ok:
        loaded = ", ".join(f"{n:,} {name}" for name, n in report.rows_loaded.items())
        lines.append(f"Import succeeded: {read} read, {loaded} loaded.")
    else:
        lines.append(
            f"Import failed: {report.error_count:,} problem(s) found in {read} read;"
            " nothing was written. Fix the rows below and import again."
        )
    for issue in report.errors[:limit]:
        kind = report.line_kind.get(issue.table, "line")
        where = f"{issue.table} " if issue.table else ""
        if issue.line > 0:
            where += f"{kind} {issue.line}"
        where = where.strip() or "file"
        column = f", column {issue.column}" if issue.column else ""
        value = f" (value: {issue.value!r})" if issue.value != "" else ""
        lines.append(f"  - {where}{column}{value}: {issue.message}")
    hidden = report.error_count - min(limit, len(report.errors))
    if hidden > 0:
        lines.append(f"  ... and {hidden:,} more problem(s).")
    for warning in report.warnings:
        lines.append(f"  ! {warning}")
    return "\n".join(lines)
