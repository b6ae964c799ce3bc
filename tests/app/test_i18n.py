import re
import string
from pathlib import Path

import pytest

from app.i18n import LANGUAGES, TEXT, t

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "streamlit_app.py", *sorted((ROOT / "app").rglob("*.py"))]


def _fields(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(TEXT))
def test_every_key_has_every_language_with_the_same_placeholders(key):
    entry = TEXT[key]
    assert set(entry) == set(LANGUAGES), key
    assert all(entry[lang].strip() for lang in LANGUAGES), key
    assert _fields(entry["en"]) == _fields(entry["zh"]), key


def test_every_key_the_screens_use_exists():
    used = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\(\s*(f?)\"([^\"]+)\"", text))
        used |= {
            ("f", prefix + ".{value}") for prefix in re.findall(r"labeler\(\"([^\"]+)\"", text)
        }
    assert used, "no t(...) calls found"
    missing = []
    for is_f, key in used:
        if is_f:
            prefix = key.split("{", 1)[0]
            if not any(name.startswith(prefix) for name in TEXT):
                missing.append(key)
        elif key not in TEXT:
            missing.append(key)
    assert not missing, missing


def test_t_formats_and_switches_language():
    assert t("publish.done", lang="en", version=3) == "Version 3 is live."
    assert "3" in t("publish.done", lang="zh", version=3)
    assert t("publish.done", lang="zh", version=3) != t("publish.done", lang="en", version=3)
    assert t("no.such.key") == "no.such.key"


def test_every_declared_result_figure_has_a_label_in_every_language():
    from simulations.results import KPIS, METRICS

    labels = [k.label for k in KPIS] + [m.label for m in METRICS if m.chart]
    missing = [key for key in labels if key not in TEXT]
    assert not missing, missing
