"""Breakage the actuarial way: redemptions by issue-month cohort, chain ladder to ultimate.

The data model: every point issued belongs to the cohort of the month it was issued in;
redemptions and expiries consume a member's points oldest first (the live ledger's FIFO by
age, `policies.ledger`), so each redeemed point is traced back to its cohort. The triangle
holds, per cohort and month of development (0 = the issue month), the cumulative points of
that cohort redeemed by the end of that month, as observed at a valuation date.

The ultimate redemption rate (URR = points ultimately redeemed / points issued; breakage =
1 − URR, the definition of DOMAIN.md) of each cohort is projected as in Gault, Llaguno &
Ménard, "Loyalty Rewards and Gift Card Programs: Basic Actuarial Estimation Techniques"
(Casualty Actuarial Society): volume-weighted age-to-age factors on cumulative redemptions
(chain ladder), and Bornhuetter-Ferguson (1972) for cohorts too immature for their own
redemptions to say much (less than half of the ultimate expected by their age), with the
mature cohorts' URR as the prior. Redemption windows (e.g. a December-only appreciation
month) make development depend on the calendar month of issue, so factors are estimated
among cohorts issued in the same calendar month (``seasonal=True``), falling back to all
cohorts where that month has no cohort developed that far. No development is assumed beyond
the oldest age observed (tail factor 1): points expire, so old cohorts are resolved.

The method needs history: with less than a year of cohorts behind a calendar month of issue
the pooled factors mix months whose redemption windows differ, and the estimate is rough
(`backtest` shows how rough on the data at hand).

The ultimate rate is the URR of `simulations.breakage` (there: redeemed / (redeemed +
expired) of the resolved points), which for a cohort whose points are all resolved is
ultimately redeemed / issued.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "ChainLadderResult",
    "RedemptionTriangle",
    "chain_ladder",
    "cohort_flows",
    "backtest",
    "redemption_triangle",
]

_ISSUE_KINDS = ("earn", "bonus")
_ORDER = {"earn": 0, "bonus": 0, "redeem": 1, "expire": 2}


def cohort_flows(ledger: pd.DataFrame, through=None) -> tuple[pd.Series, pd.DataFrame]:
    """Points issued by cohort, and redeemed / expired points traced to their cohort (FIFO).

    Args:
        ledger: entries with ``member_id``, ``date``, ``kind`` (earn, bonus, redeem, expire)
            and signed ``points``.
        through: valuation date; later entries are ignored.

    Returns:
        ``issued`` (points by cohort month) and a long frame ``cohort``, ``month``, ``kind``
        (redeem / expire), ``points`` (positive).
    """
    entries = ledger[["member_id", "date", "kind", "points"]]
    dates = pd.to_datetime(entries["date"])
    keep = entries["kind"].isin(list(_ORDER)).to_numpy() & (entries["points"] != 0).to_numpy()
    if through is not None:
        keep &= (dates <= pd.Timestamp(through)).to_numpy()
    entries, dates = entries[keep], dates[keep]
    # Months as integers (year * 12 + month - 1): fast to sort, group and subtract.
    month_all = (dates.dt.year * 12 + dates.dt.month - 1).to_numpy(np.int64)
    member_all = pd.factorize(entries["member_id"])[0]
    kind_all = entries["kind"].to_numpy()
    order = np.lexsort((entries["kind"].map(_ORDER).to_numpy(), dates.to_numpy(), member_all))
    members, month, kinds = member_all[order], month_all[order], kind_all[order]
    amount = entries["points"].abs().to_numpy(np.int64)[order]
    issue = np.isin(kinds, _ISSUE_KINDS)

    # One axis per member: its issued points laid end to end, oldest first. Consumption
    # (redeem, expire) takes the same axis from its start, so FIFO is interval overlap.
    # Members are placed one after another on a global axis.
    lot_amount = np.where(issue, amount, 0)
    use_amount = np.where(issue, 0, amount)
    issued_by_member = np.bincount(members, weights=lot_amount).astype(np.int64)
    offsets = np.cumsum(issued_by_member) - issued_by_member
    first = np.r_[True, members[1:] != members[:-1]]
    lot_end = offsets[members] + _grouped_cumsum(lot_amount, first)
    use_end = offsets[members] + _grouped_cumsum(use_amount, first)
    lots = np.flatnonzero(issue)
    uses = np.flatnonzero(~issue)
    lot_lo = lot_end[lots] - lot_amount[lots]
    use_hi, use_lo = use_end[uses], use_end[uses] - use_amount[uses]
    issued = pd.Series(lot_amount[lots]).groupby(month[lots]).sum()
    issued.index = _periods(issued.index.to_numpy())
    columns = ["cohort", "month", "kind", "points"]
    if len(uses) == 0:
        return issued, pd.DataFrame(columns=columns)
    points = np.unique(np.concatenate([lot_lo, lot_end[lots], use_lo, use_hi]))
    start, stop = points[:-1], points[1:]
    which_use = np.searchsorted(use_lo, start, side="right") - 1
    inside = (which_use >= 0) & (start < use_hi[np.maximum(which_use, 0)])
    start, stop, which_use = start[inside], stop[inside], which_use[inside]
    which_lot = np.searchsorted(lot_lo, start, side="right") - 1
    flows = pd.DataFrame(
        {
            "cohort": month[lots][which_lot],
            "month": month[uses][which_use],
            "kind": kinds[uses][which_use],
            "points": stop - start,
        }
    )
    flows = flows.groupby(["cohort", "month", "kind"], as_index=False)["points"].sum()
    flows["cohort"] = _periods(flows["cohort"].to_numpy())
    flows["month"] = _periods(flows["month"].to_numpy())
    return issued, flows[columns]


def _periods(codes: np.ndarray) -> pd.PeriodIndex:
    return pd.PeriodIndex.from_fields(year=codes // 12, month=codes % 12 + 1, freq="M")


def _grouped_cumsum(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting where ``first`` is True (groups are contiguous)."""
    total = np.cumsum(values)
    before = np.r_[0, total[:-1]]
    return total - np.maximum.accumulate(np.where(first, before, 0))


