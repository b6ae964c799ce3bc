"""Members' behavior: calibration, the simulation engine and its results.

The public API::

    from simulations import Model, Population, SimulationResult, DEFAULT_BEHAVIOR

    model = Model(policy, behavior=DEFAULT_BEHAVIOR, population=Population.synthetic(20_000),
                  months=24, replications=10, seed=42)
    result = model.run()
    result.summary()

``calibrate`` (fitting behavior parameters to a transaction log) is exported when the
calibration subpackage is present.

The names are imported on first use (PEP 562 module ``__getattr__``), so importing a light
submodule such as `simulations.results` (whose declared labels every screen reads) does not
load the engine, numba or statsmodels: a page pays for them only when it computes.
"""

from __future__ import annotations

from simulations.lazy_imports import lazy_exports

_EXPORTS = {
    "DEFAULT_BEHAVIOR": "simulations.behavior",
    "BehaviorParams": "simulations.behavior",
    "Model": "simulations.engine",
    "Population": "simulations.population",
    "SimulationResult": "simulations.results",
    "calibrate": "simulations.calibration",
    "load_behavior": "simulations.behavior",
    "save_behavior": "simulations.behavior",
    "simulate_replication": "simulations.engine",
}
"""Each public name and the submodule that defines it."""

__all__ = sorted(_EXPORTS)

_lazy_getattr, __dir__ = lazy_exports(__name__, _EXPORTS)


def __getattr__(name: str):
    """A public name, imported from its submodule on first use (PEP 562)."""
    try:
        return _lazy_getattr(name)
    except ImportError as exc:
        if name != "calibrate":
            raise
        raise AttributeError(
            "simulations.calibrate is not available: the calibration subpackage is missing"
        ) from exc
