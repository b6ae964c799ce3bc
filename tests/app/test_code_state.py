"""Figures cached on disk are keyed on the code that computed them, not only the data."""

from app import database


def test_a_changed_rule_changes_the_key_of_figures_cached_on_disk(tmp_path, monkeypatch):
    for package in ("policies", "store", "simulations"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "rules.py").write_text("WINDOW = 12\n")
    (tmp_path / "app").mkdir()
    monkeypatch.setattr(database, "__file__", str(tmp_path / "app" / "database.py"))

    database.code_state.cache_clear()
    before = database.code_state()
    database.code_state.cache_clear()
    assert database.code_state() == before  # the same code, the same key
    (tmp_path / "simulations" / "rules.py").write_text("WINDOW = 11\n")  # an upgrade
    database.code_state.cache_clear()
    assert database.code_state() != before
    database.code_state.cache_clear()


def test_the_disk_cache_key_carries_the_code_state(monkeypatch):
    monkeypatch.setattr(database, "_data_state", lambda url, generation: "data")
    monkeypatch.setattr(database, "database_url", lambda: "sqlite://")
    monkeypatch.setattr(database, "generation", lambda: 0)
    assert database.data_state() == f"data-{database.code_state()}"
