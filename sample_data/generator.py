"""A seeded generator of a realistic department-store membership program.

The generated program is what the app starts on, what calibration is tested against and what
finance reconciles: members, their purchases priced and pointed by a policy, the points
ledger and the campaign calendar that ran. Every number that shaped it is kept in
``truth`` (written as ``truth.json``), so a fitted model can be compared with the truth.

Data model (one row per ...):

* ``members``: member (``member_id``, ``join_date``, ``birthday``, ``gender``,
  ``home_store``, ``channel``). Members are numbered in order of joining.
* ``transactions``: purchase (``transaction_id``, ``member_id``, ``date``, gross ``amount``,
  ``discount``, ``net_amount``, ``points_earned``, ``store_id``, ``channel``,
  ``campaign_ids`` separated by ``;``). The join day is the member's first purchase.
* ``points_ledger``: points booking by `policies.ledger.replay` (``entry_id``,
  ``member_id``, ``date``, ``kind`` earn/bonus/redeem/expire, signed ``points``,
  ``transaction_id`` for purchase points, ``note``).
* ``campaigns_run``: campaign and calendar month it ran in (``campaign_id``, ``name``,
  ``kind``, ``start_date``, ``end_date``, ``target``, ``cost``, ``contacts``).

Behavior, exactly as the models the calibration fits:

* **Purchases and dropout** are BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers
  the Easy Way", Marketing Science 24(2)): the join day is the first purchase; while alive a
  member makes repeat purchases as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``
  per day; after each *repeat* purchase the member drops out with probability
  ``p ~ Beta(a, b)``.
* **Seasonality and campaigns** multiply the purchase rate by a daily factor ``m(day)``
  (month, weekday, Chinese New Year shopping, 618, Double 11, Double 12 and the days a
  member-day campaign runs), normalised so each calendar year's mean factor is exactly 1.
  Purchases are drawn by thinning (Lewis & Shedler 1979, "Simulation of nonhomogeneous
  Poisson processes by thinning", Naval Research Logistics Quarterly 26(3)): candidates at
  rate ``lambda * max(m)`` are kept with probability ``m(day) / max(m)``. In operational
  time ``integral of m`` the process is exactly BG/NBD, and over a year operational time
  equals calendar time, so BG/NBD fitted on calendar days recovers ``r, alpha, a, b``.
* **Spend per purchase** is Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV: Using
  Iso-Value Curves for Customer Base Analysis", JMR 42(4)): ``spend ~ Gamma(p, nu)`` with
  ``nu ~ Gamma(q, gamma)`` per member (rates, not scales), rounded to cents.
* **Redemption**: at the opening of each redemption window (the classic policy's December
  appreciation month) every member whose balance may be redeemed (whether or not still
  buying: dropout is not observable, so the propensity is estimable from the data) redeems with
  probability ``logistic(intercept + balance_coef * log1p(balance / balance_scale) +
  tier_coefs[tier])``, on a uniformly drawn day of the window, ``redeem_share`` of the
  redeemable balance (in whole redemption units, at least the minimum). Balances and tiers
  come from replaying the history so far through the policy.

The ledger is booked by `policies.ledger.replay`, the same code the live system runs, so a
fresh replay of the shipped transactions gives the shipped ledger exactly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from policies import compiled, rules
from policies.festivals import LUNAR_NEW_YEAR
from policies.io import content_id, load_policy
from policies.ledger import replay
from policies.model import Campaign, Policy

__all__ = [
    "CHINESE_NEW_YEAR",
    "CLASSIC_POLICY",
    "DEFAULT_END",
    "DEFAULT_PARAMS",
    "DEFAULT_START",
    "FILES",
    "SHIPPED_FOLDER",
    "AcquisitionParams",
    "BGNBDTruth",
    "GammaGammaTruth",
    "MemberProfile",
    "RedemptionTruth",
    "SampleParams",
    "SampleProgram",
    "SeasonalityParams",
    "acquisition_weights",
    "check_params",
    "expected_repeat_purchases",
    "generate",
    "load_sample",
    "rate_multipliers",
    "write",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_FOLDER = Path(__file__).resolve().parent / "data"
"""Where the shipped sample program lives (``python -m sample_data`` writes here by default)."""
CLASSIC_POLICY = PROJECT_ROOT / "policies" / "examples" / "classic_four_tier.yaml"
DEFAULT_START = dt.date(2023, 11, 1)
DEFAULT_END = dt.date(2026, 10, 31)
GENERATOR_VERSION = 1

FILES = ("members", "transactions", "points_ledger", "campaigns_run")
"""The tables of a sample program, in the order they are written."""
GZIP_ABOVE_BYTES = 3_000_000
"""A table whose CSV text is larger than this is written gzip-compressed (``.csv.gz``)."""
CHUNK_MEMBERS = 50_000
"""Members per random-number chunk (fixed, so results do not depend on memory settings)."""

CHINESE_NEW_YEAR = LUNAR_NEW_YEAR
"""First day of the lunar new year by Gregorian year (`policies.festivals`)."""


@dataclass(frozen=True)
class BGNBDTruth:
    """BG/NBD purchase and dropout parameters (time unit: day)."""

    r: float = 0.8
    alpha: float = 25.0
    a: float = 0.5
    b: float = 5.0


@dataclass(frozen=True)
class GammaGammaTruth:
    """Gamma-Gamma spend parameters; mean basket ``p * gamma / (q - 1)`` (about ¥297)."""

    p: float = 6.5
    q: float = 4.5
    gamma: float = 160.0


@dataclass(frozen=True)
class SeasonalityParams:
    """Daily purchase-rate factors, before normalising each calendar year to mean 1.

    Attributes:
        months: factor per calendar month (Jan..Dec).
        weekdays: factor per weekday (Mon..Sun).
        holidays: factor on named shopping days, keyed ``MM-DD`` (618, Double 11, Double 12).
        new_year_days_before: length of the Chinese New Year shopping run-up (days before
            the festival, festival excluded).
        new_year_factor: factor on those run-up days.
        campaign_uplift: factor on the days a campaign of each kind runs (untargeted
            campaigns of the policy only; kinds not listed have no effect).
    """

    # fmt: off
    months: tuple[float, ...] = (1.10, 1.05, 0.92, 0.95, 0.97, 1.08,
                                 0.92, 0.88, 0.93, 1.00, 1.15, 1.05)
    # fmt: on
    weekdays: tuple[float, ...] = (0.95, 0.92, 0.95, 0.98, 1.05, 1.10, 1.05)
    holidays: dict[str, float] = field(
        default_factory=lambda: {"06-18": 1.8, "11-11": 2.2, "12-12": 1.6}
    )
    new_year_days_before: int = 14
    new_year_factor: float = 1.25
    campaign_uplift: dict[str, float] = field(default_factory=lambda: {"member_day": 1.5})


@dataclass(frozen=True)
class AcquisitionParams:
    """How many members join on each day (relative weights; the total is ``n_members``).

    Attributes:
        trend_start: weight at the start of the history (linear trend to ``trend_end``).
        trend_end: weight at the end.
        new_year_factor: weight in the Chinese New Year run-up (same days as purchases).
        peaks: extra weight on promotion run-ups, ``(first MM-DD, last MM-DD, factor)``.
    """

    trend_start: float = 0.85
    trend_end: float = 1.15
    new_year_factor: float = 1.8
    peaks: tuple[tuple[str, str, float], ...] = (
        ("06-01", "06-18", 1.8),
        ("11-01", "11-11", 2.5),
        ("12-01", "12-12", 1.6),
    )


@dataclass(frozen=True)
class RedemptionTruth:
    """Redemption propensity at each window opening (logistic in log balance and tier)."""

    intercept: float = -1.6
    balance_coef: float = 1.1
    balance_scale: float = 1000.0
    tier_coefs: tuple[float, ...] = (0.0, 0.3, 0.6, 0.9)
    redeem_share: float = 0.8


@dataclass(frozen=True)
class MemberProfile:
    """Who the members are and where they shop.

    Attributes:
        genders: share of each recorded gender (``F``, ``M``, ``U`` = not given).
        join_channels: share of members joining through each channel.
        stores: store id -> (name, share of members whose home store it is).
        age_mean: mean age at joining (years); ``age_sd`` its spread, clipped to 18..80.
        same_channel: probability a purchase uses the member's join channel (otherwise the
            channel is drawn from ``join_channels``).
        home_store: probability an in-store purchase is at the home store.
        online_store: store id of purchases made online or in the app.
    """

    genders: dict[str, float] = field(default_factory=lambda: {"F": 0.66, "M": 0.32, "U": 0.02})
    join_channels: dict[str, float] = field(
        default_factory=lambda: {"store": 0.55, "app": 0.30, "online": 0.15}
    )
    stores: dict[str, tuple[str, float]] = field(
        default_factory=lambda: {
            "S01": ("Shanghai Huaihai Road (flagship)", 0.16),
            "S02": ("Shanghai Pudong", 0.11),
            "S03": ("Beijing Wangfujing", 0.12),
            "S04": ("Beijing Chaoyang", 0.08),
            "S05": ("Guangzhou Tianhe", 0.09),
            "S06": ("Shenzhen Futian", 0.08),
            "S07": ("Hangzhou Wulin", 0.07),
            "S08": ("Nanjing Xinjiekou", 0.07),
            "S09": ("Chengdu Chunxi Road", 0.07),
            "S10": ("Wuhan Jianghan", 0.05),
            "S11": ("Suzhou Guanqian", 0.05),
            "S12": ("Xi'an Zhonglou", 0.05),
        }
    )
    age_mean: float = 38.0
    age_sd: float = 11.0
    same_channel: float = 0.75
    home_store: float = 0.85
    online_store: str = "ONLINE"


@dataclass(frozen=True)
class SampleParams:
    """Every ground-truth parameter of the generator (written to ``truth.json``)."""

    bgnbd: BGNBDTruth = BGNBDTruth()
    gamma_gamma: GammaGammaTruth = GammaGammaTruth()
    seasonality: SeasonalityParams = SeasonalityParams()
    acquisition: AcquisitionParams = AcquisitionParams()
    redemption: RedemptionTruth = RedemptionTruth()
    members: MemberProfile = MemberProfile()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible data (tuples as lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


DEFAULT_PARAMS = SampleParams()


def check_params(params: SampleParams) -> None:
    """Refuse ground truths the generator cannot draw from, naming the field and the range.

    Raises:
        ValueError: listing every bad field.
    """
    problems = []
    for section, names in (
        ("bgnbd", ("r", "alpha", "a", "b")),
        ("gamma_gamma", ("p", "q", "gamma")),
    ):
        for name in names:
            value = getattr(getattr(params, section), name)
            if not value > 0:
                problems.append(f"{section}.{name}(={value}) must be greater than 0")
    season = params.seasonality
    for name, values, length in (("months", season.months, 12), ("weekdays", season.weekdays, 7)):
        if len(values) != length or min(values) <= 0:
            problems.append(
                f"seasonality.{name}(={values}) must be {length} factors greater than 0"
            )
    factors = {
        **{f"seasonality.holidays[{k}]": v for k, v in season.holidays.items()},
        **{f"seasonality.campaign_uplift[{k}]": v for k, v in season.campaign_uplift.items()},
        "seasonality.new_year_factor": season.new_year_factor,
    }
    problems += [
        f"{name}(={value}) must be greater than 0"
        for name, value in factors.items()
        if not value > 0
    ]
    redemption = params.redemption
    if not 0 < redemption.redeem_share <= 1:
        problems.append(f"redemption.redeem_share(={redemption.redeem_share}) must be in (0, 1]")
    if not redemption.tier_coefs:
        problems.append("redemption.tier_coefs must hold one coefficient per tier (at least one)")
    if not redemption.balance_scale > 0:
        problems.append(f"redemption.balance_scale(={redemption.balance_scale}) must be > 0")
    profile = params.members
    for name, shares in (
        ("genders", profile.genders),
        ("join_channels", profile.join_channels),
        ("stores", {k: v[1] for k, v in profile.stores.items()}),
    ):
        if not shares or min(shares.values()) < 0 or sum(shares.values()) <= 0:
            problems.append(f"members.{name} shares must be non-negative with a positive total")
    if problems:
        raise ValueError("invalid sample parameters:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class SampleProgram:
    """A generated (or loaded) sample program: the four tables and the ground truth.

    ``points_ledger`` is ``None`` and the priced columns of ``transactions`` (``discount``,
    ``net_amount``, ``points_earned``) are missing when the program was generated without
    the ledger.
    """

    members: pd.DataFrame
    transactions: pd.DataFrame
    points_ledger: pd.DataFrame | None
    campaigns_run: pd.DataFrame
    truth: dict[str, Any]

    def policy(self) -> Policy:
        """The policy the program was booked with (the file named in the truth).

        Raises:
            ValueError: the policy was given in memory, or its file changed since (the
                content id differs): regenerate with ``python -m sample_data``.
        """
        recorded = self.truth["policy"]
        if recorded["file"] == "(in memory)":
            raise ValueError("this program was generated with an in-memory policy; no file")
        path = Path(recorded["file"])
        policy = load_policy(path if path.is_absolute() else PROJECT_ROOT / path)
        if content_id(policy) != recorded["content_id"]:
            raise ValueError(
                f"{recorded['file']} changed since the sample was generated (content id"
                f" {content_id(policy)[:12]} instead of {recorded['content_id'][:12]}):"
                " regenerate it with python -m sample_data"
            )
        return policy

    def redemption_requests(self) -> pd.DataFrame:
        """Redemptions as requests (``member_id``, ``date``, positive ``points``).

        With the members and transactions, what `policies.ledger.replay` needs to book the
        ledger again.
        """
        if self.points_ledger is None:
            return pd.DataFrame({"member_id": [], "date": [], "points": []})
        redeemed = self.points_ledger[self.points_ledger["kind"] == "redeem"]
        return pd.DataFrame(
            {
                "member_id": redeemed["member_id"].to_numpy(),
                "date": redeemed["date"].to_numpy(),
                "points": -redeemed["points"].to_numpy(),
            }
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables present, by file name."""
        out = {
            "members": self.members,
            "transactions": self.transactions,
            "points_ledger": self.points_ledger,
            "campaigns_run": self.campaigns_run,
        }
        return {name: frame for name, frame in out.items() if frame is not None}

    def summary(self) -> pd.DataFrame:
        """Headline figures: members, purchases, baskets, points issued and redeemed."""
        tx = self.transactions
        symbol = self.truth.get("currency_symbol", "¥")
        rows = [
            ("members", len(self.members), ""),
            ("transactions", len(tx), ""),
            ("purchases per member", len(tx) / max(len(self.members), 1), ""),
            ("mean basket (gross)", float(tx["amount"].mean()) if len(tx) else 0.0, symbol),
            ("revenue (gross)", float(tx["amount"].sum()), symbol),
        ]
        if self.points_ledger is not None:
            by_kind = self.points_ledger.groupby("kind")["points"].sum()
            for kind in ("earn", "bonus", "redeem", "expire"):
                rows.append((f"points {kind}", int(by_kind.get(kind, 0)), "points"))
            rows.append(("points outstanding", int(self.points_ledger["points"].sum()), "points"))
        return pd.DataFrame(rows, columns=["figure", "value", "unit"])


Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    return None


