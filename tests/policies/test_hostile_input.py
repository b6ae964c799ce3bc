"""Hostile and absurd policy documents: refused with a validation message, never a traceback.

Each case is one that once hung, crashed or was accepted (issue 13, "Policies"): alias bombs,
non-finite and absurd numbers, impossible dates, bad YAML tags, deep nesting, giant strings,
duplicate keys, confusable tier names, control characters, a boolean schema version, and
a calendar of exclusive campaigns whose check was quadratic.
"""

import copy
import datetime as dt
import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.errors import PolicyValidationError
from policies.io import (
    MAX_DOCUMENT_VALUES,
    MAX_POLICY_BYTES,
    dump_policy,
    load_policy,
    parse_policy,
    policy_from_dict,
    policy_to_dict,
)
from policies.model import Campaign, Target


def problems(text: str, fmt: str | None = None) -> PolicyValidationError:
    with pytest.raises(PolicyValidationError) as info:
        parse_policy(text, "plan.yaml", fmt)
    return info.value


def data_problems(data: dict) -> PolicyValidationError:
    with pytest.raises(PolicyValidationError) as info:
        policy_from_dict(data, "plan.yaml")
    return info.value


def as_yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def alias_bomb(levels: int, key: str = "campaigns") -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append(f"{key}: *a{levels - 1}")
    return "\n".join(lines) + "\n"


# -- Size, aliases, nesting ------------------------------------------------------------------


@pytest.mark.parametrize("levels", [7, 9])
def test_alias_bomb_is_refused_before_validation(levels):
    text = alias_bomb(levels)
    assert len(text.encode()) < 800
    error = problems(text)
    assert f"more than {MAX_DOCUMENT_VALUES:,} values" in str(error)
    assert len(str(error)) < 500


def test_alias_bomb_below_the_budget_still_gets_a_short_message(classic_data):
    # Four levels (6,561 strings) pass the budget and reach the model: the message stays short.
    text = as_yaml(classic_data).replace("campaigns:", "junk_before: 1\ncampaigns:", 1)
    text = alias_bomb(4, key="extra_section") + text
    error = problems(text)
    assert "extra_section" in str(error)
    assert len(str(error)) < 3000


def test_self_referring_alias_is_refused():
    error = problems("program: &p {name: *p}\n")
    assert "refers to itself" in str(error)


def test_oversized_document_is_refused(classic_data):
    classic_data["program"]["name"] = "x" * (MAX_POLICY_BYTES + 1)
    error = problems(as_yaml(classic_data))
    assert f"at most {MAX_POLICY_BYTES:,}" in str(error)


def test_oversized_file_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (MAX_POLICY_BYTES * 4))
    with pytest.raises(PolicyValidationError, match="larger than"):
        load_policy(path)


@pytest.mark.parametrize("fmt", [None, "json"])
@pytest.mark.parametrize("depth", [30, 5000, 100_000])
def test_deep_nesting_is_a_message(fmt, depth):
    error = problems("[" * depth + "]" * depth, fmt)
    assert "nest" in str(error) or "expected a mapping" in str(error)


def test_deep_nesting_through_aliases_is_refused():
    links = [f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}]" for i in range(40)]
    text = "a: &a [1]\n" + "\n".join(links) + "\n"
    assert "nested more than" in str(problems(text))


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(PolicyValidationError, match="folder"):
        load_policy(tmp_path)


# -- Messages never render an unbounded value ------------------------------------------------


def test_long_values_are_truncated_in_messages(classic_data):
    classic_data["program"]["name"] = "n" * 50_000
    classic_data["tiers"]["tiers"][1]["name"] = "t" * 50_000
    classic_data["campaigns"][0]["target"] = {"tiers": ["x" * 50_000]}
    classic_data["k" * 50_000] = 1
    error = problems(as_yaml(classic_data))
    assert len(str(error)) < 2000
    assert "50000 characters" in str(error)


