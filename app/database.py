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
import threading

import pandas as pd
import streamlit as st

import store
from app.i18n import t

__all__ = [
    "bump_generation",
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


@st.cache_resource(show_spinner=False)
def _engine(url: str):
    """Migrate (and on first start load the sample program), then the shared engine."""
    store.ensure_database(url)
    return store.get_engine(url)


def prepare() -> None:
    """Make the database ready before a page uses `store` (a spinner the first time)."""
    with st.spinner(t("database.preparing")):
        _engine(database_url())


@st.cache_data(show_spinner=False, max_entries=8)
def _members(url: str, generation: int) -> pd.DataFrame:
    _engine(url)
    return store.members(url=url)


@st.cache_data(show_spinner=False, max_entries=8)
def _transactions(url: str, generation: int) -> pd.DataFrame:
    _engine(url)
    return store.transactions(url=url)


@st.cache_data(show_spinner=False, max_entries=8)
def _ledger(url: str, generation: int) -> pd.DataFrame:
    _engine(url)
    return store.ledger(url=url)


@st.cache_data(show_spinner=False, max_entries=16)
def _snapshot(url: str, generation: int, as_of: dt.date | None) -> pd.DataFrame:
    _engine(url)
    return store.member_snapshot(as_of=as_of, url=url)


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
