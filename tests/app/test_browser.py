"""The marketing lead's journey in a real headless Chromium, in English and in 中文.

Started the way Streamlit's own suite does it: ``streamlit run`` on a free port as a
subprocess, ``GET /_stcore/health`` until ``ok``, then wait for the app container and for
the script to finish (no skeletons) before each assertion or screenshot.

The journey, in each language: lower Gold's threshold to ¥8,000 in the tiers table, add a
Double-11 campaign row in the campaign table, simulate, compare (the defaults: the edited
policy against the live or classic one), open Finance, Overview and Data & calibration,
publish with a note. Every page is saved as a screenshot under ``test-artifacts/`` in both
languages. The test fails on a Python exception shown in any page and, under 中文, on any
English word left in the interface (`english_left`): visible text, chart text (SVG) and
the file uploader, minus an allow-list of names that are not interface text (the
policy's own names, file names, P10/CSV-like abbreviations).
"""

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from interface_text import ABBREVIATIONS, english_left

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
WIDTH, HEIGHT = 1400, 1000
SMALL = {"runs.members": "500", "runs.months": "3", "runs.replications": "2"}


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install it with `apt-get install chromium fonts-noto-cjk`"
        " (or run scripts/system-packages.sh as root) to run the real-browser test",
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


# -- what a page says ------------------------------------------------------------------------

_VISIBLE_TEXT = """() => {
  const parts = [];
  for (const root of document.querySelectorAll("[data-testid=stMain], [data-testid=stSidebar]")) {
    const copy = root.cloneNode(true);
    // icon ligatures and code blocks (the policy file) are not interface text
    copy.querySelectorAll(
      "[data-testid=stIconMaterial], [translate=no], [data-testid=stCode], pre, code")
      .forEach((el) => el.remove());
    document.body.appendChild(copy);  // innerText needs layout: hidden tabs stay hidden
    copy.style.position = "absolute"; copy.style.left = "-20000px"; copy.style.width = "1200px";
    parts.push(copy.innerText);
    copy.remove();
  }
  for (const el of document.querySelectorAll("[data-testid=stVegaLiteChart] svg text")) {
    if (el.getBoundingClientRect().width > 0) parts.push(el.textContent);
  }
  const fields = "[data-testid=stTextInputRootElement] input, textarea";
  for (const el of document.querySelectorAll(fields)) {
    if (el.placeholder && !el.value) parts.push(el.placeholder);
  }
  return parts.join("\\n");
}"""


def _settle(page, timeout=90_000):
    """Wait for a rerun to start (if one is coming) and to finish, skeletons gone."""
    with contextlib.suppress(Exception):  # the run was already over, or none was triggered
        page.wait_for_selector("[data-test-script-state='running']", timeout=800)
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_selector("[data-testid='stSkeleton']", state="detached", timeout=timeout)