# ---------------------------------------------------------------------------------------
# Calendar factors


def _days(first: dt.date, last: dt.date) -> pd.DatetimeIndex:
    return pd.date_range(first, last, freq="D")


def _new_year_run_up(days: pd.DatetimeIndex, length: int) -> np.ndarray:
    """Whether each day falls in the ``length`` days before Chinese New Year."""
    flags = np.zeros(len(days), dtype=bool)
    for year in sorted(set(days.year)):
        if year not in CHINESE_NEW_YEAR:
            known = sorted(CHINESE_NEW_YEAR)
            raise ValueError(
                f"the Chinese New Year date of {year} is not known: generate between"
                f" {known[0]}-01-01 and {known[-1]}-12-31"
            )
        festival = pd.Timestamp(CHINESE_NEW_YEAR[year])
        flags |= (days >= festival - pd.Timedelta(days=length)) & (days < festival)
    return flags


def _campaign_days(campaign: Campaign, days: pd.DatetimeIndex) -> np.ndarray:
    return np.array([campaign.runs_on(day.date()) for day in days], dtype=bool)


def rate_multipliers(
    policy: Policy, first: dt.date, last: dt.date, params: SampleParams = DEFAULT_PARAMS
) -> pd.Series:
    """The purchase-rate factor ``m(day)`` for each day from ``first`` to ``last``.

    The product of month, weekday, shopping-day, new-year and campaign factors, divided by
    its mean over the day's calendar year, so every full calendar year averages exactly 1.

    Returns:
        Series indexed by day (``DatetimeIndex``).
    """
    season = params.seasonality
    days = _days(dt.date(first.year, 1, 1), dt.date(last.year, 12, 31))
    raw = np.asarray(season.months)[days.month - 1] * np.asarray(season.weekdays)[days.day_of_week]
    keys = days.strftime("%m-%d")
    for key, factor in season.holidays.items():
        raw = np.where(keys == key, raw * factor, raw)
    raw = np.where(
        _new_year_run_up(days, season.new_year_days_before), raw * season.new_year_factor, raw
    )
    for campaign in _uplift_campaigns(policy, season):
        raw = np.where(
            _campaign_days(campaign, days), raw * season.campaign_uplift[campaign.kind], raw
        )
    factors = pd.Series(raw, index=days)
    factors = factors / factors.groupby(days.year).transform("mean")
    return factors.loc[pd.Timestamp(first) : pd.Timestamp(last)]


