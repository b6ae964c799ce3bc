"""The rules engine: pure functions from a policy and member state to points, tiers, expiry.

No I/O, no randomness, no clock. Every function takes numpy arrays (one entry per member or
per purchase) so the simulator applies it to millions of members at once, and the live
system applies the very same function to arrays of length one (see `policies.ledger`). That
is how a transaction log replayed through a published policy gives exactly the points the
simulator booked.

Conventions (see also `policies.model`):

* Months are counted as integer *month indices*: ``year * 12 + month - 1``.
* Money is rounded to cents before any rule uses it; points are integers.
* Earning: ``points = round(basis * points_per_unit / per_amount * tier multiplier *
  campaign multiplier * balance-band multiplier)`` with the policy's rounding, computed once
  on the total so rounding never compounds. ``base`` points are the same formula without
  multipliers; the rest of a purchase's points count as bonus.
* Campaign multipliers on one purchase combine by their ``stacking`` rule: ``stack``
  campaigns add their extra points (2x and 3x give 4x); each ``best`` campaign competes with
  that sum and the largest wins; an ``exclusive`` campaign never overlaps another with the
  same effect (the model refuses such a calendar). Discounts combine the same way, then the
  tier discount and the campaign discount apply one after the other.
* Tier discounts and campaign discounts are taken off the gross amount; threshold reductions
  (满减) count on the gross amount too; the total discount never exceeds the gross amount.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from policies import compiled
from policies.model import (
    LIFECYCLE_STATES,
    QUADRANTS,
    Campaign,
    FixedDateExpiry,
    InactivityExpiry,
    NoExpiry,
    Policy,
    RollingExpiry,
)

__all__ = [
    "EPSILON",
    "LIFECYCLE_CODES",
    "NO_EXPIRY",
    "QUADRANT_CODES",
    "PricedPurchases",
    "birthday_bonus",
    "birthday_bonus_due",
    "campaign_table",
    "campaigns_on",
    "consume_fifo",
    "expiry_month_of_lot",
    "inactivity_lapses",
    "is_review_day",
    "lifecycle_codes",
    "month_index",
    "price_purchases",
    "pricing_params",
    "pricing_rows",
    "qualified_tier",
    "quadrant_codes",
    "quadrant_months",
    "redeemable_points",
    "redemption_allowed_on",
    "redemption_points",
    "review_score_months",
    "review_tiers",
    "score_months",
    "upgrade_now",
]

EPSILON = compiled.EPSILON

NO_EXPIRY = np.iinfo(np.int32).max
"""Expiry month index of points that never expire by date."""

LIFECYCLE_CODES = {state: code for code, state in enumerate(LIFECYCLE_STATES)}
QUADRANT_CODES = {name: code for code, name in enumerate(QUADRANTS)}


def month_index(day: dt.date) -> int:
    """``year * 12 + month - 1``: consecutive months have consecutive indices."""
    return day.year * 12 + day.month - 1


# ---------------------------------------------------------------------------------------
# Campaigns


def campaigns_on(policy: Policy, day: dt.date) -> tuple[Campaign, ...]:
    """The campaigns live on ``day`` (by date range and recurrence; birthday offers included)."""
    return tuple(c for c in policy.campaigns if c.runs_on(day))


def campaign_table(policy: Policy, per_day: list, value) -> compiled.CampaignTable:
    """`policies.compiled.CampaignTable` of the campaigns in ``per_day`` (one tuple per day).

    ``value(campaign)`` fills the value column (the points multiplier minus one for
    pricing).
    """
    rows = [c for running in per_day for c in running]
    ptr = np.zeros(len(per_day) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(running) for running in per_day])

    def mask(codes) -> int:
        return compiled.ALL if not codes else int(sum(1 << code for code in set(codes)))

    def column(fn, dtype):
        return np.array([fn(c) for c in rows], dtype=dtype)

    scopes = {"day": compiled.BIRTHDAY_DAY, "month": compiled.BIRTHDAY_MONTH}
    return compiled.CampaignTable(
        ptr=ptr,
        kind=column(
            lambda c: (
                compiled.KIND_THRESHOLD
                if c.kind == "threshold_reduction"
                else compiled.KIND_MULTIPLIER
            ),
            np.int8,
        ),
        best=column(lambda c: c.stacking == "best", np.bool_),
        birthday=column(
            lambda c: scopes[c.birthday_scope] if c.kind == "birthday" else compiled.BIRTHDAY_NONE,
            np.int8,
        ),
        value=column(value, np.float64),
        pct=column(lambda c: c.discount_pct, np.float64),
        threshold=column(lambda c: c.threshold, np.float64),
        reduction=column(lambda c: c.reduction, np.float64),
        repeatable=column(lambda c: c.repeatable, np.bool_),
        tier_mask=column(
            lambda c: mask([policy.tiers.tier_index(t) for t in c.target.tiers]), np.int64
        ),  # fmt: skip
        lifecycle_mask=column(
            lambda c: mask([LIFECYCLE_CODES[s] for s in c.target.lifecycle]), np.int64
        ),  # fmt: skip
        quadrant_mask=column(
            lambda c: mask([QUADRANT_CODES[q] for q in c.target.quadrants]), np.int64
        ),  # fmt: skip
    )


def pricing_rows(policy: Policy, day: dt.date) -> tuple[Campaign, ...]:
    """Campaigns that price a purchase on ``day``."""
    return tuple(c for c in campaigns_on(policy, day) if c.prices_purchases)


def pricing_params(policy: Policy) -> compiled.Pricing:
    """The policy's pricing and earning numbers (`policies.compiled.Pricing`)."""
    benefits = [t.benefits for t in policy.tiers.tiers]
    earn = policy.points.earn
    bands = earn.balance_bands
    return compiled.Pricing(
        tier_discount=np.array([b.discount_pct for b in benefits], dtype=np.float64),
        tier_multiplier=np.array([b.earn_multiplier for b in benefits], dtype=np.float64),
        basis_net=earn.basis == "net",
        rate=earn.points_per_unit / earn.per_amount,
        rounding=compiled.ROUNDING[earn.rounding],
        band_min=np.array([b.min_balance for b in bands], dtype=np.float64),
        band_multiplier=np.array([b.multiplier for b in bands], dtype=np.float64),
        thresholds=np.array([t.threshold for t in policy.tiers.tiers], dtype=np.float64),
    )


