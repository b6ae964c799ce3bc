"""The parameters the simulated calibration logs are drawn from (what the fits must recover).

A plain module rather than the conftest, so the tests can import the values by a name no
other folder's conftest shares.
"""

import datetime as dt

from simulations.behavior import BGNBDParams, GammaGammaParams

TRUE_BGNBD = BGNBDParams(r=0.75, alpha=22.0, a=0.40, b=6.0)
TRUE_GAMMA_GAMMA = GammaGammaParams(p=6.0, q=4.0, gamma=125.0)
LONG_LOG_START = dt.date(2023, 1, 1)
"""First day of the three-year (1,095-day) logs: they end on 2025-12-31, a fixed past date,
so calibration's refusal of dates after today never applies to them."""
