"""Online OpenStreetMap: layers and the walking network downloaded with osmnx, cached.

The search area is a place (geocoded by Nominatim) or a WGS84 boundary, grown by ``buffer_m``
metres. Each download is defined by a query (:func:`layer_query`, :func:`walk_query`) whose
hash names its cache; downloads go through :mod:`defibmap.osm.cache` (a cache folder per
query, retries, clear errors naming how to work offline), and a layer itself is kept as a
small CSV under ``<cache_dir>/osm/``. :func:`preflight` checks, before a study does any work,
that every download it needs is cached or its servers answer.

Private to the package: :mod:`defibmap.osm.features` re-exports the public names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from defibmap._errors import InputError, NetworkError
from defibmap._files import atomic_path
from defibmap.defaults import DEFAULT_BUFFER_M, OVERPASS_WALK_MB_PER_KM2
from defibmap.layers import STUDY_SECTION, TAGS
from defibmap.osm import cache
from defibmap.osm._raw import (
    RAW_TAGS,
    area_km2,
    buffered,
    check_kind,
    raw_frame,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import networkx as nx

GEOFABRIK_ENGLAND = "https://download.geofabrik.de/europe/united-kingdom/england/"


def _area_query(
    place: str | None, polygon: shapely.Geometry | None, buffer_m: float
) -> dict[str, Any]:
    if (place is None) == (polygon is None):
        msg = "give exactly one of place (a name) or polygon (a WGS84 boundary)"
        raise InputError(msg)
    area: dict[str, Any] = {"buffer_m": float(buffer_m), **cache.endpoints()}
    if place is not None:
        area["place"] = place
    else:
        area["polygon"] = shapely.to_wkt(polygon, rounding_precision=6)
    return area


def layer_query(
    kind: str,
    *,
    place: str | None = None,
    polygon: shapely.Geometry | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
) -> dict[str, Any]:
    """Return what defines an online layer download (hashed to name its cache)."""
    check_kind(kind)
    return {"layer": kind, "tags": TAGS[kind], **_area_query(place, polygon, buffer_m)}


def walk_query(
    *,
    place: str | None = None,
    polygon: shapely.Geometry | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
) -> dict[str, Any]:
    """Return what defines an online walking-network download (hashed to name its cache)."""
    return {"layer": "network", "network_type": "walk", **_area_query(place, polygon, buffer_m)}


def _search_area(
    place: str | None, polygon: shapely.Geometry | None, buffer_m: float
) -> shapely.Geometry:
    """Geocode ``place`` (Nominatim, inside a fetch) or take ``polygon``; grow by ``buffer_m``."""
    import osmnx as ox

    if place is None:
        if polygon is None:
            msg = "a walking-network download needs a place or a polygon"
            raise InputError(msg)
        return buffered(polygon, buffer_m)
    try:
        found = ox.geocoder.geocode_to_gdf(place).union_all()
    except (TypeError, ox._errors.InsufficientResponseError) as exc:  # noqa: SLF001
        msg = f"Nominatim found no boundary for the place {place!r} ({exc}); give a polygon"
        raise InputError(msg) from exc
    return buffered(found, buffer_m)


def _layer_hint(kind: str) -> str:
    section = STUDY_SECTION[kind]
    return (
        f'To work offline, give the layer as a file ([{section}] file = "....csv" with name, '
        "lon and lat) or read it from a local OpenStreetMap extract ([network] osm_file = "
        f'"....osm.pbf", a county extract from {GEOFABRIK_ENGLAND}).'
    )


NETWORK_HINT = (
    'To work offline, give a local OpenStreetMap extract with [network] osm_file = "....osm.pbf" '
    f"(a county extract from {GEOFABRIK_ENGLAND})."
)


def _download_features(
    kind: str, place: str | None, polygon: shapely.Geometry | None, buffer_m: float
) -> pd.DataFrame:
    import osmnx as ox

    area = _search_area(place, polygon, buffer_m)
    try:
        gdf = ox.features.features_from_polygon(area, TAGS[kind])
    except ox._errors.InsufficientResponseError:  # noqa: SLF001 - "no matching features"
        return raw_frame([])
    records = []
    for (element, osm_id), row in zip(gdf.index, gdf.to_dict("records"), strict=True):
        tags = {tag: str(row[tag]) for tag in RAW_TAGS if tag in row and isinstance(row[tag], str)}
        records.append((str(element), int(osm_id), tags, row["geometry"]))
    raw = raw_frame(records)
    # osmnx keeps features that cross the area's edge; keep those whose point lies inside,
    # as a local extract does
    inside = shapely.contains_xy(area, raw["lon"].to_numpy(), raw["lat"].to_numpy())
    return raw.loc[np.asarray(inside, dtype=bool)].reset_index(drop=True)


def _layer_cache(cache_dir: Path, kind: str, query: dict[str, Any]) -> Path:
    return cache_dir / "osm" / f"{kind}-{cache.query_key(query)}.csv"


def _read_cached_layer(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["lon"] = frame["lon"].astype(float)
    frame["lat"] = frame["lat"].astype(float)
    return frame


def online_features(
    kind: str,
    *,
    place: str | None,
    polygon: shapely.Geometry | None,
    buffer_m: float,
    refresh: bool,
    cache_dir: str | Path | None,
) -> pd.DataFrame:
    """Return the raw features of one kind for a place or boundary, cached as a small CSV.

    The CSV lives under ``<cache_dir>/osm/``, named for the hash of :func:`layer_query`, so a
    re-run makes no request; a download goes through :func:`defibmap.osm.cache.fetch`.
    Arguments as :func:`defibmap.osm.features.osm_layer` takes them.
    """
    folder = Path(cache_dir) if cache_dir is not None else cache.default_cache_dir()
    query = layer_query(kind, place=place, polygon=polygon, buffer_m=buffer_m)
    path = _layer_cache(folder, kind, query)
    if path.is_file() and not refresh:
        return _read_cached_layer(path)
    raw = cache.fetch(
        lambda: _download_features(kind, place, polygon, buffer_m),
        layer=f"the OpenStreetMap {kind} layer",
        query=query,
        hint=_layer_hint(kind),
        cache_dir=folder,
        refresh=refresh,
        services=("nominatim", "overpass") if place is not None else ("overpass",),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        raw.to_csv(tmp, index=False)
    return raw


def walk_graph(
    *,
    place: str | None = None,
    polygon: shapely.Geometry | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
    refresh: bool = False,
    cache_dir: str | Path | None = None,
) -> nx.MultiDiGraph:
    """Download the walking network (osmnx ``"walk"``) for a place or boundary, cached.

    The area is the place's boundary (Nominatim) or ``polygon``, grown by ``buffer_m``
    metres. Returns osmnx's unprojected graph (``retain_all=True``); give it to
    ``defibmap.network.walk`` to project, keep the largest component and convert.

    Raises
    ------
    NetworkError
        When the servers cannot be reached, naming ``[network] osm_file`` as the way out.
    """
    import osmnx as ox

    folder = Path(cache_dir) if cache_dir is not None else cache.default_cache_dir()
    query = walk_query(place=place, polygon=polygon, buffer_m=buffer_m)

    def download() -> nx.MultiDiGraph:
        area = _search_area(place, polygon, buffer_m)
        return ox.graph.graph_from_polygon(area, network_type="walk", retain_all=True)

    return cache.fetch(
        download,
        layer="the OpenStreetMap walking network",
        query=query,
        hint=NETWORK_HINT,
        cache_dir=folder,
        refresh=refresh,
        services=("nominatim", "overpass") if place is not None else ("overpass",),
    )


def preflight(
    place_or_polygon: str | shapely.Geometry,
    *,
    layers: Sequence[str],
    timeout_s: float = 5.0,
    buffer_m: float = DEFAULT_BUFFER_M,
    cache_dir: str | Path | None = None,
    download_dir: str | Path | None = None,
    extract_url: str | None = None,
    osm_file_value: str | None = None,
) -> None:
    """Check, before any work, that every online layer is cached or its servers answer.

    Parameters
    ----------
    place_or_polygon
        The study area: a place name or a WGS84 boundary, as the layers will be fetched.
    layers
        ``"network"``, ``"drive network"`` (listed only when not cached) and/or kinds of
        :data:`KINDS` the study downloads.
    timeout_s
        Longest wait for each server, seconds.
    buffer_m, cache_dir
        As given to :func:`osm_layer` and :func:`walk_graph` (they define the cache keys).
    download_dir
        Where the message tells the user to put an extract (e.g. ``data/coventry``).
    extract_url
        A suitable extract to name in the message (e.g. Geofabrik's county file).
    osm_file_value
        The ``[network] osm_file`` value to suggest, relative to the study file (e.g.
        ``"../coventry/west-midlands-latest.osm.pbf"``); default ``download_dir`` and the
        extract's file name.

    Raises
    ------
    MissingDownloadsError
        A :class:`~defibmap.NetworkError` listing, one line each, what is missing, then the
        steps: what to download, where to put it and the study key to set; its ``advice``
        holds those facts, to word the message again (:meth:`OfflineAdvice.message`).
    """
    folder = Path(cache_dir) if cache_dir is not None else cache.default_cache_dir()
    place = place_or_polygon if isinstance(place_or_polygon, str) else None
    polygon = None if isinstance(place_or_polygon, str) else place_or_polygon
    missing = []
    for layer in layers:
        if layer == "drive network":  # the caller has found it missing from its own cache
            missing.append(layer)
            continue
        if layer == "network":
            query = walk_query(place=place, polygon=polygon, buffer_m=buffer_m)
        else:
            query = layer_query(layer, place=place, polygon=polygon, buffer_m=buffer_m)
        cached_csv = layer != "network" and _layer_cache(folder, layer, query).is_file()
        if not (cached_csv or cache.is_cached(query, folder)):
            missing.append(layer)
    if not missing:
        return
    urls = cache.endpoints()
    services = ["nominatim", "overpass"] if place is not None else ["overpass"]
    try:
        for service in services:
            cache.probe(
                urls[service],
                what="Nominatim geocoder" if service == "nominatim" else "Overpass API",
                layer="OpenStreetMap",
                hint="",
                timeout_s=timeout_s,
            )
    except NetworkError as exc:
        advice = OfflineAdvice(
            reason=str(exc),
            missing=tuple(missing),
            cache_folder=folder,
            area=place if place is not None else "the study boundary",
            buffer_m=buffer_m,
            download_dir=Path(download_dir) if download_dir is not None else None,
            extract_url=extract_url,
            osm_file_value=osm_file_value,
            area_km2=area_km2(polygon, buffer_m) if polygon is not None else None,
        )
        raise MissingDownloadsError(advice) from exc


#: What each missing download is, in the offline message.
_WHAT = {"network": "the walking network", "drive network": "the driving network"}


@dataclass(frozen=True)
class OfflineAdvice:
    """What :func:`preflight` found offline: the facts its message is worded from.

    Attributes
    ----------
    reason
        Why no server answered (the probe's message).
    missing
        The layers not in the cache, in the order asked for.
    cache_folder
        The cache folder looked in.
    area
        The study area in words (a place name, or "the study boundary").
    buffer_m
        How far the downloads reach beyond the area, metres.
    download_dir, extract_url, osm_file_value
        As given to :func:`preflight`.
    area_km2
        The search area, km², when known: each download's size is estimated from it.
    """

    reason: str
    missing: tuple[str, ...]
    cache_folder: Path
    area: str
    buffer_m: float
    download_dir: Path | None
    extract_url: str | None
    osm_file_value: str | None
    area_km2: float | None = None

    def message(self, *, copy_first: tuple[str, str] | None = None) -> str:
        """Return the message: what is missing, one line each, then numbered steps.

        Parameters
        ----------
        copy_first
            For a study shipped inside the package: the command that copies it into a
            folder of the user's (``"defibmap init coventry"``) and the copy's study file
            (``"coventry/coventry.toml"``), made the first step; ``download_dir`` and
            ``osm_file_value`` should then name the copy's folder and value. Files edited
            inside an installed package are lost when it is reinstalled.
        """
        where = self.download_dir if self.download_dir is not None else Path("<study data folder>")
        url = self.extract_url or f"a county .osm.pbf from {GEOFABRIK_ENGLAND}"
        name = (
            self.extract_url.rsplit("/", 1)[-1] if self.extract_url else "<county>-latest.osm.pbf"
        )
        key = f'[network] osm_file = "{self.osm_file_value or (where / name).as_posix()}"'
        reason = self.reason.removeprefix("could not fetch OpenStreetMap: ").rstrip(". ")
        lines = [
            f"OpenStreetMap cannot be reached ({reason}). Nothing was run.",
            f"These layers are not in the cache ({self.cache_folder}) and must be downloaded:",
            *(
                f"  - {layer} ({_WHAT.get(layer, 'OpenStreetMap layer')}, {self._size(layer)})"
                for layer in self.missing
            ),
            "To run offline:",
        ]
        steps = []
        study = "the study file"
        if copy_first is not None:
            command, study = copy_first
            steps.append(
                f"Copy the study into a folder of your own: {command} (it makes "
                f"./{Path(study).parent.as_posix()}; files edited inside the installed package "
                "are lost when it is reinstalled)"
            )
        steps.append(
            f"Download {url} (the extract covering {self.area} and {self.buffer_m / 1000:g} km "
            f"around it; a regional file of tens of megabytes) into {where.as_posix()}"
        )
        steps.append(f"In {study} set {key} instead of place{self._also()}")
        if copy_first is not None:
            steps.append(f"Run: defibmap run --config {study}")
        lines.extend(f"  {i}. {step}" for i, step in enumerate(steps, start=1))
        lines.append("Or run once online: downloads are cached and later runs work offline.")
        return "\n".join(lines)

    def _size(self, layer: str) -> str:
        """Return the estimated download size of ``layer``, in words."""
        if layer not in _WHAT:
            return "small: the points and outlines of one kind of site"
        if self.area_km2 is None:
            return "size not known until the place is looked up"
        mb = self.area_km2 * OVERPASS_WALK_MB_PER_KM2
        if layer == "drive network":  # fewer ways: only those cars may use
            return f"under {max(mb, 1):.0f} MB"
        return f"an estimated {max(mb, 1):.0f} MB for {self.area_km2:,.0f} km²"

    def _also(self) -> str:
        """Return what else the extract provides, in brackets, or ``""``."""
        layers_too = [k for k in self.missing if k not in _WHAT]
        also = (
            ["the driving network is then built from it"] if "drive network" in self.missing else []
        )
        if layers_too:
            also.append(f"the OpenStreetMap layers {', '.join(layers_too)} are then read from it")
        return f" ({'; '.join(also)} too)" if also else ""


class MissingDownloadsError(NetworkError):
    """Offline, with downloads a study needs missing from the cache (:func:`preflight`).

    Attributes
    ----------
    advice
        The facts the message is worded from.
    """

    def __init__(self, advice: OfflineAdvice) -> None:
        super().__init__(advice.message())
        self.advice = advice
