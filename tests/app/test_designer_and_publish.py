import json

import pytest

from policies import content_id, dump_policy
from policies.publish import load_published

STATE_POLICY = "ml_policy"


def _errors(at):
    return [element.value for element in at.error]


def _policy(at):
    return at.session_state[STATE_POLICY]


def _key(at, name):
    return f"{name}_{at.session_state['ml_rev']}_{at.session_state['ml_lang']}"


def _tier_edit(at, edited_rows):
    at.session_state[_key(at, "tiers_editor")] = {
        "edited_rows": edited_rows,
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_editing_a_threshold_changes_the_policy(app, open_page):
    at = open_page(app, "policy_designer")
    before = _policy(at)
    assert before.tiers.tiers[2].name == "Gold"
    _tier_edit(at, {2: {"threshold": 8000}})
    after = _policy(at)
    assert after.tiers.tiers[2].threshold == 8000
    assert content_id(after) != content_id(before)
    assert not _errors(at)
    # the change is what the YAML view shows and survives a page switch
    open_page(at, "publish")
    open_page(at, "policy_designer")
    assert _policy(at).tiers.tiers[2].threshold == 8000
    assert any("threshold: 8000" in code.value for code in at.code)


def test_thresholds_out_of_order_are_explained_and_not_applied(app, open_page):
    at = open_page(app, "policy_designer")
    before = _policy(at)
    _tier_edit(at, {2: {"threshold": 1000}})  # Gold below Silver (3,000)
    messages = _errors(at)
    assert any("thresholds must increase" in message for message in messages), messages
    assert any("1000" in message and "Gold" in message for message in messages)
    assert content_id(_policy(at)) == content_id(before)
    assert any("not applied" in warning.value for warning in at.warning)


def test_blank_tier_name_is_explained(app, open_page):
    at = open_page(app, "policy_designer")
    _tier_edit(at, {1: {"name": None}})
    assert any("tiers.tiers[1].name" in message for message in _errors(at)), _errors(at)


def test_points_widget_changes_the_economics(app, open_page):
    at = open_page(app, "policy_designer")
    at.number_input(key=_key(at, "points_per_unit")).set_value(2.0).run()
    assert not at.exception
    assert _policy(at).points.earn.points_per_unit == 2.0
    economics = at.dataframe[-1].value if at.dataframe else None
    regular = [df.value for df in at.dataframe if "reward_rate_pct" in df.value.columns][0]
    assert regular["points"].iloc[0] == 200.0
    assert economics is not None


def test_minimum_not_multiple_of_unit_is_explained(app, open_page):
    at = open_page(app, "policy_designer")
    before = _policy(at)
    at.number_input(key=_key(at, "minimum_points")).set_value(1050).run()
    assert not at.exception
    assert any("multiple of unit_points" in message for message in _errors(at)), _errors(at)
    assert content_id(_policy(at)) == content_id(before)


def test_zero_points_per_unit_is_explained_in_place(app, open_page):
    at = open_page(app, "policy_designer")
    before = _policy(at)
    at.number_input(key=_key(at, "points_per_unit")).set_value(0.0).run()
    assert not at.exception
    assert any("points.earn.points_per_unit" in m for m in _errors(at)), _errors(at)
    assert content_id(_policy(at)) == content_id(before)


def test_pasting_broken_yaml_is_explained(app, open_page):
    at = open_page(app, "policy_designer")
    at.text_area(key=_key(at, "yaml_text")).set_value("tiers: [unclosed").run()
    at.button(key=_key(at, "apply_yaml")).click().run()
    assert not at.exception
    assert any("not valid YAML" in message for message in _errors(at)), _errors(at)


def test_pasting_a_policy_replaces_the_one_edited(app, open_page):
    at = open_page(app, "policy_designer")
    text = dump_policy(_policy(at)).replace("name: Classic four-tier program", "name: Pasted")
    at.text_area(key=_key(at, "yaml_text")).set_value(text).run()
    at.button(key=_key(at, "apply_yaml")).click().run()
    assert not at.exception
    assert _policy(at).program.name == "Pasted"


def test_language_switch_translates_the_page(app, open_page):
    at = open_page(app, "policy_designer")
    assert at.title[0].value == "Policy designer"
    at.sidebar.selectbox(key="language_switch").set_value("zh").run()
    assert not at.exception
    assert at.title[0].value == "会员规则设计"
    # no Streamlit default in English: an empty choice and empty table cells say nothing
    assert at.selectbox(key="designer_scenario").proto.placeholder == "尚无已保存方案"
    editors = [e.proto for e in at.dataframe if e.proto.editing_mode]  # the tiers table
    assert editors and all(e.HasField("placeholder") and not e.placeholder for e in editors)
    open_page(at, "publish")
    assert at.title[0].value == "发布到线上系统"


def _confirm_box(at):
    return next(box for box in at.checkbox if box.key.startswith("publish_confirm_"))


def _log_in(at, name="ana", secret=None):
    at.text_input(key="publish_login_name").set_value(name)
    at.text_input(key="publish_login_secret").set_value(secret or f"secret-of-{name}")
    at.button(key="publish_login").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _publish(at, note):
    if not any(b.key == "publish_logout" for b in at.button):
        _log_in(at)
    at.text_input(key="publish_note").set_value(note)
    _confirm_box(at).check()
    at.run()
    button = at.button(key="publish_button")
    assert not button.disabled
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    # the box asked about this version; the next publish must be confirmed afresh
    assert not _confirm_box(at).value
    assert at.button(key="publish_button").disabled


def test_compare_baseline_follows_publishing_unless_picked(app, open_page):
    at = open_page(app, "compare")  # nothing live yet: the classic example
    assert at.selectbox(key="compare_baseline_en").value == "example:classic_four_tier"
    open_page(at, "publish")
    _publish(at, "first version")
    at.sidebar.selectbox(key="language_switch").set_value("zh").run()
    open_page(at, "compare")  # the baseline left at its default is now the live policy
    assert at.selectbox(key="compare_baseline_zh").value == "live"
    assert at.multiselect(key="compare_scenarios_zh").value == ["edited"]
    at.selectbox(key="compare_baseline_zh").set_value("example:beauty_cafe_three_tier").run()
    open_page(at, "publish")
    open_page(at, "compare")  # a baseline the user picked stays picked
    assert at.selectbox(key="compare_baseline_zh").value == "example:beauty_cafe_three_tier"


def test_publish_writes_the_live_file_and_rollback_restores_it(app, open_page, workspace):
    live = workspace["live"]
    at = open_page(app, "publish")
    assert not live.exists()
    assert at.button(key="publish_button").disabled  # no note, not confirmed
    first = _policy(at)
    _publish(at, "first version")
    envelope = load_published(live)
    assert envelope.version == 1
    assert envelope.checksum == content_id(first)
    assert any("Version 1 is live" in s.value for s in at.success)

    open_page(at, "policy_designer")
    _tier_edit(at, {2: {"threshold": 8000}})
    open_page(at, "publish")
    assert any("Gold threshold" in md.value for md in at.markdown)
    _publish(at, "Gold from 8000")
    assert load_published(live).version == 2
    assert load_published(live).policy.tiers.tiers[2].threshold == 8000

    at.selectbox(key="publish_rollback_version").set_value(1)
    at.checkbox(key="publish_rollback_confirm_2").check()
    at.run()
    at.button(key="publish_rollback").click().run()
    assert not at.exception
    restored = load_published(live)
    assert restored.version == 3
    assert restored.checksum == content_id(first)
    assert restored.restored_from == 1
    audit = (live.parent / "policy.json.history" / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line)["action"] for line in audit] == ["publish", "publish", "rollback"]
    # the audit log says what changed in the page's language (recorded lines are English)
    assert "Gold threshold: ¥10,000 → ¥8,000" in json.loads(audit[1])["diff"]
    at.sidebar.selectbox(key="language_switch").set_value("zh").run()
    shown = "\n".join(text.value for text in at.text)
    assert "- 金卡 门槛：¥10,000 → ¥8,000" in [line.strip() for line in shown.splitlines()]
    assert "Gold threshold" not in shown
    assert " · rollback · " not in shown and " · publish · " not in shown  # actions too
    store = pytest.importorskip("store")
    recorded = store.list_publications()
    assert list(recorded["version"]) == [1, 2, 3] or list(recorded["version"]) == [3, 2, 1]


