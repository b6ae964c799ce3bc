"""Tables the Policy designer edits, and how edited tables go back into a policy.

The designer shows parts of a policy as flat tables (`st.data_editor`); these functions
turn a policy into those tables and put edited tables back into the policy's plain-data
form (`policies.policy_to_dict`). They never validate: the result is handed to
`policies.policy_from_dict`, whose messages name the field path and the bad value. Empty
cells become ``None`` so that the model, not this module, says what is missing.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
from typing import Any

import pandas as pd

from policies import Policy

__all__ = [
    "CAMPAIGN_COLUMNS",
    "TIER_COLUMNS",
    "WINDOW_COLUMNS",
    "apply_campaigns",
    "apply_tiers",
    "apply_windows",
    "campaign_segments",
    "campaigns_frame",
    "incomplete_campaigns",
    "earn_economics",
    "tiers_frame",
    "windows_frame",
]

TIER_COLUMNS = (
    "name",
    "label",
    "threshold",
    "earn_multiplier",
    "discount_pct",
    "birthday_bonus_points",
    "gift_cost_per_member",
)
_BENEFITS = ("earn_multiplier", "discount_pct", "birthday_bonus_points", "gift_cost_per_member")
WINDOW_COLUMNS = ("start_month", "start_day", "end_month", "end_day")
CAMPAIGN_COLUMNS = (
    "id",
    "name",
    "kind",
    "start",
    "end",
    "day_of_month",
    "weekday",
    "months",
    "target_tiers",
    "points_multiplier",
    "discount_pct",
    "bonus_points",
    "threshold",
    "reduction",
    "fixed_cost",
    "contact_cost",
    "coupon_value",
    "stacking",
)
_CAMPAIGN_SCALARS = (
    "id",
    "name",
    "kind",
    "points_multiplier",
    "discount_pct",
    "bonus_points",
    "threshold",
    "reduction",
    "fixed_cost",
    "contact_cost",
    "coupon_value",
    "stacking",
)


def _clean(value: Any) -> Any:
    """A table cell as plain data: blanks become None, whole floats stay numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if hasattr(value, "item") and not isinstance(value, (dt.date, pd.Timestamp)):
        value = value.item()  # numpy scalar -> Python
    if isinstance(value, float) and value.is_integer():
        return int(value) if abs(value) < 2**53 else value
    return value


def _clean_date(value: Any) -> Any:
    value = _clean(value)
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(row) for _, row in frame.iterrows()]


def tiers_frame(policy: Policy) -> pd.DataFrame:
    """One row per tier: name, label, threshold and benefits."""
    rows = []
    for tier in policy.tiers.tiers:
        row = {"name": tier.name, "label": tier.label, "threshold": float(tier.threshold)}
        row.update({key: getattr(tier.benefits, key) for key in _BENEFITS})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(TIER_COLUMNS))
    return frame.astype({"threshold": float, "earn_multiplier": float, "discount_pct": float})


