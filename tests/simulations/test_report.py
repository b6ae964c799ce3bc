"""The client report: self-contained HTML in English and Chinese, opened in a real Chromium."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from policies.io import load_policy, policy_to_dict
from simulations import report
from simulations.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
CLASSIC_PATH = ROOT / "policies" / "examples" / "classic_four_tier.yaml"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "report"
START = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def results_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    policy_path = folder / "policy.yaml"
    policy_path.write_text(CLASSIC_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    files = []
    for name, gold in (("base.json", 10000), ("gold8k.json", 8000)):
        text = CLASSIC_PATH.read_text(encoding="utf-8").replace(
            "threshold: 10000", f"threshold: {gold}"
        )
        path = folder / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        out = folder / name
        code = main(
            [
                "run",
                "--policy",
                str(path),
                "--members",
                "800",
                "--months",
                "12",
                "--replications",
                "3",
                "--start",
                START.isoformat(),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        assert code == 0
        files.append(out)
    return files


def test_report_is_self_contained_and_bilingual(results_files, tmp_path):
    base, other = results_files
    for lang, heading, tier in (("en", "Headline results", "Gold"), ("zh", "核心指标", "金卡")):
        out = tmp_path / f"report_{lang}.html"
        code = main(
            [
                "report",
                "--results",
                str(base),
                "--compare",
                str(other),
                "--lang",
                lang,
                "--out",
                str(out),
                "--charts",
                str(tmp_path / f"charts_{lang}"),
            ]
        )
        assert code == 0
        text = out.read_text(encoding="utf-8")
        assert heading in text and tier in text
        # Nothing to fetch: no scripts, stylesheets, images or fonts from elsewhere.
        assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", text)
        assert "<script" not in text
        assert text.count("<svg") >= 5
        charts = sorted(p.name for p in (tmp_path / f"charts_{lang}").iterdir())
        assert "points_flows.png" in charts and "points_flows.svg" in charts
        assert (tmp_path / f"charts_{lang}" / "revenue_net.png").read_bytes()[:4] == b"\x89PNG"
    zh = (tmp_path / "report_zh.html").read_text(encoding="utf-8")
    assert "积分变动表" in zh and "递延收入" in zh and "方案对比" in zh
    # The roll-forward table balances in every month (means across replications).
    document = json.loads(base.read_text(encoding="utf-8"))
    assert document["policy"] == policy_to_dict(load_policy(CLASSIC_PATH))


def test_roll_forward_in_the_report_balances(results_files):
    document = json.loads(results_files[0].read_text(encoding="utf-8"))
    html_text = report.build_report(document, lang="en")
    table = html_text.split("Points roll-forward</h2>")[1].split("</table>")[0]
    for row in re.findall(r"<tr>(.*?)</tr>", table)[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        opening, issued, redeemed, expired, closing = (float(c.replace(",", "")) for c in cells[1:])
        assert abs(opening + issued - redeemed - expired - closing) <= 2  # rounding to whole points


def test_report_refuses_what_it_cannot_read(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"monthly": []}', encoding="utf-8")
    out = tmp_path / "r.html"
    assert main(["report", "--results", str(bad), "--out", str(out)]) == 2
    assert "not a results document" in capsys.readouterr().err
    assert main(["report", "--results", str(tmp_path / "none.json"), "--out", str(out)]) == 2
    assert not out.exists()
    with pytest.raises(report.ReportError, match="lang"):
        report.build_report({"summary": {}, "monthly": []}, lang="fr")


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)
def test_report_opens_offline_in_chromium_and_prints(results_files, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    base, other = results_files
    SHOTS.mkdir(parents=True, exist_ok=True)
    requests = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            for lang in ("en", "zh"):
                out = tmp_path / f"report_{lang}.html"
                assert (
                    main(
                        [
                            "report",
                            "--results",
                            str(base),
                            "--compare",
                            str(other),
                            "--lang",
                            lang,
                            "--out",
                            str(out),
                        ]
                    )
                    == 0
                )
                page = browser.new_page(viewport={"width": 1100, "height": 1400})
                page.on("request", lambda r: requests.append(r.url))
                page.goto(out.as_uri())
                page.wait_for_load_state("networkidle")
                # Charts are drawn: every SVG has marks with a real size.
                sizes = page.eval_on_selector_all(
                    ".chart svg", "els => els.map(e => e.getBoundingClientRect().width)"
                )
                assert len(sizes) >= 5 and min(sizes) > 300
                marks = page.eval_on_selector_all(".chart svg path", "els => els.length")
                assert marks > 20
                if lang == "zh":
                    # Chinese text is laid out in a CJK font (not tofu boxes of a fallback).
                    width = page.evaluate(
                        "() => { const c = document.createElement('canvas').getContext('2d');"
                        " c.font = '16px \"Noto Sans CJK SC\"';"
                        " return c.measureText('积分').width; }"
                    )
                    assert width > 20
                page.screenshot(path=str(SHOTS / f"report_{lang}.png"), full_page=True)
                pdf = page.pdf(format="A4", print_background=True)
                pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
                assert pages >= 2
                (SHOTS / f"report_{lang}.pdf").write_bytes(pdf)
                page.close()
        finally:
            browser.close()
    outside = [u for u in requests if not u.startswith("file://")]
    assert outside == []


def test_backtest_section_shows_errors_next_to_the_references(results_files):
    document = json.loads(results_files[0].read_text(encoding="utf-8"))
    backtest = {
        "inputs": {"cutoff": "2025-10-31"},
        "summary": [
            {
                "metric": "revenue_gross",
                "segment": "all",
                "actual": 100.0,
                "p10": 95.0,
                "p50": 103.0,
                "p90": 110.0,
                "error": 0.03,
            },
            {
                "metric": "revenue_gross",
                "segment": "new",
                "actual": 10.0,
                "p10": 9.0,
                "p50": 30.0,
                "p90": 40.0,
                "error": 2.0,
            },
        ],
        "coverage": {"share": 0.85},
        "breakage": {"p50": 0.31, "actual": 0.29},
        "references": {
            "summary": [
                {
                    "reference": "seasonal_naive",
                    "metric": "revenue_gross",
                    "segment": "all",
                    "forecast": 90.0,
                    "actual": 100.0,
                    "error": -0.1,
                },
            ]
        },
    }
    text = report.build_report(document, backtest=backtest, lang="en")
    section = text.split("Backtest against history</h2>")[1].split("</section>")[0]
    assert "2025-10-31" in section and "85%" in section
    assert "+3.0%" in section and "-10.0%" in section and "Same month last year" in section
    assert "+200.0%" not in section  # only the segment of all members
    assert "forecast 31.0%, history 29.0%" in section


def test_assumptions_say_which_parameters_are_assumed_in_both_languages(results_files):
    document = json.loads(results_files[0].read_text(encoding="utf-8"))
    for lang, assumed, default in (
        ("en", "assumed (literature; cannot be estimated from your data)", "default (literature)"),
        ("zh", "假设值（文献；无法根据您的数据估计）", "默认值（文献）"),
    ):
        html_text = report.build_report(document, lang=lang)
        cells = r"<tr><td[^>]*>([\w.\-]+)</td><td[^>]*>[^<]*</td><td[^>]*>([^<]*)</td></tr>"
        rows = dict(re.findall(cells, html_text))
        assert rows["effects.reward_rate_lift"] == assumed
        assert rows["bgnbd.r"] == default  # the run used the built-in behavior
    # a user's own value is said to be the user's
    document["inputs"]["behavior"]["effects"]["reward_rate_lift"] = 0.02
    assert "set by a user" in report.build_report(document, lang="en")
