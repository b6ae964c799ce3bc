"""Scenarios to simulate, and simulation runs cached by what determines their numbers.

A *scenario* here is a policy under a stable key: the one being edited, a shipped example,
a saved scenario or the live policy; `scenario_label` names
it in the session's language. `simulate` runs the engine once
per distinct (policy content id, baseline id, population, horizon, replications, seed,
behavior) and caches the result as JSON for every session (`RunCache`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
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
    "EDITED",
    "LIVE",
    "RunCache",
    "RunSettings",
    "default_baseline",
    "labels",
    "live_policy",
    "run_cache",
    "picked",
    "population_frame",
    "population_ledger",
    "scenario_label",
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


EDITED = "edited"
LIVE = "live"
"""Keys of the policy being edited and of the live policy among `scenarios`."""


def scenarios() -> dict[str, Policy]:
    """Every policy that can be simulated, by a key that does not depend on the language.

    Keys: ``edited`` (the policy being edited, first), ``example:<file stem>``,
    ``scenario:<saved name>`` and ``live``; `scenario_label` says them in the session's
    language, so a choice made in one language is still found in the other.
    """
    found = [(EDITED, state.policy())]
    found += [(f"example:{name}", load_policy(path)) for name, path in state.examples().items()]
    database.prepare()
    saved = store.list_scenarios()
    for name in list(saved["name"]) if len(saved) else []:
        found.append((f"scenario:{name}", store.load_scenario(name)))
    live = live_policy()
    if live is not None:
        found.append((LIVE, live.policy))
    return dict(found)


def live_policy():
    """The published envelope (version, policy) or None when nothing valid is live."""
    try:
        return load_published(default_target())
    except PolicyError:  # nothing published yet, or a damaged file (Publish page says so)
        return None


def scenario_label(key: str, policy: Policy | None = None, lang: str | None = None) -> str:
    """How the scenario ``key`` is named on screen (``policy`` names the edited one)."""
    kind, _, name = key.partition(":")
    if kind == EDITED:
        return t("runs.edited", lang=lang, name=(policy or state.policy()).program.name)
    if kind == LIVE:
        live = live_policy()
        return t("runs.live", lang=lang, version=live.version if live is not None else "?")
    return t(f"runs.{kind}", lang=lang, name=name)


def labels(keys: list[str]) -> dict[str, str]:
    """The display labels of scenario keys, fixed in the current language (format_func)."""
    return {key: scenario_label(key) for key in keys}


def default_baseline(options: dict[str, Policy]) -> str:
    """What the edited policy is compared with first.

    The live policy, else the example the session started from (the classic program), else
    the first other scenario.
    """
    for key in (LIVE, f"example:{state.DEFAULT_EXAMPLE.removesuffix('.yaml')}"):
        if key in options:
            return key
    return next((key for key in options if key != EDITED), EDITED)


def picked(name: str, options: list, default):
    """The kept choice of widget ``name`` if it is still among ``options``, else ``default``."""
    value = state.choice(name, default)
    return value if value in options else default


def simulation_controls(prefix: str) -> RunSettings:
    """The population, horizon, replications and seed widgets (defaults run in about a second).

    Each widget's value is kept under `state.remember`, so it survives a language switch.
    """
    database.prepare()
    sources = ["synthetic", "database"]
    lang = st.session_state.get("ml_lang")
    c1, c2, c3, c4, c5 = st.columns(5)
    name = f"{prefix}_population"
    population = state.remember(
        name,
        c1.selectbox(
            t("runs.population"),
            sources,
            index=sources.index(picked(name, sources, "synthetic")),
            format_func=lambda value: t(f"runs.population.{value}", lang=lang),
            key=state.choice_key(name),
        ),
    )
    values = {}
    for field, label, low, high, default, step in (
        ("members", "runs.members", 100, 1_000_000, 5_000, 1_000),
        ("months", "runs.months", 1, 60, 24, 1),
        ("reps", "runs.replications", 1, 100, 10, 1),
        ("seed", "runs.seed", 0, None, 42, 1),
    ):
        name = f"{prefix}_{field}"
        column = {"members": c2, "months": c3, "reps": c4, "seed": c5}[field]
        values[field] = state.remember(
            name,
            column.number_input(
                t(label),
                min_value=low,
                max_value=high,
                value=int(state.choice(name, default)),
                step=step,
                key=state.choice_key(name),
                disabled=field == "members" and population == "database",
            ),
        )
    behavior_notice()
    today = dt.date.today()
    return RunSettings(
        population=population,
        members=int(values["members"]),
        months=int(values["months"]),
        replications=int(values["reps"]),
        seed=int(values["seed"]),
        start=dt.date(today.year, today.month, 1),
    )


def behavior_notice() -> None:
    """Say which member behavior the next run uses: the built-in defaults or a calibration.

    A forecast on the defaults is not an estimate from the user's data, so the controls say
    so every time rather than leaving it to be guessed (no silent fallback); the response to
    the reward rate is assumed even after a calibration, and said to be.
    """
    from simulations.behavior import DEFAULT_BEHAVIOR

    behavior = st.session_state.get(BEHAVIOR)
    key = "runs.behavior_calibrated" if behavior is not None else "runs.behavior_default"
    st.caption(t(key, page=t("page.data_calibration")))
    # Calibrated or not, the reward-rate response is an assumption: say so every time.
    lift = (behavior or DEFAULT_BEHAVIOR).effects.reward_rate_lift
    st.caption(t("runs.behavior_assumed", pct=f"{100 * lift:g}"))


def used_default_behavior(result) -> bool:
    """Whether a run's result was simulated with the built-in default behavior."""
    from simulations.behavior import BehaviorParams

    recorded = (result.inputs or {}).get("behavior")
    if recorded is None:
        return False  # a result stored before runs recorded their behavior: unknown
    return BehaviorParams.model_validate(recorded).source == "default"


def population_frame(settings: RunSettings) -> pd.DataFrame | None:
    """The members' latest snapshot from the database, or None for a synthetic population."""
    if settings.population != "database":
        return None
    return database.snapshot(None)


def population_ledger(settings: RunSettings) -> pd.DataFrame | None:
    """The points ledger behind the snapshot's balances (cached), or None when synthetic.

    The engine holds each member's points by the month they were earned from it, so they
    expire when their own validity ends (not spread evenly over the last 12 months).
    """
    if settings.population != "database":
        return None
    return database.ledger()


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
    ledger: pd.DataFrame | None,
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
        ledger=ledger,
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
        ledger = population_ledger(settings)  # read only for a run not in the cache
        text = _run(policy, baseline, settings, snapshot, ledger, behavior_json, progress)
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
            # A KPI undefined for this run (NaN: the ROI of a scenario equal to its baseline)
            # is recorded as null, not refused.
            results={
                kpi: {q: v if math.isfinite(v) else None for q, v in band.items()}
                for kpi, band in result.kpis.items()
            },
            scenario_name=scenario,
        )
    except (store.StoreError, ValueError, TypeError) as exc:  # a record, not the result
        st.warning(t("simulate.not_recorded", error=exc))
