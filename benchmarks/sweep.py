"""Sweep throughput: member-days per second on local cores and on a 2-worker Dask cluster.

Sweeps the classic policy's Gold threshold over ``--points`` values (``--members`` synthetic
members, ``--months`` months, ``--replications`` replications per point) twice: on local
worker processes (one per core; in this process for a sweep too small to pay for them) and
on a `distributed.LocalCluster` of ``--workers`` worker processes (each with its share of
the cores), then checks that both backends give the identical table (same seeds, so they
must).

Both backends are warmed up first on a one-point sweep (compiled kernel loaded), so the
figures are the marginal speed a long sweep runs at, not start-up; the population is built
once, outside the timings (sending it to the workers is inside the cluster's).
Member-days = population members x simulated days x replications x points (new members
joining during the horizon, and the baseline's replications, simulated once for all points,
come on top). A run smaller than the issue's prints what its speed means for the full size.

Wall time is what a user waits; on a shared machine the CPU time of the processes doing the
work (this one, and the workers) is the steadier figure of the engine's speed. The cluster's
CPU time includes Dask's own (the scheduler in this process, the workers' event loops), which
grows with the wall time rather than with the work: on a busy machine it is a larger share.

Each backend's CPU time is also given per replication (the baseline's included): the marginal
cost of one more point is that times the replications.

Usage: ``python benchmarks/sweep.py`` (seconds), ``--points 8 --members 20000`` (a moderate
size), ``--local-only`` to skip the cluster (and the comparison), ``--full`` for the issue's
figure: 50 points x 100k members x 24 months x 10 replications (about 36 billion
member-days; only on a quiet machine, where it takes about 10 minutes on two cores: each
backend 4-5 minutes, plus start-up).
"""

import argparse
import dataclasses
import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from simulations import sweep  # noqa: E402

POLICY = ROOT / "policies" / "examples" / "classic_four_tier.yaml"
START = dt.date(2026, 1, 1)
FULL = {"points": 50, "members": 100_000, "months": 24, "replications": 10}


def make_spec(points: int, members: int, months: int, replications: int) -> sweep.SweepSpec:
    """A sweep of the Gold threshold over ``points`` values from ¥5,000 up in ¥200 steps."""
    return sweep.SweepSpec(
        policy=str(POLICY),
        population={"members": members},
        months=months,
        replications=replications,
        seed=7,
        start=START,
        parameters={
            "tiers.tiers[Gold].threshold": {"values": [5000 + 200 * i for i in range(points)]}
        },
    )


def days(months: int) -> int:
    """Simulated days of ``months`` calendar months from START."""
    end_month = START.month - 1 + months
    end = dt.date(START.year + end_month // 12, end_month % 12 + 1, 1)
    return (end - START).days


def timed(spec, setup, client=None) -> tuple[pd.DataFrame, float, float]:
    """The sweep's table, its wall time and the CPU time of every process doing the work."""

    def cpu_now() -> float:
        if client is not None:
            workers = sum(client.run(time.process_time).values())
        else:
            # Local worker processes: counted once they have ended (the sweep stops them).
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            workers = children.ru_utime + children.ru_stime
        return time.process_time() + workers

    shown = [0.0]

    def progress(fraction: float, message: str) -> None:
        if fraction >= shown[0] + 0.1 or fraction == 1.0:
            shown[0] = fraction
            print(f"  {message} after {time.perf_counter() - began:.0f} s", flush=True)

    began, cpu = time.perf_counter(), cpu_now()
    table = sweep.run_sweep(
        spec, client=client, store_points=False, setup=setup, notice=print, progress=progress
    )
    return table, time.perf_counter() - began, cpu_now() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=4)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--replications", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument(
        "--full", action="store_true", help="the issue's figure: 50 x 100k x 24 months x 10"
    )
    parser.add_argument(
        "--local-only", action="store_true", help="local cores only (no LocalCluster, no check)"
    )
    args = parser.parse_args()
    size = FULL if args.full else {k: getattr(args, k) for k in FULL}
    spec = make_spec(**size)
    member_days = size["points"] * size["members"] * days(size["months"]) * size["replications"]
    print(
        f"{size['points']} points x {size['members']:,} members x {size['months']} months x "
        f"{size['replications']} replications = {member_days / 1e9:.3f} billion member-days; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the run"
    )

    began = time.perf_counter()
    setup = sweep.build_setup(spec)
    print(f"population of {size['members']:,} built in {time.perf_counter() - began:.1f} s")
    # One point, one month, one replication, on the same population.
    warm = make_spec(1, size["members"], 1, 1)
    warm_setup = dataclasses.replace(setup, months=1, replications=1)
    sweep.run_sweep(warm, store_points=False, setup=warm_setup, notice=print)

    figures = {}
    local, wall, cpu = timed(spec, setup)
    figures["local cores"] = (wall, cpu)

    remote = None
    if not args.local_only:
        remote = cluster_run(spec, setup, warm, warm_setup, args.workers, figures)
    report(figures, size, member_days, args.full)
    if remote is not None:
        compare(local, remote)
    print(f"load average after the run: {os.getloadavg()[0]:.1f}")