def apply_tiers(data: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    """A copy of the policy data ``data`` with its tiers taken from an edited tiers table."""
    out = copy.deepcopy(data)
    tiers = []
    for row in _rows(frame):
        cells = {key: _clean(row.get(key)) for key in TIER_COLUMNS}
        if all(value is None for value in cells.values()):
            continue  # a blank row added and never filled in
        tier: dict[str, Any] = {
            "name": cells["name"],
            "label": cells["label"] or "",
            "threshold": cells["threshold"],
        }
        tier["benefits"] = {
            key: cells[key]
            for key in _BENEFITS
            if cells[key] is not None or key == "earn_multiplier"
        }
        tiers.append(tier)
    out["tiers"]["tiers"] = tiers
    return out


def windows_frame(policy: Policy) -> pd.DataFrame:
    """One row per redemption window (empty: redemption at any time)."""
    rows = [window.model_dump() for window in policy.points.redemption.windows]
    return pd.DataFrame(rows, columns=list(WINDOW_COLUMNS)).astype("Int64")


def apply_windows(data: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    """A copy of ``data`` with the redemption windows taken from an edited table."""
    out = copy.deepcopy(data)
    windows = []
    for row in _rows(frame):
        cells = {key: _clean(row.get(key)) for key in WINDOW_COLUMNS}
        if all(value is None for value in cells.values()):
            continue
        windows.append(cells)
    out["points"]["redemption"]["windows"] = windows
    return out


def _join(values: tuple[Any, ...]) -> str:
    return ", ".join(str(value) for value in values)


def _split(text: Any) -> list[Any]:
    """``"11, 12"`` -> ``[11, 12]``; parts that are not whole numbers stay text."""
    text = _clean(text)
    if text is None:
        return []
    parts = [part for part in re.split(r"[,\s;，]+", str(text)) if part]
    return [int(part) if re.fullmatch(r"-?\d+", part) else part for part in parts]


def campaigns_frame(policy: Policy) -> pd.DataFrame:
    """One row per campaign with the fields a marketing lead edits most."""
    rows = []
    for campaign in policy.campaigns:
        row = {key: getattr(campaign, key) for key in _CAMPAIGN_SCALARS}
        row.update(
            start=campaign.start,
            end=campaign.end,
            day_of_month=campaign.recurrence.day_of_month,
            weekday=campaign.recurrence.weekday,
            months=_join(campaign.recurrence.months),
            target_tiers=_join(campaign.target.tiers),
        )
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(CAMPAIGN_COLUMNS))
    for column in ("day_of_month", "weekday", "bonus_points"):
        frame[column] = frame[column].astype("Int64")
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


CAMPAIGN_REQUIRED = ("id", "name", "kind", "start", "end")
"""Cells a campaign row needs before it becomes part of the policy."""


def incomplete_campaigns(frame: pd.DataFrame) -> list[tuple[int, list[str]]]:
    """Campaign rows being filled in: (row number from 1, the required columns still empty).

    Such a row is left out of the policy (`apply_campaigns`) until it is complete, and the
    designer says so; a row with every cell empty is just an unused new row.
    """
    found = []
    for number, row in enumerate(_rows(frame), start=1):
        cells = {key: _clean(row.get(key)) for key in CAMPAIGN_COLUMNS}
        if all(value is None for value in cells.values()):
            continue
        missing = [key for key in CAMPAIGN_REQUIRED if cells[key] is None]
        if missing:
            found.append((number, missing))
    return found


def apply_campaigns(data: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    """A copy of ``data`` with the campaign calendar taken from an edited table.

    Fields the table does not show (lifecycle/quadrant targets, birthday scope, budget...)
    are kept from the campaign with the same id, or take the model's defaults for a new one.
    Rows still missing a required cell (`incomplete_campaigns`) are left out.
    """
    out = copy.deepcopy(data)
    previous = {campaign["id"]: campaign for campaign in data.get("campaigns", [])}
    campaigns = []
    for row in _rows(frame):
        cells = {key: _clean(row.get(key)) for key in CAMPAIGN_COLUMNS}
        if any(cells[key] is None for key in CAMPAIGN_REQUIRED):
            continue
        campaign = copy.deepcopy(previous.get(cells["id"], {}))
        for key in _CAMPAIGN_SCALARS:
            if cells[key] is not None or key in ("id", "name", "kind"):
                campaign[key] = cells[key]
            else:
                campaign.pop(key, None)
        campaign["start"] = _clean_date(row.get("start"))
        campaign["end"] = _clean_date(row.get("end"))
        recurrence = dict(campaign.get("recurrence", {}))
        recurrence["day_of_month"] = cells["day_of_month"]
        recurrence["weekday"] = cells["weekday"]
        recurrence["months"] = _split(row.get("months"))
        campaign["recurrence"] = recurrence
        target = dict(campaign.get("target", {}))
        target["tiers"] = _split(row.get("target_tiers"))
        target["tiers"] = [str(name) for name in target["tiers"]]
        campaign["target"] = target
        campaigns.append(campaign)
    out["campaigns"] = campaigns
    return out


def campaign_segments(policy: Policy, year: int) -> pd.DataFrame:
    """The campaign calendar of ``year`` as runs of consecutive days, for a Gantt chart.

    Returns:
        One row per run: ``campaign`` (name), ``id``, ``row`` (the chart row: the name, with
        the id when two campaigns share a name, so each campaign keeps a row of its own),
        ``kind``, ``start``, ``end`` (exclusive, so a one-day run has width one day) and
        ``days`` (its length).
    """
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    rows = []
    names = [campaign.name for campaign in policy.campaigns]
    for campaign in policy.campaigns:
        row_name = (
            campaign.name
            if names.count(campaign.name) == 1
            else (f"{campaign.name} ({campaign.id})")
        )
        begin = max(campaign.start, first)
        finish = min(campaign.end, last)
        run_start = None
        day = begin
        while day <= finish + dt.timedelta(days=1):
            live = day <= finish and campaign.runs_on(day)
            if live and run_start is None:
                run_start = day
            elif not live and run_start is not None:
                rows.append(
                    {
                        "campaign": campaign.name,
                        "id": campaign.id,
                        "row": row_name,
                        "kind": campaign.kind,
                        "start": pd.Timestamp(run_start),
                        "end": pd.Timestamp(day),
                        "days": (day - run_start).days,
                    }
                )
                run_start = None
            day += dt.timedelta(days=1)
    columns = ["campaign", "id", "row", "kind", "start", "end", "days"]
    return pd.DataFrame(rows, columns=columns)


def earn_economics(policy: Policy, spend: float = 100.0) -> pd.DataFrame:
    """What ``spend`` of currency earns in each tier, and what that is worth and costs.

    Base points follow the earn rule (``points_per_unit`` per ``per_amount``) times the
    tier's multiplier, before rounding, campaigns and balance bands. ``reward_rate_pct`` is
    the member's value (points x point value) as a share of spend; ``cost_rate_pct`` is the
    company's cost if every point is redeemed (points x cost per point).
    """
    earn = policy.points.earn
    redemption = policy.points.redemption
    rows = []
    for tier in policy.tiers.tiers:
        points = spend / earn.per_amount * earn.points_per_unit * tier.benefits.earn_multiplier
        rows.append(
            {
                "tier": tier.name,
                "points": points,
                "member_value": points * redemption.point_value,
                "reward_rate_pct": 100 * points * redemption.point_value / spend,
                "cost_rate_pct": 100 * points * redemption.cost_per_point / spend,
                "discount_pct": tier.benefits.discount_pct,
            }
        )
    return pd.DataFrame(rows)
