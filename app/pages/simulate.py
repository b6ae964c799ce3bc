"""Simulate: forecast a scenario's members, points, liability and revenue with uncertainty."""

import streamlit as st

from app import runs, state
from app.i18n import t
from app.results_view import Run, show_result

st.title(t("simulate.title"))
state.show_flash()

options = runs.scenarios()
labels = list(options)
c1, c2 = st.columns(2)
label = c1.selectbox(t("simulate.scenario"), labels, key="simulate_scenario")
none = t("simulate.no_baseline")
baseline_label = c2.selectbox(
    t("simulate.baseline"),
    [none, *[other for other in labels if other != label]],
    key="simulate_baseline",
    help=t("simulate.baseline_help"),
)
settings = runs.simulation_controls("simulate")

if st.button(t("simulate.run"), type="primary", key="simulate_run"):
    bar = st.progress(0.0, text=t("simulate.running"))

    def progress(done: float, message: str) -> None:
        bar.progress(min(max(done, 0.0), 1.0), text=t("simulate.progress", pct=int(done * 100)))

    baseline = None if baseline_label == none else options[baseline_label]
    try:
        result = runs.simulate(
            options[label], settings, baseline=baseline, progress=progress, scenario=label
        )
    except ValueError as exc:  # e.g. a member snapshot the engine cannot read
        bar.empty()
        st.error(t("simulate.failed", error=exc))
        st.stop()
    bar.empty()
    state.remember_result(
        label, Run(label=label, policy=options[label], result=result, baseline=baseline)
    )
    st.session_state["ml_last_run"] = label

last = state.results().get(st.session_state.get("ml_last_run"))
if last is None:
    st.info(t("simulate.no_result"))
    st.stop()
show_result(last)
