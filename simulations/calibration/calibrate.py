"""Calibrate behavior parameters from a client's transaction log (and points ledger).

`calibrate` runs the pieces in order and returns an immutable `CalibrationResult`:

1. `summarize_transactions` -> per-member frequency / recency / T / monetary value;
2. BG/NBD (`fit_bgnbd`): purchase rate and dropout (required: its failure is an error);
3. Gamma-Gamma (`fit_gamma_gamma`): spend per purchase;
4. `fit_purchase_rate`: month and weekday seasonality, campaign and holiday uplift, with
   the BG/NBD expectation of each day as exposure;
5. `fit_redemption` (when a ledger is given): monthly redemption propensity, with tiers
   from the member table or rebuilt from the policy (`policy_tiers`);
6. new members per month, from join dates (or first purchases): a Poisson GLM with a
   log-linear trend and, given two years, a month pattern (`fit_arrivals`);
7. when ``calibration_end`` is before the last purchase: a holdout check of predicted
   against actual repeat purchases per period, and the P(alive) distribution.

Steps 3-6 are optional: when the data cannot support one (too few repeat buyers, no
redemptions, ...), the simulator's defaults are kept and ``notes`` says why.
`CalibrationResult.behavior_params` writes everything into a `BehaviorParams` (with alpha
scaled by the calendar mean: the simulator applies the calendar on top of the rate).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from policies.model import Policy
from simulations.behavior import (
    ASSUMED,
    DEFAULT_BEHAVIOR,
    BehaviorParams,
    BGNBDParams,
    GammaGammaParams,
    flat_parameters,
)
from simulations.calibration.arrivals import ArrivalFit, fit_arrivals
from simulations.calibration.bgnbd import BGNBDFit, fit_bgnbd
from simulations.calibration.data import (
    check_transactions,
    parse_dates,
    summarize_transactions,
    unit_days,
)
from simulations.calibration.errors import CalibrationDataError, ConvergenceError
from simulations.calibration.gamma_gamma import GammaGammaFit, fit_gamma_gamma
from simulations.calibration.redemption import RedemptionFit, check_ledger, fit_redemption
from simulations.calibration.tiers import policy_tiers
from simulations.calibration.uplift import DAY_WIDE_KINDS, UpliftFit, fit_purchase_rate

__all__ = ["CalibrationResult", "calibrate", "holdout_check"]

_P_ALIVE_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class CalibrationResult:
    """Everything `calibrate` estimated; read-only.

    Attributes:
        time_unit: unit of the BG/NBD rates (``day`` or ``week``).
        calibration_end: last day used for fitting (ISO date).
        last_date: last purchase day in the log (ISO date).
        n_members, n_transactions: members and purchase rows used for fitting.
        bgnbd: the BG/NBD fit.
        gamma_gamma: the Gamma-Gamma fit, or None (defaults kept; see ``notes``).
        uplift: seasonality and uplift fit, or None.
        redemption: redemption logit, or None.
        new_members_per_month: expected new members in the last full month (deseasonalised;
            see ``arrivals``), or None without a full month of sign-ups.
        holdout: predicted vs actual repeat purchases per period after ``calibration_end``,
            or None without a holdout.
        p_alive: distribution of P(alive) at ``calibration_end`` (mean, quantiles, share
            below 0.5).
        notes: what was not estimated and why.
        fallbacks: fits that were attempted and failed, each naming what is used instead
            (a subset of ``notes``; callers show them as warnings, never silently).
        program_effect_mean: purchases of the calibration members under the policy with the
            default program effects on, over the same with them off (1 without a policy);
            see `program_effect_mean`.
    """

    time_unit: str
    calibration_end: str
    last_date: str
    n_members: int
    n_transactions: int
    bgnbd: BGNBDFit
    gamma_gamma: GammaGammaFit | None
    uplift: UpliftFit | None
    redemption: RedemptionFit | None
    new_members_per_month: float | None
    holdout: pd.DataFrame | None = field(repr=False)
    p_alive: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()
    program_effect_mean: float = 1.0
    arrivals: ArrivalFit | None = None

    @property
    def params(self) -> pd.DataFrame:
        """Model parameters: ``model, parameter, estimate, std_err, ci_low, ci_high``."""
        tables = [self.bgnbd.table()]
        if self.gamma_gamma is not None:
            tables.append(self.gamma_gamma.table())
        if self.redemption is not None:
            tables.append(self.redemption.table.drop(columns="p_value"))
        return pd.concat(tables, ignore_index=True)

    @property
    def std_errors(self) -> dict[str, dict[str, float]]:
        """Standard errors per model and parameter."""
        out = {"bgnbd": dict(self.bgnbd.std_errors)}
        if self.gamma_gamma is not None:
            out["gamma_gamma"] = dict(self.gamma_gamma.std_errors)
        if self.redemption is not None:
            table = self.redemption.table
            out["redemption"] = dict(zip(table["parameter"], table["std_err"], strict=True))
        return out

    @property
    def convergence(self) -> dict[str, dict]:
        """Optimizer reports per maximum-likelihood model."""
        out = {"bgnbd": dict(self.bgnbd.convergence)}
        if self.gamma_gamma is not None:
            out["gamma_gamma"] = dict(self.gamma_gamma.convergence)
        return out

    @property
    def diagnostics(self) -> dict:
        """A JSON-ready report: SEs, convergence, holdout, P(alive), uplift, notes."""
        report: dict = {
            "calibration_end": self.calibration_end,
            "last_date": self.last_date,
            "time_unit": self.time_unit,
            "n_members": self.n_members,
            "n_transactions": self.n_transactions,
            "bgnbd_loglike": self.bgnbd.loglike,
            "std_errors": self.std_errors,
            "convergence": _json_ready(self.convergence),
            "p_alive": dict(self.p_alive),
            "notes": list(self.notes),
            "fallbacks": list(self.fallbacks),
        }
        if self.uplift is not None:
            report["uplift"] = _json_ready(self.uplift.table.to_dict(orient="records"))
            report["uplift_dispersion"] = self.uplift.dispersion
            report["calendar_mean"] = self.uplift.calendar_mean
            report["bgnbd_alpha_ml"] = self.bgnbd.params["alpha"]
        if self.redemption is not None:
            report["redemption"] = {
                "tiers": list(self.redemption.tiers),
                "open_months": list(self.redemption.open_months),
                "n_member_months": self.redemption.n_member_months,
                "minimum_points": self.redemption.minimum_points,
            }
        if self.arrivals is not None:
            fit = self.arrivals
            report["new_members"] = {
                "model": "Poisson GLM, log-linear trend and month effects",
                "estimated": list(fit.estimated),
                "months_used": {
                    "count": fit.months_used[0],
                    "first": fit.months_used[1],
                    "last": fit.months_used[2],
                },  # fmt: skip
                "per_month": fit.per_month,
                "origin": fit.origin,
                "trend_per_month": fit.trend,
                "seasonality": list(fit.seasonality),
                "dispersion": fit.dispersion,
                "std_errors": {k: float(np.sqrt(fit.cov.loc[k, k])) for k in fit.params.index},
            }
        if self.holdout is not None:
            report["holdout"] = _json_ready(self.holdout.to_dict(orient="records"))
        return report

    def summary(self) -> pd.DataFrame:
        """The table to read first: parameters, then uplift multipliers with 95% intervals."""
        frames = [self.params]
        if self.uplift is not None and not self.uplift.table.empty:
            uplift = self.uplift.table.rename(
                columns={"term": "parameter", "multiplier": "estimate"}
            ).assign(model="uplift", std_err=np.nan)
            frames.append(
                uplift[["model", "parameter", "estimate", "std_err", "ci_low", "ci_high"]]
            )
        return pd.concat(frames, ignore_index=True)

    def behavior_params(self, base: BehaviorParams = DEFAULT_BEHAVIOR) -> BehaviorParams:
        """The calibrated `BehaviorParams`: estimates where available, ``base`` elsewhere.

        A parameter named after a model holds that model's estimate (``bgnbd.alpha`` is the
        maximum-likelihood alpha). What the engine derives is stored under its own name:
        ``calendar_mean`` (see `UpliftFit.calendar_mean`) turns the BG/NBD average rate into
        an ordinary day's rate, so the simulator's calendar multipliers reproduce the observed
        average rather than add to it. Shopping days the data did not cover are neutral
        (1.0), not the defaults. ``diagnostics["parameter_sources"]`` says for every
        parameter whether it was estimated or is a default (with the source it cites).
        """
        bg = self.bgnbd.params
        calendar = self.uplift.calendar_mean if self.uplift is not None else 1.0
        update: dict = {
            "time_unit": self.time_unit,
            "bgnbd": BGNBDParams(r=bg["r"], alpha=bg["alpha"], a=bg["a"], b=bg["b"]),
            "calendar_mean": calendar,
            "program_effect_mean": self.program_effect_mean,
            "source": (
                f"calibrated from {self.n_transactions} purchases of {self.n_members} members"
                f" up to {self.calibration_end}"
            ),
        }
        if self.gamma_gamma is not None:
            update["gamma_gamma"] = GammaGammaParams(**self.gamma_gamma.params)
        if self.uplift is not None:
            update["month_seasonality"] = self.uplift.month_seasonality
            update["weekday_seasonality"] = self.uplift.weekday_seasonality
            # A shopping day the data never covered has no evidence: neutral, not a default.
            update["holiday_uplift"] = {
                **dict.fromkeys(base.holiday_uplift, 1.0),
                **self.uplift.holiday_uplift,
            }
            update["campaign_uplift"] = base.campaign_uplift.model_copy(
                update=self.uplift.campaign_uplift
            )
        if self.redemption is not None:
            fit = self.redemption
            redemption = {
                "intercept": fit.intercept,
                "balance_coef": fit.balance_coef,
                "balance_scale": fit.balance_scale,
                "redeem_share": fit.redeem_share,
            }
            if fit.tier_coefs:
                redemption["tier_coefs"] = fit.tier_coefs
            update["redemption"] = base.redemption.model_copy(update=redemption)
        if self.arrivals is not None:
            update.update(self.arrivals.behavior_fields())
        # Validate the nested values again (model_copy does not).
        params = BehaviorParams.model_validate({**base.model_dump(), **_dump(update)})
        # The sources and the values they gave: a value edited later is "set by user"
        # (`simulations.behavior.parameter_sources`).
        diagnostics = {
            **self.diagnostics,
            "parameter_sources": self.parameter_sources(base),
            "calibrated_values": flat_parameters(params),
        }
        return params.model_copy(update={"diagnostics": diagnostics})

    def parameter_sources(self, base: BehaviorParams = DEFAULT_BEHAVIOR) -> dict[str, str]:
        """Where each behavior parameter of `behavior_params` comes from.

        Values: ``estimated`` (fitted here), ``derived`` (computed from estimates),
        ``not estimated: neutral`` (a calendar term the data did not cover), or ``default:``
        followed by the source the default cites (``base`` when it is not the built-in one).
        """
        default = (
            "default: BehaviorParams (see its documentation for the research cited)"
            if base is DEFAULT_BEHAVIOR
            else f"default: given parameters ({base.source})"
        )
        sources: dict[str, str] = {f"bgnbd.{n}": "estimated" for n in ("r", "alpha", "a", "b")}
        gg = "estimated" if self.gamma_gamma is not None else default
        sources.update({f"gamma_gamma.{n}": gg for n in ("p", "q", "gamma")})
        uplift = self.uplift
        calendar = "estimated" if uplift is not None else default
        sources["month_seasonality"] = calendar
        sources["weekday_seasonality"] = calendar
        sources["calendar_mean"] = "derived" if uplift is not None else "default: 1 (no scaling)"
        sources["program_effect_mean"] = (
            "derived" if self.program_effect_mean != 1.0 else "default: 1 (no policy given)"
        )
        for day in sorted({*base.holiday_uplift, *(uplift.holiday_uplift if uplift else {})}):
            if uplift is None:
                sources[f"holiday_uplift.{day}"] = default
            elif day in uplift.holiday_uplift:
                sources[f"holiday_uplift.{day}"] = "estimated"
            else:
                sources[f"holiday_uplift.{day}"] = "not estimated: neutral"
        estimated_kinds = uplift.campaign_uplift if uplift is not None else {}
        for kind in type(base.campaign_uplift).model_fields:
            sources[f"campaign_uplift.{kind}"] = "estimated" if kind in estimated_kinds else default
        fit = self.redemption
        for name in ("intercept", "balance_coef", "redeem_share"):
            sources[f"redemption.{name}"] = "estimated" if fit is not None else default
        sources["redemption.tier_coefs"] = (
            "estimated" if fit is not None and fit.tier_coefs else default
        )
        for name in type(base.effects).model_fields:
            sources[f"effects.{name}"] = default
        # One program's history holds one reward rate: its response cannot be estimated.
        sources["effects.reward_rate_lift"] = ASSUMED
        fit = self.arrivals
        estimated = fit.estimated if fit is not None else ()
        sources["new_members_per_month"] = "estimated" if "level" in estimated else default
        sources["new_members_origin"] = "derived" if fit is not None else "default: none (no trend)"
        for name, part in (("trend", "trend"), ("seasonality", "seasonality")):
            sources[f"new_members_{name}"] = (
                "estimated"
                if part in estimated
                else "not estimated: neutral"
                + (f" ({fit.months_used[0]} full months of sign-ups)" if fit is not None else "")
            )
        return sources


def _dump(update: dict) -> dict:
    return {k: v.model_dump() if hasattr(v, "model_dump") else v for k, v in update.items()}


def _json_ready(value):
    """Turn numpy scalars, timestamps and NaN into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp | dt.date):
        return value.isoformat()[:10]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def holdout_check(
    fit: BGNBDFit,
    summary: pd.DataFrame,
    transactions: pd.DataFrame,
    calibration_end: pd.Timestamp,
    period: Literal["week", "month"] = "month",
) -> pd.DataFrame:
    """Predicted vs actual repeat purchase occasions per period after ``calibration_end``.

    Prediction: the sum over calibration members of the conditional expectation
    E[Y(t) | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10) at each period end, differenced.
    Actual: purchase days of the same members in each period (new members are left out).
    """
    scale = unit_days(summary.attrs.get("time_unit", fit.time_unit))
    later = transactions[
        (transactions["date"] > calibration_end) & transactions["member_id"].isin(summary.index)
    ]
    last = transactions["date"].max()
    freq = "W-SUN" if period == "week" else "M"
    periods = pd.period_range(calibration_end + pd.Timedelta(days=1), last, freq=freq)
    bounds = []
    for p in periods:
        start = max(p.start_time.normalize(), calibration_end + pd.Timedelta(days=1))
        stop = min(p.end_time.normalize(), last)
        bounds.append((p, start, stop))
    x = summary["frequency"].to_numpy(dtype=float)
    t_x = summary["recency"].to_numpy(dtype=float)
    T = summary["T"].to_numpy(dtype=float)
    cumulative = []
    for _, _, stop in bounds:
        horizon = (stop - calibration_end).days / scale
        cumulative.append(float(np.sum(fit.conditional_expected_purchases(horizon, x, t_x, T))))
    predicted = np.diff([0.0, *cumulative])
    days = later[["member_id", "date"]].drop_duplicates()
    actual = [
        int(((days["date"] >= start) & (days["date"] <= stop)).sum()) for _, start, stop in bounds
    ]
    return pd.DataFrame(
        {
            "period": [str(p) for p, _, _ in bounds],
            "start": [s.date().isoformat() for _, s, _ in bounds],
            "end": [e.date().isoformat() for _, _, e in bounds],
            "predicted": predicted,
            "actual": actual,
            "cumulative_predicted": cumulative,
            "cumulative_actual": np.cumsum(actual),
        }
    )


