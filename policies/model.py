"""The policy model: what a loyalty program *is*, validated.

A `Policy` is a frozen pydantic model made of:

* `Program`: name, currency, timezone, locale, effective date.
* `TierRules`: the ordered `Tier` list (entry tier first, threshold 0), the qualifying metric
  and period, upgrade timing, review cadence, downgrade policy and grace period.
* `PointsEconomics`: the `EarnRule` (base rate, rounding, balance bands), `Bonuses` and the
  `RedemptionRules` (point value, cost per point, minimum, unit, windows, limits).
* `Expiry`: one of `NoExpiry`, `RollingExpiry`, `FixedDateExpiry`, `InactivityExpiry`.
* `campaigns`: a calendar of typed `Campaign` entries with dates, optional recurrence,
  target segment, cost and a stacking rule.

Every collection is a tuple so the whole policy is immutable and hashable by content. Dates
in a policy are calendar dates in the program's timezone. Validation errors name the field
path and the bad value and say what is valid (see `policies.errors`).

Conventions shared with the rules engine (`policies.rules`):

* Qualifying periods are counted in calendar months: a rolling 12-month period at a date is
  that month plus the 11 before it; a calendar-year period is the year to date.
* Rolling expiry: points earned in month M expire at the end of month M + N, i.e. points
  earned any day of March 2025 with N = 12 expire after 31 March 2026.
* Inactivity expiry: the whole balance lapses at the end of the month in which N months have
  passed since the member's last purchase or redemption.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CAMPAIGN_KINDS",
    "LIFECYCLE_STATES",
    "QUADRANTS",
    "SCHEMA_VERSION",
    "AnnualWindow",
    "BalanceBand",
    "Bonuses",
    "Campaign",
    "EarnRule",
    "Expiry",
    "FixedDateExpiry",
    "InactivityExpiry",
    "NoExpiry",
    "PointsEconomics",
    "Policy",
    "Program",
    "QualifyingPeriod",
    "Recurrence",
    "RedemptionRules",
    "RollingExpiry",
    "SegmentRules",
    "Target",
    "Tier",
    "TierBenefits",
    "TierRules",
]

SCHEMA_VERSION = 1
"""Version of the policy schema; bumped on any incompatible change to the file format."""

LIFECYCLE_STATES = ("new", "active", "silent", "dormant", "churned")
QUADRANTS = ("close_friends", "butterflies", "barnacles", "passers_by")
CAMPAIGN_KINDS = (
    "member_day",
    "bonus_points",
    "birthday",
    "threshold_reduction",
    "activation",
    "reactivation",
    "redemption_event",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class FieldProblem(ValueError):
    """A validation problem located at ``path`` below the model that raised it.

    Whole-model checks raise it so a message can point at the exact field
    (``tiers[2].threshold``), not just at the section that holds it.
    """

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path


NonNegative = Annotated[float, Field(ge=0)]
Percent = Annotated[float, Field(ge=0, le=100)]


class Program(_Frozen):
    """The program's identity and locale."""

    name: str = Field(min_length=1, max_length=120)
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    currency_symbol: str = Field("¥", min_length=1, max_length=4)
    timezone: str = "Asia/Shanghai"
    locale: Literal["zh-CN", "en"] = "zh-CN"
    effective_date: dt.date

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"timezone(={value!r}) is not a known IANA timezone, e.g. 'Asia/Shanghai'"
            ) from exc
        return value


class TierBenefits(_Frozen):
    """What a tier gives its members."""

    earn_multiplier: float = Field(1.0, ge=0, le=20, description="multiplies base points")
    discount_pct: Percent = Field(0.0, description="member discount on every purchase, %")
    birthday_bonus_points: int = Field(0, ge=0)
    gift_cost_per_member: NonNegative = Field(
        0.0, description="yearly cost of gifts/services per member of the tier (currency)"
    )


