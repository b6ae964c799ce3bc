"""Data & calibration: the data in use, importing a client's files, calibrating behavior."""

import datetime as dt
import re
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

import store
from app import charts, database, runs, state
from app.calibration_view import calibration_table
from app.formatting import blank_missing, number
from app.i18n import current_language, labeler, t
from simulations import backtest as backtesting
from simulations import calibration
from store import importer

NONE = "—"

st.title(t("data.title"))
database.prepare()

# -- The data in use --------------------------------------------------------------------------
st.subheader(t("data.in_use"))
url = database.database_url()
st.caption(t("data.url", url=re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)))
with st.spinner(t("overview.loading")):
    people = database.members()
    purchases = database.transactions()
c1, c2, c3 = st.columns(3)
c1.metric(t("overview.members"), number(len(people)))
c2.metric(t("data.transactions"), number(len(purchases)))
if len(purchases):
    dates = pd.to_datetime(purchases["date"])
    # months in the figure (a full date range does not fit a third of the page); days below
    c3.metric(
        t("data.period"),
        f"{dates.min():%Y-%m} – {dates.max():%Y-%m}",
        help=f"{dates.min():%Y-%m-%d} – {dates.max():%Y-%m-%d}",
    )

# -- Import -----------------------------------------------------------------------------------
st.subheader(t("data.import"))
st.caption(t("data.import_help"))
# How the client's text files are written: chosen before the files, so the header is read right.
c1, c2, c3, c4 = st.columns(4)
encoding = c1.selectbox(
    t("data.encoding"),
    ["auto", "utf-8", "gb18030", "big5", "utf-16", "latin-1"],
    format_func=lambda e, auto=t("data.encoding_auto"): auto if e == "auto" else e.upper(),
    key=state.choice_key("data_encoding"),
)
delimiter = c2.selectbox(
    t("data.delimiter"),
    [",", ";", "\t", "|"],
    format_func=lambda d, tab=t("data.tab"): tab if d == "\t" else d,
    key=state.choice_key("data_delimiter"),
)
decimal = c3.selectbox(t("data.decimal"), [".", ","], key="data_decimal")
thousands = c4.selectbox(
    t("data.thousands"),
    [s for s in (",", ".", " ", "'", "") if s != decimal],
    format_func=lambda s, named={"": t("data.none"), " ": t("data.space")}: named.get(s, s),
    key=state.choice_key("data_thousands"),
)
text_format = importer.TextFormat(encoding, delimiter, decimal, thousands)
uploads = {}
mappings = {}
left, right = st.columns(2)
for column, table, ours in (
    (left, "members", importer.MEMBER_COLUMNS),
    (right, "transactions", importer.TRANSACTION_COLUMNS),
):
    with column:
        upload = st.file_uploader(
            t(f"data.file.{table}"), type=["csv", "parquet"], key=f"data_upload_{table}"
        )
        if upload is None:
            continue
        try:
            if upload.name.endswith(".parquet"):
                header = list(pd.read_parquet(upload).columns)
            else:
                header = importer.csv_header(upload.getvalue(), text_format)
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            st.error(t("data.unreadable", name=upload.name, error=exc))
            continue
        upload.seek(0)
        uploads[table] = upload
        mapping = {}
        with st.expander(t("data.mapping", name=upload.name), expanded=True):
            for name, required in ours.items():
                options = [NONE, *header]
                guess = name if name in header else NONE
                picked = st.selectbox(
                    f"{name}{' *' if required else ''}",
                    options,
                    index=options.index(guess),
                    key=f"data_map_{table}_{name}",
                )
                if picked != NONE:
                    mapping[picked] = name
        mappings[table] = mapping

