"""Publishing to the live file: versions, history, audit, rollback, verification, failures."""

import importlib
import itertools
import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.errors import (
    PolicyValidationError,
    PublishedPolicyError,
    PublishError,
    StalePublishError,
)
from policies.io import canonical_json, content_id, policy_from_dict
from policies.publish import (
    audit_log,
    audit_path,
    current_version,
    history,
    history_dir,
    load_published,
    load_version,
    publish,
    publish_policy,
    rollback,
)
from policies.schema import policy_schema, published_schema


def with_gold(data, threshold):
    data["tiers"]["tiers"][2]["threshold"] = threshold
    return policy_from_dict(data)


publishing = importlib.import_module("policies.publish")


def all_files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_first_publish_writes_live_history_and_audit(tmp_path, classic_policy):
    target = tmp_path / "live" / "policy.json"
    published = publish(classic_policy, target, note="launch", by="ann")
    assert published.version == 1
    assert published.checksum == content_id(classic_policy)
    assert published.published_at.utcoffset().total_seconds() == 0
    assert (published.note, published.published_by, published.action) == (
        "launch",
        "ann",
        "publish",
    )
    assert all_files(tmp_path / "live") == [
        "policy.json",
        "policy.json.history",
        "policy.json.history/audit.jsonl",
        "policy.json.history/v000001.json",
        "policy.json.lock",
    ]
    assert (history_dir(target) / "v000001.json").read_bytes() == target.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o644  # the live system may run as another user
    loaded = load_published(target)
    assert loaded == published
    assert loaded.policy == classic_policy
    raw = json.loads(target.read_text(encoding="utf-8"))
    assert raw["schema_version"] == 1 and raw["version"] == 1
    assert raw["checksum"] == content_id(classic_policy)
    (entry,) = audit_log(target)
    assert (entry.action, entry.version, entry.from_version, entry.who) == (
        "publish",
        1,
        None,
        "ann",
    )
    assert entry.checksum == published.checksum and entry.note == "launch"


def test_versions_are_monotonic_and_the_audit_has_the_diff(tmp_path, classic_policy, classic_data):
    target = tmp_path / "policy.json"
    publish(classic_policy, target, note="v1")
    second = publish(with_gold(classic_data, 8000), target, note="Gold from 8k", by="bo")
    assert second.version == 2
    assert current_version(target) == 2
    entries = audit_log(target)
    assert [e.version for e in entries] == [1, 2]
    assert entries[1].from_version == 1
    assert entries[1].diff == ("Gold threshold: ¥10,000 → ¥8,000",)
    assert [v.note for v in history(target)] == ["v1", "Gold from 8k"]


def test_publishing_the_live_content_again_is_a_no_op(tmp_path, classic_policy):
    target = tmp_path / "policy.json"
    first = publish(classic_policy, target, note="launch")
    before = target.read_bytes()
    outcome = publish_policy(classic_policy, target, note="again")
    assert not outcome.changed
    assert outcome.published == first
    assert target.read_bytes() == before
    assert len(history(target)) == 1 and len(audit_log(target)) == 1


def test_rollback_appends_a_new_version(tmp_path, classic_policy, classic_data):
    target = tmp_path / "policy.json"
    publish(classic_policy, target, note="v1")
    publish(with_gold(classic_data, 8000), target, note="v2")
    publish(with_gold(classic_data, 9000), target, note="v3")
    restored = rollback(target, 1, note="back to launch", by="cy")
    assert restored.version == 4
    assert restored.action == "rollback" and restored.restored_from == 1
    assert restored.checksum == content_id(classic_policy)
    assert load_published(target).policy == classic_policy
    assert [v.version for v in history(target)] == [1, 2, 3, 4]
    assert load_version(target, 3).policy.tiers.tiers[2].threshold == 9000  # untouched
    last = audit_log(target)[-1]
    assert (last.action, last.version, last.from_version, last.restored_from) == (
        "rollback",
        4,
        3,
        1,
    )
    assert last.diff == ("Gold threshold: ¥9,000 → ¥10,000",)
    assert rollback(target, 1).version == 4  # already live: nothing new


