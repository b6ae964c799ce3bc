"""Command line: ``python -m simulations run ...`` and ``python -m simulations calibrate ...``.

``run`` simulates a policy and writes JSON ``{"summary": {kpi: {p10, p50, p90}}, "monthly":
[...], "tier_migration": [...], "cohort_retention": [...], ...}`` (written whole or not at
all). Without ``--members`` it simulates the members in the
database (the store package), or 20,000 synthetic members when no database is available.
A policy that does not validate prints the problems and exits with status 2.
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
    calibration_cli = None
    if with_calibrate:
        try:
            from simulations.calibration import cli as calibration_cli
        except ImportError:
            calibration_cli = None
    if calibration_cli is not None and hasattr(calibration_cli, "add_parser"):
        calibration_cli.add_parser(sub)
    return parser


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
    parser = build_parser(with_calibrate=not argv or argv[0] != "run")
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    from simulations.calibration import cli as calibration_cli

    return int(calibration_cli.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
