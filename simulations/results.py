"""Simulation results: what a run records, declared once, and the KPIs read from it.

What is recorded is declared up front (like Mesa's ``DataCollector``): `METRICS` lists every
column of the monthly records -- its unit, who fills it (the engine, the result, or the
baseline run), which single figure stands for a month across replications, and whether the
Simulate page draws it -- and `KPIS` every horizon figure with how the months of one
replication combine into it (a sum for flows, the last month for stocks). The engine fills
the engine metrics; the app, the command line and the finance tables read units, labels and
aggregation rules from here instead of keeping lists of their own. Each figure carries its
screen name in English and Chinese (`Label`); `LABELS` maps the translation keys
``metric.<name>`` and ``kpi.<name>`` (`Metric.label`, `Kpi.label`) to them, and both the
app's texts and the client report read it, so a figure has one name wherever it is shown.
`PROFIT_KPIS` declares the figures that also need the policy's gross margin.

A `SimulationResult` is immutable: the engine's monthly records of every replication (and
of the baseline run, when there is one), the tier migration counts and the URR estimate of
every replication, the policy's content id, the seed and the inputs. Everything else is
derived from those and cached: the points liability of each month, incremental revenue and
cost against the baseline, ROI, the median tier migration, P10 / P50 / P90 bands (fan
charts), the KPIs and the summary table. ``to_json`` / ``from_json`` round-trip it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "COHORT_COLUMNS",
    "KEYS",
    "KPIS",
    "KPI_UNITS",
    "LABELS",
    "METRICS",
    "PROFIT_KPIS",
    "UNITS",
    "Kpi",
    "Label",
    "Metric",
    "SimulationResult",
    "across_replications",
    "kpi",
    "metric",
    "quantile_bands",
]

Unit = Literal["currency", "points", "members", "share", "ratio", "count"]
UNITS: tuple[str, ...] = ("currency", "points", "members", "share", "ratio", "count")
"""Units a metric is written in (the app formats and titles axes by unit)."""

KEYS = ("replication", "month")
"""Columns that identify a monthly record rather than measure anything."""


class Label(NamedTuple):
    """A figure's screen name in each language of the workbench (and of the client report)."""

    en: str
    zh: str


@dataclass(frozen=True)
class Metric:
    """One column of the monthly records (a value per replication and month).

    Attributes:
        name: the column name; ``members_{tier}``-style names declare a family of columns,
            one per tier, lifecycle state or quadrant (see ``per``).
        unit: one of `UNITS`.
        title: the screen name, in English and Chinese (the app's ``metric.<name>`` text and
            the client report's).
        description: what the value means (month-end stock or flow during the month).
        source: who fills it: ``engine`` (the month-end report of a replication), ``result``
            (derived by `SimulationResult` from the engine's records and the replication's
            URR) or ``baseline`` (the same-seed baseline run's figure, only with a baseline).
        central: the one figure that stands for a month across replications in a table:
            ``mean`` for currency and points (every replication satisfies the roll-forward
            and cost identities, and so does the mean; the median would not), else
            ``median``. Fan charts always show P10 / P50 / P90.
        chart: drawn as a fan chart on the Simulate page (in declaration order).
        per: ``tier``, ``lifecycle`` or ``quadrant`` for a family of columns.
    """

    name: str
    unit: Unit
    title: Label
    description: str
    source: Literal["engine", "result", "baseline"] = "engine"
    central: Literal["mean", "median"] = "median"
    chart: bool = False
    per: Literal["tier", "lifecycle", "quadrant"] | None = None

    @property
    def label(self) -> str:
        """Translation key of the metric's screen name."""
        return f"metric.{self.name}"

    def matches(self, column: str) -> bool:
        """Whether ``column`` is this metric (or one column of its family)."""
        if self.per is None:
            return column == self.name
        prefix = self.name.split("{", 1)[0]
        return column.startswith(prefix) and len(column) > len(prefix)


def _flow(name: str, unit: Unit, title: Label, description: str, **more) -> Metric:
    return Metric(name, unit, title, description, central="mean", **more)


