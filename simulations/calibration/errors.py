"""Typed errors raised by calibration."""

from __future__ import annotations

__all__ = ["CalibrationDataError", "ConvergenceError"]


class CalibrationDataError(ValueError):
    """The input data cannot be used: a missing column, a bad row or too little data.

    The message names the file or frame, the column or row and the bad value, and says what
    would be valid.
    """


class ConvergenceError(RuntimeError):
    """A maximum-likelihood fit did not reach an optimum.

    Attributes:
        model: the model that failed (``"BG/NBD"``, ``"Gamma-Gamma"``, ...).
        report: the convergence report (optimizer message, iterations, gradient norm).
    """

    def __init__(self, model: str, message: str, report: dict | None = None):
        super().__init__(f"{model} did not converge: {message}")
        self.model = model
        self.report = dict(report or {})
