"""One way to set up a simulation: what a user chooses, turned into a `Model`.

The app's Simulate, Compare and Finance pages and ``python -m simulations run`` all call
`build_model`, so the same choices (policy, members, behavior, horizon, replications, seed,
baseline) give the same model, and so the same numbers, on the screen and on the command
line.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from policies.model import Policy
from simulations.behavior import DEFAULT_BEHAVIOR, BehaviorParams
from simulations.engine import Model
from simulations.population import Population

__all__ = ["build_model", "database_population"]


def build_model(
    policy: Policy,
    *,
    population: Population | pd.DataFrame | int,
    start: dt.date | None = None,
    behavior: BehaviorParams | None = None,
    months: int = 24,
    replications: int = 10,
    seed: int = 42,
    baseline: Policy | None = None,
    workers: int = 1,
    ledger: pd.DataFrame | None = None,
) -> Model:
    """The model of a simulation run, with its population set up.

    Args:
        policy: the policy to simulate.
        population: the members at the start: a `Population`; a member snapshot (one row per
            member, as `store.member_snapshot` returns it); or a number of synthetic members
            drawn with ``seed`` and ``behavior``.
        start: the first simulated day, which is also the population's date. Default: a
            `Population`'s own date; for a snapshot the day after its latest join or
            purchase; for synthetic members today.
        behavior: behavior parameters (default: `DEFAULT_BEHAVIOR`).
        months: calendar months simulated.
        replications: independent replications (P10/P50/P90 across them).
        seed: the run's seed (also draws the synthetic members).
        baseline: a policy simulated with the same random numbers, for incremental revenue
            and ROI.
        workers: processes for replications (the numbers do not depend on it).
        ledger: with a snapshot, the points ledger: balances on ``start`` and the month
            each point was earned come from it (`Population.from_frame`), so points expire
            when their own validity ends.

    Raises:
        ValueError: a negative number of members, a snapshot the population cannot be
            read from, or a `Population` dated other than ``start``.
    """
    behavior = behavior if behavior is not None else DEFAULT_BEHAVIOR
    if isinstance(population, Population):
        members = population
        if start is not None and start != members.as_of:
            raise ValueError(
                f"start(={start}) must be the population's date ({members.as_of}): members"
                " are observed on the day the simulation starts"
            )
    elif isinstance(population, pd.DataFrame):
        members = Population.from_frame(population, as_of=start, ledger=ledger)
    else:
        if int(population) < 0:
            raise ValueError(f"population(={population}) must be 0 or more synthetic members")
        as_of = start if start is not None else dt.date.today()
        members = Population.synthetic(int(population), behavior, seed=seed, as_of=as_of)
        # Their balances come from the policy's own last year (earned, redeemed, expired).
        members = members.with_policy_balances(policy, behavior, seed=seed)
    return Model(
        policy,
        behavior=behavior,
        population=members,
        months=months,
        replications=replications,
        seed=seed,
        start=members.as_of,
        baseline_policy=baseline,
        workers=workers,
    )


def database_population(as_of: dt.date | None = None, url: str | None = None) -> Population:
    """The members in the database on the morning of ``as_of``, points by earn month.

    Args:
        as_of: the snapshot date (default: the day after the data ends, see
            `store.member_snapshot`).
        url: database URL (default: the configured one).
    """
    import store

    snapshot = store.member_snapshot(as_of=as_of, url=url)
    day = snapshot.attrs["as_of"]
    ledger = store.ledger(end=day - dt.timedelta(days=1), url=url)
    return Population.from_frame(snapshot, as_of=day, ledger=ledger)
