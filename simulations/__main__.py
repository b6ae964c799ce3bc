"""Command line: ``python -m simulations run | finance | calibrate | backtest ...``.

``run`` simulates a policy and writes JSON ``{"summary": {kpi: {p10, p50, p90}}, "monthly":
[...], "tier_migration": [...], "cohort_retention": [...], "units": {"summary": {kpi: unit},
"monthly": {column: unit}}, ...}`` (written whole or not at all; what each column means is
declared in `simulations.results.METRICS`). Without ``--members`` it simulates the members in the
database (the store package), or 20,000 synthetic members when no database is available.
A policy that does not validate prints the problems and exits with status 2.

``finance`` writes the IFRS 15 / CAS 14 deferral schedule of a periods CSV or of a ``run``
result (`simulations.deferral`); a table it cannot schedule prints the row, column and
what is valid, exits with status 2 and writes nothing.

``backtest`` compares a forecast from the data up to a cutoff with the months after it
(`simulations.backtest`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from simulations import report, sweep_cli
from simulations.command_line import output_problem, progress_bar

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
    run.add_argument(
        "--start",
        type=dt.date.fromisoformat,
        help="first simulated day, YYYY-MM-DD (default: the day after the database's data"
        " ends; today for synthetic members)",
    )
    run.add_argument("--baseline", help="baseline policy file for incremental revenue and ROI")
    run.add_argument("--workers", type=int, default=1, help="processes for replications")
    run.add_argument("--out", required=True, help="results JSON file")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_finance_parser(sub)
    sweep_cli.add_parsers(sub)
    _add_backtest_parser(sub)
    report.add_parser(sub)
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


def _add_backtest_parser(sub) -> None:
    backtest = sub.add_parser(
        "backtest",
        help="calibrate up to a cutoff, forecast the months after it, compare with the data",
        description="Calibrate on the data up to --cutoff, simulate the following months from"
        " the members as of the day after, and compare with what the data records (JSON:"
        " monthly and summary records, breakage, coverage, two reference forecasts). Exit"
        " status: 0 written; 2 unusable input; 3 the purchase model did not converge;"
        " 4 written, but a fit failed and defaults were used (see the warnings).",
    )
    backtest.add_argument("--cutoff", required=True, type=dt.date.fromisoformat,
                          help="last day of calibration data, YYYY-MM-DD")  # fmt: skip
    backtest.add_argument("--months", type=int, default=12, help="holdout months (default 12)")
    backtest.add_argument(
        "--policy",
        help="policy in force over the data (file), or 'none' for a business without a"
        " program (default: the published policy, else the sample program's)",
    )
    backtest.add_argument("--transactions", help="transactions CSV (default: the database)")
    backtest.add_argument("--ledger", help="points ledger CSV")
    backtest.add_argument("--members", help="members CSV")
    backtest.add_argument("--arrivals", choices=("forecast", "actual"), default="forecast",
                          help="new members: forecast or the recorded sign-ups")  # fmt: skip
    backtest.add_argument("--replications", type=int, default=20)
    backtest.add_argument("--seed", type=int, default=42)
    backtest.add_argument(
        "--parameter-uncertainty",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="draw the fitted parameters per replication (default: on)",
    )
    backtest.add_argument("--out", required=True, help="backtest JSON file")


def _database_population(start: dt.date | None, behavior, seed: int):
    """Members from the database as of ``start`` (default: the day after its data ends).

    Falls back, with a notice, to 20,000 synthetic members drawn with the run's ``seed``,
    starting ``start`` (default: today), when no database is available.
    """
    from simulations.build import database_population
    from simulations.population import Population

    try:
        import store

        store.ensure_database()
        return database_population(as_of=start)
    except Exception as exc:  # any failure means: no usable database
        print(
            f"no member database available ({type(exc).__name__}); simulating 20,000"
            " synthetic members instead",
            file=sys.stderr,
        )
        return Population.synthetic(20_000, behavior, seed=seed, as_of=start or dt.date.today())


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


# -- Checks before a run: arguments, memory, the output file -----------------------------------

EARLIEST_START = dt.date(1970, 1, 1)
LATEST_START = dt.date(2200, 12, 31)
MAX_MONTHS = 240
MAX_REPLICATIONS = 10_000
MAX_WORKERS = 256
BYTES_PER_MEMBER = 700
"""Peak memory per simulated member in one process (measured: about 620 bytes, 24 or 120
months, with or without a baseline; ``python benchmarks/engine.py`` prints the peak RSS)."""
BYTES_PER_PROCESS = 350 * 2**20
"""Peak memory of one simulating process before its members (interpreter, numpy, numba)."""


def _argument_problems(args) -> list[str]:
    """What is wrong with the ``run`` arguments, each naming the option and what is valid."""
    problems = []
    if args.members is not None and args.members < 0:
        problems.append(f"--members(={args.members}) must be 0 or more")
    if not 1 <= args.months <= MAX_MONTHS:
        problems.append(f"--months(={args.months}) must be between 1 and {MAX_MONTHS}")
    if not 1 <= args.replications <= MAX_REPLICATIONS:
        problems.append(
            f"--replications(={args.replications}) must be between 1 and {MAX_REPLICATIONS}"
        )
    if not 1 <= args.workers <= MAX_WORKERS:
        problems.append(f"--workers(={args.workers}) must be between 1 and {MAX_WORKERS}")
    if not 0 <= args.seed < 2**128:
        problems.append(f"--seed(={args.seed}) must be a whole number from 0 to 2**128 - 1")
    if args.start is not None and not EARLIEST_START <= args.start <= LATEST_START:
        problems.append(
            f"--start(={args.start}) must be between {EARLIEST_START} and {LATEST_START}"
        )
    return problems


def _available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``), if known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_estimate(members: int, replications: int = 1, workers: int = 1) -> int:
    """Bytes a run of ``members`` needs at its peak (every process that holds them counted).

    With several workers each worker process holds its own copy of the members and its own
    working arrays, and the parent keeps the population.
    """
    processes = 1 if workers == 1 or replications == 1 else min(workers, replications) + 1
    return processes * (BYTES_PER_PROCESS + BYTES_PER_MEMBER * members)


def _memory_problem(members: int, replications: int, workers: int) -> str | None:
    available = _available_memory()
    needed = memory_estimate(members, replications, workers)
    if available is None or needed <= available:
        return None
    processes = 1 if workers == 1 or replications == 1 else min(workers, replications) + 1
    fits = max((available // processes - BYTES_PER_PROCESS) // BYTES_PER_MEMBER, 0)
    return (
        f"{members:,} members would need about {needed / 2**30:,.1f} GiB of memory"
        f" ({processes} process(es) x ({BYTES_PER_PROCESS / 2**20:.0f} MiB + about"
        f" {BYTES_PER_MEMBER} bytes per member)); {available / 2**30:,.1f} GiB is available:"
        f" simulate at most about {fits:,} members here"
        + (", or use fewer --workers" if processes > 1 else "")
    )


def _non_finite(values, path: str = "") -> list[str]:
    """Paths of the non-finite numbers in nested dicts and lists."""
    import math

    if isinstance(values, dict):
        return [p for key, value in values.items() for p in _non_finite(value, f"{path}.{key}")]
    if isinstance(values, list | tuple):
        return [p for i, value in enumerate(values) for p in _non_finite(value, f"{path}[{i}]")]
    if isinstance(values, float) and not math.isfinite(values):
        return [f"{path.lstrip('.')}(={values})"]
    return []


# -- Ctrl-C -----------------------------------------------------------------------------------

_MAIN_PROCESS: list[int] = []
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT, as shells report it)."""


