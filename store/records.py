"""The workbench's own records: scenarios, simulation runs and publications.

* A **scenario** is a named what-if policy kept as YAML text (what a person reads and
  diffs), with its content id and the behavior assumptions it is to be simulated with.
* A **simulation run** records what was simulated (policy content id, scenario name,
  inputs), with which seed and code version, and the headline results, so any stored
  figure can be reproduced.
* A **publication** is one version of the policy sent to the live system. Versions are
  1, 2, 3, ... and never rewritten; a rollback is a new version restoring older content.
  Recording one checks the version against the latest (compare-and-set): a publication
  based on a stale version fails instead of overwriting. Each one writes an audit entry
  (who, when, from which version, why, the diff) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import subprocess
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from policies.io import content_id, dump_policy, parse_policy, policy_from_dict, policy_to_dict
from policies.model import Policy
from store.db import session_scope
from store.models import PublicationAudit, PublishedPolicyRecord, Scenario, SimulationRun

__all__ = [
    "SCENARIO_NAME_MAX",
    "ScenarioExistsError",
    "ScenarioNotFoundError",
    "ScenarioRecord",
    "StalePublicationError",
    "StoreError",
    "code_version",
    "delete_scenario",
    "get_simulation_run",
    "list_publications",
    "list_scenarios",
    "list_simulation_runs",
    "load_publication",
    "load_scenario",
    "publication_audit",
    "record_publication",
    "record_simulation_run",
    "save_scenario",
    "scenario_record",
    "validate_scenario_name",
]

SCENARIO_NAME_MAX = 100


class StoreError(Exception):
    """A request the database cannot satisfy; the message says what to do."""


class ScenarioNotFoundError(StoreError, KeyError):
    """No scenario has the given name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ScenarioExistsError(StoreError):
    """A scenario with that name exists and overwriting was not asked for."""


class StalePublicationError(StoreError):
    """The publication is not based on the latest recorded version."""


@dataclass(frozen=True)
class ScenarioRecord:
    """A saved scenario: the policy, its assumptions and bookkeeping."""

    name: str
    policy: Policy
    policy_id: str
    note: str
    assumptions: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes: they were stored in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _json_ready(value: Any, where: str) -> Any:
    """Check that ``value`` is plain JSON data (no NaN) and return a normalised copy."""
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=_json_default))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} must be plain JSON data (no NaN/inf): {exc}") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_scenario_name(name: str) -> str:
    """The cleaned scenario name (surrounding spaces removed), or a ValueError saying why not.

    A name has 1 to `SCENARIO_NAME_MAX` characters, not only spaces, and no line breaks,
    tabs or other control characters. Any language is fine (e.g. ``Gold at ¥8,000`` or
    ``金卡门槛 8000``).
    """
    if not isinstance(name, str):
        raise ValueError(f"scenario name(={name!r}) must be text")
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise ValueError("scenario name is empty: type a name such as 'Gold at 8000'")
    if len(cleaned) > SCENARIO_NAME_MAX:
        raise ValueError(
            f"scenario name(={cleaned[:20]!r}...) has {len(cleaned)} characters; the limit is"
            f" {SCENARIO_NAME_MAX}"
        )
    if _CONTROL.search(cleaned):
        raise ValueError(
            f"scenario name(={cleaned!r}) contains a line break, tab or control character;"
            " use letters, digits, spaces and punctuation"
        )
    return cleaned


# -- Scenarios -----------------------------------------------------------------------------


