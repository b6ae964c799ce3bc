"""What every ``python -m simulations`` command does alike: check its output, show progress.

A command checks each output file before any work (`output_problem`), so a wrong path costs
seconds, not a finished simulation, and nothing is half-written; long work shows a progress
bar on stderr (`progress_bar`) unless ``--quiet``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["output_problem", "progress_bar"]

_LAYOUT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"


def output_problem(out: str | Path, option: str = "--out") -> str | None:
    """Why a file cannot be written to ``out``, naming the option and what to do, or None.

    The folder must exist and take a new file (probed with a temporary file, removed again);
    ``out`` itself must not be a folder.
    """
    out = Path(out)
    if out.is_dir():
        return f"{option}(={out}) is a folder; give a file name such as {out / 'results.json'}"
    folder = out.absolute().parent
    if not folder.is_dir():
        return f"{option}: the folder {folder} does not exist; create it first"
    try:
        handle, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        return f"{option}: cannot write in {folder} ({exc.strerror or exc})"
    os.close(handle)
    os.unlink(probe)
    return None


@contextmanager
def progress_bar(label: str, quiet: bool = False) -> Iterator[Callable[[float, str], None]]:
    """A ``progress(fraction, message)`` callback drawing a bar on stderr (none when quiet).

    The bar is closed when the block ends, also when it ends with an error or Ctrl-C.
    """
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=100, desc=label, file=sys.stderr, bar_format=_LAYOUT)

    def progress(fraction: float, message: str) -> None:
        if bar is not None:
            bar.n = round(fraction * 100, 1)
            bar.set_description_str(f"{label}, {message}", refresh=False)
            bar.refresh()

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()
