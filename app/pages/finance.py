"""Finance: deferred revenue (IFRS 15 / CAS 14), both liability bases, breakage two ways.

Sections: the two bases of the points liability side by side, the deferral schedule and its
journal (CSV / Excel), the points roll-forward, the ultimate redemption rate simulated and by
chain ladder with their backtest, the sensitivity (table and tornado charts), the worked IFRS
15 Illustrative Example 52, and the history from the database.
"""

import pandas as pd
import streamlit as st

from app import charts, database, runs, state
from app.formatting import money, number, pct
from app.i18n import t
from app.results_view import Run, report_button
from simulations import analytics, chain_ladder, deferral, finance
from simulations.behavior import BehaviorParams

st.title(t("finance.title"))

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
        state.remember_result(runs.EDITED, Run(label=runs.EDITED, policy=policy, result=result))
        st.session_state["ml_last_run"] = runs.EDITED
        st.rerun()
    st.stop()

labels = list(kept)
last = st.session_state.get("ml_last_run")
label = st.selectbox(
    t("finance.run"),
    labels,
    index=labels.index(last) if last in labels else 0,
    format_func={key: runs.scenario_label(key, kept[key].policy) for key in labels}.get,
    key=state.choice_key("finance_run"),
)
run = kept[label]
result = run.result
if runs.used_default_behavior(result):
    st.warning(t("runs.result_default_behavior", page=t("page.data_calibration")))
symbol = run.policy.program.currency_symbol
cost_per_point = run.policy.points.redemption.cost_per_point

# -- Two bases of the liability ----------------------------------------------------------------
redemption = run.policy.points.redemption
c1, c2 = st.columns(2)
point_value = c1.number_input(
    t("finance.point_value"),
    min_value=0.0001,
    value=float(redemption.point_value),
    step=0.001,
    format="%.4f",
    key=f"finance_point_value_{label}",
)
cost_per_point = c2.number_input(
    t("finance.cost_per_point"),
    min_value=0.0,
    value=float(cost_per_point),
    step=0.001,
    format="%.4f",
    key=f"finance_cost_per_point_{label}",
)
periods, opening_points = deferral.periods_from_monthly(result.monthly, result.urr)
opening_liability = deferral.opening_allocation(periods, opening_points, point_value)
schedule = deferral.deferral_schedule(
    periods,
    point_value=point_value,
    cost_per_point=cost_per_point,
    opening_points=opening_points,
    opening_liability=opening_liability,
)
journal = deferral.journal_entries(schedule)
table = finance.roll_forward_table(result.monthly, cost_per_point)
# The cost basis as the engine measures it (P50), the same figure and label as on Simulate.
fulfil_moves = finance.fulfil_sensitivity(result.monthly, result.urr_by_replication, cost_per_point)
st.subheader(t("finance.bases"))
st.caption(t("finance.bases_help"))
c1, c2, c3 = st.columns(3)
c1.metric(
    t("liability.contract"),
    money(float(schedule["contract_liability_closing"].iloc[-1]), symbol),
    help=t("liability.contract_help"),
)
c2.metric(
    t("liability.cost"),
    money(fulfil_moves[("base", "base")], symbol),
    help=t("liability.cost_help"),
)
c3.metric(
    t("kpi.breakage"),
    pct(result.breakage),
    help=t(
        "kpi.range",
        p10=pct(result.kpis["breakage"]["p10"]),
        p90=pct(result.kpis["breakage"]["p90"]),
    ),
)

# -- Deferral schedule and journal ------------------------------------------------------------
st.subheader(t("finance.schedule"))
st.caption(t("finance.schedule_help", urr=pct(result.urr)))
shown_columns = [
    "period",
    "sales",
    "allocated_to_points",
    "revenue_goods",
    "revenue_redemption",
    "revenue_breakage",
    "revenue_catch_up",
    "revenue_points",
    "contract_liability_closing",
]
money_format = st.column_config.NumberColumn(format="localized")
amounts = shown_columns[1:]
shown_schedule = schedule[shown_columns].copy()
shown_schedule[amounts] = shown_schedule[amounts].round(0) + 0.0  # no "-0" shown
st.dataframe(
    shown_schedule.rename(columns={c: t(f"deferral.{c}") for c in shown_columns}),
    hide_index=True,
    width="stretch",
    column_config={t(f"deferral.{c}"): money_format for c in shown_columns[1:]},
)
with st.expander(t("finance.journal")):
    lines = journal.assign(
        entry=journal["entry"].map(lambda k: t(f"entry.{k}")),
        account=journal["account"].map(lambda k: t(f"account.{k}")),
    )[["period", "entry", "account", "debit", "credit"]]
    for side in ("debit", "credit"):  # one side of each line is blank, not 0 or "None"
        lines[side] = lines[side].map(lambda v: f"{v:,.2f}" if v else "")
    lines.columns = [t(f"journal.{c}") for c in lines.columns]
    st.dataframe(lines, hide_index=True, width="stretch")
