"""Behavior parameters: what members do, as the simulator needs it.

One `BehaviorParams` object holds every assumption about member behavior the simulator
uses. It is written by calibration (``python -m simulations calibrate``) as JSON and read by
the engine; without a file, `DEFAULT_BEHAVIOR` is used. Every number is editable, and each
default says where it comes from.

Model structure:

* **Purchases and dropout** follow BG/NBD (Fader, Hardie & Lee 2005, "Counting Your
  Customers the Easy Way", Marketing Science 24(2)): while alive a member buys as a Poisson
  process with rate ``lambda ~ Gamma(r, alpha)``; after each purchase the member drops out
  with probability ``p ~ Beta(a, b)``. Rates are per ``time_unit``.
* **Spend per purchase** follows Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV",
  Journal of Marketing Research 42(4)): spend ~ Gamma(p, nu), nu ~ Gamma(q, gamma).
* **Seasonality**: a purchase-rate multiplier per calendar month and per day of week, plus
  multipliers for named shopping days: fixed dates keyed ``MM-DD`` (618, Double 11, Double
  12) and the movable Chinese New Year run-up (key ``new_year``: the `NEW_YEAR_RUN_UP_DAYS`
  days before the Spring Festival, which falls between 21 January and 20 February, so a
  fixed month effect cannot carry it).
* **Campaign uplift**: purchase-rate multiplier on the days a campaign of each kind runs.
* **Redemption propensity**: each month a redemption window is open, a member with a
  redeemable balance redeems with probability ``logistic(intercept + balance_coef *
  log1p(balance / balance_scale) + tier_coefs[tier])`` and then redeems ``redeem_share`` of
  the redeemable balance (rounded down to the redemption unit).
* **Program effects** (the levers a policy pulls), defaults from published research.

Extending the model
-------------------
`BehaviorParams` is the extension point for an analyst's own assumptions: the engine reads
nothing about behavior from anywhere else, so an assumption expressed through its fields
runs unchanged in the engine, the app, sweeps and ``python -m simulations run --behavior``.
Write the assumption as a function from parameters to parameters (e.g. refit
``redemption.intercept`` and ``balance_coef`` to a client's survey of redemption by
balance, or set ``campaign_uplift.member_day`` from a test) and build the result with
``BehaviorParams.model_validate(data)`` (not ``model_copy(update=...)``, which skips
validation), so a value the engine cannot use is refused naming the field; `save_behavior`
makes it a file. ``notebooks/07_extend_behavior.ipynb`` walks through one against the
default. An assumption the fields cannot express (a new mechanism) belongs in the engine.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from policies.festivals import LUNAR_NEW_YEAR

if TYPE_CHECKING:
    from policies.model import Campaign, Policy

__all__ = [
    "ASSUMED",
    "ASSUMED_PARAMETERS",
    "DEFAULT_BEHAVIOR",
    "BGNBDParams",
    "BehaviorParams",
    "CampaignUplift",
    "GammaGammaParams",
    "ProgramEffects",
    "RedemptionParams",
    "flat_parameters",
    "load_behavior",
    "parameter_sources",
    "reward_pct",
    "save_behavior",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BGNBDParams(_Frozen):
    """BG/NBD parameters, named as in Fader, Hardie & Lee (2005).

    ``r`` and ``alpha`` are the shape and rate of the Gamma distribution of purchase rates
    (so the mean rate is ``r / alpha`` purchases per time unit); ``a`` and ``b`` are the Beta
    distribution of the dropout probability after each purchase.
    """

    r: float = Field(0.75, gt=0)
    alpha: float = Field(22.0, gt=0)
    a: float = Field(0.40, gt=0)
    b: float = Field(6.0, gt=0)


class GammaGammaParams(_Frozen):
    """Gamma-Gamma spend parameters (Fader, Hardie & Lee 2005, "RFM and CLV").

    The mean spend per purchase across members is ``p * gamma / (q - 1)`` (for ``q > 1``).
    Defaults give about ¥250 per purchase, a department-store member basket.
    """

    p: float = Field(6.0, gt=0)
    q: float = Field(4.0, gt=0)
    gamma: float = Field(125.0, gt=0)


class CampaignUplift(_Frozen):
    """Purchase-rate multipliers on the days a campaign of each kind runs for a member.

    Defaults are conservative readings of promotion-lift studies: member days concentrate
    purchases (the documents report member-day sales several times an ordinary day, mostly
    shifted from other days), bonus-points events lift frequency modestly (Taylor & Neslin
    2005), threshold reductions (满减) lift baskets and visits.
    """

    member_day: float = Field(1.6, ge=0)
    bonus_points: float = Field(1.15, ge=0)
    birthday: float = Field(1.3, ge=0)
    threshold_reduction: float = Field(1.25, ge=0)
    redemption_event: float = Field(1.1, ge=0)
    activation: float = Field(1.5, ge=0)
    reactivation: float = Field(1.0, ge=0)


class RedemptionParams(_Frozen):
    """Monthly redemption propensity (logistic in log balance and tier)."""

    intercept: float = -2.2
    balance_coef: float = 0.9
    balance_scale: float = Field(1000.0, gt=0)
    tier_coefs: tuple[float, ...] = (0.0, 0.15, 0.3, 0.45)
    redeem_share: float = Field(0.8, gt=0, le=1)


class ProgramEffects(_Frozen):
    """How the program changes behavior; each default cites the research it leans on.

    * ``tier_rate_lift``: purchase-rate lift per tier level above the entry tier. Status in
      a tiered program raises spending (Drèze & Nunes 2009, "Feeling Superior", JCR 35(6);
      Kopalle et al. 2012, "The Joint Sales Impact of Frequency Reward and Customer Tier
      Components of Loyalty Programs", Marketing Science 31(2)).
    * ``tier_dropout_reduction``: relative cut in dropout probability per tier level
      (status members are more loyal; Kopalle et al. 2012).
    * ``goal_gradient_lift``: maximum purchase-rate lift as a member's qualifying score
      approaches the next tier threshold, growing linearly from ``goal_gradient_start`` of the
      way there (Kivetz, Urminsky & Zheng 2006, "The Goal-Gradient Hypothesis Resurrected",
      JMR 43(1)).
    * ``post_redemption_lift`` for ``post_redemption_days`` after a redemption ("rewarded
      behavior", Taylor & Neslin 2005, Journal of Retailing 81(4)).
    * ``reactivation_response``: share of contacted dormant members who come back (direct
      contact response rates of a few percent).
    * ``discount_rate_lift``: purchase-rate lift per percentage point of member discount.
    * ``contact_effect_days``: how long a contact (activation/reactivation message or call)
      lifts the contacted member's purchase rate, and the window in which a contacted member
      who had dropped out comes back; direct-marketing response windows of a few weeks
      (Blattberg, Kim & Neslin 2008, "Database Marketing", ch. 10).
    * ``reward_rate_lift``: purchase-rate lift per percentage point of *reward rate*, the
      value a member gets back per unit of spend (`reward_pct`: points per unit of currency
      x point value, times the tier's earn multiplier; on a campaign day the campaign's extra
      points at the base rate). Members buy more where a purchase earns more: points
      pressure (Taylor & Neslin 2005, "The Current and Future Sales Impact of a Retail
      Frequency Reward Program", Journal of Retailing 81(4); Kopalle et al. 2012) and effort
      rising with the reward's value (Kivetz, Urminsky & Zheng 2006). The reviews find these
      effects positive but modest and uneven across members (Dorotic, Bijmolt & Verhoef 2012,
      "Loyalty Programmes: Current Knowledge and Research Directions", IJMR 14(3);
      Breugelmans et al. 2015, "Advancing Research on Loyalty Programs: A Future Research
      Agenda", Marketing Letters 26(2)); none gives a rate per point of value back a retailer
      could carry over. The default 0.01 is therefore an **assumption**: a percentage point of
      value back moves purchases as much as a percentage point of member discount
      (``discount_rate_lift``), so doubling a 1%-back program adds about 1% to purchases.
      Calibration cannot estimate it from one program's history (the reward rate did not
      vary), so its source is always ``assumed`` (`parameter_sources`); set it from a test or
      a survey, or to 0 to switch the response off. Balance-band earn rates
      (``points.earn.balance_bands``) and the expiry period do not enter it (see
      `simulations.responses`).
    """

    tier_rate_lift: float = Field(0.05, ge=0)
    tier_dropout_reduction: float = Field(0.10, ge=0, le=1)
    goal_gradient_lift: float = Field(0.15, ge=0)
    goal_gradient_start: float = Field(0.7, ge=0, lt=1)
    post_redemption_lift: float = Field(0.10, ge=0)
    post_redemption_days: int = Field(60, ge=0)
    reactivation_response: float = Field(0.05, ge=0, le=1)
    discount_rate_lift: float = Field(0.01, ge=0)
    contact_effect_days: int = Field(30, ge=0, le=365)
    reward_rate_lift: float = Field(0.01, ge=0, le=1)

    def rate_factor(self, discount_pct=0.0, reward_pct=0.0):
        """Purchase-rate multiplier of a member discount and a reward rate, both in percent.

        ``(1 + discount_rate_lift x discount_pct) x (1 + reward_rate_lift x reward_pct)``;
        numbers or numpy arrays (one value per tier).
        """
        return (1 + self.discount_rate_lift * discount_pct) * (
            1 + self.reward_rate_lift * reward_pct
        )


NEW_YEAR = "new_year"
"""Key of the Chinese New Year run-up in ``holiday_uplift`` (a movable shopping period)."""
NEW_YEAR_RUN_UP_DAYS = 14
"""Days before the Spring Festival counted as its shopping run-up (festival day excluded)."""


def in_new_year_run_up(day: dt.date) -> bool:
    """Whether ``day`` is one of the `NEW_YEAR_RUN_UP_DAYS` days before the Spring Festival.

    Raises:
        ValueError: the festival date of ``day``'s year is not in `LUNAR_NEW_YEAR`.
    """
    festival = LUNAR_NEW_YEAR.get(day.year)
    if festival is None:
        raise ValueError(
            f"the Chinese New Year date of {day.year} is not known (known: {min(LUNAR_NEW_YEAR)}"
            f"..{max(LUNAR_NEW_YEAR)}): set holiday_uplift.{NEW_YEAR} to 1 or drop it"
        )
    return 0 < (festival - day).days <= NEW_YEAR_RUN_UP_DAYS


def _default_months() -> tuple[float, ...]:
    # Chinese retail: strong January/February (New Year), June (618), November (Double 11),
    # December (Double 12 and year end); quiet March, August and September.
    return (1.20, 1.10, 0.90, 0.95, 0.95, 1.10, 0.90, 0.85, 0.90, 1.00, 1.15, 1.00)


class BehaviorParams(_Frozen):
    """Everything the simulator assumes about member behavior.

    Attributes:
        time_unit: the unit of the BG/NBD rate parameters (``alpha``): ``day`` or ``week``.
        bgnbd: purchase frequency and dropout.
        gamma_gamma: spend per purchase.
        month_seasonality: purchase-rate multiplier per calendar month (Jan..Dec).
        weekday_seasonality: purchase-rate multiplier per weekday (Mon..Sun).
        holiday_uplift: multiplier on named shopping days, keyed by ``MM-DD``, and on the
            Chinese New Year run-up, keyed `NEW_YEAR` (see `holiday_factor`).
        campaign_uplift: multiplier on campaign days, by campaign kind.
        redemption: redemption propensity.
        effects: program effects (tiers, goal gradient, redemption, reactivation).
        calendar_mean: derived by calibration, not a model parameter: the mean calendar
            multiplier (seasonality x campaign x holiday uplift) over the calibration days.
            The BG/NBD rate is the *average* rate over those days, so the engine divides it by
            this to get an ordinary day's rate before applying the calendar (1 = no scaling).
        program_effect_mean: derived by calibration: how much the program effects
            (``effects``) raise purchases of the calibration members under the policy in
            force when the data was recorded. The fitted rates already contain those effects,
            so the engine divides by this: simulating that policy reproduces the fitted
            behavior, and another policy moves it by the difference (1 = effects on top).
        new_members_per_month: expected new members in the month ``new_members_origin``
            (before the month multiplier); every month when there is no origin.
        new_members_trend: growth of expected new members per month on the log scale
            (0 = flat); counted from ``new_members_origin``.
        new_members_origin: the month (``YYYY-MM``) ``new_members_per_month`` refers to, or
            None (no trend).
        new_members_seasonality: multiplier of expected new members per calendar month
            (Jan..Dec; all 1 = no month pattern). See `expected_new_members`.
        recorded_arrivals: new members per calendar month (``YYYY-MM``) taken as given
            instead of drawn (a backtest with the recorded sign-ups); months not listed draw
            from ``new_members_per_month``.
        source: where the numbers come from (``default`` or a calibration description).
        diagnostics: free-form calibration report (standard errors, convergence, holdout).
    """

    time_unit: Literal["day", "week"] = "day"
    bgnbd: BGNBDParams = BGNBDParams()
    gamma_gamma: GammaGammaParams = GammaGammaParams()
    month_seasonality: tuple[float, ...] = Field(default_factory=_default_months)
    weekday_seasonality: tuple[float, ...] = (0.95, 0.92, 0.95, 0.98, 1.05, 1.10, 1.05)
    holiday_uplift: dict[str, float] = Field(
        default_factory=lambda: {"06-18": 2.0, "11-11": 2.5, "12-12": 1.8}
    )
    campaign_uplift: CampaignUplift = CampaignUplift()
    redemption: RedemptionParams = RedemptionParams()
    effects: ProgramEffects = ProgramEffects()
    calendar_mean: float = Field(1.0, gt=0)
    program_effect_mean: float = Field(1.0, gt=0)
    new_members_per_month: float = Field(400.0, ge=0)
    new_members_trend: float = Field(0.0, allow_inf_nan=False)
    new_members_origin: str | None = None
    new_members_seasonality: tuple[float, ...] = (1.0,) * 12
    recorded_arrivals: dict[str, int] = Field(default_factory=dict)
    source: str = "default"
    diagnostics: dict = Field(default_factory=dict)

    @field_validator("month_seasonality")
    @classmethod
    def _twelve_months(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) != 12 or min(value) < 0:
            raise ValueError(f"month_seasonality(={value}) must be 12 non-negative multipliers")
        return value

    @field_validator("weekday_seasonality")
    @classmethod
    def _seven_days(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) != 7 or min(value) < 0:
            raise ValueError(f"weekday_seasonality(={value}) must be 7 non-negative multipliers")
        return value

    @field_validator("new_members_seasonality")
    @classmethod
    def _twelve_arrival_months(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) != 12 or min(value) < 0:
            raise ValueError(
                f"new_members_seasonality(={value}) must be 12 non-negative multipliers"
            )
        return value

    @field_validator("new_members_origin")
    @classmethod
    def _origin_month(cls, value: str | None) -> str | None:
        if value is not None and not _is_month(value):
            raise ValueError(f"new_members_origin(={value!r}) must be a month YYYY-MM or null")
        return value

    @field_validator("recorded_arrivals")
    @classmethod
    def _arrival_months(cls, value: dict[str, int]) -> dict[str, int]:
        for month, count in value.items():
            if not _is_month(month):
                raise ValueError(f"recorded_arrivals: month {month!r} is not YYYY-MM")
            if count < 0:
                raise ValueError(f"recorded_arrivals[{month}](={count}) must be >= 0")
        return value

    def expected_new_members(self, year: int, month: int) -> float:
        """Expected new members in a calendar month (the engine draws Poisson around it).

        ``new_members_per_month x exp(new_members_trend x k) x new_members_seasonality[month]``
        with ``k`` the months from ``new_members_origin`` (the trend is left out without an
        origin). A trend extrapolates: over long horizons read it with its uncertainty.
        """
        level = self.new_members_per_month * self.new_members_seasonality[month - 1]
        if self.new_members_origin is None or self.new_members_trend == 0:
            return level
        origin_year, origin_month = (int(v) for v in self.new_members_origin.split("-"))
        k = (year - origin_year) * 12 + (month - origin_month)
        return level * math.exp(self.new_members_trend * k)

    def holiday_factor(self, day: dt.date) -> float:
        """The shopping-day multiplier of ``day``: its ``MM-DD`` uplift times the new-year one.

        Raises:
            ValueError: a new-year uplift other than 1 on a year whose festival date is not
                known.
        """
        factor = self.holiday_uplift.get(f"{day.month:02d}-{day.day:02d}", 1.0)
        new_year = self.holiday_uplift.get(NEW_YEAR, 1.0)
        if new_year != 1.0 and day.month <= 2 and in_new_year_run_up(day):
            factor *= new_year
        return factor

    def campaign_factor(self, campaign: Campaign, base_reward_pct: float) -> float:
        """Purchase-rate multiplier on a day ``campaign`` applies to a member.

        Its kind's ``campaign_uplift`` times the response (`ProgramEffects.rate_factor`) to
        its extra discount and to its extra reward: ``(points_multiplier - 1) x
        base_reward_pct`` (`reward_pct` of the policy), so a triple-points day lifts more than
        a double-points one. The uplift itself is the kind's as configured or estimated.
        """
        extra_reward = (campaign.points_multiplier - 1.0) * base_reward_pct
        uplift = getattr(self.campaign_uplift, campaign.kind)
        return uplift * self.effects.rate_factor(campaign.discount_pct, extra_reward)

    def daily_rate_scale(self) -> float:
        """Factor turning a rate per ``time_unit`` into a rate per day."""
        return 1.0 if self.time_unit == "day" else 1.0 / 7.0

    def rate_divisor(self) -> float:
        """What the engine divides each member's BG/NBD purchase rate by.

        A BG/NBD rate (drawn from the prior for new members, from the posterior given the
        history for existing ones) is the member's *average* rate over the calibration days,
        calendar and program effects included; dividing by ``calendar_mean x
        program_effect_mean`` gives the ordinary-day rate the engine multiplies by the
        calendar and the effects again.
        """
        return self.calendar_mean * self.program_effect_mean


def _is_month(value: str) -> bool:
    return (
        len(value) == 7
        and value[4] == "-"
        and (value[:4] + value[5:]).isdigit()
        and (1 <= int(value[5:]) <= 12)
    )


DEFAULT_BEHAVIOR = BehaviorParams()


def reward_pct(policy: Policy) -> float:
    """The reward rate at the base earn rate: value back in percent of spend.

    ``points_per_unit / per_amount x point_value x 100`` (1 point per ¥1 at ¥0.01 a point is
    1%); a tier's rate is this times its ``earn_multiplier``. What members respond to through
    `ProgramEffects.reward_rate_lift`; the company's cost per point does not enter it.
    """
    earn = policy.points.earn
    return 100.0 * earn.points_per_unit / earn.per_amount * policy.points.redemption.point_value


SET_BY_USER = "set by user"
"""Source of a parameter whose value differs from the one its recorded source gave it."""

ASSUMED = "assumed: literature-based, not estimable from one program's history"
"""Source of a parameter no calibration can estimate (e.g. ``effects.reward_rate_lift``: the
user's data hold one reward rate); shown as *assumed* wherever sources are listed."""

ASSUMED_PARAMETERS = ("effects.reward_rate_lift",)
"""Parameters whose source is always `ASSUMED` (unless a user set another value)."""


def flat_parameters(behavior: BehaviorParams) -> dict[str, object]:
    """Every parameter with a source, by the name `parameter_sources` uses (JSON values)."""
    data = behavior.model_dump(mode="json")
    out: dict[str, object] = {}
    for model in ("bgnbd", "gamma_gamma", "campaign_uplift", "effects"):
        out.update({f"{model}.{k}": v for k, v in data[model].items()})
    for name in ("intercept", "balance_coef", "redeem_share", "tier_coefs"):
        out[f"redemption.{name}"] = data["redemption"][name]
    out.update({f"holiday_uplift.{day}": v for day, v in data["holiday_uplift"].items()})
    for name in ("month_seasonality", "weekday_seasonality", "calendar_mean",
                 "program_effect_mean", "new_members_per_month", "new_members_trend",
                 "new_members_origin", "new_members_seasonality"):  # fmt: skip
        out[name] = data[name]
    return out


def parameter_sources(behavior: BehaviorParams) -> dict[str, str]:
    """Where each parameter of ``behavior`` comes from, including the user's own values.

    Calibration records every parameter's source (``estimated``, ``derived``, ``not
    estimated: neutral``, ``default: ...`` or `ASSUMED`) and value in ``diagnostics``; without that
    record the built-in `DEFAULT_BEHAVIOR` is the reference (``default: ...``). A value
    that differs from its reference (edited in the file, or given in code) is ``set by
    user``: a forecast then says which of its numbers nobody estimated.
    """
    recorded = behavior.diagnostics.get("parameter_sources") or {}
    values = behavior.diagnostics.get("calibrated_values") or {}
    default = "default: BehaviorParams (see its documentation for the research cited)"
    builtin = flat_parameters(DEFAULT_BEHAVIOR)
    out = {}
    for name, value in flat_parameters(behavior).items():
        if name in recorded and name in values:
            source, reference = recorded[name], values[name]
        else:
            source, reference = default, builtin.get(name)
        if name in ASSUMED_PARAMETERS:
            source = ASSUMED
        out[name] = source if _same(value, reference) else SET_BY_USER
    return out


def _same(a, b) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def load_behavior(path: str | Path) -> BehaviorParams:
    """Read behavior parameters from a JSON file written by `save_behavior`."""
    return BehaviorParams.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


def save_behavior(params: BehaviorParams, path: str | Path) -> None:
    """Write behavior parameters as JSON (written whole or not at all)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(params.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(target)
