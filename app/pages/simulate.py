"""Simulate: forecast a scenario's members, points, liability and revenue with uncertainty."""

import streamlit as st

from app import runs, state
from app.i18n import t
from app.results_view import Run, show_result

st.title(t("simulate.title"))
state.show_flash()

options = runs.scenarios()
keys = list(options)
names = runs.labels(keys)
c1, c2 = st.columns(2)
scenario = state.remember(
    "simulate_scenario",
    c1.selectbox(
        t("simulate.scenario"),
        keys,
        index=keys.index(runs.picked("simulate_scenario", keys, runs.EDITED)),
        format_func=names.get,
        key=state.choice_key("simulate_scenario"),
    ),
)
NONE = ""
others = [NONE, *[key for key in keys if key != scenario]]
baseline_key = state.remember(
    "simulate_baseline",
    c2.selectbox(
        t("simulate.baseline"),
        others,
        index=others.index(runs.picked("simulate_baseline", others, NONE)),
        format_func=lambda key, none=t("simulate.no_baseline"): names.get(key, none),
        key=state.choice_key("simulate_baseline"),
        help=t("simulate.baseline_help"),
    ),
)
settings = runs.simulation_controls("simulate")

if st.button(t("simulate.run"), type="primary", key="simulate_run"):
    bar = st.progress(0.0, text=t("simulate.running"))

    def progress(done: float, message: str) -> None:
        bar.progress(min(max(done, 0.0), 1.0), text=t("simulate.progress", pct=int(done * 100)))

    baseline = options[baseline_key] if baseline_key else None
    try:
        result = runs.simulate(
            options[scenario],
            settings,
            baseline=baseline,
            progress=progress,
            scenario=runs.scenario_label(scenario, lang="en"),
        )
    except ValueError as exc:  # e.g. a member snapshot the engine cannot read
        bar.empty()
        st.error(t("simulate.failed", error=exc))
        st.stop()
    bar.empty()
    state.remember_result(
        scenario, Run(label=scenario, policy=options[scenario], result=result, baseline=baseline)
    )
    st.session_state["ml_last_run"] = scenario

last = state.results().get(st.session_state.get("ml_last_run"))
if last is None:
    st.info(t("simulate.no_result"))
    st.stop()
show_result(last)