c1, c2, c3 = st.columns(3)
c1.download_button(
    t("finance.download_schedule"),
    data=schedule.to_csv(index=False).encode("utf-8"),
    file_name="deferred_revenue_schedule.csv",
    mime="text/csv",
    key="finance_schedule_csv",
)
c2.download_button(
    t("finance.download_journal"),
    data=journal.to_csv(index=False).encode("utf-8"),
    file_name="loyalty_points_journal.csv",
    mime="text/csv",
    key="finance_journal_csv",
)
sensitivity = finance.schedule_sensitivity(
    periods,
    point_value=point_value,
    cost_per_point=cost_per_point,
    opening_points=opening_points,
    opening_liability=opening_liability,
)
sensitivity["cost_to_fulfil"] = [
    fulfil_moves[(d, c)] for d, c in zip(sensitivity["driver"], sensitivity["case"], strict=True)
]
sensitivity["cost_to_fulfil_change"] = (
    sensitivity["cost_to_fulfil"] - sensitivity["cost_to_fulfil"].iloc[0]
)
c3.download_button(
    t("finance.download_journal_xlsx"),
    data=finance.excel_report(
        {
            "schedule": schedule,
            "journal": journal,
            "roll_forward": table,
            "sensitivity": sensitivity,
            "kpis": result.summary(),
        }
    ),
    file_name="deferred_revenue.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="finance_xlsx",
)
report_button([run], "finance", point_value=point_value)

# -- Sensitivity --------------------------------------------------------------------------------
st.subheader(t("finance.sensitivity_both"))
st.caption(t("finance.sensitivity_both_help"))
drivers = {k: t(f"sens.{k}") for k in ("base", "breakage", "point_value", "cost_per_point")}
cases = {"low": t("sens.low"), "high": t("sens.high")}
moved = sensitivity[sensitivity["driver"] != "base"]
c1, c2 = st.columns(2)
for column, measure, title in (
    (c1, "contract_liability", "finance.tornado_contract"),
    (c2, "cost_to_fulfil", "finance.tornado_cost"),
):
    bars = moved.assign(driver=moved["driver"].map(drivers), change=moved[f"{measure}_change"])
    column.altair_chart(
        charts.tornado(bars[["driver", "case", "change"]], t(title), symbol, cases),
        width="stretch",
    )
input_text = [
    pct(v) if d in ("base", "breakage") else money(v, symbol, 4)
    for d, v in zip(sensitivity["driver"], sensitivity["input"], strict=True)
]
grid = pd.DataFrame(
    {
        t("sens.driver"): sensitivity["driver"].map(drivers),
        t("sens.case"): sensitivity["case"].map({**cases, "base": t("sens.base")}),
        t("sens.input"): input_text,
        t("liability.contract"): sensitivity["contract_liability"].round(0),
        t("liability.cost"): sensitivity["cost_to_fulfil"].round(0),
    }
)
st.dataframe(
    grid,
    hide_index=True,
    width="stretch",
    column_config={
        t("liability.contract"): money_format,
        t("liability.cost"): money_format,
    },
)

# -- The worked example -----------------------------------------------------------------------
with st.expander(t("finance.example52")):
    st.markdown(t("finance.example52_text"))
    example = deferral.deferral_schedule(
        pd.DataFrame(
            {
                "period": ["1", "2"],
                "sales": [100_000.0, 0.0],
                "points_issued": [10_000, 0],
                "points_redeemed": [4_500, 4_000],
                "expected_redemption_rate": [0.95, 0.97],
            }
        ),
        point_value=1.0,
    )
    example_columns = [
        "period",
        "sales",
        "points_issued",
        "points_redeemed",
        "expected_redemption_rate",
        "allocated_to_points",
        "revenue_points",
        "revenue_catch_up",
        "contract_liability_closing",
    ]
    # IE267-IE270 state their figures to the unit; the rate keeps its two decimals.
    units = [c for c in example_columns[1:] if c != "expected_redemption_rate"]
    example[units] = example[units].round(0) + 0.0
    st.dataframe(
        example[example_columns].rename(columns={c: t(f"deferral.{c}") for c in example_columns}),
        hide_index=True,
        width="stretch",
        column_config={
            t(f"deferral.{c}"): st.column_config.NumberColumn(format="localized")
            for c in example_columns[1:]
            if c != "expected_redemption_rate"
        },
    )

# -- Roll-forward ----------------------------------------------------------------------------
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
        labels_map[name]: st.column_config.NumberColumn(format="localized")
        for name in finance.MOVEMENTS
    },
)

# -- History from the database ---------------------------------------------------------------
database.prepare()


@st.cache_data(show_spinner=False, max_entries=8)
def ledger_history(url: str, generation: int) -> tuple[pd.DataFrame, float]:
    """The database ledger's monthly roll-forward and breakage to date (aggregated)."""
    entries = database.ledger()
    return analytics.points_roll_forward(entries), analytics.breakage_to_date(entries)


with st.spinner(t("overview.loading")):
    history, realized = ledger_history(database.database_url(), database.generation())
if history.empty:
    st.subheader(t("finance.history"))
    st.info(t("finance.no_history"))
    st.stop()


