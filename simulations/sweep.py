"""Policy sweeps and searches: many simulations of one policy template.

A *sweep* simulates every point of a grid of policy fields (e.g. the Gold threshold, the earn
rate, the member-day multiplier) and returns a tidy table of KPIs with P10/P50/P90 across
replications. A *search* lets Optuna propose points to maximise (or minimise) one KPI under
constraints on others, or to trace the Pareto front of two KPIs, and returns the best policy
as a policy file.

The data model:

* `SweepSpec` (read from YAML): the template policy, the baseline the incremental KPIs are
  measured against (the template itself unless told otherwise), the population, horizon,
  replications and seed, and one `ParameterRange` per policy field path.
* A field path names a field of the policy document, with list items picked by position or
  by their ``name``/``id``: ``tiers.tiers[Gold].threshold``,
  ``campaigns[member-day].points_multiplier``, ``points.earn.points_per_unit``.
* Every point is simulated with the *same* seed and population, so points differ only by
  the policy (common random numbers, Law 2015 §11.2): a difference between two points is
  the policy's effect, not noise. The results do not depend on where points run (this
  process or a Dask cluster): each point is a pure function of the spec and its values.
* A search asks its sampler for a fixed ``batch`` of points at a time, so the sequence of
  points (and the best policy) is the same whatever the number of workers.

Finished points are stored in the database as simulation runs named after the spec's
content id; a sweep restarted with the same spec skips them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from policies.errors import PolicyValidationError
from policies.io import content_id, load_policy, policy_from_dict, policy_to_dict
from policies.model import Policy
from simulations import finance
from simulations.responses import CAVEAT_COLUMN, caveat, with_caveat
from simulations.results import PROFIT_KPIS

__all__ = [
    "Constraint",
    "Objective",
    "ParameterRange",
    "SearchResult",
    "SearchSpec",
    "Setup",
    "SweepError",
    "SweepSpec",
    "apply_overrides",
    "evaluate_point",
    "grid_points",
    "load_spec",
    "numeric_fields",
    "run_search",
    "run_sweep",
]

Progress = Callable[[float, str], None]


class SweepError(ValueError):
    """A sweep or search spec that cannot be run, with what would be valid."""


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ParameterRange(_Spec):
    """The values one policy field takes: a list, or ``low``..``high`` with a ``step``.

    In a sweep a range needs ``values`` or a ``step`` (the grid). In a search, ``low`` and
    ``high`` without a step are searched continuously (``log: true`` on a log scale).
    """

    values: tuple[float | int | str | bool, ...] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = Field(default=None, gt=0)
    log: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> ParameterRange:
        if self.values is not None:
            if self.low is not None or self.high is not None or self.step is not None:
                raise ValueError("give either values or low/high(/step), not both")
            if not self.values:
                raise ValueError("values must not be empty")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give values: [...] or both low and high")
        for name in ("low", "high", "step"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name}(={value}) must be a finite number")
        if self.high < self.low:
            raise ValueError(f"high(={self.high}) must be >= low(={self.low})")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low(={self.low}) > 0")
        if self.step is not None and (self.high - self.low) / self.step > 10_000:
            raise ValueError(
                f"low..high with step {self.step} makes more than 10,000 values; use a larger step"
            )
        return self

    @property
    def is_integer(self) -> bool:
        """Whether the range only holds whole numbers (searched as integers)."""
        bounds = [self.low, self.high] + ([self.step] if self.step is not None else [])
        return self.values is None and all(float(b).is_integer() for b in bounds)

    def grid(self) -> list:
        """The values a sweep takes (``low``, ``low + step``, ... up to ``high``)."""
        if self.values is not None:
            return list(self.values)
        if self.step is None:
            raise SweepError("a sweep range needs values: [...] or a step (low/high/step)")
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        out = [self.low + i * self.step for i in range(count)]
        if self.is_integer:
            return [int(round(v)) for v in out]
        return [round(v, 12) for v in out]


class Constraint(_Spec):
    """A bound on a KPI's P50: ``metric`` at most ``max`` and/or at least ``min``."""

    metric: str
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Constraint:
        if self.max is None and self.min is None:
            raise ValueError(f"constraint on {self.metric!r} needs max or min")
        return self

    def violation(self, value: float) -> float:
        """How far ``value`` is outside the bounds (<= 0 when the constraint holds)."""
        if not math.isfinite(value):
            return math.inf
        out = -math.inf
        if self.max is not None:
            out = max(out, value - self.max)
        if self.min is not None:
            out = max(out, self.min - value)
        return out


