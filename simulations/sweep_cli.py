"""Command line for sweeps and searches: ``python -m simulations sweep | search``.

``sweep --spec sweep.yaml --out sweep.csv [--cluster ADDRESS]`` simulates every grid point of
the spec and writes the tidy KPI table (point, parameters, kpi, unit, p10, p50, p90).
``search --spec search.yaml --out best.yaml [--trials-out trials.csv] [--cluster ADDRESS]``
writes the best feasible policy as a policy file (ready for Compare and Publish) and, when
asked, every trial. When the spec varies a field the simulated members do not respond to
(`simulations.responses`), both commands say so in English and Chinese, the tables carry it
in a column and the best policy file in a comment. Exit status: 0 done, 2 a spec or
argument that cannot run (the message says why; nothing is written), 3 a search in which no
trial met the constraints.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["add_parsers", "run"]


def add_parsers(sub) -> None:
    """Add the ``sweep`` and ``search`` commands to an argparse sub-parser set."""
    for name, help_text, out_help in (
        ("sweep", "simulate every point of a policy grid (tidy KPI table)", "KPI table CSV"),
        (
            "search",
            "search the policy space for the best plan under constraints",
            "best policy file (.yaml)",
        ),
    ):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--spec", required=True, help="sweep/search spec YAML")
        command.add_argument("--out", required=True, help=out_help)
        command.add_argument(
            "--cluster",
            help="Dask scheduler address (tcp://host:8786); default: the settings' "
            "MEMBERLAB_CLUSTER, else this machine's cores",
        )
        command.add_argument("--quiet", action="store_true", help="no progress bar")
        if name == "sweep":
            command.add_argument(
                "--no-store", action="store_true", help="do not keep finished points (no resume)"
            )
        else:
            command.add_argument("--trials-out", help="every trial as CSV")
            command.add_argument("--front-out", help="the Pareto front as CSV")


def _notice(message: str) -> None:
    print(message, file=sys.stderr)


def _caveat(spec, policy) -> None:
    """Say, in English and Chinese, which fields varied the members do not respond to."""
    from simulations.responses import caveat

    for lang in ("en", "zh"):
        text = caveat(spec.parameters, lang, policy)
        if text is not None:
            _notice(f"warning: {text}" if lang == "en" else f"警告：{text}")


def run(args) -> int:
    """Run ``sweep`` or ``search``; returns the exit status."""
    from policies.io import dump_policy, load_policy, write_atomic
    from policies.settings import get_settings
    from simulations import sweep
    from simulations.command_line import output_problem, progress_bar
    from simulations.responses import caveat

    out = Path(args.out)
    targets = {"--out": out, "--trials-out": getattr(args, "trials_out", None),
               "--front-out": getattr(args, "front_out", None)}  # fmt: skip
    problems = [output_problem(path, option) for option, path in targets.items() if path]
    if any(problems):
        _notice("\n".join(p for p in problems if p))
        return 2
    try:
        spec = sweep.load_spec(args.spec)
        if args.command == "search" and spec.search is None:
            raise sweep.SweepError(
                f"{args.spec}: a search needs a search: section (objectives, constraints, trials)"
            )
        address = args.cluster or get_settings().cluster or None
        client = sweep.connect(address)
    except sweep.SweepError as exc:
        _notice(str(exc))
        return 2
    try:
        with progress_bar(args.command, quiet=args.quiet) as progress:
            if args.command == "sweep":
                table = sweep.run_sweep(
                    spec,
                    client=client,
                    progress=progress,
                    store_points=not args.no_store,
                    notice=_notice,
                )
                write_atomic(out, table.to_csv(index=False))
                _notice(f"wrote {out} ({table['point'].nunique()} points)")
                _caveat(spec, load_policy(spec.resolve(spec.policy)))
                return 0
            found = sweep.run_search(spec, client=client, progress=progress)
    except sweep.SweepError as exc:
        _notice(str(exc))
        return 2
    finally:
        if client is not None:
            client.close()
    if args.trials_out:
        write_atomic(Path(args.trials_out), found.trials.to_csv(index=False))
    if args.front_out:
        write_atomic(Path(args.front_out), found.front.to_csv(index=False))
    if found.best_policy is None:
        _notice(f"no trial of {len(found.trials)} met the constraints; nothing written to {out}")
        return 3
    lines = [caveat(spec.parameters, lang, found.best_policy) for lang in ("en", "zh")]
    header = "".join(f"# {line}\n" for line in lines if line is not None)
    write_atomic(out, header + dump_policy(found.best_policy))
    best = found.best
    shown = ", ".join(f"{k}={best[k]}" for k in spec.parameters)
    first = spec.search.objectives[0].metric
    _notice(
        f"best: {shown}; {first} P50 {best[f'{first}_p50']:,.2f} "
        f"(P10 {best[f'{first}_p10']:,.2f}, P90 {best[f'{first}_p90']:,.2f}); constraints held "
        f"in {best['constraint_share']:.0%} of replications; wrote {out}"
    )
    _caveat(spec, found.best_policy)
    return 0
