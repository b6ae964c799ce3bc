"""Command line: ``python -m simulations run | finance | calibrate ...``.

``run`` simulates a policy and writes JSON ``{"summary": {kpi: {p10, p50, p90}}, "monthly":
[...], "tier_migration": [...], "cohort_retention": [...], ...}`` (written whole or not at
all). Without ``--members`` it simulates the members in the
database (the store package), or 20,000 synthetic members when no database is available.
A policy that does not validate prints the problems and exits with status 2.

``finance`` writes the IFRS 15 / CAS 14 deferral schedule of a periods CSV or of a ``run``
result (`simulations.deferral`); a table it cannot schedule prints the row, column and
what is valid, exits with status 2 and writes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

__all__ = ["build_parser", "main"]


def build_parser(with_calibrate: bool = True) -> argparse.ArgumentParser:
    """The argument parser (``run`` always; ``calibrate`` when calibration is installed).

    ``with_calibrate=False`` leaves the calibrate command out, so a ``run`` does not pay for
    importing statsmodels (about 3 s).
    """
    parser = argparse.ArgumentParser(prog="python -m simulations", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="simulate a policy and write results as JSON")
    run.add_argument("--policy", required=True, help="policy file (.yaml/.yml/.json)")
    run.add_argument("--behavior", help="behavior parameters JSON (default: built-in)")
    run.add_argument("--members", type=int, help="synthetic members (default: the database)")
    run.add_argument("--months", type=int, default=24)
    run.add_argument("--replications", type=int, default=10)
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 1, 1),
                     help="first simulated day, YYYY-MM-DD")  # fmt: skip
    run.add_argument("--baseline", help="baseline policy file for incremental revenue and ROI")
    run.add_argument("--workers", type=int, default=1, help="processes for replications")
    run.add_argument("--out", required=True, help="results JSON file")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_finance_parser(sub)
    calibration_cli = None
    if with_calibrate:
        try:
            from simulations.calibration import cli as calibration_cli
        except ImportError:
            calibration_cli = None
    if calibration_cli is not None and hasattr(calibration_cli, "add_parser"):
        calibration_cli.add_parser(sub)
    return parser


def _add_finance_parser(sub) -> None:
    finance = sub.add_parser(
        "finance",
        help="IFRS 15 / CAS 14 deferral schedule of loyalty points (and its journal)",
        description="Deferred revenue of points: relative stand-alone selling price allocation, "
        "revenue on redemption, breakage in proportion to redemption, catch-up on estimate "
        "changes. Input: a periods CSV (period, sales, points_issued, points_redeemed, "
        "expected_redemption_rate) or a results JSON of `run`.",
    )
    source = finance.add_mutually_exclusive_group(required=True)
    source.add_argument("--periods", help="periods CSV")
    source.add_argument("--results", help="results JSON written by `python -m simulations run`")
    finance.add_argument(
        "--point-value",
        type=float,
        required=True,
        help="value of a point to a member (its selling price), e.g. 0.01",
    )
    finance.add_argument(
        "--cost-per-point",
        type=float,
        help="company's cost of a redeemed point (adds cost_to_fulfil)",
    )
    finance.add_argument("--out", required=True, help="schedule CSV")
    finance.add_argument("--journal", help="journal lines CSV (Dr/Cr per account and period)")


def _finance(args) -> int:
    from policies.io import write_atomic
    from simulations import deferral

    try:
        opening_points = opening_liability = 0.0
        if args.periods:
            periods = deferral.read_periods(args.periods)
        else:
            try:
                document = json.loads(Path(args.results).read_text(encoding="utf-8"))
                monthly = _results_monthly(document)
                urr = 1.0 - float(document["breakage"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                print(
                    f"{args.results} is not a results JSON of `python -m simulations run`"
                    f" ({type(exc).__name__}: {exc})",
                    file=sys.stderr,
                )
                return 2
            periods, opening_points = deferral.periods_from_monthly(monthly, urr)
            if args.point_value > 0:
                opening_liability = deferral.opening_allocation(
                    periods, opening_points, args.point_value
                )
        schedule = deferral.deferral_schedule(
            periods,
            point_value=args.point_value,
            cost_per_point=args.cost_per_point,
            opening_points=opening_points,
            opening_liability=opening_liability,
        )
    except deferral.PeriodsError as exc:
        source = args.periods or args.results
        print(f"{source}: {exc}", file=sys.stderr)
        return 2
    journal = deferral.journal_entries(schedule) if args.journal else None
    write_atomic(Path(args.out), schedule.to_csv(index=False))
    print(f"wrote {args.out}", file=sys.stderr)
    if journal is not None:
        write_atomic(Path(args.journal), journal.to_csv(index=False))
        print(f"wrote {args.journal}", file=sys.stderr)
    return 0


def _results_monthly(document: dict):
    import pandas as pd

    monthly = pd.DataFrame(document["monthly"])
    needed = {"month", "revenue_net", "points_opening", "points_issued", "points_redeemed"}
    missing = needed - set(monthly.columns)
    if missing:
        raise KeyError(f"monthly records lack {', '.join(sorted(missing))}")
    if "replication" not in monthly:
        monthly["replication"] = 0
    return monthly


def _database_population(start: dt.date, behavior):
    """Members from the database, or None (with a notice) when it is not available."""
    from simulations.population import Population

    try:
        import store

        store.ensure_database()
        snapshot = store.member_snapshot()
    except Exception as exc:  # any failure means: no usable database
        print(
            f"no member database available ({type(exc).__name__}); simulating 20,000"
            " synthetic members instead",
            file=sys.stderr,
        )
        return Population.synthetic(20_000, behavior, seed=0, as_of=start)
    return Population.from_frame(snapshot, as_of=start)


def _small_pages() -> None:
    """Ask numpy not to request transparent huge pages for its arrays in this process.

    A run allocates its member arrays once and touches them at once; zeroing whole 2 MB pages
    on first touch cost more than the pages save here (1M members x 24 months: 5.4-5.9 s
    with huge pages, 4.9 s without).
    """
    try:
        from numpy._core.multiarray import _set_madvise_hugepage

        _set_madvise_hugepage(False)
    except (ImportError, TypeError):  # a numpy without the switch: keep its default
        return


def _run(args) -> int:
    from policies.errors import PolicyValidationError

    _small_pages()
    from policies.io import load_policy, write_atomic
    from simulations.behavior import DEFAULT_BEHAVIOR, load_behavior
    from simulations.engine import Model
    from simulations.population import Population

    try:
        policy = load_policy(args.policy)
        baseline = load_policy(args.baseline) if args.baseline else None
    except PolicyValidationError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        behavior = load_behavior(args.behavior) if args.behavior else DEFAULT_BEHAVIOR
    except (OSError, ValueError) as exc:
        print(f"{args.behavior} is not a valid behavior file: {exc}", file=sys.stderr)
        return 2
    for name in ("members", "months", "replications", "workers"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "members" else 1):
            print(f"--{name}(={value}) must be positive", file=sys.stderr)
            return 2
    if args.members is not None:
        population = Population.synthetic(args.members, behavior, seed=args.seed, as_of=args.start)
    else:
        population = _database_population(args.start, behavior)
    model = Model(
        policy,
        behavior=behavior,
        population=population,
        months=args.months,
        replications=args.replications,
        seed=args.seed,
        start=args.start,
        baseline_policy=baseline,
        workers=args.workers,
    )
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        layout = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"
        bar = tqdm(total=100, desc="simulating", file=sys.stderr, bar_format=layout)

    def progress(fraction: float, message: str) -> None:
        if bar is not None:
            bar.n = round(fraction * 100, 1)
            bar.set_description_str(f"simulating, {message}", refresh=False)
            bar.refresh()

    try:
        result = model.run(progress=progress)
    finally:
        if bar is not None:
            bar.close()
    document = json.loads(result.to_json())
    output = {
        "summary": document["summary"],
        "monthly": document["monthly"],
        "tier_migration": document["tier_migration"],
        "cohort_retention": json.loads(result.cohort_retention().to_json(orient="records")),
        "breakage": result.breakage,
        "policy_id": result.policy_id,
        "seed": result.seed,
        "inputs": document["inputs"],
    }
    write_atomic(Path(args.out), json.dumps(output, ensure_ascii=False, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(with_calibrate=not argv or argv[0] not in ("run", "finance"))
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "finance":
        return _finance(args)
    from simulations.calibration import cli as calibration_cli

    return int(calibration_cli.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
