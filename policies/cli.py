"""The ``python -m policies`` command line: validate, diff, publish, roll back, inspect.

Commands::

    validate FILE...                     check policy files (YAML/JSON, or published JSON)
    diff OLD NEW [--lang zh]             what changes for members (files or published JSON)
    publish FILE [--target PATH] [--note TEXT] [--by NAME] [--expect-version N]
    rollback --to VERSION [--target PATH] [--note TEXT] [--by NAME] [--expect-version N]
    history [--target PATH]              every published version with its note
    status [--target PATH]               verify the live file and say what is live
    schema [--published]                 print the JSON Schema of a policy (or the envelope)

The target defaults to the settings' publish target (``MEMBERLAB_PUBLISH_TARGET``).

Exit status: 0 success (including "already live, nothing to publish"); 1 an invalid policy
file or a damaged published file; 2 wrong usage; 3 publishing failed (target not
writable, lock busy), with the live file unchanged; 4 a stale publish refused by
``--expect-version``. Errors are printed as messages, never as tracebacks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from policies.diff import LANGUAGES, describe_changes
from policies.diff_phrases import PHRASES
from policies.errors import (
    PolicyError,
    PolicyValidationError,
    PublishedPolicyError,
    PublishError,
    StalePublishError,
)
from policies.io import content_id, load_policy
from policies.model import Policy

if TYPE_CHECKING:
    from policies.publish import PublishOutcome

__all__ = ["main"]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_PUBLISH_FAILED = 3
EXIT_STALE = 4


def _load_any(path: str) -> Policy:
    """A policy from a policy file, or from a published (live or history) JSON file."""
    from policies.publish import FORMAT, load_published

    file = Path(path)
    if file.suffix.lower() == ".json":
        try:
            head = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            head = None  # let load_policy produce the precise message
        if isinstance(head, dict) and head.get("format") == FORMAT:
            return load_published(file).policy
    return load_policy(file)


def _target(value: str | None) -> Path:
    from policies.publish import resolve_target

    return resolve_target(value)


def _printable(text: str) -> str:
    r"""``text`` with control characters shown as escapes (``\n``, ``\x1b``), on one line.

    A note or name can hold anything; printed raw, escape codes would drive the terminal
    and a newline would fake a line of the history.
    """
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _recover_quietly(target: Path) -> None:
    """Finish an interrupted publish before reading, if this user may write there."""
    from policies.publish import recover

    try:
        for line in recover(target, lock_timeout=2.0):
            print(f"recovered: {line}", file=sys.stderr)
    except PublishError as exc:
        print(f"note: could not check for an interrupted publish: {exc}", file=sys.stderr)


def _short(checksum: str) -> str:
    return checksum[:12]


def _cmd_validate(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for path in args.files:
        try:
            policy = _load_any(path)
        except (PolicyValidationError, PublishedPolicyError) as exc:
            print(exc, file=sys.stderr)
            status = EXIT_INVALID
            continue
        print(
            f"OK {path}: {policy.program.name!r}, {len(policy.tiers.tiers)} tiers,"
            f" {len(policy.campaigns)} campaigns, content id {_short(content_id(policy))}"
        )
    return status


def _cmd_diff(args: argparse.Namespace) -> int:
    old, new = _load_any(args.old), _load_any(args.new)
    lines = describe_changes(old, new, lang=args.lang)
    if not lines:
        print(PHRASES["cli_no_changes"][args.lang].format(id=_short(content_id(new))))
        return EXIT_OK
    print(PHRASES["cli_changes"][args.lang].format(count=len(lines), old=args.old, new=args.new))
    for line in lines:
        print(f"  - {line}")
    return EXIT_OK


def _print_outcome(outcome: PublishOutcome, target: Path, verb: str) -> None:
    published = outcome.published
    if not outcome.changed:
        print(
            f"Already live at {target} as version {published.version} (checksum"
            f" {_short(published.checksum)}): nothing {verb}."
        )
        return
    origin = f" from version {outcome.previous.version}" if outcome.previous else ""
    print(
        f"{verb.capitalize()} version {published.version}{origin} to {target}"
        f" (checksum {_short(published.checksum)},"
        f" by {_printable(published.published_by) or 'unknown'})."
    )
    if outcome.diff:
        print("What changes for members:")
        for line in outcome.diff:
            print(f"  - {line}")
    elif outcome.previous:
        print("No change in content for members.")


def _cmd_publish(args: argparse.Namespace) -> int:
    from policies.publish import publish_policy

    policy = load_policy(args.file)
    target = _target(args.target)
    outcome = publish_policy(
        policy, target, note=args.note, by=args.by, expect_version=args.expect_version
    )
    _print_outcome(outcome, target, "published")
    return EXIT_OK


def _cmd_rollback(args: argparse.Namespace) -> int:
    from policies.publish import rollback_policy

    target = _target(args.target)
    outcome = rollback_policy(
        target, args.to, note=args.note, by=args.by, expect_version=args.expect_version
    )
    if outcome.changed:
        print(f"Rolled back to the content of version {args.to}.")
    _print_outcome(outcome, target, "published")
    return EXIT_OK


def _cmd_history(args: argparse.Namespace) -> int:
    from policies.publish import damage, history, load_published

    target = _target(args.target)
    _recover_quietly(target)
    for problem in damage(target):
        print(f"damaged (skipped): {_printable(problem)}", file=sys.stderr)
    versions = history(target)
    if not versions:
        print(f"Nothing has been published to {target} yet.")
        return EXIT_OK
    try:
        live_version = load_published(target).version
    except PublishedPolicyError:
        live_version = None
    print(f"Published versions of {target}:")
    for envelope in versions:
        mark = "*" if envelope.version == live_version else " "
        action = (
            f"rollback to v{envelope.restored_from}"
            if envelope.action == "rollback"
            else envelope.action
        )
        print(
            f"{mark} v{envelope.version:<4} {envelope.published_at.isoformat()}"
            f"  {_short(envelope.checksum)}  {_printable(envelope.published_by) or '-':<12}"
            f" {action:<16} {_printable(envelope.note)}"
        )
    if live_version is None:
        print(f"The live file {target} is missing or damaged: run `status` for details.")
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    from policies.publish import load_published

    target = _target(args.target)
    _recover_quietly(target)
    envelope = load_published(target)
    print(
        f"{target}: version {envelope.version}, checksum verified"
        f" ({_short(envelope.checksum)}), published {envelope.published_at.isoformat()}"
        f" by {_printable(envelope.published_by) or 'unknown'}:"
        f" {envelope.policy.program.name!r}"
    )
    if envelope.note:
        print(f"note: {_printable(envelope.note)}")
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from policies.schema import policy_schema, published_schema

    schema = published_schema() if args.published else policy_schema()
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m policies",
        description="Validate, compare and publish loyalty program policies.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check policy files")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(run=_cmd_validate)

    diff = commands.add_parser("diff", help="what changes for members between two policies")
    diff.add_argument("old", metavar="OLD")
    diff.add_argument("new", metavar="NEW")
    diff.add_argument(
        "--lang", choices=LANGUAGES, default="en", help="language of the changes (default en)"
    )
    diff.set_defaults(run=_cmd_diff)

    def add_publish_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--target", help="the live config file (default: settings)")
        sub.add_argument("--note", default="", help="why (kept in history and audit log)")
        sub.add_argument("--by", default=None, help="who publishes (default: your user name)")
        sub.add_argument(
            "--expect-version",
            type=int,
            default=None,
            metavar="N",
            help="refuse if the live version is not N (0 = nothing published yet)",
        )

    publish = commands.add_parser("publish", help="publish a policy to the live system")
    publish.add_argument("file", metavar="FILE")
    add_publish_options(publish)
    publish.set_defaults(run=_cmd_publish)

    rollback = commands.add_parser("rollback", help="republish an earlier version as a new one")
    rollback.add_argument("--to", type=int, required=True, metavar="VERSION")
    add_publish_options(rollback)
    rollback.set_defaults(run=_cmd_rollback)

    for name, run, text in (
        ("history", _cmd_history, "list published versions"),
        ("status", _cmd_status, "verify the live file"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--target", help="the live config file (default: settings)")
        sub.set_defaults(run=run)

    schema = commands.add_parser("schema", help="print the JSON Schema")
    schema.add_argument(
        "--published", action="store_true", help="the schema of the published envelope"
    )
    schema.set_defaults(run=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = _parser().parse_args(argv)
    if getattr(args, "target", None) is not None and not str(args.target).strip():
        print(
            "usage: --target is empty: name the live config file, or leave --target out to"
            " use MEMBERLAB_PUBLISH_TARGET",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        return args.run(args)
    except StalePublishError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_STALE
    except PublishError as exc:
        print(f"publish failed: {exc}", file=sys.stderr)
        return EXIT_PUBLISH_FAILED
    except (PolicyValidationError, PublishedPolicyError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except PolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as other command-line tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_INVALID
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return EXIT_PUBLISH_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
