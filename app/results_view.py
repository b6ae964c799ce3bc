"""Drawing a simulation result: headline KPIs, fan charts and tier migration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd
import streamlit as st

from app import charts
from app.formatting import money, number, pct, points
from app.i18n import TEXT, current_language, t
from policies import Policy
from policies.field_names import tier_name
from simulations import finance
from simulations.results import KPI_UNITS, METRICS, PROFIT_KPIS, kpi

__all__ = [
    "FAN_METRICS",
    "HEADLINE",
    "METRIC_UNITS",
    "Run",
    "available_metrics",
    "format_delta",
    "tier_labels",
    "show_headline",
    "show_kpi",
    "unit_label",
    "format_kpi",
    "metric_bands",
    "report_button",
    "report_html",
    "show_result",
]


@dataclass(frozen=True)
class Run:
    """A simulation kept in the session: its scenario key, the policies and the result."""

    label: str  # the scenario key (`app.runs.scenarios`), named on screen by scenario_label
    policy: Policy
    result: Any  # simulations.SimulationResult
    baseline: Policy | None = None


HEADLINE = (
    "active_members_end",
    "retention_12m_end",
    "revenue_net",
    "program_cost",
    "liability_closing",
    "breakage",
)
"""The KPIs shown first (their units and labels come from `simulations.results.KPIS`)."""
FAN_METRICS = tuple(metric.name for metric in METRICS if metric.chart)
"""The monthly metrics drawn as fan charts, as `simulations.results.METRICS` declares them."""
METRIC_UNITS = MappingProxyType({metric.name: metric.unit for metric in METRICS})
"""Unit of every monthly metric (from the declaration)."""


def format_kpi(value: float, unit: str, symbol: str) -> str:
    """A KPI value written in its unit."""
    if unit == "currency":
        return money(value, symbol)
    if unit == "points":
        return points(value)
    if unit == "share":
        return pct(value)
    if unit == "ratio":
        return number(value, 2) + "×"
    return number(value)


def format_delta(delta: float, unit: str, symbol: str) -> str:
    """A signed difference in its unit; shares differ by percentage points, not percent."""
    sign = "+" if delta >= 0 else "−"
    if unit == "share":
        return t("unit.pp", value=f"{sign}{abs(delta) * 100:.1f}")
    return sign + format_kpi(abs(delta), unit, symbol)


def tier_labels(policy: Policy, lang: str | None = None) -> dict[str, str]:
    """How the policy's tiers are named on screen: its own Chinese labels under 中文."""
    lang = lang or current_language()
    return {tier.name: tier_name(tier.name, tier.label, lang) for tier in policy.tiers.tiers}


def unit_label(unit: str, symbol: str) -> str:
    """The axis title of a unit."""
    return {
        "currency": symbol,
        "points": t("unit.points"),
        "share": "%",
        "members": t("unit.members"),
        "ratio": "×",
        "count": t("unit.count"),
    }[unit]


def metric_bands(result: Any, metric: str) -> pd.DataFrame:
    """P10/P50/P90 per month of a monthly metric; shares in percent."""
    bands = result.bands(metric)
    if METRIC_UNITS.get(metric) == "share":
        bands[["p10", "p50", "p90"]] = bands[["p10", "p50", "p90"]] * 100
    return bands


def available_metrics(result: Any) -> list[str]:
    """The fan-chart metrics this result has a value of (ROI only with a baseline).

    A metric empty in every month is left out rather than drawn as an empty chart: ROI
    against a baseline that costs the same has no incremental cost to return on.
    """
    monthly = result.monthly
    return [m for m in FAN_METRICS if m in monthly.columns and monthly[m].notna().any()]


def show_kpi(column: Any, name: str, band: dict, symbol: str) -> None:
    """One KPI as a metric: P50, the P10-P90 range in the help (name and unit declared)."""
    unit = KPI_UNITS[name]
    column.metric(
        t(kpi(name).label),
        format_kpi(band["p50"], unit, symbol),
        help=t(
            "kpi.range",
            p10=format_kpi(band["p10"], unit, symbol),
            p90=format_kpi(band["p90"], unit, symbol),
        ),
    )


def show_headline(result: Any, symbol: str) -> None:
    """The headline KPIs as metrics: P50 with the P10-P90 range in the help."""
    kpis = result.kpis
    columns = [*st.columns(3), *st.columns(3)]
    for column, name in zip(columns, HEADLINE, strict=True):
        if name in kpis:
            show_kpi(column, name, kpis[name], symbol)


