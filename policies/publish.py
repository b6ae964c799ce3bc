"""Publishing a policy to the live loyalty system, with history, audit and rollback.

What lives on disk, for a live target ``policy.json``:

* ``policy.json``: the live config, a JSON *envelope* (`PublishedPolicy`): the policy schema
  version, a monotonic policy ``version`` (1, 2, 3, ...), the ``checksum`` (sha256 of the
  policy's canonical form, see `policies.io.canonical_json`), ``published_at`` (UTC), the
  ``note``, ``published_by``, the ``action`` that produced it and the ``policy`` itself.
* ``policy.json.history/v000001.json``, ``v000002.json``, ...: every version ever
  published, byte for byte the envelope that went live. History is never rewritten: a
  rollback republishes old content as a new version (restoring v3 while on v5 creates v6).
* ``policy.json.history/audit.jsonl``: the append-only audit log, one JSON object a line
  (`AuditEntry`: action, version, from_version, who, when, note, checksum, diff lines).
* ``policy.json.lock``: the lock file publishers hold (``fcntl.flock``) while they read the
  current version and write the next one, so two publishes never interleave.

A publish is three steps, so that history and audit say exactly what went live even when
the publisher is killed half-way (power cut, ``kill -9``):

1. *prepare*: the new envelope is written to ``history/v000007.pending``;
2. *switch*: the live file is replaced by it;
3. *commit*: the audit line is appended and the pending file renamed to ``v000007.json``.

Recovery runs under the lock before every publish and rollback (and from `recover`): a
pending version the live file already shows is committed (audit line added if missing),
one it does not show never went live and is deleted; temporary files of killed writers and
a torn last audit line are removed. Every file is replaced by `policies.io.write_atomic`
(temp file in the same folder, fsync, rename, fsync of the folder), so the live system
reads the old config or the new one, never a mix. Consumers that watch the file see it
*replaced by a move*, which is the only change they can rely on.

The envelope carries two checksums: ``checksum`` (the policy's content id, the same for the
same program whatever its version) and ``envelope_checksum`` (sha256 of every other field of
the envelope), so an edited version number, date or note is detected too.

A symlinked target is followed: the real file is replaced and its history, audit and lock
live beside it, whichever path names it. Readers of the history skip a damaged file or audit
line, keep the rest and report the damage (`damage`).

Concurrent publishers are serialized by the lock; a publisher that wants to be sure nothing
landed since it reviewed the live version passes ``expect_version`` (compare-and-set): if the
live version moved on, `StalePublishError` is raised and nothing is written.

The live system calls `load_published`, which checks the envelope, the schema version and
the checksum against the canonical form of the policy it contains, and raises
`PublishedPolicyError` on any corruption, truncation or tampering.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import getpass
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policies.diff import describe_changes
from policies.errors import (
    PolicyValidationError,
    PublishedPolicyError,
    PublishError,
    StalePublishError,
    show_value,
)
from policies.io import content_id, policy_from_dict, policy_to_dict, write_atomic
from policies.model import SCHEMA_VERSION, Policy

__all__ = [
    "FORMAT",
    "AuditEntry",
    "PublishOutcome",
    "PublishedPolicy",
    "audit_log",
    "audit_path",
    "damage",
    "current_version",
    "default_target",
    "history",
    "history_dir",
    "load_published",
    "load_version",
    "lock_path",
    "parse_published",
    "publish",
    "publish_policy",
    "recover",
    "resolve_target",
    "rollback",
    "rollback_policy",
]

log = logging.getLogger(__name__)

FORMAT = "memberlab.published-policy"
"""Marker of a published envelope, so a policy file is never mistaken for one."""

LOCK_TIMEOUT_SECONDS = 30.0
_READABLE_MODE = 0o644
_VERSION_FILE = re.compile(r"^v(\d{6,})\.json$")
_PENDING_FILE = re.compile(r"^v(\d{6,})\.pending$")
MAX_NOTE_CHARS = 2000
MAX_BY_CHARS = 120


class PublishedPolicy(BaseModel):
    """One published version of a policy: the envelope the live system reads.

    Attributes:
        format: always `FORMAT`.
        schema_version: the policy schema version the content was validated against.
        version: the policy version, 1 for the first publish, one more for each publish.
        checksum: sha256 (hex) of the policy's canonical JSON (`policies.io.content_id`).
        envelope_checksum: sha256 (hex) of the canonical JSON of every other field.
        published_at: when it was published (UTC).
        published_by: who published it.
        note: why it was published.
        action: ``publish`` or ``rollback``.
        restored_from: for a rollback, the version whose content was restored.
        policy: the policy itself.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["memberlab.published-policy"] = FORMAT
    schema_version: Literal[1] = SCHEMA_VERSION
    version: int = Field(ge=1)
    checksum: str = Field(pattern=r"^[0-9a-f]{64}$")
    envelope_checksum: str = Field(pattern=r"^[0-9a-f]{64}$")
    published_at: dt.datetime
    published_by: str = ""
    note: str = ""
    action: Literal["publish", "rollback"] = "publish"
    restored_from: int | None = Field(None, ge=1)
    policy: Policy

    def to_json(self) -> str:
        """The envelope as the JSON text written to the live file (strict JSON)."""
        data = self.model_dump(mode="json")
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    def computed_envelope_checksum(self) -> str:
        """sha256 of the canonical JSON of every field but ``envelope_checksum``."""
        data = self.model_dump(mode="json", exclude={"envelope_checksum"})
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def sealed(self) -> PublishedPolicy:
        """A copy whose ``envelope_checksum`` matches its fields."""
        return self.model_copy(update={"envelope_checksum": self.computed_envelope_checksum()})


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log: who changed the live policy, when, why and how."""

    action: str
    version: int
    from_version: int | None
    who: str
    when: str
    note: str
    checksum: str
    diff: tuple[str, ...]
    restored_from: int | None = None

    def to_json(self) -> str:
        """The entry as one line of JSON (no trailing newline)."""
        data = {
            "action": self.action,
            "version": self.version,
            "from_version": self.from_version,
            "restored_from": self.restored_from,
            "who": self.who,
            "when": self.when,
            "note": self.note,
            "checksum": self.checksum,
            "diff": list(self.diff),
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class PublishOutcome:
    """What a publish or rollback did.

    Attributes:
        published: the live version after the call.
        changed: False when the content was already live (nothing was written).
        previous: the live version before the call, if any.
        diff: plain-language changes from the previous version (`policies.diff`).
    """

    published: PublishedPolicy
    changed: bool
    previous: PublishedPolicy | None
    diff: tuple[str, ...]


def default_target() -> Path:
    """The live config file from the settings (``MEMBERLAB_PUBLISH_TARGET``)."""
    from policies.settings import get_settings

    return get_settings().resolved_publish_target


def history_dir(target: str | Path) -> Path:
    """The folder holding every published version of ``target``."""
    target = Path(target)
    return target.with_name(target.name + ".history")


def audit_path(target: str | Path) -> Path:
    """The append-only audit log of ``target``."""
    return history_dir(target) / "audit.jsonl"


def lock_path(target: str | Path) -> Path:
    """The lock file publishers of ``target`` hold."""
    target = Path(target)
    return target.with_name(target.name + ".lock")


def _version_path(target: Path, version: int) -> Path:
    return history_dir(target) / f"v{version:06d}.json"


# --------------------------------------------------------------------------------------
# Reading


def parse_published(text: str, source: str = "published policy") -> PublishedPolicy:
    """Parse and verify an envelope's JSON text (see `load_published`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = "" if text.rstrip().endswith("}") else " (the file looks truncated)"
        raise PublishedPolicyError(
            f"{source} is not valid JSON{hint}: {exc.msg} (line {exc.lineno}, column"
            f" {exc.colno}); republish or roll back to restore it"
        ) from None
    if not isinstance(data, dict):
        raise PublishedPolicyError(
            f"{source} is not a published policy: expected a JSON object, got {type(data).__name__}"
        )
    if data.get("format") != FORMAT:
        raise PublishedPolicyError(
            f"{source} is not a published policy: format(={data.get('format')!r}) must be"
            f" {FORMAT!r} (publish a policy file with `python -m policies publish`)"
        )
    schema = data.get("schema_version")
    if schema != SCHEMA_VERSION:
        raise PublishedPolicyError(
            f"{source} has schema_version(={schema!r}) but this system reads schema version"
            f" {SCHEMA_VERSION}: upgrade the reader or republish with a matching version"
        )
    raw_policy = data.get("policy")
    try:
        policy = policy_from_dict(raw_policy, f"{source}: policy")
    except PolicyValidationError as exc:
        raise PublishedPolicyError(f"{source} contains an invalid policy:\n{exc}") from None
    try:
        envelope = PublishedPolicy.model_validate({**data, "policy": policy})
    except ValidationError as exc:
        problems = PolicyValidationError.from_pydantic(exc, source).problems
        details = "; ".join(f"{path}: {message}" for path, message in problems)
        raise PublishedPolicyError(f"{source} has a malformed envelope: {details}") from None
    actual = content_id(policy)
    if actual != envelope.checksum:
        raise PublishedPolicyError(
            f"{source} failed its checksum: the file says {envelope.checksum[:12]}... but the"
            f" policy it contains hashes to {actual[:12]}...; it was edited or corrupted"
            " after publishing: republish or roll back instead of editing the live file"
        )
    sealed = envelope.computed_envelope_checksum()
    if sealed != envelope.envelope_checksum:
        raise PublishedPolicyError(
            f"{source} failed its envelope checksum: its version, date, author, note or"
            " action were edited after publishing; republish or roll back instead of editing"
            " the live file"
        )
    return envelope


