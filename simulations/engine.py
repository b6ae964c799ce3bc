"""The simulation engine: members' purchases, points and tiers under a policy, day by day.

Design
------
A SimPy environment drives the *calendar*: processes for tier reviews, month boundaries
(yearly counters, the month's points lot, redemption windows), campaign contacts, the member
windows and month-end reporting, each waking at its own time of day. Between two calendar
events that touch every member at once (a month start, a contact day, the end of an expiry
run) members are independent of each other, so a *window* of days is handed to the compiled
kernel (`simulations.kernel`), which advances each member through the window on its own --
sign-up and birthday bonuses at the start of a day, the day's purchases, a planned
redemption, the expiry run at the end of the window's last day, the month-end counts -- in
exactly the order the live ledger books them (`policies.ledger`). Chunks of members run on
threads (the kernel releases the GIL); every member draws from its own random streams
(`simulations.streams`), so the same seed gives the same numbers whatever the number of
threads. Member state lives in flat numpy arrays (one entry per member). The kernel prices,
earns and tiers through scalar forms of the `policies.rules` functions, which the tests check
equal to `policies.rules` on random policies and purchases; a simulated member's purchases and
redemption requests replayed through `policies.ledger.replay` give the same points and tiers.

Behavior model (every number is a `BehaviorParams` field)
---------------------------------------------------------
* Purchases and dropout: BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
  Way"). A new member's join day is the first purchase; afterwards purchases arrive as a
  Poisson process with rate ``lambda ~ Gamma(r, alpha)`` times a time-varying multiplier;
  after each *repeat* purchase the member drops out with probability ``p ~ Beta(a, b)``
  (reduced by tier, see below). Existing members get ``lambda``, ``p`` and alive/dead drawn
  from the exact BG/NBD posterior given ``(x, t_x, T)``: a two-component mixture (alive since
  ``t_x``: ``Gamma(r + x, alpha + T)`` x ``Beta(a, b + x)``; dropped after the last purchase:
  ``Gamma(r + x, alpha + t_x)`` x ``Beta(a + 1, b + x - 1)``) weighted by the likelihood of
  each branch (FHL 2005, eqs. 3 and 6).
* Spend per purchase: Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): gross amount
  ``~ Gamma(p, nu)``; existing members draw ``nu`` from its posterior
  ``Gamma(q + p x, gamma + x * mean_spend)``.
* The rate multiplier is ``calendar(day) * member(day)``: the calendar part is month x weekday
  x holiday uplift x the uplift of campaigns that target everyone x a lift for their discount
  and extra points (`BehaviorParams.campaign_factor`); the member part is tier lift x the
  tier's discount and reward-rate lift (value back per unit of spend,
  `ProgramEffects.rate_factor`) x goal gradient x post-redemption lift x contact uplift x the
  uplift of campaigns targeting the member that day (birthday offers on the birthday). All
  multiplicative (an assumption).
* Time-varying rates are simulated by thinning (Lewis & Shedler 1979): each member carries the
  time of its next *candidate* purchase drawn at the dominating rate ``lambda * calendar(t) *
  bound`` by inverting the cumulative calendar intensity; on the candidate's day it is
  accepted with probability ``member(day) / bound``. The bound is the member's own factor when
  the candidate is drawn times the largest product of targeted campaign uplifts; whatever can
  raise the factor before the candidate (a purchase, a tier change, a redemption, a contact)
  draws a new candidate from that moment (see `simulations.kernel`).
* Redemption: at the start of each month with an open window (policy windows or a redemption
  event), each member who joined before the month and whose balance reaches the minimum
  decides to redeem with the logistic propensity of `RedemptionParams`, on a day drawn
  uniformly among the month's remaining open days, requesting ``redeem_share`` of the
  redeemable points (whole units). Redemption is a process of its own over every balance
  holder, as the model is fitted: members who stopped buying (dropped out) still redeem;
  only the post-redemption purchase lift needs a member still buying.
* Contacts: activation campaigns contact last month's new members, reactivation campaigns
  members with no purchase for ``recency_days`` (not contacted since their last purchase).
  Contacted members buy at ``campaign_uplift[kind]`` for ``effects.contact_effect_days``; a
  share ``effects.reactivation_response`` of contacted members who had dropped out come back
  with a purchase within that window. A coupon costs its value when a contacted member buys
  within the window.
* Tiers: ``tier_rate_lift`` per level on the rate, dropout probability times
  ``(1 - tier_dropout_reduction) ** level``.

Costs and liability
-------------------
Reward cost = points redeemed x cost per point. Tier gifts cost ``gift_cost_per_member / 12``
per member and month. A campaign's ``fixed_cost`` is charged on each day it runs when it
has a day-of-month or weekday recurrence, otherwise once per month it is live in. Liability =
points outstanding x cost per point x URR, where the ultimate redemption rate (URR = 1 -
breakage) is estimated from the simulated future of each replication (IFRS 15 B39-B43) by the
one definition of `simulations.breakage`, the basis history and backtests use too: of the
points redeemed or expired over the horizon, the share redeemed. With nothing resolved the URR
is 1.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import threading
from dataclasses import dataclass, field

import numpy as np
import simpy

from policies import compiled, rules
from policies.compiled import RING_MONTHS, days_in_month, days_since_purchase, plain
from policies.model import Campaign, InactivityExpiry, NoExpiry, Policy
from simulations import kernel
from simulations.behavior import BehaviorParams, reward_pct
from simulations.breakage import redemption_rate
from simulations.kernel import (
    FAR,
    LOT_DTYPE,
    NEVER,
    betaln,
)
from simulations.population import HISTORY_MONTHS, Population
from simulations.streams import seed_states

__all__ = [
    "NEVER",
    "MemberStarts",
    "Model",
    "ReplicationOutput",
    "Trace",
    "simulate_replication",
]

_LOT_OVERFLOW = (
    "a member's points in one expiry lot would exceed 2,147,483,647 points; the simulation"
    " keeps lots as 32-bit numbers: lower the earn rate or multipliers of the policy"
)


def _cores() -> int:
    """Cores this process may run on (all cores where the system cannot say)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


_SHARE = 1  # worker processes sharing the cores (set in worker processes)
_CONTEXT = None  # what this worker process was given once (see `worker_pool`)