def test_publishing_the_live_content_again_is_refused(app, open_page, workspace):
    at = open_page(app, "publish")
    _publish(at, "first")
    at.text_input(key="publish_note").set_value("again").run()
    assert at.button(key="publish_button").disabled
    assert any("already live" in info.value for info in at.info)


def test_two_sessions_publishing_from_the_same_version(app, open_page, workspace):
    from streamlit.testing.v1 import AppTest

    first = open_page(app, "publish")
    second = open_page(AppTest.from_file(app._script_path, default_timeout=300), "publish")
    open_page(second, "policy_designer")
    _tier_edit(second, {2: {"threshold": 9000}})
    open_page(second, "publish")
    _log_in(second, "ben")
    second.text_input(key="publish_note").set_value("from session two")
    second.checkbox(key="publish_confirm_0").check()
    second.run()  # session two has reviewed and confirmed against "nothing published"
    _publish(first, "from session one")
    second.run()
    assert any("moved from 0 to 1" in w.value for w in second.warning)
    second.button(key="publish_button").click().run()
    assert not second.exception
    assert any("Someone published in the meantime" in e.value for e in second.error)
    live = load_published(workspace["live"])
    assert live.version == 1 and live.note == "from session one"
    assert live.published_by == "ana"  # the identity, not a free-text field


