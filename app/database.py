"""The database as the pages see it: prepared once per server, read through caches.

`store.ensure_database` (migrate, and load the sample program into an empty database) runs
once per database URL for the whole server (`st.cache_resource`); the tables pages chart
are read through `st.cache_data`, keyed by the URL and a data generation that an import
bumps, so every session sees new data after an import and nobody re-reads it otherwise.
The store itself handles concurrent writers (SQLite WAL and locking, PostgreSQL
transactions).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import threading
import time
from pathlib import Path

import pandas as pd
import streamlit as st

import store
from app.i18n import t

__all__ = [
    "bump_generation",
    "data_state",
    "database_url",
    "generation",
    "ledger",
    "members",
    "prepare",
    "snapshot",
    "transactions",
]


def database_url() -> str:
    """The configured database URL (``DATABASE_URL`` or the data folder's SQLite file)."""
    from policies.settings import get_settings

    return get_settings().resolved_database_url


class _Generation:
    """A counter shared by all sessions, bumped when data is imported."""

    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()


@st.cache_resource
def _generation() -> _Generation:
    return _Generation()


def generation() -> int:
    """The current data generation (part of every loader's cache key)."""
    return _generation().value


def bump_generation() -> None:
    """Make every session re-read the tables (after an import)."""
    counter = _generation()
    with counter.lock:
        counter.value += 1


class _Readiness:
    """Whether a database has been migrated and loaded in this server, and who does it."""

    def __init__(self) -> None:
        self.ready = False
        self.lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _readiness(url: str) -> _Readiness:
    return _Readiness()


def _ensure(url: str, progress: store.db.Progress | None = None) -> None:
    """Migrate, and on the first start load the sample program: once per URL and server."""
    state = _readiness(url)
    if state.ready:
        return
    with state.lock:  # a second session waits here while the first one loads
        if not state.ready:
            store.ensure_database(url, progress=progress)
            state.ready = True


def prepare() -> None:
    """Make the database ready before a page uses `store`.

    The first time in this server it shows what is happening: a status box with a progress
    bar through the steps of the first start (copying the prebuilt sample database; or,
    with a warning when that cannot be used, reading the sample, writing each table,
    building indexes), closed with the time it took.
    """
    url = database_url()
    if _readiness(url).ready:
        return
    started = time.perf_counter()
    # a warning above the status box, which closes when done
    warning = st.empty()
    with st.status(t("database.preparing"), expanded=True) as status:
        bar = st.progress(0.0, text=t("database.step.schema"))

        def progress(fraction: float, step: str) -> None:
            if step == "fallback":  # said where the user looks, not only in the log
                warning.warning(t("database.fallback"), icon=":material/warning:")
            bar.progress(min(max(fraction, 0.0), 1.0), text=t(f"database.step.{step}"))

        _ensure(url, progress)
        seconds = time.perf_counter() - started
        status.update(
            label=t("database.ready", seconds=f"{seconds:.1f}"), state="complete", expanded=False
        )


@st.cache_data(show_spinner=False, max_entries=8)
def _members(url: str, generation: int) -> pd.DataFrame:
    _ensure(url)
    return store.members(url=url)


@st.cache_data(show_spinner=False, max_entries=8)
def _transactions(url: str, generation: int) -> pd.DataFrame:
    _ensure(url)
    return store.transactions(url=url)


@st.cache_data(show_spinner=False, max_entries=8)
def _ledger(url: str, generation: int) -> pd.DataFrame:
    _ensure(url)
    return store.ledger(url=url)


@st.cache_data(show_spinner=False, max_entries=16)
def _snapshot(url: str, generation: int, as_of: dt.date | None) -> pd.DataFrame:
    _ensure(url)
    return store.member_snapshot(as_of=as_of, url=url)


@st.cache_data(show_spinner=False, max_entries=8)
def _data_state(url: str, generation: int) -> str:
    _ensure(url)
    return store.data_state(url)


def data_state() -> str:
    """What the data is now and which code computes from it.

    The data part (`store.data_state`) is read once per data generation; the code part is
    `code_state`. Caches that outlive the server (``persist="disk"``) are keyed on it, with
    the URL, so a figure kept on disk is read back only for the same data and the same code.
    """
    return f"{_data_state(database_url(), generation())}-{code_state()}"


@functools.cache
def code_state() -> str:
    """Fingerprint of the project's computing code (``policies``, ``store``, ``simulations``).

    Streamlit keys a cached function on its own source, not on the code it calls: without
    this, a figure cached on disk by an older release (an analytics or rule change) would be
    shown again after an upgrade.
    """
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in ("policies", "store", "simulations"):
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def members() -> pd.DataFrame:
    """All members (cached)."""
    return _members(database_url(), generation())


def transactions() -> pd.DataFrame:
    """All transactions (cached)."""
    return _transactions(database_url(), generation())


def ledger() -> pd.DataFrame:
    """The points ledger (cached)."""
    return _ledger(database_url(), generation())


def snapshot(as_of: dt.date | None = None) -> pd.DataFrame:
    """One row per member as of a date (cached)."""
    return _snapshot(database_url(), generation(), as_of)
