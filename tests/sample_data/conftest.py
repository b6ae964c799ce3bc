"""Shared sample programs: one small booked program, one larger unbooked one for statistics."""

import pytest

from sample_data import generate, load_sample


@pytest.fixture(scope="session")
def small_program():
    """1,500 members booked through the classic policy (a few seconds)."""
    return generate(n_members=1_500, seed=11)


@pytest.fixture(scope="session")
def large_unbooked():
    """20,000 members without the ledger: purchases only, for statistical checks."""
    return generate(n_members=20_000, seed=12, ledger=False)


@pytest.fixture(scope="session")
def shipped():
    """The shipped sample program (sample_data/data/)."""
    return load_sample()
