"""Monthly redemption propensity from a points ledger (logistic regression).

The simulator's redemption model (`simulations.behavior.RedemptionParams`): in a month in
which redemption is open, a member holding points redeems with probability

    logistic(intercept + balance_coef * log1p(balance / balance_scale) + tier_coef[tier])

and then redeems a share ``redeem_share`` of the balance. Here the member-month panel is
built from the ledger (``member_id, date, kind, points`` with redeem/expire negative): the
balance is the member's points at the start of the month, the outcome is whether the member
has at least one ``redeem`` entry in the month. Members holding less than the minimum
redemption cannot redeem and stay out of the fit. Only *open* months enter the fit; a month is
taken as open when anybody redeemed in it (programs that redeem only in an appreciation
month would otherwise look like members who never want to redeem). The logit is fitted by
maximum likelihood (statsmodels ``Logit``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulations.calibration.data import parse_dates
from simulations.calibration.errors import CalibrationDataError, ConvergenceError

__all__ = ["LEDGER_COLUMNS", "LEDGER_KINDS", "RedemptionFit", "check_ledger", "fit_redemption"]

LEDGER_COLUMNS = ("member_id", "date", "kind", "points")
LEDGER_KINDS = ("earn", "bonus", "redeem", "expire")


@dataclass(frozen=True)
class RedemptionFit:
    """Estimated redemption propensity.

    Attributes:
        intercept, balance_coef: logit coefficients (balance as ``log1p(balance/scale)``).
        balance_scale: the scale used (points).
        tier_coefs: logit shift per tier, entry tier first (0.0), or () without tiers. With
            numeric tier codes, one entry per code from 0 to the highest seen (a code nobody
            held gets the coefficient of the code below).
        tiers: tier names (or codes as text) in the order of ``tier_coefs``.
        redeem_share: mean share of the opening balance redeemed in a redemption month.
        table: coefficients with standard errors, 95% intervals and p-values.
        n_member_months: member-months in the fit; ``open_months``: months taken as open.
        minimum_points: balance needed to be in the fit (the minimum redemption).
        notes: tiers that share the coefficient of the tier below (not separable).
        cov: covariance of the logit coefficients (rows and columns named as in ``table``).
        tier_terms: the logit term behind each entry of ``tier_coefs`` (None = the
            reference tier), so a draw of the coefficients maps onto the tiers.
    """

    intercept: float
    balance_coef: float
    balance_scale: float
    tier_coefs: tuple[float, ...]
    tiers: tuple[str, ...]
    redeem_share: float
    table: pd.DataFrame = field(repr=False)
    n_member_months: int
    open_months: tuple[str, ...]
    notes: tuple[str, ...] = ()
    minimum_points: int = 0
    cov: pd.DataFrame | None = field(default=None, repr=False)
    tier_terms: tuple[str | None, ...] = ()

    def draw(self, rng: np.random.Generator) -> dict:
        """Intercept, balance and tier coefficients drawn from their sampling distribution.

        The logit's asymptotic normal distribution (the inverse information at the maximum),
        as `simulations.backtest` uses to carry estimation uncertainty into a forecast.
        """
        if self.cov is None:
            raise ValueError("this redemption fit has no covariance to draw from")
        estimate = self.table.set_index("parameter")["estimate"].reindex(self.cov.index)
        drawn = pd.Series(
            rng.multivariate_normal(estimate.to_numpy(), self.cov.to_numpy()), index=self.cov.index
        )
        out = {"intercept": float(drawn["const"]), "balance_coef": float(drawn["log_balance"])}
        if self.tier_coefs:
            out["tier_coefs"] = tuple(
                0.0 if term is None else float(drawn[term]) for term in self.tier_terms
            )
        return out


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def check_ledger(frame: pd.DataFrame, source: str = "ledger") -> pd.DataFrame:
    """Validate a points ledger; return a copy with parsed dates and integer points.

    Raises:
        CalibrationDataError: a missing column, an unknown kind, a non-integer number of
            points, or a sign that contradicts the kind (earn/bonus positive, redeem/expire
            negative).
    """
    missing = [c for c in LEDGER_COLUMNS if c not in frame.columns]
    if missing:
        raise CalibrationDataError(
            f"{source}: missing column(s) {', '.join(missing)}; a ledger needs"
            f" {', '.join(LEDGER_COLUMNS)}"
        )
    out = frame.copy()
    out["member_id"] = out["member_id"].astype(str).str.strip()
    out["date"] = parse_dates(out, "date", source)
    kind = out["kind"].astype(str).str.strip().str.lower()
    bad = ~kind.isin(LEDGER_KINDS).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise CalibrationDataError(
            f"{source}: row {row + 2}: kind(={_plain(out['kind'].iloc[row])!r}) is not"
            f" valid; use one of {', '.join(LEDGER_KINDS)}"
        )
    out["kind"] = kind
    points = pd.to_numeric(out["points"], errors="coerce")
    positive = kind.isin(("earn", "bonus")).to_numpy()
    bad = (points.isna() | (points != points.round())).to_numpy()
    bad = bad | np.where(positive, points < 0, points > 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise CalibrationDataError(
            f"{source}: row {row + 2}: points(={_plain(out['points'].iloc[row])!r}) is not"
            f" valid for kind {kind.iloc[row]}; points are whole numbers, earn/bonus >= 0 and"
            " redeem/expire <= 0"
        )
    out["points"] = points.astype(np.int64)
    return out


def _tier_of(panel: pd.DataFrame, tiers) -> tuple[pd.Series, bool]:
    """Tier of each panel row (as text) and whether the tiers are numeric codes."""
    if isinstance(tiers, pd.DataFrame):
        missing = [c for c in ("member_id", "month", "tier") if c not in tiers]
        if missing:
            raise CalibrationDataError(
                f"tiers: missing column(s) {', '.join(missing)}; a tier table needs"
                " member_id, month (YYYY-MM) and tier"
            )
        keyed = tiers.assign(
            member_id=tiers["member_id"].astype(str),
            month=tiers["month"].astype(str).str[:7],
        ).drop_duplicates(["member_id", "month"], keep="last")
        values = keyed["tier"]
        lookup = pd.Series(
            values.astype(str).to_numpy(),
            index=pd.MultiIndex.from_frame(keyed[["member_id", "month"]]),
        )
        key = pd.MultiIndex.from_frame(panel[["member_id", "month"]])
        tier_of = pd.Series(lookup.reindex(key).to_numpy(), index=panel.index)
    else:
        values = tiers
        tier_of = panel["member_id"].map(tiers.astype(str))
    numeric = pd.api.types.is_numeric_dtype(values)
    return tier_of, numeric


def fit_redemption(
    ledger: pd.DataFrame,
    tiers: pd.Series | pd.DataFrame | None = None,
    balance_scale: float = 1000.0,
    calibration_end: pd.Timestamp | None = None,
    minimum_points: int | None = None,
) -> RedemptionFit:
    """Fit the monthly redemption logit (see the module docstring).

    Args:
        ledger: checked ledger (`check_ledger`).
        tiers: optional tiers: a Series of the tier per member (index ``member_id``), or a
            DataFrame ``member_id, month, tier`` with the tier held in each month. Numeric
            tier codes are ordered by code; names by their members' mean balance. The lowest
            is the reference (coefficient 0).
        balance_scale: points scale of the balance term.
        calibration_end: ignore entries after this day.
        minimum_points: the program's minimum redemption; members holding fewer points
            cannot redeem and are left out. Default: the smallest redemption in the ledger
            (nobody redeems less than the minimum).

    Raises:
        CalibrationDataError: no redemption in the ledger, or too few member-months.
        ConvergenceError: the logit did not converge (e.g. perfect separation).
    """
    if calibration_end is not None:
        ledger = ledger[ledger["date"] <= calibration_end]
    # The month column is set on the whole ledger before filtering: assigning a Series to
    # an empty selection would adopt the Series' index.
    ledger = ledger.assign(month=ledger["date"].dt.to_period("M"))
    months = pd.period_range(ledger["month"].min(), ledger["month"].max(), freq="M")
    net = (
        ledger.pivot_table(index="member_id", columns="month", values="points", aggfunc="sum")
        .reindex(columns=months, fill_value=0)
        .fillna(0)
    )
    redeems = ledger[ledger["kind"] == "redeem"]
    if redeems.empty:
        raise CalibrationDataError(
            "ledger: no redeem entries; the redemption propensity cannot be estimated"
        )
    redeemed = (
        redeems.pivot_table(index="member_id", columns="month", values="points", aggfunc="sum")
        .reindex(index=net.index, columns=months, fill_value=0)
        .fillna(0)
    )
    closing = net.to_numpy().cumsum(axis=1)
    opening = closing - net.to_numpy()
    amount = -redeemed.to_numpy()
    open_mask = np.asarray(amount.sum(axis=0) > 0)
    if minimum_points is None:
        minimum_points = int(amount[amount > 0].min())
    eligible = (opening >= max(minimum_points, 1)) & open_mask[None, :]
    rows, cols = np.nonzero(eligible)
    if len(rows) < 50:
        raise CalibrationDataError(
            f"ledger: only {len(rows)} member-months with points in redemption months;"
            " at least 50 are needed"
        )
    panel = pd.DataFrame(
        {
            "member_id": net.index.to_numpy()[rows],
            "month": months.strftime("%Y-%m")[cols],
            "balance": opening[rows, cols],
            "redeemed": (amount[rows, cols] > 0).astype(float),
            "share": np.minimum(amount[rows, cols] / opening[rows, cols], 1.0),
        }
    )
    design = pd.DataFrame({"const": 1.0, "log_balance": np.log1p(panel["balance"] / balance_scale)})
    tier_names: tuple[str, ...] = ()
    numeric = False
    notes: list[str] = []
    if tiers is not None:
        tier_of, numeric = _tier_of(panel, tiers)
        if numeric:
            tier_names = tuple(sorted(tier_of.dropna().unique(), key=float))
        else:
            order = (
                panel.assign(tier=tier_of).dropna(subset=["tier"]).groupby("tier")["balance"].mean()
            )
            tier_names = tuple(order.sort_values().index)
        all_names = tier_names
        tier_of, tier_names, merged = _merge_separated_tiers(tier_of, panel["redeemed"],
                                                             tier_names)  # fmt: skip
        notes.extend(merged)
        for name in tier_names[1:]:
            design[f"tier:{name}"] = (tier_of == name).astype(float).to_numpy()
    # statsmodels only here: the Overview and Finance pages read the ledger through
    # `check_ledger` and should not load it.
    import statsmodels.api as sm

    try:
        fitted = sm.Logit(panel["redeemed"].to_numpy(), design).fit(disp=0, maxiter=200)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError("redemption logit", str(exc)) from exc
    if not fitted.mle_retvals.get("converged", False):
        raise ConvergenceError(
            "redemption logit", "Newton iterations did not converge", dict(fitted.mle_retvals)
        )
    ci = fitted.conf_int()
    table = pd.DataFrame(
        {
            "model": "redemption",
            "parameter": design.columns,
            "estimate": fitted.params.to_numpy(),
            "std_err": fitted.bse.to_numpy(),
            "ci_low": ci[0].to_numpy(),
            "ci_high": ci[1].to_numpy(),
            "p_value": fitted.pvalues.to_numpy(),
        }
    )
    tier_coefs = (
        (0.0, *(float(fitted.params[f"tier:{n}"]) for n in tier_names[1:])) if tier_names else ()
    )
    tier_terms = (None, *(f"tier:{n}" for n in tier_names[1:])) if tier_names else ()
    if tier_names and numeric:
        # The simulator indexes tier_coefs by tier code (0 = entry tier): give every code up
        # to the highest seen a coefficient, a code nobody held taking the one below it.
        seen = {int(float(n)): c for n, c in zip(tier_names, tier_coefs, strict=True)}
        seen_terms = {int(float(n)): c for n, c in zip(tier_names, tier_terms, strict=True)}
        highest = max(int(float(n)) for n in all_names)
        filled, terms, last, last_term = [], [], 0.0, None
        for code in range(highest + 1):
            last = seen.get(code, last)
            last_term = seen_terms.get(code, last_term)
            filled.append(last)
            terms.append(last_term)
        tier_coefs = tuple(filled)
        tier_terms = tuple(terms)
        tier_names = tuple(str(code) for code in range(highest + 1))
    shares = panel.loc[panel["redeemed"] > 0, "share"]
    return RedemptionFit(
        intercept=float(fitted.params["const"]),
        balance_coef=float(fitted.params["log_balance"]),
        balance_scale=balance_scale,
        tier_coefs=tier_coefs,
        tiers=tier_names,
        redeem_share=float(np.clip(shares.mean(), 1e-6, 1.0)),
        table=table,
        n_member_months=len(panel),
        minimum_points=int(minimum_points),
        open_months=tuple(str(m) for m, is_open in zip(months, open_mask, strict=True) if is_open),
        notes=tuple(notes),
        cov=fitted.cov_params(),
        tier_terms=tier_terms,
    )


MIN_TIER_MEMBER_MONTHS = 30
"""Member-months a tier needs (with both outcomes) to get a logit term of its own."""


def _merge_separated_tiers(
    tier_of: pd.Series, outcome: pd.Series, names: tuple[str, ...]
) -> tuple[pd.Series, tuple[str, ...], list[str]]:
    """Merge tiers the data cannot separate into the tier below them.

    A tier whose member-months all redeemed (or none did), or that has fewer than
    `MIN_TIER_MEMBER_MONTHS`, has no finite maximum-likelihood coefficient (separation:
    Albert & Anderson 1984, Biometrika 71(1)); Newton's method then runs away and the fit
    fails. Such a tier shares the coefficient of the tier below it, and a note says so.
    """
    tier_of = tier_of.copy()
    kept = list(names)
    notes = []
    for name in names[1:]:
        rows = tier_of == name
        count = int(rows.sum())
        outcomes = outcome[rows.to_numpy()]
        if count >= MIN_TIER_MEMBER_MONTHS and 0 < outcomes.mean() < 1:
            continue
        below = kept[kept.index(name) - 1]
        tier_of[rows] = below
        kept.remove(name)
        why = (
            f"only {count} member-months"
            if count < MIN_TIER_MEMBER_MONTHS
            else f"all {count} member-months {'redeemed' if outcomes.mean() == 1 else 'kept'}"
        )
        notes.append(
            f"redemption propensity: tier {name} shares the coefficient of tier {below} ({why}:"
            " its own coefficient cannot be estimated)"
        )
    return tier_of, tuple(kept), notes
