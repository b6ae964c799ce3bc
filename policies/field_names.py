"""People's names for a policy's fields, in English and Chinese: one table for every screen.

A field is known by its path in the policy's dict form (`policies.io.policy_to_dict`), with
list items in brackets named by their id or name where they have one, as sweeps write them:
``tiers.tiers[Gold].threshold``, ``campaigns[member-day].points_multiplier``,
``points.redemption.windows[0].start_month``. `FIELD_NAMES` holds each path's *pattern*
(items written ``[]``) and its name in each language, with the item as a ``{tier}``,
``{campaign}`` or ``{n}`` (1-based position) value. `field_name` names one concrete path,
calling the item as the policy itself does: a tier by its name, under Chinese by its own
label (Gold is 金卡 when the policy says so, `tier_name`), a campaign by its name (data,
the same in both languages).

Read by the Sweep & search page (parameter pickers, tables, chart axes) and by the "What
changed" list (`policies.diff`), so a field has one name wherever it is shown.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FIELD_NAMES", "field_name", "field_pattern", "tier_name"]

_T = "tiers.tiers[]"
_C = "campaigns[]"
_W = "points.redemption.windows[]"
_B = "points.earn.balance_bands[]"

FIELD_NAMES: dict[str, dict[str, str]] = {
    # -- program ------------------------------------------------------------------------------
    "program.name": {"en": "Program name", "zh": "计划名称"},
    "program.timezone": {"en": "Timezone", "zh": "时区"},
    "program.locale": {"en": "Locale", "zh": "语言区域"},
    "program.effective_date": {"en": "Effective date", "zh": "生效日期"},
    # -- tiers --------------------------------------------------------------------------------
    "tiers.qualifying_metric": {"en": "Tiers qualify on", "zh": "定级依据"},
    "tiers.qualifying_period": {"en": "Qualifying period", "zh": "定级周期"},
    "tiers.qualifying_period.months": {
        "en": "Qualifying period (months)",
        "zh": "定级周期（月）",
    },
    "tiers.tiers": {"en": "Tier order", "zh": "等级顺序"},
    f"{_T}.threshold": {"en": "{tier} threshold", "zh": "{tier} 门槛"},
    f"{_T}.label": {"en": "{tier} label", "zh": "{tier} 显示名称"},
    f"{_T}.benefits.earn_multiplier": {"en": "{tier} earn multiplier", "zh": "{tier} 积分倍数"},
    f"{_T}.benefits.discount_pct": {"en": "{tier} member discount", "zh": "{tier} 会员折扣"},
    f"{_T}.benefits.birthday_bonus_points": {
        "en": "{tier} birthday bonus",
        "zh": "{tier} 生日积分",
    },
    f"{_T}.benefits.gift_cost_per_member": {
        "en": "{tier} yearly gift cost per member",
        "zh": "{tier} 每人每年礼遇成本",
    },
    "tiers.upgrade_timing": {"en": "Upgrades happen", "zh": "升级时点"},
    "tiers.review": {"en": "Tier review", "zh": "等级复核"},
    "tiers.review_every_months": {"en": "Tier review every (months)", "zh": "等级复核间隔（月）"},
    "tiers.review_month": {"en": "First tier review month", "zh": "首次等级复核月份"},
    "tiers.downgrade": {"en": "Downgrades", "zh": "降级规则"},
    "tiers.grace_months": {"en": "Grace period before a downgrade", "zh": "降级前宽限期"},
    # -- points -------------------------------------------------------------------------------
    "points.earn": {"en": "Earn rate", "zh": "积分比例"},
    "points.earn.points_per_unit": {"en": "Earn rate: points", "zh": "积分比例：积分数"},
    "points.earn.per_amount": {"en": "Earn rate: per amount spent", "zh": "积分比例：消费金额"},
    "points.earn.rounding": {"en": "Points rounding", "zh": "积分取整"},
    "points.earn.basis": {"en": "Points are earned on", "zh": "积分计算基数"},
    "points.earn.balance_bands": {"en": "Balance bands", "zh": "余额档位"},
    f"{_B}.min_balance": {"en": "Balance band {n}: from points", "zh": "余额档位 {n}：起始积分"},
    f"{_B}.multiplier": {"en": "Balance band {n}: multiplier", "zh": "余额档位 {n}：倍数"},
    "points.bonuses.signup": {"en": "Sign-up bonus", "zh": "注册奖励积分"},
    "points.bonuses.birthday": {
        "en": "Birthday bonus (all members)",
        "zh": "生日奖励积分（全体会员）",
    },
    "points.bonuses.referral": {"en": "Referral bonus", "zh": "推荐奖励积分"},
    "points.redemption.point_value": {"en": "Point value", "zh": "积分价值"},
    "points.redemption.cost_per_point": {"en": "Cost per redeemed point", "zh": "每兑换积分成本"},
    "points.redemption.minimum_points": {"en": "Minimum points to redeem", "zh": "最低兑换积分"},
    "points.redemption.unit_points": {
        "en": "Points redeemed in multiples of",
        "zh": "兑换积分的整数倍单位",
    },
    "points.redemption.windows": {"en": "Redemption windows", "zh": "兑换时段"},
    f"{_W}.start_month": {
        "en": "Redemption window {n}: start month",
        "zh": "兑换时段 {n}：开始月份",
    },
    f"{_W}.start_day": {"en": "Redemption window {n}: start day", "zh": "兑换时段 {n}：开始日"},
    f"{_W}.end_month": {"en": "Redemption window {n}: end month", "zh": "兑换时段 {n}：结束月份"},
    f"{_W}.end_day": {"en": "Redemption window {n}: end day", "zh": "兑换时段 {n}：结束日"},
    "points.redemption.max_points_per_year": {
        "en": "Yearly redemption limit per member",
        "zh": "每人每年兑换上限",
    },
    # -- expiry -------------------------------------------------------------------------------
    "expiry": {"en": "Points expiry", "zh": "积分有效期"},
    "expiry.months": {"en": "Points expire after (months)", "zh": "积分有效期（月）"},
    "expiry.month": {"en": "Points expiry date: month", "zh": "积分过期日期：月"},
    "expiry.day": {"en": "Points expiry date: day", "zh": "积分过期日期：日"},
    "expiry.years_after": {"en": "Points expire after (years)", "zh": "积分过期年数"},
    # -- segments -----------------------------------------------------------------------------
    "segments.new_days": {"en": "A member counts as new for", "zh": "新会员期"},
    "segments.active_days": {"en": "Active if they bought within", "zh": "活跃判定期限"},
    "segments.silent_days": {"en": "Silent if they bought within", "zh": "沉默判定期限"},
    "segments.dormant_days": {"en": "Dormant if they bought within", "zh": "沉睡判定期限"},
    "segments.quadrant_min_purchases": {
        "en": "Quadrants: 'many purchases' from",
        "zh": "象限“消费频次高”起点",
    },
    "segments.quadrant_min_spend": {
        "en": "Quadrants: 'high spend' from",
        "zh": "象限“消费金额高”起点",
    },
    # -- margins ------------------------------------------------------------------------------
    "margins.gross_margin_pct": {"en": "Gross margin on net sales", "zh": "净销售毛利率"},
    # -- campaigns ----------------------------------------------------------------------------
    "campaigns": {"en": "Campaign order", "zh": "活动顺序"},
    f"{_C}.dates": {"en": 'Campaign "{campaign}" dates', "zh": "活动“{campaign}”日期"},
    f"{_C}.kind": {"en": 'Campaign "{campaign}" kind', "zh": "活动“{campaign}”类型"},
    f"{_C}.points_multiplier": {
        "en": 'Campaign "{campaign}" points multiplier',
        "zh": "活动“{campaign}”积分倍数",
    },
    f"{_C}.discount_pct": {"en": 'Campaign "{campaign}" discount', "zh": "活动“{campaign}”折扣"},
    f"{_C}.bonus_points": {
        "en": 'Campaign "{campaign}" bonus points',
        "zh": "活动“{campaign}”奖励积分",
    },
    f"{_C}.birthday_scope": {
        "en": 'Campaign "{campaign}" birthday scope',
        "zh": "活动“{campaign}”生日范围",
    },
    f"{_C}.threshold": {
        "en": 'Campaign "{campaign}" spend threshold',
        "zh": "活动“{campaign}”满减门槛",
    },
    f"{_C}.reduction": {"en": 'Campaign "{campaign}" reduction', "zh": "活动“{campaign}”减免金额"},
    f"{_C}.repeatable": {
        "en": 'Campaign "{campaign}" reduction repeats',
        "zh": "活动“{campaign}”满减可累计",
    },
    f"{_C}.recency_days": {
        "en": 'Campaign "{campaign}" no purchase for',
        "zh": "活动“{campaign}”未消费天数",
    },
    f"{_C}.coupon_value": {"en": 'Campaign "{campaign}" coupon', "zh": "活动“{campaign}”优惠券"},
    f"{_C}.contact_cost": {
        "en": 'Campaign "{campaign}" contact cost per member',
        "zh": "活动“{campaign}”每人触达成本",
    },
    f"{_C}.fixed_cost": {
        "en": 'Campaign "{campaign}" fixed cost',
        "zh": "活动“{campaign}”固定成本",
    },
    f"{_C}.budget": {"en": 'Campaign "{campaign}" budget', "zh": "活动“{campaign}”预算"},
    f"{_C}.stacking": {"en": 'Campaign "{campaign}" stacking', "zh": "活动“{campaign}”叠加规则"},
    f"{_C}.recurrence": {"en": 'Campaign "{campaign}" runs', "zh": "活动“{campaign}”周期"},
    f"{_C}.recurrence.day_of_month": {
        "en": 'Campaign "{campaign}" day of the month',
        "zh": "活动“{campaign}”每月日期",
    },
    f"{_C}.recurrence.weekday": {
        "en": 'Campaign "{campaign}" weekday (0 = Monday)',
        "zh": "活动“{campaign}”星期（0 = 周一）",
    },
    f"{_C}.recurrence.months[]": {
        "en": 'Campaign "{campaign}" month {n}',
        "zh": "活动“{campaign}”月份 {n}",
    },
    f"{_C}.target": {"en": 'Campaign "{campaign}" for', "zh": "活动“{campaign}”适用对象"},
}
"""Field path pattern -> ``{language: name}``; ``{tier}``, ``{campaign}``, ``{n}`` fill in."""

_ITEM = re.compile(r"\[([^\]]*)\]")


def field_pattern(path: str) -> str:
    """The pattern of a path: ``tiers.tiers[Gold].threshold`` -> ``tiers.tiers[].threshold``."""
    return _ITEM.sub("[]", path)


def tier_name(name: str, label: str | None, lang: str) -> str:
    """How a tier is called in ``lang``: its own label under Chinese when it has one (金卡)."""
    return label if lang == "zh" and label else name


def _item(items: list[dict[str, Any]], key: str) -> tuple[dict[str, Any] | None, int]:
    """The list item a path's bracket names (by id, name or position) and its position."""
    for i, item in enumerate(items):
        if isinstance(item, dict) and key in (item.get("id"), item.get("name")):
            return item, i
    if key.isdigit() and int(key) < len(items):
        item = items[int(key)]
        return (item if isinstance(item, dict) else None), int(key)
    return None, -1


