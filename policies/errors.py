"""Typed errors with messages a marketing lead can act on."""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = [
    "MAX_PROBLEMS_SHOWN",
    "PolicyError",
    "PolicyValidationError",
    "PublishError",
    "PublishedPolicyError",
    "StalePublishError",
    "show_value",
]


MAX_PROBLEMS_SHOWN = 20
"""A message lists at most this many problems (an absurd file can have thousands)."""


class PolicyError(Exception):
    """Base class of every error the policies package raises on purpose."""


class PolicyValidationError(PolicyError):
    """A policy (file or edit) is invalid. ``problems`` lists (field path, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "policy"):
        self.problems = problems
        self.source = source
        lines = [f"{source} is not a valid policy ({len(problems)} problem(s)):"]
        lines += [
            f"  - {path}: {message}" if path else f"  - {message}"
            for path, message in problems[:MAX_PROBLEMS_SHOWN]
        ]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more: fix these first")
        super().__init__("\n".join(lines))

    @classmethod
    def from_pydantic(cls, exc: Any, source: str = "policy") -> PolicyValidationError:
        """Turn a pydantic ``ValidationError`` into field-path messages."""
        problems = []
        for error in exc.errors(include_url=False):
            loc = [_show_key(part) for part in error["loc"] if not _is_union_tag(part)]
            path = ".".join(f"[{part}]" if part.isdigit() else part for part in loc).replace(
                ".[", "["
            )
            message = error["msg"].removeprefix("Value error, ")
            located = (error.get("ctx") or {}).get("error")
            sub = getattr(located, "path", None)
            if sub:
                path = f"{path}{sub}" if sub.startswith("[") or not path else f"{path}.{sub}"
            if error["type"] not in ("value_error", "assertion_error") and "input" in error:
                message = f"{message} (got {show_value(error['input'])})"
            problems.append((path, message))
        return cls(problems, source)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part in ("none", "rolling", "fixed_date", "inactivity")


def _show_key(part: Any) -> str:
    """A location part (field name, index or a key of the input) bounded in length."""
    if isinstance(part, int):
        return str(part)
    text = str(part)
    return text if len(text) <= 40 else show_value(text, limit=40)


def show_value(value: Any, limit: int = 60) -> str:
    """A short, bounded description of any input value, for messages.

    Never builds the full ``repr`` of a large value first: a YAML alias bomb or a huge
    number must not hang or exhaust memory while an error message is written.
    """
    if isinstance(value, str):
        text = repr(value[:limit])
        if len(value) <= limit:
            return text
        return f"{text[:-1]}...{text[-1]} ({len(value)} characters)"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        # str() of an int is quadratic in its digits (and refused past 4300 digits).
        if value.bit_length() <= 64:
            return repr(value)
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes of binary data"
    if isinstance(value, dict):
        return f"a mapping of {len(value)} key(s)"
    if isinstance(value, list | tuple | set | frozenset):
        return f"a list of {len(value)} item(s)"
    return f"a value of type {type(value).__name__}"


class PublishError(PolicyError):
    """Publishing failed; the live file is unchanged."""


class StalePublishError(PublishError):
    """Another publish landed first: the version this publish was based on is no longer live."""


class PublishedPolicyError(PolicyError):
    """A published (live) config is corrupt, tampered with or of an unknown schema version."""