def _on_interrupt(signum, frame) -> None:
    """Stop at once: worker processes are killed (not waited for), then the run unwinds.

    Workers forked from this process inherit the handler; there it ends the worker quietly,
    the parent reports. Killing the workers first is what makes the pool's shutdown quick
    (it otherwise waits for their replications to finish).
    """
    import multiprocessing
    import os

    if _MAIN_PROCESS and os.getpid() != _MAIN_PROCESS[0]:
        os._exit(130)
    for child in multiprocessing.active_children():
        child.kill()
    raise KeyboardInterrupt


def _run_interruptible(args) -> int:
    """`_run`, with Ctrl-C ending it within moments, without a traceback or a written file."""
    import os
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return _run(args)  # only the main thread may handle signals
    _MAIN_PROCESS[:] = [os.getpid()]
    previous = signal.signal(signal.SIGINT, _on_interrupt)
    try:
        return _run(args)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while stopping
        print(
            f"\ninterrupted: nothing was written ({args.out} is as it was)",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_INTERRUPTED
    finally:
        _MAIN_PROCESS.clear()
        signal.signal(signal.SIGINT, previous)


def _run(args) -> int:
    problems = _argument_problems(args)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    from policies.errors import PolicyValidationError

    _small_pages()
    from policies.io import load_policy, write_atomic
    from simulations.behavior import DEFAULT_BEHAVIOR, load_behavior
    from simulations.build import build_model

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
    problems = [f"{args.behavior}: {p} must be a finite number" for p in
                _non_finite(behavior.model_dump(mode="python"))]  # fmt: skip
    if args.members is not None:
        problems.append(_memory_problem(args.members, args.replications, args.workers))
    problems.append(output_problem(args.out))
    if any(problems):
        print("\n".join(p for p in problems if p), file=sys.stderr)
        return 2
    if not args.behavior:
        print("note: member behavior is the built-in default (literature values), not estimated"
              " from your members; calibrate (python -m simulations calibrate) and pass"
              " --behavior to forecast with your own data", file=sys.stderr)  # fmt: skip
    lift = behavior.effects.reward_rate_lift
    print(f"note: assumed, not estimated: members buy {100 * lift:g}% more per percentage"
          " point of value back (effects.reward_rate_lift); no member data can estimate it",
          file=sys.stderr)  # fmt: skip
    if args.members is not None:
        population = args.members
    else:
        population = _database_population(args.start, behavior, args.seed)
        problem = _memory_problem(len(population), args.replications, args.workers)
        if problem:
            print(problem, file=sys.stderr)
            return 2
    model = build_model(
        policy,
        population=population,
        start=args.start if args.members is not None else None,
        behavior=behavior,
        months=args.months,
        replications=args.replications,
        seed=args.seed,
        baseline=baseline,
        workers=args.workers,
    )
    if args.start is None:
        print(f"simulating from {model.start}", file=sys.stderr)
    with progress_bar("simulating", quiet=args.quiet) as progress:
        result = model.run(progress=progress)
    output = report.results_document(result, policy)
    write_atomic(Path(args.out), json.dumps(output, ensure_ascii=False, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    fast = ("run", "finance", "sweep", "search", "report")
    parser = build_parser(with_calibrate=not argv or argv[0] not in fast)
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run_interruptible(args)
    if args.command == "finance":
        return _finance(args)
    if args.command in ("sweep", "search"):
        return sweep_cli.run(args)
    if args.command == "backtest":
        from simulations.backtest import run_cli

        return run_cli(args)
    if args.command == "report":
        return report.run_cli(args)
    from simulations.calibration import cli as calibration_cli

    return int(calibration_cli.run(args) or 0)


if __name__ == "__main__":
    status = main()
    if status == EXIT_INTERRUPTED:
        # Nothing is left to clean up: skip tearing down gigabytes of arrays and threads.
        sys.stdout.flush()
        sys.stderr.flush()
        import os

        os._exit(status)
    sys.exit(status)
