"""Plain-language diff of two policies (policies.diff.describe_changes)."""

import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.diff import LANGUAGES, describe_changes, format_money
from policies.diff_phrases import PHRASES
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
    tiers.append({**diamond, "name": "Black", "label": "黑卡", "threshold": 50000})
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


def test_every_phrase_renders_in_both_languages():
    """Same values in both languages; Chinese phrases carry no English word of their own."""
    assert set(LANGUAGES) == {"en", "zh"}
    formatter = string.Formatter()
    for key, texts in PHRASES.items():
        assert set(texts) == set(LANGUAGES), key
        fields = {
            lang: {f for _, f, _, _ in formatter.parse(text) if f} for lang, text in texts.items()
        }
        assert fields["en"] == fields["zh"], key
        values = {name: "值" for name in fields["en"]}
        rendered = {lang: text.format(**values) for lang, text in texts.items()}
        assert rendered["en"].strip(" ;,") or key in ("clauses", "list", "parts"), key
        assert not re.search(r"[A-Za-z]", rendered["zh"].replace("值", "")), (key, rendered["zh"])


def test_a_change_of_every_kind_reads_in_chinese(classic_policy, classic_data):
    """Under 中文 only the policy's own names (tiers, campaigns, ids) stay in Latin letters."""
    data = classic_data
    data["program"]["name"] = "经典四级会员计划"
    data["tiers"].update(qualifying_period={"kind": "calendar_year"}, upgrade_timing="at_review",
                         review_every_months=6, review_month=7, downgrade="at_review",
                         grace_months=3)  # fmt: skip
    tiers = data["tiers"]["tiers"]
    tiers[2].update(threshold=8000, label="黄金卡")
    tiers[1]["benefits"].update(earn_multiplier=1.3, discount_pct=3, birthday_bonus_points=1,
                                gift_cost_per_member=25)  # fmt: skip
    tiers[3] = {**tiers[3], "name": "Black", "label": "黑卡", "threshold": 50000}
    data["points"]["earn"].update(points_per_unit=2, per_amount=5, rounding="round",
                                  basis="gross", balance_bands=[{"min_balance": 5000,
                                  "multiplier": 1.5}])  # fmt: skip
    data["points"]["bonuses"].update(signup=50, birthday=100, referral=0)
    data["points"]["redemption"].update(point_value=0.02, cost_per_point=0.01,
        minimum_points=500, unit_points=50, max_points_per_year=1,
        windows=[{"start_month": 6, "start_day": 1, "end_month": 6, "end_day": 18}])  # fmt: skip
    data["expiry"] = {"kind": "fixed_date", "month": 12, "day": 31, "years_after": 1}
    data["margins"] = {"gross_margin_pct": 30}
    data["segments"].update(new_days=60, active_days=120, silent_days=200, dormant_days=400,
                            quadrant_min_purchases=3, quadrant_min_spend=2000)  # fmt: skip
    member_day, birthday = data["campaigns"]
    member_day.update(name="会员日", end="2029-12-31", points_multiplier=3, stacking="best",
                      recurrence={"weekday": 4, "months": [3, 9]},
                      target={"lifecycle": ["active"], "quadrants": ["close_friends"]})  # fmt: skip
    del data["campaigns"][1]
    data["campaigns"] += [
        {"id": "cny", "name": "New Year", "kind": "threshold_reduction", "start": "2026-02-07",
         "end": "2026-02-23", "threshold": 200, "reduction": 30, "coupon_value": 10},
        {"id": "back", "name": "Come back", "kind": "reactivation", "start": "2026-03-01",
         "end": "2026-03-31", "recency_days": 180, "bonus_points": 300, "discount_pct": 5},
    ]  # fmt: skip
    new = changed(data)
    lines = describe_changes(classic_policy, new, lang="zh")
    english = describe_changes(classic_policy, new)
    assert len(lines) == len(english) >= 40
    assert "黄金卡 门槛：¥10,000 → ¥8,000" in lines  # a tier by its label (the policy's name)
    assert "Gold 显示名称：“金卡” → “黄金卡”" in lines
    assert "兑换时段：12月1日–12月31日 → 6月1日–6月18日" in lines
    assert "积分有效期：获得当月后 12 个月过期 → 每年获得的积分于次年12月31日过期" in lines
    # the policies' own names are data; what is left must be Chinese, numbers and symbols
    data_names = {classic_policy.program.name, new.program.name, "Gold"}  # its label changes
    for policy in (classic_policy, new):
        data_names |= {tier.name for tier in policy.tiers.tiers if not tier.label}
        data_names |= {c.name for c in policy.campaigns} | {c.id for c in policy.campaigns}
    for line in lines:
        for name in sorted(data_names, key=len, reverse=True):
            line = line.replace(name, "")
        assert not re.search(r"[A-Za-z]", line), line


def test_an_unknown_language_is_refused(classic_policy):
    with pytest.raises(ValueError, match=r"lang\(='fr'\) must be one of en, zh"):
        describe_changes(classic_policy, classic_policy, lang="fr")
