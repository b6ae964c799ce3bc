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

import numpy as np

__all__ = [
    "BIRTHDAY_RECENCY_DAYS",
    "EPSILON",
    "HAS_NUMBA",
    "NEVER",
    "QUADRANT_MONTHS",
    "RING_MONTHS",
    "birthday_bonus_due",
    "days_in_month",
    "is_leap",
    "jit",
    "lifecycle_code",
    "lifecycle_codes",
    "plain",
    "quadrant_code",
    "quadrant_codes",
    "quadrant_months",
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
# Segments


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
# Bonuses


@jit(inline="always")
def birthday_bonus_due(day, last_purchase):
    """Whether the birthday bonus is due on ``day`` to a member last buying on ``last_purchase``.

    Day numbers count from any common origin; ``last_purchase`` is `NEVER` when the member
    never bought.
    """
    return last_purchase > NEVER and day - last_purchase <= BIRTHDAY_RECENCY_DAYS


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
