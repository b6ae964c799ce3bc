"""Simulation results: monthly records per replication and the KPIs read from them.

A `SimulationResult` is immutable: the monthly records (one row per replication and month),
the tier migration counts and the breakage estimate of every replication, the policy's
content id, the seed and the inputs. Everything else (bands, KPIs, the summary table) is
derived from those and cached. ``to_json`` / ``from_json`` round-trip it.

Uncertainty is reported as P10 / P50 / P90 across replications (fan charts).
"""

from __future__ import annotations

import json
from functools import cached_property
from types import MappingProxyType

import numpy as np
import pandas as pd

__all__ = ["COHORT_COLUMNS", "KPI_UNITS", "SimulationResult"]

KPI_UNITS = {
    "revenue_net": "currency",
    "revenue_gross": "currency",
    "discounts": "currency",
    "program_cost": "currency",
    "reward_cost": "currency",
    "campaign_cost": "currency",
    "contact_cost": "currency",
    "points_issued": "points",
    "points_redeemed": "points",
    "points_expired": "points",
    "points_closing": "points",
    "liability_closing": "currency",
    "breakage": "share",
    "active_members_end": "members",
    "new_members": "members",
    "churned_members": "members",
    "retention_12m_end": "share",
    "incremental_revenue": "currency",
    "incremental_cost": "currency",
    "roi": "ratio",
}
"""Headline KPIs (horizon totals unless named ``_end``/``_closing``) and their units."""

COHORT_COLUMNS = ("replication", "cohort", "month", "months_since_join", "cohort_size",
                  "purchasing")  # fmt: skip
"""Cohort records: new members who joined in ``cohort`` and bought in ``month``."""

_TOTALS = (
    "revenue_net",
    "revenue_gross",
    "discounts",
    "program_cost",
    "reward_cost",
    "campaign_cost",
    "contact_cost",
    "points_issued",
    "points_redeemed",
    "points_expired",
    "new_members",
    "churned_members",
)


