"""Policy fields the simulated members do not respond to (declared once).

The behavior model (`simulations.behavior`) makes members' purchases respond to tier
status, discounts, the reward rate (points per unit of spend x point value, tier earn
multipliers, campaign points multipliers), the goal gradient, redemptions and contacts.
Some policy fields change only the *mechanics* -- what is issued, redeemed, expired or
spent -- and no member behavior: a shorter expiry period expires more points but nobody
buys or redeems sooner because of it. A sweep or search over such a field would "find" the
stingiest value (more breakage, lower cost, no lost purchases), which is an artefact of the
model, not a finding. `NO_RESPONSE` names those fields with the reason, in English and
Chinese; sweeps and searches carry it in their tables (`with_caveat`), the command line
prints it and the Sweep & search page shows it (no silent fallback).

Fields that only the company sees (cost per point, campaign fixed and contact costs, the
gross margin) are not listed: members are not expected to respond to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from policies.field_names import field_name
from simulations.results import Label

__all__ = ["CAVEAT", "CAVEAT_COLUMN", "NO_RESPONSE", "NoResponse", "caveat", "no_response",
           "with_caveat"]  # fmt: skip


@dataclass(frozen=True)
class NoResponse:
    """A group of policy fields without a behavioral response.

    Attributes:
        key: the group's name (``response.<key>`` is its translation key in the app).
        pattern: regular expression matched against a field path whose list items are
            written ``[*]`` (``tiers.tiers[*].benefits.gift_cost_per_member``).
        reason: what does and does not change, in English and Chinese.
    """

    key: str
    pattern: str
    reason: Label


NO_RESPONSE: tuple[NoResponse, ...] = (
    NoResponse("expiry", r"^expiry\.", Label(
        "members neither buy nor redeem sooner because points expire sooner (no"
        " use-it-or-lose-it pressure is modelled): only expiry, breakage and reward cost move",
        "模型中会员不会因积分更早过期而提前购买或兑换（未模拟“过期压力”）：变化的只是过期量、"
        "沉淀率和兑换成本")),
    NoResponse("balance_bands", r"^points\.earn\.balance_bands", Label(
        "balance-band earn rates are not part of the reward rate members respond to: only the"
        " points issued move",
        "按余额分档的积分倍率不计入会员响应的回馈率：变化的只是发放积分")),
    NoResponse("bonus_points",
               r"^(points\.bonuses\.|tiers\.tiers\[\*\]\.benefits\.birthday_bonus_points$"
               r"|campaigns\[\*\]\.bonus_points$)", Label(
        "members do not respond to the size of one-off bonus points: only points and their"
        " cost move",
        "会员不会对一次性奖励积分的多少作出反应：变化的只是积分及其成本")),
    NoResponse("redemption_rules",
               r"^points\.redemption\.(minimum_points|unit_points|max_points_per_year|windows)",
               Label(
        "redemption rules change who can redeem and when, but not how members buy (apart from"
        " the lift after a redemption)",
        "兑换规则改变谁能兑换以及何时兑换，但不改变会员的购买行为（兑换后的提升除外）")),
    NoResponse("campaign_size", r"^campaigns\[\*\]\.(threshold|reduction|coupon_value)$", Label(
        "a campaign's purchase uplift is the same whatever its threshold, reduction or coupon"
        " value: only revenue per purchase and cost move",
        "活动带来的购买提升与其门槛、减免额或优惠券面额无关：变化的只是单笔收入和成本")),
    NoResponse("tier_gifts", r"^tiers\.tiers\[\*\]\.benefits\.gift_cost_per_member$", Label(
        "members do not respond to the value of tier gifts: only their cost moves",
        "会员不会对等级礼品的价值作出反应：变化的只是礼品成本")),
)  # fmt: skip
"""Groups of policy fields the model's members do not respond to, with the reason."""

CAVEAT = Label(
    "No behavioral response: the simulated members do not react to {fields} ({reasons}). The"
    " differences between these variants are mechanical, not a finding about members: do not"
    " read 'the stingiest value wins' as a recommendation.",
    "无行为响应：模拟中的会员不会对 {fields} 作出反应（{reasons}）。这些变体之间的差异只是"
    "机械性的，并非关于会员行为的结论：请勿把“最省的取值最好”当作建议。",
)
"""The caveat a sweep or search over `NO_RESPONSE` fields carries (``{fields}``,
``{reasons}``)."""

CAVEAT_COLUMN = "no_behavior_response"
"""Column of sweep and search tables holding the caveat (empty when every field varied has a
behavioral response)."""


def _generic(path: str) -> str:
    return re.sub(r"\[[^\]]*\]", "[*]", path)


def no_response(paths: Iterable[str]) -> dict[str, NoResponse]:
    """The fields among ``paths`` the members do not respond to, with their group."""
    found = {}
    for path in paths:
        generic = _generic(path)
        for group in NO_RESPONSE:
            if re.search(group.pattern, generic):
                found[path] = group
                break
    return found


def caveat(paths: Iterable[str], lang: str, policy=None) -> str | None:
    """The caveat of a sweep or search varying ``paths``, in ``lang`` (``en``/``zh``).

    Each field goes by its name in ``lang`` (`policies.field_names`; the tiers and campaigns
    of ``policy`` by their own names), its path after it for analysts. None when members
    respond to every field varied.
    """
    found = no_response(paths)
    if not found:
        return None
    groups = list(dict.fromkeys(found.values()))
    separator = "；" if lang == "zh" else "; "
    comma = "、" if lang == "zh" else ", "
    return getattr(CAVEAT, lang).format(
        fields=comma.join(f"{field_name(path, lang, policy)} ({path})" for path in found),
        reasons=separator.join(getattr(group.reason, lang) for group in groups),
    )


def with_caveat(table: pd.DataFrame, paths: Iterable[str], policy=None) -> pd.DataFrame:
    """``table`` with the `CAVEAT_COLUMN` column: the caveat in English, then in Chinese.

    Every row carries it, so a table exported or read back from storage still says which of
    its differences are mechanical.
    """
    paths = list(paths)
    english = caveat(paths, "en", policy)
    text = "" if english is None else f"{english} / {caveat(paths, 'zh', policy)}"
    return table.assign(**{CAVEAT_COLUMN: text})
