"""Dates of movable festivals, declared once for the simulator, its calibration and the sample.

The Chinese New Year (Spring Festival) moves between late January and mid-February, so a
retail calendar cannot express it as a month effect or a fixed-date holiday. The behavior
model's run-up term (`simulations.behavior`), its calibration and the sample generator all
read the table here.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["LUNAR_NEW_YEAR"]

LUNAR_NEW_YEAR = {
    2015: dt.date(2015, 2, 19), 2016: dt.date(2016, 2, 8), 2017: dt.date(2017, 1, 28),
    2018: dt.date(2018, 2, 16), 2019: dt.date(2019, 2, 5), 2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12), 2022: dt.date(2022, 2, 1), 2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10), 2025: dt.date(2025, 1, 29), 2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6), 2028: dt.date(2028, 1, 26), 2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3), 2031: dt.date(2031, 1, 23), 2032: dt.date(2032, 2, 11),
    2033: dt.date(2033, 1, 31), 2034: dt.date(2034, 2, 19), 2035: dt.date(2035, 2, 8),
}  # fmt: skip
"""First day of the lunar new year (Spring Festival) by Gregorian year (Hong Kong
Observatory's Gregorian-lunar calendar conversion tables)."""
