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

import calendar
import datetime as dt
import re
from collections import Counter
from functools import lru_cache
from typing import Annotated, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from policies.errors import show_value

__all__ = [
    "CAMPAIGN_KINDS",
    "CAMPAIGN_KIND_LABELS",
    "CONTACT_KINDS",
    "FIRST_DATE",
    "LAST_DATE",
    "MAX_CAMPAIGNS",
    "MAX_DAYS",
    "MAX_MONEY",
    "MAX_POINTS",
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
    "Margins",
    "NoExpiry",
    "PointsEconomics",
    "PRICING_KINDS",
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
"""Every kind of campaign (`Campaign` says what each does)."""
CAMPAIGN_KIND_LABELS = {
    "member_day": {"en": "Member day", "zh": "会员日"},
    "bonus_points": {"en": "Bonus points", "zh": "积分加赠"},
    "birthday": {"en": "Birthday offer", "zh": "生日礼遇"},
    "threshold_reduction": {"en": "Spend-and-save", "zh": "满减"},
    "activation": {"en": "New-member activation", "zh": "新会员激活"},
    "reactivation": {"en": "Reactivation", "zh": "沉睡唤醒"},
    "redemption_event": {"en": "Redemption event", "zh": "积分兑换活动"},
}
"""Each kind's name for people, in English and Chinese (the app's and the client report's)."""
PRICING_KINDS = ("member_day", "bonus_points", "birthday", "threshold_reduction")
"""Kinds that change a purchase's price or points (`Campaign.prices_purchases`)."""
CONTACT_KINDS = ("activation", "reactivation")
"""Kinds that contact members (`Campaign.contacts_members`)."""


class _Frozen(BaseModel):
    # allow_inf_nan=False: an infinite or NaN number is never a valid setting, and the
    # published file must be strict JSON (which has no Infinity or NaN).
    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False
    )


class FieldProblem(ValueError):
    """A validation problem located at ``path`` below the model that raised it.

    Whole-model checks raise it so a message can point at the exact field
    (``tiers[2].threshold``), not just at the section that holds it.
    """

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path


MAX_MONEY = 1_000_000_000.0
"""Largest money amount (thresholds, costs, budgets) in the program's currency."""

MAX_POINTS = 1_000_000_000
"""Largest point count in a setting (balances, limits, units)."""

MAX_DAYS = 36_500
"""Longest span in days a setting may name (100 years)."""

MAX_CAMPAIGNS = 500
"""Most campaigns in one calendar (ten years of monthly member days is 120)."""

FIRST_DATE = dt.date(1990, 1, 1)
LAST_DATE = dt.date(2199, 12, 31)
"""Dates in a policy lie between these (points arithmetic stays far from the calendar's end)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _plain_text(value: str) -> str:
    """Refuse text that is blank or holds control characters (NUL, escapes, bidi overrides)."""
    if _CONTROL.search(value):
        bad = _CONTROL.search(value).group()
        raise ValueError(
            f"must not contain control characters (found U+{ord(bad):04X}); use printable text only"
        )
    if value and not value.strip():
        raise ValueError("must not be blank: write a name")
    return value


def _in_calendar(value: dt.date) -> dt.date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(
            f"{value.isoformat()} is outside the supported dates"
            f" {FIRST_DATE.isoformat()}..{LAST_DATE.isoformat()}"
        )
    return value


NonNegative = Annotated[float, Field(ge=0)]
Percent = Annotated[float, Field(ge=0, le=100)]
Money = Annotated[float, Field(ge=0, le=MAX_MONEY)]
Points = Annotated[int, Field(ge=0, le=MAX_POINTS)]
Text = Annotated[str, AfterValidator(_plain_text)]
CalendarDate = Annotated[dt.date, AfterValidator(_in_calendar)]


class Program(_Frozen):
    """The program's identity and locale."""

    name: Text = Field(min_length=1, max_length=120)
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    currency_symbol: Text = Field("¥", min_length=1, max_length=4)
    timezone: str = Field("Asia/Shanghai", max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$")
    locale: Literal["zh-CN", "en"] = "zh-CN"
    effective_date: CalendarDate

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(
                f"timezone(={value!r}) is not a known IANA timezone, e.g. 'Asia/Shanghai'"
            ) from exc
        return value


class TierBenefits(_Frozen):
    """What a tier gives its members."""

    earn_multiplier: float = Field(1.0, ge=0, le=20, description="multiplies base points")
    discount_pct: Percent = Field(0.0, description="member discount on every purchase, %")
    birthday_bonus_points: int = Field(0, ge=0, le=1_000_000)
    gift_cost_per_member: Money = Field(
        0.0, description="yearly cost of gifts/services per member of the tier (currency)"
    )


class Tier(_Frozen):
    """One tier: the qualifying score needed to hold it and its benefits."""

    name: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_\-]([A-Za-z0-9_\- ]*[A-Za-z0-9_\-])?$",
        description="letters, digits, _, - and inner spaces",
    )
    label: Text = Field("", max_length=40, description="display name, e.g. 金卡")
    threshold: Money = Field(description="qualifying score needed to reach the tier")
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
        # Names equal up to case and spacing are the same tier to a person reading a report.
        counts = Counter(" ".join(tier.name.casefold().split()) for tier in self.tiers)
        duplicates = sorted(
            tier.name for tier in self.tiers if counts[" ".join(tier.name.casefold().split())] > 1
        )
        if duplicates:
            raise ValueError(
                "tier names must be unique (ignoring case and spaces); repeated:"
                f" {', '.join(duplicates)}"
            )
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

    min_balance: int = Field(gt=0, le=MAX_POINTS)
    multiplier: float = Field(gt=0, le=10)


