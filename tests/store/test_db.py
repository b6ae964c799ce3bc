import logging
import sqlite3
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

import store
from store import db
from store.models import Base, LedgerEntry, Member, StoreMarker, Transaction

TABLES = {
    "members",
    "transactions",
    "points_ledger",
    "campaigns_run",
    "scenarios",
    "simulation_runs",
    "published_policies",
    "publication_audit",
    "store_markers",
}


def count(url, model):
    with store.read_connection(url) as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_migrations_match_models(db_url):
    """Like `alembic check`: after upgrading, autogenerate finds nothing to add."""
    store.ensure_database(db_url, load_sample=False)
    with store.get_engine(db_url).connect() as conn:
        tables = set(inspect(conn).get_table_names())
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert tables >= TABLES
    assert diff == []


def test_downgrade_and_upgrade_again(db_url):
    store.ensure_database(db_url, load_sample=False)
    with store.write_connection(db_url) as conn:
        command.downgrade(db.alembic_config(conn), "base")
    with store.get_engine(db_url).connect() as conn:
        assert not TABLES & set(inspect(conn).get_table_names())
    store.migrate(db_url)
    with store.get_engine(db_url).connect() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES


def test_sqlite_file_settings(tmp_path):
    path = tmp_path / "deep" / "er" / "memberlab.sqlite"
    url = f"sqlite:///{path.as_posix()}"
    try:
        store.ensure_database(url, load_sample=False)
        assert path.exists()
        with store.get_engine(url).connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.BUSY_TIMEOUT_MS
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert store.get_engine(url) is store.get_engine(url)
    finally:
        store.dispose_engines()


def test_sqlite_writer_takes_the_write_lock_at_begin(sqlite_url):
    """A write transaction holds the lock before its first statement (BEGIN IMMEDIATE)."""
    store.ensure_database(sqlite_url, load_sample=False)
    path = sqlite_url.removeprefix("sqlite:///")
    with store.write_connection(sqlite_url):
        other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    with store.read_connection(sqlite_url):  # readers take no write lock
        other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        other.close()


def test_first_start_loads_the_sample_once(db_url, sample_folder):
    counts = store.ensure_database(db_url, sample_folder=sample_folder)
    assert counts == {"members": 3, "transactions": 5, "points_ledger": 7, "campaigns_run": 1}
    assert store.ensure_database(db_url, sample_folder=sample_folder) == {}
    assert count(db_url, Member) == 3
    assert count(db_url, Transaction) == 5
    with store.read_connection(db_url) as conn:
        marker = conn.execute(select(StoreMarker.value)).scalar_one()
    assert "sample" in marker


def test_no_sample_files_loads_nothing_and_says_so(db_url, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="store.db"):
        assert store.ensure_database(db_url, sample_folder=tmp_path / "nothing-here") == {}
    assert "no sample data found" in caplog.text
    assert count(db_url, Member) == 0


def test_load_sample_false_leaves_the_database_empty(db_url, sample_folder):
    assert store.ensure_database(db_url, load_sample=False, sample_folder=sample_folder) == {}
    assert count(db_url, Member) == 0


def test_a_failed_sample_load_writes_nothing(db_url, tmp_path, make_sample):
    folder = tmp_path / "bad"
    frames = make_sample(folder)
    ledger = frames["points_ledger"].copy()
    ledger.loc[3, "points"] = 200  # a redemption must take points away
    ledger.to_csv(folder / "points_ledger.csv", index=False)
    with pytest.raises(Exception, match="points_sign"):
        store.ensure_database(db_url, sample_folder=folder)
    assert count(db_url, Member) == 0
    assert count(db_url, StoreMarker) == 0
    frames["points_ledger"].to_csv(folder / "points_ledger.csv", index=False)
    assert store.ensure_database(db_url, sample_folder=folder)["points_ledger"] == 7


def test_threads_starting_together_load_once(db_url, sample_folder):
    barrier = threading.Barrier(4)

    def start():
        barrier.wait()
        return store.ensure_database(db_url, sample_folder=sample_folder)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: start(), range(4)))
    assert sum(bool(r) for r in results) == 1
    assert count(db_url, Member) == 3
    assert count(db_url, LedgerEntry) == 7


def _start_app(url, folder):
    counts = store.ensure_database(url, sample_folder=folder)
    store.dispose_engines()
    return counts


@pytest.mark.parametrize(
    "backend",
    ["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])],
)
def test_processes_starting_together_load_once(backend, request, sample_folder):
    """Two app processes starting on a new database: one migrates and loads, one waits."""
    db_url = request.getfixturevalue({"sqlite": "sqlite_url", "postgresql": "pg_url"}[backend])
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_start_app, db_url, sample_folder) for _ in range(2)]
        results = [f.result(timeout=120) for f in futures]
    assert sum(bool(r) for r in results) == 1
    assert count(db_url, Member) == 3
    assert count(db_url, Transaction) == 5


def test_concurrent_read_modify_write_loses_no_update(db_url):
    """Writers that read then write serialise (SQLite: BEGIN IMMEDIATE; PostgreSQL: row lock)."""
    store.ensure_database(db_url, load_sample=False)
    with store.session_scope(db_url, write=True) as session:
        session.add(StoreMarker(key="counter", value="0"))
    threads, rounds = 6, 15

    def bump(_):
        for _ in range(rounds):
            with store.session_scope(db_url, write=True) as session:
                row = session.scalars(
                    select(StoreMarker).where(StoreMarker.key == "counter").with_for_update()
                ).one()
                row.value = str(int(row.value) + 1)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(bump, range(threads)))
    with store.read_connection(db_url) as conn:
        value = conn.execute(
            select(StoreMarker.value).where(StoreMarker.key == "counter")
        ).scalar_one()
    assert int(value) == threads * rounds


def test_readers_see_a_consistent_snapshot_while_a_writer_works(sqlite_url, sample_folder):
    store.ensure_database(sqlite_url, sample_folder=sample_folder)
    with store.write_connection(sqlite_url) as conn:
        conn.execute(text("DELETE FROM points_ledger"))
        # Another thread reads the committed state, not the half-done change.
        seen = []
        reader = threading.Thread(target=lambda: seen.append(count(sqlite_url, LedgerEntry)))
        reader.start()
        reader.join(timeout=10)
    assert seen == [7]
    assert count(sqlite_url, LedgerEntry) == 0


def test_default_url_comes_from_the_settings(tmp_path, monkeypatch, sample_folder):
    from policies.settings import get_settings

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MEMBERLAB_DATABASE_URL", raising=False)
    monkeypatch.setenv("MEMBERLAB_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        assert store.ensure_database(sample_folder=sample_folder)["members"] == 3
        assert (tmp_path / "data" / "memberlab.sqlite").exists()
        assert len(store.members()) == 3
    finally:
        store.dispose_engines()
        get_settings.cache_clear()


@pytest.mark.slow
def test_the_shipped_sample_loads_completely(sqlite_url):
    tables = db.read_sample_tables()
    if tables is None:
        pytest.skip("no shipped sample in sample_data/ (python -m sample_data writes it)")
    counts = store.ensure_database(sqlite_url)
    assert counts == {name: len(frame) for name, frame in tables.items()}
    snapshot = store.member_snapshot(url=sqlite_url)
    assert snapshot["points_balance"].sum() == tables["points_ledger"]["points"].sum()
