"""Benchmark: how fast the live ledger books a transaction log, and pricing throughput.

Prints transactions booked per second by `policies.ledger.replay` (the live system's path,
one member at a time within a day) and purchases priced per second by the vectorized
`policies.rules.price_purchases` (the simulator's path), with the classic example policy.

    python benchmarks/ledger.py [--members 5000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from policies.io import load_policy
from policies.ledger import replay
from policies.rules import price_purchases

POLICY = Path(__file__).resolve().parents[1] / "policies" / "examples" / "classic_four_tier.yaml"


def synthetic_log(n_members: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    joins = pd.Timestamp(2025, 1, 1) + pd.to_timedelta(rng.integers(0, 365, n_members), unit="D")
    births = pd.Timestamp(1990, 1, 1) + pd.to_timedelta(rng.integers(0, 365, n_members), unit="D")
    members = pd.DataFrame(
        {
            "member_id": [f"M{i:07d}" for i in range(n_members)],
            "join_date": joins.date,
            "birthday": births.date,
        }
    )
    counts = rng.poisson(12, n_members)
    owner = np.repeat(np.arange(n_members), counts)
    offsets = rng.integers(0, 700, owner.size)
    purchases = pd.DataFrame(
        {
            "member_id": members["member_id"].to_numpy()[owner],
            "date": (pd.to_datetime(members["join_date"]).to_numpy()[owner]
                     + offsets.astype("timedelta64[D]")),
            "amount": np.round(rng.gamma(2.0, 150.0, owner.size), 2),
        }
    )  # fmt: skip
    return members, purchases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    args = parser.parse_args()
    policy = load_policy(POLICY)
    members, purchases = synthetic_log(args.members, seed=1)

    start = time.perf_counter()
    result = replay(policy, members, purchases, end=dt.date(2027, 1, 31))
    elapsed = time.perf_counter() - start
    print(f"ledger replay: {len(purchases):,} purchases of {args.members:,} members")
    print(f"  {elapsed:.2f} s, {len(purchases) / elapsed:,.0f} purchases/s")
    print(f"  {len(result.entries):,} ledger entries")

    gross = np.round(np.random.default_rng(2).gamma(2.0, 150.0, 1_000_000), 2)
    tiers = np.random.default_rng(3).integers(0, 4, gross.size)
    start = time.perf_counter()
    price_purchases(policy, dt.date(2026, 3, 8), gross, tiers)
    elapsed = time.perf_counter() - start
    print(f"vectorized pricing: {gross.size / elapsed:,.0f} purchases/s (member day, 1M batch)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
