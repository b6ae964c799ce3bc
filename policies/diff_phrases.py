"""The words of `policies.diff`, in English and Chinese.

`PHRASES` maps a phrase key to its text per language (`LANGUAGES`), with ``{named}`` values
that `policies.diff` fills in: amounts already formatted in the policy's currency, counts,
other phrases, and the policy's own names (tiers, campaigns), which are data and stay as the
policy writes them. Every phrase has the same values in both languages (a test renders each
one). A count unit has an ``.one`` form where English says it differently for one.

The fields' own names are not here: they come from `policies.field_names` (shared with the
Sweep & search page), and campaign kinds' names from `policies.model.CAMPAIGN_KIND_LABELS`.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "MONTHS", "PHRASES", "WEEKDAYS"]

LANGUAGES = ("en", "zh")

MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "zh": tuple(f"{month}月" for month in range(1, 13)),
}
"""Month names (January first); fixed here rather than from the process locale."""

WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
}
"""Weekday names, Monday first (``datetime.date.weekday`` numbering)."""

PHRASES: dict[str, dict[str, str]] = {
    # -- sentence shapes and separators -------------------------------------------------------
    "change": {"en": "{label}: {before} → {after}", "zh": "{label}：{before} → {after}"},
    # -- the command line's header (python -m policies diff) ----------------------------------
    "cli_changes": {
        "en": "{count} change(s) from {old} to {new}:",
        "zh": "从 {old} 到 {new} 共 {count} 处变化：",
    },
    "cli_no_changes": {
        "en": "No changes for members: same content (id {id}).",
        "zh": "会员无任何变化：内容相同（内容编号 {id}）。",
    },
    "list": {"en": ", ", "zh": "、"},
    "parts": {"en": "; ", "zh": "；"},
    "clauses": {"en": " ", "zh": "，"},
    "month_day": {"en": "{month} {day}", "zh": "{month}{day}日"},
    "range": {"en": "{start}–{end}", "zh": "{start}–{end}"},
    "quoted": {"en": "'{text}'", "zh": "“{text}”"},
    "none": {"en": "none", "zh": "无"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "times": {"en": "{n}x", "zh": "{n} 倍"},
    "percent": {"en": "{n}%", "zh": "{n}%"},
    # -- counts ---------------------------------------------------------------------------------
    "unit.point": {"en": "{n} points", "zh": "{n} 积分"},
    "unit.point.one": {"en": "{n} point", "zh": "{n} 积分"},
    "unit.bonus_point": {"en": "{n} bonus points", "zh": "{n} 奖励积分"},
    "unit.bonus_point.one": {"en": "{n} bonus point", "zh": "{n} 奖励积分"},
    "unit.purchase": {"en": "{n} purchases", "zh": "{n} 次消费"},
    "unit.purchase.one": {"en": "{n} purchase", "zh": "{n} 次消费"},
    "unit.month": {"en": "{n} months", "zh": "{n} 个月"},
    "unit.month.one": {"en": "{n} month", "zh": "{n} 个月"},
    "unit.day": {"en": "{n} days", "zh": "{n} 天"},
    "unit.day.one": {"en": "{n} day", "zh": "{n} 天"},
    # -- program --------------------------------------------------------------------------------
    "currency": {
        "en": "Currency: {before} ({before_symbol}) → {after} ({after_symbol})",
        "zh": "币种：{before}（{before_symbol}） → {after}（{after_symbol}）",
    },
    # -- tiers ----------------------------------------------------------------------------------
    "metric.spend": {"en": "spend", "zh": "消费金额"},
    "metric.purchases": {"en": "number of purchases", "zh": "消费次数"},
    "metric.points": {"en": "points earned", "zh": "获得积分"},
    "period.calendar_year": {"en": "calendar year", "zh": "自然年"},
    "period.rolling": {"en": "rolling {months} months", "zh": "滚动 {months} 个月"},
    "tier.added": {
        "en": "Tier added: {name} from {threshold}",
        "zh": "新增等级：{name}，门槛 {threshold}",
    },
    "tier.removed": {"en": "Tier removed: {name}", "zh": "删除等级：{name}"},
    "upgrade.immediate": {"en": "immediately", "zh": "达标即升级"},
    "upgrade.at_review": {"en": "at the tier review", "zh": "复核时升级"},
    "review.every": {"en": "every {months} from {month}", "zh": "自{month}起每 {months}一次"},
    "downgrade.none": {"en": "never", "zh": "不降级"},
    "downgrade.at_review": {
        "en": "at the review, to the tier the score supports",
        "zh": "复核时按实际成绩降级",
    },
    "downgrade.one_level": {"en": "at the review, one level at a time", "zh": "复核时每次降一级"},
    # -- points ---------------------------------------------------------------------------------
    "earn_rate": {"en": "{points} per {amount}", "zh": "每 {amount} 得 {points}"},
    "rounding.floor": {"en": "floor", "zh": "向下取整"},
    "rounding.round": {"en": "round", "zh": "四舍五入"},
    "rounding.ceil": {"en": "ceil", "zh": "向上取整"},
    "basis.net": {"en": "the amount after discounts", "zh": "折后金额"},
    "basis.gross": {"en": "the amount before discounts", "zh": "折前金额"},
    "band": {
        "en": "{multiplier} from {balance} points",
        "zh": "余额 {balance} 积分起 {multiplier}",
    },
    "windows.any_time": {"en": "any time", "zh": "任何时间"},
    "limit.none": {"en": "no limit", "zh": "不限"},
    # -- expiry ---------------------------------------------------------------------------------
    "expiry.none": {"en": "points never expire", "zh": "积分永不过期"},
    "expiry.rolling": {"en": "{months} after the month earned", "zh": "获得当月后 {months}过期"},
    "expiry.inactivity": {
        "en": "whole balance after {months} without activity",
        "zh": "连续 {months}无活动后全部清零",
    },
    "expiry.fixed_date": {
        "en": "points earned in a year expire on {date} of {when}",
        "zh": "每年获得的积分于{when}{date}过期",
    },
    "expiry.same_year": {"en": "the same year", "zh": "当年"},
    "expiry.next_year": {"en": "the following year", "zh": "次年"},
    "expiry.years_later": {"en": "{years} years later", "zh": "{years} 年后的"},
    # -- segments -------------------------------------------------------------------------------
    # -- margins --------------------------------------------------------------------------------
    "margin.not_set": {"en": "not set", "zh": "未设置"},
    # -- campaigns ------------------------------------------------------------------------------
    "campaign.added": {"en": "Campaign added: {summary}", "zh": "新增活动：{summary}"},
    "campaign.removed": {"en": "Campaign removed: {name} ({id})", "zh": "删除活动：{name}（{id}）"},
    "campaign.summary": {
        "en": "{name} ({id}): {kind}, {when}, {effect}, for {target}",
        "zh": "{name}（{id}）：{kind}，{when}，{effect}，适用于{target}",
    },
    "campaign.dates": {"en": "{start} to {end}", "zh": "{start} 至 {end}"},
    "campaign.recurring": {"en": "{dates}, {recurrence}", "zh": "{dates}，{recurrence}"},
    "campaign.renamed": {"en": "Campaign {id} renamed", "zh": "活动 {id} 更名"},
    "effect.multiplier": {"en": "{times} points", "zh": "{times}积分"},
    "effect.discount": {"en": "{percent} off", "zh": "优惠 {percent}"},
    "effect.reduction_each": {
        "en": "{reduction} off per {threshold}",
        "zh": "每满 {threshold} 减 {reduction}",
    },
    "effect.reduction_once": {
        "en": "{reduction} off once per purchase of at least {threshold}",
        "zh": "单笔满 {threshold} 减 {reduction}（每笔一次）",
    },
    "effect.recency": {
        "en": "members with no purchase for {days}",
        "zh": "面向 {days}未消费的会员",
    },
    "effect.coupon": {"en": "{value} coupon", "zh": "{value} 优惠券"},
    "effect.redemption_open": {"en": "redemption open", "zh": "开放兑换"},
    "effect.none": {"en": "no member-facing effect", "zh": "对会员无直接影响"},
    "recurrence.day_of_month": {"en": "on day {day} of the month", "zh": "每月{day}日"},
    "recurrence.weekday": {"en": "every {weekday}", "zh": "每{weekday}"},
    "recurrence.months": {"en": "in {months}", "zh": "限{months}"},
    "recurrence.every_day": {"en": "every day", "zh": "每天"},
    "target.tiers": {"en": "tiers {names}", "zh": "等级 {names}"},
    "target.lifecycle": {"en": "lifecycle {names}", "zh": "生命周期 {names}"},
    "target.quadrants": {"en": "quad {names}", "zh": "象限 {names}"},
    "target.all": {"en": "all members", "zh": "全体会员"},
    "lifecycle.new": {"en": "new", "zh": "新会员"},
    "lifecycle.active": {"en": "active", "zh": "活跃"},
    "lifecycle.silent": {"en": "silent", "zh": "沉默"},
    "lifecycle.dormant": {"en": "dormant", "zh": "沉睡"},
    "lifecycle.churned": {"en": "churned", "zh": "流失"},
    "quadrant.close_friends": {"en": "close friends", "zh": "知己"},
    "quadrant.butterflies": {"en": "butterflies", "zh": "蝴蝶"},
    "quadrant.barnacles": {"en": "barnacles", "zh": "藤壶"},
    "quadrant.passers_by": {"en": "passers-by", "zh": "过客"},
    "birthday_scope.day": {"en": "birthday day", "zh": "生日当天"},
    "birthday_scope.month": {"en": "birthday month", "zh": "生日当月"},
    "stacking.stack": {"en": "stack", "zh": "可叠加"},
    "stacking.best": {"en": "best", "zh": "取最优"},
    "stacking.exclusive": {"en": "exclusive", "zh": "独享"},
}
"""Phrase key -> ``{language: text}``."""
