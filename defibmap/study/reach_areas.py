"""The study map's reach areas and ward outlines, computed with the study.

The walkable reach areas come from network distances (a Dijkstra per set of sites, a few
seconds on a city), so they are computed once here, with the study, and the map only draws
them. The pure polygon code is in :mod:`defibmap.analysis.reach_areas`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import shapely

from defibmap.analysis.reach_areas import reach_polygons
from defibmap.network.snapping import snap_points
from defibmap.study.parts import ReachAreas

if TYPE_CHECKING:
    from defibmap.config.study_file import StudyConfig
    from defibmap.study.result import StudyResult


def study_reach_areas(result: StudyResult) -> ReachAreas:
    """Reach areas of a study at its headline walk, for the study map.

    Parameters
    ----------
    result : StudyResult
        A study's result (its defibs, recommendations, candidates and network).

    Returns
    -------
    ReachAreas
        Label to area (current defibs; defibs usable at night, when some are not; with the
        recommended sites added, when there are any), and the (day, night) labels for the
        map's day/night switch, or ``None``. Defibs of unknown hours count at night when the
        study's ``unknown_hours`` is ``"available"``.
    """
    config = result.config
    threshold = float(max(config.thresholds_m))
    max_snap = float(config.network.max_snap_m)
    network = result.network
    unknown_usable_at_night = config.unknown_hours == "available"

    def area(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        if frame.empty:
            return gpd.GeoDataFrame(
                {"threshold_m": [threshold]}, geometry=[shapely.Polygon()], crs=network.crs
            )
        geom = frame.geometry.to_crs(network.crs)
        snapped = snap_points(network, geom.x.to_numpy(), geom.y.to_numpy(), max_snap_m=max_snap)
        return reach_polygons(network, snapped, thresholds_m=[threshold])

    defibs = result.defibs
    day = f"Within {threshold:g} m walk of a defib (any time)"
    areas = {day: area(defibs)}
    day_night = None
    if "availability" in defibs.columns:
        label = defibs["availability"].astype(str).str.strip().str.lower()
        at_night = (label == "24/7") | ((label == "unknown") & unknown_usable_at_night)
        if not at_night.all():
            night = f"Within {threshold:g} m walk of a defib usable at night"
            areas[night] = area(defibs[at_night.to_numpy()])
            day_night = (day, night)
    recommended = result.recommendations["site_id"].astype(str)
    if len(recommended):
        picked = result.candidates[result.candidates.index.astype(str).isin(recommended)]
        # the reach of two sets of sites is the union of their reaches (nearest of either)
        added = area(picked)
        merged = shapely.union(areas[day].geometry.to_numpy(), added.geometry.to_numpy())
        areas[f"Within {threshold:g} m walk with the recommended sites added"] = gpd.GeoDataFrame(
            {"threshold_m": [threshold]}, geometry=merged, crs=network.crs
        )
    return ReachAreas(areas=areas, day_night=day_night)


def map_wards(config: StudyConfig) -> gpd.GeoDataFrame | None:
    """Return the study's ward polygons with a ``name`` column, or ``None`` without wards.

    As the ward file has them (its own CRS): the map reprojects them to WGS84. The name
    column is ``[wards] name`` when given, else the file's own ``name`` column.
    """
    path = config.wards_file
    if path is None:
        return None
    frame = gpd.read_file(path)
    column = config.extra.get("wards", {}).get("name")
    if column in frame.columns:
        frame = frame.rename(columns={column: "name"})
    return frame[["name", "geometry"]] if "name" in frame.columns else frame[["geometry"]]