class Objective(_Spec):
    """The KPI a search optimises (its P50 across replications)."""

    metric: str
    direction: Literal["maximize", "minimize"] = "maximize"


class SearchSpec(_Spec):
    """What a search optimises: one objective (constrained TPE) or two (NSGA-II front)."""

    objectives: tuple[Objective, ...] = Field(min_length=1, max_length=2)
    constraints: tuple[Constraint, ...] = ()
    trials: int = Field(default=30, ge=1, le=10_000)
    batch: int = Field(default=4, ge=1, le=256)
    seed: int = Field(default=0, ge=0)


class PopulationSpec(_Spec):
    """Who is simulated: ``members`` synthetic members, or the members in the database."""

    source: Literal["synthetic", "database"] = "synthetic"
    members: int = Field(default=20_000, ge=1, le=5_000_000)


class SweepSpec(_Spec):
    """A sweep (and, with ``search``, a search) over one policy template."""

    policy: str
    baseline: str | None = "template"
    behavior: str | None = None
    population: PopulationSpec = PopulationSpec()
    months: int = Field(default=24, ge=1, le=240)
    replications: int = Field(default=10, ge=1, le=1_000)
    seed: int = Field(default=42, ge=0)
    start: dt.date | None = None
    parameters: dict[str, ParameterRange] = Field(min_length=1)
    search: SearchSpec | None = None
    base_dir: str = Field(default=".", exclude=True)

    @field_validator("parameters")
    @classmethod
    def _paths(cls, value: dict[str, ParameterRange]) -> dict[str, ParameterRange]:
        for path in value:
            _parse_path(path)
        return value

    def resolve(self, name: str) -> Path:
        """A path in the spec, relative to the spec file's folder."""
        path = Path(name)
        return path if path.is_absolute() else Path(self.base_dir) / path


def load_spec(path: str | Path) -> SweepSpec:
    """Read a sweep/search spec from YAML (paths in it are relative to the file).

    Raises:
        SweepError: the file cannot be read or the spec is not valid (the message names the
            field).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SweepError(f"{path}: cannot read the spec ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise SweepError(f"{path}: a spec is a mapping (policy:, parameters:, ...)")
    try:
        return SweepSpec.model_validate({**data, "base_dir": str(path.parent)})
    except ValueError as exc:
        raise SweepError(f"{path}: {_short_errors(exc)}") from None


def _short_errors(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for error in errors()[:10]:
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


# -- Field paths ---------------------------------------------------------------------------

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<key>[^\]]+)\])?$")


def _parse_path(path: str) -> list[tuple[str, str | None]]:
    segments = []
    for part in path.split("."):
        match = _SEGMENT.match(part.strip())
        if match is None:
            raise ValueError(
                f"parameter path {path!r}: {part!r} is not a field name (optionally with [index]"
                " or [name]), e.g. tiers.tiers[Gold].threshold"
            )
        segments.append((match["name"], match["key"]))
    return segments


def _pick(items: list, key: str, path: str) -> int:
    if re.fullmatch(r"-?\d+", key):
        index = int(key)
        if -len(items) <= index < len(items):
            return index % len(items)
        raise SweepError(f"{path}: [{key}] is out of range (the list has {len(items)} items)")
    for i, item in enumerate(items):
        if isinstance(item, dict) and key in (item.get("name"), item.get("id")):
            return i
    names = [str(item.get("name") or item.get("id")) for item in items if isinstance(item, dict)]
    raise SweepError(f"{path}: no item named {key!r}; known: {', '.join(names)}")


def check_paths(policy: Policy, paths: Iterable[str]) -> None:
    """Check that every path names a field of ``policy`` (before anything is simulated).

    Raises:
        SweepError: a path names no field, naming the fields that exist there.
    """
    document = policy_to_dict(policy)
    for path in paths:
        _locate(document, path)


def _locate(document: dict, path: str) -> tuple[Any, str | int]:
    """The container holding the field a path names, and the field's key or index."""
    node: Any = document
    segments = _parse_path(path)
    for depth, (name, key) in enumerate(segments):
        last = depth == len(segments) - 1
        if not isinstance(node, dict) or name not in node:
            known = ", ".join(sorted(node)) if isinstance(node, dict) else "none"
            raise SweepError(f"{path}: the policy has no field {name!r} here; known: {known}")
        if key is None:
            if last:
                return node, name
            node = node[name]
            continue
        items = node[name]
        if not isinstance(items, list):
            raise SweepError(f"{path}: {name!r} is not a list, so [{key}] does not apply")
        index = _pick(items, key, path)
        if last:
            return items, index
        node = items[index]
    raise SweepError(f"{path}: empty path")  # pragma: no cover - _parse_path refuses it