class Tier(_Frozen):
    """One tier: the qualifying score needed to hold it and its benefits."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\- ]+$")
    label: str = Field("", max_length=40, description="display name, e.g. 金卡")
    threshold: NonNegative = Field(description="qualifying score needed to reach the tier")
    benefits: TierBenefits = TierBenefits()


class QualifyingPeriod(_Frozen):
    """Over what period the qualifying score is counted."""

    kind: Literal["rolling", "calendar_year"] = "rolling"
    months: int = Field(12, ge=1, le=36, description="length of a rolling period")


class TierRules(_Frozen):
    """How members move between tiers."""

    tiers: tuple[Tier, ...] = Field(min_length=1, max_length=10)
    qualifying_metric: Literal["spend", "purchases", "points"] = "spend"
    qualifying_period: QualifyingPeriod = QualifyingPeriod()
    upgrade_timing: Literal["immediate", "at_review"] = "immediate"
    review_every_months: int = Field(12, ge=1, le=12, description="tier review cadence")
    review_month: int = Field(1, ge=1, le=12, description="first review month of the year")
    downgrade: Literal["none", "at_review", "one_level"] = "one_level"
    grace_months: int = Field(0, ge=0, le=24)

    @field_validator("review_every_months")
    @classmethod
    def _divides_year(cls, value: int) -> int:
        if 12 % value:
            raise ValueError(f"review_every_months(={value}) must divide 12: 1, 2, 3, 4, 6 or 12")
        return value

    @model_validator(mode="after")
    def _ordered_tiers(self) -> TierRules:
        names = [tier.name for tier in self.tiers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"tier names must be unique; repeated: {', '.join(duplicates)}")
        if self.tiers[0].threshold != 0:
            raise FieldProblem(
                "tiers[0].threshold",
                f"tiers[0] ({self.tiers[0].name}) is the entry tier: its threshold"
                f"(={self.tiers[0].threshold:g}) must be 0",
            )
        for i in range(1, len(self.tiers)):
            low, high = self.tiers[i - 1], self.tiers[i]
            if high.threshold <= low.threshold:
                raise FieldProblem(
                    f"tiers[{i}].threshold",
                    f"tiers[{i}].threshold(={high.threshold:g}) for {high.name} must be greater"
                    f" than {low.name}'s threshold ({low.threshold:g}): thresholds must increase",
                )
        return self

    def review_months(self) -> tuple[int, ...]:
        """Calendar months (1-12) on whose first day a tier review runs."""
        return tuple(
            sorted(
                ((self.review_month - 1 + k * self.review_every_months) % 12) + 1
                for k in range(12 // self.review_every_months)
            )
        )

    def tier_index(self, name: str) -> int:
        """Position of the tier called ``name`` (0 = entry tier)."""
        for i, tier in enumerate(self.tiers):
            if tier.name == name:
                return i
        raise KeyError(name)


class BalanceBand(_Frozen):
    """From ``min_balance`` points held, base earning is multiplied by ``multiplier``."""

    min_balance: int = Field(gt=0)
    multiplier: float = Field(gt=0, le=10)


class EarnRule(_Frozen):
    """Base earning: ``points_per_unit`` points per ``per_amount`` of currency."""

    points_per_unit: float = Field(1.0, gt=0, le=1000, description="points per per_amount")
    per_amount: float = Field(1.0, gt=0, description="currency amount that earns points_per_unit")
    rounding: Literal["floor", "round", "ceil"] = "floor"
    basis: Literal["net", "gross"] = Field("net", description="earn on amount after discounts?")
    balance_bands: tuple[BalanceBand, ...] = Field(
        (), description="earn ratio rising with balance held (documented variant)"
    )

    @field_validator("balance_bands")
    @classmethod
    def _increasing_bands(cls, bands: tuple[BalanceBand, ...]) -> tuple[BalanceBand, ...]:
        for i in range(1, len(bands)):
            if bands[i].min_balance <= bands[i - 1].min_balance:
                raise FieldProblem(
                    f"[{i}].min_balance",
                    f"balance_bands[{i}].min_balance(={bands[i].min_balance}) must be greater"
                    f" than balance_bands[{i - 1}].min_balance(={bands[i - 1].min_balance})",
                )
        return bands


class Bonuses(_Frozen):
    """One-off bonus points."""

    signup: int = Field(0, ge=0, le=1_000_000)
    birthday: int = Field(0, ge=0, le=1_000_000)
    referral: int = Field(0, ge=0, le=1_000_000)


class AnnualWindow(_Frozen):
    """A window repeating every year, from (start_month, start_day) to (end_month, end_day).

    Inclusive at both ends; a window may wrap the year end (e.g. 12-15 to 01-15).
    """

    start_month: int = Field(ge=1, le=12)
    start_day: int = Field(1, ge=1, le=31)
    end_month: int = Field(ge=1, le=12)
    end_day: int = Field(31, ge=1, le=31)

    @model_validator(mode="after")
    def _real_days(self) -> AnnualWindow:
        for which, month, day in (
            ("start", self.start_month, self.start_day),
            ("end", self.end_month, self.end_day),
        ):
            last = _days_in_month(2024, month)  # leap year: 29 Feb is allowed
            if day > last:
                raise ValueError(
                    f"{which}_day(={day}) does not exist in month {month}: use 1..{last}"
                )
        return self

    def contains(self, day: dt.date) -> bool:
        """Whether ``day`` falls inside the window."""
        key = (day.month, day.day)
        start, end = (self.start_month, self.start_day), (self.end_month, self.end_day)
        if start <= end:
            return start <= key <= end
        return key >= start or key <= end


class RedemptionRules(_Frozen):
    """How points turn into rewards."""

    point_value: float = Field(0.01, gt=0, description="currency value of a point to a member")
    cost_per_point: float = Field(0.006, ge=0, description="company's cost of a redeemed point")
    minimum_points: int = Field(1000, ge=0, description="smallest balance that can redeem")
    unit_points: int = Field(100, ge=1, description="points are redeemed in multiples of this")
    windows: tuple[AnnualWindow, ...] = Field(
        (), description="redemption allowed only inside these; empty = any time"
    )
    max_points_per_year: int | None = Field(None, ge=1, description="per-member yearly limit")

    def window_open(self, day: dt.date) -> bool:
        """Whether members may redeem on ``day``."""
        return not self.windows or any(window.contains(day) for window in self.windows)


class PointsEconomics(_Frozen):
    """Earning, bonuses and redemption."""

    earn: EarnRule = EarnRule()
    bonuses: Bonuses = Bonuses()
    redemption: RedemptionRules = RedemptionRules()


class NoExpiry(_Frozen):
    """Points never expire."""

    kind: Literal["none"] = "none"


class RollingExpiry(_Frozen):
    """Points expire N months after the month they were earned in (oldest used first)."""

    kind: Literal["rolling"] = "rolling"
    months: int = Field(12, ge=1, le=120)


class FixedDateExpiry(_Frozen):
    """Points earned in year Y expire at the end of (month, day) of year Y + years_after."""

    kind: Literal["fixed_date"] = "fixed_date"
    month: int = Field(12, ge=1, le=12)
    day: int = Field(31, ge=1, le=31)
    years_after: int = Field(1, ge=0, le=10)

    @model_validator(mode="after")
    def _real_day(self) -> FixedDateExpiry:
        last = _days_in_month(2023, self.month)  # 29 Feb would not exist most years
        if self.day > last:
            raise ValueError(
                f"day(={self.day}) does not exist in month {self.month}: use 1..{last}"
            )
        return self


class InactivityExpiry(_Frozen):
    """The whole balance lapses after N months without a purchase or redemption."""

    kind: Literal["inactivity"] = "inactivity"
    months: int = Field(12, ge=1, le=120)


Expiry = Annotated[
    NoExpiry | RollingExpiry | FixedDateExpiry | InactivityExpiry, Field(discriminator="kind")
]


class Recurrence(_Frozen):
    """Which days inside a campaign's date range it runs on; none set = every day."""

    day_of_month: int | None = Field(None, ge=1, le=31)
    weekday: int | None = Field(None, ge=0, le=6, description="0 = Monday")
    months: tuple[int, ...] = Field((), description="limit to these months (1-12); empty = all")

    @model_validator(mode="after")
    def _one_rule(self) -> Recurrence:
        if self.day_of_month is not None and self.weekday is not None:
            raise ValueError("set day_of_month or weekday, not both")
        bad = [m for m in self.months if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"months(={bad}) must be between 1 and 12")
        return self

    def matches(self, day: dt.date) -> bool:
        """Whether the recurrence selects ``day``."""
        if self.months and day.month not in self.months:
            return False
        if self.day_of_month is not None and day.day != self.day_of_month:
            return False
        return self.weekday is None or day.weekday() == self.weekday


