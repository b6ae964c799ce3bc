"""Purchase-rate seasonality, campaign and holiday uplift from a transaction log.

A member-day Poisson regression: the number of repeat purchase occasions of member ``i`` on
day ``d`` is Poisson with

    log E[n_id] = log e_id + b0 + month(d) + weekday(d) + sum_k c_k campaign_k(d)
                  + sum_h h_h holiday_h(d) [+ c_bday birthday_i(d)]

Every regressor depends on the day only (plus, optionally, whether day ``d`` is member
``i``'s birthday), so the member-day likelihood is the same as the likelihood of the cell
totals with the summed exposure ``log e_d`` as offset: the model is fitted on one row per
day (or per day and birthday flag) and gives the same estimates as the member-day panel. A
member is at risk from the day after the first purchase, matching BG/NBD where the first
purchase opens the observation (Fader, Hardie & Lee 2005). With a fitted BG/NBD the exposure
of a member is the model's expected purchases on that day of the member's life (so the
decline of the pool as members drop out is built in); without one, the exposure is 1 per
member at risk and a quadratic time trend absorbs the decline. Standard errors are quasi-Poisson
(scaled by the Pearson dispersion when it exceeds 1; McCullagh & Nelder 1989, ch. 6), which
also covers the aggregation over heterogeneous members.

The intervals treat days as independent given the exposure. Which members happened to be
drawn into the base (their own rates) also moves whole stretches of days together, so with a
few thousand members month multipliers can sit a few percent from their true values outside
the stated intervals; read them as a lower bound on the uncertainty.

Holidays are fixed ``MM-DD`` shopping days plus the movable Chinese New Year run-up (the 14
days before the Spring Festival, `simulations.behavior.in_new_year_run_up`): the festival moves
by up to a month between years, so without its own term the month effects would carry it into
the month it fell in during the calibration years and misplace it in every other year.

Multipliers are ``exp(coef)``: a member-day campaign multiplier of 1.6 means 60% more
purchase occasions on campaign days than on comparable days. Month and weekday multipliers
are normalized to mean 1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from policies.festivals import LUNAR_NEW_YEAR
from policies.model import CAMPAIGN_KINDS
from simulations.behavior import NEW_YEAR, in_new_year_run_up
from simulations.calibration.bgnbd import expected_purchases
from simulations.calibration.data import daily_occasions
from simulations.calibration.errors import CalibrationDataError

__all__ = [
    "CAMPAIGN_KINDS",
    "DAY_WIDE_KINDS",
    "UpliftFit",
    "campaign_kind_from_id",
    "fit_purchase_rate",
]

# Campaigns that run for every member on their days; the others target some members
# (birthday, newly joined, lapsed), so their exposure is not visible from the log alone.
DAY_WIDE_KINDS = ("member_day", "bonus_points", "threshold_reduction", "redemption_event")
DEFAULT_HOLIDAYS = ("06-18", "11-11", "12-12", NEW_YEAR)
_KIND_WORDS = (
    ("member_day", ("member_day", "memberday", "member-day")),
    ("birthday", ("birthday", "bday")),
    ("threshold_reduction", ("threshold", "reduction", "manjian")),
    ("reactivation", ("reactivation", "winback", "win_back")),
    ("activation", ("activation", "welcome")),
    ("redemption_event", ("redemption", "redeem", "appreciation")),
    ("bonus_points", ("bonus", "double", "triple", "points")),
)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def campaign_kind_from_id(campaign_id: str) -> str | None:
    """Guess a campaign's kind from its id (``member-day`` -> ``member_day``), or None."""
    text = re.sub(r"[\s\-]+", "_", campaign_id.strip().lower())
    for kind, words in _KIND_WORDS:
        if any(word.replace("-", "_") in text for word in words):
            return kind
    return None