def _uplift_campaigns(policy: Policy, season: SeasonalityParams) -> list[Campaign]:
    """Campaigns that lift everyone's purchase rate on the days they run."""
    return [c for c in policy.campaigns if c.kind in season.campaign_uplift and not c.is_targeted]


def acquisition_weights(
    first: dt.date, last: dt.date, params: SampleParams = DEFAULT_PARAMS
) -> pd.Series:
    """Relative number of members joining on each day (sums to 1)."""
    acq = params.acquisition
    days = _days(first, last)
    weights = np.linspace(acq.trend_start, acq.trend_end, len(days))
    run_up = _new_year_run_up(days, params.seasonality.new_year_days_before)
    weights = np.where(run_up, weights * acq.new_year_factor, weights)
    keys = days.strftime("%m-%d")
    for start, end, factor in acq.peaks:
        weights = np.where((keys >= start) & (keys <= end), weights * factor, weights)
    return pd.Series(weights / weights.sum(), index=days)


# ---------------------------------------------------------------------------------------
# Members and purchases


def _member_ids(n: int) -> np.ndarray:
    width = max(7, len(str(n)))
    return np.char.add("M", np.char.zfill(np.arange(1, n + 1).astype(str), width))


def _choice(rng: np.random.Generator, shares: dict[str, Any], size: int, weight=None) -> np.ndarray:
    keys = list(shares)
    probs = np.array([weight(shares[k]) if weight else shares[k] for k in keys], dtype=float)
    return np.asarray(keys)[rng.choice(len(keys), size=size, p=probs / probs.sum())]


