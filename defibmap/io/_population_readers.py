"""Reading ONS area tables: Census 2021 population, population-weighted centroids, IMD, lookups.

ONS publishes residents by area, the areas' population-weighted centroids, the Index of
Multiple Deprivation and the 2011-to-2021 LSOA lookup separately, in several layouts. Each
reader here recognises the layouts' column names, returns a frame indexed by upper-case area
code (``area_code``) and names the file, row and column of any value it cannot use:

* :func:`read_population`: the Census 2021 bulk CSV, the "create a custom dataset"/API CSV
  and the mid-year estimates;
* :func:`read_centroids`: ONS population-weighted centroids, CSV or a point file;
* :func:`read_imd`: the English Indices of Deprivation 2019;
* :func:`read_lookup`: an area lookup, by default LSOA 2021 to LSOA 2011.

Private to the package: :mod:`defibmap.io.population`, which joins what these read, re-exports
every public name.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from defibmap._errors import InputError
from defibmap.io.sites import VECTOR_SUFFIXES, read_table

# Named for the public module, so log records keep the logger name they had before the split.
logger = logging.getLogger("defibmap.io.population")

#: An ONS GSS area code: a country letter and eight digits (E01011344, W00001234).
ONS_CODE = re.compile(r"^[EWSN]\d{8}$")
_LEVELS = {"00": "OA", "01": "LSOA", "02": "MSOA"}
_CODE_NAMES = (
    "geography code",
    "area_code",
    "area code",
    "lsoa21cd",
    "oa21cd",
    "lsoa11cd",
    "oa11cd",
    "lsoa code",
    "lsoa code (2011)",
    "lsoa code (2021)",
    "code",
)
_VALUE_NAMES = ("observation", "all_ages", "all ages", "population", "usual residents", "count")
_BULK_TOTAL = re.compile(r":\s*total;\s*measures:\s*value$", re.IGNORECASE)


def _norm(name: object) -> str:
    return re.sub(r"\s+", " ", str(name)).strip().lower()


def _named_column(frame: pd.DataFrame, explicit: str) -> str:
    """Return the column named ``explicit``; a name the frame lacks raises InputError."""
    if explicit not in frame.columns:
        msg = f"column {explicit!r} not found; columns are {list(frame.columns)}"
        raise InputError(msg)
    return explicit


def _find_column(frame: pd.DataFrame, explicit: str | None, names: tuple[str, ...]) -> str | None:
    if explicit is not None:
        return _named_column(frame, explicit)
    lower = {_norm(c): str(c) for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def _code_like(series: pd.Series) -> float:
    values = series.astype(str).str.strip()
    return float(values.str.match(ONS_CODE).mean()) if len(values) else 0.0


def _codes(series: pd.Series) -> pd.Series:
    return series.astype(str).str.strip().str.upper()


def area_level(codes: pd.Index | pd.Series) -> str:
    """Return the codes' level: ``"OA"``, ``"LSOA"``, ``"MSOA"``, ``"other"`` or ``"mixed"``."""
    kinds = {_LEVELS.get(str(c)[1:3], "other") for c in codes}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _row(series: pd.Series | pd.DataFrame, i: int) -> int:
    """Return the file row of position ``i`` (``read_table`` indexes rows)."""
    if series.index.name == "row":
        return int(series.index[i])
    return i + int(series.attrs.get("first_data_row", 2))


def _numbers(series: pd.Series, path: Path, column: str) -> np.ndarray:
    text = series.astype(str).str.replace(",", "", regex=False).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"{path}: row {_row(series, i)}, column {column!r}: expected a count of people, "
            f"got {series.iloc[i]!r}"
        )
        raise InputError(msg)
    return values


def _read(path: str | Path, sheet: str | int | None = None) -> tuple[pd.DataFrame, Path]:
    path = Path(path)
    frame = read_table(path, sheet=sheet)
    if frame.empty:
        msg = f"{path}: no data rows"
        raise InputError(msg)
    return frame, path


