"""Read and validate point layers: defibs, stations, candidate buildings and demand.

Layers come from CSV (UTF-8, UTF-8 with BOM, UTF-16 or Windows cp1252; comma, semicolon, tab
or pipe delimited), Excel (``.xlsx``), GeoJSON, GeoPackage or Shapefile. Coordinates are
lon/lat (WGS84) or easting/northing (British National Grid), named explicitly or recognised
from common column names. Every layer is returned as a GeoDataFrame in one projected CRS with
a stable string id as index, together with a :class:`LayerReport` that counts each row read,
used and rejected (with the reason), so nothing is dropped without being counted:
``rows_read == rows_used + rows_rejected`` always.

Two kinds of trouble, two outcomes:

- a problem with the *file* (missing, empty, header only, unreadable, no coordinate columns,
  British National Grid metres in lon/lat columns or degrees in easting/northing columns for
  most rows, a vector file with no CRS, duplicate or empty ids) raises
  :class:`~defibmap._errors.InputError` naming the file, the row (as a person counts it in a
  spreadsheet: the header is row 1 of a CSV) and the column, and what was expected;
- a problem with a *row* rejects that row with one of the reasons in :data:`REASONS`.

Points inside the coordinate ranges but outside the study area are not judged here: the study
area is the walking network, and :func:`defibmap.study.pipeline.run_study` rejects points farther
than
``max_snap_m`` from it (``farther than 250 m from the walking network``). A point is never moved
to make it fit (swapped lat/lon is rejected, not corrected). Fully blank lines and rows are not
data rows and are skipped (and logged).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from defibmap._errors import InputError
from defibmap.io import _coordinates, _readers, readiness
from defibmap.io._coordinates import (
    BNG_BOUNDS,
    BNG_IN_LONLAT,
    DEGREES_IN_EN,
    EASTING_NAMES,
    EN_OUTSIDE,
    EN_SWAPPED,
    GB_LONLAT_BOUNDS,
    LAT_NAMES,
    LON_NAMES,
    MISSING_COORDINATES,
    NORTHING_NAMES,
    OUT_OF_RANGE,
    SWAPPED,
    ZERO_COORDINATES,
)
from defibmap.io._readers import TABLE_SUFFIXES, VECTOR_SUFFIXES, read_table

if TYPE_CHECKING:
    from pathlib import Path

    from numpy.typing import NDArray

__all__ = [
    "BNG_BOUNDS",
    "BNG_IN_LONLAT",
    "DEGREES_IN_EN",
    "EASTING_NAMES",
    "EMPTY_GEOMETRY",
    "EN_OUTSIDE",
    "EN_SWAPPED",
    "GB_LONLAT_BOUNDS",
    "LAT_NAMES",
    "LON_NAMES",
    "MAX_ROW_POPULATION",
    "MISSING_COORDINATES",
    "NORTHING_NAMES",
    "OUTSIDE_DEFIB",
    "OUT_OF_RANGE",
    "POPULATION_MISSING",
    "POPULATION_NEGATIVE",
    "POPULATION_TOO_LARGE",
    "REASONS",
    "SWAPPED",
    "TABLE_SUFFIXES",
    "TOO_MANY_CELLS",
    "VECTOR_SUFFIXES",
    "ZERO_COORDINATES",
    "LayerReport",
    "LayerSpec",
    "check_demand_total",
    "load_layer",
    "read_table",
    "yes_no",
]

logger = logging.getLogger(__name__)

TOO_MANY_CELLS = "more cells than the header has columns"
#: The column that says, per row, whether a site has a defib in an outside cabinet (24/7).
OUTSIDE_DEFIB = "outside_defib"
#: Cells read as yes and as no in a yes/no column (lower case); a blank cell is unknown.
_YES = frozenset({"yes", "y", "true", "t", "1"})
_NO = frozenset({"no", "n", "false", "f", "0"})
EMPTY_GEOMETRY = "empty or missing geometry"
POPULATION_MISSING = "population missing or not a number"
POPULATION_NEGATIVE = "negative population"
#: Most people one row may hold. A Census output area holds about 300, an LSOA about 1,500 and
#: the largest English local authority about 1.1 million; a row above this is a typo or an
#: overflow (1e308), not a place.
MAX_ROW_POPULATION = 1_000_000
POPULATION_TOO_LARGE = f"population over {MAX_ROW_POPULATION:,} in one row"
#: Every reason a row can be rejected for while loading, in the order they are checked.
REASONS = (
    TOO_MANY_CELLS,
    EMPTY_GEOMETRY,
    MISSING_COORDINATES,
    ZERO_COORDINATES,
    BNG_IN_LONLAT,
    OUT_OF_RANGE,
    SWAPPED,
    DEGREES_IN_EN,
    EN_SWAPPED,
    EN_OUTSIDE,
    POPULATION_MISSING,
    POPULATION_NEGATIVE,
    POPULATION_TOO_LARGE,
)


@dataclass
class LayerReport:
    """What happened to each row of one input layer (for ``summary.json``'s ``inputs``)."""

    file: str
    rows_read: int = 0
    rows_used: int = 0
    rejected: list[tuple[str, int, str]] = field(default_factory=list)  # (id, row, reason)
    #: the file a row came from, by id, where a layer is read from more than one (row 0:
    #: an OpenStreetMap feature, which has no row)
    origins: dict[str, str] = field(default_factory=dict)
    #: people on each row of a layer that carries them, by row number (a demand file: its
    #: population column, a non-numeric value counting 0; finer-demand postcode points: their
    #: share of their area); None for a layer without people
    row_population: dict[int, float] | None = None

    @property
    def rows_rejected(self) -> int:
        """Number of rows rejected."""
        return len(self.rejected)

    @property
    def population_in(self) -> float | None:
        """People on every row read (None for a layer without people)."""
        if self.row_population is None:
            return None
        return math.fsum(self.row_population.values())

    @property
    def population_used(self) -> float | None:
        """People on the rows used: :attr:`population_in` less the rejected rows' people."""
        if self.row_population is None or self.population_in is None:
            return None
        rejected = {int(row) for _, row, _ in self.rejected}
        return math.fsum(p for row, p in self.row_population.items() if row not in rejected)

    def reject(self, ids: pd.Index | list[str], rows: list[int], reason: str) -> None:
        """Record rejected rows with one reason."""
        self.rejected.extend((str(i), int(r), reason) for i, r in zip(ids, rows, strict=True))

    def reason_counts(self) -> dict[str, int]:
        """Return the rejected rows counted by reason, in reason order."""
        return dict(sorted(Counter(r for _, _, r in self.rejected).items()))

    def as_dict(self) -> dict[str, Any]:
        """Return the report in the ``summary.json`` shape."""
        return {
            "file": self.file,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_rejected": self.rows_rejected,
            "rejected_reasons": self.reason_counts(),
            **(
                {}
                if self.row_population is None
                else {"population_in": self.population_in, "population_used": self.population_used}
            ),
        }


@dataclass(frozen=True)
class LayerSpec:
    """How to read one layer; every column key is optional and recognised when absent.

    ``sheet`` names the Excel sheet, or the GeoPackage layer (default: the first).
    """

    file: Path
    layer: str
    id: str | None = None
    name: str | None = None
    lon: str | None = None
    lat: str | None = None
    easting: str | None = None
    northing: str | None = None
    population: str | None = None
    sheet: str | int | None = None
    #: read a defib register's status, pad and battery expiry and last check
    #: (:mod:`defibmap.io.readiness`) into its normalised columns
    readiness: bool = False


def load_layer(spec: LayerSpec, *, crs: str) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read one point layer, validate it and project it to ``crs``.

    Parameters
    ----------
    spec
        The file and its optional column names.
    crs
        Target CRS (e.g. ``"EPSG:27700"``); projected for analysis.

    Returns
    -------
    tuple of (GeoDataFrame, LayerReport)
        Index: string id (from the id column, or ``{layer}_{row}``). Columns: ``name``,
        ``lon``/``lat`` (the input position in WGS84, degrees), ``population`` (people) when
        asked for, every other input column, ``source_row`` (the row in the file) and point
        ``geometry`` in ``crs``. The report counts every row read as used or rejected. An
        ``outside_defib`` column (any case) is read as yes/no into pandas ``"boolean"``
        (:func:`yes_no`: NA where blank); with ``spec.readiness`` the readiness columns
        become :data:`defibmap.io.readiness.FIELDS`.

    Raises
    ------
    InputError
        When the file cannot be used at all (see the module docstring), or an
        ``outside_defib``, status or date cell holds a value that is not one (naming the file,
        row and column).
    """
    target = _target_crs(crs)
    path = spec.file
    report = LayerReport(file=path.name)
    if path.suffix.lower() in VECTOR_SUFFIXES:
        _readers.check_file(path)
        frame, lon, lat, reasons = _read_vector(path, spec.sheet)
        decimal_comma = False
        if len(frame) == 0:
            msg = f"{path}: the file holds no features"
            raise InputError(msg)
    else:
        table = _readers.read(path, spec.sheet)
        frame, decimal_comma = table.frame, table.decimal_comma
        if len(frame) == 0:
            msg = f"{path}: no data rows (the file has a header only)"
            raise InputError(msg)
        lon, lat, reasons = _coordinates.coordinates(
            frame,
            path,
            lon_column=spec.lon,
            lat_column=spec.lat,
            easting_column=spec.easting,
            northing_column=spec.northing,
            decimal_comma=decimal_comma,
        )
        if table.too_many_cells is not None:
            reasons = np.where(table.too_many_cells, TOO_MANY_CELLS, reasons).astype(object)
    report.rows_read = len(frame)
    rows = frame.index.to_numpy(dtype=np.int64)
    ids = _ids(frame, spec, path, rows)
    names = _names(frame, spec, ids)
    _coordinates.mark_unplaceable(lon, lat, reasons, target)
    population = _population(frame, spec, decimal_comma=decimal_comma, reasons=reasons)
    if population is not None:
        people = np.where(np.isfinite(population), population, 0.0)
        report.row_population = {int(r): float(p) for r, p in zip(rows, people, strict=True)}
    keep = reasons == ""
    for reason in [*REASONS, *sorted(set(reasons[~keep]) - set(REASONS))]:
        hit = reasons == reason
        if hit.any():
            report.reject(list(ids[hit]), list(rows[hit]), reason)
            logger.info("%s: %d row(s) rejected: %s", path, int(hit.sum()), reason)
    out = pd.DataFrame({"name": names, "lon": lon, "lat": lat}, index=pd.Index(ids, name="id"))
    if population is not None:
        out["population"] = population
    for column in frame.columns:
        if column not in out.columns and column not in ("geometry", "source_row"):
            out[column] = frame[column].to_numpy()
    _read_flags(out, frame, spec, rows)
    out["source_row"] = rows
    out = out[keep]
    report.rows_used = int(keep.sum())
    geometry = gpd.points_from_xy(out["lon"], out["lat"], crs="EPSG:4326")
    gdf = gpd.GeoDataFrame(out, geometry=geometry, crs="EPSG:4326").to_crs(target)
    return gdf, report


def _read_flags(
    out: pd.DataFrame, frame: pd.DataFrame, spec: LayerSpec, rows: NDArray[np.int64]
) -> None:
    """Read the ``outside_defib`` column and (defib layers) the readiness columns, in place."""
    by_key = {str(c).strip().lower().replace(" ", "_"): str(c) for c in frame.columns}
    column = by_key.get(OUTSIDE_DEFIB)
    if column is not None:
        if column != OUTSIDE_DEFIB:
            out.pop(column)
        flags = yes_no(frame[column], file=spec.file, rows=rows, column=column)
        out[OUTSIDE_DEFIB] = flags.array  # by position: ``out`` is indexed by id
    if spec.readiness:
        ready = readiness.read_readiness(frame, file=str(spec.file), rows=rows)
        for name in ready.columns:
            if ready[name].ne("").any():
                out[name] = ready[name].to_numpy()
            elif name in out.columns:  # an empty column says nothing (a register without it)
                out.pop(name)


def yes_no(
    cells: pd.Series, *, file: Path | str, rows: NDArray[np.int64], column: str
) -> pd.Series:
    """Read a yes/no column into pandas ``"boolean"``: NA where a cell is blank.

    Yes is ``yes``/``y``/``true``/``t``/``1``, no is ``no``/``n``/``false``/``f``/``0`` (any
    case; real booleans and the numbers 1 and 0 of a vector file too).

    Raises
    ------
    InputError
        For any other value, naming the file, row and column.
    """
    values: list[bool | None] = []
    for row, cell in zip(rows, cells.to_numpy(dtype=object), strict=True):
        if isinstance(cell, bool | np.bool_):
            values.append(bool(cell))
            continue
        text = _readers.cell_text(cell).lower()
        if text == "":
            values.append(None)
        elif text in _YES:
            values.append(True)
        elif text in _NO:
            values.append(False)
        else:
            msg = (
                f"{file}: row {row}, column {column!r}: {_readers.cell_text(cell)!r} is not "
                "yes or no; write yes/no (or true/false, 1/0), or leave it blank for the "
                "layer's default"
            )
            raise InputError(msg)
    return pd.Series(pd.array(values, dtype="boolean"), index=cells.index, name=OUTSIDE_DEFIB)


def _population(
    frame: pd.DataFrame, spec: LayerSpec, *, decimal_comma: bool, reasons: NDArray[np.object_]
) -> NDArray[np.float64] | None:
    """Return the population column (people per row; NaN where not a number), marking bad rows.

    None when the layer has no population column; ``reasons`` gains each unusable row's reason.
    """
    if spec.population is None:
        return None
    path = spec.file
    if spec.population not in frame.columns:
        msg = (
            f"{path}: population column {spec.population!r} not found; "
            f"columns are {list(frame.columns)}"
        )
        raise InputError(msg)
    population = _coordinates.numeric(
        frame[spec.population], decimal_comma=decimal_comma, where=path
    )
    _coordinates.mark(reasons, ~np.isfinite(population), POPULATION_MISSING)
    _coordinates.mark(reasons, population < 0, POPULATION_NEGATIVE)
    _coordinates.mark(reasons, population > MAX_ROW_POPULATION, POPULATION_TOO_LARGE)
    return population


def check_demand_total(path: Path | str, report: LayerReport, kept: pd.DataFrame) -> None:
    """Refuse a demand layer with no usable row, or nobody in it, saying why.

    Parameters
    ----------
    path
        The layer's file, for the message.
    report
        What :func:`load_layer` counted.
    kept
        The rows :func:`load_layer` kept, with their ``population``.

    Raises
    ------
    InputError
        When every row was rejected (the reasons counted) or the population adds up to 0.
    """
    if kept.empty and report.rows_read:
        reasons = "; ".join(f"{reason} ({n})" for reason, n in report.reason_counts().items())
        msg = f"{path}: none of its {report.rows_read} rows can be used: {reasons}"
        raise InputError(msg)
    if "population" in kept.columns and not kept.empty and float(kept["population"].sum()) == 0:
        msg = f"{path}: every row's population is 0, so there is nobody to cover; check the column"
        raise InputError(msg)


def _target_crs(crs: str) -> str:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(crs)
    except CRSError as exc:
        msg = f"unknown CRS {crs!r}: give an EPSG code such as 'EPSG:27700' ({exc})"
        raise InputError(msg) from exc
    return crs


def _layer_name(path: Path, layer: str | int | None, layers: list[str]) -> str | None:
    """Return the layer to read: the one named (or numbered), else the first (None: none)."""
    if layer is None:
        if len(layers) > 1:
            logger.info("%s holds layers %s; reading the first", path, layers)
        return layers[0] if layers else None
    if isinstance(layer, int):
        layer = layers[layer] if 0 <= layer < len(layers) else str(layer)
    if layer not in layers:
        msg = f"{path}: no layer named {layer!r}; the file's layers are {layers}"
        raise InputError(msg)
    return layer


def _open_vector(path: Path, layer: str | int | None) -> gpd.GeoDataFrame:
    """Read one layer of a vector file (by name or position; the first when unnamed)."""
    import pyogrio

    try:
        layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
        return gpd.read_file(path, layer=_layer_name(path, layer, layers))
    except InputError:
        raise
    except Exception as exc:
        msg = f"{path}: cannot read as a vector file ({type(exc).__name__}: {exc})"
        raise InputError(msg) from exc


def _read_vector(
    path: Path, layer: str | int | None
) -> tuple[pd.DataFrame, NDArray[np.float64], NDArray[np.float64], NDArray[np.object_]]:
    """Read a vector file: points (or a point on each polygon/line) as WGS84 lon/lat.

    Invalid polygons are repaired (``shapely.make_valid``) before a point on them is taken;
    empty and missing geometries are rejected. The file must state its CRS, and its numbers
    must match it (degrees for a geographic CRS, metres for a projected one).
    """
    gdf = _open_vector(path, layer)
    if gdf.crs is None:
        msg = (
            f"{path}: the file has no CRS (unknown coordinate system); state it in the file "
            "(e.g. EPSG:4326 or EPSG:27700, a .prj beside a shapefile)"
        )
        raise InputError(msg)
    geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    geoms[missing] = None  # GEOS refuses coordinates of empty points
    geoms[_coordinates.non_finite(geoms)] = None  # rejected as missing coordinates
    invalid = ~missing & ~shapely.is_valid(geoms)
    if invalid.any():
        logger.info("%s: repaired %d invalid geometries", path, int(invalid.sum()))
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    points = np.where(is_point, geoms, shapely.point_on_surface(geoms))
    x = shapely.get_x(points)
    y = shapely.get_y(points)
    where = f"{path}: the file's CRS is {gdf.crs.to_string()}"
    if gdf.crs.is_geographic and _coordinates.looks_like_bng(x, y):
        msg = f"{where} (degrees) but its coordinates are metres such as British National Grid"
        raise InputError(msg)
    if gdf.crs.is_projected and _coordinates.looks_like_degrees(x, y):
        msg = f"{where} (metres) but its coordinates look like lon/lat degrees"
        raise InputError(msg)
    wgs = gpd.GeoSeries(points, crs=gdf.crs).to_crs(4326)
    lon = np.array(wgs.x.to_numpy(), dtype=np.float64)
    lat = np.array(wgs.y.to_numpy(), dtype=np.float64)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    lon[bad] = np.nan
    lat[bad] = np.nan
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    frame.index = pd.Index(np.arange(1, len(frame) + 1), dtype=np.int64, name="row")
    reasons = np.full(len(frame), "", dtype=object)
    _coordinates.mark(reasons, missing, EMPTY_GEOMETRY)
    _coordinates.lonlat_reasons(lon, lat, reasons)
    return frame, lon, lat, reasons


def _text_cells(series: pd.Series) -> NDArray[np.object_]:
    values = series.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return np.array([v.strip() for v in values], dtype=object)
    return np.array([_readers.cell_text(v) for v in values], dtype=object)


def _ids(
    frame: pd.DataFrame, spec: LayerSpec, path: Path, rows: NDArray[np.int64]
) -> NDArray[np.object_]:
    if spec.id is None:
        return np.array([f"{spec.layer}_{r}" for r in rows], dtype=object)
    if spec.id not in frame.columns:
        msg = f"{path}: id column {spec.id!r} not found; columns are {list(frame.columns)}"
        raise InputError(msg)
    ids = _text_cells(frame[spec.id])
    empty = ids == ""
    if empty.any():
        msg = f"{path}: row {rows[np.flatnonzero(empty)[0]]}, column {spec.id!r}: empty id"
        raise InputError(msg)
    dup = pd.Series(ids).duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(ids == ids[i])[0])
        msg = (
            f"{path}: row {rows[i]}, column {spec.id!r}: duplicate id {ids[i]!r} "
            f"(first seen in row {rows[first]}); ids must be unique"
        )
        raise InputError(msg)
    return ids


def _names(frame: pd.DataFrame, spec: LayerSpec, ids: NDArray[np.object_]) -> NDArray[np.object_]:
    column = spec.name
    if column is None:
        lower = {str(c).lower(): str(c) for c in frame.columns}
        column = lower.get("name") or lower.get("site_name") or lower.get("station_name")
    if column is None or column not in frame.columns:
        return ids.copy()
    names = _text_cells(frame[column])
    blank = names == ""
    names[blank] = ids[blank]
    return names