METRICS: tuple[Metric, ...] = (
    Metric("active_members", "members", Label("Active members", "活跃会员"),
           "members in lifecycle state new or active at month end (policies.rules.lifecycle_codes):"
           " joined within the policy's segments.new_days with at most one purchase, or bought"
           " within its segments.active_days (90 by default)", chart=True),
    Metric("purchasing_members", "members", Label("Members buying", "当月购买会员"),
           "members who bought during the month"),
    _flow("purchases", "count", Label("Purchases", "购买次数"), "purchases during the month"),
    Metric("new_members", "members", Label("New members per month", "月新增会员"),
           "members who joined during the month"),
    Metric("churned_members", "members", Label("Churned members per month", "月流失会员"),
           "members who dropped out during the month"),
    Metric("members", "members", Label("Members", "会员总数"),
           "members who have joined so far, month end"),
    Metric("retention_12m", "share", Label("12-month retention", "12 个月留存率"),
           "share of the members active 12 months earlier (at the start, for the first 12"
           " months) who are active now; active here means bought in the 365 days up to the"
           " month end (not the lifecycle state of active_members)", chart=True),
    _flow("revenue_gross", "currency", Label("Gross revenue per month", "月总收入"),
          "members' purchases before discounts"),
    _flow("discounts", "currency", Label("Discounts per month", "月折扣"),
          "member, tier and campaign discounts given"),
    _flow("revenue_net", "currency", Label("Net revenue per month", "月净收入"),
          "revenue after discounts", chart=True),
    _flow("points_opening", "points", Label("Points outstanding (month start)", "月初未兑换积分"),
          "points outstanding at the start of the month"),
    _flow("points_issued_base", "points", Label("Base points issued per month", "月发放基础积分"),
          "points earned on purchases at the base rate"),
    _flow("points_issued_bonus", "points", Label("Bonus points issued per month", "月发放奖励积分"),
          "bonus points: multipliers, sign-up, birthday, campaigns"),
    _flow("points_issued", "points", Label("Points issued per month", "月发放积分"),
          "all points issued", chart=True),
    _flow("points_redeemed", "points", Label("Points redeemed per month", "月兑换积分"),
          "points redeemed", chart=True),
    _flow("points_expired", "points", Label("Points expired per month", "月过期积分"),
          "points expired", chart=True),
    _flow("points_closing", "points", Label("Points outstanding", "未兑换积分余额"),
          "points outstanding at month end (opening + issued - redeemed - expired)", chart=True),
    _flow("liability", "currency",
          Label("Cost to fulfil outstanding points", "未兑换积分履约成本"),
          "points outstanding x cost per point x the replication's URR (IFRS 15 B39-B43)",
          source="result", chart=True),
    _flow("reward_cost", "currency", Label("Reward cost per month", "月兑换成本"),
          "points redeemed x cost per point"),
    _flow("tier_gift_cost", "currency", Label("Tier gift cost per month", "月等级礼品成本"),
          "tier gifts: members per tier x gift cost / 12"),
    _flow("campaign_cost", "currency", Label("Campaign cost per month", "月活动成本"),
          "campaign discounts' cost and fixed campaign costs"),
    _flow("contact_cost", "currency", Label("Contact cost per month", "月触达成本"),
          "coupons used by contacted members"),
    _flow("program_cost", "currency", Label("Program cost per month", "月计划成本"),
          "reward + tier gift + campaign + contact cost", chart=True),
    Metric("contacts", "count", Label("Contacts", "触达次数"),
           "activation and reactivation contacts made"),
    Metric("redemptions", "count", Label("Redemptions", "兑换次数"), "redemptions made"),
    Metric("members_{tier}", "members", Label("Members by tier", "各等级会员数"),
           "members in each tier, month end", per="tier"),
    Metric("lifecycle_{state}", "members",
           Label("Members by lifecycle state", "各生命周期阶段会员数"),
           "members in each lifecycle state, month end", per="lifecycle"),
    Metric("quadrant_{name}", "members", Label("Members by spend × frequency", "各消费象限会员数"),
           "members in each spend x frequency quadrant, month end", per="quadrant"),
    _flow("baseline_revenue_net", "currency",
          Label("Baseline net revenue per month", "基准月净收入"),
          "the baseline run's net revenue", source="baseline"),
    _flow("baseline_program_cost", "currency",
          Label("Baseline program cost per month", "基准月计划成本"),
          "the baseline run's program cost", source="baseline"),
    _flow("incremental_revenue", "currency", Label("Incremental revenue per month", "月增量收入"),
          "net revenue - baseline net revenue", source="result"),
    _flow("incremental_cost", "currency", Label("Incremental cost per month", "月增量成本"),
          "program cost - baseline program cost", source="result"),
    Metric("roi", "ratio", Label("ROI vs baseline (month)", "相对基准的月 ROI"),
           "(incremental revenue - incremental cost) / incremental cost; empty when the"
           " incremental cost is zero", source="result", chart=True),
)  # fmt: skip
"""Every column of the monthly records, in display order."""

