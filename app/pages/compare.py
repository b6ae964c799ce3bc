"""Compare: one to four scenarios against a baseline, side by side, with what changed.

By default the policy being edited is compared with the live policy (or, before anything is
published, the classic example the session started from).
"""

import pandas as pd
import streamlit as st

from app import charts, runs, state
from app.i18n import current_language, t
from app.results_view import (
    HEADLINE,
    METRIC_UNITS,
    Run,
    available_metrics,
    format_delta,
    format_kpi,
    metric_bands,
    report_button,
    unit_label,
)
from policies import diff as differ
from simulations import finance
from simulations.results import KPI_UNITS, PROFIT_KPIS, kpi

st.title(t("compare.title"))

options = runs.scenarios()
keys = list(options)
names = runs.labels(keys)
default_baseline = runs.default_baseline(options)
# A baseline left at its default follows the default: once a policy is published, the live
# one replaces the classic example; a baseline the user picked is kept.
if state.choice("compare_baseline") == state.choice("compare_baseline_default"):
    state.remember("compare_baseline", default_baseline)
state.remember("compare_baseline_default", default_baseline)
baseline_key = state.remember(
    "compare_baseline",
    st.selectbox(
        t("compare.baseline"),
        keys,
        index=keys.index(runs.picked("compare_baseline", keys, default_baseline)),
        format_func=names.get,
        key=state.choice_key("compare_baseline"),
    ),
)
others = [key for key in keys if key != baseline_key]
kept = [key for key in state.choice("compare_scenarios", [runs.EDITED]) if key in others]
chosen = state.remember(
    "compare_scenarios",
    st.multiselect(
        t("compare.scenarios"),
        others,
        default=kept[:4],
        format_func=names.get,
        max_selections=4,
        placeholder=t("compare.scenarios_placeholder"),
        key=state.choice_key("compare_scenarios"),
    ),
)
settings = runs.simulation_controls("compare")
enough = 1 <= len(chosen) <= 4
if not enough:
    st.warning(t("compare.pick"))

if st.button(t("compare.run"), type="primary", disabled=not enough, key="compare_run"):
    baseline = options[baseline_key]
    bar = st.progress(0.0, text=t("simulate.running"))
    compared = {}
    jobs = [baseline_key, *chosen]
    for i, key in enumerate(jobs):

        def progress(done: float, message: str, i: int = i) -> None:
            share = (i + min(max(done, 0.0), 1.0)) / len(jobs)
            bar.progress(share, text=t("simulate.progress", pct=int(share * 100)))

        other = None if key == baseline_key else baseline
        try:
            result = runs.simulate(
                options[key],
                settings,
                baseline=other,
                progress=progress,
                scenario=runs.scenario_label(key, lang="en"),
            )
        except ValueError as exc:  # e.g. a member snapshot the engine cannot read
            bar.empty()
            st.error(t("simulate.failed", error=exc))
            st.stop()
        compared[key] = Run(label=key, policy=options[key], result=result, baseline=other)
        state.remember_result(key, compared[key])
    bar.empty()
    st.session_state["ml_compare"] = {"baseline": baseline_key, "runs": compared}

saved = st.session_state.get("ml_compare")
if not saved:
    st.info(t("compare.no_result"))
    st.stop()

compared = saved["runs"]
base = compared[saved["baseline"]]
symbol = base.policy.program.currency_symbol
shown = {key: runs.scenario_label(key, run.policy) for key, run in compared.items()}

# -- KPI table: P50 and the difference from the baseline; ranges below -----------------------
rows, ranges = [], []


def _kpi_row(name: str, bands: dict) -> None:
    """One KPI's row (P50 and change) and its ranges' row; ``bands``: scenario -> P10/50/90."""
    unit = KPI_UNITS[name]
    row = {t("compare.kpi"): t(kpi(name).label)}
    spread = dict(row)
    base_band = bands.get(saved["baseline"])
    for key in compared:
        band = bands.get(key)
        if band is None:
            row[shown[key]] = spread[shown[key]] = "–"
            continue
        text = format_kpi(band["p50"], unit, symbol)
        if key != saved["baseline"] and base_band is not None:
            text += f"  ({format_delta(band['p50'] - base_band['p50'], unit, symbol)})"
        row[shown[key]] = text
        spread[shown[key]] = t(
            "compare.range",
            p10=format_kpi(band["p10"], unit, symbol),
            p90=format_kpi(band["p90"], unit, symbol),
        )
    rows.append(row)
    ranges.append(spread)


