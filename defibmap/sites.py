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
area is the walking network, and :func:`defibmap.study.run_study` rejects points farther than
``max_snap_m`` from it (``farther than 250 m from the walking network``). A point is never moved
to make it fit (swapped lat/lon is rejected, not corrected). Fully blank lines and rows are not
data rows and are skipped (and logged).
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
import shapely

from defibmap._errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from numpy.typing import NDArray

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

TOO_MANY_CELLS = "more cells than the header has columns"
EMPTY_GEOMETRY = "empty or missing geometry"
MISSING_COORDINATES = "missing or non-numeric coordinates"
ZERO_COORDINATES = "coordinates 0, 0 (a placeholder, not a place)"
BNG_IN_LONLAT = "British National Grid metres in lon/lat columns"
OUT_OF_RANGE = "coordinates out of range"
SWAPPED = "lat/lon swapped"
DEGREES_IN_EN = "lon/lat degrees in easting/northing columns"
EN_SWAPPED = "easting/northing swapped"
EN_OUTSIDE = "easting/northing outside the British National Grid"
POPULATION_MISSING = "population missing or not a number"
POPULATION_NEGATIVE = "negative population"
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
)

_DELIMITERS = (",", ";", "\t", "|")
_THOUSANDS = r"^([+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?)$"
_DECIMAL_COMMA = r"^([+-]?\d*),(\d+)$"


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


@dataclass(frozen=True)
class _Table:
    """A table read from a file: cells, the file row of each, and how numbers are written."""

    frame: pd.DataFrame  # index: the row as a person counts it in the file (header row 1)
    decimal_comma: bool = False
    too_many_cells: NDArray[np.bool_] | None = None


