"""How numbers, money and validation problems are written on screen."""

from __future__ import annotations

import math
import re
from collections import defaultdict

import pandas as pd

__all__ = [
    "SECTIONS",
    "blank_missing",
    "money",
    "number",
    "pct",
    "points",
    "problem_text",
    "problems_by_section",
    "short_id",
]

SECTIONS = (
    "general",
    "program",
    "tiers",
    "windows",
    "points",
    "expiry",
    "segments",
    "campaigns",
)
"""Where on the designer a validation problem is shown, by the policy section it concerns."""


def _finite(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def number(value: float | None, decimals: int = 0) -> str:
    """``1234567.8`` -> ``"1,234,568"``; missing values as an en dash."""
    if not _finite(value):
        return "–"
    return f"{value:,.{decimals}f}"


def money(value: float | None, symbol: str = "¥", decimals: int = 0) -> str:
    """An amount in the policy's currency: ``money(-1500, "¥")`` -> ``"-¥1,500"``."""
    if not _finite(value):
        return "–"
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.{decimals}f}"


def points(value: float | None) -> str:
    """A points amount in the session's language, e.g. ``"12,500 pts"`` / ``"12,500 积分"``."""
    from app.i18n import t

    return "–" if not _finite(value) else t("unit.points_amount", value=f"{value:,.0f}")


def pct(value: float | None, decimals: int = 1, share: bool = True) -> str:
    """A percentage; ``share=True`` means ``value`` is a fraction (0.25 -> ``"25.0%"``)."""
    if not _finite(value):
        return "–"
    return f"{value * 100 if share else value:.{decimals}f}%"


def blank_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """A read-only table as shown: missing cells blank, never ``None`` or ``nan``.

    A column with a gap is shown as text; whole numbers in it keep their thousands separators
    (``12,500``). Columns without gaps are left as they are (so they still sort as numbers).
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if not values.isna().any():
            continue
        whole = pd.api.types.is_numeric_dtype(values) and bool((values.dropna() % 1 == 0).all())
        out[column] = values.map(
            lambda v, whole=whole: "" if pd.isna(v) else (number(v) if whole else str(v))
        )
    return out


def short_id(content_id: str) -> str:
    """The first 12 hex digits of a content id or checksum."""
    return content_id[:12]


def problem_text(path: str, message: str) -> str:
    """A validation problem as one line, naming its field path once.

    The model's messages often start with the field's own (shorter) path, e.g. path
    ``tiers.tiers[2].threshold`` and message ``tiers[2].threshold(=0) must ...``: the full
    path then replaces the short one instead of being put in front of it.
    """
    if not path:
        return message
    head = re.match(r"[\w\[\].]+", message)
    if head and (path == head.group(0) or path.endswith("." + head.group(0))):
        return path + message[head.end() :]
    return f"{path}: {message}"


def problems_by_section(problems: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Group (field path, message) problems by the designer section that shows them.

    The section is the path's first part (``tiers.tiers[2].threshold`` -> ``tiers``);
    problems without a path (whole-policy checks) go by what their message names, else to
    ``general``. Redemption windows (``points.redemption.windows...``) are ``windows``.
    """
    grouped: dict[str, list[str]] = defaultdict(list)
    for path, message in problems:
        head = path.split(".", 1)[0].split("[", 1)[0] if path else ""
        if path.startswith("points.redemption.windows"):
            head = "windows"
        if head not in SECTIONS:
            head = next(
                (section for section in SECTIONS[1:] if message.startswith(section)), "general"
            )
        grouped[head].append(problem_text(path, message))
    return dict(grouped)
