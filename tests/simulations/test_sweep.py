"""Sweeps and searches: field paths, grids, common random numbers, resume, Optuna, Dask."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import yaml

from policies.io import content_id, load_policy
from policies.settings import get_settings
from simulations import Population, sweep
from simulations.__main__ import main
from simulations.behavior import DEFAULT_BEHAVIOR

ROOT = Path(__file__).resolve().parents[2]
CLASSIC_PATH = ROOT / "policies" / "examples" / "classic_four_tier.yaml"
CLASSIC = load_policy(CLASSIC_PATH)
START = dt.date(2026, 1, 1)


def make_spec(tmp_path=None, **changes):
    data = {
        "policy": str(CLASSIC_PATH),
        "population": {"members": 600},
        "months": 3,
        "replications": 3,
        "seed": 5,
        "start": START.isoformat(),
        "parameters": {
            "tiers.tiers[Gold].threshold": {"values": [6000, 10000]},
            "points.earn.points_per_unit": {"low": 1, "high": 2, "step": 1},
        },
    }
    data.update(changes)
    if tmp_path is None:
        return sweep.SweepSpec.model_validate(data)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def population():
    return Population.synthetic(600, DEFAULT_BEHAVIOR, seed=5, as_of=START)


@pytest.fixture()
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{(tmp_path / 'sweep.sqlite').as_posix()}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MEMBERLAB_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_overrides_pick_list_items_by_name_or_position():
    changed = sweep.apply_overrides(
        CLASSIC,
        {
            "tiers.tiers[Gold].threshold": 8000,
            "campaigns[0].points_multiplier": 3,
            "expiry.months": 18,
        },
    )
    assert changed.tiers.tiers[2].threshold == 8000
    assert changed.campaigns[0].points_multiplier == 3
    assert changed.expiry.months == 18
    assert CLASSIC.tiers.tiers[2].threshold == 10000  # the template is untouched


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("tiers.tiers[Platinum].threshold", 1, "no item named 'Platinum'; known: Regular"),
        ("tiers.tiers[9].threshold", 1, "out of range"),
        ("points.earn.per_dollar", 1, "no field 'per_dollar'"),
        ("tiers.tiers[Gold].threshold", 50_000, "invalid policy"),
    ],
)
def test_overrides_that_cannot_apply_say_why(path, value, message):
    with pytest.raises(sweep.SweepError, match=message.replace("(", r"\(")):
        sweep.apply_overrides(CLASSIC, {path: value})


def test_spec_errors_name_the_field(tmp_path):
    path = make_spec(tmp_path, parameters={"tiers.tiers[Gold].threshold": {"low": 5, "high": 1}})
    with pytest.raises(sweep.SweepError, match=r"parameters.*high\(=1.0\) must be >= low"):
        sweep.load_spec(path)
    path = make_spec(tmp_path, parameters={"tiers..x": {"values": [1]}})
    with pytest.raises(sweep.SweepError, match="is not a field name"):
        sweep.load_spec(path)


def test_grid_is_the_product_of_the_ranges():
    spec = make_spec(
        parameters={
            "tiers.tiers[Gold].threshold": {"low": 6000, "high": 10000, "step": 2000},
            "expiry.months": {"values": [12, 24]},
        }
    )
    points = sweep.grid_points(spec)
    assert len(points) == 6
    assert points[0] == {"tiers.tiers[Gold].threshold": 6000, "expiry.months": 12}
    assert {p["tiers.tiers[Gold].threshold"] for p in points} == {6000, 8000, 10000}
    assert all(isinstance(p["tiers.tiers[Gold].threshold"], int) for p in points)


def test_sweep_uses_common_random_numbers(population):
    spec = make_spec(parameters={"tiers.tiers[Gold].threshold": {"values": [10000, 6000]}})
    setup = sweep.build_setup(spec, population=population)
    table = sweep.run_sweep(spec, store_points=False, setup=setup)
    assert set(table.columns) >= {
        "point",
        "tiers.tiers[Gold].threshold",
        "kpi",
        "p10",
        "p50",
        "p90",
        "unit",
    }
    wide = table.pivot(index="point", columns="kpi", values="p50")
    # Point 0 is the template itself: against itself as baseline it adds exactly nothing.
    assert wide.loc[0, "incremental_revenue"] == 0.0
    assert wide.loc[0, "incremental_cost"] == 0.0
    # A lower Gold threshold promotes more members: more discount, a different outcome.
    assert wide.loc[1, "discounts"] > wide.loc[0, "discounts"]
    assert (table.groupby("point")["kpi"].count() == table["kpi"].nunique()).all()
    # The same spec gives the same table.
    again = sweep.run_sweep(spec, store_points=False, setup=setup)
    pd.testing.assert_frame_equal(table, again)


def test_an_invalid_point_is_reported_not_fatal(population):
    spec = make_spec(parameters={"tiers.tiers[Silver].threshold": {"values": [3000, 20000]}})
    table = sweep.run_sweep(
        spec, store_points=False, setup=sweep.build_setup(spec, population=population)
    )
    bad = table[table["tiers.tiers[Silver].threshold"] == 20000]
    assert len(bad) == 1 and "invalid policy" in bad["error"].iloc[0]
    good = table[table["tiers.tiers[Silver].threshold"] == 3000].set_index("kpi")
    assert good.loc["revenue_gross", "p50"] > 0 and good["error"].isna().all()


def test_restarted_sweep_skips_finished_points(database, population, monkeypatch):
    spec = make_spec()
    setup = sweep.build_setup(spec, population=population)
    simulated = []
    real = sweep._replicate

    def counting(setup, point, replication):
        simulated.append(point)
        return real(setup, point, replication)

    def stop_after_two(fraction, message):
        if message.startswith("point 2 of"):
            raise KeyboardInterrupt  # interrupted after two finished (and stored) points

    monkeypatch.setattr(sweep, "_replicate", counting)
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(spec, setup=setup, progress=stop_after_two)
    simulated.clear()
    notices = []
    table = sweep.run_sweep(spec, setup=setup, notice=notices.append)
    points = [p for p in simulated if p is not None]
    assert len(points) == 2 * spec.replications  # only the two unfinished points of four
    assert any("2 of 4 points already simulated" in n for n in notices)
    fresh = sweep.run_sweep(spec, store_points=False, setup=setup)
    pd.testing.assert_frame_equal(table, fresh)


def test_baseline_is_simulated_once_per_sweep_and_points_match_a_single_run(
    population, monkeypatch
):
    spec = make_spec()
    setup = sweep.build_setup(spec, population=population)
    simulated = []
    real = sweep._replicate

    def counting(setup, point, replication):
        simulated.append((None if point is None else sweep._point_key(point), replication))
        return real(setup, point, replication)

    monkeypatch.setattr(sweep, "_replicate", counting)
    table = sweep.run_sweep(spec, store_points=False, setup=setup)
    points = sweep.grid_points(spec)
    # Every point's replications once, the baseline's once for all four points.
    expected = [(None, i) for i in range(3)]
    expected += [(sweep._point_key(p), i) for p in points for i in range(3)]
    assert sorted(simulated, key=str) == sorted(expected, key=str)
    # The records are those of a whole run of each point with its own baseline.
    for k, point in enumerate(points):
        alone = sweep.evaluate_point(setup, point)
        rows = table[table["point"] == k].set_index("kpi")
        for kpi, bands in alone["kpis"].items():
            assert rows.loc[kpi, "p50"] == bands["p50"] or (
                bands["p50"] is None and pd.isna(rows.loc[kpi, "p50"])
            )


def test_worker_processes_give_the_same_table(population):
    spec = make_spec(months=2, replications=2)
    setup = sweep.build_setup(spec, population=population)
    here = sweep.run_sweep(spec, store_points=False, setup=setup, processes=1)
    pooled = sweep.run_sweep(spec, store_points=False, setup=setup, processes=2)
    pd.testing.assert_frame_equal(here, pooled)


def search_spec(**search):
    return make_spec(
        parameters={
            "tiers.tiers[Gold].threshold": {"low": 4000, "high": 12000, "step": 1000},
            "points.earn.points_per_unit": {"low": 0.5, "high": 2.0},
        },
        search={
            "objectives": [{"metric": "incremental_revenue"}],
            "trials": 8,
            "batch": 4,
            "seed": 3,
            **search,
        },
    )


def test_search_respects_constraints_and_is_reproducible(population):
    spec = search_spec(constraints=[{"metric": "points_issued", "max": 1e12}])
    setup = sweep.build_setup(spec, population=population)
    first = sweep.run_search(spec, setup=setup)
    second = sweep.run_search(spec, setup=setup)
    pd.testing.assert_frame_equal(first.trials, second.trials)
    assert len(first.trials) == 8
    best = first.best
    assert best is not None and best["feasible"]
    feasible = first.trials[first.trials["feasible"]]
    assert best["incremental_revenue_p50"] == feasible["incremental_revenue_p50"].max()
    assert first.best_policy.tiers.tiers[2].threshold == best["tiers.tiers[Gold].threshold"]
    # A bound nobody meets: nothing is feasible, and the search says so rather than guessing.
    impossible = search_spec(constraints=[{"metric": "points_issued", "max": -1}])
    nothing = sweep.run_search(impossible, setup=setup)
    assert nothing.best is None and nothing.best_policy is None
    assert not nothing.trials["feasible"].any()
    assert (nothing.trials["constraint_share"] == 0).all()


def test_two_objectives_give_a_pareto_front(population):
    spec = search_spec(
        objectives=[
            {"metric": "revenue_gross"},
            {"metric": "program_cost", "direction": "minimize"},
        ]
    )
    found = sweep.run_search(spec, setup=sweep.build_setup(spec, population=population))
    front = found.front
    assert 1 <= len(front) <= len(found.trials)
    trials = found.trials[found.trials["feasible"]]
    for _, row in front.iterrows():
        dominated = (
            (trials["revenue_gross_p50"] >= row["revenue_gross_p50"])
            & (trials["program_cost_p50"] <= row["program_cost_p50"])
            & (
                (trials["revenue_gross_p50"] > row["revenue_gross_p50"])
                | (trials["program_cost_p50"] < row["program_cost_p50"])
            )
        )
        assert not dominated.any()


def test_cluster_gives_the_same_results_as_local_cores(population):
    distributed = pytest.importorskip("distributed")
    spec = search_spec(constraints=[{"metric": "points_issued", "max": 1e12}])
    setup = sweep.build_setup(spec, population=population)
    grid = make_spec()
    local_sweep = sweep.run_sweep(grid, store_points=False, setup=setup)
    local_search = sweep.run_search(spec, setup=setup)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote_sweep = sweep.run_sweep(grid, client=client, store_points=False, setup=setup)
        remote_search = sweep.run_search(spec, client=client, setup=setup)
    pd.testing.assert_frame_equal(local_sweep, remote_sweep)
    pd.testing.assert_frame_equal(local_search.trials, remote_search.trials)
    assert content_id(local_search.best_policy) == content_id(remote_search.best_policy)


def test_cli_sweep_and_search(tmp_path, database):
    spec_path = make_spec(tmp_path, population={"members": 300}, months=2, replications=2)
    out = tmp_path / "sweep.csv"
    assert main(["sweep", "--spec", str(spec_path), "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out)
    assert table["point"].nunique() == 4
    assert {"kpi", "p10", "p50", "p90"} <= set(table.columns)

    data = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    data["search"] = {
        "objectives": [{"metric": "revenue_gross"}],
        "trials": 4,
        "batch": 2,
        "constraints": [{"metric": "points_issued", "max": 1e12}],
    }
    spec_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    best = tmp_path / "best.yaml"
    trials = tmp_path / "trials.csv"
    code = main(
        [
            "search",
            "--spec",
            str(spec_path),
            "--out",
            str(best),
            "--trials-out",
            str(trials),
            "--quiet",
        ]
    )
    assert code == 0
    assert load_policy(best).tiers.tiers[2].threshold in (6000, 10000)
    assert len(pd.read_csv(trials)) == 4

    data["search"]["constraints"] = [{"metric": "points_issued", "max": -1}]
    spec_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    nowhere = tmp_path / "none.yaml"
    assert main(["search", "--spec", str(spec_path), "--out", str(nowhere), "--quiet"]) == 3
    assert not nowhere.exists()


def test_cli_refuses_a_bad_spec_and_writes_nothing(tmp_path, capsys):
    spec_path = make_spec(
        tmp_path,
        parameters={"points.earn.nope": {"values": [1]}},
        population={"members": 100},
        months=1,
        replications=1,
    )
    out = tmp_path / "out.csv"
    assert main(["sweep", "--spec", str(spec_path), "--out", str(out), "--quiet"]) == 2
    assert "no field 'nope' here; known: balance_bands, basis" in capsys.readouterr().err
    assert not out.exists()
    missing = tmp_path / "missing.yaml"
    assert main(["sweep", "--spec", str(missing), "--out", str(out), "--quiet"]) == 2
    assert "cannot read the spec" in capsys.readouterr().err
    assert (
        main(["search", "--spec", str(spec_path), "--out", str(tmp_path / "b.yaml"), "--quiet"])
        == 2
    )
    assert "needs a search: section" in capsys.readouterr().err
    assert (
        main(
            ["sweep", "--spec", str(spec_path), "--out", str(tmp_path / "no" / "x.csv"), "--quiet"]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert not out.exists()


def test_numeric_fields_are_paths_a_sweep_can_use():
    fields = sweep.numeric_fields(CLASSIC)
    assert fields["tiers.tiers[Gold].threshold"] == 10000
    assert fields["campaigns[member-day].points_multiplier"] == 2
    assert "schema_version" not in fields
    # Every listed path applies to the policy as it is.
    sweep.check_paths(CLASSIC, fields)
    same = sweep.apply_overrides(CLASSIC, dict(list(fields.items())[:20]))
    assert content_id(same) == content_id(CLASSIC)


def test_kept_replication_starts_leave_every_output_unchanged(population):
    """A sweep reusing each replication's start across points = drawing it for each point."""
    import pickle

    from simulations import engine

    spec = make_spec(months=4, replications=2)
    kept = sweep.build_setup(spec, population=population)
    drawn = sweep.build_setup(spec, population=population)
    object.__setattr__(drawn, "_starts", engine.MemberStarts(max_bytes=0))  # keeps nothing
    table = sweep.run_sweep(spec, store_points=False, setup=kept, processes=1)
    assert len(kept.starts) == spec.replications and len(drawn.starts) == 0
    pd.testing.assert_frame_equal(
        table, sweep.run_sweep(spec, store_points=False, setup=drawn, processes=1)
    )
    for point in [None, *sweep.grid_points(spec)]:
        for i in range(spec.replications):
            one, other = sweep._replicate(kept, point, i), sweep._replicate(drawn, point, i)
            assert pickle.dumps(one) == pickle.dumps(other)
    # What a process keeps stays in it: a set-up sent to a worker arrives without it.
    assert len(pickle.loads(pickle.dumps(kept)).starts) == 0


