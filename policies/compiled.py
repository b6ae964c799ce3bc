"""The rules as scalar functions over a *compiled policy*: one copy for every caller.

`policies.rules` states the rules over arrays and `policies.ledger` books one member at a
time; the simulator's compiled kernel (`simulations.kernel`) advances millions of members
one by one. All of them call the scalar functions here, so a rule exists once and the live
system cannot drift from the simulation.

A compiled policy is the policy flattened into plain numbers and arrays (built from a
`policies.model.Policy` by the callers): tier thresholds, segment cut-offs, pricing
parameters and the campaign table. The functions take only numbers and numpy arrays, so
they compile with numba when it is installed (`jit` below) and run as plain Python
otherwise: the live system need not depend on numba.

Windows (the one definition every caller uses):

* quadrant window: the `QUADRANT_MONTHS` full months before the current month
  (`quadrant_months`); the current month never counts, so a quadrant is fixed for a month.
* birthday bonus: to members whose last purchase is at most `BIRTHDAY_RECENCY_DAYS` days
  before the birthday (`birthday_bonus_due`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "ALL",
    "BIRTHDAY_DAY",
    "BIRTHDAY_MONTH",
    "BIRTHDAY_NONE",
    "BIRTHDAY_RECENCY_DAYS",
    "KIND_MULTIPLIER",
    "KIND_THRESHOLD",
    "ROUNDING",
    "CampaignTable",
    "Pricing",
    "price_many",
    "price_one",
    "qualified_tier",
    "qualified_tiers",
    "take_fifo",
    "take_fifo_rows",
    "targets",
    "targets_many",
    "EPSILON",
    "HAS_NUMBA",
    "NEVER",
    "QUADRANT_MONTHS",
    "RING_MONTHS",
    "birthday_bonus_due",
    "inactivity_lapsed",
    "days_in_month",
    "days_since_purchase",
    "is_leap",
    "jit",
    "lifecycle_code",
    "lifecycle_codes",
    "plain",
    "quadrant_code",
    "quadrant_codes",
    "quadrant_months",
    "redeemable",
    "redemption",
    "round_points",
    "round_to",
]

try:  # numba compiles the rules for the simulator; the live system may do without it.
    import numba
except ImportError:  # pragma: no cover - exercised where numba is not installed
    numba = None

HAS_NUMBA = numba is not None

EPSILON = 1e-9
"""Tolerance added before rounding down, so 19.99 * 100 does not floor to 1998."""

NEVER = -(1 << 30)
"""Day index meaning 'never happened'."""

QUADRANT_MONTHS = 12
"""Length of the quadrant window: the full months before the current one."""

RING_MONTHS = QUADRANT_MONTHS + 1
"""Columns of a monthly history ring: the quadrant window plus the month in progress."""

BIRTHDAY_RECENCY_DAYS = 365
"""The birthday bonus goes to members who bought within this many days before it."""


ALL = -1
"""Target bit mask matching every code."""

KIND_MULTIPLIER, KIND_THRESHOLD = 0, 1
"""Campaign table kinds: a points multiplier and/or discount; a threshold reduction."""

BIRTHDAY_NONE, BIRTHDAY_DAY, BIRTHDAY_MONTH = 0, 1, 2
"""Campaign table birthday scopes: not a birthday offer, on the day, in the month."""

ROUNDING = {"floor": 0, "ceil": 1, "round": 2}
"""Codes of `policies.model.EarnRule.rounding`."""


class CampaignTable(NamedTuple):
    """Campaigns of every day as flat arrays (rows ``ptr[d]`` to ``ptr[d + 1]`` for day d).

    ``kind`` is `KIND_MULTIPLIER` or `KIND_THRESHOLD`; ``best`` the ``best`` stacking rule;
    ``birthday`` a birthday scope code; ``value`` the points multiplier minus one (pricing)
    or a purchase-rate factor (the simulator's targeted table); ``pct`` the discount;
    ``threshold``, ``reduction``, ``repeatable`` those of a threshold reduction;
    ``tier_mask``, ``lifecycle_mask`` and ``quadrant_mask`` bit masks of the codes a campaign
    targets (`ALL`: everyone). Built by `policies.rules.campaign_table`.
    """

    ptr: np.ndarray
    kind: np.ndarray
    best: np.ndarray
    birthday: np.ndarray
    value: np.ndarray
    pct: np.ndarray
    threshold: np.ndarray
    reduction: np.ndarray
    repeatable: np.ndarray
    tier_mask: np.ndarray
    lifecycle_mask: np.ndarray
    quadrant_mask: np.ndarray


class Pricing(NamedTuple):
    """A policy's pricing and earning numbers (built by `policies.rules.pricing_params`).

    By tier: ``tier_discount`` (percent) and ``tier_multiplier``; ``basis_net`` (earn on the
    net amount), ``rate`` (points per currency unit), ``rounding`` (`ROUNDING` code),
    balance bands (``band_min``, ``band_multiplier``, increasing), tier ``thresholds``.
    """

    tier_discount: np.ndarray
    tier_multiplier: np.ndarray
    basis_net: bool
    rate: float
    rounding: int
    band_min: np.ndarray
    band_multiplier: np.ndarray
    thresholds: np.ndarray


def jit(function=None, **options):
    """``numba.njit(cache=True, error_model="numpy", **options)``, or the plain function.

    Used as ``@jit`` or ``@jit(inline="always")``. Without numba the function runs as
    ordinary Python with the same results (the rules use only scalar arithmetic and numpy).
    """

    def wrap(fn):
        if numba is None:
            return fn
        return numba.njit(cache=True, error_model="numpy", **options)(fn)

    return wrap if function is None else wrap(function)


def plain(function):
    """The plain-Python form of a `jit` function (no compilation on first call)."""
    return getattr(function, "py_func", function)


# ---------------------------------------------------------------------------------------
# Calendar


@jit(inline="always")
def is_leap(year):
    """Whether ``year`` is a Gregorian leap year."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@jit(inline="always")
def days_in_month(year, month):
    """Days in ``month`` (1-12) of ``year``."""
    if month == 2:
        return 29 if is_leap(year) else 28
    if month == 4 or month == 6 or month == 9 or month == 11:  # noqa: PLR1714 (compiled)
        return 30
    return 31


@jit(inline="always")
def quadrant_months(month):
    """First and last month index (inclusive) of the quadrant window in force in ``month``."""
    return month - QUADRANT_MONTHS, month - 1


# ---------------------------------------------------------------------------------------
# Rounding


@jit(inline="always")
def round_to(x, scale):
    """``np.round(x, decimals)`` for ``scale = 10**decimals``: half to even, as numpy does."""
    return np.rint(x * scale) / scale


@jit(inline="always")
def round_points(raw, rounding):
    """Whole points from a raw amount: ``rounding`` 0 floor, 1 ceil, 2 half up; never < 0."""
    if rounding == 0:
        out = np.floor(raw + EPSILON)
    elif rounding == 1:
        out = np.ceil(raw - EPSILON)
    else:
        out = np.floor(raw + 0.5 + EPSILON)
    return np.int64(max(out, 0.0))


# ---------------------------------------------------------------------------------------
# Tiers


@jit(inline="always")
def qualified_tier(thresholds, score):
    """Highest tier whose threshold ``score`` reaches (score rounded to 6 decimals first)."""
    return np.int64(np.searchsorted(thresholds, round_to(score, 1e6) + EPSILON, side="right") - 1)


# ---------------------------------------------------------------------------------------
# Segments


@jit(inline="always")
def days_since_purchase(day, last_purchase, join):
    """Days from the last purchase to ``day``, from joining for members who never bought.

    ``last_purchase`` is `NEVER` when the member never bought. The recency of the lifecycle
    states and of reactivation contacts. Works on numbers and, as plain Python, on arrays.
    """
    return day - join - (last_purchase > NEVER) * (last_purchase - join)


@jit(inline="always")
def lifecycle_code(new_days, active_days, silent_days, dormant_days, since_join, since_purchase,
                   purchases):  # fmt: skip
    """Lifecycle code (index in `policies.model.LIFECYCLE_STATES`) of one member.

    ``new`` (0): joined at most ``new_days`` ago with at most one purchase; otherwise by
    days since the last purchase (since joining for members who never bought): ``active``
    (1), ``silent`` (2), ``dormant`` (3) within the thresholds, else ``churned`` (4).
    """
    if since_join <= new_days and purchases <= 1:
        return 0
    if since_purchase <= active_days:
        return 1
    if since_purchase <= silent_days:
        return 2
    if since_purchase <= dormant_days:
        return 3
    return 4


@jit(inline="always")
def quadrant_code(min_purchases, min_spend, purchases, spend):
    """Quadrant code (index in `policies.model.QUADRANTS`) from a window's count and spend.

    "Many" purchases is at least ``min_purchases``; "high" spend is at least ``min_spend``
    (spend rounded to cents first): close friends (0), butterflies (1), barnacles (2),
    passers-by (3).
    """
    high = round_to(spend, 100.0) >= min_spend
    if purchases >= min_purchases:
        return 0 if high else 2
    return 1 if high else 3


# ---------------------------------------------------------------------------------------
# Campaigns and pricing


@jit(inline="always")
def targets(table, j, tier, lifecycle, quadrant, birthday_today, birthday_month):
    """Whether row ``j`` of a campaign table applies to a member.

    The member's tier, lifecycle and quadrant codes must be among the targeted ones (on
    every axis the campaign restricts); a birthday offer needs the birthday (its day or
    month, by the campaign's scope).
    """
    tier_mask, lifecycle_mask, quadrant_mask = (
        table.tier_mask[j], table.lifecycle_mask[j], table.quadrant_mask[j])  # fmt: skip
    if tier_mask != ALL and not (tier_mask >> tier) & 1:
        return False
    if lifecycle_mask != ALL and not (lifecycle_mask >> lifecycle) & 1:
        return False
    if quadrant_mask != ALL and not (quadrant_mask >> quadrant) & 1:
        return False
    scope = table.birthday[j]
    if scope == BIRTHDAY_DAY:
        return birthday_today
    if scope == BIRTHDAY_MONTH:
        return birthday_month
    return True


@jit(inline="always")
def price_one(table, lo, hi, pricing, gross, tier, balance, birthday_today, birthday_month,
              lifecycle, quadrant):  # fmt: skip
    """One purchase priced by campaign rows ``lo..hi-1``: (gross, discount, net, base, points).

    The rules of `policies.rules` (module docstring): campaign multipliers and discounts
    combine by their stacking rule, tier and campaign discounts apply one after the other
    on the gross amount, threshold reductions count on the gross amount, the discount never
    exceeds it; points are computed once on the total so rounding never compounds, and base
    points (no multipliers) never exceed the points.
    """
    gross = round_to(gross, 100.0)
    stack_mult, best_mult = 1.0, 1.0
    stack_disc, best_disc = 0.0, 0.0
    stack_cut, best_cut = 0.0, 0.0
    for j in range(lo, hi):
        if not targets(table, j, tier, lifecycle, quadrant, birthday_today, birthday_month):
            continue
        if table.kind[j] == KIND_THRESHOLD:
            reached = np.floor(gross / table.threshold[j] + EPSILON)
            if not table.repeatable[j]:
                reached = min(reached, 1.0)
            cut = reached * table.reduction[j]
            if table.best[j]:
                best_cut = max(best_cut, cut)
            else:
                stack_cut += cut
            continue
        extra = table.value[j]
        if table.best[j]:
            best_mult = max(best_mult, 1.0 + extra)
            best_disc = max(best_disc, table.pct[j])
        else:
            stack_mult += extra
            stack_disc += table.pct[j]
    campaign_mult = max(stack_mult, best_mult)
    campaign_disc = min(max(stack_disc, best_disc), 100.0)
    threshold_cut = max(stack_cut, best_cut)
    after_pct = gross * (1 - pricing.tier_discount[tier] / 100.0) * (1 - campaign_disc / 100.0)
    discount = round_to(min(gross - after_pct + threshold_cut, gross), 100.0)
    net = round_to(gross - discount, 100.0)
    basis = net if pricing.basis_net else gross
    band = 1.0
    for b in range(pricing.band_min.size):
        if balance >= pricing.band_min[b]:
            band = pricing.band_multiplier[b]
    raw_base = basis * pricing.rate
    base = round_points(raw_base, pricing.rounding)
    points = round_points(raw_base * pricing.tier_multiplier[tier] * campaign_mult * band,
                          pricing.rounding)  # fmt: skip
    return gross, discount, net, min(base, points), points


# ---------------------------------------------------------------------------------------
# Redemption


@jit(inline="always")
def redeemable(balance, redeemed_this_year, max_per_year, minimum, unit):
    """Most points a member may redeem while redemption is open (0 below the minimum).

    A whole number of ``unit`` points within the yearly limit ``max_per_year`` (-1: none).
    """
    room = balance
    if max_per_year >= 0:
        room = min(room, max(max_per_year - redeemed_this_year, 0))
    room = room // unit * unit
    return room if balance >= minimum and room > 0 else 0


@jit(inline="always")
def redemption(requested, allowed, minimum, unit):
    """Points redeemed for a request: whole units, at most ``allowed``; below the minimum 0."""
    units = max(min(requested, allowed), 0) // unit * unit
    return units if units >= max(minimum, 1) else 0


# ---------------------------------------------------------------------------------------
# Points lots


@jit(inline="always")
def take_fifo(lots, order, amount):
    """Remove ``amount`` points from ``lots`` (in place), the lots in ``order`` oldest first.

    ``amount`` must not exceed the lots' total; returns what could not be taken (0).
    """
    remaining = amount
    for s in order:
        if remaining == 0:
            break
        take = min(np.int64(lots[s]), remaining)
        lots[s] -= take
        remaining -= take
    return remaining


# ---------------------------------------------------------------------------------------
# Bonuses


@jit(inline="always")
def birthday_bonus_due(day, last_purchase):
    """Whether the birthday bonus is due on ``day`` to a member last buying on ``last_purchase``.

    Day numbers count from any common origin; ``last_purchase`` is `NEVER` when the member
    never bought.
    """
    return last_purchase > NEVER and day - last_purchase <= BIRTHDAY_RECENCY_DAYS


@jit(inline="always")
def inactivity_lapsed(last_activity_month, month, months):
    """Whether a balance lapses at the end of ``month`` under an inactivity expiry.

    True when the last purchase or redemption (month index ``last_activity_month``) was
    ``months`` or more months before. Works on numbers and, as plain Python, on arrays.
    """
    return last_activity_month <= month - months


# ---------------------------------------------------------------------------------------
# The same rules over arrays (one entry per member)


@jit
def lifecycle_codes(new_days, active_days, silent_days, dormant_days, since_join, since_purchase,
                    purchases):  # fmt: skip
    """`lifecycle_code` of each member (int8 array)."""
    out = np.empty(since_join.size, dtype=np.int8)
    for i in range(since_join.size):
        out[i] = lifecycle_code(new_days, active_days, silent_days, dormant_days, since_join[i],
                                since_purchase[i], purchases[i])  # fmt: skip
    return out


@jit
def quadrant_codes(min_purchases, min_spend, purchases, spend):
    """`quadrant_code` of each member (int8 array)."""
    out = np.empty(purchases.size, dtype=np.int8)
    for i in range(purchases.size):
        out[i] = quadrant_code(min_purchases, min_spend, purchases[i], spend[i])
    return out


@jit
def qualified_tiers(thresholds, score):
    """`qualified_tier` of each score (int64 array)."""
    out = np.empty(score.size, dtype=np.int64)
    for i in range(score.size):
        out[i] = qualified_tier(thresholds, score[i])
    return out


@jit
def price_many(table, lo, hi, pricing, gross, tier, balance, birthday_today, birthday_month,
               lifecycle, quadrant):  # fmt: skip
    """`price_one` for each purchase: ``(3, n)`` gross, discount, net; ``(2, n)`` base, points."""
    n = gross.size
    money = np.empty((3, n))
    points = np.empty((2, n), dtype=np.int64)
    for i in range(n):
        g, disc, net, base, pts = price_one(
            table, lo, hi, pricing, gross[i], tier[i], balance[i], birthday_today[i],
            birthday_month[i], lifecycle[i], quadrant[i],
        )  # fmt: skip
        money[0, i], money[1, i], money[2, i] = g, disc, net
        points[0, i], points[1, i] = base, pts
    return money, points


@jit
def targets_many(table, j, tier, lifecycle, quadrant, birthday_today, birthday_month):
    """`targets` of row ``j`` for each member (bool array)."""
    out = np.empty(tier.size, dtype=np.bool_)
    for i in range(tier.size):
        out[i] = targets(table, j, tier[i], lifecycle[i], quadrant[i], birthday_today[i],
                         birthday_month[i])  # fmt: skip
    return out


@jit
def take_fifo_rows(lots, amount):
    """`take_fifo` on each row of ``lots`` (oldest lot in column 0), in place."""
    order = np.arange(lots.shape[1])
    for i in range(lots.shape[0]):
        take_fifo(lots[i], order, amount[i])