def read_table(path: Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV or Excel file into a DataFrame of text and numbers.

    CSV files may be UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark
    or Windows cp1252, and comma, semicolon, tab or pipe delimited. Excel files may have blank
    leading rows and columns and a one-cell title row above the header; the first sheet is
    read unless ``sheet`` names another (by name or 0-based position).

    Returns
    -------
    pandas.DataFrame
        One row per data row; the index (``row``) is the row number in the file, counted as a
        spreadsheet shows it (the header of a plain CSV is row 1). Fully blank rows are skipped.
    """
    return _read_table(path, sheet).frame


def _read_table(path: Path, sheet: str | int | None) -> _Table:
    suffix = path.suffix.lower()
    _check_file(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path, sheet)
    if suffix == ".xls":
        msg = f"{path}: Excel 97-2003 (.xls) workbooks are not read; save it as .xlsx or CSV"
        raise InputError(msg)
    if suffix not in TABLE_SUFFIXES:
        msg = (
            f"{path}: unsupported file type {suffix or '(no extension)'!r}; expected one of "
            f"{', '.join(TABLE_SUFFIXES + VECTOR_SUFFIXES)}"
        )
        raise InputError(msg)
    return _read_csv(path)


def _check_file(path: Path) -> None:
    if not path.exists():
        msg = f"{path}: file not found"
        raise InputError(msg)
    if not path.is_file():
        msg = f"{path}: is a folder, not a file"
        raise InputError(msg)


def _read_csv(path: Path) -> _Table:
    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"{path}: cannot read the file ({exc.strerror})"
        raise InputError(msg) from exc
    if data.startswith(b"PK\x03\x04"):
        msg = f"{path}: is a zip archive (an Excel .xlsx workbook?), not CSV text"
        raise InputError(msg)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        msg = f"{path}: is an Excel 97-2003 or encrypted workbook, not CSV text; save it as CSV"
        raise InputError(msg)
    text = _decode(data, path)
    if "\x00" in text:
        msg = f"{path}: holds NUL bytes: a binary file, not CSV text"
        raise InputError(msg)
    if not text.strip():
        msg = f"{path}: the file is empty"
        raise InputError(msg)
    first = next(line for line in text.splitlines() if line.strip())
    sep = _delimiter(first)
    records = _records(text, sep, path)
    start = next(i for i, r in enumerate(records) if any(c.strip() for c in r))
    columns = _header(records[start], path, start + 1)
    width = len(columns)
    body = records[start + 1 :]
    full = max([width, *(len(r) for r in body)])
    cells = np.array([r + [""] * (full - len(r)) for r in body], dtype=object)
    cells = cells.reshape(len(body), full)
    filled = np.zeros(cells.shape, dtype=bool)
    for j in range(full):
        filled[:, j] = [bool(c.strip()) for c in cells[:, j]]
    has_data = filled.any(axis=1)
    if not has_data.all():
        logger.info("%s: skipped %d blank rows", path, int((~has_data).sum()))
    # rows as a spreadsheet counts them: the header is row start + 1
    rows = pd.Index(np.flatnonzero(has_data) + start + 2, dtype=np.int64, name="row")
    frame = pd.DataFrame(cells[has_data, :width], columns=columns, index=rows, dtype=object)
    over = np.asarray(filled[has_data, width:].any(axis=1), dtype=bool)
    return _Table(frame, decimal_comma=sep == ";", too_many_cells=over)


def _delimiter(header: str) -> str:
    """Return the delimiter found most often in the header outside quotes (comma on ties)."""
    outside = "".join(part for i, part in enumerate(header.split('"')) if i % 2 == 0)
    counts = [outside.count(d) for d in _DELIMITERS]
    return _DELIMITERS[int(np.argmax(counts))] if max(counts) else ","


def _records(text: str, sep: str, path: Path) -> list[list[str]]:
    """Split CSV text into records; blank lines stay as empty records so rows keep numbers."""
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True))
    except csv.Error as exc:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
        if "end of data" in str(exc):
            msg = (
                f"{path}: row {len(records)}: a quotation mark opens a cell that is never closed, "
                "so the rest of the file would be read as one cell"
            )
            raise InputError(msg) from exc
        return records  # stray quotes inside a cell are read as text


def _header(cells: list[Any], path: Path, row: int) -> list[str]:
    """Column names from a header row; blank names made up, repeated names refused."""
    names = [_cell_text(c).replace("\ufeff", "") or f"Unnamed: {j}" for j, c in enumerate(cells)]
    seen: dict[str, int] = {}
    for j, name in enumerate(names, start=1):
        if name in seen:
            msg = (
                f"{path}: row {row}: column {name!r} appears twice in the header "
                f"(columns {seen[name]} and {j}); column names must be unique"
            )
            raise InputError(msg)
        seen[name] = j
    return names


def _cell_text(value: object, *, strip: bool = True) -> str:
    """Return a cell as (stripped) text: missing is empty, whole floats lose their ``.0``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        if float(value).is_integer():
            return str(int(value))
    return str(value).strip() if strip else str(value)


def _decode(data: bytes, path: Path) -> str:
    """Decode file bytes as UTF-16 (with BOM), UTF-8 (BOM stripped) or Windows cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            msg = f"{path}: starts like UTF-16 text but byte {exc.start} is not; save it as UTF-8"
            raise InputError(msg) from exc
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


def _read_excel(path: Path, sheet: str | int | None) -> _Table:
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            names = [str(n) for n in book.sheet_names]
            chosen = _sheet_name(names, sheet, path)
            raw = pd.read_excel(book, sheet_name=chosen, header=None, dtype=object)
    except InputError:
        raise
    except Exception as exc:
        msg = f"{path}: cannot read as an Excel workbook ({type(exc).__name__}: {exc})"
        raise InputError(msg) from exc
    text = raw.map(_cell_text).to_numpy(dtype=object) if raw.size else np.empty((0, 0), object)
    filled = text != ""
    row_has = filled.any(axis=1)
    if not row_has.any():
        others = f"; the workbook's sheets are {names}, choose one with sheet = ..." * (
            len(names) > 1
        )
        msg = f"{path}: sheet {chosen!r} is empty{others}"
        raise InputError(msg)
    cols = np.flatnonzero(filled.any(axis=0))
    counts = filled[:, cols].sum(axis=1)
    used = np.flatnonzero(row_has)
    # a one-cell title row above the header ("Asset register, March 2024") is not the header
    wide = used[counts[used] >= 2]
    head = int(wide[0]) if wide.size and cols.size >= 2 else int(used[0])
    if head != used[0]:
        logger.info("%s: skipped title rows above the header in row %d", path, head + 1)
    columns = _header(list(raw.iloc[head, cols]), path, head + 1)
    body = used[used > head]
    frame = pd.DataFrame(raw.iloc[body, cols].to_numpy(dtype=object), columns=columns)
    frame.index = pd.Index(body + 1, dtype=np.int64, name="row")  # sheet rows count from 1
    return _Table(frame)


def _sheet_name(names: list[str], sheet: str | int | None, path: Path) -> str:
    if sheet is None:
        return names[0]
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
        msg = (
            f"{path}: sheet {sheet} does not exist; the workbook has {len(names)} sheet(s) "
            f"{names} (numbered from 0)"
        )
        raise InputError(msg)
    if sheet in names:
        return sheet
    msg = f"{path}: no sheet named {sheet!r}; the workbook's sheets are {names}"
    raise InputError(msg)


def _find(
    columns: pd.Index, explicit: str | None, names: tuple[str, ...], path: Path
) -> str | None:
    if explicit is not None:
        if explicit not in columns:
            close = [str(c) for c in columns if str(c).lower() == explicit.lower()]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            msg = f"{path}: column {explicit!r} not found{hint}; columns are {list(columns)}"
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
        Target CRS (e.g. ``"EPSG:27700"``); projected for analysis.

    Returns
    -------
    tuple of (GeoDataFrame, LayerReport)
        Index: string id (from the id column, or ``{layer}_{row}``). Columns: ``name``,
        ``lon``/``lat`` (the input position in WGS84, degrees), ``population`` (people) when
        asked for, every other input column, ``source_row`` (the row in the file) and point
        ``geometry`` in ``crs``. The report counts every row read as used or rejected.

    Raises
    ------
    InputError
        When the file cannot be used at all (see the module docstring).
    """
    target = _target_crs(crs)
    path = spec.file
    report = LayerReport(file=path.name)
    if path.suffix.lower() in VECTOR_SUFFIXES:
        _check_file(path)
        frame, lon, lat, reasons = _read_vector(path, spec.sheet)
        decimal_comma = False
        if len(frame) == 0:
            msg = f"{path}: the file holds no features"
            raise InputError(msg)
    else:
        table = _read_table(path, spec.sheet)
        frame, decimal_comma = table.frame, table.decimal_comma
        if len(frame) == 0:
            msg = f"{path}: no data rows (the file has a header only)"
            raise InputError(msg)
        lon, lat, reasons = _coordinates(frame, spec, path, decimal_comma=decimal_comma)
        if table.too_many_cells is not None:
            reasons = np.where(table.too_many_cells, TOO_MANY_CELLS, reasons).astype(object)
    report.rows_read = len(frame)
    rows = frame.index.to_numpy(dtype=np.int64)
    ids = _ids(frame, spec, path, rows)
    names = _names(frame, spec, ids)
    population = None
    if spec.population is not None:
        if spec.population not in frame.columns:
            msg = (
                f"{path}: population column {spec.population!r} not found; "
                f"columns are {list(frame.columns)}"
            )
            raise InputError(msg)
        population = _numeric(frame[spec.population], decimal_comma=decimal_comma)
        _mark(reasons, ~np.isfinite(population), POPULATION_MISSING)
        _mark(reasons, population < 0, POPULATION_NEGATIVE)
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
    out["source_row"] = rows
    out = out[keep]
    report.rows_used = int(keep.sum())
    geometry = gpd.points_from_xy(out["lon"], out["lat"], crs="EPSG:4326")
    gdf = gpd.GeoDataFrame(out, geometry=geometry, crs="EPSG:4326").to_crs(target)
    return gdf, report


def _target_crs(crs: str) -> str:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(crs)
    except CRSError as exc:
        msg = f"unknown CRS {crs!r}: give an EPSG code such as 'EPSG:27700' ({exc})"
        raise InputError(msg) from exc
    return crs


def _mark(reasons: NDArray[np.object_], mask: NDArray[np.bool_], reason: str) -> None:
    """Give ``reason`` to the rows in ``mask`` that have no reason yet (first reason wins)."""
    reasons[mask & (reasons == "")] = reason


def _read_vector(
    path: Path, layer: str | int | None
) -> tuple[pd.DataFrame, NDArray[np.float64], NDArray[np.float64], NDArray[np.object_]]:
    """Read a vector file: points (or a point on each polygon/line) as WGS84 lon/lat.

    Invalid polygons are repaired (``shapely.make_valid``) before a point on them is taken;
    empty and missing geometries are rejected. The file must state its CRS, and its numbers
    must match it (degrees for a geographic CRS, metres for a projected one).
    """
    import pyogrio

    options: dict[str, Any] = {}
    try:
        layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
        if layer is not None:
            if isinstance(layer, int):
                layer = layers[layer] if 0 <= layer < len(layers) else str(layer)
            if layer not in layers:
                msg = f"{path}: no layer named {layer!r}; the file's layers are {layers}"
                raise InputError(msg)
            options["layer"] = layer
        elif len(layers) > 1:
            logger.info("%s holds layers %s; reading the first", path, layers)
            options["layer"] = layers[0]
        gdf = gpd.read_file(path, **options)
    except InputError:
        raise
    except Exception as exc:
        msg = f"{path}: cannot read as a vector file ({type(exc).__name__}: {exc})"
        raise InputError(msg) from exc
    if gdf.crs is None:
        msg = (
            f"{path}: the file has no CRS (unknown coordinate system); state it in the file "
            "(e.g. EPSG:4326 or EPSG:27700, a .prj beside a shapefile)"
        )
        raise InputError(msg)
    geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    geoms[missing] = None  # GEOS refuses coordinates of empty points
    invalid = ~missing & ~shapely.is_valid(geoms)
    if invalid.any():
        logger.info("%s: repaired %d invalid geometries", path, int(invalid.sum()))
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    points = np.where(is_point, geoms, shapely.point_on_surface(geoms))
    x = shapely.get_x(points)
    y = shapely.get_y(points)
    where = f"{path}: the file's CRS is {gdf.crs.to_string()}"
    if gdf.crs.is_geographic and _looks_like_bng(x, y):
        msg = f"{where} (degrees) but its coordinates are metres such as British National Grid"
        raise InputError(msg)
    if gdf.crs.is_projected and _looks_like_degrees(x, y):
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
    _mark(reasons, missing, EMPTY_GEOMETRY)
    _lonlat_reasons(lon, lat, reasons)
    return frame, lon, lat, reasons


def _lonlat_reasons(
    lon: NDArray[np.float64], lat: NDArray[np.float64], reasons: NDArray[np.object_]
) -> None:
    """Mark rows whose lon/lat cannot be used (missing, 0/0, metres, out of range, swapped)."""
    _mark(reasons, ~(np.isfinite(lon) & np.isfinite(lat)), MISSING_COORDINATES)
    _mark(reasons, (lon == 0) & (lat == 0), ZERO_COORDINATES)
    x0, y0, x1, y1 = BNG_BOUNDS
    out = (np.abs(lat) > 90) | (np.abs(lon) > 180)
    metres = out & (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    _mark(reasons, metres, BNG_IN_LONLAT)
    _mark(reasons, out, OUT_OF_RANGE)
    lon0, lat0, lon1, lat1 = GB_LONLAT_BOUNDS
    inside = (lon >= lon0) & (lon <= lon1) & (lat >= lat0) & (lat <= lat1)
    swapped = (lat >= lon0) & (lat <= lon1) & (lon >= lat0) & (lon <= lat1)
    _mark(reasons, ~inside & swapped, SWAPPED)


def _coordinates(
    frame: pd.DataFrame, spec: LayerSpec, path: Path, *, decimal_comma: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.object_]]:
    """Return WGS84 lon/lat arrays and per-row rejection reasons ("" where usable)."""
    cols = frame.columns
    lon_col = _find(cols, spec.lon, LON_NAMES, path)
    lat_col = _find(cols, spec.lat, LAT_NAMES, path)
    e_col = _find(cols, spec.easting, EASTING_NAMES, path)
    n_col = _find(cols, spec.northing, NORTHING_NAMES, path)
    explicit_en = spec.easting is not None or spec.northing is not None
    reasons = np.full(len(frame), "", dtype=object)
    if e_col is not None and n_col is not None and (explicit_en or lon_col is None):
        east = _numeric(frame[e_col], decimal_comma=decimal_comma)
        north = _numeric(frame[n_col], decimal_comma=decimal_comma)
        if _looks_like_degrees(east, north):
            msg = (
                f"{path}: columns {e_col!r}/{n_col!r} hold degrees (lon/lat), not British "
                f"National Grid metres; set lon = {e_col!r} and lat = {n_col!r} in the study file"
            )
            raise InputError(msg)
        _mark(reasons, ~(np.isfinite(east) & np.isfinite(north)), MISSING_COORDINATES)
        _mark(reasons, (east == 0) & (north == 0), ZERO_COORDINATES)
        _mark(reasons, (np.abs(east) <= 180) & (np.abs(north) <= 90), DEGREES_IN_EN)
        x0, y0, x1, y1 = BNG_BOUNDS
        inside = (east >= x0) & (east <= x1) & (north >= y0) & (north <= y1)
        swapped = (north >= x0) & (north <= x1) & (east >= y0) & (east <= y1)
        _mark(reasons, ~inside & swapped, EN_SWAPPED)
        _mark(reasons, ~inside, EN_OUTSIDE)
        from pyproj import Transformer

        ok = reasons == ""
        lon = np.full(len(frame), np.nan)
        lat = np.full(len(frame), np.nan)
        to_wgs = Transformer.from_crs(27700, 4326, always_xy=True)
        lon[ok], lat[ok] = to_wgs.transform(east[ok], north[ok])
        _lonlat_reasons(lon, lat, reasons)  # PROJ gives inf for points it cannot place
        return lon, lat, reasons
    if lon_col is None or lat_col is None:
        msg = (
            f"{path}: no coordinate columns found; expected lon/lat (longitude/latitude, x/y) "
            f"or easting/northing, got {list(cols)}"
        )
        if all(np.isfinite(_numeric(pd.Series(list(cols), dtype=object)))):
            msg += "; the first row looks like data: the file needs a header row"
        if any(str(c).strip().lower() in ("postcode", "post_code", "pcd") for c in cols):
            msg += "; postcodes alone are not geocoded: add coordinates"
        raise InputError(msg)
    lon = _numeric(frame[lon_col], decimal_comma=decimal_comma)
    lat = _numeric(frame[lat_col], decimal_comma=decimal_comma)
    if _looks_like_bng(lon, lat):
        msg = (
            f"{path}: columns {lon_col!r}/{lat_col!r} hold British National Grid metres, not "
            f"degrees; set easting = {lon_col!r} and northing = {lat_col!r} in the study file"
        )
        raise InputError(msg)
    _lonlat_reasons(lon, lat, reasons)
    return lon, lat, reasons


def _numeric(series: pd.Series, *, decimal_comma: bool = False) -> NDArray[np.float64]:
    """Numbers from cells: numbers as they are, text parsed, anything else (TRUE, dates) NaN.

    Text may use a Unicode minus and, in comma-delimited files, thousands separators
    (``1,234``); in semicolon-delimited files a comma is the decimal mark (``-1,52``).
    """
    values = series.to_numpy(dtype=object)
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind in ("integer", "floating", "mixed-integer-float", "empty"):
        return np.array(values, dtype=np.float64)
    if kind == "string":
        is_str = np.ones(values.shape[0], dtype=bool)
        out = np.full(values.shape[0], np.nan)
    else:  # a mix (Excel): numbers as they are, booleans and dates are not numbers
        is_str = np.array([isinstance(v, str) for v in values], dtype=bool)
        is_num = np.array(
            [isinstance(v, int | float | np.integer | np.floating) for v in values], dtype=bool
        )
        is_num &= ~np.array([isinstance(v, bool | np.bool_) for v in values], dtype=bool)
        out = np.full(values.shape[0], np.nan)
        out[is_num] = values[is_num].astype(np.float64)
    if is_str.any():
        text = values[is_str]
        parsed = np.array(pd.to_numeric(pd.Series(text, dtype=object), errors="coerce"), float)
        # only the cells the fast parser refused go through the slower clean-up
        retry = np.isnan(parsed) & np.array([bool(t.strip()) for t in text], dtype=bool)
        if retry.any():
            parsed[retry] = _parse_text(text[retry], decimal_comma=decimal_comma)
        out[is_str] = parsed
    return out


def _parse_text(text: NDArray[np.object_], *, decimal_comma: bool) -> NDArray[np.float64]:
    cells = pd.Series(text, dtype=object).str.strip().str.replace("\u2212", "-")
    if decimal_comma:
        cells = cells.str.replace(_DECIMAL_COMMA, r"\1.\2", regex=True)
    else:
        thousands = cells.str.fullmatch(_THOUSANDS).fillna(value=False).astype(bool)
        cells = cells.where(~thousands, cells.str.replace(",", "", regex=False))
    return np.array(pd.to_numeric(cells, errors="coerce"), dtype=np.float64)


def _looks_like_bng(a: NDArray[np.float64], b: NDArray[np.float64]) -> bool:
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return False
    big = (np.abs(a[ok]) > 180) | (np.abs(b[ok]) > 180)
    return bool(big.mean() > 0.5)


def _looks_like_degrees(a: NDArray[np.float64], b: NDArray[np.float64]) -> bool:
    ok = np.isfinite(a) & np.isfinite(b) & ~((a == 0) & (b == 0))
    if not ok.any():
        return False
    small = (np.abs(a[ok]) <= 180) & (np.abs(b[ok]) <= 90)
    return bool(small.mean() > 0.5)


def _text_cells(series: pd.Series) -> NDArray[np.object_]:
    values = series.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return np.array([v.strip() for v in values], dtype=object)
    return np.array([_cell_text(v) for v in values], dtype=object)


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
