"""Public names of a package imported on first use (PEP 562 module ``__getattr__``).

A package ``__init__`` that re-exports names from heavy submodules (the engine compiles
with numba, calibration fits with statsmodels) would make every ``import simulations.x``
pay for all of them. Declaring each name with the submodule that defines it, and importing
that submodule when the name is first read, keeps ``from simulations import Model`` working
while a screen that only reads declared labels loads none of it.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package`` for ``exports``.

    Args:
        package: the package's name (``__name__`` of its ``__init__``).
        exports: each public name and the submodule that defines it.

    Returns:
        ``(__getattr__, __dir__)`` to assign at the package's top level. A name read once
        is stored in the package, so later look-ups do not come back here.
    """
    module = importlib.import_module(package)
    namespace = module.__dict__

    class _Package(types.ModuleType):
        # Importing a submodule sets it as an attribute of its package. Where an export is
        # named like its submodule (`calibration.calibrate`, the function, defined in
        # `calibration/calibrate.py`), that would hide the export once the submodule is
        # loaded by anyone; an eager ``__init__`` overwrote it by importing it last.
        def __setattr__(self, name: str, value: Any) -> None:
            if name in exports and isinstance(value, types.ModuleType):
                namespace.pop(name, None)  # read through `__getattr__` from now on
                return
            super().__setattr__(name, value)

    module.__class__ = _Package

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
