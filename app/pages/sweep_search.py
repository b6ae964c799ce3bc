"""Sweep & search: many variants of the edited policy, the frontier, the best plan."""

import pandas as pd
import streamlit as st

import store
from app import charts, database, runs, state
from app.i18n import TEXT, current_language, labeler, t
from policies.field_names import field_name
from simulations import responses, sweep
from simulations.behavior import DEFAULT_BEHAVIOR
from simulations.build import build_model

kpi_label = labeler("kpi")

st.title(t("sweep.title"))
st.caption(t("sweep.intro"))
state.show_flash()

policy = state.policy()
fields = sweep.numeric_fields(policy)
lang = current_language()


def field_label(path: str) -> str:
    """A field's name on screen: the policy's own tier and campaign names (one table)."""
    return field_name(path, lang, policy)


RESULT = "ml_sweep_result"
PARAMS = "ml_sweep_parameters"


def _default_rows() -> list[dict]:
    rows = []
    tiers = policy.tiers.tiers
    if len(tiers) >= 3:
        top = tiers[2]
        path = f"tiers.tiers[{top.name}].threshold"
        if path in fields and top.threshold > 0:
            high = float(top.threshold)
            rows.append({"field": path, "low": round(high * 0.6), "high": high,
                         "step": round(high * 0.2)})  # fmt: skip
    if "points.earn.points_per_unit" in fields:
        rows.append({"field": "points.earn.points_per_unit", "low": 1.0, "high": 2.0, "step": 0.5})
    return rows


if PARAMS not in st.session_state or any(
    row["field"] not in fields for row in st.session_state[PARAMS]
):
    st.session_state[PARAMS] = _default_rows()

st.subheader(t("sweep.parameters"))
edited = st.data_editor(
    pd.DataFrame(st.session_state[PARAMS], columns=["field", "low", "high", "step"]),
    num_rows="dynamic",
    width="stretch",
    column_config={
        "field": st.column_config.SelectboxColumn(
            t("sweep.field"),
            options=list(fields),
            format_func=field_label,
            required=True,
            width="large",
        ),
        "low": st.column_config.NumberColumn(t("sweep.low"), format="%.4g"),
        "high": st.column_config.NumberColumn(t("sweep.high"), format="%.4g"),
        "step": st.column_config.NumberColumn(t("sweep.step"), format="%.4g", min_value=0),
    },
    key="sweep_parameters_editor",
    placeholder="",  # an empty cell stays blank (not "None")
)
rows = [r for r in edited.to_dict(orient="records") if isinstance(r.get("field"), str)]
st.session_state[PARAMS] = rows

MODES = ["sweep", "search"]
mode = state.remember(
    "sweep_mode",
    st.radio(
        t("sweep.mode"),
        MODES,
        index=MODES.index(state.choice("sweep_mode", "sweep")),
        format_func=labeler("sweep.mode"),
        horizontal=True,
        key=state.choice_key("sweep_mode"),
    ),
)
KPIS = ["incremental_revenue", "revenue_net", "revenue_gross", "program_cost",
        "incremental_cost", "points_issued", "points_closing", "liability_closing",
        "breakage", "retention_12m_end", "active_members_end", "roi"]  # fmt: skip
if policy.margins is not None:
    # With the policy's gross margin every point reports profit: search on it first.
    KPIS = ["incremental_gross_profit", "gross_profit", "roi_profit", *KPIS]