def show_profit(run: Run, symbol: str) -> None:
    """Profit next to revenue when the policy states its gross margin (`PROFIT_KPIS`).

    Gross profit after the program's cost; with a baseline, the incremental gross profit and
    the ROI on profit (replication by replication against the baseline run).
    """
    if run.policy.margins is None:
        return
    margin = run.policy.margins.gross_margin_pct
    base_margin = (
        run.baseline.margins.gross_margin_pct
        if run.baseline is not None and run.baseline.margins is not None
        else margin
    )
    bands = finance.profit_kpis(run.result.monthly, margin, baseline_margin_pct=base_margin)
    shown = [declared.name for declared in PROFIT_KPIS if declared.name in bands]
    for column, name in zip(st.columns(len(PROFIT_KPIS)), shown, strict=False):
        show_kpi(column, name, bands[name], symbol)


def report_html(
    shown: Sequence[Run],
    lang: str,
    names: Sequence[str] | None = None,
    point_value: float | None = None,
) -> str:
    """The client report of the runs a page shows: the first in full, the others beside it.

    Args:
        shown: the runs, the one the report is about first.
        lang: the report's language.
        names: the runs' names in the comparison (default: their policies' names).
        point_value: the value per point the deferral schedule uses (default: the policy's).
    """
    from simulations import report

    documents = [report.results_document(run.result, run.policy) for run in shown]
    return report.build_report(
        documents[0],
        documents[1:],
        lang=lang,
        policy=shown[0].policy,
        names=names,
        point_value=point_value,
    )


def report_button(
    shown: Sequence[Run],
    page: str,
    names: Sequence[str] | None = None,
    point_value: float | None = None,
) -> None:
    """The client report as a download in the page's language, built only when pressed.

    Args:
        shown: the runs in the report (see `report_html`).
        page: the page's name (keeps the buttons of the pages apart).
        names: the runs' names in the comparison.
        point_value: the value per point of the deferral schedule.
    """
    lang = current_language()
    st.download_button(
        t("report.download"),
        data=lambda: report_html(shown, lang, names=names, point_value=point_value),
        file_name=f"memberlab_report_{page}_{lang}.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/description:",
        key=f"report_download_{page}_{lang}",
        help=t("report.download_help"),
    )


def show_result(run: Run) -> None:
    """Everything the Simulate page shows about one run."""
    result = run.result
    symbol = run.policy.program.currency_symbol
    inputs = result.inputs
    population = inputs.get("population", {})
    from app.runs import scenario_label

    source = population.get("source", "synthetic")
    st.caption(
        t(
            "simulate.inputs",
            label=scenario_label(run.label, run.policy),
            members=number(population.get("members")),
            source=t(f"runs.source.{source}") if f"runs.source.{source}" in TEXT else source,
            months=inputs.get("months"),
            replications=inputs.get("replications"),
            seed=result.seed,
        )
    )
    show_headline(result, symbol)
    show_profit(run, symbol)
    report_button([run], "simulate")
    metrics = available_metrics(result)
    for i in range(0, len(metrics), 2):
        columns = st.columns(2)
        for column, metric in zip(columns, metrics[i : i + 2], strict=False):
            unit = unit_label(METRIC_UNITS[metric], symbol)
            column.altair_chart(
                charts.fan(metric_bands(result, metric), t(f"metric.{metric}"), unit),
                width="stretch",
            )
            if metric == "retention_12m":
                column.caption(t("simulate.retention_note"))
    st.subheader(t("simulate.migration"))
    migration = result.tier_migration
    if len(migration):
        names = {"(new)": t("simulate.new_members"), **tier_labels(run.policy)}
        named = migration.assign(
            from_tier=migration["from_tier"].map(lambda v: names.get(v, v)),
            to_tier=migration["to_tier"].map(lambda v: names.get(v, v)),
        )
        tiers = [names[name] for name in run.policy.tier_names]
        order = [names["(new)"], *tiers]
        st.altair_chart(
            charts.heatmap(
                named,
                x="to_tier",
                y="from_tier",
                value="members",
                title=t("simulate.migration_title", months=inputs.get("months")),
                unit=t("unit.members"),
                value_format=",.0f",
                x_sort=tiers,
                y_sort=order,
                x_title=t("simulate.to_tier"),
                y_title=t("simulate.from_tier"),
            ),
            width="stretch",
        )
        table = named.pivot_table(
            index="from_tier", columns="to_tier", values="members", aggfunc="sum"
        )
        table = table.reindex(index=[i for i in order if i in table.index])
        table = table.reindex(columns=[c for c in tiers if c in table.columns])
        table.index.name = t("simulate.from_tier")
        table.columns.name = None
        st.dataframe(
            table.map(lambda v: "" if pd.isna(v) else number(v)),
            width="stretch",
        )
    cohorts = result.cohort_retention()
    if len(cohorts):
        st.subheader(t("simulate.cohorts"))
        st.altair_chart(
            charts.heatmap(
                cohorts,
                x="months_since_join",
                y="cohort",
                value="p50",
                title=t("simulate.cohorts_title"),
                unit=t("unit.share_buying"),
                value_format=".0%",
                x_title=t("simulate.months_since_join"),
                y_title=t("simulate.join_month"),
            ),
            width="stretch",
        )
        st.caption(t("simulate.cohorts_note"))
