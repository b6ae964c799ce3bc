"""The database schema: the client's membership data and the workbench's own records.

Two groups of tables:

* **Membership data** (loaded from the shipped sample or imported from a client):
  ``members`` (one row per member), ``transactions`` (one row per purchase, gross amount,
  discount, net amount, points earned), ``points_ledger`` (every points booking, signed:
  earn/bonus positive, redeem/expire negative) and ``campaigns_run`` (one row per campaign
  and period it ran, with its cost and audience size).
* **Workbench records**: ``scenarios`` (named what-if policies with their assumptions),
  ``simulation_runs`` (inputs, seed, code version and summary of each stored run),
  ``published_policies`` (every version published to the live system, never rewritten) and
  ``publication_audit`` (who published or rolled back what, when and why, with the diff).

``store_markers`` holds one-off facts such as "the initial data was loaded": its primary key
makes the first-start load happen once even when several processes start together.

Money columns are ``NUMERIC(14, 2)`` (exact in PostgreSQL) read back as floats; every
constraint and index is named explicitly so migrations can refer to it on any backend.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "CampaignRun",
    "LedgerEntry",
    "Member",
    "PublicationAudit",
    "PublishedPolicyRecord",
    "Scenario",
    "SimulationRun",
    "StoreMarker",
    "Transaction",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(14, 2, asdecimal=False)
"""Currency amounts: exact decimal storage, floats in Python (the workbench computes in float)."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with the project's constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Member(Base):
    """A member of the loyalty program."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("gender IN ('F', 'M', 'U')", name="gender"),
        Index("ix_members_join_date", "join_date"),
    )

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    join_date: Mapped[dt.date] = mapped_column(Date)
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1), default="U", server_default="U")
    home_store: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(16))


class Transaction(Base):
    """One purchase by a member: gross amount, discount, net amount and points earned."""

    __tablename__ = "transactions"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("discount >= 0", name="discount_non_negative"),
        Index("ix_transactions_member_id_date", "member_id", "date"),
        Index("ix_transactions_date", "date"),
    )

    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.member_id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[float] = mapped_column(Money)
    discount: Mapped[float] = mapped_column(Money, default=0.0, server_default="0")
    net_amount: Mapped[float] = mapped_column(Money)
    points_earned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    store_id: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(16))
    campaign_ids: Mapped[str] = mapped_column(String(255), default="", server_default="")


class LedgerEntry(Base):
    """One points booking: earn and bonus add points, redeem and expire take them away."""

    __tablename__ = "points_ledger"
    __table_args__ = (
        CheckConstraint("kind IN ('earn', 'bonus', 'redeem', 'expire')", name="kind"),
        CheckConstraint(
            "(kind IN ('earn', 'bonus') AND points >= 0)"
            " OR (kind IN ('redeem', 'expire') AND points <= 0)",
            name="points_sign",
        ),
        Index("ix_points_ledger_member_id_date", "member_id", "date"),
        Index("ix_points_ledger_date", "date"),
        Index("ix_points_ledger_transaction_id", "transaction_id"),
    )

    entry_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.member_id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))
    points: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(64), default="", server_default="")


class CampaignRun(Base):
    """A campaign over one period it ran: dates, target, cost and contacts."""

    __tablename__ = "campaigns_run"
    __table_args__ = (
        UniqueConstraint("campaign_id", "start_date"),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        Index("ix_campaigns_run_start_date", "start_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    kind: Mapped[str] = mapped_column(String(32), default="", server_default="")
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    target: Mapped[str] = mapped_column(String(128), default="", server_default="")
    cost: Mapped[float] = mapped_column(Money, default=0.0, server_default="0")
    contacts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Scenario(Base):
    """A named what-if policy (YAML text) with the behavior assumptions to simulate it with."""

    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    policy_yaml: Mapped[str] = mapped_column(Text)
    policy_id: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    assumptions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utc_now)


class SimulationRun(Base):
    """A stored simulation: what was simulated, with which seed and code, and what came out."""

    __tablename__ = "simulation_runs"
    __table_args__ = (
        Index("ix_simulation_runs_created_at", "created_at"),
        Index("ix_simulation_runs_policy_id", "policy_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scenario_name: Mapped[str | None] = mapped_column(String(100))
    policy_id: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seed: Mapped[str] = mapped_column(String(80))
    code_version: Mapped[str] = mapped_column(String(64), default="", server_default="")
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utc_now)


class PublishedPolicyRecord(Base):
    """One version of the policy published to the live system (history is append-only)."""

    __tablename__ = "published_policies"
    __table_args__ = (
        UniqueConstraint("version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("action IN ('publish', 'rollback')", name="action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    action: Mapped[str] = mapped_column(String(10), default="publish", server_default="publish")
    restored_from: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utc_now)
    published_by: Mapped[str] = mapped_column(String(100), default="", server_default="")


class PublicationAudit(Base):
    """One change of the live policy: who, when, from which version to which, why, the diff."""

    __tablename__ = "publication_audit"
    __table_args__ = (
        CheckConstraint("action IN ('publish', 'rollback')", name="action"),
        Index("ix_publication_audit_version", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer)
    from_version: Mapped[int | None] = mapped_column(Integer)
    who: Mapped[str] = mapped_column(String(100), default="", server_default="")
    performed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utc_now)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    diff: Mapped[str] = mapped_column(Text, default="", server_default="")


class StoreMarker(Base):
    """A one-off fact about the database (e.g. ``initial_data``: what was loaded on first start)."""

    __tablename__ = "store_markers"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utc_now)
