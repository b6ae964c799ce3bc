"""The policy model: what it accepts, and messages that name the field, the value and the fix."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from policies.errors import PolicyValidationError
from policies.io import load_policy, parse_policy, policy_from_dict, policy_to_dict

CLASSIC = load_policy(
    Path(__file__).resolve().parents[2] / "policies" / "examples" / "classic_four_tier.yaml"
)


def problems_of(data):
    with pytest.raises(PolicyValidationError) as info:
        policy_from_dict(data, "plan.yaml")
    return info.value


def test_every_example_is_valid(example_paths):
    assert len(example_paths) >= 3
    for path in example_paths:
        policy = load_policy(path)
        assert policy.tier_names[0] == policy.tiers.tiers[0].name
        assert policy.tiers.tiers[0].threshold == 0


def test_examples_cover_the_documented_variants(examples_dir):
    beauty = load_policy(examples_dir / "beauty_cafe_three_tier.yaml")
    assert beauty.tiers.qualifying_metric == "purchases"
    assert beauty.expiry.kind == "inactivity"
    member_days = [c for c in beauty.campaigns if c.kind == "member_day"]
    assert member_days and member_days[0].recurrence.weekday is not None

    market = load_policy(examples_dir / "supermarket_calendar_year.yaml")
    assert market.tiers.qualifying_period.kind == "calendar_year"
    assert (market.expiry.kind, market.expiry.month, market.expiry.day) == ("fixed_date", 12, 31)
    assert market.expiry.years_after == 1
    assert market.points.earn.balance_bands
    kinds = {c.kind for c in market.campaigns}
    assert {"bonus_points", "threshold_reduction", "reactivation"} <= kinds
    reduction = next(c for c in market.campaigns if c.kind == "threshold_reduction")
    assert (reduction.threshold, reduction.reduction) == (200, 30)


def test_policy_is_immutable(classic_policy):
    with pytest.raises(ValidationError):
        classic_policy.program.name = "changed"
    assert isinstance(classic_policy.campaigns, tuple)
    assert isinstance(classic_policy.tiers.tiers, tuple)


def test_negative_earn_rate_names_the_field_and_value(classic_data):
    classic_data["points"]["earn"]["points_per_unit"] = -1
    error = problems_of(classic_data)
    assert error.problems[0][0] == "points.earn.points_per_unit"
    assert "greater than 0" in error.problems[0][1]
    assert "-1" in error.problems[0][1]
    assert str(error).startswith("plan.yaml is not a valid policy")


def test_thresholds_not_increasing(classic_data):
    classic_data["tiers"]["tiers"][2]["threshold"] = 2000  # Gold below Silver's 3000
    message = str(problems_of(classic_data))
    assert "tiers[2].threshold(=2000)" in message
    assert "Gold" in message and "3000" in message
    assert "thresholds must increase" in message


def test_entry_tier_must_start_at_zero(classic_data):
    classic_data["tiers"]["tiers"][0]["threshold"] = 100
    message = str(problems_of(classic_data))
    assert "tiers[0]" in message and "(=100)" in message and "must be 0" in message


def test_unknown_tier_in_campaign_target(classic_data):
    classic_data["campaigns"][0]["target"]["tiers"] = ["Platinum"]
    message = str(problems_of(classic_data))
    assert "campaigns[0]" in message and "member-day" in message
    assert "Platinum" in message
    assert "known tiers: Diamond, Gold, Regular, Silver" in message


def test_campaign_ending_before_it_starts(classic_data):
    classic_data["campaigns"][1]["end"] = "2022-06-30"
    error = problems_of(classic_data)
    path, message = error.problems[0]
    assert path == "campaigns[1].end"
    assert "end(=2022-06-30)" in message and "start(=2023-01-01)" in message


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("end_month", 13, "less than or equal to 12"),
        ("start_month", 0, "greater than or equal to 1"),
        ("end_day", 32, "less than or equal to 31"),
    ],
)
def test_redemption_window_outside_the_year(classic_data, field, value, expected):
    classic_data["points"]["redemption"]["windows"][0][field] = value
    error = problems_of(classic_data)
    path, message = error.problems[0]
    assert path == f"points.redemption.windows[0].{field}"
    assert expected in message and f"(got {value})" in message


def test_redemption_window_on_a_day_that_does_not_exist(classic_data):
    classic_data["points"]["redemption"]["windows"][0].update(start_month=2, start_day=30)
    path, message = problems_of(classic_data).problems[0]
    assert path == "points.redemption.windows[0]"
    assert "start_day(=30)" in message and "month 2" in message and "1..29" in message


def test_overlapping_exclusive_campaigns(classic_data):
    classic_data["campaigns"][0]["stacking"] = "exclusive"
    message = str(problems_of(classic_data))
    assert "campaigns[0] (member-day) and campaigns[1] (birthday-double)" in message
    # A birthday can fall on any day, so the first clash is the first member day (the 8th).
    assert "both run on 2023-01-08" in message
    assert "'exclusive'" in message and "'stack' or 'best'" in message


def test_exclusive_campaigns_on_different_days_are_fine(classic_data):
    member_day = classic_data["campaigns"][0]
    member_day["stacking"] = "exclusive"
    classic_data["campaigns"][1].update(start="2029-01-01", end="2029-12-31")
    policy = policy_from_dict(classic_data)
    assert policy.campaigns[0].stacking == "exclusive"


def test_malformed_yaml_names_the_line():
    with pytest.raises(PolicyValidationError) as info:
        parse_policy("program:\n  name: [unclosed\n", "broken.yaml")
    message = str(info.value)
    assert message.startswith("broken.yaml is not a valid policy")
    assert "not valid YAML/JSON at line" in message


def test_a_yaml_list_is_not_a_policy():
    with pytest.raises(PolicyValidationError) as info:
        parse_policy("- 1\n- 2\n", "list.yaml")
    assert "expected a mapping of policy sections, got list" in str(info.value)


def test_unknown_field_is_refused_with_its_path(classic_data):
    classic_data["points"]["earn"]["points_per_yuan"] = 2
    path, message = problems_of(classic_data).problems[0]
    assert path == "points.earn.points_per_yuan"
    assert "Extra inputs are not permitted" in message


def test_wrong_type_shows_the_value(classic_data):
    classic_data["tiers"]["tiers"][1]["threshold"] = "three thousand"
    path, message = problems_of(classic_data).problems[0]
    assert path == "tiers.tiers[1].threshold"
    assert "'three thousand'" in message


def test_unknown_timezone(classic_data):
    classic_data["program"]["timezone"] = "Mars/Olympus"
    path, message = problems_of(classic_data).problems[0]
    assert path == "program.timezone"
    assert "Mars/Olympus" in message and "Asia/Shanghai" in message


def test_every_problem_is_reported_at_once(classic_data):
    classic_data["points"]["earn"]["points_per_unit"] = -1
    classic_data["points"]["redemption"]["unit_points"] = 0
    error = problems_of(classic_data)
    paths = {path for path, _ in error.problems}
    assert {"points.earn.points_per_unit", "points.redemption.unit_points"} <= paths
    assert "(2 problem(s))" in str(error)


def test_threshold_reduction_must_take_less_than_it_needs(classic_data):
    classic_data["campaigns"].append(
        {
            "id": "bad-deal",
            "name": "Too generous",
            "kind": "threshold_reduction",
            "start": "2025-01-01",
            "end": "2025-01-31",
            "threshold": 200,
            "reduction": 250,
        }
    )
    path, message = problems_of(classic_data).problems[0]
    assert path == "campaigns[2].reduction"
    assert "reduction(=250)" in message and "threshold(=200)" in message


@given(
    thresholds=st.lists(
        st.one_of(st.just(0.0), st.floats(0, 1e6, allow_nan=False)), min_size=4, max_size=4
    )
)
def test_thresholds_are_accepted_exactly_when_they_start_at_zero_and_increase(thresholds):
    data = policy_to_dict(CLASSIC)
    for tier, value in zip(data["tiers"]["tiers"], thresholds, strict=True):
        tier["threshold"] = value
    increasing = all(a < b for a, b in zip(thresholds, thresholds[1:], strict=False))
    if thresholds[0] == 0 and increasing:
        assert policy_from_dict(data).tiers.tiers[-1].threshold == thresholds[-1]
    else:
        with pytest.raises(PolicyValidationError) as info:
            policy_from_dict(data)
        assert "threshold" in str(info.value)


def test_margins_are_optional_and_leave_existing_content_ids_alone():
    from policies.io import content_id, load_policy, policy_from_dict, policy_to_dict

    policy = load_policy(
        Path(__file__).resolve().parents[2] / "policies/examples/classic_four_tier.yaml"
    )
    assert "margins" not in policy_to_dict(policy)
    data = {**policy_to_dict(policy), "margins": {"gross_margin_pct": 35}}
    with_margin = policy_from_dict(data)
    assert with_margin.margins.gross_margin_pct == 35
    assert policy_from_dict(policy_to_dict(with_margin)) == with_margin
    assert content_id(with_margin) != content_id(policy)
    bad = {**data, "margins": {"gross_margin_pct": 135}}
    with pytest.raises(PolicyValidationError, match="margins.gross_margin_pct"):
        policy_from_dict(bad)


@pytest.mark.parametrize("month", range(1, 13))
def test_a_day_is_valid_exactly_when_the_rules_calendar_has_it(month):
    # The model checks dates with the standard library; the compiled rules count days with
    # their own calendar. Both must agree, or a valid policy would break the simulator.
    from policies.compiled import days_in_month, plain
    from policies.model import AnnualWindow, FixedDateExpiry

    def expiry(day):
        return FixedDateExpiry(month=month, day=day)

    def window(day):
        return AnnualWindow(start_month=month, start_day=day, end_month=12)

    for year, build in ((2023, expiry), (2024, window)):
        last = plain(days_in_month)(year, month)
        build(last)
        if last < 31:
            with pytest.raises(ValidationError, match=f"does not exist in month {month}"):
                build(last + 1)