@dataclass(frozen=True)
class UpliftFit:
    """Purchase-rate multipliers estimated by `fit_purchase_rate`.

    Attributes:
        table: one row per term: ``term``, ``kind`` (``month``, ``weekday``, ``campaign``,
            ``holiday``, ``birthday``), ``multiplier``, ``ci_low``, ``ci_high`` (95%),
            ``p_value``, ``days`` (days the indicator is on).
        month_seasonality: 12 multipliers (Jan..Dec), mean 1.
        weekday_seasonality: 7 multipliers (Mon..Sun), mean 1.
        campaign_uplift: multiplier per campaign kind (only kinds that could be estimated).
        holiday_uplift: multiplier per ``MM-DD`` shopping day covered by the data.
        dispersion: Pearson dispersion of the day-level fit (1 = Poisson).
        n_days: days in the fit.
        notes: what was left out and why.
        calendar_mean: exposure-weighted mean over the fitted days of the product of the
            (normalized) month and weekday multipliers and the campaign, holiday and birthday
            multipliers: the factor by which the average purchase rate exceeds the rate of an
            ordinary day.
    """

    table: pd.DataFrame = field(repr=False)
    month_seasonality: tuple[float, ...]
    weekday_seasonality: tuple[float, ...]
    campaign_uplift: dict[str, float]
    holiday_uplift: dict[str, float]
    dispersion: float
    n_days: int
    notes: tuple[str, ...] = ()
    calendar_mean: float = 1.0


def _campaign_days(transactions: pd.DataFrame) -> dict[str, set[pd.Timestamp]]:
    """Days on which each campaign id appears on at least one purchase."""
    if "campaign_ids" not in transactions:
        return {}
    tagged = transactions.loc[
        transactions["campaign_ids"].fillna("").astype(str).str.strip() != "",
        ["date", "campaign_ids"],
    ]
    if tagged.empty:
        return {}
    exploded = tagged.assign(campaign_id=tagged["campaign_ids"].astype(str).str.split(";"))
    exploded = exploded.explode("campaign_id")
    exploded["campaign_id"] = exploded["campaign_id"].str.strip()
    exploded = exploded[exploded["campaign_id"] != ""]
    return {
        cid: set(days) for cid, days in exploded.groupby("campaign_id")["date"].unique().items()
    }


