"""What the workbench remembers for one browser session, across page switches.

Streamlit drops a widget's state when the widget is not drawn (after a page switch), so the
real data lives under the workbench's own non-widget keys in ``st.session_state`` and
widgets are fed from it:

* ``POLICY``: the policy being edited (always a valid `policies.Policy`) and ``SOURCE``, a
  label saying where it came from (an example, a scenario, the live file, an edit);
* ``RESULTS``: the last simulation results, by scenario label;
* ``LANGUAGE``: ``"en"`` or ``"zh"``;
* ``FLASH``: a one-shot message shown after a rerun (e.g. "version 3 is live");
* ``CHOICES``: what the user picked on the forecast pages (scenario, baseline, run
  settings), by name, so a language switch (which redraws those widgets under new keys
  with translated labels) keeps every choice (`choice`, `remember`, `choice_key`);
* ``REVISION``: bumped whenever the policy is replaced from outside the designer's widgets
  (an example, a scenario or the live file is loaded). Designer widgets carry it (and the
  language) in their keys (`widget_key`), so they start again from the new policy instead
  of keeping the values typed for the old one (a keyed Streamlit widget keeps its state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from policies import Policy, load_policy

__all__ = [
    "CHOICES",
    "FLASH",
    "LANGUAGE",
    "POLICY",
    "RESULTS",
    "REVISION",
    "SOURCE",
    "EXAMPLES_DIR",
    "default_policy",
    "examples",
    "flash",
    "choice",
    "choice_key",
    "init",
    "policy",
    "remember",
    "remember_result",
    "results",
    "set_policy",
    "show_flash",
    "source",
    "source_label",
    "widget_key",
]

POLICY = "ml_policy"
SOURCE = "ml_policy_source"
RESULTS = "ml_results"
LANGUAGE = "ml_lang"
FLASH = "ml_flash"
REVISION = "ml_rev"
CHOICES = "ml_choices"

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "policies" / "examples"
DEFAULT_EXAMPLE = "classic_four_tier.yaml"


def examples() -> dict[str, Path]:
    """The example policies shipped with the project, by file stem."""
    return {path.stem: path for path in sorted(EXAMPLES_DIR.glob("*.yaml"))}


def default_policy() -> Policy:
    """The policy a new session starts from: the classic four-tier example."""
    path = EXAMPLES_DIR / DEFAULT_EXAMPLE
    if not path.exists():
        path = next(iter(examples().values()))
    return load_policy(path)


def init() -> None:
    """Fill in the session's defaults (called once per run by the router)."""
    if POLICY not in st.session_state:
        st.session_state[POLICY] = default_policy()
        st.session_state[SOURCE] = f"example:{Path(DEFAULT_EXAMPLE).stem}"
    st.session_state.setdefault(RESULTS, {})
    st.session_state.setdefault(LANGUAGE, "en")
    st.session_state.setdefault(REVISION, 0)


def widget_key(name: str) -> str:
    """The key of a designer widget for the current policy revision and language.

    The language is part of the key because option labels are translated: a selection
    remembered under its English label would not be found among the Chinese ones.
    """
    return f"{name}_{st.session_state.get(REVISION, 0)}_{st.session_state.get(LANGUAGE, 'en')}"


def choice_key(name: str) -> str:
    """The key of a forecast-page widget: its name and the language it is drawn in.

    A widget whose label or option texts change keeps no state in Streamlit, so each
    language has its own widget, started from the value kept under `choice`.
    """
    return f"{name}_{st.session_state.get(LANGUAGE, 'en')}"


def choice(name: str, default: Any = None) -> Any:
    """The value last picked in the widget ``name`` (``default`` before the first pick)."""
    return st.session_state.get(CHOICES, {}).get(name, default)


def remember(name: str, value: Any) -> Any:
    """Keep the value picked in the widget ``name`` (returned unchanged, for chaining)."""
    st.session_state.setdefault(CHOICES, {})[name] = value
    return value


def policy() -> Policy:
    """The policy being edited."""
    init()
    return st.session_state[POLICY]


def source() -> str:
    """Where the policy being edited came from.

    One of ``example:<stem>``, ``scenario:<name>``, ``live:v<version>``, ``pasted``, ``edited``.
    """
    return st.session_state.get(SOURCE, "")


def source_label() -> str:
    """`source` in the session's language, e.g. "Example: classic_four_tier" / "示例：…"."""
    from app.i18n import t

    kind, _, name = source().partition(":")
    if kind == "live":
        return t("runs.live", version=name.removeprefix("v"))
    if kind in ("example", "scenario"):
        return t(f"runs.{kind}", name=name)
    return t(f"source.{kind}") if kind in ("edited", "pasted") else source()


def set_policy(new_policy: Policy, new_source: str | None = None, replace: bool = True) -> None:
    """Set the policy being edited (it must already be validated).

    Args:
        new_policy: the policy.
        new_source: where it came from (kept as is when None).
        replace: True when it comes from outside the designer's widgets (they are reset);
            False for an edit made in those widgets.
    """
    st.session_state[POLICY] = new_policy
    if new_source is not None:
        st.session_state[SOURCE] = new_source
    if replace:
        st.session_state[REVISION] = st.session_state.get(REVISION, 0) + 1


def results() -> dict[str, Any]:
    """The session's simulation results by scenario label."""
    return st.session_state.setdefault(RESULTS, {})


def remember_result(label: str, result: Any) -> None:
    """Keep a simulation result for the Compare and Finance pages."""
    results()[label] = result


def flash(message: str, kind: str = "success") -> None:
    """Show ``message`` once, at the top of the next run (after any already pending)."""
    st.session_state.setdefault(FLASH, []).append((kind, message))


def show_flash() -> None:
    """Draw and forget the pending one-shot messages."""
    for kind, message in st.session_state.pop(FLASH, []):
        getattr(st, kind, st.info)(message)