class Target(_Frozen):
    """Which members a campaign applies to; an empty tuple means everyone on that axis."""

    tiers: tuple[str, ...] = ()
    lifecycle: tuple[Literal["new", "active", "silent", "dormant", "churned"], ...] = ()
    quadrants: tuple[Literal["close_friends", "butterflies", "barnacles", "passers_by"], ...] = ()

    def may_overlap(self, other: Target) -> bool:
        """Whether some member could be targeted by both."""
        for mine, theirs in (
            (self.tiers, other.tiers),
            (self.lifecycle, other.lifecycle),
            (self.quadrants, other.quadrants),
        ):
            if mine and theirs and not set(mine) & set(theirs):
                return False
        return True


class Campaign(_Frozen):
    """One entry of the campaign calendar.

    What a campaign does depends on its kind:

    * ``member_day``, ``bonus_points``: ``points_multiplier`` on purchases and/or an extra
      ``discount_pct`` on the days it runs (member day: usually ``recurrence.day_of_month``).
    * ``birthday``: ``points_multiplier`` on purchases on the member's birthday (or in the
      birthday month when ``birthday_scope`` is ``month``) and ``bonus_points`` once.
    * ``threshold_reduction`` (满减): ``reduction`` off every ``threshold`` spent in one
      purchase (``repeatable``) or once.
    * ``activation``: contacts members who joined in the previous month (``contact_cost``
      each, a ``coupon_value`` to use).
    * ``reactivation``: contacts members with no purchase for ``recency_days`` or more.
    * ``redemption_event``: opens redemption on its days even outside the policy's windows.

    ``stacking`` says how it combines with other campaigns running on the same day for the
    same member: ``exclusive`` campaigns must not overlap any other campaign with an effect of
    the same type; ``stack`` multipliers add their extra points (2x and 3x give 4x) and
    discounts add up; ``best`` keeps only the largest multiplier/discount among those
    overlapping.
    """

    id: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=120)
    kind: Literal[
        "member_day",
        "bonus_points",
        "birthday",
        "threshold_reduction",
        "activation",
        "reactivation",
        "redemption_event",
    ]
    start: dt.date
    end: dt.date
    recurrence: Recurrence = Recurrence()
    target: Target = Target()
    points_multiplier: float = Field(1.0, ge=1, le=20)
    discount_pct: Percent = 0.0
    bonus_points: int = Field(0, ge=0, le=1_000_000)
    birthday_scope: Literal["day", "month"] = "day"
    threshold: float = Field(0.0, ge=0, description="spend threshold of a reduction")
    reduction: float = Field(0.0, ge=0, description="amount off per threshold reached")
    repeatable: bool = True
    recency_days: int = Field(90, ge=1, le=3650)
    coupon_value: NonNegative = 0.0
    contact_cost: NonNegative = 0.0
    fixed_cost: NonNegative = 0.0
    budget: float | None = Field(None, ge=0)
    stacking: Literal["exclusive", "stack", "best"] = "stack"

    @model_validator(mode="after")
    def _consistent(self) -> Campaign:
        if self.end < self.start:
            raise FieldProblem(
                "end",
                f"end(={self.end.isoformat()}) is before start(={self.start.isoformat()}):"
                " a campaign must end on or after the day it starts",
            )
        if (self.end - self.start).days > 3660:
            raise ValueError("a campaign may run for at most 10 years; split longer calendars")
        if self.kind == "threshold_reduction":
            if self.threshold <= 0 or self.reduction <= 0:
                raise ValueError(
                    f"a threshold_reduction needs threshold(={self.threshold:g}) > 0 and"
                    f" reduction(={self.reduction:g}) > 0, e.g. ¥30 off ¥200"
                )
            if self.reduction >= self.threshold:
                raise FieldProblem(
                    "reduction",
                    f"reduction(={self.reduction:g}) must be less than"
                    f" threshold(={self.threshold:g})",
                )
        return self

    def runs_on(self, day: dt.date) -> bool:
        """Whether the campaign is live on ``day`` (date range and recurrence)."""
        return self.start <= day <= self.end and self.recurrence.matches(day)

    def days(self) -> list[dt.date]:
        """Every day the campaign runs on."""
        out = []
        day = self.start
        while day <= self.end:
            if self.recurrence.matches(day):
                out.append(day)
            day += dt.timedelta(days=1)
        return out

    def effect_types(self) -> frozenset[str]:
        """The kinds of effect this campaign has on a purchase (for overlap checks)."""
        effects = set()
        if self.points_multiplier > 1:
            effects.add("points")
        if self.discount_pct > 0 or self.kind == "threshold_reduction":
            effects.add("discount")
        return frozenset(effects)


