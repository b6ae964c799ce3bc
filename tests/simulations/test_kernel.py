"""The compiled kernel's helpers against plain numpy forms."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.kernel import FAR, _after


def _reference_after(t, x, cumulative, intensity):
    """The inversion by binary search over the whole cumulative intensity."""
    n_days = intensity.size
    k = int(np.floor(t))
    if k >= n_days:
        return np.inf, FAR
    c = cumulative[k] + (t - k) * intensity[k] + x
    k2 = int(np.searchsorted(cumulative, c, side="right") - 1)
    if k2 >= n_days:
        return np.inf, FAR
    t2 = k2 + (c - cumulative[k2]) / intensity[k2]
    return min(max(t2, t), k2 + 1 - 1e-9), k2


@settings(max_examples=60, deadline=None)
@given(
    days=st.integers(1, 400),
    zeros=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**32 - 1),
)
def test_guide_table_inversion_equals_binary_search(days, zeros, seed):
    rng = np.random.default_rng(seed)
    # Uneven intensities, some days with none at all (flat stretches of the cumulative).
    intensity = rng.gamma(0.7, 1.5, days) * (rng.random(days) >= zeros)
    intensity[0] = max(intensity[0], 0.1)
    cumulative = np.concatenate([[0.0], np.cumsum(intensity)])
    width = cumulative[-1] / days
    levels = np.arange(days + 1) * width
    guide = (np.searchsorted(cumulative, levels, side="right") - 1).astype(np.int64)
    starts = np.concatenate([rng.random(50) * days, np.arange(days, dtype=float)[:20]])
    steps = np.concatenate([rng.exponential(cumulative[-1] / 4, 50), np.zeros(10),
                            np.diff(cumulative)[:10], [np.inf]])  # fmt: skip
    for t in starts:
        for x in steps[:: max(len(steps) // 15, 1)]:
            got = _after(float(t), float(x), cumulative, intensity, guide, width)
            want = _reference_after(float(t), float(x), cumulative, intensity)
            assert got[1] == want[1]
            assert got[0] == want[0] or (np.isinf(got[0]) and np.isinf(want[0]))
