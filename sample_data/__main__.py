"""Command line: generate a sample membership program and write it to a folder.

python -m sample_data [--members 20000] [--seed 2026] [--out DIR] [--no-ledger]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from policies.errors import PolicyError
from sample_data.generator import (
    CLASSIC_POLICY,
    DEFAULT_END,
    DEFAULT_START,
    SHIPPED_FOLDER,
    generate,
    write,
)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m sample_data`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m sample_data",
        description="Generate a seeded sample membership program (members, transactions, "
        "points ledger, campaigns run, truth.json) and write it atomically to a folder.",
        epilog="Booking the points ledger replays every purchase through the policy one "
        "member at a time (about 10,000 purchases per second): 20,000 members take about a "
        "minute, 1,000,000 members several hours. Use --no-ledger for large runs: members "
        "and transactions only (gross amounts, no discount/points columns, no redemptions).",
    )
    parser.add_argument("--members", type=_positive, default=20_000, help="default 20000")
    parser.add_argument("--seed", type=int, default=2026, help="default 2026")
    parser.add_argument("--start", type=_date, default=DEFAULT_START, help="first day")
    parser.add_argument("--end", type=_date, default=DEFAULT_END, help="last day")
    parser.add_argument(
        "--policy", default=str(CLASSIC_POLICY), help="policy file (default: classic example)"
    )
    parser.add_argument(
        "--out", default=str(SHIPPED_FOLDER), help="folder to write (default: the shipped copy)"
    )
    parser.add_argument(
        "--no-ledger",
        action="store_true",
        help="skip the points ledger replay (fast; recommended above ~100,000 members)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    began = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        if not args.quiet:
            elapsed = time.perf_counter() - began
            print(f"[{fraction:5.1%} {elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)

    try:
        program = generate(
            n_members=args.members,
            seed=args.seed,
            start=args.start,
            end=args.end,
            policy=args.policy,
            ledger=not args.no_ledger,
            progress=progress,
        )
        progress(1.0, f"writing {len(program.transactions):,} transactions to {args.out}")
        folder = write(program, args.out)
    except (PolicyError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    progress(1.0, f"wrote {folder}")
    print(program.summary().to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
