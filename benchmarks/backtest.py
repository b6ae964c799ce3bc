"""Backtest acceptance figures on the shipped sample program.

For each cutoff (default 2025-04-30 and 2025-10-31), calibrates on the shipped sample up to
the cutoff, simulates 12 months (fewer where the data ends) under the sample's policy and
prints, for segment ``all``: the horizon error (P50 / actual - 1) of purchases, gross
revenue and points issued, redeemed and expired against the ±5% target; breakage (forecast
P50 vs actual, same definition) against the 3-point target; coverage (share of month x
metric cells whose actual lies in P10..P90) against 80%; and the revenue error of the engine
against the two reference forecasts (seasonal naive, BG/NBD + Gamma-Gamma).

Usage: ``python benchmarks/backtest.py [--cutoffs 2025-04-30 2025-10-31] [--replications 20]
[--policy none] [--arrivals actual] [--no-parameter-uncertainty]``.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = ("purchases", "revenue_gross", "points_issued", "points_redeemed", "points_expired")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cutoffs", nargs="+", default=["2025-04-30", "2025-10-31"])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--policy", default=None, help="policy file, or none")
    parser.add_argument("--arrivals", choices=("forecast", "actual"), default="forecast")
    parser.add_argument(
        "--parameter-uncertainty", action=argparse.BooleanOptionalAction, default=True
    )
    args = parser.parse_args()

    from policies.io import load_policy
    from sample_data import load_sample
    from simulations.backtest import backtest

    program = load_sample()
    if args.policy == "none":
        policy = None
    else:
        policy = load_policy(args.policy or ROOT / "policies/examples/classic_four_tier.yaml")
    for cutoff in args.cutoffs:
        began, began_cpu = time.perf_counter(), time.process_time()
        result = backtest(
            program.transactions, program.points_ledger, program.members, cutoff=cutoff,
            months=args.months, policy=policy, arrivals=args.arrivals,
            replications=args.replications, seed=args.seed,
            parameter_uncertainty=args.parameter_uncertainty,
        )  # fmt: skip
        seconds, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        inputs = result.inputs
        print(f"\ncutoff {cutoff}: {inputs['first_month']}..{inputs['last_month']}"
              f" ({inputs['months']} months), {inputs['replications']} replications,"
              f" arrivals {inputs['arrivals']}, parameter uncertainty"
              f" {'on' if inputs['parameter_uncertainty'] else 'off'}, {seconds:.0f} s wall,"
              f" {cpu:.0f} s CPU")  # fmt: skip
        summary = result.summary.set_index(["metric", "segment"])
        for metric in TARGETS:
            if (metric, "all") not in summary.index:
                continue
            row = summary.loc[(metric, "all")]
            ok = "met" if abs(row["error"]) <= 0.05 else "MISSED"
            print(f"  {metric:16s} actual {row['actual']:>14,.0f}  P50 {row['p50']:>14,.0f}"
                  f"  error {row['error']:+7.1%}  (±5%: {ok})")  # fmt: skip
        for metric in ("purchases", "revenue_gross"):
            if (metric, "existing") in summary.index:
                ex, new = summary.loc[(metric, "existing")], summary.loc[(metric, "new")]
                print(f"  {metric:16s} existing {ex['error']:+7.1%}, new {new['error']:+7.1%}")
        b = result.breakage
        if b.get("p50") is not None:
            gap = 100 * (b["p50"] - b["actual"])
            ok = "met" if abs(gap) <= 3 else "MISSED"
            print(f"  breakage ({b['definition']}): forecast P50 {b['p50']:.3f}"
                  f" [{b['p10']:.3f}, {b['p90']:.3f}] vs actual {b['actual']:.3f}:"
                  f" {gap:+.1f} points (3 points: {ok}); 12 months before the cutoff"
                  f" {b['history_12m_before_cutoff']:.3f}")  # fmt: skip
        cov = result.coverage
        ok = "met" if cov["share"] >= 0.8 else "MISSED"
        per = ", ".join(f"{k} {v:.0%}" for k, v in cov["by_metric"].items())
        print(f"  coverage {cov['share']:.0%} of {cov['cells']} cells (80%: {ok}); {per}")
        table = result.comparison("revenue_gross")
        errors = ", ".join(f"{r.forecast} {r.error:+.1%}" for r in table.itertuples())
        engine = table.loc[table["forecast"] == "engine", "abs_error"].iloc[0]
        refs = table.loc[table["forecast"] != "engine", "abs_error"]
        ok = "met" if (engine <= refs).all() else "MISSED"
        print(f"  revenue error: {errors} (engine at least as accurate as both: {ok})")
        for note in result.calibration["fallbacks"]:
            print(f"  WARNING: {note}")
        acquisition = result.calibration["diagnostics"].get("new_members")
        if acquisition:
            print(f"  new members: {', '.join(acquisition['estimated'])} estimated from"
                  f" {acquisition['months_used']['count']} months; trend"
                  f" {acquisition['trend_per_month']:+.2%} per month")  # fmt: skip
        for note in result.calibration["notes"]:
            if note.startswith("new members"):
                print(f"  note: {note}")


if __name__ == "__main__":
    main()
