"""Backtest: calibrate on the data up to a cutoff, forecast the months after, compare.

What a finance analyst would do by hand, as one function (`backtest`) and one command
(``python -m simulations backtest``):

1. **Calibrate** (`simulations.calibration.calibrate`) on purchases, points bookings and
   members up to and including the cutoff day.
2. **Population** as observed on the day after the cutoff (`population_at`): join dates,
   birthdays, the BG/NBD summary, mean spend, the 12 months of purchases and spend by
   calendar month and the points balance of every member who joined by the cutoff.
3. **Simulate** the holdout months under the policy (`simulations.Model`), twice per
   replication: the members known at the cutoff (segment ``existing``) and the members who
   join afterwards (``new``; forecast from the calibrated acquisition rate, or the recorded
   sign-ups with ``arrivals="actual"``); ``all`` is their sum, replication by replication.
   Members do not interact in the engine, so the split does not change the forecast.
4. **Compare** with what the data records for those months (`actual_monthly`), month by
   month and over the whole horizon, and with two forecasts a user could make without the
   engine (`reference_forecasts`): *seasonal naive* (the same month a year earlier) and the
   *BG/NBD + Gamma-Gamma expectations* of the calibrated fit (Fader, Hardie & Lee 2005, eq.
   10 for existing members, eq. 9 for new ones; the Gamma-Gamma conditional mean spend).

Metrics (per month; ``summary`` sums the flows over the horizon and takes the last month of
the stocks): ``purchases`` (purchase days of a member: several receipts of one member on one
day are one purchase, as in the calibration), ``active_members`` (lifecycle ``new`` or
``active`` at the month end, `policies.rules.lifecycle_codes`), ``revenue_gross``,
``points_issued`` (earn and bonus), ``points_redeemed``, ``points_expired`` and
``points_closing``. Breakage is the one definition of `simulations.breakage` on both sides.

``policy=None`` simulates a business without a program (no points, one tier, no campaigns:
only purchases); points metrics are then left out.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from policies.model import Policy
from simulations.behavior import BehaviorParams, parameter_sources
from simulations.breakage import DEFINITION, roll_forward_breakage
from simulations.calibration.bgnbd import conditional_expected_purchases, expected_purchases
from simulations.calibration.data import (
    check_transactions,
    daily_occasions,
    parse_dates,
    summarize_transactions,
)
from simulations.calibration.errors import CalibrationDataError
from simulations.calibration.gamma_gamma import conditional_expected_spend
from simulations.calibration.redemption import check_ledger
from simulations.population import HISTORY_MONTHS, Population, ledger_lots

__all__ = [
    "FLOW_METRICS",
    "METRICS",
    "POINTS_METRICS",
    "SEGMENTS",
    "BacktestResult",
    "actual_monthly",
    "backtest",
    "holdout_months",
    "no_program_policy",
    "parameter_draws",
    "population_at",
    "reference_forecasts",
]

METRICS = (
    "purchases",
    "active_members",
    "revenue_gross",
    "points_issued",
    "points_redeemed",
    "points_expired",
    "points_closing",
)
"""Metrics compared month by month."""

FLOW_METRICS = ("purchases", "revenue_gross", "points_issued", "points_redeemed",
                "points_expired")  # fmt: skip
"""Metrics summed over the horizon in the summary (the others are stocks: last month)."""

POINTS_METRICS = ("points_issued", "points_redeemed", "points_expired", "points_closing")
SEGMENTS = ("all", "existing", "new")
_QUANTILES = (0.1, 0.5, 0.9)


# -- inputs --------------------------------------------------------------------------------


def _clean_inputs(transactions, ledger, members):
    tx = check_transactions(transactions)
    if "net_amount" not in tx:
        tx["net_amount"] = tx["amount"]
    tx["net_amount"] = pd.to_numeric(tx["net_amount"], errors="coerce").fillna(tx["amount"])
    led = check_ledger(ledger) if ledger is not None else None
    if members is not None:
        if "member_id" not in members:
            raise CalibrationDataError("members: missing column member_id")
        members = members.assign(member_id=members["member_id"].astype(str).str.strip())
    return tx, led, members


def _join_dates(tx: pd.DataFrame, members: pd.DataFrame | None) -> pd.Series:
    """Join date per member: the member table's, else the first purchase."""
    first = tx.groupby("member_id")["date"].min()
    if members is None or "join_date" not in members:
        return first
    joined = pd.Series(
        parse_dates(members, "join_date", "members").to_numpy(), index=members["member_id"]
    )
    return joined.combine_first(first)


def holdout_months(cutoff: dt.date, last_day: dt.date, months: int) -> list[pd.Period]:
    """The calendar months compared: from the day after ``cutoff``, complete months only.

    The first month may start after its 1st (a cutoff inside a month); a month that the data
    does not cover to its last day is left out, and so are months beyond ``months``.
    """
    first = pd.Timestamp(cutoff + dt.timedelta(days=1)).to_period("M")
    out = []
    for k in range(months):
        month = first + k
        if month.end_time.normalize() > pd.Timestamp(last_day):
            break
        out.append(month)
    return out