search = None
if mode == "search":
    if policy.margins is None:
        st.caption(t("sweep.no_margin"))
    c1, c2, c3 = st.columns(3)
    chosen = state.choice("sweep_obj", KPIS[0])
    objective = state.remember(
        "sweep_obj",
        c1.selectbox(
            t("sweep.objective"),
            KPIS,
            index=KPIS.index(chosen) if chosen in KPIS else 0,
            format_func=kpi_label,
            key=state.choice_key("sweep_obj"),
        ),
    )
    DIRECTIONS = ["maximize", "minimize"]
    direction = state.remember(
        "sweep_dir",
        c2.selectbox(
            t("sweep.direction"),
            DIRECTIONS,
            index=DIRECTIONS.index(state.choice("sweep_dir", "maximize")),
            format_func=labeler("sweep.direction"),
            key=state.choice_key("sweep_dir"),
        ),
    )
    trials = c3.number_input(t("sweep.trials"), 4, 200, 16, step=4, key="sweep_trials")
    st.caption(t("sweep.constraints_help"))
    constraints = st.data_editor(
        pd.DataFrame([{"metric": "retention_12m_end", "min": None, "max": None}]),
        num_rows="dynamic",
        width="stretch",
        column_config={
            "metric": st.column_config.SelectboxColumn(
                t("sweep.metric"), options=KPIS, format_func=kpi_label, required=True
            ),
            "min": st.column_config.NumberColumn(t("sweep.min")),
            "max": st.column_config.NumberColumn(t("sweep.max")),
        },
        key="sweep_constraints_editor",
        placeholder="",  # an empty cell stays blank (not "None")
    )
    bounds = [
        {k: v for k, v in c.items() if not (isinstance(v, float) and pd.isna(v)) and v is not None}
        for c in constraints.to_dict(orient="records")
    ]
    search = {
        "objectives": [{"metric": objective, "direction": direction}],
        "constraints": [b for b in bounds if "metric" in b and ("min" in b or "max" in b)],
        "trials": int(trials),
        "batch": 4,
    }

settings = runs.simulation_controls("sweep")


def _spec() -> sweep.SweepSpec:
    parameters = {}
    for row in rows:
        low, high, step = row.get("low"), row.get("high"), row.get("step")
        if pd.isna(low) or pd.isna(high):
            raise sweep.SweepError(t("sweep.incomplete_row", field=field_label(row["field"])))
        entry = {"low": float(low), "high": float(high)}
        if not pd.isna(step) and step:
            entry["step"] = float(step)
        parameters[row["field"]] = entry
    return sweep.SweepSpec.model_validate(
        {
            "policy": "(edited)",
            "months": settings.months,
            "replications": settings.replications,
            "seed": settings.seed,
            "parameters": parameters,
            "search": search,
        }
    )


if st.button(t("sweep.run"), type="primary", key="sweep_run", disabled=not rows):
    try:
        spec = _spec()
        points = len(sweep.grid_points(spec)) if mode == "sweep" else search["trials"]
    except (sweep.SweepError, ValueError) as exc:
        st.error(t("sweep.bad_spec", error=str(exc).splitlines()[0]))
        st.stop()
    if points > 200:
        st.error(t("sweep.too_many", points=f"{points:,}"))
        st.stop()
    snapshot = runs.population_frame(settings)
    members = build_model(
        policy,
        population=snapshot if snapshot is not None else settings.members,
        start=None if snapshot is not None else settings.start,
        behavior=st.session_state.get(runs.BEHAVIOR),
        seed=settings.seed,
        ledger=runs.population_ledger(settings),
    ).population
    setup = sweep.Setup(
        template=policy,
        baseline=policy,
        behavior=st.session_state.get(runs.BEHAVIOR) or DEFAULT_BEHAVIOR,
        population=members,
        months=settings.months,
        replications=settings.replications,
        seed=settings.seed,
    )
    bar = st.progress(0.0, text=t("sweep.running", points=f"{points:,}"))

    def progress(done: float, message: str) -> None:
        bar.progress(min(max(done, 0.0), 1.0), text=t("simulate.progress", pct=int(done * 100)))

    try:
        if mode == "sweep":
            table = sweep.run_sweep(
                spec, progress=progress, setup=setup, store_points=False, notice=st.info
            )
            st.session_state[RESULT] = {"mode": "sweep", "table": table, "spec": spec}
        else:
            found = sweep.run_search(spec, progress=progress, setup=setup)
            st.session_state[RESULT] = {"mode": "search", "found": found, "spec": spec}
    except sweep.SweepError as exc:
        st.error(t("sweep.bad_spec", error=exc))
        st.stop()
    finally:
        bar.empty()

saved = st.session_state.get(RESULT)
if not saved:
    st.info(t("sweep.no_result"))
    st.stop()

spec = saved["spec"]
names = list(spec.parameters)
unanswered = responses.no_response(names)
if unanswered:
    # Members do not respond to some field varied: say so before any figure is read.
    groups = dict.fromkeys(group.key for group in unanswered.values())
    st.warning(
        t(
            "sweep.no_response",
            fields=", ".join(map(field_label, unanswered)),
            reasons=("；" if current_language() == "zh" else "; ").join(
                t(f"response.{key}") for key in groups
            ),
        )
    )
