"""Where a study's OpenStreetMap layers come from: a local extract (clipped) or an online area.

Also the pre-flight check that every download a study needs is cached or its server answers,
and the SHA-256 of input files (remembered per file) for ``summary.json``'s ``sources``.

Private to the package: :mod:`defibmap.study.pipeline` calls these (through
:mod:`defibmap.study._inputs`) while running a study.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from defibmap._errors import ConfigError, NetworkError
from defibmap._files import atomic_path
from defibmap._resources import COPY_DATA_FOLDER, data_root
from defibmap.network import walk as _network
from defibmap.osm import features as osm_features

if TYPE_CHECKING:
    import shapely

    from defibmap.config.study_file import StudyConfig

logger = logging.getLogger(__name__)

_digests: dict[tuple[str, int, int], str] = {}


def sha256(path: Path) -> str:
    """Return the SHA-256 of a file (remembered per path, size and modification time)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _digests:
        return _digests[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    _digests[key] = digest.hexdigest()
    return _digests[key]


@dataclass(frozen=True)
class OsmSource:
    """Where a study's OpenStreetMap layers come from: a local extract or an online area.

    Attributes
    ----------
    osm_file
        Offline: the extract read (``[network] osm_file``, clipped to the boundary when the
        study has one). None online.
    place, polygon
        Online: the place name (geocoded by Nominatim) or the WGS84 boundary, one of them.
        Offline ``polygon`` (the boundary, when given) clips the features.
    buffer_m
        Metres the area reaches beyond the boundary (``[network] boundary_buffer_m``).
    cache_dir
        The study's cache folder.
    """

    osm_file: Path | None
    place: str | None
    polygon: shapely.Geometry | None
    buffer_m: float
    cache_dir: Path

    @property
    def online(self) -> bool:
        """True when the layers are downloaded (no local extract)."""
        return self.osm_file is None


def boundary(config: StudyConfig) -> shapely.Geometry | None:
    """Return the study's ``[boundary]`` outline as one WGS84 (multi)polygon, or None."""
    if config.boundary_file is None:
        return None
    return osm_features.boundary_polygon(config.boundary_file)


def online_area(
    config: StudyConfig, polygon: shapely.Geometry | None
) -> tuple[str | None, shapely.Geometry | None]:
    """Return the area a download covers: the boundary outline when given, else the place.

    Returns ``(place, polygon)``, at most one of them set.
    """
    if polygon is not None:
        return None, polygon
    return config.network.place, None


def study_extract(
    config: StudyConfig, cache: Path, polygon: shapely.Geometry | None
) -> Path | None:
    """Return the OpenStreetMap file a study reads offline, clipped to its boundary.

    Without a ``[boundary]`` it is ``[network] osm_file`` itself. With one, a regional extract
    is clipped (streamed, never loaded whole: :func:`defibmap.osm.features.clip_extract`) to
    the boundary grown by ``boundary_buffer_m`` and kept in the cache folder under a hash of
    the extract, the boundary file and the buffer, so the clip runs once. The walking network
    and the OSM layers are both read from the clipped file.
    """
    net = config.network
    if net.osm_file is None:
        return None
    if polygon is None or config.boundary_file is None:
        return net.osm_file
    key = _network.cache_key(
        sha256(net.osm_file), sha256(config.boundary_file), f"{net.boundary_buffer_m:g}", "clip"
    )
    stem = net.osm_file.name.split(".")[0]
    dst = cache / "extracts" / f"{stem}-clip-{key}.osm.pbf"
    if dst.is_file():
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst) as tmp:
        counts = osm_features.clip_extract(
            net.osm_file, polygon, tmp, buffer_m=net.boundary_buffer_m, overwrite=True
        )
    logger.info(
        "%s clipped to %s grown by %g m: %s",
        net.osm_file.name,
        config.boundary_file.name,
        net.boundary_buffer_m,
        counts,
    )
    return dst


def osm_source(
    config: StudyConfig, cache: Path, polygon: shapely.Geometry | None
) -> OsmSource | None:
    """Where the study's OSM layers come from; None when it has neither extract nor area."""
    net = config.network
    if net.osm_file is not None:
        extract = study_extract(config, cache, polygon)
        return OsmSource(extract, None, polygon, net.boundary_buffer_m, cache)
    place, area = online_area(config, polygon)
    if place is None and area is None:
        return None
    return OsmSource(None, place, area, net.boundary_buffer_m, cache)


def preflight(
    config: StudyConfig,
    polygon: shapely.Geometry | None,
    *,
    network: bool,
    cache: Path,
    drive: bool = False,
) -> None:
    """Before any work: check every download the study needs is cached or its server answers.

    ``network`` and ``drive`` say whether the walking and the driving network must still be
    fetched. Offline with
    something missing, :func:`defibmap.osm.features.preflight` raises
    :class:`~defibmap.NetworkError` listing what is missing, the extract to download
    (``[network] extract_url``), the folder to put it in (the boundary file's folder, else
    the study file's) and the ``osm_file`` value to set.
    """
    net = config.network
    if net.osm_file is not None:
        return
    kinds = [kind for layer in config.layers.values() for kind in layer.osm]
    layers = (
        (["network"] if network else [])
        + (["drive network"] if drive else [])
        + list(dict.fromkeys(kinds))
    )
    place, area = online_area(config, polygon)
    if not layers or (place is None and area is None):
        return
    study_dir = config.path.parent if config.path is not None else Path.cwd()
    folder = config.boundary_file.parent if config.boundary_file is not None else study_dir
    name = (
        net.extract_url.rstrip("/").rsplit("/", 1)[-1]
        if net.extract_url
        else "<county>-latest.osm.pbf"
    )
    value = Path(os.path.relpath(folder.resolve() / name, study_dir.resolve())).as_posix()
    download_dir = folder.resolve()
    shipped = _shipped_name(config)
    copy_first = None
    if shipped is not None:  # never edit inside the installed package: copy it first
        download_dir = Path(shipped) / COPY_DATA_FOLDER
        value = f"{COPY_DATA_FOLDER}/{name}"
        copy_first = (f"defibmap init {shipped}", f"{shipped}/{shipped}.toml")
    try:
        osm_features.preflight(
            place if place is not None else area,
            layers=layers,
            buffer_m=net.boundary_buffer_m,
            cache_dir=cache,
            download_dir=download_dir,
            extract_url=net.extract_url,
            osm_file_value=value,
        )
    except osm_features.MissingDownloadsError as exc:
        advice = exc.advice
        if advice.area_km2 is None and polygon is not None:  # a place with a boundary file
            sized = osm_features.area_km2(polygon, net.boundary_buffer_m)
            advice = dataclasses.replace(advice, area_km2=sized)
        if copy_first is None:
            raise osm_features.MissingDownloadsError(advice) from exc.__cause__
        raise NetworkError(advice.message(copy_first=copy_first)) from exc.__cause__


def _shipped_name(config: StudyConfig) -> str | None:
    """Return the name of a study shipped with the package, or None for a user's own study."""
    if config.path is None:
        return None
    try:
        shipped = data_root().resolve() / "studies"
    except ConfigError:
        return None
    path = config.path.resolve()
    return path.stem if path.parent == shipped else None
