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
    "campaigns_on",
    "consume_fifo",
    "expiry_month_of_lot",
    "inactivity_lapses",
    "is_review_day",
    "lifecycle_codes",
    "month_index",
    "price_purchases",
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


def _round_points(raw: np.ndarray, rounding: str) -> np.ndarray:
    if rounding == "floor":
        out = np.floor(raw + EPSILON)
    elif rounding == "ceil":
        out = np.ceil(raw - EPSILON)
    else:
        out = np.floor(raw + 0.5 + EPSILON)
    return np.maximum(out, 0).astype(np.int64)


def _cents(amount: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(amount, dtype=np.float64), 2)


# ---------------------------------------------------------------------------------------
# Campaigns


def campaigns_on(policy: Policy, day: dt.date) -> tuple[Campaign, ...]:
    """The campaigns live on ``day`` (by date range and recurrence; birthday offers included)."""
    return tuple(c for c in policy.campaigns if c.runs_on(day))


def _targeted(
    policy: Policy,
    campaign: Campaign,
    tier: np.ndarray,
    lifecycle: np.ndarray | None,
    quadrant: np.ndarray | None,
) -> np.ndarray:
    """Boolean mask of members the campaign targets."""
    mask = np.ones(tier.shape, dtype=bool)
    target = campaign.target
    if target.tiers:
        codes = [policy.tiers.tier_index(name) for name in target.tiers]
        mask &= np.isin(tier, codes)
    if target.lifecycle:
        if lifecycle is None:
            raise ValueError(f"campaign {campaign.id} targets lifecycle states: pass lifecycle")
        mask &= np.isin(lifecycle, [LIFECYCLE_CODES[s] for s in target.lifecycle])
    if target.quadrants:
        if quadrant is None:
            raise ValueError(f"campaign {campaign.id} targets quadrants: pass quadrant")
        mask &= np.isin(quadrant, [QUADRANT_CODES[q] for q in target.quadrants])
    return mask


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
    gross = _cents(gross)
    tier = np.asarray(tier, dtype=np.int64)
    n = gross.shape[0]
    zeros = np.zeros(n, dtype=bool)
    birthday_today = zeros if birthday_today is None else np.asarray(birthday_today, bool)
    birthday_month = zeros if birthday_month is None else np.asarray(birthday_month, bool)

    stack_mult = np.ones(n)
    best_mult = np.ones(n)
    stack_disc = np.zeros(n)
    best_disc = np.zeros(n)
    stack_cut = np.zeros(n)
    best_cut = np.zeros(n)
    for campaign in campaigns_on(policy, day):
        if not campaign.prices_purchases:
            continue
        mask = _targeted(policy, campaign, tier, lifecycle, quadrant)
        if campaign.kind == "birthday":
            mask &= birthday_today if campaign.birthday_scope == "day" else birthday_month
        if not mask.any():
            continue
        if campaign.kind == "threshold_reduction":
            reached = np.floor(gross / campaign.threshold + EPSILON)
            if not campaign.repeatable:
                reached = np.minimum(reached, 1.0)
            cut = np.where(mask, reached * campaign.reduction, 0.0)
            if campaign.stacking == "best":
                best_cut = np.maximum(best_cut, cut)
            else:
                stack_cut += cut
            continue
        extra = np.where(mask, campaign.points_multiplier - 1.0, 0.0)
        pct = np.where(mask, campaign.discount_pct, 0.0)
        if campaign.stacking == "best":
            best_mult = np.maximum(best_mult, 1.0 + extra)
            best_disc = np.maximum(best_disc, pct)
        else:
            stack_mult += extra
            stack_disc += pct
    campaign_mult = np.maximum(stack_mult, best_mult)
    campaign_disc = np.minimum(np.maximum(stack_disc, best_disc), 100.0)
    threshold_cut = np.maximum(stack_cut, best_cut)

    benefits = [t.benefits for t in policy.tiers.tiers]
    tier_disc = np.array([b.discount_pct for b in benefits])[tier]
    tier_mult = np.array([b.earn_multiplier for b in benefits])[tier]

    after_pct = gross * (1 - tier_disc / 100.0) * (1 - campaign_disc / 100.0)
    discount = _cents(np.minimum(gross - after_pct + threshold_cut, gross))
    net = _cents(gross - discount)

    earn = policy.points.earn
    basis = net if earn.basis == "net" else gross
    rate = earn.points_per_unit / earn.per_amount
    band_mult = np.ones(n)
    if earn.balance_bands:
        held = np.zeros(n) if balance is None else np.asarray(balance, dtype=np.float64)
        for band in earn.balance_bands:
            band_mult = np.where(held >= band.min_balance, band.multiplier, band_mult)
    raw_base = basis * rate
    base = _round_points(raw_base, earn.rounding)
    points = _round_points(raw_base * tier_mult * campaign_mult * band_mult, earn.rounding)
    # Multipliers below 1 (a tier multiplier of 0.5, say) may give fewer than base points;
    # base is then capped so the bonus is never negative.
    base = np.minimum(base, points)
    return PricedPurchases(gross, discount, net, base, points)


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
    thresholds = np.array([t.threshold for t in policy.tiers.tiers])
    score = np.round(np.asarray(score, dtype=np.float64), 6)
    return np.searchsorted(thresholds, score + EPSILON, side="right").astype(np.int64) - 1


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
    rules = policy.points.redemption
    if not redemption_allowed_on(policy, day):
        return np.zeros_like(balance)
    room = balance
    if rules.max_points_per_year is not None:
        left = rules.max_points_per_year - np.asarray(redeemed_this_year, dtype=np.int64)
        room = np.minimum(room, np.maximum(left, 0))
    room = room // rules.unit_points * rules.unit_points
    return np.where((balance >= rules.minimum_points) & (room > 0), room, 0)


def redemption_points(policy: Policy, requested: np.ndarray, redeemable: np.ndarray) -> np.ndarray:
    """Points actually redeemed for a request: whole units, at most what is redeemable.

    A request below the minimum redemption is refused (0).
    """
    rules = policy.points.redemption
    requested = np.minimum(np.asarray(requested, dtype=np.int64), redeemable)
    units = np.maximum(requested, 0) // rules.unit_points * rules.unit_points
    return np.where(units >= max(rules.minimum_points, 1), units, 0)


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
    return last <= month - expiry.months


def consume_fifo(lots: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """How much to take from each lot, oldest first, to remove ``amount`` points.

    Args:
        lots: ``(members, n_lots)`` points per lot, oldest lot in column 0.
        amount: ``(members,)`` points to remove (at most the row's total).

    Returns:
        ``(members, n_lots)`` points taken from each lot; rows sum to ``amount``.
    """
    lots = np.asarray(lots, dtype=np.int64)
    amount = np.asarray(amount, dtype=np.int64)[:, None]
    before = np.cumsum(lots, axis=1) - lots
    return np.clip(amount - before, 0, lots)