@dataclass(frozen=True)
class RedemptionTriangle:
    """Cumulative redeemed points by issue-month cohort (rows) and development month (cols).

    Attributes:
        issued: points issued per cohort (``Period`` index).
        cumulative: cumulative redeemed points; NaN where the age is after the valuation.
        valuation: the valuation month.
    """

    issued: pd.Series
    cumulative: pd.DataFrame
    valuation: pd.Period

    def rates(self) -> pd.DataFrame:
        """Cumulative redemption rates (redeemed / issued) in the same shape."""
        return self.cumulative.div(self.issued, axis=0)


def redemption_triangle(
    ledger: pd.DataFrame | None = None,
    through=None,
    *,
    flows: tuple[pd.Series, pd.DataFrame] | None = None,
) -> RedemptionTriangle:
    """The redemption development triangle as observed at ``through``.

    Args:
        ledger: the points ledger (see `cohort_flows`).
        through: valuation date (default: the last entry); a month not yet ended is shown
            as observed so far.
        flows: `cohort_flows` of the whole ledger, to value at several dates without tracing
            the ledger again (FIFO up to a date does not depend on what comes after it).
    """
    if flows is None:
        if ledger is None:
            raise ValueError("give the ledger or its cohort flows")
        flows = cohort_flows(ledger, through)
    issued, moves = flows
    if through is not None:
        valuation = pd.Timestamp(through).to_period("M")
    elif ledger is not None:
        valuation = pd.to_datetime(ledger["date"]).max().to_period("M")
    else:
        valuation = max(issued.index.max(), moves["month"].max())
    issued = issued[issued.index <= valuation]
    if issued.empty or issued.sum() <= 0:
        raise ValueError(f"no points issued by the valuation month {valuation}")
    cohorts = pd.period_range(issued.index.min(), valuation, freq="M")
    issued = issued.reindex(cohorts, fill_value=0)
    ages = np.arange(len(cohorts))
    redeemed = moves[(moves["kind"] == "redeem") & (moves["month"] <= valuation)]
    age = _codes(redeemed["month"]) - _codes(redeemed["cohort"])
    grid = (
        pd.DataFrame(
            {
                "cohort": redeemed["cohort"].to_numpy(),
                "age": age,
                "points": redeemed["points"].to_numpy(),
            }
        )  # fmt: skip
        .pivot_table(index="cohort", columns="age", values="points", aggfunc="sum")
        .reindex(index=cohorts, columns=ages)
        .fillna(0.0)
        .cumsum(axis=1)
    )
    observed_age = valuation.ordinal - np.array([c.ordinal for c in cohorts])
    grid = grid.where(ages[None, :] <= observed_age[:, None])
    grid.index.name, grid.columns.name = "cohort", "age"
    return RedemptionTriangle(issued=issued.astype(float), cumulative=grid, valuation=valuation)


