"""Shared fixtures for the simulations tests (keep small: fixtures used by several files)."""

import numpy as np
import pytest

from simulations.behavior import BGNBDParams, GammaGammaParams
from simulations.calibration import simulate_bgnbd_transactions

TRUE_BGNBD = BGNBDParams(r=0.75, alpha=22.0, a=0.40, b=6.0)
TRUE_GAMMA_GAMMA = GammaGammaParams(p=6.0, q=4.0, gamma=125.0)


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
