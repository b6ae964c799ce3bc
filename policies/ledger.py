"""The live points ledger: member accounts booked through the rules engine.

What the live loyalty system does with a published policy, and what the sample data and the
simulator are checked against. Each `MemberAccount` holds a member's tier, qualifying score
by month, and points *lots* keyed by the month index at whose end they expire (so FIFO by
expiry is FIFO by age). `replay` books a whole transaction log day by day, in the order the
simulator uses:

1. start of day: tier review (1st of a review month), sign-up bonus on the join date,
   birthday bonus (to members who bought in the 365 days before);
2. purchases (several by one member on one day are booked one after another);
3. redemption requests;
4. end of day: expiry runs (rolling and inactivity at month end, fixed date on its day).

Every booking is a `LedgerEntry` (kinds ``earn`` for base points, ``bonus`` for multiplier
and bonus points, ``redeem`` and ``expire`` negative), so a monthly roll-forward of the entries
balances exactly: opening + issued - redeemed - expired = closing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from policies import rules
from policies.model import Policy

__all__ = ["LedgerEntry", "MemberAccount", "ReplayResult", "replay", "roll_forward"]


@dataclass(frozen=True)
class LedgerEntry:
    """One booking of points (``points`` is signed: positive adds, negative removes)."""

    member_id: str
    date: dt.date
    kind: str
    points: int
    transaction_id: str = ""
    note: str = ""


@dataclass(eq=False)
class MemberAccount:
    """A member's state in the live system."""

    member_id: str
    join_date: dt.date
    birthday: dt.date | None = None
    tier: int = 0
    grace_until: int = -1
    lots: dict[int, int] = field(default_factory=dict)
    score_by_month: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    purchases_by_month: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    spend_by_month: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    purchases: int = 0
    last_purchase: dt.date | None = None
    last_activity_month: int | None = None
    redeemed_by_year: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def balance(self) -> int:
        """Points held."""
        return sum(self.lots.values())

    def score(self, first: int, last: int) -> float:
        """Qualifying score summed over month indices ``first..last``."""
        return sum(v for m, v in self.score_by_month.items() if first <= m <= last)

    def is_birthday(self, day: dt.date) -> bool:
        """Whether ``day`` is the birthday (29 Feb counts as 28 Feb in common years)."""
        if self.birthday is None:
            return False
        month, dom = self.birthday.month, self.birthday.day
        if (month, dom) == (2, 29) and not _is_leap(day.year):
            dom = 28
        return (day.month, day.day) == (month, dom)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@dataclass(frozen=True)
class ReplayResult:
    """What replaying a transaction log gives: entries, priced purchases, final accounts."""

    entries: pd.DataFrame
    purchases: pd.DataFrame
    accounts: dict[str, MemberAccount]

    def roll_forward(self) -> pd.DataFrame:
        """Monthly points roll-forward of the entries (see `roll_forward`)."""
        return roll_forward(self.entries)


