"""How the notebooks show numbers: 20,000 members and ¥57,016,610, not 2.000000e+04.

``use_readable_numbers()`` sets pandas' float format for every table shown afterwards:
whole numbers and amounts from 1,000 up with thousands separators and no decimals,
smaller amounts with two decimals, shares and rates below 1 with four.
"""

import math

import pandas as pd


def number(value: float) -> str:
    """One float as a person reads it (``nan`` as pandas shows it)."""
    if math.isnan(value):
        return "NaN"
    if value.is_integer() or abs(value) >= 1_000:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.4f}"


def use_readable_numbers() -> None:
    """Show floats in every pandas table of this notebook with `number`."""
    pd.set_option("display.float_format", number)
