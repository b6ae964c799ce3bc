"""The shipped sample as a prebuilt SQLite database, copied into place on the first start.

Bulk-loading the sample's ~550,000 rows into SQLite costs several seconds of CPU and, on a
busy disk, much longer (every page is written to the WAL, then to the database). So
`build` (``python -m store prebuild``) loads the sample CSV files into a fresh database
with the same code as a normal first start (`store.db.ensure_database`), compacts it and
writes it xz-compressed next to them (``memberlab.sqlite.xz``), with a manifest
(``prebuilt.json``) recording the file's SHA-256 and size, the SHA-256 of every CSV file it
was built from and the schema revision.

On the first start of an embedded SQLite database, `install` checks the manifest (the
compressed file's checksum, and that the CSV files are still the ones it was built from),
decompresses the file next to the target and links it into place only if no database file
exists there yet. Anything else raises `PrebuiltUnusable` with the reason, and the caller
loads the CSV files instead. PostgreSQL is always loaded by bulk insert.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import lzma
import os
import sqlite3
import tempfile
from pathlib import Path

__all__ = [
    "MANIFEST_FILE",
    "PREBUILT_FILE",
    "PrebuiltUnusable",
    "build",
    "check",
    "install",
    "source_digests",
]

log = logging.getLogger(__name__)

PREBUILT_FILE = "memberlab.sqlite.xz"
MANIFEST_FILE = "prebuilt.json"
_CHUNK = 1 << 20


class PrebuiltUnusable(Exception):
    """The prebuilt database cannot be used (missing, damaged or stale); says why."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def source_digests(folder: str | Path) -> dict[str, str]:
    """SHA-256 of each sample CSV file in ``folder`` (``.csv`` or ``.csv.gz``), by file name."""
    from store.db import SAMPLE_TABLES

    folder = Path(folder)
    found = {}
    for name in SAMPLE_TABLES:
        for candidate in (folder / f"{name}.csv", folder / f"{name}.csv.gz"):
            if candidate.is_file():
                found[candidate.name] = _sha256(candidate)
                break
    return found


def check(folder: str | Path) -> Path:
    """The verified compressed database of the sample in ``folder``.

    Raises:
        PrebuiltUnusable: the file or its manifest is missing, the file's SHA-256 or size
            differs from the manifest's, or the CSV files differ from those it was built from.
    """
    folder = Path(folder)
    path, manifest_path = folder / PREBUILT_FILE, folder / MANIFEST_FILE
    if not path.is_file() or not manifest_path.is_file():
        raise PrebuiltUnusable(f"{path} or {manifest_path.name} is missing")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        expected, size, sources = manifest["sha256"], manifest["bytes"], manifest["sources"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PrebuiltUnusable(f"{manifest_path} is not a valid manifest ({exc})") from None
    if path.stat().st_size != size or _sha256(path) != expected:
        raise PrebuiltUnusable(f"{path} does not match the SHA-256 recorded in {manifest_path}")
    if source_digests(folder) != sources:
        raise PrebuiltUnusable(
            f"{path} was built from other CSV files than those in {folder}"
            " (rebuild it: python -m store prebuild)"
        )
    return path


def install(folder: str | Path, target: str | Path) -> bool:
    """Put the verified prebuilt database of ``folder`` at ``target`` if nothing is there yet.

    The file is decompressed into a temporary file in ``target``'s folder, flushed to disk
    and hard-linked to ``target``: a process that created the database meanwhile keeps its
    own (the link fails and the copy is dropped), and a half-written copy is never seen.

    Returns:
        True if this call put the database in place, False if a database file already existed.

    Raises:
        PrebuiltUnusable: see `check`; also when the compressed file cannot be read or the
            copy cannot be written or linked (disk full, no hard links).
    """
    source = check(folder)
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise PrebuiltUnusable(f"cannot write next to {target} ({exc})") from None
    try:
        with os.fdopen(handle, "wb") as out, lzma.open(source, "rb") as compressed:
            for block in iter(lambda: compressed.read(_CHUNK), b""):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, target)
        except FileExistsError:
            return False
        return True
    except (lzma.LZMAError, EOFError) as exc:
        raise PrebuiltUnusable(f"{source} cannot be decompressed ({exc})") from None
    except OSError as exc:  # a full disk, a file system without hard links
        raise PrebuiltUnusable(f"cannot put {source.name} at {target} ({exc})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def build(folder: str | Path | None = None) -> dict:
    """Build the prebuilt database of the sample in ``folder`` and write its manifest.

    Args:
        folder: the sample folder (default: the first of `store.db.SAMPLE_FOLDERS` holding
            the sample).

    Returns:
        The manifest written (also in ``folder/prebuilt.json``).
    """
    from store.db import SAMPLE_FOLDERS, dispose_engines, ensure_database

    if folder is None:
        folder = next(f for f in SAMPLE_FOLDERS if (f / "members.csv").is_file())
    folder = Path(folder)
    with tempfile.TemporaryDirectory() as work:
        database = Path(work) / "memberlab.sqlite"
        url = f"sqlite:///{database.as_posix()}"
        counts = ensure_database(url, sample_folder=folder, prebuilt=False)
        dispose_engines(url)  # the file is closed before it is compacted
        conn = sqlite3.connect(database, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("VACUUM")
            (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
        packed = folder / f".{PREBUILT_FILE}.partial"  # same folder: the rename is atomic
        with open(database, "rb") as raw, lzma.open(packed, "wb", preset=6) as out:
            for block in iter(lambda: raw.read(_CHUNK), b""):
                out.write(block)
        manifest = {
            "file": PREBUILT_FILE,
            "sha256": _sha256(packed),
            "bytes": packed.stat().st_size,
            "database_bytes": database.stat().st_size,
            "schema_revision": revision,
            "rows": counts,
            "sources": source_digests(folder),
        }
        os.replace(packed, folder / PREBUILT_FILE)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s (%s bytes)", folder / PREBUILT_FILE, f"{manifest['bytes']:,}")
    return manifest
