"""Finance tables read from a simulation: the points roll-forward and liability sensitivity.

The liability of outstanding points is measured as IFRS 15 asks for customer loyalty
points (IFRS 15 B39–B43, IE267–IE270): the points expected to be redeemed, i.e.
outstanding points x (1 − breakage), valued here at the company's cost per point.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from simulations.results import Label, across_replications

__all__ = [
    "MEASURES",
    "MOVEMENTS",
    "MOVEMENT_LABELS",
    "excel_report",
    "gross_profit",
    "profit_effect",
    "profit_kpis",
    "liability_sensitivity",
    "roll_forward_table",
    "schedule_sensitivity",
    "simulated_urr_at",
    "fulfil_sensitivity",
]

MOVEMENTS = ("opening", "issued", "redeemed", "expired", "closing")

MOVEMENT_LABELS = {
    "opening": Label("Opening", "期初"),
    "issued": Label("Issued", "发放"),
    "redeemed": Label("Redeemed", "兑换"),
    "expired": Label("Expired", "过期"),
    "closing": Label("Closing", "期末"),
}
"""Screen names of the roll-forward's movements (the Finance page's and the client report's)."""

MEASURES = ("contract_liability", "cost_to_fulfil")
"""The two bases of the points liability (see `simulations.deferral`): the contract liability
(deferred revenue at selling price, IFRS 15 / CAS 14 / ASC 606) and the cost of fulfilling the
points still expected to be redeemed."""


def roll_forward_table(monthly: pd.DataFrame, cost_per_point: float) -> pd.DataFrame:
    """The monthly points roll-forward across replications, in points and currency.

    Each month's figure across replications is the one `simulations.results.METRICS`
    declares for points and currency: the mean (not the median), which keeps the identity
    opening + issued − redeemed − expired = closing that every replication satisfies.

    Args:
        monthly: the engine's monthly records (one row per replication and month).
        cost_per_point: currency value of one point for the currency columns.

    Returns:
        One row per month: ``month``, the five movements in points, the same in currency
        (``*_value``) and ``liability`` (the engine's liability, mean over replications).
    """
    columns = {f"points_{name}": name for name in MOVEMENTS}
    table = across_replications(monthly, [*columns, "liability"]).rename(columns=columns)
    for name in MOVEMENTS:
        table[f"{name}_value"] = table[name] * cost_per_point
    return table


def liability_sensitivity(
    outstanding_points: float,
    cost_per_point: float,
    breakage: float,
    cost_steps: tuple[float, ...] = (0.6, 0.8, 1.0, 1.2, 1.4),
    breakage_steps: tuple[float, ...] = (-0.2, -0.1, 0.0, 0.1, 0.2),
) -> pd.DataFrame:
    """Liability = outstanding points x cost per point x (1 − breakage) over a grid.

    Args:
        outstanding_points: points outstanding at the measurement date.
        cost_per_point: the policy's cost per redeemed point.
        breakage: the estimated share of points never redeemed (0..1).
        cost_steps: multipliers applied to ``cost_per_point``.
        breakage_steps: amounts added to ``breakage`` (kept within 0..1; steps that clip to
            the same value are shown once).

    Returns:
        Long format: ``cost_per_point``, ``breakage``, ``liability`` (one row per pair).
    """
    rows = []
    levels = dict.fromkeys(float(np.clip(breakage + step, 0.0, 1.0)) for step in breakage_steps)
    for b in levels:
        for c_step in cost_steps:
            cpp = cost_per_point * c_step
            rows.append(
                {
                    "cost_per_point": cpp,
                    "breakage": b,
                    "liability": outstanding_points * cpp * (1.0 - b),
                }
            )
    return pd.DataFrame(rows)


