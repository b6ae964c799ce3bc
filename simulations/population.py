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
from dataclasses import dataclass, field

import numba
import numpy as np
import pandas as pd

from simulations.behavior import DEFAULT_BEHAVIOR, BehaviorParams

__all__ = ["HISTORY_MONTHS", "Population"]

HISTORY_MONTHS = 12
"""Months of purchase/spend history kept per member (the four-quadrant window)."""

_REQUIRED = ("member_id", "join_date")


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


@dataclass(frozen=True, eq=False)
class Population:
    """Existing members as observed on ``as_of`` (arrays aligned by member).

    Attributes:
        as_of: the snapshot date (the simulation normally starts on it).
        member_id: member identifiers (strings).
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
    def from_frame(cls, frame: pd.DataFrame, as_of: dt.date | None = None) -> Population:
        """Build a population from a member snapshot.

        Columns: ``member_id``, ``join_date`` (required); ``birthday``, ``last_purchase``
        (date), ``repeat_purchases`` (or ``frequency``), ``mean_spend`` (or ``monetary``),
        ``tier`` (name), ``points_balance``, ``purchases_12m``, ``spend_12m`` (optional).
        Assumptions: 12-month purchases and spend are spread evenly over the 12 months before
        ``as_of``; a missing ``last_purchase`` means no repeat purchase.

        Args:
            frame: one row per member.
            as_of: snapshot date (default: the day after the latest join or purchase).

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
        return cls(
            as_of=as_of,
            member_id=frame["member_id"].astype(str).to_numpy(object),
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
          qualifying score under the simulated policy and the balance as the points the
          last 12 months of spend earned (nothing redeemed, expiry as the policy says).

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
        join_day = -rng.integers(1, span + 1, size=n).astype(np.int32)
        birth = rng.integers(0, 365, size=n)
        birth_dates = np.datetime64("2001-01-01", "D") + birth
        birth_month0 = birth_dates.astype("datetime64[M]")
        bg = behavior.bgnbd
        scale = behavior.daily_rate_scale()
        lam = rng.gamma(bg.r, 1.0 / (bg.alpha / scale), size=n)
        p = rng.beta(bg.a, bg.b, size=n)
        gg = behavior.gamma_gamma
        nu = rng.gamma(gg.q, 1.0 / gg.gamma, size=n)
        length = -join_day.astype(np.float64)
        arrivals = rng.poisson(lam * length)
        until_dropout = rng.geometric(p)  # purchases up to and including the dropout one
        x = np.minimum(arrivals, until_dropout)
        # Repeat purchase times: the first x of `arrivals` uniform times on (join, as_of).
        times = rng.random(int(arrivals.sum()))  # scaled by the member's length below
        # Each member's times form one run (in member order): keep the x earliest of each run
        # in time order (as a stable sort on (member, time) would), without a global sort.
        owner, days = _earliest_in_runs(times, length, arrivals, x, join_day)
        del times
        amounts = rng.gamma(gg.p, 1.0 / nu[owner])
        last_day = join_day.copy()
        # Days ascend within each owner's run, so the run's last entry is the latest.
        run_end = np.flatnonzero(np.append(owner[1:] != owner[:-1], True)) if owner.size else owner
        last_day[owner[run_end]] = days[run_end]
        spent = np.bincount(owner, weights=amounts, minlength=n)
        mean_spend = np.where(x > 0, spent / np.maximum(x, 1), gg.p / nu)
        cents = np.multiply(amounts, 100, out=amounts)
        np.round(cents, out=cents)
        first_cents = np.round(rng.gamma(gg.p, 1.0 / nu) * 100)
        # Month of each purchase relative to the as_of month (-12..-1 kept); the first
        # purchase on the join day counts too.
        first_day = int(join_day.min()) if n else 0
        offsets = np.arange(first_day, 1)
        months = _months_since_epoch(as_of, offsets) - (_month_index(as_of) - _EPOCH_MONTH)
        purchases_by_month = np.zeros((n, HISTORY_MONTHS), np.int32)
        spend_by_month = np.zeros((n, HISTORY_MONTHS), np.int64)
        _add_by_month(purchases_by_month, spend_by_month, months, first_day,
                      np.arange(n), join_day, first_cents)  # fmt: skip
        _add_by_month(purchases_by_month, spend_by_month, months, first_day,
                      owner, days, cents)  # fmt: skip
        return cls(
            as_of=as_of,
            member_id=np.array([f"S{i:07d}" for i in range(n)], dtype=object),
            join_day=join_day,
            birthday_month=(birth_month0.astype(np.int64) % 12 + 1).astype(np.int8),
            birthday_day=((birth_dates - birth_month0).astype(np.int64) + 1).astype(np.int8),
            repeat_purchases=x.astype(np.int64),
            last_purchase_day=last_day,
            mean_spend=mean_spend,
            tier=np.full(n, "", dtype=object),
            points_balance=np.full(n, -1, np.int64),
            purchases_by_month=purchases_by_month,
            spend_by_month=spend_by_month,
            source="synthetic",
        )

    def describe(self) -> dict:
        """A small JSON-friendly description (recorded with results)."""
        return {"source": self.source, "members": len(self), "as_of": self.as_of.isoformat()}


_EPOCH_MONTH = _month_index(dt.date(1970, 1, 1))


def _months_since_epoch(origin: dt.date, days: np.ndarray) -> np.ndarray:
    """Calendar month index (months since 1970-01) of ``origin + days`` for each entry."""
    dates = np.datetime64(origin, "D") + days.astype(np.int64)
    return dates.astype("datetime64[M]").astype(np.int64)


@numba.njit(cache=True)
def _add_by_month(purchases, spend, months, first_day, owner, days, cents):
    """Add each purchase (owner, day, whole cents) to its month column when within the window.

    ``months[day - first_day]`` is the day's month relative to the snapshot month.
    """
    for i in range(owner.size):
        month = months[days[i] - first_day]
        if -HISTORY_MONTHS <= month < 0:
            col = month + HISTORY_MONTHS
            purchases[owner[i], col] += 1
            spend[owner[i], col] += np.int64(cents[i])


@numba.njit(cache=True)
def _earliest_in_runs(
    times: np.ndarray,
    scale: np.ndarray,
    lengths: np.ndarray,
    keep: np.ndarray,
    join_day: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``keep[i]`` earliest of run ``i`` of ``times * scale[i]`` (runs of ``lengths[i]``).

    Returns the owner of each kept time and its day (``join_day[i]`` + whole days), runs in
    order and each run in ascending (stable) time order.
    """
    total = 0
    for i in range(keep.size):
        total += keep[i]
    owner = np.empty(total, np.int32)
    days = np.empty(total, np.int32)
    start, out = 0, 0
    for i in range(lengths.size):
        end = start + lengths[i]
        k = keep[i]
        if k > 0:
            run = times[start:end] * scale[i]
            run = np.sort(run) if k > 1 else np.array([run.min()])
            for j in range(k):
                owner[out] = i
                days[out] = join_day[i] + np.int32(np.floor(run[j]))
                out += 1
        start = end
    return owner, days


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
