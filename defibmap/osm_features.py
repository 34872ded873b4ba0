"""OpenStreetMap point layers: defibrillators, schools, stations and council buildings.

Every layer comes back as a plain DataFrame in the point-layer shape :mod:`defibmap.sites`
reads, one row per OSM feature: ``site_id`` (``osm_node_123``, ``osm_way_…``,
``osm_relation_…``), ``name``, ``lon``/``lat`` (WGS84; a way or area is placed at its
centroid, computed in a projected CRS, or at a point on its surface when the centroid falls
outside), ``kind``, ``opening_hours`` (valid OSM syntax only; anything else moves to
``hours_text``), ``access``, ``indoor``, ``location`` (``"outside"``, ``"indoor"`` or empty,
from ``indoor`` and ``defibrillator:location``), ``locked``, ``operator`` and ``owner``.

Two sources, one shape:

* **online** (``place=`` or ``polygon=``) with osmnx, the area buffered by ``buffer_m`` so
  defibs just beyond a boundary count; downloads go through :mod:`defibmap._overpass_cache`
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
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from defibmap import _overpass_cache as cache
from defibmap._errors import InputError, NetworkError
from defibmap.availability import week_profile

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    import networkx as nx

logger = logging.getLogger(__name__)

#: The OSM tags of each layer kind (osmnx's ``tags`` dict: a feature matches any of them).
TAGS: dict[str, dict[str, bool | str | list[str]]] = {
    "defibrillators": {"emergency": "defibrillator"},
    "schools": {"amenity": "school"},
    "fire_stations": {"amenity": "fire_station"},
    "police": {"amenity": "police"},
    "council_buildings": {
        "amenity": ["townhall", "library", "community_centre", "social_centre"],
        "leisure": "sports_centre",
    },
}
KINDS = tuple(TAGS)
#: The study-file section each kind usually feeds (used in messages).
STUDY_SECTION = {
    "defibrillators": "defibs",
    "schools": "defibs",
    "fire_stations": "fire_stations",
    "police": "police_stations",
    "council_buildings": "candidates",
}
_KIND_LABEL = {
    "defibrillators": "defibrillator",
    "schools": "school",
    "fire_stations": "fire_station",
    "police": "police",
}
#: Default distance, metres, the search area reaches beyond a boundary (people near the edge
#: walk to defibs beyond it). At least the longest walk searched; 2 km by default.
DEFAULT_BUFFER_M = 2000.0
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
_RAW_TAGS = (
    "name",
    "amenity",
    "leisure",
    "emergency",
    "opening_hours",
    "access",
    "indoor",
    "defibrillator:location",
    "locked",
    "operator",
    "owner",
)
_OUTSIDE_WORDS = ("outside", "outdoor", "external", "exterior")
_INSIDE_WORDS = ("inside", "indoor", "internal", "interior", "reception", "foyer", "lobby")
#: Weaker hints, read only when the text names neither side ("on the wall by the door").
_WALL_WORDS = ("on the wall", "on wall", "wall mounted", "wall-mounted")
GEOFABRIK_ENGLAND = "https://download.geofabrik.de/europe/united-kingdom/england/"


def _check_kind(kind: str) -> None:
    if kind not in TAGS:
        msg = f"unknown OpenStreetMap layer {kind!r}; known: {', '.join(KINDS)}"
        raise InputError(msg)


def _matches(tags: Mapping[str, str], wanted: Mapping[str, bool | str | list[str]]) -> bool:
    for key, value in wanted.items():
        have = tags.get(key)
        if not have:
            continue
        if value is True or (have in value if isinstance(value, list) else have == value):
            return True
    return False


def _projected_crs(lon: np.ndarray, lat: np.ndarray) -> str:
    from defibmap.network import projected_crs_for

    return projected_crs_for(np.asarray(lon, float), np.asarray(lat, float))


def buffered(polygon: shapely.Geometry, buffer_m: float) -> shapely.Geometry:
    """Return a WGS84 (multi)polygon grown by ``buffer_m`` metres (buffered when projected)."""
    if buffer_m <= 0:
        return polygon
    centre = polygon.centroid
    crs = _projected_crs(np.array([centre.x]), np.array([centre.y]))
    grown = gpd.GeoSeries([polygon], crs="EPSG:4326").to_crs(crs).buffer(buffer_m)
    return grown.to_crs("EPSG:4326").iloc[0]


def boundary_polygon(path: str | Path) -> shapely.Geometry:
    """Read a boundary file (GeoJSON, GeoPackage, Shapefile) as one WGS84 (multi)polygon."""
    path = Path(path)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        msg = f"{path}: cannot read as a boundary file ({exc})"
        raise InputError(msg) from exc
    if gdf.crs is None:
        msg = f"{path}: the boundary file has no CRS"
        raise InputError(msg)
    return gdf.to_crs("EPSG:4326").union_all()


def _points(geoms: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat of a representative point of each WGS84 geometry (vectorised)."""
    if not len(geoms):
        return np.empty(0), np.empty(0)
    series = gpd.GeoSeries(list(geoms), crs="EPSG:4326")
    anchor = shapely.get_coordinates(shapely.point_on_surface(series.values))
    crs = _projected_crs(anchor[:, 0], anchor[:, 1])
    proj = series.to_crs(crs)
    polygonal = proj.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if polygonal.any():
        proj[polygonal] = proj[polygonal].make_valid()
    centroid = proj.centroid
    surface = proj.representative_point()
    use_surface = ~polygonal & ~proj.geom_type.isin(["Point"]).to_numpy()
    if polygonal.any():
        inside = np.asarray(shapely.contains(proj.values, centroid.values))
        use_surface |= polygonal & ~inside
    chosen = gpd.GeoSeries(np.where(use_surface, surface.values, centroid.values), crs=crs)
    wgs = chosen.to_crs("EPSG:4326")
    is_point = (series.geom_type == "Point").to_numpy()
    lon = np.where(is_point, anchor[:, 0], wgs.x.to_numpy())
    lat = np.where(is_point, anchor[:, 1], wgs.y.to_numpy())
    return lon, lat