def fit_purchase_rate(
    transactions: pd.DataFrame,
    members: pd.DataFrame | None = None,
    campaign_kinds: Mapping[str, str] | None = None,
    campaign_days: Mapping[str, set] | None = None,
    calibration_end: pd.Timestamp | None = None,
    holidays: tuple[str, ...] = DEFAULT_HOLIDAYS,
    bgnbd_params: Mapping[str, float] | None = None,
    time_unit: str = "day",
) -> UpliftFit:
    """Fit seasonality and campaign/holiday uplift (see the module docstring).

    Args:
        transactions: checked transaction log; ``campaign_ids`` (``;``-separated) marks the
            campaigns that applied to a purchase.
        members: optional member table with ``member_id`` and ``birthday``; with a birthday
            campaign, a birthday indicator (member-specific) enters the model.
        campaign_kinds: campaign id -> kind; ids missing here are guessed from their names
            (`campaign_kind_from_id`).
        campaign_days: campaign id -> days it ran (e.g. from a policy's calendar); other
            campaigns run on the days on which their id appears on any purchase.
        calibration_end: last day used (default: last purchase day).
        holidays: ``MM-DD`` shopping days to estimate when the data cover them.
        bgnbd_params: fitted BG/NBD ``r, alpha, a, b``; when given, the exposure of a day is
            the BG/NBD expected number of repeat purchases of the members acquired before it
            (so dropout is accounted for exactly) and no trend terms are used.
        time_unit: unit of ``alpha`` in ``bgnbd_params``.

    Raises:
        CalibrationDataError: fewer than 28 days with members at risk.
    """
    notes: list[str] = []
    end = transactions["date"].max() if calibration_end is None else calibration_end
    log = transactions[transactions["date"] <= end]
    occasions = daily_occasions(log)
    first = occasions.groupby("member_id")["date"].min()
    repeat = occasions[occasions["date"] > occasions["member_id"].map(first)]
    days = pd.date_range(first.min() + pd.Timedelta(days=1), end, freq="D")
    # Members at risk on day d: first purchase strictly before d.
    acquired = first.value_counts().sort_index()
    at_risk = acquired.cumsum().reindex(days - pd.Timedelta(days=1), method="ffill").fillna(0)
    frame = pd.DataFrame({"date": days, "members": at_risk.to_numpy(dtype=float)})
    frame["at_risk"] = frame["members"]
    if bgnbd_params is not None:
        frame["at_risk"] = _bgnbd_baseline(first, days, bgnbd_params, time_unit)
    counts = repeat.groupby("date").size()
    frame["purchases"] = frame["date"].map(counts).fillna(0).to_numpy()

    kinds = dict(campaign_kinds or {})
    # Days seen on purchases, replaced by the calendar's days where one is given.
    days_by_campaign = {**_campaign_days(log), **dict(campaign_days or {})}
    resolved = {cid: kinds.get(cid) or campaign_kind_from_id(cid) for cid in days_by_campaign}

    birthday_campaigns = [cid for cid, kind in resolved.items() if kind == "birthday"]
    if birthday_campaigns and members is not None and "birthday" in members:
        frame = _split_birthdays(frame, repeat, first, members)
    elif birthday_campaigns:
        notes.append("birthday uplift not estimated: members with a birthday column needed")

    design = pd.DataFrame(index=frame.index)
    design["const"] = 1.0
    if bgnbd_params is None:
        t = (frame["date"] - frame["date"].iloc[0]).dt.days.to_numpy() / 365.25
        design["trend"] = t
        design["trend2"] = t**2
    month = frame["date"].dt.month.to_numpy()
    weekday = frame["date"].dt.day_of_week.to_numpy()
    months_seen = sorted(set(month))
    for m in months_seen[1:]:
        design[f"month:{_MONTHS[m - 1]}"] = (month == m).astype(float)
    for w in sorted(set(weekday))[1:]:
        design[f"weekday:{_WEEKDAYS[w]}"] = (weekday == w).astype(float)
    term_kind = {}
    day_key = frame["date"]
    for cid in sorted(days_by_campaign):
        kind = resolved[cid]
        if kind not in DAY_WIDE_KINDS:
            if kind != "birthday":
                notes.append(
                    f"campaign {cid} ({kind or 'unknown kind'}) targets some members only;"
                    " its uplift is not estimated from the log"
                )
            continue
        on = day_key.isin(pd.DatetimeIndex(sorted(days_by_campaign[cid]))).to_numpy()
        if on.sum() == 0 or on.all():
            continue
        design[f"campaign:{cid}"] = on.astype(float)
        term_kind[f"campaign:{cid}"] = kind
    mmdd = frame["date"].dt.strftime("%m-%d").to_numpy()
    for holiday in holidays:
        on = _new_year_days(frame["date"], notes) if holiday == NEW_YEAR else mmdd == holiday
        if on.any():
            design[f"holiday:{holiday}"] = on.astype(float)
    if "is_birthday" in frame:
        design["birthday"] = frame["is_birthday"].astype(float)

    keep = frame["at_risk"].to_numpy() > 0
    if keep.sum() < 28:
        raise CalibrationDataError(
            f"seasonality needs at least 28 days with repeat-purchase exposure; got"
            f" {int(keep.sum())}"
        )
    design, frame = design[keep], frame[keep]
    design, merged = _drop_duplicate_columns(design)
    notes.extend(merged)
    exposure = np.log(frame["at_risk"].to_numpy(dtype=float))
    glm = sm.GLM(
        frame["purchases"].to_numpy(dtype=float),
        design,
        family=sm.families.Poisson(),
        offset=exposure,
    )
    fitted = glm.fit()
    dispersion = float(fitted.pearson_chi2 / max(fitted.df_resid, 1))
    # Quasi-Poisson: widen the intervals by the dispersion when it exceeds 1 (never narrow).
    coef = fitted.params
    se = np.sqrt(np.diag(fitted.cov_params())) * np.sqrt(max(dispersion, 1.0))
    se = pd.Series(se, index=coef.index)
    ci = pd.DataFrame({0: coef - 1.96 * se, 1: coef + 1.96 * se})
    pvalues = pd.Series(2 * stats.norm.sf(np.abs(coef / se)), index=coef.index)

    rows = []
    for term in design.columns:
        if term in ("const", "trend", "trend2"):
            continue
        kind = term.split(":")[0] if ":" in term else term
        rows.append(
            {
                "term": term,
                "kind": kind,
                "multiplier": float(np.exp(coef[term])),
                "ci_low": float(np.exp(ci.loc[term, 0])),
                "ci_high": float(np.exp(ci.loc[term, 1])),
                "p_value": float(pvalues[term]),
                "days": int(frame.loc[design[term].gt(0), "date"].nunique()),
            }
        )
    table = pd.DataFrame(
        rows, columns=["term", "kind", "multiplier", "ci_low", "ci_high", "p_value", "days"]
    )

    month_mult = np.ones(12)
    for m in months_seen[1:]:
        month_mult[m - 1] = np.exp(coef[f"month:{_MONTHS[m - 1]}"])
    missing = [(_MONTHS[m - 1]) for m in range(1, 13) if m not in months_seen]
    if missing:
        notes.append(f"months without data keep multiplier 1 before normalizing: {missing}")
    weekday_mult = np.ones(7)
    for w in sorted(set(weekday))[1:]:
        weekday_mult[w] = np.exp(coef[f"weekday:{_WEEKDAYS[w]}"])

    campaign_uplift: dict[str, list[tuple[float, int]]] = {}
    for term, kind in term_kind.items():
        if term in coef:
            campaign_uplift.setdefault(kind, []).append((coef[term], int(design[term].sum())))
    if "birthday" in coef:
        campaign_uplift["birthday"] = [(coef["birthday"], 1)]
    # Several campaigns of one kind: a day-weighted mean on the log scale.
    by_kind = {
        kind: float(np.exp(np.average([c for c, _ in v], weights=[w for _, w in v])))
        for kind, v in campaign_uplift.items()
    }
    holiday_uplift = {
        term.split(":", 1)[1]: float(np.exp(coef[term]))
        for term in design.columns
        if term.startswith("holiday:")
    }
    # Calendar factor of each fitted cell as the simulator applies it: normalized month and
    # weekday multipliers times every campaign, holiday and birthday multiplier.
    effect_terms = [t for t in design.columns if t not in ("const", "trend", "trend2")]
    log_factor = design[effect_terms].to_numpy() @ coef[effect_terms].to_numpy()
    log_factor -= np.log(month_mult.mean()) + np.log(weekday_mult.mean())
    weights = frame["at_risk"].to_numpy()
    calendar_mean = float(np.sum(weights * np.exp(log_factor)) / np.sum(weights))
    return UpliftFit(
        calendar_mean=calendar_mean,
        table=table,
        month_seasonality=tuple(float(v) for v in month_mult / month_mult.mean()),
        weekday_seasonality=tuple(float(v) for v in weekday_mult / weekday_mult.mean()),
        campaign_uplift=by_kind,
        holiday_uplift=holiday_uplift,
        dispersion=dispersion,
        n_days=int(len(frame["date"].unique())),
        notes=tuple(notes),
    )


