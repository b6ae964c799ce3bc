"""The kernel's cached machine code follows the rules it inlines from other modules."""

from pathlib import Path

import numba

from simulations import kernel


def _dispatchers():
    return [v for v in vars(kernel).values() if isinstance(v, numba.core.dispatcher.Dispatcher)]


def test_a_changed_rule_module_discards_the_cached_kernel(monkeypatch):
    flushed = []
    cache_type = type(_dispatchers()[0]._cache)
    monkeypatch.setattr(cache_type, "flush", lambda self: flushed.append(self))
    stamp = Path(_dispatchers()[0]._cache._cache_path) / "kernel.dependencies.sha256"
    current = stamp.read_text(encoding="ascii")

    kernel._forget_stale_machine_code()  # sources unchanged: the cache is kept
    assert flushed == []

    stamp.write_text("0" * 64, encoding="ascii")  # as after an edit of policies/compiled.py
    kernel._forget_stale_machine_code()
    assert {id(c) for c in flushed} == {id(d._cache) for d in _dispatchers()}
    assert len(flushed) >= 10  # every compiled function of the kernel, not one
    assert stamp.read_text(encoding="ascii") == current  # the new fingerprint is recorded

    flushed.clear()
    kernel._forget_stale_machine_code()
    assert flushed == []