def cluster_run(spec, setup, warm, warm_setup, workers: int, figures: dict) -> pd.DataFrame:
    """The sweep on a LocalCluster of ``workers`` processes (its figures added to ``figures``)."""
    import dask
    from distributed import Client, LocalCluster

    # The workers' statistical profiler samples every 10 ms, even between tasks: a few
    # percent of a core each, which is Dask's cost, not the engine's (measured: 0.03 CPU-s
    # per worker-second idle with it, 0.02 without).
    dask.config.set({"distributed.worker.profile.enabled": False})
    threads = str(max((os.cpu_count() or 1) // workers, 1))
    began = time.perf_counter()
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            # Each worker's engine uses its share of the cores, not all of them.
            env={"MEMBERLAB_THREADS": threads},
        ) as cluster,
        Client(cluster) as client,
    ):
        # Every worker loads the compiled kernel before the clock starts.
        client.run(sweep.evaluate_point, warm_setup, sweep.grid_points(warm)[0])
        print(f"cluster started and warmed up in {time.perf_counter() - began:.1f} s")
        remote, wall, cpu = timed(spec, setup, client)
        figures[f"LocalCluster, {workers} workers"] = (wall, cpu)
    return remote


def report(figures: dict, size: dict, member_days: int, full: bool) -> None:
    """Print each backend's speed, and what it means for the issue's full sweep."""
    full_days = FULL["points"] * FULL["members"] * days(FULL["months"]) * FULL["replications"]
    cores = os.cpu_count() or 1
    # The baseline's replications are simulated once for the whole sweep.
    runs = (size["points"] + 1) * size["replications"]
    for backend, (wall, cpu) in figures.items():
        print(
            f"{backend:>24}: {wall:7.1f} s wall, {member_days / wall / 1e6:7.1f} M member-days/s"
            f" ({member_days / wall / 500e6:.1%} of 500M/s); {cpu:7.1f} s CPU,"
            f" {member_days / cpu / 1e6:7.1f} M member-days per CPU-second,"
            f" {cpu / runs:.3f} CPU-s per replication ({runs} with the baseline's)"
        )
        if not full:
            print(
                f"{'':>24}  at this speed the full sweep ({full_days / 1e9:.1f} billion"
                f" member-days) takes {full_days / member_days * wall:,.0f} s wall here, or"
                f" {full_days / (member_days / cpu) / cores:,.0f} s on {cores} idle cores"
            )
    print(
        f"goal: {full_days / 1e9:.1f} billion member-days in under 120 s ="
        f" {full_days / 120 / 1e6:,.0f} M member-days/s"
        f" ({full_days / 120 / cores / 1e6:,.0f} M per CPU-second on {cores} cores)"
    )


def compare(local: pd.DataFrame, remote: pd.DataFrame) -> None:
    """Exit with an error when the two backends' tables differ."""
    try:
        pd.testing.assert_frame_equal(local, remote)
    except AssertionError as exc:
        print(f"tables DIFFER between the backends: {exc}")
        raise SystemExit(1) from None
    points = local["point"].nunique()
    print(f"tables identical on both backends ({len(local):,} rows, {points} points)")


if __name__ == "__main__":
    main()
