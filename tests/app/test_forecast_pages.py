import json
import re

import pytest

from app.results_view import format_kpi
from policies import content_id
from simulations import finance

SMALL = {"members": 400, "months": 3, "reps": 2}


def _small(at, prefix, **overrides):
    values = {**SMALL, **overrides}
    for name, value in values.items():
        at.number_input(key=f"{prefix}_{name}_en").set_value(value)
    return at


def _metrics(at):
    return {metric.label: metric.value for metric in at.metric}


def _charts(at):
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def _chart_rows(at):
    """Rows embedded in each chart (Streamlit sends the data beside the spec)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    return [
        sum(len(convert_arrow_bytes_to_pandas_df(ds.data.data)) for ds in chart.proto.datasets)
        for chart in at.get("vega_lite_chart")
    ]


def test_simulate_shows_kpis_fans_and_migration(app, open_page):
    at = open_page(app, "simulate")
    assert any("run a simulation" in info.value for info in at.info)
    _small(at, "simulate")
    at.button(key="simulate_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = _metrics(at)
    assert metrics["Net revenue"].startswith("¥")
    assert metrics["Active members (end)"] != "–"
    titles = [spec.get("title") for spec in _charts(at)]
    assert "Active members" in titles and "Cost to fulfil outstanding points" in titles
    assert "ROI vs baseline (month)" not in titles  # no baseline chosen
    cohorts = "Share of each month's new members buying, by months since joining (P50)"
    assert cohorts in titles  # 3 months: the cohorts of months 1-3
    assert all(0 < rows <= 5000 for rows in _chart_rows(at)), _chart_rows(at)
    migration = at.dataframe[-1].value
    assert list(migration.columns) == ["Regular", "Silver", "Gold", "Diamond"]


def test_simulate_widgets_change_the_results(app, open_page):
    at = open_page(app, "simulate")
    _small(at, "simulate").button(key="simulate_run").click().run()
    small = _metrics(at)["Active members (end)"]
    _small(at, "simulate", members=1200).button(key="simulate_run").click().run()
    large = _metrics(at)["Active members (end)"]
    assert int(large.replace(",", "")) > int(small.replace(",", ""))


def test_simulate_with_a_baseline_charts_roi(app, open_page):
    at = open_page(app, "simulate")
    at.selectbox(key="simulate_baseline_en").set_value("example:beauty_cafe_three_tier")
    at.number_input(key="simulate_seed_en").set_value(4242)  # a run no other test made
    _small(at, "simulate").button(key="simulate_run").click().run()
    assert not at.exception
    assert "ROI vs baseline (month)" in [spec.get("title") for spec in _charts(at)]
    store = pytest.importorskip("store")
    runs = store.list_simulation_runs()
    assert len(runs) == 1
    assert runs.iloc[0]["policy_id"] == content_id(at.session_state["ml_policy"])


def test_simulate_shows_profit_next_to_revenue_when_the_policy_has_a_margin(app, open_page):
    from policies.model import Margins

    at = open_page(app, "simulate")
    assert "Gross profit after program cost" not in _metrics(at)
    policy = at.session_state["ml_policy"]
    at.session_state["ml_policy"] = policy.model_copy(
        update={"margins": Margins(gross_margin_pct=25)}
    )
    at = open_page(at, "simulate")
    at.selectbox(key="simulate_baseline_en").set_value("example:beauty_cafe_three_tier")
    _small(at, "simulate").button(key="simulate_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = _metrics(at)
    run = at.session_state["ml_results"][at.session_state["ml_last_run"]]
    monthly = run.result.monthly
    gross = finance.gross_profit(monthly, 25).median()
    assert metrics["Gross profit after program cost"] == format_kpi(gross, "currency", "¥")
    base = monthly[["replication", "month"]].assign(
        revenue_net=monthly["baseline_revenue_net"], program_cost=monthly["baseline_program_cost"]
    )
    effect = finance.profit_effect(monthly, base, 25, 25)
    expected = format_kpi(effect["incremental_gross_profit"]["p50"], "currency", "¥")
    assert metrics["Incremental gross profit"] == expected
    assert "ROI on profit vs baseline" in metrics


def test_compare_defaults_to_the_edited_policy_against_the_classic_one(app, open_page):
    at = open_page(app, "compare")
    assert at.selectbox(key="compare_baseline_en").value == "example:classic_four_tier"
    assert at.multiselect(key="compare_scenarios_en").value == ["edited"]


def test_compare_kpis_deltas_and_changes(app, open_page):
    at = open_page(app, "policy_designer")
    _gold_at(at, 8000)
    at = open_page(at, "compare")
    at.multiselect(key="compare_scenarios_en").set_value(
        ["edited", "example:beauty_cafe_three_tier", "example:supermarket_calendar_year"]
    )
    chosen = at.multiselect(key="compare_scenarios_en").value
    assert 1 <= len(chosen) <= 4
    _small(at, "compare").button(key="compare_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    edited = next(column for column in table.columns if column.startswith("Being edited"))
    assert len(table.columns) == 2 + len(chosen)
    revenue = table[table["KPI"] == "Net revenue"].iloc[0]
    assert revenue[edited].startswith("¥") and "(" in revenue[edited]  # a delta vs the baseline
    incremental = table[table["KPI"] == "Incremental revenue"].iloc[0]
    assert incremental[edited].startswith(("¥", "-¥")), incremental[edited]
    assert "×" not in incremental[edited]
    retention = table[table["KPI"] == "12-month retention (end)"].iloc[0][edited]
    assert re.search(r"\([+−]\d+\.\d pp\)", retention), retention  # percentage points
    ranges = at.dataframe[1].value
    assert all("P10–P90" in ranges[edited].iloc[i] for i in range(3))
    assert any("Gold threshold" in md.value for md in at.markdown)


def test_compare_keeps_its_choices_across_a_language_switch(app, open_page):
    at = open_page(app, "compare")
    at.multiselect(key="compare_scenarios_en").set_value(
        ["edited", "example:beauty_cafe_three_tier"]
    )
    at.number_input(key="compare_months_en").set_value(3)
    at.run()
    at.sidebar.selectbox(key="language_switch").set_value("zh").run()
    assert not at.exception
    assert at.multiselect(key="compare_scenarios_zh").value == [
        "edited",
        "example:beauty_cafe_three_tier",
    ]
    assert at.number_input(key="compare_months_zh").value == 3
    assert any(o.startswith("编辑中") for o in at.multiselect(key="compare_scenarios_zh").options)


def test_simulate_keeps_its_baseline_across_a_language_switch(app, open_page):
    at = open_page(app, "simulate")
    at.selectbox(key="simulate_baseline_en").set_value("example:classic_four_tier")
    _small(at, "simulate").button(key="simulate_run").click().run()
    at.sidebar.selectbox(key="language_switch").set_value("zh").run()
    assert not at.exception
    assert at.selectbox(key="simulate_baseline_zh").value == "example:classic_four_tier"
    assert at.number_input(key="simulate_members_zh").value == SMALL["members"]
    caption = next(c.value for c in at.caption if "随机种子" in c.value)
    assert "synthetic" not in caption and "编辑中" in caption
    migration = at.dataframe[-1].value
    assert list(migration.columns) == ["普通会员", "银卡", "金卡", "钻石卡"]
    assert "新入会" in list(migration.index) or len(migration.index) == 4


def _gold_at(at, threshold):
    from policies import policy_from_dict, policy_to_dict

    data = policy_to_dict(at.session_state["ml_policy"])
    data["tiers"]["tiers"][2]["threshold"] = threshold
    at.session_state["ml_policy"] = policy_from_dict(data, "test")
    at.session_state["ml_policy_source"] = "edited"
    return at


def test_compare_states_profit_next_to_revenue(app, open_page):
    from app.runs import scenario_label
    from policies.model import Margins

    at = open_page(app, "compare")
    policy = at.session_state["ml_policy"]
    at.session_state["ml_policy"] = policy.model_copy(
        update={"margins": Margins(gross_margin_pct=30)}
    )
    at = open_page(at, "compare")
    _small(at, "compare").button(key="compare_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value.set_index("KPI")
    for kpi in ("Gross profit after program cost", "Incremental gross profit",
                "ROI on profit vs baseline"):  # fmt: skip
        assert kpi in table.index
    saved = at.session_state["ml_compare"]
    base = saved["runs"][saved["baseline"]]
    key, run = next((k, v) for k, v in saved["runs"].items() if k != saved["baseline"])
    effect = finance.profit_effect(run.result.monthly, base.result.monthly, 30, 30)
    column = scenario_label(key, run.policy, lang="en")
    assert table.loc["Incremental gross profit", column] == format_kpi(
        effect["incremental_gross_profit"]["p50"], "currency", "¥"
    )
    baseline_column = scenario_label(saved["baseline"], base.policy, lang="en")
    assert table.loc["Incremental gross profit", baseline_column] == "–"
    assert any("Profit effect" in md.value for md in at.markdown)


def _frame_with(at, *columns):
    """The first dataframe on the page holding all ``columns``."""
    for frame in at.dataframe:
        if set(columns) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with {columns}")


def test_finance_roll_forward_balances_and_downloads(app, open_page):
    at = open_page(app, "finance")
    assert at.button(key="finance_run_default")  # offered while nothing was simulated
    at = open_page(at, "simulate")
    _small(at, "simulate").button(key="simulate_run").click().run()
    at = open_page(at, "finance")
    table = _frame_with(at, "Month", "Opening", "Issued", "Redeemed", "Expired", "Closing")
    balance = table["Opening"] + table["Issued"] - table["Redeemed"] - table["Expired"]
    assert balance.to_numpy() == pytest.approx(table["Closing"].to_numpy(), rel=1e-9)
    at.toggle(key="finance_currency").set_value(True).run()
    in_currency = _frame_with(at, "Month", "Opening", "Closing")
    cpp = at.session_state["ml_policy"].points.redemption.cost_per_point
    assert in_currency["Closing"].to_numpy() == pytest.approx(table["Closing"].to_numpy() * cpp)
    keys = {button.proto.id for button in at.get("download_button")}
    assert len(keys) >= 3
    assert content_id(at.session_state["ml_policy"])  # the policy survived the page switches


def test_finance_shows_both_liability_bases_the_schedule_and_the_journal(app, open_page):
    at = open_page(app, "simulate")
    _small(at, "simulate", months=14).button(key="simulate_run").click().run()
    at = open_page(at, "finance")
    metrics = _metrics(at)
    assert "Contract liability (deferred revenue)" in metrics
    assert "Cost to fulfil outstanding points" in metrics
    # The cost basis is the same figure, with the same label, as on Simulate (P50).
    run = next(iter(at.session_state["ml_results"].values()))
    p50 = run.result.kpis["liability_closing"]["p50"]
    assert metrics["Cost to fulfil outstanding points"] == f"¥{p50:,.0f}"
    schedule = _frame_with(at, "Month", "Allocated to points", "Contract liability, closing")
    assert len(schedule) == 14
    assert (schedule["Contract liability, closing"] >= 0).all()
    closing = metrics["Contract liability (deferred revenue)"]
    assert closing == f"¥{schedule['Contract liability, closing'].iloc[-1]:,.0f}"
    journal = _frame_with(at, "Account", "Debit", "Credit")
    amounts = journal[["Debit", "Credit"]].replace("", "0").map(lambda v: float(v.replace(",", "")))
    assert amounts["Debit"].sum() == pytest.approx(amounts["Credit"].sum())
    assert ((journal["Debit"] == "") != (journal["Credit"] == "")).all()
    sensitivity = _frame_with(at, "Input", "Case", "Input value")
    assert set(sensitivity["Input"]) == {
        "Base", "Breakage ±5 points", "Value per point ±20%", "Cost per point ±20%"
    }  # fmt: skip
    # A higher value per point defers more of each sale.
    rows = sensitivity.set_index(["Input", "Case"])
    base_cost = rows.loc[("Base", "Base"), "Cost to fulfil outstanding points"]
    assert f"¥{base_cost:,.0f}" == metrics["Cost to fulfil outstanding points"]
    value = rows.loc[("Value per point ±20%", "Input up"), "Contract liability (deferred revenue)"]
    assert value > rows.loc[("Base", "Base"), "Contract liability (deferred revenue)"]
    example = _frame_with(
        at, "Allocated to points", "Revenue on points", "Expected redemption rate"
    )
    assert example["Allocated to points"].round().tolist() == [8_676, 0]
    assert example["Revenue on points"].round().tolist() == [4_110, 3_493]
    tornado = [c for c in _charts(at) if "change from base" in json.dumps(c.get("title", ""))]
    assert len(tornado) == 2


def test_finance_in_chinese_translates_the_new_sections(app, open_page):
    at = open_page(app, "simulate")
    _small(at, "simulate").button(key="simulate_run").click().run()
    at.session_state["ml_lang"] = "zh"
    at = open_page(at, "finance")
    metrics = _metrics(at)
    assert "合同负债（递延收入）" in metrics
    assert "未兑换积分履约成本" in metrics
    assert _frame_with(at, "会计科目", "借方", "贷方") is not None
    accounts = set(_frame_with(at, "会计科目")["会计科目"])
    assert "合同负债—会员积分" in accounts


def test_finance_shows_the_ledger_history(app, open_page):
    pytest.importorskip("store")
    pytest.importorskip("simulations.analytics")
    at = open_page(app, "simulate")
    _small(at, "simulate").button(key="simulate_run").click().run()
    at = open_page(at, "finance")
    history = at.dataframe[-1].value
    assert {"Month", "Opening", "Issued", "Redeemed", "Expired", "Closing"} <= set(history.columns)
    assert len(history) > 12
    balance = history["Opening"] + history["Issued"] - history["Redeemed"] - history["Expired"]
    assert (balance == history["Closing"]).all()
    assert any("breakage realized" in c.value for c in at.caption)
    # Breakage two ways: the simulated and the chain-ladder URR, and the chain-ladder backtest.
    metrics = _metrics(at)
    assert "Simulated (member by member)" in metrics
    assert metrics["Chain ladder (redemption triangle)"].endswith("%")
    backtest = _frame_with(at, "Valuation date", "Estimated URR", "Actual URR")
    assert set(backtest["Method"]) == {"Chain ladder (redemption triangle)"}
    at.button(key="finance_backtest_sim").click().run()
    assert not at.exception, [e.value for e in at.exception]
    both = _frame_with(at, "Valuation date", "Estimated URR", "Actual URR")
    assert len(both) == len(backtest) + 1
    simulated = both[both["Method"] == "Simulated (member by member)"].iloc[0]
    assert simulated["Valuation date"] == backtest["Valuation date"].iloc[0]
    assert simulated["Actual URR"] == backtest["Actual URR"].iloc[0]
    assert any("Closer at the latest valuation" in c.value for c in at.caption)


def test_simulate_the_members_in_the_database(app, open_page):
    pytest.importorskip("store")
    at = open_page(app, "simulate")
    at.selectbox(key="simulate_population_en").set_value("database").run()
    assert at.number_input(key="simulate_members_en").disabled
    at.number_input(key="simulate_months_en").set_value(2)
    at.number_input(key="simulate_reps_en").set_value(2)
    at.button(key="simulate_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    caption = next(c.value for c in at.caption if "replications" in c.value)
    assert "300" in caption  # the small program's members
    assert _metrics(at)["Net revenue"].startswith("¥")


def test_a_scenario_equal_to_its_baseline_is_recorded_with_an_undefined_roi(app, open_page):
    import store

    at = open_page(app, "compare")  # the classic example against itself: no incremental cost
    before = set(store.list_simulation_runs(limit=10_000)["id"])
    # a size no other test uses: a run answered from the run cache is not recorded again
    _small(at, "compare", members=350).button(key="compare_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [w.value for w in at.warning if "not saved" in w.value]
    runs = store.list_simulation_runs(limit=10_000)
    new = runs[~runs["id"].isin(before)]
    recorded = [results["roi"] for results in new["results"] if "roi" in results]
    assert recorded and all(roi["p50"] is None for roi in recorded)  # null, not NaN