class SegmentRules(_Frozen):
    """How members are classified for targeting: lifecycle states and the four quadrants.

    Lifecycle (by days since joining / since the last purchase): ``new`` = joined within
    ``new_days`` and no more than one purchase; ``active`` = last purchase within
    ``active_days``; ``silent`` within ``silent_days``; ``dormant`` within ``dormant_days``;
    otherwise ``churned``. Members who never bought count from their join date.

    Quadrants (purchase count x spend over the 12 full months before the current month):
    ``close_friends`` (many purchases, high spend), ``butterflies`` (few, high),
    ``barnacles`` (many, low), ``passers_by`` (few, low). "Many" means at least
    ``quadrant_min_purchases``; "high" means at least ``quadrant_min_spend``.
    """

    new_days: int = Field(30, ge=1)
    active_days: int = Field(90, ge=1)
    silent_days: int = Field(180, ge=1)
    dormant_days: int = Field(365, ge=1)
    quadrant_min_purchases: int = Field(6, ge=1)
    quadrant_min_spend: float = Field(3000.0, gt=0)

    @model_validator(mode="after")
    def _increasing(self) -> SegmentRules:
        if not self.active_days < self.silent_days < self.dormant_days:
            raise ValueError(
                f"lifecycle thresholds must increase: active_days(={self.active_days}) <"
                f" silent_days(={self.silent_days}) < dormant_days(={self.dormant_days})"
            )
        return self


