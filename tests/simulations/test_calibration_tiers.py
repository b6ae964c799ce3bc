from pathlib import Path

import pandas as pd

from policies.io import load_policy
from simulations.calibration.data import check_transactions
from simulations.calibration.tiers import policy_tiers

CLASSIC = Path(__file__).resolve().parents[2] / "policies" / "examples" / "classic_four_tier.yaml"


def test_tiers_follow_immediate_upgrades_and_one_level_downgrades():
    # Classic: Silver 3,000 / Gold 10,000 / Diamond 30,000 on rolling 12-month spend,
    # immediate upgrades, January review dropping one level at a time.
    log = check_transactions(
        pd.DataFrame(
            {
                "member_id": ["X", "Y", "Z"],
                "date": ["2024-03-10", "2025-06-01", "2024-01-05"],
                "amount": [12000.0, 3500.0, 100.0],
            }
        )
    )
    months = pd.period_range("2024-01", "2026-02", freq="M")
    tiers = policy_tiers(load_policy(CLASSIC), log, months=months)
    held = tiers.set_index(["member_id", "month"])["tier"]
    assert held[("X", "2024-03")] == 0
    assert held[("X", "2024-04")] == 2  # Gold from the month after the purchase
    assert held[("X", "2025-01")] == 2  # the January 2025 review still sees March 2024
    assert held[("X", "2025-12")] == 2  # kept all year (no mid-year downgrade)
    assert held[("X", "2026-01")] == 1  # nothing bought in 2025: down one level only
    assert held[("Y", "2025-06")] == 0
    assert held[("Y", "2025-07")] == 1
    assert held[("Y", "2026-02")] == 1
    assert (held.xs("Z", level="member_id") == 0).all()
    assert set(tiers["month"]) == {str(m) for m in months}
