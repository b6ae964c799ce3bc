"""The simulation engine: members' purchases, points and tiers under a policy, day by day.

Design
------
A SimPy environment drives the *calendar*: one process per concern (tier reviews, month
boundaries, acquisition, birthdays, campaign contacts, purchases, redemption windows, expiry
runs, reporting), each waking at its own time of day so the order within a day is exactly the
live ledger's (`policies.ledger`): start of day (review, sign-up bonus, birthday bonus),
purchases, redemptions, end of day (expiry). Member state lives in flat numpy arrays (one entry
per member). Monthly and daily steps are vectorized over members and go through the rule
functions of `policies.rules`; the purchase step, the hot loop, is compiled (numba) and runs
member by member through scalar forms of the same rules (pricing, qualified tier, lifecycle,
quadrant), which the tests check equal to `policies.rules` on random policies and purchases.
A simulated member's purchases and redemption requests replayed through
`policies.ledger.replay` give the same points and tiers.

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
  x holiday uplift x the uplift of campaigns that target everyone x a discount lift for their
  discount; the member part is tier lift x tier-discount lift x goal gradient x
  post-redemption lift x contact uplift x the uplift of campaigns targeting the member that day
  (birthday offers on the birthday). All multiplicative (an assumption).
* Time-varying rates are simulated by thinning (Lewis & Shedler 1979): each member carries the
  time of its next *candidate* purchase drawn at the dominating rate ``lambda * calendar(t) *
  H`` (``H`` bounds the member part) by inverting the cumulative calendar intensity; on the
  candidate's day it is accepted with probability ``member(day) / H``. Each day one
  compiled pass over the members (in index order, so memory is read sequentially) handles
  the members whose candidate falls on the day.
* Redemption: at the start of each month with an open window (policy windows or a redemption
  event), each alive member whose balance reaches the minimum decides to redeem with the
  logistic propensity of `RedemptionParams`, on a day drawn uniformly among the month's
  remaining open days, requesting ``redeem_share`` of the redeemable points (whole units).
  Members who dropped out do not redeem: their points end as breakage.
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
breakage) is estimated from the simulated future of each replication (IFRS 15 B39-B43): of the
points whose fate the simulation resolves -- redeemed, expired, or held by members who
dropped out (who never redeem) -- the share redeemed. With nothing resolved the URR is 1.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numba
import numpy as np
import simpy
from scipy.special import betaln

from policies import rules
from policies.model import Campaign, InactivityExpiry, NoExpiry, Policy
from simulations.behavior import BehaviorParams
from simulations.population import HISTORY_MONTHS, Population

__all__ = ["NEVER", "Model", "ReplicationOutput", "Trace", "simulate_replication"]

NEVER = -(1 << 30)
"""Day index meaning 'never happened'."""

_FAR = np.iinfo(np.int32).max
_EPSILON = rules.EPSILON
LOT_DTYPE = np.int32  # points per member and lot (a member's balance is 64-bit)
LOT_MAX = int(np.iinfo(LOT_DTYPE).max)
_LOT_OVERFLOW = (
    "a member's points in one expiry lot would exceed 2,147,483,647 points; the simulation"
    " keeps lots as 32-bit numbers: lower the earn rate or multipliers of the policy"
)
_SLACK = 1024  # room kept in the purchase record for one member's purchases of a day
_PURCHASE_KINDS = ("member_day", "bonus_points", "birthday", "threshold_reduction")
_CONTACT_KINDS = ("activation", "reactivation")


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
        uplift = behavior.campaign_uplift.model_dump()
        lift = behavior.effects.discount_rate_lift
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
            factor *= behavior.holiday_uplift.get(f"{day.month:02d}-{day.day:02d}", 1.0)
            running = rules.campaigns_on(policy, day)
            targeted, contacts = [], []
            for campaign in running:
                if campaign.kind in _CONTACT_KINDS:
                    contacts.append(campaign)
                elif _is_targeted(campaign):
                    targeted.append(campaign)
                else:
                    factor *= uplift[campaign.kind] * (1.0 + lift * campaign.discount_pct)
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
        self.pricing = _CampaignTable.build(
            policy,
            [tuple(c for c in running if c.kind in _PURCHASE_KINDS) for running in self.campaigns],
            lambda c: c.points_multiplier - 1.0,
        )
        self.targeting = _CampaignTable.build(
            policy,
            self.targeted,
            lambda c: uplift[c.kind] * (1.0 + lift * c.discount_pct),
        )
        self.leap = np.array([d.year % 4 == 0 and (d.year % 100 != 0 or d.year % 400 == 0)
                              for d in self.dates])  # fmt: skip
        self.month_starts = [i for i, d in enumerate(self.dates) if d.day == 1 or i == 0]
        self.month_ends = [
            i for i in range(self.n_days) if i == self.n_days - 1 or self.dates[i + 1].day == 1
        ]


def _is_targeted(campaign: Campaign) -> bool:
    target = campaign.target
    return campaign.kind == "birthday" or bool(target.tiers or target.lifecycle or target.quadrants)


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
    ):
        self.policy = policy
        self.behavior = behavior
        self.cal = _Calendar(policy, behavior, start, months)
        self.progress = progress
        self.trace = Trace() if trace else None
        streams = seed.spawn(7)
        rng_members, rng_arrivals = (np.random.default_rng(s) for s in streams[:2])
        self.rng_event = np.random.default_rng(streams[2])
        self.rng_spend = np.random.default_rng(streams[3])
        self.rng_drop = np.random.default_rng(streams[4])
        self.rng_redeem = np.random.default_rng(streams[5])
        self.rng_contact = np.random.default_rng(streams[6])
        self.n_tiers = len(policy.tiers.tiers)
        self.thresholds = np.array([t.threshold for t in policy.tiers.tiers])
        self._setup_members(population, start, months, rng_members, rng_arrivals)
        self._setup_rates()
        self._needs_lifecycle = any(c.target.lifecycle for c in policy.campaigns)
        self._needs_quadrant = any(c.target.quadrants for c in policy.campaigns)
        self._birthday_campaigns = any(c.kind == "birthday" for c in policy.campaigns)
        self._kernel_inputs()
        self.monthly: list[dict] = []
        self._reset_month()
        self.opening = int(self.balance[: self.n_joined].sum())
        self.resolved_redeemed = 0
        self.resolved_expired = 0

    # -- setup -------------------------------------------------------------------------

    def _setup_members(self, pop, start, months, rng, rng_arrivals) -> None:
        policy, behavior = self.policy, self.behavior
        cal = self.cal
        shift = (pop.as_of - start).days
        n0 = len(pop)
        # New members: Poisson arrivals per calendar month, join days uniform in the month.
        joins = []
        for first, last in zip(cal.month_starts, cal.month_ends, strict=True):
            days_in_month = (cal.dates[last] - cal.dates[first]).days + 1
            full = _days_in_month(cal.dates[first])
            count = rng_arrivals.poisson(behavior.new_members_per_month * days_in_month / full)
            joins.append(rng_arrivals.integers(first, last + 1, size=count))
        new_join = np.sort(np.concatenate(joins)).astype(np.int32) if joins else np.zeros(0)
        n = n0 + new_join.size
        self.n0, self.n = n0, n
        # Member ids are only reported with a trace (saves an object array and new strings).
        self.member_id = None
        if self.trace is not None:
            new_ids = np.array([f"N{i:07d}" for i in range(new_join.size)], dtype=object)
            self.member_id = np.concatenate([pop.member_id, new_ids])
        self.join = np.concatenate([pop.join_day + shift, new_join]).astype(np.int32)
        new_birth = rng_arrivals.integers(0, 365, size=new_join.size)
        birth_dates = np.datetime64("2001-01-01") + new_birth.astype("timedelta64[D]")
        months_ = birth_dates.astype("datetime64[M]").astype(int) % 12 + 1
        days_ = (birth_dates - birth_dates.astype("datetime64[M]")).astype(int) + 1
        self.bmonth = np.concatenate([pop.birthday_month, months_]).astype(np.int8)
        self.bday = np.concatenate([pop.birthday_day, days_]).astype(np.int8)

        # Latent BG/NBD and Gamma-Gamma parameters.
        bg, gg = behavior.bgnbd, behavior.gamma_gamma
        alpha = bg.alpha / behavior.daily_rate_scale()
        x = pop.repeat_purchases.astype(np.float64)
        T = np.maximum(-(pop.join_day + shift), 0).astype(np.float64)
        tx = np.clip(pop.last_purchase_day - pop.join_day, 0, None).astype(np.float64)
        tx = np.minimum(tx, T)
        log_alive = betaln(bg.a, bg.b + x) - (bg.r + x) * np.log(alpha + T)
        with np.errstate(invalid="ignore"):
            log_dead = betaln(bg.a + 1, bg.b + x - 1) - (bg.r + x) * np.log(alpha + tx)
        p_alive = np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_dead - log_alive, 700))), 1)
        alive0 = rng.random(n0) < p_alive
        lam0 = rng.gamma(bg.r + x, 1.0 / np.where(alive0, alpha + T, alpha + tx))
        p0 = np.where(
            alive0,
            rng.beta(bg.a, bg.b + x),
            rng.beta(bg.a + 1, np.maximum(bg.b + x - 1, 1e-9)),
        )
        known = (x > 0) & np.isfinite(pop.mean_spend)
        spend = np.where(known, pop.mean_spend, 0.0)
        nu0 = rng.gamma(gg.q + np.where(known, gg.p * x, 0), 1.0 / (gg.gamma + x * spend))
        m_new = new_join.size
        self.lam = np.concatenate([lam0, rng.gamma(bg.r, 1.0 / alpha, size=m_new)])
        self.p = np.concatenate([p0, rng.beta(bg.a, bg.b, size=m_new)])
        self.nu = np.concatenate([nu0, rng.gamma(gg.q, 1.0 / gg.gamma, size=m_new)])
        self.alive = np.concatenate([alive0, np.ones(m_new, dtype=bool)])
        self.trial_time = np.concatenate([np.zeros(n0), rng.random(m_new)])

        # Purchase history rings (column = month index % 12), qualifying score ring.
        start_month = rules.month_index(start)
        self.start_month = start_month
        tiers = policy.tiers
        self.score_len = (
            tiers.qualifying_period.months if tiers.qualifying_period.kind == "rolling" else 12
        )
        cols = [(start_month - HISTORY_MONTHS + j) % 12 for j in range(HISTORY_MONTHS)]
        self.count_ring = np.zeros((n, 12), dtype=np.int32)
        self.spend_ring = np.zeros((n, 12), dtype=np.int64)
        self.count_ring[:n0, cols] = pop.purchases_by_month
        self.spend_ring[:n0, cols] = pop.spend_by_month
        metric = tiers.qualifying_metric
        self.score_unit = 100.0 if metric == "spend" else 1.0
        base_rate = policy.points.earn.points_per_unit / policy.points.earn.per_amount
        if metric == "spend" and self.score_len == 12:
            self.score_ring = self.spend_ring
        else:
            self.score_ring = np.zeros((n, self.score_len), dtype=np.int64)
            for j in range(HISTORY_MONTHS):
                month = start_month - HISTORY_MONTHS + j
                if month < start_month - self.score_len:
                    continue
                if metric == "spend":
                    value = pop.spend_by_month[:, j]
                elif metric == "purchases":
                    value = pop.purchases_by_month[:, j]
                else:
                    value = np.floor(pop.spend_by_month[:, j] / 100 * base_rate).astype(np.int64)
                self.score_ring[:n0, month % self.score_len] = value

        # Tiers: the held tier when the policy knows it, else the qualified one.
        first, last = rules.review_score_months(policy, start_month)
        score = self._score(slice(0, n0), first, last) if n0 else np.zeros(0)
        qualified = rules.qualified_tier(policy, score)
        names = {name: i for i, name in enumerate(policy.tier_names)}
        held = np.full(n0, -1, dtype=np.int64)
        if n0:
            held_names = pop.tier.astype(str)
            for name, level in names.items():
                held[held_names == name] = level
        self.tier = np.zeros(n, dtype=np.int8)
        self.tier[:n0] = np.where(held >= 0, held, qualified)
        self.start_tier = self.tier[:n0].copy()
        self.grace = np.full(n, -1, dtype=np.int32)

        # Points lots: columns hold one expiry key each (the same keys for every member).
        self.slot_key = np.full(0, -1, dtype=np.int64)
        self.lots = np.zeros((n, 0), dtype=LOT_DTYPE)
        self.balance = np.zeros(n, dtype=np.int64)
        self._opening_lots(pop, start, start_month, base_rate)

        self.purchases = np.concatenate([pop.repeat_purchases + 1, np.zeros(m_new)]).astype(
            np.int64
        )
        last_purchase = np.concatenate([pop.last_purchase_day + shift, np.full(m_new, NEVER)])
        self.last_purchase = last_purchase.astype(np.int64)
        join_month = self.cal.month[0] + _months_between(start, self.join)
        self.last_activity = np.where(
            self.last_purchase > NEVER,
            start_month + _months_between(start, self.last_purchase),
            join_month,
        ).astype(np.int64)
        self.last_redeem = np.full(n, NEVER, dtype=np.int64)
        self.contact_day = np.full(n, NEVER, dtype=np.int64)
        self.contact_kind = np.zeros(n, dtype=np.int8)
        self.coupon = np.zeros(n)
        self.redeemed_year = np.zeros(n, dtype=np.int64)
        self.next_t = np.full(n, np.inf)
        self.next_day = np.full(n, _FAR, dtype=np.int32)
        self.n_joined = int(np.searchsorted(self.join, -1, side="right"))
        self.active_ref = (self.last_purchase[: self.n_joined] >= -365).copy()
        self.active_history: list[np.ndarray] = []
        # Birthday lookup: members sorted by (month, day).
        key = self.bmonth.astype(np.int16) * 32 + self.bday
        self.birth_order = np.argsort(key, kind="stable").astype(np.int32)
        self.birth_keys = key[self.birth_order]

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
        # Known balances spread over the valid lots (skipped when no balance is known).
        share = None
        if known.any():
            share = _spread_over(np.where(known, pop.points_balance, 0), len(valid))
        # One allocation for the opening lots and the first month's (free columns are zero).
        missing = len(valid) + 1 - self.lots.shape[1]
        if missing > 0:
            extra = np.zeros((self.n, missing), LOT_DTYPE)
            self.lots = np.concatenate([self.lots, extra], axis=1)
            self.slot_key = np.append(self.slot_key, np.full(missing, -1, np.int64))
        for position, (j, key) in enumerate(valid):
            # Points the month's spend earned, column by column (no (members, 12) temporaries).
            derived = np.floor(pop.spend_by_month[:, j] / 100.0 * base_rate * mult + rules.EPSILON)
            points = derived.astype(np.int64)
            if share is not None:
                points = np.where(known, share[:, position], points)
            self._add_points(slice(0, n0), self._slot(key), points)

    def _setup_rates(self) -> None:
        behavior, policy = self.behavior, self.policy
        effects = behavior.effects
        discount = np.array([t.benefits.discount_pct for t in policy.tiers.tiers])
        levels = np.arange(self.n_tiers)
        self.tier_factor = (1 + effects.tier_rate_lift * levels) * (
            1 + effects.discount_rate_lift * discount
        )
        self.dropout_factor = (1 - effects.tier_dropout_reduction) ** levels
        uplift = behavior.campaign_uplift.model_dump()
        self.contact_uplift = np.array([1.0, uplift["activation"], uplift["reactivation"]])
        bound = self.tier_factor.max() * (1 + effects.goal_gradient_lift)
        bound *= 1 + effects.post_redemption_lift
        bound *= max(1.0, self.contact_uplift.max())
        for campaign in policy.campaigns:
            if campaign.kind not in _CONTACT_KINDS and _is_targeted(campaign):
                bound *= max(1.0, uplift[campaign.kind]) * (
                    1 + effects.discount_rate_lift * campaign.discount_pct
                )
        self.bound = bound
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
        return self.lots.shape[1] - 1

    def _fifo_slots(self) -> np.ndarray:
        used = np.flatnonzero(self.slot_key >= 0)
        return used[np.argsort(self.slot_key[used], kind="stable")]

    def _score(self, idx: np.ndarray | slice, first: int, last: int) -> np.ndarray:
        cols = [m % self.score_len for m in range(max(first, last - self.score_len + 1), last + 1)]
        rows = np.arange(self.n)[idx] if isinstance(idx, slice) else idx
        rows = rows.astype(np.int64, copy=False)
        return _sum_columns(self.score_ring, rows, np.array(cols, np.int64)) / self.score_unit

    def _lifecycle(self, idx: np.ndarray | slice, d: int) -> np.ndarray:
        last = self.last_purchase[idx]
        since_purchase = d - np.where(last > NEVER, last, self.join[idx])
        return rules.lifecycle_codes(self.policy, d - self.join[idx], since_purchase,
                                     self.purchases[idx])  # fmt: skip

    def _quadrant(self, idx: np.ndarray | slice, month: int) -> np.ndarray:
        col = month % 12
        count = _row_sums_except(self.count_ring[idx], col)
        spend = _row_sums_except(self.spend_ring[idx], col)
        return rules.quadrant_codes(self.policy, count, spend / 100.0)

    def _target_mask(self, campaign: Campaign, idx: np.ndarray, d: int) -> np.ndarray:
        target = campaign.target
        mask = np.ones(idx.size, dtype=bool)
        if target.tiers:
            codes = [self.policy.tiers.tier_index(name) for name in target.tiers]
            mask &= np.isin(self.tier[idx], codes)
        if target.lifecycle:
            codes = [rules.LIFECYCLE_CODES[s] for s in target.lifecycle]
            mask &= np.isin(self._lifecycle(idx, d), codes)
        if target.quadrants:
            codes = [rules.QUADRANT_CODES[q] for q in target.quadrants]
            mask &= np.isin(self._quadrant(idx, int(self.cal.month[d])), codes)
        return mask

    def _earn(self, idx: np.ndarray, d: int, points: np.ndarray) -> None:
        key = rules.expiry_month_of_lot(self.policy, int(self.cal.month[d]))
        self._add_points(idx, self._slot(key), points)

    def _add_points(self, idx: np.ndarray | slice, slot: int, points: np.ndarray) -> None:
        """Book ``points`` to lot column ``slot`` of members ``idx`` (lots are 32-bit)."""
        lot = self.lots[idx, slot] + np.asarray(points, dtype=np.int64)
        if lot.size and lot.max() > LOT_MAX:
            raise OverflowError(_LOT_OVERFLOW)
        self.lots[idx, slot] = lot
        self.balance[idx] += points

    def _record_points(self, idx, d, kind, points) -> None:
        if self.trace is not None:
            keep = points != 0
            self.trace.points.append((idx[keep], d, kind, points[keep]))

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

    # -- the day's steps ---------------------------------------------------------------

    def review(self, d: int) -> None:
        """Tier review (start of the 1st of a review month) for members who joined before."""
        idx = np.flatnonzero(self.join[: self.n_joined] < d)
        if not idx.size:
            return
        month = int(self.cal.month[d])
        first, last = rules.review_score_months(self.policy, month)
        tier, grace = rules.review_tiers(
            self.policy, self.tier[idx], self._score(idx, first, last), self.grace[idx], month
        )
        self.tier[idx], self.grace[idx] = tier, grace

    def month_start(self, d: int) -> None:
        """New month: clear this month's history columns, yearly counters, plan redemptions."""
        month = int(self.cal.month[d])
        self.count_ring[:, month % 12] = 0
        self.spend_ring[:, month % 12] = 0
        if self.score_ring is not self.spend_ring:
            self.score_ring[:, month % self.score_len] = 0
        if self.cal.dates[d].month == 1 and self.cal.dates[d].day == 1:
            self.redeemed_year[:] = 0
        self._plan_redemptions(d)

    def _plan_redemptions(self, d: int) -> None:
        last = next(e for e in self.cal.month_ends if e >= d)
        open_days = np.flatnonzero(self.cal.redemption_open[d : last + 1]) + d
        self.redeem_plan: dict[int, np.ndarray] = {}
        if not open_days.size:
            return
        rules_ = self.policy.points.redemption
        nj = self.n_joined
        eligible = np.flatnonzero(
            self.alive[:nj] & (self.balance[:nj] >= max(rules_.minimum_points, 1))
        )
        params = self.behavior.redemption
        coefs = np.array(params.tier_coefs + (params.tier_coefs[-1],) * self.n_tiers)
        logit = (
            params.intercept
            + params.balance_coef * np.log1p(self.balance[eligible] / params.balance_scale)
            + coefs[self.tier[eligible]]
        )
        chosen = eligible[self.rng_redeem.random(eligible.size) < 1 / (1 + np.exp(-logit))]
        days = open_days[self.rng_redeem.integers(0, open_days.size, size=chosen.size)]
        order = np.argsort(days, kind="stable")
        chosen, days = chosen[order], days[order]
        bounds = np.flatnonzero(np.diff(days)) + 1
        for group_days, group in zip(np.split(days, bounds), np.split(chosen, bounds), strict=True):
            if group.size:
                self.redeem_plan[int(group_days[0])] = group

    def signups(self, d: int) -> None:
        """New members of the day: join, sign-up bonus, trial purchase scheduled."""
        lo = self.n_joined
        hi = int(np.searchsorted(self.join, d, side="right"))
        self.n_joined = hi
        if hi == lo:
            return
        idx = np.arange(lo, hi)
        self.acc["new_members"] += hi - lo
        bonus = self.policy.points.bonuses.signup
        if bonus:
            points = np.full(idx.size, bonus, dtype=np.int64)
            self._earn(idx, d, points)
            self.acc["points_issued_bonus"] += int(points.sum())
            self._record_points(idx, d, "bonus", points)
        self.today_trials = idx

    def birthdays(self, d: int) -> None:
        """Birthday bonus to members who bought in the 365 days before (start of day)."""
        day = self.cal.dates[d]
        keys = [day.month * 32 + day.day]
        leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
        if (day.month, day.day) == (2, 28) and not leap:
            keys.append(2 * 32 + 29)
        parts = []
        for key in keys:
            # The key in the index's own dtype: a Python int would copy the index to int64.
            key = self.birth_keys.dtype.type(key)
            lo = np.searchsorted(self.birth_keys, key, side="left")
            hi = np.searchsorted(self.birth_keys, key, side="right")
            parts.append(self.birth_order[lo:hi])
        idx = np.concatenate(parts)
        idx = idx[self.join[idx] <= d]
        last = self.last_purchase[idx]
        idx = idx[(last > NEVER) & (d - last <= 365)]
        if not idx.size:
            return
        points = rules.birthday_bonus(self.policy, self.tier[idx]).astype(np.int64)
        keep = points > 0
        idx, points = idx[keep], points[keep]
        if idx.size:
            self._earn(idx, d, points)
            self.acc["points_issued_bonus"] += int(points.sum())
            self._record_points(idx, d, "bonus", points)

    def contacts(self, d: int) -> None:
        """Activation and reactivation contacts of the day's campaigns."""
        effects = self.behavior.effects
        month = int(self.cal.month[d])
        nj = self.n_joined
        for campaign in self.cal.contacts[d]:
            if campaign.kind == "activation":
                joined_month = self.cal.month[0] + _months_between(self.cal.start, self.join[:nj])
                idx = np.flatnonzero(joined_month == month - 1)
                kind = 1
            else:
                last = self.last_purchase[:nj]
                since = d - np.where(last > NEVER, last, self.join[:nj])
                fresh = self.contact_day[:nj] < np.maximum(last, self.join[:nj])
                idx = np.flatnonzero((since >= campaign.recency_days) & fresh)
                kind = 2
            idx = idx[self._target_mask(campaign, idx, d)]
            if not idx.size:
                continue
            self.contact_day[idx] = d
            self.contact_kind[idx] = kind
            self.coupon[idx] = campaign.coupon_value
            self.acc["contacts"] += idx.size
            self.acc["contact_cost"] += idx.size * campaign.contact_cost
            dead = idx[~self.alive[idx]]
            back = dead[self.rng_contact.random(dead.size) < effects.reactivation_response]
            if back.size:
                self.alive[back] = True
                window = max(effects.contact_effect_days, 1)
                t = d + self.rng_contact.random(back.size) * window
                self.next_t[back] = t
                self.next_day[back] = np.where(t < self.cal.n_days, np.floor(t), _FAR)

    def _kernel_inputs(self) -> None:
        """Constant inputs of the compiled purchase step (tuples of arrays and numbers)."""
        policy, effects = self.policy, self.behavior.effects
        segments = policy.segments
        size = 4 * _SLACK
        self.record = (np.empty(size, np.int64), np.empty(size), np.empty(size, np.int64),
                       np.empty(size, np.int64))  # fmt: skip
        self.pricing_params = _pricing_params(policy)
        self.segments = (
            segments.new_days, segments.active_days, segments.silent_days,
            segments.dormant_days,
            np.array([rules.LIFECYCLE_CODES[s] for s in rules.LIFECYCLE_CODES], np.int64),
            self._needs_lifecycle,
        )  # fmt: skip
        self.quadrants = (
            segments.quadrant_min_purchases, float(segments.quadrant_min_spend),
            np.array([rules.QUADRANT_CODES[q] for q in rules.QUADRANT_CODES], np.int64),
            self._needs_quadrant,
        )  # fmt: skip
        self.effects = (
            float(effects.goal_gradient_lift), float(effects.goal_gradient_start),
            float(effects.post_redemption_lift), int(effects.post_redemption_days),
            int(effects.contact_effect_days), float(self.behavior.gamma_gamma.p),
        )  # fmt: skip
        metric = policy.tiers.qualifying_metric
        self.score_kind = -1 if self.score_ring is self.spend_ring else (
            {"spend": 0, "purchases": 1, "points": 2}[metric])  # fmt: skip

    def _advance_from(self, idx: np.ndarray, t: np.ndarray) -> None:
        """Draw each member's next candidate purchase after times ``t``."""
        cal = self.cal
        _advance_many(idx.astype(np.int64), np.asarray(t, dtype=np.float64), self.lam,
                      self.bound, cal.cumulative, cal.intensity, self.next_t, self.next_day,
                      self.rng_event)  # fmt: skip

    def purchases_of_day(self, d: int) -> None:
        """The day's purchases (compiled), member by member.

        New members' first purchases, then each member whose next candidate purchase falls
        on the day, in member order.
        """
        cal, policy = self.cal, self.policy
        trials = self.today_trials
        self.today_trials = None
        trials = np.zeros(0, np.int64) if trials is None else trials.astype(np.int64)
        month = int(cal.month[d])
        first, last = rules.score_months(policy, month)
        slot = self._slot(rules.expiry_month_of_lot(policy, month))
        day = cal.dates[d]
        acc = np.zeros(7)
        n_rec, resume = 0, 0
        while True:
            n_rec, resume = _purchase_day(
                d, trials,
                (self.alive, self.tier, self.balance, self.lots, self.purchases,
                 self.last_purchase, self.last_activity, self.join, self.bmonth, self.bday,
                 self.last_redeem, self.contact_day, self.contact_kind, self.coupon, self.next_t,
                 self.next_day, self.trial_time),
                (self.lam, self.p, self.nu, self.bound, self.tier_factor, self.dropout_factor,
                 self.contact_uplift),
                (cal.cumulative, cal.intensity, self.n_joined),
                (self.count_ring, self.spend_ring, self.score_ring, self.score_kind, first, last,
                 self.score_unit),
                (month, slot, month % 12, month % self.score_len, day.month, day.day,
                 bool(cal.leap[d]), policy.tiers.upgrade_timing == "immediate"),
                (cal.pricing.arrays(), int(cal.pricing.ptr[d]), int(cal.pricing.ptr[d + 1]),
                 self.pricing_params),
                (cal.targeting.arrays(), int(cal.targeting.ptr[d]),
                 int(cal.targeting.ptr[d + 1])),
                self.segments, self.quadrants, self.effects,
                (self.rng_event, self.rng_spend, self.rng_drop), acc, self.record, n_rec, resume,
            )  # fmt: skip
            if resume == trials.size + self.n_joined:
                break
            # The record is nearly full: double it and carry on from where the day stopped.
            grown = tuple(np.empty(2 * a.size, a.dtype) for a in self.record)
            for old, new in zip(self.record, grown, strict=True):
                new[:n_rec] = old[:n_rec]
            self.record = grown
        self.acc["revenue_gross"] += acc[0]
        self.acc["discounts"] += acc[1]
        self.acc["revenue_net"] += acc[2]
        self.acc["points_issued_base"] += int(acc[3])
        self.acc["points_issued_bonus"] += int(acc[4])
        self.acc["campaign_cost"] += acc[5]
        self.acc["churned_members"] += int(acc[6])
        if self.trace is not None and n_rec:
            member, gross, base, points = (a[:n_rec].copy() for a in self.record)
            self.trace.purchases.append((member, d, gross))
            self._record_points(member, d, "earn", base)
            self._record_points(member, d, "bonus", points - base)

    def redemptions(self, d: int) -> None:
        """Planned redemption requests of the day (members still alive)."""
        idx = self.redeem_plan.pop(d, None)
        if idx is None:
            return
        idx = idx[self.alive[idx]]
        if not idx.size:
            return
        policy = self.policy
        day = self.cal.dates[d]
        allowed = rules.redeemable_points(policy, day, self.balance[idx], self.redeemed_year[idx])
        unit = policy.points.redemption.unit_points
        share = self.behavior.redemption.redeem_share
        requested = (np.floor(allowed * share + rules.EPSILON).astype(np.int64) // unit) * unit
        points = rules.redemption_points(policy, requested, allowed)
        ask = requested > 0
        if self.trace is not None and ask.any():
            self.trace.redemptions.append((idx[ask], d, requested[ask]))
        done = points > 0
        idx, points = idx[done], points[done]
        if not idx.size:
            return
        slots = self._fifo_slots()
        taken = rules.consume_fifo(self.lots[np.ix_(idx, slots)], points)
        self.lots[np.ix_(idx, slots)] -= taken
        self.balance[idx] -= points
        self.redeemed_year[idx] += points
        self.last_activity[idx] = int(self.cal.month[d])
        self.last_redeem[idx] = d
        self.acc["points_redeemed"] += int(points.sum())
        self.acc["redemptions"] += idx.size
        self._record_points(idx, d, "redeem", -points)

    def expiry(self, d: int) -> None:
        """End-of-day expiry run."""
        policy = self.policy
        month = int(self.cal.month[d])
        nj = self.n_joined
        if isinstance(policy.expiry, InactivityExpiry):
            lapse = rules.inactivity_lapses(policy, self.last_activity[:nj], month)
            idx = np.flatnonzero(lapse & (self.balance[:nj] > 0))
            lost = self.balance[idx].copy()
            self.lots[idx] = 0
            self.balance[idx] = 0
        elif isinstance(policy.expiry, NoExpiry):
            return
        else:
            lost = np.zeros(nj, dtype=np.int64)
            for slot in np.flatnonzero((self.slot_key >= 0) & (self.slot_key <= month)):
                lost += self.lots[:nj, slot]
                self.lots[:nj, slot] = 0
                self.slot_key[slot] = -1
            idx = np.flatnonzero(lost)
            lost = lost[idx]
            self.balance[idx] -= lost
        self.acc["points_expired"] += int(lost.sum())
        self._record_points(idx, d, "expire", -lost)

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
        last = self.last_purchase[:nj]
        tiers = np.bincount(self.tier[:nj], minlength=self.n_tiers)
        gift = sum(
            count * t.benefits.gift_cost_per_member / 12.0
            for count, t in zip(tiers, policy.tiers.tiers, strict=True)
        )
        cost_per_point = policy.points.redemption.cost_per_point
        reward = acc["points_redeemed"] * cost_per_point
        fixed = float(self.cal.fixed_cost[month_start : d + 1].sum())
        campaign = acc["campaign_cost"] + fixed
        lifecycle = np.bincount(self._lifecycle(slice(0, nj), d + 1), minlength=5)
        quadrant = np.bincount(self._quadrant(slice(0, nj), int(self.cal.month[d]) + 1),
                               minlength=4)  # fmt: skip
        active_now = last >= d - 364
        self.active_history.append(active_now)
        ref = self.active_ref if k < 12 else self.active_history[k - 12]
        held = active_now[: ref.size] & ref
        retention = float(held.sum() / ref.sum()) if ref.sum() else float("nan")
        record = {
            "month": f"{day.year:04d}-{day.month:02d}",
            "active_members": int(lifecycle[0] + lifecycle[1]),
            "purchasing_members": int((last >= month_start).sum()),
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
        self.opening = closing
        self.resolved_redeemed += acc["points_redeemed"]
        self.resolved_expired += acc["points_expired"]
        self._reset_month()
        if self.progress is not None:
            self.progress(k + 1, len(self.cal.month_ends))

    # -- the calendar ------------------------------------------------------------------

    def run(self) -> ReplicationOutput:
        """Run the horizon on a SimPy clock; return the monthly records."""
        cal = self.cal
        env = simpy.Environment()
        nj = self.n_joined
        alive = np.flatnonzero(self.alive[:nj])
        self._advance_from(alive, np.zeros(alive.size))
        self.today_trials = None

        def at(times, offset, step):
            def process():
                for d in times:
                    yield env.timeout(d + offset - env.now)
                    step(int(d))

            env.process(process())

        every_day = range(cal.n_days)
        # Start of day: review, month start, sign-ups, birthdays, contacts; then purchases,
        # redemptions, end-of-day expiry and month-end reporting.
        at(np.flatnonzero(cal.review), 0.00, self.review)
        at(cal.month_starts, 0.01, self.month_start)
        at(every_day, 0.02, self.signups)
        at(every_day, 0.03, self.birthdays)
        at([i for i in every_day if cal.contacts[i]], 0.04, self.contacts)
        at(every_day, 0.50, self.purchases_of_day)
        at(np.flatnonzero(cal.redemption_open), 0.70, self.redemptions)
        at(np.flatnonzero(cal.expiry_run), 0.90, self.expiry)
        ends = {d: k for k, d in enumerate(cal.month_ends)}
        at(cal.month_ends, 0.95, lambda d: self.report(d, ends[d]))
        env.run()

        nj = self.n_joined
        dead_held = int(self.balance[:nj][~self.alive[:nj]].sum())
        resolved = self.resolved_redeemed + self.resolved_expired + dead_held
        urr = self.resolved_redeemed / resolved if resolved else 1.0
        migration = np.zeros((self.n_tiers + 1, self.n_tiers), dtype=np.int64)
        np.add.at(migration, (self.start_tier, self.tier[: self.n0]), 1)
        np.add.at(migration, (self.n_tiers, self.tier[self.n0 : nj]), 1)
        return ReplicationOutput(
            monthly=self.monthly,
            migration=migration,
            urr=float(urr),
            final_tier=self.tier[:nj].copy() if self.trace is not None else None,
            member_id=self.member_id[:nj].copy() if self.trace is not None else None,
            join_day=self.join[:nj].copy() if self.trace is not None else None,
            birthday=np.stack([self.bmonth[:nj], self.bday[:nj]], axis=1)
            if self.trace is not None
            else None,
            trace=self.trace,
        )


def _days_in_month(day: dt.date) -> int:
    nxt = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return (nxt - dt.date(day.year, day.month, 1)).days


def _months_between(start: dt.date, days: np.ndarray) -> np.ndarray:
    """Month index offsets (relative to ``start``'s month) of day offsets from ``start``."""
    dates = np.datetime64(start.isoformat()) + np.asarray(days).astype("timedelta64[D]")
    months = dates.astype("datetime64[M]").astype(np.int64)
    return months - np.datetime64(start.isoformat(), "M").astype(np.int64)


def _spread_over(total: np.ndarray, parts: int) -> np.ndarray:
    base = total // parts
    extra = total - base * parts
    out = np.repeat(base[:, None], parts, axis=1)
    out += np.arange(parts)[None, :] >= parts - extra[:, None]
    return out


# ---------------------------------------------------------------------------------------
# Compiled per-member steps (numba). Each function is the scalar form of a `policies.rules`
# function or of a vectorized engine step above; tests/simulations/test_engine.py checks the
# pricing and tier functions against `policies.rules` on random inputs.

_KIND_MULTIPLIER, _KIND_THRESHOLD = 0, 1
_BIRTHDAY_NONE, _BIRTHDAY_DAY, _BIRTHDAY_MONTH = 0, 1, 2
_ROUNDING = {"floor": 0, "ceil": 1, "round": 2}
_ALL = -1  # bit mask matching every code


@dataclass(frozen=True)
class _CampaignTable:
    """Campaigns of every day as flat arrays (row ``ptr[d]`` to ``ptr[d + 1]`` for day d).

    ``tier_mask``, ``lifecycle_mask`` and ``quadrant_mask`` are bit masks of the codes a
    campaign targets (-1: everyone). ``value`` is the rate factor (targeted table) or the
    points multiplier minus one (pricing table).
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

    @classmethod
    def build(cls, policy: Policy, per_day: list, value) -> _CampaignTable:
        rows = [c for running in per_day for c in running]
        ptr = np.zeros(len(per_day) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(running) for running in per_day])

        def mask(codes) -> int:
            return _ALL if not codes else int(sum(1 << code for code in set(codes)))

        def column(fn, dtype):
            return np.array([fn(c) for c in rows], dtype=dtype)

        birthday = {"day": _BIRTHDAY_DAY, "month": _BIRTHDAY_MONTH}
        return cls(
            ptr=ptr,
            kind=column(
                lambda c: _KIND_THRESHOLD if c.kind == "threshold_reduction" else _KIND_MULTIPLIER,
                np.int8,
            ),
            best=column(lambda c: c.stacking == "best", np.bool_),
            birthday=column(
                lambda c: birthday[c.birthday_scope] if c.kind == "birthday" else _BIRTHDAY_NONE,
                np.int8,
            ),
            value=column(value, np.float64),
            pct=column(lambda c: c.discount_pct, np.float64),
            threshold=column(lambda c: c.threshold, np.float64),
            reduction=column(lambda c: c.reduction, np.float64),
            repeatable=column(lambda c: c.repeatable, np.bool_),
            tier_mask=column(
                lambda c: mask([policy.tiers.tier_index(t) for t in c.target.tiers]), np.int64
            ),
            lifecycle_mask=column(
                lambda c: mask([rules.LIFECYCLE_CODES[s] for s in c.target.lifecycle]), np.int64
            ),
            quadrant_mask=column(
                lambda c: mask([rules.QUADRANT_CODES[q] for q in c.target.quadrants]), np.int64
            ),
        )

    def arrays(self) -> tuple:
        return (self.ptr, self.kind, self.best, self.birthday, self.value, self.pct,
                self.threshold, self.reduction, self.repeatable, self.tier_mask,
                self.lifecycle_mask, self.quadrant_mask)  # fmt: skip


def _pricing_rows(policy: Policy, day: dt.date) -> tuple[Campaign, ...]:
    """Campaigns that price a purchase on ``day`` (what `rules.price_purchases` applies)."""
    return tuple(c for c in rules.campaigns_on(policy, day) if c.kind in _PURCHASE_KINDS)


def _pricing_params(policy: Policy) -> tuple:
    benefits = [t.benefits for t in policy.tiers.tiers]
    earn = policy.points.earn
    bands = earn.balance_bands
    return (
        np.array([b.discount_pct for b in benefits], dtype=np.float64),
        np.array([b.earn_multiplier for b in benefits], dtype=np.float64),
        earn.basis == "net",
        earn.points_per_unit / earn.per_amount,
        _ROUNDING[earn.rounding],
        np.array([b.min_balance for b in bands], dtype=np.float64),
        np.array([b.multiplier for b in bands], dtype=np.float64),
        np.array([t.threshold for t in policy.tiers.tiers], dtype=np.float64),
    )


@numba.njit(cache=True, error_model="numpy", inline="always")
def _round_to(x, scale):
    # np.round(x, decimals): multiply by 10**decimals, round half to even, divide.
    return np.rint(x * scale) / scale


@numba.njit(cache=True, error_model="numpy", inline="always")
def _round_points_one(raw, rounding):
    if rounding == 0:
        out = np.floor(raw + _EPSILON)
    elif rounding == 1:
        out = np.ceil(raw - _EPSILON)
    else:
        out = np.floor(raw + 0.5 + _EPSILON)
    return np.int64(max(out, 0.0))


@numba.njit(cache=True, error_model="numpy", inline="always")
def _qualified_one(thresholds, score):
    """Scalar `rules.qualified_tier`."""
    s = _round_to(score, 1e6) + _EPSILON
    return np.int64(np.searchsorted(thresholds, s, side="right") - 1)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _targets(table, j, tier, lifecycle, quadrant, birthday_today, birthday_month):
    """Whether row ``j`` of a campaign table applies to a member (scalar `rules._targeted`)."""
    tier_mask, lifecycle_mask, quadrant_mask = table[9][j], table[10][j], table[11][j]
    if tier_mask != _ALL and not (tier_mask >> tier) & 1:
        return False
    if lifecycle_mask != _ALL and not (lifecycle_mask >> lifecycle) & 1:
        return False
    if quadrant_mask != _ALL and not (quadrant_mask >> quadrant) & 1:
        return False
    scope = table[3][j]
    if scope == _BIRTHDAY_DAY:
        return birthday_today
    if scope == _BIRTHDAY_MONTH:
        return birthday_month
    return True


@numba.njit(cache=True, error_model="numpy", inline="always")
def _price_one(table, lo, hi, params, gross, tier, balance, birthday_today, birthday_month,
               lifecycle, quadrant):  # fmt: skip
    """Scalar `rules.price_purchases`: (gross, discount, net, base points, points)."""
    tier_disc, tier_mult, basis_net, rate, rounding, band_min, band_mult = params[:7]
    gross = _round_to(gross, 100.0)
    stack_mult, best_mult = 1.0, 1.0
    stack_disc, best_disc = 0.0, 0.0
    stack_cut, best_cut = 0.0, 0.0
    for j in range(lo, hi):
        if not _targets(table, j, tier, lifecycle, quadrant, birthday_today, birthday_month):
            continue
        if table[1][j] == _KIND_THRESHOLD:
            reached = np.floor(gross / table[6][j] + _EPSILON)
            if not table[8][j]:
                reached = min(reached, 1.0)
            cut = reached * table[7][j]
            if table[2][j]:
                best_cut = max(best_cut, cut)
            else:
                stack_cut += cut
            continue
        extra = table[4][j]
        if table[2][j]:
            best_mult = max(best_mult, 1.0 + extra)
            best_disc = max(best_disc, table[5][j])
        else:
            stack_mult += extra
            stack_disc += table[5][j]
    campaign_mult = max(stack_mult, best_mult)
    campaign_disc = min(max(stack_disc, best_disc), 100.0)
    threshold_cut = max(stack_cut, best_cut)
    after_pct = gross * (1 - tier_disc[tier] / 100.0) * (1 - campaign_disc / 100.0)
    discount = _round_to(min(gross - after_pct + threshold_cut, gross), 100.0)
    net = _round_to(gross - discount, 100.0)
    basis = net if basis_net else gross
    band = 1.0
    for b in range(band_min.size):
        if balance >= band_min[b]:
            band = band_mult[b]
    raw_base = basis * rate
    base = _round_points_one(raw_base, rounding)
    points = _round_points_one(raw_base * tier_mult[tier] * campaign_mult * band, rounding)
    return gross, discount, net, min(base, points), points


@numba.njit(cache=True, error_model="numpy")
def _price_many(table, lo, hi, params, gross, tier, balance, birthday_today, birthday_month,
                lifecycle, quadrant):  # fmt: skip
    n = gross.size
    out = np.empty((3, n))
    points = np.empty((2, n), dtype=np.int64)
    for i in range(n):
        g, disc, net, base, pts = _price_one(
            table, lo, hi, params, gross[i], tier[i], balance[i], birthday_today[i],
            birthday_month[i], lifecycle[i], quadrant[i],
        )  # fmt: skip
        out[0, i], out[1, i], out[2, i] = g, disc, net
        points[0, i], points[1, i] = base, pts
    return out, points


def price_purchases_compiled(
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
) -> rules.PricedPurchases:
    """The engine's compiled pricing with the signature of `rules.price_purchases`.

    Gives the same discounts and points as `rules.price_purchases` (checked on random
    policies and purchases by the tests); the engine calls the compiled form per purchase.
    """
    n = np.asarray(gross).shape[0]
    table = _CampaignTable.build(
        policy, [_pricing_rows(policy, day)], lambda c: c.points_multiplier - 1.0
    )

    def flags(values):
        return np.zeros(n, dtype=np.bool_) if values is None else np.asarray(values, np.bool_)

    def codes(values):
        return np.zeros(n, dtype=np.int64) if values is None else np.asarray(values, np.int64)

    held = np.zeros(n) if balance is None else np.asarray(balance, dtype=np.float64)
    money, points = _price_many(
        table.arrays(), 0, int(table.ptr[1]), _pricing_params(policy),
        np.asarray(gross, dtype=np.float64), np.asarray(tier, dtype=np.int64), held,
        flags(birthday_today), flags(birthday_month), codes(lifecycle), codes(quadrant),
    )  # fmt: skip
    return rules.PricedPurchases(money[0], money[1], money[2], points[0], points[1])


@numba.njit(cache=True, error_model="numpy", inline="always")
def _score_one(score_ring, m, first, last, unit):
    """Scalar `_Simulation._score`: the qualifying score over months ``first..last``."""
    length = score_ring.shape[1]
    total = 0
    for month in range(max(first, last - length + 1), last + 1):
        total += score_ring[m, month % length]
    return total / unit


@numba.njit(cache=True, error_model="numpy", inline="always")
def _lifecycle_one(segments, d, join, last_purchase, purchases):
    """Scalar `rules.lifecycle_codes` for one member on day ``d``."""
    codes = segments[4]
    since = d - (last_purchase if last_purchase > NEVER else join)
    if d - join <= segments[0] and purchases <= 1:
        return codes[0]
    if since <= segments[1]:
        return codes[1]
    if since <= segments[2]:
        return codes[2]
    if since <= segments[3]:
        return codes[3]
    return codes[4]


@numba.njit(cache=True, error_model="numpy", inline="always")
def _quadrant_one(quadrants, count_ring, spend_ring, m, column):
    """Scalar `rules.quadrant_codes` over the 12 months before the month of ``column``."""
    min_purchases, min_spend, codes = quadrants[0], quadrants[1], quadrants[2]
    count = 0
    spend = 0
    for j in range(count_ring.shape[1]):
        if j != column:
            count += count_ring[m, j]
            spend += spend_ring[m, j]
    high = _round_to(spend / 100.0, 100.0) >= min_spend
    if count >= min_purchases:
        return codes[0] if high else codes[2]
    return codes[1] if high else codes[3]


@numba.njit(cache=True, error_model="numpy", inline="always")
def _advance_one(m, t, lam, bound, cumulative, intensity, next_t, next_day, rng):
    """Next candidate purchase of member ``m`` after time ``t`` at the dominating rate.

    Inverts the cumulative calendar intensity (Lewis & Shedler 1979 thinning, the candidate
    is accepted later with probability member factor / bound).
    """
    n_days = intensity.size
    k = np.int64(np.floor(t))
    c = cumulative[k] + (t - k) * intensity[k] + rng.standard_exponential() / (lam[m] * bound)
    k2 = np.int64(np.searchsorted(cumulative, c, side="right") - 1)
    if k2 >= n_days:
        next_t[m] = np.inf
        next_day[m] = _FAR
        return
    t2 = k2 + (c - cumulative[k2]) / intensity[k2]
    next_t[m] = min(max(t2, t), k2 + 1 - 1e-9)
    next_day[m] = k2


@numba.njit(cache=True, error_model="numpy")
def _advance_many(members, times, lam, bound, cumulative, intensity, next_t, next_day, rng):
    for i in range(members.size):
        _advance_one(members[i], times[i], lam, bound, cumulative, intensity, next_t, next_day,
                     rng)  # fmt: skip


@numba.njit(cache=True)
def _sum_columns(ring, rows, cols):
    """Sums of ``ring[rows][:, cols]`` by row (exact integer sums, no copies)."""
    out = np.zeros(rows.size, np.int64)
    for i in range(rows.size):
        total = np.int64(0)
        for j in cols:
            total += ring[rows[i], j]
        out[i] = total
    return out


@numba.njit(cache=True)
def _row_sums_except(ring, col):
    """Each row's sum over all columns but ``col`` (exact integer sums)."""
    out = np.zeros(ring.shape[0], np.int64)
    for i in range(ring.shape[0]):
        total = np.int64(0)
        for j in range(ring.shape[1]):
            if j != col:
                total += ring[i, j]
        out[i] = total
    return out


@numba.njit(cache=True, error_model="numpy")
def _purchase_day(d, trials, members, rates, calendar, rings, day, pricing, targeted, segments,
                  quadrants, effects, rngs, acc, record, n_rec, resume):  # fmt: skip
    """All purchases of day ``d``, member by member (a member's purchases in time order).

    New members' first purchases, then every member whose next candidate falls on the day.
    Writes each purchase (member, gross, base points, points) to ``record`` from position
    ``n_rec`` on, starting with candidate ``resume``; returns the purchases recorded so far
    and the candidate to resume from (the number of candidates when the day is done).
    """
    (
        alive,
        tier,
        balance,
        lots,
        purchases,
        last_purchase,
        last_activity,
        join,
        bmonth,
        bday,
        last_redeem,
        contact_day,
        contact_kind,
        coupon,
        next_t,
        next_day,
        trial_time,
    ) = members
    lam, p, nu, bound, tier_factor, dropout_factor, contact_uplift = rates
    cumulative, intensity, n_joined = calendar
    count_ring, spend_ring, score_ring, score_kind, score_first, score_last, score_unit = rings
    month, slot, ring_col, score_col, day_month, day_dom, leap, immediate = day
    table, lo, hi, params = pricing
    factors, t_lo, t_hi = targeted
    need_lifecycle, need_quadrant = segments[5], quadrants[3]
    goal_lift, goal_start, redeem_lift, redeem_days, contact_days, gg_p = effects
    rng_event, rng_spend, rng_drop = rngs
    rec_member, rec_gross, rec_base, rec_points = record
    thresholds = params[7]
    n_tiers = thresholds.size
    shared = score_kind < 0

    # New members' first purchases, then every member in order (a sequential scan keeps
    # memory access monotone). Stops early, returning where to resume, when the record could
    # fill up; a member never buys more than ``_SLACK`` times a day in practice, and a
    # record that would overflow raises instead of writing out of bounds. (One flat loop:
    # helper closures here cost a reference count per call.)
    capacity = rec_member.size
    total = trials.size + n_joined
    i = resume
    while i < total:
        if n_rec + _SLACK > capacity:
            return n_rec, i
        trial = i < trials.size
        if trial:
            m = trials[i]
            next_t[m] = d + trial_time[m]
        else:
            m = i - trials.size
        i += 1
        while trial or next_day[m] == d:
            t = tier[m]
            if not trial:
                # Thinning: accept the candidate with probability member factor / bound.
                h = tier_factor[t]
                if goal_lift > 0 and n_tiers > 1:
                    score = _score_one(score_ring, m, score_first, score_last, score_unit)
                    progress = score / max(thresholds[min(t + 1, n_tiers - 1)], 1e-9)
                    ramp = min(max((progress - goal_start) / (1 - goal_start), 0.0), 1.0)
                    if t < n_tiers - 1:
                        h = h * (1 + goal_lift * ramp)
                if redeem_lift > 0 and d - last_redeem[m] <= redeem_days:
                    h = h * (1 + redeem_lift)
                if d - contact_day[m] <= contact_days:
                    h = h * contact_uplift[contact_kind[m]]
                if t_hi > t_lo:
                    lifecycle = (_lifecycle_one(segments, d, join[m], last_purchase[m],
                                                purchases[m]) if need_lifecycle else 0)  # fmt: skip
                    quadrant = (_quadrant_one(quadrants, count_ring, spend_ring, m, ring_col)
                                if need_quadrant else 0)  # fmt: skip
                    bm, bd = bmonth[m], bday[m]
                    if not leap and bm == 2 and bd == 29:
                        bd = 28
                    for j in range(t_lo, t_hi):
                        today = bm == day_month and bd == day_dom
                        if _targets(factors, j, t, lifecycle, quadrant, today, bm == day_month):
                            h = h * factors[4][j]
                accepted = rng_event.random() * bound < h
            else:
                accepted = True
            if accepted:
                if n_rec == capacity:
                    raise RuntimeError(
                        "a member bought more often in one day than the record holds"
                    )
                lifecycle = (_lifecycle_one(segments, d, join[m], last_purchase[m], purchases[m])
                             if need_lifecycle else 0)  # fmt: skip
                quadrant = (_quadrant_one(quadrants, count_ring, spend_ring, m, ring_col)
                            if need_quadrant else 0)  # fmt: skip
                bm, bd = bmonth[m], bday[m]
                if not leap and bm == 2 and bd == 29:
                    bd = 28
                gross = _round_to(rng_spend.gamma(gg_p, 1.0 / nu[m]), 100.0)
                gross, discount, net, base, points = _price_one(
                    table, lo, hi, params, gross, t, float(balance[m]),
                    bm == day_month and bd == day_dom, bm == day_month, lifecycle, quadrant,
                )  # fmt: skip
                if lots[m, slot] + points > LOT_MAX:
                    raise OverflowError(_LOT_OVERFLOW)
                lots[m, slot] += points
                balance[m] += points
                acc[0] += gross
                acc[1] += discount
                acc[2] += net
                acc[3] += base
                acc[4] += points - base
                rec_member[n_rec] = m
                rec_gross[n_rec] = gross
                rec_base[n_rec] = base
                rec_points[n_rec] = points
                n_rec += 1
                cents = np.int64(np.rint(net * 100))
                spend_ring[m, ring_col] += cents
                count_ring[m, ring_col] += 1
                if not shared:
                    if score_kind == 0:
                        score_ring[m, score_col] += cents
                    elif score_kind == 1:
                        score_ring[m, score_col] += 1
                    else:
                        score_ring[m, score_col] += points
                purchases[m] += 1
                last_purchase[m] = d
                last_activity[m] = month
                if coupon[m] > 0 and d - contact_day[m] <= contact_days:
                    acc[5] += coupon[m]
                    coupon[m] = 0.0
                if immediate:
                    score = _score_one(score_ring, m, score_first, score_last, score_unit)
                    tier[m] = max(tier[m], _qualified_one(thresholds, score))
                if not trial and rng_drop.random() < p[m] * dropout_factor[tier[m]]:
                    alive[m] = False
                    next_t[m] = np.inf
                    next_day[m] = _FAR
                    acc[6] += 1
                    break
            trial = False
            _advance_one(m, next_t[m], lam, bound, cumulative, intensity, next_t, next_day,
                         rng_event)  # fmt: skip
    return n_rec, total


def simulate_replication(
    policy: Policy,
    behavior: BehaviorParams,
    population: Population,
    start: dt.date,
    months: int,
    seed: np.random.SeedSequence,
    trace: bool = False,
    progress=None,
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
    """
    if months < 1:
        raise ValueError(f"months(={months}) must be at least 1")
    if not math.isfinite(behavior.new_members_per_month):
        raise ValueError("new_members_per_month must be finite")
    sim = _Simulation(policy, behavior, population, start, months, seed, trace, progress)
    return sim.run()


# ---------------------------------------------------------------------------------------
# The model: replications (in parallel), baseline with common random numbers, results


def _replication_task(args) -> tuple[ReplicationOutput, ReplicationOutput | None]:
    policy, baseline, behavior, population, start, months, seed = args
    scenario = simulate_replication(policy, behavior, population, start, months, seed)
    base = None
    if baseline is not None:
        # Same seed sequence: the baseline shares every random stream (common random numbers).
        base = simulate_replication(baseline, behavior, population, start, months, seed)
    return scenario, base


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
        return Population.synthetic(20_000, self.behavior, seed=self.seed, as_of=self.start)

    def run(self, progress=None):
        """Simulate every replication and return a `SimulationResult`.

        Args:
            progress: optional callable(done_fraction, message), called as replications
                finish.
        """
        from concurrent.futures import ProcessPoolExecutor

        import pandas as pd

        from policies.io import content_id
        from simulations.results import SimulationResult

        population = self.resolved_population()
        seeds = np.random.SeedSequence(self.seed).spawn(self.replications)
        tasks = [
            (self.policy, self.baseline_policy, self.behavior, population, self.start,
             self.months, seeds[i])
            for i in range(self.replications)
        ]  # fmt: skip
        outputs: list = [None] * self.replications

        def done(i: int, finished: int) -> None:
            if progress is not None:
                progress(finished / self.replications,
                         f"replication {finished} of {self.replications}")  # fmt: skip

        if self.workers == 1 or self.replications == 1:
            for i, task in enumerate(tasks):
                outputs[i] = _replication_task(task)
                done(i, i + 1)
        else:
            with ProcessPoolExecutor(max_workers=min(self.workers, self.replications)) as pool:
                futures = {pool.submit(_replication_task, task): i for i, task in enumerate(tasks)}
                from concurrent.futures import as_completed

                for finished, future in enumerate(as_completed(futures), start=1):
                    outputs[futures[future]] = future.result()
                    done(futures[future], finished)

        cost_per_point = self.policy.points.redemption.cost_per_point
        frames, urrs, migrations = [], [], []
        for i, (scenario, base) in enumerate(outputs):
            frame = pd.DataFrame(scenario.monthly)
            frame.insert(0, "replication", i)
            frame["liability"] = frame["points_closing"] * cost_per_point * scenario.urr
            if base is not None:
                other = pd.DataFrame(base.monthly)
                frame["baseline_revenue_net"] = other["revenue_net"].to_numpy()
                frame["baseline_program_cost"] = other["program_cost"].to_numpy()
                frame["incremental_revenue"] = frame["revenue_net"] - frame["baseline_revenue_net"]
                frame["incremental_cost"] = frame["program_cost"] - frame["baseline_program_cost"]
                cost = frame["incremental_cost"]
                frame["roi"] = (frame["incremental_revenue"] - cost) / cost.where(cost.abs() > 1e-9)
            frames.append(frame)
            urrs.append(scenario.urr)
            migrations.append(scenario.migration)
        monthly = pd.concat(frames, ignore_index=True)
        names = list(self.policy.tier_names)
        median = np.median(np.stack(migrations), axis=0)
        rows = [
            {
                "from_tier": (names + ["(new)"])[a],
                "to_tier": names[b],
                "members": float(median[a, b]),
            }
            for a in range(median.shape[0])
            for b in range(median.shape[1])
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
            monthly, pd.DataFrame(rows), urrs, content_id(self.policy), self.seed, inputs
        )