def schedule_sensitivity(
    periods: pd.DataFrame,
    point_value: float,
    cost_per_point: float,
    breakage_points: float = 0.05,
    value_share: float = 0.20,
    opening_points: float = 0.0,
    opening_liability: float = 0.0,
) -> pd.DataFrame:
    """Both liability bases at the end of a deferral schedule, one input moved at a time.

    Breakage moves by ``breakage_points`` both ways (the expected redemption rate of every
    period by the opposite amount, kept between the share already redeemed and 1); the value
    and the cost of a point by ``value_share`` of themselves. The contract liability depends
    on breakage and value; the cost to fulfil on breakage and cost.

    Returns:
        One row per driver and case: ``driver`` (``base``, ``breakage``, ``point_value``,
        ``cost_per_point``), ``case`` (``base``, ``low``, ``high``: the input's direction),
        ``input`` (the moved input; breakage as the final period's), ``contract_liability``,
        ``cost_to_fulfil`` and their changes from the base (``*_change``).
    """
    from simulations.deferral import check_periods, deferral_schedule

    table = check_periods(periods, opening_points)
    issued = opening_points + table["points_issued"].cumsum()
    floor = (table["points_redeemed"].cumsum() / issued.where(issued > 0)).fillna(0.0)
    rate = table["expected_redemption_rate"]

    def closing(rates, value, cost) -> tuple[float, float]:
        schedule = deferral_schedule(
            table.assign(expected_redemption_rate=rates),
            point_value=value,
            cost_per_point=cost,
            opening_points=opening_points,
            opening_liability=opening_liability,
        )
        last = schedule.iloc[-1]
        return float(last["contract_liability_closing"]), float(last["cost_to_fulfil"])

    cases = [("base", "base", 1.0 - float(rate.iloc[-1]), rate, point_value, cost_per_point)]
    for case, sign in (("low", -1.0), ("high", 1.0)):
        moved = np.clip(rate - sign * breakage_points, np.maximum(floor, 1e-9), 1.0)
        cases.append(
            ("breakage", case, 1.0 - float(moved.iloc[-1]), moved, point_value, cost_per_point)
        )
        value = point_value * (1.0 + sign * value_share)
        cases.append(("point_value", case, value, rate, value, cost_per_point))
        cost = cost_per_point * (1.0 + sign * value_share)
        cases.append(("cost_per_point", case, cost, rate, point_value, cost))
    rows = []
    for driver, case, shown, rates, value, cost in cases:
        contract, fulfil = closing(rates, value, cost)
        rows.append(
            {
                "driver": driver,
                "case": case,
                "input": shown,
                "contract_liability": contract,
                "cost_to_fulfil": fulfil,
            }
        )
    out = pd.DataFrame(rows)
    for measure in MEASURES:
        out[f"{measure}_change"] = out[measure] - out.loc[0, measure]
    return out


def fulfil_sensitivity(
    monthly: pd.DataFrame,
    urr_by_replication,
    cost_per_point: float,
    breakage_points: float = 0.05,
    cost_share: float = 0.20,
) -> dict[tuple[str, str], float]:
    """The cost to fulfil at the end of a forecast, as the engine measures it, under moves.

    Per replication: closing points x URR x cost per point (the engine's liability), P50 across
    replications, so the base equals the forecast's ``liability_closing`` KPI. Breakage moves
    by ``breakage_points`` (the URR the other way, kept in 0..1), the cost by ``cost_share``;
    the value of a point does not change it.

    Returns:
        (driver, case) -> P50, for ``("base", "base")``, ``breakage``, ``point_value`` and
        ``cost_per_point`` with cases ``low`` / ``high`` (the input's direction).
    """
    closing = (
        monthly.sort_values("month").groupby("replication", sort=True)["points_closing"].last()
    )
    urr = np.asarray(urr_by_replication, dtype=float)[: len(closing)]

    def p50(urr_values, cost) -> float:
        return float(np.median(closing.to_numpy() * np.clip(urr_values, 0.0, 1.0) * cost))

    out = {("base", "base"): p50(urr, cost_per_point)}
    for case, sign in (("low", -1.0), ("high", 1.0)):
        out[("breakage", case)] = p50(urr - sign * breakage_points, cost_per_point)
        out[("point_value", case)] = out[("base", "base")]
        out[("cost_per_point", case)] = p50(urr, cost_per_point * (1.0 + sign * cost_share))
    return out


def simulated_urr_at(
    policy,
    snapshot: pd.DataFrame,
    valuation,
    behavior=None,
    months: int = 12,
    replications: int = 4,
    seed: int = 42,
    ledger: pd.DataFrame | None = None,
) -> dict:
    """The engine's ultimate redemption rate as it would have been estimated at a past date.

    The members as they were the day after ``valuation`` (a member snapshot as of that day,
    `store.member_snapshot`) are simulated for ``months`` under ``policy``; the URR is the
    engine's (`simulations.breakage`: redeemed / (redeemed + expired) over the horizon).
    With the points ``ledger`` (bookings after ``valuation`` are left out) each member's
    points are held by the month they were earned, as they were on that day.

    Returns:
        ``urr`` (P50), ``p10`` and ``p90`` across replications, and ``start``.
    """
    import datetime as dt

    from simulations.build import build_model

    start = pd.Timestamp(valuation).date() + dt.timedelta(days=1)
    result = build_model(
        policy,
        population=snapshot,
        start=start,
        behavior=behavior,
        months=months,
        replications=replications,
        seed=seed,
        ledger=ledger,
    ).run()
    band = result.kpis["breakage"]
    return {
        "urr": result.urr,
        "p10": 1.0 - band["p90"],
        "p90": 1.0 - band["p10"],
        "start": start.isoformat(),
    }


def gross_profit(monthly: pd.DataFrame, gross_margin_pct: float) -> pd.Series:
    """Gross profit after the program's cost, per replication, over the horizon.

    Gross profit = net revenue x gross margin − program cost (rewards at cost per point, tier
    gifts, campaigns, contacts): what the business keeps, where revenue flatters every
    generous policy.

    Returns:
        One value per replication (index: replication).
    """
    if not 0 <= gross_margin_pct <= 100:
        raise ValueError(f"gross_margin_pct(={gross_margin_pct}) must be between 0 and 100")
    totals = monthly.groupby("replication", sort=True)[["revenue_net", "program_cost"]].sum()
    return totals["revenue_net"] * gross_margin_pct / 100.0 - totals["program_cost"]


