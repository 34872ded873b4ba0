"""Find the study files and data shipped with the package.

In an installed package the repository's top-level ``data/`` folder is mapped into the wheel
as ``defibmap/data`` and found with :mod:`importlib.resources`, never through the current
directory. In a source checkout (editable install, or tests importing the source tree) the
same folder sits beside the package.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from defibmap._errors import ConfigError


def data_root() -> Path:
    """Return the folder holding the shipped ``studies/`` and their data."""
    packaged = Path(str(files("defibmap"))) / "data"
    if (packaged / "studies").is_dir():
        return packaged
    source_tree = Path(__file__).resolve().parent.parent / "data"
    if (source_tree / "studies").is_dir():
        return source_tree
    msg = "the shipped studies are missing from this installation of defibmap"
    raise ConfigError(msg)


def shipped_studies() -> list[str]:
    """Names of the studies shipped with the package."""
    return sorted(p.stem for p in (data_root() / "studies").glob("*.toml"))


def study_path(name: str) -> Path:
    """Return the path of a shipped study by name (e.g. ``"leeds"``, ``"demo-town"``).

    A name is only ever looked up among the shipped studies: one holding a path separator or
    ``..`` is refused, so a name can never reach a file elsewhere (give a path as a file).
    """
    path = data_root() / "studies" / f"{name}.toml"
    if not name or "/" in name or "\\" in name or ".." in name or name.startswith("."):
        msg = f"{name!r} is not a shipped study name; give a study file with --config"
        raise ConfigError(msg)
    if not path.is_file():
        known = ", ".join(shipped_studies())
        msg = f"no shipped study named {name!r}; shipped studies: {known}"
        raise ConfigError(msg)
    return path
