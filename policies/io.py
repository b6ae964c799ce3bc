"""Reading and writing policies as YAML or JSON, and their canonical form.

The canonical form is the policy's JSON with every field (defaults included), keys sorted
and no insignificant whitespace; its sha256 is the policy's content id. Two policies with the
same content id are the same program, whatever file formatting or key order they came from.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from policies.errors import PolicyValidationError
from policies.model import Policy

__all__ = [
    "canonical_json",
    "content_id",
    "dump_policy",
    "load_policy",
    "parse_policy",
    "policy_from_dict",
    "policy_to_dict",
    "save_policy",
    "write_atomic",
]


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    """The policy as plain JSON-compatible data (every field, dates as ISO strings)."""
    return policy.model_dump(mode="json")


def policy_from_dict(data: Any, source: str = "policy") -> Policy:
    """Validate plain data into a `Policy`, raising `PolicyValidationError` with field paths."""
    if not isinstance(data, dict):
        raise PolicyValidationError(
            [("", f"expected a mapping of policy sections, got {type(data).__name__}")], source
        )
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyValidationError.from_pydantic(exc, source) from None


def canonical_json(policy: Policy) -> str:
    """The canonical JSON text of a policy (sorted keys, compact, UTF-8 safe)."""
    return json.dumps(
        policy_to_dict(policy), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def content_id(policy: Policy) -> str:
    """sha256 (hex) of the canonical form: the policy's identity by content."""
    return hashlib.sha256(canonical_json(policy).encode("utf-8")).hexdigest()


def dump_policy(policy: Policy, fmt: str = "yaml") -> str:
    """The policy as YAML (readable, key order as in the model) or pretty JSON."""
    data = policy_to_dict(policy)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    raise ValueError(f"fmt(={fmt!r}) must be 'yaml' or 'json'")


def parse_policy(text: str, source: str = "policy", fmt: str | None = None) -> Policy:
    """Parse YAML or JSON text (JSON is valid YAML) into a validated `Policy`."""
    try:
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        elif isinstance(exc, json.JSONDecodeError):
            where = f" at line {exc.lineno}, column {exc.colno}"
        problem = getattr(exc, "problem", None) or getattr(exc, "msg", None) or str(exc)
        raise PolicyValidationError(
            [("", f"the file is not valid YAML/JSON{where}: {problem}")], source
        ) from None
    return policy_from_dict(data, source)


def load_policy(path: str | Path) -> Policy:
    """Load a policy from a ``.yaml``/``.yml``/``.json`` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyValidationError([("", "file not found")], str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyValidationError([("", f"cannot read the file: {exc}")], str(path)) from None
    fmt = "json" if path.suffix.lower() == ".json" else None
    return parse_policy(text, str(path), fmt)


def save_policy(policy: Policy, path: str | Path) -> None:
    """Write a policy as YAML or JSON (by extension), atomically."""
    path = Path(path)
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    write_atomic(path, dump_policy(policy, fmt))


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never a mix.

    Temp file in the same directory, fsync, rename over the target, fsync the directory
    (the rename alone is atomic but not durable). The file gets ``mode`` before the rename,
    so a reader running as another user can read it the moment it appears.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with contextlib.suppress(OSError):  # file systems without modes
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
