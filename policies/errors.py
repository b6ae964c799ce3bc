"""Typed errors with messages a marketing lead can act on."""

from __future__ import annotations

from typing import Any

__all__ = [
    "PolicyError",
    "PolicyValidationError",
    "PublishError",
    "PublishedPolicyError",
    "StalePublishError",
]


class PolicyError(Exception):
    """Base class of every error the policies package raises on purpose."""


class PolicyValidationError(PolicyError):
    """A policy (file or edit) is invalid. ``problems`` lists (field path, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "policy"):
        self.problems = problems
        self.source = source
        lines = [f"{source} is not a valid policy ({len(problems)} problem(s)):"]
        lines += [
            f"  - {path}: {message}" if path else f"  - {message}" for path, message in problems
        ]
        super().__init__("\n".join(lines))

    @classmethod
    def from_pydantic(cls, exc: Any, source: str = "policy") -> PolicyValidationError:
        """Turn a pydantic ``ValidationError`` into field-path messages."""
        problems = []
        for error in exc.errors(include_url=False):
            loc = [str(part) for part in error["loc"] if not _is_union_tag(part)]
            path = ".".join(f"[{part}]" if part.isdigit() else part for part in loc).replace(
                ".[", "["
            )
            message = error["msg"].removeprefix("Value error, ")
            located = (error.get("ctx") or {}).get("error")
            sub = getattr(located, "path", None)
            if sub:
                path = f"{path}{sub}" if sub.startswith("[") or not path else f"{path}.{sub}"
            if error["type"] not in ("value_error", "assertion_error") and "input" in error:
                message = f"{message} (got {_show(error['input'])})"
            problems.append((path, message))
        return cls(problems, source)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part in ("none", "rolling", "fixed_date", "inactivity")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class PublishError(PolicyError):
    """Publishing failed; the live file is unchanged."""


class StalePublishError(PublishError):
    """Another publish landed first: the version this publish was based on is no longer live."""


class PublishedPolicyError(PolicyError):
    """A published (live) config is corrupt, tampered with or of an unknown schema version."""
