"""Policy designer: tiers, points economics, expiry, redemption windows and campaigns.

Every edit is re-validated on the server with the policy model; the policy being edited is
replaced only by a valid policy, and each problem is shown next to the table it concerns.
"""

import datetime as dt
from pathlib import Path

import streamlit as st

import store
from app import charts, database, editing, state
from app.formatting import money, problem_text, problems_by_section, short_id
from app.i18n import labeler, t
from policies import (
    PolicyValidationError,
    content_id,
    dump_policy,
    load_policy,
    parse_policy,
    policy_from_dict,
    policy_to_dict,
)
from policies.model import CAMPAIGN_KINDS

policy = state.policy()
symbol = policy.program.currency_symbol
key = state.widget_key

st.title(t("designer.title"))
state.show_flash()
st.caption(
    t(
        "designer.current",
        name=policy.program.name,
        source=state.source_label(),
        id=short_id(content_id(policy)),
    )
)


def show_problems(messages: list[str] | None) -> None:
    for message in messages or []:
        st.error(message, icon=":material/warning:")


# -- Load ---------------------------------------------------------------------------------
with st.expander(t("designer.load"), expanded=False):
    left, right = st.columns(2)
    with left:
        names = list(state.examples())
        # offered first: the example a new session starts from (loading it starts afresh)
        start = Path(state.DEFAULT_EXAMPLE).stem
        choice = st.selectbox(
            t("designer.example"),
            names,
            index=names.index(start) if start in names else 0,
            key="designer_example",
        )
        if st.button(t("designer.load_example"), key="designer_load_example"):
            state.set_policy(load_policy(state.examples()[choice]), f"example:{choice}")
            state.flash(t("designer.loaded", name=choice))
            st.rerun()
    with right:
        database.prepare()
        saved = store.list_scenarios()
        saved_names = list(saved["name"]) if len(saved) else []
        picked = st.selectbox(
            t("designer.scenario"),
            saved_names,
            key="designer_scenario",
            placeholder=t("designer.no_scenarios"),
        )
        load_col, delete_col = st.columns(2)
        if load_col.button(
            t("designer.load_scenario"), disabled=not saved_names, key="designer_load_scenario"
        ):
            state.set_policy(store.load_scenario(picked), f"scenario:{picked}")
            state.flash(t("designer.loaded", name=picked))
            st.rerun()
        if delete_col.button(
            t("designer.delete_scenario"),
            disabled=not saved_names,
            key="designer_delete_scenario",
        ):
            store.delete_scenario(picked)
            state.flash(t("designer.deleted", name=picked))
            st.rerun()

general_slot = st.container()

data = policy_to_dict(policy)
tab_tiers, tab_points, tab_expiry, tab_campaigns, tab_file = st.tabs(
    [
        t("designer.tab.tiers"),
        t("designer.tab.points"),
        t("designer.tab.expiry"),
        t("designer.tab.campaigns"),
        t("designer.tab.file"),
    ]
)

