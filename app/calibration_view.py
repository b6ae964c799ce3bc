"""The calibration summary as a reader sees it: named models and terms, no blanks as "None".

`simulations.calibration.CalibrationResult.summary` names models and terms as the library
does (``uplift``, ``month:Feb``, ``alpha``); `calibration_table` says them in the session's
language, writes numbers with thousands separators and leaves missing values blank.
"""

from __future__ import annotations

import calendar
import math

import pandas as pd

from app.i18n import TEXT, t

__all__ = ["calibration_table", "term_label"]

_GREEK = {"alpha": "α", "gamma": "γ", "beta": "β"}
_MONTHS = {calendar.month_abbr[m]: m for m in range(1, 13)}
_WEEKDAYS = {calendar.day_abbr[d]: d for d in range(7)}


def term_label(term: str) -> str:
    """A model parameter or uplift term in words (``month:Feb`` -> ``Feb`` / ``2月``)."""
    kind, _, value = str(term).partition(":")
    if not value:
        key = f"data.term.{kind}"
        return t(key) if key in TEXT else _GREEK.get(kind, kind)
    if kind == "month" and value in _MONTHS:
        return t("data.term.month", month=_MONTHS[value])
    if kind == "weekday" and value in _WEEKDAYS:
        return t(f"data.term.weekday.{_WEEKDAYS[value]}")
    key = f"data.term.{kind}"
    return t(key + "_of", value=value) if key + "_of" in TEXT else term


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.3f}" if abs(value) < 1_000 else f"{value:,.0f}"


def calibration_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with translated headers, model and term names, and blank missing values."""
    models = summary["model"].map(
        lambda m: t(f"data.model.{m}") if f"data.model.{m}" in TEXT else str(m)
    )
    return pd.DataFrame(
        {
            t("data.col.model"): models,
            t("data.col.parameter"): summary["parameter"].map(term_label),
            t("data.col.estimate"): summary["estimate"].map(_number),
            t("data.col.std_err"): summary["std_err"].map(_number),
            t("data.col.ci_low"): summary["ci_low"].map(_number),
            t("data.col.ci_high"): summary["ci_high"].map(_number),
        }
    )
