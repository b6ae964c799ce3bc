"""First start and page times of the workbench on the shipped sample (20k members).

In a fresh data folder (an empty SQLite database): the time of `store.ensure_database`'s
first start (the prebuilt sample database copied into place; wall and CPU: on a shared
machine CPU time is the steadier figure), then, in a second fresh folder, the first page
(Overview) under Streamlit's AppTest, which includes that start and the imports; then every
page twice more in the same process: the second visit is the warm time a user sees once the
caches are filled.

Before all that, the CPU time of the imports a first page pays for, each in a new
interpreter, and which heavy modules (engine, numba, statsmodels) each one loads: screens
should load those only when they compute.

Usage: ``python benchmarks/first_start.py [--pages overview finance ...] [--no-load]``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("overview", "policy_designer", "simulate", "compare", "finance", "data_calibration",
         "publish")  # fmt: skip


IMPORTS = ("streamlit", "app.i18n", "app.state", "store", "policies.rules", "app.charts",
           "simulations.analytics", "simulations.engine")  # fmt: skip
"""What the router and the Overview import, in that order, then what a simulation adds."""
HEAVY = ("numba", "statsmodels", "simulations.engine")


def imports() -> None:
    """CPU time of each import after the ones before it, in one new interpreter."""
    script = f"""
import importlib, json, sys, time
out = []
for name in {list(IMPORTS)!r}:
    cpu = time.process_time()
    importlib.import_module(name)
    heavy = [m for m in {list(HEAVY)!r} if m in sys.modules]
    out.append((name, time.process_time() - cpu, heavy))
print(json.dumps(out))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)  # fmt: skip
    for name, cpu, heavy in json.loads(done.stdout.splitlines()[-1]):
        print(f"import {name:<22} {cpu:5.2f} s CPU   loaded so far: {', '.join(heavy) or '-'}")


def _fresh_data_dir() -> Path:
    from policies.settings import get_settings

    folder = Path(tempfile.mkdtemp(prefix="memberlab-bench-"))
    os.environ["MEMBERLAB_DATA_DIR"] = str(folder)
    os.environ.pop("DATABASE_URL", None)
    get_settings.cache_clear()
    return folder


def sample_load() -> None:
    """Time the first load of the sample into an empty database."""
    import store

    folder = _fresh_data_dir()
    wall, cpu = time.perf_counter(), time.process_time()
    counts = store.ensure_database()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    print(f"sample load into an empty SQLite database: {wall:.1f} s wall, {cpu:.1f} s CPU ({rows})")
    store.dispose_engines()
    print(f"  database file: {(folder / 'memberlab.sqlite').stat().st_size / 1e6:.0f} MB")


def pages(names: list[str]) -> None:
    """Time the first page on an empty database, then each page cold and warm."""
    from streamlit.testing.v1 import AppTest

    _fresh_data_dir()
    entry = str(ROOT / "streamlit_app.py")
    started, cpu = time.perf_counter(), time.process_time()
    first = AppTest.from_file(entry, default_timeout=600).run()
    print(
        f"first page (Overview) on an empty database: {time.perf_counter() - started:.1f} s wall,"
        f" {time.process_time() - cpu:.1f} s CPU (imports included)"
    )
    if first.exception:
        print("  exception:", [e.value for e in first.exception])
    for name in names:
        times = []
        for _visit in range(2):
            at = AppTest.from_file(entry, default_timeout=600).run()
            started, cpu = time.perf_counter(), time.process_time()
            at.switch_page(f"app/pages/{name}.py").run()
            times.append((time.perf_counter() - started, time.process_time() - cpu))
            if at.exception:
                print(f"  {name}: exception", [e.value for e in at.exception][:1])
        (first_wall, first_cpu), (warm_wall, warm_cpu) = times
        print(
            f"{name:>16}: first visit {first_wall:.2f} s wall ({first_cpu:.2f} s CPU),"
            f" warm {warm_wall:.2f} s wall ({warm_cpu:.2f} s CPU)"
        )


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", nargs="*", default=list(PAGES), choices=PAGES)
    parser.add_argument("--no-load", action="store_true", help="skip the separate load timing")
    args = parser.parse_args()
    imports()
    if not args.no_load:
        sample_load()
    pages(args.pages)


if __name__ == "__main__":
    sys.exit(main())
