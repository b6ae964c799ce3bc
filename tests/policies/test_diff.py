"""Plain-language diff of two policies (policies.diff.describe_changes)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.diff import describe_changes, format_money
from policies.io import content_id, policy_from_dict


def changed(data):
    return policy_from_dict(data, "edited")


def test_same_policy_has_no_changes(classic_policy):
    assert describe_changes(classic_policy, classic_policy) == []


def test_threshold_in_the_programs_currency(classic_policy, classic_data):
    classic_data["tiers"]["tiers"][2]["threshold"] = 8000
    assert describe_changes(classic_policy, changed(classic_data)) == [
        "Gold threshold: ¥10,000 → ¥8,000"
    ]


def test_currency_symbol_comes_from_the_policy(classic_policy, classic_data):
    classic_data["program"].update(currency="USD", currency_symbol="$")
    classic_data["tiers"]["tiers"][1]["threshold"] = 2500.5
    lines = describe_changes(classic_policy, changed(classic_data))
    assert lines == ["Currency: CNY (¥) → USD ($)", "Silver threshold: $3,000 → $2,500.5"]


def test_purchase_thresholds_are_counted_not_priced(classic_policy, classic_data):
    classic_data["tiers"]["qualifying_metric"] = "purchases"
    classic_data["tiers"]["tiers"][1]["threshold"] = 1
    classic_data["tiers"]["tiers"][2]["threshold"] = 12
    classic_data["tiers"]["tiers"][3]["threshold"] = 30
    lines = describe_changes(classic_policy, changed(classic_data))
    assert lines[0] == "Tiers qualify on: spend → number of purchases"
    assert "Silver threshold: ¥3,000 → 1 purchase" in lines
    assert "Gold threshold: ¥10,000 → 12 purchases" in lines


def test_rates_benefits_and_redemption(classic_policy, classic_data):
    classic_data["points"]["earn"].update(points_per_unit=2, per_amount=5)
    classic_data["tiers"]["tiers"][3]["benefits"]["earn_multiplier"] = 2.5
    classic_data["tiers"]["tiers"][3]["benefits"]["discount_pct"] = 10
    redemption = classic_data["points"]["redemption"]
    redemption["point_value"] = 0.02
    redemption["windows"] = [
        {"start_month": 11, "start_day": 1, "end_month": 12, "end_day": 31},
        {"start_month": 6, "start_day": 18, "end_month": 6, "end_day": 18},
    ]
    redemption["max_points_per_year"] = 20000
    lines = describe_changes(classic_policy, changed(classic_data))
    assert "Earn rate: 1 point per ¥1 → 2 points per ¥5" in lines
    assert "Diamond earn multiplier: 2x → 2.5x" in lines
    assert "Diamond member discount: 8% → 10%" in lines
    assert "Point value: ¥0.01 → ¥0.02" in lines
    assert "Redemption windows: Dec 1–Dec 31 → Nov 1–Dec 31, Jun 18–Jun 18" in lines
    assert "Yearly redemption limit per member: no limit → 20,000 points" in lines
    assert len(lines) == 6


def test_any_time_redemption_and_expiry(classic_policy, classic_data):
    classic_data["points"]["redemption"]["windows"] = []
    classic_data["expiry"] = {"kind": "fixed_date", "month": 12, "day": 31, "years_after": 1}
    lines = describe_changes(classic_policy, changed(classic_data))
    assert lines == [
        "Redemption windows: Dec 1–Dec 31 → any time",
        "Points expiry: 12 months after the month earned → points earned in a year expire on"
        " Dec 31 of the following year",
    ]


def test_campaigns_added_removed_and_changed(classic_policy, classic_data):
    member_day = classic_data["campaigns"][0]
    member_day["points_multiplier"] = 3
    member_day["end"] = "2029-12-31"
    del classic_data["campaigns"][1]
    classic_data["campaigns"].append(
        {
            "id": "double-11",
            "name": "Double 11",
            "kind": "bonus_points",
            "start": "2025-11-01",
            "end": "2025-11-11",
            "points_multiplier": 2,
            "target": {"tiers": ["Gold", "Diamond"]},
        }
    )
    lines = describe_changes(classic_policy, changed(classic_data))
    assert lines == [
        "Campaign added: Double 11 (double-11): bonus points, 2025-11-01 to 2025-11-11,"
        " 2x points, for tiers Gold, Diamond",
        "Campaign removed: Double points on birthdays (birthday-double)",
        'Campaign "Member day on the 8th (会员日)" dates: 2023-01-01 to 2028-12-31 →'
        " 2023-01-01 to 2029-12-31",
        'Campaign "Member day on the 8th (会员日)" points multiplier: 2x → 3x',
    ]


def test_threshold_reduction_reads_like_the_offer(classic_policy, classic_data):
    classic_data["campaigns"].append(
        {
            "id": "cny",
            "name": "New Year",
            "kind": "threshold_reduction",
            "start": "2026-02-07",
            "end": "2026-02-23",
            "threshold": 200,
            "reduction": 30,
        }
    )
    (line,) = describe_changes(classic_policy, changed(classic_data))
    assert "¥30 off per ¥200" in line


def test_tiers_added_and_removed(classic_policy, classic_data):
    tiers = classic_data["tiers"]["tiers"]
    diamond = tiers.pop()
    tiers.append({**diamond, "name": "Black", "threshold": 50000})
    lines = describe_changes(classic_policy, changed(classic_data))
    assert lines == ["Tier added: Black from ¥50,000", "Tier removed: Diamond"]


def test_format_money():
    assert format_money(12000) == "¥12,000"
    assert format_money(0.006) == "¥0.006"
    assert format_money(-30, "$") == "-$30"
    assert format_money(1234.5, "€") == "€1,234.5"


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_changes_are_listed_exactly_when_the_content_differs(policy_strategy, data):
    old = data.draw(policy_strategy)
    if data.draw(st.booleans()):
        new = data.draw(policy_strategy)
    else:  # same content, rebuilt from plain data
        new = policy_from_dict(old.model_dump(mode="json"))
    lines = describe_changes(old, new)
    assert bool(lines) == (content_id(old) != content_id(new))
    assert describe_changes(new, new) == []
    assert all(" → " in line or line.startswith("Campaign ") for line in lines)