def _codes(periods: pd.Series) -> np.ndarray:
    return np.array([p.ordinal for p in periods], dtype=np.int64)


@dataclass(frozen=True)
class ChainLadderResult:
    """Projected ultimate redemptions per cohort.

    Attributes:
        cohorts: ``cohort``, ``issued``, ``redeemed_to_date``, ``age``, ``developed``
            (expected share of the ultimate redeemed by that age), ``method`` (``chain
            ladder`` or ``bornhuetter-ferguson``), ``ultimate``, ``urr``.
        factors: age-to-age factors (``age``, ``pooled`` and one column per calendar month
            of issue when seasonal).
    """

    cohorts: pd.DataFrame
    factors: pd.DataFrame

    def urr(self, first=None, last=None) -> float:
        """Ultimate redemption rate of the cohorts from ``first`` to ``last`` (YYYY-MM)."""
        table = self.cohorts
        if first is not None:
            table = table[table["cohort"] >= pd.Period(first, "M")]
        if last is not None:
            table = table[table["cohort"] <= pd.Period(last, "M")]
        issued = table["issued"].sum()
        return float(table["ultimate"].sum() / issued) if issued > 0 else float("nan")

    @property
    def breakage(self) -> float:
        """1 − URR over all cohorts."""
        return 1.0 - self.urr()


def _age_to_age(cumulative: pd.DataFrame) -> np.ndarray:
    """Volume-weighted factors f[a] = sum C[a+1] / sum C[a] over cohorts observed at a+1."""
    values = cumulative.to_numpy()
    n_ages = values.shape[1]
    factors = np.full(max(n_ages - 1, 0), np.nan)
    for a in range(n_ages - 1):
        both = ~np.isnan(values[:, a + 1])
        base = values[both, a].sum()
        if both.any() and base > 0:
            factors[a] = values[both, a + 1].sum() / base
    return factors