def roll_forward(entries: pd.DataFrame, months: list[str] | None = None) -> pd.DataFrame:
    """Monthly opening, issued (base/bonus), redeemed, expired and closing points.

    ``redeemed`` and ``expired`` are reported as positive numbers; every row satisfies
    opening + issued - redeemed - expired == closing, and each closing is the next opening.
    """
    frame = entries.copy()
    frame["month"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m")
    pivot = frame.pivot_table(
        index="month", columns="kind", values="points", aggfunc="sum", fill_value=0
    )
    for kind in ("earn", "bonus", "redeem", "expire"):
        if kind not in pivot:
            pivot[kind] = 0
    if months is not None:
        pivot = pivot.reindex(months, fill_value=0)
    out = pd.DataFrame(index=pivot.index)
    out["issued_base"] = pivot["earn"].astype(np.int64)
    out["issued_bonus"] = pivot["bonus"].astype(np.int64)
    out["issued"] = out["issued_base"] + out["issued_bonus"]
    out["redeemed"] = -pivot["redeem"].astype(np.int64)
    out["expired"] = -pivot["expire"].astype(np.int64)
    change = out["issued"] - out["redeemed"] - out["expired"]
    out["closing"] = change.cumsum()
    out["opening"] = out["closing"] - change
    columns = ["opening", "issued_base", "issued_bonus", "issued", "redeemed", "expired"]
    return out[[*columns, "closing"]].rename_axis("month").reset_index()


class _Book:
    """Bookkeeping for one replay: applies rule results to accounts and records entries."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.entries: list[LedgerEntry] = []
        self.priced: list[tuple] = []

    def add(self, account: MemberAccount, day: dt.date, kind: str, points: int, txn="", note=""):
        if points:
            self.entries.append(LedgerEntry(account.member_id, day, kind, int(points), txn, note))

    def earn(self, account: MemberAccount, day: dt.date, points: int) -> None:
        if points > 0:
            key = rules.expiry_month_of_lot(self.policy, rules.month_index(day))
            account.lots[key] = account.lots.get(key, 0) + int(points)

    def take(self, account: MemberAccount, amount: int) -> None:
        keys = sorted(account.lots)
        lots = np.array([[account.lots[k] for k in keys]], dtype=np.int64)
        taken = rules.consume_fifo(lots, np.array([amount]))[0]
        for key, used in zip(keys, taken, strict=True):
            left = account.lots[key] - int(used)
            if left:
                account.lots[key] = left
            else:
                del account.lots[key]

    def start_of_day(self, account: MemberAccount, day: dt.date) -> None:
        policy = self.policy
        month = rules.month_index(day)
        if rules.is_review_day(policy, day) and day > account.join_date:
            first, last = rules.review_score_months(policy, month)
            tier, grace = rules.review_tiers(
                policy,
                np.array([account.tier]),
                np.array([account.score(first, last)]),
                np.array([account.grace_until]),
                month,
            )
            account.tier, account.grace_until = int(tier[0]), int(grace[0])
        if day == account.join_date:
            bonus = policy.points.bonuses.signup
            self.earn(account, day, bonus)
            self.add(account, day, "bonus", bonus, note="signup")
        if account.is_birthday(day) and rules.birthday_bonus_due(day, account.last_purchase):
            bonus = int(rules.birthday_bonus(policy, np.array([account.tier]))[0])
            self.earn(account, day, bonus)
            self.add(account, day, "bonus", bonus, note="birthday")

    def purchase(
        self, accounts: list[MemberAccount], day: dt.date, gross: np.ndarray, txn_ids: list[str]
    ) -> None:
        """Book purchases of distinct members on one day."""
        policy = self.policy
        month = rules.month_index(day)
        tier = np.array([a.tier for a in accounts])
        since_join = np.array([(day - a.join_date).days for a in accounts])
        since_purchase = np.array([(day - (a.last_purchase or a.join_date)).days for a in accounts])
        count = np.array([a.purchases for a in accounts])
        first, last = rules.quadrant_months(month)
        window = range(first, last + 1)
        count_12m = np.array(
            [sum(a.purchases_by_month.get(m, 0) for m in window) for a in accounts]
        )
        spend_12m = np.array([sum(a.spend_by_month.get(m, 0.0) for m in window) for a in accounts])
        priced = rules.price_purchases(
            policy,
            day,
            gross,
            tier,
            balance=np.array([a.balance for a in accounts]),
            birthday_today=np.array([a.is_birthday(day) for a in accounts]),
            birthday_month=np.array(
                [a.birthday is not None and a.birthday.month == day.month for a in accounts]
            ),
            lifecycle=rules.lifecycle_codes(policy, since_join, since_purchase, count),
            quadrant=rules.quadrant_codes(policy, count_12m, spend_12m),
        )
        metric = policy.tiers.qualifying_metric
        for i, account in enumerate(accounts):
            base, total = int(priced.base_points[i]), int(priced.points[i])
            self.earn(account, day, total)
            self.add(account, day, "earn", base, txn_ids[i])
            self.add(account, day, "bonus", total - base, txn_ids[i], "purchase")
            net = float(priced.net[i])
            account.score_by_month[month] += {"spend": net, "purchases": 1, "points": total}[metric]
            account.purchases_by_month[month] += 1
            account.spend_by_month[month] += net
            account.purchases += 1
            account.last_purchase = day
            account.last_activity_month = month
            first, last = rules.score_months(policy, month)
            account.tier = int(
                rules.upgrade_now(policy, np.array([account.tier]), [account.score(first, last)])[0]
            )
            self.priced.append(
                (txn_ids[i], account.member_id, day, float(priced.gross[i]),
                 float(priced.discount[i]), net, base, total)
            )  # fmt: skip

    def redeem(self, account: MemberAccount, day: dt.date, requested: int) -> int:
        policy = self.policy
        allowed = rules.redeemable_points(
            policy, day, np.array([account.balance]), np.array([account.redeemed_by_year[day.year]])
        )
        points = int(rules.redemption_points(policy, np.array([requested]), allowed)[0])
        if points:
            self.take(account, points)
            account.redeemed_by_year[day.year] += points
            account.last_activity_month = rules.month_index(day)
            self.add(account, day, "redeem", -points)
        return points

    def end_of_day(self, accounts: list[MemberAccount], day: dt.date) -> None:
        policy = self.policy
        if not rules.expires_at_end_of(policy, day):
            return
        month = rules.month_index(day)
        for account in accounts:
            if not account.lots:
                continue
            if policy.expiry.kind == "inactivity":
                last = account.last_activity_month
                last = rules.month_index(account.join_date) if last is None else last
                if rules.inactivity_lapses(policy, np.array([last]), month)[0]:
                    lapsed = account.balance
                    account.lots.clear()
                    self.add(account, day, "expire", -lapsed, note="inactivity")
                continue
            due = sum(points for key, points in account.lots.items() if key <= month)
            if due:
                for key in [k for k in account.lots if k <= month]:
                    del account.lots[key]
                self.add(account, day, "expire", -due)


def replay(
    policy: Policy,
    members: pd.DataFrame,
    purchases: pd.DataFrame,
    redemptions: pd.DataFrame | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ReplayResult:
    """Book a transaction log through the policy, day by day.

    Args:
        policy: the policy in force for the whole log.
        members: ``member_id``, ``join_date`` [, ``birthday``].
        purchases: ``member_id``, ``date``, ``amount`` (gross) [, ``transaction_id``].
        redemptions: ``member_id``, ``date``, ``points`` requested (optional).
        start: first day booked (default: first join or purchase).
        end: last day booked (default: last purchase, redemption or join).

    Returns:
        `ReplayResult` with ledger entries, priced purchases and final accounts.
    """
    book = _Book(policy)
    accounts: dict[str, MemberAccount] = {}
    joins: dict[dt.date, list[MemberAccount]] = defaultdict(list)
    birthdays: dict[tuple[int, int], list[MemberAccount]] = defaultdict(list)
    for row in members.itertuples(index=False):
        birthday = getattr(row, "birthday", None)
        birthday = None if birthday is None or pd.isna(birthday) else _as_date(birthday)
        account = MemberAccount(str(row.member_id), _as_date(row.join_date), birthday)
        accounts[account.member_id] = account
        joins[account.join_date].append(account)
        if birthday is not None:
            birthdays[(birthday.month, birthday.day)].append(account)

    txns = purchases.copy()
    txns["member_id"] = txns["member_id"].astype(str)
    txns["date"] = pd.to_datetime(txns["date"]).dt.date
    if "transaction_id" not in txns:
        txns["transaction_id"] = [f"T{i}" for i in range(len(txns))]
    unknown = set(txns["member_id"]) - set(accounts)
    if unknown:
        raise ValueError(f"purchases reference unknown members, e.g. {sorted(unknown)[:3]}")
    txns = txns.sort_values("date", kind="stable")
    txns["_rank"] = txns.groupby(["date", "member_id"]).cumcount().to_numpy()
    by_day = {
        day: (
            frame["member_id"].to_numpy(),
            frame["amount"].to_numpy(dtype=np.float64),
            frame["transaction_id"].astype(str).to_numpy(),
            frame["_rank"].to_numpy(),
        )
        for day, frame in txns.groupby("date", sort=True)
    }
    redeem_by_day: dict[dt.date, pd.DataFrame] = {}
    if redemptions is not None and len(redemptions):
        red = redemptions.copy()
        red["member_id"] = red["member_id"].astype(str)
        red["date"] = pd.to_datetime(red["date"]).dt.date
        redeem_by_day = {day: frame for day, frame in red.groupby("date", sort=True)}

    candidates = [*joins, *by_day, *redeem_by_day]
    first_day = start or min(candidates)
    last_day = end or max(candidates)
    active: list[MemberAccount] = []
    day = first_day
    while day <= last_day:
        todays = list(joins.get(day, ()))
        active.extend(todays)
        if rules.is_review_day(policy, day):
            todays = active
        else:
            key = (day.month, day.day)
            extra = birthdays.get(key, [])
            if (day.month, day.day) == (2, 28) and not _is_leap(day.year):
                extra = extra + birthdays.get((2, 29), [])
            todays = todays + [a for a in extra if a.join_date <= day]
        for account in dict.fromkeys(todays):
            book.start_of_day(account, day)
        todays_purchases = by_day.get(day)
        if todays_purchases is not None:
            ids, gross, txn_ids, ranks = todays_purchases
            for rank in range(ranks.max() + 1):
                batch = ranks == rank
                book.purchase(
                    [accounts[m] for m in ids[batch]], day, gross[batch], list(txn_ids[batch])
                )
        frame = redeem_by_day.get(day)
        if frame is not None:
            for row in frame.itertuples(index=False):
                book.redeem(accounts[row.member_id], day, int(row.points))
        book.end_of_day(active, day)
        day += dt.timedelta(days=1)

    entries = pd.DataFrame(
        [e.__dict__ for e in book.entries],
        columns=["member_id", "date", "kind", "points", "transaction_id", "note"],
    )
    priced = pd.DataFrame(
        book.priced,
        columns=[
            "transaction_id",
            "member_id",
            "date",
            "amount",
            "discount",
            "net_amount",
            "base_points",
            "points_earned",
        ],
    )
    return ReplayResult(entries, priced, accounts)


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()