def test_huge_integer_is_a_message(classic_data):
    text = as_yaml(classic_data).replace("signup: 100", "signup: " + "9" * 6000)
    assert "9" * 6000 in text
    error = problems(text)
    assert len(str(error)) < 500


def test_many_problems_are_capped(classic_data):
    classic_data["campaigns"] = [{"id": f"c{i}"} for i in range(400)]
    error = data_problems(classic_data)
    assert len(error.problems) > 400
    assert "more: fix these first" in str(error)
    assert str(error).count("\n") < 30


# -- Tracebacks that must be messages --------------------------------------------------------


def test_impossible_unquoted_date_names_the_field(classic_data):
    text = as_yaml(classic_data).replace("'2024-01-01'", "2024-01-01")
    text = text.replace("effective_date: 2024-01-01", "effective_date: 2025-02-30")
    error = problems(text)
    assert error.problems[0][0] == "program.effective_date"
    assert "2025-02-30" in error.problems[0][1]


def test_unquoted_dates_still_load(classic_path):
    # Dates are kept as text by the loader and parsed by the model.
    assert load_policy(classic_path).program.effective_date == dt.date(2024, 1, 1)


@pytest.mark.parametrize(
    "value", ["!!int 1.5", "!!float abc", "!!timestamp 2025-02-30", "!!binary '%%%'", "!!bool 7"]
)
def test_bad_yaml_tags_are_messages(classic_data, value):
    text = as_yaml(classic_data).replace("signup: 100", f"signup: {value}")
    error = problems(text)
    assert "signup" in str(error) or "cannot be read" in str(error) or "YAML" in str(error)


def test_unknown_python_tag_is_refused(classic_data):
    tag = "!!python/object/apply:os.system [ls]"
    text = as_yaml(classic_data).replace("signup: 100", f"signup: {tag}")
    assert "not valid YAML" in str(problems(text))


def test_giant_timezone_is_a_message(classic_data):
    classic_data["program"]["timezone"] = "Asia/" + "x" * 300
    error = data_problems(classic_data)
    assert error.problems[0][0] == "program.timezone"
    assert len(str(error)) < 400


@pytest.mark.parametrize("zone", ["../../etc/passwd", "Asia/Nowhere", "/etc/localtime", ""])
def test_unknown_timezone_is_a_message(classic_data, zone):
    classic_data["program"]["timezone"] = zone
    assert data_problems(classic_data).problems[0][0] == "program.timezone"


def test_duplicate_yaml_key_is_refused(classic_data):
    text = as_yaml(classic_data).replace("expiry:", "expiry: {kind: none}\nexpiry:", 1)
    error = problems(text)
    assert "duplicate key 'expiry'" in str(error)
    assert "line" in str(error)


def test_duplicate_json_key_is_refused(classic_data):
    text = json.dumps(classic_data)
    text = text.replace('"expiry":', '"expiry": {"kind": "none"}, "expiry":', 1)
    assert "duplicate key 'expiry'" in str(problems(text, "json"))


def test_yaml_merge_keys_are_not_duplicates(classic_data):
    text = as_yaml(classic_data).replace("segments:", "base: &base {kind: rolling}\nsegments:", 1)
    # The anchor lives in an unknown section: refused for that reason only.
    error = problems(text)
    assert "duplicate" not in str(error) and "base" in str(error)


@pytest.mark.parametrize("second", ["gold", "GOLD", "Gold ", " Gold", "gold  "])
def test_tier_names_equal_up_to_case_or_spaces_are_refused(classic_data, second):
    tiers = classic_data["tiers"]["tiers"]
    tiers[2]["name"] = "Gold"
    tiers[3]["name"] = second
    error = data_problems(classic_data)
    assert "tiers" in error.problems[0][0]


@pytest.mark.parametrize("name", ["", "   ", "\x00", "Gold\x00", "a\x1b[2J", "x\u202ey"])
def test_blank_or_control_names_are_refused(classic_data, name):
    classic_data["program"]["name"] = name
    assert data_problems(classic_data).problems[0][0] == "program.name"