_METRICS_BY_NAME = MappingProxyType({m.name: m for m in METRICS})


def metric(column: str) -> Metric:
    """The declaration of a monthly column (``members_Gold`` is ``members_{tier}``).

    Raises:
        KeyError: the column is not declared in `METRICS`.
    """
    found = _METRICS_BY_NAME.get(column)
    if found is None:
        found = next((m for m in METRICS if m.per is not None and m.matches(column)), None)
    if found is None:
        known = ", ".join(m.name for m in METRICS)
        raise KeyError(f"metric(={column!r}) is not declared in simulations.results.METRICS;"
                       f" declared: {known}")  # fmt: skip
    return found


@dataclass(frozen=True)
class Kpi:
    """A figure of the whole horizon, one per replication, reported as P10 / P50 / P90.

    Attributes:
        name: the KPI's name (``kpi.<name>`` is its translation key).
        over_months: how one replication's months combine: ``sum`` (flows), ``last``
            (stocks at the end of the horizon), ``breakage`` (1 - the replication's URR) or
            ``roi`` (the ROI of the horizon's incremental sums, not a sum of monthly ROIs)
            or ``profit`` (needs the policy's gross margin: `PROFIT_KPIS`, computed by
            `simulations.finance.profit_kpis`).
        title: the screen name, in English and Chinese (the app's ``kpi.<name>`` text and the
            client report's).
        of: the monthly metric read by ``sum`` and ``last`` (default: ``name``).
        own_unit: the unit when there is no monthly metric (``breakage``, ``roi``,
            ``profit``).
    """

    name: str
    over_months: Literal["sum", "last", "breakage", "roi", "profit"]
    title: Label
    of: str | None = None
    own_unit: Unit | None = None

    @property
    def source(self) -> str | None:
        """The monthly metric this KPI reads (None for breakage and ROI)."""
        if self.over_months in ("sum", "last"):
            return self.of or self.name
        return None

    @property
    def unit(self) -> str:
        """The KPI's unit (its monthly metric's, unless it has one of its own)."""
        if self.own_unit is not None:
            return self.own_unit
        return metric(self.source).unit

    @property
    def label(self) -> str:
        """Translation key of the KPI's screen name."""
        return f"kpi.{self.name}"


