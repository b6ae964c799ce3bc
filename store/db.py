"""Engines, transactions and first-start set-up of the MemberLab database.

One engine per database URL, shared by every thread (Streamlit sessions, worker threads).
The URL comes from `policies.settings.get_settings` unless given: PostgreSQL for a shared
installation, or an embedded SQLite file in the data folder.

SQLite specifics (a file shared by several threads and processes):

* every connection runs in WAL mode with a ``busy_timeout``, so readers never block the
  writer and a writer waits for another instead of failing at once;
* the driver's own transaction handling is switched off and SQLAlchemy emits ``BEGIN``
  itself: ``BEGIN IMMEDIATE`` for writers (`write_connection`, ``session_scope(write=True)``),
  so a transaction that reads then writes takes the write lock up front and cannot fail
  half-way with ``SQLITE_BUSY``; plain ``BEGIN`` for readers;
* foreign keys are enforced.

`ensure_database` brings any database to the current schema with Alembic (the migrations in
``store/migrations``) and, on an empty database, loads the sample program shipped in
``sample_data/``: a new SQLite file starts as a copy of the sample's prebuilt database
(`store.prebuilt`, checked against its recorded checksum), anything else by bulk insert.
Both steps hold a lock (PostgreSQL: a transaction-level advisory lock; SQLite: the write
lock of ``BEGIN IMMEDIATE``) and the load writes a unique marker row in the same
transaction, so processes starting together migrate and load exactly once.
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from store.models import (
    CampaignRun,
    LedgerEntry,
    Member,
    StoreMarker,
    Transaction,
)

__all__ = [
    "BUSY_TIMEOUT_MS",
    "SAMPLE_FOLDERS",
    "alembic_config",
    "database_url",
    "dispose_engines",
    "ensure_database",
    "get_engine",
    "load_tables",
    "migrate",
    "read_connection",
    "read_sample_tables",
    "session_scope",
    "write_connection",
]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 60_000
"""How long a SQLite writer waits for another writer before giving up (loading the sample
holds the write lock for a few seconds)."""

_STORE_DIR = Path(__file__).resolve().parent
_PROJECT_ROOT = _STORE_DIR.parent
SAMPLE_FOLDERS = (_PROJECT_ROOT / "sample_data" / "data", _PROJECT_ROOT / "sample_data")
"""Where the shipped sample program is looked for, in order."""

SAMPLE_TABLES = ("members", "transactions", "points_ledger", "campaigns_run")
INITIAL_DATA_MARKER = "initial_data"
_ADVISORY_LOCK_KEY = 0x4D454D4C  # "MEML": one lock id for schema and first-start work
_WRITE_OPTION = "memberlab_write"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url`` if given, else the configured one (settings)."""
    if url:
        return str(url)
    from policies.settings import get_settings

    return get_settings().resolved_database_url


def _is_sqlite(engine_or_conn: Engine | Connection) -> bool:
    return engine_or_conn.dialect.name == "sqlite"


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_listeners(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # SQLAlchemy emits BEGIN itself (below); the driver must not open transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writer = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: the configured database), created once per URL.

    Thread-safe; the engine is shared. For a SQLite file the parent folder is created.
    """
    resolved = database_url(url)
    with _engines_lock:
        engine = _engines.get(resolved)
        if engine is None:
            if make_url(resolved).get_backend_name() == "sqlite":
                _prepare_sqlite_file(resolved)
                engine = create_engine(resolved, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
                _install_sqlite_listeners(engine)
            else:
                engine = create_engine(resolved, pool_pre_ping=True)
            _engines[resolved] = engine
        return engine


def dispose_engines(url: str | None = None) -> None:
    """Close cached engines' connections and forget them (tests, shutdown).

    Args:
        url: only the engine of this URL (default: every engine).
    """
    with _engines_lock:
        urls = list(_engines) if url is None else [u for u in (str(url),) if u in _engines]
        for key in urls:
            _engines.pop(key).dispose()


def _writer(engine: Engine) -> Engine:
    return engine.execution_options(**{_WRITE_OPTION: True})


@contextmanager
def write_connection(url: str | None = None) -> Iterator[Connection]:
    """A connection in a write transaction: committed on success, rolled back on error.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE`` (takes the write lock first).
    """
    with _writer(get_engine(url)).begin() as conn:
        yield conn


@contextmanager
def session_scope(url: str | None = None, *, write: bool = False) -> Iterator[Session]:
    """An ORM session in one transaction: committed on success, rolled back on error.

    Args:
        url: database URL (default: the configured one).
        write: the transaction writes (on SQLite: ``BEGIN IMMEDIATE``).
    """
    engine = get_engine(url)
    bind = _writer(engine) if write else engine
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_connection(url: str | None = None) -> Iterator[Connection]:
    """A connection in a read transaction (one consistent snapshot), rolled back at the end."""
    with get_engine(url).connect() as conn, conn.begin():
        yield conn


def _take_lock(conn: Connection) -> None:
    """Serialise schema and first-start work across processes (SQLite: already the write lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})