@st.cache_data(show_spinner=False, max_entries=4)
def chain_ladder_view(url: str, generation: int) -> dict:
    """Chain-ladder URR of the last 12 cohorts, its backtest and the triangle (aggregated)."""
    entries = database.ledger()
    flows = chain_ladder.cohort_flows(entries)
    triangle = chain_ladder.redemption_triangle(entries, flows=flows)
    end = triangle.valuation
    first = end - 11
    oldest = triangle.issued.index.min()
    valuations = [
        (end - 12 - 3 * k).end_time.date() for k in range(4) if end - 23 - 3 * k >= oldest
    ]
    rates = triangle.rates().tail(24).iloc[:, :25].stack().rename("share").reset_index()
    rates["cohort"] = rates["cohort"].astype(str)
    return {
        "urr": chain_ladder.chain_ladder(triangle).urr(str(first), str(end)),
        "first": str(first),
        "last": str(end),
        "backtest": chain_ladder.backtest(entries, valuations, flows=flows),
        "rates": rates,
    }


st.subheader(t("finance.breakage_two_ways"))
with st.spinner(t("overview.loading")):
    ladder = chain_ladder_view(database.database_url(), database.generation())
c1, c2 = st.columns(2)
c1.metric(t("finance.urr_simulated"), pct(result.urr), help=t("finance.urr_simulated_help"))
c2.metric(
    t("finance.urr_chain_ladder"),
    pct(ladder["urr"]),
    help=t("finance.urr_chain_ladder_help", first=ladder["first"], last=ladder["last"]),
)
if not ladder["backtest"].empty:
    st.markdown(f"**{t('finance.backtest')}**")
    tested = ladder["backtest"].assign(method="chain_ladder")
    method_names = {
        "simulated": t("finance.urr_simulated"),
        "chain_ladder": t("finance.urr_chain_ladder"),
    }
    latest = tested.iloc[0]
    simulated_key = ("ml_finance_sim_backtest", label, latest["valuation"])
    simulated = st.session_state.get(str(simulated_key))
    if simulated is None:
        st.caption(t("finance.backtest_simulated_missing", valuation=latest["valuation"]))
        if st.button(t("finance.backtest_simulated_run"), key="finance_backtest_sim"):
            with st.spinner(t("simulate.running")):
                as_of = pd.Timestamp(latest["valuation"]).date() + pd.Timedelta(days=1)
                simulated = finance.simulated_urr_at(
                    run.policy,
                    database.snapshot(as_of),
                    latest["valuation"],
                    behavior=BehaviorParams.model_validate(result.inputs["behavior"]),
                    ledger=database.ledger(),
                )
            st.session_state[str(simulated_key)] = simulated
    if simulated is not None:
        row = latest.copy()
        row["method"], row["estimate"] = "simulated", simulated["urr"]
        row["error"] = simulated["urr"] - latest["actual"]
        tested = pd.concat([row.to_frame().T, tested], ignore_index=True)
        closer = "simulated" if abs(row["error"]) < abs(latest["error"]) else "chain_ladder"
        names = {
            "simulated": t("finance.urr_simulated"),
            "chain_ladder": t("finance.urr_chain_ladder"),
        }
        st.caption(t("finance.backtest_help", winner=names[closer]))
    method_names = {
        "simulated": t("finance.urr_simulated"),
        "chain_ladder": t("finance.urr_chain_ladder"),
    }
    st.dataframe(
        pd.DataFrame(
            {
                t("backtest.valuation"): tested["valuation"],
                t("backtest.method"): tested["method"].map(method_names),
                t("backtest.cohorts"): tested["first_cohort"] + " – " + tested["last_cohort"],
                t("backtest.estimate"): tested["estimate"].map(pct),
                t("backtest.actual"): tested["actual"].map(pct),
                t("backtest.error"): (tested["error"].astype(float) * 100).map(
                    lambda v: f"{v:+.1f}"
                ),
            }
        ),
        hide_index=True,
        width="stretch",
    )
st.altair_chart(
    charts.heatmap(
        ladder["rates"],
        x="age",
        y="cohort",
        value="share",
        title=t("finance.triangle"),
        unit="%",
        value_format=".0%",
        x_title=t("finance.triangle_x"),
        y_title=t("finance.triangle_y"),
    ),
    width="stretch",
)

st.subheader(t("finance.history"))
st.caption(t("finance.history_help", breakage=pct(realized), months=number(len(history))))
recent = history.tail(24)
st.altair_chart(
    charts.roll_forward(recent, t("finance.history_chart"), t("unit.points"), labels_map),
    width="stretch",
)
if "breakage_to_date" in history:  # a share: written as a percentage, blank before any
    history = history.assign(
        breakage_to_date=history["breakage_to_date"].map(lambda v: "" if pd.isna(v) else pct(v))
    )
st.dataframe(
    history.rename(
        columns={
            "month": t("finance.month"),
            "breakage_to_date": t("finance.breakage_to_date"),
            **labels_map,
        }
    ),
    hide_index=True,
    width="stretch",
    column_config={
        labels_map[name]: st.column_config.NumberColumn(format="localized")
        for name in finance.MOVEMENTS
    },
)