def save_scenario(
    name: str,
    policy: Policy,
    note: str = "",
    assumptions: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = True,
    url: str | None = None,
) -> ScenarioRecord:
    """Save ``policy`` under ``name`` (replacing a scenario of that name unless told not to).

    Args:
        name: the scenario's name (see `validate_scenario_name`).
        policy: the policy to keep.
        note: free text (why this scenario exists).
        assumptions: behavior assumptions to simulate it with (plain JSON data).
        overwrite: replace an existing scenario of that name (keeps its creation time).
        url: database URL (default: the configured one).

    Raises:
        ValueError: bad name or assumptions that are not plain JSON data.
        ScenarioExistsError: the name is taken and ``overwrite`` is False.
    """
    cleaned = validate_scenario_name(name)
    if not isinstance(policy, Policy):
        raise ValueError(f"policy must be a Policy, got {type(policy).__name__}")
    data = _json_ready(dict(assumptions or {}), "assumptions")
    now = _now()
    try:
        with session_scope(url, write=True) as session:
            row = session.scalars(select(Scenario).where(Scenario.name == cleaned)).first()
            if row is not None and not overwrite:
                raise ScenarioExistsError(
                    f"a scenario named {cleaned!r} exists; pick another name or allow overwrite"
                )
            if row is None:
                row = Scenario(name=cleaned, created_at=now)
                session.add(row)
            row.policy_yaml = dump_policy(policy, "yaml")
            row.policy_id = content_id(policy)
            row.note = note or ""
            row.assumptions = data
            row.updated_at = now
            session.flush()
            created = row.created_at
    except IntegrityError:
        # Another writer created the same name between our read and our insert.
        raise ScenarioExistsError(
            f"a scenario named {cleaned!r} was just saved by someone else; reload and retry"
        ) from None
    return ScenarioRecord(
        cleaned, policy, content_id(policy), note or "", data, _utc(created), _utc(now)
    )


