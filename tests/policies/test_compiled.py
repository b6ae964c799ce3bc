"""The scalar rules give the same numbers compiled (numba) and as plain Python.

The simulator runs `policies.compiled` through numba; a live system without numba runs the
same functions as Python. A subprocess with numba made unimportable prices random purchases
under policies with every pricing campaign kind, targets, stacking rules, roundings and
balance bands; its numbers must equal the compiled ones exactly.
"""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from policies import compiled, rules
from policies.io import load_policy

ROOT = Path(__file__).resolve().parents[2]
CLASSIC = load_policy(ROOT / "policies" / "examples" / "classic_four_tier.yaml")
DAY = dt.date(2026, 3, 8)


def _policies():
    out = []
    for k, (rounding, basis, per_amount, stacking) in enumerate(
        [("floor", "net", 1, "stack"), ("ceil", "gross", 2, "best"), ("round", "net", 10, "best")]
    ):
        data = CLASSIC.model_dump(mode="json")
        data["points"]["earn"].update(rounding=rounding, basis=basis, per_amount=per_amount)
        data["points"]["earn"]["balance_bands"] = [
            {"min_balance": 1000, "multiplier": 1.25}, {"min_balance": 5000, "multiplier": 1.5}
        ]  # fmt: skip
        common = {"start": "2026-01-01", "end": "2026-12-31", "stacking": stacking}
        data["campaigns"] = [
            {"id": "md", "name": "md", "kind": "member_day", "points_multiplier": 2 + k,
             "discount_pct": 5, "target": {"tiers": ["Silver", "Gold"]}, **common},
            {"id": "bp", "name": "bp", "kind": "bonus_points", "points_multiplier": 1.5,
             "discount_pct": 12.5, "target": {"lifecycle": ["active", "new"]}, **common},
            {"id": "bd", "name": "bd", "kind": "birthday", "points_multiplier": 3,
             "birthday_scope": ["day", "month"][k % 2], **common},
            {"id": "tr", "name": "tr", "kind": "threshold_reduction", "threshold": 200,
             "reduction": 30, "repeatable": k != 1, "target": {"quadrants": ["passers_by"]},
             **common},
        ]  # fmt: skip
        out.append(data)
    return out


def _inputs(seed: int, n: int = 400) -> dict:
    rng = np.random.default_rng(seed)
    gross = np.round(rng.gamma(1.5, 150.0, size=n), 2)
    gross[:5] = [0.0, 0.01, 199.99, 200.0, 400.0]
    return {
        "gross": gross.tolist(),
        "tier": rng.integers(0, 4, size=n).tolist(),
        "balance": rng.integers(0, 8000, size=n).tolist(),
        "birthday_today": (rng.random(n) < 0.3).tolist(),
        "birthday_month": (rng.random(n) < 0.5).tolist(),
        "lifecycle": rng.integers(0, 5, size=n).tolist(),
        "quadrant": rng.integers(0, 4, size=n).tolist(),
        "score": np.concatenate(
            [rng.uniform(0, 40_000, n), [2999.9999999, 3000.0, 10_000.0000004]]
        ).tolist(),
    }


PRICE = """
import datetime as dt, json, sys
import numpy as np
from policies import compiled, rules
from policies.model import Policy
cases = json.load(sys.stdin)
out = []
for data, inputs in cases:
    policy = Policy.model_validate(data)
    arrays = {k: np.asarray(v) for k, v in inputs.items()}
    priced = rules.price_purchases(
        policy, dt.date(2026, 3, 8), arrays["gross"], arrays["tier"],
        balance=arrays["balance"], birthday_today=arrays["birthday_today"],
        birthday_month=arrays["birthday_month"], lifecycle=arrays["lifecycle"],
        quadrant=arrays["quadrant"],
    )
    out.append({
        "numba": compiled.HAS_NUMBA,
        **{name: getattr(priced, name).tolist()
           for name in ("gross", "discount", "net", "base_points", "points")},
        "tier": rules.qualified_tier(policy, arrays["score"]).tolist(),
    })
json.dump(out, sys.stdout)
"""

NO_NUMBA = "import sys; sys.modules['numba'] = None\n"


def _price(cases, *, numba: bool) -> list[dict]:
    script = PRICE if numba else NO_NUMBA + PRICE
    done = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(cases), capture_output=True,
        text=True, check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )  # fmt: skip
    return json.loads(done.stdout)


def test_plain_python_rules_equal_the_compiled_rules():
    assert compiled.HAS_NUMBA, "numba is a requirement of the simulator"
    cases = [(data, _inputs(seed)) for seed, data in enumerate(_policies())]
    plain = _price(cases, numba=False)
    fast = _price(cases, numba=True)
    assert not any(case["numba"] for case in plain) and all(case["numba"] for case in fast)
    for slow_case, fast_case in zip(plain, fast, strict=True):
        for name in ("gross", "discount", "net", "base_points", "points", "tier"):
            assert slow_case[name] == fast_case[name], name
    # The cases exercise the campaigns: some purchases earn more than the base rate.
    assert any(
        p > b for case in fast for p, b in zip(case["points"], case["base_points"], strict=True)
    )


def test_campaign_semantics_answered_by_the_campaign():
    table = rules.campaign_table(
        CLASSIC, [rules.pricing_rows(CLASSIC, DAY)], lambda c: c.points_multiplier - 1
    )
    assert table.ptr.tolist() == [0, 2]  # member day and birthday offer price purchases
    assert [c.is_targeted for c in CLASSIC.campaigns] == [False, True]
    assert table.birthday.tolist() == [compiled.BIRTHDAY_NONE, compiled.BIRTHDAY_DAY]


def test_contact_targeting_picks_the_members_the_target_names():
    """`targets_many` (the simulator's contacts) against the campaign's own target, by name."""
    data = CLASSIC.model_dump(mode="json")
    common = {"start": "2026-01-01", "end": "2026-12-31", "recency_days": 30}
    targets = [
        {"tiers": ["Silver", "Diamond"]},
        {"lifecycle": ["silent", "dormant"], "quadrants": ["passers_by", "barnacles"]},
        {"tiers": ["Regular"], "lifecycle": ["new"]},
        {},
    ]
    data["campaigns"] = [
        {"id": f"c{k}", "name": f"c{k}", "kind": "reactivation", "target": target, **common}
        for k, target in enumerate(targets)
    ]
    policy = type(CLASSIC).model_validate(data)
    table = rules.campaign_table(policy, [policy.campaigns], lambda c: 0.0)
    rng = np.random.default_rng(7)
    n = 500
    tier, lifecycle, quadrant = (rng.integers(0, k, size=n) for k in (4, 5, 4))
    no = np.zeros(n, dtype=np.bool_)
    for row, campaign in enumerate(policy.campaigns):
        target = campaign.target
        want = np.ones(n, dtype=bool)
        if target.tiers:
            want &= np.isin(tier, [policy.tiers.tier_index(t) for t in target.tiers])
        if target.lifecycle:
            want &= np.isin(lifecycle, [rules.LIFECYCLE_CODES[s] for s in target.lifecycle])
        if target.quadrants:
            want &= np.isin(quadrant, [rules.QUADRANT_CODES[q] for q in target.quadrants])
        got = compiled.targets_many(table, row, tier, lifecycle, quadrant, no, no)
        np.testing.assert_array_equal(got, want)
        assert 0 < want.sum() <= n
