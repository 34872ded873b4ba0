"""The output folder: replaced whole and atomically, and only when defibmap wrote all of it.

Every output is first written in full to a hidden staging folder beside the output folder,
which is then exchanged with the output folder in one atomic step (Linux ``renameat2`` with
``RENAME_EXCHANGE``; a plain rename when the output folder does not exist yet). A run killed at
any instant therefore leaves either the complete earlier outputs or the complete new ones,
never a mix, and never a missing file. Where the exchange is not available the old folder is
renamed aside first; a kill between the two renames leaves the earlier outputs in the hidden
``.<name>.defibmap-old-*`` folder beside it, and the next run puts them back before it starts.
Staging folders a killed run left behind are removed by the next run.

Each run replaces its output folder whole, so it must never hold the user's own work. A
manifest, written last into the staging folder, lists every file defibmap wrote with its
SHA-256; the next run refuses the folder when anything in it, at any depth, is not in the
manifest or has changed since, naming the files. Files an operating system or Office leave
behind (``.DS_Store``, ``Thumbs.db``, ``desktop.ini``, Office ``~$`` and LibreOffice
``.~lock`` lock files) are nobody's work and are ignored; a lock file means the workbook is
open, so it is carried over into the new folder, never deleted.
"""

from __future__ import annotations

import ctypes
import errno
import glob
import hashlib
import json
import logging
import os
import secrets
import shutil
import sys
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from defibmap._errors import DefibmapError
from defibmap.study.result import tool_version

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "MANIFEST_NAME",
    "absolute",
    "carry_locks",
    "check_output_folder",
    "is_lock",
    "replace_folder",
    "unexpected_files",
    "write_manifest",
]

logger = logging.getLogger(__name__)

#: The manifest's file name, inside the output folder.
MANIFEST_NAME = ".defibmap-manifest.json"
#: Files the operating system leaves in folders (lower case).
_SYSTEM_LITTER = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
#: Hidden names earlier versions of defibmap left inside an output folder.
_OWN_LEFTOVERS = (".defibmap-", ".figures-old", ".map.html.")
#: Tag of the hidden staging (and set-aside) folders beside an output folder.
_STAGING_TAG = ".defibmap-"


def is_lock(name: str) -> bool:
    """Return True for an Office (``~$book.xlsx``) or LibreOffice (``.~lock.book.xlsx#``) lock."""
    return name.startswith("~$") or (name.startswith(".~lock.") and name.endswith("#"))


def _ignored(relative: PurePosixPath) -> bool:
    name = relative.name
    return (
        name.lower() in _SYSTEM_LITTER
        or is_lock(name)
        or (len(relative.parts) == 1 and name.startswith(_OWN_LEFTOVERS))
    )


def _files(folder: Path) -> list[tuple[PurePosixPath, Path]]:
    """Return every file and link below ``folder`` (links not followed), by relative path."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        found.append((PurePosixPath(path.relative_to(folder).as_posix()), path))
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, *, version: str) -> None:
    """Record every file in ``folder`` (just written by defibmap) with its SHA-256.

    Parameters
    ----------
    folder
        The staging folder, complete, before it is swapped in.
    version
        The defibmap version that wrote it.
    """
    files = {
        str(relative): _sha256(path)
        for relative, path in _files(folder)
        if str(relative) != MANIFEST_NAME and not _ignored(relative)
    }
    document = {"written_by": "defibmap", "version": version, "sha256": files}
    (folder / MANIFEST_NAME).write_text(
        json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


def _recorded(folder: Path) -> dict[str, str] | None:
    """Return the manifest's file hashes, or None when there is no readable manifest."""
    try:
        document = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = document.get("sha256") if isinstance(document, dict) else None
    if not isinstance(files, dict):
        return None
    return {str(k): str(v) for k, v in files.items()}


