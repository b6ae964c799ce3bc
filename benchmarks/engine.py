"""Engine throughput: member-days per second and peak memory, measured through the CLI.

Runs ``python -m simulations run`` in a subprocess as a user would (classic policy, 24 months,
one replication) for 100k and 1M synthetic members, and reports wall time, member-days per
second (wall and CPU time: on a shared machine CPU time is the steadier figure) and the
child's peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``); then the speed
ratio against the per-member SimPy reference model on 10k members.

Usage: ``python benchmarks/engine.py [--sizes 100000 1000000]``.
"""

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "simulations"))

POLICY = ROOT / "policies" / "examples" / "classic_four_tier.yaml"
MONTHS = 24
DAYS = 730  # 2026-01-01 .. 2027-12-31


def through_cli(members: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "results.json"
        command = [sys.executable, "-m", "simulations", "run", "--policy", str(POLICY),
                   "--members", str(members), "--months", str(MONTHS), "--replications", "1",
                   "--quiet", "--out", str(out)]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run(command, check=True, env=env, capture_output=True)
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, max(after.ru_maxrss, before.ru_maxrss) / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--reference-members", type=int, default=10_000)
    args = parser.parse_args()
    for members in args.sizes:
        wall, cpu, rss = through_cli(members)
        print(
            f"{members:>9,} members x {MONTHS} months: {wall:7.1f} s wall, {cpu:7.1f} s CPU"
            f" (incl. start-up), {members * DAYS / wall / 1e6:7.1f} M member-days/s wall,"
            f" {members * DAYS / cpu / 1e6:7.1f} M/s CPU, peak RSS {rss:,.0f} MB"
        )

    import numpy as np
    from reference_model import simulate_reference

    from policies.io import load_policy
    from simulations import DEFAULT_BEHAVIOR, Population, simulate_replication

    policy = load_policy(POLICY)
    # The engine alone (population built, compiled code loaded): what start-up costs aside.
    members = max(args.sizes)
    start = dt.date(2026, 1, 1)
    population = Population.synthetic(members, seed=1, as_of=start)
    simulate_replication(policy, DEFAULT_BEHAVIOR, Population.synthetic(1000, seed=1), start, 2,
                         np.random.SeedSequence(1))  # fmt: skip
    began, cpu = time.perf_counter(), time.process_time()
    simulate_replication(policy, DEFAULT_BEHAVIOR, population, start, MONTHS,
                         np.random.SeedSequence(1))  # fmt: skip
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(
        f"engine alone, {members:,} members x {MONTHS} months: {wall:.1f} s wall, {cpu:.1f} s CPU,"
        f" {members * DAYS / wall / 1e6:.0f} M member-days/s"
    )
    del population
    data = policy.model_dump()
    data["tiers"]["tiers"] = [{"name": "Member", "threshold": 0}]
    data["campaigns"], data["expiry"] = (), {"kind": "none"}
    simple = type(policy).model_validate(data)
    n = args.reference_members
    # The reference simulates new members only: acquire n members in the first month.
    behavior = DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": n / MONTHS})
    start = dt.date(2026, 1, 1)
    began = time.perf_counter()
    simulate_reference(simple, behavior, start, MONTHS, seed=1)
    slow = time.perf_counter() - began
    began = time.perf_counter()
    simulate_replication(simple, behavior, Population.empty(start), start, MONTHS,
                         np.random.SeedSequence(1))  # fmt: skip
    fast = time.perf_counter() - began
    print(
        f"reference model, {n:,} members joining over {MONTHS} months: {slow:.1f} s;"
        f" engine {fast:.2f} s; engine is {slow / fast:.0f}x faster"
    )


if __name__ == "__main__":
    main()