def _new_year_days(dates: pd.Series, notes: list[str]) -> np.ndarray:
    """Whether each day is in the Chinese New Year run-up (none if a year's date is unknown).

    The festival moves between 21 January and 20 February, so the run-up is its own term: a
    month effect would carry it into the month it fell in during the calibration years.
    """
    years = sorted(set(dates.dt.year))
    unknown = [y for y in years if y not in LUNAR_NEW_YEAR]
    if unknown:
        notes.append(f"Chinese New Year run-up not estimated: festival date unknown for {unknown}")
        return np.zeros(len(dates), dtype=bool)
    return np.array([in_new_year_run_up(d) for d in dates.dt.date], dtype=bool)


def _bgnbd_baseline(first: pd.Series, days: pd.DatetimeIndex, params, time_unit: str):
    """Expected repeat purchases per day under BG/NBD for the members acquired so far.

    A member acquired on day ``f`` adds ``E[X(d-f+1)] - E[X(d-f)]`` (eq. 9 of Fader, Hardie &
    Lee 2005, per day of age) on day ``d``; summing over members is a convolution of the daily
    acquisition counts with these increments.
    """
    scale = 1.0 if time_unit == "day" else 7.0
    origin = days[0] - pd.Timedelta(days=1)
    n = len(days) + 1
    offsets = (first - origin).dt.days.to_numpy()
    counts = np.bincount(offsets[offsets >= 0], minlength=n)[:n].astype(float)
    ages = np.arange(n + 1) / scale
    cumulative = expected_purchases(dict(params), ages)
    increments = np.diff(cumulative)  # increments[k] = purchases at age k+1 days
    # baseline on day index j (date origin + j) = sum_f counts[f] * increments[j - f - 1]
    baseline = np.convolve(counts, increments)[: n - 1]
    return baseline[: len(days)]