def unexpected_files(folder: Path) -> list[tuple[str, str]]:
    """Return the files in an output folder that defibmap may not replace, with the reason.

    Parameters
    ----------
    folder
        An existing output folder.

    Returns
    -------
    list of (str, str)
        Relative path and reason (``"not written by defibmap"`` or ``"changed since defibmap
        wrote it"``), in path order; empty when the folder may be replaced.
    """
    recorded = _recorded(folder)
    unexpected = []
    for relative, path in _files(folder):
        key = str(relative)
        if key == MANIFEST_NAME or _ignored(relative):
            continue
        if recorded is None or key not in recorded or path.is_symlink():
            unexpected.append((key, "not written by defibmap"))
        elif _sha256(path) != recorded[key]:
            unexpected.append((key, "changed since defibmap wrote it"))
    return unexpected


def carry_locks(old: Path, new: Path) -> None:
    """Move workbook lock files from the replaced folder into the new one (never delete them)."""
    for relative, path in _files(old):
        if is_lock(relative.name):
            target = new / Path(*relative.parts)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)


def replace_folder(out_dir: Path, write: Callable[[Path], list[str]]) -> list[str]:
    """Write a new output folder with ``write`` and swap it in whole; return what it wrote.

    Parameters
    ----------
    out_dir
        The output folder (absolute, see :func:`absolute`).
    write
        Writes every output into the empty staging folder it is given; returns their names.

    Returns
    -------
    list of str
        The names ``write`` returned.
    """
    check_output_folder(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _recover(out_dir)
    staging = out_dir.parent / f".{out_dir.name}{_STAGING_TAG}{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        names = write(staging)
        write_manifest(staging, version=tool_version())
        _swap_in(staging, out_dir)
        carry_locks(staging, out_dir)  # staging now holds the earlier outputs
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return names


def absolute(out_dir: str | Path) -> Path:
    """Return the output folder as an absolute path, following a symbolic link to its folder."""
    path = Path(os.path.abspath(Path(out_dir).expanduser()))  # noqa: PTH100 - keep links
    return path.resolve() if path.is_symlink() else path


def check_output_folder(out_dir: str | Path) -> None:
    """Refuse an output folder that cannot be replaced whole.

    Raises
    ------
    DefibmapError
        When the folder is a file, is (or holds) the working folder, or holds anything, at any
        depth, that defibmap did not write or that changed since it wrote it.
    """
    out_dir = absolute(out_dir)
    cwd = Path.cwd()
    if out_dir == cwd or out_dir in cwd.parents:
        msg = f"output folder {out_dir} is the working folder (or holds it); give a folder below it"
        raise DefibmapError(msg)
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        msg = f"output folder {out_dir} is a file, not a folder"
        raise DefibmapError(msg)
    unexpected = unexpected_files(out_dir)
    if unexpected:
        shown = "; ".join(f"{name} ({why})" for name, why in unexpected[:5])
        more = f"; and {len(unexpected) - 5} more" if len(unexpected) > 5 else ""
        msg = (
            f"output folder {out_dir} holds files defibmap may not replace: {shown}{more}. "
            "Each run replaces the whole folder, so nothing was changed: give another --out, "
            "or move those files out of the folder"
        )
        raise DefibmapError(msg)


def _recover(out_dir: Path) -> None:
    """Put back outputs a killed fallback swap left aside; remove dead runs' staging folders."""
    prefix = f".{out_dir.name}{_STAGING_TAG}"
    for path in sorted(out_dir.parent.glob(f"{glob.escape(prefix)}*")):
        tail = path.name[len(prefix) :]
        if tail.startswith("old-"):
            if not out_dir.exists():
                path.rename(out_dir)
                logger.warning("restored the earlier outputs of an interrupted run: %s", out_dir)
            else:
                shutil.rmtree(path, ignore_errors=True)
            continue
        pid = tail.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Make ``staging`` the output folder; the earlier outputs end up in ``staging``."""
    if not out_dir.exists():
        staging.rename(out_dir)
        staging.mkdir()  # so the caller's clean-up has the same thing to remove
        return
    try:
        _exchange(staging, out_dir)
    except OSError as exc:
        logger.info("atomic folder exchange unavailable (%s); renaming aside", exc)
        aside = staging.with_name(f".{out_dir.name}{_STAGING_TAG}old-{secrets.token_hex(4)}")
        out_dir.rename(aside)
        staging.rename(out_dir)
        aside.rename(staging)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); OSError elsewhere."""
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, "renameat2 is Linux only")
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "this C library has no renameat2")
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes.append(ctypes.c_uint)
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(a), None, str(b))
