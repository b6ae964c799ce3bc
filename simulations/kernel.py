"""The engine's compiled per-member code (numba).

The *window kernel*. It calls the rules of `policies.compiled` (pricing, qualified tier,
lifecycle, quadrant, birthday bonus), the very functions the live ledger runs. Between two
calendar events the engine hands every member to `window`, which advances the member through
the window's days on its own -- sign-up and birthday bonuses at the start of a day, the
day's purchases, a planned redemption, the end-of-window expiry run and the month-end counts
-- in exactly the order the live ledger books them (`policies.ledger`). Members are
independent between calendar events, so each is advanced in one go while its state is in
cache, and chunks of members run in parallel on the local cores. Every random number a
member uses comes from its own streams (`simulations.streams`), so results do not depend on
the number of threads.

Purchases follow a member's time-varying rate by thinning (Lewis & Shedler 1979, "Simulation
of nonhomogeneous Poisson processes by thinning", Naval Research Logistics Quarterly 26): the
next *candidate* purchase is drawn at the dominating rate ``lambda * calendar(t) * bound`` by
inverting the cumulative calendar intensity, and accepted with probability ``factor / bound``
on its day. The bound (`candidate_bound`, its one definition) is the member's own factor when
the candidate is drawn (tier, goal gradient, post-redemption and contact lifts; lifts that
wear off counted at least 1) times the largest product of targeted campaign uplifts. Events
that can raise the factor before the candidate -- a purchase, a tier change at a review, a
redemption, a contact -- draw a new candidate from that moment at the new bound when it is
higher, which keeps the bound valid; by the memoryless property of the candidate process,
the result is a correct draw of the time-varying process.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import NamedTuple

import numba
import numpy as np

from policies import compiled
from simulations import streams
from simulations.streams import exponential, gamma, uniform

NEVER = compiled.NEVER
"""Day index meaning 'never happened'."""

FAR = np.iinfo(np.int32).max
"""Day index meaning 'not within the horizon'."""

_EPSILON = compiled.EPSILON
LOT_DTYPE = np.int32  # points per member and lot (a member's balance is 64-bit)
LOT_MAX = int(np.iinfo(LOT_DTYPE).max)
CHUNK = 2048  # members per unit of parallel work (and per row of the accumulators)
SLACK = 4096  # room kept in the trace record for one member's events of a window

# Float accumulators, one row per chunk.
A_GROSS, A_DISCOUNT, A_NET, A_COUPON = range(4)
N_ACC = 4
# Integer counters, one row per chunk.
(C_BASE, C_BONUS, C_CHURNED, C_REDEEMED, C_REDEMPTIONS, C_EXPIRED, C_ERROR,
 C_PURCHASING) = range(8)  # fmt: skip
C_LIFECYCLE = 8  # 5 lifecycle states
C_QUADRANT = 13  # 4 quadrants
C_TIERS = 17  # one column per tier
ERR_LOT, ERR_RECORD, ERR_BOUND = 1, 2, 3
# Trace record kinds.
R_PURCHASE, R_BONUS, R_REQUEST, R_REDEEM, R_EXPIRE = range(5)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _lifecycle_one(segments, d, join, last_purchase, purchases):
    """`policies.compiled.lifecycle_code` of one member on day ``d``."""
    since = compiled.days_since_purchase(d, last_purchase, join)
    return segments.codes[
        compiled.lifecycle_code(
            segments.new_days,
            segments.active_days,
            segments.silent_days,
            segments.dormant_days,
            d - join,
            since,
            purchases,
        )  # fmt: skip
    ]


@numba.njit(cache=True, error_model="numpy", inline="always")
def _quadrant_one(quadrants, count_ring, spend_ring, m, column):
    """`policies.compiled.quadrant_code` over the ring's months but the one of ``column``.

    The rings hold `policies.compiled.RING_MONTHS` months: the quadrant window and the month
    in progress (``column``), which does not count.
    """
    count = 0
    spend = 0
    for j in range(count_ring.shape[1]):
        if j != column:
            count += count_ring[m, j]
            spend += spend_ring[m, j]
    return quadrants.codes[
        compiled.quadrant_code(quadrants.min_purchases, quadrants.min_spend, count, spend / 100.0)
    ]


@numba.njit(cache=True)
def quadrant_codes(quadrants, count_ring, spend_ring, rows, column):
    """`_quadrant_one` of each member in ``rows`` (the engine's contacts)."""
    out = np.empty(rows.size, np.int64)
    for i in range(rows.size):
        out[i] = _quadrant_one(quadrants, count_ring, spend_ring, rows[i], column)
    return out


@numba.njit(cache=True, error_model="numpy", nogil=True)
def opening_lots(spend, columns, slots, rate, multiplier, known, share, lots, balance):
    """Book existing members' opening points to their lots; False if a lot would overflow.

    Lot ``v`` of member ``i`` gets the points the spend of history column ``columns[v]``
    earned (``floor(spend / 100 * rate * multiplier[i])``), or ``share[i, v]`` when the
    member's balance is ``known`` (``share`` has no rows when no balance is known).
    """
    use_share = share.shape[0] > 0
    for i in range(spend.shape[0]):
        for v in range(columns.size):
            if use_share and known[i]:
                points = np.int64(share[i, v])
            else:
                points = np.int64(
                    np.floor(spend[i, columns[v]] / 100.0 * rate * multiplier[i] + _EPSILON)
                )
            total = np.int64(lots[i, slots[v]]) + points
            if total > LOT_MAX:
                return False
            lots[i, slots[v]] = total
            balance[i] += points
    return True


@numba.njit(cache=True)
def betaln(a, b):
    """The log beta function log B(a, b[i]) for each ``b[i]`` (NaN unless a, b[i] > 0).

    lgamma(a) + lgamma(b) - lgamma(a + b); compiled so that running a simulation does not
    import scipy (a tenth of a second).
    """
    out = np.empty(b.size)
    for i in range(b.size):
        if a > 0 and b[i] > 0:
            out[i] = math.lgamma(a) + math.lgamma(b[i]) - math.lgamma(a + b[i])
        else:
            out[i] = np.nan
    return out


# ---------------------------------------------------------------------------------------
# The window kernel's inputs (built by the engine, see `simulations.engine._Simulation`)


class Members(NamedTuple):
    """Every member's state, one array entry per member (changed in place by the kernel).

    Days are day indexes of the horizon (`NEVER`: never happened, `FAR`: not within it);
    ``lots`` holds a member's points by expiry lot (columns are the engine's slots);
    ``states`` each member's three random streams (candidates, spend, and dropout and
    redemption decisions, `simulations.streams`).
    """

    alive: np.ndarray
    tier: np.ndarray
    balance: np.ndarray
    lots: np.ndarray
    purchases: np.ndarray
    last_purchase: np.ndarray
    last_activity: np.ndarray  # month index of the last purchase or redemption
    join: np.ndarray
    birthday_month: np.ndarray
    birthday_day: np.ndarray
    last_redeem: np.ndarray
    contact_day: np.ndarray
    contact_kind: np.ndarray  # 0 none, 1 activation, 2 reactivation
    coupon: np.ndarray  # coupon value of the last contact, until used
    next_t: np.ndarray  # time of the next candidate purchase
    next_day: np.ndarray  # its day
    trial_time: np.ndarray  # time of the first purchase after joining (within the day)
    cand_bound: np.ndarray  # thinning bound of the candidate (-1: a purchase for sure)
    redeem_day: np.ndarray  # day of the redemption planned this month
    redeemed_year: np.ndarray  # points redeemed this calendar year
    states: np.ndarray
    settled: np.ndarray  # nothing but the month-end counts can happen to it (`_settles`)


class Rates(NamedTuple):
    """Purchase, dropout and spend parameters; bonuses.

    By member: BG/NBD purchase rate ``lam`` and dropout probability ``p``, Gamma-Gamma spend
    scale ``nu``. By tier: rate and dropout factors, birthday bonus points. By contact kind:
    ``contact_uplift``. ``targeted_max`` is the largest product of targeted campaign uplifts.
    """

    lam: np.ndarray
    p: np.ndarray
    nu: np.ndarray
    tier_factor: np.ndarray
    dropout_factor: np.ndarray
    contact_uplift: np.ndarray
    targeted_max: float
    birthday_points: np.ndarray
    signup_points: int
    spend_shape: float  # Gamma-Gamma p


class Days(NamedTuple):
    """The horizon's calendar: intensity (and its cumulative), day of month, leap year.

    ``guide`` is the guide table of the cumulative intensity with step ``guide_width``
    (`_after`).
    """

    cumulative: np.ndarray
    intensity: np.ndarray
    day_of_month: np.ndarray
    leap: np.ndarray
    guide: np.ndarray
    guide_width: float


class Rings(NamedTuple):
    """Monthly history rings (column ``month % width``) and the qualifying score.

    ``score`` is the qualifying score's ring, the ``spend`` ring itself when ``score_kind``
    is -1 (else 0 spend, 1 purchases, 2 points, kept in its own ring); the score counts
    months ``score_first..score_last``, in ``score_unit`` per point of threshold.
    """

    count: np.ndarray
    spend: np.ndarray  # cents
    score: np.ndarray
    score_kind: int
    score_first: int
    score_last: int
    score_unit: float
    thresholds: np.ndarray


class Effects(NamedTuple):
    """Program effects on the purchase rate (`simulations.behavior.ProgramEffects`)."""

    goal_lift: float
    goal_start: float
    redeem_lift: float
    redeem_days: int
    contact_days: int


class Segments(NamedTuple):
    """Lifecycle cut-offs (days), the code of each state, and whether a campaign needs them."""

    new_days: int
    active_days: int
    silent_days: int
    dormant_days: int
    codes: np.ndarray
    needed: bool


class Quadrants(NamedTuple):
    """Quadrant cut-offs, the code of each quadrant, and whether a campaign needs them."""

    min_purchases: int
    min_spend: float
    codes: np.ndarray
    needed: bool


class Redemption(NamedTuple):
    """The redemption model (logit of redeeming in a month, share redeemed) and the rules."""

    intercept: float
    balance_coef: float
    balance_scale: float
    tier_coefs: np.ndarray
    share: float
    minimum: int
    unit: int
    max_per_year: int  # -1: no limit


class Window(NamedTuple):
    """One window: days ``first..last`` of month index ``month``, and what happens in it.

    ``slot`` is the lot the month's points go to; ``ring_column`` and ``score_column`` the
    month's ring columns (``reset`` them first on the month's first window);
    ``calendar_month`` 1-12. ``plan`` redemptions on ``open_days``. At the end:
    ``expire_kind`` 0 none, 1 the lots ``expire_slots``, 2 the balances of members inactive
    for ``inactive_months`` (`policies.compiled.inactivity_lapsed`); the month-end counts
    when ``report``. ``fifo`` is the lot order, oldest first; ``month_first`` the first day
    of the month.
    """

    first: int
    last: int
    month: int
    slot: int
    ring_column: int
    score_column: int
    calendar_month: int
    immediate: bool
    reset: bool
    plan: bool
    open_days: np.ndarray
    expire_kind: int
    expire_slots: np.ndarray
    inactive_months: int
    report: bool
    fifo: np.ndarray
    month_first: int


class Record(NamedTuple):
    """The trace record: one entry per event (kind ``R_*``, member, day, gross, a, b)."""

    kind: np.ndarray
    member: np.ndarray
    day: np.ndarray
    gross: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @classmethod
    def empty(cls, size: int) -> Record:
        """A record with room for ``size`` events."""
        return cls(np.empty(size, np.int64), np.empty(size, np.int64), np.empty(size, np.int64),
                   np.empty(size), np.empty(size, np.int64), np.empty(size, np.int64))  # fmt: skip


@numba.njit(cache=True, error_model="numpy", inline="always")
def _factor(tier_factor, goal, progress, goal_lift, goal_start, redeemed, redeem_lift,
            contacted, uplift, bounding):  # fmt: skip
    """A member's purchase-rate factor before targeted campaigns (scalars only).

    Tier lift x goal gradient (when ``goal``: not in the top tier) x post-redemption lift
    (when ``redeemed`` recently) x contact uplift (when ``contacted`` recently). With
    ``bounding`` the contact uplift, which wears off, counts at least 1, so the value bounds
    the factor until an event changes the member's state. (The compiled loops pass numbers,
    not arrays, to small helpers: an array argument costs two atomic reference counts.)
    """
    h = tier_factor
    if goal and goal_lift > 0:
        ramp = min(max((progress - goal_start) / (1 - goal_start), 0.0), 1.0)
        h = h * (1 + goal_lift * ramp)
    if redeemed and redeem_lift > 0:
        h = h * (1 + redeem_lift)
    if contacted:
        h = h * (max(uplift, 1.0) if bounding else uplift)
    return h


@numba.njit(cache=True, error_model="numpy", inline="always")
def _score_total(score_ring, m, first, last):
    """Member ``m``'s qualifying score in ring units over months ``first..last``."""
    length = score_ring.shape[1]
    total = np.int64(0)
    begin = max(first, last - length + 1)
    column = begin % length  # one division, not one per month
    for _ in range(begin, last + 1):
        total += score_ring[m, column]
        column += 1
        if column == length:
            column = 0
    return total


@numba.njit(cache=True)
def score_totals(score_ring, rows, first, last):
    """`_score_total` of each member in ``rows`` (the engine's tier reviews)."""
    out = np.empty(rows.size, np.int64)
    for i in range(rows.size):
        out[i] = _score_total(score_ring, rows[i], first, last)
    return out


@numba.njit(cache=True, error_model="numpy", inline="always")
def _goal_progress(level, top, goal_lift, score, score_unit, next_threshold):
    """Share of the next tier's threshold a qualifying ``score`` (ring units) reaches.

    0 at the top tier and without a goal gradient (the score is then not needed).
    """
    if level < top and goal_lift > 0:
        return score / score_unit / max(next_threshold, 1e-9)
    return 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def candidate_bound(targeted_max, tier_factor, level, top, score, score_unit, next_threshold,
                    goal_lift, goal_start, redeemed, redeem_lift, contacted, uplift):  # fmt: skip
    """The thinning bound of a member's next candidates (module docstring).

    The member's `_factor` in tier ``level`` with the lifts that wear off counted at least 1,
    times ``targeted_max``, the largest product of targeted campaign uplifts: no factor the
    member can have before its state changes exceeds it. Scalars only (see `_factor`).
    """
    progress = _goal_progress(level, top, goal_lift, score, score_unit, next_threshold)
    return targeted_max * _factor(tier_factor, level < top, progress, goal_lift, goal_start,
                                  redeemed, redeem_lift, contacted, uplift, True)  # fmt: skip


@numba.njit(cache=True, error_model="numpy", inline="always")
def _after(t, x, cumulative, intensity, guide, width):
    """(time, day) at which the cumulative calendar intensity from ``t`` reaches ``x``.

    Inverts the piecewise-linear cumulative intensity: the next candidate purchase after
    ``t`` when ``x`` is an exponential draw divided by the member's rate. (inf, FAR) when it
    falls beyond the horizon. The day is found through a guide table (Chen & Asau 1974):
    ``guide[b]`` is the last day whose cumulative intensity is at most ``b * width``, a step
    or two from the answer, which is exactly ``searchsorted(cumulative, c, "right") - 1``.
    """
    n_days = intensity.size
    k = np.int64(np.floor(t))
    if k >= n_days:
        return np.inf, FAR
    c = cumulative[k] + (t - k) * intensity[k] + x
    if not c < cumulative[n_days]:  # beyond the horizon (or not a number)
        return np.inf, FAR
    k2 = guide[min(np.int64(c / width), guide.size - 1)]
    while k2 > 0 and cumulative[k2] > c:
        k2 -= 1
    while k2 < n_days and cumulative[k2 + 1] <= c:
        k2 += 1
    if k2 >= n_days:
        return np.inf, FAR
    t2 = k2 + (c - cumulative[k2]) / intensity[k2]
    return min(max(t2, t), k2 + 1 - 1e-9), k2


@numba.njit(cache=True, error_model="numpy")
def redraw(idx, t, only_if_higher, members, rates, days, rings, effects):
    """Draw new candidates for members ``idx`` from day ``t`` (their state just changed).

    With ``only_if_higher`` a member keeps its candidate unless the bound rose. Members
    waiting for a forced purchase (bound -1) keep it.
    """
    alive, tier, last_redeem, contact_day, contact_kind = (
        members.alive, members.tier, members.last_redeem, members.contact_day,
        members.contact_kind)  # fmt: skip
    next_t, next_day, cand_bound, states = (
        members.next_t, members.next_day, members.cand_bound, members.states)  # fmt: skip
    lam, tier_factor, contact_uplift, targeted_max = (
        rates.lam, rates.tier_factor, rates.contact_uplift, rates.targeted_max)  # fmt: skip
    cumulative, intensity, guide, width = (
        days.cumulative, days.intensity, days.guide, days.guide_width)  # fmt: skip
    score_ring, score_first, score_last, score_unit, thresholds = (
        rings.score, rings.score_first, rings.score_last, rings.score_unit,
        rings.thresholds)  # fmt: skip
    goal_lift, goal_start, redeem_lift, redeem_days, contact_days = (
        effects.goal_lift, effects.goal_start, effects.redeem_lift, effects.redeem_days,
        effects.contact_days)  # fmt: skip
    top = thresholds.size - 1
    for i in range(idx.size):
        m = idx[i]
        if not alive[m] or cand_bound[m] < 0:
            continue
        level = tier[m]
        score = np.int64(0)
        if level < top and goal_lift > 0:
            score = _score_total(score_ring, m, score_first, score_last)
        bound = candidate_bound(
            targeted_max, tier_factor[level], level, top, score, score_unit,
            thresholds[min(level + 1, top)], goal_lift, goal_start,
            t - last_redeem[m] <= redeem_days, redeem_lift, t - contact_day[m] <= contact_days,
            contact_uplift[contact_kind[m]],
        )  # fmt: skip
        if only_if_higher and bound <= cand_bound[m]:
            continue
        state, e = exponential(states[m, 0])
        states[m, 0] = state
        next_t[m], next_day[m] = _after(
            float(t), e / (lam[m] * bound), cumulative, intensity, guide, width
        )
        cand_bound[m] = bound


@numba.njit(cache=True, error_model="numpy", inline="always")
def _book(m, slot, points, lots, balance):
    """Add ``points`` to member ``m``'s lot ``slot``; False if the 32-bit lot would overflow."""
    if lots[m, slot] + points > LOT_MAX:
        return False
    lots[m, slot] += points
    balance[m] += points
    return True


@numba.njit(cache=True, error_model="numpy", inline="always")
def _record(record, n, kind, m, d, gross, a, b):
    record.kind[n] = kind
    record.member[n] = m
    record.day[n] = d
    record.gross[n] = gross
    record.a[n] = a
    record.b[n] = b
    return n + 1


@numba.njit(cache=True, error_model="numpy", inline="always")
def _start_of_window(m, j, a, b, reset, shared, ring_col, score_col, plan, open_days, is_leap,
                     day_month, s_other, count_ring, spend_ring, score_ring, balance, tier,
                     redeem_day, bmonth, bday, dom, intercept, balance_coef, balance_scale,
                     tier_coefs, minimum):  # fmt: skip
    """Member ``m`` (joining on day ``j``) entering days ``a..b``: what the window holds.

    Clears the month's ring columns when ``reset``; plans the month's redemption when
    ``plan``. Returns the member's decision stream state, whether it signs up in the window,
    the days of its birthday and its planned redemption in the window (`FAR`: none), and its
    birthday (month, day; 29 February is the 28th in other years).
    """
    if reset:
        count_ring[m, ring_col] = 0
        spend_ring[m, ring_col] = 0
        if not shared:
            score_ring[m, score_col] = 0
    if plan:
        planned = NEVER
        # Every balance holder, whether still buying or not: the redemption model is
        # fitted on all of them (lapsed buyers redeem too).
        if j < a and balance[m] >= max(minimum, 1):
            logit = (intercept + balance_coef * np.log1p(balance[m] / balance_scale)
                     + tier_coefs[tier[m]])  # fmt: skip
            s_other, u = uniform(s_other)
            if u < 1.0 / (1.0 + np.exp(-logit)):
                s_other, u = uniform(s_other)
                planned = open_days[np.int64(u * open_days.size)]
        redeem_day[m] = planned
    signup = a <= j <= b
    birthday = FAR
    bm, bd = bmonth[m], bday[m]
    if not is_leap and bm == 2 and bd == 29:
        bd = 28
    if bm == day_month:
        at = a + (bd - dom[a])
        if a <= at <= b:
            birthday = at
    redemption = redeem_day[m] if a <= redeem_day[m] <= b else FAR
    return s_other, signup, birthday, redemption, bm, bd


@numba.njit(cache=True, error_model="numpy", inline="always")
def _start_of_day(m, j, d, slot, c, signup, birthday, trial, signup_points, tier, lots, balance,
                  last_purchase, next_t, next_day, trial_time, birthday_points, cnt, record,
                  n_rec, trace):  # fmt: skip
    """Start of day ``d``: member ``m``'s sign-up bonus (and first purchase), birthday bonus.

    Returns ``signup``, ``birthday`` and ``trial`` as they stand after the day's start, the
    trace records written so far and an error code (0: none).
    """
    bonus = np.int64(0)
    if signup and j == d:
        signup = False
        bonus += signup_points
        next_t[m] = d + trial_time[m]
        next_day[m] = d
        trial = True
    if birthday == d:
        birthday = FAR
        if j <= d and compiled.birthday_bonus_due(d, last_purchase[m]):
            bonus += birthday_points[tier[m]]
    if bonus > 0:
        if not _book(m, slot, bonus, lots, balance):
            return signup, birthday, trial, n_rec, ERR_LOT
        cnt[c, C_BONUS] += bonus
        if trace:
            n_rec = _record(record, n_rec, R_BONUS, m, d, 0.0, bonus, 0)
    return signup, birthday, trial, n_rec, 0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _purchases(m, j, d, c, bm, bd, trial, score_known, score_total, s_event, s_spend, s_other,
               window, members, rates, days, rings, effects, prices, pricing, targeted,
               segments, quadrants, acc, cnt, record, n_rec, trace):  # fmt: skip
    """Member ``m``'s purchases of day ``d``: its candidates of the day, in time order.

    Each candidate is accepted with probability factor / bound (thinning, module docstring;
    the first purchase after joining and forced purchases for sure); an accepted one is
    priced, booked and counted, and the member may drop out after it. Then the next
    candidate is drawn at the bound of the member's state as it stands. Returns an error
    code (0: none), the trace records written so far, the three stream states, ``trial``,
    and the qualifying score (known, total).
    """
    alive, tier, balance, lots, purchases = (
        members.alive, members.tier, members.balance, members.lots, members.purchases)  # fmt: skip
    last_purchase, last_activity, last_redeem, contact_day, contact_kind, coupon = (
        members.last_purchase, members.last_activity, members.last_redeem, members.contact_day,
        members.contact_kind, members.coupon)  # fmt: skip
    next_t, next_day, cand_bound = members.next_t, members.next_day, members.cand_bound
    lam, p, nu, tier_factor, dropout_factor = (
        rates.lam, rates.p, rates.nu, rates.tier_factor, rates.dropout_factor)  # fmt: skip
    contact_uplift, targeted_max, gg_p = rates.contact_uplift, rates.targeted_max, rates.spend_shape
    cumulative, intensity, dom, guide, width = (
        days.cumulative, days.intensity, days.day_of_month, days.guide,
        days.guide_width)  # fmt: skip
    count_ring, spend_ring, score_ring, score_kind = (
        rings.count, rings.spend, rings.score, rings.score_kind)  # fmt: skip
    score_first, score_last, score_unit, thresholds = (
        rings.score_first, rings.score_last, rings.score_unit, rings.thresholds)  # fmt: skip
    goal_lift, goal_start, redeem_lift, redeem_days, contact_days = (
        effects.goal_lift, effects.goal_start, effects.redeem_lift, effects.redeem_days,
        effects.contact_days)  # fmt: skip
    month, slot, ring_col, score_col, day_month, immediate = (
        window.month, window.slot, window.ring_column, window.score_column,
        window.calendar_month, window.immediate)  # fmt: skip
    table, params, factors = prices, pricing, targeted
    ptr, t_ptr = table.ptr, factors.ptr
    need_lifecycle, need_quadrant = segments.needed, quadrants.needed
    shared = score_kind < 0
    top = thresholds.size - 1
    dom_d = dom[d]
    today_birthday = bm == day_month and bd == dom_d
    birthday_month = bm == day_month
    lo_p, hi_p = ptr[d], ptr[d + 1]
    lo_t, hi_t = t_ptr[d], t_ptr[d + 1]
    while next_day[m] == d:
        t = tier[m]
        if not score_known and (immediate or (goal_lift > 0 and t < top)):
            score_total = _score_total(score_ring, m, score_first, score_last)
            score_known = True
        if trial or cand_bound[m] < 0:
            accepted = True
        else:
            progress = _goal_progress(t, top, goal_lift, score_total, score_unit,
                                      thresholds[min(t + 1, top)])  # fmt: skip
            h = _factor(
                tier_factor[t], t < top, progress, goal_lift, goal_start,
                d - last_redeem[m] <= redeem_days, redeem_lift,
                d - contact_day[m] <= contact_days, contact_uplift[contact_kind[m]],
                False,
            )  # fmt: skip
            if hi_t > lo_t:
                lifecycle = 0
                if need_lifecycle:
                    lifecycle = _lifecycle_one(segments, d, j, last_purchase[m],
                                               purchases[m])  # fmt: skip
                quadrant = 0
                if need_quadrant:
                    quadrant = _quadrant_one(quadrants, count_ring, spend_ring, m,
                                             ring_col)  # fmt: skip
                for k in range(lo_t, hi_t):
                    if compiled.targets(factors, k, t, lifecycle, quadrant, today_birthday,
                                birthday_month):  # fmt: skip
                        h = h * factors.value[k]
            if h > cand_bound[m] * (1 + 1e-12):
                # The thinning bound must hold; a broken bound would bias purchases.
                return ERR_BOUND, n_rec, s_event, s_spend, s_other, trial, score_known, score_total
            s_event, u = uniform(s_event)
            accepted = u * cand_bound[m] < h
        if accepted:
            if trace and n_rec >= record.kind.size:
                return ERR_RECORD, n_rec, s_event, s_spend, s_other, trial, score_known, score_total
            lifecycle = (_lifecycle_one(segments, d, j, last_purchase[m], purchases[m])
                         if need_lifecycle else 0)  # fmt: skip
            quadrant = (_quadrant_one(quadrants, count_ring, spend_ring, m, ring_col)
                        if need_quadrant else 0)  # fmt: skip
            s_spend, g = gamma(s_spend, gg_p)
            gross = compiled.round_to(g / nu[m], 100.0)
            gross, discount, net, base, points = compiled.price_one(
                table, lo_p, hi_p, params, gross, t, float(balance[m]), today_birthday,
                birthday_month, lifecycle, quadrant,
            )  # fmt: skip
            if not _book(m, slot, points, lots, balance):
                return ERR_LOT, n_rec, s_event, s_spend, s_other, trial, score_known, score_total
            acc[c, A_GROSS] += gross
            acc[c, A_DISCOUNT] += discount
            acc[c, A_NET] += net
            cnt[c, C_BASE] += base
            cnt[c, C_BONUS] += points - base
            if trace:
                n_rec = _record(record, n_rec, R_PURCHASE, m, d, gross, base, points)
            cents = np.int64(np.rint(net * 100))
            spend_ring[m, ring_col] += cents
            count_ring[m, ring_col] += 1
            step = cents
            if not shared:
                if score_kind == 1:
                    step = 1
                elif score_kind == 2:
                    step = points
                score_ring[m, score_col] += step
            score_total += step
            purchases[m] += 1
            last_purchase[m] = d
            last_activity[m] = month
            if coupon[m] > 0 and d - contact_day[m] <= contact_days:
                acc[c, A_COUPON] += coupon[m]
                coupon[m] = 0.0
            if immediate:
                tier[m] = max(
                    tier[m], compiled.qualified_tier(thresholds, score_total / score_unit)
                )
            if not trial:
                s_other, u = uniform(s_other)
                if u < p[m] * dropout_factor[tier[m]]:
                    alive[m] = False
                    next_t[m] = np.inf
                    next_day[m] = FAR
                    cnt[c, C_CHURNED] += 1
                    break
        trial = False
        # The next candidate, bounded by the factor as it stands now.
        t = tier[m]
        if not score_known and goal_lift > 0 and t < top:
            score_total = _score_total(score_ring, m, score_first, score_last)
            score_known = True
        bound = candidate_bound(
            targeted_max, tier_factor[t], t, top, score_total, score_unit,
            thresholds[min(t + 1, top)], goal_lift, goal_start,
            d - last_redeem[m] <= redeem_days, redeem_lift,
            d - contact_day[m] <= contact_days, contact_uplift[contact_kind[m]],
        )  # fmt: skip
        s_event, e = exponential(s_event)
        next_t[m], next_day[m] = _after(next_t[m], e / (lam[m] * bound), cumulative,
                                        intensity, guide, width)  # fmt: skip
        cand_bound[m] = bound
    return 0, n_rec, s_event, s_spend, s_other, trial, score_known, score_total


@numba.njit(cache=True, error_model="numpy", inline="always")
def _redemption(m, d, c, s_event, score_known, score_total, window, members, rates, days, rings,
                effects, redeem, cnt, record, n_rec, trace):  # fmt: skip
    """Member ``m``'s planned redemption on day ``d``, after the day's purchases.

    A redemption with a post-redemption lift raises the purchase factor from the next day
    on: the candidate is redrawn from then at the new bound when it is higher. Returns the
    trace records written so far, the candidate stream state and the qualifying score.
    """
    alive, tier, balance, lots, redeemed_year, last_activity, last_redeem = (
        members.alive, members.tier, members.balance, members.lots, members.redeemed_year,
        members.last_activity, members.last_redeem)  # fmt: skip
    contact_day, contact_kind, next_t, next_day, cand_bound = (
        members.contact_day, members.contact_kind, members.next_t, members.next_day,
        members.cand_bound)  # fmt: skip
    lam, tier_factor, contact_uplift, targeted_max = (
        rates.lam, rates.tier_factor, rates.contact_uplift, rates.targeted_max)  # fmt: skip
    cumulative, intensity, guide, width = (
        days.cumulative, days.intensity, days.guide, days.guide_width)  # fmt: skip
    score_ring, score_first, score_last, score_unit, thresholds = (
        rings.score, rings.score_first, rings.score_last, rings.score_unit,
        rings.thresholds)  # fmt: skip
    goal_lift, goal_start, redeem_lift, contact_days = (
        effects.goal_lift, effects.goal_start, effects.redeem_lift,
        effects.contact_days)  # fmt: skip
    month, fifo = window.month, window.fifo
    share, minimum, unit, max_year = (
        redeem.share, redeem.minimum, redeem.unit, redeem.max_per_year)  # fmt: skip
    top = thresholds.size - 1
    allowed = compiled.redeemable(balance[m], redeemed_year[m], max_year, minimum, unit)
    requested = np.int64(np.floor(allowed * share + _EPSILON)) // unit * unit
    points = compiled.redemption(requested, allowed, minimum, unit)
    if trace and requested > 0:
        n_rec = _record(record, n_rec, R_REQUEST, m, d, 0.0, requested, 0)
    if points > 0:
        compiled.take_fifo(lots[m], fifo, points)
        balance[m] -= points
        redeemed_year[m] += points
        last_activity[m] = month
        last_redeem[m] = d
        cnt[c, C_REDEEMED] += points
        cnt[c, C_REDEMPTIONS] += 1
        if trace:
            n_rec = _record(record, n_rec, R_REDEEM, m, d, 0.0, -points, 0)
        if redeem_lift > 0 and alive[m]:
            t = tier[m]
            if not score_known and goal_lift > 0 and t < top:
                score_total = _score_total(score_ring, m, score_first, score_last)
                score_known = True
            bound = candidate_bound(
                targeted_max, tier_factor[t], t, top, score_total, score_unit,
                thresholds[min(t + 1, top)], goal_lift, goal_start, True, redeem_lift,
                d + 1 - contact_day[m] <= contact_days, contact_uplift[contact_kind[m]],
            )  # fmt: skip
            if bound > cand_bound[m] >= 0:
                s_event, e = exponential(s_event)
                x = e / (lam[m] * bound)
                next_t[m], next_day[m] = _after(d + 1.0, x, cumulative, intensity, guide, width)
                cand_bound[m] = bound
    return n_rec, s_event, score_known, score_total


@numba.njit(cache=True, error_model="numpy", inline="always")
def _end_of_window(m, j, b, month, month_first, c, expire_kind, expire_slots, inactive_months,
                   report, n_quadrant_col, tier, balance, lots, last_activity, last_purchase,
                   purchases, count_ring, spend_ring, segments, quadrants, cnt, record, n_rec,
                   trace):  # fmt: skip
    """End of the window's last day ``b``: member ``m``'s expiry run, then the month-end counts.

    Returns the trace records written so far.
    """
    lost = 0
    if expire_kind == 1:
        for s in expire_slots:
            lost += lots[m, s]
            lots[m, s] = 0
    elif (expire_kind == 2 and balance[m] > 0
          and compiled.inactivity_lapsed(last_activity[m], month, inactive_months)):  # fmt: skip
        lost = balance[m]
        lots[m, :] = 0
    if lost:
        balance[m] -= lost
        cnt[c, C_EXPIRED] += lost
        if trace:
            n_rec = _record(record, n_rec, R_EXPIRE, m, b, 0.0, -lost, 0)
    if report:
        quadrant = _quadrant_one(quadrants, count_ring, spend_ring, m, n_quadrant_col)
        _count(m, j, b, month_first, c, quadrant, tier, last_purchase, purchases, segments, cnt)
    return n_rec


@numba.njit(cache=True, error_model="numpy", inline="always")
def _count(m, j, b, month_first, c, quadrant, tier, last_purchase, purchases, segments, cnt):
    """Member ``m``'s month-end counts (the month's last window ends on day ``b``)."""
    cnt[c, C_TIERS + tier[m]] += 1
    lifecycle = _lifecycle_one(segments, b + 1, j, last_purchase[m], purchases[m])
    cnt[c, C_LIFECYCLE + lifecycle] += 1
    cnt[c, C_QUADRANT + quadrant] += 1
    if last_purchase[m] >= month_first:
        cnt[c, C_PURCHASING] += 1


@numba.njit(cache=True, error_model="numpy", inline="always")
def _settles(m, b, shared, balance, last_purchase, redeem_day, count_ring, spend_ring,
             score_ring):  # fmt: skip
    """Whether member ``m``, at the end of day ``b``, has nothing left to happen but counts.

    No points (so no redemption to plan, nothing to expire), no redemption planned after
    ``b``, no birthday bonus that can still fall due (`policies.compiled.birthday_bonus_due`
    only lapses as days pass) and empty history rings (so clearing a month's column, the
    qualifying score and the quadrant's purchases and spend are all nought). Only a purchase
    can change that, and a purchase needs a candidate within a window: `_chunk` skips a
    settled member through any window its next candidate falls after, counting it, which is
    exactly what going through the window would do.
    """
    if balance[m] != 0 or redeem_day[m] > b:
        return False
    if compiled.birthday_bonus_due(b + 1, last_purchase[m]):
        return False
    for k in range(count_ring.shape[1]):
        if count_ring[m, k] != 0 or spend_ring[m, k] != 0:
            return False
    if not shared:
        for k in range(score_ring.shape[1]):
            if score_ring[m, k] != 0:
                return False
    return True


@numba.njit(cache=True, error_model="numpy", _nrt=False)
def _chunk(lo, hi, c, window, members, rates, days, rings, effects, prices, pricing, targeted,
           segments, quadrants, redeem, acc, cnt, record, n_rec, trace):  # fmt: skip
    """Advance members ``lo..hi-1`` through the window; accumulators go to row ``c``.

    Each member goes through the named steps: `_start_of_window`, then day by day
    `_start_of_day`, `_purchases` and `_redemption`, and `_end_of_window`. Returns the trace
    records written so far and the member to resume from (``hi`` when done; earlier only
    when the trace record is nearly full).

    Compiled without numba's reference counting (``_nrt=False``): the steps are inlined and
    read the named inputs, and every such read of an array would otherwise count a reference
    atomically on memory the threads share (eight times slower at 200k members). Nothing
    here allocates or frees an array: the caller holds every input for the call.
    """
    tier, balance, lots, purchases, last_purchase, last_activity, join = (
        members.tier, members.balance, members.lots, members.purchases, members.last_purchase,
        members.last_activity, members.join)  # fmt: skip
    bmonth, bday, next_t, next_day, trial_time, redeem_day, states, settled = (
        members.birthday_month, members.birthday_day, members.next_t, members.next_day,
        members.trial_time, members.redeem_day, members.states, members.settled)  # fmt: skip
    birthday_points, signup_points = rates.birthday_points, rates.signup_points
    dom, leap = days.day_of_month, days.leap
    count_ring, spend_ring, score_ring, score_kind = (
        rings.count, rings.spend, rings.score, rings.score_kind)  # fmt: skip
    a, b, month, slot, ring_col, score_col, day_month = (
        window.first, window.last, window.month, window.slot, window.ring_column,
        window.score_column, window.calendar_month)  # fmt: skip
    reset, plan, open_days, expire_kind, expire_slots = (
        window.reset, window.plan, window.open_days, window.expire_kind,
        window.expire_slots)  # fmt: skip
    inactive_months, report, month_first = (
        window.inactive_months, window.report, window.month_first)  # fmt: skip
    intercept, balance_coef, balance_scale, tier_coefs, minimum = (
        redeem.intercept, redeem.balance_coef, redeem.balance_scale, redeem.tier_coefs,
        redeem.minimum)  # fmt: skip
    shared = score_kind < 0
    is_leap = leap[a]
    n_quadrant_col = (month + 1) % count_ring.shape[1]
    # The quadrant of empty rings: a settled member's.
    nought = quadrants.codes[compiled.quadrant_code(quadrants.min_purchases, quadrants.min_spend,
                                                    0, 0.0)]  # fmt: skip
    for m in range(lo, hi):
        if trace and n_rec + SLACK > record.kind.size:
            return n_rec, m
        j = join[m]
        if settled[m] and next_day[m] > b and j < a:
            if report:
                _count(m, j, b, month_first, c, nought, tier, last_purchase, purchases, segments,
                       cnt)  # fmt: skip
            continue
        s_event, s_spend, s_other = states[m, 0], states[m, 1], states[m, 2]
        s_other, signup, birthday, redemption, bm, bd = _start_of_window(
            m, j, a, b, reset, shared, ring_col, score_col, plan, open_days, is_leap, day_month,
            s_other, count_ring, spend_ring, score_ring, balance, tier, redeem_day, bmonth, bday,
            dom, intercept, balance_coef, balance_scale, tier_coefs, minimum,
        )  # fmt: skip
        trial = False
        # The qualifying score (in ring units) is read once, then kept up to date here.
        score_known = False
        score_total = np.int64(0)
        while True:
            # The member's next day with something to do.
            d = np.int64(next_day[m])
            if signup and j < d:
                d = j
            if birthday < d:
                d = birthday
            if redemption < d:
                d = redemption
            if d > b:
                break
            if (signup and j == d) or birthday == d:
                signup, birthday, trial, n_rec, error = _start_of_day(
                    m, j, d, slot, c, signup, birthday, trial, signup_points, tier, lots,
                    balance, last_purchase, next_t, next_day, trial_time, birthday_points, cnt,
                    record, n_rec, trace,
                )  # fmt: skip
                if error:
                    cnt[c, C_ERROR] = error
                    return n_rec, hi
            (error, n_rec, s_event, s_spend, s_other, trial, score_known,
             score_total) = _purchases(
                m, j, d, c, bm, bd, trial, score_known, score_total, s_event, s_spend, s_other,
                window, members, rates, days, rings, effects, prices, pricing, targeted,
                segments, quadrants, acc, cnt, record, n_rec, trace,
            )  # fmt: skip
            if error:
                cnt[c, C_ERROR] = error
                return n_rec, hi
            # A planned redemption (after the day's purchases), by any balance holder.
            if redemption == d:
                redemption = FAR
                n_rec, s_event, score_known, score_total = _redemption(
                    m, d, c, s_event, score_known, score_total, window, members, rates, days,
                    rings, effects, redeem, cnt, record, n_rec, trace,
                )  # fmt: skip
        states[m, 0], states[m, 1], states[m, 2] = s_event, s_spend, s_other
        n_rec = _end_of_window(m, j, b, month, month_first, c, expire_kind, expire_slots,
                               inactive_months, report, n_quadrant_col, tier, balance, lots,
                               last_activity, last_purchase, purchases, count_ring, spend_ring,
                               segments, quadrants, cnt, record, n_rec, trace)  # fmt: skip
        settled[m] = _settles(m, b, shared, balance, last_purchase, redeem_day, count_ring,
                              spend_ring, score_ring)  # fmt: skip
    return n_rec, hi


@numba.njit(cache=True, error_model="numpy", nogil=True)
def window_part(part, parts, hi, window, members, rates, days, rings, effects, prices, pricing,
                targeted, segments, quadrants, redeem, acc, cnt, record):  # fmt: skip
    """Advance chunks ``part``, ``part + parts``, ... of members ``0..hi-1`` (no trace).

    Releases the GIL: the engine runs the parts on threads. Chunks are dealt out in turn, so
    each part gets a fair share of old (busy) and new members.
    """
    n_chunks = (hi + CHUNK - 1) // CHUNK
    for c in range(part, n_chunks, parts):
        _chunk(c * CHUNK, min((c + 1) * CHUNK, hi), c, window, members, rates, days, rings,
               effects, prices, pricing, targeted, segments, quadrants, redeem, acc, cnt, record,
               0, False)  # fmt: skip


@numba.njit(cache=True, error_model="numpy")
def window_sequential(lo, hi, window, members, rates, days, rings, effects, prices, pricing,
                      targeted, segments, quadrants, redeem, acc, cnt, record, n_rec):  # fmt: skip
    """Advance members ``lo..hi-1`` in order, writing the trace record.

    Returns the records written and the member to resume from (``hi`` when done; earlier
    when the record is nearly full or an error was flagged).
    """
    m = lo
    while m < hi:
        c = m // CHUNK
        n_rec, stop = _chunk(m, min((c + 1) * CHUNK, hi), c, window, members, rates, days,
                             rings, effects, prices, pricing, targeted, segments, quadrants,
                             redeem, acc, cnt, record, n_rec, True)  # fmt: skip
        if stop < min((c + 1) * CHUNK, hi) or cnt[c, C_ERROR]:
            return n_rec, stop
        m = stop
    return n_rec, hi


def _forget_stale_machine_code() -> None:
    """Discard this module's cached compilations when a module it compiles in has changed.

    Numba's on-disk cache checks only the stamp of the file that defines a function, but the
    kernel inlines the rules of `policies.compiled` and the draws of `simulations.streams`:
    after a change to a rule there, the cached kernel would go on applying the old rule. The
    sources of those modules are fingerprinted beside the cache; on a mismatch every
    dispatcher of this module forgets its cached entries (they are compiled afresh on first
    call) and the new fingerprint is recorded.
    """
    dispatchers = [v for v in globals().values() if isinstance(v, numba.core.dispatcher.Dispatcher)]
    caches = [d._cache for d in dispatchers if getattr(d, "_cache", None) is not None]
    if not caches:
        return
    digest = hashlib.sha256()
    for module in (compiled, streams):
        digest.update(Path(module.__file__).read_bytes())
    stamp = Path(caches[0]._cache_path) / "kernel.dependencies.sha256"
    try:
        if stamp.read_text(encoding="ascii") == digest.hexdigest():
            return
    except OSError:
        pass  # no stamp yet: whatever is cached may predate it
    for cache in caches:
        cache.flush()
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest.hexdigest(), encoding="ascii")
    except OSError:
        pass  # a read-only cache folder: numba then compiles in memory anyway


_forget_stale_machine_code()