def alembic_config(conn: Connection | None = None):
    """The Alembic configuration of ``store/migrations`` (optionally bound to ``conn``)."""
    from alembic.config import Config

    config = Config(str(_STORE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(_STORE_DIR / "migrations"))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


def migrate(url: str | None = None) -> None:
    """Upgrade the database schema to the latest migration (idempotent, process-safe)."""
    from alembic import command

    with write_connection(url) as conn:
        _take_lock(conn)
        command.upgrade(alembic_config(conn), "head")


# -- Sample data ---------------------------------------------------------------------------

_DATE_COLUMNS = {
    "members": ("join_date", "birthday"),
    "transactions": ("date",),
    "points_ledger": ("date",),
    "campaigns_run": ("start_date", "end_date"),
}
_TEXT_COLUMNS = {
    "members": ("member_id", "gender", "home_store", "channel"),
    "transactions": ("transaction_id", "member_id", "store_id", "channel", "campaign_ids"),
    "points_ledger": ("member_id", "kind", "transaction_id", "note"),
    "campaigns_run": ("campaign_id", "name", "kind", "target"),
}
_MODELS = {
    "members": Member,
    "transactions": Transaction,
    "points_ledger": LedgerEntry,
    "campaigns_run": CampaignRun,
}


def _find_table_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.csv", folder / f"{name}.csv.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_sample_tables(folder: str | Path | None = None) -> dict[str, pd.DataFrame] | None:
    """Read the sample program's CSV files (``.csv`` or ``.csv.gz``), or None if absent.

    Args:
        folder: where the files are; default: the first of `SAMPLE_FOLDERS` holding
            ``members.csv``.

    Returns:
        Table name -> frame, for each file present; None when there is no ``members`` file.
    """
    folders = [Path(folder)] if folder is not None else list(SAMPLE_FOLDERS)
    for candidate in folders:
        if _find_table_file(candidate, "members") is None:
            continue
        tables = {}
        for name in SAMPLE_TABLES:
            path = _find_table_file(candidate, name)
            if path is None:
                continue
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8", newline="") as handle:
                tables[name] = pd.read_csv(
                    handle,
                    dtype={c: str for c in _TEXT_COLUMNS[name]},
                    keep_default_na=False,
                    na_values={c: [""] for c in _DATE_COLUMNS[name]},
                )
        return tables
    return None


_INTEGER_COLUMNS = {"points_earned", "points", "contacts"}
_MONEY_COLUMNS = {"amount", "discount", "net_amount", "cost"}


def _column_values(name: str, series: pd.Series) -> list:
    """One column as driver-ready Python values: dates as ISO text, money rounded, no NaN."""
    missing = series.isna().to_numpy()
    if name in _INTEGER_COLUMNS:
        values = series.fillna(0).astype("int64").tolist()
    elif name in _MONEY_COLUMNS:
        values = series.astype("float64").round(2).tolist()
    elif (
        pd.api.types.is_datetime64_any_dtype(series)
        or name.endswith("date")
        or name
        in (
            "date",
            "birthday",
        )
    ):
        parsed = pd.to_datetime(series, format="%Y-%m-%d")
        values = parsed.dt.strftime("%Y-%m-%d").tolist()
    else:
        values = series.astype(object).tolist()
    if missing.any():
        for i in missing.nonzero()[0].tolist():
            values[i] = None
    return values


def _rows(name: str, frame: pd.DataFrame) -> tuple[list[str], list[tuple]]:
    """The frame's known columns and its rows as tuples ready for a driver-level bulk insert.

    Dates go in as ``YYYY-MM-DD`` text (SQLite's storage format for SQLAlchemy ``Date``;
    parsed by PostgreSQL), which avoids building a Python object per cell.
    """
    frame = frame.copy()
    if name == "transactions":
        if "discount" not in frame:
            frame["discount"] = 0.0
        if "net_amount" not in frame:
            frame["net_amount"] = frame["amount"] - frame["discount"]
    columns = [c.name for c in _MODELS[name].__table__.columns if c.name in frame.columns]
    values = [_column_values(column, frame[column]) for column in columns]
    return columns, list(zip(*values, strict=True))


LOAD_CHUNK_ROWS = 50_000
"""Rows per insert batch: the unit `load_tables` reports progress in."""

Progress = Callable[[float, str], None]
"""``progress(fraction done, message)``, called as work advances."""


def _insert_rows(conn: Connection, table, columns: list[str], rows: list[tuple]) -> None:
    """Bulk insert at the driver level: PostgreSQL ``COPY FROM STDIN`` or ``executemany``."""
    quoted = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        raw = conn.connection.driver_connection
        statement = f'COPY "{table.name}" ({quoted}) FROM STDIN'
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join([conn.dialect.paramstyle == "qmark" and "?" or "%s"] * len(columns))
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', rows)


@contextmanager
def _indexes_built_after(conn: Connection, names: list[str]) -> Iterator[None]:
    """On SQLite, drop the secondary indexes of empty tables ``names`` and rebuild them after.

    Building an index once over sorted data is several times cheaper than updating it row
    by row (the sample's points ledger has three). Both steps run in the caller's
    transaction, so a failed load rolls the indexes back with the rows. Tables that already
    hold rows, and other databases, keep their indexes.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    empty = [
        n for n in names if conn.exec_driver_sql(f'SELECT 1 FROM "{n}" LIMIT 1').first() is None
    ]
    marks = ", ".join("?" * len(empty))
    indexes = (
        conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({marks})",
            tuple(empty),
        ).all()
        if empty
        else []
    )
    for name, _sql in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _name, sql in indexes:
        conn.exec_driver_sql(sql)


def load_tables(
    conn: Connection, tables: dict[str, pd.DataFrame], progress: Progress | None = None
) -> dict[str, int]:
    """Bulk-insert membership tables (in dependency order) within the caller's transaction.

    Args:
        conn: a connection in a write transaction.
        tables: table name (`SAMPLE_TABLES`) -> frame with that table's columns (dates as
            ``YYYY-MM-DD`` text or datetimes).
        progress: told the share of rows written and the table being written, batch by batch.

    Returns:
        Rows inserted per table.
    """
    prepared = {
        name: _rows(name, tables[name])
        for name in SAMPLE_TABLES
        if tables.get(name) is not None and not tables[name].empty
    }
    total = sum(len(rows) for _columns, rows in prepared.values())
    written = 0
    with _indexes_built_after(conn, [_MODELS[name].__tablename__ for name in prepared]):
        for name, (columns, rows) in prepared.items():
            for first in range(0, len(rows), LOAD_CHUNK_ROWS):
                if progress is not None:
                    progress(written / total, name)
                batch = rows[first : first + LOAD_CHUNK_ROWS]
                _insert_rows(conn, _MODELS[name].__table__, columns, batch)
                written += len(batch)
        if progress is not None and total:
            progress(1.0, "indexes")
    return {name: len(rows) for name, (_columns, rows) in prepared.items()}


def _database_is_empty(conn: Connection) -> bool:
    marker = conn.execute(
        select(StoreMarker.key).where(StoreMarker.key == INITIAL_DATA_MARKER)
    ).first()
    member = conn.execute(select(Member.member_id).limit(1)).first()
    return marker is None and member is None


def _new_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when no database (nor a leftover WAL) exists there yet."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    path = Path(database).expanduser().resolve()
    leftovers = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-journal")]
    return None if any(p.exists() for p in leftovers) else path


def _sample_folder(sample_folder: str | Path | None) -> Path | None:
    folders = [Path(sample_folder)] if sample_folder is not None else list(SAMPLE_FOLDERS)
    return next((f for f in folders if _find_table_file(f, "members") is not None), None)


def _install_prebuilt(url: str, sample_folder: str | Path | None, report: Progress) -> bool:
    """Copy the sample's prebuilt SQLite database into place on a first start.

    See `store.prebuilt`. Returns False, after saying why (step ``"fallback"``), when it
    cannot be used; False without a word when the database is not a new SQLite file.
    """
    from store import prebuilt

    target = _new_sqlite_file(url)
    folder = _sample_folder(sample_folder)
    if target is None or folder is None:
        return False
    report(0.05, "copying")
    try:
        return prebuilt.install(folder, target)
    except prebuilt.PrebuiltUnusable as exc:
        log.warning("the prebuilt sample database is not used: %s; loading the CSV files", exc)
        report(0.05, "fallback")
        return False


def _row_counts(url: str) -> dict[str, int]:
    with read_connection(url) as conn:
        return {
            name: conn.execute(select(func.count()).select_from(_MODELS[name].__table__)).scalar()
            for name in SAMPLE_TABLES
        }


def ensure_database(
    url: str | None = None,
    load_sample: bool = True,
    sample_folder: str | Path | None = None,
    progress: Progress | None = None,
    prebuilt: bool = True,
) -> dict[str, int]:
    """Bring the database to the current schema and, if it is new, load the sample program.

    Safe to call from several threads or processes at once: the migration and the first
    load each run under a lock in one transaction, and the load writes a unique marker row,
    so the sample is loaded exactly once and a failed load leaves nothing behind.

    Args:
        url: database URL (default: the configured one).
        load_sample: load the shipped sample program into an empty database.
        sample_folder: where the sample CSV files are (default: `SAMPLE_FOLDERS`).
        progress: told how far the first load is, with the step under way: ``"copying"``
            (the prebuilt database), ``"fallback"`` (it cannot be used: the CSV files are
            loaded instead), ``"reading"``, a table name (`SAMPLE_TABLES`) while its rows
            are written, ``"indexes"``, ``"saving"`` and ``"done"``. Not called when no
            sample is loaded.
        prebuilt: on a new SQLite file, copy the sample's prebuilt database into place
            (`store.prebuilt`) instead of loading the CSV files.

    Returns:
        Rows loaded (or copied) per table by this call (empty when nothing was loaded).
    """
    report = progress or (lambda _fraction, _step: None)
    if load_sample and prebuilt and _install_prebuilt(database_url(url), sample_folder, report):
        migrate(url)  # a prebuilt file of an older schema is brought up to date
        report(1.0, "done")
        counts = _row_counts(url)
        log.info("copied the prebuilt sample database: %s", counts)
        return counts
    migrate(url)
    if not load_sample:
        return {}
    with read_connection(url) as conn:
        if not _database_is_empty(conn):
            return {}
    report(0.1, "reading")
    tables = read_sample_tables(sample_folder)
    where = sample_folder or " or ".join(str(f) for f in SAMPLE_FOLDERS)
    if tables is None:
        log.warning(
            "no sample data found (looked for members.csv in %s); the database starts empty",
            where,
        )
        return {}
    with write_connection(url) as conn:
        _take_lock(conn)
        if not _database_is_empty(conn):
            return {}
        conn.execute(
            insert(StoreMarker.__table__),
            [{"key": INITIAL_DATA_MARKER, "value": f"sample program ({', '.join(tables)})"}],
        )
        counts = load_tables(conn, tables, lambda done, step: report(0.1 + 0.85 * done, step))
        report(0.97, "saving")
    report(1.0, "done")
    log.info("loaded the sample program: %s", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return counts
