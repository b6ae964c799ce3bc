"""The result: what is recorded is declared once; KPIs and tables follow the declaration."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.results import (
    KEYS,
    KPIS,
    METRICS,
    UNITS,
    SimulationResult,
    across_replications,
    kpi,
    metric,
)

TIERS = ("Regular", "Gold")


def records(replications: int, months: int, rng: np.random.Generator) -> pd.DataFrame:
    """Engine-shaped monthly records: every declared engine metric, points that roll forward."""
    rows = []
    for r in range(replications):
        balance = int(rng.integers(0, 10_000))
        for m in range(months):
            issued = int(rng.integers(0, 5_000))
            redeemed = int(rng.integers(0, balance + issued + 1))
            expired = int(rng.integers(0, balance + issued - redeemed + 1))
            row = {"replication": r, "month": f"2026-{m + 1:02d}"}
            for declared in METRICS:
                if declared.source == "engine" and declared.per is None:
                    row[declared.name] = float(rng.integers(0, 1_000))
            row.update(
                points_opening=balance,
                points_issued=issued,
                points_redeemed=redeemed,
                points_expired=expired,
                points_closing=balance + issued - redeemed - expired,
                retention_12m=float(rng.uniform()),
            )
            row.update({f"members_{name}": int(rng.integers(0, 50)) for name in TIERS})
            rows.append(row)
            balance = row["points_closing"]
    return pd.DataFrame(rows)


def result_of(frame, replications, rng, baseline=None):
    return SimulationResult(
        frame,
        urr=rng.uniform(0.2, 0.9, replications).tolist(),
        migration=rng.integers(0, 20, (replications, len(TIERS) + 1, len(TIERS))),
        tier_names=TIERS,
        cost_per_point=0.01,
        policy_id="test-policy",
        seed=1,
        inputs={"months": int(frame["month"].nunique())},
        baseline=baseline,
    )


def test_the_declaration_is_consistent():
    names = [m.name for m in METRICS]
    assert len(names) == len(set(names))
    assert all(m.unit in UNITS for m in METRICS)
    assert all(k.unit in UNITS for k in KPIS)
    for declared in KPIS:
        if declared.over_months in ("sum", "last"):
            assert metric(declared.source).source in ("engine", "result")
    # Flows and stocks in money or points keep their identities under the central figure.
    assert all(m.central == "mean" for m in METRICS if m.unit in ("currency", "points"))
    assert metric("members_Gold").name == "members_{tier}"
    with pytest.raises(KeyError, match="margin"):
        metric("margin")
    with pytest.raises(KeyError, match="declared"):
        kpi("margin")


def test_records_must_match_the_declaration():
    rng = np.random.default_rng(0)
    frame = records(2, 2, rng)
    with pytest.raises(ValueError, match="undeclared columns \\['margin'\\]"):
        result_of(frame.assign(margin=1.0), 2, rng)
    with pytest.raises(ValueError, match="missing \\['revenue_net'\\]"):
        result_of(frame.drop(columns="revenue_net"), 2, rng)
    with pytest.raises(ValueError, match="derived columns"):
        result_of(frame.assign(liability=1.0), 2, rng)


@settings(max_examples=25, deadline=None)
@given(
    replications=st.integers(1, 4),
    months=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    with_baseline=st.booleans(),
)
def test_kpis_follow_the_declared_month_rule_and_round_trip(
    replications, months, seed, with_baseline
):
    rng = np.random.default_rng(seed)
    frame = records(replications, months, rng)
    baseline = records(replications, months, rng) if with_baseline else None
    result = result_of(frame, replications, rng, baseline)
    monthly = result.monthly
    per = monthly.groupby("replication", sort=True)
    for declared in KPIS:
        if declared.source is not None and declared.source not in monthly:
            assert declared.name not in result.kpis
            continue
        if declared.over_months == "sum":
            expected = per[declared.source].sum()
        elif declared.over_months == "last":
            expected = per[declared.source].last()
        elif declared.over_months == "breakage":
            expected = 1 - pd.Series(result.urr_by_replication)
        else:
            assert ("roi" in result.kpis) == with_baseline
            continue
        q = np.nanquantile(expected.astype(float), [0.1, 0.5, 0.9])
        assert [result.kpis[declared.name][b] for b in ("p10", "p50", "p90")] == pytest.approx(q)
    urr = np.asarray(result.urr_by_replication)[monthly["replication"]]
    assert np.allclose(monthly["liability"], monthly["points_closing"] * 0.01 * urr)
    # The central figure of every month keeps the roll-forward identity (the mean does).
    table = result.by_month(["points_opening", "points_issued", "points_redeemed",
                             "points_expired", "points_closing"])  # fmt: skip
    gap = (table["points_opening"] + table["points_issued"] - table["points_redeemed"]
           - table["points_expired"] - table["points_closing"])  # fmt: skip
    assert np.allclose(gap, 0.0, atol=1e-6)
    again = SimulationResult.from_json(result.to_json())
    pd.testing.assert_frame_equal(again.monthly, monthly, check_dtype=False)
    pd.testing.assert_frame_equal(again.summary(), result.summary())
    pd.testing.assert_frame_equal(again.tier_migration, result.tier_migration)


def test_the_result_cannot_be_changed_and_derives_what_the_model_used_to():
    rng = np.random.default_rng(3)
    frame = records(3, 2, rng)
    baseline = records(3, 2, rng)
    result = result_of(frame, 3, rng, baseline)
    monthly = result.monthly
    assert list(monthly.columns[: len(frame.columns)]) == list(frame.columns)
    derived = [m.name for m in METRICS if m.source != "engine"]
    assert list(monthly.columns[len(frame.columns) :]) == derived
    cost = monthly["program_cost"] - baseline["program_cost"]
    assert np.allclose(monthly["incremental_cost"], cost)
    assert result._migration.flags.writeable is False
    monthly["revenue_net"] = -1.0
    assert (result.monthly["revenue_net"] >= 0).all()
    migration = result.tier_migration
    assert set(migration["from_tier"]) == {*TIERS, "(new)"}
    assert migration["members"].sum() == pytest.approx(np.median(result._migration, axis=0).sum())
    with pytest.raises(ValueError, match="row for row"):
        result_of(frame, 3, rng, baseline.iloc[::-1])


def test_across_replications_uses_each_metrics_declared_figure():
    frame = pd.DataFrame(
        {
            "replication": [0, 1, 2],
            "month": ["2026-01"] * 3,
            "points_issued": [1, 2, 9],
            "active_members": [1, 2, 9],
        }
    )
    table = across_replications(frame, ["points_issued", "active_members"])
    assert table.loc[0, "points_issued"] == 4.0  # mean
    assert table.loc[0, "active_members"] == 2.0  # median
    assert set(KEYS) == {"replication", "month"}


def test_a_metric_empty_in_every_month_has_nan_bands_also_after_json():
    # The baseline is the scenario: no incremental cost, so ROI is empty every month; with
    # nobody active at the start, so is the retention (JSON then reads it back as objects).
    rng = np.random.default_rng(5)
    frame = records(3, 2, rng).assign(retention_12m=np.nan)
    result = result_of(frame, 3, rng, baseline=frame)
    again = SimulationResult.from_json(result.to_json())
    for shown in (result, again):
        for name in ("roi", "retention_12m"):
            bands = shown.bands(name)
            assert bands["month"].tolist() == ["2026-01", "2026-02"]
            assert bands[["p10", "p50", "p90"]].isna().all().all(), name
            assert shown.by_month([name])[name].isna().all()
        assert shown.bands("revenue_net")["p50"].notna().all()
    assert np.isnan(again.kpis["retention_12m_end"]["p50"])
    with pytest.raises(ValueError, match=r"'retention_12m' holds 'n/a'"):
        result_of(frame.assign(retention_12m="n/a"), 3, rng)
