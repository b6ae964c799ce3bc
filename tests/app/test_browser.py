"""One end-to-end run in a real headless Chromium: edit, simulate, publish, check the file.

Started the way Streamlit's own suite does it: ``streamlit run`` on a free port as a
subprocess, ``GET /_stcore/health`` until ``ok``, then wait for the app container and for
the script to finish before each assertion or screenshot.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install it with `apt-get install chromium` (or run"
        " scripts/system-packages.sh as root) to run the real-browser test",
    ),
]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(workspace, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "MEMBERLAB_DATA_DIR": str(workspace["data_dir"]),
        "MEMBERLAB_PUBLISH_TARGET": str(workspace["live"]),
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "PYTHONPATH": str(ROOT),
    }
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail("streamlit did not start:\n" + (tmp_path / "streamlit.log").read_text())
        time.sleep(0.3)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def _settle(page, timeout=60_000):
    """Wait for a rerun to start (if one is coming) and to finish, skeletons gone."""
    with contextlib.suppress(Exception):  # the run was already over, or none was triggered
        page.wait_for_selector("[data-test-script-state='running']", timeout=1_000)
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_selector("[data-testid='stSkeleton']", state="detached", timeout=timeout)


def _open(page, title, shot):
    page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
    _settle(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)


def test_edit_simulate_publish_in_a_real_browser(server, workspace):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from policies.publish import load_published

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server)
            page.wait_for_selector("[data-testid='stAppViewContainer']", timeout=60_000)
            _settle(page)

            # Policy designer: Gold's threshold 10,000 -> 8,000 in the tiers table.
            _open(page, "Policy designer", "policy_designer")
            grid = page.locator("[data-testid='stDataFrame']").first
            box = grid.locator("[data-testid='data-grid-canvas']").bounding_box()
            page.mouse.click(box["x"] + 60, box["y"] + 35 + 17)  # first tier's name cell
            for key in ("ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight"):
                page.keyboard.press(key)
            page.keyboard.press("Enter")  # open the cell editor
            page.wait_for_timeout(300)
            page.keyboard.press("Control+A")
            page.keyboard.type("8000", delay=50)
            page.keyboard.press("Enter")
            _settle(page)
            page.get_by_text("The policy is valid.").wait_for()
            page.get_by_role("tab", name="YAML file").click()
            page.get_by_text("threshold: 8000").first.wait_for()

            # Simulate a small population and see the fan charts.
            _open(page, "Simulate", "simulate_empty")
            for label, value in (("Synthetic members", "500"), ("Horizon (months)", "3")):
                field = page.get_by_label(label)
                field.fill(value)
                field.press("Enter")
                _settle(page)
            replications = page.get_by_label("Replications")
            replications.fill("2")
            replications.press("Enter")
            _settle(page)
            page.get_by_role("button", name="Run simulation").click()
            _settle(page, timeout=120_000)
            page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=60_000)
            assert page.locator("[data-testid='stVegaLiteChart']").count() >= 9
            assert page.get_by_text("Active members (end)").count() >= 1
            page.screenshot(path=str(SHOTS / "simulate.png"), full_page=True)

            for title, shot in (
                ("Overview", "overview"),
                ("Compare", "compare"),
                ("Finance", "finance"),
                ("Data & calibration", "data_calibration"),
            ):
                _open(page, title, shot)
                assert page.locator("[data-testid='stException']").count() == 0, title

            # Publish with a note and an explicit confirmation.
            _open(page, "Publish", "publish_before")
            assert not workspace["live"].exists()
            page.get_by_label("Note").fill("Gold from 8,000")
            page.get_by_label("Note").press("Enter")
            _settle(page)
            page.get_by_text("I confirm: publish this policy").click()
            _settle(page)
            page.get_by_role("button", name="Publish", exact=True).click()
            _settle(page)
            page.get_by_text("Version 1 is live.").wait_for(timeout=30_000)
            page.screenshot(path=str(SHOTS / "publish.png"), full_page=True)
            assert page.locator("[data-testid='stException']").count() == 0

            # The same page in Chinese (CJK fonts must render).
            page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
            page.get_by_role("option", name="中文").click()
            _settle(page)
            page.get_by_text("发布到线上系统").wait_for(timeout=30_000)
            page.screenshot(path=str(SHOTS / "publish_zh.png"), full_page=True)
        finally:
            browser.close()

    live = load_published(workspace["live"])
    assert live.version == 1
    assert live.note == "Gold from 8,000"
    assert [tier.threshold for tier in live.policy.tiers.tiers] == [0, 3000, 8000, 30000]
