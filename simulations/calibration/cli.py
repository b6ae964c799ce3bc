"""The ``calibrate`` command: behavior parameters from a client's CSV files.

Usage::

    python -m simulations calibrate --transactions FILE [--ledger FILE] [--members FILE]
        [--policy FILE] [--calibration-end YYYY-MM-DD] [--time-unit day|week]
        [--date-format %d/%m/%Y] --out params.json

``--transactions`` is a CSV with at least ``member_id,date,amount`` (``campaign_ids``,
``;``-separated, is used for campaign uplift); ``--ledger`` a points ledger CSV
(``member_id,date,kind,points``); ``--members`` a member CSV (``member_id``, and optionally
``join_date``, ``birthday``, ``tier``); ``--policy`` the policy whose campaign calendar
names the campaign kinds and days, sets the minimum redemption and gives each member's
monthly tier for the redemption propensity.

Dates are ``YYYY-MM-DD`` unless ``--date-format`` says how the files write them (never
guessed per value, which swaps day and month). Dates after today are refused: one would
move the end of observation (a ``3000-01-01`` purchase made every member look long gone).
A ``--calibration-end`` after today is refused too; one after the last purchase is noted.

Exit status: 0 written; 2 unusable input (the message names the file, column, row and
value) or wrong usage; 3 the model did not converge (no output file is written); 4 written,
but a secondary fit (spend, redemption) failed and its defaults were used (each named in a
WARNING line on stderr, and under ``parameter_sources`` in the file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from simulations.behavior import ASSUMED, ASSUMED_PARAMETERS, save_behavior
from simulations.calibration.calibrate import calibrate
from simulations.calibration.data import (
    parse_dates,
    read_csv_strictly,
    read_transactions,
    refuse_future_dates,
)
from simulations.calibration.errors import CalibrationDataError, ConvergenceError

__all__ = ["add_parser", "main", "run"]

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_NOT_CONVERGED = 3
EXIT_FELL_BACK = 4


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``calibrate`` command to an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "calibrate",
        help="estimate behavior parameters from transactions",
        description="Estimate behavior parameters (BG/NBD, Gamma-Gamma, seasonality, uplift,"
        " redemption) from a transaction CSV and write them as JSON for the simulator.",
    )
    parser.add_argument("--transactions", required=True, help="CSV: member_id,date,amount,...")
    parser.add_argument("--ledger", help="points ledger CSV: member_id,date,kind,points")
    parser.add_argument("--members", help="member CSV: member_id[,join_date,birthday,tier]")
    parser.add_argument("--policy", help="policy file naming the campaigns (YAML or JSON)")
    parser.add_argument("--calibration-end", help="last day to fit on (YYYY-MM-DD)")
    parser.add_argument("--time-unit", choices=("day", "week"), default="day")
    parser.add_argument(
        "--date-format",
        help="how the files write dates, in strftime codes (e.g. %%d/%%m/%%Y); default YYYY-MM-DD",
    )
    parser.add_argument("--out", required=True, help="where to write params.json")
    parser.set_defaults(command_run=run)
    return parser


def _read_csv(path: str, required: tuple[str, ...], label: str) -> pd.DataFrame:
    file = Path(path)
    if not file.is_file():
        raise CalibrationDataError(f"{label} file not found: {path}")
    frame = read_csv_strictly(file)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CalibrationDataError(
            f"{file.name}: missing column(s) {', '.join(missing)}; the {label} file needs"
            f" {', '.join(required)}"
        )
    return frame


def _with_dates(
    frame: pd.DataFrame, columns: tuple[str, ...], source: str, date_format: str | None
) -> pd.DataFrame:
    """The frame with its date columns parsed (as ``date_format`` says) and none in the future."""
    out = frame.copy()
    for column in columns:
        if column in out:
            out[column] = parse_dates(frame, column, source, date_format)
            refuse_future_dates(frame, out[column], column, source)
    return out


def _calibration_end(text: str | None, transactions: pd.DataFrame) -> pd.Timestamp | None:
    if not text:
        return None
    try:
        end = pd.Timestamp(dt.date.fromisoformat(text))
    except ValueError as exc:
        raise CalibrationDataError(
            f"--calibration-end(={text!r}) is not a date; use YYYY-MM-DD"
        ) from exc
    today = dt.date.today()
    if end > pd.Timestamp(today):
        raise CalibrationDataError(
            f"--calibration-end(={text}) is in the future (today is {today}); the end of"
            " observation is a day the data covers"
        )
    last = transactions["date"].max()
    if end > last:
        print(
            f"note: --calibration-end {text} is after the last purchase"
            f" ({last.date().isoformat()}); observation ends there",
            file=sys.stderr,
        )
    return end


def _load_policy(policy_path: str):
    from policies.errors import PolicyError
    from policies.io import load_policy

    try:
        return load_policy(policy_path)
    except PolicyError as exc:
        raise CalibrationDataError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    """Run the command; print a summary, or a message on bad input; return the exit code."""
    try:
        if not Path(args.out).resolve().parent.is_dir():
            raise CalibrationDataError(f"--out: the folder of {args.out} does not exist")
        date_format = getattr(args, "date_format", None)
        transactions = read_transactions(args.transactions, date_format=date_format)
        ledger = members = None
        if args.ledger:
            ledger = _read_csv(args.ledger, ("member_id", "date", "kind", "points"), "ledger")
            ledger = _with_dates(ledger, ("date",), Path(args.ledger).name, date_format)
        if args.members:
            members = _read_csv(args.members, ("member_id",), "members")
            members = _with_dates(members, ("join_date",), Path(args.members).name, date_format)
        policy = _load_policy(args.policy) if args.policy else None
        end = _calibration_end(args.calibration_end, transactions)
        result = calibrate(
            transactions,
            ledger=ledger,
            members=members,
            calibration_end=end,
            time_unit=args.time_unit,
            policy=policy,
        )
        params = result.behavior_params()
    except CalibrationDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ConvergenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    save_behavior(params, args.out)
    bg = result.bgnbd.params
    print(
        f"calibrated {result.n_members} members, {result.n_transactions} purchases up to"
        f" {result.calibration_end} (rates per {result.time_unit})"
    )
    print(
        f"BG/NBD r={bg['r']:.3g} alpha={bg['alpha']:.3g} a={bg['a']:.3g} b={bg['b']:.3g};"
        f" P(alive) median {result.p_alive['p50']:.2f}"
    )
    if result.gamma_gamma is not None:
        print(f"mean spend per purchase {result.gamma_gamma.mean_spend:,.2f}")
    for note in result.notes:
        if note not in result.fallbacks:
            print(f"note: {note}")
    for name in ASSUMED_PARAMETERS:
        print(f"note: {name} is assumed, not estimated: {ASSUMED} (see ProgramEffects)")
    print(f"wrote {args.out}")
    for warning in result.fallbacks:
        print(f"WARNING: {warning}", file=sys.stderr)
    return EXIT_FELL_BACK if result.fallbacks else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python -m simulations.calibration.cli`` (the calibrate command)."""
    parser = argparse.ArgumentParser(prog="python -m simulations")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_parser(subparsers)
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] != ["calibrate"]:
        arguments.insert(0, "calibrate")
    args = parser.parse_args(arguments)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