@pytest.mark.parametrize("name", ["", " ", "\x00", "Gold\x00"])
def test_blank_or_control_tier_names_are_refused(classic_data, name):
    classic_data["tiers"]["tiers"][1]["name"] = name
    assert data_problems(classic_data).problems[0][0] == "tiers.tiers[1].name"


@pytest.mark.parametrize("value", [True, False, "1", 1.0, None])
def test_schema_version_must_be_the_number(classic_data, value):
    classic_data["schema_version"] = value
    assert data_problems(classic_data).problems[0][0] == "schema_version"


# -- Every number finite and within its documented range -------------------------------------

MONEY_FIELDS = [
    ("tiers", "tiers", 1, "threshold"),
    ("tiers", "tiers", 1, "benefits", "gift_cost_per_member"),
    ("tiers", "tiers", 1, "benefits", "earn_multiplier"),
    ("tiers", "tiers", 1, "benefits", "discount_pct"),
    ("points", "earn", "points_per_unit"),
    ("points", "earn", "per_amount"),
    ("points", "redemption", "point_value"),
    ("points", "redemption", "cost_per_point"),
    ("segments", "quadrant_min_spend"),
    ("campaigns", 0, "fixed_cost"),
    ("campaigns", 0, "contact_cost"),
    ("campaigns", 0, "coupon_value"),
    ("campaigns", 0, "budget"),
    ("campaigns", 0, "threshold"),
    ("campaigns", 0, "reduction"),
    ("campaigns", 0, "points_multiplier"),
    ("campaigns", 0, "discount_pct"),
]


def _set(data, path, value):
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


@pytest.mark.parametrize("path", MONEY_FIELDS, ids=lambda p: ".".join(map(str, p)))
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 1e300])
def test_non_finite_or_absurd_numbers_are_refused(classic_data, path, value):
    _set(classic_data, path, value)
    error = data_problems(classic_data)
    assert any(problem_path.endswith(str(path[-1])) for problem_path, _ in error.problems)


@pytest.mark.parametrize("text", [".inf", "-.inf", ".nan", "1e309"])
def test_yaml_infinity_in_a_money_field_is_refused(classic_data, text):
    source = as_yaml(classic_data).replace("fixed_cost: 2000.0", f"fixed_cost: {text}")
    assert f"fixed_cost: {text}" in source
    assert problems(source).problems[0][0] == "campaigns[0].fixed_cost"


@pytest.mark.parametrize("value", [1e-300, 0.0, 0.001, 1e7])
def test_per_amount_outside_its_range_is_refused(classic_data, value):
    classic_data["points"]["earn"]["per_amount"] = value
    assert data_problems(classic_data).problems[0][0] == "points.earn.per_amount"


@pytest.mark.parametrize(
    "path",
    [
        ("points", "redemption", "minimum_points"),
        ("points", "redemption", "unit_points"),
        ("points", "redemption", "max_points_per_year"),
        ("segments", "dormant_days"),
        ("tiers", "tiers", 1, "benefits", "birthday_bonus_points"),
    ],
)
def test_integers_beyond_int64_are_refused(classic_data, path):
    _set(classic_data, path, 10**30)
    assert data_problems(classic_data).problems


@pytest.mark.parametrize("field", ["start", "end"])
def test_campaign_dates_outside_the_calendar_are_refused(classic_data, field):
    classic_data["campaigns"][0][field] = "9999-12-31"
    assert any(field in path for path, _ in data_problems(classic_data).problems)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_dumped_json_is_strict(policy_strategy, data):
    # Strict JSON: no bare Infinity/NaN that a reader in another language would choke on.
    def refuse(name):
        raise ValueError(name)

    json.loads(dump_policy(data.draw(policy_strategy), "json"), parse_constant=refuse)


