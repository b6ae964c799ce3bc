"""The Sweep & search page: a small sweep and search from the policy being edited."""

import json
import re

from interface_text import ABBREVIATIONS, english_left

from policies import content_id
from policies.field_names import field_name

SMALL = {"members": 300, "months": 2, "reps": 2}


def _small(at, lang="en"):
    for name, value in SMALL.items():
        at.number_input(key=f"sweep_{name}_{lang}").set_value(value)
    return at


def _titles(spec):
    """The titles in a Vega-Lite spec (chart, axes, legend, tooltips)."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "title":
                yield value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            else:
                yield from _titles(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from _titles(item)


def _interface_text(at):
    """What the page says: texts, widget labels and choices, table headers, chart titles.

    Code spans are left out, as the browser check leaves code out: the raw field paths are
    shown that way, for analysts, beside each field's name.
    """
    parts = []
    for kind in ("title", "caption", "subheader", "markdown", "info", "success", "warning",
                 "error"):  # fmt: skip
        parts += [element.value for element in getattr(at.main, kind)]
    for kind in ("selectbox", "radio", "number_input", "button", "expander"):
        for widget in getattr(at.main, kind):
            parts += [widget.label, *map(str, getattr(widget, "options", []))]
    for frame in at.main.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        for column in map(str, frame.value.columns):  # a configured label replaces the name
            shown = config.get(column, {})
            parts.append(shown.get("label") or column)
            options = shown.get("type_config", {}).get("options", [])
            parts += [o["label"] if isinstance(o, dict) else str(o) for o in options]
    for chart in at.main.get("vega_lite_chart"):
        parts += _titles(json.loads(chart.proto.spec))
    return re.sub(r"`[^`]*`", " ", "\n".join(parts))


def _data_words(policy):
    """The policy's own names that are data, not interface (its tier names are not)."""
    texts = [policy.program.name, policy.program.currency]
    texts += [c.name for c in policy.campaigns] + [c.id for c in policy.campaigns]
    return set(ABBREVIATIONS) | set(re.findall(r"[A-Za-z][A-Za-z0-9]*", " ".join(texts)))


def test_sweep_charts_every_variant_and_saves_one_for_compare(app, open_page):
    import store

    at = open_page(app, "sweep_search")
    assert any("press Run" in info.value for info in at.info)
    _small(at)
    at.button(key="sweep_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # Default fields: the third tier's threshold (3 values) x earn rate (3 values).
    table = at.dataframe[-1].value
    assert len(table) == 9
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    assert any(spec.get("title") == "Every variant (P50)" for spec in specs)
    at.selectbox(key="sweep_pick").set_value(4).run()
    at.button(key="sweep_to_compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    saved = store.list_scenarios()
    assert len(saved) == 1 and "Variant 4" in saved["name"].iloc[0]
    policy = store.load_scenario(saved["name"].iloc[0])
    # Columns and the chart's colour are named for people: the policy's tier, not a path.
    row = table[table["Variant"] == 4].iloc[0]
    assert policy.points.earn.points_per_unit == row["Earn rate: points"]
    assert "Gold threshold" in table.columns
    assert any(spec["encoding"]["color"]["title"] == "Gold threshold" for spec in specs)


def test_search_reports_the_best_plan_in_chinese(app, open_page):
    at = open_page(app, "sweep_search")
    at.radio(key="sweep_mode_en").set_value("search").run()
    at.session_state["ml_lang"] = "zh"
    at.run()
    # The choice survives the language switch (each language draws its own widget).
    assert at.radio(key="sweep_mode_zh").value == "search"
    _small(at, "zh")
    at.number_input(key="sweep_trials").set_value(4).run()
    at.button(key="sweep_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("最优方案" in s.value for s in at.success), [w.value for w in at.warning]
    # Nothing left in English or as a raw field path (Gold is the policy's 金卡).
    said = _interface_text(at)
    assert "金卡 门槛" in said
    assert english_left(said, _data_words(at.session_state["ml_policy"])) == []
    found = at.session_state["ml_sweep_result"]["found"]
    at.selectbox(key="sweep_pick").set_value(int(found.best["trial"])).run()
    at.button(key="sweep_to_designer").click().run()
    assert not at.exception
    assert content_id(at.session_state["ml_policy"]) == content_id(found.best_policy)


def test_a_sweep_over_expiry_says_members_do_not_respond_in_both_languages(app, open_page):
    from app.i18n import t

    at = open_page(app, "sweep_search")
    at.session_state["ml_sweep_parameters"] = [
        {"field": "expiry.months", "low": 6.0, "high": 12.0, "step": 6.0}
    ]
    at.run()
    _small(at)
    at.button(key="sweep_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    for lang in ("en", "zh"):
        field = field_name("expiry.months", lang)  # named for people, not as a path
        said = t("sweep.no_response", lang=lang, fields=field,
                 reasons=t("response.expiry", lang=lang))  # fmt: skip
        assert said in [w.value for w in at.warning], (lang, [w.value for w in at.warning])
        at.session_state["ml_lang"] = "zh"
        at.run()
    # the table behind the page carries it too
    table = at.session_state["ml_sweep_result"]["table"]
    assert table["no_behavior_response"].str.contains("expiry.months").all()


def test_an_incomplete_row_names_its_field_for_people(app, open_page):
    at = open_page(app, "sweep_search")
    at.session_state["ml_lang"] = "zh"
    at.session_state["ml_sweep_parameters"] = [
        {"field": "tiers.tiers[Gold].threshold", "low": 8000.0, "high": None, "step": 1000.0}
    ]
    at.run()
    at.button(key="sweep_run").click().run()
    errors = [e.value for e in at.error]
    assert any("金卡 门槛" in e for e in errors), errors
    assert not any("tiers.tiers" in e for e in errors), errors


def test_a_policy_with_a_margin_searches_on_profit(app, open_page):
    from app.i18n import t

    at = open_page(app, "sweep_search")
    policy = at.session_state["ml_policy"]
    data = policy.model_dump(mode="json")
    data["margins"] = {"gross_margin_pct": 35}
    at.session_state["ml_policy"] = type(policy).model_validate(data)
    at.radio(key="sweep_mode_en").set_value("search").run()
    assert t("sweep.no_margin", lang="en") not in [c.value for c in at.caption]
    assert at.selectbox(key="sweep_obj_en").value == "incremental_gross_profit"
    _small(at)
    at.number_input(key="sweep_trials").set_value(4).run()
    at.button(key="sweep_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    found = at.session_state["ml_sweep_result"]["found"]
    feasible = found.trials[found.trials["feasible"]]
    assert (
        found.best["incremental_gross_profit_p50"] == feasible["incremental_gross_profit_p50"].max()
    )
    # Back to a policy without a margin: the page says how to search on profit, and the
    # profit objective chosen before gives way to one the policy can report.
    at.session_state["ml_policy"] = policy
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("sweep.no_margin", lang="en") in [c.value for c in at.caption]
    assert at.selectbox(key="sweep_obj_en").value == "incremental_revenue"