def test_without_a_configured_publisher_publishing_is_read_only(
    app, open_page, workspace, monkeypatch
):
    monkeypatch.delenv("MEMBERLAB_PUBLISHER_SECRET")
    at = open_page(app, "publish")
    assert any("read-only" in info.value for info in at.info)
    at.text_input(key="publish_note").set_value("no one may")
    _confirm_box(at).check()
    at.run()
    assert at.button(key="publish_button").disabled
    assert not any(b.key == "publish_login" for b in at.button)


def test_a_wrong_secret_does_not_log_in(app, open_page, workspace):
    at = open_page(app, "publish")
    _log_in(at, "ana", "secret-of-ben")
    assert any("wrong secret" in e.value for e in at.error)
    at.text_input(key="publish_note").set_value("try")
    _confirm_box(at).check()
    at.run()
    assert at.button(key="publish_button").disabled
    _log_in(at, "ana")
    assert any("Publishing as ana" in c.value for c in at.caption)


def test_notes_are_shown_as_plain_text(app, open_page, workspace):
    at = open_page(app, "publish")
    _publish(at, "see ![x](http://example.com/pixel.png) **bold**")
    at.run()
    shown = [element.value for element in at.text]
    assert any("![x](http://example.com/pixel.png)" in value for value in shown)
    assert not any("example.com" in md.value for md in at.markdown)


def test_campaign_dates_out_of_order_are_explained(app, open_page):
    at = open_page(app, "policy_designer")
    before = _policy(at)
    at.session_state[_key(at, "campaigns_editor")] = {
        "edited_rows": {0: {"end": "2022-01-01"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception
    messages = _errors(at)
    assert any("campaigns[0]" in m and "before start" in m for m in messages), messages
    assert content_id(_policy(at)) == content_id(before)


def test_save_and_load_a_scenario(app, open_page):
    pytest.importorskip("store")
    at = open_page(app, "policy_designer")
    _tier_edit(at, {2: {"threshold": 8000}})
    at.text_input(key="designer_scenario_name").set_value("gold-8000")
    at.run()
    at.button(key="designer_save").click().run()
    assert not at.exception
    assert any("Saved scenario gold-8000" in s.value for s in at.success)
    # the example offered first is the one a session starts from: one click starts afresh
    assert at.selectbox(key="designer_example").value == "classic_four_tier"
    at.button(key="designer_load_example").click().run()
    assert _policy(at).tiers.tiers[2].threshold == 10000
    at.selectbox(key="designer_scenario").set_value("gold-8000")
    at.run()
    at.button(key="designer_load_scenario").click().run()
    assert _policy(at).tiers.tiers[2].threshold == 8000
    simulate = open_page(at, "simulate")
    assert "Scenario: gold-8000" in simulate.selectbox(key="simulate_scenario_en").options


def test_tier_rules_widgets_change_the_policy(app, open_page):
    at = open_page(app, "policy_designer")
    at.selectbox(key=_key(at, "period_kind")).set_value("calendar_year").run()
    at.selectbox(key=_key(at, "review_every")).set_value(6).run()
    assert not at.exception
    rules = _policy(at).tiers
    assert rules.qualifying_period.kind == "calendar_year"
    assert rules.review_months() == (1, 7)