for name in [*HEADLINE, "points_issued", "points_expired", "incremental_revenue", "roi"]:
    _kpi_row(name, {key: run.result.kpis.get(name) for key, run in compared.items()})


def _margin(policy) -> float | None:
    return policy.margins.gross_margin_pct if policy.margins is not None else None


# Profit, not revenue: with a gross margin in the policies, the KPI table and the list of
# changes carry gross profit after the program's cost and the ROI on that profit.
known = [m for m in (_margin(run.policy) for run in compared.values()) if m is not None]
profits = {}
if known:
    fallback = _margin(base.policy) if _margin(base.policy) is not None else known[0]
    margins = {key: _margin(run.policy) or fallback for key, run in compared.items()}
    profits = {
        key: finance.profit_kpis(
            run.result.monthly,
            margins[key],
            baseline=base.result.monthly,
            baseline_margin_pct=margins[base.label],
        )
        if key != saved["baseline"]
        else finance.profit_kpis(run.result.monthly, margins[key])
        for key, run in compared.items()
    }
    for declared in PROFIT_KPIS:
        _kpi_row(declared.name, {key: bands.get(declared.name) for key, bands in profits.items()})
st.subheader(t("compare.kpis"))
st.caption(t("compare.kpis_help", baseline=shown[saved["baseline"]]))
if not known:
    st.caption(t("compare.no_margin"))
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
with st.expander(t("compare.ranges")):
    st.dataframe(pd.DataFrame(ranges), hide_index=True, width="stretch")
# The report is about the first scenario, beside the baseline and the other scenarios.
order = [*[k for k in compared if k != saved["baseline"]][:1], saved["baseline"]]
order += [key for key in compared if key not in order]
report_button([compared[k] for k in order], "compare", names=[shown[k] for k in order])

# -- Overlaid charts ------------------------------------------------------------------------
st.subheader(t("compare.charts"))
metrics = [m for m in available_metrics(base.result) if m != "roi"]
lang = st.session_state.get("ml_lang")
picked = state.remember(
    "compare_metrics",
    st.multiselect(
        t("compare.metrics"),
        metrics,
        placeholder=t("compare.metrics_placeholder"),
        default=[
            m
            for m in state.choice("compare_metrics", ["active_members", "liability"])
            if m in metrics
        ],  # fmt: skip
        format_func=lambda value: t(f"metric.{value}", lang=lang),
        key=state.choice_key("compare_metrics"),
    ),
)
for metric in picked:
    frames = [
        metric_bands(run.result, metric).assign(scenario=shown[key])
        for key, run in compared.items()
    ]
    st.altair_chart(
        charts.fan(
            pd.concat(frames, ignore_index=True),
            t(f"metric.{metric}"),
            unit_label(METRIC_UNITS[metric], symbol),
            color="scenario",
            order=list(shown.values()),
        ),
        width="stretch",
    )

# -- What changed ---------------------------------------------------------------------------
st.subheader(t("compare.changes"))
for key, run in compared.items():
    if key == saved["baseline"]:
        continue
    changes = differ.describe_changes(base.policy, run.policy, lang=current_language())
    with st.expander(t("compare.changes_of", label=shown[key], count=len(changes)), expanded=True):
        if changes:
            st.container(key=f"policy_changes_{key}").markdown(
                "\n".join(f"- {change}" for change in changes)
            )
        else:
            st.write(t("compare.no_changes"))
        effect = profits.get(key)
        if effect is not None:
            st.markdown(
                t(
                    "compare.profit_effect",
                    profit=format_kpi(
                        effect["incremental_gross_profit"]["p50"], "currency", symbol
                    ),
                    revenue=format_kpi(effect["incremental_revenue"]["p50"], "currency", symbol),
                    cost=format_kpi(effect["incremental_cost"]["p50"], "currency", symbol),
                    roi=format_kpi(effect["roi_profit"]["p50"], "ratio", symbol),
                )
            )