def apply_overrides(policy: Policy, overrides: dict[str, Any]) -> Policy:
    """The policy with the fields named by ``overrides`` (path -> value) replaced.

    Raises:
        SweepError: a path names no field of the policy, or the changed policy is not valid
            (the message gives the point and the policy's own validation message).
    """
    document = policy_to_dict(policy)
    for path, value in overrides.items():
        container, key = _locate(document, path)
        container[key] = value
    try:
        return policy_from_dict(document, source="sweep point")
    except PolicyValidationError as exc:
        shown = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
        raise SweepError(f"the point {shown} makes an invalid policy: {exc}") from None


def numeric_fields(policy: Policy) -> dict[str, float]:
    """Every number of the policy a sweep can vary: path -> its current value.

    List items are named by their ``name`` or ``id`` when they have one (``tiers.tiers[Gold]
    .threshold``), else by position; booleans and the schema version are left out.
    """
    found: dict[str, float] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else key)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                label = (item.get("id") or item.get("name")) if isinstance(item, dict) else None
                plain = label and not set(str(label)) & set(".[]")
                walk(item, f"{prefix}[{label if plain else i}]")
        elif isinstance(node, int | float) and not isinstance(node, bool):
            found[prefix] = node

    walk(policy_to_dict(policy), "")
    found.pop("schema_version", None)
    return found


def grid_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every combination of the parameters' grid values, in a stable order."""
    names = list(spec.parameters)
    grids = [spec.parameters[name].grid() for name in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grids)]


# -- One point -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """Everything a point needs besides its values (pickled once to each worker).

    The population's date is the first simulated day. Build one with `build_setup` (from a
    spec's files) or directly (the app passes the policy being edited). Each process keeps,
    with its copy of the set-up, what each replication's members start with before the
    policy applies (`simulations.engine.MemberStarts`): every point has the same population
    and seeds, so a process draws it once per replication, not once per point.
    """

    template: Policy
    baseline: Policy | None
    behavior: Any
    population: Any
    months: int
    replications: int
    seed: int
    _starts: Any = field(default=None, init=False, compare=False, repr=False)

    @property
    def starts(self):
        """This process's `simulations.engine.MemberStarts` for the set-up (pickled empty)."""
        if self._starts is None:
            from simulations.engine import MemberStarts

            object.__setattr__(self, "_starts", MemberStarts())
        return self._starts


def _point_key(overrides: dict[str, Any]) -> str:
    return json.dumps(overrides, sort_keys=True, separators=(",", ":"), default=str)


def _model(setup: Setup, policy: Policy):
    """The model of one point: ``policy`` on the set-up's population, seed and horizon."""
    from simulations.build import build_model

    return build_model(
        policy,
        population=setup.population,
        behavior=setup.behavior,
        months=setup.months,
        replications=setup.replications,
        seed=setup.seed,
        baseline=setup.baseline,
    )


def _record(setup: Setup, overrides: dict[str, Any], policy: Policy, result) -> dict[str, Any]:
    """A point's record: its values, policy id, KPI bands and each replication's KPIs.

    With the policy's gross margin (``margins``) the profit KPIs come too (gross profit after
    the program's cost; against the baseline, incremental gross profit and ROI on profit:
    `simulations.finance.profit_by_replication`), so a search can maximise profit rather
    than revenue, which flatters every generous plan.
    """
    per_replication = result.kpis_by_replication()
    kpis = dict(result.kpis)
    if policy.margins is not None:
        base = setup.baseline.margins if setup.baseline is not None else None
        profit = finance.profit_by_replication(
            result.monthly,
            policy.margins.gross_margin_pct,
            baseline_margin_pct=None if base is None else base.gross_margin_pct,
        )
        for declared in PROFIT_KPIS:
            if declared.name in profit:
                values = profit[declared.name].reindex(per_replication.index)
                per_replication[declared.name] = values
                kpis[declared.name] = finance.band(values)
    return {
        "values": overrides,
        "policy_id": content_id(policy),
        "kpis": {k: {q: _finite(x) for q, x in v.items()} for k, v in kpis.items()},
        "replications": {
            column: [_finite(x) for x in per_replication[column].astype(float)]
            for column in per_replication.columns
        },
    }


