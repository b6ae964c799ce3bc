"""``python -m simulations run``: arguments, memory and the output checked before simulating;
Ctrl-C ends a run quickly, quietly and without touching an existing output."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from simulations import __main__ as cli
from simulations.behavior import DEFAULT_BEHAVIOR

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "examples" / "classic_four_tier.yaml"


@pytest.fixture
def nothing_simulated(monkeypatch):
    """Fail the test if a population is drawn or a model run: the checks come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("simulated although the arguments were refused")

    from simulations import engine, population

    monkeypatch.setattr(population.Population, "synthetic", refuse)
    monkeypatch.setattr(engine.Model, "run", refuse)


def run(tmp_path, *more, out=None):
    out = tmp_path / "results.json" if out is None else out
    return cli.main(["run", "--policy", str(POLICY), "--members", "100", "--months", "2",
                     "--replications", "1", "--quiet", "--out", str(out), *more])  # fmt: skip


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (["--months", "1000"], "--months(=1000) must be between 1 and 240"),
        (["--months", "0"], "--months(=0) must be between 1 and 240"),
        (["--start", "9999-12-01"], "--start(=9999-12-01) must be between 1970-01-01"),
        (["--seed", "-1"], "--seed(=-1) must be a whole number from 0"),
        (["--replications", "0"], "--replications(=0) must be between 1 and 10000"),
        (["--workers", "-3"], "--workers(=-3) must be between 1"),
        (["--members", "-5"], "--members(=-5) must be 0 or more"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(
    tmp_path, capsys, nothing_simulated, option, expected
):
    assert run(tmp_path, *option) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err
    assert not (tmp_path / "results.json").exists()


def test_a_population_too_large_for_memory_is_refused_with_the_figure(
    tmp_path, capsys, monkeypatch, nothing_simulated
):
    monkeypatch.setattr(cli, "_available_memory", lambda: 16 * 2**30)
    assert run(tmp_path, "--members", "1000000000") == 2
    err = capsys.readouterr().err
    needed = cli.memory_estimate(1_000_000_000) / 2**30
    assert f"1,000,000,000 members would need about {needed:,.1f} GiB" in err
    assert "16.0 GiB is available" in err
    fits = int(err.split("at most about ")[1].split(" members")[0].replace(",", ""))
    assert cli.memory_estimate(fits) <= 16 * 2**30 < cli.memory_estimate(fits + 2)
    # Several workers each hold the members: fewer fit, and the message says why.
    assert run(tmp_path, "--members", "10000000", "--workers", "4", "--replications", "8") == 2
    assert "5 process(es)" in capsys.readouterr().err


def test_the_estimate_covers_a_measured_run():
    # 600,000 members x 24 months peaked at 690 MB RSS (benchmarks/engine.py's measure).
    assert cli.memory_estimate(600_000) >= 690 * 2**20
    assert cli.memory_estimate(10**6, replications=4, workers=2) == 3 * cli.memory_estimate(10**6)


def test_a_behavior_file_with_infinity_is_refused(tmp_path, capsys, nothing_simulated):
    document = DEFAULT_BEHAVIOR.model_dump(mode="json")
    document["bgnbd"]["r"] = "__INF__"
    path = tmp_path / "behavior.json"
    path.write_text(json.dumps(document).replace('"__INF__"', "Infinity"))
    assert run(tmp_path, "--behavior", str(path)) == 2
    err = capsys.readouterr().err
    assert "bgnbd.r(=inf) must be a finite number" in err


def test_the_output_must_be_writable_before_simulating(tmp_path, capsys, nothing_simulated):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for out, expected in (
        (blocker / "results.json", "does not exist"),
        (tmp_path / "missing" / "results.json", "does not exist"),
        (tmp_path, "is a folder"),
        (Path("/proc/results.json"), "cannot write in /proc"),
    ):
        assert run(tmp_path, out=out) == 2
        assert expected in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # no probe left behind


def _children(pid):
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


@pytest.mark.parametrize("whole_group", [True, False], ids=["terminal", "parent-only"])
def test_ctrl_c_stops_a_parallel_run_quickly_and_leaves_the_output(tmp_path, whole_group):
    """A terminal's Ctrl-C reaches every process of the group; `kill -INT` only the parent."""
    out = tmp_path / "results.json"
    out.write_text("the previous results")
    process = subprocess.Popen(
        [sys.executable, "-m", "simulations", "run", "--policy", str(POLICY), "--members",
         "20000", "--months", "24", "--replications", "400", "--workers", "2", "--out", str(out)],
        stderr=subprocess.PIPE, text=True, cwd=tmp_path, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(iter(process.stderr.readline, "")))
    reader.start()
    try:
        deadline = time.monotonic() + 240
        while "replication" not in "".join(err) or len(_children(process.pid)) < 2:
            assert process.poll() is None, "".join(err)
            assert time.monotonic() < deadline, "the run did not start: " + "".join(err)
            time.sleep(0.2)
        workers = _children(process.pid)
        asked = time.monotonic()
        if whole_group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        status = process.wait(timeout=60)
        stopped = time.monotonic() - asked
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=10)
    text = "".join(err)
    print(f"stopped {stopped:.2f} s after Ctrl-C")  # measured; asserted only generously above
    assert status == cli.EXIT_INTERRUPTED
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert "interrupted: nothing was written" in text
    assert out.read_text() == "the previous results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
    time.sleep(0.5)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_without_a_database_the_synthetic_members_follow_the_seed(tmp_path, capsys, monkeypatch):
    import store
    from simulations.population import Population

    def no_database(*args, **kwargs):
        raise RuntimeError("no database here")

    drawn = []
    synthetic = Population.synthetic.__func__

    def small(cls, n_members, behavior, seed=0, as_of=None, **more):
        drawn.append((n_members, seed))
        return synthetic(cls, 150, behavior, seed=seed, as_of=as_of, **more)

    monkeypatch.setattr(store, "ensure_database", no_database)
    monkeypatch.setattr(Population, "synthetic", classmethod(small))
    for seed in ("7", "8"):
        out = tmp_path / f"results_{seed}.json"
        assert cli.main(["run", "--policy", str(POLICY), "--months", "1", "--replications", "1",
                         "--seed", seed, "--quiet", "--out", str(out)]) == 0  # fmt: skip
        assert "simulating 20,000 synthetic members instead" in capsys.readouterr().err
    assert drawn == [(20_000, 7), (20_000, 8)]


def test_a_run_on_the_default_behavior_says_so(tmp_path, capsys):
    assert run(tmp_path) == 0
    assert "member behavior is the built-in default" in capsys.readouterr().err
    behavior = tmp_path / "behavior.json"
    from simulations.behavior import DEFAULT_BEHAVIOR

    calibrated = DEFAULT_BEHAVIOR.model_copy(update={"source": "calibrated: test"})
    behavior.write_text(calibrated.model_dump_json())
    assert run(tmp_path, "--behavior", str(behavior)) == 0
    assert "built-in default" not in capsys.readouterr().err