class Policy(_Frozen):
    """A complete loyalty program policy (the unit that is simulated and published)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    program: Program
    tiers: TierRules
    points: PointsEconomics = PointsEconomics()
    expiry: Expiry = RollingExpiry()
    segments: SegmentRules = SegmentRules()
    campaigns: tuple[Campaign, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        tier_names = {tier.name for tier in self.tiers.tiers}
        ids = [c.id for c in self.campaigns]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"campaign ids must be unique; repeated: {', '.join(repeated)}")
        for i, campaign in enumerate(self.campaigns):
            unknown = [name for name in campaign.target.tiers if name not in tier_names]
            if unknown:
                raise FieldProblem(
                    f"campaigns[{i}].target.tiers",
                    f"campaigns[{i}] ({campaign.id}): target tier(s) {', '.join(unknown)} do not"
                    f" exist; known tiers: {', '.join(sorted(tier_names))}",
                )
        redemption = self.points.redemption
        if redemption.minimum_points and redemption.minimum_points % redemption.unit_points:
            raise FieldProblem(
                "points.redemption.minimum_points",
                f"points.redemption.minimum_points(={redemption.minimum_points}) must be a"
                f" multiple of unit_points(={redemption.unit_points})",
            )
        _check_overlaps(self.campaigns)
        return self

    @property
    def tier_names(self) -> tuple[str, ...]:
        """Tier names, entry tier first."""
        return tuple(tier.name for tier in self.tiers.tiers)


def _check_overlaps(campaigns: tuple[Campaign, ...]) -> None:
    """Refuse overlapping campaigns whose stacking rule does not say how they combine."""
    for i, first in enumerate(campaigns):
        for j in range(i + 1, len(campaigns)):
            second = campaigns[j]
            if "exclusive" not in (first.stacking, second.stacking):
                continue
            shared = first.effect_types() & second.effect_types()
            if not shared or not first.target.may_overlap(second.target):
                continue
            if first.kind == "birthday" or second.kind == "birthday":
                # A birthday offer overlaps another campaign only on a member's birthday;
                # check the date ranges alone.
                if first.start <= second.end and second.start <= first.end:
                    clash = max(first.start, second.start)
                else:
                    continue
            else:
                clash = _first_common_day(first, second)
                if clash is None:
                    continue
            raise FieldProblem(
                f"campaigns[{j}]",
                f"campaigns[{i}] ({first.id}) and campaigns[{j}] ({second.id}) both run on"
                f" {clash.isoformat()} for the same members with {'/'.join(sorted(shared))}"
                f" effects, and one is 'exclusive': change the dates, narrow the targets, or"
                f" set stacking to 'stack' or 'best' on both",
            )


def _first_common_day(first: Campaign, second: Campaign) -> dt.date | None:
    start, end = max(first.start, second.start), min(first.end, second.end)
    day = start
    while day <= end:
        if first.recurrence.matches(day) and second.recurrence.matches(day):
            return day
        day += dt.timedelta(days=1)
    return None


def _days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day