if saved["mode"] == "sweep":
    table = saved["table"]
    ok = table[table["error"].isna()]
    wide = ok.pivot_table(index=["point", *names], columns="kpi", values="p50").reset_index()
    failed = table[table["error"].notna()]
    for message in failed["error"].unique():
        st.warning(t("sweep.point_failed", error=message))
else:
    found = saved["found"]
    # The caveat column is the warning above, in the page's language.
    trials = found.trials.drop(columns=responses.CAVEAT_COLUMN, errors="ignore")
    wide = trials.rename(columns=lambda c: c[:-4] if c.endswith("_p50") else c)
    wide = wide.rename(columns={"trial": "point"})
    if found.best is None:
        st.warning(t("sweep.none_feasible"))
    else:
        best = found.best
        first = spec.search.objectives[0].metric
        st.success(
            t(
                "sweep.best",
                values=", ".join(f"{field_label(n)} = {best[n]:,.4g}" for n in names),
                metric=kpi_label(first),
                p50=f"{best[f'{first}_p50']:,.0f}",
                p10=f"{best[f'{first}_p10']:,.0f}",
                p90=f"{best[f'{first}_p90']:,.0f}",
                share=f"{best['constraint_share']:.0%}",
            )
        )

available = [k for k in KPIS if k in wide.columns]
if len(available) >= 2:
    c1, c2 = st.columns(2)
    x = c1.selectbox(t("sweep.x"), available, index=available.index(
        "program_cost") if "program_cost" in available else 0, format_func=kpi_label,
        key="sweep_x")  # fmt: skip
    y = c2.selectbox(t("sweep.y"), available, index=available.index(
        "incremental_revenue") if "incremental_revenue" in available else 1,
        format_func=kpi_label, key="sweep_y")  # fmt: skip
    chart = charts.frontier(
        wide,
        x=x,
        y=y,
        fields={n: field_label(n) for n in names},
        titles={"x": kpi_label(x), "y": kpi_label(y), "point": t("sweep.point")},
        title=t("sweep.frontier"),
    )
    st.altair_chart(chart, width="stretch")


def _header(column: str) -> str:
    """A result column's name on screen (a field, a KPI and its percentile, or the row's)."""
    if column in names:
        return field_label(column)
    base, _, percentile = column.rpartition("_")
    if percentile in ("p10", "p90") and f"kpi.{base}" in TEXT:
        return f"{kpi_label(base)} ({percentile.upper()})"
    if f"kpi.{column}" in TEXT:
        return kpi_label(column)
    return t(f"sweep.column.{column}")


st.dataframe(wide.rename(columns=_header), width="stretch", hide_index=True)
with st.expander(t("sweep.paths")):
    # the raw paths, for analysts who write a sweep file (python -m simulations sweep)
    st.markdown("\n".join(f"- {field_label(n)}: `{n}`" for n in names))

choices = list(wide["point"])
variant = t("sweep.point")
pick = st.selectbox(t("sweep.pick"), choices, key="sweep_pick",
                    format_func=lambda p, word=variant: f"{word} {p}")  # fmt: skip
row = wide[wide["point"] == pick].iloc[0]
try:
    chosen = sweep.apply_overrides(policy, {n: row[n].item() if hasattr(row[n], "item") else row[n]
                                            for n in names})  # fmt: skip
except sweep.SweepError as exc:
    st.error(t("sweep.bad_spec", error=exc))
    st.stop()
c1, c2 = st.columns(2)
if c1.button(t("sweep.to_compare"), key="sweep_to_compare"):
    database.prepare()
    name = f"{policy.program.name[:60]} · {t('sweep.point')} {pick}"
    store.save_scenario(name, chosen, note="Sweep & search")
    state.flash(t("sweep.saved", name=name))
    st.rerun()
if c2.button(t("sweep.to_designer"), key="sweep_to_designer"):
    state.set_policy(chosen, t("sweep.source", point=pick))
    state.flash(t("sweep.loaded", point=pick))
    st.rerun()