def _threads() -> int:
    """Threads for the window kernel: MEMBERLAB_THREADS, else this process's share of cores."""
    wanted = os.environ.get("MEMBERLAB_THREADS", "")
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return max(_cores() // _SHARE, 1)


def _start_worker(context, share: int) -> None:
    """Initialise a worker process: its share of the cores and the context it is given."""
    import signal

    global _SHARE, _CONTEXT
    _SHARE, _CONTEXT = share, context
    # Ctrl-C is the parent's to handle: it cancels what is queued and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_pool(processes: int, context):
    """A pool of ``processes`` worker processes sharing this machine's cores.

    Each worker is given ``context`` once when it starts (e.g. a model with its population)
    and reads it with `worker_context`, so tasks carry only what differs between them (a
    replication number, a point). Each worker's kernel runs on its share of the cores.
    Workers are forked where the system can (they start with the compiled kernel loaded and
    share the population's memory), else started afresh.

    Returns:
        A `concurrent.futures.ProcessPoolExecutor` (use it as a context manager).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    mp_context = multiprocessing.get_context(method)
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=mp_context,
        initializer=_start_worker,
        initargs=(context, processes),
    )


def worker_context():
    """The context this worker process was given by `worker_pool` (None elsewhere)."""
    return _CONTEXT


def _run_parts(hi: int, args: tuple, acc: np.ndarray, cnt: np.ndarray, record: tuple) -> None:
    """Run the window kernel over members ``0..hi-1`` on threads (it releases the GIL).

    Plain threads started per window (not a pool) keep the engine safe to use from forked
    worker processes; results do not depend on the number of threads.
    """
    parts = min(_threads(), max((hi + kernel.CHUNK - 1) // kernel.CHUNK, 1))
    if parts == 1:
        kernel.window_part(0, 1, hi, *args, acc, cnt, record)
        return
    errors: list[BaseException] = []

    def work(part: int) -> None:
        try:
            kernel.window_part(part, parts, hi, *args, acc, cnt, record)
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, parts)]
    for thread in threads:
        thread.start()
    work(0)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@dataclass
class Trace:
    """Per-member events of one replication (for checking against the ledger)."""

    purchases: list = field(default_factory=list)  # (member index array, day, gross array)
    redemptions: list = field(default_factory=list)  # (member index array, day, points array)
    points: list = field(default_factory=list)  # (member idx, day, kind, points)


@dataclass
class ReplicationOutput:
    """What one replication returns (plain data, picklable)."""

    monthly: list[dict]
    migration: np.ndarray  # (tiers + 1, tiers): row = start tier (last row: joined later)
    urr: float
    cohorts: list[dict] = field(default_factory=list)  # new members' retention by join month
    final_tier: np.ndarray | None = None
    member_id: np.ndarray | None = None
    join_day: np.ndarray | None = None
    birthday: np.ndarray | None = None  # (members, 2): month, day (0 = unknown)
    trace: Trace | None = None


class _Calendar:
    """Per-day facts of the horizon shared by all members."""

    def __init__(self, policy: Policy, behavior: BehaviorParams, start: dt.date, months: int):
        end_month = rules.month_index(start) + months
        end = dt.date(end_month // 12, end_month % 12 + 1, 1)
        self.start = start
        self.n_days = (end - start).days
        self.dates = [start + dt.timedelta(days=i) for i in range(self.n_days)]
        self.month = np.array([rules.month_index(d) for d in self.dates], dtype=np.int64)
        base_reward = reward_pct(policy)
        g = np.empty(self.n_days)
        self.campaigns: list[tuple[Campaign, ...]] = []
        self.targeted: list[tuple[Campaign, ...]] = []
        self.contacts: list[tuple[Campaign, ...]] = []
        self.fixed_cost = np.zeros(self.n_days)
        self.redemption_open = np.zeros(self.n_days, dtype=bool)
        self.expiry_run = np.zeros(self.n_days, dtype=bool)
        self.review = np.zeros(self.n_days, dtype=bool)
        charged_months: set[tuple[str, int]] = set()
        for i, day in enumerate(self.dates):
            factor = behavior.month_seasonality[day.month - 1]
            factor *= behavior.weekday_seasonality[day.weekday()]
            factor *= behavior.holiday_factor(day)
            running = rules.campaigns_on(policy, day)
            targeted, contacts = [], []
            for campaign in running:
                if campaign.contacts_members:
                    contacts.append(campaign)
                elif campaign.is_targeted:
                    targeted.append(campaign)
                else:
                    factor *= behavior.campaign_factor(campaign, base_reward)
                recurrence = campaign.recurrence
                if recurrence.day_of_month is not None or recurrence.weekday is not None:
                    self.fixed_cost[i] += campaign.fixed_cost
                elif (campaign.id, int(self.month[i])) not in charged_months:
                    charged_months.add((campaign.id, int(self.month[i])))
                    self.fixed_cost[i] += campaign.fixed_cost
            g[i] = factor
            self.campaigns.append(running)
            self.targeted.append(tuple(targeted))
            self.contacts.append(tuple(contacts))
            self.redemption_open[i] = rules.redemption_allowed_on(policy, day)
            self.expiry_run[i] = rules.expires_at_end_of(policy, day)
            self.review[i] = rules.is_review_day(policy, day)
        self.intensity = g
        self.cumulative = np.concatenate([[0.0], np.cumsum(g)])
        # Guide table for inverting the cumulative intensity (see `kernel._after`).
        total = float(self.cumulative[-1])
        self.guide_width = total / self.n_days if total > 0 else 1.0
        levels = np.arange(self.n_days + 1) * self.guide_width
        self.guide = (np.searchsorted(self.cumulative, levels, side="right") - 1).astype(np.int64)
        self.pricing = rules.campaign_table(
            policy,
            [tuple(c for c in running if c.prices_purchases) for running in self.campaigns],
            lambda c: c.points_multiplier - 1.0,
        )
        self.contact_table = rules.campaign_table(policy, self.contacts, lambda c: 0.0)
        self.targeting = rules.campaign_table(
            policy,
            self.targeted,
            lambda c: behavior.campaign_factor(c, base_reward),
        )
        self.leap = np.array([d.year % 4 == 0 and (d.year % 100 != 0 or d.year % 400 == 0)
                              for d in self.dates])  # fmt: skip
        self.dom = np.array([d.day for d in self.dates], dtype=np.int64)
        self.month_starts = [i for i, d in enumerate(self.dates) if d.day == 1 or i == 0]
        self.month_ends = [
            i for i in range(self.n_days) if i == self.n_days - 1 or self.dates[i + 1].day == 1
        ]
        # Windows: runs of days between calendar events that touch every member at once (a
        # month start, a contact day, the day after an expiry run). Members advance through a
        # window on their own (`simulations.kernel`).
        starts = set(self.month_starts)
        starts.update(i for i in range(self.n_days) if self.contacts[i])
        starts.update(i + 1 for i in np.flatnonzero(self.expiry_run) if i + 1 < self.n_days)
        firsts = sorted(starts)
        self.windows = list(zip(firsts, [f - 1 for f in firsts[1:]] + [self.n_days - 1],
                                strict=True))  # fmt: skip


@dataclass(frozen=True, eq=False)
class _Start:
    """What a replication's members start with before a policy applies (read only).

    It depends on the population, the behavior, the horizon and the replication's seed,
    not on the policy: the members who join and when, birthdays, latent BG/NBD and
    Gamma-Gamma parameters, the members' random streams and their purchase histories. A
    simulation copies what it changes.
    """

    n0: int  # existing members
    join: np.ndarray
    bmonth: np.ndarray
    bday: np.ndarray
    lam: np.ndarray  # BG/NBD rate before `BehaviorParams.rate_divisor`
    p: np.ndarray
    nu: np.ndarray
    alive: np.ndarray
    trial_time: np.ndarray
    states: np.ndarray  # (members, 3) stream states
    purchases: np.ndarray
    last_purchase: np.ndarray
    last_activity: np.ndarray
    n_joined: int  # members who joined before the first day
    cohort: np.ndarray  # new members' join month (0 = the first simulated month)
    active_ref: np.ndarray  # members who bought in the year before the first day
    count_history: np.ndarray  # (existing members, RING_MONTHS) purchase count ring rows
    spend_history: np.ndarray  # (existing members, RING_MONTHS) spend ring rows
    held: tuple[np.ndarray, np.ndarray]  # tier names held, and each member's index into them
    # What policies derive from the histories alone (qualifying score rings and scores of
    # the existing members), by what they depend on; shared like the histories.
    memo: dict

    @property
    def n(self) -> int:
        """Members simulated (existing and joining)."""
        return int(self.join.size)

    def nbytes(self, histories: bool = True) -> int:
        """Bytes held (``histories=False``: without the population's part, `_histories`).

        The memo is left out (a few arrays of one number per existing member).
        """
        shared = [self.count_history, self.spend_history, *self.held]
        own = [v for v in vars(self).values() if isinstance(v, np.ndarray)]
        own = [a for a in own if not any(a is b for b in shared)]
        return sum(a.nbytes for a in own + (shared if histories else []))


def _histories(pop: Population, start_month: int) -> dict:
    """The population's part of `_Start`: history ring rows and held tier names (read only)."""
    names, codes = np.unique(pop.tier.astype(str), return_inverse=True)
    return {
        "count_history": _ring(pop.purchases_by_month, len(pop), start_month, np.int32),
        "spend_history": _ring(pop.spend_by_month, len(pop), start_month, np.int64),
        "held": (names, codes.reshape(-1).astype(np.int64)),
        "memo": {},
    }


def _score_history(
    pop: Population, metric: str, length: int, start_month: int, base_rate: float
) -> np.ndarray:
    """Existing members' rows of a ``length``-month qualifying score ring in ``metric``.

    Column ``month % length`` holds the month's spend (cents), purchases or points (at
    ``base_rate`` points per unit spent) for the history months within ``length`` months
    before ``start_month``; other columns are zero.
    """
    # Purchase counts fit 32 bits; spend in cents and points may not.
    dtype = np.int32 if metric == "purchases" else np.int64
    rows = np.zeros((len(pop), length), dtype=dtype)
    for j in range(HISTORY_MONTHS):
        month = start_month - HISTORY_MONTHS + j
        if month < start_month - length:
            continue
        if metric == "spend":
            value = pop.spend_by_month[:, j]
        elif metric == "purchases":
            value = pop.purchases_by_month[:, j]
        else:
            value = np.floor(pop.spend_by_month[:, j] / 100 * base_rate).astype(np.int64)
        rows[:, month % length] = value
    return rows


def _member_start(
    pop: Population,
    behavior: BehaviorParams,
    cal: _Calendar,
    streams: list[np.random.SeedSequence],
    histories: dict | None = None,
) -> _Start:
    """Draw a replication's `_Start` from its seed's ``streams`` (see `_children`).

    Only the calendar's days and months are used (the same for every policy).
    ``histories`` is `_histories` of the population when it is kept already.
    """
    rng, rng_arrivals = (np.random.default_rng(s) for s in streams[:2])
    start = cal.start
    shift = (pop.as_of - start).days
    n0 = len(pop)
    # New members: Poisson arrivals per calendar month around
    # ``behavior.expected_new_members`` (or the recorded count of a month listed in
    # ``behavior.recorded_arrivals``), join days uniform in the month.
    joins = []
    recorded = behavior.recorded_arrivals
    for first, last in zip(cal.month_starts, cal.month_ends, strict=True):
        covered = (cal.dates[last] - cal.dates[first]).days + 1
        full = plain(days_in_month)(cal.dates[first].year, cal.dates[first].month)
        month = cal.dates[first].strftime("%Y-%m")
        if month in recorded:
            count = recorded[month]
        else:
            expected = behavior.expected_new_members(cal.dates[first].year,
                                                     cal.dates[first].month)  # fmt: skip
            count = rng_arrivals.poisson(expected * covered / full)
        joins.append(rng_arrivals.integers(first, last + 1, size=count))
    new_join = np.sort(np.concatenate(joins)).astype(np.int32) if joins else np.zeros(0)
    m_new = new_join.size
    n = n0 + m_new
    join = np.concatenate([pop.join_day + shift, new_join]).astype(np.int32)
    new_birth = rng_arrivals.integers(0, 365, size=m_new)
    birth_dates = np.datetime64("2001-01-01") + new_birth.astype("timedelta64[D]")
    months_ = birth_dates.astype("datetime64[M]").astype(int) % 12 + 1
    days_ = (birth_dates - birth_dates.astype("datetime64[M]")).astype(int) + 1

    # Latent BG/NBD and Gamma-Gamma parameters.
    lam0, p0, nu0, alive0 = _latent(pop, behavior, shift, rng)
    bg, gg = behavior.bgnbd, behavior.gamma_gamma
    alpha = bg.alpha / behavior.daily_rate_scale()
    lam = np.concatenate([lam0, rng.gamma(bg.r, 1.0 / alpha, size=m_new)])
    p = np.concatenate([p0, rng.beta(bg.a, bg.b, size=m_new)])
    nu = np.concatenate([nu0, rng.gamma(gg.q, 1.0 / gg.gamma, size=m_new)])
    alive = np.concatenate([alive0, np.ones(m_new, dtype=bool)])
    trial_time = np.concatenate([np.zeros(n0), rng.random(m_new)])

    purchases = np.concatenate([pop.repeat_purchases + 1, np.zeros(m_new)]).astype(np.int32)
    last = np.concatenate([pop.last_purchase_day + shift, np.full(m_new, NEVER)])
    last_purchase = last.astype(np.int32)
    start_month = rules.month_index(start)
    join_month = cal.month[0] + _months_between(start, join)
    bought = last_purchase > NEVER
    last_activity = join_month.astype(np.int32)
    last_activity[bought] = start_month + _months_between(start, last_purchase[bought])
    n_joined = int(np.searchsorted(join, np.int32(-1), side="right"))
    begin = _Start(
        n0=n0,
        join=join,
        bmonth=np.concatenate([pop.birthday_month, months_]).astype(np.int8),
        bday=np.concatenate([pop.birthday_day, days_]).astype(np.int8),
        lam=lam,
        p=p,
        nu=nu,
        alive=alive,
        trial_time=trial_time,
        states=np.ascontiguousarray(seed_states(streams[2], n, 3).T),
        purchases=purchases,
        last_purchase=last_purchase,
        last_activity=last_activity,
        n_joined=n_joined,
        cohort=np.searchsorted(np.array(cal.month_ends), join[n0:]).astype(np.int64),
        active_ref=last_purchase[:n_joined] >= -365,
        **(histories if histories is not None else _histories(pop, start_month)),
    )
    for array in (*vars(begin).values(), *begin.held):
        if isinstance(array, np.ndarray):
            array.flags.writeable = False
    return begin


def _latent(pop: Population, behavior: BehaviorParams, shift: int, rng) -> tuple:
    """Existing members' rate, dropout probability, spend scale and alive flag.

    Drawn from the BG/NBD and Gamma-Gamma posteriors given each member's history.
    """
    bg, gg = behavior.bgnbd, behavior.gamma_gamma
    n0 = len(pop)
    alpha = bg.alpha / behavior.daily_rate_scale()
    x = pop.repeat_purchases.astype(np.float64)
    T = np.maximum(-(pop.join_day + shift), 0).astype(np.float64)
    tx = np.clip(pop.last_purchase_day - pop.join_day, 0, None).astype(np.float64)
    tx = np.minimum(tx, T)
    log_alive = betaln(bg.a, bg.b + x) - (bg.r + x) * np.log(alpha + T)
    with np.errstate(invalid="ignore"):
        log_dead = betaln(bg.a + 1, bg.b + x - 1) - (bg.r + x) * np.log(alpha + tx)
    p_alive = np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_dead - log_alive, 700))), 1)
    alive = rng.random(n0) < p_alive
    lam = rng.gamma(bg.r + x, 1.0 / np.where(alive, alpha + T, alpha + tx))
    p = np.empty(n0)
    p[alive] = rng.beta(bg.a, bg.b + x[alive])
    p[~alive] = rng.beta(bg.a + 1, np.maximum(bg.b + x[~alive] - 1, 1e-9))
    known = (x > 0) & np.isfinite(pop.mean_spend)
    spend = np.where(known, pop.mean_spend, 0.0)
    nu = rng.gamma(gg.q + np.where(known, gg.p * x, 0), 1.0 / (gg.gamma + x * spend))
    return lam, p, nu, alive


