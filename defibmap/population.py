"""Residents by area: ONS Census 2021 tables, population-weighted centroids and IMD, joined.

Demand in defibmap is residents placed at the population-weighted centroid of their output
area (OA) or lower layer super output area (LSOA). ONS publishes the pieces separately, in
several layouts; this module reads each of them and joins them by area code:

* **population** (:func:`read_population`): the Census 2021 bulk CSV (``date``,
  ``geography``, ``geography code``, ``Residence type: Total; measures: Value``, ...), the
  "create a custom dataset"/API CSV (``Lower layer Super Output Areas Code``, ``Lower layer
  Super Output Areas``, ``Observation``, optionally with category columns, which are summed),
  and the mid-year estimates (``area_code``, ``sex``, ``all_ages``; ``Persons`` rows kept);
* **centroids** (:func:`read_centroids`): ONS population-weighted centroids (``LSOA21CD`` or
  ``OA21CD`` with ``x``/``y`` in British National Grid metres, or lon/lat), CSV or a point file;
* **IMD** (:func:`read_imd`): the English Indices of Deprivation 2019 (``LSOA code (2011)``,
  ``Index of Multiple Deprivation (IMD) Rank``/``Decile``), published for 2011 LSOAs; an
  LSOA 2011 to 2021 lookup (:func:`read_lookup`) carries a parent's values to the 2021 LSOAs
  it was split into.

:func:`join_population` joins them and reports every area that fails to join, so no resident
is dropped without being counted.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from defibmap._errors import InputError
from defibmap.sites import VECTOR_SUFFIXES, read_table

logger = logging.getLogger(__name__)

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
#: Examples of how many codes to show in messages and reports.
_SHOW = 10


def _norm(name: object) -> str:
    return re.sub(r"\s+", " ", str(name)).strip().lower()


def _find_column(frame: pd.DataFrame, explicit: str | None, names: tuple[str, ...]) -> str | None:
    if explicit is not None:
        if explicit not in frame.columns:
            msg = f"column {explicit!r} not found; columns are {list(frame.columns)}"
            raise InputError(msg)
        return explicit
    lower = {_norm(c): str(c) for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def _code_like(series: pd.Series) -> float:
    values = series.astype(str).str.strip()
    return float(values.str.match(ONS_CODE).mean()) if len(values) else 0.0


def _codes(series: pd.Series) -> pd.Series:
    return series.astype(str).str.strip().str.upper()


def _level(codes: pd.Index | pd.Series) -> str:
    kinds = {_LEVELS.get(str(c)[1:3], "other") for c in codes}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _row(series: pd.Series | pd.DataFrame, i: int) -> int:
    """Return the file row of position ``i`` (:func:`~defibmap.sites.read_table` indexes rows)."""
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
        raise InputError(f"{path}: {exc}") from exc
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
    out.attrs = {"layout": layout, "level": _level(out.index), "summed": dims, "file": path.name}
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
    gdf.attrs = {"file": path.name, "level": _level(gdf.index)}
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
            found = _find_column(frame, explicit, ())
            assert found is not None
            return found
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


@dataclass
class JoinReport:
    """How the population, centroid and IMD files joined."""

    areas_joined: int
    population_total: float
    level: str
    missing_population: list[str] = field(default_factory=list)
    missing_centroid: list[str] = field(default_factory=list)
    population_without_centroid: float = 0.0
    missing_imd: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every area joined in every file."""
        return not (self.missing_population or self.missing_centroid or self.missing_imd)

    def as_dict(self) -> dict[str, Any]:
        """Return the report for ``summary.json`` (counts and the first few codes)."""
        return {
            "areas_joined": self.areas_joined,
            "population_total": self.population_total,
            "level": self.level,
            "centroids_without_population": len(self.missing_population),
            "population_without_centroid": len(self.missing_centroid),
            "people_without_centroid": self.population_without_centroid,
            "areas_without_imd": len(self.missing_imd),
            "examples": {
                "centroids_without_population": self.missing_population[:_SHOW],
                "population_without_centroid": self.missing_centroid[:_SHOW],
                "areas_without_imd": self.missing_imd[:_SHOW],
            },
        }


def join_population(
    centroids: gpd.GeoDataFrame,
    population: pd.DataFrame,
    *,
    imd: pd.DataFrame | None = None,
    imd_lookup: pd.Series | None = None,
) -> tuple[gpd.GeoDataFrame, JoinReport]:
    """Join residents to population-weighted centroids by area code, and attach IMD.

    Parameters
    ----------
    centroids
        From :func:`read_centroids` (the study's areas: only these are kept).
    population
        From :func:`read_population` (may cover more areas, e.g. all of England).
    imd
        From :func:`read_imd`; optional.
    imd_lookup
        Area code to IMD area code (e.g. LSOA 2021 to 2011, :func:`read_lookup`); codes not
        in it are looked up as they are.

    Returns
    -------
    tuple of (GeoDataFrame, JoinReport)
        Index ``area_code``; ``name``, ``population`` (people), ``imd_rank`` and
        ``imd_decile`` (NaN when unknown, absent without ``imd``), ``easting``, ``northing``,
        ``lon``, ``lat``; geometry in EPSG:27700. Areas with a centroid but no population
        row are left out; both directions are reported.
    """
    in_both = centroids.index.intersection(population.index)
    missing_population = sorted(set(centroids.index) - set(population.index))
    missing_centroid = sorted(set(population.index) - set(centroids.index))
    joined = centroids.loc[in_both].copy()
    joined["population"] = population.loc[in_both, "population"].to_numpy()
    if "name" not in joined.columns:
        names = population["name"] if "name" in population.columns else None
        joined["name"] = names.loc[in_both].to_numpy() if names is not None else joined.index
    missing_imd: list[str] = []
    if imd is not None:
        keys = pd.Series(joined.index, index=joined.index)
        if imd_lookup is not None:
            keys = keys.map(lambda c: imd_lookup.get(c, c))
        values = imd.reindex(keys.to_numpy())
        joined["imd_rank"] = values["imd_rank"].to_numpy()
        joined["imd_decile"] = values["imd_decile"].to_numpy()
        missing_imd = sorted(joined.index[values["imd_rank"].isna().to_numpy()])
    columns = ["name", "population"]
    columns += ["imd_rank", "imd_decile"] if imd is not None else []
    columns += ["easting", "northing", "lon", "lat", "geometry"]
    joined = gpd.GeoDataFrame(joined[columns], geometry="geometry", crs=centroids.crs)
    joined = joined.sort_index()
    report = JoinReport(
        areas_joined=len(joined),
        population_total=float(joined["population"].sum()),
        level=_level(joined.index),
        missing_population=missing_population,
        missing_centroid=missing_centroid,
        population_without_centroid=float(population.loc[missing_centroid, "population"].sum()),
        missing_imd=missing_imd,
    )
    if missing_population or missing_imd:
        logger.warning(
            "population join: %d centroid(s) without population, %d area(s) without IMD",
            len(missing_population),
            len(missing_imd),
        )
    return joined, report


def demand_table(joined: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return a joined table in the shipped demand-file layout (``lsoa21_demand.csv``).

    Columns: ``area_code, name, population, imd_rank, imd_decile, easting, northing, lon,
    lat``, ready to write as a study's ``[demand] file``.
    """
    table = pd.DataFrame(joined.drop(columns=joined.geometry.name)).reset_index()
    wanted = ["area_code", "name", "population", "imd_rank", "imd_decile"]
    wanted += ["easting", "northing", "lon", "lat"]
    return table[[c for c in wanted if c in table.columns]]
