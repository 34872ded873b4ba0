"""The walking network of a study: built once, then loaded from the on-disk cache.

:func:`build_network` builds the network from the study's local extract, a place download or
a saved graph; :func:`cache_dir` is the folder the networks and downloads are cached in, and
:func:`network_cache_path` the file a place study's network is cached in.

Private to the package: :mod:`defibmap.study.pipeline` re-exports :func:`build_network` and
:func:`cache_dir`, and calls :func:`network_cache_path` before any work.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from defibmap._errors import ConfigError, NetworkError
from defibmap.network import walk as _network
from defibmap.osm import cache as _cache
from defibmap.osm import features as osm_features
from defibmap.study import _inputs

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import shapely

    from defibmap.config.study_file import StudyConfig
    from defibmap.network.walk import Network

# the warnings keep the logger name they have always had: the command line prints it
logger = logging.getLogger("defibmap.study.pipeline")


def cache_dir(config: StudyConfig) -> Path:
    """Return the study's cache folder (networks, OpenStreetMap downloads, clipped extracts).

    The study's ``cache_dir``, else ``$DEFIBMAP_CACHE_DIR``, else the per-user cache folder
    (``$XDG_CACHE_HOME/defibmap``, default ``~/.cache/defibmap``); never the current directory.
    """
    if config.network.cache_dir is not None:
        return config.network.cache_dir
    return _cache.default_cache_dir()


def _place_network_query(
    config: StudyConfig, polygon: shapely.Geometry | None
) -> dict[str, object]:
    """Return what defines a place study's network download (its hash names the cache)."""
    place, area = _inputs.online_area(config, polygon)
    return osm_features.walk_query(
        place=place, polygon=area, buffer_m=config.network.boundary_buffer_m
    )


def network_cache_path(config: StudyConfig, polygon: shapely.Geometry | None) -> Path | None:
    """Return the ``walk-<key>.npz`` a place study's network is cached in, else None."""
    if config.network.place is None:
        return None
    query = _place_network_query(config, polygon)
    key = _network.cache_key(_cache.query_key(query), config.network.crs or "auto", "walk")
    return cache_dir(config) / f"walk-{key}.npz"


def _cached(
    path: Path, build: Callable[[], Network], meta: dict[str, object], *, refresh: bool
) -> Network:
    """Load a network from ``path``, or build and save it; a damaged file is rebuilt."""
    if path.exists() and not refresh:
        try:
            return _network.load(path)
        except NetworkError as exc:
            logger.warning("rebuilding the network: %s", exc)
    built = build()
    try:
        _network.save(built, path, meta=meta)
    except OSError as exc:  # a read-only cache must not stop the study
        logger.warning("could not cache the network at %s: %s", path, exc)
    return built


def build_network(config: StudyConfig, *, refresh: bool = False) -> Network:
    """Build the study's walking network, or load it from the on-disk cache.

    * ``osm_file``: built from the local extract; with a ``[boundary]``, from the extract
      clipped to the boundary grown by ``boundary_buffer_m`` (the clip is cached too). The
      cache key is a hash of the file's bytes and the CRS, so an edited file is rebuilt.
    * ``place``: downloaded with osmnx (:func:`defibmap.network.walk.from_place`: cached
      responses, retries, clear errors), for the ``[boundary]`` outline when the study has
      one, else the place's outline, grown by ``boundary_buffer_m``. The cache key derives
      from the hash of the download query (:func:`defibmap.osm.features.walk_query`).
    * ``graph_file``: read as saved.

    A damaged cache file is detected, logged and rebuilt; ``refresh`` rebuilds (and
    re-downloads) regardless.
    """
    net = config.network
    if net.graph_file is not None:
        if net.graph_file.suffix.lower() == ".graphml":
            return _network.from_graphml(net.graph_file, crs=net.crs)
        return _network.load(net.graph_file)
    folder = cache_dir(config)
    polygon = _inputs.boundary(config)
    if net.osm_file is not None:
        # the extract is the osm_file itself, or its clip to the boundary (never None here)
        extract = _inputs.study_extract(config, folder, polygon) or net.osm_file
        digest = _inputs.sha256(extract)
        key = _network.cache_key(digest, net.crs or "auto", "walk")
        return _cached(
            folder / f"walk-{key}.npz",
            lambda: _network.from_osm_file(extract, crs=net.crs),
            {
                "query": str(net.osm_file),
                "extract": str(extract),
                "sha256": digest,
                "network_type": "walk",
            },
            refresh=refresh,
        )
    place = net.place
    path = network_cache_path(config, polygon)
    if place is None or path is None:
        msg = "[network]: give one of osm_file, place or graph_file"
        raise ConfigError(msg)
    _, area = _inputs.online_area(config, polygon)
    where: str | shapely.Geometry = area if area is not None else place
    return _cached(
        path,
        lambda: _network.from_place(
            where,
            crs=net.crs,
            buffer_m=net.boundary_buffer_m,
            refresh=refresh,
            cache_dir=folder,
        ),
        {"query": _place_network_query(config, polygon), "network_type": "walk"},
        refresh=refresh,
    )
