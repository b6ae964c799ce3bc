import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "streamlit_app.py")


@pytest.fixture(scope="session")
def small_database(tmp_path_factory):
    """A SQLite database holding a small generated program (300 members), built once.

    None when the store is not installed; pages then say so instead of charting.
    """
    try:
        import store
        from sample_data import generate, write
    except ModuleNotFoundError:
        return None
    base = tmp_path_factory.mktemp("small_program")
    folder = write(generate(n_members=300, seed=7), base / "sample")
    path = base / "memberlab.sqlite"
    store.ensure_database(f"sqlite:///{path.as_posix()}", sample_folder=folder)
    store.dispose_engines()
    return path


@pytest.fixture
def workspace(tmp_path, monkeypatch, small_database):
    """Point the database, the data folder and the live file at tmp_path."""
    from policies.settings import get_settings

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if small_database is not None:
        shutil.copyfile(small_database, data_dir / "memberlab.sqlite")
    live = tmp_path / "live" / "policy.json"
    monkeypatch.setenv("MEMBERLAB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MEMBERLAB_PUBLISH_TARGET", str(live))
    # Two named publishers (tests log in as ana; see tests/app/test_designer_and_publish.py).
    monkeypatch.setenv("MEMBERLAB_PUBLISHER_SECRET", "ana:secret-of-ana,ben:secret-of-ben")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{(data_dir / 'memberlab.sqlite').as_posix()}")
    get_settings.cache_clear()
    yield {"data_dir": data_dir, "live": live}
    get_settings.cache_clear()


@pytest.fixture
def app(workspace):
    """The workbench under AppTest with a generous timeout, not run yet (see open_page)."""
    from streamlit.testing.v1 import AppTest

    # A guard against a hung script, not a speed check: runs on a busy CI machine can be slow.
    return AppTest.from_file(ENTRY, default_timeout=300)


@pytest.fixture
def open_page():
    """Switch an AppTest to a page by file name, run it and check it raised nothing."""

    def switch(at, name):
        at.switch_page(f"app/pages/{name}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return switch
