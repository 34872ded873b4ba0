"""GIS files: ``defibmap.gpkg`` (the study as GeoPackage layers) and ``recommendations.geojson``.

Officers and analysts who work in QGIS or ArcGIS open the study as layers rather than as CSV
columns of longitude and latitude. Every GeoPackage layer is spatial (no attribute-only
tables) and in the study's projected CRS: British National Grid (EPSG:27700) inside Great
Britain, else the UTM zone the study measured in. ``recommendations.geojson`` holds the
``recommendations.csv`` rows as WGS84 points (RFC 7946). Each layer and field is documented
in ``docs/outputs.md``.

Each file is written all or nothing (:func:`defibmap._files.atomic_path`), and inside the
output folder's staging folder, so a failed run leaves no half-written file.
"""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from defibmap._files import atomic_path, write_text_atomic

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from defibmap.study.pipeline import StudyResult

__all__ = ["GEOJSON_NAME", "GPKG_NAME", "gis_layers", "write_gis"]

#: The GeoPackage's file name in the output folder.
GPKG_NAME = "defibmap.gpkg"
#: The recommendations as WGS84 points, in the output folder.
GEOJSON_NAME = "recommendations.geojson"

#: Columns of the input layers carried into the GeoPackage's point layers, when present.
_DEMAND_EXTRAS = ("name", "imd_decile", "ward")
_DEFIB_COLUMNS = (
    "site_id",
    "name",
    "layer",
    "availability",
    "opening_hours",
    "location",
    "locked",
    "snap_m",
    "lon",
    "lat",
)
_STATION_COLUMNS = (
    "site_id",
    "name",
    "layer",
    "outside_defib",
    "co_responder",
    "address",
    "postcode",
    "snap_m",
    "lon",
    "lat",
)
_CANDIDATE_COLUMNS = ("site_id", "name", "kind", "address", "postcode", "snap_m", "lon", "lat")


def _points(table: pd.DataFrame, geometry: gpd.GeoSeries, crs: str) -> gpd.GeoDataFrame:
    """Return ``table`` (plain columns, fresh index) with ``geometry`` in ``crs``."""
    geoms = geometry.to_crs(crs) if geometry.crs is not None else geometry.set_crs(crs)
    return gpd.GeoDataFrame(table.reset_index(drop=True), geometry=geoms.to_numpy(), crs=crs)


def _site_layer(frame: gpd.GeoDataFrame, columns: tuple[str, ...], crs: str) -> gpd.GeoDataFrame:
    """One point per site: ``site_id`` (from the index when missing) and the known columns."""
    table = pd.DataFrame(index=range(len(frame)))
    table["site_id"] = (
        frame["site_id"].astype(str).to_numpy()
        if "site_id" in frame.columns
        else frame.index.astype(str).to_numpy()
    )
    for column in columns:
        if column != "site_id" and column in frame.columns:
            table[column] = frame[column].to_numpy()
    return _points(table, frame.geometry, crs)


def _demand_layer(result: StudyResult, table: pd.DataFrame, crs: str) -> gpd.GeoDataFrame:
    """``demand_coverage.csv``'s rows and columns, as points where the walks start."""
    demand = result.demand
    layer = table.copy()
    for column in _DEMAND_EXTRAS:
        if column in demand.columns and column not in layer.columns:
            layer[column] = demand[column].to_numpy()
    return _points(layer, demand.geometry, crs)


def _candidate_layer(result: StudyResult, crs: str) -> gpd.GeoDataFrame:
    """Every candidate, with its rank and gains where the ranking picked it."""
    layer = _site_layer(result.candidates, _CANDIDATE_COLUMNS, crs)
    recs = result.recommendations
    if recs.empty or "site_id" not in recs.columns:
        layer["rank"] = pd.array([pd.NA] * len(layer), dtype="Int64")
        return layer
    extra = [c for c in recs.columns if c == "site_id" or c not in layer.columns]
    ranked = (
        recs[extra].drop_duplicates("site_id").assign(site_id=lambda t: t["site_id"].astype(str))
    )
    merged = layer.merge(ranked, on="site_id", how="left")
    for column in ranked.columns:  # unranked candidates get nulls, not NaN turned to text
        if pd.api.types.is_bool_dtype(recs[column]):
            merged[column] = merged[column].astype("boolean")
        elif pd.api.types.is_integer_dtype(recs[column]):
            merged[column] = merged[column].astype("Int64")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=crs)


