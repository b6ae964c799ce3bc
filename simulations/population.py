"""The member population a simulation starts from.

A `Population` holds only what a retailer can *observe* about its existing members at a date
(``as_of``): join date, birthday, the BG/NBD summary (``x`` repeat purchases, the day of the
last purchase, the length of membership), mean spend per repeat purchase, tier and points
balance, and the last 12 months of purchases and spend by calendar month (for tier scores and
the four quadrants). The engine draws each member's latent purchase rate, dropout probability
and alive status from the BG/NBD posterior given that summary (Fader, Hardie & Lee 2005), so
the same population serves every policy and every replication.

Two ways to build one:

* `Population.from_frame`: a member snapshot (one row per member, e.g. from the database).
* `Population.synthetic`: members drawn from the behavior parameters, with a simulated history
  of up to ``history_months`` (see its docstring for the assumptions).

Arrays are aligned by member; monthly arrays have 12 columns, column 0 being 12 months before
the ``as_of`` month and column 11 the month before it.
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numba
import numpy as np
import pandas as pd

from simulations.behavior import DEFAULT_BEHAVIOR, BehaviorParams

__all__ = ["HISTORY_MONTHS", "Population", "ledger_lots", "policy_opening_balances"]

HISTORY_MONTHS = 12
"""Months of purchase/spend history kept per member (the four-quadrant window)."""

_REQUIRED = ("member_id", "join_date")


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


@dataclass(frozen=True, eq=False)
class Population:
    """Existing members as observed on ``as_of`` (arrays aligned by member).

    Attributes:
        as_of: the snapshot date (the simulation normally starts on it).
        member_id: member identifiers (strings; a fixed-width unicode array for synthetic
            members).
        join_day: join date as days relative to ``as_of`` (negative or zero).
        birthday_month: birthday month 1-12 (0 = unknown).
        birthday_day: birthday day of month (0 = unknown).
        repeat_purchases: BG/NBD ``x`` (purchases after the first one).
        last_purchase_day: day of the last purchase relative to ``as_of`` (the join day when
            ``repeat_purchases`` is 0).
        mean_spend: mean gross spend per purchase (NaN = unknown: drawn from the prior).
        tier: tier name held (empty string = derive from the qualifying score).
        points_balance: points held (-1 = unknown: derived from the spend history).
        purchases_by_month: ``(members, 12)`` purchases in the 12 months before ``as_of``.
        spend_by_month: ``(members, 12)`` net spend in cents in those months.
        points_lots: optional ``(members, 12)`` points still held on ``as_of`` by the month
            they were earned (same columns as ``spend_by_month``; points from before the 12
            months in column 0, from the ``as_of`` month before ``as_of`` in column 11), e.g.
            from a ledger (`ledger_lots`). The engine books a known balance to these lots, so
            each point expires when its own validity ends; None = spread the balance evenly.
    """

    as_of: dt.date
    member_id: np.ndarray
    join_day: np.ndarray
    birthday_month: np.ndarray
    birthday_day: np.ndarray
    repeat_purchases: np.ndarray
    last_purchase_day: np.ndarray
    mean_spend: np.ndarray
    tier: np.ndarray
    points_balance: np.ndarray
    purchases_by_month: np.ndarray
    spend_by_month: np.ndarray
    source: str = field(default="snapshot")
    points_lots: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.member_id.shape[0])

    @classmethod
    def empty(cls, as_of: dt.date) -> Population:
        """No existing members (a program that starts from scratch)."""
        return cls(
            as_of=as_of,
            member_id=np.array([], dtype=object),
            join_day=np.zeros(0, np.int32),
            birthday_month=np.zeros(0, np.int8),
            birthday_day=np.zeros(0, np.int8),
            repeat_purchases=np.zeros(0, np.int64),
            last_purchase_day=np.zeros(0, np.int32),
            mean_spend=np.zeros(0),
            tier=np.array([], dtype=object),
            points_balance=np.zeros(0, np.int64),
            purchases_by_month=np.zeros((0, HISTORY_MONTHS), np.int32),
            spend_by_month=np.zeros((0, HISTORY_MONTHS), np.int64),
            source="empty",
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        as_of: dt.date | None = None,
        ledger: pd.DataFrame | None = None,
    ) -> Population:
        """Build a population from a member snapshot.

        Columns: ``member_id``, ``join_date`` (required); ``birthday``, ``last_purchase``
        (date), ``repeat_purchases`` (or ``frequency``), ``mean_spend`` (or ``monetary``),
        ``tier`` (name), ``points_balance``, ``purchases_12m``, ``spend_12m`` (optional).
        Assumptions: 12-month purchases and spend are spread evenly over the 12 months before
        ``as_of``; a missing ``last_purchase`` means no repeat purchase. With the points
        ledger the balances are held by the month they were earned (`ledger_lots`), so
        each point expires when its own validity ends; without it a balance is spread
        evenly over the 12 months, which expires recent points too early and old ones too
        late.

        Args:
            frame: one row per member.
            as_of: snapshot date (default: the day after the latest join or purchase).
            ledger: the points ledger (``member_id, date, kind, points``, as `store.ledger`
                returns it): the balances are its sums over the bookings dated before
                ``as_of`` (the frame's ``points_balance`` is then not used).

        Raises:
            ValueError: a required column is missing or a value is invalid (names the column,
                the row and the bad value).
        """
        missing = [c for c in _REQUIRED if c not in frame.columns]
        if missing:
            raise ValueError(
                f"member snapshot is missing column(s) {', '.join(missing)}; required:"
                f" {', '.join(_REQUIRED)}"
            )
        n = len(frame)
        joins = pd.to_datetime(frame["join_date"], errors="coerce")
        bad = np.flatnonzero(joins.isna().to_numpy())
        if bad.size:
            value = frame["join_date"].iloc[bad[0]]
            raise ValueError(
                f"member snapshot row {int(bad[0])}: join_date(={value!r}) is not a date"
                " (use YYYY-MM-DD)"
            )
        last = (
            pd.to_datetime(frame["last_purchase"], errors="coerce")
            if "last_purchase" in frame
            else pd.Series(pd.NaT, index=frame.index)
        )
        last = last.fillna(joins)
        if as_of is None:
            latest = max(joins.max(), last.max()) if n else pd.Timestamp(dt.date.today())
            as_of = (latest + pd.Timedelta(days=1)).date()
        origin = pd.Timestamp(as_of)
        join_day = (joins - origin).dt.days.to_numpy(np.int32)
        if n and join_day.max() > 0:
            row = int(np.argmax(join_day))
            raise ValueError(
                f"member snapshot row {row}: join_date(={joins.iloc[row].date()}) is after the"
                f" snapshot date {as_of}"
            )
        last_day = np.maximum((last - origin).dt.days.to_numpy(np.int32), join_day)
        if "birthday" in frame:
            births = pd.to_datetime(frame["birthday"], errors="coerce")
            bmonth = births.dt.month.fillna(0).to_numpy(np.int8)
            bday = births.dt.day.fillna(0).to_numpy(np.int8)
        else:
            bmonth = np.zeros(n, np.int8)
            bday = np.zeros(n, np.int8)
        x = _column(frame, ("repeat_purchases", "frequency"), 0.0)
        if (x < 0).any():
            row = int(np.argmax(x < 0))
            raise ValueError(
                f"member snapshot row {row}: repeat_purchases(={x[row]:g}) must be >= 0"
            )
        spend = _column(frame, ("mean_spend", "monetary"), np.nan)
        tier = (
            frame["tier"].fillna("").astype(str).to_numpy(object)
            if "tier" in frame
            else np.full(n, "", dtype=object)
        )
        balance = _column(frame, ("points_balance",), -1.0).astype(np.int64)
        p12 = _column(frame, ("purchases_12m",), 0.0)
        s12 = _column(frame, ("spend_12m",), 0.0)
        purchases_by_month = _spread(np.round(p12).astype(np.int64)).astype(np.int32)
        spend_by_month = _spread(np.round(s12 * 100).astype(np.int64))
        member_id = frame["member_id"].astype(str).to_numpy(object)
        lots = None
        if ledger is not None:
            booked = ledger[ledger["date"] < pd.Timestamp(as_of)]
            held = booked.groupby("member_id")["points"].sum()
            balance = held.reindex(member_id, fill_value=0).to_numpy(np.int64)
            lots = ledger_lots(booked, member_id, as_of)
        return cls(
            as_of=as_of,
            member_id=member_id,
            join_day=join_day,
            birthday_month=bmonth,
            birthday_day=bday,
            repeat_purchases=np.round(x).astype(np.int64),
            last_purchase_day=last_day.astype(np.int32),
            mean_spend=spend,
            tier=tier,
            points_balance=balance,
            purchases_by_month=purchases_by_month,
            spend_by_month=spend_by_month,
            source="snapshot",
            points_lots=lots,
        )

    @classmethod
    def synthetic(
        cls,
        n_members: int,
        behavior: BehaviorParams = DEFAULT_BEHAVIOR,
        seed: int | np.random.SeedSequence | None = 0,
        as_of: dt.date = dt.date(2026, 1, 1),
        history_months: int = 36,
    ) -> Population:
        """Existing members drawn from the behavior parameters.

        Assumptions (documented so they can be challenged):

        * join dates are uniform over the ``history_months`` before ``as_of``; the join day
          is the first purchase;
        * repeat purchases follow BG/NBD from the join day (no seasonality or program
          effects in the history), spend per purchase follows Gamma-Gamma;
        * birthdays are uniform over a common year;
        * tier and points balance are left unknown: the engine derives the tier from the
          qualifying score under the simulated policy; `with_policy_balances` fills the
          balances from the policy's own history of the last 12 months (earned, redeemed in
          its windows, expired), which the command line, the app and `Model`'s default
          population do. Left unknown, the engine would take 12 months of points with
          nothing redeemed.

        Members are drawn in chunks of 65,536, each chunk from its own random stream derived
        from ``seed`` and on as many threads as there are CPUs: the same seed gives the same
        population whatever the number of threads. Only what the outputs need is drawn: the
        purchase times (exponential gaps), an amount for each purchase in the 12-month
        window, and one Gamma draw for the total spend of the earlier purchases.

        Args:
            n_members: members to draw.
            behavior: parameters to draw from.
            seed: seed of the draw (the population is an input: fixed across replications).
            as_of: snapshot date.
            history_months: how far back join dates go.
        """
        if n_members < 0:
            raise ValueError(f"n_members(={n_members}) must be >= 0")
        rng = np.random.default_rng(seed)
        n = int(n_members)
        origin = pd.Timestamp(as_of)
        first = (origin - pd.DateOffset(months=history_months)).date()
        span = (as_of - first).days
        join_day = -rng.integers(1, span + 1, size=n, dtype=np.int32)
        birth = rng.integers(0, 365, size=n, dtype=np.int16)
        common_year = np.datetime64("2001-01-01", "D") + np.arange(365)
        year_months = common_year.astype("datetime64[M]")
        # Month column of each day from the earliest possible join day to as_of: 0-11 in the
        # 12 months before the as_of month, -1 outside them.
        first_day = -span
        months = _months_since_epoch(as_of, np.arange(first_day, 1)) - (
            _month_index(as_of) - _EPOCH_MONTH
        )
        in_window = (months >= -HISTORY_MONTHS) & (months < 0)
        column_of_day = np.where(in_window, months + HISTORY_MONTHS, -1).astype(np.int8)
        bg, gg = behavior.bgnbd, behavior.gamma_gamma
        repeat_purchases = np.empty(n, np.int64)
        last_purchase_day = np.empty(n, np.int32)
        mean_spend = np.empty(n, np.float64)
        purchases_by_month = np.zeros((n, HISTORY_MONTHS), np.int32)
        spend_by_month = np.zeros((n, HISTORY_MONTHS), np.int64)
        params = (bg.r, bg.alpha / behavior.daily_rate_scale(), bg.a, bg.b, gg.p, gg.q, gg.gamma)
        chunks = -(-n // _CHUNK)
        # Chunk k of members always draws from stream k, so the result does not depend on how
        # many threads run the chunks. The streams descend from numbers drawn from the seed
        # (not from the seed's own children, which a caller may use for something else).
        streams = np.random.SeedSequence(rng.integers(2**63, size=4)).spawn(chunks)

        def draw(chunk: int) -> None:
            part = slice(chunk * _CHUNK, (chunk + 1) * _CHUNK)
            _draw_histories(np.random.default_rng(streams[chunk]), join_day[part],
                            column_of_day, first_day, params, repeat_purchases[part],
                            last_purchase_day[part], mean_spend[part], purchases_by_month[part],
                            spend_by_month[part])  # fmt: skip

        workers = min(chunks, os.cpu_count() or 1)
        if workers > 1:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(draw, range(chunks)))
        else:
            for chunk in range(chunks):
                draw(chunk)
        return cls(
            as_of=as_of,
            member_id=_synthetic_ids(n),
            join_day=join_day,
            birthday_month=(year_months.astype(np.int64) % 12 + 1).astype(np.int8)[birth],
            birthday_day=((common_year - year_months).astype(np.int64) + 1).astype(np.int8)[birth],
            repeat_purchases=repeat_purchases,
            last_purchase_day=last_purchase_day,
            mean_spend=mean_spend,
            tier=np.full(n, "", dtype=object),
            points_balance=np.full(n, -1, np.int64),
            purchases_by_month=purchases_by_month,
            spend_by_month=spend_by_month,
            source="synthetic",
        )

    def with_policy_balances(
        self, policy, behavior: BehaviorParams = DEFAULT_BEHAVIOR, seed=0
    ) -> Population:
        """A copy whose unknown balances come from the policy's history.

        See `policy_opening_balances`.
        """
        import dataclasses

        balances = policy_opening_balances(self, policy, behavior, seed)
        return dataclasses.replace(self, points_balance=balances)

    def describe(self) -> dict:
        """A small JSON-friendly description (recorded with results)."""
        return {"source": self.source, "members": len(self), "as_of": self.as_of.isoformat()}


_EPOCH_MONTH = _month_index(dt.date(1970, 1, 1))

_CHUNK = 1 << 16
"""Members per random stream of `Population.synthetic` (histories are drawn chunk by chunk)."""


def _months_since_epoch(origin: dt.date, days: np.ndarray) -> np.ndarray:
    """Calendar month index (months since 1970-01) of ``origin + days`` for each entry."""
    dates = np.datetime64(origin, "D") + days.astype(np.int64)
    return dates.astype("datetime64[M]").astype(np.int64)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _draw_histories(
    rng, join_day, column_of_day, first_day, params, repeats, last_day, mean_spend, purchases, spend
):
    """Draw each member's BG/NBD purchase history and Gamma-Gamma spend in place.

    Per member: the purchase rate ``lambda ~ Gamma(r, alpha)`` (per day), the dropout
    probability ``p ~ Beta(a, b)`` and the spend rate ``nu ~ Gamma(q, gamma)``. The repeat
    purchases are the arrivals of a Poisson process of rate ``lambda`` started on the join day
    (exponential gaps), up to the end of the history or the purchase after which the member
    drops out, whichever comes first; the number of purchases up to and including the dropout
    one is geometric, drawn by inversion, ``ceil(E / -log(1 - p))`` with ``E`` exponential
    (Devroye 1986, "Non-Uniform Random Variate Generation", ch. X). Only purchases inside
    the 12-month window (``column_of_day[day - first_day] >= 0``) get an amount of their own;
    the others only count towards the mean spend, as one Gamma(``k p``, ``nu``) draw for their
    total (a sum of ``k`` independent Gamma(``p``, ``nu``) amounts). The join-day purchase is
    the first purchase: it fills the window when it falls in it but is not a repeat purchase.
    """
    r, alpha, a, b, p, q, gamma = params
    for i in range(join_day.size):
        join = join_day[i]
        rate = rng.standard_gamma(r) / alpha
        dropout = rng.beta(a, b)
        nu = rng.standard_gamma(q) / gamma
        # Purchases up to and including the one after which the member drops out (>= 1).
        limit = 1.0
        if dropout < 1.0:
            limit = max(1.0, np.ceil(rng.standard_exponential() / -np.log1p(-dropout)))
        column = column_of_day[join - first_day]
        if column >= 0:
            purchases[i, column] += 1
            spend[i, column] += np.int64(np.round(rng.standard_gamma(p) / nu * 100.0))
        horizon = -np.float64(join)
        t = 0.0
        x = 0
        last = join
        spent = 0.0
        outside = 0
        while x < limit:
            t += rng.standard_exponential() / rate
            if t >= horizon:
                break
            x += 1
            last = join + np.int32(np.floor(t))
            column = column_of_day[last - first_day]
            if column >= 0:
                amount = rng.standard_gamma(p) / nu
                spent += amount
                purchases[i, column] += 1
                spend[i, column] += np.int64(np.round(amount * 100.0))
            else:
                outside += 1
        if outside > 0:
            spent += rng.standard_gamma(p * outside) / nu
        repeats[i] = x
        last_day[i] = last
        mean_spend[i] = spent / x if x > 0 else p / nu


def _synthetic_ids(n: int) -> np.ndarray:
    """Identifiers ``S0000000``, ``S0000001``... as a fixed-width unicode array."""
    width = max(7, len(str(n - 1)))
    codes = np.empty((n, width + 1), np.uint32)
    _write_ids(codes)
    return codes.view(f"<U{width + 1}").reshape(n)


@numba.njit(cache=True)
def _write_ids(codes):
    """Write ``S`` and the zero-padded row number as unicode code points in each row."""
    width = codes.shape[1] - 1
    for i in range(codes.shape[0]):
        codes[i, 0] = 83  # "S"
        value = i
        for j in range(width, 0, -1):
            codes[i, j] = 48 + value % 10
            value //= 10


def _column(frame: pd.DataFrame, names: tuple[str, ...], default: float) -> np.ndarray:
    for name in names:
        if name in frame:
            values = pd.to_numeric(frame[name], errors="coerce")
            bad = values.isna() & frame[name].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise ValueError(
                    f"member snapshot row {row}: {name}(={frame[name].iloc[row]!r}) is not a number"
                )
            return values.fillna(default).to_numpy(np.float64)
    return np.full(len(frame), default, dtype=np.float64)


def _spread(total: np.ndarray) -> np.ndarray:
    """Spread integer totals evenly over 12 months (remainder in the latest months)."""
    base = total // HISTORY_MONTHS
    extra = total - base * HISTORY_MONTHS
    out = np.repeat(base[:, None], HISTORY_MONTHS, axis=1)
    out += np.arange(HISTORY_MONTHS)[None, :] >= HISTORY_MONTHS - extra[:, None]
    return out.astype(np.int64)


def policy_opening_balances(
    population: Population,
    policy,
    behavior: BehaviorParams = DEFAULT_BEHAVIOR,
    seed: int | np.random.SeedSequence | None = 0,
) -> np.ndarray:
    """Points each member holds on ``as_of``, from the policy's own history of the last year.

    Replays the 12 months of spend before ``as_of`` month by month through the policy: base
    points per the earn rule and the tier multiplier (tier from the 12-month qualifying
    spend), the sign-up bonus in the join month; at the start of each month with an open
    redemption window a member holding the minimum redeems with the propensity of
    ``behavior.redemption`` (``redeem_share`` of the redeemable points, whole units, oldest
    points first); at the end of each month the lots whose validity ended expire. Points
    earned before the 12 months are not known and count as spent or expired (with a 12-month
    or shorter validity they would have expired anyway). Campaign bonuses are left out.

    The alternative it replaces, 12 months of points with nothing redeemed or expired,
    overstates balances and so first-year expiry and breakage.

    Returns:
        ``(members,)`` balances (int64); members with a known balance keep it.
    """
    from policies import rules

    n = len(population)
    known = population.points_balance >= 0
    if n == 0:
        return population.points_balance.copy()
    rng = np.random.default_rng(seed)
    earn = policy.points.earn
    rate = earn.points_per_unit / earn.per_amount
    score = population.spend_by_month.sum(axis=1) / 100.0
    tier = rules.qualified_tier(policy, score) if policy.tiers.qualifying_metric == "spend" else (
        np.zeros(n, dtype=np.int64)
    )  # fmt: skip
    multiplier = np.array([t.benefits.earn_multiplier for t in policy.tiers.tiers])[tier]
    red = behavior.redemption
    coefs = np.array(red.tier_coefs or (0.0,))
    tier_coef = coefs[np.minimum(tier, coefs.size - 1)]
    redemption = policy.points.redemption
    first_month = _month_index(population.as_of) - HISTORY_MONTHS
    join_month = np.array(
        [_month_index(population.as_of + dt.timedelta(days=int(d))) for d in population.join_day]
    )
    lots = np.zeros((n, HISTORY_MONTHS), dtype=np.int64)
    for j in range(HISTORY_MONTHS):
        month = first_month + j
        year, month_of_year = divmod(month, 12)
        days = [dt.date(year, month_of_year + 1, 1) + dt.timedelta(days=k) for k in range(31)]
        days = [d for d in days if d.month == month_of_year + 1]
        if any(rules.redemption_allowed_on(policy, d) for d in days):
            balance = lots.sum(axis=1)
            logit = red.intercept + red.balance_coef * np.log1p(balance / red.balance_scale)
            chance = 1.0 / (1.0 + np.exp(-(logit + tier_coef)))
            wants = (balance >= redemption.minimum_points) & (rng.random(n) < chance)
            units = np.floor(red.redeem_share * balance / redemption.unit_points)
            amount = np.where(wants, units * redemption.unit_points, 0).astype(np.int64)
            amount = np.where(amount >= max(redemption.minimum_points, 1), amount, 0)
            lots -= rules.consume_fifo(lots, amount)
        earned = np.floor(population.spend_by_month[:, j] / 100.0 * rate * multiplier + 1e-9)
        earned += np.where(join_month == month, policy.points.bonuses.signup, 0)
        lots[:, j] += earned.astype(np.int64)
        for k in range(j + 1):
            if rules.expiry_month_of_lot(policy, first_month + k) <= month:
                lots[:, k] = 0
    return np.where(known, population.points_balance, lots.sum(axis=1)).astype(np.int64)


def ledger_lots(ledger: pd.DataFrame, member_ids: np.ndarray, as_of: dt.date) -> np.ndarray:
    """Points each member still holds on ``as_of``, by the month they were earned.

    Every redemption and expiry takes the oldest points first (FIFO, as `policies.ledger`
    books them), so whatever left a member's account is a prefix of the points in the order
    they were earned: the lots left are the earned points minus that prefix. Only the totals
    per earn month matter, not the order of bookings within a month.

    Args:
        ledger: checked ledger (``member_id, date, kind, points``; redeem/expire negative)
            with entries dated before ``as_of`` only.
        member_ids: the members, in the order of the result's rows.
        as_of: the snapshot date.

    Returns:
        ``(members, 12)`` int64 lots in the columns of `Population.points_lots`; a row sums
        to the member's ledger balance whenever that balance is not negative.
    """
    from policies import rules

    n = len(member_ids)
    earned = np.zeros((n, HISTORY_MONTHS), np.int64)
    if n == 0 or ledger.empty:
        return earned
    row = pd.Index(member_ids).get_indexer(ledger["member_id"])
    months = ledger["date"].dt.year.to_numpy() * 12 + ledger["date"].dt.month.to_numpy() - 1
    column = np.clip(months - (_month_index(as_of) - HISTORY_MONTHS), 0, HISTORY_MONTHS - 1)
    points = ledger["points"].to_numpy(np.int64)
    gain = ledger["kind"].isin(("earn", "bonus")).to_numpy() & (row >= 0)
    np.add.at(earned, (row[gain], column[gain]), points[gain])
    spent = np.zeros(n, np.int64)
    loss = ~ledger["kind"].isin(("earn", "bonus")).to_numpy() & (row >= 0)
    np.add.at(spent, row[loss], -points[loss])
    spent = np.clip(spent, 0, earned.sum(axis=1))
    return earned - rules.consume_fifo(earned, spent)