def evaluate_point(setup: Setup, overrides: dict[str, Any]) -> dict[str, Any]:
    """Simulate one point: KPI -> {p10, p50, p90} and each replication's KPI values.

    A pure function of its arguments (the same in this process or on a cluster worker).
    An invalid point returns ``{"error": message}`` instead of failing the whole sweep.
    A sweep splits the same work into replications (`_Runner`) and simulates the baseline
    once for all its points; the records are the same.
    """
    try:
        policy = apply_overrides(setup.template, overrides)
    except SweepError as exc:
        return {"values": overrides, "error": str(exc)}
    return _record(setup, overrides, policy, _model(setup, policy).run())


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# -- Where points run ----------------------------------------------------------------------


def _replicate(setup: Setup, overrides: dict[str, Any] | None, replication: int):
    """Replication ``replication`` of a point (of the baseline when ``overrides`` is None)."""
    if overrides is None:
        model = _model(setup, setup.baseline)
        return model.replicate(replication, baseline=True, starts=setup.starts)
    policy = apply_overrides(setup.template, overrides)
    return _model(setup, policy).replicate(replication, starts=setup.starts)


def _replicate_in_worker(overrides: dict[str, Any] | None, replication: int):
    """`_replicate` on the set-up this worker process was given."""
    from simulations.engine import worker_context

    return _replicate(worker_context(), overrides, replication)


def _point_record(
    setup: Setup, overrides: dict[str, Any], scenario: Sequence, baseline: Sequence | None
) -> dict[str, Any]:
    """The record of a point from its replications and the baseline's (as `evaluate_point`)."""
    policy = apply_overrides(setup.template, overrides)
    result = _model(setup, policy).result(
        list(scenario), None if setup.baseline is None else list(baseline)
    )
    return _record(setup, overrides, policy, result)


# Below this many member-days a sweep runs in this process: starting worker processes would
# cost more than they save (about a CPU-second of simulation).
_POOL_MEMBER_DAYS = 100_000_000