# -- Exclusive campaign overlaps: a sweep that agrees with the day-by-day definition ---------


def calendar_of(classic_data, count, start="2025-01-01", end="2034-12-31"):
    data = copy.deepcopy(classic_data)
    data["campaigns"] = [
        {
            "id": f"c{i}",
            "name": f"Campaign {i}",
            "kind": "bonus_points",
            "start": start,
            "end": end,
            "points_multiplier": 2,
            "stacking": "exclusive",
            "recurrence": {"months": [i % 12 + 1], "day_of_month": i // 12 + 1},
        }
        for i in range(count)
    ]
    return data


def test_eighty_exclusive_ten_year_campaigns_validate(classic_data):
    policy = policy_from_dict(calendar_of(classic_data, 80))
    assert len(policy.campaigns) == 80


def test_eighty_campaigns_with_one_clash_name_the_first_clash(classic_data):
    data = calendar_of(classic_data, 80)
    data["campaigns"][79]["recurrence"] = {"months": [3], "day_of_month": 1}  # like c2
    message = str(data_problems(data))
    assert "campaigns[2] (c2) and campaigns[79] (c79) both run on 2025-03-01" in message


_kinds = st.sampled_from(["bonus_points", "member_day", "birthday"])
_rules = st.one_of(
    st.just({}),
    st.builds(lambda d: {"day_of_month": d}, st.integers(1, 31)),
    st.builds(lambda w: {"weekday": w}, st.integers(0, 6)),
    st.builds(
        lambda m, d: {"months": m, "day_of_month": d},
        st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True),
        st.integers(1, 31),
    ),
    st.builds(
        lambda m, w: {"months": m, "weekday": w},
        st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True),
        st.integers(0, 6),
    ),
)


@st.composite
def small_calendars(draw):
    out = []
    for i in range(draw(st.integers(2, 5))):
        start = dt.date(2025, 1, 1) + dt.timedelta(days=draw(st.integers(0, 400)))
        end = start + dt.timedelta(days=draw(st.integers(0, 400)))
        out.append(
            Campaign(
                id=f"c{i}",
                name=f"c{i}",
                kind=draw(_kinds),
                start=start,
                end=end,
                recurrence=draw(_rules),
                points_multiplier=draw(st.sampled_from([1, 2])),
                discount_pct=draw(st.sampled_from([0, 5])),
                stacking=draw(st.sampled_from(["exclusive", "stack", "best"])),
                target=Target(lifecycle=draw(st.sampled_from([(), ("new",), ("active",)]))),
            )
        )
    return out


def first_clash_by_brute_force(campaigns):
    """The definition: the earliest day two campaigns, one exclusive, meet with a shared effect."""
    found = None
    for i, first in enumerate(campaigns):
        for j in range(i + 1, len(campaigns)):
            second = campaigns[j]
            if "exclusive" not in (first.stacking, second.stacking):
                continue
            if not first.effect_types() & second.effect_types():
                continue
            if not first.target.may_overlap(second.target):
                continue
            day = max(first.start, second.start)
            while day <= min(first.end, second.end):
                if (first.kind == "birthday" or first.recurrence.matches(day)) and (
                    second.kind == "birthday" or second.recurrence.matches(day)
                ):
                    if found is None or (day, i, j) < found:
                        found = (day, i, j)
                    break
                day += dt.timedelta(days=1)
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(campaigns=small_calendars())
def test_overlap_sweep_agrees_with_the_day_by_day_definition(classic_policy, campaigns):
    data = policy_to_dict(classic_policy)
    data["campaigns"] = [c.model_dump(mode="json") for c in campaigns]
    expected = first_clash_by_brute_force(campaigns)
    if expected is None:
        policy_from_dict(data)
        return
    day, i, j = expected
    message = str(data_problems(data))
    assert f"campaigns[{i}] (c{i}) and campaigns[{j}] (c{j}) both run on {day}" in message