def _members(
    rng: np.random.Generator, n: int, first: dt.date, last: dt.date, params: SampleParams
) -> pd.DataFrame:
    weights = acquisition_weights(first, last, params)
    join = np.sort(rng.choice(weights.index.to_numpy(), size=n, p=weights.to_numpy()))
    profile = params.members
    age = np.clip(rng.normal(profile.age_mean, profile.age_sd, n), 18, 80)
    birthday = (join - (age * 365.25 * 86400).astype("timedelta64[s]")).astype("datetime64[D]")
    return pd.DataFrame(
        {
            "member_id": _member_ids(n),
            "join_date": pd.to_datetime(join),
            "birthday": pd.to_datetime(birthday),
            "gender": _choice(rng, profile.genders, n),
            "home_store": _choice(rng, profile.stores, n, weight=lambda v: v[1]),
            "channel": _choice(rng, profile.join_channels, n),
        }
    )


@dataclass(frozen=True)
class _Purchases:
    """Purchase days and amounts of a member chunk (member positions are global)."""

    member: np.ndarray  # position in the members frame
    day: np.ndarray  # day index from the start
    amount: np.ndarray


def _purchases(
    rng: np.random.Generator,
    join_day: np.ndarray,
    horizon: int,
    factors: np.ndarray,
    params: SampleParams,
) -> _Purchases:
    """BG/NBD purchases by thinning, and Gamma-Gamma amounts, for one chunk of members.

    ``join_day`` are day indices (0 = start), ``horizon`` the number of days in the history
    and ``factors`` the rate factor of each day.
    """
    n = join_day.size
    bg, gg = params.bgnbd, params.gamma_gamma
    lam = rng.gamma(bg.r, 1.0 / bg.alpha, n)
    p = rng.beta(bg.a, bg.b, n)
    # Repeat purchases before dropping out: dropout follows a repeat purchase w.p. p.
    lifetime_purchases = rng.geometric(np.clip(p, 1e-12, 1.0))
    nu = rng.gamma(gg.q, 1.0 / gg.gamma, n)

    top = float(factors.max())
    join_time = join_day + rng.random(n)  # the first purchase, inside the join day
    span = horizon - join_time
    candidates = rng.poisson(lam * top * span)
    owner = np.repeat(np.arange(n), candidates)
    times = join_time[owner] + rng.random(owner.size) * span[owner]
    day = np.minimum(times.astype(np.int64), horizon - 1)
    keep = rng.random(owner.size) * top < factors[day]
    owner, times, day = owner[keep], times[keep], day[keep]
    order = np.lexsort((times, owner))
    owner, day = owner[order], day[order]
    starts = np.searchsorted(owner, np.arange(n))
    rank = np.arange(owner.size) - starts[owner]  # 0 = first repeat purchase
    alive = rank < lifetime_purchases[owner]
    owner, day = owner[alive], day[alive]

    # The join purchase first, then repeat purchases; member-major order.
    member = np.concatenate([np.arange(n), owner])
    days = np.concatenate([join_day, day])
    order = np.lexsort((days, member))
    member, days = member[order], days[order]
    spend = rng.gamma(gg.p, 1.0 / nu[member])
    amount = np.maximum(np.round(spend, 2), 1.0)
    return _Purchases(member, days, amount)


