"""Checks of what the interface says, shared by the AppTest and the real-browser tests.

Under 中文 no English word may be left in the interface (`english_left`), except words that
are the same in both languages (`ABBREVIATIONS`) and the data's own names, which each test
adds to its allow-list.
"""

import re

ABBREVIATIONS = {
    "P10", "P50", "P90", "CSV", "Excel", "YAML", "ROI", "IFRS", "BG", "NBD", "Gamma", "ISO",
    "CNY", "UTF", "GB", "GBK", "Big5", "Parquet", "PARQUET", "MB", "URR", "SQLite", "JSON",
    "KPI", "Pareto", "UTC", "id", "MemberLab", "Optuna", "HTML", "PDF",
    "Language",  # the language switch says its name in both languages, on purpose
}  # fmt: skip
"""Words that are the same in both languages (units, formats, model and product names)."""


def english_left(text, allowed):
    """English words in ``text`` that are not in ``allowed`` (with a little context)."""
    text = re.sub(r"\b[0-9a-f]{12,}\b", " ", text)  # content ids and checksums
    text = re.sub(r"\S+\.(?:sqlite|json|yaml|csv|xlsx|py)\b|sqlite:///\S+|/\S+", " ", text)
    found = {}
    for match in re.finditer(r"[A-Za-z][A-Za-z0-9]*", text):
        word = match.group(0)
        if len(word) < 2 or word in allowed or word.lower() in allowed:
            continue
        found.setdefault(word, text[max(0, match.start() - 30) : match.end() + 30])
    return [f"{word!r} in …{context.replace(chr(10), ' ')}…" for word, context in found.items()]