def band(values: pd.Series) -> dict:
    """P10/P50/P90 of the finite ``values`` (NaN when there are none)."""
    finite = values.replace([np.inf, -np.inf], np.nan).dropna().to_numpy(dtype=float)
    if finite.size == 0:
        return {"p10": float("nan"), "p50": float("nan"), "p90": float("nan")}
    q = np.quantile(finite, [0.1, 0.5, 0.9])
    return {"p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}


def _effect_by_replication(
    scenario: pd.DataFrame,
    baseline: pd.DataFrame,
    gross_margin_pct: float,
    baseline_margin_pct: float | None,
) -> pd.DataFrame:
    """`profit_effect`'s measures for each replication both runs have (index: replication)."""
    base_margin = gross_margin_pct if baseline_margin_pct is None else baseline_margin_pct
    columns = ["revenue_net", "program_cost"]
    a = scenario.groupby("replication", sort=True)[columns].sum()
    b = baseline.groupby("replication", sort=True)[columns].sum()
    common = a.index.intersection(b.index)
    a, b = a.loc[common], b.loc[common]
    cost = a["program_cost"] - b["program_cost"]
    profit = (
        gross_profit(scenario, gross_margin_pct).loc[common]
        - gross_profit(baseline, base_margin).loc[common]
    )
    return pd.DataFrame(
        {
            "incremental_revenue": a["revenue_net"] - b["revenue_net"],
            "incremental_cost": cost,
            "incremental_gross_profit": profit,
            "roi_profit": profit / cost.where(cost > 1e-9),
        }
    )


def profit_effect(
    scenario: pd.DataFrame,
    baseline: pd.DataFrame,
    gross_margin_pct: float,
    baseline_margin_pct: float | None = None,
) -> dict[str, dict]:
    """A scenario's effect on profit against a baseline, next to its effect on revenue.

    Replications are paired by number (runs with the same seed share their random numbers,
    so the difference is the policy's effect, not noise); with different numbers of
    replications the overlap is used.

    Args:
        scenario: the scenario's monthly records.
        baseline: the baseline's monthly records.
        gross_margin_pct: the scenario's gross margin on net sales, %.
        baseline_margin_pct: the baseline's (default: the scenario's).

    Returns:
        P10/P50/P90 of ``incremental_revenue``, ``incremental_cost`` (program cost),
        ``incremental_gross_profit`` and ``roi_profit`` (incremental gross profit /
        incremental cost; NaN where the cost does not rise).
    """
    effect = _effect_by_replication(scenario, baseline, gross_margin_pct, baseline_margin_pct)
    return {name: band(effect[name]) for name in effect.columns}


def profit_by_replication(
    monthly: pd.DataFrame,
    gross_margin_pct: float,
    baseline: pd.DataFrame | None = None,
    baseline_margin_pct: float | None = None,
) -> pd.DataFrame:
    """Each replication's `simulations.results.PROFIT_KPIS`, one row per replication.

    With a baseline, the incremental revenue and cost they rest on come too.

    Args:
        monthly: the run's monthly records (`SimulationResult.monthly`).
        gross_margin_pct: the run's gross margin on net sales, %.
        baseline: the baseline's monthly records; by default the same-seed baseline the run
            carries (its ``baseline_*`` columns), if it has one.
        baseline_margin_pct: the baseline's gross margin (default: the run's).

    Returns:
        ``gross_profit``; with a baseline also the columns of `profit_effect` (NaN for a
        replication the baseline does not have).
    """
    table = gross_profit(monthly, gross_margin_pct).rename("gross_profit").to_frame()
    if baseline is None and "baseline_revenue_net" in monthly:
        baseline = monthly[["replication", "month"]].assign(
            revenue_net=monthly["baseline_revenue_net"],
            program_cost=monthly["baseline_program_cost"],
        )
    if baseline is not None:
        effect = _effect_by_replication(monthly, baseline, gross_margin_pct, baseline_margin_pct)
        table = table.join(effect)
    return table


def profit_kpis(
    monthly: pd.DataFrame,
    gross_margin_pct: float,
    baseline: pd.DataFrame | None = None,
    baseline_margin_pct: float | None = None,
) -> dict[str, dict]:
    """The `simulations.results.PROFIT_KPIS` of a run, P10/P50/P90 across replications.

    Args and the baseline as `profit_by_replication`.

    Returns:
        ``gross_profit``; with a baseline also what `profit_effect` gives
        (``incremental_gross_profit``, ``roi_profit``, ``incremental_revenue``,
        ``incremental_cost``).
    """
    table = profit_by_replication(monthly, gross_margin_pct, baseline, baseline_margin_pct)
    return {name: band(table[name]) for name in table.columns}


def excel_report(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per frame (sheet names cut to Excel's 31 chars)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)
    return buffer.getvalue()
