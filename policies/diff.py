"""What changes for members between two policies, in plain language, in English or Chinese.

`describe_changes(old, new, lang)` returns one sentence per change, e.g.
``"Gold threshold: ¥10,000 → ¥8,000"`` (``lang="en"``) or ``"Gold 门槛：¥10,000 → ¥8,000"``
(``lang="zh"``), using the new policy's currency symbol. It covers the program, tiers (added,
removed, thresholds, benefits), qualification and review rules, earning, bonuses, redemption
(values, minimums, windows, limits), expiry, segments, margins and the campaign calendar (campaigns
added, removed and changed, matched by ``id``).

The words come from `policies.diff_phrases.PHRASES` (one entry per phrase, both languages);
the policy's own names (tiers, campaigns, ids) are data and appear as the policy writes them.

Every field of the policy is compared: a field without a dedicated phrase is still reported
under its field path, so an empty list means the two policies have the same content id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from policies.diff_phrases import LANGUAGES, MONTHS, PHRASES, WEEKDAYS
from policies.field_names import FIELD_NAMES, tier_name
from policies.io import policy_to_dict
from policies.model import CAMPAIGN_KIND_LABELS, Policy

__all__ = ["LANGUAGES", "describe_changes", "format_money"]


def format_money(value: float, symbol: str = "¥") -> str:
    """``12000`` -> ``¥12,000``; ``0.006`` -> ``¥0.006``; negative amounts keep their sign."""
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{_number(abs(value))}"


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


class _Describer:
    """The formatting context (language, currency symbol) and the lines of one comparison."""

    def __init__(self, old: dict[str, Any], new: dict[str, Any], lang: str):
        self.old, self.new = old, new
        self.lang = lang
        self.symbol = new["program"]["currency_symbol"]
        # Under Chinese a tier is called by its label (金卡), as the app's charts do.
        self.tier_labels = {
            tier["name"]: tier_name(tier["name"], tier["label"], lang)
            for policy in (old, new)
            for tier in policy["tiers"]["tiers"]
        }
        self.lines: list[str] = []

    # --- words ------------------------------------------------------------------------

    def say(self, key: str, **values: Any) -> str:
        """Phrase ``key`` in this comparison's language, with ``values`` filled in."""
        return PHRASES[key][self.lang].format(**values)

    def field(self, pattern: str, **items: str) -> str:
        """A field's name in this language (`policies.field_names`), items filled in."""
        return FIELD_NAMES[pattern][self.lang].format(**items)

    def kind(self, kind: str) -> str:
        """A campaign kind's name (`policies.model.CAMPAIGN_KIND_LABELS`), inside a sentence."""
        name = CAMPAIGN_KIND_LABELS[kind][self.lang]
        return name[:1].lower() + name[1:] if self.lang == "en" else name

    def count(self, value: float, unit: str) -> str:
        """``3`` points, ``1`` month: the unit's ``.one`` form for exactly one."""
        key = f"unit.{unit}"
        if value == 1 and f"{key}.one" in PHRASES:
            key += ".one"
        return self.say(key, n=_number(value))

    def tier(self, name: str) -> str:
        """How a tier is called in this language (its label under Chinese, if it has one)."""
        return self.tier_labels.get(name, name)

    def join(self, items: Iterable[str], separator: str = "list") -> str:
        return PHRASES[separator][self.lang].join(items)

    def money(self, value: float | None) -> str:
        return self.say("none") if value is None else format_money(value, self.symbol)

    def times(self, value: float) -> str:
        return self.say("times", n=_number(value))

    def percent(self, value: float) -> str:
        return self.say("percent", n=_number(value))

    def quoted(self, text: str) -> str:
        return self.say("quoted", text=text)

    def month(self, month: int) -> str:
        return MONTHS[self.lang][month - 1]

    def month_day(self, month: int, day: int) -> str:
        return self.say("month_day", month=self.month(month), day=day)

    def score(self, value: float, metric: str) -> str:
        if metric == "spend":
            return self.money(value)
        return self.count(value, "purchase" if metric == "purchases" else "point")

    def change(self, label: str, before: Any, after: Any, fmt: Callable[[Any], str] = str) -> None:
        """A line ``label: before → after`` when the two values differ."""
        if before != after:
            self.lines.append(self.say("change", label=label, before=fmt(before), after=fmt(after)))

    def choice(self, prefix: str) -> Callable[[str], str]:
        """Formats a value of a closed set by its phrase (``prefix.value``)."""
        return lambda value: self.say(f"{prefix}.{value}")

    # --- values -----------------------------------------------------------------------

    def windows(self, windows: list[dict[str, int]]) -> str:
        if not windows:
            return self.say("windows.any_time")
        return self.join(
            self.say(
                "range",
                start=self.month_day(w["start_month"], w["start_day"]),
                end=self.month_day(w["end_month"], w["end_day"]),
            )
            for w in windows
        )

    def expiry_rule(self, expiry: dict[str, Any]) -> str:
        kind = expiry["kind"]
        if kind == "none":
            return self.say("expiry.none")
        if kind in ("rolling", "inactivity"):
            return self.say(f"expiry.{kind}", months=self.count(expiry["months"], "month"))
        years = expiry["years_after"]
        when = {0: "expiry.same_year", 1: "expiry.next_year"}.get(years, "expiry.years_later")
        return self.say(
            "expiry.fixed_date",
            date=self.month_day(expiry["month"], expiry["day"]),
            when=self.say(when, years=years),
        )

    def recurrence(self, rec: dict[str, Any]) -> str:
        parts = []
        if rec.get("day_of_month") is not None:
            parts.append(self.say("recurrence.day_of_month", day=rec["day_of_month"]))
        if rec.get("weekday") is not None:
            weekday = WEEKDAYS[self.lang][rec["weekday"]]
            parts.append(self.say("recurrence.weekday", weekday=weekday))
        if rec.get("months"):
            months = self.join(self.month(m) for m in rec["months"])
            parts.append(self.say("recurrence.months", months=months))
        return self.join(parts, "clauses") if parts else self.say("recurrence.every_day")

    def target(self, target: dict[str, Any]) -> str:
        parts = []
        if target.get("tiers"):
            parts.append(self.say("target.tiers", names=self.join(map(self.tier, target["tiers"]))))
        for key, prefix in (("lifecycle", "lifecycle"), ("quadrants", "quadrant")):
            if target.get(key):
                names = self.join(self.say(f"{prefix}.{value}") for value in target[key])
                parts.append(self.say(f"target.{key}", names=names))
        return self.join(parts, "parts") if parts else self.say("target.all")

    def period(self, dates: tuple[str, str]) -> str:
        return self.say("campaign.dates", start=dates[0], end=dates[1])

    # --- sections -----------------------------------------------------------------------

    def program(self) -> None:
        old, new = self.old["program"], self.new["program"]
        self.change(self.field("program.name"), old["name"], new["name"])
        if (old["currency"], old["currency_symbol"]) != (new["currency"], new["currency_symbol"]):
            self.lines.append(
                self.say(
                    "currency",
                    before=old["currency"],
                    before_symbol=old["currency_symbol"],
                    after=new["currency"],
                    after_symbol=new["currency_symbol"],
                )
            )
        for key in ("timezone", "locale", "effective_date"):
            self.change(self.field(f"program.{key}"), old[key], new[key])

    def tiers(self) -> None:
        old, new = self.old["tiers"], self.new["tiers"]
        metric_old, metric_new = old["qualifying_metric"], new["qualifying_metric"]
        self.change(
            self.field("tiers.qualifying_metric"), metric_old, metric_new, self.choice("metric")
        )
        self.change(
            self.field("tiers.qualifying_period"),
            old["qualifying_period"],
            new["qualifying_period"],
            lambda p: (
                self.say("period.calendar_year")
                if p["kind"] == "calendar_year"
                else self.say("period.rolling", months=p["months"])
            ),
        )
        old_tiers = {t["name"]: t for t in old["tiers"]}
        new_tiers = {t["name"]: t for t in new["tiers"]}
        for name, tier in new_tiers.items():
            if name not in old_tiers:
                threshold = self.score(tier["threshold"], metric_new)
                self.lines.append(self.say("tier.added", name=self.tier(name), threshold=threshold))
        for name in old_tiers:
            if name not in new_tiers:
                self.lines.append(self.say("tier.removed", name=self.tier(name)))
        self.change(
            self.field("tiers.tiers"),
            [n for n in old_tiers if n in new_tiers],
            [n for n in new_tiers if n in old_tiers],
            lambda names: self.join(map(self.tier, names)),
        )
        for name, after in new_tiers.items():
            before = old_tiers.get(name)
            if before is not None:
                self.tier_changes(name, before, after, metric_old, metric_new)
        self.change(
            self.field("tiers.upgrade_timing"),
            old["upgrade_timing"],
            new["upgrade_timing"],
            self.choice("upgrade"),
        )
        self.change(
            self.field("tiers.review"),
            (old["review_every_months"], old["review_month"]),
            (new["review_every_months"], new["review_month"]),
            lambda r: self.say(
                "review.every", months=self.count(r[0], "month"), month=self.month(r[1])
            ),
        )
        self.change(
            self.field("tiers.downgrade"),
            old["downgrade"],
            new["downgrade"],
            self.choice("downgrade"),
        )
        self.change(
            self.field("tiers.grace_months"),
            old["grace_months"],
            new["grace_months"],
            lambda v: self.count(v, "month"),
        )

    def tier_changes(
        self, name: str, before: dict, after: dict, metric_old: str, metric_new: str
    ) -> None:
        if before["threshold"] != after["threshold"]:
            self.lines.append(
                self.say(
                    "change",
                    label=self.field("tiers.tiers[].threshold", tier=self.tier(name)),
                    before=self.score(before["threshold"], metric_old),
                    after=self.score(after["threshold"], metric_new),
                )
            )
        self.change(
            self.field("tiers.tiers[].label", tier=name),
            before["label"],
            after["label"],
            self.quoted,
        )
        b, a = before["benefits"], after["benefits"]
        for key, fmt in (
            ("earn_multiplier", self.times),
            ("discount_pct", self.percent),
            ("birthday_bonus_points", lambda v: self.count(v, "point")),
            ("gift_cost_per_member", self.money),
        ):
            self.change(
                self.field(f"tiers.tiers[].benefits.{key}", tier=self.tier(name)),
                b[key],
                a[key],
                fmt,
            )

    def points(self) -> None:
        old, new = self.old["points"], self.new["points"]
        oe, ne = old["earn"], new["earn"]
        self.change(
            self.field("points.earn"),
            (oe["points_per_unit"], oe["per_amount"]),
            (ne["points_per_unit"], ne["per_amount"]),
            lambda r: self.say(
                "earn_rate", points=self.count(r[0], "point"), amount=self.money(r[1])
            ),
        )
        self.change(
            self.field("points.earn.rounding"),
            oe["rounding"],
            ne["rounding"],
            self.choice("rounding"),
        )
        self.change(self.field("points.earn.basis"), oe["basis"], ne["basis"], self.choice("basis"))
        self.change(
            self.field("points.earn.balance_bands"),
            oe["balance_bands"],
            ne["balance_bands"],
            lambda bands: (
                self.join(
                    self.say(
                        "band",
                        multiplier=self.times(b["multiplier"]),
                        balance=_number(b["min_balance"]),
                    )
                    for b in bands
                )
                or self.say("none")
            ),
        )
        for key in ("signup", "birthday", "referral"):
            self.change(
                self.field(f"points.bonuses.{key}"),
                old["bonuses"][key],
                new["bonuses"][key],
                lambda v: self.count(v, "point"),
            )
        orr, nr = old["redemption"], new["redemption"]
        for key, fmt in (
            ("point_value", self.money),
            ("cost_per_point", self.money),
            ("minimum_points", _number),
            ("unit_points", _number),
            ("windows", self.windows),
            (
                "max_points_per_year",
                lambda v: self.say("limit.none") if v is None else self.count(v, "point"),
            ),
        ):
            self.change(self.field(f"points.redemption.{key}"), orr[key], nr[key], fmt)

    def expiry(self) -> None:
        self.change(self.field("expiry"), self.old["expiry"], self.new["expiry"], self.expiry_rule)

    def segments(self) -> None:
        old, new = self.old["segments"], self.new["segments"]
        for key, fmt in (
            ("new_days", lambda v: self.count(v, "day")),
            ("active_days", lambda v: self.count(v, "day")),
            ("silent_days", lambda v: self.count(v, "day")),
            ("dormant_days", lambda v: self.count(v, "day")),
            ("quadrant_min_purchases", lambda v: self.count(v, "purchase")),
            ("quadrant_min_spend", self.money),
        ):
            self.change(self.field(f"segments.{key}"), old[key], new[key], fmt)

    def margins(self) -> None:
        old, new = self.old.get("margins"), self.new.get("margins")
        self.change(
            self.field("margins.gross_margin_pct"),
            old and old["gross_margin_pct"],
            new and new["gross_margin_pct"],
            lambda v: self.say("margin.not_set") if v is None else self.percent(v),
        )

    def campaigns(self) -> None:
        old = {c["id"]: c for c in self.old["campaigns"]}
        new = {c["id"]: c for c in self.new["campaigns"]}
        for cid, campaign in new.items():
            if cid not in old:
                self.lines.append(self.say("campaign.added", summary=self.summary(campaign)))
        for cid, campaign in old.items():
            if cid not in new:
                self.lines.append(self.say("campaign.removed", name=campaign["name"], id=cid))
        for cid, after in new.items():
            before = old.get(cid)
            if before is not None and before != after:
                self.campaign_changes(before, after)
        self.change(
            self.field("campaigns"),
            [cid for cid in old if cid in new],
            [cid for cid in new if cid in old],
            self.join,
        )

    def summary(self, c: dict[str, Any]) -> str:
        when = self.period((c["start"], c["end"]))
        if c["recurrence"] != {"day_of_month": None, "weekday": None, "months": []}:
            when = self.say(
                "campaign.recurring", dates=when, recurrence=self.recurrence(c["recurrence"])
            )
        return self.say(
            "campaign.summary",
            name=c["name"],
            id=c["id"],
            kind=self.kind(c["kind"]),
            when=when,
            effect=self.effect(c),
            target=self.target(c["target"]),
        )

    def effect(self, c: dict[str, Any]) -> str:
        parts = []
        if c["points_multiplier"] > 1:
            parts.append(self.say("effect.multiplier", times=self.times(c["points_multiplier"])))
        if c["discount_pct"] > 0:
            parts.append(self.say("effect.discount", percent=self.percent(c["discount_pct"])))
        if c["bonus_points"]:
            parts.append(self.count(c["bonus_points"], "bonus_point"))
        if c["kind"] == "threshold_reduction":
            parts.append(
                self.say(
                    "effect.reduction_each" if c["repeatable"] else "effect.reduction_once",
                    reduction=self.money(c["reduction"]),
                    threshold=self.money(c["threshold"]),
                )
            )
        if c["kind"] == "reactivation":
            parts.append(self.say("effect.recency", days=self.count(c["recency_days"], "day")))
        if c["coupon_value"]:
            parts.append(self.say("effect.coupon", value=self.money(c["coupon_value"])))
        if c["kind"] == "redemption_event":
            parts.append(self.say("effect.redemption_open"))
        return self.join(parts) if parts else self.say("effect.none")

    def campaign_changes(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        def label(field: str) -> str:
            return self.field(f"campaigns[].{field}", campaign=after["name"])

        self.change(
            self.say("campaign.renamed", id=after["id"]), before["name"], after["name"], self.quoted
        )
        self.change(
            label("dates"),
            (before["start"], before["end"]),
            (after["start"], after["end"]),
            self.period,
        )
        fields: list[tuple[str, Callable[[Any], str]]] = [
            ("kind", self.kind),
            ("points_multiplier", self.times),
            ("discount_pct", self.percent),
            ("bonus_points", _number),
            ("birthday_scope", self.choice("birthday_scope")),
            ("threshold", self.money),
            ("reduction", self.money),
            ("repeatable", lambda v: self.say("yes" if v else "no")),
            ("recency_days", lambda v: self.count(v, "day")),
            ("coupon_value", self.money),
            ("contact_cost", self.money),
            ("fixed_cost", self.money),
            ("budget", self.money),
            ("stacking", self.choice("stacking")),
            ("recurrence", self.recurrence),
            ("target", self.target),
        ]
        for key, fmt in fields:
            self.change(label(key), before[key], after[key], fmt)

    def leftovers(self) -> None:
        """Report any field the sections above do not phrase (keeps the list complete)."""
        if self.lines or self.old == self.new:
            return
        for path, before, after in _flat_differences(self.old, self.new):
            self.change(path, before, after, repr)


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


def describe_changes(old: Policy, new: Policy, lang: str = "en") -> list[str]:
    """Plain-language lines saying what changes for members from ``old`` to ``new``.

    Args:
        old: the policy members have now (e.g. the live one).
        new: the proposed policy.
        lang: the language of the lines, one of `LANGUAGES` (``"en"``, ``"zh"``).

    Returns:
        One line per change, in the order program, tiers, points, expiry, segments,
        margins, campaigns; empty when the two policies have the same content.

    Raises:
        ValueError: ``lang`` is not one of `LANGUAGES`.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang(={lang!r}) must be one of {', '.join(LANGUAGES)}")
    describer = _Describer(policy_to_dict(old), policy_to_dict(new), lang)
    describer.program()
    describer.tiers()
    describer.points()
    describer.expiry()
    describer.segments()
    describer.margins()
    describer.campaigns()
    describer.leftovers()
    return describer.lines