def test_a_template_with_a_margin_gives_profit_kpis_a_search_can_maximise(tmp_path, population):
    data = CLASSIC.model_dump(mode="json")
    data["margins"] = {"gross_margin_pct": 35}
    path = tmp_path / "with_margin.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    spec = make_spec(policy=str(path), months=2)
    setup = sweep.build_setup(spec, population=population)
    record = sweep.evaluate_point(setup, sweep.grid_points(spec)[0])
    each = {k: pd.Series(v, dtype=float) for k, v in record["replications"].items()}
    # Gross profit = net revenue x margin - program cost; incremental: the same of the
    # differences from the same-seed baseline, replication by replication.
    pd.testing.assert_series_equal(
        each["gross_profit"], each["revenue_net"] * 0.35 - each["program_cost"], check_names=False
    )
    pd.testing.assert_series_equal(
        each["incremental_gross_profit"],
        each["incremental_revenue"] * 0.35 - each["incremental_cost"],
        check_names=False,
    )
    assert (
        record["kpis"]["incremental_gross_profit"]["p50"]
        == each["incremental_gross_profit"].median()
    )
    table = sweep.run_sweep(spec, store_points=False, setup=setup)
    assert {"gross_profit", "incremental_gross_profit", "roi_profit"} <= set(table["kpi"])

    found = sweep.run_search(
        make_spec(
            policy=str(path),
            months=2,
            parameters={"points.earn.points_per_unit": {"low": 0.5, "high": 2.0}},
            search={
                "objectives": [{"metric": "incremental_gross_profit"}],
                "trials": 4,
                "batch": 2,
                "seed": 3,
            },
        ),  # fmt: skip
        setup=setup,
    )
    feasible = found.trials[found.trials["feasible"]]
    assert (
        found.best["incremental_gross_profit_p50"] == feasible["incremental_gross_profit_p50"].max()
    )


def test_profit_without_a_margin_says_how_to_get_one(population):
    spec = search_spec(objectives=[{"metric": "incremental_gross_profit"}], trials=2, batch=2)
    setup = sweep.build_setup(spec, population=population)
    with pytest.raises(sweep.SweepError, match=r"margins\.gross_margin_pct"):
        sweep.run_search(spec, setup=setup)