class _Runner:
    """Runs points on local worker processes, in this process, or on a Dask cluster.

    The unit of work is one replication of one point, so a sweep of few points with many
    replications keeps every core busy too, and the baseline's replications are simulated
    once for the whole sweep or search rather than once per point: with common random
    numbers every point's baseline is the same. Each replication is a pure function of the
    set-up, the point and its number, so the records do not depend on where they ran. The
    set-up (with its population) goes to each worker process once; workers stay up (the
    compiled kernel loaded) until the runner is closed. Use it as a context manager.
    """

    def __init__(self, setup: Setup, client=None, processes: int | None = None):
        self.setup = setup
        self.client = client
        self.processes = processes
        self._pool = None
        self._baseline: list | None = None  # the baseline's outputs (or futures on a cluster)
        self._remote_setup = None
        if client is not None:
            # One copy of the population per worker, not one per task.
            self._remote_setup = client.scatter(setup, broadcast=True, hash=False)

    def __enter__(self) -> _Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the local worker processes (queued work is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, points: Sequence[dict[str, Any]], on_done: Callable[[int, dict], None]) -> None:
        """Simulate ``points``; ``on_done(index, record)`` as each point finishes."""
        valid = []
        for j, point in enumerate(points):
            try:
                apply_overrides(self.setup.template, point)
            except SweepError as exc:
                on_done(j, {"values": point, "error": str(exc)})
            else:
                valid.append(j)
        if not valid:
            return
        if self.client is not None:
            self._map_cluster(points, valid, on_done)
        else:
            self._map_local(points, valid, on_done)

    def _runs(self, valid: list[int]) -> list[tuple[int | None, int]]:
        """(point index, or None for the baseline; replication) still to simulate."""
        reps = range(self.setup.replications)
        runs: list[tuple[int | None, int]] = []
        if self.setup.baseline is not None and self._baseline is None:
            runs += [(None, i) for i in reps]
        return runs + [(j, i) for j in valid for i in reps]

    def _local_pool(self, runs: int):
        """The worker processes for ``runs`` replications (None: run them in this process)."""
        if self._pool is not None:
            return self._pool
        from simulations.engine import _cores, worker_pool

        processes = self.processes
        if processes is None:
            population = self.setup.population
            work = len(population) * self.setup.months * 30.4 * runs
            processes = _cores() if work >= _POOL_MEMBER_DAYS else 1
        processes = min(processes, runs)
        if processes > 1:
            self._pool = worker_pool(processes, self.setup)
        return self._pool

    def _completed(self, points, runs):
        """Yield (run, output) as replications finish, here or on the worker processes."""
        pool = self._local_pool(len(runs))
        if pool is None:
            for j, i in runs:
                yield (j, i), _replicate(self.setup, None if j is None else points[j], i)
            return
        from concurrent.futures import as_completed

        futures = {
            pool.submit(_replicate_in_worker, None if j is None else points[j], i): (j, i)
            for j, i in runs
        }
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:  # interrupted or failed: drop what has not started
            for future in futures:
                future.cancel()

    def _map_local(self, points, valid: list[int], on_done) -> None:
        reps = self.setup.replications
        runs = self._runs(valid)
        baseline = self._baseline
        if self.setup.baseline is not None and baseline is None:
            baseline = [None] * reps
        scenario: dict[int, list] = {j: [None] * reps for j in valid}

        def ready(j: int) -> bool:
            return all(o is not None for o in scenario[j]) and (
                baseline is None or all(o is not None for o in baseline)
            )

        for (j, i), output in self._completed(points, runs):
            if j is None:
                baseline[i] = output
                finished = [k for k in scenario if ready(k)]
            else:
                scenario[j][i] = output
                finished = [j] if ready(j) else []
            if baseline is not None and all(o is not None for o in baseline):
                self._baseline = baseline
            for k in finished:
                on_done(k, _point_record(self.setup, points[k], scenario.pop(k), baseline))

    def _map_cluster(self, points, valid: list[int], on_done) -> None:
        from distributed import as_completed

        client, remote = self.client, self._remote_setup
        reps = list(range(self.setup.replications))
        if self.setup.baseline is not None and self._baseline is None:
            self._baseline = client.map(
                _replicate, [remote] * len(reps), [None] * len(reps), reps, pure=False
            )
        records: dict[str, int] = {}
        futures = []
        for j in valid:
            scenario = client.map(
                _replicate, [remote] * len(reps), [points[j]] * len(reps), reps, pure=False
            )
            # The record is made where the replications are: only it comes back.
            record = client.submit(
                _point_record, remote, points[j], scenario, self._baseline, pure=False
            )
            records[record.key] = j
            futures.append(record)
        for future in as_completed(futures):
            on_done(records[future.key], future.result())


def connect(address: str | None):
    """A Dask client for ``address`` (``tcp://host:8786``), or None for local cores."""
    if not address:
        return None
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - dask is a declared dependency
        raise SweepError("running on a cluster needs dask[distributed] installed") from exc
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise SweepError(
            f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc}); "
            "start one with `dask scheduler` and workers with `dask worker ADDRESS`"
        ) from None


def build_setup(spec: SweepSpec, population=None) -> Setup:
    """Load the template, baseline, behavior and population a spec names."""
    from simulations.behavior import DEFAULT_BEHAVIOR, load_behavior
    from simulations.population import Population

    try:
        template = load_policy(spec.resolve(spec.policy))
        if spec.baseline in (None, "none"):
            baseline = None
        elif spec.baseline == "template":
            baseline = template
        else:
            baseline = load_policy(spec.resolve(spec.baseline))
    except (OSError, PolicyValidationError) as exc:
        raise SweepError(f"policy: {exc}") from None
    try:
        behavior = load_behavior(spec.resolve(spec.behavior)) if spec.behavior else DEFAULT_BEHAVIOR
    except (OSError, ValueError) as exc:
        raise SweepError(f"behavior: {spec.behavior} is not a valid behavior file: {exc}") from None
    check_paths(template, spec.parameters)
    start = spec.start
    if population is None:
        if spec.population.source == "database":
            import store
            from simulations.build import database_population

            store.ensure_database()
            population = database_population(as_of=start)
        else:
            population = Population.synthetic(
                spec.population.members, behavior, seed=spec.seed, as_of=start or dt.date.today()
            )
    return Setup(
        template=template,
        baseline=baseline,
        behavior=behavior,
        population=population,
        months=spec.months,
        replications=spec.replications,
        seed=spec.seed,
    )


