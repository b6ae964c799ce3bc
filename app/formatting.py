"""How numbers, money and validation problems are written on screen."""

from __future__ import annotations

import math
from collections import defaultdict

__all__ = ["SECTIONS", "money", "number", "pct", "points", "problems_by_section", "short_id"]

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
    """A points amount, e.g. ``"12,500 pts"``."""
    return "–" if not _finite(value) else f"{value:,.0f} pts"


def pct(value: float | None, decimals: int = 1, share: bool = True) -> str:
    """A percentage; ``share=True`` means ``value`` is a fraction (0.25 -> ``"25.0%"``)."""
    if not _finite(value):
        return "–"
    return f"{value * 100 if share else value:.{decimals}f}%"


def short_id(content_id: str) -> str:
    """The first 12 hex digits of a content id or checksum."""
    return content_id[:12]


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
        grouped[head].append(f"{path}: {message}" if path else message)
    return dict(grouped)
