"""One name per figure: the app and the client report read the declared labels."""

import html

import pytest

from app.i18n import LANGUAGES, t
from policies.model import CAMPAIGN_KIND_LABELS, CAMPAIGN_KINDS
from simulations import backtest, deferral, finance, report
from simulations.results import KPIS, LABELS, METRICS, PROFIT_KPIS

DECLARED = (*METRICS, *KPIS, *PROFIT_KPIS)


def test_every_declared_figure_is_named_in_every_language():
    assert set(LABELS) == {declared.label for declared in DECLARED}
    for declared in DECLARED:
        names = {lang: getattr(declared.title, lang) for lang in LANGUAGES}
        assert all(name.strip() for name in names.values()), declared.name
        assert names["en"] != names["zh"], declared.name


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_app_and_the_report_give_every_figure_the_same_name(lang):
    for key in LABELS:
        assert t(key, lang=lang) == report.figure_label(key, lang), key
    # a backtest names its measures by their KPI or monthly metric
    for name in backtest.METRICS:
        assert t(f"kpi.{name}", lang=lang) == report.figure_label(name, lang), name
    # the campaign kinds and the finance tables' columns, too
    for kind in CAMPAIGN_KINDS:
        assert t(f"campaign.kind.{kind}", lang=lang) == CAMPAIGN_KIND_LABELS[kind][lang], kind
    for name, label in deferral.COLUMN_LABELS.items():
        assert t(f"deferral.{name}", lang=lang) == getattr(label, lang), name
    for name, label in finance.MOVEMENT_LABELS.items():
        assert t(f"finance.{name}", lang=lang) == getattr(label, lang), name


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_reports_tables_and_charts_show_the_apps_names(lang):
    band = {"p10": 1.0, "p50": 2.0, "p90": 3.0}
    charted = [m.name for m in METRICS if m.chart and m.name != "roi"]
    document = {
        "summary": {k.name: band for k in KPIS},
        "monthly": [
            {"replication": r, "month": month, **dict.fromkeys(charted, float(r))}
            for r in range(3)
            for month in ("2026-01", "2026-02")
        ],
    }
    section = report._kpi_section(document, lang, "¥")
    for declared in KPIS:
        assert f'<td class="text">{html.escape(t(declared.label, lang=lang))}</td>' in section
    titles = {
        name: chart.to_dict()["title"]["text"]
        for name, chart in report.report_charts(document, lang).items()
        if name != "points_flows"
    }
    assert titles, "the report draws no fan chart"
    for name, title in titles.items():
        assert title == t(f"metric.{name}", lang=lang), name
    movements = [f"points_{name}" for name in finance.MOVEMENTS]
    document["monthly"] = [{**row, **dict.fromkeys(movements, 1.0)} for row in document["monthly"]]
    table = report._rollforward_section(document, lang, "¥")
    for key in ("deferral.period", *(f"finance.{name}" for name in finance.MOVEMENTS)):
        assert f"<th>{html.escape(t(key, lang=lang))}</th>" in table, key