c1, c2 = st.columns(2)
replace = c1.checkbox(t("data.replace"), key="data_replace")
date_format = c2.text_input(t("data.date_format"), value="%Y-%m-%d", key="data_date_format")
check_col, import_col = st.columns(2)
check = check_col.button(t("data.check"), disabled=not uploads, key="data_check")
load = import_col.button(t("data.load"), type="primary", disabled=not uploads, key="data_load")
if check or load:
    from policies.settings import get_settings

    folder = get_settings().data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        paths = {}
        for table, upload in uploads.items():
            path = Path(tmp) / f"{table}{Path(upload.name).suffix.lower()}"
            path.write_bytes(upload.getvalue())
            paths[table] = path
        with st.spinner(t("data.importing")):
            report = store.import_client_data(
                members=paths.get("members"),
                transactions=paths.get("transactions"),
                member_mapping=mappings.get("members") or None,
                transaction_mapping=mappings.get("transactions") or None,
                replace=replace,
                dry_run=not load,
                date_format=date_format,
                encoding=encoding,
                delimiter=delimiter,
                decimal=decimal,
                thousands=thousands,
            )
    if report.ok:
        st.success(store.format_report(report).splitlines()[0])
        if load:
            database.bump_generation()
    else:
        st.error(t("data.failed", count=report.error_count))
    if report.errors:
        st.dataframe(
            blank_missing(
                pd.DataFrame(
                    [
                        {
                            t("data.table"): issue.table,
                            t("data.line"): issue.line,
                            t("data.column"): issue.column,
                            t("data.value"): issue.value,
                            t("data.problem"): issue.message,
                        }
                        for issue in report.errors
                    ]
                )
            ),
            hide_index=True,
            width="stretch",
        )
    for warning in report.warnings:
        st.warning(warning)

# -- Backtest -------------------------------------------------------------------------------
st.subheader(t("backtest.title"))
st.caption(t("backtest.help"))
if len(purchases):
    first_day = pd.to_datetime(purchases["date"]).min().date()
    last_day = pd.to_datetime(purchases["date"]).max().date()
    latest_cutoff = max(last_day - dt.timedelta(days=31), first_day)
    c1, c2, c3, c4 = st.columns(4)
    cutoff = c1.date_input(
        t("backtest.cutoff"),
        value=max(last_day - dt.timedelta(days=365), first_day),
        min_value=first_day,
        max_value=latest_cutoff,
        key="data_backtest_cutoff",
    )
    horizon = c2.number_input(t("backtest.months"), 1, 36, 12, key="data_backtest_months")
    replications = c3.number_input(
        t("backtest.replications"), 2, 200, 10, key="data_backtest_replications"
    )
    arrivals = c4.selectbox(
        t("backtest.arrivals"),
        ["forecast", "actual"],
        format_func=lambda value, lang=current_language(): t(
            f"backtest.arrivals_{value}", lang=lang
        ),
        key=state.choice_key("data_backtest_arrivals"),  # translated options: a key per language
    )
    if st.button(t("backtest.run"), key="data_backtest_run"):
        with st.spinner(t("backtest.running")):
            try:
                st.session_state["ml_backtest"] = backtesting.backtest(
                    purchases,
                    database.ledger(),
                    people,
                    cutoff=cutoff,
                    months=int(horizon),
                    policy=state.policy(),
                    arrivals=arrivals,
                    replications=int(replications),
                    seed=42,
                )
            except ValueError as exc:  # unusable data or a failed purchase-model fit
                st.error(t("backtest.failed", error=exc))
    checked = st.session_state.get("ml_backtest")
    if checked is None:
        st.info(t("backtest.none"))
    else:
        inputs = checked.inputs
        st.caption(
            t(
                "backtest.window",
                months=inputs["months"],
                first=inputs["first_month"],
                last=inputs["last_month"],
                members=number(inputs["existing_members"]),
            )
        )
        for note in checked.calibration.get("fallbacks", []):
            st.warning(t("backtest.fallback", note=note), icon=":material/warning:")
        shown = [m for m in backtesting.METRICS if m in set(checked.monthly["metric"])]
        metric = st.selectbox(
            t("backtest.metric"),
            shown,
            format_func=lambda value: t(f"kpi.{value}"),
            key="data_backtest_metric",
        )
        rows = checked.monthly[
            (checked.monthly["metric"] == metric) & (checked.monthly["segment"] == "all")
        ]
        st.altair_chart(
            charts.tracking(
                rows,
                title=t("backtest.tracking", metric=t(f"kpi.{metric}")),
                unit=t(f"kpi.{metric}"),
                actual_label=t("data.actual"),
            ),
            width="stretch",
        )
        table = checked.summary.copy()
        references = checked.reference_summary.pivot_table(
            index=["metric", "segment"], columns="reference", values="error"
        )
        table = table.join(references, on=["metric", "segment"])
        columns = {
            "metric": t("backtest.metric"),
            "segment": t("backtest.segment"),
            "actual": t("data.actual"),
            "p50": "P50",
            "error": t("backtest.engine"),
            "seasonal_naive": t("backtest.seasonal_naive"),
            "bgnbd_gamma_gamma": t("backtest.bgnbd_gamma_gamma"),
        }
        table = table[[c for c in columns if c in table.columns]]
        table["metric"] = table["metric"].map(lambda value: t(f"kpi.{value}"))
        table["segment"] = table["segment"].map(lambda value: t(f"backtest.segment.{value}"))
        st.caption(t("backtest.errors"))
        st.dataframe(
            table.rename(columns=columns),
            hide_index=True,
            width="stretch",
            column_config={
                columns[c]: st.column_config.NumberColumn(format="percent")
                for c in ("error", "seasonal_naive", "bgnbd_gamma_gamma")
                if c in table.columns
            },
        )
        coverage = checked.coverage.get("share")
        if coverage is not None:
            st.caption(t("backtest.coverage", share=f"{coverage:.0%}"))
        breakage = checked.breakage
        if breakage.get("p50") is not None:
            history = breakage.get("history_12m_before_cutoff")
            st.caption(
                t(
                    "backtest.breakage",
                    forecast=f"{breakage['p50']:.1%}",
                    actual=f"{breakage['actual']:.1%}"
                    if breakage.get("actual") is not None
                    else "–",
                    history=f"{history:.1%}" if history is not None else "–",
                )
            )