def _tier_codes(tiers: pd.Series, policy: Policy) -> pd.Series:
    """Member tiers given by name -> the policy's tier codes (0 = entry tier)."""
    if pd.api.types.is_numeric_dtype(tiers):
        return tiers
    codes = {tier.name: i for i, tier in enumerate(policy.tiers.tiers)}
    unknown = sorted(set(tiers.astype(str)) - set(codes))
    if unknown:
        raise CalibrationDataError(
            f"members: tier(s) {', '.join(unknown)} are not tiers of the policy; known tiers:"
            f" {', '.join(codes)}"
        )
    return tiers.astype(str).map(codes).astype(np.int64)


def calibrate(
    transactions: pd.DataFrame,
    ledger: pd.DataFrame | None = None,
    members: pd.DataFrame | None = None,
    calibration_end: str | dt.date | pd.Timestamp | None = None,
    time_unit: Literal["day", "week"] = "day",
    campaign_kinds: Mapping[str, str] | None = None,
    campaign_days: Mapping[str, set] | None = None,
    holdout_period: Literal["week", "month"] | None = None,
    minimum_redemption_points: int | None = None,
    policy: Policy | None = None,
) -> CalibrationResult:
    """Calibrate behavior from a transaction log (see the module docstring).

    Args:
        transactions: ``member_id, date, amount`` (plus optional ``campaign_ids``).
        ledger: optional points ledger ``member_id, date, kind, points``.
        members: optional member table (``member_id``; ``join_date``, ``birthday`` and
            ``tier`` are used when present).
        calibration_end: last day to fit on; later purchases form the holdout.
        time_unit: ``day`` or ``week`` for the BG/NBD rates.
        campaign_kinds: campaign id -> kind (ids not listed are guessed from their names).
        campaign_days: campaign id -> days it ran (default: days seen on purchases).
        holdout_period: ``week`` or ``month`` (default: week for holdouts under 13 weeks).
        minimum_redemption_points: the program's minimum redemption (default: the policy's,
            else the smallest redemption in the ledger).
        policy: the policy in force over the log; when given it names the campaign kinds and
            days, sets the minimum redemption and rebuilds each member's monthly tier for the
            redemption logit (`policy_tiers`) unless ``members`` has a ``tier`` column.

    Raises:
        CalibrationDataError: unusable input (named column, row and value).
        ConvergenceError: the BG/NBD fit failed.
    """
    unit_days(time_unit)
    if policy is not None:
        campaign_kinds = campaign_kinds or {c.id: c.kind for c in policy.campaigns}
        if campaign_days is None:
            campaign_days = {
                c.id: {pd.Timestamp(d) for d in c.days()}
                for c in policy.campaigns
                if c.kind in DAY_WIDE_KINDS
            }
        if minimum_redemption_points is None:
            minimum_redemption_points = policy.points.redemption.minimum_points
    tx = check_transactions(transactions)
    last = tx["date"].max()
    end = last if calibration_end is None else pd.Timestamp(calibration_end).normalize()
    if end > last:
        end = last
    summary = summarize_transactions(tx, end, time_unit)
    fit_tx = tx[tx["date"] <= end]
    notes: list[str] = []
    fallbacks: list[str] = []
    bgnbd = fit_bgnbd(summary)

    gamma_gamma = None
    try:
        gamma_gamma = fit_gamma_gamma(summary)
    except (CalibrationDataError, ConvergenceError) as exc:
        default = DEFAULT_BEHAVIOR.gamma_gamma
        message = (
            f"spend per purchase (Gamma-Gamma): the fit failed ({exc}); using the defaults"
            f" p {default.p:g}, q {default.q:g}, gamma {default.gamma:g} instead, which set"
            " revenue per purchase in a forecast"
        )
        notes.append(message)
        fallbacks.append(message)

    if members is not None:
        if "member_id" not in members:
            raise CalibrationDataError("members: missing column member_id")
        members = members.assign(member_id=members["member_id"].astype(str).str.strip())

    uplift = None
    try:
        uplift = fit_purchase_rate(
            fit_tx,
            members=members,
            campaign_kinds=campaign_kinds,
            campaign_days=campaign_days,
            calibration_end=end,
            bgnbd_params=bgnbd.params,
            time_unit=time_unit,
        )
        notes.extend(uplift.notes)
    except CalibrationDataError as exc:
        notes.append(f"seasonality and uplift kept at the defaults: {exc}")

    redemption = None
    if ledger is not None:
        checked = check_ledger(ledger)
        tiers = None
        if members is not None and "tier" in members:
            tiers = members.set_index("member_id")["tier"].dropna()
            if policy is not None:
                tiers = _tier_codes(tiers, policy)
        elif policy is not None:
            tiers = policy_tiers(policy, fit_tx, checked[checked["date"] <= end])
        try:
            redemption = fit_redemption(
                checked,
                tiers=tiers,
                calibration_end=end,
                minimum_points=minimum_redemption_points,
            )
            notes.extend(redemption.notes)
        except (CalibrationDataError, ConvergenceError) as exc:
            default = DEFAULT_BEHAVIOR.redemption
            message = (
                f"redemption propensity: the fit failed ({exc}); using the defaults"
                f" intercept {default.intercept:g}, balance_coef {default.balance_coef:g},"
                f" tier_coefs {list(default.tier_coefs)} instead, which sets how many points"
                " are redeemed (and so expire) in a forecast"
            )
            notes.append(message)
            fallbacks.append(message)

    if members is not None and "join_date" in members:
        joined = parse_dates(members, "join_date", "members")
    else:
        joined = fit_tx.groupby("member_id")["date"].min()
    try:
        arrivals = fit_arrivals(joined, end)
    except ConvergenceError as exc:
        arrivals = fit_arrivals(joined, end, trend=False, max_months=12)
        message = (
            f"new members per month: the trend fit failed ({exc}); using the mean of the last"
            f" {arrivals.months_used[0]} full months instead, {arrivals.per_month:.1f} per"
            " month with no trend or month pattern, which sets how many members join in a"
            " forecast"
        )
        notes.append(message)
        fallbacks.append(message)
    if arrivals is None:
        notes.append(
            "new members per month: no full month of sign-ups up to the calibration end;"
            f" the default {DEFAULT_BEHAVIOR.new_members_per_month:g} is kept"
        )
    else:
        notes.extend(arrivals.notes)

    holdout = None
    if end < last:
        period = holdout_period or ("week" if (last - end).days < 91 else "month")
        holdout = holdout_check(bgnbd, summary, tx, end, period)

    alive = bgnbd.probability_alive(summary["frequency"], summary["recency"], summary["T"])
    p_alive = {"mean": float(np.mean(alive)), "share_below_0.5": float(np.mean(alive < 0.5))}
    p_alive.update(
        {
            f"p{int(q * 100)}": float(v)
            for q, v in zip(_P_ALIVE_QUANTILES, np.quantile(alive, _P_ALIVE_QUANTILES), strict=True)
        }
    )
    draft = CalibrationResult(
        time_unit=time_unit,
        calibration_end=end.date().isoformat(),
        last_date=last.date().isoformat(),
        n_members=len(summary),
        n_transactions=len(fit_tx),
        bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
        uplift=uplift,
        redemption=redemption,
        new_members_per_month=arrivals.per_month if arrivals is not None else None,
        arrivals=arrivals,
        holdout=holdout,
        p_alive=p_alive,
        notes=tuple(notes),
        fallbacks=tuple(fallbacks),
    )
    if policy is None:
        return draft
    effect = program_effect_mean(draft, policy, tx, ledger, members, end)
    return dataclasses.replace(draft, program_effect_mean=effect)