class Journey:
    """One browser session walking the workbench in one language at a time."""

    def __init__(self, page, allowed):
        self.page = page
        self.allowed = allowed
        self.lang = "en"
        self.untranslated: dict[str, list[str]] = {}

    def t(self, key, **fmt):
        from app.i18n import t

        return t(key, lang=self.lang, **fmt)

    def check(self, name):
        """No exception on the page; under 中文, no English word left."""
        page = self.page
        errors = page.locator("[data-testid='stException']")
        assert errors.count() == 0, f"{name}: {errors.first.inner_text()}"
        if self.lang == "zh":
            left = english_left(page.evaluate(_VISIBLE_TEXT), self.allowed)
            if left:
                self.untranslated[name] = left

    def shot(self, name):
        """A screenshot of the whole page (the app scrolls inside its main block)."""
        page = self.page
        self.check(name)
        height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
        page.set_viewport_size({"width": WIDTH, "height": min(max(height, HEIGHT), 12_000)})
        page.wait_for_timeout(400)  # charts re-measure their width
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}_{self.lang}.png"))
        page.set_viewport_size({"width": WIDTH, "height": HEIGHT})

    def open(self, page_name):
        title = self.t(f"page.{page_name}")
        self.page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
        _settle(self.page)

    def language(self, lang):
        page = self.page
        page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
        page.get_by_role("option", name={"en": "English", "zh": "中文"}[lang]).click()
        self.lang = lang
        _settle(page)

    def tab(self, key):
        self.page.get_by_role("tab", name=self.t(key)).click()
        self.page.wait_for_timeout(300)

    def grid(self, index_visible=0):
        """The canvas of the ``index_visible``-th visible table of the page."""
        grids = self.page.locator("[data-testid='stDataFrame']")
        visible = [grids.nth(i) for i in range(grids.count()) if grids.nth(i).is_visible()]
        canvas = visible[index_visible].locator("[data-testid='data-grid-canvas']")
        canvas.wait_for(timeout=10_000)  # a table drawn afresh (e.g. after loading a policy)
        return canvas.bounding_box()

    def keys(self, *names):
        for name in names:
            self.page.keyboard.press(name)
            self.page.wait_for_timeout(120)

    def type_cell(self, text, open_editor=False):
        """Type into the selected cell and move right (the edit is sent, the page reruns).

        Typing a Latin letter opens the cell's editor by itself; Chinese text is inserted
        without key presses, so its editor is opened first (``open_editor``).
        """
        if open_editor:
            self.keys("Enter")
            self.page.wait_for_timeout(200)
        self.page.keyboard.type(text, delay=25)
        self.keys("Tab")
        _settle(self.page)

    def date_cell(self, month, day, year):
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        # Enter opens the cell's date editor; on a busy machine the first press can land
        # while the grid is still redrawing, so press again (a UI wait, not a speed check).
        for attempt in range(3):
            self.keys("Enter")
            try:
                self.page.locator("input[type=date]").wait_for(timeout=5_000)
                break
            except PlaywrightTimeoutError:
                if attempt == 2:
                    raise
                _settle(self.page)
        self.page.keyboard.type(f"{month:02d}{day:02d}{year}", delay=25)  # en-US date input
        self.keys("Tab")
        _settle(self.page)

    def number_inputs(self, values):
        for key, value in values.items():
            field = self.page.get_by_label(self.t(key), exact=True)
            field.fill(value)
            field.press("Enter")
            _settle(self.page)

    # -- the steps ---------------------------------------------------------------------------

    def lower_gold(self, threshold, was):
        """Gold is the third row of the tiers table; its threshold the third column.

        The cell is reached by a click and arrow keys; on a busy machine a key press can land
        while the grid redraws and select a neighbour, so the editor must show Gold's current
        threshold (``was``) before anything is typed, else it is closed and the cell sought again.
        """
        page = self.page  # the tiers tab is open (a click on a tab would take the arrow keys)
        editor = page.locator("#portal input, #portal textarea").first
        for attempt in range(3):
            box = self.grid(0)
            page.mouse.click(box["x"] + 60, box["y"] + 35 + 17)  # first tier's name cell
            self.keys("ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight", "Enter")
            editor.wait_for(timeout=10_000)  # the cell editor is open
            shown = editor.input_value().replace(",", "").strip()
            if shown == str(was):
                break
            assert attempt < 2, f"the Gold threshold cell was not reached (editor shows {shown!r})"
            self.keys("Escape")
            _settle(page)
        editor.fill(str(threshold))
        self.keys("Enter")
        _settle(page)
        page.get_by_text(self.t("designer.valid")).wait_for()
        self.tab("designer.tab.file")
        page.get_by_text(f"threshold: {threshold}").first.wait_for()

    def add_campaign(self, campaign_id, name, year):
        """A new row at the end of the campaign table: id, name, dates, ×2 points, kind."""
        page = self.page
        self.tab("designer.tab.campaigns")
        box = self.grid(0)
        page.mouse.click(box["x"] + 80, box["y"] + 35 * 3 + 17)  # the empty row after two
        _settle(page)
        self.type_cell(campaign_id)
        self.type_cell(name, open_editor=True)
        self.keys("Tab")  # Kind: chosen last, from its list
        self.date_cell(11, 1, year)
        self.date_cell(11, 11, year)
        self.keys("Tab", "Tab", "Tab", "Tab", "Enter")  # Day, Weekday, Months, Tiers -> Points ×
        self.type_cell("2")
        self.keys(*["Shift+Tab"] * 8, "Enter")  # back to Kind
        page.wait_for_timeout(400)
        page.keyboard.type(self.t("campaign.kind.bonus_points"), delay=25)  # filters the list
        page.wait_for_timeout(300)
        self.keys("Enter")
        _settle(page)
        page.get_by_text(self.t("designer.valid")).wait_for()
        page.locator("[data-testid='stVegaLiteChart'] svg text", has_text=name).first.wait_for()

    def simulate(self):
        self.open("simulate")
        self.number_inputs(SMALL)
        self.page.get_by_role("button", name=self.t("simulate.run")).click()
        _settle(self.page, timeout=180_000)
        self.page.get_by_text(self.t("kpi.active_members_end")).first.wait_for()
        assert self.page.locator("[data-testid='stVegaLiteChart']").count() >= 9
        self.shot("simulate")

    def compare(self):
        self.open("compare")
        self.number_inputs(SMALL)
        self.page.get_by_role("button", name=self.t("compare.run")).click()
        _settle(self.page, timeout=180_000)
        self.page.get_by_text(self.t("compare.changes")).first.wait_for()
        self.shot("compare")

    def publish(self, note, version):
        page = self.page
        self.open("publish")
        if page.get_by_role("button", name=self.t("publish.login_button")).count():
            # a named publisher of the test workspace (conftest: MEMBERLAB_PUBLISHER_SECRET)
            # Each field is committed (Enter) before the button is pressed: a click that lands
            # while the secret's own rerun is running can be lost, so it is pressed again.
            for label, text in (("publish.login_name", "ana"),
                                ("publish.login_secret", "secret-of-ana")):  # fmt: skip
                page.get_by_label(self.t(label)).fill(text)
                page.get_by_label(self.t(label)).press("Enter")
                _settle(page)
            login = page.get_by_role("button", name=self.t("publish.login_button"))
            for _attempt in range(3):
                login.click()
                _settle(page)
                if not login.count():
                    break
            assert not login.count(), "the publisher could not log in"
        page.get_by_label(self.t("publish.note")).fill(note)
        page.get_by_label(self.t("publish.note")).press("Enter")
        _settle(page)
        page.get_by_text(self.t("publish.confirm", version=version, target="policy.json")).click()
        _settle(page)
        page.get_by_role("button", name=self.t("publish.button"), exact=True).click()
        _settle(page)
        page.get_by_text(self.t("publish.done", version=version)).wait_for(timeout=30_000)
        box = page.get_by_role("checkbox", name=re.compile(re.escape(self.t("publish.confirm",
                               version=version + 1, target="policy.json"))))  # fmt: skip
        assert not box.is_checked()  # the next publish is confirmed afresh
        self.shot("publish")


