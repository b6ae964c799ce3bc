"""Shared fixtures for the simulations tests (keep small: fixtures used by several files)."""

import numpy as np
import pytest
from true_parameters import TRUE_BGNBD, TRUE_GAMMA_GAMMA

from simulations.calibration import simulate_bgnbd_transactions


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