def _split_birthdays(frame, repeat, first, members) -> pd.DataFrame:
    """Split each day into members whose birthday it is and the others."""
    birthdays = pd.to_datetime(
        members.set_index(members["member_id"].astype(str))["birthday"], errors="coerce"
    ).dt.strftime("%m-%d")
    birthdays = birthdays[birthdays.index.isin(first.index)].dropna()
    # Members at risk on day d with that birthday: first purchase before d.
    joined = pd.DataFrame({"mmdd": birthdays, "first": first.reindex(birthdays.index)})
    mmdd = frame["date"].dt.strftime("%m-%d")
    on_day = np.zeros(len(frame))
    by_mmdd = {k: np.sort(g["first"].to_numpy()) for k, g in joined.groupby("mmdd")}
    dates = frame["date"].to_numpy()
    for i, (day, key) in enumerate(zip(dates, mmdd, strict=True)):
        firsts = by_mmdd.get(key)
        if firsts is not None:
            on_day[i] = np.searchsorted(firsts, day, side="left")
    member_mmdd = repeat["member_id"].map(birthdays)
    is_bday = member_mmdd.to_numpy() == repeat["date"].dt.strftime("%m-%d").to_numpy()
    bday_counts = repeat[is_bday].groupby("date").size()
    bday_purchases = frame["date"].map(bday_counts).fillna(0).to_numpy()
    # Exposure splits in proportion to the members whose birthday it is.
    share = np.divide(
        on_day,
        frame["members"].to_numpy(),
        out=np.zeros(len(frame)),
        where=frame["members"].to_numpy() > 0,
    )
    on_day = frame["at_risk"].to_numpy() * share
    others = frame.assign(
        at_risk=frame["at_risk"] - on_day,
        purchases=frame["purchases"] - bday_purchases,
        is_birthday=0,
    )
    bdays = frame.assign(at_risk=on_day, purchases=bday_purchases, is_birthday=1)
    return pd.concat([others, bdays], ignore_index=True)


def _drop_duplicate_columns(design: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop indicator columns identical to an earlier one (they cannot be told apart)."""
    notes, seen, keep = [], {}, []
    for column in design.columns:
        key = design[column].to_numpy().tobytes()
        if key in seen:
            notes.append(f"{column} always coincides with {seen[key]}; estimated together")
            continue
        seen[key] = column
        keep.append(column)
    return design[keep], notes