def program_effect_mean(
    result: CalibrationResult,
    policy: Policy,
    transactions: pd.DataFrame,
    ledger: pd.DataFrame | None,
    members: pd.DataFrame | None,
    calibration_end: pd.Timestamp,
    months: int = 12,
    seed: int = 20_240_101,
) -> float:
    """How much the default program effects raise purchases under the calibration policy.

    The rates fitted from the log already contain whatever the policy in force did to
    behavior. The engine multiplies an ordinary rate by program effects (tier lift, tier
    discount and reward-rate lift, goal gradient, post-redemption lift, tier dropout
    reduction); applied on
    top of fitted rates they would count the policy twice. This simulates the calibration
    members as of the day after ``calibration_end`` for ``months`` under ``policy`` with the
    effects on and off (same random numbers) and returns purchases(on) / purchases(off):
    the engine divides the rate by it (`BehaviorParams.program_effect_mean`), so the status
    quo reproduces the fit and a scenario moves it by the difference. One factor for all
    members: the effects' *average* is taken out, not each member's.
    """
    from simulations.backtest import population_at
    from simulations.behavior import ProgramEffects
    from simulations.engine import Model

    start = (calibration_end + pd.Timedelta(days=1)).date()
    fit_tx = transactions[transactions["date"] <= calibration_end]
    fit_ledger = ledger[ledger["date"] <= calibration_end] if ledger is not None else None
    population = population_at(fit_tx, fit_ledger, members, start)
    if len(population) == 0:
        return 1.0
    behavior = result.behavior_params().model_copy(update={"new_members_per_month": 0.0})
    off = ProgramEffects(
        tier_rate_lift=0.0, tier_dropout_reduction=0.0, goal_gradient_lift=0.0,
        post_redemption_lift=0.0, discount_rate_lift=0.0, reward_rate_lift=0.0,
        reactivation_response=behavior.effects.reactivation_response,
        contact_effect_days=behavior.effects.contact_effect_days,
    )  # fmt: skip
    purchases = []
    for effects in (behavior.effects, off):
        model = Model(policy, behavior=behavior.model_copy(update={"effects": effects}),
                      population=population, months=months, replications=1, seed=seed,
                      start=start)  # fmt: skip
        purchases.append(float(model.run().monthly["purchases"].sum()))
    with_effects, without = purchases
    return with_effects / without if without > 0 else 1.0
