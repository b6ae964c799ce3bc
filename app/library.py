"""Access to the library layers a page calls, tolerant of layers not installed yet.

A page asks for a module with `require`; when the module is missing the page shows a
friendly notice instead of failing, and works fully as soon as the module exists. Only a
*missing* module of the project's own package is tolerated (the package or one of its
submodules is not installed yet); any other import error is a bug and propagates.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import streamlit as st

from app.i18n import t

__all__ = ["optional", "require"]


def optional(name: str, needs: tuple[str, ...] = ()) -> ModuleType | None:
    """Import ``name``, or return None when it does not exist (yet).

    Args:
        name: the dotted module name.
        needs: attributes the caller uses; a module lacking any of them (e.g. a package
            folder that is still empty) counts as not available.
    """
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        package = name.split(".", 1)[0]
        if missing == package or missing.startswith(package + "."):
            return None
        raise
    if any(not hasattr(module, attribute) for attribute in needs):
        return None
    return module


def require(name: str, feature: str, needs: tuple[str, ...] = ()) -> ModuleType | None:
    """Import ``name`` or show a "not available yet" notice for ``feature`` (a text key)."""
    module = optional(name, needs)
    if module is None:
        st.info(t("common.not_available", feature=t(feature)), icon=":material/construction:")
    return module