KPIS: tuple[Kpi, ...] = (
    Kpi("revenue_net", "sum", Label("Net revenue", "净收入")),
    Kpi("revenue_gross", "sum", Label("Gross revenue", "总收入")),
    Kpi("discounts", "sum", Label("Discounts", "折扣")),
    Kpi("program_cost", "sum", Label("Program cost", "计划成本")),
    Kpi("reward_cost", "sum", Label("Reward cost", "兑换成本")),
    Kpi("campaign_cost", "sum", Label("Campaign cost", "活动成本")),
    Kpi("contact_cost", "sum", Label("Contact cost", "触达成本")),
    Kpi("points_issued", "sum", Label("Points issued", "发放积分")),
    Kpi("points_redeemed", "sum", Label("Points redeemed", "兑换积分")),
    Kpi("points_expired", "sum", Label("Points expired", "过期积分")),
    Kpi("points_closing", "last", Label("Points outstanding (end)", "期末未兑换积分")),
    Kpi("liability_closing", "last",
        Label("Cost to fulfil outstanding points (end)", "期末未兑换积分履约成本"),
        of="liability"),
    Kpi("breakage", "breakage", Label("Breakage", "积分沉淀率"), own_unit="share"),
    Kpi("active_members_end", "last", Label("Active members (end)", "期末活跃会员"),
        of="active_members"),
    Kpi("new_members", "sum", Label("New members", "新增会员")),
    Kpi("churned_members", "sum", Label("Churned members", "流失会员")),
    Kpi("retention_12m_end", "last", Label("12-month retention (end)", "期末 12 个月留存率"),
        of="retention_12m"),
    Kpi("incremental_revenue", "sum", Label("Incremental revenue", "增量收入")),
    Kpi("incremental_cost", "sum", Label("Incremental cost", "增量成本")),
    Kpi("roi", "roi", Label("ROI vs baseline", "相对基准的 ROI"), own_unit="ratio"),
)  # fmt: skip
"""Headline KPIs of the horizon, in summary order."""

PROFIT_KPIS: tuple[Kpi, ...] = (
    Kpi("gross_profit", "profit",
        Label("Gross profit after program cost", "扣除计划成本后的毛利"), own_unit="currency"),
    Kpi("incremental_gross_profit", "profit", Label("Incremental gross profit", "增量毛利"),
        own_unit="currency"),
    Kpi("roi_profit", "profit", Label("ROI on profit vs baseline", "相对基准的毛利 ROI"),
        own_unit="ratio"),
)  # fmt: skip
"""Profit KPIs: they need the policy's gross margin, which a result does not hold, so they
are not in `SimulationResult.kpis`; `simulations.finance.profit_kpis` computes them (the
incremental ones only against a baseline)."""

_KPIS_BY_NAME = MappingProxyType({k.name: k for k in (*KPIS, *PROFIT_KPIS)})

KPI_UNITS = MappingProxyType({k.name: k.unit for k in (*KPIS, *PROFIT_KPIS)})
"""KPI name -> unit (read from `KPIS` and `PROFIT_KPIS`)."""

LABELS = MappingProxyType({
    declared.label: MappingProxyType(declared.title._asdict())
    for declared in (*METRICS, *KPIS, *PROFIT_KPIS)
})  # fmt: skip
"""Translation key (``metric.<name>``, ``kpi.<name>``) -> {"en": ..., "zh": ...}: the one
place the screen names of the declared figures are written; the app's texts and the client
report both read it."""

COHORT_COLUMNS = ("replication", "cohort", "month", "months_since_join", "cohort_size",
                  "purchasing")  # fmt: skip
"""Cohort records: new members who joined in ``cohort`` and bought in ``month``."""


def kpi(name: str) -> Kpi:
    """The declaration of a KPI (of `KPIS` or `PROFIT_KPIS`).

    Raises:
        KeyError: ``name`` is not declared.
    """
    if name not in _KPIS_BY_NAME:
        raise KeyError(f"kpi(={name!r}) is not declared; declared: {', '.join(_KPIS_BY_NAME)}")
    return _KPIS_BY_NAME[name]


