"""The compiled kernel's helpers against plain numpy forms; the thinning bound's inputs."""

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.io import load_policy
from simulations import Population, engine, kernel
from simulations.behavior import DEFAULT_BEHAVIOR
from simulations.kernel import FAR, _after

ROOT = Path(__file__).resolve().parents[2]
CLASSIC = load_policy(ROOT / "policies" / "examples" / "classic_four_tier.yaml")
START = dt.date(2026, 1, 1)


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


@pytest.mark.parametrize("metric", ["spend", "purchases"])
def test_a_redraw_before_the_months_first_window_ignores_the_old_month_in_its_column(metric):
    """A review or contact on the 1st redraws candidates before the month's first window.

    Until that window resets them, the ring columns of the month hold the month a ring's
    width before. The goal-gradient part of the thinning bound must come from the qualifying
    score as it stands (the month has no purchases yet), not from that old month.
    """
    data = CLASSIC.model_dump()
    data["tiers"]["qualifying_metric"] = metric
    policy = type(CLASSIC).model_validate(data)
    population = Population.synthetic(400, seed=1, as_of=START)
    sim = engine._Simulation(policy, DEFAULT_BEHAVIOR, population, START, 2,
                             np.random.SeedSequence(1))  # fmt: skip
    idx = np.flatnonzero(sim.alive[: sim.n_joined])
    assert DEFAULT_BEHAVIOR.effects.goal_gradient_lift > 0
    assert (sim.tier[idx] < len(policy.tiers.tiers) - 1).sum() > 100
    sim._redraw(idx, 0, only_if_higher=False)
    bound = sim.cand_bound[idx].copy()
    # What the column holds on the 1st of a later month: an old month, here a big one.
    sim.score_ring[:, sim.start_month % sim.score_len] = 1_000_000_000
    sim._redraw(idx, 0, only_if_higher=False)
    np.testing.assert_array_equal(sim.cand_bound[idx], bound)


def test_settled_members_are_skipped_exactly_as_if_they_went_through_every_window():
    """A settled member (`kernel._settles`) skips windows but counts as if it went through.

    At every month end the kernel's lifecycle and quadrant counts equal a recount over every
    member; a settled member has no points, empty history rings and no birthday bonus to
    come; and members a win-back contact brings back from settled buy again.
    """
    data = CLASSIC.model_dump()
    data["campaigns"] = [*data["campaigns"], {
        "id": "win-back", "name": "Win-back", "kind": "reactivation", "start": "2026-01-01",
        "end": "2027-12-31", "recurrence": {"day_of_month": 20}, "recency_days": 200,
    }]  # fmt: skip
    policy = type(CLASSIC).model_validate(data)
    behavior = DEFAULT_BEHAVIOR.model_copy(
        update={
            "effects": DEFAULT_BEHAVIOR.effects.model_copy(update={"reactivation_response": 0.5})
        }
    )
    sim = engine._Simulation(policy, behavior, Population.synthetic(3000, seed=3, as_of=START),
                             START, 18, np.random.SeedSequence(3))  # fmt: skip
    window, seen = sim.window, {"settled": 0, "checked": 0, "revived": 0}
    ever_settled = np.zeros(sim.n, dtype=bool)

    def checked_window(a: int, b: int) -> None:
        before = sim.purchases.copy()
        window(a, b)
        nj = sim.n_joined
        settled = np.flatnonzero(sim.settled[:nj])
        seen["revived"] += int((ever_settled[:nj] & (sim.purchases[:nj] > before[:nj])).sum())
        ever_settled[settled] = True
        assert (sim.balance[settled] == 0).all()
        assert (sim.count_ring[settled] == 0).all() and (sim.spend_ring[settled] == 0).all()
        assert (b + 1 - sim.last_purchase[settled] > 365).all()
        if b not in sim._month_end_set:
            return
        month = int(sim.cal.month[b])
        everyone = np.arange(nj)
        lifecycle = np.bincount(sim._lifecycle(everyone, b + 1), minlength=5)
        quadrant = np.bincount(sim._quadrant(everyone, month + 1), minlength=4)
        counts = sim.counts
        np.testing.assert_array_equal(
            counts[kernel.C_LIFECYCLE : kernel.C_LIFECYCLE + 5], lifecycle
        )
        np.testing.assert_array_equal(counts[kernel.C_QUADRANT : kernel.C_QUADRANT + 4], quadrant)
        seen["settled"] = max(seen["settled"], settled.size / nj)
        seen["checked"] += 1

    sim.window = checked_window
    sim.run()
    assert seen["checked"] == 18
    assert seen["settled"] > 0.1, "the test should exercise settled members"
    assert seen["revived"] > 0, "the test should bring settled members back"
