"""Checks of a local OpenStreetMap file before pyosmium reads it, and its read errors in words.

pyosmium reads by the file name's suffix and reports a damaged file as a bare
``RuntimeError`` ("bzip2 error: read failed: -7"), deep inside a long read. A named pipe
would block it forever. :func:`check_osm_file` looks at the file itself first (a regular,
readable, non-empty file whose first bytes match its suffix) so each fault is named in one
message before any long work; :func:`osm_read_errors` turns what only a full read can find (a
file cut short part way) into the same kind of message.
"""

from __future__ import annotations

import stat
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from defibmap._errors import DefibmapError

__all__ = ["check_osm_file", "osm_read_errors"]

#: What to give instead, in every message.
_GIVE = "give an OpenStreetMap extract ending .osm, .osm.bz2, .osm.gz or .osm.pbf"

#: Bytes read to recognise the format: a PBF file starts with a 4-byte length and "OSMHeader".
_HEAD_BYTES = 64


def _format_of_name(path: Path) -> str | None:
    """Return the format the file's suffix promises (as pyosmium reads it), or None."""
    name = path.name.lower()
    for suffix, kind in ((".pbf", "PBF"), (".bz2", "bzip2"), (".gz", "gzip")):
        if name.endswith(suffix):
            return kind
    if name.endswith((".osm", ".xml")):
        return "XML"
    return None


def _format_of_bytes(head: bytes) -> str | None:
    """Return the format the first bytes show, or None when they are none of the four."""
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if b"OSMHeader" in head[4:20]:
        return "PBF"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "XML"
    return None


_SUFFIX = {"PBF": ".osm.pbf", "bzip2": ".osm.bz2", "gzip": ".osm.gz", "XML": ".osm"}
_ARTICLE = {"PBF": "a", "bzip2": "a", "gzip": "a", "XML": "an"}


def check_osm_file(path: Path, *, error: type[DefibmapError]) -> None:
    """Refuse a path that is not a readable OpenStreetMap file of the format its name says.

    Parameters
    ----------
    path
        The file given as the OpenStreetMap extract.
    error
        The error class raised (the network reader raises ``NetworkError``, the layer
        reader ``InputError``).

    Raises
    ------
    DefibmapError
        ``error``, naming the file and what is wrong: missing, a folder, not a regular file
        (a named pipe is never opened: reading it would wait forever), unreadable, empty,
        content of another format than its suffix, or not OpenStreetMap data at all.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        msg = f"{path}: OpenStreetMap file not found"
        raise error(msg) from None
    except OSError as exc:
        msg = f"{path}: cannot read the OpenStreetMap file ({exc.strerror})"
        raise error(msg) from exc
    if stat.S_ISDIR(mode):
        msg = f"{path}: is a folder, not an OpenStreetMap file; {_GIVE}"
        raise error(msg)
    if not stat.S_ISREG(mode):
        msg = f"{path}: is not a regular file (a named pipe, device or socket); {_GIVE}"
        raise error(msg)
    try:
        with path.open("rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError as exc:
        msg = f"{path}: cannot read the OpenStreetMap file ({exc.strerror}); check its permissions"
        raise error(msg) from exc
    if not head:
        msg = f"{path}: the OpenStreetMap file is empty; download it again"
        raise error(msg)
    named, held = _format_of_name(path), _format_of_bytes(head)
    if held is None:
        msg = (
            f"{path}: is not an OpenStreetMap file (neither OSM XML nor PBF, bzip2 or gzip); "
            f"{_GIVE}"
        )
        raise error(msg)
    if named is not None and named != held:
        msg = (
            f"{path}: is named as {_ARTICLE[named]} {named} file but holds {held} data; "
            f"rename it to end in {_SUFFIX[held]}"
        )
        raise error(msg)


@contextmanager
def osm_read_errors(path: Path, *, error: type[DefibmapError]) -> Iterator[None]:
    """Turn pyosmium's ``RuntimeError`` while reading ``path`` into ``error`` naming the file.

    A file that passed :func:`check_osm_file` can still be cut short or damaged part way;
    only reading it finds out.
    """
    try:
        yield
    except RuntimeError as exc:
        msg = (
            f"{path}: cannot be read as OpenStreetMap data ({exc}); the file is damaged "
            "or cut short: download it again"
        )
        raise error(msg) from exc
