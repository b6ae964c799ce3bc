"""A page loads the engine, numba and statsmodels only when it computes with them.

Each step runs in one fresh interpreter (a test process has imported everything already)
and reports the modules loaded so far, so the test sees what a new server process pays
for before its first page is drawn.
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ENGINE = ("simulations.engine", "simulations.kernel", "simulations.population")
FITS = ("statsmodels", "scipy.optimize", "scipy.stats", "simulations.calibration.mle")


def _page_imports(page: str) -> list[str]:
    """The import statements at the top level of a page script."""
    tree = ast.parse((ROOT / "app" / "pages" / f"{page}.py").read_text(encoding="utf-8"))
    return [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]


@pytest.fixture(scope="module")
def loaded() -> dict[str, set[str]]:
    """The modules loaded after each step, in one new interpreter."""
    steps = {
        "router": ["import streamlit", "import app.state", "import app.i18n"],
        "overview": _page_imports("overview"),
        # what Overview's first render computes (its segments and cohorts)
        "overview_analytics": ["import simulations.analytics"],
        "charts": ["import app.charts"],
        # the IRI parser kept from jsonschema while altair loads is importable again
        "charts_after": ["assert sys.modules.get('rfc3987_syntax', 'absent') is not None"],
        "public_api": ["from simulations import Model, calibrate"],
    }
    script = "\n".join(
        [
            "import json, sys",
            f"steps = {json.dumps(steps)}",
            "out = {}",
            "for step, statements in steps.items():",
            "    for statement in statements:",
            "        exec(statement)",
            "    out[step] = sorted(sys.modules)",
            "print(json.dumps(out))",
        ]
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return {step: set(names) for step, names in json.loads(done.stdout.splitlines()[-1]).items()}


def _heavy(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_the_router_and_the_labels_load_no_engine_numba_or_statsmodels(loaded):
    # app.i18n reads the labels declared with the figures (simulations.results, .deferral,
    # .finance); the simulations package must not drag the engine in with them.
    assert "simulations.results" in loaded["router"]
    assert _heavy(loaded["router"], (*ENGINE, *FITS, "numba")) == []


def test_overview_loads_neither_the_engine_nor_the_fits(loaded):
    # The page computes tiers with the compiled rules (numba) and segments with the
    # analytics, but never simulates or fits.
    assert "policies.rules" in loaded["overview"]
    assert "simulations.analytics" in loaded["overview_analytics"]
    assert _heavy(loaded["overview_analytics"], (*ENGINE, *FITS)) == []


def test_charts_load_altair_without_the_iri_parser(loaded):
    # jsonschema (under altair) would build rfc3987-syntax's grammar: ~2 s of CPU for a
    # format that the Vega-Lite schema never uses.
    assert "altair" in loaded["charts"]
    assert "rfc3987_syntax" not in loaded["charts"]


def test_the_public_api_still_loads_what_it_names(loaded):
    # `from simulations import Model, calibrate` works, and only then are they loaded.
    assert {"simulations.engine", "statsmodels"} <= loaded["public_api"]
