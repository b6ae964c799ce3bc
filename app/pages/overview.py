"""Overview: the program today, from the database, under the policy being edited."""

import json

import numpy as np
import pandas as pd
import streamlit as st

import store
from app import charts, database, state
from app.formatting import money, number, pct, points
from app.i18n import t
from policies import rules
from policies.model import LIFECYCLE_STATES, QUADRANTS, SegmentRules

# What the page shows is computed once per state of the data and kept on disk, so a new
# server process (a later start) reads it back instead of loading every purchase again.
_SNAPSHOT_COLUMNS = ["last_purchase", "points_balance", "spend_12m", "purchases_12m"]


@st.cache_data(show_spinner=False, max_entries=8, persist="disk")
def member_scores(url: str, data_state: str) -> pd.DataFrame:
    """The columns of the member snapshot the page uses (one row per member)."""
    snapshot = store.member_snapshot(url=url)
    return snapshot[[c for c in _SNAPSHOT_COLUMNS if c in snapshot]]


st.title(t("overview.title"))
database.prepare()

policy = state.policy()
symbol = policy.program.currency_symbol
segments = policy.segments
with st.spinner(t("overview.loading")):
    url, data_state = database.database_url(), database.data_state()
    snapshot = member_scores(url, data_state)
if snapshot.empty:
    st.info(t("overview.empty"))
    st.stop()


@st.cache_data(show_spinner=False, max_entries=16, persist="disk")
def program_analytics(url: str, data_state: str, segment_rules: str) -> dict:
    """Segments, concentration and cohorts of the database's members (aggregated)."""
    from simulations import analytics  # only when the data or the rules changed

    rules_ = json.loads(segment_rules)
    tx = database.transactions()
    people = database.members()
    end = pd.to_datetime(tx["date"]).max()
    lifecycle = analytics.lifecycle_states(
        people,
        tx,
        new_days=rules_["new_days"],
        active_days=rules_["active_days"],
        silent_days=rules_["silent_days"],
        dormant_days=rules_["dormant_days"],
    )
    # The policy's own quadrant window and rule (what a quadrant-targeted campaign sees).
    quadrants = analytics.policy_quadrants(
        tx,
        SegmentRules.model_validate(rules_),
        members=people["member_id"],
        amount_column="net_amount",
    )
    quadrant_table = (
        quadrants.groupby("quadrant")
        .agg(members=("spend", "size"), spend=("spend", "sum"))
        .reindex(list(QUADRANTS), fill_value=0)
        .reset_index()
    )
    cohorts = analytics.cohort_retention(tx, people, max_months=12)
    return {
        "as_of": end.date(),
        "lifecycle": lifecycle["state"]
        .value_counts()
        .reindex(list(LIFECYCLE_STATES), fill_value=0)
        .rename_axis("state")
        .reset_index(name="members"),
        "quadrants": quadrant_table,
        "curve": analytics.concentration_curve(tx, points=101),
        "top": analytics.revenue_concentration(tx),
        # the last 12 join-month cohorts keep the heat map readable
        "cohorts": cohorts[cohorts["cohort"].isin(sorted(cohorts["cohort"].unique())[-12:])],
    }


# -- Headline -------------------------------------------------------------------------------
metric = policy.tiers.qualifying_metric
score_column = {"spend": "spend_12m", "purchases": "purchases_12m"}.get(metric)
outstanding = float(snapshot["points_balance"].sum()) if "points_balance" in snapshot else np.nan
active_cut = pd.to_datetime(snapshot["last_purchase"]).max() - pd.Timedelta(
    days=segments.active_days
)
active = int((pd.to_datetime(snapshot["last_purchase"]) > active_cut).sum())
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("overview.members"), number(len(snapshot)))
c2.metric(
    t("overview.active"),
    number(active),
    help=t("overview.active_help", days=segments.active_days),
)
c3.metric(t("overview.outstanding"), points(outstanding))
c4.metric(
    t("overview.liability"),
    money(outstanding * policy.points.redemption.cost_per_point, symbol),
    help=t("overview.liability_help"),
)

# -- Tier mix under the policy being edited ---------------------------------------------------
st.subheader(t("overview.tiers"))
if score_column is None or score_column not in snapshot:
    st.info(t("overview.tiers_unknown", metric=metric))
else:
    codes = rules.qualified_tier(policy, snapshot[score_column].to_numpy(dtype=float))
    mix = (
        pd.Series(np.asarray(codes))
        .value_counts()
        .reindex(range(len(policy.tier_names)), fill_value=0)
    )
    tier_mix = pd.DataFrame({"tier": list(policy.tier_names), "members": mix.to_numpy()})
    tier_mix["share"] = tier_mix["members"] / max(len(snapshot), 1)
    st.caption(t("overview.tiers_help"))
    st.altair_chart(
        charts.bars(
            tier_mix,
            "tier",
            "members",
            t("overview.tiers_chart"),
            t("unit.members"),
            sort=list(policy.tier_names),
        ),
        width="stretch",
    )

with st.spinner(t("overview.loading")):
    found = program_analytics(url, data_state, segments.model_dump_json())
st.caption(t("overview.as_of", date=found["as_of"].isoformat()))

left, right = st.columns(2)
with left:
    lifecycle = found["lifecycle"].assign(
        label=lambda f: f["state"].map(lambda s: t(f"lifecycle.{s}"))
    )
    st.altair_chart(
        charts.bars(
            lifecycle,
            "label",
            "members",
            t("overview.lifecycle"),
            t("unit.members"),
            sort=list(lifecycle["label"]),
        ),
        width="stretch",
    )
with right:
    quadrants = found["quadrants"].assign(
        label=lambda f: f["quadrant"].map(lambda q: t(f"quadrant.{q}"))
    )
    st.altair_chart(
        charts.bars(
            quadrants,
            "label",
            "members",
            t("overview.quadrants"),
            t("unit.members"),
            sort=list(quadrants["label"]),
        ),
        width="stretch",
    )
    st.caption(
        t(
            "overview.quadrants_help",
            purchases=segments.quadrant_min_purchases,
            spend=money(segments.quadrant_min_spend, symbol),
        )
    )

left, right = st.columns(2)
with left:
    st.altair_chart(
        charts.pareto(
            found["curve"],
            "member_share",
            "revenue_share",
            t("overview.pareto"),
            t("overview.pareto_x"),
            t("overview.pareto_y"),
        ),
        width="stretch",
    )
with right:
    top = found["top"]
    st.dataframe(
        pd.DataFrame(
            {
                t("overview.top"): top["top_share"].map(lambda s: pct(s, 0)),
                t("overview.members"): top["members"].map(number),
                t("overview.revenue_share"): top["revenue_share"].map(pct),
            }
        ),
        hide_index=True,
        width="stretch",
    )

cohorts = found["cohorts"]
if len(cohorts):
    st.altair_chart(
        charts.heatmap(
            cohorts,
            x="months_since_join",
            y="cohort",
            value="share",
            title=t("overview.cohorts"),
            unit=t("overview.cohorts_unit"),
        ),
        width="stretch",
    )
