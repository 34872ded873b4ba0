"""Files written all or nothing: a temporary sibling renamed over the target on success.

Every file defibmap writes that a reader (or a second run) may open at the same moment, the
network and OpenStreetMap caches and the study outputs, goes through :func:`atomic_path`: the
data is written under a unique hidden name in the target's folder and moved over the target
with :func:`os.replace`, which is atomic on one file system, so nobody ever sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic"]

#: Mode of a new file: readable by all, as a plain ``open`` under the usual umask makes it.
_NEW_FILE_MODE = 0o644


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` that replaces ``path`` when the block succeeds.

    The temporary file is created empty, hidden and unique (``.tmp-<random>-<name>``, so it
    keeps every suffix of ``path`` for writers that pick a format from the name) in the same
    folder, which must exist. When the block ends normally the file takes the mode of the file
    it replaces (or ``0o644`` for a new one: :func:`tempfile.mkstemp` makes it private) and is
    moved over ``path``; when the block raises it is removed and ``path`` is left as it was.

    Parameters
    ----------
    path
        The file to write.

    Yields
    ------
    pathlib.Path
        The temporary file to write instead of ``path``.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=f"-{path.name}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(path.stat().st_mode & 0o777 if path.exists() else _NEW_FILE_MODE)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` all or nothing (see :func:`atomic_path`); return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` all or nothing (see :func:`atomic_path`); return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return path
