"""What defibmap wrote into an output folder: a manifest of files and their SHA-256.

Each run replaces its output folder whole, so it must never hold the user's own work. The
manifest, written last into the staging folder, lists every file defibmap wrote with its
hash; the next run refuses the folder when anything in it, at any depth, is not in the
manifest or has changed since. Files an operating system or Office leave behind
(``.DS_Store``, ``Thumbs.db``, ``desktop.ini``, Office ``~$`` and LibreOffice ``.~lock`` lock
files) are nobody's work and are ignored; a lock file means the workbook is open, so it is
carried over into the new folder, never deleted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path, PurePosixPath

__all__ = [
    "MANIFEST_NAME",
    "carry_locks",
    "is_lock",
    "unexpected_files",
    "write_manifest",
]

#: The manifest's file name, inside the output folder.
MANIFEST_NAME = ".defibmap-manifest.json"
#: Files the operating system leaves in folders (lower case).
_SYSTEM_LITTER = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
#: Hidden names earlier versions of defibmap left inside an output folder.
_OWN_LEFTOVERS = (".defibmap-", ".figures-old", ".map.html.")


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
