"""OpenStreetMap point layers: defibrillators, schools, stations and council buildings.

Every layer comes back as a plain DataFrame in the point-layer shape :mod:`defibmap.io.sites`
reads, one row per OSM feature: ``site_id`` (``osm_node_123``, ``osm_way_…``,
``osm_relation_…``), ``name``, ``lon``/``lat`` (WGS84; a way or area is placed at its
centroid, computed in a projected CRS, or at a point on its surface when the centroid falls
outside), ``kind``, ``opening_hours`` (valid OSM syntax only; anything else moves to
``hours_text``), ``access``, ``indoor``, ``location`` (``"outside"``, ``"indoor"`` or empty,
from ``indoor`` and ``defibrillator:location``), ``locked``, ``operator`` and ``owner``.

Two sources, one shape:

* **online** (``place=`` or ``polygon=``) with osmnx, the area buffered by ``buffer_m`` so
  defibs just beyond a boundary count; downloads go through :mod:`defibmap.osm.cache`
  (a cache folder per query, retries, clear errors), and the layer itself is kept as a small
  CSV under ``<cache_dir>/osm/`` so a re-run makes no request;
* **offline** (``osm_file=``) from a local ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` extract,
  streamed with pyosmium (a tag filter runs in C++, only matching objects reach Python), and
  optionally clipped to a buffered boundary. :func:`clip_extract` writes a clipped extract
  of a regional file for the walking network.

Rows a study must not count are taken out and listed in ``frame.attrs["excluded"]`` (records
with ``site_id``, ``name``, ``lon``, ``lat``, ``reason``): defibrillators tagged
``access=private`` or ``access=no``, and council buildings whose ``operator``/``owner`` does
not name the council. ``frame.attrs["invalid_hours"]`` lists ``opening_hours`` values that are
not valid OSM syntax (kept in ``hours_text``).

This module reads the tags into a layer (:func:`finish_layer`) and is the public entry point;
the raw features come from private modules it re-exports: :mod:`defibmap.osm._raw` (tags per
kind, raw frame, boundaries), :mod:`defibmap.osm._extract` (local extracts, clipping) and
:mod:`defibmap.osm._online` (downloads, caches, pre-flight check).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap._errors import InputError
from defibmap.defaults import DEFAULT_BUFFER_M
from defibmap.io.hours import week_profile
from defibmap.layers import KINDS, OSM, STUDY_SECTION, TAGS
from defibmap.osm._extract import clip_extract, read_extract
from defibmap.osm._online import (
    GEOFABRIK_ENGLAND,
    NETWORK_HINT,
    MissingDownloadsError,
    OfflineAdvice,
    layer_query,
    online_features,
    preflight,
    walk_graph,
    walk_query,
)
from defibmap.osm._raw import (
    area_km2,
    boundary_polygon,
    buffered,
    check_kind,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    import shapely

__all__ = [
    "COLUMNS",
    "DEFAULT_BUFFER_M",
    "GEOFABRIK_ENGLAND",
    "KINDS",
    "NETWORK_HINT",
    "STUDY_SECTION",
    "TAGS",
    "MissingDownloadsError",
    "OfflineAdvice",
    "area_km2",
    "boundary_polygon",
    "buffered",
    "clip_extract",
    "finish_layer",
    "layer_query",
    "osm_layer",
    "preflight",
    "read_extract",
    "walk_graph",
    "walk_query",
]

logger = logging.getLogger(__name__)

COLUMNS = (
    "site_id",
    "name",
    "lon",
    "lat",
    "kind",
    "opening_hours",
    "hours_text",
    "access",
    "indoor",
    "location",
    "locked",
    "operator",
    "owner",
)
_OUTSIDE_WORDS = ("outside", "outdoor", "external", "exterior")
_INSIDE_WORDS = ("inside", "indoor", "internal", "interior", "reception", "foyer", "lobby")
#: Weaker hints, read only when the text names neither side ("on the wall by the door").
_WALL_WORDS = ("on the wall", "on wall", "wall mounted", "wall-mounted")


def _location(indoor: str, where: str) -> str:
    indoor = indoor.strip().lower()
    if indoor in {"no", "false", "outside", "outdoor"}:
        return "outside"
    if indoor in {"yes", "true", "room", "area", "corridor", "inside", "indoor"}:
        return "indoor"
    text = where.strip().lower()
    if any(word in text for word in _OUTSIDE_WORDS):
        return "outside"
    if any(word in text for word in _INSIDE_WORDS):
        return "indoor"
    if any(word in text for word in _WALL_WORDS):
        return "outside"
    return ""


def _locked(value: str) -> str:
    value = value.strip().lower()
    if value in {"yes", "true", "1", "key", "code", "keypad", "locked"}:
        return "yes"
    if value in {"no", "false", "0", "unlocked"}:
        return "no"
    return ""


def _valid_hours(texts: Iterable[str]) -> dict[str, bool]:
    valid: dict[str, bool] = {}
    for text in set(texts):
        if not text:
            continue
        try:
            week_profile(text)
        except InputError:
            valid[text] = False
        else:
            valid[text] = True
    return valid


def _council_match(frame: pd.DataFrame, council: str | Sequence[str]) -> np.ndarray:
    names = [council] if isinstance(council, str) else list(council)
    names = [n.strip().lower() for n in names if n.strip()]
    hay = (frame["operator"] + " | " + frame["owner"]).str.lower()
    match = np.zeros(len(frame), dtype=bool)
    for name in names:
        match |= hay.str.contains(name, regex=False).to_numpy()
    return match


def finish_layer(
    raw: pd.DataFrame, kind: str, *, council: str | Sequence[str] | None = None, source: str = ""
) -> pd.DataFrame:
    """Turn raw features (``site_id``, ``lon``, ``lat`` and OSM tags) into a layer.

    Parameters
    ----------
    raw
        One row per feature, as :func:`osm_layer` caches it.
    kind
        One of :data:`KINDS`.
    council
        For a kind filtered by council (``council_buildings``): name(s) matched
        case-insensitively as substrings of ``operator`` or ``owner``; ``None`` keeps every
        building.
    source
        Recorded in ``frame.attrs["source"]``.

    Returns
    -------
    pandas.DataFrame
        The columns :data:`COLUMNS`; excluded rows in ``attrs["excluded"]``.
    """
    check_kind(kind)
    raw = raw.fillna("")
    hours = raw["opening_hours"].astype(str).str.strip()
    valid = _valid_hours(hours)
    ok = hours.map(lambda t: valid.get(t, False)).astype(bool)
    osm_kind = OSM[kind]
    if osm_kind.label is not None:
        label = pd.Series(osm_kind.label, index=raw.index)
    else:
        label = raw["amenity"].where(raw["amenity"] != "", raw["leisure"])
    frame = pd.DataFrame(
        {
            "site_id": raw["site_id"].astype(str),
            "name": raw["name"].astype(str),
            "lon": pd.to_numeric(raw["lon"]).astype(float),
            "lat": pd.to_numeric(raw["lat"]).astype(float),
            "kind": label.astype(str),
            "opening_hours": hours.where(ok, ""),
            "hours_text": hours,
            "access": raw["access"].astype(str).str.strip().str.lower(),
            "indoor": raw["indoor"].astype(str),
            "location": [
                _location(i, w)
                for i, w in zip(raw["indoor"], raw["defibrillator:location"], strict=True)
            ],
            "locked": raw["locked"].astype(str).map(_locked),
            "operator": raw["operator"].astype(str),
            "owner": raw["owner"].astype(str),
        },
        columns=list(COLUMNS),
    )
    drop = np.zeros(len(frame), dtype=bool)
    reasons = np.full(len(frame), "", dtype=object)
    if osm_kind.public_only:
        private = frame["access"].isin(["private", "no"]).to_numpy()
        reasons[private] = "access=" + frame["access"].to_numpy()[private]
        drop |= private
    if osm_kind.by_council and council:
        other = ~_council_match(frame, council)
        reasons[other & ~drop] = f"operator/owner does not match {council!r}"
        drop |= other
    excluded = frame.loc[drop, ["site_id", "name", "lon", "lat"]].assign(reason=reasons[drop])
    out = frame.loc[~drop].reset_index(drop=True)
    bad = out["hours_text"].ne("") & out["opening_hours"].eq("")
    out.attrs = {
        "kind": kind,
        "source": source,
        "excluded": excluded.to_dict("records"),
        "invalid_hours": out.loc[bad, ["site_id", "hours_text"]].to_dict("records"),
    }
    if drop.any():
        logger.info("%s: %d feature(s) excluded", kind, int(drop.sum()))
    return out


def osm_layer(
    kind: str,
    *,
    osm_file: str | Path | None = None,
    place: str | None = None,
    polygon: shapely.Geometry | None = None,
    council: str | Sequence[str] | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
    refresh: bool = False,
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Return one OpenStreetMap point layer, from a local extract or downloaded with osmnx.

    Parameters
    ----------
    kind
        One of :data:`KINDS`: defibrillators (``emergency=defibrillator``), schools
        (``amenity=school``), fire stations, police or council buildings
        (``amenity=townhall|library|community_centre|social_centre``,
        ``leisure=sports_centre``); :data:`defibmap.layers.OSM` holds each kind's tags.
    osm_file
        A local extract (offline). ``polygon``, if given, clips it.
    place
        A place name geocoded by Nominatim (online), e.g. ``"Coventry, UK"``.
    polygon
        A WGS84 boundary: the download area online, the clip offline.
    council
        For ``council_buildings``: the council's name(s), matched case-insensitively within
        ``operator`` or ``owner`` (e.g. ``"Coventry City Council"``); ``None`` keeps all.
    buffer_m
        Metres the area reaches beyond the boundary (default 2 km).
    refresh
        Download again even when cached (online only).
    cache_dir
        defibmap's cache folder (default: the per-user cache, see
        :func:`defibmap.osm.cache.default_cache_dir`).

    Returns
    -------
    pandas.DataFrame
        The columns :data:`COLUMNS`, one row per feature, sorted by ``site_id``; excluded
        features in ``attrs["excluded"]``, invalid hours in ``attrs["invalid_hours"]``.

    Raises
    ------
    NetworkError
        Online, when the servers cannot be reached (naming the layer and how to give it as a
        file instead).
    """
    check_kind(kind)
    if osm_file is not None:
        if place is not None:
            msg = "give osm_file or place, not both"
            raise InputError(msg)
        raw = read_extract(osm_file, [kind], polygon=polygon, buffer_m=buffer_m)[kind]
        return finish_layer(raw, kind, council=council, source=f"OpenStreetMap: {osm_file}")
    raw = online_features(
        kind,
        place=place,
        polygon=polygon,
        buffer_m=buffer_m,
        refresh=refresh,
        cache_dir=cache_dir,
    )
    where = place if place is not None else "a boundary polygon"
    return finish_layer(raw, kind, council=council, source=f"OpenStreetMap via osmnx: {where}")
