"""The first start on an empty database: the sample is loaded once, and the page says so."""

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "streamlit_app.py")


@pytest.fixture
def empty_workspace(tmp_path, monkeypatch, small_database):
    """An empty data folder whose first start loads the small generated program."""
    import store.db
    from policies.settings import get_settings

    if small_database is None:
        pytest.skip("the store is not installed")
    data_dir = tmp_path / "data"
    monkeypatch.setenv("MEMBERLAB_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MEMBERLAB_DATABASE_URL", raising=False)
    monkeypatch.setattr(store.db, "SAMPLE_FOLDERS", (small_database.parent / "sample",))
    get_settings.cache_clear()
    yield data_dir / "memberlab.sqlite"
    store.dispose_engines()
    get_settings.cache_clear()


def _members(path: Path) -> int:
    engine = create_engine(f"sqlite:///{path.as_posix()}")
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM members")).scalar_one()
    finally:
        engine.dispose()


def test_first_start_loads_the_sample_once_and_shows_it_finished(empty_workspace):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(ENTRY, default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    assert _members(empty_workspace) == 300
    done = [s for s in at.status if s.state == "complete"]
    assert done and done[0].label.startswith("The database is ready (")
    # this sample has no prebuilt database: the page says it loads the CSV files instead
    assert any("prebuilt sample database is missing" in w.value for w in at.warning)
    again = AppTest.from_file(ENTRY, default_timeout=300).run()  # same server: no second load
    assert not again.exception
    assert not again.status
    assert _members(empty_workspace) == 300