def across_replications(monthly: pd.DataFrame, names: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """One row per month: each metric's declared central figure across replications.

    Args:
        monthly: monthly records (one row per replication and month).
        names: the metrics wanted (each is aggregated by its `Metric.central`).

    Returns:
        ``month`` and one column per name.
    """
    grouped = monthly.groupby("month", sort=True)
    table = pd.DataFrame({name: getattr(grouped[name], metric(name).central)() for name in names})
    return table.reset_index()


def quantile_bands(monthly: pd.DataFrame, column: str) -> pd.DataFrame:
    """P10 / P50 / P90 of a monthly column across replications: month, p10, p50, p90.

    Empty values (None, NaN) are left out; a month with none left has NaN bands. A column
    read from JSON in which every value is empty (object dtype) is read as numbers too.
    """
    values = monthly[column].astype(float)
    out = values.groupby(monthly["month"], sort=True).quantile([0.1, 0.5, 0.9]).unstack()
    out.columns = ["p10", "p50", "p90"]
    return out.rename_axis("month").reset_index()


def _as_numbers(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """The frame with its measure columns as numbers.

    JSON writes NaN as null, so a column of a results file that is empty in every month
    is read back as objects; quantiles and means need numbers.

    Raises:
        ValueError: a measure column holds something that is not a number.
    """
    for column in frame.columns:
        if column in KEYS or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = frame[column][numbers.isna() & frame[column].notna()]
        if len(bad):
            raise ValueError(
                f"{what} column {column!r} holds {bad.iloc[0]!r}: monthly records must be"
                " numbers (or empty)"
            )
        frame[column] = numbers.astype(float)
    return frame


def _check_recorded(records: pd.DataFrame) -> None:
    """The engine's records must be exactly the declared engine metrics (plus the keys)."""
    undeclared, wrong_source = [], []
    for column in records.columns:
        if column in KEYS:
            continue
        try:
            declared = metric(column)
        except KeyError:
            undeclared.append(column)
            continue
        if declared.source != "engine":
            wrong_source.append(column)
    missing = [m.name for m in METRICS
               if m.source == "engine" and m.per is None and m.name not in records]  # fmt: skip
    if undeclared or wrong_source or missing or any(k not in records for k in KEYS):
        raise ValueError(
            "monthly records do not match simulations.results.METRICS:"
            f" undeclared columns {undeclared}, derived columns passed as records"
            f" {wrong_source}, declared engine metrics missing {missing}; declare a new"
            " column in METRICS (name, unit, description) before recording it"
        )


class SimulationResult:
    """The outcome of `simulations.Model.run` (read-only).

    Built from what the replications recorded; every aggregate is derived on first use and
    cached. The monthly table has the engine's columns, then the derived ones (`METRICS`
    with ``source`` ``result`` or ``baseline``).

    Attributes:
        policy_id: content id of the simulated policy.
        seed: the run's seed.
    """

    __slots__ = ("_records", "_baseline", "_migration", "_urr", "_tier_names",
                 "_cost_per_point", "policy_id", "seed", "_inputs", "_cohorts",
                 "__dict__")  # fmt: skip

    def __init__(
        self,
        records: pd.DataFrame,
        *,
        urr: list[float] | tuple[float, ...],
        migration: np.ndarray,
        tier_names: list[str] | tuple[str, ...],
        cost_per_point: float,
        policy_id: str,
        seed: int | None,
        inputs: dict,
        cohorts: pd.DataFrame | None = None,
        baseline: pd.DataFrame | None = None,
    ):
        """Keep what the replications recorded.

        Args:
            records: the engine's monthly records: ``replication``, ``month`` and the engine
                metrics of `METRICS` (one row per replication and month).
            urr: the ultimate redemption rate estimated in each replication.
            migration: member counts per replication, start tier x end tier (shape
                ``replications x (tiers + 1) x tiers``; the last start row counts members
                who joined during the horizon).
            tier_names: the policy's tiers, lowest first.
            cost_per_point: the policy's cost per redeemed point (for the liability).
            policy_id: content id of the simulated policy.
            seed: the run's seed.
            inputs: what was simulated (policy name, months, replications, population,
                behavior).
            cohorts: new members' purchases by join month (`COHORT_COLUMNS`).
            baseline: the baseline run's monthly records, row for row with ``records``
                (with the same seed: common random numbers), when there is one.

        Raises:
            ValueError: the records do not match the declaration, or the baseline's rows,
                the URRs or the migration counts do not match the records' replications.
        """
        records = _as_numbers(records.reset_index(drop=True).copy(), "the records'")
        _check_recorded(records)
        replications = len(urr)
        if sorted(records["replication"].unique()) != list(range(replications)):
            raise ValueError(
                f"records cover replications {sorted(records['replication'].unique())} but"
                f" {replications} URR estimates were given"
            )
        migration = np.array(migration, dtype=float).reshape(
            replications, len(tier_names) + 1, len(tier_names)
        )
        if baseline is not None:
            keys = list(KEYS)
            if not baseline[keys].reset_index(drop=True).equals(records[keys]):
                raise ValueError("the baseline's records must match the scenario's row for row")
            wanted = [m.name.removeprefix("baseline_") for m in METRICS if m.source == "baseline"]
            baseline = baseline[[*keys, *wanted]].reset_index(drop=True).copy()
            baseline = _as_numbers(baseline, "the baseline's")
            _freeze(baseline)
        _freeze(records)
        migration.setflags(write=False)
        self._records = records
        self._baseline = baseline
        self._migration = migration
        self._urr = tuple(float(u) for u in urr)
        self._tier_names = tuple(tier_names)
        self._cost_per_point = float(cost_per_point)
        self.policy_id = policy_id
        self.seed = seed
        self._inputs = MappingProxyType(dict(inputs))
        if cohorts is None:
            cohorts = pd.DataFrame(columns=list(COHORT_COLUMNS))
        self._cohorts = cohorts.reset_index(drop=True).copy()

    # -- the monthly table -----------------------------------------------------------------

    @cached_property
    def _monthly(self) -> pd.DataFrame:
        """The engine's records, then the columns derived from them (`METRICS` order)."""
        frame = self._records.copy()
        urr = np.asarray(self._urr)[frame["replication"].to_numpy()]
        frame["liability"] = frame["points_closing"] * self._cost_per_point * urr
        if self._baseline is not None:
            for declared in METRICS:
                if declared.source == "baseline":
                    own = declared.name.removeprefix("baseline_")
                    frame[declared.name] = self._baseline[own].to_numpy()
            frame["incremental_revenue"] = frame["revenue_net"] - frame["baseline_revenue_net"]
            frame["incremental_cost"] = frame["program_cost"] - frame["baseline_program_cost"]
            cost = frame["incremental_cost"]
            frame["roi"] = (frame["incremental_revenue"] - cost) / cost.where(cost.abs() > 1e-9)
        _freeze(frame)
        return frame

    @property
    def monthly(self) -> pd.DataFrame:
        """One row per (replication, month): every `METRICS` column recorded (a copy)."""
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
        """P10 / P50 / P90 of a monthly metric across replications: month, p10, p50, p90.

        NaN in a month where no replication has a value (ROI against a baseline that costs
        the same: there is no incremental cost to return on).
        """
        frame = self._monthly
        if metric not in frame.columns or metric in KEYS:
            known = [c for c in frame.columns if c not in KEYS]
            raise KeyError(f"metric(={metric!r}) is not recorded; known: {', '.join(known)}")
        return quantile_bands(frame, metric)

    def by_month(self, metrics: list[str] | tuple[str, ...]) -> pd.DataFrame:
        """One row per month: each metric's central figure across replications.

        The mean for currency and points (it keeps the roll-forward and cost identities
        every replication satisfies), the median otherwise (`Metric.central`).
        """
        return across_replications(self._monthly, metrics)

    # -- horizon KPIs ----------------------------------------------------------------------

    @cached_property
    def _per_replication(self) -> pd.DataFrame:
        """One row per replication, one column per KPI it has (`KPIS`)."""
        frame = self._monthly
        groups = frame.groupby("replication", sort=True)
        last = groups.tail(1).set_index("replication")
        out = pd.DataFrame(index=groups.size().index)
        for declared in KPIS:
            column = declared.source
            if declared.over_months == "sum" and column in frame:
                out[declared.name] = groups[column].sum()
            elif declared.over_months == "last" and column in frame:
                out[declared.name] = last[column]
            elif declared.over_months == "breakage":
                out[declared.name] = [1 - u for u in self._urr]
            elif declared.over_months == "roi" and "incremental_cost" in out:
                cost = out["incremental_cost"]
                out[declared.name] = np.where(
                    cost.abs() > 1e-9,
                    (out["incremental_revenue"] - cost) / cost.where(cost != 0),
                    np.nan,
                )
        return out

    def kpis_by_replication(self) -> pd.DataFrame:
        """Each replication's headline KPIs (one row per replication; a copy)."""
        return self._per_replication.copy()

    @cached_property
    def kpis(self) -> dict:
        """KPI -> {"p10", "p50", "p90"} across replications (in `KPIS` order)."""
        table = self._per_replication
        out = {}
        for name in table.columns:
            values = table[name].astype(float).to_numpy()
            q = (
                np.nanquantile(values, [0.1, 0.5, 0.9])
                if np.isfinite(values).any()
                else [np.nan] * 3
            )
            out[name] = {"p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}
        return MappingProxyType(out)

    def summary(self) -> pd.DataFrame:
        """The headline table: kpi, p10, p50, p90, unit."""
        rows = [{"kpi": name, **bands, "unit": kpi(name).unit} for name, bands in self.kpis.items()]
        return pd.DataFrame(rows, columns=["kpi", "p10", "p50", "p90", "unit"])

    # -- members ---------------------------------------------------------------------------

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

    @cached_property
    def _tier_migration(self) -> pd.DataFrame:
        median = np.median(self._migration, axis=0)
        starts = [*self._tier_names, "(new)"]
        rows = [
            {"from_tier": starts[a], "to_tier": self._tier_names[b], "members": float(median[a, b])}
            for a in range(median.shape[0])
            for b in range(median.shape[1])
        ]
        return pd.DataFrame(rows, columns=["from_tier", "to_tier", "members"])

    @property
    def tier_migration(self) -> pd.DataFrame:
        """from_tier, to_tier, members: start -> end of horizon (P50 across replications).

        Members who joined during the horizon have ``from_tier`` ``(new)``.
        """
        return self._tier_migration.copy()

    # -- JSON ------------------------------------------------------------------------------

    def to_json(self) -> str:
        """The whole result as JSON text (see `from_json`)."""
        frame = self._monthly
        monthly = frame.astype(object).where(frame.notna(), None)
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
                "tier_migration": self._tier_migration.to_dict(orient="records"),
                "monthly": monthly.to_dict(orient="records"),
                "cohorts": self._cohorts.to_dict(orient="records"),
                "tier_names": list(self._tier_names),
                "cost_per_point": self._cost_per_point,
                "migration_by_replication": self._migration.tolist(),
            },
            ensure_ascii=False,
            allow_nan=False,
            default=_plain,
        )

    @classmethod
    def from_json(cls, text: str) -> SimulationResult:
        """Rebuild a result written by `to_json` (derived columns are derived again)."""
        data = json.loads(text)
        if "migration_by_replication" not in data:
            raise ValueError(
                "these results were written by an older MemberLab (no per-replication tier"
                " migration); run the simulation again"
            )
        monthly = pd.DataFrame(data["monthly"]).fillna(value=np.nan)
        derived = [m.name for m in METRICS if m.source != "engine" and m.name in monthly]
        baseline = None
        if "baseline_revenue_net" in monthly:
            named = [m.name for m in METRICS if m.source == "baseline"]
            baseline = monthly[[*KEYS, *named]].rename(
                columns={name: name.removeprefix("baseline_") for name in named}
            )
        cohorts = pd.DataFrame(data.get("cohorts", []), columns=list(COHORT_COLUMNS))
        return cls(
            monthly.drop(columns=derived),
            urr=data["urr"],
            migration=np.asarray(data["migration_by_replication"], dtype=float),
            tier_names=data["tier_names"],
            cost_per_point=data["cost_per_point"],
            policy_id=data["policy_id"],
            seed=data["seed"],
            inputs=data["inputs"],
            cohorts=cohorts,
            baseline=baseline,
        )

    def __repr__(self) -> str:
        months = self._records["month"].nunique()
        return (
            f"SimulationResult(policy_id={self.policy_id[:12]}..., replications="
            f"{self.replications}, months={months}, breakage={self.breakage:.3f})"
        )


def _freeze(frame: pd.DataFrame) -> None:
    """Make the frame's column arrays read-only (results never change after a run)."""
    for column in frame.columns:
        frame[column].to_numpy().setflags(write=False)


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
