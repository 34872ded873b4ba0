"""Coordinates of point layers: find the columns, parse the numbers, check every row.

Coordinates are lon/lat (WGS84 degrees) or easting/northing (British National Grid metres),
named explicitly or recognised from common column names. Numbers may be written as text with
a Unicode minus, thousands separators or, in semicolon-delimited files, a decimal comma. A
column pair that mostly holds the other kind of coordinate (metres in lon/lat, degrees in
easting/northing) raises :class:`~defibmap._errors.InputError`; a row whose coordinates cannot
be used gets one of the reasons below ("" where usable). A point is never moved to make it fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap._errors import InputError
from defibmap.io._numbers import parse_text

if TYPE_CHECKING:
    from pathlib import Path

    from numpy.typing import NDArray

LON_NAMES = ("lon", "longitude", "long", "lng", "x")
LAT_NAMES = ("lat", "latitude", "y")
EASTING_NAMES = ("easting", "eastings", "east", "x_bng", "bng_e")
NORTHING_NAMES = ("northing", "northings", "north", "y_bng", "bng_n")

#: Extent of Great Britain in WGS84 (lon_min, lat_min, lon_max, lat_max), used to spot swaps.
GB_LONLAT_BOUNDS = (-8.82, 49.75, 1.92, 60.9)
#: Extent of British National Grid eastings/northings for Great Britain, metres.
BNG_BOUNDS = (0.0, 0.0, 700_000.0, 1_300_000.0)

MISSING_COORDINATES = "missing or non-numeric coordinates"
ZERO_COORDINATES = "coordinates 0, 0 (a placeholder, not a place)"
BNG_IN_LONLAT = "British National Grid metres in lon/lat columns"
OUT_OF_RANGE = "coordinates out of range"
SWAPPED = "lat/lon swapped"
DEGREES_IN_EN = "lon/lat degrees in easting/northing columns"
EN_SWAPPED = "easting/northing swapped"
EN_OUTSIDE = "easting/northing outside the British National Grid"


def mark(reasons: NDArray[np.object_], mask: NDArray[np.bool_], reason: str) -> None:
    """Give ``reason`` to the rows in ``mask`` that have no reason yet (first reason wins)."""
    reasons[mask & (reasons == "")] = reason


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


def lonlat_reasons(
    lon: NDArray[np.float64], lat: NDArray[np.float64], reasons: NDArray[np.object_]
) -> None:
    """Mark rows whose lon/lat cannot be used (missing, 0/0, metres, out of range, swapped)."""
    mark(reasons, ~(np.isfinite(lon) & np.isfinite(lat)), MISSING_COORDINATES)
    mark(reasons, (lon == 0) & (lat == 0), ZERO_COORDINATES)
    x0, y0, x1, y1 = BNG_BOUNDS
    out = (np.abs(lat) > 90) | (np.abs(lon) > 180)
    metres = out & (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    mark(reasons, metres, BNG_IN_LONLAT)
    mark(reasons, out, OUT_OF_RANGE)
    lon0, lat0, lon1, lat1 = GB_LONLAT_BOUNDS
    inside = (lon >= lon0) & (lon <= lon1) & (lat >= lat0) & (lat <= lat1)
    swapped = (lat >= lon0) & (lat <= lon1) & (lon >= lat0) & (lon <= lat1)
    mark(reasons, ~inside & swapped, SWAPPED)


def non_finite(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    """Which geometries have a NaN or infinite coordinate (GeoJSON may write ``Infinity``).

    GEOS throws on repairing them and warns on finding a point on them; as a place they are
    missing coordinates.
    """
    import shapely

    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = np.zeros(len(geoms), dtype=bool)
    bad[index[~np.isfinite(coords).all(axis=1)]] = True
    return bad


def mark_unplaceable(
    lon: NDArray[np.float64], lat: NDArray[np.float64], reasons: NDArray[np.object_], crs: str
) -> None:
    """Mark rows whose lon/lat ``crs`` cannot place as out of range.

    A projection does not reach every point on Earth: British National Grid gives infinite
    metres for 90 degrees east on the equator, which would pass every lon/lat check.
    """
    from pyproj import Transformer

    ok = np.isfinite(lon) & np.isfinite(lat) & (reasons == "")
    if not ok.any():
        return
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon[ok], lat[ok])
    lost = np.zeros(len(reasons), dtype=bool)
    lost[ok] = ~(np.isfinite(x) & np.isfinite(y))
    mark(reasons, lost, OUT_OF_RANGE)


def coordinates(
    frame: pd.DataFrame,
    path: Path,
    *,
    lon_column: str | None,
    lat_column: str | None,
    easting_column: str | None,
    northing_column: str | None,
    decimal_comma: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.object_]]:
    """Return WGS84 lon/lat arrays and per-row rejection reasons ("" where usable).

    The ``*_column`` options name columns explicitly; a column left ``None`` is recognised
    from common names. Easting/northing are used when named, or when there are no lon/lat
    columns.
    """
    cols = frame.columns
    lon_col = _find(cols, lon_column, LON_NAMES, path)
    lat_col = _find(cols, lat_column, LAT_NAMES, path)
    e_col = _find(cols, easting_column, EASTING_NAMES, path)
    n_col = _find(cols, northing_column, NORTHING_NAMES, path)
    explicit_en = easting_column is not None or northing_column is not None
    reasons = np.full(len(frame), "", dtype=object)
    if e_col is not None and n_col is not None and (explicit_en or lon_col is None):
        east = numeric(frame[e_col], decimal_comma=decimal_comma, where=path)
        north = numeric(frame[n_col], decimal_comma=decimal_comma, where=path)
        if looks_like_degrees(east, north):
            msg = (
                f"{path}: columns {e_col!r}/{n_col!r} hold degrees (lon/lat), not British "
                f"National Grid metres; set lon = {e_col!r} and lat = {n_col!r} in the study file"
            )
            raise InputError(msg)
        mark(reasons, ~(np.isfinite(east) & np.isfinite(north)), MISSING_COORDINATES)
        mark(reasons, (east == 0) & (north == 0), ZERO_COORDINATES)
        mark(reasons, (np.abs(east) <= 180) & (np.abs(north) <= 90), DEGREES_IN_EN)
        x0, y0, x1, y1 = BNG_BOUNDS
        inside = (east >= x0) & (east <= x1) & (north >= y0) & (north <= y1)
        swapped = (north >= x0) & (north <= x1) & (east >= y0) & (east <= y1)
        mark(reasons, ~inside & swapped, EN_SWAPPED)
        mark(reasons, ~inside, EN_OUTSIDE)
        from pyproj import Transformer

        ok = reasons == ""
        lon = np.full(len(frame), np.nan)
        lat = np.full(len(frame), np.nan)
        to_wgs = Transformer.from_crs(27700, 4326, always_xy=True)
        lon[ok], lat[ok] = to_wgs.transform(east[ok], north[ok])
        lonlat_reasons(lon, lat, reasons)  # PROJ gives inf for points it cannot place
        return lon, lat, reasons
    if lon_col is None or lat_col is None:
        msg = (
            f"{path}: no coordinate columns found; expected lon/lat (longitude/latitude, x/y) "
            f"or easting/northing, got {list(cols)}"
        )
        if _numbers_only(cols):
            msg += "; the first row looks like data: the file needs a header row"
        if any(str(c).strip().lower() in ("postcode", "post_code", "pcd") for c in cols):
            msg += "; postcodes alone are not geocoded: add coordinates"
        raise InputError(msg)
    lon = numeric(frame[lon_col], decimal_comma=decimal_comma, where=path)
    lat = numeric(frame[lat_col], decimal_comma=decimal_comma, where=path)
    if looks_like_bng(lon, lat):
        msg = (
            f"{path}: columns {lon_col!r}/{lat_col!r} hold British National Grid metres, not "
            f"degrees; set easting = {lon_col!r} and northing = {lat_col!r} in the study file"
        )
        raise InputError(msg)
    lonlat_reasons(lon, lat, reasons)
    return lon, lat, reasons


def _numbers_only(columns: pd.Index) -> bool:
    """Whether every column name is a number (the first row is data, not a header)."""
    try:
        return bool(np.isfinite(numeric(pd.Series(list(columns), dtype=object))).all())
    except InputError:  # names in two number styles ('-1.5', '1.234,5'): say nothing of it
        return False


def numeric(
    series: pd.Series, *, decimal_comma: bool = False, where: str | Path | None = None
) -> NDArray[np.float64]:
    """Numbers from cells: numbers as they are, text parsed, anything else (TRUE, dates) NaN.

    Text may use a Unicode minus and thousands separators; the decimal mark is read from the
    column's own cells (:mod:`defibmap.io._numbers`), ``decimal_comma`` saying only that the
    file is semicolon-delimited, where a decimal comma is usual and an ambiguous column
    (``2,057``, ``2.057``) is refused rather than guessed.

    Raises
    ------
    InputError
        When the column's text numbers read two ways; the message names ``where`` (the file)
        and the column.
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
        label = f"{where}: column {series.name!r}" if where is not None else f"{series.name!r}"
        out[is_str] = parse_text(values[is_str], semicolon_file=decimal_comma, where=label)
    return out


def looks_like_bng(a: NDArray[np.float64], b: NDArray[np.float64]) -> bool:
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return False
    big = (np.abs(a[ok]) > 180) | (np.abs(b[ok]) > 180)
    return bool(big.mean() > 0.5)


def looks_like_degrees(a: NDArray[np.float64], b: NDArray[np.float64]) -> bool:
    ok = np.isfinite(a) & np.isfinite(b) & ~((a == 0) & (b == 0))
    if not ok.any():
        return False
    small = (np.abs(a[ok]) <= 180) & (np.abs(b[ok]) <= 90)
    return bool(small.mean() > 0.5)