def _raw_frame(records: list[tuple[str, int, dict[str, str], Any]]) -> pd.DataFrame:
    """Features ``(element, id, tags, WGS84 geometry)`` to the raw cached shape."""
    lon, lat = _points([geom for *_, geom in records])
    frame = pd.DataFrame(
        {
            "site_id": [f"osm_{element}_{osm_id}" for element, osm_id, _, _ in records],
            "lon": lon,
            "lat": lat,
        }
    )
    for tag in _RAW_TAGS:
        frame[tag] = [str(tags.get(tag, "") or "") for _, _, tags, _ in records]
    frame = frame.drop_duplicates("site_id").sort_values("site_id", kind="stable")
    return frame.reset_index(drop=True)


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
        For ``council_buildings``: name(s) matched case-insensitively as substrings of
        ``operator`` or ``owner``; ``None`` keeps every building.
    source
        Recorded in ``frame.attrs["source"]``.

    Returns
    -------
    pandas.DataFrame
        The columns :data:`COLUMNS`; excluded rows in ``attrs["excluded"]``.
    """
    _check_kind(kind)
    raw = raw.fillna("")
    hours = raw["opening_hours"].astype(str).str.strip()
    valid = _valid_hours(hours)
    ok = hours.map(lambda t: valid.get(t, False)).astype(bool)
    if kind in _KIND_LABEL:
        label = pd.Series(_KIND_LABEL[kind], index=raw.index)
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
    if kind == "defibrillators":
        private = frame["access"].isin(["private", "no"]).to_numpy()
        reasons[private] = "access=" + frame["access"].to_numpy()[private]
        drop |= private
    if kind == "council_buildings" and council:
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


# ---------------------------------------------------------------------------------------------
# Offline: a local extract, streamed with pyosmium
# ---------------------------------------------------------------------------------------------


def read_extract(
    osm_file: str | Path,
    kinds: Sequence[str] = KINDS,
    *,
    polygon: shapely.Geometry | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
) -> dict[str, pd.DataFrame]:
    """Read the raw features of several kinds from a local extract, streamed once per pass.

    Parameters
    ----------
    osm_file
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf``.
    kinds
        Layer kinds (:data:`KINDS`).
    polygon
        Optional WGS84 boundary; features whose point lies farther than ``buffer_m`` metres
        outside it are dropped.
    buffer_m
        Metres kept around ``polygon``.

    Returns
    -------
    dict of kind to raw DataFrame (``site_id``, ``lon``, ``lat`` and OSM tags).
    """
    path = Path(osm_file)
    if not path.is_file():
        msg = f"{path}: OpenStreetMap file not found"
        raise InputError(msg)
    for kind in kinds:
        _check_kind(kind)
    keys = sorted({key for kind in kinds for key in TAGS[kind]})
    try:
        records = _extract_records(path, keys, kinds)
    except RuntimeError as exc:
        msg = f"{path}: cannot read as an OpenStreetMap file ({exc})"
        raise InputError(msg) from exc
    raw = _raw_frame(records)
    if polygon is not None and len(raw):
        area = buffered(polygon, buffer_m)
        raw = raw[shapely.contains_xy(area, raw["lon"], raw["lat"])].reset_index(drop=True)
    out: dict[str, pd.DataFrame] = {}
    rows = [dict(zip(_RAW_TAGS, row, strict=True)) for row in raw[list(_RAW_TAGS)].to_numpy()]
    for kind in kinds:
        mask = [_matches(row, TAGS[kind]) for row in rows]
        out[kind] = raw.loc[np.asarray(mask, dtype=bool)].reset_index(drop=True)
    return out


def _extract_records(
    path: Path, keys: Sequence[str], kinds: Sequence[str]
) -> list[tuple[str, int, dict[str, str], Any]]:
    """Stream the matching nodes, ways and multipolygon relations of a file with pyosmium.

    Three passes, each filtered in C++ so only matching objects reach Python: relations
    (to learn which ways form multipolygons), then tagged nodes and ways with node locations
    (a compact C++ index), then the multipolygons' member ways. pyosmium's own area assembly
    is not used: it needs files sorted by id, and exports such as the Leeds one are not.
    """
    import osmium

    def wanted(tags: dict[str, str]) -> bool:
        return any(_matches(tags, TAGS[kind]) for kind in kinds)

    relations: list[tuple[int, dict[str, str], list[tuple[int, str]]]] = []
    for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION).with_filter(
        osmium.filter.KeyFilter(*keys)
    ):
        if not isinstance(rel, osmium.osm.Relation):  # pragma: no cover - relations only
            continue
        tags = dict(rel.tags)
        if tags.get("type") == "multipolygon" and wanted(tags):
            members = [(m.ref, m.role) for m in rel.members if m.type == "w"]
            relations.append((rel.id, tags, members))
    records: list[tuple[str, int, dict[str, str], Any]] = []
    nodes_ways = osmium.osm.NODE | osmium.osm.WAY
    processor = (
        osmium.FileProcessor(str(path), nodes_ways)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter(*keys))
    )
    for obj in processor:
        tags = dict(obj.tags)
        if not wanted(tags):
            continue
        if isinstance(obj, osmium.osm.Node):
            if obj.location.valid():
                records.append(
                    ("node", obj.id, tags, shapely.Point(obj.location.lon, obj.location.lat))
                )
        elif isinstance(obj, osmium.osm.Way):
            coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
            if len(coords) >= 4 and obj.is_closed():
                records.append(("way", obj.id, tags, shapely.Polygon(coords)))
            elif len(coords) > 1:
                records.append(("way", obj.id, tags, shapely.LineString(coords)))
            elif coords:
                records.append(("way", obj.id, tags, shapely.Point(coords[0])))
    if relations:
        member_ids = {ref for _, _, members in relations for ref, _ in members}
        lines: dict[int, Any] = {}
        id_filter = osmium.filter.IdFilter(member_ids)
        id_filter.enable_for(osmium.osm.WAY)
        processor = (
            osmium.FileProcessor(str(path), nodes_ways)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(id_filter)
        )
        for way in processor:
            if isinstance(way, osmium.osm.Way):
                coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
                if len(coords) > 1:
                    lines[way.id] = shapely.LineString(coords)
        for rel_id, tags, members in relations:
            outer = [lines[ref] for ref, role in members if ref in lines and role != "inner"]
            area = shapely.build_area(shapely.union_all(outer)) if outer else None
            if area is None or area.is_empty:
                logger.warning("%s: relation %d has no usable outline; skipped", path, rel_id)
                continue
            records.append(("relation", rel_id, tags, area))
    return records


def clip_extract(
    src: str | Path,
    polygon: shapely.Geometry,
    dst: str | Path,
    *,
    buffer_m: float = DEFAULT_BUFFER_M,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write the part of a regional extract around a boundary to a smaller file.

    Streams ``src`` with pyosmium: node locations are held in pyosmium's compact C++ index, and
    only tagged objects reach Python. Kept: tagged nodes inside the buffered boundary, every
    tagged way with a node inside it (whole, with all its nodes, so streets crossing the edge
    are not cut), and multipolygon relations with a kept way (their members completed).
    Nodes pulled in only as way members lose their tags, so nothing outside the area shows
    up as a feature. ``defibmap.network.from_osm_file`` and :func:`osm_layer` read the result.

    Parameters
    ----------
    src
        Regional extract (``.osm.pbf``, ``.osm``, ``.osm.bz2``), sorted by type and id as
        Geofabrik's are.
    polygon
        WGS84 boundary (e.g. :func:`boundary_polygon` of the council outline).
    dst
        Output file; the format follows its suffix (``.osm.pbf`` recommended).
    buffer_m
        Metres kept around the boundary (at least the longest walk searched).
    overwrite
        Replace ``dst`` if it exists.

    Returns
    -------
    dict
        Counts: ``nodes`` (tagged nodes written), ``ways``, ``relations``.
    """
    import osmium

    src, dst = Path(src), Path(dst)
    if not src.is_file():
        msg = f"{src}: OpenStreetMap file not found"
        raise InputError(msg)
    area = buffered(polygon, buffer_m)
    shapely.prepare(area)
    kept_ways = osmium.index.IdSet()
    counts = {"nodes": 0, "ways": 0, "relations": 0}
    processor = (
        osmium.FileProcessor(str(src)).with_locations().with_filter(osmium.filter.EmptyTagFilter())
    )
    with osmium.BackReferenceWriter(str(dst), ref_src=str(src), overwrite=overwrite) as writer:
        for obj in processor:
            if isinstance(obj, osmium.osm.Node):
                loc = obj.location
                if loc.valid() and shapely.contains_xy(area, loc.lon, loc.lat):
                    writer.add_node(obj)
                    counts["nodes"] += 1
            elif isinstance(obj, osmium.osm.Way):
                xy = np.array([(n.lon, n.lat) for n in obj.nodes if n.location.valid()])
                if len(xy) and bool(shapely.contains_xy(area, xy[:, 0], xy[:, 1]).any()):
                    writer.add_way(obj)
                    kept_ways.set(obj.id)
                    counts["ways"] += 1
            elif (
                isinstance(obj, osmium.osm.Relation)
                and obj.tags.get("type") == "multipolygon"
                and any(m.type == "w" and m.ref in kept_ways for m in obj.members)
            ):
                writer.add_relation(obj)
                counts["relations"] += 1
    logger.info("clipped %s to %s: %s", src.name, dst.name, counts)
    return counts