def _reach_layer(result: StudyResult, crs: str) -> gpd.GeoDataFrame | None:
    """Return the map's reach areas: a (multi)polygon per label, ``period`` any time or night."""
    reach = result.reach_areas
    if reach is None or not reach.areas:
        return None
    night = reach.day_night[1] if reach.day_night is not None else None
    rows: list[dict[str, Any]] = []
    geoms: list[shapely.Geometry] = []
    for position, (label, frame) in enumerate(reach.areas.items()):
        # the first area is the current defibs any time, the night one theirs at night; the
        # others add the recommended sites (study.reach_areas builds them in that order)
        current = position == 0 or label == night
        for row in frame.to_crs(crs).itertuples():
            rows.append(
                {
                    "label": label,
                    "threshold_m": float(row.threshold_m),
                    "period": "night" if label == night else "any time",
                    "sites": "current defibs" if current else "current and recommended",
                }
            )
            geoms.append(row.geometry)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=crs)


def _ward_figures(result: StudyResult) -> pd.DataFrame | None:
    """Coverage per ward from the equity analysis (``ward`` and its figures), or None."""
    equity = result.equity
    if equity is None or not equity.by_ward:
        return None
    return pd.DataFrame(
        {
            "ward": [str(g.group) for g in equity.by_ward],
            "population": [float(g.population) for g in equity.by_ward],
            "covered_population": [float(g.covered_population) for g in equity.by_ward],
            "share": [float(g.share) for g in equity.by_ward],
            "share_with_recommended": [float(g.share_with_recommended) for g in equity.by_ward],
            "threshold_m": [int(equity.threshold_m)] * len(equity.by_ward),
        }
    )


def _ward_layer(result: StudyResult, crs: str) -> gpd.GeoDataFrame | None:
    """Ward polygons (or, with only ward names, each ward's population-weighted centre)."""
    figures = _ward_figures(result)
    if result.wards is not None and "name" in result.wards.columns:
        wards = result.wards.to_crs(crs)
        table = pd.DataFrame({"ward": wards["name"].astype(str).to_numpy()})
        if figures is not None:
            table = table.merge(figures, on="ward", how="left")
        return gpd.GeoDataFrame(table, geometry=wards.geometry.to_numpy(), crs=crs)
    if figures is None:
        return None
    column = result.config.ward_column or "ward"
    demand = result.demand
    if column not in demand.columns:
        return None
    points = demand.geometry.to_crs(crs)
    people = demand["population"].to_numpy(dtype=np.float64)
    frame = pd.DataFrame(
        {
            "ward": demand[column].astype(str).to_numpy(),
            "wx": points.x.to_numpy() * people,
            "wy": points.y.to_numpy() * people,
            "x": points.x.to_numpy(),
            "y": points.y.to_numpy(),
            "w": people,
        }
    )
    sums = frame.groupby("ward").sum()
    weighted = sums["w"] > 0
    x = np.where(weighted, sums["wx"] / sums["w"].where(weighted, 1.0), np.nan)
    y = np.where(weighted, sums["wy"] / sums["w"].where(weighted, 1.0), np.nan)
    counts = frame.groupby("ward").size()
    x = np.where(weighted, x, sums["x"] / counts)  # a ward of no people: its plain centre
    y = np.where(weighted, y, sums["y"] / counts)
    centres = pd.DataFrame({"ward": sums.index.astype(str), "cx": x, "cy": y})
    table = figures.merge(centres, on="ward", how="inner")
    geometry = shapely.points(table.pop("cx").to_numpy(), table.pop("cy").to_numpy())
    return gpd.GeoDataFrame(table, geometry=geometry, crs=crs)