@dataclass(frozen=True)
class PricedPurchases:
    """What the rules give a batch of purchases (arrays aligned with the input)."""

    gross: np.ndarray
    discount: np.ndarray
    net: np.ndarray
    base_points: np.ndarray
    points: np.ndarray

    @property
    def bonus_points(self) -> np.ndarray:
        """Points above the base rate (tier, campaign and balance multipliers)."""
        return self.points - self.base_points


def price_purchases(
    policy: Policy,
    day: dt.date,
    gross: np.ndarray,
    tier: np.ndarray,
    *,
    balance: np.ndarray | None = None,
    birthday_today: np.ndarray | None = None,
    birthday_month: np.ndarray | None = None,
    lifecycle: np.ndarray | None = None,
    quadrant: np.ndarray | None = None,
) -> PricedPurchases:
    """Discounts and points for purchases made on ``day`` by members in ``tier``.

    Args:
        policy: the policy in force.
        day: the purchase date (all purchases in the batch share it).
        gross: gross amounts in currency (before any discount).
        tier: each purchaser's tier index (0 = entry tier) before the purchase.
        balance: points held before the purchase (for balance bands); zeros if omitted.
        birthday_today: whether it is the purchaser's birthday.
        birthday_month: whether it is the purchaser's birthday month.
        lifecycle: lifecycle codes (`LIFECYCLE_CODES`), needed when a campaign targets them.
        quadrant: quadrant codes (`QUADRANT_CODES`), needed when a campaign targets them.

    Returns:
        `PricedPurchases` with discount, net amount, base points and total points.
    """
    gross = np.asarray(gross, dtype=np.float64)
    n = gross.shape[0]
    table = campaign_table(policy, [pricing_rows(policy, day)], lambda c: c.points_multiplier - 1)

    def flags(values):
        return np.zeros(n, dtype=np.bool_) if values is None else np.asarray(values, np.bool_)

    def codes(values, axis):
        if values is None:
            if any(getattr(c.target, axis) for c in pricing_rows(policy, day)):
                raise ValueError(f"a campaign on {day} targets {axis}: pass {axis} codes")
            return np.zeros(n, dtype=np.int64)
        return np.asarray(values, np.int64)

    held = np.zeros(n) if balance is None else np.asarray(balance, dtype=np.float64)
    money, points = compiled.price_many(
        table, 0, int(table.ptr[1]), pricing_params(policy), gross,
        np.asarray(tier, dtype=np.int64), held, flags(birthday_today), flags(birthday_month),
        codes(lifecycle, "lifecycle"), codes(quadrant, "quadrants"),
    )  # fmt: skip
    return PricedPurchases(money[0], money[1], money[2], points[0], points[1])