# -- Tiers --------------------------------------------------------------------------------
with tab_tiers:
    c1, c2, c3 = st.columns(3)
    data["program"]["name"] = c1.text_input(
        t("designer.program_name"), value=policy.program.name, key=key("program_name")
    )
    data["program"]["currency"] = c2.text_input(
        t("designer.currency"), value=policy.program.currency, key=key("currency")
    ).upper()
    data["program"]["currency_symbol"] = c3.text_input(
        t("designer.currency_symbol"), value=policy.program.currency_symbol, key=key("symbol")
    )
    rules = policy.tiers
    c1, c2, c3, c4 = st.columns(4)
    metrics = ["spend", "purchases", "points"]
    data["tiers"]["qualifying_metric"] = c1.selectbox(
        t("designer.metric"),
        metrics,
        index=metrics.index(rules.qualifying_metric),
        format_func=labeler("designer.metric"),
        key=key("metric"),
    )
    kinds = ["rolling", "calendar_year"]
    data["tiers"]["qualifying_period"]["kind"] = c2.selectbox(
        t("designer.period_kind"),
        kinds,
        index=kinds.index(rules.qualifying_period.kind),
        format_func=labeler("designer.period"),
        key=key("period_kind"),
    )
    if data["tiers"]["qualifying_period"]["kind"] == "rolling":
        data["tiers"]["qualifying_period"]["months"] = c2.number_input(
            t("designer.period_months"),
            min_value=1,
            max_value=36,
            value=rules.qualifying_period.months,
            key=key("period_months"),
        )
    downgrades = ["none", "at_review", "one_level"]
    data["tiers"]["downgrade"] = c3.selectbox(
        t("designer.downgrade"),
        downgrades,
        index=downgrades.index(rules.downgrade),
        format_func=labeler("designer.downgrade"),
        key=key("downgrade"),
    )
    data["tiers"]["grace_months"] = c4.number_input(
        t("designer.grace_months"),
        min_value=0,
        max_value=24,
        value=rules.grace_months,
        key=key("grace"),
    )
    timings = ["immediate", "at_review"]
    data["tiers"]["upgrade_timing"] = c1.selectbox(
        t("designer.upgrade_timing"),
        timings,
        index=timings.index(rules.upgrade_timing),
        format_func=labeler("designer.upgrade"),
        key=key("upgrade_timing"),
    )
    cadences = [1, 2, 3, 4, 6, 12]
    data["tiers"]["review_every_months"] = c3.selectbox(
        t("designer.review_every"),
        cadences,
        index=cadences.index(rules.review_every_months),
        key=key("review_every"),
    )
    data["tiers"]["review_month"] = c4.number_input(
        t("designer.review_month"),
        min_value=1,
        max_value=12,
        value=rules.review_month,
        key=key("review_month"),
    )
    st.markdown(t("designer.tiers_help"))
    edited_tiers = st.data_editor(
        editing.tiers_frame(policy),
        key=key("tiers_editor"),
        placeholder="",  # an empty cell stays blank (not "None")
        num_rows="dynamic",
        width="stretch",
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn(t("col.name"), required=True, max_chars=40),
            "label": st.column_config.TextColumn(t("col.label"), max_chars=40),
            "threshold": st.column_config.NumberColumn(
                t("col.threshold"), min_value=0, format="localized"
            ),
            "earn_multiplier": st.column_config.NumberColumn(
                t("col.earn_multiplier"), min_value=0, max_value=20, format="%.2f×"
            ),
            "discount_pct": st.column_config.NumberColumn(
                t("col.discount_pct"), min_value=0, max_value=100, format="%.1f%%"
            ),
            "birthday_bonus_points": st.column_config.NumberColumn(
                t("col.birthday_bonus_points"), min_value=0, step=1, format="localized"
            ),
            "gift_cost_per_member": st.column_config.NumberColumn(
                t("col.gift_cost", symbol=symbol), min_value=0, format="localized"
            ),
        },
    )
    try:
        data = editing.apply_tiers(data, edited_tiers)
    except (TypeError, ValueError) as exc:  # a cell the table could not hold
        st.error(t("designer.bad_table", error=exc))
    tiers_slot = st.container()

# -- Points -------------------------------------------------------------------------------
with tab_points:
    earn = policy.points.earn
    redemption = policy.points.redemption
    bonuses = policy.points.bonuses
    st.subheader(t("designer.earning"))
    c1, c2, c3 = st.columns(3)
    data["points"]["earn"]["points_per_unit"] = c1.number_input(
        t("designer.points_per_unit"),
        min_value=0.0,
        value=float(earn.points_per_unit),
        step=0.5,
        key=key("points_per_unit"),
    )
    data["points"]["earn"]["per_amount"] = c2.number_input(
        t("designer.per_amount", symbol=symbol),
        min_value=0.0,
        value=float(earn.per_amount),
        step=1.0,
        key=key("per_amount"),
    )
    roundings = ["floor", "round", "ceil"]
    data["points"]["earn"]["rounding"] = c3.selectbox(
        t("designer.rounding"),
        roundings,
        index=roundings.index(earn.rounding),
        format_func=labeler("designer.rounding"),
        key=key("rounding"),
    )
    c1, c2, c3 = st.columns(3)
    for column, field in zip((c1, c2, c3), ("signup", "birthday", "referral"), strict=True):
        data["points"]["bonuses"][field] = column.number_input(
            t(f"designer.bonus.{field}"),
            min_value=0,
            value=int(getattr(bonuses, field)),
            step=50,
            key=key(f"bonus_{field}"),
        )
    st.subheader(t("designer.redemption"))
    c1, c2, c3, c4 = st.columns(4)
    data["points"]["redemption"]["point_value"] = c1.number_input(
        t("designer.point_value", symbol=symbol),
        min_value=0.0,
        value=float(redemption.point_value),
        step=0.001,
        format="%.4f",
        key=key("point_value"),
    )
    data["points"]["redemption"]["cost_per_point"] = c2.number_input(
        t("designer.cost_per_point", symbol=symbol),
        min_value=0.0,
        value=float(redemption.cost_per_point),
        step=0.001,
        format="%.4f",
        key=key("cost_per_point"),
    )
    data["points"]["redemption"]["minimum_points"] = c3.number_input(
        t("designer.minimum_points"),
        min_value=0,
        value=int(redemption.minimum_points),
        step=100,
        key=key("minimum_points"),
    )
    data["points"]["redemption"]["unit_points"] = c4.number_input(
        t("designer.unit_points"),
        min_value=1,
        value=int(redemption.unit_points),
        step=10,
        key=key("unit_points"),
    )
    points_slot = st.container()
    st.subheader(t("designer.economics"))
    economics = editing.earn_economics(policy, spend=100.0)
    st.caption(t("designer.economics_help", spend=money(100, symbol)))
    st.dataframe(
        economics,
        hide_index=True,
        column_config={
            "tier": t("col.tier"),
            "points": st.column_config.NumberColumn(t("col.points_per_100"), format="%.0f"),
            "member_value": st.column_config.NumberColumn(
                t("col.member_value", symbol=symbol), format="%.2f"
            ),
            "reward_rate_pct": st.column_config.NumberColumn(t("col.reward_rate"), format="%.2f%%"),
            "cost_rate_pct": st.column_config.NumberColumn(t("col.cost_rate"), format="%.2f%%"),
            "discount_pct": st.column_config.NumberColumn(t("col.discount_pct"), format="%.1f%%"),
        },
    )