def _developed(factors: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Share of the ultimate developed by each age: 1 / product of the later factors.

    An age whose factor is unknown because nothing had been redeemed by then counts as 0
    developed; an age past the last estimable factor as fully developed (tail 1).
    """
    n = len(factors) + 1
    out = np.ones(n)
    product = 1.0
    for a in range(n - 2, -1, -1):
        if np.isnan(factors[a]):
            out[a] = 0.0 if known[a] else 1.0 / product
            continue
        product *= factors[a]
        out[a] = 1.0 / product
    return out


def _urr_of(ultimate: np.ndarray, issued: np.ndarray, rows: np.ndarray) -> float:
    total = issued[rows].sum()
    return float(ultimate[rows].sum() / total) if total > 0 else float("nan")


def chain_ladder(
    triangle: RedemptionTriangle, seasonal: bool = True, credible: float = 0.5
) -> ChainLadderResult:
    """Project each cohort's ultimate redemptions (method in the module docstring).

    Args:
        triangle: the redemption triangle.
        seasonal: estimate development per calendar month of issue.
        credible: a cohort whose age is expected to have developed at least this share of
            its ultimate is projected by chain ladder, younger ones by Bornhuetter-Ferguson.
    """
    cumulative = triangle.cumulative
    ages = np.arange(cumulative.shape[1])
    pooled = _age_to_age(cumulative)
    # "known" ages: some cohort reached a+1 (so a NaN factor means nothing redeemed yet).
    reached = ~np.isnan(cumulative.to_numpy()).all(axis=0)
    factors = {"pooled": pooled}
    cohorts = cumulative.index
    calendar = np.array([c.month for c in cohorts])
    if seasonal:
        for m in range(1, 13):
            rows = calendar == m
            if not rows.any():
                continue
            own = _age_to_age(cumulative[rows])
            seen = ~np.isnan(cumulative[rows].to_numpy()).all(axis=0)
            # Where this calendar month has no cohort observed at a+1, use the pooled factor.
            factors[m] = np.where(seen[1:], own, pooled)
    developed = {key: _developed(f, reached[1:]) for key, f in factors.items()}
    observed_age = np.array([(triangle.valuation - c).n for c in cohorts])
    to_date = np.array(
        [cumulative.iloc[i, observed_age[i]] for i in range(len(cohorts))], dtype=float
    )
    issued = triangle.issued.to_numpy()
    share = np.array(
        [
            developed[calendar[i] if seasonal else "pooled"][observed_age[i]]
            for i in range(len(cohorts))
        ]
    )
    mature = (share >= credible) & (to_date > 0)
    chain = np.where(mature, to_date / np.where(share > 0, share, 1.0), np.nan)
    # The Bornhuetter-Ferguson prior: the URR of the mature cohorts issued in the same
    # calendar month (seasonal), else of all mature cohorts.
    prior = np.full(len(cohorts), _urr_of(chain, issued, mature))
    if seasonal:
        for m in range(1, 13):
            rows = calendar == m
            own = _urr_of(chain, issued, mature & rows)
            if np.isfinite(own):
                prior[rows] = own
    prior = np.where(np.isfinite(prior), prior, 1.0)
    bf = to_date + (1.0 - share) * prior * issued
    ultimate = np.where(mature, chain, bf)
    ultimate = np.clip(ultimate, to_date, issued)
    table = pd.DataFrame(
        {
            "cohort": cohorts,
            "issued": issued,
            "redeemed_to_date": to_date,
            "age": observed_age,
            "developed": share,
            "method": np.where(mature, "chain ladder", "bornhuetter-ferguson"),
            "ultimate": ultimate,
        }
    )
    table["urr"] = table["ultimate"] / table["issued"].where(table["issued"] > 0)
    frame = pd.DataFrame({"age": ages[:-1]})
    for key, f in factors.items():
        frame[str(key)] = f
    return ChainLadderResult(cohorts=table, factors=frame)


def backtest(
    ledger: pd.DataFrame,
    valuations,
    window: int = 12,
    seasonal: bool = True,
    flows: tuple[pd.Series, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Chain-ladder URR estimated at past dates against what those points then did.

    At each valuation date the triangle observed then projects the URR of the cohorts issued
    in the ``window`` months up to it; the actual is what the whole ledger shows for those
    cohorts (`simulations.breakage`'s definition on their resolved points, which is
    redeemed / issued once they are all resolved).

    Returns:
        ``valuation``, ``first_cohort``, ``last_cohort``, ``estimate``, ``actual``,
        ``error`` (estimate − actual), ``resolved`` (share of those points redeemed or
        expired by the end of the ledger; below 1 the actual is still moving).
    """
    from simulations.breakage import redemption_rate

    flows = cohort_flows(ledger) if flows is None else flows
    issued, moves = flows
    rows = []
    for valuation in valuations:
        end = pd.Timestamp(valuation).to_period("M")
        first = end - (window - 1)
        estimate = chain_ladder(
            redemption_triangle(ledger, valuation, flows=flows), seasonal=seasonal
        ).urr(str(first), str(end))
        chosen = moves[(moves["cohort"] >= first) & (moves["cohort"] <= end)]
        redeemed = chosen.loc[chosen["kind"] == "redeem", "points"].sum()
        expired = chosen.loc[chosen["kind"] == "expire", "points"].sum()
        total = issued[(issued.index >= first) & (issued.index <= end)].sum()
        actual = redemption_rate(redeemed, expired)
        rows.append(
            {
                "valuation": str(pd.Timestamp(valuation).date()),
                "first_cohort": str(first),
                "last_cohort": str(end),
                "estimate": estimate,
                "actual": actual,
                "error": estimate - actual,
                "resolved": (redeemed + expired) / total if total > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)
