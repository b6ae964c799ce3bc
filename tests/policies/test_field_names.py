"""One table of field names in English and Chinese (`policies.field_names`)."""

import re
import string
from pathlib import Path

import pytest

from policies import describe_changes, load_policy
from policies.field_names import FIELD_NAMES, field_name, field_pattern
from policies.model import CAMPAIGN_KIND_LABELS

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"


def _placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("pattern", sorted(FIELD_NAMES))
def test_each_name_exists_in_both_languages_with_the_same_blanks(pattern):
    names = FIELD_NAMES[pattern]
    assert set(names) == {"en", "zh"}
    assert _placeholders(names["en"]) == _placeholders(names["zh"])
    assert ("[]" in pattern) == bool(_placeholders(names["en"]))
    assert not re.search(r"[A-Za-z]{2,}", names["zh"].replace("{campaign}", "").replace(
        "{tier}", ""))  # fmt: skip


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_field_a_sweep_can_vary_has_a_name(example):
    from simulations.sweep import numeric_fields

    policy = load_policy(example)
    unnamed = [path for path in numeric_fields(policy) if field_pattern(path) not in FIELD_NAMES]
    assert unnamed == []


def test_items_are_called_as_the_policy_calls_them(classic_policy):
    gold = next(t for t in classic_policy.tiers.tiers if t.name == "Gold")
    assert field_name("tiers.tiers[Gold].threshold", "en", classic_policy) == "Gold threshold"
    assert field_name("tiers.tiers[Gold].threshold", "zh", classic_policy) == f"{gold.label} 门槛"
    position = classic_policy.tiers.tiers.index(gold)
    assert field_name(f"tiers.tiers[{position}].threshold", "zh", classic_policy) == (
        f"{gold.label} 门槛"
    )
    campaign = classic_policy.campaigns[0]
    path = f"campaigns[{campaign.id}].points_multiplier"
    assert field_name(path, "zh", classic_policy) == f"活动“{campaign.name}”积分倍数"
    assert field_name("points.redemption.windows[0].end_day", "en") == (
        "Redemption window 1: end day"
    )
    # A field the table does not know yet is shown as its path, never as a wrong name.
    assert field_name("points.earn.new_setting", "zh", classic_policy) == (
        "points.earn.new_setting"
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_what_changed_uses_the_same_names(classic_policy, lang):
    data = classic_policy.model_dump(mode="json")
    gold = next(t for t in data["tiers"]["tiers"] if t["name"] == "Gold")
    gold["threshold"] = 8000
    data["campaigns"].append(
        {**data["campaigns"][0], "id": "d11", "name": "Double 11", "kind": "bonus_points"}
    )
    new = type(classic_policy).model_validate(data)
    lines = describe_changes(classic_policy, new, lang)
    assert any(line.startswith(field_name("tiers.tiers[Gold].threshold", lang, new))
               for line in lines), lines  # fmt: skip
    kind = CAMPAIGN_KIND_LABELS["bonus_points"][lang]
    assert any(kind.lower() in line.lower() for line in lines if "d11" in line), lines
