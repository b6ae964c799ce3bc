"""A slow, obviously-correct reference: one SimPy process per member.

Each member is a SimPy process: joins (new members, Poisson arrivals per month, uniform join
day), makes a first purchase on the join day, then repeat purchases from a BG/NBD process
(Fader, Hardie & Lee 2005) whose rate is multiplied by the calendar (month x weekday
seasonality), simulated by thinning at the maximum calendar factor (Lewis & Shedler 1979);
after each repeat purchase the member drops out with probability p. Spend is Gamma-Gamma.
Points are the policy's base earn on the gross amount of a single-tier program without
campaigns, expiry or redemption, plus the sign-up bonus. It records per-month new members,
purchases, gross revenue and points issued: the figures the fast engine must agree with.
"""

import datetime as dt
import math

import numpy as np
import simpy


def simulate_reference(policy, behavior, start: dt.date, months: int, seed: int) -> list[dict]:
    """Monthly records of the per-member reference model (new members only)."""
    rng = np.random.default_rng(seed)
    end_month = start.year * 12 + start.month - 1 + months
    end = dt.date(end_month // 12, end_month % 12 + 1, 1)
    n_days = (end - start).days
    dates = [start + dt.timedelta(days=i) for i in range(n_days)]
    factor = np.array(
        [
            behavior.month_seasonality[d.month - 1] * behavior.weekday_seasonality[d.weekday()]
            for d in dates
        ]
    )
    top = factor.max()
    bg, gg = behavior.bgnbd, behavior.gamma_gamma
    alpha = bg.alpha / behavior.daily_rate_scale()
    earn = policy.points.earn
    rate = earn.points_per_unit / earn.per_amount
    labels = [f"{d.year:04d}-{d.month:02d}" for d in dates]
    order = list(dict.fromkeys(labels))
    records = {m: {"month": m, "new_members": 0, "purchases": 0, "revenue_gross": 0.0,
                   "points_issued": 0} for m in order}  # fmt: skip

    def buy(day: int, nu: float) -> None:
        amount = round(float(rng.gamma(gg.p, 1.0 / nu)), 2)
        record = records[labels[day]]
        record["purchases"] += 1
        record["revenue_gross"] += amount
        record["points_issued"] += int(math.floor(amount * rate + 1e-9))

    def member(env, join_day: int):
        yield env.timeout(join_day - env.now)
        lam = rng.gamma(bg.r, 1.0 / alpha)
        p = rng.beta(bg.a, bg.b)
        nu = rng.gamma(gg.q, 1.0 / gg.gamma)
        records[labels[join_day]]["new_members"] += 1
        records[labels[join_day]]["points_issued"] += policy.points.bonuses.signup
        buy(join_day, nu)
        yield env.timeout(rng.random())
        while True:
            yield env.timeout(rng.exponential(1.0 / (lam * top)))
            day = int(env.now)
            if day >= n_days:
                return
            if rng.random() * top >= factor[day]:
                continue
            buy(day, nu)
            if rng.random() < p:
                return

    env = simpy.Environment()
    first = 0
    for label in order:
        days = [i for i, m in enumerate(labels) if m == label]
        count = rng.poisson(behavior.new_members_per_month)
        for join_day in sorted(rng.integers(days[0], days[-1] + 1, size=count)):
            env.process(member(env, int(join_day)))
        first += len(days)
    env.run(until=n_days)
    return list(records.values())
