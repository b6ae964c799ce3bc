"""Compare: two to four scenarios against a baseline, side by side, with what changed."""

import pandas as pd
import streamlit as st

from app import charts, runs, state
from app.i18n import t
from app.results_view import (
    HEADLINE,
    METRIC_UNITS,
    Run,
    available_metrics,
    format_kpi,
    metric_bands,
    unit_label,
)
from policies import content_id
from policies import diff as differ
from simulations import finance
from simulations.results import KPI_UNITS

st.title(t("compare.title"))

options = runs.scenarios()
labels = list(options)
baseline_label = st.selectbox(t("compare.baseline"), labels, key="compare_baseline")
others = [label for label in labels if label != baseline_label]
baseline_id = content_id(options[baseline_label])
different = [label for label in others if content_id(options[label]) != baseline_id]
chosen = st.multiselect(
    t("compare.scenarios"),
    others,
    default=different[:2],
    max_selections=4,
    key="compare_scenarios",
)
settings = runs.simulation_controls("compare")
enough = 1 <= len(chosen) <= 4
if not enough:
    st.warning(t("compare.pick"))

if st.button(t("compare.run"), type="primary", disabled=not enough, key="compare_run"):
    baseline = options[baseline_label]
    bar = st.progress(0.0, text=t("simulate.running"))
    compared = {}
    jobs = [baseline_label, *chosen]
    for i, label in enumerate(jobs):

        def progress(done: float, message: str, i: int = i) -> None:
            share = (i + min(max(done, 0.0), 1.0)) / len(jobs)
            bar.progress(share, text=t("simulate.progress", pct=int(share * 100)))

        other = None if label == baseline_label else baseline
        try:
            result = runs.simulate(
                options[label], settings, baseline=other, progress=progress, scenario=label
            )
        except ValueError as exc:  # e.g. a member snapshot the engine cannot read
            bar.empty()
            st.error(t("simulate.failed", error=exc))
            st.stop()
        compared[label] = Run(label=label, policy=options[label], result=result, baseline=other)
        state.remember_result(label, compared[label])
    bar.empty()
    st.session_state["ml_compare"] = {"baseline": baseline_label, "runs": compared}

saved = st.session_state.get("ml_compare")
if not saved:
    st.info(t("compare.no_result"))
    st.stop()

compared = saved["runs"]
base = compared[saved["baseline"]]
symbol = base.policy.program.currency_symbol

# -- KPI table ------------------------------------------------------------------------------
kpis = [*HEADLINE, "points_issued", "points_expired", "incremental_revenue", "roi"]
rows = []
for kpi in kpis:
    row = {t("compare.kpi"): t(f"kpi.{kpi}")}
    for label, run in compared.items():
        band = run.result.kpis.get(kpi)
        if band is None:
            row[label] = "–"
            continue
        unit = KPI_UNITS[kpi]
        text = format_kpi(band["p50"], unit, symbol)
        if label != saved["baseline"] and kpi in base.result.kpis:
            delta = band["p50"] - base.result.kpis[kpi]["p50"]
            text += f"  ({'+' if delta >= 0 else '−'}{format_kpi(abs(delta), unit, symbol)})"
        text += "  " + t(
            "compare.range",
            p10=format_kpi(band["p10"], unit, symbol),
            p90=format_kpi(band["p90"], unit, symbol),
        )
        row[label] = text
    rows.append(row)


def _margin(policy) -> float | None:
    return policy.margins.gross_margin_pct if policy.margins is not None else None


# Profit, not revenue: with a gross margin in the policies, the KPI table and the list of
# changes carry gross profit after the program's cost and the ROI on that profit.
known = [m for m in (_margin(run.policy) for run in compared.values()) if m is not None]
profit_effects = {}
if known:
    fallback = _margin(base.policy) if _margin(base.policy) is not None else known[0]
    margins = {label: _margin(run.policy) or fallback for label, run in compared.items()}
    rows.append({t("compare.kpi"): t("kpi.gross_profit"), **dict.fromkeys(compared, "–")})
    for label, run in compared.items():
        profit = finance.gross_profit(run.result.monthly, margins[label])
        own = profit.quantile([0.1, 0.5, 0.9]).to_numpy()
        rows[-1][label] = (
            format_kpi(own[1], "currency", symbol)
            + "  "
            + t(
                "compare.range",
                p10=format_kpi(own[0], "currency", symbol),
                p90=format_kpi(own[2], "currency", symbol),
            )
        )
        if label != saved["baseline"]:
            profit_effects[label] = finance.profit_effect(
                run.result.monthly, base.result.monthly, margins[label], margins[base.label]
            )
    for kpi, unit in (("incremental_gross_profit", "currency"), ("roi_profit", "ratio")):
        row = {t("compare.kpi"): t(f"kpi.{kpi}")}
        for label in compared:
            band = profit_effects.get(label, {}).get(kpi)
            row[label] = "–" if band is None else format_kpi(band["p50"], unit, symbol)
        rows.append(row)
st.subheader(t("compare.kpis"))
st.caption(t("compare.kpis_help", baseline=saved["baseline"]))
if not known:
    st.caption(t("compare.no_margin"))
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

# -- Overlaid charts ------------------------------------------------------------------------
st.subheader(t("compare.charts"))
metrics = [m for m in available_metrics(base.result) if m != "roi"]
picked = st.multiselect(
    t("compare.metrics"),
    metrics,
    default=["active_members", "liability"],
    format_func=lambda value, lang=st.session_state.get("ml_lang"): t(f"metric.{value}", lang=lang),
    key="compare_metrics",
)
for metric in picked:
    frames = [
        metric_bands(run.result, metric).assign(scenario=label) for label, run in compared.items()
    ]
    st.altair_chart(
        charts.fan(
            pd.concat(frames, ignore_index=True),
            t(f"metric.{metric}"),
            unit_label(METRIC_UNITS[metric], symbol),
            color="scenario",
        ),
        width="stretch",
    )

# -- What changed ---------------------------------------------------------------------------
st.subheader(t("compare.changes"))
for label, run in compared.items():
    if label == saved["baseline"]:
        continue
    changes = differ.describe_changes(base.policy, run.policy)
    with st.expander(t("compare.changes_of", label=label, count=len(changes)), expanded=True):
        if changes:
            st.markdown("\n".join(f"- {change}" for change in changes))
        else:
            st.write(t("compare.no_changes"))
        effect = profit_effects.get(label)
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
