"""The client report from Simulate, Compare and Finance: one button, built only when pressed."""

import datetime as dt
from pathlib import Path

import pytest

from app.results_view import Run, report_html
from policies.io import load_policy
from simulations import report
from simulations.build import build_model

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"members": 300, "months": 2, "reps": 2}


@pytest.fixture
def reports_built(monkeypatch):
    """Count the reports built (the pages may only offer them)."""
    built = []
    build = report.build_report

    def counted(*args, **kwargs):
        built.append(kwargs.get("lang"))
        return build(*args, **kwargs)

    monkeypatch.setattr(report, "build_report", counted)
    return built


def _run(at, page):
    for name, value in SMALL.items():
        at.number_input(key=f"{page}_{name}_en").set_value(value)
    at.button(key=f"{page}_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _report_buttons(at):
    return [b for b in at.get("download_button") if "report" in b.proto.label.lower()
            or "客户报告" in b.proto.label]  # fmt: skip


def test_simulate_offers_the_report_in_the_page_language(app, open_page, reports_built):
    at = _run(open_page(app, "simulate"), "simulate")
    assert [b.proto.label for b in _report_buttons(at)] == ["Report for the client (HTML)"]
    assert reports_built == []


def test_compare_offers_the_report_of_the_scenarios_compared(app, open_page, reports_built):
    at = _run(open_page(app, "compare"), "compare")
    at.session_state["ml_lang"] = "zh"
    at = open_page(at, "compare")
    assert [b.proto.label for b in _report_buttons(at)] == ["下载客户报告（网页文件）"]
    assert reports_built == []  # offered, not built
    saved = at.session_state["ml_compare"]
    runs = saved["runs"]
    edited = next(key for key in runs if key != saved["baseline"])
    zh = report_html([runs[edited], runs[saved["baseline"]]], "zh", names=["新方案", "基准"])
    assert reports_built == ["zh"]
    compared = zh[zh.index("方案对比") :]
    assert "新方案" in compared and "基准" in compared
    assert "增量收入" in zh  # the scenario's incremental KPIs against the baseline


def test_finance_offers_the_report_with_its_deferral_schedule(app, open_page, reports_built):
    at = _run(open_page(app, "simulate"), "simulate")
    at = open_page(at, "finance")
    run = next(iter(at.session_state["ml_results"].values()))
    point_value = 2 * run.policy.points.redemption.point_value
    field = next(n for n in at.number_input if n.key.startswith("finance_point_value_"))
    field.set_value(point_value).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(_report_buttons(at)) == 1
    assert reports_built == []
    closing = next(m.value for m in at.metric if m.label.startswith("Contract liability"))
    en = report_html([run], "en", point_value=point_value)
    deferral = en[en.index("Deferred revenue (IFRS 15") :]
    assert closing in deferral  # the page's contract liability, at the page's point value
    assert closing not in report_html([run], "en")  # not at the policy's own


def test_the_report_of_a_run_describes_that_run():
    policy = load_policy(ROOT / "policies" / "examples" / "classic_four_tier.yaml")
    result = build_model(
        policy, population=300, start=dt.date(2026, 1, 1), months=2, replications=2, seed=3
    ).run()
    run = Run(label="edited", policy=policy, result=result)
    zh = report_html([run], "zh")
    assert "会员计划预测报告" in zh and "金卡" in zh and zh.count("<svg") >= 4
    en = report_html([run], "en")
    assert "Headline results" in en and "Gold" in en
