"""One Model builder for the app and the command line."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from policies.io import load_policy
from simulations import DEFAULT_BEHAVIOR, Model, Population
from simulations.build import build_model

ROOT = Path(__file__).resolve().parents[2]
CLASSIC = load_policy(ROOT / "policies" / "examples" / "classic_four_tier.yaml")
START = dt.date(2026, 3, 1)


def test_synthetic_members_are_drawn_with_the_runs_seed_on_the_start_day():
    model = build_model(CLASSIC, population=300, start=START, months=2, replications=2, seed=5)
    assert isinstance(model, Model)
    assert model.start == START and model.seed == 5
    assert model.population.as_of == START and len(model.population) == 300
    drawn = Population.synthetic(300, DEFAULT_BEHAVIOR, seed=5, as_of=START)
    assert (model.population.join_day == drawn.join_day).all()


def test_a_snapshot_and_a_population_start_where_the_members_are_observed():
    snapshot = pd.DataFrame(
        {
            "member_id": ["a", "b"],
            "join_date": ["2025-01-10", "2025-06-01"],
            "last_purchase": ["2026-02-27", None],
        }
    )
    from_data = build_model(CLASSIC, population=snapshot)
    assert from_data.start == dt.date(2026, 2, 28)  # the day after the latest purchase
    assert build_model(CLASSIC, population=snapshot, start=START).start == START
    members = build_model(CLASSIC, population=50, start=START).population
    model = build_model(CLASSIC, population=members, baseline=CLASSIC, workers=2)
    assert model.population is members and model.start == START
    assert model.baseline_policy is CLASSIC and model.workers == 2
    with pytest.raises(ValueError, match="population's date"):
        build_model(CLASSIC, population=members, start=START + dt.timedelta(days=1))
    with pytest.raises(ValueError, match="0 or more"):
        build_model(CLASSIC, population=-1)