def no_program_policy(policy: Policy) -> Policy:
    """The same business without a program: no points, one tier, no campaigns.

    Points earn at 10^-6 per 10^6 of currency (rounded down to nothing for any purchase the
    policy allows) and no bonus or expiry applies, so the simulated points are zero; segment
    rules are kept.
    """
    data = policy.model_dump(mode="json")
    data["program"]["name"] = f"{policy.program.name} (no program)"[:120]
    base_tier = {"name": "Member", "threshold": 0, "benefits": {}}
    data["tiers"] = {**data["tiers"], "tiers": [base_tier]}
    points = data["points"]
    points["earn"] = {**points["earn"], "points_per_unit": 1e-6, "per_amount": 1e6,
                      "rounding": "floor", "balance_bands": []}  # fmt: skip
    points["bonuses"] = {"signup": 0, "birthday": 0, "referral": 0}
    data["points"] = points
    data["expiry"] = {"kind": "none"}
    data["campaigns"] = []
    return Policy.model_validate(data)


def population_at(
    transactions: pd.DataFrame,
    ledger: pd.DataFrame | None,
    members: pd.DataFrame | None,
    as_of: dt.date,
    with_points: bool = True,
) -> Population:
    """Members who joined before ``as_of`` as observed on that morning.

    Only purchases and bookings dated before ``as_of`` count. Purchases are purchase days
    (`summarize_transactions`); the monthly history holds the 12 calendar months before the
    ``as_of`` month (net spend in cents); the balance is the ledger's sum (unknown, -1,
    without a ledger; 0 with ``with_points=False``) and its lots by earn month come from the
    ledger too (`ledger_lots`), so opening points expire when their own validity ends.
    Tiers are left to the engine to derive from the qualifying score under the simulated
    policy.
    """
    tx, led, members = _clean_inputs(transactions, ledger, members)
    end = pd.Timestamp(as_of) - pd.Timedelta(days=1)
    before = tx[tx["date"] <= end]
    if before.empty:
        return Population.empty(as_of)
    summary = summarize_transactions(before, end, "day")
    joined = _join_dates(before, members)
    ids = summary.index.to_numpy()
    join = pd.to_datetime(joined.reindex(ids)).fillna(summary["first_purchase"])
    join = join.where(join <= end, summary["first_purchase"])
    origin = pd.Timestamp(as_of)
    first = summary["first_purchase"]
    last = first + pd.to_timedelta(summary["recency"], unit="D")
    join_day = (join - origin).dt.days.to_numpy(np.int32)
    last_day = np.maximum((last - origin).dt.days.to_numpy(np.int32), join_day)
    occasions = daily_occasions(before.assign(amount=before["net_amount"]))
    month_col = (occasions["date"].dt.year * 12 + occasions["date"].dt.month - 1).to_numpy() - (
        as_of.year * 12 + as_of.month - 1 - HISTORY_MONTHS
    )
    keep = (month_col >= 0) & (month_col < HISTORY_MONTHS)
    row = pd.Index(ids).get_indexer(occasions["member_id"])
    counts = np.zeros((len(ids), HISTORY_MONTHS), np.int32)
    spend = np.zeros((len(ids), HISTORY_MONTHS), np.int64)
    np.add.at(counts, (row[keep], month_col[keep]), 1)
    cents = np.rint(occasions["amount"].to_numpy()[keep] * 100).astype(np.int64)
    np.add.at(spend, (row[keep], month_col[keep]), cents)
    lots = None
    if not with_points:
        balance = np.zeros(len(ids), np.int64)
    elif led is None:
        balance = np.full(len(ids), -1, np.int64)
    else:
        booked = led[led["date"] <= end]
        held = booked.groupby("member_id")["points"].sum()
        balance = held.reindex(ids, fill_value=0).to_numpy(np.int64)
        lots = ledger_lots(booked, ids, as_of)
    bmonth = np.zeros(len(ids), np.int8)
    bday = np.zeros(len(ids), np.int8)
    if members is not None and "birthday" in members:
        births = pd.to_datetime(members.set_index("member_id")["birthday"], errors="coerce")
        births = births[~births.index.duplicated()].reindex(ids)
        bmonth = births.dt.month.fillna(0).to_numpy(np.int8)
        bday = births.dt.day.fillna(0).to_numpy(np.int8)
    mean_spend = np.where(summary["frequency"] > 0, summary["monetary_value"], np.nan)
    return Population(
        as_of=as_of,
        member_id=ids.astype(object),
        join_day=join_day,
        birthday_month=bmonth,
        birthday_day=bday,
        repeat_purchases=summary["frequency"].to_numpy(np.int64),
        last_purchase_day=last_day.astype(np.int32),
        mean_spend=mean_spend.astype(np.float64),
        tier=np.full(len(ids), "", dtype=object),
        points_balance=balance,
        purchases_by_month=counts,
        spend_by_month=spend,
        source=f"data as of {as_of.isoformat()}",
        points_lots=lots,
    )