def list_scenarios(url: str | None = None) -> pd.DataFrame:
    """Saved scenarios, newest change first: name, program, policy_id, note, dates."""
    with session_scope(url) as session:
        rows = session.execute(
            select(
                Scenario.name,
                Scenario.policy_id,
                Scenario.note,
                Scenario.created_at,
                Scenario.updated_at,
            ).order_by(Scenario.updated_at.desc(), Scenario.name)
        ).all()
    frame = pd.DataFrame(
        rows, columns=["name", "policy_id", "note", "created_at", "updated_at"]
    ).astype({"name": object, "policy_id": object, "note": object})
    for column in ("created_at", "updated_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def scenario_record(name: str, url: str | None = None) -> ScenarioRecord:
    """The saved scenario ``name`` with its policy and assumptions.

    Raises:
        ScenarioNotFoundError: no scenario has that name.
    """
    cleaned = validate_scenario_name(name)
    with session_scope(url) as session:
        row = session.scalars(select(Scenario).where(Scenario.name == cleaned)).first()
        if row is None:
            known = session.scalars(select(Scenario.name).order_by(Scenario.name)).all()
            listing = ", ".join(repr(n) for n in known[:10]) or "none saved yet"
            raise ScenarioNotFoundError(f"no scenario named {cleaned!r} (saved: {listing})")
        policy = parse_policy(row.policy_yaml, source=f"scenario {cleaned!r}")
        return ScenarioRecord(
            row.name,
            policy,
            row.policy_id,
            row.note,
            dict(row.assumptions or {}),
            _utc(row.created_at),
            _utc(row.updated_at),
        )


def load_scenario(name: str, url: str | None = None) -> Policy:
    """The policy saved as scenario ``name`` (see `scenario_record` for the rest)."""
    return scenario_record(name, url).policy


def delete_scenario(name: str, url: str | None = None) -> bool:
    """Delete scenario ``name``; True if it existed."""
    cleaned = validate_scenario_name(name)
    with session_scope(url, write=True) as session:
        result = session.execute(delete(Scenario).where(Scenario.name == cleaned))
        return result.rowcount > 0


# -- Simulation runs -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def code_version() -> str:
    """The code version runs are recorded with: ``MEMBERLAB_CODE_VERSION`` or the git commit."""
    configured = os.environ.get("MEMBERLAB_CODE_VERSION")
    if configured:
        return configured[:64]
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()[:64] or "unknown"


def record_simulation_run(
    policy_id: str,
    inputs: Mapping[str, Any],
    seed: int | str,
    results: Mapping[str, Any],
    scenario_name: str | None = None,
    code: str | None = None,
    url: str | None = None,
) -> int:
    """Store one simulation run; returns its id.

    Args:
        policy_id: content id of the simulated policy.
        inputs: everything needed to re-run it (plain JSON data).
        seed: the run's seed (or SeedSequence entropy).
        results: headline results, e.g. ``SimulationResult.kpis`` (plain JSON data).
        scenario_name: the scenario simulated, if any.
        code: code version (default: `code_version`).
        url: database URL (default: the configured one).

    Raises:
        ValueError: inputs or results are not plain JSON data, or the policy id is not a
            sha256 hex digest.
    """
    if not re.fullmatch(r"[0-9a-f]{64}", str(policy_id)):
        raise ValueError(f"policy_id(={policy_id!r}) must be a policy content id (64 hex digits)")
    if isinstance(seed, float) and not math.isfinite(seed):
        raise ValueError(f"seed(={seed!r}) must be an integer")
    row = SimulationRun(
        scenario_name=scenario_name,
        policy_id=str(policy_id),
        inputs=_json_ready(dict(inputs), "inputs"),
        seed=str(seed),
        code_version=(code or code_version())[:64],
        results=_json_ready(dict(results), "results"),
        created_at=_now(),
    )
    with session_scope(url, write=True) as session:
        session.add(row)
        session.flush()
        return int(row.id)


def _seed_value(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def list_simulation_runs(
    url: str | None = None,
    policy_id: str | None = None,
    limit: int = 200,
    scenario_name: str | None = None,
) -> pd.DataFrame:
    """Stored runs, newest first (only those of ``policy_id`` / ``scenario_name`` if given).

    Columns: id, created_at, scenario_name, policy_id, seed, code_version, inputs and
    results (dicts).
    """
    statement = select(SimulationRun).order_by(SimulationRun.id.desc()).limit(limit)
    if policy_id is not None:
        statement = statement.where(SimulationRun.policy_id == policy_id)
    if scenario_name is not None:
        statement = statement.where(SimulationRun.scenario_name == scenario_name)
    with session_scope(url) as session:
        rows = session.scalars(statement).all()
        records = [_run_record(r) for r in rows]
    frame = pd.DataFrame(records, columns=list(_RUN_COLUMNS))
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def get_simulation_run(run_id: int, url: str | None = None) -> dict[str, Any]:
    """One stored run as a dict (same keys as `list_simulation_runs`).

    Raises:
        KeyError: no run has that id.
    """
    with session_scope(url) as session:
        r = session.get(SimulationRun, int(run_id))
        if r is None:
            raise KeyError(f"no simulation run with id {run_id}")
        return _run_record(r)


_RUN_COLUMNS = (
    "id",
    "created_at",
    "scenario_name",
    "policy_id",
    "seed",
    "code_version",
    "inputs",
    "results",
)


def _run_record(run: SimulationRun) -> dict[str, Any]:
    """A stored run as plain data (timestamps in UTC, the seed as recorded)."""
    record = {name: getattr(run, name) for name in _RUN_COLUMNS}
    record["created_at"] = _utc(run.created_at)
    record["seed"] = _seed_value(run.seed)
    return record


# -- Publications --------------------------------------------------------------------------


def record_publication(
    version: int,
    policy: Policy | Mapping[str, Any],
    *,
    published_by: str = "",
    note: str = "",
    action: str = "publish",
    restored_from: int | None = None,
    diff: str | Iterable[str] = "",
    published_at: dt.datetime | None = None,
    checksum: str | None = None,
    url: str | None = None,
) -> int:
    """Record a published version and its audit entry in one transaction.

    Compare-and-set: ``version`` must be exactly one more than the latest recorded version
    (1 for the first), so two publishers working from the same version cannot both win.

    Args:
        version: the new version number.
        policy: the policy published (a `Policy` or its plain data).
        published_by: who published it.
        note: why.
        action: ``publish`` or ``rollback``.
        restored_from: for a rollback, the version whose content was restored.
        diff: plain-language changes from the previous version (text or lines).
        published_at: when (default: now, UTC).
        checksum: content sha256 (default: computed from the policy; checked if given).
        url: database URL (default: the configured one).

    Returns:
        The version recorded.

    Raises:
        ValueError: bad action, version, restored version or checksum.
        StalePublicationError: ``version`` is not the latest recorded version + 1.
    """
    if action not in ("publish", "rollback"):
        raise ValueError(f"action(={action!r}) must be 'publish' or 'rollback'")
    if action == "rollback" and restored_from is None:
        raise ValueError("a rollback must say which version it restores (restored_from)")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"version(={version!r}) must be an integer >= 1")
    model = policy if isinstance(policy, Policy) else policy_from_dict(dict(policy), "policy")
    computed = content_id(model)
    if checksum is not None and checksum != computed:
        raise ValueError(
            f"checksum(={checksum[:12]}...) does not match the policy's content"
            f" ({computed[:12]}...)"
        )
    diff_text = diff if isinstance(diff, str) else "\n".join(diff)
    when = published_at or _now()
    stale = StalePublicationError(
        f"version {version} cannot be recorded: it is not the next version after the latest"
        " recorded one; reload the history and publish again"
    )
    try:
        with session_scope(url, write=True) as session:
            latest = session.scalar(select(func.max(PublishedPolicyRecord.version))) or 0
            if version != latest + 1:
                raise StalePublicationError(
                    f"version {version} cannot be recorded: the latest recorded version is"
                    f" {latest}, so the next one is {latest + 1}; reload and publish again"
                )
            if restored_from is not None and not 1 <= restored_from <= latest:
                raise ValueError(
                    f"restored_from(={restored_from}) must be an earlier version (1..{latest})"
                )
            session.add(
                PublishedPolicyRecord(
                    version=version,
                    checksum=computed,
                    policy=policy_to_dict(model),
                    note=note or "",
                    action=action,
                    restored_from=restored_from,
                    published_at=when,
                    published_by=published_by or "",
                )
            )
            session.add(
                PublicationAudit(
                    action=action,
                    version=version,
                    from_version=latest or None,
                    who=published_by or "",
                    performed_at=when,
                    note=note or "",
                    diff=diff_text,
                )
            )
    except IntegrityError:
        # A concurrent publisher inserted the same version first (PostgreSQL: unique key).
        raise stale from None
    return version


def list_publications(url: str | None = None) -> pd.DataFrame:
    """Every recorded version, oldest first (without the policy content)."""
    columns = [
        "version",
        "checksum",
        "action",
        "restored_from",
        "note",
        "published_at",
        "published_by",
    ]
    t = PublishedPolicyRecord
    with session_scope(url) as session:
        rows = session.execute(
            select(
                t.version,
                t.checksum,
                t.action,
                t.restored_from,
                t.note,
                t.published_at,
                t.published_by,
            ).order_by(t.version)
        ).all()
    frame = pd.DataFrame(rows, columns=columns)
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    frame["restored_from"] = frame["restored_from"].astype("Int64")
    return frame


def load_publication(version: int, url: str | None = None) -> Policy:
    """The policy recorded as ``version``.

    Raises:
        KeyError: no such version.
    """
    with session_scope(url) as session:
        row = session.scalars(
            select(PublishedPolicyRecord).where(PublishedPolicyRecord.version == version)
        ).first()
        if row is None:
            raise KeyError(f"no published version {version}")
        return policy_from_dict(row.policy, f"published version {version}")


def publication_audit(url: str | None = None) -> pd.DataFrame:
    """The audit trail, oldest first: action, version, from_version, who, when, note, diff."""
    t = PublicationAudit
    with session_scope(url) as session:
        rows = session.execute(
            select(
                t.action, t.version, t.from_version, t.who, t.performed_at, t.note, t.diff
            ).order_by(t.id)
        ).all()
    frame = pd.DataFrame(
        rows, columns=["action", "version", "from_version", "who", "when", "note", "diff"]
    )
    frame["when"] = pd.to_datetime(frame["when"], utc=True)
    frame["from_version"] = frame["from_version"].astype("Int64")
    return frame