class EarnRule(_Frozen):
    """Base earning: ``points_per_unit`` points per ``per_amount`` of currency."""

    points_per_unit: float = Field(1.0, gt=0, le=1000, description="points per per_amount")
    per_amount: float = Field(
        1.0, ge=0.01, le=1_000_000, description="currency amount that earns points_per_unit"
    )
    rounding: Literal["floor", "round", "ceil"] = "floor"
    basis: Literal["net", "gross"] = Field("net", description="earn on amount after discounts?")
    balance_bands: tuple[BalanceBand, ...] = Field(
        (), max_length=20, description="earn ratio rising with balance held (documented variant)"
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
            last = calendar.monthrange(2024, month)[1]  # leap year: 29 Feb is allowed
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

    point_value: float = Field(
        0.01, gt=0, le=1000, description="currency value of a point to a member"
    )
    cost_per_point: float = Field(
        0.006, ge=0, le=1000, description="company's cost of a redeemed point"
    )
    minimum_points: Points = Field(1000, description="smallest balance that can redeem")
    unit_points: int = Field(
        100, ge=1, le=MAX_POINTS, description="points are redeemed in multiples of this"
    )
    windows: tuple[AnnualWindow, ...] = Field(
        (), max_length=24, description="redemption allowed only inside these; empty = any time"
    )
    max_points_per_year: int | None = Field(
        None, ge=1, le=MAX_POINTS, description="per-member yearly limit"
    )

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
        last = calendar.monthrange(2023, self.month)[1]  # 29 Feb would not exist most years
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
    months: tuple[Annotated[int, Field(ge=1, le=12)], ...] = Field(
        (), max_length=12, description="limit to these months (1-12); empty = all"
    )

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

    tiers: tuple[Annotated[str, Field(max_length=40)], ...] = Field((), max_length=10)
    lifecycle: tuple[Literal["new", "active", "silent", "dormant", "churned"], ...] = ()
    quadrants: tuple[Literal["close_friends", "butterflies", "barnacles", "passers_by"], ...] = ()

    @property
    def everyone(self) -> bool:
        """Whether no axis is restricted (the campaign is for every member)."""
        return not (self.tiers or self.lifecycle or self.quadrants)

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
    name: Text = Field(min_length=1, max_length=120)
    kind: Literal[CAMPAIGN_KINDS]
    start: CalendarDate
    end: CalendarDate
    recurrence: Recurrence = Recurrence()
    target: Target = Target()
    points_multiplier: float = Field(1.0, ge=1, le=20)
    discount_pct: Percent = 0.0
    bonus_points: int = Field(0, ge=0, le=1_000_000)
    birthday_scope: Literal["day", "month"] = "day"
    threshold: Money = Field(0.0, description="spend threshold of a reduction")
    reduction: Money = Field(0.0, description="amount off per threshold reached")
    repeatable: bool = True
    recency_days: int = Field(90, ge=1, le=3650)
    coupon_value: Money = 0.0
    contact_cost: Money = 0.0
    fixed_cost: Money = 0.0
    budget: Money | None = None
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

    @property
    def prices_purchases(self) -> bool:
        """Whether it changes the price or points of purchases (`PRICING_KINDS`)."""
        return self.kind in PRICING_KINDS

    @property
    def contacts_members(self) -> bool:
        """Whether it contacts members (activation, reactivation: `CONTACT_KINDS`)."""
        return self.kind in CONTACT_KINDS

    @property
    def opens_redemption(self) -> bool:
        """Whether it opens redemption on its days (a redemption event, for every member)."""
        return self.kind == "redemption_event"

    @property
    def is_targeted(self) -> bool:
        """Whether it applies to some members only: a target on any axis, or a birthday offer.

        A targeted campaign changes a member's price, points or purchase rate only when the
        member qualifies (`policies.rules` and the simulator test it member by member); an
        untargeted one applies to everyone on the days it runs.
        """
        return self.kind == "birthday" or not self.target.everyone

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

    new_days: int = Field(30, ge=1, le=MAX_DAYS)
    active_days: int = Field(90, ge=1, le=MAX_DAYS)
    silent_days: int = Field(180, ge=1, le=MAX_DAYS)
    dormant_days: int = Field(365, ge=1, le=MAX_DAYS)
    quadrant_min_purchases: int = Field(6, ge=1, le=1_000_000)
    quadrant_min_spend: float = Field(3000.0, gt=0, le=MAX_MONEY)

    @model_validator(mode="after")
    def _increasing(self) -> SegmentRules:
        if not self.active_days < self.silent_days < self.dormant_days:
            raise ValueError(
                f"lifecycle thresholds must increase: active_days(={self.active_days}) <"
                f" silent_days(={self.silent_days}) < dormant_days(={self.dormant_days})"
            )
        return self


class Margins(_Frozen):
    """What the business keeps of a sale: the gross margin on net sales (profit, not revenue).

    The cost of a reward is ``points.redemption.cost_per_point`` per point redeemed, and of
    tier gifts ``gift_cost_per_member``; this adds what goods sold earn.
    """

    gross_margin_pct: Percent = Field(description="gross margin on net sales, %")


class Policy(_Frozen):
    """A complete loyalty program policy (the unit that is simulated and published)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    program: Program
    tiers: TierRules
    points: PointsEconomics = PointsEconomics()
    expiry: Expiry = RollingExpiry()
    segments: SegmentRules = SegmentRules()
    campaigns: tuple[Campaign, ...] = Field((), max_length=MAX_CAMPAIGNS)
    margins: Margins | None = None

    @field_validator("schema_version", mode="before")
    @classmethod
    def _integer_version(cls, value: object) -> object:
        # true == 1 in Python; a schema version is a number, never a yes/no.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(
                f"schema_version(={show_value(value)}) must be the number {SCHEMA_VERSION}"
            )
        return value

    @model_serializer(mode="wrap")
    def _without_unset_margins(self, handler):
        # A policy without margins keeps the exact form (and content id) it had before
        # margins existed, so published files and the sample's recorded id stay valid.
        data = handler(self)
        if self.margins is None and isinstance(data, dict):
            data.pop("margins", None)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        tier_names = {tier.name for tier in self.tiers.tiers}
        counts = Counter(c.id for c in self.campaigns)
        repeated = sorted(i for i, n in counts.items() if n > 1)
        if repeated:
            shown = ", ".join(repeated[:10]) + (" ..." if len(repeated) > 10 else "")
            raise ValueError(f"campaign ids must be unique; repeated: {shown}")
        for i, campaign in enumerate(self.campaigns):
            unknown = [name for name in campaign.target.tiers if name not in tier_names]
            if unknown:
                raise FieldProblem(
                    f"campaigns[{i}].target.tiers",
                    f"campaigns[{i}] ({campaign.id}): target tier(s)"
                    f" {', '.join(show_value(name) for name in unknown)} do not"
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


@lru_cache(maxsize=1)
def _calendar() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Month (1-12), day of month and weekday (0 = Monday) of every supported date."""
    days = np.arange(
        np.datetime64(FIRST_DATE, "D"), np.datetime64(LAST_DATE, "D") + 1, dtype="M8[D]"
    )
    month_starts = days.astype("M8[M]")
    months = (month_starts.astype(np.int64) % 12 + 1).astype(np.int8)
    day_of_month = ((days - month_starts.astype("M8[D]")).astype(np.int64) + 1).astype(np.int8)
    # 1970-01-01 was a Thursday (weekday 3).
    weekdays = ((days.astype(np.int64) + 3) % 7).astype(np.int8)
    return months, day_of_month, weekdays


def _running_days(campaign: Campaign) -> np.ndarray:
    """Ordinals of the days ``campaign`` runs on, ascending (a birthday offer: every day).

    A birthday offer overlaps another campaign only on a member's birthday, which can be
    any day of its date range.
    """
    first, last = campaign.start.toordinal(), campaign.end.toordinal()
    ordinals = np.arange(first, last + 1, dtype=np.int64)
    rule = campaign.recurrence
    if campaign.kind == "birthday" or (
        not rule.months and rule.day_of_month is None and rule.weekday is None
    ):
        return ordinals
    offset = first - FIRST_DATE.toordinal()
    months, day_of_month, weekdays = (
        column[offset : offset + len(ordinals)] for column in _calendar()
    )
    keep = np.ones(len(ordinals), dtype=bool)
    if rule.months:
        keep &= np.isin(months, rule.months)
    if rule.day_of_month is not None:
        keep &= day_of_month == rule.day_of_month
    if rule.weekday is not None:
        keep &= weekdays == rule.weekday
    return ordinals[keep]


def _check_overlaps(campaigns: tuple[Campaign, ...]) -> None:
    """Refuse overlapping campaigns whose stacking rule does not say how they combine.

    A sweep over the calendar, not a comparison of every pair day by day: for each effect
    type, the (day, campaign) pairs are sorted by day, and only campaigns that run on the
    same day are compared, each pair once. The cost grows with the campaign-days in the
    calendar and the pairs that actually meet, so 80 ten-year campaigns check in
    milliseconds. The clash reported is the earliest one.
    """
    if not any(c.stacking == "exclusive" for c in campaigns):
        return
    effects = [c.effect_types() for c in campaigns]
    masks = _audience_masks(campaigns)
    running = {}
    clash: tuple[int, int, int, frozenset[str]] | None = None  # day, i, j, shared effects
    for effect in ("discount", "points"):
        members = [i for i, found in enumerate(effects) if effect in found]
        if len(members) < 2 or not any(campaigns[i].stacking == "exclusive" for i in members):
            continue
        for i in members:
            if i not in running:
                running[i] = _running_days(campaigns[i])
        days = np.concatenate([running[i] for i in members])
        owners = np.concatenate([np.full(len(running[i]), i, dtype=np.int64) for i in members])
        order = np.lexsort((owners, days))
        days, owners = days[order], owners[order]
        # Days on which two or more of these campaigns run: [starts[k], stops[k]) slices.
        cuts = np.flatnonzero(np.diff(days)) + 1
        starts = np.concatenate(([0], cuts))
        stops = np.concatenate((cuts, [len(days)]))
        crowded = np.flatnonzero(stops - starts >= 2)
        if not len(crowded):
            continue
        # Most crowded days repeat the same set of campaigns: compare each set once. A set
        # is recognised by the sum of fixed random 64-bit weights of its members (a
        # collision between two different sets has a probability of about 2**-64).
        weights = _set_weights(len(campaigns))
        signatures = np.add.reduceat(weights[owners], starts)[crowded]
        _, first_seen = np.unique(signatures, return_index=True)
        for k in crowded[np.sort(first_seen)]:
            if clash is not None and days[starts[k]] > clash[0]:
                break
            found = _clashing_pair(campaigns, owners[starts[k] : stops[k]], masks)
            if found is not None:
                day = int(days[starts[k]])
                if clash is None or (day, *found) < clash[:3]:
                    i, j = found
                    clash = (day, i, j, effects[i] & effects[j])
                break
    if clash is None:
        return
    day, i, j, shared = clash
    first, second = campaigns[i], campaigns[j]
    raise FieldProblem(
        f"campaigns[{j}]",
        f"campaigns[{i}] ({first.id}) and campaigns[{j}] ({second.id}) both run on"
        f" {dt.date.fromordinal(day).isoformat()} for the same members with"
        f" {'/'.join(sorted(shared))} effects, and one is 'exclusive': change the dates,"
        " narrow the targets, or set stacking to 'stack' or 'best' on both",
    )


@lru_cache(maxsize=8)
def _set_weights(count: int) -> np.ndarray:
    return np.random.default_rng(20_250_101).integers(
        np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=count, dtype=np.int64
    )


def _audience_masks(campaigns: tuple[Campaign, ...]) -> np.ndarray:
    """Each campaign's target as three bit masks (tiers, lifecycle, quadrants).

    An empty axis targets everyone (all bits set). Two campaigns may reach the same member
    exactly when their masks intersect on all three axes (`Target.may_overlap`).
    """
    bits: list[dict[str, int]] = [{}, {}, {}]
    masks = np.zeros((len(campaigns), 3), dtype=np.int64)
    for row, campaign in enumerate(campaigns):
        target = campaign.target
        for axis, names in enumerate((target.tiers, target.lifecycle, target.quadrants)):
            if not names:
                masks[row, axis] = -1
                continue
            for name in names:
                bit = bits[axis].setdefault(name, len(bits[axis]))
                masks[row, axis] |= 1 << (bit % 63)
    return masks


def _clashing_pair(
    campaigns: tuple[Campaign, ...], group: np.ndarray, masks: np.ndarray
) -> tuple[int, int] | None:
    """The first pair (i < j) of ``group`` (running the same day) that breaks exclusivity."""
    exclusive = np.array([campaigns[i].stacking == "exclusive" for i in group])
    own = masks[group]
    meets = np.ones((len(group), len(group)), dtype=bool)
    for axis in range(3):
        meets &= (own[:, None, axis] & own[None, :, axis]) != 0
    meets &= exclusive[:, None] | exclusive[None, :]
    meets &= np.triu(np.ones_like(meets), k=1)
    if not meets.any():
        return None
    a, b = np.argwhere(meets)[0]  # row-major: the smallest i, then the smallest j
    return int(group[a]), int(group[b])
