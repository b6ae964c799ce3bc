"""Import a client's members and transactions from CSV or Parquet, all or nothing.

The client's files rarely use our column names, so a mapping (client column -> our column)
renames them first; columns already named like ours need no mapping. Then every row is
checked and every problem is reported at once, by line as the person sees the file in a
spreadsheet or text editor (the header is line 1, the first data row line 2; for Parquet
files and DataFrames, "row" 1 is the first row):

* required columns are present (members: ``member_id``, ``join_date``; transactions:
  ``transaction_id``, ``member_id``, ``date``, ``amount``);
* every line has as many fields as the header (a line with one field more would otherwise
  shift every column); blank lines are skipped;
* identifiers are not empty; dates parse (``YYYY-MM-DD`` unless another format is given)
  and are not in the future (birthdays not before 1900); ``gender`` is F/M/U; money
  (``amount``, ``discount``, ``net_amount``) is a finite number >= 0 written with the
  file's decimal and thousands separators (``1,234.50`` by default; ``1.234,50`` with
  ``decimal=","`` and ``thousands="."``), and ``discount`` is not larger than ``amount``;
  ``points_earned`` is a whole number >= 0;
* every value fits its database column (text lengths, ``NUMERIC(14, 2)`` money, 32-bit
  points), so a dry run finds what the database would refuse at load time;
* no duplicates: the same ``member_id`` or ``transaction_id`` twice, or an exact copy of
  another row, in the file or (when adding to existing data) already in the database;
* every transaction's member is in the same import or already in the database.

Text files are UTF-8 unless an encoding is given; a file that is not UTF-8 is read in the
encoding detected from its bytes (GB18030 for the GBK/GB2312 exports of Chinese retail
systems), and the report says so.

Inconsistencies that may be legitimate are warnings: ``net_amount`` differing from
``amount - discount``, purchases dated before the member joined, ignored extra columns.

Nothing is written unless every check passes; the load itself is one database transaction
(with ``replace=True`` it first removes the existing members, transactions and points
ledger in that same transaction), so a failure leaves the database as it was.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import math
import re
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
    "TextFormat",
    "csv_header",
    "date_format_problem",
    "format_report",
    "parse_numbers",
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
    """One input table: the frame (text or native values) and the line or row of each row."""

    def __init__(
        self,
        name: str,
        frame: pd.DataFrame,
        lines: np.ndarray | None,
        kind: str,
        records: int | None = None,
    ):
        self.name = name
        # Data rows in the source, counting those refused before checking (wrong field count).
        self.records = len(frame) if records is None else records
        self.frame = frame.reset_index(drop=True)
        # Row positions -> line in the file (CSV) or row number (Parquet, frames).
        self.lines = np.arange(1, len(frame) + 1) if lines is None else np.asarray(lines)
        self.kind = kind

    def line(self, position: int) -> int:
        return int(self.lines[position])


@dataclass(frozen=True)
class TextFormat:
    """How a client's text files are written.

    Attributes:
        encoding: the character encoding (``auto``: UTF-8, else detected from the bytes).
        delimiter: the field separator (``,``, ``;``, tab or ``|``).
        decimal: the decimal separator in numbers (``.`` or ``,``).
        thousands: the thousands separator in numbers (``,``, ``.``, space, ``'`` or none).
    """

    encoding: str = "auto"
    delimiter: str = ","
    decimal: str = "."
    thousands: str = ","

    def problems(self) -> list[str]:
        """What is wrong with these options (empty when they can be used)."""
        found = []
        if self.encoding != "auto":
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                found.append(
                    f"encoding(={self.encoding!r}) is not an encoding Python knows; use e.g."
                    " utf-8, gb18030 or auto"
                )
        if self.delimiter not in DELIMITERS:
            found.append(
                f"delimiter(={self.delimiter!r}) must be one of {', '.join(map(repr, DELIMITERS))}"
            )
        if self.decimal not in DECIMAL_SEPARATORS:
            found.append(f"decimal(={self.decimal!r}) must be '.' or ','")
        if self.thousands not in THOUSANDS_SEPARATORS:
            found.append(
                f"thousands(={self.thousands!r}) must be one of"
                f" {', '.join(map(repr, THOUSANDS_SEPARATORS))} ('' for none)"
            )
        elif self.thousands == self.decimal:
            found.append(
                f"thousands(={self.thousands!r}) and decimal(={self.decimal!r}) must differ"
            )
        return found

    def example(self) -> str:
        """1234.5 as the file writes it (for messages)."""
        return f"1{self.thousands}234{self.decimal}50"


DELIMITERS = (",", ";", "\t", "|")
DECIMAL_SEPARATORS = (".", ",")
THOUSANDS_SEPARATORS = (",", ".", " ", "'", "")
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936"}
_CHUNK_ROWS = 100_000


# -- Reading -------------------------------------------------------------------------------


def _read(name: str, source: Any, report: ImportReport, text: TextFormat) -> _Table | None:
    if isinstance(source, pd.DataFrame):
        return _Table(name, source.copy(), None, "row")
    path = Path(source)
    suffixes = "".join(path.suffixes[-2:]).lower()
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return _Table(name, pd.read_parquet(path), None, "row")
        if suffixes.endswith(".csv") or suffixes.endswith(".csv.gz") or path.suffix == ".txt":
            raw = path.read_bytes()
            if suffixes.endswith(".gz"):
                raw = gzip.decompress(raw)
            decoded = _decode(name, raw, text.encoding, report)
            return None if decoded is None else _parse_csv(name, decoded, text.delimiter, report)
    except FileNotFoundError:
        report.add_error(name, 0, "", str(path), f"file not found: {path}")
        return None
    except (OSError, ValueError, EOFError) as exc:
        report.add_error(name, 0, "", path.name, f"cannot read the file: {exc}")
        return None
    report.add_error(name, 0, "", path.name, "unsupported file type: use .csv, .csv.gz or .parquet")
    return None


def _decode(name: str, raw: bytes, encoding: str, report: ImportReport) -> str | None:
    """The file's text: in the given encoding, or UTF-8, or the detected encoding (said)."""
    if encoding != "auto":
        try:
            return raw.decode("utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding)
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            report.add_error(
                name,
                line,
                "",
                repr(raw[exc.start : exc.end + 3]),
                f"the file is not valid {encoding} text here; choose the encoding it was saved"
                " in (Chinese retail systems often export GB18030/GBK)",
            )
            return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    detected = _detect_encoding(raw)
    if detected is None:
        report.add_error(
            name,
            0,
            "",
            "",
            "the file is not UTF-8 text and its encoding could not be recognised; choose the"
            " encoding it was saved in (e.g. gb18030) or save it as CSV UTF-8",
        )
        return None
    report.warnings.append(
        f"{name}: the file is not UTF-8; it was read as {detected} (detected from its"
        " content). If names look garbled, choose the encoding explicitly."
    )
    return raw.decode(detected)


def _detect_encoding(raw: bytes) -> str | None:
    """The encoding the bytes are most likely in (charset-normalizer), or None.

    On short files several encodings decode equally cleanly (GBK bytes read as Korean
    CP949 too); a tie goes to GB18030, the usual export encoding of Chinese retail systems
    and a superset of GBK and GB2312.
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw[:1_000_000]))
    if not matches:
        return None
    cleanest = min(match.chaos for match in matches)
    tied = [codecs.lookup(m.encoding).name for m in matches if m.chaos <= cleanest + 0.01]
    chinese = [name for name in tied if name.replace("_", "") in _GB_FAMILY]
    for candidate in ["gb18030"] if chinese else tied[:1]:
        try:
            raw.decode(candidate)
        except UnicodeDecodeError:
            continue
        return candidate
    return None


def csv_header(raw: bytes, text: TextFormat) -> list[str]:
    """The column names on the first line of CSV bytes (to offer for mapping).

    Raises:
        ValueError: the bytes are not text in the given (or a detectable) encoding.
    """
    report = ImportReport()
    decoded = _decode("file", raw, text.encoding, report)
    if decoded is None:
        raise ValueError(report.errors[0].message)
    header = next(csv.reader(io.StringIO(decoded, newline=""), delimiter=text.delimiter), [])
    return [c.strip() for c in header]


def _parse_csv(name: str, text: str, delimiter: str, report: ImportReport) -> _Table | None:
    """Split CSV text into records, keeping the line each starts on (quoted newlines count).

    Every record must have as many fields as the header: pandas would take a line with one
    more as an index and shift every column. Records with no content (blank lines, a line of
    delimiters only) are skipped.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    chunks: list[pd.DataFrame] = []
    lines: list[int] = []
    skipped: list[int] = []
    refused = 0
    next_line = 1
    try:
        header = [c.strip() for c in next(reader, [])]
        width = len(header)
        next_line = reader.line_num + 1
        for record in reader:
            line, next_line = next_line, reader.line_num + 1
            if len(record) == width and record[0]:  # the usual line: no further checks
                rows.append(record)
                lines.append(line)
                if len(rows) == _CHUNK_ROWS:  # lists of lists take 3x a frame's memory
                    chunks.append(pd.DataFrame(rows, columns=header, dtype=object))
                    rows = []
                continue
            if not "".join(record).strip():
                skipped.append(line)
                continue
            if len(record) != width:
                refused += 1
                more = len(record) > width
                value = record[width] if more else (record[-1] if record else "")
                report.add_error(
                    name,
                    line,
                    f"(field {width + 1})" if more else header[-1],
                    value,
                    f"this line has {len(record)} fields, the header has {width}:"
                    f" {'a delimiter too many or an unquoted' if more else 'a missing'}"
                    f" {delimiter!r} in a value? (quote values that contain it)",
                )
                continue
            rows.append(record)
            lines.append(line)
    except csv.Error as exc:
        report.add_error(name, next_line, "", "", f"not readable as CSV here: {exc}")
        return None
    if not header or not any(header):
        report.add_error(name, 1, "", "", "the file is empty: line 1 must name the columns")
        return None
    inner = [line for line in skipped if line < (lines[-1] if lines else 0)]
    if inner:
        report.warnings.append(
            f"{name}: {len(inner):,} blank line(s) skipped (first: line {inner[0]})"
        )
    chunks.append(pd.DataFrame(rows, columns=header, dtype=object))
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    lines_array = np.asarray(lines, dtype=np.int64)
    return _Table(name, frame, lines_array, "line", len(frame) + refused)


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


def _text(series: pd.Series) -> pd.Series:
    """Values as stripped text ("" where missing), vectorised."""
    out = series.astype(object).where(series.notna(), "")
    return out.astype(str).str.strip()


def _blank(series: pd.Series) -> np.ndarray:
    return (_text(series) == "").to_numpy(bool)


def _errors_where(
    report: ImportReport, table: _Table, bad: np.ndarray, column: str, message: str
) -> None:
    values = table.frame[column]
    for position in np.flatnonzero(bad).tolist():
        report.add_error(table.name, table.line(position), column, values.iloc[position], message)


def date_format_problem(date_format: str) -> str | None:
    """Why ``date_format`` cannot read dates (None when it can): it must name a whole day."""
    example = dt.date(2024, 3, 31)
    try:
        back = dt.datetime.strptime(example.strftime(date_format), date_format).date()
    except (ValueError, TypeError) as exc:
        return f"date_format(={date_format!r}) is not a date format ({exc}); e.g. %Y-%m-%d"
    if back != example:
        return (
            f"date_format(={date_format!r}) does not name year, month and day (it reads"
            f" 2024-03-31 as {back}); e.g. %Y-%m-%d or %d/%m/%Y"
        )
    return None


def _parse_date(value: Any, date_format: str) -> dt.date | None:
    if isinstance(value, dt.datetime | pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.datetime.strptime(str(value).strip(), date_format).date()
    except ValueError:
        return None


def _dates(
    report: ImportReport, table: _Table, column: str, date_format: str, required: bool
) -> pd.Series:
    """Parsed dates (NaT where empty or wrong); errors for unreadable, future, ancient dates.

    Parsed by value with ``datetime.strptime``, so a year like 2999 is a date in the future
    rather than an overflow of pandas' nanosecond timestamps.
    """
    raw = table.frame[column]
    blank = _blank(raw)
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = pd.Series(raw.dt.date, index=raw.index)
    else:
        values = raw.astype(object)
    today = dt.date.today()
    earliest = dt.date(1900, 1, 1)
    # Each distinct value is parsed and judged once (a file has far fewer dates than rows).
    usable_by_value: dict[Any, dt.date | None] = {}
    status_by_value: dict[Any, str] = {}
    for value in pd.unique(values[~blank]):
        day = _parse_date(value, date_format)
        status = "unparsed" if day is None else "future" if day > today else ""
        if day is not None and day < earliest:
            status = "ancient"
        status_by_value[value] = status
        usable_by_value[value] = day if not status else None
    status = values.map(status_by_value).where(~blank, "blank").to_numpy(object)
    example = dt.date(2024, 3, 31).strftime(date_format)
    _errors_where(
        report, table, status == "unparsed", column, f"not a date: expected a date like {example}"
    )
    if required:
        _errors_where(report, table, blank, column, f"{column} is empty: every row needs one")
    _errors_where(
        report, table, status == "future", column, f"{column} is in the future (today is {today})"
    )
    _errors_where(report, table, status == "ancient", column, f"{column} is before 1900")
    usable = values.map(usable_by_value).where(~blank, None)
    return pd.to_datetime(usable).astype("datetime64[ns]")


def _number_pattern(text: TextFormat) -> re.Pattern[str]:
    """A number as the file writes it: digits grouped by ``thousands`` (optional), decimals."""
    digits = r"\d+"
    if text.thousands:
        digits = rf"(?:\d{{1,3}}(?:{re.escape(text.thousands)}\d{{3}})+|\d+)"
    decimal = re.escape(text.decimal)
    return re.compile(
        rf"[+-]?(?:{digits}(?:{decimal}\d*)?|{decimal}\d+)(?:[eE][+-]?\d+)?",
    )


def parse_numbers(values: pd.Series, text: TextFormat) -> pd.Series:
    """Numbers written with the file's separators -> floats (NaN where not written so).

    Strict: with ``,`` as thousands separator ``12,34`` is not a number (the groups after
    the first have three digits), so a decimal comma is never read as a thousands one.
    """
    cleaned = _text(values)
    written = cleaned.str.fullmatch(_number_pattern(text)).fillna(False).to_numpy(bool)
    if text.thousands:
        cleaned = cleaned.str.replace(text.thousands, "", regex=False)
    cleaned = cleaned.str.replace(text.decimal, ".", regex=False)
    return pd.to_numeric(cleaned.where(written, ""), errors="coerce").astype("float64")


def _numbers(
    report: ImportReport,
    table: _Table,
    column: str,
    text: TextFormat,
    *,
    integer: bool,
    default: float | None,
    largest: float,
) -> pd.Series:
    """Parsed numbers (NaN where unusable); errors name the line, value and what is valid."""
    raw = table.frame[column]
    blank = _blank(raw)
    kind = "a whole number" if integer else "a number"
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
        not_number = np.isnan(values.to_numpy()) & ~blank
        hint = ""
    else:
        values = parse_numbers(raw, text)
        not_number = np.isnan(values.to_numpy()) & ~blank
        grouping = f", thousands grouped with {text.thousands!r}" if text.thousands else ""
        hint = (
            f" with {text.decimal!r} as the decimal separator{grouping}, e.g. {text.example()};"
            " if the file writes numbers differently, set the separators"
        )
    _errors_where(report, table, not_number, column, f"not {kind}: expected digits{hint}")
    array = values.to_numpy()
    if default is None:
        _errors_where(report, table, blank, column, f"{column} is empty: every row needs one")
    infinite = np.isinf(array)
    _errors_where(report, table, infinite, column, f"{column} must be finite")
    negative = np.isfinite(array) & (array < 0)
    _errors_where(report, table, negative, column, f"{column} must be >= 0")
    too_large = np.isfinite(array) & (array > largest)
    _errors_where(
        report,
        table,
        too_large,
        column,
        f"{column} is too large: at most {largest:,.{0 if integer else 2}f} fits the database",
    )
    if integer:
        fractional = np.isfinite(array) & (np.floor(array) != array)
        _errors_where(report, table, fractional, column, f"{column} must be a whole number")
    bad = not_number | infinite | negative | too_large
    values = values.where(~pd.Series(bad, index=values.index), np.nan)
    if default is not None:
        values = values.where(~pd.Series(blank, index=values.index), default)
    return values


def _column_length(model: type, column: str) -> int | None:
    return getattr(model.__table__.c[column].type, "length", None)


def _largest_money() -> float:
    """The largest amount a ``NUMERIC(p, s)`` money column holds (999,999,999,999.99)."""
    money = Transaction.__table__.c["amount"].type
    return 10.0 ** (money.precision - money.scale) - 10.0**-money.scale


LARGEST_POINTS = 2**31 - 1
"""``points_earned`` is an INTEGER column: 32 bits in PostgreSQL."""


def _strings(report: ImportReport, table: _Table, model: type, column: str) -> pd.Series:
    """Stripped text; errors where longer than the database column."""
    values = _text(table.frame[column])
    limit = _column_length(model, column)
    if limit is not None:
        too_long = (values.str.len() > limit).to_numpy()
        _errors_where(
            report,
            table,
            too_long,
            column,
            f"{column} is longer than {limit} characters (the database column holds {limit})",
        )
    return values


def _ids(report: ImportReport, table: _Table, model: type, column: str) -> pd.Series:
    values = _strings(report, table, model, column)
    blank = (values == "").to_numpy()
    _errors_where(report, table, blank, column, f"{column} is empty: every row needs one")
    return values


def _optional_strings(
    report: ImportReport, table: _Table, model: type, out: pd.DataFrame, columns: tuple[str, ...]
) -> None:
    for column in columns:
        if column in table.frame:
            values = _strings(report, table, model, column)
            out[column] = values.where(values != "", None)


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


def _check_members(
    report: ImportReport, table: _Table, date_format: str, text: TextFormat
) -> pd.DataFrame:
    frame = table.frame
    out = pd.DataFrame(index=frame.index)
    out["member_id"] = _ids(report, table, Member, "member_id")
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
    _optional_strings(report, table, Member, out, ("home_store", "channel"))
    _duplicates(report, table, out["member_id"], "member_id")
    return out


def _check_transactions(
    report: ImportReport, table: _Table, date_format: str, text: TextFormat
) -> pd.DataFrame:
    frame = table.frame
    money = _largest_money()
    out = pd.DataFrame(index=frame.index)
    out["transaction_id"] = _ids(report, table, Transaction, "transaction_id")
    out["member_id"] = _ids(report, table, Transaction, "member_id")
    out["date"] = _dates(report, table, "date", date_format, required=True)
    amount = _numbers(report, table, "amount", text, integer=False, default=None, largest=money)
    out["amount"] = amount.round(2)
    if "discount" in frame:
        out["discount"] = _numbers(
            report, table, "discount", text, integer=False, default=0.0, largest=money
        ).round(2)
        larger = (out["discount"] > out["amount"]).to_numpy()
        for position in np.flatnonzero(larger).tolist():
            report.add_error(
                table.name,
                table.line(position),
                "discount",
                frame["discount"].iloc[position],
                f"discount is larger than amount (={frame['amount'].iloc[position]}): the net"
                " amount would be negative; amount is the price before the discount",
            )
    else:
        out["discount"] = 0.0
    if "net_amount" in frame:
        out["net_amount"] = _numbers(
            report, table, "net_amount", text, integer=False, default=np.nan, largest=money
        )
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
        points = _numbers(
            report,
            table,
            "points_earned",
            text,
            integer=True,
            default=0.0,
            largest=LARGEST_POINTS,
        )
        out["points_earned"] = points.fillna(0)
    else:
        out["points_earned"] = 0
    _optional_strings(report, table, Transaction, out, ("store_id", "channel"))
    if "campaign_ids" in frame:
        out["campaign_ids"] = _strings(report, table, Transaction, "campaign_ids")
    else:
        out["campaign_ids"] = ""
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
    encoding: str = "auto",
    delimiter: str = ",",
    decimal: str = ".",
    thousands: str = ",",
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
        encoding: text files' encoding (``auto``: UTF-8, else detected and reported).
        delimiter: text files' field separator.
        decimal: the decimal separator of numbers in text files (``.`` or ``,``).
        thousands: the thousands separator of numbers in text files (``""`` for none).
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
    text = TextFormat(encoding, delimiter, decimal, thousands)
    problems = text.problems()
    date_problem = date_format_problem(date_format)
    if date_problem:
        problems.append(date_problem)
    for problem in problems:
        report.add_error("", 0, "", "", problem)
    if problems:
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
        table = _read(name, source, report, text)
        if table is None:
            continue
        tables[name] = table
        report.line_kind[name] = table.kind
        report.rows_read[name] = table.records
        if _apply_mapping(table, mapping, ours, report):
            clean[name] = check(report, table, date_format, text)
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
