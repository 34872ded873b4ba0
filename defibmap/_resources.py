"""Find the study files and data shipped with the package.

In an installed package the repository's top-level ``data/`` folder is mapped into the wheel
as ``defibmap/data`` and found with :mod:`importlib.resources`, never through the current
directory. In a source checkout (editable install, or tests importing the source tree) the
same folder sits beside the package.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import dataclass
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


@dataclass(frozen=True)
class StudyInfo:
    """What ``defibmap studies`` says about one shipped study.

    Attributes
    ----------
    name
        The name to run it by (``defibmap run NAME``).
    title
        Its ``[study] name``.
    description
        Its ``[study] description`` (may be empty).
    synthetic
        True for generated demonstration data (``[study] synthetic``).
    needs_internet
        True when it downloads from OpenStreetMap (no ``[network] osm_file`` or
        ``graph_file``) the first time it runs; later runs use the cache.
    """

    name: str
    title: str
    description: str
    synthetic: bool
    needs_internet: bool


def study_info() -> list[StudyInfo]:
    """Describe every shipped study, in name order (read from its ``[study]`` and ``[network]``)."""
    found = []
    for name in shipped_studies():
        with study_path(name).open("rb") as stream:
            document = tomllib.load(stream)
        study = document.get("study", {})
        network = document.get("network", {})
        found.append(
            StudyInfo(
                name=name,
                title=str(study.get("name", name)),
                description=str(study.get("description", "")),
                synthetic=study.get("synthetic") is True,
                needs_internet="osm_file" not in network and "graph_file" not in network,
            )
        )
    return found


#: The folder of a copied study (``defibmap init``) that holds its data files.
COPY_DATA_FOLDER = "data"


def _check_empty(folder: Path) -> None:
    """Refuse a path that is a file or a folder with anything in it (nothing is overwritten)."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        what = "a file" if not folder.is_dir() else "a folder that is not empty"
        msg = (
            f"{folder} is {what}; nothing was copied (defibmap init never overwrites): "
            "give a new or empty folder"
        )
        raise ConfigError(msg)


def _path_values(value: object) -> list[str]:
    """Every text value in a parsed study file (the candidates for file paths)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [found for item in value.values() for found in _path_values(item)]
    if isinstance(value, list):
        return [found for item in value for found in _path_values(item)]
    return []


def copy_study(name: str, folder: Path) -> tuple[Path, list[Path]]:
    """Copy a shipped study and its data into ``folder`` (``defibmap init NAME DIR``).

    The study file becomes ``folder/NAME.toml``; the folder of shipped data it names
    (e.g. ``data/coventry/``, every file in it) becomes ``folder/data/``, and each path in
    the study file (and its comments) that led there is rewritten to lead to the copy.

    Parameters
    ----------
    name
        A shipped study's name.
    folder
        The new folder (created); an existing one must be empty.

    Returns
    -------
    (pathlib.Path, list of pathlib.Path)
        The copied study file and the data files copied.

    Raises
    ------
    ConfigError
        For an unknown study, or a folder that exists and is not empty (or is a file).
    """
    source = study_path(name)
    _check_empty(folder)
    text = source.read_text(encoding="utf-8")
    base = source.parent
    named = [
        (base / value).resolve()
        for value in _path_values(tomllib.loads(text))
        if not Path(value).is_absolute() and (base / value).exists()
    ]
    root = data_root().resolve()
    inside = [path for path in named if path.is_relative_to(root)]
    copied: list[Path] = []
    target = folder / COPY_DATA_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    if inside:
        common = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in inside]))
        shutil.copytree(common, target)
        copied = sorted(p for p in target.rglob("*") if p.is_file())
        prefix = Path(os.path.relpath(common, base.resolve())).as_posix()
        # quoted values and the commented examples alike: "../leeds/x.csv" -> "data/x.csv"
        text = text.replace(f'"{prefix}/', f'"{COPY_DATA_FOLDER}/')
        # and the comments' "into data/coventry/": the shipped folder is data/ in the copy
        shipped = f"data/{common.relative_to(root).as_posix()}/"
        text = text.replace(f" {shipped}", f" {COPY_DATA_FOLDER}/")
    header = (
        f"# Copied from defibmap's shipped study {name!r} by `defibmap init`: edit freely.\n"
        f"# Its data files are in {COPY_DATA_FOLDER}/ beside this file; every path is relative "
        "to this file.\n\n"
    )
    study = folder / f"{name}.toml"
    study.write_text(header + text, encoding="utf-8")
    return study, copied


#: ``defibmap init blank``: a study of the user's own files, offline, every key explained.
BLANK_STUDY = """\
# A defibmap study of your own files (written by `defibmap init blank`).
# Every path is relative to this file. Put your files in data/ beside it, fill in the file
# and column names below, then run:  defibmap run --config study.toml
# Every key is documented in docs/study-file.md; keys you do not need can be deleted.

[study]
name = "My area"
description = "One or two sentences saying what this study covers."
synthetic = false
# postcode_file = "data/postcodes.csv"   # places rows that have a postcode but no lon/lat

[network]
# exactly one of: osm_file (offline: an OpenStreetMap extract, e.g. a county .osm.pbf from
# https://download.geofabrik.de/), place (downloaded once, needs internet), graph_file
osm_file = "data/area.osm.pbf"
max_snap_m = 250

# The people: one row per area (e.g. LSOA population-weighted centroids) or address point
[demand]
file = "data/demand.csv"
id = "area_code"
population = "population"
lon = "lon"
lat = "lat"
source = "ONS Census 2021"
licence = "Open Government Licence v3.0"

# The defibrillators there are today; an opening_hours column (OpenStreetMap syntax, e.g.
# "24/7" or "Mo-Fr 08:00-16:00") says when each can be used
[defibs]
file = "data/defibs.csv"
id = "site_id"
name = "name"

# Buildings where a new public-access defib could go (council libraries, community centres)
[candidates]
file = "data/candidates.csv"
id = "site_id"
name = "name"

# [fire_stations], [police_stations], [wards], [boundary] and more: see docs/study-file.md

[coverage]
thresholds_m = [100, 200, 500]

[ranking]
new_sites = 5
"""


def write_blank_study(folder: Path) -> Path:
    """Write the commented template study into ``folder`` (``defibmap init blank DIR``).

    Returns
    -------
    pathlib.Path
        ``folder/study.toml``; ``folder/data/`` is made empty, for the user's files.

    Raises
    ------
    ConfigError
        When ``folder`` exists and is not empty (or is a file).
    """
    _check_empty(folder)
    (folder / COPY_DATA_FOLDER).mkdir(parents=True, exist_ok=True)
    study = folder / "study.toml"
    study.write_text(BLANK_STUDY, encoding="utf-8")
    return study