def test_rollback_to_a_version_never_published(tmp_path, classic_policy):
    target = tmp_path / "policy.json"
    publish(classic_policy, target)
    with pytest.raises(PublishedPolicyError, match="version 7 was never published.*: 1$"):
        rollback(target, 7)


def test_stale_expect_version_is_refused(tmp_path, classic_policy, classic_data):
    target = tmp_path / "policy.json"
    publish(classic_policy, target, expect_version=0)
    publish(with_gold(classic_data, 8000), target, expect_version=1)
    before = target.read_bytes()
    with pytest.raises(StalePublishError, match=r"is version 2, but .* based on version 1"):
        publish(with_gold(classic_data, 9000), target, expect_version=1)
    assert target.read_bytes() == before
    assert current_version(target) == 2 and len(audit_log(target)) == 2


def test_an_invalid_policy_is_refused_and_the_live_file_untouched(tmp_path, classic_policy):
    target = tmp_path / "policy.json"
    publish(classic_policy, target)
    before = target.read_bytes()
    # model_construct skips validation, as a buggy caller might.
    broken_tiers = classic_policy.tiers.model_construct(
        **{**dict(classic_policy.tiers), "tiers": classic_policy.tiers.tiers[::-1]}
    )
    broken = classic_policy.model_construct(**{**dict(classic_policy), "tiers": broken_tiers})
    with pytest.raises(PolicyValidationError, match="thresholds must increase|must be 0"):
        publish(broken, target)
    assert target.read_bytes() == before
    assert current_version(target) == 1


def test_target_under_a_regular_file_fails_cleanly(tmp_path, classic_policy):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("I am a file")
    with pytest.raises(PublishError, match="is a file, not a folder.*live policy is unchanged"):
        publish(classic_policy, blocker / "live" / "policy.json")
    assert all_files(tmp_path) == ["not-a-folder"]


def test_target_under_proc_fails_cleanly(classic_policy):
    with pytest.raises(PublishError, match="cannot publish to /proc/"):
        publish(classic_policy, "/proc/memberlab-no-such/policy.json")


def test_failed_live_write_leaves_no_history_or_temp_file(tmp_path, classic_policy, monkeypatch):
    target = tmp_path / "policy.json"
    real_write = publishing._write_readable

    def failing_switch(path, text):
        if path == target:
            raise OSError(28, "No space left on device")
        real_write(path, text)

    monkeypatch.setattr(publishing, "_write_readable", failing_switch)
    with pytest.raises(PublishError, match="cannot publish"):
        publish(classic_policy, target)
    assert all_files(tmp_path) == ["policy.json.history", "policy.json.lock"]
    assert not audit_path(target).exists()


def test_a_folder_as_target_is_refused_before_anything_is_written(tmp_path, classic_policy):
    target = tmp_path / "policy.json"
    target.mkdir()
    with pytest.raises(PublishError, match="is a folder"):
        publish(classic_policy, target)
    assert all_files(tmp_path) == ["policy.json"]


def test_tampered_live_file_is_refused(tmp_path, classic_policy):
    target = tmp_path / "policy.json"
    publish(classic_policy, target)
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace('"threshold": 10000.0', '"threshold": 9000.0'), "utf-8")
    with pytest.raises(PublishedPolicyError, match="failed its checksum"):
        load_published(target)


def test_changed_checksum_is_refused(tmp_path, classic_policy):
    target = tmp_path / "policy.json"
    publish(classic_policy, target)
    data = json.loads(target.read_text(encoding="utf-8"))
    data["checksum"] = "0" * 64
    target.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PublishedPolicyError, match="failed its checksum"):
        load_published(target)