def spec_id(spec: SweepSpec, setup: Setup) -> str:
    """Content id of what a spec simulates (template, baseline, behavior, population, grid)."""
    document = {
        "template": content_id(setup.template),
        "baseline": content_id(setup.baseline) if setup.baseline is not None else None,
        "behavior": setup.behavior.model_dump(mode="json"),
        "population": setup.population.describe(),
        "months": setup.months,
        "replications": setup.replications,
        "seed": setup.seed,
        "start": setup.population.as_of.isoformat(),
        "parameters": {k: v.model_dump(mode="json") for k, v in spec.parameters.items()},
        "search": spec.search.model_dump(mode="json") if spec.search else None,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# -- Stored points (resume) ----------------------------------------------------------------


class _PointStore:
    """Finished points kept in the database as simulation runs named ``sweep <spec id>``."""

    def __init__(
        self, sweep_id: str, enabled: bool, notice: Callable[[str], None], caveat: str = ""
    ):
        self.name = f"sweep {sweep_id[:16]}"
        self.sweep_id = sweep_id
        self.caveat = caveat  # kept with each point: fields members do not respond to
        self.enabled = enabled
        self.notice = notice
        self.done: dict[str, dict] = {}
        if not enabled:
            return
        try:
            import store

            store.migrate()
            runs = store.list_simulation_runs(scenario_name=self.name, limit=100_000)
        except Exception as exc:  # the database is optional for a sweep: say so, go on
            self.enabled = False
            notice(
                f"finished points are not stored ({type(exc).__name__}: {exc}); an interrupted "
                "sweep will start again from the first point"
            )
            return
        for inputs, results in zip(runs["inputs"], runs["results"], strict=True):
            if inputs.get("sweep") == sweep_id:
                self.done[inputs["point"]] = results

    def save(self, key: str, record: dict) -> None:
        if not self.enabled or "error" in record:
            return
        import store

        store.record_simulation_run(
            record["policy_id"],
            {"sweep": self.sweep_id, "point": key}
            | ({CAVEAT_COLUMN: self.caveat} if self.caveat else {}),
            seed=0,
            results=record,
            scenario_name=self.name,
        )


# -- Sweep ---------------------------------------------------------------------------------


def _records(point_index: int, record: dict, parameters: Iterable[str]) -> list[dict]:
    from simulations.results import KPI_UNITS

    base = {"point": point_index, **{p: record["values"][p] for p in parameters}}
    if "error" in record:
        return [
            {
                **base,
                "kpi": None,
                "unit": None,
                "p10": None,
                "p50": None,
                "p90": None,
                "error": record["error"],
            }
        ]
    return [
        {**base, "kpi": kpi, "unit": KPI_UNITS.get(kpi, ""), **bands, "error": None}
        for kpi, bands in record["kpis"].items()
    ]


def run_sweep(
    spec: SweepSpec,
    client=None,
    progress: Progress | None = None,
    store_points: bool = True,
    notice: Callable[[str], None] = print,
    setup: Setup | None = None,
    processes: int | None = None,
) -> pd.DataFrame:
    """Simulate every grid point; a tidy table point, <parameters...>, kpi, unit, p10..p90.

    The table's ``no_behavior_response`` column says, in English and Chinese, which of the
    fields varied the simulated members do not respond to (`simulations.responses`).

    Args:
        spec: the sweep.
        client: a Dask client (points run on its workers) or None (this process).
        progress: optional callable(done_fraction, message).
        store_points: keep finished points in the database and skip them on a restart.
        notice: where messages a user must see go (e.g. that points are not stored).
        setup: a prepared set-up (tests and the app reuse one population).
        processes: worker processes on this machine without a client (default: one per
            core, or none for a sweep too small to pay for starting them); the table is the
            same whatever the number.
    """
    setup = setup or build_setup(spec)
    points = grid_points(spec)
    sweep_id = spec_id(spec, setup)
    said = [caveat(spec.parameters, lang, setup.template) for lang in ("en", "zh")]
    stored = _PointStore(sweep_id, store_points, notice, " / ".join(filter(None, said)))
    results: list[dict | None] = [None] * len(points)
    todo = []
    for i, point in enumerate(points):
        key = _point_key(point)
        if key in stored.done:
            results[i] = stored.done[key]
        else:
            todo.append(i)
    skipped = len(points) - len(todo)
    if skipped:
        notice(f"{skipped} of {len(points)} points already simulated for this spec; skipping them")
    finished = skipped

    def on_done(j: int, record: dict) -> None:
        nonlocal finished
        i = todo[j]
        results[i] = record
        stored.save(_point_key(points[i]), record)
        finished += 1
        if progress is not None:
            progress(finished / len(points), f"point {finished} of {len(points)}")

    with _Runner(setup, client, processes) as runner:
        runner.map([points[i] for i in todo], on_done)
    rows = []
    for i, record in enumerate(results):
        rows.extend(_records(i, record, spec.parameters))
    return with_caveat(pd.DataFrame(rows), spec.parameters, setup.template)


# -- Search --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """The outcome of `run_search`.

    Attributes:
        trials: one row per trial: trial, <parameters...>, each objective/constraint KPI's
            p10/p50/p90, ``feasible`` (every constraint holds at P50), ``constraint_share``
            (share of replications in which every constraint holds), ``error``,
            ``no_behavior_response`` (as in `run_sweep`).
        best: the best feasible trial's row (single objective), or None if none is feasible.
        front: the Pareto-optimal feasible trials (two objectives; for one, the best).
        best_policy: the best trial's policy (None when nothing is feasible).
    """

    trials: pd.DataFrame
    best: dict | None
    front: pd.DataFrame
    best_policy: Policy | None


def _suggest(trial, name: str, rng: ParameterRange):
    if rng.values is not None:
        return trial.suggest_categorical(name, list(rng.values))
    if rng.is_integer:
        step = int(rng.step) if rng.step else 1
        return trial.suggest_int(name, int(rng.low), int(rng.high), step=step, log=rng.log)
    return trial.suggest_float(name, rng.low, rng.high, step=rng.step, log=rng.log)


def _constraint_share(record: dict, constraints: Sequence[Constraint]) -> float:
    if not constraints:
        return 1.0
    columns = record["replications"]
    n = len(next(iter(columns.values())))
    ok = np.ones(n, dtype=bool)
    for c in constraints:
        values = np.array([np.nan if v is None else v for v in columns.get(c.metric, [None] * n)])
        with np.errstate(invalid="ignore"):
            holds = np.isfinite(values)
            if c.max is not None:
                holds &= values <= c.max
            if c.min is not None:
                holds &= values >= c.min
        ok &= holds
    return float(ok.mean())


def _p50(record: dict, metric: str) -> float:
    if metric not in record.get("kpis", {}):
        known = ", ".join(sorted(record.get("kpis", {})))
        if metric in {declared.name for declared in PROFIT_KPIS}:
            raise SweepError(
                f"{metric!r} needs the policy's gross margin: set margins.gross_margin_pct in"
                f" the template policy (e.g. margins: {{gross_margin_pct: 35}}); known: {known}"
            )
        raise SweepError(f"the simulation reports no KPI {metric!r}; known: {known}")
    value = record["kpis"][metric]["p50"]
    return float("nan") if value is None else float(value)


def run_search(
    spec: SweepSpec,
    client=None,
    progress: Progress | None = None,
    setup: Setup | None = None,
    processes: int | None = None,
) -> SearchResult:
    """Search the parameter ranges for the best policy under the spec's constraints.

    One objective: Optuna's TPE sampler, told each trial's constraint violations (Watanabe & Hutter
    2023, c-TPE);
    two: NSGA-II (Deb et al. 2002) tracing the Pareto front. Trials are asked ``batch`` at a
    time and evaluated on local cores or the Dask cluster, then told in trial order, so the
    search is the same whatever runs it.

    ``processes`` is as for `run_sweep`.

    Raises:
        SweepError: the spec has no ``search`` section or names an unknown KPI.
    """
    if spec.search is None:
        raise SweepError("a search needs a search: section (objectives, constraints, trials)")
    search = spec.search
    setup = setup or build_setup(spec)
    with _Runner(setup, client, processes) as runner:
        return _search(spec, search, setup, runner, progress)


def _search(
    spec: SweepSpec, search: SearchSpec, setup: Setup, runner: _Runner, progress: Progress | None
) -> SearchResult:
    """`run_search`'s trials, asked in batches and simulated by ``runner``."""
    import optuna

    names = list(spec.parameters)
    if len(search.objectives) == 1:
        sampler = optuna.samplers.TPESampler(seed=search.seed)
    else:
        sampler = optuna.samplers.NSGAIISampler(
            population_size=max(4, search.batch), seed=search.seed
        )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        sampler=sampler, directions=[o.direction for o in search.objectives]
    )
    rows: list[dict] = []
    records: list[dict] = []
    done = 0
    while done < search.trials:
        size = min(search.batch, search.trials - done)
        trials = [study.ask() for _ in range(size)]
        points = [{n: _suggest(t, n, spec.parameters[n]) for n in names} for t in trials]
        batch: list[dict | None] = [None] * size

        def on_done(j: int, record: dict, batch=batch) -> None:
            batch[j] = record

        runner.map(points, on_done)
        for trial, point, record in zip(trials, points, batch, strict=True):
            row = {"trial": trial.number, **point}
            records.append(record)
            if "error" in record:
                for k in range(len(search.constraints)):
                    trial.set_constraint(f"constraint_{k}", math.inf)
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                rows.append(
                    {**row, "feasible": False, "constraint_share": 0.0, "error": record["error"]}
                )
                continue
            metrics = [o.metric for o in search.objectives] + [c.metric for c in search.constraints]
            for metric in dict.fromkeys(metrics):
                bands = record["kpis"].get(metric)
                if bands is None:
                    _p50(record, metric)  # raises with the known KPIs
                for q in ("p10", "p50", "p90"):
                    row[f"{metric}_{q}"] = bands[q]
            violations = [c.violation(_p50(record, c.metric)) for c in search.constraints]
            for k, violation in enumerate(violations):
                trial.set_constraint(f"constraint_{k}", violation)
            values = [_p50(record, o.metric) for o in search.objectives]
            if any(not math.isfinite(v) for v in values):
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, values if len(values) > 1 else values[0])
            rows.append(
                {
                    **row,
                    "feasible": all(v <= 0 for v in violations),
                    "constraint_share": _constraint_share(record, search.constraints),
                    "error": None,
                }
            )
        done += size
        if progress is not None:
            progress(done / search.trials, f"trial {done} of {search.trials}")
    trials_frame = with_caveat(pd.DataFrame(rows), names, setup.template)
    front, best = _front(trials_frame, search)
    best_policy = None
    if best is not None:
        best_policy = apply_overrides(setup.template, {n: best[n] for n in names})
    return SearchResult(trials_frame, best, front, best_policy)


def _front(trials: pd.DataFrame, search: SearchSpec) -> tuple[pd.DataFrame, dict | None]:
    """Pareto-optimal feasible trials (and the best one for a single objective)."""
    if trials.empty or not trials["feasible"].any():
        return trials.iloc[0:0], None
    feasible = trials[trials["feasible"]].copy()
    signs = [1.0 if o.direction == "maximize" else -1.0 for o in search.objectives]
    values = np.column_stack(
        [
            s * feasible[f"{o.metric}_p50"].astype(float)
            for s, o in zip(signs, search.objectives, strict=True)
        ]
    )
    keep = np.ones(len(feasible), dtype=bool)
    for i in range(len(feasible)):
        dominated = (values >= values[i]).all(axis=1) & (values > values[i]).any(axis=1)
        keep[i] = not dominated.any()
    front = feasible[keep]
    first = search.objectives[0]
    order = front[f"{first.metric}_p50"].astype(float)
    best_index = order.idxmax() if first.direction == "maximize" else order.idxmin()
    best = front.loc[best_index].to_dict()
    return front.sort_values(f"{first.metric}_p50").reset_index(drop=True), best
