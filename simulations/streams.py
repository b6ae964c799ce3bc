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
* standard normal: the ziggurat method (Marsaglia & Tsang 2000);
* gamma(shape, 1): Marsaglia & Tsang (2000), "A simple method for generating gamma
  variables", ACM TOMS 26(3), with their ``U ** (1 / shape)`` boost for shapes below 1.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["seed_states"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2 ** -53


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


def _ziggurat(layers: int = 256, r: float = 3.6541528853610088) -> tuple[np.ndarray, np.ndarray]:
    """Layer edges ``x`` and fast-path ratios ``x[i + 1] / x[i]`` of the normal ziggurat.

    ``layers`` strips of equal area ``v`` under ``exp(-x**2 / 2)``; the base strip holds the
    tail beyond ``r`` (Marsaglia & Tsang 2000; Doornik 2005 for the layout used here).
    """
    density = lambda x: math.exp(-0.5 * x * x)  # noqa: E731
    v = r * density(r) + math.sqrt(2 * math.pi) * 0.5 * math.erfc(r / math.sqrt(2))
    x = np.empty(layers + 1)
    x[0], x[1] = v / density(r), r
    for i in range(2, layers):
        x[i] = math.sqrt(-2.0 * math.log(v / x[i - 1] + density(x[i - 1])))
    x[layers] = 0.0
    return x, x[1:] / x[:-1]


_ZX, _ZRATIO = _ziggurat()
_ZR = float(_ZX[1])
_LAYER = np.uint64(0xFF)


@numba.njit(cache=True)
def normal(state):
    """Standard normal by the ziggurat method.

    Marsaglia & Tsang 2000, "The Ziggurat Method for Generating Random Variables", J. Stat.
    Software 5(8); the layout of Doornik 2005. One 64-bit output gives the layer (low 8 bits)
    and a uniform on (-1, 1) (top 53 bits); about 99% of draws return on the first comparison.
    """
    while True:
        state = state + _GOLDEN
        z = mix64(state)
        i = np.int64(z & _LAYER)
        u = 2.0 * (np.float64(z >> _S11) * _TO_UNIT) - 1.0
        if abs(u) < _ZRATIO[i]:
            return state, u * _ZX[i]
        if i == 0:
            # The tail beyond r (Marsaglia 1964): exponential proposals, accepted by a test.
            while True:
                state, a = uniform(state)
                state, b = uniform(state)
                x = -np.log1p(-a) / _ZR
                if -2.0 * np.log1p(-b) > x * x:
                    break
            return state, (_ZR + x) if u > 0 else -(_ZR + x)
        x = u * _ZX[i]
        f0 = np.exp(-0.5 * (_ZX[i] * _ZX[i] - x * x))
        f1 = np.exp(-0.5 * (_ZX[i + 1] * _ZX[i + 1] - x * x))
        state, w = uniform(state)
        if f1 + w * (f0 - f1) < 1.0:
            return state, x


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