def _channels_and_stores(
    rng: np.random.Generator, members: pd.DataFrame, owner: np.ndarray, params: SampleParams
) -> tuple[np.ndarray, np.ndarray]:
    profile = params.members
    n = owner.size
    own_channel = members["channel"].to_numpy()[owner]
    channel = np.where(
        rng.random(n) < profile.same_channel, own_channel, _choice(rng, profile.join_channels, n)
    )
    home = members["home_store"].to_numpy()[owner]
    other = _choice(rng, profile.stores, n, weight=lambda v: v[1])
    store = np.where(rng.random(n) < profile.home_store, home, other)
    store = np.where(channel == "store", store, profile.online_store)
    return channel, store


# ---------------------------------------------------------------------------------------
# Campaigns


def _birthday_matches(birthday: pd.Series, dates: pd.Series, scope: str) -> np.ndarray:
    b_month, b_day = birthday.dt.month.to_numpy(), birthday.dt.day.to_numpy()
    d_month, d_day = dates.dt.month.to_numpy(), dates.dt.day.to_numpy()
    if scope == "month":
        return b_month == d_month
    leap = dates.dt.is_leap_year.to_numpy()
    b_day = np.where((b_month == 2) & (b_day == 29) & ~leap, 28, b_day)
    return (b_month == d_month) & (b_day == d_day)


def _campaign_ids(policy: Policy, tx: pd.DataFrame, birthday: pd.Series) -> np.ndarray:
    """The untargeted campaigns whose offer applied to each purchase, ``;``-separated."""
    out = np.full(len(tx), "", dtype=object)
    unique_days = pd.DatetimeIndex(tx["date"].unique())
    for campaign in policy.campaigns:
        # Offers the log can label without member state: no target (birthdays match below).
        if not campaign.prices_purchases or not campaign.target.everyone:
            continue
        running = unique_days[_campaign_days(campaign, unique_days)]
        hit = tx["date"].isin(running).to_numpy().copy()
        if campaign.kind == "birthday":
            hit &= _birthday_matches(birthday, tx["date"], campaign.birthday_scope)
        if campaign.kind == "threshold_reduction":
            hit &= tx["amount"].to_numpy() >= campaign.threshold
        out[hit] = np.where(out[hit] == "", campaign.id, out[hit] + ";" + campaign.id)
    return out.astype(str)


def _target_text(campaign: Campaign) -> str:
    target = campaign.target
    parts = [
        f"{axis}={','.join(values)}"
        for axis, values in (
            ("tiers", target.tiers),
            ("lifecycle", target.lifecycle),
            ("quadrants", target.quadrants),
        )
        if values
    ]
    return "; ".join(parts) or "all members"