# -- actuals -------------------------------------------------------------------------------


def _active_at(policy: Policy, tx_days: pd.DataFrame, joined: pd.Series, day: pd.Timestamp):
    """Members counted ``new`` or ``active`` on the morning after ``day`` (by member id)."""
    from policies import rules

    joined = joined[joined <= day]
    upto = tx_days[tx_days["date"] <= day].groupby("member_id")["date"].agg(["max", "size"])
    upto = upto.reindex(joined.index)
    morning = day + pd.Timedelta(days=1)
    since_join = (morning - joined).dt.days.to_numpy()
    last = upto["max"].fillna(joined)
    since_purchase = (morning - last).dt.days.to_numpy()
    purchases = upto["size"].fillna(0).to_numpy(np.int64)
    codes = rules.lifecycle_codes(policy, since_join, since_purchase, purchases)
    active = np.isin(codes, [rules.LIFECYCLE_CODES["new"], rules.LIFECYCLE_CODES["active"]])
    return pd.Series(active, index=joined.index)


def actual_monthly(
    transactions: pd.DataFrame,
    ledger: pd.DataFrame | None,
    members: pd.DataFrame | None,
    months: list[pd.Period],
    cutoff: dt.date,
    policy: Policy,
) -> pd.DataFrame:
    """What the data records in ``months``: tidy ``month, metric, segment, actual``.

    Segments: ``existing`` = members who joined by ``cutoff``, ``new`` = later, ``all``.
    Points metrics need a ledger (left out without one).
    """
    tx, led, members = _clean_inputs(transactions, ledger, members)
    joined = _join_dates(tx, members)
    existing_ids = set(joined.index[joined <= pd.Timestamp(cutoff)])
    days = daily_occasions(tx)
    days["segment"] = np.where(days["member_id"].isin(existing_ids), "existing", "new")
    tx = tx.assign(segment=np.where(tx["member_id"].isin(existing_ids), "existing", "new"))
    if led is not None:
        led = led.assign(segment=np.where(led["member_id"].isin(existing_ids), "existing", "new"))
    rows = []
    start = pd.Timestamp(cutoff) + pd.Timedelta(days=1)
    for month in months:
        lo = max(month.start_time.normalize(), start)
        hi = month.end_time.normalize()
        label = str(month)
        in_days = days[(days["date"] >= lo) & (days["date"] <= hi)]
        in_tx = tx[(tx["date"] >= lo) & (tx["date"] <= hi)]
        active = _active_at(policy, days, joined, hi)
        values: dict[str, dict[str, float]] = {
            "purchases": in_days.groupby("segment").size().to_dict(),
            "revenue_gross": in_tx.groupby("segment")["amount"].sum().to_dict(),
            "active_members": {
                "existing": int(active[active.index.isin(existing_ids)].sum()),
                "new": int(active[~active.index.isin(existing_ids)].sum()),
            },
        }
        if led is not None:
            in_led = led[(led["date"] >= lo) & (led["date"] <= hi)]
            by_kind = in_led.groupby(["segment", "kind"])["points"].sum()

            def kind_total(kinds, sign, by_kind=by_kind):
                return {
                    seg: sign * float(sum(by_kind.get((seg, k), 0) for k in kinds))
                    for seg in ("existing", "new")
                }

            values["points_issued"] = kind_total(("earn", "bonus"), 1)
            values["points_redeemed"] = kind_total(("redeem",), -1)
            values["points_expired"] = kind_total(("expire",), -1)
            closing = led[led["date"] <= hi].groupby("segment")["points"].sum()
            values["points_closing"] = closing.to_dict()
        for metric in METRICS:
            if metric not in values:
                continue
            by_segment = values[metric]
            ex = float(by_segment.get("existing", 0.0))
            new = float(by_segment.get("new", 0.0))
            for segment, value in (("all", ex + new), ("existing", ex), ("new", new)):
                rows.append({"month": label, "metric": metric, "segment": segment,
                             "actual": value})  # fmt: skip
    return pd.DataFrame(rows, columns=["month", "metric", "segment", "actual"])


# -- reference forecasts -------------------------------------------------------------------