class MemberStarts:
    """Replications' starts kept for the policies simulated after (a sweep's points).

    Every point of a sweep is simulated with the same population and seeds (common random
    numbers), so what a replication's members start with before the policy applies (who
    joins and when, latent rates, random streams, purchase histories: `_Start`) is the same
    for every point. Given to `Model.replicate`, this keeps it once drawn and hands it to the
    next policy with the same replication seed; results are the same as without it.

    It keeps the starts of one population (a new one replaces them) up to ``max_bytes``;
    beyond that, new starts are drawn for each use and not kept (so a sweep cycling over
    more replications than fit still reuses the ones kept). Pickled empty.
    """

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes = max_bytes
        self._population: Population | None = None
        self._histories: dict[int, dict] = {}
        self._starts: dict[tuple, _Start] = {}
        self._bytes = 0

    def __reduce__(self):
        return MemberStarts, (self.max_bytes,)

    def __len__(self) -> int:
        return len(self._starts)

    def get(
        self,
        pop: Population,
        behavior: BehaviorParams,
        cal: _Calendar,
        seed: np.random.SeedSequence,
    ) -> _Start:
        """The `_Start` of replication ``seed`` (kept, or drawn now and kept if it fits)."""
        if pop is not self._population:
            self._population, self._histories, self._starts, self._bytes = pop, {}, {}, 0
        entropy = seed.entropy if isinstance(seed.entropy, int) else tuple(seed.entropy)
        key = (
            behavior.model_dump_json(),
            cal.start,
            cal.n_days,
            entropy,
            tuple(seed.spawn_key),
            seed.pool_size,
        )
        begin = self._starts.get(key)
        if begin is not None:
            return begin
        start_month = rules.month_index(cal.start)
        histories = self._histories.get(start_month)
        if histories is None:
            histories = _histories(pop, start_month)
        begin = _member_start(pop, behavior, cal, _children(seed, 7), histories)
        size = begin.nbytes(histories=start_month not in self._histories)
        if self._bytes + size <= self.max_bytes:
            self._histories[start_month] = histories
            self._starts[key] = begin
            self._bytes += size
        return begin


_CALENDARS: dict[tuple, _Calendar] = {}  # the calendars of the last few policies


def _calendar(policy: Policy, behavior: BehaviorParams, start: dt.date, months: int) -> _Calendar:
    """The calendar of ``policy``, shared by its replications in this process (read only).

    Building one walks every day of the horizon through the rules, about a tenth of a
    100,000-member replication's time; a policy's replications build it once.
    """
    from policies.io import content_id

    key = (content_id(policy), behavior.model_dump_json(), start, months)
    calendar = _CALENDARS.get(key)
    if calendar is None:
        calendar = _Calendar(policy, behavior, start, months)
        if len(_CALENDARS) >= 8:
            _CALENDARS.pop(next(iter(_CALENDARS)))
        _CALENDARS[key] = calendar
    return calendar


