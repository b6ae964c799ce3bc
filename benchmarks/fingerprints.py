"""Fingerprints of many seeded runs: prove a speed change leaves every result bit-identical.

Runs each policy of the engine-vs-ledger tests (every campaign kind, targeted by quadrant,
lifecycle, birthday and tier; inactivity, fixed-date and points-band rules) and the example
policies, under two behaviors and two seeds: 3,000 synthetic members over 20 months, and a
traced run from an empty program over 15 months. Prints one line per run with a hash of its
monthly records, migration, cohorts and redemption rate (and, for the traced run, its final
tiers and trace). Run it before and after a change and compare:

    python benchmarks/fingerprints.py > before.txt   # on the old code
    python benchmarks/fingerprints.py > after.txt    # on the new code
    diff before.txt after.txt && echo identical

Any difference means the change moved a result; a change that is meant to (a fix, a new
random path) must say so and show its effect some other way.
"""

import datetime as dt
import hashlib
import json
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "simulations"))

import test_engine_ledger as cases  # noqa: E402

from policies.io import load_policy  # noqa: E402
from simulations import DEFAULT_BEHAVIOR, Population, simulate_replication  # noqa: E402

START = dt.date(2026, 1, 1)


def fingerprint(out) -> str:
    """A short hash of everything a replication reports."""
    digest = hashlib.sha256(json.dumps(out.monthly, sort_keys=True, default=str).encode())
    digest.update(np.asarray(out.migration).tobytes())
    digest.update(json.dumps(out.cohorts, sort_keys=True, default=str).encode())
    digest.update(repr(out.urr).encode())
    if out.final_tier is not None:
        digest.update(np.asarray(out.final_tier).tobytes())
        digest.update(pickle.dumps(out.trace, protocol=5))
    return digest.hexdigest()[:16]


def main() -> None:
    policies = dict(cases.POLICIES)
    for path in sorted((ROOT / "policies" / "examples").glob("*.yaml")):
        policies[f"example_{path.stem}"] = load_policy(path)
    for name, policy in sorted(policies.items()):
        for label, behavior in (("busy", cases.BUSY), ("default", DEFAULT_BEHAVIOR)):
            for seed in (7, 11):
                members = Population.synthetic(3000, seed=seed, as_of=START)
                run = simulate_replication(policy, behavior, members, START, 20,
                                           np.random.SeedSequence(seed))  # fmt: skip
                empty = Population.empty(START)
                traced = simulate_replication(policy, behavior, empty, START, 15,
                                              np.random.SeedSequence(seed), trace=True)  # fmt: skip
                print(name, label, seed, fingerprint(run), fingerprint(traced), flush=True)


if __name__ == "__main__":
    main()
