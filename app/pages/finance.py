"""Finance: the points roll-forward, breakage / URR and the liability under sensitivities."""

import pandas as pd
import streamlit as st

from app import charts, database, runs, state
from app.formatting import money, number, pct, points
from app.i18n import t
from app.library import optional, require
from app.results_view import Run
from simulations import finance

st.title(t("finance.title"))
if require("simulations", "feature.engine", needs=runs.ENGINE_API) is None:
    st.stop()

kept = state.results()
if not kept:
    st.info(t("finance.no_result"))
    if st.button(t("finance.run_default"), key="finance_run_default"):
        policy = state.policy()
        settings = runs.RunSettings(
            "synthetic", 5_000, 24, 10, 42, pd.Timestamp.today().date().replace(day=1)
        )
        with st.spinner(t("simulate.running")):
            result = runs.simulate(policy, settings)
        label = t("runs.edited", name=policy.program.name)
        state.remember_result(label, Run(label=label, policy=policy, result=result))
        st.session_state["ml_last_run"] = label
        st.rerun()
    st.stop()

labels = list(kept)
last = st.session_state.get("ml_last_run")
label = st.selectbox(
    t("finance.run"),
    labels,
    index=labels.index(last) if last in labels else 0,
    key="finance_run",
)
run = kept[label]
result = run.result
symbol = run.policy.program.currency_symbol
cost_per_point = run.policy.points.redemption.cost_per_point

# -- Roll-forward ----------------------------------------------------------------------------
table = finance.roll_forward_table(result.monthly, cost_per_point)
st.subheader(t("finance.roll_forward"))
st.caption(t("finance.roll_forward_help", replications=result.replications))
in_currency = st.toggle(t("finance.in_currency", symbol=symbol), key="finance_currency")
suffix = "_value" if in_currency else ""
shown = table[["month", *[f"{name}{suffix}" for name in finance.MOVEMENTS]]].copy()
shown.columns = ["month", *finance.MOVEMENTS]
unit = symbol if in_currency else t("unit.points")
labels_map = {name: t(f"finance.{name}") for name in finance.MOVEMENTS}
st.altair_chart(
    charts.roll_forward(shown, t("finance.roll_forward_chart"), unit, labels_map),
    width="stretch",
)
st.dataframe(
    shown.rename(columns={"month": t("finance.month"), **labels_map}),
    hide_index=True,
    width="stretch",
    column_config={
        labels_map[name]: st.column_config.NumberColumn(format="%,.0f")
        for name in finance.MOVEMENTS
    },
)

# -- Breakage and URR ---------------------------------------------------------------------------
band = result.kpis.get(
    "breakage", {"p10": result.breakage, "p50": result.breakage, "p90": result.breakage}
)
closing_points = float(table["closing"].iloc[-1])
c1, c2, c3, c4 = st.columns(4)
c1.metric(
    t("kpi.breakage"),
    pct(result.breakage),
    help=t("kpi.range", p10=pct(band["p10"]), p90=pct(band["p90"])),
)
c2.metric(t("finance.urr"), pct(result.urr))
c3.metric(t("kpi.points_closing"), points(closing_points))
c4.metric(
    t("finance.liability_now"),
    money(closing_points * cost_per_point * (1 - result.breakage), symbol),
    help=t("finance.liability_help"),
)

# -- Sensitivity --------------------------------------------------------------------------------
st.subheader(t("finance.sensitivity"))
st.caption(t("finance.sensitivity_help", cpp=money(cost_per_point, symbol, 4)))
grid = finance.liability_sensitivity(closing_points, cost_per_point, result.breakage)
grid["cost_label"] = grid["cost_per_point"].map(lambda v: money(v, symbol, 4))
grid["breakage_label"] = grid["breakage"].map(pct)
st.altair_chart(
    charts.heatmap(
        grid,
        x="cost_label",
        y="breakage_label",
        value="liability",
        title=t("finance.sensitivity_chart"),
        unit=symbol,
        value_format=",.0f",
        x_sort=list(dict.fromkeys(grid["cost_label"])),
        y_sort=list(dict.fromkeys(grid["breakage_label"])),
    ),
    width="stretch",
)
pivot = grid.pivot_table(
    index="breakage_label", columns="cost_label", values="liability", sort=False
)
st.dataframe(pivot.map(lambda v: money(v, symbol)), width="stretch")

# -- Downloads ----------------------------------------------------------------------------------
kpis = result.summary()
c1, c2 = st.columns(2)
c1.download_button(
    t("finance.download_csv"),
    data=table.to_csv(index=False).encode("utf-8"),
    file_name="points_roll_forward.csv",
    mime="text/csv",
    key="finance_csv",
)
c2.download_button(
    t("finance.download_xlsx"),
    data=finance.excel_report(
        {
            "roll_forward": table,
            "liability_sensitivity": grid[["cost_per_point", "breakage", "liability"]],
            "kpis": kpis,
        }
    ),
    file_name="points_liability.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="finance_xlsx",
)

# -- History from the database ---------------------------------------------------------------
st.subheader(t("finance.history"))
analytics = optional("simulations.analytics", needs=("points_roll_forward", "breakage_to_date"))
store = database.prepared_store(needs=("ledger",))
if analytics is None or store is None:
    st.info(t("common.not_available", feature=t("finance.history")), icon=":material/construction:")
    st.stop()


@st.cache_data(show_spinner=False, max_entries=8)
def ledger_history(url: str, generation: int) -> tuple[pd.DataFrame, float]:
    """The database ledger's monthly roll-forward and breakage to date (aggregated)."""
    entries = database.ledger()
    return analytics.points_roll_forward(entries), analytics.breakage_to_date(entries)


with st.spinner(t("overview.loading")):
    history, realized = ledger_history(database.database_url(), database.generation())
if history.empty:
    st.info(t("finance.no_history"))
    st.stop()
st.caption(t("finance.history_help", breakage=pct(realized), months=number(len(history))))
recent = history.tail(24)
st.altair_chart(
    charts.roll_forward(recent, t("finance.history_chart"), t("unit.points"), labels_map),
    width="stretch",
)
st.dataframe(
    history.rename(columns={"month": t("finance.month"), **labels_map}),
    hide_index=True,
    width="stretch",
)