def _campaigns_run(
    policy: Policy, members: pd.DataFrame, tx: pd.DataFrame, first: dt.date, last: dt.date
) -> pd.DataFrame:
    """One row per campaign and calendar month it ran in, with its audience and cost.

    Contacts: members who had joined by the run's first day (birthday offers: those with a
    birthday in the month; activation: those who joined the month before; reactivation:
    those without a purchase for ``recency_days``). Cost: ``contact_cost`` per contact plus
    the campaign's ``fixed_cost`` on each run day when it recurs on a day of the month or a
    weekday, else once per month (the simulation engine's convention).
    """
    days = _days(first, last)
    joins = np.sort(members["join_date"].to_numpy())
    birth_month = members["birthday"].dt.month.to_numpy()
    join_dates = members["join_date"].to_numpy()
    rows = []
    for campaign in policy.campaigns:
        running = days[_campaign_days(campaign, days)]
        if not len(running):
            continue
        for _, month_days in pd.Series(running, index=running).groupby(running.to_period("M")):
            start, end = month_days.iloc[0], month_days.iloc[-1]
            recurrence = campaign.recurrence
            recurring = recurrence.day_of_month is not None or recurrence.weekday is not None
            charged = len(month_days) if recurring else 1
            joined = join_dates <= start.to_datetime64()
            if campaign.kind == "birthday":
                contacts = int((joined & (birth_month == start.month)).sum())
            elif campaign.kind == "activation":
                month_start = start.to_period("M").to_timestamp()
                previous = month_start - pd.offsets.MonthBegin(1)
                contacts = int(((join_dates >= previous) & (join_dates < month_start)).sum())
            elif campaign.kind == "reactivation":
                cutoff = start - pd.Timedelta(days=campaign.recency_days)
                recent = tx.loc[(tx["date"] < start) & (tx["date"] > cutoff), "member_id"]
                contacts = int(joined.sum()) - int(recent.nunique())
            else:
                contacts = int(np.searchsorted(joins, start.to_datetime64(), side="right"))
            rows.append(
                (
                    campaign.id,
                    campaign.name,
                    campaign.kind,
                    start,
                    end,
                    _target_text(campaign),
                    round(campaign.fixed_cost * charged + campaign.contact_cost * contacts, 2),
                    contacts,
                )
            )
    columns = ["campaign_id", "name", "kind", "start_date", "end_date", "target", "cost"]
    frame = pd.DataFrame(rows, columns=[*columns, "contacts"])
    return frame.sort_values(["start_date", "campaign_id"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# Redemption and the ledger


def _window_openings(policy: Policy, first: dt.date, last: dt.date) -> list[list[dt.date]]:
    """Days of each redemption-window occurrence inside the history, in order.

    With no windows (redemption any time), members decide once a year on 1..31 December.
    """
    windows = policy.points.redemption.windows
    openings = []
    for year in range(first.year, last.year + 1):
        for window in windows or ():
            # 29 February falls back to the 28th in common years, as birthdays do.
            start_day = min(window.start_day, _days_in_month(year, window.start_month))
            start = dt.date(year, window.start_month, start_day)
            end_year = year + (
                (window.end_month, window.end_day) < (window.start_month, window.start_day)
            )
            end = dt.date(
                end_year,
                window.end_month,
                min(
                    window.end_day,
                    _days_in_month(end_year, window.end_month),
                ),
            )
            openings.append((start, end))
        if not windows:
            openings.append((dt.date(year, 12, 1), dt.date(year, 12, 31)))
    out = []
    for start, end in sorted(openings):
        if start <= first or start > last:
            continue
        span = pd.date_range(start, min(end, last), freq="D")
        out.append([d.date() for d in span])
    return out


_days_in_month = compiled.plain(compiled.days_in_month)


def _redemption_requests(
    rng: np.random.Generator,
    policy: Policy,
    members: pd.DataFrame,
    purchases: pd.DataFrame,
    first: dt.date,
    last: dt.date,
    params: SampleParams,
    progress: Progress,
) -> pd.DataFrame:
    """Redemption requests, decided at each window opening from the replayed balances."""
    requests = pd.DataFrame({"member_id": [], "date": [], "points": []})
    openings = _window_openings(policy, first, last)
    truth = params.redemption
    coefs = np.asarray(truth.tier_coefs, dtype=float)
    redemption = policy.points.redemption
    for k, window in enumerate(openings):
        opening = window[0]
        progress(0.3 + 0.4 * k / max(len(openings), 1), f"balances before {opening.isoformat()}")
        stamp = pd.Timestamp(opening)
        joined = members["join_date"] < stamp
        before = purchases[purchases["date"] < stamp]
        state = replay(
            policy,
            members.loc[joined, ["member_id", "join_date", "birthday"]],
            before,
            requests if len(requests) else None,
            start=first,
            end=opening - dt.timedelta(days=1),
        )
        ids = members.loc[joined, "member_id"].to_numpy()
        accounts = [state.accounts[m] for m in ids]
        balance = np.array([a.balance for a in accounts], dtype=np.int64)
        tier = np.array([a.tier for a in accounts], dtype=np.int64)
        used = np.array([a.redeemed_by_year[opening.year] for a in accounts], dtype=np.int64)
        redeemable = rules.redeemable_points(policy, opening, balance, used)
        eligible = redeemable > 0
        score = (
            truth.intercept
            + truth.balance_coef * np.log1p(balance / truth.balance_scale)
            + coefs[np.minimum(tier, coefs.size - 1)]
        )
        chance = 1.0 / (1.0 + np.exp(-score))
        # Draw for everyone (fixed stream per window), use only the eligible.
        redeem = eligible & (rng.random(ids.size) < chance)
        when = rng.integers(0, len(window), ids.size)
        unit = redemption.unit_points
        wanted = np.floor(redeemable * truth.redeem_share / unit).astype(np.int64) * unit
        wanted = np.minimum(np.maximum(wanted, redemption.minimum_points), redeemable)
        new = pd.DataFrame(
            {
                "member_id": ids[redeem],
                "date": pd.to_datetime([window[i] for i in when[redeem]]),
                "points": wanted[redeem],
            }
        )
        requests = pd.concat([requests, new], ignore_index=True) if len(requests) else new
    if len(requests):
        requests = requests.sort_values(["date", "member_id"], kind="stable")
    return requests.reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# The whole program


def _resolve_policy(policy: Policy | str | Path | None) -> tuple[Policy, str]:
    if policy is None:
        policy = CLASSIC_POLICY
    if isinstance(policy, Policy):
        return policy, "(in memory)"
    path = Path(policy)
    loaded = load_policy(path)
    try:
        name = path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        name = path.resolve().as_posix()
    return loaded, name


def generate(
    n_members: int = 20_000,
    seed: int | None = 2026,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
    policy: Policy | str | Path | None = None,
    *,
    params: SampleParams = DEFAULT_PARAMS,
    ledger: bool = True,
    progress: Progress | None = None,
) -> SampleProgram:
    """Generate a sample membership program.

    Args:
        n_members: members joining between ``start`` and ``end``.
        seed: seed of the one `numpy.random.SeedSequence` everything is drawn from (None:
            fresh entropy, recorded in the truth as the seed).
        start: first day of the history (program launch).
        end: last day of the history (the generation end date).
        policy: the policy in force: a `Policy`, a policy file, or None for the classic
            four-tier example.
        params: the ground truth (defaults: `DEFAULT_PARAMS`).
        ledger: book points through the policy (replay); without it there is no
            ``points_ledger``, no redemptions and no priced columns (much faster).
        progress: called with (fraction done, message).

    Returns:
        The `SampleProgram` (tables and truth).
    """
    progress = progress or _no_progress
    if n_members < 1:
        raise ValueError(f"n_members(={n_members}) must be at least 1")
    start, end = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    if end <= start:
        raise ValueError(f"end(={end.isoformat()}) must be after start(={start.isoformat()})")
    check_params(params)
    policy, policy_name = _resolve_policy(policy)
    root = np.random.SeedSequence(seed)
    seed = int(root.entropy) if seed is None else seed  # recorded, so any run can be redone
    streams = root.spawn(4)
    member_rng, redemption_rng, channel_rng = (np.random.default_rng(s) for s in streams[:3])

    progress(0.0, f"{n_members:,} members")
    members = _members(member_rng, n_members, start, end, params)
    factors = rate_multipliers(policy, start, end, params).to_numpy()
    horizon = factors.size
    join_day = (members["join_date"] - pd.Timestamp(start)).dt.days.to_numpy()

    chunks = range(0, n_members, CHUNK_MEMBERS)
    chunk_seeds = streams[3].spawn(len(chunks))
    owners, days, amounts = [], [], []
    for k, (lo, chunk_seed) in enumerate(zip(chunks, chunk_seeds, strict=True)):
        hi = min(lo + CHUNK_MEMBERS, n_members)
        bought = _purchases(
            np.random.default_rng(chunk_seed), join_day[lo:hi], horizon, factors, params
        )
        owners.append(bought.member + lo)
        days.append(bought.day)
        amounts.append(bought.amount)
        progress(0.3 * (k + 1) / len(chunks), f"purchases of members {lo + 1:,}-{hi:,}")
    owner = np.concatenate(owners)
    day = np.concatenate(days)
    order = np.lexsort((owner, day))  # by date, then member (and each member's own order)
    owner, day = owner[order], day[order]
    amount = np.concatenate(amounts)[order]

    width = max(9, len(str(owner.size)))
    tx = pd.DataFrame(
        {
            "transaction_id": np.char.add(
                "T", np.char.zfill(np.arange(1, owner.size + 1).astype(str), width)
            ),
            "member_id": members["member_id"].to_numpy()[owner],
            "date": pd.Timestamp(start) + pd.to_timedelta(day, unit="D"),
            "amount": amount,
        }
    )
    channel, store = _channels_and_stores(channel_rng, members, owner, params)
    birthday = members["birthday"].iloc[owner].reset_index(drop=True)
    campaign_ids = _campaign_ids(policy, tx, birthday)

    points_ledger = None
    if ledger:
        requests = _redemption_requests(
            redemption_rng, policy, members, tx, start, end, params, progress
        )
        progress(0.7, f"booking {len(tx):,} purchases through the policy")
        booked = replay(
            policy,
            members[["member_id", "join_date", "birthday"]],
            tx[["transaction_id", "member_id", "date", "amount"]],
            requests if len(requests) else None,
            start=start,
            end=end,
        )
        priced = booked.purchases.set_index("transaction_id").loc[tx["transaction_id"]]
        tx["discount"] = priced["discount"].to_numpy()
        tx["net_amount"] = priced["net_amount"].to_numpy()
        tx["points_earned"] = priced["points_earned"].to_numpy().astype(np.int64)
        entries = booked.entries
        points_ledger = pd.DataFrame(
            {
                "entry_id": np.char.add(
                    "E",
                    np.char.zfill(
                        np.arange(1, len(entries) + 1).astype(str), max(9, len(str(len(entries))))
                    ),
                ),
                "member_id": entries["member_id"].astype(str).to_numpy(),
                "date": pd.to_datetime(entries["date"]),
                "kind": entries["kind"].astype(str).to_numpy(),
                "points": entries["points"].astype(np.int64).to_numpy(),
                "transaction_id": entries["transaction_id"].astype(str).to_numpy(),
                "note": entries["note"].astype(str).to_numpy(),
            }
        )
    tx["store_id"] = store
    tx["channel"] = channel
    tx["campaign_ids"] = campaign_ids

    progress(0.95, "campaign calendar")
    campaigns = _campaigns_run(policy, members, tx, start, end)
    truth = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "n_members": n_members,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "generation_end": end.isoformat(),
        "time_unit": "day",
        "currency": policy.program.currency,
        "currency_symbol": policy.program.currency_symbol,
        "policy": {"file": policy_name, "content_id": content_id(policy)},
        "ledger": ledger,
        **params.to_dict(),
        "chinese_new_year": {
            str(year): CHINESE_NEW_YEAR[year].isoformat()
            for year in range(start.year, end.year + 1)
        },
        "uplift_campaigns": [c.id for c in _uplift_campaigns(policy, params.seasonality)],
        "notes": {
            "purchases": "BG/NBD: the join day is the first purchase; lambda ~ Gamma(r, alpha)"
            " per day (alpha is a rate); dropout with probability p ~ Beta(a, b) after each"
            " repeat purchase; the rate is multiplied by the seasonality factor m(day)",
            "seasonality": "m(day) = months x weekdays x holidays x new-year run-up x"
            " campaign uplift, divided by its mean over the day's calendar year (mean 1)",
            "spend": "Gamma-Gamma: spend ~ Gamma(shape p, rate nu), nu ~ Gamma(shape q, rate"
            " gamma); rounded to cents, at least 1.00",
            "redemption": "at each redemption-window opening, members with a"
            " redeemable balance redeem with probability logistic(intercept + balance_coef *"
            " log1p(balance / balance_scale) + tier_coefs[tier]) on a uniform day of the"
            " window, redeem_share of the redeemable balance in whole units (at least the"
            " minimum)",
        },
    }
    progress(1.0, "done")
    return SampleProgram(
        _with_day_dates("members", members),
        _with_day_dates("transactions", tx),
        None if points_ledger is None else _with_day_dates("points_ledger", points_ledger),
        _with_day_dates("campaigns_run", campaigns),
        truth,
    )


def expected_repeat_purchases(
    operational_days: np.ndarray, bgnbd: BGNBDTruth = BGNBDTruth()
) -> np.ndarray:
    """BG/NBD expected repeat purchases in ``t`` (operational) days after the first purchase.

    ``E[X(t) | lambda, p] = (1 - exp(-lambda p t)) / p`` (Fader, Hardie & Lee 2005, eq. 6
    before mixing); mixing over ``lambda ~ Gamma(r, alpha)`` gives
    ``(1 - (alpha / (alpha + p t))^r) / p``, then over ``p ~ Beta(a, b)`` numerically (valid
    for any ``a``, unlike the closed form that needs ``a > 1``).
    """
    from scipy import special

    t = np.atleast_1d(np.asarray(operational_days, dtype=float))
    # Gauss-Jacobi nodes integrate against the Beta(a, b) density exactly; the remaining
    # factor is smooth on [0, 1] (it tends to r t / alpha as p -> 0).
    nodes, weights = special.roots_jacobi(80, bgnbd.b - 1.0, bgnbd.a - 1.0)
    p = (1.0 + nodes) / 2.0
    weights = weights / weights.sum()
    x = p[None, :] * t[:, None] / (bgnbd.alpha + p[None, :] * t[:, None])
    per_p = -np.expm1(bgnbd.r * np.log1p(-x)) / p[None, :]  # 1 - (1 - x)^r, stably
    return per_p @ weights


# ---------------------------------------------------------------------------------------
# Files


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV text (dates as ``YYYY-MM-DD``, money with two decimals)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            # numpy's day-precision strings are much faster than strftime on millions of rows
            out[column] = out[column].to_numpy().astype("datetime64[D]").astype(str)
    out.to_csv(path, index=False, lineterminator="\n", float_format="%.2f", encoding="utf-8")


def _gzip_file(source: Path, target: Path) -> None:
    """Compress ``source`` into ``target`` in a stream; ``mtime=0`` keeps bytes reproducible."""
    with (
        open(source, "rb") as raw,
        open(target, "wb") as packed,
        gzip.GzipFile(filename="", mode="wb", fileobj=packed, compresslevel=6, mtime=0) as z,
    ):
        shutil.copyfileobj(raw, z, length=1 << 20)


def write(program: SampleProgram, folder: str | Path) -> Path:
    """Write the program's tables (CSV, gzip when large) and ``truth.json`` into ``folder``.

    Atomic: everything is written into a temporary folder next to ``folder`` and renamed
    into place, so readers see the old program or the new one, never a mix.

    Returns:
        The folder written.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; the data folder is shared read-only
    old = None
    try:
        for name, frame in program.tables().items():
            path = tmp / f"{name}.csv"
            _write_csv(frame, path)
            if path.stat().st_size > GZIP_ABOVE_BYTES:
                _gzip_file(path, tmp / f"{name}.csv.gz")
                path.unlink()
        (tmp / "truth.json").write_text(
            json.dumps(program.truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        for path in tmp.iterdir():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.replace(folder, old)
        os.replace(tmp, folder)
    except BaseException:
        if old is not None and not folder.exists():
            os.replace(old, folder)
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return folder


_DATE_COLUMNS = {
    "members": ("join_date", "birthday"),
    "transactions": ("date",),
    "points_ledger": ("date",),
    "campaigns_run": ("start_date", "end_date"),
}
_TEXT_COLUMNS = {
    "transactions": ("campaign_ids", "transaction_id", "member_id", "store_id", "channel"),
    "points_ledger": ("transaction_id", "note", "entry_id", "member_id", "kind"),
    "members": ("member_id", "gender", "home_store", "channel"),
    "campaigns_run": ("campaign_id", "name", "kind", "target"),
}


def _with_day_dates(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Date columns as ``datetime64[ns]`` whatever unit pandas parsed or built them in."""
    for column in _DATE_COLUMNS[name]:
        frame[column] = frame[column].astype("datetime64[ns]")
    return frame


def _read_table(folder: Path, name: str) -> pd.DataFrame | None:
    for candidate in (folder / f"{name}.csv", folder / f"{name}.csv.gz"):
        if candidate.exists():
            text_columns = _TEXT_COLUMNS.get(name, ())
            frame = pd.read_csv(
                candidate,
                dtype={c: str for c in text_columns},
                keep_default_na=False,
                na_values={c: [""] for c in _DATE_COLUMNS.get(name, ())},
            )
            for column in _DATE_COLUMNS.get(name, ()):
                frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
            return _with_day_dates(name, frame)
    return None


def load_sample(folder: str | Path | None = None) -> SampleProgram:
    """Read a sample program written by `write` (default: the shipped copy).

    Raises:
        FileNotFoundError: a required table or ``truth.json`` is missing, naming the folder
            and the command that writes one.
    """
    folder = SHIPPED_FOLDER if folder is None else Path(folder)
    truth_path = folder / "truth.json"
    hint = "write one with: python -m sample_data --out FOLDER"
    if not truth_path.exists():
        raise FileNotFoundError(f"{folder} holds no sample program (no truth.json); {hint}")
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    tables = {name: _read_table(folder, name) for name in FILES}
    for name in ("members", "transactions", "campaigns_run"):
        if tables[name] is None:
            raise FileNotFoundError(f"{folder}: {name}.csv(.gz) is missing; {hint}")
    if truth.get("ledger", True) and tables["points_ledger"] is None:
        raise FileNotFoundError(f"{folder}: points_ledger.csv(.gz) is missing; {hint}")
    return SampleProgram(
        tables["members"],
        tables["transactions"],
        tables["points_ledger"],
        tables["campaigns_run"],
        truth,
    )