def birthday_bonus_due(day: dt.date, last_purchase: dt.date | None) -> bool:
    """Whether a member who last bought on ``last_purchase`` (None: never) gets the bonus.

    The rule is `policies.compiled.birthday_bonus_due` (a purchase in the 365 days before).
    """
    last = compiled.NEVER if last_purchase is None else last_purchase.toordinal()
    return bool(compiled.plain(compiled.birthday_bonus_due)(day.toordinal(), last))


def birthday_bonus(policy: Policy, tier: np.ndarray) -> np.ndarray:
    """Points granted on a member's birthday: the program bonus plus the tier's bonus.

    Granted once a year, on the birthday (29 February counts as 28 February in other years),
    to members who made a purchase in the 365 days before it.
    """
    tier_bonus = np.array([t.benefits.birthday_bonus_points for t in policy.tiers.tiers])
    return policy.points.bonuses.birthday + tier_bonus[np.asarray(tier, dtype=np.int64)]


# ---------------------------------------------------------------------------------------
# Tiers


def qualified_tier(policy: Policy, score: np.ndarray) -> np.ndarray:
    """Highest tier whose threshold the qualifying score reaches (monotone in ``score``)."""
    thresholds = np.array([t.threshold for t in policy.tiers.tiers], dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    return compiled.qualified_tiers(thresholds, score.ravel()).reshape(score.shape)


def score_months(policy: Policy, month: int) -> tuple[int, int]:
    """First and last month index (inclusive) of the qualifying period that includes ``month``.

    Used for immediate upgrades: a rolling period is this month and the ones before it; a
    calendar-year period is the year to date.
    """
    period = policy.tiers.qualifying_period
    if period.kind == "rolling":
        return month - period.months + 1, month
    return month - month % 12, month


def review_score_months(policy: Policy, review_month: int) -> tuple[int, int]:
    """Qualifying period (first, last month index) judged at a review on ``review_month``'s 1st.

    The period ends with the month before the review: the last N months (rolling) or the
    calendar year containing the previous month (the full year for a January review).
    """
    return score_months(policy, review_month - 1)


def upgrade_now(policy: Policy, tier: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Tier after a purchase: upgrades apply at once when the policy says ``immediate``."""
    tier = np.asarray(tier, dtype=np.int64)
    if policy.tiers.upgrade_timing != "immediate":
        return tier
    return np.maximum(tier, qualified_tier(policy, score))


def is_review_day(policy: Policy, day: dt.date) -> bool:
    """Whether a tier review runs on ``day`` (the 1st of a review month)."""
    return day.day == 1 and day.month in policy.tiers.review_months()


def review_tiers(
    policy: Policy,
    tier: np.ndarray,
    score: np.ndarray,
    grace_until: np.ndarray,
    review_month: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply a tier review.

    Args:
        policy: the policy in force.
        tier: current tier indices.
        score: qualifying scores over `review_score_months`.
        grace_until: month index until which a member below their tier keeps it (-1 = none).
        review_month: the month index of the review.

    Returns:
        (new tier, new grace_until). Upgrades always apply at a review. A member below their
        tier keeps it through ``grace_months`` (the first review that finds them below starts
        the grace; a review on or after its end applies the downgrade), then drops to the
        qualified tier (``at_review``) or one level (``one_level``); ``none`` never downgrades.
    """
    tier = np.asarray(tier, dtype=np.int64)
    grace_until = np.asarray(grace_until, dtype=np.int64)
    qualified = qualified_tier(policy, score)
    rules = policy.tiers
    new_tier = np.maximum(tier, qualified)
    new_grace = np.where(qualified >= tier, -1, grace_until)
    below = qualified < tier
    if rules.downgrade == "none" or not below.any():
        return new_tier, np.where(below, -1, new_grace)
    if rules.grace_months:
        starting = below & (grace_until < 0)
        new_grace = np.where(starting, review_month + rules.grace_months, new_grace)
        due = below & ~starting & (review_month >= grace_until)
    else:
        due = below
    lowered = qualified if rules.downgrade == "at_review" else np.maximum(qualified, tier - 1)
    new_tier = np.where(due, lowered, new_tier)
    new_grace = np.where(due, -1, new_grace)
    return new_tier, new_grace


# ---------------------------------------------------------------------------------------
# Segments


def lifecycle_codes(
    policy: Policy,
    days_since_join: np.ndarray,
    days_since_purchase: np.ndarray,
    purchases: np.ndarray,
) -> np.ndarray:
    """Lifecycle state codes (`LIFECYCLE_CODES`) from days since joining / last purchase.

    ``days_since_purchase`` is measured from the join date for members who never bought.
    The rule itself is `policies.compiled.lifecycle_code`.
    """
    rules = policy.segments
    return compiled.lifecycle_codes(
        rules.new_days, rules.active_days, rules.silent_days, rules.dormant_days,
        np.asarray(days_since_join, dtype=np.int64).ravel(),
        np.asarray(days_since_purchase, dtype=np.int64).ravel(),
        np.asarray(purchases, dtype=np.int64).ravel(),
    ).reshape(np.shape(days_since_purchase))  # fmt: skip


def quadrant_months(month: int) -> tuple[int, int]:
    """First and last month index (inclusive) of the quadrant window in force in ``month``.

    The `policies.compiled.QUADRANT_MONTHS` (12) full months before ``month``; the ledger,
    the simulator and the analytics all use this window.
    """
    return compiled.quadrant_months(month)


def quadrant_codes(policy: Policy, purchases_12m: np.ndarray, spend_12m: np.ndarray) -> np.ndarray:
    """Four-quadrant codes (`QUADRANT_CODES`) from purchase count and spend over the window.

    The window is `quadrant_months`; the rule itself is `policies.compiled.quadrant_code`.
    """
    rules = policy.segments
    return compiled.quadrant_codes(
        rules.quadrant_min_purchases, float(rules.quadrant_min_spend),
        np.asarray(purchases_12m, dtype=np.int64).ravel(),
        np.asarray(spend_12m, dtype=np.float64).ravel(),
    ).reshape(np.shape(purchases_12m))  # fmt: skip


# ---------------------------------------------------------------------------------------
# Redemption


def redemption_allowed_on(policy: Policy, day: dt.date) -> bool:
    """Whether redemption is open on ``day``: a policy window or a redemption event."""
    if policy.points.redemption.window_open(day):
        return True
    return any(c.opens_redemption for c in campaigns_on(policy, day))


def redeemable_points(
    policy: Policy, day: dt.date, balance: np.ndarray, redeemed_this_year: np.ndarray
) -> np.ndarray:
    """Most points each member may redeem on ``day`` (0 when closed or below the minimum).

    A whole number of redemption units, within the yearly per-member limit.
    """
    balance = np.asarray(balance, dtype=np.int64)
    if not redemption_allowed_on(policy, day):
        return np.zeros_like(balance)
    rules = policy.points.redemption
    limit = -1 if rules.max_points_per_year is None else rules.max_points_per_year
    used = np.broadcast_to(np.asarray(redeemed_this_year, dtype=np.int64), balance.shape)
    rule = compiled.plain(compiled.redeemable)
    return np.array(
        [rule(int(b), int(u), limit, rules.minimum_points, rules.unit_points)
         for b, u in zip(balance.ravel(), used.ravel(), strict=True)],
        dtype=np.int64,
    ).reshape(balance.shape)  # fmt: skip


def redemption_points(policy: Policy, requested: np.ndarray, redeemable: np.ndarray) -> np.ndarray:
    """Points actually redeemed for a request: whole units, at most what is redeemable.

    A request below the minimum redemption is refused (0).
    """
    rules = policy.points.redemption
    requested = np.asarray(requested, dtype=np.int64)
    allowed = np.broadcast_to(np.asarray(redeemable, dtype=np.int64), requested.shape)
    rule = compiled.plain(compiled.redemption)
    return np.array(
        [rule(int(r), int(a), rules.minimum_points, rules.unit_points)
         for r, a in zip(requested.ravel(), allowed.ravel(), strict=True)],
        dtype=np.int64,
    ).reshape(requested.shape)  # fmt: skip


# ---------------------------------------------------------------------------------------
# Expiry and the FIFO lots


def expiry_month_of_lot(policy: Policy, earned_month: int) -> int:
    """Month index at whose end points earned in ``earned_month`` expire (`NO_EXPIRY`: never).

    Rolling: ``earned_month + months``. Fixed date: the month of the fixed date in year
    ``Y + years_after`` (they expire at the end of that day, which the simulator and ledger
    handle as the end of that day; see `fixed_expiry_date`). Inactivity and none: never by
    date.
    """
    expiry = policy.expiry
    if isinstance(expiry, RollingExpiry):
        return earned_month + expiry.months
    if isinstance(expiry, FixedDateExpiry):
        year = earned_month // 12 + expiry.years_after
        return year * 12 + expiry.month - 1
    assert isinstance(expiry, NoExpiry | InactivityExpiry)
    return NO_EXPIRY


def fixed_expiry_date(policy: Policy, earned_month: int) -> dt.date | None:
    """For fixed-date expiry, the last day points earned in ``earned_month`` count."""
    expiry = policy.expiry
    if not isinstance(expiry, FixedDateExpiry):
        return None
    return dt.date(earned_month // 12 + expiry.years_after, expiry.month, expiry.day)


def expires_at_end_of(policy: Policy, day: dt.date) -> bool:
    """Whether an expiry run happens at the end of ``day``.

    Rolling and inactivity expiry run at the end of each month; fixed-date expiry at the end
    of its date.
    """
    expiry = policy.expiry
    if isinstance(expiry, FixedDateExpiry):
        return (day.month, day.day) == (expiry.month, expiry.day)
    if isinstance(expiry, RollingExpiry | InactivityExpiry):
        return (day + dt.timedelta(days=1)).day == 1
    return False


def inactivity_lapses(policy: Policy, last_activity_month: np.ndarray, month: int) -> np.ndarray:
    """Members whose whole balance lapses at the end of ``month`` (inactivity expiry).

    True when the last purchase or redemption was ``months`` or more months before.
    """
    expiry = policy.expiry
    last = np.asarray(last_activity_month, dtype=np.int64)
    if not isinstance(expiry, InactivityExpiry):
        return np.zeros(last.shape, dtype=bool)
    return compiled.plain(compiled.inactivity_lapsed)(last, month, expiry.months)


def consume_fifo(lots: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """How much to take from each lot, oldest first, to remove ``amount`` points.

    Args:
        lots: ``(members, n_lots)`` points per lot, oldest lot in column 0.
        amount: ``(members,)`` points to remove (at most the row's total).

    Returns:
        ``(members, n_lots)`` points taken from each lot; rows sum to ``amount``.
    """
    lots = np.asarray(lots, dtype=np.int64)
    left = lots.copy()
    compiled.take_fifo_rows(left, np.asarray(amount, dtype=np.int64))
    return lots - left
