"""Raw OpenStreetMap features: the shape both sources (local extract, online) produce.

Which tags each layer kind matches (:data:`TAGS`, osmnx's ``tags`` dict), the area searched
(a WGS84 boundary grown by a buffer in metres), and features ``(element, id, tags, geometry)``
turned into the raw frame: one row per feature, ``site_id``, ``lon``/``lat`` (WGS84; a way or
area placed at its centroid, computed in a projected CRS, or at a point on its surface when
the centroid falls outside) and the OSM tags in :data:`RAW_TAGS`.

Private to the package: :mod:`defibmap.osm.features` finishes these frames into layers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from defibmap._crs import projected_crs_for
from defibmap._errors import InputError
from defibmap.layers import KINDS, TAGS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: The OSM tags kept in a raw frame (and its cached CSV).
RAW_TAGS = (
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


def check_kind(kind: str) -> None:
    """Raise :class:`InputError` unless ``kind`` is one of :data:`KINDS`."""
    if kind not in TAGS:
        msg = f"unknown OpenStreetMap layer {kind!r}; known: {', '.join(KINDS)}"
        raise InputError(msg)


def matches(tags: Mapping[str, str], wanted: Mapping[str, bool | str | list[str]]) -> bool:
    """Return True when ``tags`` has any of the ``wanted`` keys with a wanted value."""
    for key, value in wanted.items():
        have = tags.get(key)
        if not have:
            continue
        if value is True or (have in value if isinstance(value, list) else have == value):
            return True
    return False


def _projected_crs(lon: np.ndarray, lat: np.ndarray) -> str:

    return projected_crs_for(np.asarray(lon, float), np.asarray(lat, float))


def buffered(polygon: shapely.Geometry, buffer_m: float) -> shapely.Geometry:
    """Return a WGS84 (multi)polygon grown by ``buffer_m`` metres (buffered when projected)."""
    if buffer_m <= 0:
        return polygon
    centre = polygon.centroid
    crs = _projected_crs(np.array([centre.x]), np.array([centre.y]))
    grown = gpd.GeoSeries([polygon], crs="EPSG:4326").to_crs(crs).buffer(buffer_m)
    return grown.to_crs("EPSG:4326").iloc[0]


def area_km2(polygon: shapely.Geometry, buffer_m: float) -> float:
    """Return the area of a WGS84 (multi)polygon grown by ``buffer_m`` metres, km²."""
    centre = polygon.centroid
    crs = _projected_crs(np.array([centre.x]), np.array([centre.y]))
    projected = gpd.GeoSeries([polygon], crs="EPSG:4326").to_crs(crs)
    grown = projected.buffer(buffer_m) if buffer_m > 0 else projected
    return float(grown.area.iloc[0]) / 1e6


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


def raw_frame(records: list[tuple[str, int, dict[str, str], Any]]) -> pd.DataFrame:
    """Features ``(element, id, tags, WGS84 geometry)`` to the raw cached shape."""
    lon, lat = _points([geom for *_, geom in records])
    frame = pd.DataFrame(
        {
            "site_id": [f"osm_{element}_{osm_id}" for element, osm_id, _, _ in records],
            "lon": lon,
            "lat": lat,
        }
    )
    for tag in RAW_TAGS:
        frame[tag] = [str(tags.get(tag, "") or "") for _, _, tags, _ in records]
    frame = frame.drop_duplicates("site_id").sort_values("site_id", kind="stable")
    return frame.reset_index(drop=True)
