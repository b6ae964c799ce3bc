"""Shared fixtures for the simulations tests (keep small: fixtures used by several files)."""

import datetime as dt

import numpy as np
import pytest

from simulations.behavior import BGNBDParams, GammaGammaParams
from simulations.calibration import simulate_bgnbd_transactions

TRUE_BGNBD = BGNBDParams(r=0.75, alpha=22.0, a=0.40, b=6.0)
TRUE_GAMMA_GAMMA = GammaGammaParams(p=6.0, q=4.0, gamma=125.0)
LONG_LOG_START = dt.date(2023, 1, 1)
"""First day of the three-year (1,095-day) logs: they end on 2025-12-31, a fixed past date,
so calibration's refusal of dates after today never applies to them."""


@pytest.fixture(scope="session")
def bgnbd_log():
    """A 4,000-member transaction log over two years drawn from the default parameters."""
    return simulate_bgnbd_transactions(
        TRUE_BGNBD,
        TRUE_GAMMA_GAMMA,
        n_members=4000,
        horizon_days=730,
        rng=np.random.default_rng(20240101),
    )