class _Simulation:
    """One replication of one policy (state arrays + the SimPy calendar processes)."""

    def __init__(
        self,
        policy: Policy,
        behavior: BehaviorParams,
        population: Population,
        start: dt.date,
        months: int,
        seed: np.random.SeedSequence,
        trace: bool = False,
        progress=None,
        starts: MemberStarts | None = None,
    ):
        self.policy = policy
        self.behavior = behavior
        self.cal = _calendar(policy, behavior, start, months)
        self.progress = progress
        self.trace = Trace() if trace else None
        streams = _children(seed, 7)
        self.rng_contact = np.random.default_rng(streams[6])
        self.n_tiers = len(policy.tiers.tiers)
        self.thresholds = np.array([t.threshold for t in policy.tiers.tiers])
        self.gift_costs = [t.benefits.gift_cost_per_member for t in policy.tiers.tiers]
        if starts is None:
            begin = _member_start(population, behavior, self.cal, streams)
        else:
            begin = starts.get(population, behavior, self.cal, seed)
        self._setup_members(population, start, begin)
        self._setup_rates()
        self._needs_lifecycle = any(c.target.lifecycle for c in policy.campaigns)
        self._needs_quadrant = any(c.target.quadrants for c in policy.campaigns)
        self._kernel_inputs()
        self.monthly: list[dict] = []
        self._reset_month()
        self.opening = int(self.balance[: self.n_joined].sum())
        self.purchases_before = int(self.purchases[: self.n_joined].sum())
        self.resolved_redeemed = 0
        self.resolved_expired = 0
        self.counts = None

    # -- setup -------------------------------------------------------------------------

    def _setup_members(self, pop, start, begin: _Start) -> None:
        """Member state at the start: ``begin`` (copied: the kernel changes it) and the policy's.

        What does not depend on the policy (arrivals, latent rates, streams, histories) comes
        from ``begin``; the tiers, the qualifying score and the opening points lots are the
        policy's.
        """
        policy, behavior = self.policy, self.behavior
        n0, n = begin.n0, begin.n
        self.n0, self.n = n0, n
        m_new = n - n0
        # Member ids are only reported with a trace (saves an object array and new strings).
        self.member_id = None
        if self.trace is not None:
            new_ids = np.array([f"N{i:07d}" for i in range(m_new)], dtype=object)
            self.member_id = np.concatenate([pop.member_id, new_ids])
        self.join = begin.join.copy()
        self.bmonth = begin.bmonth.copy()
        self.bday = begin.bday.copy()
        # Fitted rates are averages over the calibration days: an ordinary day's rate is
        # that divided by the calendar and program effects they contained.
        self.lam = begin.lam / behavior.rate_divisor()
        self.p = begin.p.copy()
        self.nu = begin.nu.copy()
        self.alive = begin.alive.copy()
        self.trial_time = begin.trial_time.copy()
        # Each member's own streams: candidates, spend, dropout and redemption decisions.
        self.states = begin.states.copy()

        # Purchase history rings (column = month index % RING_MONTHS: the quadrant window and
        # the month in progress), qualifying score ring.
        start_month = rules.month_index(start)
        self.start_month = start_month
        self.columns_month = None  # the month whose ring columns were reset (`window`)
        tiers = policy.tiers
        self.score_len = (
            tiers.qualifying_period.months if tiers.qualifying_period.kind == "rolling" else 12
        )
        self.count_ring = _extend(begin.count_history, n)
        self.spend_ring = _extend(begin.spend_history, n)
        metric = tiers.qualifying_metric
        self.score_unit = 100.0 if metric == "spend" else 1.0
        base_rate = policy.points.earn.points_per_unit / policy.points.earn.per_amount
        if metric == "spend" and self.score_len <= RING_MONTHS:
            # The spend ring covers the qualifying period: share it.
            self.score_ring = self.spend_ring
            self.score_len = RING_MONTHS
            ring = "spend"
        else:
            ring = ("score", metric, self.score_len, base_rate)
            rows = begin.memo.get(ring)
            if rows is None:
                rows = _score_history(pop, metric, self.score_len, start_month, base_rate)
                rows.flags.writeable = False
                begin.memo[ring] = rows
            self.score_ring = _extend(rows, n)

        # Tiers: the held tier when the policy knows it, else the qualified one.
        first, last = rules.review_score_months(policy, start_month)
        if (ring, first, last) not in begin.memo:
            score = self._score(slice(0, n0), first, last) if n0 else np.zeros(0)
            begin.memo[ring, first, last] = score
        score = begin.memo[ring, first, last].copy()  # kept unchanged for the next policy
        qualified = rules.qualified_tier(policy, score)
        names = {name: i for i, name in enumerate(policy.tier_names)}
        held_names, held_codes = begin.held
        held = np.array([names.get(name, -1) for name in held_names], np.int64)[held_codes]
        self.tier = np.zeros(n, dtype=np.int8)
        self.tier[:n0] = np.where(held >= 0, held, qualified)
        self.start_tier = self.tier[:n0].copy()
        self.grace = np.full(n, -1, dtype=np.int32)

        # Points lots: columns hold one expiry key each (the same keys for every member).
        self.slot_key = np.full(0, -1, dtype=np.int64)
        self.lots = np.zeros((n, 0), dtype=LOT_DTYPE)
        self.balance = np.zeros(n, dtype=np.int64)
        self._opening_lots(pop, start, start_month, base_rate)

        self.purchases = begin.purchases.copy()
        self.last_purchase = begin.last_purchase.copy()
        self.last_activity = begin.last_activity.copy()
        self.last_redeem = np.full(n, NEVER, dtype=np.int32)
        self.redeem_day = np.full(n, NEVER, dtype=np.int32)
        self.contact_day = np.full(n, NEVER, dtype=np.int32)
        self.contact_kind = np.zeros(n, dtype=np.int8)
        self.coupon = np.zeros(n)
        self.redeemed_year = np.zeros(n, dtype=np.int64)
        self.next_t = np.full(n, np.inf)
        self.next_day = np.full(n, FAR, dtype=np.int32)
        self.cand_bound = np.zeros(n)
        self.settled = np.zeros(n, dtype=np.bool_)
        self.n_joined = begin.n_joined
        self.cohort = begin.cohort  # read only
        self.cohorts: list[dict] = []
        self.active_ref = begin.active_ref  # read only
        self.active_history: dict[int, tuple[np.ndarray, int]] = {}

    def _opening_lots(self, pop, start, start_month, base_rate) -> None:
        policy = self.policy
        n0 = len(pop)
        if not n0:
            return
        earned_months = [start_month - HISTORY_MONTHS + j for j in range(HISTORY_MONTHS)]
        valid = []
        for j, month in enumerate(earned_months):
            fixed = rules.fixed_expiry_date(policy, month)
            key = rules.expiry_month_of_lot(policy, month)
            if (fixed is not None and fixed < start) or (fixed is None and key < start_month):
                continue
            valid.append((j, key))
        if not valid:
            return
        mult = np.array([t.benefits.earn_multiplier for t in policy.tiers.tiers])[self.tier[:n0]]
        known = pop.points_balance >= 0
        # Known balances go to the lots they were earned in when the population knows them
        # (points the policy would already have expired join the oldest valid lot, so the
        # balance stands), else spread evenly over the valid lots; skipped when no balance
        # is known.
        share = None
        if known.any() and pop.points_lots is not None:
            share = pop.points_lots[:, [j for j, _ in valid]].astype(np.int64)
            share[:, 0] += pop.points_lots.sum(axis=1) - share.sum(axis=1)
            share[~known] = 0
        elif known.any():
            share = _spread_over(np.where(known, pop.points_balance, 0), len(valid))
        # One allocation for the opening lots and the first month's (free columns are zero).
        missing = len(valid) + 1 - self.lots.shape[1]
        if missing > 0:
            extra = np.zeros((self.n, missing), LOT_DTYPE)
            self.lots = extra if not self.lots.shape[1] else np.hstack([self.lots, extra])
            self.slot_key = np.append(self.slot_key, np.full(missing, -1, np.int64))
        slots = np.array([self._slot(key) for _, key in valid], dtype=np.int64)
        columns = np.array([j for j, _ in valid], dtype=np.int64)
        ok = kernel.opening_lots(
            pop.spend_by_month, columns, slots, float(base_rate), mult.astype(np.float64),
            known, np.zeros((0, 0), np.int64) if share is None else share, self.lots,
            self.balance,
        )  # fmt: skip
        if not ok:
            raise OverflowError(_LOT_OVERFLOW)

    def _setup_rates(self) -> None:
        behavior, policy = self.behavior, self.policy
        effects = behavior.effects
        benefits = [t.benefits for t in policy.tiers.tiers]
        discount = np.array([b.discount_pct for b in benefits])
        reward = reward_pct(policy) * np.array([b.earn_multiplier for b in benefits])
        levels = np.arange(self.n_tiers)
        self.tier_factor = (1 + effects.tier_rate_lift * levels) * effects.rate_factor(
            discount, reward
        )
        self.dropout_factor = (1 - effects.tier_dropout_reduction) ** levels
        uplift = behavior.campaign_uplift.model_dump()
        self.contact_uplift = np.array([1.0, uplift["activation"], uplift["reactivation"]])
        # Targeted campaigns raise a member's factor on some days: the thinning bound allows
        # for all of them at once.
        targeted_max = 1.0
        for campaign in policy.campaigns:
            if not campaign.contacts_members and campaign.is_targeted:
                targeted_max *= max(1.0, behavior.campaign_factor(campaign, reward_pct(policy)))
        self.targeted_max = targeted_max
        self.uplift = uplift

    # -- helpers -----------------------------------------------------------------------

    def _slot(self, key: int) -> int:
        found = np.flatnonzero(self.slot_key == key)
        if found.size:
            return int(found[0])
        free = np.flatnonzero(self.slot_key < 0)
        if free.size:
            self.slot_key[free[0]] = key
            return int(free[0])
        self.lots = np.concatenate([self.lots, np.zeros((self.n, 1), dtype=LOT_DTYPE)], axis=1)
        self.slot_key = np.append(self.slot_key, key)
        self._members = None  # the kernel's tuple holds the old lots array
        return self.lots.shape[1] - 1

    def _fifo_slots(self) -> np.ndarray:
        used = np.flatnonzero(self.slot_key >= 0)
        return used[np.argsort(self.slot_key[used], kind="stable")]

    def _score(self, idx: np.ndarray | slice, first: int, last: int) -> np.ndarray:
        rows = np.arange(self.n)[idx] if isinstance(idx, slice) else idx
        rows = rows.astype(np.int64, copy=False)
        return kernel.score_totals(self.score_ring, rows, first, last) / self.score_unit

    def _lifecycle(self, idx: np.ndarray | slice, d: int) -> np.ndarray:
        since_purchase = plain(days_since_purchase)(d, self.last_purchase[idx], self.join[idx])
        return rules.lifecycle_codes(self.policy, d - self.join[idx], since_purchase,
                                     self.purchases[idx])  # fmt: skip

    def _quadrant(self, idx: np.ndarray, month: int) -> np.ndarray:
        return kernel.quadrant_codes(self.quadrants, self.count_ring, self.spend_ring,
                                     idx.astype(np.int64), month % RING_MONTHS)  # fmt: skip

    def _targeted(self, row: int, idx: np.ndarray, d: int) -> np.ndarray:
        """Which members ``idx`` row ``row`` of the contact table targets on day ``d``.

        `policies.compiled.targets` decides, as for pricing; the lifecycle and quadrant codes
        are worked out only when the campaign targets them.
        """
        table = self.cal.contact_table
        none = np.zeros(idx.size, dtype=np.int64)
        lifecycle, quadrant = none, none
        if table.lifecycle_mask[row] != compiled.ALL:
            lifecycle = self._lifecycle(idx, d).astype(np.int64)
        if table.quadrant_mask[row] != compiled.ALL:
            quadrant = self._quadrant(idx, int(self.cal.month[d]))
        no = np.zeros(idx.size, dtype=np.bool_)  # contacts are not birthday offers
        return compiled.targets_many(table, row, self.tier[idx].astype(np.int64), lifecycle,
                                     quadrant, no, no)  # fmt: skip

    def _reset_month(self) -> None:
        self.acc = dict.fromkeys(
            (
                "new_members",
                "churned_members",
                "revenue_gross",
                "discounts",
                "revenue_net",
                "points_issued_base",
                "points_issued_bonus",
                "points_redeemed",
                "points_expired",
                "campaign_cost",
                "contact_cost",
                "contacts",
                "redemptions",
            ),
            0,
        )
        self.acc["campaign_cost"] = 0.0

    def _kernel_inputs(self) -> None:
        """Inputs of the compiled kernel that stay the same for the whole run."""
        policy, behavior = self.policy, self.behavior
        effects, segments = behavior.effects, policy.segments
        cal = self.cal
        self.prices = cal.pricing
        self.pricing = rules.pricing_params(policy)
        self.targeted = cal.targeting
        self.segments = kernel.Segments(
            new_days=segments.new_days,
            active_days=segments.active_days,
            silent_days=segments.silent_days,
            dormant_days=segments.dormant_days,
            codes=np.array([rules.LIFECYCLE_CODES[s] for s in rules.LIFECYCLE_CODES], np.int64),
            needed=self._needs_lifecycle,
        )
        self.quadrants = kernel.Quadrants(
            min_purchases=segments.quadrant_min_purchases,
            min_spend=float(segments.quadrant_min_spend),
            codes=np.array([rules.QUADRANT_CODES[q] for q in rules.QUADRANT_CODES], np.int64),
            needed=self._needs_quadrant,
        )
        self.effects = kernel.Effects(
            goal_lift=float(effects.goal_gradient_lift),
            goal_start=float(effects.goal_gradient_start),
            redeem_lift=float(effects.post_redemption_lift),
            redeem_days=int(effects.post_redemption_days),
            contact_days=int(effects.contact_effect_days),
        )
        bonus = np.array([t.benefits.birthday_bonus_points for t in policy.tiers.tiers])
        self.rates = kernel.Rates(
            lam=self.lam,
            p=self.p,
            nu=self.nu,
            tier_factor=self.tier_factor,
            dropout_factor=self.dropout_factor,
            contact_uplift=self.contact_uplift,
            targeted_max=float(self.targeted_max),
            birthday_points=(policy.points.bonuses.birthday + bonus).astype(np.int64),
            signup_points=int(policy.points.bonuses.signup),
            spend_shape=float(behavior.gamma_gamma.p),
        )
        self.days = kernel.Days(
            cumulative=cal.cumulative,
            intensity=cal.intensity,
            day_of_month=cal.dom,
            leap=cal.leap,
            guide=cal.guide,
            guide_width=cal.guide_width,
        )
        redemption, params = policy.points.redemption, behavior.redemption
        coefs = params.tier_coefs + (params.tier_coefs[-1],) * self.n_tiers
        yearly = redemption.max_points_per_year
        self.redeem = kernel.Redemption(
            intercept=float(params.intercept),
            balance_coef=float(params.balance_coef),
            balance_scale=float(params.balance_scale),
            tier_coefs=np.array(coefs[: self.n_tiers], dtype=np.float64),
            share=float(params.redeem_share),
            minimum=int(redemption.minimum_points),
            unit=int(redemption.unit_points),
            max_per_year=-1 if yearly is None else int(yearly),
        )
        metric = policy.tiers.qualifying_metric
        self.score_kind = -1 if self.score_ring is self.spend_ring else (
            {"spend": 0, "purchases": 1, "points": 2}[metric])  # fmt: skip
        self.thresholds_f = self.thresholds.astype(np.float64)
        self._members = None
        size = 64 * kernel.SLACK if self.trace is not None else 0
        self.record = kernel.Record.empty(size)

    def _member_arrays(self) -> kernel.Members:
        if self._members is None:
            self._members = kernel.Members(
                alive=self.alive,
                tier=self.tier,
                balance=self.balance,
                lots=self.lots,
                purchases=self.purchases,
                last_purchase=self.last_purchase,
                last_activity=self.last_activity,
                join=self.join,
                birthday_month=self.bmonth,
                birthday_day=self.bday,
                last_redeem=self.last_redeem,
                contact_day=self.contact_day,
                contact_kind=self.contact_kind,
                coupon=self.coupon,
                next_t=self.next_t,
                next_day=self.next_day,
                trial_time=self.trial_time,
                cand_bound=self.cand_bound,
                redeem_day=self.redeem_day,
                redeemed_year=self.redeemed_year,
                states=self.states,
                settled=self.settled,
            )
        return self._members

    def _rings(self, month: int) -> kernel.Rings:
        first, last = rules.score_months(self.policy, month)
        if month != self.columns_month:
            # The month's ring columns still hold the month a ring's width before (the
            # month's first window resets them), and the month has no purchases yet: its
            # score so far is the period's months before it.
            last = month - 1
        return kernel.Rings(
            count=self.count_ring,
            spend=self.spend_ring,
            score=self.score_ring,
            score_kind=self.score_kind,
            score_first=first,
            score_last=last,
            score_unit=self.score_unit,
            thresholds=self.thresholds_f,
        )

    def _redraw(self, idx: np.ndarray, d: int, only_if_higher: bool) -> None:
        """New candidate purchases from day ``d`` for members whose state just changed."""
        kernel.redraw(idx.astype(np.int64), d, only_if_higher, self._member_arrays(),
                      self.rates, self.days, self._rings(int(self.cal.month[d])),
                      self.effects)  # fmt: skip

    # -- calendar events that touch every member at once -------------------------------

    def review(self, d: int) -> None:
        """Tier review (start of the 1st of a review month) for members who joined before."""
        idx = np.flatnonzero(self.join[: self.n_joined] < d)
        if not idx.size:
            return
        month = int(self.cal.month[d])
        first, last = rules.review_score_months(self.policy, month)
        before = self.tier[idx]
        tier, grace = rules.review_tiers(
            self.policy, before, self._score(idx, first, last), self.grace[idx], month
        )
        self.tier[idx], self.grace[idx] = tier, grace
        self._redraw(idx[tier != before], d, only_if_higher=True)

    def month_start(self, d: int) -> None:
        """New month: yearly counters, the month's points lot, redemption planning."""
        day = self.cal.dates[d]
        if day.month == 1 and day.day == 1:
            self.redeemed_year[:] = 0
        self._slot(rules.expiry_month_of_lot(self.policy, int(self.cal.month[d])))
        last = next(e for e in self.cal.month_ends if e >= d)
        self.open_days = (np.flatnonzero(self.cal.redemption_open[d : last + 1]) + d).astype(
            np.int64
        )
        self.new_month = True

    def contacts(self, d: int) -> None:
        """Activation and reactivation contacts of the day's campaigns."""
        effects = self.behavior.effects
        month = int(self.cal.month[d])
        nj = int(np.searchsorted(self.join, np.int32(d), side="right"))
        for row, campaign in enumerate(self.cal.contacts[d], start=self.cal.contact_table.ptr[d]):
            if campaign.kind == "activation":
                joined_month = self.cal.month[0] + _months_between(self.cal.start, self.join[:nj])
                idx = np.flatnonzero(joined_month == month - 1)
                kind = 1
            else:
                last = self.last_purchase[:nj]
                since = plain(days_since_purchase)(d, last, self.join[:nj])
                fresh = self.contact_day[:nj] < np.maximum(last, self.join[:nj])
                idx = np.flatnonzero((since >= campaign.recency_days) & fresh)
                kind = 2
            idx = idx[self._targeted(int(row), idx, d)]
            if not idx.size:
                continue
            self.contact_day[idx] = d
            self.contact_kind[idx] = kind
            self.coupon[idx] = campaign.coupon_value
            self.acc["contacts"] += idx.size
            self.acc["contact_cost"] += idx.size * campaign.contact_cost
            self._redraw(idx, d, only_if_higher=True)
            # Members who had dropped out come back with a purchase within the contact window.
            dead = idx[~self.alive[idx]]
            back = dead[self.rng_contact.random(dead.size) < effects.reactivation_response]
            if back.size:
                self.alive[back] = True
                window = max(effects.contact_effect_days, 1)
                t = d + self.rng_contact.random(back.size) * window
                self.next_t[back] = t
                self.next_day[back] = np.where(t < self.cal.n_days, np.floor(t), FAR)
                self.cand_bound[back] = -1.0  # a purchase for sure, not a candidate

    # -- members on their own between calendar events ----------------------------------

    def window(self, a: int, b: int) -> None:
        """Advance every member through days ``a..b`` (compiled, `simulations.kernel`)."""
        cal, policy = self.cal, self.policy
        month = int(cal.month[a])
        hi = int(np.searchsorted(self.join, np.int32(b), side="right"))
        self.acc["new_members"] += hi - self.n_joined
        self.n_joined = hi
        expiry = policy.expiry
        expire_kind, expire_slots, inactive_months = 0, np.zeros(0, np.int64), 0
        if cal.expiry_run[b]:
            if isinstance(expiry, InactivityExpiry):
                expire_kind, inactive_months = 2, expiry.months
            elif not isinstance(expiry, NoExpiry):
                expire_kind = 1
                expire_slots = np.flatnonzero((self.slot_key >= 0) & (self.slot_key <= month))
        new_month = self.new_month
        self.new_month = False
        if new_month:
            self.columns_month = month  # the kernel resets the month's ring columns first
        report = b in self._month_end_set
        month_first = next(s for s in reversed(cal.month_starts) if s <= a)
        window = kernel.Window(
            first=a,
            last=b,
            month=month,
            slot=self._slot(rules.expiry_month_of_lot(policy, month)),
            ring_column=month % RING_MONTHS,
            score_column=month % self.score_len,
            calendar_month=cal.dates[a].month,
            immediate=policy.tiers.upgrade_timing == "immediate",
            reset=new_month,
            plan=new_month and self.open_days.size > 0,
            open_days=self.open_days,
            expire_kind=expire_kind,
            expire_slots=expire_slots.astype(np.int64),
            inactive_months=inactive_months,
            report=report,
            fifo=self._fifo_slots().astype(np.int64),
            month_first=month_first,
        )
        args = (window, self._member_arrays(), self.rates, self.days, self._rings(month),
                self.effects, self.prices, self.pricing, self.targeted, self.segments,
                self.quadrants, self.redeem)  # fmt: skip
        n_chunks = (hi + kernel.CHUNK - 1) // kernel.CHUNK
        acc = np.zeros((max(n_chunks, 1), kernel.N_ACC))
        cnt = np.zeros((max(n_chunks, 1), kernel.C_TIERS + self.n_tiers), np.int64)
        if self.trace is None:
            _run_parts(hi, args, acc, cnt, self.record)
        else:
            n_rec, m = 0, 0
            while True:
                n_rec, m = kernel.window_sequential(m, hi, *args, acc, cnt, self.record, n_rec)
                if m == hi or cnt[:, kernel.C_ERROR].any():
                    break
                # The trace record is nearly full: double it and carry on.
                grown = kernel.Record(*(np.empty(2 * r.size, r.dtype) for r in self.record))
                for old, new in zip(self.record, grown, strict=True):
                    new[:n_rec] = old[:n_rec]
                self.record = grown
            self._trace_window(n_rec)
        errors = cnt[:, kernel.C_ERROR]
        if (errors == kernel.ERR_LOT).any():
            raise OverflowError(_LOT_OVERFLOW)
        if (errors == kernel.ERR_BOUND).any():
            raise AssertionError("a member's purchase factor exceeded its thinning bound")
        if (errors == kernel.ERR_RECORD).any():
            raise RuntimeError("a member bought more often in one window than the trace holds")
        money, counts = acc.sum(axis=0), cnt.sum(axis=0)
        self.acc["revenue_gross"] += float(money[kernel.A_GROSS])
        self.acc["discounts"] += float(money[kernel.A_DISCOUNT])
        self.acc["revenue_net"] += float(money[kernel.A_NET])
        self.acc["campaign_cost"] += float(money[kernel.A_COUPON])
        self.acc["points_issued_base"] += int(counts[kernel.C_BASE])
        self.acc["points_issued_bonus"] += int(counts[kernel.C_BONUS])
        self.acc["churned_members"] += int(counts[kernel.C_CHURNED])
        self.acc["points_redeemed"] += int(counts[kernel.C_REDEEMED])
        self.acc["redemptions"] += int(counts[kernel.C_REDEMPTIONS])
        self.acc["points_expired"] += int(counts[kernel.C_EXPIRED])
        if expire_kind == 1:
            self.slot_key[expire_slots] = -1
        if report:
            self.counts = counts

    def _trace_window(self, n_rec: int) -> None:
        """Move the window's trace records (member by member) into day-ordered lists."""
        record = kernel.Record(*(r[:n_rec] for r in self.record))
        kind, member, day, gross, a, b = (record.kind, record.member, record.day, record.gross,
                                          record.a, record.b)  # fmt: skip
        order = np.argsort(day, kind="stable")
        kind, member, day, gross, a, b = (x[order] for x in (kind, member, day, gross, a, b))
        trace = self.trace
        for d in np.unique(day):
            on = day == d
            d = int(d)

            def pick(code, values, on=on):
                keep = on & (kind == code)
                return member[keep], values[keep]

            idx, g = pick(kernel.R_PURCHASE, gross)
            if idx.size:
                bought = on & (kind == kernel.R_PURCHASE)
                base, points = a[bought], b[bought]
                trace.purchases.append((idx, d, g))
                self._record_points(idx, d, "earn", base)
                self._record_points(idx, d, "bonus", points - base)
            idx, points = pick(kernel.R_BONUS, a)
            self._record_points(idx, d, "bonus", points)
            idx, requested = pick(kernel.R_REQUEST, a)
            if idx.size:
                trace.redemptions.append((idx, d, requested))
            idx, points = pick(kernel.R_REDEEM, a)
            self._record_points(idx, d, "redeem", points)
            idx, points = pick(kernel.R_EXPIRE, a)
            self._record_points(idx, d, "expire", points)

    def _record_points(self, idx, d, kind, points) -> None:
        keep = points != 0
        if keep.any():
            self.trace.points.append((idx[keep], d, kind, points[keep]))

    def report(self, d: int, k: int) -> None:
        """Month-end record; checks the points roll-forward."""
        acc = self.acc
        nj = self.n_joined
        closing = int(self.balance[:nj].sum())
        issued = acc["points_issued_base"] + acc["points_issued_bonus"]
        if self.opening + issued - acc["points_redeemed"] - acc["points_expired"] != closing:
            raise AssertionError(
                f"points roll-forward does not balance in month {k}: {self.opening} + {issued}"
                f" - {acc['points_redeemed']} - {acc['points_expired']} != {closing}"
            )
        day = self.cal.dates[d]
        policy = self.policy
        month_start = next(s for s in reversed(self.cal.month_starts) if s <= d)
        counts = self.counts
        tiers = counts[kernel.C_TIERS : kernel.C_TIERS + self.n_tiers]
        lifecycle = counts[kernel.C_LIFECYCLE : kernel.C_LIFECYCLE + 5]
        quadrant = counts[kernel.C_QUADRANT : kernel.C_QUADRANT + 4]
        gift = sum(count * cost / 12.0 for count, cost in zip(tiers, self.gift_costs, strict=True))
        cost_per_point = policy.points.redemption.cost_per_point
        reward = acc["points_redeemed"] * cost_per_point
        fixed = float(self.cal.fixed_cost[month_start : d + 1].sum())
        campaign = acc["campaign_cost"] + fixed
        # Every purchase adds one to its member's count (`kernel`): the month's purchases
        # are what the counts of the members who joined by now grew by since last month.
        purchases = int(self.purchases[:nj].sum())
        active_now = self.last_purchase[:nj] >= d - 364
        # Who was active 12 months ago (kept as bits, only as long as needed).
        self.active_history[k] = (np.packbits(active_now), active_now.size)
        if k < 12:
            ref = self.active_ref
        else:
            bits, size = self.active_history.pop(k - 12)
            ref = np.unpackbits(bits, count=size).astype(bool)
        held = np.count_nonzero(active_now[: ref.size] & ref)
        base = np.count_nonzero(ref)
        retention = float(held / base) if base else float("nan")
        record = {
            "month": f"{day.year:04d}-{day.month:02d}",
            "active_members": int(lifecycle[0] + lifecycle[1]),
            "purchasing_members": int(counts[kernel.C_PURCHASING]),
            "purchases": purchases - self.purchases_before,
            "new_members": acc["new_members"],
            "churned_members": acc["churned_members"],
            "members": nj,
            "revenue_gross": round(acc["revenue_gross"], 2),
            "discounts": round(acc["discounts"], 2),
            "revenue_net": round(acc["revenue_net"], 2),
            "points_opening": self.opening,
            "points_issued_base": acc["points_issued_base"],
            "points_issued_bonus": acc["points_issued_bonus"],
            "points_issued": issued,
            "points_redeemed": acc["points_redeemed"],
            "points_expired": acc["points_expired"],
            "points_closing": closing,
            "reward_cost": reward,
            "tier_gift_cost": gift,
            "campaign_cost": campaign,
            "contact_cost": acc["contact_cost"],
            "program_cost": reward + gift + campaign + acc["contact_cost"],
            "contacts": acc["contacts"],
            "redemptions": acc["redemptions"],
            "retention_12m": retention,
        }
        for name, count in zip(policy.tier_names, tiers, strict=True):
            record[f"members_{name}"] = int(count)
        for code, state in enumerate(rules.LIFECYCLE_CODES):
            record[f"lifecycle_{state}"] = int(lifecycle[code])
        for code, name in enumerate(rules.QUADRANT_CODES):
            record[f"quadrant_{name}"] = int(quadrant[code])
        self.monthly.append(record)
        self._cohort_rows(k, month_start, nj)
        self.opening = closing
        self.purchases_before = purchases
        self.resolved_redeemed += acc["points_redeemed"]
        self.resolved_expired += acc["points_expired"]
        self._reset_month()
        if self.progress is not None:
            self.progress(k + 1, len(self.cal.month_ends))

    def _cohort_rows(self, k: int, month_start: int, nj: int) -> None:
        """Month ``k``'s retention of each cohort of new members: joined, and bought this month."""
        cohort = self.cohort[: nj - self.n0]
        if not cohort.size:
            return
        bought = self.last_purchase[self.n0 : nj] >= month_start
        sizes = np.bincount(cohort, minlength=k + 1)
        buying = np.bincount(cohort[bought], minlength=k + 1)
        labels = [self.monthly[c]["month"] for c in range(k + 1)]
        for c in np.flatnonzero(sizes[: k + 1]):
            self.cohorts.append(
                {
                    "cohort": labels[c],
                    "month": labels[k],
                    "months_since_join": int(k - c),
                    "cohort_size": int(sizes[c]),
                    "purchasing": int(buying[c]),
                }
            )

    # -- the calendar ------------------------------------------------------------------

    def run(self) -> ReplicationOutput:
        """Run the horizon on a SimPy clock; return the monthly records."""
        cal = self.cal
        env = simpy.Environment()
        self._month_end_set = set(cal.month_ends)
        self.new_month = False
        self.open_days = np.zeros(0, np.int64)
        self._redraw(np.flatnonzero(self.alive[: self.n_joined]), 0, only_if_higher=False)

        def at(times, offset, step):
            def process():
                for d in times:
                    yield env.timeout(d + offset - env.now)
                    step(int(d))

            env.process(process())

        # Start of day: tier review, month start, contacts; then members on their own
        # through the window (sign-ups, birthdays, purchases, redemptions, the expiry run at
        # the end of its last day); month-end reporting.
        at(np.flatnonzero(cal.review), 0.00, self.review)
        at(cal.month_starts, 0.01, self.month_start)
        at([i for i in range(cal.n_days) if cal.contacts[i]], 0.04, self.contacts)
        ends = dict(cal.windows)
        at([a for a, _ in cal.windows], 0.50, lambda a: self.window(a, ends[a]))
        months = {d: k for k, d in enumerate(cal.month_ends)}
        at(cal.month_ends, 0.95, lambda d: self.report(d, months[d]))
        env.run()

        nj = self.n_joined
        urr = redemption_rate(self.resolved_redeemed, self.resolved_expired)
        urr = 1.0 if math.isnan(urr) else urr
        # Row: the start tier (members who joined later: the last row); column: the end tier.
        later = np.full(nj - self.n0, self.n_tiers, np.int64)
        cells = np.concatenate([self.start_tier.astype(np.int64), later]) * self.n_tiers
        cells += self.tier[:nj]
        migration = np.bincount(cells, minlength=(self.n_tiers + 1) * self.n_tiers).reshape(
            self.n_tiers + 1, self.n_tiers
        )
        return ReplicationOutput(
            monthly=self.monthly,
            migration=migration,
            urr=float(urr),
            cohorts=self.cohorts,
            final_tier=self.tier[:nj].copy() if self.trace is not None else None,
            member_id=self.member_id[:nj].copy() if self.trace is not None else None,
            join_day=self.join[:nj].copy() if self.trace is not None else None,
            birthday=np.stack([self.bmonth[:nj], self.bday[:nj]], axis=1)
            if self.trace is not None
            else None,
            trace=self.trace,
        )


