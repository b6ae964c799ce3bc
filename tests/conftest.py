"""Settings shared by the whole test suite.

Tests assert behaviour, never wall-clock time (speed lives in ``benchmarks/``), so
Hypothesis' per-example deadline and its "too slow" health check are off: on a shared
two-core machine or under ``pytest -n 2`` a single example can take 0.5 s without anything
being wrong, and a property test must not fail on that.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "memberlab",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("memberlab")
