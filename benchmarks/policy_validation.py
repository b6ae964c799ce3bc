"""Policy validation time for large calendars and documents up to 64 KB.

The designer re-validates the policy on every interaction, so validation must stay well
under a second for any policy a person could write. Measures `policies.io.parse_policy` on:

* the classic example;
* 80 exclusive ten-year campaigns that never clash (the case that was quadratic);
* 64 KB documents: as many exclusive ten-year campaigns as fit, once on distinct days and
  once running every day for members of different lifecycle states (every pair is compared);
* a 64 KB document of aliases just under the expansion budget.

Usage: ``python benchmarks/policy_validation.py [--repeat 5]``; prints the best time of each.
"""

import argparse
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policies.errors import PolicyValidationError  # noqa: E402
from policies.io import load_policy, parse_policy, policy_to_dict  # noqa: E402

CLASSIC = ROOT / "policies" / "examples" / "classic_four_tier.yaml"
LIMIT = 64 * 1024
STATES = ("new", "active", "silent", "dormant", "churned")
QUADRANTS = ("close_friends", "butterflies", "barnacles", "passers_by")
TIERS = ("Regular", "Silver", "Gold", "Diamond", "T0", "T1", "T2", "T3", "T4", "T5")


def campaign(i: int, daily: bool) -> dict:
    entry = {
        "id": f"c{i}",
        "name": f"Campaign {i}",
        "kind": "bonus_points",
        "start": "2025-01-01",
        "end": "2034-12-31",
        "points_multiplier": 2,
        "stacking": "exclusive",
    }
    if daily:
        # 10 tiers x 5 states x 4 quadrants: up to 200 campaigns no member can meet twice.
        entry["target"] = {
            "tiers": [TIERS[i % 10]],
            "lifecycle": [STATES[i // 10 % 5]],
            "quadrants": [QUADRANTS[i // 50 % 4]],
        }
    else:
        entry["recurrence"] = {"months": [i % 12 + 1], "day_of_month": i // 12 % 28 + 1}
    return entry


def calendar(count: int, daily: bool = False) -> str:
    data = policy_to_dict(load_policy(CLASSIC))
    tiers = data["tiers"]["tiers"]
    assert [tier["name"] for tier in tiers] == list(TIERS[:4])
    if daily:  # distinct one-tier targets: no two campaigns can reach the same member
        data["tiers"]["tiers"] = tiers + [
            {**tiers[-1], "name": f"T{i}", "threshold": tiers[-1]["threshold"] + i + 1}
            for i in range(6)
        ]
    data["campaigns"] = [campaign(i, daily) for i in range(count)]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def filling(daily: bool) -> str:
    count = 1
    while (count < 200 or not daily) and len(calendar(count + 1, daily).encode()) <= LIMIT:
        count += 1
    return calendar(count, daily)


def best_time(text: str, repeat: int) -> tuple[float, str]:
    times, outcome = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            policy = parse_policy(text, "benchmark")
            outcome = f"valid, {len(policy.campaigns)} campaigns"
        except PolicyValidationError as exc:
            outcome = f"refused: {exc.problems[0][1][:60]}"
        times.append(time.perf_counter() - start)
    return min(times), outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = {
        "classic example": CLASSIC.read_text(encoding="utf-8"),
        "80 exclusive 10-year campaigns": calendar(80),
        "64 KB: exclusive campaigns, distinct days": filling(daily=False),
        "exclusive daily campaigns, 200 disjoint targets": filling(daily=True),
        "64 KB: aliases near the budget": "a: &a ["
        + ",".join(["1"] * 300)
        + "]\nb: ["
        + ",".join(["*a"] * 300)
        + "]\n",
    }
    print(f"{'case':<52} {'bytes':>8} {'best s':>8}  outcome")
    for name, text in cases.items():
        seconds, outcome = best_time(text, args.repeat)
        print(f"{name:<52} {len(text.encode()):>8,} {seconds:>8.3f}  {outcome}")


if __name__ == "__main__":
    main()