# ---------------------------------------------------------------------------------------------
# Online: osmnx, through the per-query cache
# ---------------------------------------------------------------------------------------------


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
    _check_kind(kind)
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

    if place is not None:
        try:
            polygon = ox.geocoder.geocode_to_gdf(place).union_all()
        except (TypeError, ox._errors.InsufficientResponseError) as exc:  # noqa: SLF001
            msg = f"Nominatim found no boundary for the place {place!r} ({exc}); give a polygon"
            raise InputError(msg) from exc
    assert polygon is not None
    return buffered(polygon, buffer_m)


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
        return _raw_frame([])
    records = []
    for (element, osm_id), row in zip(gdf.index, gdf.to_dict("records"), strict=True):
        tags = {tag: str(row[tag]) for tag in _RAW_TAGS if tag in row and isinstance(row[tag], str)}
        records.append((str(element), int(osm_id), tags, row["geometry"]))
    raw = _raw_frame(records)
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
        ``"defibrillators"`` (``emergency=defibrillator``), ``"schools"``
        (``amenity=school``), ``"fire_stations"``, ``"police"`` or ``"council_buildings"``
        (``amenity=townhall|library|community_centre|social_centre``,
        ``leisure=sports_centre``).
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
        :func:`defibmap._overpass_cache.default_cache_dir`).

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
    _check_kind(kind)
    if osm_file is not None:
        if place is not None:
            msg = "give osm_file or place, not both"
            raise InputError(msg)
        raw = read_extract(osm_file, [kind], polygon=polygon, buffer_m=buffer_m)[kind]
        return finish_layer(raw, kind, council=council, source=f"OpenStreetMap: {osm_file}")
    folder = Path(cache_dir) if cache_dir is not None else cache.default_cache_dir()
    query = layer_query(kind, place=place, polygon=polygon, buffer_m=buffer_m)
    path = _layer_cache(folder, kind, query)
    if path.is_file() and not refresh:
        raw = _read_cached_layer(path)
    else:
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
        tmp = path.with_name(f".tmp-{path.name}")
        raw.to_csv(tmp, index=False)
        tmp.replace(path)
    where = place if place is not None else "a boundary polygon"
    return finish_layer(raw, kind, council=council, source=f"OpenStreetMap via osmnx: {where}")


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
    ``defibmap.network`` to project, keep the largest component and convert.

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
        ``"network"`` and/or kinds of :data:`KINDS` the study downloads.
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
    NetworkError
        Listing what is missing, what to download, where to put it and the study keys to set.
    """
    folder = Path(cache_dir) if cache_dir is not None else cache.default_cache_dir()
    place = place_or_polygon if isinstance(place_or_polygon, str) else None
    polygon = None if isinstance(place_or_polygon, str) else place_or_polygon
    missing = []
    for layer in layers:
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
        where = Path(download_dir) if download_dir is not None else Path("<study data folder>")
        url = extract_url or f"a county .osm.pbf from {GEOFABRIK_ENGLAND}"
        name = extract_url.rsplit("/", 1)[-1] if extract_url else "<county>-latest.osm.pbf"
        key = f'[network] osm_file = "{osm_file_value or (where / name).as_posix()}"'
        layers_too = [k for k in missing if k != "network"]
        also = (
            f" (the OpenStreetMap layers {', '.join(layers_too)} are then read from it too)"
            if layers_too
            else ""
        )
        area = place if place is not None else "the study boundary"
        reason = str(exc).removeprefix("could not fetch OpenStreetMap: ").rstrip(". ")
        msg = (
            f"OpenStreetMap cannot be reached ({reason}); these layers are not in the cache "
            f"({folder}): {', '.join(missing)}. Nothing was run. To run offline: download "
            f"{url} (covering {area} and {buffer_m / 1000:g} km around it) into {where}, "
            f"then set in the study file {key} instead of place{also}. Or run once online: "
            "downloads are cached and later runs work offline."
        )
        raise NetworkError(msg) from exc
