"""Deferred revenue of loyalty points: IFRS 15 / CAS 14 (and ASC 606) contract liability.

Points granted with a sale are a separate performance obligation (IFRS 15 B39-B43; CAS 14,
企业会计准则第14号—收入, articles 9 and 20; ASC 606-10-55-41). The data model is one row
per period of a points roll-forward:

``period, sales, points_issued, points_redeemed, expected_redemption_rate``

where the rate is the estimate at the period's end of the share of all points issued so
far that will ever be redeemed (the ultimate redemption rate, 1 − breakage).

Per period (the portfolio approach of IFRS 15 IE267-IE270, Illustrative Example 52):

* stand-alone selling price of the points issued = points x value per point x rate;
* the sale is allocated between goods and points in proportion to their stand-alone
  selling prices (relative SSP, IFRS 15 73-80); the sales amount is the goods' own SSP;
* cumulative revenue on points = cumulative allocated x min(1, cumulative redeemed /
  (rate x cumulative issued)): expected breakage is recognised in proportion to the pattern
  of redemption (B46), and a revised rate gives a cumulative catch-up (IFRS 15 88-89);
* that period's revenue on points is split into ``revenue_redemption`` (the points
  redeemed at the allocation per point issued), ``revenue_breakage`` (the breakage that
  goes with them, plus any effect of a changing allocation per point) and
  ``revenue_catch_up`` (last period's cumulative restated under this period's rate, minus
  last period's cumulative);
* contract liability closing = opening + allocated − revenue on points, never negative.

The cost-of-fulfilment basis (``cost_to_fulfil``: the points still expected to be redeemed
x the company's cost per point) is a different measure: what the rewards will cost in cash,
not the revenue still deferred. Both are shown, labelled, wherever a liability is shown.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulations.results import Label

__all__ = [
    "ACCOUNTS",
    "COLUMN_LABELS",
    "PERIOD_COLUMNS",
    "SCHEDULE_COLUMNS",
    "PeriodsError",
    "check_periods",
    "deferral_schedule",
    "journal_entries",
    "opening_allocation",
    "periods_from_monthly",
    "read_periods",
]

PERIOD_COLUMNS = ("period", "sales", "points_issued", "points_redeemed", "expected_redemption_rate")
"""The columns a periods table must have."""

SCHEDULE_COLUMNS = (
    *PERIOD_COLUMNS,
    "ssp_points",
    "allocated_to_points",
    "revenue_goods",
    "revenue_redemption",
    "revenue_breakage",
    "revenue_catch_up",
    "revenue_points",
    "contract_liability_opening",
    "contract_liability_closing",
    "points_expected_outstanding",
)
"""Schedule columns (plus ``cost_to_fulfil`` when a cost per point is given)."""

COLUMN_LABELS = {
    "period": Label("Month", "月份"),
    "sales": Label("Sales", "销售额"),
    "points_issued": Label("Points issued", "发放积分"),
    "points_redeemed": Label("Points redeemed", "兑换积分"),
    "expected_redemption_rate": Label("Expected redemption rate", "预计兑换率"),
    "ssp_points": Label("Stand-alone selling price of points", "积分单独售价"),
    "allocated_to_points": Label("Allocated to points", "分摊至积分"),
    "revenue_goods": Label("Revenue on goods", "商品收入"),
    "revenue_redemption": Label("Revenue on redemption", "兑换确认收入"),
    "revenue_breakage": Label("Breakage recognised", "确认的沉淀收入"),
    "revenue_catch_up": Label("Catch-up (estimate change)", "估计变更追溯调整"),
    "revenue_points": Label("Revenue on points", "积分收入"),
    "contract_liability_opening": Label("Contract liability, opening", "合同负债期初"),
    "contract_liability_closing": Label("Contract liability, closing", "合同负债期末"),
    "points_expected_outstanding": Label("Points still expected to be redeemed",
                                         "预计仍将兑换的积分"),
    "cost_to_fulfil": Label("Cost to fulfil", "履约成本"),
}  # fmt: skip
"""Screen name of every schedule column (the Finance page's and the client report's)."""

ACCOUNTS = {
    "cash": "Cash / receivables",
    "revenue_goods": "Revenue - goods sold",
    "contract_liability": "Contract liability - loyalty points",
    "revenue_points": "Revenue - loyalty points redeemed",
    "revenue_breakage": "Revenue - loyalty points breakage",
    "revenue_estimate_change": "Revenue - change in redemption estimate",
}
"""Journal accounts: key -> English name (the app translates the keys)."""

_TOLERANCE = 1e-9


class PeriodsError(ValueError):
    """A periods table that cannot be scheduled; the message names the row and column."""


def _problem(row: int | None, column: str, value, valid: str) -> PeriodsError:
    where = f"row {row + 1}: " if row is not None else ""
    return PeriodsError(f"{where}{column}(={value!r}) {valid}")


def check_periods(periods: pd.DataFrame, opening_points: float = 0.0) -> pd.DataFrame:
    """Validate a periods table and return it with numeric columns (rows numbered from 1).

    Args:
        periods: one row per period with `PERIOD_COLUMNS` (extra columns are kept).
        opening_points: points outstanding before the first period.

    Raises:
        PeriodsError: a missing column, a non-numeric or negative amount, a rate outside
            (0, 1], more points redeemed than issued, or a rate below the share already
            redeemed (the message names the row, the column, the value and what is valid).
    """
    missing = [c for c in PERIOD_COLUMNS if c not in periods.columns]
    if missing:
        raise PeriodsError(
            f"missing column(s) {', '.join(missing)}; a periods table needs "
            f"{', '.join(PERIOD_COLUMNS)}"
        )
    if periods.empty:
        raise PeriodsError("the periods table has no rows; give at least one period")
    out = periods.reset_index(drop=True).copy()
    for column in PERIOD_COLUMNS[1:]:
        values = pd.to_numeric(out[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.astype(float))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise _problem(row, column, out[column].iloc[row], "is not a number")
        out[column] = values.astype(float)
    for column in ("sales", "points_issued", "points_redeemed"):
        negative = out[column] < 0
        if negative.any():
            row = int(np.flatnonzero(negative.to_numpy())[0])
            raise _problem(row, column, out[column].iloc[row], "must be 0 or more")
    rate = out["expected_redemption_rate"]
    outside = (rate <= 0) | (rate > 1)
    if outside.any():
        row = int(np.flatnonzero(outside.to_numpy())[0])
        raise _problem(
            row, "expected_redemption_rate", rate.iloc[row], "must be above 0 and at most 1"
        )
    issued = opening_points + out["points_issued"].cumsum()
    redeemed = out["points_redeemed"].cumsum()
    over = redeemed > issued + _TOLERANCE
    if over.any():
        row = int(np.flatnonzero(over.to_numpy())[0])
        raise _problem(
            row,
            "points_redeemed",
            out["points_redeemed"].iloc[row],
            f"brings the points redeemed so far to {redeemed.iloc[row]:,.0f}, more than the "
            f"{issued.iloc[row]:,.0f} issued so far",
        )
    low = rate * issued < redeemed - _TOLERANCE * np.maximum(1.0, issued)
    if low.any():
        row = int(np.flatnonzero(low.to_numpy())[0])
        raise _problem(
            row,
            "expected_redemption_rate",
            rate.iloc[row],
            f"is below the share already redeemed ({redeemed.iloc[row] / issued.iloc[row]:.4f} "
            "of the points issued so far); the estimate must be at least that",
        )
    return out


def _cumulative(
    allocated: np.ndarray, redeemed: np.ndarray, rate: np.ndarray, issued: np.ndarray
) -> np.ndarray:
    """Revenue on points recognised to date: allocated x share of expected redemptions made."""
    expected = rate * issued
    share = np.divide(redeemed, expected, out=np.zeros_like(expected), where=expected > 0)
    return allocated * np.minimum(1.0, share)


def deferral_schedule(
    periods: pd.DataFrame,
    point_value: float,
    cost_per_point: float | None = None,
    opening_points: float = 0.0,
    opening_liability: float = 0.0,
) -> pd.DataFrame:
    """The deferral schedule of a points roll-forward (module docstring for the method).

    Args:
        periods: one row per period with `PERIOD_COLUMNS`.
        point_value: what one point is worth to a member when redeemed (its selling price).
        cost_per_point: the company's cost of a redeemed point; adds ``cost_to_fulfil``.
        opening_points: points outstanding before the first period (e.g. a simulation's
            opening balances); they join the pool of issued points.
        opening_liability: the contract liability carried for them.

    Returns:
        The periods with `SCHEDULE_COLUMNS` (and ``cost_to_fulfil``), in currency except the
        point counts. ``revenue_points`` = redemption + breakage + catch-up.

    Raises:
        PeriodsError: see `check_periods`; also a point value that is not above 0.
    """
    if not (isinstance(point_value, int | float) and math.isfinite(point_value)) or (
        point_value <= 0
    ):
        raise _problem(None, "point_value", point_value, "must be a number above 0")
    if cost_per_point is not None and not (math.isfinite(cost_per_point) and cost_per_point >= 0):
        raise _problem(None, "cost_per_point", cost_per_point, "must be a number, 0 or more")
    if opening_points < 0 or opening_liability < 0:
        raise _problem(
            None, "opening_points/opening_liability", (opening_points, opening_liability),
            "must be 0 or more",
        )  # fmt: skip
    table = check_periods(periods, opening_points)
    sales = table["sales"].to_numpy()
    ssp_points = (
        table["points_issued"].to_numpy()
        * point_value
        * table["expected_redemption_rate"].to_numpy()
    )
    total = sales + ssp_points
    allocated = np.divide(sales * ssp_points, total, out=np.zeros_like(sales), where=total > 0)
    cum_allocated = opening_liability + np.cumsum(allocated)
    cum_issued = opening_points + table["points_issued"].cumsum().to_numpy()
    cum_redeemed = table["points_redeemed"].cumsum().to_numpy()
    rates = table["expected_redemption_rate"].to_numpy()

    cumulative = _cumulative(cum_allocated, cum_redeemed, rates, cum_issued)
    # Last period's pool restated at this period's rate: the difference is the catch-up.
    # The opening balance is revenue not yet recognised on the opening points.
    prev_allocated = np.r_[opening_liability, cum_allocated[:-1]]
    prev_redeemed = np.r_[0.0, cum_redeemed[:-1]]
    prev_issued = np.r_[opening_points, cum_issued[:-1]]
    restated = _cumulative(prev_allocated, prev_redeemed, rates, prev_issued)
    catch_up = restated - np.r_[0.0, cumulative[:-1]]
    per_point = np.divide(
        cum_allocated, cum_issued, out=np.zeros_like(cum_allocated), where=cum_issued > 0
    )
    redemption = table["points_redeemed"].to_numpy() * per_point
    breakage = cumulative - restated - redemption

    revenue_points = np.diff(cumulative, prepend=0.0)
    closing = cum_allocated - cumulative
    table["ssp_points"] = ssp_points
    table["allocated_to_points"] = allocated
    table["revenue_goods"] = sales - allocated
    table["revenue_redemption"] = redemption
    table["revenue_breakage"] = breakage
    table["revenue_catch_up"] = catch_up
    table["revenue_points"] = revenue_points
    table["contract_liability_closing"] = np.maximum(closing, 0.0)
    table["contract_liability_opening"] = np.concatenate(
        [[opening_liability], table["contract_liability_closing"].to_numpy()[:-1]]
    )
    table["points_expected_outstanding"] = np.maximum(rates * cum_issued - cum_redeemed, 0.0)
    columns = list(SCHEDULE_COLUMNS)
    if cost_per_point is not None:
        table["cost_to_fulfil"] = table["points_expected_outstanding"] * cost_per_point
        columns.append("cost_to_fulfil")
    extra = [c for c in table.columns if c not in columns]
    return table[[*columns, *extra]]


def _cents(value: float) -> float:
    return float(round(value + 0.0, 2))


def journal_entries(schedule: pd.DataFrame) -> pd.DataFrame:
    """Double-entry journal lines for each period of a deferral schedule.

    Entries per period (each balances to the cent): ``sale`` (Dr cash / Cr revenue - goods,
    Cr contract liability), ``redemption`` (Dr contract liability / Cr revenue - points),
    ``breakage`` and ``estimate_change`` (between the contract liability and revenue, the
    direction following the sign). Amounts are rounded to cents; zero entries are left out.

    Returns:
        ``period``, ``entry``, ``account`` (a key of `ACCOUNTS`), ``account_name``,
        ``debit``, ``credit``.
    """
    rows = []

    def post(period, entry, debit_account, credit_account, amount):
        amount = _cents(amount)
        if amount < 0:
            debit_account, credit_account, amount = credit_account, debit_account, -amount
        if amount == 0:
            return
        rows.append((period, entry, debit_account, amount, 0.0))
        rows.append((period, entry, credit_account, 0.0, amount))

    for row in schedule.itertuples(index=False):
        sales = _cents(row.sales)
        to_points = _cents(row.allocated_to_points)
        if sales:
            rows.append((row.period, "sale", "cash", sales, 0.0))
            if sales - to_points:
                rows.append((row.period, "sale", "revenue_goods", 0.0, _cents(sales - to_points)))
            if to_points:
                rows.append((row.period, "sale", "contract_liability", 0.0, to_points))
        post(row.period, "redemption", "contract_liability", "revenue_points",
             row.revenue_redemption)  # fmt: skip
        post(row.period, "breakage", "contract_liability", "revenue_breakage", row.revenue_breakage)
        post(row.period, "estimate_change", "contract_liability", "revenue_estimate_change",
             row.revenue_catch_up)  # fmt: skip
    journal = pd.DataFrame(rows, columns=["period", "entry", "account", "debit", "credit"])
    journal.insert(3, "account_name", journal["account"].map(ACCOUNTS))
    return journal


def read_periods(source) -> pd.DataFrame:
    """Read and validate a periods CSV (path or file-like).

    Raises:
        PeriodsError: unreadable CSV, or a table `check_periods` refuses.
    """
    try:
        frame = pd.read_csv(source, dtype={"period": str}, skipinitialspace=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PeriodsError(f"cannot read the periods CSV: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return check_periods(frame)


def periods_from_monthly(monthly: pd.DataFrame, urr: float) -> tuple[pd.DataFrame, float]:
    """A periods table from a simulation's monthly records (mean over replications).

    Sales are the net revenue; the rate is the simulation's ultimate redemption rate, raised
    where needed to the share already redeemed (an estimate cannot be below what happened).

    Args:
        monthly: the engine's monthly records (``replication``, ``month``, ``revenue_net``,
            ``points_opening``, ``points_issued``, ``points_redeemed``).
        urr: the simulated ultimate redemption rate (1 − breakage).

    Returns:
        The periods table and the points outstanding before the first month.
    """
    if not 0 < urr <= 1:
        raise _problem(None, "urr", urr, "must be above 0 and at most 1")
    means = monthly.groupby("month", sort=True)[
        ["revenue_net", "points_opening", "points_issued", "points_redeemed"]
    ].mean()
    opening = float(means["points_opening"].iloc[0])
    issued = opening + means["points_issued"].cumsum()
    redeemed = means["points_redeemed"].cumsum()
    rate = np.maximum(urr, (redeemed / issued.where(issued > 0)).fillna(0.0).to_numpy())
    periods = pd.DataFrame(
        {
            "period": means.index.astype(str),
            "sales": means["revenue_net"].to_numpy(),
            "points_issued": means["points_issued"].to_numpy(),
            "points_redeemed": means["points_redeemed"].to_numpy(),
            "expected_redemption_rate": np.minimum(rate, 1.0),
        }
    )
    return periods, opening


def opening_allocation(periods: pd.DataFrame, opening_points: float, point_value: float) -> float:
    """Contract liability assumed for opening points: their share at the first period's mix.

    Without the books' opening balance, the points outstanding at the start are valued as if
    granted with the first period's sales (relative SSP at that period's rate): opening
    points x value x rate x sales / (sales + SSP of the points issued with them).
    """
    first = periods.iloc[0]
    rate = float(first["expected_redemption_rate"])
    ssp = float(first["points_issued"]) * point_value * rate
    sales = float(first["sales"])
    share = sales / (sales + ssp) if sales + ssp > 0 else 1.0
    return opening_points * point_value * rate * share