# -- Expiry and redemption windows --------------------------------------------------------
with tab_expiry:
    expiry = policy.expiry
    kinds = ["none", "rolling", "fixed_date", "inactivity"]
    kind = st.selectbox(
        t("designer.expiry_kind"),
        kinds,
        index=kinds.index(expiry.kind),
        format_func=labeler("designer.expiry"),
        key=key("expiry_kind"),
    )
    new_expiry: dict = {"kind": kind}
    if kind in ("rolling", "inactivity"):
        new_expiry["months"] = st.number_input(
            t("designer.expiry_months"),
            min_value=1,
            max_value=120,
            value=int(getattr(expiry, "months", 12)),
            key=key("expiry_months"),
        )
    elif kind == "fixed_date":
        c1, c2, c3 = st.columns(3)
        new_expiry["month"] = c1.number_input(
            t("designer.expiry_month"),
            min_value=1,
            max_value=12,
            value=int(getattr(expiry, "month", 12)),
            key=key("expiry_month"),
        )
        new_expiry["day"] = c2.number_input(
            t("designer.expiry_day"),
            min_value=1,
            max_value=31,
            value=int(getattr(expiry, "day", 31)),
            key=key("expiry_day"),
        )
        new_expiry["years_after"] = c3.number_input(
            t("designer.expiry_years_after"),
            min_value=0,
            max_value=10,
            value=int(getattr(expiry, "years_after", 1)),
            key=key("expiry_years"),
        )
    data["expiry"] = new_expiry
    expiry_slot = st.container()
    st.subheader(t("designer.windows"))
    st.caption(t("designer.windows_help"))
    edited_windows = st.data_editor(
        editing.windows_frame(policy),
        key=key("windows_editor"),
        placeholder="",  # an empty cell stays blank (not "None")
        num_rows="dynamic",
        hide_index=True,
        column_config={
            name: st.column_config.NumberColumn(
                t(f"col.{name}"), min_value=1, max_value=12 if "month" in name else 31, step=1
            )
            for name in editing.WINDOW_COLUMNS
        },
    )
    try:
        data = editing.apply_windows(data, edited_windows)
    except (TypeError, ValueError) as exc:
        st.error(t("designer.bad_table", error=exc))
    windows_slot = st.container()