def _children(seed: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    """The first ``n`` children of ``seed``, the same on every call.

    ``SeedSequence.spawn`` counts the children it has handed out, so a second replication
    with the same seed object (the baseline of common random numbers) would get other
    streams; these are derived from the seed's identity alone.
    """
    return [
        np.random.SeedSequence(
            seed.entropy, spawn_key=(*seed.spawn_key, i), pool_size=seed.pool_size
        )  # fmt: skip
        for i in range(n)
    ]


def _months_between(start: dt.date, days: np.ndarray) -> np.ndarray:
    """Month index offsets (relative to ``start``'s month) of day offsets from ``start``.

    Looks the months up in a table over the span of ``days`` (the days of a population span a
    few years; converting a million dates one by one is slow).
    """
    days = np.asarray(days, dtype=np.int64)
    if not days.size:
        return np.zeros(0, np.int64)
    first, last = int(days.min()), int(days.max())
    span = np.arange(first, last + 1)
    dates = np.datetime64(start.isoformat()) + span.astype("timedelta64[D]")
    table = dates.astype("datetime64[M]").astype(np.int64)
    table -= np.datetime64(start.isoformat(), "M").astype(np.int64)
    return table[days - first]


def _ring(history: np.ndarray, n: int, start_month: int, dtype) -> np.ndarray:
    """``(n, RING_MONTHS)`` ring of monthly history: column ``month % RING_MONTHS``.

    ``history`` holds the ``HISTORY_MONTHS`` months before ``start_month``, oldest first (the
    quadrant window of the first month); rows past the history and the first month's column
    are zero.
    """
    ring = np.zeros((n, RING_MONTHS), dtype=dtype)
    n0, months = history.shape
    for j in range(months):
        ring[:n0, (start_month - months + j) % RING_MONTHS] = history[:, j]
    return ring


def _extend(rows: np.ndarray, n: int) -> np.ndarray:
    """A new ``(n, columns)`` array: ``rows`` on top, zeros below."""
    out = np.empty((n, rows.shape[1]), dtype=rows.dtype)
    out[: rows.shape[0]] = rows
    out[rows.shape[0] :] = 0
    return out


def _spread_over(total: np.ndarray, parts: int) -> np.ndarray:
    base = total // parts
    extra = total - base * parts
    out = np.repeat(base[:, None], parts, axis=1)
    out += np.arange(parts)[None, :] >= parts - extra[:, None]
    return out


def simulate_replication(
    policy: Policy,
    behavior: BehaviorParams,
    population: Population,
    start: dt.date,
    months: int,
    seed: np.random.SeedSequence,
    trace: bool = False,
    progress=None,
    starts: MemberStarts | None = None,
) -> ReplicationOutput:
    """Simulate one replication of ``policy`` (the unit of work of `simulations.Model`).

    Args:
        policy: the policy simulated.
        behavior: behavior parameters.
        population: existing members at the start.
        start: first simulated day.
        months: calendar months simulated (the first may be partial if ``start`` is not the
            1st).
        seed: this replication's seed sequence (the same seed gives the same numbers; a
            baseline simulated with the same seed shares the random streams).
        trace: keep every member's purchases, redemption requests and point bookings.
        progress: callable(months_done, months_total) called at each month end.
        starts: where what the members start with before the policy applies is kept for
            the next policy simulated with the same seed (`MemberStarts`); the output is
            the same with or without it.
    """
    if months < 1:
        raise ValueError(f"months(={months}) must be at least 1")
    if not math.isfinite(behavior.new_members_per_month):
        raise ValueError("new_members_per_month must be finite")
    sim = _Simulation(policy, behavior, population, start, months, seed, trace, progress, starts)
    return sim.run()


# ---------------------------------------------------------------------------------------
# The model: replications (in parallel), baseline with common random numbers, results


def _replicate_in_worker(replication: int, baseline: bool) -> ReplicationOutput:
    """`Model.replicate` of the model this worker process was given."""
    return worker_context().replicate(replication, baseline=baseline)


def _records(outputs: list[ReplicationOutput]):
    """The monthly records of every replication, numbered, in one frame."""
    import pandas as pd

    return pd.DataFrame(
        [{"replication": i, **row} for i, output in enumerate(outputs) for row in output.monthly]
    )


@dataclass(frozen=True, eq=False)
class Model:
    """A simulation set-up: policy, behavior, population, horizon, replications and seed.

    ``run()`` returns a new immutable `SimulationResult` and never changes the model. The
    same seed gives the same result whatever ``workers`` is: replication ``i`` always uses
    the ``i``-th child of ``SeedSequence(seed)``.

    Attributes:
        policy: the policy simulated.
        behavior: behavior parameters.
        population: existing members (default: 20,000 synthetic members drawn with ``seed``).
        months: calendar months simulated from ``start``.
        replications: independent replications (P10/P50/P90 across them).
        seed: the run's seed.
        start: first simulated day.
        baseline_policy: when given, simulated with the same random numbers for incremental
            revenue and ROI.
        workers: processes used for replications (1 = in this process).
    """

    policy: Policy
    behavior: BehaviorParams = field(default=None)  # type: ignore[assignment]
    population: Population | None = None
    months: int = 24
    replications: int = 10
    seed: int = 42
    start: dt.date = dt.date(2026, 1, 1)
    baseline_policy: Policy | None = None
    workers: int = 1

    def __post_init__(self):
        from simulations.behavior import DEFAULT_BEHAVIOR

        if self.behavior is None:
            object.__setattr__(self, "behavior", DEFAULT_BEHAVIOR)
        if not 1 <= self.months <= 240:
            raise ValueError(f"months(={self.months}) must be between 1 and 240")
        if not 1 <= self.replications <= 10_000:
            raise ValueError(f"replications(={self.replications}) must be between 1 and 10000")
        if self.workers < 1:
            raise ValueError(f"workers(={self.workers}) must be at least 1")

    def resolved_population(self) -> Population:
        """The population simulated (the default synthetic one when none was given)."""
        if self.population is not None:
            return self.population
        synthetic = Population.synthetic(20_000, self.behavior, seed=self.seed, as_of=self.start)
        return synthetic.with_policy_balances(self.policy, self.behavior, seed=self.seed)

    def replicate(
        self,
        replication: int,
        baseline: bool = False,
        progress=None,
        starts: MemberStarts | None = None,
    ):
        """Replication number ``replication`` of the policy, or of the baseline policy.

        The unit of work `run` spreads over processes (and a sweep over a cluster): it depends
        only on the model and the number, so it gives the same output wherever it runs. The
        baseline's replication ``i`` uses the same seed as the policy's (common random
        numbers). A model without a population draws the default one on every call: give it
        one (`resolved_population`) before calling this many times.

        Args:
            replication: which replication, ``0 <= replication < replications``.
            baseline: simulate ``baseline_policy`` instead of ``policy``.
            progress: callable(months_done, months_total) called at each month end.
            starts: replications' starts kept for reuse by other policies with the same
                seeds and population (`MemberStarts`, e.g. a sweep's points); the output is
                the same with or without it.

        Returns:
            The replication's `ReplicationOutput`.

        Raises:
            ValueError: no such replication, or a baseline asked of a model without one.
        """
        if not 0 <= replication < self.replications:
            raise ValueError(
                f"replication(={replication}) must be between 0 and {self.replications - 1}"
            )
        policy = self.baseline_policy if baseline else self.policy
        if policy is None:
            raise ValueError("the model has no baseline_policy to simulate")
        seed = np.random.SeedSequence(self.seed).spawn(self.replications)[replication]
        return simulate_replication(policy, self.behavior, self.resolved_population(),
                                    self.start, self.months, seed, progress=progress,
                                    starts=starts)  # fmt: skip

    def run(self, progress=None):
        """Simulate every replication and return a `SimulationResult`.

        Args:
            progress: optional callable(done_fraction, message), called as replications
                finish.
        """
        model = self
        if self.population is None:
            model = dataclasses.replace(self, population=self.resolved_population())
        # Each replication, then its baseline (common random numbers) when there is one.
        runs = [
            (i, baseline)
            for i in range(self.replications)
            for baseline in ((False, True) if self.baseline_policy is not None else (False,))
        ]
        outputs: dict[tuple[int, bool], ReplicationOutput] = {}

        def done(fraction: float, finished: int) -> None:
            if progress is not None:
                progress(fraction, f"replication {finished} of {self.replications}")

        processes = min(self.workers, self.replications)
        if processes == 1:
            for k, run in enumerate(runs):
                # In this process the bar moves month by month.
                def months_done(months: int, total: int, k: int = k, i: int = run[0]) -> None:
                    done((k + months / total) / len(runs), i + 1)

                outputs[run] = model.replicate(
                    *run, progress=months_done if progress is not None else None
                )
        else:
            from concurrent.futures import as_completed

            with worker_pool(processes, model) as pool:
                futures = {pool.submit(_replicate_in_worker, *run): run for run in runs}
                for future in as_completed(futures):
                    outputs[futures[future]] = future.result()
                    complete = sum(
                        (i, False) in outputs
                        and (self.baseline_policy is None or (i, True) in outputs)
                        for i in range(self.replications)
                    )
                    done(len(outputs) / len(runs), complete)
        scenario = [outputs[i, False] for i in range(self.replications)]
        baseline = None
        if self.baseline_policy is not None:
            baseline = [outputs[i, True] for i in range(self.replications)]
        return model.result(scenario, baseline)

    def result(self, scenario: list, baseline: list | None = None):
        """The `SimulationResult` of replications simulated already (`replicate`).

        Args:
            scenario: the policy's replications, in replication order.
            baseline: the baseline policy's replications, in the same order (required when
                the model has a baseline policy, refused otherwise).

        Raises:
            ValueError: not one output per replication, or a baseline missing or unexpected.
        """
        import pandas as pd

        from policies.io import content_id
        from simulations.results import COHORT_COLUMNS, SimulationResult

        if len(scenario) != self.replications:
            raise ValueError(
                f"{len(scenario)} replications given; the model has {self.replications}"
            )
        if (baseline is None) != (self.baseline_policy is None):
            raise ValueError(
                "the baseline's replications are needed exactly when the model has a baseline"
                " policy"
            )
        if baseline is not None and len(baseline) != self.replications:
            raise ValueError(
                f"{len(baseline)} baseline replications given; the model has {self.replications}"
            )
        population = self.resolved_population()
        # The result aggregates (liability, incremental revenue, ROI, migration); the model
        # only hands over what each replication recorded.
        records = _records(scenario)
        cohort_rows = [
            {"replication": i, **row} for i, output in enumerate(scenario) for row in output.cohorts
        ]
        inputs = {
            "policy_name": self.policy.program.name,
            "currency": self.policy.program.currency,
            "start": self.start.isoformat(),
            "months": self.months,
            "replications": self.replications,
            "population": population.describe(),
            "behavior": self.behavior.model_dump(mode="json"),
            "baseline_policy_id": (
                content_id(self.baseline_policy) if self.baseline_policy is not None else None
            ),
        }
        return SimulationResult(
            records,
            urr=[output.urr for output in scenario],
            migration=np.stack([output.migration for output in scenario]),
            tier_names=self.policy.tier_names,
            cost_per_point=self.policy.points.redemption.cost_per_point,
            policy_id=content_id(self.policy),
            seed=self.seed,
            inputs=inputs,
            cohorts=pd.DataFrame(cohort_rows, columns=list(COHORT_COLUMNS)),
            baseline=None if baseline is None else _records(baseline),
        )