class SimulationResult:
    """The outcome of `simulations.Model.run` (read-only).

    Attributes:
        monthly: one row per (replication, month); see the engine for column meanings.
        policy_id: content id of the simulated policy.
        seed: the run's seed.
        inputs: what was simulated (policy name, months, replications, population, behavior).
    """

    __slots__ = ("_monthly", "_migration", "_urr", "policy_id", "seed", "_inputs", "_cohorts",
                 "__dict__")  # fmt: skip

    def __init__(
        self,
        monthly: pd.DataFrame,
        migration: pd.DataFrame,
        urr: list[float],
        policy_id: str,
        seed: int | None,
        inputs: dict,
        cohorts: pd.DataFrame | None = None,
    ):
        monthly = monthly.reset_index(drop=True).copy()
        for column in monthly.columns:
            values = monthly[column].to_numpy()
            values.setflags(write=False)
        self._monthly = monthly
        self._migration = migration.copy()
        self._urr = tuple(float(u) for u in urr)
        self.policy_id = policy_id
        self.seed = seed
        self._inputs = MappingProxyType(dict(inputs))
        if cohorts is None:
            cohorts = pd.DataFrame(columns=list(COHORT_COLUMNS))
        self._cohorts = cohorts.reset_index(drop=True).copy()

    @property
    def monthly(self) -> pd.DataFrame:
        """Monthly records (a copy: the result itself never changes)."""
        return self._monthly.copy()

    @property
    def inputs(self) -> dict:
        """What was simulated (a copy)."""
        return json.loads(json.dumps(dict(self._inputs)))

    @property
    def replications(self) -> int:
        """Number of replications."""
        return len(self._urr)

    @property
    def urr_by_replication(self) -> tuple[float, ...]:
        """Estimated ultimate redemption rate of each replication."""
        return self._urr

    @cached_property
    def breakage(self) -> float:
        """Estimated breakage share (P50 across replications)."""
        return float(np.median([1 - u for u in self._urr]))

    @property
    def urr(self) -> float:
        """Ultimate redemption rate, 1 - breakage (P50)."""
        return 1.0 - self.breakage

    def bands(self, metric: str) -> pd.DataFrame:
        """P10 / P50 / P90 of a monthly metric across replications: month, p10, p50, p90."""
        if metric not in self._monthly.columns or metric in ("replication", "month"):
            known = [c for c in self._monthly.columns if c not in ("replication", "month")]
            raise KeyError(f"metric(={metric!r}) is not recorded; known: {', '.join(known)}")
        grouped = self._monthly.groupby("month", sort=True)[metric]
        out = grouped.quantile([0.1, 0.5, 0.9]).unstack()
        out.columns = ["p10", "p50", "p90"]
        return out.reset_index()

    @cached_property
    def _per_replication(self) -> pd.DataFrame:
        frame = self._monthly
        groups = frame.groupby("replication", sort=True)
        out = groups[[c for c in _TOTALS if c in frame]].sum()
        last = groups.tail(1).set_index("replication")
        out["points_closing"] = last["points_closing"]
        out["liability_closing"] = last["liability"]
        out["active_members_end"] = last["active_members"]
        out["retention_12m_end"] = last["retention_12m"]
        out["breakage"] = [1 - u for u in self._urr]
        if "incremental_revenue" in frame:
            out["incremental_revenue"] = groups["incremental_revenue"].sum()
            out["incremental_cost"] = groups["incremental_cost"].sum()
            cost = out["incremental_cost"]
            out["roi"] = np.where(
                cost.abs() > 1e-9,
                (out["incremental_revenue"] - cost) / cost.where(cost != 0),
                np.nan,
            )
        return out

    @cached_property
    def kpis(self) -> dict:
        """KPI -> {"p10", "p50", "p90"} across replications."""
        table = self._per_replication
        out = {}
        for kpi in KPI_UNITS:
            if kpi in table:
                values = table[kpi].astype(float).to_numpy()
                q = (
                    np.nanquantile(values, [0.1, 0.5, 0.9])
                    if np.isfinite(values).any()
                    else [np.nan] * 3
                )
                out[kpi] = {"p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}
        return MappingProxyType(out)

    def summary(self) -> pd.DataFrame:
        """The headline table: kpi, p10, p50, p90, unit."""
        rows = [{"kpi": kpi, **bands, "unit": KPI_UNITS[kpi]} for kpi, bands in self.kpis.items()]
        return pd.DataFrame(rows, columns=["kpi", "p10", "p50", "p90", "unit"])

    def cohort_retention(self) -> pd.DataFrame:
        """Retention of the members who join during the horizon, by join-month cohort.

        One row per cohort and month since joining: ``cohort`` (YYYY-MM), ``month``,
        ``months_since_join``, ``cohort_size`` (P50), and the share of the cohort buying in
        that month (``p10``, ``p50``, ``p90`` across replications; month 0 is the joining
        purchase). Empty when nobody joins.
        """
        frame = self._cohorts
        columns = ["cohort", "month", "months_since_join", "cohort_size", "p10", "p50", "p90"]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        frame = frame.assign(share=frame["purchasing"] / frame["cohort_size"])
        keys = ["cohort", "month", "months_since_join"]
        grouped = frame.groupby(keys, sort=True)
        out = grouped["share"].quantile([0.1, 0.5, 0.9]).unstack()
        out.columns = ["p10", "p50", "p90"]
        out["cohort_size"] = grouped["cohort_size"].median()
        return out.reset_index()[columns]

    @property
    def tier_migration(self) -> pd.DataFrame:
        """from_tier, to_tier, members: start -> end of horizon (P50 across replications).

        Members who joined during the horizon have ``from_tier`` ``(new)``.
        """
        return self._migration.copy()

    def to_json(self) -> str:
        """The whole result as JSON text (see `from_json`)."""
        monthly = self._monthly.astype(object).where(self._monthly.notna(), None)
        return json.dumps(
            {
                "policy_id": self.policy_id,
                "seed": self.seed,
                "inputs": dict(self._inputs),
                "urr": list(self._urr),
                "summary": {
                    k: {q: (x if np.isfinite(x) else None) for q, x in v.items()}
                    for k, v in self.kpis.items()
                },
                "tier_migration": self._migration.to_dict(orient="records"),
                "monthly": monthly.to_dict(orient="records"),
                "cohorts": self._cohorts.to_dict(orient="records"),
            },
            ensure_ascii=False,
            allow_nan=False,
            default=_plain,
        )

    @classmethod
    def from_json(cls, text: str) -> SimulationResult:
        """Rebuild a result written by `to_json`."""
        data = json.loads(text)
        monthly = pd.DataFrame(data["monthly"]).fillna(value=np.nan)
        migration = pd.DataFrame(
            data["tier_migration"], columns=["from_tier", "to_tier", "members"]
        )
        cohorts = pd.DataFrame(data.get("cohorts", []), columns=list(COHORT_COLUMNS))
        return cls(
            monthly, migration, data["urr"], data["policy_id"], data["seed"], data["inputs"],
            cohorts=cohorts,
        )  # fmt: skip

    def __repr__(self) -> str:
        months = self._monthly["month"].nunique()
        return (
            f"SimulationResult(policy_id={self.policy_id[:12]}..., replications="
            f"{self.replications}, months={months}, breakage={self.breakage:.3f})"
        )


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