def gis_layers(result: StudyResult, demand_table: pd.DataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Return the GeoPackage's layers by name, each spatial and in the study's projected CRS.

    Parameters
    ----------
    result : StudyResult
        A finished study.
    demand_table : pandas.DataFrame
        ``demand_coverage.csv``'s table (:func:`defibmap.outputs.write.demand_table`), one row
        per demand point in the order of ``result.demand``.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        ``demand``, ``defibs``, ``candidates`` always; ``stations`` when the study has fire
        or police stations; ``reach_areas`` when the result has them; ``wards`` when the
        study has wards. Coordinates in metres (``result.network.crs``).
    """
    crs = str(result.network.crs)
    layers: dict[str, gpd.GeoDataFrame] = {
        "demand": _demand_layer(result, demand_table, crs),
        "defibs": _site_layer(result.defibs, _DEFIB_COLUMNS, crs),
    }
    if not result.stations.empty:
        layers["stations"] = _site_layer(result.stations, _STATION_COLUMNS, crs)
    layers["candidates"] = _candidate_layer(result, crs)
    reach = _reach_layer(result, crs)
    if reach is not None:
        layers["reach_areas"] = reach
    wards = _ward_layer(result, crs)
    if wards is not None:
        layers["wards"] = wards
    return layers


def _geojson_value(value: object) -> object:
    """Return one cell as JSON: numpy scalars unwrapped, NaN and missing values as null."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float | str | bool):
        return value
    return str(value)


def recommendations_geojson(recommendations: pd.DataFrame) -> str:
    """Return the ranked sites as a GeoJSON FeatureCollection of WGS84 points (RFC 7946).

    Every ``recommendations.csv`` column is a property (``lon`` and ``lat`` too); the point
    is (``lon``, ``lat``).
    """
    features = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [float(row["lon"]), float(row["lat"])],
            },
            "properties": {str(k): _geojson_value(v) for k, v in row.items()},
        }
        for row in recommendations.to_dict(orient="records")
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def write_gis(result: StudyResult, folder: Path, *, demand_table: pd.DataFrame) -> list[str]:
    """Write ``defibmap.gpkg`` and ``recommendations.geojson`` into ``folder``.

    Parameters
    ----------
    result : StudyResult
        A finished study.
    folder : pathlib.Path
        An existing folder (the output folder's staging folder).
    demand_table : pandas.DataFrame
        ``demand_coverage.csv``'s table, the demand layer's attributes.

    Returns
    -------
    list of str
        The names written.
    """
    import pyogrio

    layers = gis_layers(result, demand_table)
    with atomic_path(folder / GPKG_NAME) as tmp, _fixed_gpkg_date():
        tmp.unlink()  # GDAL creates the GeoPackage; an empty file is not one
        for name, layer in layers.items():
            kind = "MultiPolygon" if name == "reach_areas" or _polygons(layer) else "Point"
            pyogrio.write_dataframe(
                layer,
                tmp,
                layer=name,
                driver="GPKG",
                geometry_type=kind,
                promote_to_multi=kind == "MultiPolygon",
            )
    write_text_atomic(folder / GEOJSON_NAME, recommendations_geojson(result.recommendations) + "\n")
    return [GPKG_NAME, GEOJSON_NAME]


#: The GeoPackage's ``last_change`` dates (GDAL's ``OGR_CURRENT_DATE``): fixed, so that the
#: same study writes the same bytes every time, as it does for the CSVs (a re-run can be
#: compared file by file, and the manifest's hashes repeat).
GPKG_DATE = "2000-01-01T00:00:00.000Z"


@contextmanager
def _fixed_gpkg_date() -> Iterator[None]:
    """Set GDAL's ``OGR_CURRENT_DATE`` to :data:`GPKG_DATE` for the block, then restore it."""
    import pyogrio

    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})


def _polygons(layer: gpd.GeoDataFrame) -> bool:
    """Return True when the layer's geometries are areas (ward outlines), not points."""
    kinds = set(layer.geom_type.dropna())
    return bool(kinds) and kinds <= {"Polygon", "MultiPolygon"}
