import json

import pytest

pytest.importorskip("store")
pytest.importorskip("simulations.analytics")


def _chart_data(at, title):
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if spec.get("title") == title:
            frames = [convert_arrow_bytes_to_pandas_df(ds.data.data) for ds in chart.proto.datasets]
            return max(frames, key=len)
    raise AssertionError(f"no chart titled {title!r}")


def _key(at, name):
    return f"{name}_{at.session_state['ml_rev']}_{at.session_state['ml_lang']}"


def test_overview_reads_the_database_and_follows_the_policy(app, open_page):
    at = open_page(app, "overview")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Members"] == "300"
    assert metrics["Outstanding points"].endswith("pts")
    for title in ("Lifecycle funnel", "Four quadrants (last 12 months)", "Revenue concentration"):
        assert len(_chart_data(at, title)) > 0
    lifecycle = _chart_data(at, "Lifecycle funnel")
    assert lifecycle["members"].sum() <= 300
    before = _chart_data(at, "Members by tier").set_index("tier")["members"]
    assert before.sum() == 300

    open_page(at, "policy_designer")
    at.session_state[_key(at, "tiers_editor")] = {
        "edited_rows": {1: {"threshold": 500}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    open_page(at, "overview")
    after = _chart_data(at, "Members by tier").set_index("tier")["members"]
    assert after.sum() == 300
    assert after["Regular"] < before["Regular"]  # a lower Silver bar takes members up


MEMBERS_BAD = "vip_id,joined\nC1,2025-01-05\nC2,05/01/2025\n"
MEMBERS_GOOD = "vip_id,joined\nC1,2025-01-05\nC2,2025-01-06\n"


def _upload_members(at, text):
    at.get("file_uploader")[0].set_value(("clients.csv", text.encode(), "text/csv"))
    at.run()
    at.selectbox(key="data_map_members_member_id").set_value("vip_id")
    at.selectbox(key="data_map_members_join_date").set_value("joined")
    at.run()
    return at


def test_import_reports_bad_rows_and_writes_nothing_then_imports(app, open_page):
    at = open_page(app, "data_calibration")
    assert {m.label: m.value for m in at.metric}["Members"] == "300"
    _upload_members(at, MEMBERS_BAD)
    at.button(key="data_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Nothing was imported" in e.value for e in at.error)
    problems = at.dataframe[-1].value
    assert problems.iloc[0]["Line"] == 3 and problems.iloc[0]["Column"] == "join_date"
    assert "05/01/2025" in problems.iloc[0]["Value"]
    at.run()
    assert {m.label: m.value for m in at.metric}["Members"] == "300"

    _upload_members(at, MEMBERS_GOOD)
    at.button(key="data_load").click().run()
    assert not at.exception
    assert any("Import succeeded" in s.value for s in at.success)
    at.run()
    assert {m.label: m.value for m in at.metric}["Members"] == "302"


def test_calibration_shows_parameters_and_feeds_simulations(app, open_page):
    at = open_page(app, "data_calibration")
    at.button(key="data_calibrate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1].value
    assert list(table.columns) == [
        "Model", "Parameter", "Estimate", "Std. error", "95% low", "95% high"
    ]  # fmt: skip
    assert {"r", "α", "a", "b"} <= set(table["Parameter"])
    assert not table.isin(["None", "nan"]).any().any()  # missing values are blank
    assert not any(":" in term for term in table["Parameter"])  # no internal term names
    estimates = table.set_index("Parameter")["Estimate"].str.replace(",", "").astype(float)
    assert (estimates > 0).all()
    from app.i18n import t

    # the reward-rate response is not in the estimates: the page says it is assumed
    captions = [caption.value for caption in at.caption]
    assert t("runs.behavior_assumed", lang="en", pct="1") in captions
    at.button(key="data_use_params").click().run()
    behavior = at.session_state["ml_behavior"]
    assert behavior.bgnbd.r == pytest.approx(estimates["r"], abs=5e-4)


def test_import_of_a_gbk_file_with_decimal_commas(app, open_page):
    at = open_page(app, "data_calibration")
    at.selectbox(key="data_encoding_en").set_value("gb18030")
    at.selectbox(key="data_delimiter_en").set_value(";")
    at.run()
    members = "会员;入会日期\n张三;2025-01-05\n李四;2025-01-06\n"
    at.get("file_uploader")[0].set_value(("会员.csv", members.encode("gb18030"), "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # The header was read in the chosen encoding: the Chinese column names are offered.
    at.selectbox(key="data_map_members_member_id").set_value("会员")
    at.selectbox(key="data_map_members_join_date").set_value("入会日期")
    at.run()
    at.button(key="data_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Import succeeded" in s.value for s in at.success), [e.value for e in at.error]
    at.run()
    assert {m.label: m.value for m in at.metric}["Members"] == "302"


def test_backtest_tracks_actuals_against_the_forecast_fan(app, open_page):
    at = open_page(app, "data_calibration")
    assert "Backtest" in [h.value for h in at.subheader]
    at.number_input(key="data_backtest_months").set_value(3)
    at.number_input(key="data_backtest_replications").set_value(3)
    at.button(key="data_backtest_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    result = at.session_state["ml_backtest"]
    assert result.inputs["months"] == 3
    title = "Purchases: actual vs forecast"
    chart = _chart_data(at, title)
    assert {"p10", "p50", "p90", "actual"} <= set(chart.columns) and len(chart) == 3
    expected = result.monthly.query("metric == 'purchases' and segment == 'all'")
    assert chart["actual"].tolist() == expected["actual"].tolist()
    table = next(d.value for d in at.dataframe if "Engine error" in d.value.columns)
    assert {"Same month last year", "BG/NBD + Gamma-Gamma"} <= set(table.columns)
    assert any("Coverage" in c.value for c in at.caption)
    at.selectbox(key="language_switch").set_value("zh").run()
    assert "回测" in [h.value for h in at.subheader]
