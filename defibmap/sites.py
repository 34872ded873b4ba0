"""Read and validate point layers: defibs, stations, candidate buildings and demand.

Layers come from CSV, Excel (``.xlsx``), GeoJSON, GeoPackage or Shapefile. Coordinates are
lon/lat (WGS84) or easting/northing (British National Grid), named explicitly or recognised
from common column names. Every layer is returned as a GeoDataFrame in one projected CRS with
a stable string id as index, together with a :class:`LayerReport` that counts each row read,
used and rejected (with the reason), so nothing is dropped without being counted.

Bad input raises :class:`~defibmap._errors.InputError` naming the file, the row (as a person
counts it in the file: the header is row 1 of a CSV) and the column.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from defibmap._errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

logger = logging.getLogger(__name__)

LON_NAMES = ("lon", "longitude", "long", "lng", "x")
LAT_NAMES = ("lat", "latitude", "y")
EASTING_NAMES = ("easting", "eastings", "east", "x_bng", "bng_e")
NORTHING_NAMES = ("northing", "northings", "north", "y_bng", "bng_n")

#: Extent of Great Britain in WGS84 (lon_min, lat_min, lon_max, lat_max), used to spot swaps.
GB_LONLAT_BOUNDS = (-8.82, 49.75, 1.92, 60.9)
#: Extent of British National Grid eastings/northings for Great Britain, metres.
BNG_BOUNDS = (0.0, 0.0, 700_000.0, 1_300_000.0)

TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")


@dataclass
class LayerReport:
    """What happened to each row of one input layer (for ``summary.json``'s ``inputs``)."""

    file: str
    rows_read: int = 0
    rows_used: int = 0
    rejected: list[tuple[str, int, str]] = field(default_factory=list)  # (id, row, reason)

    @property
    def rows_rejected(self) -> int:
        """Number of rows rejected."""
        return len(self.rejected)

    def reject(self, ids: pd.Index | list[str], rows: list[int], reason: str) -> None:
        """Record rejected rows with one reason."""
        self.rejected.extend((str(i), int(r), reason) for i, r in zip(ids, rows, strict=True))

    def as_dict(self) -> dict[str, Any]:
        """Return the report in the ``summary.json`` shape."""
        return {
            "file": self.file,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_rejected": self.rows_rejected,
            "rejected_reasons": dict(sorted(Counter(r for _, _, r in self.rejected).items())),
        }


@dataclass(frozen=True)
class LayerSpec:
    """How to read one layer; every column key is optional and recognised when absent."""

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


def read_table(path: Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV or Excel file into a DataFrame of strings and numbers.

    CSV files may be UTF-8 (with or without a byte-order mark) or Windows cp1252, and comma,
    semicolon or tab delimited. Excel files may have blank leading rows; the first sheet is
    read unless ``sheet`` names another.
    """
    suffix = path.suffix.lower()
    if not path.exists():
        msg = f"{path}: file not found"
        raise InputError(msg)
    if suffix in (".xlsx", ".xlsm"):
        try:
            raw = pd.read_excel(path, sheet_name=sheet or 0, header=None, dtype=object)
        except ValueError as exc:
            msg = f"{path}: cannot read sheet {sheet!r}: {exc}"
            raise InputError(msg) from exc
        raw = raw.dropna(how="all").dropna(axis=1, how="all")
        if raw.empty:
            msg = f"{path}: the sheet is empty"
            raise InputError(msg)
        header = [str(c).strip() for c in raw.iloc[0]]
        frame = raw.iloc[1:].copy()
        frame.columns = pd.Index(header)
        # rows as a person counts them in the sheet (1-based), kept for messages
        frame.index = pd.RangeIndex(len(frame)) + 0
        frame.attrs["first_data_row"] = int(raw.index[0]) + 2
        return frame.reset_index(drop=True)
    data = path.read_bytes()
    if not data.strip():
        msg = f"{path}: the file is empty"
        raise InputError(msg)
    text = _decode(data, path)
    first_line = text.splitlines()[0] if text else ""
    try:
        dialect = csv.Sniffer().sniff(first_line, delimiters=",;\t|")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    frame.columns = pd.Index([str(c).strip() for c in frame.columns])
    frame.attrs["first_data_row"] = 2
    return frame


def _decode(data: bytes, path: Path) -> str:
    """Decode file bytes as UTF-8 (BOM stripped) or, failing that, as Windows cp1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        logger.info("%s is not UTF-8; reading it as Windows cp1252", path)
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            msg = (
                f"{path}: byte {exc.start} is neither UTF-8 nor Windows cp1252 text; "
                "save the file as UTF-8 CSV"
            )
            raise InputError(msg) from exc


def _find(
    columns: pd.Index, explicit: str | None, names: tuple[str, ...], path: Path
) -> str | None:
    if explicit is not None:
        if explicit not in columns:
            msg = f"{path}: column {explicit!r} not found; columns are {list(columns)}"
            raise InputError(msg)
        return explicit
    lower = {str(c).strip().lower(): str(c) for c in columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def load_layer(spec: LayerSpec, *, crs: str) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read one point layer, validate it and project it to ``crs``.

    Parameters
    ----------
    spec
        The file and its optional column names.
    crs
        Target projected CRS (e.g. ``"EPSG:27700"``).

    Returns
    -------
    tuple of (GeoDataFrame, LayerReport)
        Index: string id (from the id column, or ``{layer}_{row}``). Columns: ``name``,
        ``lon``/``lat`` (the input position in WGS84), ``population`` when asked for, every
        other input column, and point ``geometry`` in ``crs``.
    """
    path = spec.file
    suffix = path.suffix.lower()
    report = LayerReport(file=path.name)
    if suffix in VECTOR_SUFFIXES:
        frame, lon, lat = _read_vector(path)
        first_row = 1
    else:
        frame = read_table(path, sheet=spec.sheet)
        first_row = int(frame.attrs.get("first_data_row", 2))
        lon, lat = _coordinates(frame, spec, path, first_row)
    report.rows_read = len(frame)
    if frame.empty:
        msg = f"{path}: no data rows (the file has a header only)"
        raise InputError(msg)
    rows = np.arange(len(frame)) + first_row
    ids = _ids(frame, spec, path, rows)
    names = _names(frame, spec, ids)
    keep = np.ones(len(frame), dtype=bool)

    def reject(mask: np.ndarray, reason: str) -> None:
        mask = mask & keep
        if mask.any():
            report.reject(list(ids[mask]), list(rows[mask]), reason)
            keep[mask] = False

    reject(~(np.isfinite(lon) & np.isfinite(lat)), "missing or non-numeric coordinates")
    reject((np.abs(lat) > 90) | (np.abs(lon) > 180), "coordinates out of range")
    lon0, lat0, lon1, lat1 = GB_LONLAT_BOUNDS
    inside = (lon >= lon0) & (lon <= lon1) & (lat >= lat0) & (lat <= lat1)
    swapped = (lat >= lon0) & (lat <= lon1) & (lon >= lat0) & (lon <= lat1)
    reject(~inside & swapped, "lat/lon swapped")
    population = None
    if spec.population is not None:
        if spec.population not in frame.columns:
            msg = (
                f"{path}: population column {spec.population!r} not found; "
                f"columns are {list(frame.columns)}"
            )
            raise InputError(msg)
        population = pd.to_numeric(frame[spec.population], errors="coerce").to_numpy(float)
        reject(~np.isfinite(population), "population missing or not a number")
        reject(population < 0, "negative population")
    others = frame.drop(columns=[c for c in frame.columns if c in ("name", "lon", "lat")])
    out = pd.DataFrame(
        {"name": names, "lon": lon, "lat": lat},
        index=pd.Index(ids, name="id"),
    )
    if population is not None:
        out["population"] = population
    for column in others.columns:
        if column not in out.columns and column != "geometry":
            out[column] = others[column].to_numpy()
    out["source_row"] = rows
    out = out[keep]
    report.rows_used = int(keep.sum())
    geometry = gpd.points_from_xy(out["lon"], out["lat"], crs="EPSG:4326")
    gdf = gpd.GeoDataFrame(out, geometry=geometry, crs="EPSG:4326").to_crs(crs)
    return gdf, report


def _read_vector(path: Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Read a vector file; points (or polygon centroids) converted to WGS84 lon/lat."""
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        msg = f"{path}: cannot read as a vector file ({exc})"
        raise InputError(msg) from exc
    if gdf.crs is None:
        msg = f"{path}: the file has no CRS; state it in the file (e.g. EPSG:4326 or EPSG:27700)"
        raise InputError(msg)
    geom = gdf.geometry
    bad = geom.isna() | geom.is_empty
    if not geom[~bad].geom_type.isin(["Point"]).all():
        projected = geom.to_crs(27700) if not gdf.crs.is_projected else geom
        geom = projected.representative_point().to_crs(gdf.crs)
    wgs = gpd.GeoSeries(geom, crs=gdf.crs).to_crs(4326)
    lon = np.where(bad, np.nan, wgs.x.to_numpy())
    lat = np.where(bad, np.nan, wgs.y.to_numpy())
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    return frame, lon, lat


def _coordinates(
    frame: pd.DataFrame, spec: LayerSpec, path: Path, first_row: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return WGS84 lon/lat arrays from lon/lat or easting/northing columns."""
    cols = frame.columns
    lon_col = _find(cols, spec.lon, LON_NAMES, path)
    lat_col = _find(cols, spec.lat, LAT_NAMES, path)
    e_col = _find(cols, spec.easting, EASTING_NAMES, path)
    n_col = _find(cols, spec.northing, NORTHING_NAMES, path)
    explicit_en = spec.easting is not None or spec.northing is not None
    use_en = e_col is not None and n_col is not None and (explicit_en or lon_col is None)
    if use_en:
        assert e_col is not None
        assert n_col is not None
        east = _numeric(frame[e_col])
        north = _numeric(frame[n_col])
        if _looks_like_degrees(east, north):
            msg = (
                f"{path}: columns {e_col!r}/{n_col!r} hold degrees (lon/lat), not British "
                "National Grid metres; name them lon/lat in the study file"
            )
            raise InputError(msg)
        from pyproj import Transformer

        to_wgs = Transformer.from_crs(27700, 4326, always_xy=True)
        lon, lat = to_wgs.transform(east, north)
        # PROJ returns inf for failed points; keep them as missing
        return np.where(np.isfinite(lon), lon, np.nan), np.where(np.isfinite(lat), lat, np.nan)
    if lon_col is None or lat_col is None:
        msg = (
            f"{path}: no coordinate columns found; expected lon/lat (longitude/latitude, x/y) "
            f"or easting/northing, got {list(cols)}"
        )
        raise InputError(msg)
    lon = _numeric(frame[lon_col])
    lat = _numeric(frame[lat_col])
    if _looks_like_bng(lon, lat):
        msg = (
            f"{path}: columns {lon_col!r}/{lat_col!r} hold British National Grid metres, not "
            "degrees; name them easting/northing in the study file"
        )
        raise InputError(msg)
    bad = ~np.isfinite(lon) & (frame[lon_col].astype(str).str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + first_row
        logger.info("%s: row %d column %r is not a number", path, row, lon_col)
    return lon, lat


def _numeric(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series.astype(str).str.strip(), errors="coerce").to_numpy(float)


def _looks_like_bng(a: np.ndarray, b: np.ndarray) -> bool:
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return False
    big = (np.abs(a[ok]) > 180) | (np.abs(b[ok]) > 180)
    return bool(big.mean() > 0.5)


def _looks_like_degrees(a: np.ndarray, b: np.ndarray) -> bool:
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return False
    small = (np.abs(a[ok]) <= 180) & (np.abs(b[ok]) <= 90)
    return bool(small.mean() > 0.5)


def _ids(frame: pd.DataFrame, spec: LayerSpec, path: Path, rows: np.ndarray) -> np.ndarray:
    if spec.id is None:
        return np.array([f"{spec.layer}_{r}" for r in rows], dtype=object)
    if spec.id not in frame.columns:
        msg = f"{path}: id column {spec.id!r} not found; columns are {list(frame.columns)}"
        raise InputError(msg)
    ids = frame[spec.id].astype(str).str.strip().to_numpy(dtype=object)
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


def _names(frame: pd.DataFrame, spec: LayerSpec, ids: np.ndarray) -> np.ndarray:
    column = spec.name
    if column is None:
        lower = {str(c).lower(): str(c) for c in frame.columns}
        column = lower.get("name") or lower.get("site_name") or lower.get("station_name")
    if column is None or column not in frame.columns:
        return ids.copy()
    names = frame[column].astype(str).str.strip().to_numpy(dtype=object)
    blank = (names == "") | (names == "nan")
    names[blank] = ids[blank]
    return names