def reference_forecasts(
    calibration,
    transactions: pd.DataFrame,
    ledger: pd.DataFrame | None,
    members: pd.DataFrame | None,
    months: list[pd.Period],
    cutoff: dt.date,
    policy: Policy,
    arrivals: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Two forecasts made without the engine: tidy ``reference, month, metric, segment, forecast``.

    * ``seasonal_naive``: each metric of segment ``all`` equals the same month a year
      earlier (only months whose year-earlier month is on or before the cutoff).
    * ``bgnbd_gamma_gamma``: purchases and gross revenue from the calibrated BG/NBD and
      Gamma-Gamma fits: existing members by the conditional expectation E[Y(t) | x, t_x, T]
      (Fader, Hardie & Lee 2005, eq. 10) times each member's conditional mean spend;
      new members, joining mid-month at the calibrated acquisition model's expected count
      (`BehaviorParams.expected_new_members`, or ``arrivals``), one purchase
      on joining plus E[X(t)] (eq. 9) at the population mean spend.
    """
    rows = []
    earlier = [m - 12 for m in months if (m - 12).end_time.date() <= cutoff]
    if earlier:
        before = (earlier[0].start_time - pd.Timedelta(days=1)).date()
        past = actual_monthly(transactions, ledger, members, earlier, before, policy)
        past = past[past["segment"] == "all"]
        for rec in past.itertuples(index=False):
            month = str(pd.Period(rec.month, "M") + 12)
            rows.append({"reference": "seasonal_naive", "month": month, "metric": rec.metric,
                         "segment": "all", "forecast": float(rec.actual)})  # fmt: skip
    tx = check_transactions(transactions)
    summary = summarize_transactions(tx, pd.Timestamp(cutoff), calibration.time_unit)
    bg = calibration.bgnbd.params
    scale = 7.0 if calibration.time_unit == "week" else 1.0
    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    if calibration.gamma_gamma is not None:
        gg = calibration.gamma_gamma.params
        spend = conditional_expected_spend(gg, x, summary["monetary_value"].to_numpy(float))
        mean_spend = float(calibration.gamma_gamma.mean_spend)
    else:  # no spend model: each member's own mean (all purchases), population mean
        mean_spend = float(tx[tx["date"] <= pd.Timestamp(cutoff)]["amount"].mean())
        spend = np.full(x.size, mean_spend)
    start = pd.Timestamp(cutoff)
    previous = np.zeros(x.size)
    acquisition = calibration.behavior_params() if calibration.arrivals is not None else None
    new_counts = []
    for month in months:
        end_t = (month.end_time.normalize() - start).days / scale
        cumulative = conditional_expected_purchases(bg, end_t, x, t_x, T)
        purchases = cumulative - previous
        previous = cumulative
        existing_p = float(purchases.sum())
        existing_r = float((purchases * spend).sum())
        label = str(month)
        lo = (max(month.start_time.normalize(), start + pd.Timedelta(days=1)) - start).days
        hi = (month.end_time.normalize() - start).days + 1
        if arrivals is not None:
            count = float(arrivals.get(label, 0))
        elif acquisition is not None:
            count = (
                acquisition.expected_new_members(month.year, month.month)
                * (hi - lo)
                / (month.days_in_month)
            )
        else:
            count = 0.0
        join_t = ((month.start_time.normalize() - start).days + month.days_in_month / 2) / scale
        new_counts.append((join_t, count))
        new_p = 0.0
        for joined_t, n in new_counts:
            a = max(lo / scale - joined_t, 0.0)
            b = max(hi / scale - joined_t, 0.0)
            new_p += n * float(expected_purchases(bg, b) - expected_purchases(bg, a))
        new_p += count  # the join-day purchase
        for segment, p, r in (
            ("existing", existing_p, existing_r),
            ("new", new_p, new_p * mean_spend),
            ("all", existing_p + new_p, existing_r + new_p * mean_spend),
        ):
            for metric, value in (("purchases", p), ("revenue_gross", r)):
                rows.append({"reference": "bgnbd_gamma_gamma", "month": label, "metric": metric,
                             "segment": segment, "forecast": value})  # fmt: skip
    return pd.DataFrame(rows, columns=["reference", "month", "metric", "segment", "forecast"])


# -- result ----------------------------------------------------------------------------------


def _horizon(frame: pd.DataFrame, value: str, by: list[str]) -> pd.DataFrame:
    """Horizon figure per group: the sum of flows, the last month of stocks."""
    frame = frame.sort_values("month")
    flows = frame[frame["metric"].isin(FLOW_METRICS)].groupby(by, sort=False)[value].sum()
    stocks = frame[~frame["metric"].isin(FLOW_METRICS)].groupby(by, sort=False)[value].last()
    return pd.concat([flows, stocks]).reset_index()


def _error(forecast: float, actual: float) -> float | None:
    if actual is None or not np.isfinite(actual) or actual == 0 or not np.isfinite(forecast):
        return None
    return float(forecast / actual - 1.0)


@dataclass(frozen=True)
class BacktestResult:
    """The comparison, as tidy tables (read-only); ``to_json`` gives the CLI document.

    Attributes:
        monthly: ``month, metric, segment, actual, p10, p50, p90``.
        summary: ``metric, segment, actual, p10, p50, p90, error`` (error = p50/actual - 1).
        breakage: forecast (P10/P50/P90) and actual breakage over the horizon, and the
            history before the cutoff, on the one definition.
        coverage: share of month x metric cells of segment ``all`` whose actual lies in
            P10..P90 (overall and per metric).
        references: ``reference, month, metric, segment, forecast, actual``.
        reference_summary: ``reference, metric, segment, forecast, actual, error``.
        inputs: cutoff, months, policy, arrivals, replications, seed, population size.
        calibration: notes and warnings of the calibration (what was not estimated).
    """

    monthly: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    breakage: dict
    coverage: dict
    references: pd.DataFrame = field(repr=False)
    reference_summary: pd.DataFrame = field(repr=False)
    inputs: dict
    calibration: dict = field(repr=False)

    def comparison(self, metric: str = "revenue_gross", segment: str = "all") -> pd.DataFrame:
        """Absolute horizon error of the engine and of each reference for one metric."""
        rows = []
        summary = self.summary
        engine = summary[(summary["metric"] == metric) & (summary["segment"] == segment)]
        for rec in engine.itertuples(index=False):
            rows.append({"forecast": "engine", "error": rec.error})
        refs = self.reference_summary
        refs = refs[(refs["metric"] == metric) & (refs["segment"] == segment)]
        for rec in refs.itertuples(index=False):
            rows.append({"forecast": rec.reference, "error": rec.error})
        out = pd.DataFrame(rows, columns=["forecast", "error"])
        out["abs_error"] = out["error"].abs()
        return out

    def to_json(self) -> str:
        """The JSON document of ``python -m simulations backtest``."""

        def records(frame: pd.DataFrame) -> list[dict]:
            return json.loads(frame.to_json(orient="records", double_precision=10))

        document = {
            "inputs": self.inputs,
            "monthly": records(self.monthly),
            "summary": records(self.summary),
            "breakage": self.breakage,
            "coverage": self.coverage,
            "references": {
                "monthly": records(self.references),
                "summary": records(self.reference_summary),
            },
            "calibration": self.calibration,
        }
        return json.dumps(_finite(document), ensure_ascii=False, indent=1)


def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _bands(sim: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    grouped = sim.groupby(by, sort=False)["value"]
    out = grouped.quantile(list(_QUANTILES)).unstack()
    out.columns = ["p10", "p50", "p90"]
    return out.reset_index()


# -- the backtest ----------------------------------------------------------------------------


def backtest(
    transactions: pd.DataFrame,
    ledger: pd.DataFrame | None = None,
    members: pd.DataFrame | None = None,
    *,
    cutoff: dt.date | str,
    months: int = 12,
    policy: Policy | None,
    arrivals: Literal["forecast", "actual"] = "forecast",
    replications: int = 20,
    seed: int = 42,
    behavior: BehaviorParams | None = None,
    parameter_uncertainty: bool = True,
    progress: Callable[[float, str], None] | None = None,
) -> BacktestResult:
    """Calibrate up to ``cutoff``, simulate the months after it and compare with the data.

    Args:
        transactions: purchases ``member_id, date, amount`` (``net_amount`` used for the
            members' spend history when present).
        ledger: points bookings ``member_id, date, kind, points`` (needed for points metrics
            and for calibrating redemption).
        members: ``member_id`` with ``join_date`` and ``birthday`` when known.
        cutoff: last day of the calibration data.
        months: holdout months to compare (fewer when the data ends earlier).
        policy: the policy in force over the data; None = no program.
        arrivals: ``forecast`` (the calibrated acquisition rate) or ``actual`` (the recorded
            sign-ups of each month).
        replications: simulation replications (P10/P50/P90 across them).
        seed: seed of the simulation.
        behavior: behavior parameters to use instead of calibrating (e.g. an edited file).
        parameter_uncertainty: each replication draws the estimated parameters (BG/NBD,
            Gamma-Gamma, redemption logit, acquisition trend) from their sampling
            distribution (`parameter_draws`), so the P10-P90 band carries estimation
            uncertainty and not only the randomness of members' behavior. On by default: a
            band without it is too narrow to be read as a forecast interval. Parameters
            set in ``behavior`` that differ from the calibration are not drawn.
        progress: optional callable(done_fraction, message).

    Raises:
        CalibrationDataError: unusable data, or no complete month after the cutoff.
        ConvergenceError: the BG/NBD fit failed.
    """
    from simulations.calibration import calibrate
    from simulations.engine import Model

    def say(share: float, message: str) -> None:
        if progress is not None:
            progress(share, message)

    cutoff = pd.Timestamp(cutoff).date()
    if arrivals not in ("forecast", "actual"):
        raise ValueError(f"arrivals(={arrivals!r}) must be 'forecast' or 'actual'")
    tx, led, members = _clean_inputs(transactions, ledger, members)
    last_day = tx["date"].max()
    if led is not None:
        last_day = max(last_day, led["date"].max())
    window = holdout_months(cutoff, last_day.date(), months)
    if tx["date"].min() > pd.Timestamp(cutoff):
        raise CalibrationDataError(
            f"cutoff(={cutoff}) is before the first purchase ({tx['date'].min().date()});"
            " choose a later cutoff"
        )
    if not window:
        raise CalibrationDataError(
            f"cutoff(={cutoff}): the data ends on {last_day.date()}, so no complete month"
            " follows the cutoff to compare with; choose an earlier cutoff"
        )
    with_program = policy is not None
    base_policy = policy if policy is not None else _neutral_policy()
    simulated_policy = policy if policy is not None else no_program_policy(base_policy)
    cut = pd.Timestamp(cutoff)
    say(0.0, "calibrating")
    calibration = calibrate(
        tx[tx["date"] <= cut],
        ledger=led[led["date"] <= cut] if (with_program and led is not None) else None,
        members=members,
        calibration_end=cut,
        policy=policy,
    )
    fitted = behavior if behavior is not None else calibration.behavior_params()
    joined = _join_dates(tx, members)
    later = joined[joined > cut]
    recorded = {str(k): int(v) for k, v in later.dt.to_period("M").value_counts().items()}
    recorded = {str(m): recorded.get(str(m), 0) for m in window}
    as_of = cutoff + dt.timedelta(days=1)
    say(0.1, "population")
    population = population_at(tx, led, members, as_of, with_points=with_program)
    seeds = np.random.SeedSequence(seed).generate_state(2)
    existing_behavior = fitted.model_copy(update={"new_members_per_month": 0.0,
                                                  "recorded_arrivals": {}})  # fmt: skip
    new_behavior = fitted.model_copy(
        update={"recorded_arrivals": recorded if arrivals == "actual" else {}}
    )
    frames = []
    for k, (segment, pop, beh) in enumerate(
        (
            ("existing", population, existing_behavior),
            ("new", Population.empty(as_of), new_behavior),
        )
    ):

        def share(part: float, message: str, k: int = k) -> None:
            say(0.15 + 0.75 * (k + part) / 2, f"simulating {['existing', 'new'][k]} members,"
                f" {message}")  # fmt: skip

        if parameter_uncertainty:
            # One set of parameter draws for both segments (replication i of the existing and
            # of the new members share it): ``all`` carries the estimation error once, whole.
            draws = parameter_draws(calibration, beh, replications, seed)
            sim = _with_parameter_draws(draws, beh, simulated_policy, pop, len(window),
                                        int(seeds[k]), as_of, share)  # fmt: skip
        else:
            model = Model(simulated_policy, behavior=beh, population=pop, months=len(window),
                          replications=replications, seed=int(seeds[k]), start=as_of)  # fmt: skip
            sim = model.run(progress=share if progress is not None else None).monthly
        metrics = [m for m in METRICS if with_program or m not in POINTS_METRICS]
        long = sim.melt(id_vars=["replication", "month"], value_vars=metrics,
                        var_name="metric", value_name="value")  # fmt: skip
        long["segment"] = segment
        frames.append(long)
    sim = pd.concat(frames, ignore_index=True)
    total = sim.groupby(["replication", "month", "metric"], as_index=False)["value"].sum()
    total["segment"] = "all"
    sim = pd.concat([total, sim], ignore_index=True)
    say(0.9, "comparing")
    actual = actual_monthly(tx, led if with_program else None, members, window, cutoff,
                            base_policy)  # fmt: skip
    monthly = _bands(sim, ["month", "metric", "segment"]).merge(
        actual, on=["month", "metric", "segment"], how="left"
    )
    monthly = monthly[["month", "metric", "segment", "actual", "p10", "p50", "p90"]]
    order = {m: i for i, m in enumerate(METRICS)}
    monthly = monthly.sort_values(
        ["metric", "segment", "month"], key=lambda s: s.map(order) if s.name == "metric" else s
    ).reset_index(drop=True)
    per_rep = _horizon(sim, "value", ["replication", "metric", "segment"])
    summary = _bands(per_rep, ["metric", "segment"])
    horizon_actual = _horizon(actual, "actual", ["metric", "segment"])
    summary = summary.merge(horizon_actual, on=["metric", "segment"], how="left")
    summary["error"] = [
        _error(p, a) for p, a in zip(summary["p50"], summary["actual"], strict=True)
    ]
    summary = summary[["metric", "segment", "actual", "p10", "p50", "p90", "error"]]
    summary = summary.sort_values(
        ["metric", "segment"], key=lambda s: s.map(order) if s.name == "metric" else s
    ).reset_index(drop=True)

    cells = monthly[(monthly["segment"] == "all") & monthly["actual"].notna()]
    inside = (cells["actual"] >= cells["p10"]) & (cells["actual"] <= cells["p90"])
    coverage = {
        "share": float(inside.mean()) if len(cells) else None,
        "cells": int(len(cells)),
        "by_metric": {m: float(g.mean()) for m, g in inside.groupby(cells["metric"])},
    }

    breakage = {"definition": DEFINITION}
    if with_program and led is not None:
        points = sim[(sim["segment"] == "all")].pivot_table(
            index=["replication", "month"], columns="metric", values="value"
        )
        forecast = [
            roll_forward_breakage(rows.reset_index()) for _, rows in points.groupby("replication")
        ]
        finite = np.array([f for f in forecast if np.isfinite(f)])
        wide = actual[actual["segment"] == "all"].pivot_table(
            index="month", columns="metric", values="actual"
        )
        history_window = led[(led["date"] <= cut) & (led["date"] > cut - pd.DateOffset(months=12))]
        breakage.update(
            {
                "actual": roll_forward_breakage(wide.reset_index()),
                "p10": float(np.quantile(finite, 0.1)) if finite.size else None,
                "p50": float(np.quantile(finite, 0.5)) if finite.size else None,
                "p90": float(np.quantile(finite, 0.9)) if finite.size else None,
                "history_12m_before_cutoff": _ledger_breakage(history_window),
            }
        )
        if breakage["p50"] is not None and breakage["actual"] is not None:
            breakage["error_points"] = 100.0 * (breakage["p50"] - breakage["actual"])

    refs = reference_forecasts(calibration, tx, led if with_program else None, members, window,
                               cutoff, base_policy,
                               recorded if arrivals == "actual" else None)  # fmt: skip
    refs = refs.merge(actual, on=["month", "metric", "segment"], how="left")
    ref_summary = []
    for (name, metric, segment), rows in refs.groupby(["reference", "metric", "segment"]):
        months_covered = rows["month"].nunique()
        if months_covered < len(window):
            continue  # a horizon figure needs every month
        value = _horizon(rows.rename(columns={"forecast": "value"}), "value", ["metric"])
        fc = float(value["value"].iloc[0])
        act = float(_horizon(rows, "actual", ["metric"])["actual"].iloc[0])
        ref_summary.append({"reference": name, "metric": metric, "segment": segment,
                            "forecast": fc, "actual": act, "error": _error(fc, act)})  # fmt: skip
    ref_summary = pd.DataFrame(
        ref_summary, columns=["reference", "metric", "segment", "forecast", "actual", "error"]
    )
    inputs = {
        "cutoff": cutoff.isoformat(),
        "start": as_of.isoformat(),
        "months": len(window),
        "months_requested": months,
        "first_month": str(window[0]),
        "last_month": str(window[-1]),
        "policy": simulated_policy.program.name if with_program else "none",
        "arrivals": arrivals,
        "recorded_arrivals": recorded,
        "replications": replications,
        "seed": seed,
        "existing_members": len(population),
        "behavior_source": "given" if behavior is not None else "calibrated",
        "parameter_uncertainty": parameter_uncertainty,
    }
    say(1.0, "done")
    return BacktestResult(
        monthly=monthly,
        summary=summary,
        breakage=_finite(breakage),
        coverage=coverage,
        references=refs,
        reference_summary=ref_summary,
        inputs=inputs,
        calibration={
            "notes": list(calibration.notes),
            "fallbacks": list(calibration.fallbacks),
            "parameter_sources": parameter_sources(fitted),
            "diagnostics": _finite(json.loads(json.dumps(calibration.diagnostics, default=str))),
        },  # fmt: skip
    )


def parameter_draws(calibration, behavior: BehaviorParams, replications: int,
                    seed: int) -> list[dict]:  # fmt: skip
    """Per replication, the estimated parameters drawn from their sampling distribution.

    Every estimated model contributes: BG/NBD and Gamma-Gamma (log-normal with the fits'
    log-scale covariance: asymptotic normality of maximum likelihood on the log scale), the
    redemption logit and the acquisition GLM (normal with their coefficients' covariance).
    Parameters the user gave (``behavior`` differs from the calibration there) are not
    drawn. Replication ``i`` draws from its own stream of ``seed``, so two segments of one
    backtest get the same draws whatever else they leave out.

    Returns:
        One `BehaviorParams` update per replication.
    """
    from simulations.behavior import BGNBDParams, GammaGammaParams

    calibrated = calibration.behavior_params()
    fits = []
    if behavior.bgnbd == calibrated.bgnbd:
        fits.append((calibration.bgnbd, BGNBDParams, "bgnbd"))
    if calibration.gamma_gamma is not None and behavior.gamma_gamma == calibrated.gamma_gamma:
        fits.append((calibration.gamma_gamma, GammaGammaParams, "gamma_gamma"))
    redemption = calibration.redemption
    draw_redemption = (
        redemption is not None
        and redemption.cov is not None
        and (behavior.redemption == calibrated.redemption)
    )
    acquisition = ("new_members_per_month", "new_members_trend", "new_members_origin",
                   "new_members_seasonality")  # fmt: skip
    draw_arrivals = (
        calibration.arrivals is not None
        and behavior.new_members_per_month > 0
        and all(getattr(behavior, f) == getattr(calibrated, f) for f in acquisition)
    )
    updates = []
    for i in range(replications):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1, i]))
        update = {}
        for fit, kind, name in fits:
            names = list(fit.params)
            centre = np.log([fit.params[n] for n in names])
            drawn = np.exp(rng.multivariate_normal(centre, fit.log_cov))
            update[name] = kind(**dict(zip(names, drawn, strict=True)))
        if draw_redemption:
            update["redemption"] = behavior.redemption.model_copy(update=redemption.draw(rng))
        if draw_arrivals:
            update.update(calibration.arrivals.draw(rng))
        updates.append(update)
    return updates


def _with_parameter_draws(draws, behavior, policy, population, months, seed, start,
                          progress) -> pd.DataFrame:  # fmt: skip
    """One simulation per replication, each with its own parameters (`parameter_draws`)."""
    from simulations.engine import Model

    frames = []
    for i, update in enumerate(draws):
        model = Model(policy, behavior=behavior.model_copy(update=update), population=population,
                      months=months, replications=1, seed=seed + i, start=start)  # fmt: skip
        monthly = model.run().monthly.assign(replication=i)
        frames.append(monthly)
        if progress is not None:
            progress((i + 1) / len(draws), f"replication {i + 1} of {len(draws)}")
    return pd.concat(frames, ignore_index=True)


def _ledger_breakage(entries: pd.DataFrame) -> float | None:
    redeemed = -entries.loc[entries["kind"] == "redeem", "points"].sum()
    expired = -entries.loc[entries["kind"] == "expire", "points"].sum()
    from simulations.breakage import breakage

    value = breakage(redeemed, expired)
    return value if np.isfinite(value) else None


def _neutral_policy() -> Policy:
    """Segment rules and a calendar for a business without a program (the defaults)."""
    from pathlib import Path

    from policies.io import load_policy

    root = Path(__file__).resolve().parents[1]
    return load_policy(root / "policies" / "examples" / "classic_four_tier.yaml")


# -- command line ----------------------------------------------------------------------------

EXIT_OK, EXIT_BAD_INPUT, EXIT_NOT_CONVERGED, EXIT_FELL_BACK = 0, 2, 3, 4


def _policy_argument(value: str | None) -> tuple[Policy | None, str]:
    """The policy named on the command line, the published one, or the sample's."""
    from pathlib import Path

    from policies.io import load_policy

    if value is not None and value.strip().lower() == "none":
        return None, "none (no program)"
    if value is not None:
        return load_policy(value), value
    from policies.publish import default_target, load_published

    target = default_target()
    if target.exists():  # a damaged live file is an error, not a reason to use another policy
        return load_published(target).policy, f"the published policy ({target})"
    root = Path(__file__).resolve().parents[1]
    path = root / "policies" / "examples" / "classic_four_tier.yaml"
    return load_policy(path), f"{path.name} (nothing published yet)"


def _read_table(path: str, label: str) -> pd.DataFrame:
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise CalibrationDataError(f"--{label}: file not found ({file})")
    try:
        return pd.read_csv(file, dtype={"member_id": str, "transaction_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CalibrationDataError(f"{file.name}: not a readable CSV file ({exc})") from exc


def run_cli(args) -> int:
    """``python -m simulations backtest``: see the module docstring for the JSON."""
    import sys
    from pathlib import Path

    from policies.errors import PolicyValidationError
    from policies.io import write_atomic
    from policies.publish import PublishedPolicyError
    from simulations.calibration.errors import ConvergenceError

    for name in ("months", "replications"):
        if getattr(args, name) < 1:
            print(f"--{name}(={getattr(args, name)}) must be at least 1", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        policy, policy_label = _policy_argument(args.policy)
    except (PolicyValidationError, PublishedPolicyError, OSError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    given = [args.transactions, args.ledger, args.members]
    try:
        if args.transactions:
            transactions = _read_table(args.transactions, "transactions")
            ledger = _read_table(args.ledger, "ledger") if args.ledger else None
            members = _read_table(args.members, "members") if args.members else None
        elif any(given):
            print("--ledger and --members need --transactions (or none of them, to use the"
                  " database)", file=sys.stderr)  # fmt: skip
            return EXIT_BAD_INPUT
        else:
            import store

            store.ensure_database()
            transactions, ledger, members = store.transactions(), store.ledger(), store.members()
        result = backtest(
            transactions, ledger, members, cutoff=args.cutoff, months=args.months,
            policy=policy, arrivals=args.arrivals, replications=args.replications,
            seed=args.seed, parameter_uncertainty=args.parameter_uncertainty,
        )  # fmt: skip
    except CalibrationDataError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ConvergenceError as exc:
        print(f"the purchase model (BG/NBD) did not converge: {exc}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    write_atomic(Path(args.out), result.to_json())
    print(f"wrote {args.out} (policy: {policy_label}; {result.inputs['months']} months from"
          f" {result.inputs['first_month']})", file=sys.stderr)  # fmt: skip
    fallbacks = result.calibration.get("fallbacks", [])
    for note in fallbacks:
        print(f"WARNING: {note}", file=sys.stderr)
    return EXIT_FELL_BACK if fallbacks else EXIT_OK
