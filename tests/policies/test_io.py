"""Reading and writing policies: round trips, canonical form, content id, atomic writes."""

import json
import random

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.errors import PolicyValidationError
from policies.io import (
    canonical_json,
    content_id,
    dump_policy,
    load_policy,
    parse_policy,
    policy_from_dict,
    policy_to_dict,
    save_policy,
    write_atomic,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), fmt=st.sampled_from(["yaml", "json"]))
def test_dump_then_parse_returns_an_equal_policy(policy_strategy, data, fmt):
    policy = data.draw(policy_strategy)
    again = parse_policy(dump_policy(policy, fmt), "round trip", fmt)
    assert again == policy
    assert content_id(again) == content_id(policy)
    assert canonical_json(again) == canonical_json(policy)


def test_every_example_round_trips(example_paths):
    for path in example_paths:
        policy = load_policy(path)
        for fmt in ("yaml", "json"):
            assert parse_policy(dump_policy(policy, fmt), str(path), fmt) == policy


def shuffled(value, rng):
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_content_id_ignores_key_order_and_formatting(classic_policy, seed):
    data = shuffled(policy_to_dict(classic_policy), random.Random(seed))
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=True, allow_unicode=True)
    assert content_id(parse_policy(text)) == content_id(classic_policy)


def test_content_id_counts_defaults(classic_data, classic_policy):
    # A file that spells out a default is the same program as one that leaves it out.
    del classic_data["segments"]
    assert content_id(policy_from_dict(classic_data)) == content_id(classic_policy)


def test_content_id_changes_with_any_field(classic_data, classic_policy):
    classic_data["points"]["redemption"]["cost_per_point"] = 0.0061
    changed = policy_from_dict(classic_data)
    assert content_id(changed) != content_id(classic_policy)
    assert len(content_id(changed)) == 64


def test_canonical_json_is_compact_sorted_and_keeps_chinese(classic_policy):
    text = canonical_json(classic_policy)
    assert "金卡" in text
    assert ", " not in text and ": " not in text
    assert list(json.loads(text)) == sorted(json.loads(text))


@pytest.mark.parametrize("name", ["plan.yaml", "plan.json"])
def test_save_then_load(tmp_path, classic_policy, name):
    path = tmp_path / name
    save_policy(classic_policy, path)
    assert load_policy(path) == classic_policy
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_missing_file(tmp_path):
    with pytest.raises(PolicyValidationError) as info:
        load_policy(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value) and "file not found" in str(info.value)


def test_json_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text('{"program": {"name": "x",}\n}', encoding="utf-8")
    with pytest.raises(PolicyValidationError) as info:
        load_policy(path)
    assert "at line 1, column" in str(info.value)


def test_write_atomic_replaces_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "live.json"
    write_atomic(path, "old")
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["live.json"]


def test_write_atomic_failure_keeps_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "live.json"
    write_atomic(path, "old")
    target_dir = tmp_path / "a-folder"
    target_dir.mkdir()
    with pytest.raises(OSError):
        write_atomic(target_dir, "cannot replace a folder with a file")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder", "live.json"]
    assert list(target_dir.iterdir()) == []
