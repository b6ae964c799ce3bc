"""What changes for members between two policies, in plain language.

`describe_changes(old, new)` returns one sentence per change, e.g.
``"Gold threshold: ¥10,000 → ¥8,000"``, using the new policy's currency symbol. It covers
the program, tiers (added, removed, thresholds, benefits), qualification and review rules,
earning, bonuses, redemption (values, minimums, windows, limits), expiry, segments and the
campaign calendar (campaigns added, removed and changed, matched by ``id``).

Every field of the policy is compared: a field without a dedicated phrase is still reported
under its field path, so an empty list means the two policies have the same content id.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from typing import Any

from policies.io import policy_to_dict
from policies.model import Policy

__all__ = ["describe_changes", "format_money"]

ARROW = "→"

_KIND_LABELS = {
    "member_day": "member day",
    "bonus_points": "bonus points",
    "birthday": "birthday offer",
    "threshold_reduction": "threshold reduction",
    "activation": "new-member activation",
    "reactivation": "reactivation",
    "redemption_event": "redemption event",
}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def format_money(value: float, symbol: str = "¥") -> str:
    """``12000`` -> ``¥12,000``; ``0.006`` -> ``¥0.006``; negative amounts keep their sign."""
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{_number(abs(value))}"


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return text


def _plural(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}{'' if value == 1 else 's'}"


def _window(window: dict[str, int]) -> str:
    start = f"{calendar.month_abbr[window['start_month']]} {window['start_day']}"
    end = f"{calendar.month_abbr[window['end_month']]} {window['end_day']}"
    return f"{start}–{end}"


def _windows(windows: list[dict[str, int]]) -> str:
    return ", ".join(_window(w) for w in windows) if windows else "any time"


def _expiry(expiry: dict[str, Any]) -> str:
    kind = expiry["kind"]
    if kind == "none":
        return "points never expire"
    if kind == "rolling":
        return f"{_plural(expiry['months'], 'month')} after the month earned"
    if kind == "inactivity":
        return f"whole balance after {_plural(expiry['months'], 'month')} without activity"
    years = expiry["years_after"]
    when = {0: "the same year", 1: "the following year"}.get(years, f"{years} years later")
    month = calendar.month_abbr[expiry["month"]]
    return f"points earned in a year expire on {month} {expiry['day']} of {when}"


def _recurrence(rec: dict[str, Any]) -> str:
    parts = []
    if rec.get("day_of_month") is not None:
        parts.append(f"on day {rec['day_of_month']} of the month")
    if rec.get("weekday") is not None:
        parts.append(f"every {_WEEKDAYS[rec['weekday']]}")
    if rec.get("months"):
        parts.append("in " + ", ".join(calendar.month_abbr[m] for m in rec["months"]))
    return " ".join(parts) if parts else "every day"


def _target(target: dict[str, Any]) -> str:
    parts = []
    for key, label in (("tiers", "tiers"), ("lifecycle", "lifecycle"), ("quadrants", "quad")):
        if target.get(key):
            parts.append(f"{label} {', '.join(target[key])}")
    return "; ".join(parts) if parts else "all members"


class _Describer:
    """Holds the formatting context (currency symbol, qualifying metric) of one comparison."""

    def __init__(self, old: dict[str, Any], new: dict[str, Any]):
        self.old, self.new = old, new
        self.symbol = new["program"]["currency_symbol"]
        self.lines: list[str] = []

    # --- formatting helpers -----------------------------------------------------------

    def money(self, value: float | None) -> str:
        return "none" if value is None else format_money(value, self.symbol)

    def score(self, value: float, metric: str) -> str:
        if metric == "spend":
            return self.money(value)
        return _plural(value, "purchase" if metric == "purchases" else "point")

    def change(self, label: str, before: Any, after: Any, fmt: Callable[[Any], str] = str):
        if before != after:
            self.lines.append(f"{label}: {fmt(before)} {ARROW} {fmt(after)}")

    # --- sections -----------------------------------------------------------------------

    def program(self) -> None:
        old, new = self.old["program"], self.new["program"]
        self.change("Program name", old["name"], new["name"])
        if (old["currency"], old["currency_symbol"]) != (new["currency"], new["currency_symbol"]):
            self.lines.append(
                f"Currency: {old['currency']} ({old['currency_symbol']}) {ARROW}"
                f" {new['currency']} ({new['currency_symbol']})"
            )
        self.change("Timezone", old["timezone"], new["timezone"])
        self.change("Locale", old["locale"], new["locale"])
        self.change("Effective date", old["effective_date"], new["effective_date"])

    def tiers(self) -> None:
        old, new = self.old["tiers"], self.new["tiers"]
        metric_old, metric_new = old["qualifying_metric"], new["qualifying_metric"]
        labels = {"spend": "spend", "purchases": "number of purchases", "points": "points earned"}
        self.change("Tiers qualify on", metric_old, metric_new, labels.get)
        self.change(
            "Qualifying period",
            old["qualifying_period"],
            new["qualifying_period"],
            lambda p: (
                "calendar year" if p["kind"] == "calendar_year" else f"rolling {p['months']} months"
            ),
        )
        old_tiers = {t["name"]: t for t in old["tiers"]}
        new_tiers = {t["name"]: t for t in new["tiers"]}
        for name, tier in new_tiers.items():
            if name not in old_tiers:
                self.lines.append(
                    f"Tier added: {name} from {self.score(tier['threshold'], metric_new)}"
                )
        for name in old_tiers:
            if name not in new_tiers:
                self.lines.append(f"Tier removed: {name}")
        old_order = [n for n in old_tiers if n in new_tiers]
        new_order = [n for n in new_tiers if n in old_tiers]
        if old_order != new_order:
            self.lines.append(f"Tier order: {', '.join(old_order)} {ARROW} {', '.join(new_order)}")
        for name, after in new_tiers.items():
            before = old_tiers.get(name)
            if before is None:
                continue
            if metric_old == metric_new:
                self.change(
                    f"{name} threshold",
                    before["threshold"],
                    after["threshold"],
                    lambda v: self.score(v, metric_new),
                )
            elif before["threshold"] != after["threshold"]:
                self.lines.append(
                    f"{name} threshold: {self.score(before['threshold'], metric_old)} {ARROW}"
                    f" {self.score(after['threshold'], metric_new)}"
                )
            self.change(f"{name} label", before["label"], after["label"], repr)
            b, a = before["benefits"], after["benefits"]
            self.change(f"{name} earn multiplier", b["earn_multiplier"], a["earn_multiplier"], _x)
            self.change(f"{name} member discount", b["discount_pct"], a["discount_pct"], _pct)
            self.change(
                f"{name} birthday bonus",
                b["birthday_bonus_points"],
                a["birthday_bonus_points"],
                lambda v: _plural(v, "point"),
            )
            self.change(
                f"{name} yearly gift cost per member",
                b["gift_cost_per_member"],
                a["gift_cost_per_member"],
                self.money,
            )
        self.change("Upgrades happen", old["upgrade_timing"], new["upgrade_timing"], _timing)
        self.change(
            "Tier review",
            (old["review_every_months"], old["review_month"]),
            (new["review_every_months"], new["review_month"]),
            lambda r: f"every {_plural(r[0], 'month')} from {calendar.month_abbr[r[1]]}",
        )
        self.change("Downgrades", old["downgrade"], new["downgrade"], _downgrade)
        self.change(
            "Grace period before a downgrade",
            old["grace_months"],
            new["grace_months"],
            lambda v: _plural(v, "month"),
        )

    def points(self) -> None:
        old, new = self.old["points"], self.new["points"]
        oe, ne = old["earn"], new["earn"]
        self.change(
            "Earn rate",
            (oe["points_per_unit"], oe["per_amount"]),
            (ne["points_per_unit"], ne["per_amount"]),
            lambda r: f"{_plural(r[0], 'point')} per {self.money(r[1])}",
        )
        self.change("Points rounding", oe["rounding"], ne["rounding"])
        self.change(
            "Points are earned on",
            oe["basis"],
            ne["basis"],
            lambda b: "the amount after discounts" if b == "net" else "the amount before discounts",
        )
        self.change(
            "Balance bands",
            oe["balance_bands"],
            ne["balance_bands"],
            lambda bands: (
                ", ".join(f"{_x(b['multiplier'])} from {b['min_balance']:,} points" for b in bands)
                or "none"
            ),
        )
        for key, label in (
            ("signup", "Sign-up bonus"),
            ("birthday", "Birthday bonus (all members)"),
            ("referral", "Referral bonus"),
        ):
            self.change(
                label, old["bonuses"][key], new["bonuses"][key], lambda v: _plural(v, "point")
            )
        orr, nr = old["redemption"], new["redemption"]
        self.change("Point value", orr["point_value"], nr["point_value"], self.money)
        self.change(
            "Cost per redeemed point", orr["cost_per_point"], nr["cost_per_point"], self.money
        )
        self.change(
            "Minimum points to redeem",
            orr["minimum_points"],
            nr["minimum_points"],
            lambda v: f"{v:,}",
        )
        self.change(
            "Points redeemed in multiples of",
            orr["unit_points"],
            nr["unit_points"],
            lambda v: f"{v:,}",
        )
        self.change("Redemption windows", orr["windows"], nr["windows"], _windows)
        self.change(
            "Yearly redemption limit per member",
            orr["max_points_per_year"],
            nr["max_points_per_year"],
            lambda v: "no limit" if v is None else f"{v:,} points",
        )

    def expiry(self) -> None:
        self.change("Points expiry", self.old["expiry"], self.new["expiry"], _expiry)

    def segments(self) -> None:
        old, new = self.old["segments"], self.new["segments"]
        for key, label in (
            ("new_days", "A member counts as new for"),
            ("active_days", "Active if they bought within"),
            ("silent_days", "Silent if they bought within"),
            ("dormant_days", "Dormant if they bought within"),
        ):
            self.change(label, old[key], new[key], lambda v: _plural(v, "day"))
        self.change(
            "Quadrants: 'many purchases' from",
            old["quadrant_min_purchases"],
            new["quadrant_min_purchases"],
            lambda v: _plural(v, "purchase"),
        )
        self.change(
            "Quadrants: 'high spend' from",
            old["quadrant_min_spend"],
            new["quadrant_min_spend"],
            self.money,
        )

    def campaigns(self) -> None:
        old = {c["id"]: c for c in self.old["campaigns"]}
        new = {c["id"]: c for c in self.new["campaigns"]}
        for cid, campaign in new.items():
            if cid not in old:
                self.lines.append(f"Campaign added: {self.campaign_summary(campaign)}")
        for cid, campaign in old.items():
            if cid not in new:
                self.lines.append(f"Campaign removed: {campaign['name']} ({cid})")
        for cid, after in new.items():
            before = old.get(cid)
            if before is None or before == after:
                continue
            self.campaign_changes(before, after)
        old_order = [cid for cid in old if cid in new]
        new_order = [cid for cid in new if cid in old]
        if old_order != new_order:
            self.lines.append(
                f"Campaign order: {', '.join(old_order)} {ARROW} {', '.join(new_order)}"
            )

    def campaign_summary(self, c: dict[str, Any]) -> str:
        effect = self.campaign_effect(c)
        when = f"{c['start']} to {c['end']}"
        if c["recurrence"] != {"day_of_month": None, "weekday": None, "months": []}:
            when += f", {_recurrence(c['recurrence'])}"
        target = _target(c["target"])
        return (
            f"{c['name']} ({c['id']}): {_KIND_LABELS.get(c['kind'], c['kind'])}, {when},"
            f" {effect}, for {target}"
        )

    def campaign_effect(self, c: dict[str, Any]) -> str:
        parts = []
        if c["points_multiplier"] > 1:
            parts.append(f"{_x(c['points_multiplier'])} points")
        if c["discount_pct"] > 0:
            parts.append(f"{_pct(c['discount_pct'])} off")
        if c["bonus_points"]:
            parts.append(f"{_plural(c['bonus_points'], 'bonus point')}")
        if c["kind"] == "threshold_reduction":
            each = " per" if c["repeatable"] else " once per purchase of at least"
            parts.append(f"{self.money(c['reduction'])} off{each} {self.money(c['threshold'])}")
        if c["kind"] == "reactivation":
            parts.append(f"members with no purchase for {_plural(c['recency_days'], 'day')}")
        if c["coupon_value"]:
            parts.append(f"{self.money(c['coupon_value'])} coupon")
        if c["kind"] == "redemption_event":
            parts.append("redemption open")
        return ", ".join(parts) if parts else "no member-facing effect"

    def campaign_changes(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        head = f'Campaign "{after["name"]}"'
        if before["name"] != after["name"]:
            self.lines.append(
                f"Campaign {after['id']} renamed: {before['name']!r} {ARROW} {after['name']!r}"
            )
        fields: list[tuple[str, str, Callable[[Any], str]]] = [
            ("kind", "kind", lambda k: _KIND_LABELS.get(k, k)),
            ("points_multiplier", "points multiplier", _x),
            ("discount_pct", "discount", _pct),
            ("bonus_points", "bonus points", lambda v: f"{v:,}"),
            ("birthday_scope", "birthday scope", lambda v: f"birthday {v}"),
            ("threshold", "spend threshold", self.money),
            ("reduction", "reduction", self.money),
            ("repeatable", "reduction repeats", lambda v: "yes" if v else "no"),
            ("recency_days", "no purchase for", lambda v: _plural(v, "day")),
            ("coupon_value", "coupon", self.money),
            ("contact_cost", "contact cost per member", self.money),
            ("fixed_cost", "fixed cost", self.money),
            ("budget", "budget", lambda v: "none" if v is None else self.money(v)),
            ("stacking", "stacking", str),
            ("recurrence", "runs", _recurrence),
            ("target", "for", _target),
        ]
        if (before["start"], before["end"]) != (after["start"], after["end"]):
            self.lines.append(
                f"{head} dates: {before['start']} to {before['end']} {ARROW}"
                f" {after['start']} to {after['end']}"
            )
        for key, label, fmt in fields:
            self.change(f"{head} {label}", before[key], after[key], fmt)

    def leftovers(self) -> None:
        """Report any field the sections above do not phrase (keeps the list complete)."""
        if self.lines:
            return
        if self.old == self.new:
            return
        for path, before, after in _flat_differences(self.old, self.new):
            self.lines.append(f"{path}: {before!r} {ARROW} {after!r}")


def _x(value: float) -> str:
    return f"{_number(value)}x"


def _pct(value: float) -> str:
    return f"{_number(value)}%"


def _timing(value: str) -> str:
    return "immediately" if value == "immediate" else "at the tier review"


def _downgrade(value: str) -> str:
    return {
        "none": "never",
        "at_review": "at the review, to the tier the score supports",
        "one_level": "at the review, one level at a time",
    }.get(value, value)


def _flat_differences(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else str(key)
            out += _flat_differences(old.get(key), new.get(key), sub)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += _flat_differences(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [(path, old, new)]


def describe_changes(old: Policy, new: Policy) -> list[str]:
    """Plain-language lines saying what changes for members from ``old`` to ``new``.

    Args:
        old: the policy members have now (e.g. the live one).
        new: the proposed policy.

    Returns:
        One line per change, in the order program, tiers, points, expiry, segments,
        campaigns; empty when the two policies have the same content.
    """
    describer = _Describer(policy_to_dict(old), policy_to_dict(new))
    describer.program()
    describer.tiers()
    describer.points()
    describer.expiry()
    describer.segments()
    describer.campaigns()
    describer.leftovers()
    return describer.lines
