"""Command line: ``python -m store import ...`` loads a client's files as the Data page does.

Usage::

    python -m store import --members FILE --transactions FILE [--encoding E]
        [--delimiter ,] [--decimal . --thousands ,] [--date-format %Y-%m-%d]
        [--map-members CLIENT=OURS ...] [--map-transactions CLIENT=OURS ...]
        [--replace] [--dry-run] [--url DATABASE_URL]
    python -m store prebuild [--folder sample_data/data]

Every row is checked first (`store.importer`); the report lists each problem by file,
line, column and value. Nothing is written unless every check passes, and the load is one
database transaction.

Exit status: 0 imported (or, with ``--dry-run``, every check passed); 2 bad data or wrong
usage (the row report is printed, nothing was written); 3 the database refused the load
(nothing was written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_DATABASE = 3


def _mapping(pairs: list[str] | None, parser: argparse.ArgumentParser, flag: str) -> dict:
    mapping = {}
    for pair in pairs or []:
        client, sep, ours = pair.partition("=")
        if not sep or not client.strip() or not ours.strip():
            parser.error(
                f"{flag}(={pair!r}) must be CLIENT_COLUMN=OUR_COLUMN, e.g. 单号=transaction_id"
            )
        mapping[client.strip()] = ours.strip()
    return mapping


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``import``, ``prebuild``)."""
    from store.importer import (
        DECIMAL_SEPARATORS,
        MEMBER_COLUMNS,
        THOUSANDS_SEPARATORS,
        TRANSACTION_COLUMNS,
    )

    parser = argparse.ArgumentParser(prog="python -m store", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "import",
        help="check and load a client's members and transactions (all or nothing)",
        description="Check a client's members and transactions files row by row and load them"
        " into the database in one transaction; nothing is written if any row is wrong.",
    )
    run.add_argument("--members", help="members file (.csv, .csv.gz, .parquet)")
    run.add_argument("--transactions", help="transactions file (.csv, .csv.gz, .parquet)")
    run.add_argument("--encoding", default="auto",
                     help="text encoding, e.g. utf-8 or gb18030 (default: auto = UTF-8, else"
                     " detected and reported)")  # fmt: skip
    run.add_argument("--delimiter", default=",", help="field separator: , ; | or \\t")
    run.add_argument("--decimal", default=".", choices=DECIMAL_SEPARATORS,
                     help="decimal separator in numbers (default .)")  # fmt: skip
    run.add_argument("--thousands", default=",", choices=THOUSANDS_SEPARATORS,
                     help="thousands separator in numbers (default ,; '' for none)")  # fmt: skip
    run.add_argument(
        "--date-format", default="%Y-%m-%d", help="strftime codes (default %%Y-%%m-%%d)"
    )
    run.add_argument("--map-members", nargs="+", metavar="CLIENT=OURS",
                     help=f"rename member columns; ours: {', '.join(MEMBER_COLUMNS)}")  # fmt: skip
    run.add_argument("--map-transactions", nargs="+", metavar="CLIENT=OURS",
                     help="rename transaction columns; ours:"
                     f" {', '.join(TRANSACTION_COLUMNS)}")  # fmt: skip
    run.add_argument("--replace", action="store_true",
                     help="remove the existing members, transactions and points ledger first"
                     " (same transaction)")  # fmt: skip
    run.add_argument("--dry-run", action="store_true", help="only check; write nothing")
    run.add_argument("--url", help="database URL (default: DATABASE_URL or the embedded SQLite)")
    run.add_argument("--limit", type=int, default=50, help="problems listed (default 50)")
    prebuild = sub.add_parser(
        "prebuild",
        help="rebuild the sample's prebuilt SQLite database and its manifest (store.prebuilt)",
        description="Load the sample CSV files into a fresh SQLite database, compact and"
        " compress it next to them (memberlab.sqlite.xz) and record its checksum in"
        " prebuilt.json; run it after the sample or the schema changes.",
    )
    prebuild.add_argument("--folder", help="the sample folder (default: the shipped sample)")
    return parser


def _prebuild(folder: str | None) -> int:
    from store.prebuilt import build

    manifest = build(folder)
    print(
        f"wrote {manifest['file']}: {manifest['bytes']:,} bytes"
        f" ({manifest['database_bytes']:,} uncompressed), sha256 {manifest['sha256']}"
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.command == "prebuild":
        return _prebuild(args.folder)
    if not args.members and not args.transactions:
        parser.error("give --members and/or --transactions")
    delimiter = "\t" if args.delimiter in ("\\t", "tab") else args.delimiter
    member_mapping = _mapping(args.map_members, parser, "--map-members")
    transaction_mapping = _mapping(args.map_transactions, parser, "--map-transactions")

    import store
    from store.importer import format_report, import_client_data

    try:
        store.migrate(args.url)
    except Exception as exc:  # any failure to reach or migrate the database
        reason = str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"error: cannot open the database: {reason}; nothing was written", file=sys.stderr)
        return EXIT_DATABASE
    report = import_client_data(
        args.members,
        args.transactions,
        member_mapping=member_mapping or None,
        transaction_mapping=transaction_mapping or None,
        replace=args.replace,
        dry_run=args.dry_run,
        date_format=args.date_format,
        encoding=args.encoding,
        delimiter=delimiter,
        decimal=args.decimal,
        thousands=args.thousands,
        url=args.url,
    )
    text = format_report(report, limit=max(args.limit, 1))
    if report.ok:
        print(text)
        return EXIT_OK
    print(text, file=sys.stderr)
    refused = any(e.message.startswith("the database refused") for e in report.errors)
    return EXIT_DATABASE if refused else EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