def read_population(
    path: str | Path,
    *,
    code: str | None = None,
    value: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read residents by area from an ONS table (bulk, custom-dataset/API or mid-year layout).

    Parameters
    ----------
    path
        CSV or Excel file.
    code, value
        The area-code and count columns, when they are not recognised.
    sheet
        Excel sheet.

    Returns
    -------
    pandas.DataFrame
        Index ``area_code`` (upper case); ``population`` (people) and ``name`` when the file
        has area names. ``attrs``: ``layout`` (``"bulk"``, ``"custom"``, ``"mid-year"`` or
        ``"table"``), ``level`` (``"OA"``, ``"LSOA"``, ``"MSOA"``, ``"other"`` or
        ``"mixed"``), ``summed`` (category columns summed over), ``file``.
    """
    frame, path = _read(path, sheet)
    lower = {_norm(c): str(c) for c in frame.columns}
    try:
        code_col = _find_column(frame, code, _CODE_NAMES)
        value_col = _find_column(frame, value, _VALUE_NAMES)
    except InputError as exc:
        msg = f"{path}: {exc}"
        raise InputError(msg) from exc
    layout = "table"
    if code_col is None:  # the custom-dataset layout: "<Geography> Code", "<Geography>"
        code_cols = [c for c in frame.columns if _norm(c).endswith(" code")]
        code_col = next((c for c in code_cols if _code_like(frame[c]) > 0.9), None)
    if value_col is None:
        totals = [c for c in frame.columns if _BULK_TOTAL.search(str(c))]
        value_col = totals[0] if totals else None
    if code_col is None or value_col is None:
        msg = (
            f"{path}: cannot recognise the area-code and population columns; expected an ONS "
            "table (geography code + '...: Total; measures: Value', '<Areas> Code' + "
            f"'Observation', or area_code + all_ages); columns are {list(frame.columns)}. "
            "Name them with code = ... and value = ..."
        )
        raise InputError(msg)
    if _norm(code_col) == "geography code":
        layout = "bulk"
    elif _norm(value_col) == "observation":
        layout = "custom"
    elif "sex" in lower:
        layout = "mid-year"
    keep = np.ones(len(frame), dtype=bool)
    if "sex" in lower:
        sex = frame[lower["sex"]].astype(str).str.strip().str.lower()
        persons = sex.isin(["persons", "all persons", "all", "total"])
        keep = persons.to_numpy() if persons.any() else keep
    rows = frame[keep]
    counts = _numbers(rows[value_col], path, value_col)
    codes = _codes(rows[code_col])
    name_col = _name_column(frame, code_col)
    out = pd.DataFrame({"population": counts}, index=pd.Index(codes.to_numpy(), name="area_code"))
    if name_col is not None:
        out["name"] = rows[name_col].astype(str).str.strip().to_numpy()
    dims = [
        str(c)
        for c in frame.columns
        if _norm(c).endswith(" code") and c != code_col and layout == "custom"
    ]
    if out.index.duplicated().any():
        if not dims:
            dup = out.index[out.index.duplicated()][0]
            msg = f"{path}: area {dup!r} appears more than once in column {code_col!r}"
            raise InputError(msg)
        # category rows (e.g. residence type) partition each area: their sum is its total
        grouped = out.groupby(level=0, sort=False)
        summed = grouped[["population"]].sum()
        if name_col is not None:
            summed["name"] = grouped["name"].first()
        out = summed
    out.attrs = {
        "layout": layout,
        "level": area_level(out.index),
        "summed": dims,
        "file": path.name,
    }
    return out.sort_index()


def _name_column(frame: pd.DataFrame, code_col: str) -> str | None:
    lower = {_norm(c): str(c) for c in frame.columns}
    base = _norm(code_col)
    for candidate in (
        base.removesuffix(" code"),
        base.replace("cd", "nm"),
        "geography",
        "area_name",
        "name",
    ):
        if candidate in lower and lower[candidate] != code_col:
            return lower[candidate]
    return None


def read_centroids(
    path: str | Path, *, code: str | None = None, sheet: str | int | None = None
) -> gpd.GeoDataFrame:
    """Read population-weighted centroids (ONS PWC CSV or a point file).

    Parameters
    ----------
    path
        CSV/Excel with an area-code column (``LSOA21CD``, ``OA21CD``, ...) and ``x``/``y``,
        ``easting``/``northing`` (British National Grid metres) or lon/lat; or a GeoJSON,
        GeoPackage or Shapefile of points (polygons are placed at a point inside them, which
        is *not* population-weighted: a warning is logged).
    code
        The area-code column, when not recognised.
    sheet
        Excel sheet.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``area_code``; ``easting``, ``northing`` (EPSG:27700), ``lon``, ``lat``
        (WGS84), ``name`` when present; point geometry in EPSG:27700.
    """
    path = Path(path)
    if path.suffix.lower() in VECTOR_SUFFIXES:
        gdf = gpd.read_file(path)
        if gdf.crs is None:
            msg = f"{path}: the file has no CRS"
            raise InputError(msg)
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        geom = gdf.geometry.to_crs(27700)
        if not (geom.geom_type == "Point").all():
            logger.warning("%s: polygons placed at an inner point, not population-weighted", path)
            geom = geom.representative_point()
        east, north = geom.x.to_numpy(), geom.y.to_numpy()
    else:
        frame, path = _read(path, sheet)
        east, north = _bng(frame, path)
    code_col = _find_column(frame, code, _CODE_NAMES) if code else None
    if code_col is None:
        scores = {str(c): _code_like(frame[c]) for c in frame.columns}
        code_col = max(scores, key=lambda c: scores[c]) if scores else None
        if code_col is None or scores[code_col] < 0.9:
            msg = f"{path}: no column of ONS area codes (e.g. LSOA21CD) in {list(frame.columns)}"
            raise InputError(msg)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(east, north)
    out = pd.DataFrame(
        {"easting": east, "northing": north, "lon": lon, "lat": lat},
        index=pd.Index(_codes(frame[code_col]).to_numpy(), name="area_code"),
    )
    name_col = _name_column(frame, code_col)
    if name_col is not None:
        out.insert(0, "name", frame[name_col].astype(str).to_numpy())
    if out.index.duplicated().any():
        msg = f"{path}: area {out.index[out.index.duplicated()][0]!r} has two centroids"
        raise InputError(msg)
    geometry = gpd.points_from_xy(out["easting"], out["northing"], crs="EPSG:27700")
    gdf = gpd.GeoDataFrame(out, geometry=geometry, crs="EPSG:27700")
    gdf.attrs = {"file": path.name, "level": area_level(gdf.index)}
    return gdf.sort_index()


def _bng(frame: pd.DataFrame, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Easting/northing (EPSG:27700) from x/y, easting/northing or lon/lat columns."""
    lower = {_norm(c): str(c) for c in frame.columns}
    pairs = (
        ("x", "y"),
        ("easting", "northing"),
        ("pwc_easting", "pwc_northing"),
        ("bng_e", "bng_n"),
        ("lon", "lat"),
        ("long", "lat"),
        ("longitude", "latitude"),
    )
    for a, b in pairs:
        if a in lower and b in lower:
            x = pd.to_numeric(frame[lower[a]], errors="coerce").to_numpy(float)
            y = pd.to_numeric(frame[lower[b]], errors="coerce").to_numpy(float)
            if not (np.isfinite(x) & np.isfinite(y)).all():
                i = int(np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))[0])
                msg = (
                    f"{path}: row {_row(frame, i)}: missing or non-numeric coordinates "
                    f"in {a!r}/{b!r}"
                )
                raise InputError(msg)
            if np.nanmax(np.abs(x)) <= 180 and np.nanmax(np.abs(y)) <= 90:
                from pyproj import Transformer

                to_bng = Transformer.from_crs(4326, 27700, always_xy=True)
                east, north = to_bng.transform(x, y)
                return np.asarray(east), np.asarray(north)
            return x, y
    msg = (
        f"{path}: no coordinate columns (x/y, easting/northing or lon/lat); "
        f"columns are {list(frame.columns)}"
    )
    raise InputError(msg)