# -- Calibration ----------------------------------------------------------------------------
st.subheader(t("data.calibration"))
if not len(purchases):
    st.info(t("overview.empty"))
    st.stop()
last_day = pd.to_datetime(purchases["date"]).max().date()
c1, c2 = st.columns(2)
end = c1.date_input(
    t("data.calibration_end"),
    value=last_day - dt.timedelta(days=90),
    max_value=last_day,
    key="data_calibration_end",
    help=t("data.calibration_end_help"),
)
unit = c2.selectbox(
    t("data.time_unit"),
    ["day", "week"],
    format_func=labeler("data.time_unit"),
    key=state.choice_key("data_time_unit"),
)
if st.button(t("data.calibrate"), type="primary", key="data_calibrate"):
    with st.spinner(t("data.calibrating")):
        try:
            fitted = calibration.calibrate(
                purchases, members=people, calibration_end=end, time_unit=unit
            )
        except (calibration.CalibrationDataError, calibration.ConvergenceError, ValueError) as exc:
            st.error(t("data.calibration_failed", error=exc))
            st.stop()
    st.session_state["ml_calibration"] = fitted

fitted = st.session_state.get("ml_calibration")
if fitted is None:
    st.info(t("data.no_calibration"))
    st.stop()
st.caption(
    t(
        "data.calibrated_on",
        members=number(fitted.n_members),
        transactions=number(fitted.n_transactions),
        end=fitted.calibration_end,
    )
)
st.dataframe(calibration_table(fitted.summary()), hide_index=True, width="stretch")
# What no calibration estimates is said to be assumed (the reward-rate response).
assumed_lift = fitted.behavior_params().effects.reward_rate_lift
st.caption(t("runs.behavior_assumed", pct=f"{100 * assumed_lift:g}"))
for note in fitted.notes:
    if note in getattr(fitted, "fallbacks", ()):
        st.error(note, icon=":material/warning:")  # a failed fit: defaults are in use
    else:
        st.warning(note)
if fitted.holdout is not None and len(fitted.holdout):
    holdout = fitted.holdout.melt(
        id_vars="period", value_vars=["cumulative_predicted", "cumulative_actual"]
    )
    holdout["series"] = holdout["variable"].map(
        {"cumulative_predicted": t("data.predicted"), "cumulative_actual": t("data.actual")}
    )
    st.altair_chart(
        charts.lines(
            holdout,
            x="period",
            y="value",
            color="series",
            title=t("data.holdout"),
            unit=t("data.purchases"),
        ),
        width="stretch",
    )
if fitted.p_alive:
    st.caption(
        t(
            "data.p_alive",
            mean=f"{fitted.p_alive.get('mean', float('nan')):.0%}",
            below=f"{fitted.p_alive.get('share_below_0.5', float('nan')):.0%}",
        )
    )
c1, c2 = st.columns(2)
if c1.button(t("data.use_params"), key="data_use_params"):
    st.session_state[runs.BEHAVIOR] = fitted.behavior_params()
    st.success(t("data.using_params"))
if c2.button(t("data.default_params"), key="data_default_params"):
    st.session_state.pop(runs.BEHAVIOR, None)
    st.success(t("data.using_defaults"))