def _allowed_words(workspace):
    """Names that are data, not interface: the policies' own names and ids, file names."""
    from app.state import examples
    from policies import load_policy

    words = set(ABBREVIATIONS)
    texts = [str(workspace["data_dir"]), str(workspace["live"]), "Double 11", "d11"]
    texts += ["margins.gross_margin_pct"]  # a field of the policy file, named as in the file
    texts += ["ana"]  # the publisher the test logs in as
    for stem, path in examples().items():
        policy = load_policy(path)
        texts += [stem, policy.program.name, policy.program.currency]
        texts += [tier.name for tier in policy.tiers.tiers]
        texts += [c.name for c in policy.campaigns] + [c.id for c in policy.campaigns]
    for text in texts:
        words |= set(re.findall(r"[A-Za-z][A-Za-z0-9]*", text))
    return words


NOTES = {"en": "Gold from 8,000 and Double 11", "zh": "金卡门槛降至 8,000，新增双十一活动"}
CAMPAIGN_NAMES = {"en": "Double 11", "zh": "双十一大促"}


def _walk(server, workspace, languages):
    """The journey in each of ``languages`` in turn, in one browser session."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    from policies.publish import history, load_published

    year = time.gmtime().tm_year
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.goto(server)
            page.wait_for_selector("[data-testid='stAppViewContainer']", timeout=60_000)
            _settle(page)
            walk = Journey(page, _allowed_words(workspace))
            for version, lang in enumerate(languages, start=1):
                if lang != walk.lang:
                    walk.language(lang)
                walk.open("overview")
                walk.shot("overview")
                walk.open("policy_designer")
                if version > 1:  # start again from the classic example
                    page.get_by_text(walk.t("designer.load")).click()
                    page.get_by_role("button", name=walk.t("designer.load_example")).click()
                    _settle(page)
                walk.lower_gold(8000, was=10000)
                walk.add_campaign("d11", CAMPAIGN_NAMES[lang], year)
                walk.shot("policy_designer")
                for key in ("points", "expiry", "file"):
                    walk.tab(f"designer.tab.{key}")
                    walk.check(f"policy_designer_{key}")
                walk.simulate()
                walk.compare()
                walk.open("finance")
                walk.shot("finance")
                walk.open("data_calibration")
                walk.shot("data_calibration")
                if lang == "zh":  # the page renders without a sweep; none is run here
                    walk.open("sweep_search")
                    walk.shot("sweep_search")
                walk.publish(NOTES[lang], version=version)
        except Exception:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "failure.png"))  # what the page showed
            raise
        finally:
            browser.close()

    live = load_published(workspace["live"])
    assert [item.note for item in history(workspace["live"])] == [NOTES[x] for x in languages]
    assert [tier.threshold for tier in live.policy.tiers.tiers] == [0, 3000, 8000, 30000]
    double11 = next(c for c in live.policy.campaigns if c.id == "d11")
    assert (double11.name, double11.kind, double11.points_multiplier) == (
        CAMPAIGN_NAMES[languages[-1]],
        "bonus_points",
        2,
    )
    assert (double11.start.isoformat(), double11.end.isoformat()) == (
        f"{year}-11-01",
        f"{year}-11-11",
    )
    assert not walk.untranslated, "English left under 中文:\n" + "\n".join(
        f"{page_name}: {snippet}"
        for page_name, snippets in walk.untranslated.items()
        for snippet in snippets
    )


def test_the_marketing_lead_journey_in_chinese(server, workspace):
    """The default run: the whole journey under 中文 (the stricter language), ~2-3 minutes."""
    _walk(server, workspace, ("zh",))


@pytest.mark.slow
def test_the_marketing_lead_journey_in_english_then_chinese(server, workspace):
    """Both languages in one session (English first, then 中文 from the classic example)."""
    _walk(server, workspace, ("en", "zh"))
