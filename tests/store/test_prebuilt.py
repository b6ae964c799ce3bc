"""The sample's prebuilt SQLite database: verified, copied on a first start, else bulk-loaded."""

import json

import pytest

import store
from store import db, prebuilt


def _steps(url, folder):
    steps = []
    counts = store.ensure_database(
        url, sample_folder=folder, progress=lambda _f, s: steps.append(s)
    )
    return counts, steps


def test_the_shipped_prebuilt_database_is_the_shipped_sample():
    """Its checksum and the CSV files it was built from are those recorded (cheap: no load)."""
    folder = next((f for f in db.SAMPLE_FOLDERS if (f / prebuilt.PREBUILT_FILE).exists()), None)
    if folder is None:
        pytest.skip("no prebuilt sample database (python -m store prebuild writes it)")
    prebuilt.check(folder)  # raises PrebuiltUnusable with the reason
    manifest = json.loads((folder / prebuilt.MANIFEST_FILE).read_text(encoding="utf-8"))
    tables = db.read_sample_tables(folder)
    assert manifest["rows"] == {name: len(frame) for name, frame in tables.items()}
    assert manifest["bytes"] < 10_000_000  # compressed, in the repository


def test_a_new_sqlite_file_starts_as_a_copy_of_the_prebuilt(tmp_path, sample_folder):
    prebuilt.build(sample_folder)
    url = f"sqlite:///{tmp_path / 'data' / 'memberlab.sqlite'}"
    counts, steps = _steps(url, sample_folder)
    assert steps == ["copying", "done"]
    tables = db.read_sample_tables(sample_folder)
    assert counts == {name: len(frame) for name, frame in tables.items()}
    assert _steps(url, sample_folder) == ({}, [])  # later starts only check the schema
    assert len(store.members(url=url)) == 3
    store.dispose_engines()


@pytest.mark.parametrize("damage", ["checksum", "stale", "missing", "no hard links"])
def test_an_unusable_prebuilt_is_said_and_the_csv_files_are_loaded(
    tmp_path, sample_folder, damage, caplog, monkeypatch
):
    prebuilt.build(sample_folder)
    packed = sample_folder / prebuilt.PREBUILT_FILE
    if damage == "checksum":
        packed.write_bytes(packed.read_bytes()[:-1] + b"\0")
    elif damage == "stale":
        (sample_folder / "campaigns_run.csv").write_text(
            (sample_folder / "campaigns_run.csv").read_text() + "\n"
        )
    elif damage == "missing":
        packed.unlink()
    else:

        def refuse(*_args):
            raise PermissionError("operation not permitted")

        monkeypatch.setattr(prebuilt.os, "link", refuse)
    url = f"sqlite:///{tmp_path / 'memberlab.sqlite'}"
    counts, steps = _steps(url, sample_folder)
    assert steps[:3] == ["copying", "fallback", "reading"]
    assert counts["members"] == 3 and counts["points_ledger"] == 7
    assert "the prebuilt sample database is not used" in caplog.text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers
    store.dispose_engines()


def test_only_a_new_sqlite_file_is_copied_into(tmp_path):
    assert db._new_sqlite_file("postgresql+psycopg://u@localhost/memberlab") is None
    assert db._new_sqlite_file("sqlite://") is None
    path = tmp_path / "memberlab.sqlite"
    assert db._new_sqlite_file(f"sqlite:///{path}") == path.resolve()
    (tmp_path / "memberlab.sqlite-wal").write_bytes(b"")  # a leftover WAL would be replayed
    assert db._new_sqlite_file(f"sqlite:///{path}") is None
