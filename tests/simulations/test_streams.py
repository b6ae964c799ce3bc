"""Per-member random streams: the variates have the stated distributions; seeding is stable."""

import numba
import numpy as np
import pytest
from scipy import stats

from simulations import streams

DRAWS = 100_000


@numba.njit(cache=True)
def _draw(state, n, kind, shape):
    out = np.empty(n)
    for i in range(n):
        if kind == 0:
            state, out[i] = streams.uniform(state)
        elif kind == 1:
            state, out[i] = streams.exponential(state)
        elif kind == 2:
            state, out[i] = streams.normal(state)
        else:
            state, out[i] = streams.gamma(state, shape)
    return out


def _state(seed: int, member: int = 0, stream: int = 0) -> np.uint64:
    return streams.seed_states(np.random.SeedSequence(seed), member + 1, stream + 1)[stream, member]


@pytest.mark.parametrize(
    ("kind", "shape", "dist"),
    [
        (0, 0.0, stats.uniform()),
        (1, 0.0, stats.expon()),
        (2, 0.0, stats.norm()),
        (3, 0.4, stats.gamma(0.4)),
        (3, 1.0, stats.gamma(1.0)),
        (3, 6.5, stats.gamma(6.5)),
    ],
)
def test_variates_follow_their_distribution(kind, shape, dist):
    x = _draw(_state(11), DRAWS, kind, shape)
    # Kolmogorov-Smirnov at a fixed seed: a wrong distribution gives p ~ 0 at this size.
    assert stats.kstest(x, dist.cdf).pvalue > 1e-3
    # Mean within 4 standard errors, variance within 5%.
    assert abs(x.mean() - dist.mean()) < 4 * dist.std() / np.sqrt(DRAWS)
    assert x.var() == pytest.approx(dist.var(), rel=0.05)


def test_uniforms_are_in_the_half_open_unit_interval_and_uncorrelated():
    x = _draw(_state(3), DRAWS, 0, 0.0)
    assert x.min() >= 0.0 and x.max() < 1.0
    lag = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert abs(lag) < 4 / np.sqrt(DRAWS)


def test_member_streams_do_not_depend_on_the_population_size():
    seed = np.random.SeedSequence(5)
    small = streams.seed_states(seed, 10, 3)
    large = streams.seed_states(np.random.SeedSequence(5), 1000, 3)
    np.testing.assert_array_equal(small, large[:, :10])
    assert np.unique(large).size == large.size  # every member and stream starts elsewhere


def test_neighbouring_members_draw_unrelated_numbers():
    states = streams.seed_states(np.random.SeedSequence(9), 2, 1)[0]
    a = _draw(states[0], 20_000, 0, 0.0)
    b = _draw(states[1], 20_000, 0, 0.0)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(20_000)
    assert stats.ks_2samp(a, b).pvalue > 1e-3


def test_normal_tails_have_the_right_mass():
    """The ziggurat's base strip holds the tail beyond 3.654: its mass must be right too."""
    n = 2_000_000
    z = _draw(_state(17), n, 2, 0.0)
    for cut in (1.0, 2.5, 3.6541528853610088, 4.0):
        expected = 2 * stats.norm.sf(cut)
        observed = np.mean(np.abs(z) > cut)
        assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
    assert np.mean(z**2) == pytest.approx(1.0, abs=4 * np.sqrt(2 / n))
    assert abs(np.mean(z**3)) < 4 * np.sqrt(15 / n)  # symmetric
