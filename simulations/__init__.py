"""Members' behavior: calibration, the simulation engine and its results."""
