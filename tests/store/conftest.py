"""Database fixtures: a SQLite file in tmp_path and a throwaway PostgreSQL server.

`db_url` is parametrized over both backends. The PostgreSQL server is started once per
session from the installed binaries (``/usr/lib/postgresql/*/bin``) in a temporary folder,
on a free loopback port, and stopped at the end; each test gets its own fresh database on
it. With ``DATABASE_URL`` set to a PostgreSQL URL, that server is used instead (the user
must be allowed to create databases). Without PostgreSQL the postgres cases skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import store
from policies import load_policy

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOT_INSTALLED = "PostgreSQL not installed: apt-get install postgresql"


def _postgres_bin() -> Path | None:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        return None
    newest = max(found, key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(newest).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server():
    """The URL of a PostgreSQL server's maintenance database (``postgres``)."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith("postgresql"):
        yield configured
        return
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip(NOT_INSTALLED)
    as_postgres = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_postgres else []
    base = Path(tempfile.mkdtemp(prefix="memberlab-pg-"))
    if as_postgres:
        shutil.chown(base, "postgres", "postgres")
    data = base / "data"
    port = _free_port()
    try:
        subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--no-sync", "--no-instructions"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"),
             "-o", options, "-w", "-t", "60", "start"],
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        output = getattr(exc, "stderr", b"") or b""
        pytest.fail(f"could not start PostgreSQL: {output.decode(errors='replace')}\n{log}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        store.dispose_engines()
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    name = f"memberlab_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(pg_server).set(database=name).render_as_string(hide_password=False)
        yield url
    finally:
        store.dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    """A SQLite file (not yet created) in a sub-folder of tmp_path."""
    yield f"sqlite:///{(tmp_path / 'db' / 'memberlab.sqlite').as_posix()}"
    store.dispose_engines()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request):
    """An empty database URL, once per backend."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def policy():
    return load_policy(PROJECT_ROOT / "policies" / "examples" / "classic_four_tier.yaml")


def write_sample(folder: Path, *, gzip_transactions: bool = False) -> dict[str, pd.DataFrame]:
    """A tiny sample program in the shipped layout; returns the frames written."""
    folder.mkdir(parents=True, exist_ok=True)
    members = pd.DataFrame(
        {
            "member_id": ["M1", "M2", "M3"],
            "join_date": ["2024-01-05", "2024-02-10", "2025-06-01"],
            "birthday": ["1990-03-04", "", "1985-12-31"],
            "gender": ["F", "M", "U"],
            "home_store": ["S01", "S02", "S01"],
            "channel": ["store", "app", "online"],
        }
    )
    transactions = pd.DataFrame(
        {
            "transaction_id": ["T1", "T2", "T3", "T4", "T5"],
            "member_id": ["M1", "M1", "M2", "M1", "M3"],
            "date": ["2024-01-05", "2024-06-01", "2024-02-10", "2025-03-01", "2025-06-01"],
            "amount": [100.0, 250.5, 80.0, 300.0, 50.25],
            "discount": [0.0, 10.5, 0.0, 30.0, 0.0],
            "net_amount": [100.0, 240.0, 80.0, 270.0, 50.25],
            "points_earned": [100, 240, 80, 270, 50],
            "store_id": ["S01", "ONLINE", "S02", "S01", "S01"],
            "channel": ["store", "app", "store", "store", "store"],
            "campaign_ids": ["", "member-day", "", "member-day;double", ""],
        }
    )
    ledger = pd.DataFrame(
        {
            "entry_id": ["E1", "E2", "E3", "E4", "E5", "E6", "E7"],
            "member_id": ["M1", "M1", "M2", "M1", "M1", "M3", "M2"],
            "date": [
                "2024-01-05",
                "2024-06-01",
                "2024-02-10",
                "2024-12-10",
                "2025-03-01",
                "2025-06-01",
                "2025-02-10",
            ],
            "kind": ["earn", "earn", "earn", "redeem", "earn", "earn", "expire"],
            "points": [100, 240, 80, -200, 270, 50, -80],
            "transaction_id": ["T1", "T2", "T3", "", "T4", "T5", ""],
            "note": ["purchase", "purchase", "purchase", "", "purchase", "purchase", ""],
        }
    )
    campaigns = pd.DataFrame(
        {
            "campaign_id": ["member-day"],
            "name": ["Member day"],
            "kind": ["member_day"],
            "start_date": ["2024-06-01"],
            "end_date": ["2024-06-01"],
            "target": ["all members"],
            "cost": [2000.0],
            "contacts": [120],
        }
    )
    members.to_csv(folder / "members.csv", index=False)
    if gzip_transactions:
        transactions.to_csv(folder / "transactions.csv.gz", index=False, compression="gzip")
    else:
        transactions.to_csv(folder / "transactions.csv", index=False)
    ledger.to_csv(folder / "points_ledger.csv", index=False)
    campaigns.to_csv(folder / "campaigns_run.csv", index=False)
    return {
        "members": members,
        "transactions": transactions,
        "points_ledger": ledger,
        "campaigns_run": campaigns,
    }


@pytest.fixture
def sample_folder(tmp_path):
    folder = tmp_path / "sample"
    write_sample(folder, gzip_transactions=True)
    return folder


@pytest.fixture
def loaded_url(db_url, sample_folder):
    """A database (each backend) migrated and loaded with the tiny sample."""
    store.ensure_database(db_url, sample_folder=sample_folder)
    return db_url


@pytest.fixture
def make_sample():
    """`write_sample`: writes a tiny sample program into a folder."""
    return write_sample
