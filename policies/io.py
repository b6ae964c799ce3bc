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

from policies.errors import PolicyValidationError, show_value
from policies.model import Policy

__all__ = [
    "MAX_DOCUMENT_VALUES",
    "MAX_NESTING",
    "MAX_POLICY_BYTES",
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
        policy_to_dict(policy),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def content_id(policy: Policy) -> str:
    """sha256 (hex) of the canonical form: the policy's identity by content."""
    return hashlib.sha256(canonical_json(policy).encode("utf-8")).hexdigest()


def dump_policy(policy: Policy, fmt: str = "yaml") -> str:
    """The policy as YAML (readable, key order as in the model) or pretty JSON."""
    data = policy_to_dict(policy)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    raise ValueError(f"fmt(={fmt!r}) must be 'yaml' or 'json'")


MAX_POLICY_BYTES = 256 * 1024
"""Largest policy document accepted (a real program, 500 campaigns included, is < 100 KB)."""

MAX_DOCUMENT_VALUES = 100_000
"""Most values (mappings, lists, scalars) a document may hold once YAML aliases are expanded."""

MAX_NESTING = 24
"""Deepest nesting of mappings and lists accepted (a policy needs six levels)."""

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _DocumentTooLarge(ValueError):
    """The document is refused before it is validated (size, aliases, nesting, loops)."""


# libyaml parses a 64 KB policy about twenty times faster than the pure-Python parser and
# refuses nesting beyond 1,000 levels by itself.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _PolicyLoader(_SafeLoader):
    """The safe YAML loader, refusing duplicate keys and keeping unquoted dates as text.

    Dates stay strings so that an impossible date (``2025-02-30``) reaches the policy model
    and is reported with its field path instead of failing inside the YAML parser.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                first = seen[key].start_mark
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {show_value(key, 40)} (first at line {first.line + 1});"
                    " each key may appear once in a section",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


_PolicyLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a YAML graph whose expansion is too large, too deep or refers to itself.

    YAML aliases let a few hundred bytes stand for billions of values (the "billion
    laughs" attack); counting the expanded size on the node graph, with each shared node
    counted once per reference through memoisation, costs time linear in the document.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, list[yaml.Node] | None]] = [(root, 1, None)]
    while stack:
        node, depth, children = stack.pop()
        key = id(node)
        if children is not None:  # every child is counted: finish this node
            on_path.discard(key)
            total = 1
            for child in children:
                total += sizes[id(child)]
            if total > MAX_DOCUMENT_VALUES:
                raise _DocumentTooLarge(
                    f"the document expands to more than {MAX_DOCUMENT_VALUES:,} values"
                    " (YAML aliases repeating content); write the policy out without them"
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        if key in on_path:
            raise _DocumentTooLarge(
                f"the document refers to itself (a YAML alias inside its own anchor) at line"
                f" {node.start_mark.line + 1}"
            )
        if depth > MAX_NESTING:
            raise _DocumentTooLarge(
                f"the document is nested more than {MAX_NESTING} levels deep at line"
                f" {node.start_mark.line + 1}; a policy needs at most six"
            )
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = list(node.value)
        on_path.add(key)
        stack.append((node, depth, children))
        stack.extend((child, depth + 1, None) for child in children if id(child) not in sizes)


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DocumentTooLarge(
                f"duplicate key {show_value(key, 40)}; each key may appear once in a section"
            )
        out[key] = value
    return out


def _check_json_nesting(data: Any) -> None:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise _DocumentTooLarge(
                f"the document is nested more than {MAX_NESTING} levels deep;"
                " a policy needs at most six"
            )
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _read_document(text: str, fmt: str | None) -> Any:
    """Plain data from YAML or JSON text, within the size, alias and nesting budgets."""
    if fmt == "json":
        data = json.loads(text, object_pairs_hook=_refuse_duplicates)
        _check_json_nesting(data)
        return data
    loader = _PolicyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "*" in text or "<<" in text:  # only aliases (and merges of them) can expand
            _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_policy(text: str, source: str = "policy", fmt: str | None = None) -> Policy:
    """Parse YAML or JSON text (JSON is valid YAML) into a validated `Policy`.

    The document is refused before validation when it is larger than `MAX_POLICY_BYTES`,
    expands (through YAML aliases) to more than `MAX_DOCUMENT_VALUES` values, is nested
    deeper than `MAX_NESTING` levels, refers to itself or repeats a key. Every problem is
    raised as `PolicyValidationError`, never as another exception.
    """
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_POLICY_BYTES:
        raise PolicyValidationError(
            [("", f"the document is {size:,} bytes; a policy may be at most {MAX_POLICY_BYTES:,}")],
            source,
        )
    try:
        data = _read_document(text, fmt)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        elif isinstance(exc, json.JSONDecodeError):
            where = f" at line {exc.lineno}, column {exc.colno}"
        problem = getattr(exc, "problem", None) or getattr(exc, "msg", None) or str(exc)
        raise PolicyValidationError(
            [("", f"the file is not valid YAML/JSON{where}: {show_value(problem, 200)[1:-1]}")],
            source,
        ) from None
    except _DocumentTooLarge as exc:
        raise PolicyValidationError([("", str(exc))], source) from None
    except RecursionError:
        raise PolicyValidationError(
            [("", "the document is nested too deeply; a policy needs at most six levels")],
            source,
        ) from None
    except (ValueError, TypeError, OverflowError, LookupError) as exc:
        # A YAML tag whose value cannot be built (``!!int 1.5``, ``!!bool 7``,
        # ``!!timestamp 2025-02-30``, a number too long to convert).
        raise PolicyValidationError(
            [("", f"a value in the file cannot be read: {show_value(str(exc), 200)[1:-1]}")],
            source,
        ) from None
    return policy_from_dict(data, source)


def load_policy(path: str | Path) -> Policy:
    """Load a policy from a ``.yaml``/``.yml``/``.json`` file (at most `MAX_POLICY_BYTES`)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_POLICY_BYTES + 1)
        if len(raw) > MAX_POLICY_BYTES:
            raise PolicyValidationError(
                [("", f"the file is larger than {MAX_POLICY_BYTES:,} bytes, a policy's limit")],
                str(path),
            )
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise PolicyValidationError([("", "file not found")], str(path)) from None
    except IsADirectoryError:
        problem = "this is a folder, not a policy file"
        raise PolicyValidationError([("", problem)], str(path)) from None
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