def read_imd(
    path: str | Path,
    *,
    code: str | None = None,
    rank: str | None = None,
    decile: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read the Index of Multiple Deprivation (IMD 2019) rank and decile by LSOA.

    Recognises the MHCLG file columns (``LSOA code (2011)``, ``Index of Multiple Deprivation
    (IMD) Rank`` and ``... Decile``, with or without "(where 1 is most deprived ...)") and
    short names (``imd_rank``, ``IMD19_decile``).

    Returns
    -------
    pandas.DataFrame
        Index ``area_code``; ``imd_rank`` (1 = most deprived) and ``imd_decile`` (1-10).
    """
    frame, path = _read(path, sheet)

    def pick(explicit: str | None, word: str) -> str:
        if explicit is not None:
            return _named_column(frame, explicit)
        pattern = re.compile(rf"^(index of multiple deprivation \(imd\)|imd\d*)[ _]{word}")
        hits = [c for c in frame.columns if pattern.match(_norm(c))]
        if not hits:
            msg = f"{path}: no IMD {word} column; columns are {list(frame.columns)}"
            raise InputError(msg)
        return str(hits[0])

    rank_col, decile_col = pick(rank, "rank"), pick(decile, "decile")
    code_col = _find_column(frame, code, _CODE_NAMES)
    if code_col is None:
        msg = (
            f"{path}: no LSOA code column (e.g. 'LSOA code (2011)'); columns {list(frame.columns)}"
        )
        raise InputError(msg)
    out = pd.DataFrame(
        {
            "imd_rank": _numbers(frame[rank_col], path, rank_col),
            "imd_decile": _numbers(frame[decile_col], path, decile_col),
        },
        index=pd.Index(_codes(frame[code_col]).to_numpy(), name="area_code"),
    )
    out = out[~out.index.duplicated()]
    out.attrs = {"file": path.name}
    return out.sort_index()


def read_lookup(
    path: str | Path, *, source: str | None = None, target: str | None = None
) -> pd.Series:
    """Read an area lookup, by default LSOA 2021 to LSOA 2011 (to attach IMD 2019).

    Recognises ``LSOA21CD`` to ``LSOA11CD`` (or ``F_LSOA11CD``) as in the ONS best-fit lookup.
    A 2021 LSOA merged from several 2011 LSOAs maps to its first listed parent.

    Returns
    -------
    pandas.Series
        Index: source codes; values: target codes.
    """
    frame, path = _read(path)
    lower = {_norm(c): str(c) for c in frame.columns}
    src = source or lower.get("lsoa21cd")
    dst = target or lower.get("lsoa11cd") or lower.get("f_lsoa11cd")
    if src is None or dst is None or src not in frame.columns or dst not in frame.columns:
        msg = f"{path}: expected LSOA21CD and LSOA11CD columns; columns are {list(frame.columns)}"
        raise InputError(msg)
    lookup = pd.Series(_codes(frame[dst]).to_numpy(), index=_codes(frame[src]).to_numpy())
    return lookup[~lookup.index.duplicated()]


#: A single-year-of-age column of the ONS mid-year estimates: ``0`` ... ``89``, and ``90+``.
_AGE_COLUMN = re.compile(r"^(\d{1,3})(\+?)$")
_PERSONS = ("persons", "all persons", "all", "total")


def _age_columns(frame: pd.DataFrame, path: Path) -> tuple[list[str], int]:
    """Return the single-year age columns in age order and the age of the open top column.

    The columns must run 0, 1, 2, ... without a gap, the last one ending in ``+`` (``90+``):
    the count of people of that age and over.
    """
    found: dict[int, str] = {}
    open_top: int | None = None
    for column in frame.columns:
        match = _AGE_COLUMN.match(str(column).strip())
        if match is None:
            continue
        age = int(match.group(1))
        found[age] = str(column)
        if match.group(2):
            open_top = age
    if not found:
        msg = (
            f"{path}: no single-year-of-age columns (0, 1, ..., 89, 90+) as in the ONS "
            f"mid-year estimates; columns are {list(frame.columns)}"
        )
        raise InputError(msg)
    ages = sorted(found)
    expected = list(range(ages[-1] + 1))
    if ages != expected:
        missing = sorted(set(expected) - set(ages))
        msg = f"{path}: the age columns skip age(s) {missing[:5]}; expected 0, 1, 2, ... in turn"
        raise InputError(msg)
    if open_top is None or open_top != ages[-1]:
        msg = (
            f"{path}: the last age column must hold that age and over (e.g. '90+'); "
            f"got {found[ages[-1]]!r}"
        )
        raise InputError(msg)
    return [found[a] for a in ages], open_top


def read_ages(
    path: str | Path, *, code: str | None = None, sheet: str | int | None = None
) -> pd.DataFrame:
    """Read residents by single year of age from the ONS mid-year estimates (LSOA or OA).

    The layout is ONS's: ``area_code``, ``sex`` (``Persons``, ``Females``, ``Males``),
    ``all_ages``, then ``0``, ``1``, ..., ``89``, ``90+``. Only the ``Persons`` rows are
    kept (a file without a ``sex`` column is taken as persons already).

    Parameters
    ----------
    path
        CSV (optionally gzipped) or Excel file.
    code
        The area-code column, when it is not recognised.
    sheet
        Excel sheet.

    Returns
    -------
    pandas.DataFrame
        Index ``area_code`` (upper case); one column per year of age, labelled by the age
        as an integer (0, 1, ..., 90), people. ``attrs``: ``open_from`` (the last column
        counts people of that age and over), ``file``, ``level``.

    Raises
    ------
    InputError
        Naming the file, row and column of a count that is not a number of people, an area
        given twice, or a file with no age columns or no ``Persons`` rows.
    """
    frame, path = _read(path, sheet)
    lower = {_norm(c): str(c) for c in frame.columns}
    try:
        code_col = _find_column(frame, code, _CODE_NAMES)
    except InputError as exc:
        msg = f"{path}: {exc}"
        raise InputError(msg) from exc
    if code_col is None:
        msg = (
            f"{path}: no area-code column (area_code, LSOA21CD, ...); columns {list(frame.columns)}"
        )
        raise InputError(msg)
    columns, open_top = _age_columns(frame, path)
    rows = frame
    if "sex" in lower:
        sex = frame[lower["sex"]].astype(str).str.strip().str.lower()
        persons = sex.isin(_PERSONS).to_numpy()
        if not persons.any():
            msg = (
                f"{path}: column {lower['sex']!r} has no 'Persons' rows; the ages of everyone "
                "are needed, not of one sex"
            )
            raise InputError(msg)
        rows = frame[persons]
    codes = _codes(rows[code_col])
    if codes.duplicated().any():
        dup = codes[codes.duplicated()].iloc[0]
        msg = f"{path}: area {dup!r} appears more than once in column {code_col!r}"
        raise InputError(msg)
    counts = {i: _numbers(rows[c], path, c) for i, c in enumerate(columns)}
    out = pd.DataFrame(counts, index=pd.Index(codes.to_numpy(), name="area_code"))
    out.attrs = {"open_from": open_top, "file": path.name, "level": area_level(out.index)}
    return out.sort_index()