def field_name(path: str, lang: str, policy: Any = None) -> str:
    """The name of the field at ``path`` in ``lang`` (``"en"`` or ``"zh"``).

    Args:
        path: a concrete field path (``tiers.tiers[Gold].threshold``) or a pattern.
        lang: the language.
        policy: the `policies.model.Policy` (or its dict form) whose tiers and campaigns
            the path names; without it an item is called as the path writes it.

    Returns:
        The name, e.g. ``"Gold threshold"`` / ``"金卡 门槛"``; the path itself when the
        table has no name for it (a field added to the schema and not yet named here).
    """
    names = FIELD_NAMES.get(field_pattern(path))
    if names is None:
        return path
    if policy is not None and not isinstance(policy, dict):
        policy = policy.model_dump(mode="json")
    values: dict[str, Any] = {}
    node: Any = policy
    for part in re.split(r"\.(?![^\[]*\])", path):
        key_match = _ITEM.search(part)
        field = _ITEM.sub("", part)
        node = node.get(field) if isinstance(node, dict) else None
        if key_match is None:
            continue
        key = key_match.group(1)
        item, position = _item(node if isinstance(node, list) else [], key)
        if position < 0 and key.isdigit():  # no policy to look in: the path's position
            position = int(key)
        values["n"] = position + 1 if position >= 0 else key
        if field == "tiers":
            values["tier"] = tier_name(
                item["name"] if item else key, item and item.get("label"), lang
            )
        elif field == "campaigns":
            values["campaign"] = item["name"] if item else key
        node = item
    values.setdefault("n", "")
    return names[lang].format(**values)