# -- Campaigns ----------------------------------------------------------------------------
with tab_campaigns:
    st.caption(t("designer.campaigns_help"))
    edited_campaigns = st.data_editor(
        editing.campaigns_frame(policy),
        key=key("campaigns_editor"),
        placeholder="",  # an empty cell stays blank (not "None")
        num_rows="dynamic",
        hide_index=True,
        column_config={
            # not `required`: the browser would hold an incomplete row back without a word;
            # the server says which row waits for which cells (editing.incomplete_campaigns)
            "id": st.column_config.TextColumn(t("col.id")),
            "name": st.column_config.TextColumn(t("col.name")),
            "kind": st.column_config.SelectboxColumn(
                t("col.kind"), options=list(CAMPAIGN_KINDS), format_func=labeler("campaign.kind")
            ),
            "start": st.column_config.DateColumn(t("col.start")),
            "end": st.column_config.DateColumn(t("col.end")),
            "day_of_month": st.column_config.NumberColumn(
                t("col.day_of_month"), min_value=1, max_value=31, step=1
            ),
            "weekday": st.column_config.NumberColumn(
                t("col.weekday"), min_value=0, max_value=6, step=1
            ),
            "months": st.column_config.TextColumn(t("col.months")),
            "target_tiers": st.column_config.TextColumn(t("col.target_tiers")),
            "points_multiplier": st.column_config.NumberColumn(
                t("col.points_multiplier"), min_value=1, max_value=20
            ),
            "discount_pct": st.column_config.NumberColumn(
                t("col.discount_pct"), min_value=0, max_value=100
            ),
            "bonus_points": st.column_config.NumberColumn(t("col.bonus_points"), min_value=0),
            "threshold": st.column_config.NumberColumn(t("col.spend_threshold"), min_value=0),
            "reduction": st.column_config.NumberColumn(t("col.reduction"), min_value=0),
            "fixed_cost": st.column_config.NumberColumn(t("col.fixed_cost"), min_value=0),
            "contact_cost": st.column_config.NumberColumn(t("col.contact_cost"), min_value=0),
            "coupon_value": st.column_config.NumberColumn(t("col.coupon_value"), min_value=0),
            "stacking": st.column_config.SelectboxColumn(
                t("col.stacking"),
                options=["stack", "best", "exclusive"],
                format_func=labeler("campaign.stacking"),
            ),
        },
    )
    try:
        data = editing.apply_campaigns(data, edited_campaigns)
    except (TypeError, ValueError) as exc:
        st.error(t("designer.bad_table", error=exc))
    waiting = editing.incomplete_campaigns(edited_campaigns)
    for row, missing in waiting:
        st.warning(
            t(
                "designer.campaign_incomplete",
                row=row,
                missing=", ".join(t(f"col.{name}") for name in missing),
            ),
            icon=":material/edit_note:",
        )
    campaigns_slot = st.container()
    this_year = dt.date.today().year
    year = st.selectbox(
        t("designer.calendar_year"),
        list(range(this_year - 1, this_year + 4)),
        index=1,
        key="designer_calendar_year",
    )
    segments = editing.campaign_segments(policy, year)
    if segments.empty:
        st.info(t("designer.no_campaigns", year=year))
    else:
        st.altair_chart(
            charts.gantt(
                segments,
                t("designer.calendar_title", year=year),
                year,
                kinds={kind: t(f"campaign.kind.{kind}") for kind in CAMPAIGN_KINDS},
                month_label=t("designer.month_label"),
            ),
            width="stretch",
        )

# -- File: YAML view, download, paste -----------------------------------------------------
with tab_file:
    text = dump_policy(policy, "yaml")
    st.download_button(
        t("designer.download_yaml"),
        data=text.encode("utf-8"),
        file_name=f"policy-{short_id(content_id(policy))}.yaml",
        mime="application/x-yaml",
        key="designer_download_yaml",
    )
    st.code(text, language="yaml")
    pasted = st.text_area(t("designer.paste_yaml"), key=key("yaml_text"), height=200)
    if st.button(t("designer.apply_yaml"), key=key("apply_yaml")):
        try:
            state.set_policy(parse_policy(pasted, t("designer.pasted")), "pasted")
        except PolicyValidationError as exc:
            st.error(t("designer.invalid_yaml", count=len(exc.problems)))
            for path, message in exc.problems:
                st.error(problem_text(path, message), icon=":material/warning:")
        else:
            state.flash(t("designer.applied_yaml"))
            st.rerun()

# -- Validate the edits; keep the policy only if it is valid ------------------------------
try:
    candidate = policy_from_dict(data, t("designer.your_edits"))
except PolicyValidationError as exc:
    grouped = problems_by_section(exc.problems)
    with general_slot:
        st.warning(t("designer.invalid", count=len(exc.problems)), icon=":material/warning:")
        show_problems(grouped.get("general", []) + grouped.get("segments", []))
    with tiers_slot:
        show_problems(grouped.get("program", []) + grouped.get("tiers", []))
    with points_slot:
        show_problems(grouped.get("points"))
    with expiry_slot:
        show_problems(grouped.get("expiry"))
    with windows_slot:
        show_problems(grouped.get("windows"))
    with campaigns_slot:
        show_problems(grouped.get("campaigns"))
else:
    if content_id(candidate) != content_id(policy):
        state.set_policy(candidate, "edited", replace=False)
        st.rerun()
    with general_slot:
        if waiting:
            st.warning(
                t("designer.valid_but_waiting", rows=", ".join(str(row) for row, _ in waiting)),
                icon=":material/edit_note:",
            )
        else:
            st.success(t("designer.valid"), icon=":material/check_circle:")

# -- Save as scenario ---------------------------------------------------------------------
st.divider()
st.subheader(t("designer.save_title"))
database.prepare()
c1, c2 = st.columns([1, 2])
scenario_name = c1.text_input(t("designer.scenario_name"), key="designer_scenario_name")
scenario_note = c2.text_input(t("designer.scenario_note"), key="designer_scenario_note")
if st.button(t("designer.save"), key="designer_save", disabled=not scenario_name.strip()):
    try:
        store.save_scenario(name=scenario_name.strip(), policy=policy, note=scenario_note)
    except (store.StoreError, ValueError) as exc:  # e.g. a name the store refuses
        st.error(t("designer.save_failed", error=exc))
    else:
        state.flash(t("designer.saved", name=scenario_name.strip()))
        st.rerun()
