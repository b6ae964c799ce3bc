"""Per-member random streams for the compiled engine.

Each member carries its own 64-bit generator state, so the numbers a member draws do not
depend on which thread simulates it or on the order members are visited: the same seed gives
the same results whatever the number of threads, and a baseline simulated with the same seed
gives every member the same numbers (common random numbers at member level).

The generator is SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
generators", OOPSLA): the state advances by a fixed odd constant and each output is the state
passed through a 64-bit finalizer. Member streams start at hashed, well separated points of
the same period-2**64 sequence: with a million members drawing a few hundred numbers each, the
chance that two members' stretches overlap at all is about 1e-5.

Variates (all functions take the state and return ``(new_state, value)``, so the state can live
in a register inside compiled loops):

* uniform on [0, 1): the top 53 bits of an output;
* exponential(1): ``-log(1 - U)``;
* standard normal: Box & Muller (1958), one of the pair;
* gamma(shape, 1): Marsaglia & Tsang (2000), "A simple method for generating gamma
  variables", ACM TOMS 26(3), with their ``U ** (1 / shape)`` boost for shapes below 1.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["seed_states"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2 ** -53
_TWO_PI = 2.0 * np.pi


@numba.njit(cache=True, inline="always")
def mix64(z):
    """SplitMix64's output finalizer (a bijection of 64-bit words)."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@numba.njit(cache=True, inline="always")
def uniform(state):
    """Uniform on [0, 1)."""
    state = state + _GOLDEN
    return state, np.float64(mix64(state) >> _S11) * _TO_UNIT


@numba.njit(cache=True, inline="always")
def exponential(state):
    """Exponential with mean 1."""
    state, u = uniform(state)
    return state, -np.log1p(-u)


@numba.njit(cache=True, inline="always")
def normal(state):
    """Standard normal (Box-Muller)."""
    state, u1 = uniform(state)
    state, u2 = uniform(state)
    return state, np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(_TWO_PI * u2)


@numba.njit(cache=True)
def gamma(state, shape):
    """Gamma with the given shape and scale 1 (Marsaglia & Tsang 2000)."""
    boost = 1.0
    if shape < 1.0:
        state, u = uniform(state)
        boost = (1.0 - u) ** (1.0 / shape)
        shape = shape + 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        v = 0.0
        x = 0.0
        while v <= 0.0:
            state, x = normal(state)
            v = 1.0 + c * x
        v = v * v * v
        state, u = uniform(state)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2:
            return state, d * v * boost
        if np.log(u) < 0.5 * x2 + d * (1.0 - v + np.log(v)):
            return state, d * v * boost


@numba.njit(cache=True)
def _seed(key, out):
    for m in range(out.size):
        out[m] = mix64(key ^ mix64(np.uint64(m) * _GOLDEN + _MIX1))


def seed_states(seed: np.random.SeedSequence, n: int, streams: int) -> np.ndarray:
    """Starting states, ``(streams, n)``: stream ``s`` of member ``m``.

    Member ``m``'s states depend only on ``seed``, ``s`` and ``m`` (not on ``n``), so adding
    members never changes the numbers the others draw.
    """
    keys = seed.generate_state(streams, np.uint64)
    out = np.empty((streams, n), dtype=np.uint64)
    for s in range(streams):
        _seed(np.uint64(keys[s]), out[s])
    return out
