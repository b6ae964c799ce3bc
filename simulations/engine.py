"""The simulation engine: members' purchases, points and tiers under a policy, day by day.

Design
------
A SimPy environment drives the *calendar*: one process per concern (tier reviews, month
boundaries, acquisition, birthdays, campaign contacts, purchases, redemption windows, expiry
runs, reporting), each waking at its own time of day so the order within a day is exactly the
live ledger's (`policies.ledger`): start of day (review, sign-up bonus, birthday bonus),
purchases, redemptions, end of day (expiry). Member state lives in flat numpy arrays (one entry
per member) and every step is vectorized; points go through the very rule functions of
`policies.rules`, so a simulated member's purchases and redemption requests replayed through
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
  candidate's day it is accepted with probability ``member(day) / H``. A day's work is
  proportional to the day's candidates.
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
        self._bands = bool(policy.points.earn.balance_bands)
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
        self.member_id = np.concatenate(
            [pop.member_id, np.array([f"N{i:07d}" for i in range(new_join.size)], dtype=object)]
        )
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
        score = self._score(np.arange(n0), first, last) if n0 else np.zeros(0)
        qualified = rules.qualified_tier(policy, score)
        names = {name: i for i, name in enumerate(policy.tier_names)}
        held = np.array([names.get(str(t), -1) for t in pop.tier], dtype=np.int64)
        self.tier = np.zeros(n, dtype=np.int64)
        self.tier[:n0] = np.where(held >= 0, held, qualified)
        self.start_tier = self.tier[:n0].copy()
        self.grace = np.full(n, -1, dtype=np.int64)

        # Points lots: columns hold one expiry key each (the same keys for every member).
        self.slot_key = np.full(0, -1, dtype=np.int64)
        self.lots = np.zeros((n, 0), dtype=np.int64)
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
        key = self.bmonth.astype(np.int64) * 32 + self.bday
        self.birth_order = np.argsort(key, kind="stable")
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
        derived = np.floor(
            pop.spend_by_month / 100.0 * base_rate * mult[:, None] + rules.EPSILON
        ).astype(np.int64)
        known = pop.points_balance >= 0
        share = _spread_over(np.where(known, pop.points_balance, 0), len(valid))
        for position, (j, key) in enumerate(valid):
            points = np.where(known, share[:, position], derived[:, j])
            slot = self._slot(key)
            self.lots[:n0, slot] += points
            self.balance[:n0] += points

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
        self.lots = np.concatenate([self.lots, np.zeros((self.n, 1), dtype=np.int64)], axis=1)
        self.slot_key = np.append(self.slot_key, key)
        return self.lots.shape[1] - 1

    def _fifo_slots(self) -> np.ndarray:
        used = np.flatnonzero(self.slot_key >= 0)
        return used[np.argsort(self.slot_key[used], kind="stable")]

    def _score(self, idx: np.ndarray, first: int, last: int) -> np.ndarray:
        cols = [m % self.score_len for m in range(max(first, last - self.score_len + 1), last + 1)]
        return self.score_ring[idx][:, cols].sum(axis=1) / self.score_unit

    def _lifecycle(self, idx: np.ndarray, d: int) -> np.ndarray:
        last = self.last_purchase[idx]
        since_purchase = d - np.where(last > NEVER, last, self.join[idx])
        return rules.lifecycle_codes(self.policy, d - self.join[idx], since_purchase,
                                     self.purchases[idx])  # fmt: skip

    def _quadrant(self, idx: np.ndarray, month: int) -> np.ndarray:
        col = month % 12
        count = self.count_ring[idx].sum(axis=1) - self.count_ring[idx, col]
        spend = self.spend_ring[idx].sum(axis=1) - self.spend_ring[idx, col]
        return rules.quadrant_codes(self.policy, count, spend / 100.0)

    def _is_birthday(self, idx: np.ndarray, day: dt.date) -> np.ndarray:
        month, dom = self.bmonth[idx], self.bday[idx]
        leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
        if not leap:
            dom = np.where((month == 2) & (dom == 29), 28, dom)
        return (month == day.month) & (dom == day.day)

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
        slot = self._slot(key)
        self.lots[idx, slot] += points
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

    def _member_factor(self, idx: np.ndarray, d: int) -> np.ndarray:
        effects = self.behavior.effects
        tier = self.tier[idx]
        h = self.tier_factor[tier]
        if effects.goal_gradient_lift > 0 and self.n_tiers > 1:
            first, last = rules.score_months(self.policy, int(self.cal.month[d]))
            score = self._score(idx, first, last)
            nxt = self.thresholds[np.minimum(tier + 1, self.n_tiers - 1)]
            progress = score / np.maximum(nxt, 1e-9)
            ramp = np.clip((progress - effects.goal_gradient_start)
                           / (1 - effects.goal_gradient_start), 0, 1)  # fmt: skip
            h = h * np.where(tier < self.n_tiers - 1, 1 + effects.goal_gradient_lift * ramp, 1)
        if effects.post_redemption_lift > 0:
            recent = d - self.last_redeem[idx] <= effects.post_redemption_days
            h = h * np.where(recent, 1 + effects.post_redemption_lift, 1)
        contacted = d - self.contact_day[idx] <= effects.contact_effect_days
        h = h * np.where(contacted, self.contact_uplift[self.contact_kind[idx]], 1)
        day = self.cal.dates[d]
        for campaign in self.cal.targeted[d]:
            mask = self._target_mask(campaign, idx, d)
            if campaign.kind == "birthday":
                if campaign.birthday_scope == "day":
                    mask &= self._is_birthday(idx, day)
                else:
                    mask &= self.bmonth[idx] == day.month
            factor = self.uplift[campaign.kind] * (
                1 + effects.discount_rate_lift * campaign.discount_pct
            )
            h = h * np.where(mask, factor, 1)
        return h

    def _advance(self, idx: np.ndarray, t: np.ndarray) -> None:
        """Draw each member's next candidate purchase time after ``t`` (thinning bound)."""
        cal = self.cal
        k = np.floor(t).astype(np.int64)
        rate = self.lam[idx] * self.bound
        with np.errstate(divide="ignore"):
            c = (
                cal.cumulative[k]
                + (t - k) * cal.intensity[k]
                + (self.rng_event.standard_exponential(idx.size) / rate)
            )
        k2 = np.searchsorted(cal.cumulative, c, side="right") - 1
        inside = k2 < cal.n_days
        k2c = np.minimum(k2, cal.n_days - 1)
        t2 = k2c + (c - cal.cumulative[k2c]) / cal.intensity[k2c]
        t2 = np.minimum(np.maximum(t2, t), k2c + 1 - 1e-9)
        self.next_t[idx] = np.where(inside, t2, np.inf)
        self.next_day[idx] = np.where(inside, k2c, _FAR)

    def purchases_of_day(self, d: int) -> None:
        """The day's purchases, in rounds: round r holds each buyer's r-th purchase of the day."""
        nj = self.n_joined
        pending = np.flatnonzero(self.next_day[:nj] == d)
        trials = getattr(self, "today_trials", None)
        self.today_trials = None
        if trials is None:
            trials = np.zeros(0, dtype=np.int64)
        else:
            self.next_t[trials] = d + self.trial_time[trials]
        while pending.size or trials.size:
            h = self._member_factor(pending, d)
            accept = self.rng_event.random(pending.size) * self.bound < h
            repeat = pending[accept]
            buyers = np.concatenate([trials, repeat])
            if buyers.size:
                self._book(buyers, d)
            drop = self.rng_drop.random(repeat.size) < (
                self.p[repeat] * self.dropout_factor[self.tier[repeat]]
            )
            gone = repeat[drop]
            self.alive[gone] = False
            self.next_t[gone] = np.inf
            self.next_day[gone] = _FAR
            self.acc["churned_members"] += gone.size
            movers = np.concatenate([trials, pending[~accept], repeat[~drop]])
            self._advance(movers, self.next_t[movers])
            pending = movers[self.next_day[movers] == d]
            trials = np.zeros(0, dtype=np.int64)

    def _book(self, idx: np.ndarray, d: int) -> None:
        policy = self.policy
        day = self.cal.dates[d]
        month = int(self.cal.month[d])
        gross = self.rng_spend.gamma(self.behavior.gamma_gamma.p, 1.0 / self.nu[idx])
        gross = np.round(gross, 2)
        if self.trace is not None:
            self.trace.purchases.append((idx.copy(), d, gross))
        priced = rules.price_purchases(
            policy,
            day,
            gross,
            self.tier[idx],
            balance=self.balance[idx] if self._bands else None,
            birthday_today=self._is_birthday(idx, day) if self._birthday_campaigns else None,
            birthday_month=(self.bmonth[idx] == day.month) if self._birthday_campaigns else None,
            lifecycle=self._lifecycle(idx, d) if self._needs_lifecycle else None,
            quadrant=self._quadrant(idx, month) if self._needs_quadrant else None,
        )
        points = priced.points
        self._earn(idx, d, points)
        self.acc["points_issued_base"] += int(priced.base_points.sum())
        self.acc["points_issued_bonus"] += int(priced.bonus_points.sum())
        self._record_points(idx, d, "earn", priced.base_points)
        self._record_points(idx, d, "bonus", priced.bonus_points)
        self.acc["revenue_gross"] += float(priced.gross.sum())
        self.acc["discounts"] += float(priced.discount.sum())
        self.acc["revenue_net"] += float(priced.net.sum())
        net_cents = np.round(priced.net * 100).astype(np.int64)
        col = month % 12
        self.spend_ring[idx, col] += net_cents
        self.count_ring[idx, col] += 1
        metric = policy.tiers.qualifying_metric
        if self.score_ring is not self.spend_ring:
            value = {"spend": net_cents, "purchases": 1, "points": points}[metric]
            self.score_ring[idx, month % self.score_len] += value
        self.purchases[idx] += 1
        self.last_purchase[idx] = d
        self.last_activity[idx] = month
        effects = self.behavior.effects
        coupon = (self.coupon[idx] > 0) & (d - self.contact_day[idx] <= effects.contact_effect_days)
        if coupon.any():
            self.acc["campaign_cost"] += float(self.coupon[idx][coupon].sum())
            self.coupon[idx[coupon]] = 0.0
        if policy.tiers.upgrade_timing == "immediate":
            first, last = rules.score_months(policy, month)
            self.tier[idx] = rules.upgrade_now(
                policy, self.tier[idx], self._score(idx, first, last)
            )

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
        lifecycle = np.bincount(self._lifecycle(np.arange(nj), d + 1), minlength=5)
        quadrant = np.bincount(self._quadrant(np.arange(nj), int(self.cal.month[d]) + 1),
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
        self._advance(alive, np.zeros(alive.size))
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
