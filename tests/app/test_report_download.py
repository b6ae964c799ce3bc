"""The client report from the Simulate page: a button, built only when pressed."""

import datetime as dt
from pathlib import Path

from app.results_view import Run, _report_html
from policies.io import load_policy
from simulations.build import build_model

ROOT = Path(__file__).resolve().parents[2]


def test_simulate_offers_the_report_in_the_page_language(app, open_page):
    at = open_page(app, "simulate")
    for name, value in {"members": 300, "months": 2, "reps": 2}.items():
        at.number_input(key=f"simulate_{name}_en").set_value(value)
    at.button(key="simulate_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    buttons = at.get("download_button")
    assert any("Report for the client" in b.proto.label for b in buttons)


def test_the_report_of_a_run_describes_that_run():
    policy = load_policy(ROOT / "policies" / "examples" / "classic_four_tier.yaml")
    result = build_model(
        policy, population=300, start=dt.date(2026, 1, 1), months=2, replications=2, seed=3
    ).run()
    run = Run(label="edited", policy=policy, result=result)
    zh = _report_html(run, "zh")
    assert "会员计划预测报告" in zh and "金卡" in zh and zh.count("<svg") >= 4
    en = _report_html(run, "en")
    assert "Headline results" in en and "Gold" in en