@pytest.mark.parametrize("keep", [0, 1, 100, -2])
def test_truncated_live_file_is_refused(tmp_path, classic_policy, keep):
    target = tmp_path / "policy.json"
    publish(classic_policy, target)
    text = target.read_text(encoding="utf-8")
    target.write_text(text[: keep if keep >= 0 else len(text) + keep], encoding="utf-8")
    with pytest.raises(PublishedPolicyError, match="not valid JSON"):
        load_published(target)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"schema_version": 2}, "schema_version\\(=2\\)"),
        ({"format": "something-else"}, "is not a published policy"),
        ({"version": 0}, "malformed envelope: version"),
        ({"policy": {"program": {}}}, "contains an invalid policy"),
        ({"surprise": True}, "malformed envelope: surprise"),
    ],
)
def test_wrong_envelopes_are_refused(tmp_path, classic_policy, edit, message):
    target = tmp_path / "policy.json"
    publish(classic_policy, target)
    data = json.loads(target.read_text(encoding="utf-8"))
    data.update(edit)
    target.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PublishedPolicyError, match=message):
        load_published(target)


def test_nothing_published_yet(tmp_path):
    with pytest.raises(PublishedPolicyError, match="no policy has been published here yet"):
        load_published(tmp_path / "policy.json")
    assert history(tmp_path / "policy.json") == []
    assert audit_log(tmp_path / "policy.json") == []
    assert current_version(tmp_path / "policy.json") == 0


def test_a_damaged_live_file_can_be_replaced_by_publishing(tmp_path, classic_policy, classic_data):
    target = tmp_path / "policy.json"
    publish(classic_policy, target)
    target.write_text("{", encoding="utf-8")
    # Same content as the last version: still written, since the live file is unreadable.
    repaired = publish(classic_policy, target, note="repair")
    assert repaired.version == 2
    assert load_published(target).policy == classic_policy


def test_default_target_comes_from_the_settings(tmp_path, monkeypatch, classic_policy):
    from policies.settings import get_settings

    target = tmp_path / "configured" / "live.json"
    monkeypatch.setenv("MEMBERLAB_PUBLISH_TARGET", str(target))
    get_settings.cache_clear()
    try:
        publish(classic_policy, note="from settings")
        assert load_published(target).note == "from settings"
        assert [v.version for v in history()] == [1]
    finally:
        get_settings.cache_clear()


def test_threads_publishing_at_once_get_consecutive_versions(tmp_path, classic_data):
    target = tmp_path / "policy.json"
    policies = [with_gold(classic_data, 5000 + 100 * i) for i in range(6)]
    errors = []

    def run(policy):
        try:
            publish(policy, target, note=str(policy.tiers.tiers[2].threshold))
        except Exception as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in policies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    versions = history(target)
    assert [v.version for v in versions] == [1, 2, 3, 4, 5, 6]
    assert {v.checksum for v in versions} == {content_id(p) for p in policies}
    assert load_published(target) == versions[-1]
    assert [e.from_version for e in audit_log(target)] == [None, 1, 2, 3, 4, 5]


def test_live_file_validates_against_the_published_schema(tmp_path, classic_policy):
    jsonschema = pytest.importorskip("jsonschema")
    target = tmp_path / "policy.json"
    publish(classic_policy, target)
    envelope = json.loads(target.read_text(encoding="utf-8"))
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    jsonschema.Draft202012Validator(published_schema(), format_checker=checker).validate(envelope)
    policy_validator = jsonschema.Draft202012Validator(policy_schema(), format_checker=checker)
    policy_validator.validate(envelope["policy"])
    envelope["policy"]["points"]["earn"]["points_per_unit"] = -1
    assert list(policy_validator.iter_errors(envelope["policy"]))


def test_schemas_are_stamped():
    for schema, name in ((policy_schema(), "policy"), (published_schema(), "published-policy")):
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"urn:memberlab:schema:{name}:v1"
        assert schema["title"].startswith("MemberLab")
    assert "program" in policy_schema()["required"]
    assert {"version", "checksum", "published_at", "policy"} <= set(published_schema()["required"])


_counter = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_publish_then_load_returns_the_same_policy(tmp_path, policy_strategy, data):
    policy = data.draw(policy_strategy)
    target = tmp_path / f"case{next(_counter)}" / "policy.json"
    published = publish(policy, target, note="property")
    loaded = load_published(target)
    assert loaded.policy == policy
    assert canonical_json(loaded.policy) == canonical_json(policy)
    assert loaded.checksum == content_id(policy) == published.checksum