def load_published(path: str | Path) -> PublishedPolicy:
    """Load and verify a published (live) config.

    Checks that the file is a complete JSON envelope of the known format and schema
    version, that the policy inside is valid, and that its canonical form hashes to the
    recorded checksum.

    Args:
        path: the live file (or one of its history files).

    Returns:
        The verified `PublishedPolicy`.

    Raises:
        PublishedPolicyError: the file is missing, unreadable, truncated, corrupt, tampered
            with or of another schema version.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PublishedPolicyError(
            f"{path}: no policy has been published here yet (file not found)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PublishedPolicyError(f"{path}: cannot read the published policy: {exc}") from None
    return parse_published(text, str(path))


def _history_versions(target: Path) -> list[int]:
    folder = history_dir(target)
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise PublishError(f"{folder} should be the history folder but is a file") from None
    versions = []
    for name in names:
        match = _VERSION_FILE.match(name)
        if match:
            versions.append(int(match.group(1)))
    return sorted(versions)


def _live_or_none(target: Path) -> PublishedPolicy | None:
    """The live envelope, or None when nothing is published or the live file is damaged."""
    try:
        return load_published(target)
    except PublishedPolicyError as exc:
        if target.exists():
            log.warning("ignoring the damaged live file while publishing: %s", exc)
        return None


def resolve_target(target: str | Path | None) -> Path:
    """The real live file ``target`` names (settings' target for None), checked.

    A symlink is followed, so the real file is replaced and its history stays in one place.

    Raises:
        PublishError: the target is empty or names a folder.
    """
    if target is None:
        target = default_target()
    if str(target).strip() == "":
        raise PublishError(
            "the target is empty: name the live config file, e.g. var/live/policy.json"
            " (or leave --target out to use MEMBERLAB_PUBLISH_TARGET)"
        )
    path = Path(target)
    if path.name in ("", ".", "..") or path.is_dir():
        raise PublishError(
            f"the target {str(target)!r} is a folder: name the live config file inside it,"
            f" e.g. {path / 'policy.json'}"
        )
    if path.is_symlink():
        path = Path(os.path.realpath(path))
        if path.is_dir():
            raise PublishError(f"the target {target} links to the folder {path}: name a file")
    return path


def current_version(target: str | Path | None = None) -> int:
    """The latest version published to ``target`` (0 if none): history and live file."""
    target = resolve_target(target)
    versions = _history_versions(target)
    latest = versions[-1] if versions else 0
    live = _live_or_none(target)
    return max(latest, live.version if live else 0)


def load_version(target: str | Path, version: int) -> PublishedPolicy:
    """A verified earlier version of ``target`` from its history folder.

    Raises:
        PublishedPolicyError: that version was never published or its file is damaged.
    """
    target = resolve_target(target)
    path = _version_path(target, version)
    if not path.exists():
        known = _history_versions(target)
        shown = ", ".join(str(v) for v in known) if known else "none"
        raise PublishedPolicyError(
            f"version {version} was never published to {target}; published versions: {shown}"
        )
    envelope = load_published(path)
    if envelope.version != version:
        raise PublishedPolicyError(
            f"{path} says it is version {envelope.version}, not {version}: the history folder"
            " was edited by hand"
        )
    return envelope


def _read_history(target: Path) -> tuple[list[PublishedPolicy], list[str]]:
    versions, problems = [], []
    for version in _history_versions(target):
        try:
            versions.append(load_version(target, version))
        except PublishedPolicyError as exc:
            problems.append(str(exc))
    return versions, problems


def _read_audit(target: Path) -> tuple[list[AuditEntry], list[str]]:
    path = audit_path(target)
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        return [], [f"{path}: cannot read the audit log: {exc.strerror or exc}"]
    entries, problems = [], []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw.decode("utf-8"))
            entries.append(
                AuditEntry(
                    action=str(data["action"]),
                    version=int(data["version"]),
                    from_version=data.get("from_version"),
                    who=str(data.get("who", "")),
                    when=str(data["when"]),
                    note=str(data.get("note", "")),
                    checksum=str(data["checksum"]),
                    diff=tuple(str(item) for item in data.get("diff", ())),
                    restored_from=data.get("restored_from"),
                )
            )
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            reason = show_value(str(exc), 80)[1:-1]
            problems.append(f"{path} line {number} is not a valid audit entry ({reason})")
    return entries, problems


def history(target: str | Path | None = None) -> list[PublishedPolicy]:
    """Every readable published version of ``target``, oldest first (each one verified).

    A damaged history file is skipped (and logged); `damage` says which.
    """
    versions, problems = _read_history(resolve_target(target))
    for problem in problems:
        log.warning("skipping a damaged history file: %s", problem)
    return versions


def audit_log(target: str | Path | None = None) -> list[AuditEntry]:
    """The readable audit entries of ``target``, oldest first.

    A damaged line (e.g. torn by a crash) is skipped (and logged); `damage` says which.
    """
    entries, problems = _read_audit(resolve_target(target))
    for problem in problems:
        log.warning("skipping a damaged audit line: %s", problem)
    return entries


def damage(target: str | Path | None = None) -> list[str]:
    """What in the history folder of ``target`` cannot be read: one message per problem."""
    target = resolve_target(target)
    return _read_history(target)[1] + _read_audit(target)[1]


# --------------------------------------------------------------------------------------
# Writing


@contextlib.contextmanager
def _exclusive_lock(target: Path, timeout: float) -> Iterator[None]:
    """Hold ``<target>.lock`` exclusively (``fcntl.flock``) for the block."""
    path = lock_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise PublishError(_cannot_write(target, exc)) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise PublishError(_cannot_write(target, exc)) from None
                if time.monotonic() >= deadline:
                    raise PublishError(
                        f"another publish to {target} has held {path.name} for over"
                        f" {timeout:g} s; try again when it finishes"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _cannot_write(target: Path, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    for folder in target.absolute().parents:
        if folder.exists():
            if not folder.is_dir():
                reason, where = f"{folder} is a file, not a folder", ""
            break
    return (
        f"cannot publish to {target}: {reason}{where}. Choose a target in a folder you can"
        " write to (--target or MEMBERLAB_PUBLISH_TARGET); the live policy is unchanged"
    )


def _write_readable(path: Path, text: str) -> None:
    """`policies.io.write_atomic` with a mode the live system's user can read."""
    write_atomic(path, text, mode=_READABLE_MODE)


def _now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _default_by() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _append_line(path: Path, line: str) -> None:
    """Append one line durably; a torn last line from a crash is closed off first."""
    with open(path, "ab+") as handle:
        handle.seek(0, os.SEEK_END)
        prefix = b""
        if handle.tell():
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                prefix = b"\n"
        handle.write(prefix + line.encode("utf-8") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def _pending_path(target: Path, version: int) -> Path:
    return history_dir(target) / f"v{version:06d}.pending"


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _audit_entry(envelope: PublishedPolicy, diff: tuple[str, ...]) -> AuditEntry:
    return AuditEntry(
        action=envelope.action,
        version=envelope.version,
        from_version=envelope.version - 1 or None,
        who=envelope.published_by,
        when=envelope.published_at.isoformat().replace("+00:00", "Z"),
        note=envelope.note,
        checksum=envelope.checksum,
        diff=diff,
        restored_from=envelope.restored_from,
    )


def _finish(target: Path, envelope: PublishedPolicy, diff: tuple[str, ...]) -> None:
    """Commit step: the audit line (once), then the pending file becomes the history file."""
    path = audit_path(target)
    entries, _ = _read_audit(target)
    if not any(e.version == envelope.version for e in entries):
        _append_line(path, _audit_entry(envelope, diff).to_json())
    os.replace(_pending_path(target, envelope.version), _version_path(target, envelope.version))
    _fsync_folder(history_dir(target))


def _recover(target: Path) -> list[str]:
    """Bring history and audit in line with the live file after a crash (lock held)."""
    done: list[str] = []
    folder = history_dir(target)
    leftovers = []
    with contextlib.suppress(OSError):
        prefix = f".{target.name}."
        leftovers += [
            target.parent / name
            for name in os.listdir(target.parent)
            if name.startswith(prefix) and name.endswith(".tmp")
        ]
    with contextlib.suppress(OSError):
        leftovers += [folder / name for name in os.listdir(folder) if name.endswith(".tmp")]
    for path in leftovers:
        path.unlink(missing_ok=True)
        done.append(f"removed the temporary file {path.name} of an interrupted publish")
    audit = audit_path(target)
    with contextlib.suppress(FileNotFoundError), open(audit, "rb+") as handle:
        content = handle.read()
        if content and not content.endswith(b"\n"):
            handle.truncate(content.rfind(b"\n") + 1)
            handle.flush()
            os.fsync(handle.fileno())
            done.append("removed a torn last audit line of an interrupted publish")
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return done
    live = _live_or_none(target)
    for name in names:
        match = _PENDING_FILE.match(name)
        if not match:
            continue
        pending = folder / name
        try:
            envelope = load_published(pending)
        except PublishedPolicyError:
            envelope = None
        went_live = (
            envelope is not None
            and live is not None
            and envelope.version == int(match.group(1))
            and live.envelope_checksum == envelope.envelope_checksum
        )
        if went_live:
            previous = None
            with contextlib.suppress(PublishedPolicyError):
                previous = load_version(target, envelope.version - 1)
            diff = tuple(describe_changes(previous.policy, envelope.policy)) if previous else ()
            _finish(target, envelope, diff)
            done.append(f"version {envelope.version} was live: its history and audit completed")
        else:
            pending.unlink(missing_ok=True)
            done.append(f"{name} never went live: removed")
    return done


def recover(
    target: str | Path | None = None, *, lock_timeout: float = LOCK_TIMEOUT_SECONDS
) -> list[str]:
    """Finish or undo a publish that was interrupted, and remove its leftovers.

    Publishing and rolling back do this first by themselves; call it when starting a
    reader that wants history and audit complete. Returns what was done (often nothing).

    Raises:
        PublishError: the target cannot be written or the lock is busy.
    """
    target = resolve_target(target)
    if not target.parent.exists():
        return []
    with _exclusive_lock(target, lock_timeout):
        try:
            return _recover(target)
        except OSError as exc:
            raise PublishError(_cannot_write(target, exc)) from None


def _check_words(note: str, by: str) -> None:
    if len(note) > MAX_NOTE_CHARS:
        raise PublishError(f"the note is {len(note)} characters; keep it under {MAX_NOTE_CHARS}")
    if len(by) > MAX_BY_CHARS or any(not c.isprintable() for c in by):
        raise PublishError(
            f"who publishes ({show_value(by, 40)}) must be a name of printable characters,"
            f" at most {MAX_BY_CHARS}"
        )


def _commit(
    policy: Policy,
    target: Path,
    *,
    note: str,
    by: str | None,
    expect_version: int | None,
    action: Literal["publish", "rollback"],
    restored_from: int | None,
    lock_timeout: float,
) -> PublishOutcome:
    by = by if by is not None else _default_by()
    _check_words(note, by)
    with _exclusive_lock(target, lock_timeout):
        try:
            _recover(target)
        except OSError as exc:
            raise PublishError(_cannot_write(target, exc)) from None
        versions = _history_versions(target)
        live = _live_or_none(target)
        latest = max(versions[-1] if versions else 0, live.version if live else 0)
        if expect_version is not None and expect_version != latest:
            raise StalePublishError(
                f"the live policy at {target} is version {latest}, but this {action} was"
                f" based on version {expect_version}: someone published in between. Review"
                f" what changed (`python -m policies history`) and retry with"
                f" --expect-version {latest}"
            )
        checksum = content_id(policy)
        if live is not None and live.version == latest and live.checksum == checksum:
            log.info("%s: this content is already live as version %d", target, live.version)
            return PublishOutcome(published=live, changed=False, previous=live, diff=())

        previous = live
        if previous is None and latest:
            with contextlib.suppress(PublishedPolicyError):
                previous = load_version(target, latest)
        diff = tuple(describe_changes(previous.policy, policy)) if previous else ()
        envelope = PublishedPolicy(
            version=latest + 1,
            checksum=checksum,
            envelope_checksum="0" * 64,
            published_at=_now_utc(),
            published_by=by,
            note=note,
            action=action,
            restored_from=restored_from,
            policy=policy,
        ).sealed()
        text = envelope.to_json()
        try:  # the JSON written must reproduce the checksums when read back (floats, dates)
            parse_published(text, "the config about to be published")
        except PublishedPolicyError as exc:
            raise PublishError(f"nothing was published: {exc}") from None

        version_file = _version_path(target, envelope.version)
        pending = _pending_path(target, envelope.version)
        try:  # 1. prepare
            history_dir(target).mkdir(exist_ok=True)
            if version_file.exists():
                raise PublishError(
                    f"{version_file} already exists although the latest version is {latest}:"
                    " the history folder was edited by hand; nothing was published"
                )
            _write_readable(pending, text)
        except OSError as exc:
            raise PublishError(_cannot_write(target, exc)) from None
        try:  # 2. switch
            _write_readable(target, text)
        except OSError as exc:
            pending.unlink(missing_ok=True)
            raise PublishError(_cannot_write(target, exc)) from None
        try:  # 3. commit
            _finish(target, envelope, diff)
        except OSError as exc:
            raise PublishError(
                f"version {envelope.version} is live at {target}, but its history or audit"
                f" line could not be written ({exc.strerror or exc}); the next publish or"
                " `python -m policies status` completes them"
            ) from None
        return PublishOutcome(published=envelope, changed=True, previous=previous, diff=diff)


def publish_policy(
    policy: Policy,
    target: str | Path | None = None,
    note: str = "",
    by: str | None = None,
    expect_version: int | None = None,
    *,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
) -> PublishOutcome:
    """Publish ``policy`` as the next version and say what happened (see `publish`)."""
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a Policy, got {type(policy).__name__}")
    # Re-validate: a model built with model_construct() or edited by hand skips validation.
    policy = policy_from_dict(policy_to_dict(policy), "the policy to publish")
    target = resolve_target(target)
    return _commit(
        policy,
        target,
        note=note,
        by=by,
        expect_version=expect_version,
        action="publish",
        restored_from=None,
        lock_timeout=lock_timeout,
    )


def publish(
    policy: Policy,
    target: str | Path | None = None,
    note: str = "",
    by: str | None = None,
    expect_version: int | None = None,
) -> PublishedPolicy:
    """Publish ``policy`` to the live file ``target`` as the next version.

    Validates the policy, takes the publish lock, checks ``expect_version`` against the
    latest version, writes the history file, replaces the live file atomically and appends
    an audit entry. Publishing the content that is already live writes nothing and returns
    the live version unchanged.

    Args:
        policy: the policy to publish.
        target: the live config file; defaults to the settings' publish target.
        note: why it is published (kept in the file, the history and the audit log).
        by: who publishes; defaults to the operating-system user.
        expect_version: the live version this publish was based on (0 = nothing published
            yet); if another publish landed since, nothing is written.

    Returns:
        The live `PublishedPolicy` after the call.

    Raises:
        PolicyValidationError: the policy is invalid (nothing is written).
        StalePublishError: the live version is not ``expect_version``.
        PublishError: the target cannot be written (the live file is unchanged).
    """
    return publish_policy(policy, target, note, by, expect_version).published


def rollback_policy(
    target: str | Path | None,
    version: int,
    note: str = "",
    by: str | None = None,
    expect_version: int | None = None,
    *,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
) -> PublishOutcome:
    """Republish an earlier version and say what happened (see `rollback`)."""
    target = resolve_target(target)
    old = load_version(target, version)
    return _commit(
        old.policy,
        target,
        note=note or f"rollback to version {version}",
        by=by,
        expect_version=expect_version,
        action="rollback",
        restored_from=version,
        lock_timeout=lock_timeout,
    )


def rollback(
    target: str | Path | None,
    version: int,
    note: str = "",
    by: str | None = None,
    expect_version: int | None = None,
) -> PublishedPolicy:
    """Restore the content of an earlier ``version`` as a NEW version.

    History is never rewritten: rolling back to v3 while v5 is live publishes v6 with v3's
    policy, with an audit entry saying so. If v3's content is already live, nothing changes.

    Args:
        target: the live config file; None for the settings' publish target.
        version: the earlier version whose content to restore.
        note: why (defaults to "rollback to version N").
        by: who; defaults to the operating-system user.
        expect_version: as in `publish`.

    Returns:
        The live `PublishedPolicy` after the call.

    Raises:
        PublishedPolicyError: that version was never published or its file is damaged.
        StalePublishError: the live version is not ``expect_version``.
        PublishError: the target cannot be written.
    """
    return rollback_policy(target, version, note, by, expect_version).published
