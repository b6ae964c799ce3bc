"""Members' behavior: calibration, the simulation engine and its results.

The public API::

    from simulations import Model, Population, SimulationResult, DEFAULT_BEHAVIOR

    model = Model(policy, behavior=DEFAULT_BEHAVIOR, population=Population.synthetic(20_000),
                  months=24, replications=10, seed=42)
    result = model.run()
    result.summary()

``calibrate`` (fitting behavior parameters to a transaction log) is exported when the
calibration subpackage is present.
"""

from simulations.behavior import DEFAULT_BEHAVIOR, BehaviorParams, load_behavior, save_behavior
from simulations.engine import Model, simulate_replication
from simulations.population import Population
from simulations.results import SimulationResult

__all__ = [
    "DEFAULT_BEHAVIOR",
    "BehaviorParams",
    "Model",
    "Population",
    "SimulationResult",
    "calibrate",
    "load_behavior",
    "save_behavior",
    "simulate_replication",
]


def __getattr__(name: str):
    # Calibration is optional and imported on first use (it may pull in heavier modules).
    if name == "calibrate":
        try:
            from simulations.calibration import calibrate
        except ImportError as exc:
            raise AttributeError(
                "simulations.calibrate is not available: the calibration subpackage is missing"
            ) from exc
        return calibrate
    raise AttributeError(f"module 'simulations' has no attribute {name!r}")
