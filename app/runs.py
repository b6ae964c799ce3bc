"""Scenarios to simulate, and simulation runs cached by what determines their numbers.

A *scenario* here is a labelled policy: the one being edited, a shipped example, a saved
scenario or the live policy. `simulate` runs the engine once
per distinct (policy content id, baseline id, population, horizon, replications, seed,
behavior) and caches the result as JSON for every session (`RunCache`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

import store
from app import database, state
from app.i18n import t
from policies import Policy, PolicyError, content_id, load_policy
from policies.publish import default_target, load_published

__all__ = [
    "RunCache",
    "RunSettings",
    "run_cache",
    "population_frame",
    "scenarios",
    "simulate",
    "simulation_controls",
]

BEHAVIOR = "ml_behavior"
"""Session key of calibrated behavior parameters (set on the Data & calibration page)."""


@dataclass(frozen=True)
class RunSettings:
    """What a simulation run needs besides the policies."""

    population: str  # "synthetic" or "database"
    members: int
    months: int
    replications: int
    seed: int
    start: dt.date


def scenarios() -> dict[str, Policy]:
    """Every policy that can be simulated, by display label (the edited one first)."""
    found = [(t("runs.edited", name=state.policy().program.name), state.policy())]
    found += [
        (t("runs.example", name=name), load_policy(path)) for name, path in state.examples().items()
    ]
    database.prepare()
    saved = store.list_scenarios()
    for name in list(saved["name"]) if len(saved) else []:
        found.append((t("runs.scenario", name=name), store.load_scenario(name)))
    try:
        live = load_published(default_target())
    except PolicyError:  # nothing published yet, or a damaged file (Publish page says so)
        live = None
    if live is not None:
        found.append((t("runs.live", version=live.version), live.policy))
    return dict(found)


def simulation_controls(prefix: str) -> RunSettings:
    """The population, horizon, replications and seed widgets (defaults run in about a second)."""
    database.prepare()
    sources = ["synthetic", "database"]
    c1, c2, c3, c4, c5 = st.columns(5)
    population = c1.selectbox(
        t("runs.population"),
        sources,
        format_func=lambda value, lang=st.session_state.get("ml_lang"): t(
            f"runs.population.{value}", lang=lang
        ),
        key=f"{prefix}_population",
    )
    members = c2.number_input(
        t("runs.members"),
        min_value=100,
        max_value=1_000_000,
        value=5_000,
        step=1_000,
        key=f"{prefix}_members",
        disabled=population == "database",
    )
    months = c3.number_input(
        t("runs.months"), min_value=1, max_value=60, value=24, key=f"{prefix}_months"
    )
    replications = c4.number_input(
        t("runs.replications"), min_value=1, max_value=100, value=10, key=f"{prefix}_reps"
    )
    seed = c5.number_input(t("runs.seed"), min_value=0, value=42, step=1, key=f"{prefix}_seed")
    today = dt.date.today()
    return RunSettings(
        population=population,
        members=int(members),
        months=int(months),
        replications=int(replications),
        seed=int(seed),
        start=dt.date(today.year, today.month, 1),
    )


def population_frame(settings: RunSettings) -> pd.DataFrame | None:
    """The members' latest snapshot from the database, or None for a synthetic population."""
    if settings.population != "database":
        return None
    return database.snapshot(None)


def _month_after_data(snapshot: pd.DataFrame) -> dt.date:
    """The first day of the month after the snapshot's last join or purchase."""
    dates = [
        pd.to_datetime(snapshot[c], errors="coerce").max()
        for c in ("join_date", "last_purchase")
        if c in snapshot
    ]
    latest = max((d for d in dates if pd.notna(d)), default=pd.Timestamp.today()).date()
    return dt.date(latest.year + latest.month // 12, latest.month % 12 + 1, 1)


class RunCache:
    """Finished runs as JSON text, least recently used dropped first; safe across threads.

    ``st.cache_data`` cannot hold these: the engine reports progress to an ``st.progress``
    bar while it runs, and Streamlit refuses to replay a cached function that drew on a
    block created outside it. Like ``st.cache_data``, every caller parses its own copy.
    """

    def __init__(self, max_entries: int = 64):
        self.max_entries = max_entries
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        """The cached text for ``key``, or None."""
        with self._lock:
            text = self._texts.get(key)
            if text is not None:
                self._texts.move_to_end(key)
            return text

    def put(self, key: str, text: str) -> None:
        """Keep ``text`` under ``key``."""
        with self._lock:
            self._texts[key] = text
            self._texts.move_to_end(key)
            while len(self._texts) > self.max_entries:
                self._texts.popitem(last=False)


@st.cache_resource
def run_cache() -> RunCache:
    """The run cache shared by every session of this server."""
    return RunCache()


def _run(
    policy: Policy,
    baseline: Policy | None,
    settings: RunSettings,
    snapshot: pd.DataFrame | None,
    behavior_json: str | None,
    progress: Callable[[float, str], None] | None,
) -> str:
    from simulations.behavior import BehaviorParams
    from simulations.build import build_model

    behavior = BehaviorParams.model_validate_json(behavior_json) if behavior_json else None
    model = build_model(
        policy,
        population=snapshot if snapshot is not None else settings.members,
        start=settings.start,
        behavior=behavior,
        months=settings.months,
        replications=settings.replications,
        seed=settings.seed,
        baseline=baseline,
    )
    return model.run(progress=progress).to_json()


def simulate(
    policy: Policy,
    settings: RunSettings,
    baseline: Policy | None = None,
    progress: Callable[[float, str], None] | None = None,
    scenario: str | None = None,
):
    """Run (or fetch from the cache) one simulation; returns a `SimulationResult`.

    A new run is also recorded in the database (inputs, seed and headline KPIs) under the
    ``scenario`` label.
    """
    import simulations

    snapshot = population_frame(settings)
    if snapshot is not None:  # forecast from where the data ends
        settings = dataclasses.replace(settings, start=_month_after_data(snapshot))
    behavior = st.session_state.get(BEHAVIOR)
    behavior_json = behavior.model_dump_json() if behavior is not None else None
    parts = {
        "policy": content_id(policy),
        "baseline": content_id(baseline) if baseline is not None else None,
        "settings": [settings.population, settings.members, settings.months],
        "more": [settings.replications, settings.seed, settings.start.isoformat()],
        "snapshot": (
            hashlib.sha256(pd.util.hash_pandas_object(snapshot).to_numpy().tobytes()).hexdigest()
            if snapshot is not None
            else None
        ),
        "behavior": behavior_json,
    }
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    cache = run_cache()
    text = cache.get(key)
    if text is None:
        text = _run(policy, baseline, settings, snapshot, behavior_json, progress)
        cache.put(key, text)
        result = simulations.SimulationResult.from_json(text)
        _record(result, scenario)
        return result
    return simulations.SimulationResult.from_json(text)


def _record(result, scenario: str | None) -> None:
    """Keep the run's inputs and headline KPIs in the database (when there is one)."""
    database.prepare()
    try:
        store.record_simulation_run(
            policy_id=result.policy_id,
            inputs=dict(result.inputs),
            seed=result.seed,
            results={kpi: dict(band) for kpi, band in result.kpis.items()},
            scenario_name=scenario,
        )
    except (store.StoreError, ValueError, TypeError) as exc:  # a record, not the result
        st.warning(t("simulate.not_recorded", error=exc))
