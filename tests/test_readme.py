"""Every command in README.md's code blocks runs as written, on a fresh data folder.

The commands run one by one, in README order, with ``bash`` in a scratch copy of the project
(its top-level entries linked, so files a command writes, such as ``my_policy.yaml``, land in
the scratch folder) with an empty data folder: the database starts empty and the live policy
file does not exist yet, as on a fresh clone. A command fails the test when it exits non-zero
or prints a Python traceback. Commands that start a server (the app, JupyterLab) pass once
the server answers on its port; they are then stopped.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TRACEBACK = "Traceback (most recent call last)"
COMMAND_TIMEOUT_S = 600
SERVER_TIMEOUT_S = 180

SERVERS = {
    "bash scripts/app.sh": ("STREAMLIT_SERVER_PORT", "/_stcore/health"),
    "bash scripts/notebooks.sh": ("JUPYTER_PORT", "/api"),
}
"""Command prefix -> (environment variable choosing its port, path that answers when ready)."""

RUN_ELSEWHERE = {
    "bash scripts/test.sh": "CI runs exactly this command (.ci/run); run here, it would run"
    " this test inside itself",
}


def readme_commands(text: str) -> list[str]:
    """The shell commands of the ``bash`` code blocks, in order (continuation lines joined)."""
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(line.strip())
    return commands


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A scratch project folder and the environment of a fresh clone's activated venv."""
    base = tmp_path_factory.mktemp("readme")
    project = base / "project"
    project.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in {"var", ".env", ".git", ".pytest_cache"}:
            (project / entry.name).symlink_to(entry)
    venv = Path(sys.prefix)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MEMBERLAB_", "PYTHON", "PYTEST", "STREAMLIT_", "JUPYTER"))
        and key not in {"DATABASE_URL", "VIRTUAL_ENV"}
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        VIRTUAL_ENV=str(venv),
        MEMBERLAB_VENV=str(venv),
        MEMBERLAB_DATA_DIR=str(base / "var"),
        JUPYTER_RUNTIME_DIR=str(base / "jupyter-runtime"),
        BROWSER="true",  # a server that opens a browser tab opens none
    )
    return project, env


def _bare(command: str) -> str:
    """The command without a trailing ``# comment``."""
    return re.split(r"\s+#\s", command, maxsplit=1)[0].strip()


def _stop(process: subprocess.Popen) -> None:
    """End a command started in its own session, with everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _output_tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _run_command(command: str, project: Path, env: dict) -> None:
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _stop(process)
        pytest.fail(f"README command still running after {COMMAND_TIMEOUT_S} s: {command}")
    if process.returncode != 0 or TRACEBACK in output:
        pytest.fail(
            f"README command failed (exit {process.returncode}): {command}\n{_output_tail(output)}"
        )


def _run_server(command: str, port_variable: str, ready_path: str, project: Path, env: dict):
    port = _free_port()
    log = project.parent / f"server-{port}.log"
    with log.open("w") as handle:
        server = subprocess.Popen(
            ["bash", "-c", command],
            cwd=project,
            env={**env, port_variable: str(port)},
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT_S
        while time.monotonic() < deadline:
            if server.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        state = "exited" if server.poll() is not None else f"not ready in {SERVER_TIMEOUT_S} s"
        pytest.fail(f"README command {state}: {command}\n{_output_tail(log.read_text())}")
    finally:
        _stop(server)
        output = log.read_text()
        if TRACEBACK in output:
            pytest.fail(f"README command printed a traceback: {command}\n{_output_tail(output)}")


def test_readme_lists_runnable_commands():
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert any(c.startswith("python -m simulations run") for c in commands)
    assert any(c.startswith(tuple(SERVERS)) for c in commands)
    assert not [c for c in commands if re.search(r"\[.*\]|\s\|\s|\bDIR\b|\.\.\.", c)], (
        "README commands must be runnable as written: no [optional] parts, a | b choices,"
        " placeholders or ellipses"
    )


def test_every_readme_command_runs_as_written(scratch):
    project, env = scratch
    skipped = []
    for command in readme_commands(README.read_text(encoding="utf-8")):
        bare = _bare(command)
        server = next((spec for prefix, spec in SERVERS.items() if bare.startswith(prefix)), None)
        elsewhere = RUN_ELSEWHERE.get(bare)
        if elsewhere is not None:
            skipped.append(f"{command}: {elsewhere}")
        elif server is not None:
            _run_server(command, *server, project, env)
        else:
            _run_command(command, project, env)
    assert len(skipped) == len(RUN_ELSEWHERE), skipped
    assert (project / "results.json").is_file()
