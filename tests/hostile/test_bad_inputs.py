"""Hostile and broken inputs: one table of named cases, each with its exact outcome.

Every case writes a file (CSV, Excel, GeoJSON, GeoPackage, Shapefile) into ``tmp_path`` and
either expects an :class:`~defibmap._errors.InputError` whose message names what went wrong,
or a load whose report rejects exactly the listed rows for the listed reasons. In every load
``rows_read == rows_used + rows_rejected``: nothing is dropped without being counted.

The network faults (islands, zero-length edges, self-loops, missing lengths, an empty network,
one-way tags) follow, on hand-made OSM XML and :func:`defibmap.network.walk.from_arrays`.
"""

from __future__ import annotations

import bz2
import json
import warnings
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse import csgraph

import defibmap
from defibmap import InputError, NetworkError
from defibmap.analysis import reach
from defibmap.io import LayerSpec, load_layer, sites
from defibmap.network import faults, snap_points, walk

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)
TO_WGS = Transformer.from_crs(27700, 4326, always_xy=True)
HEADER = "id,name,lon,lat,pop\n"
GOOD = "a,Alpha,-1.52,53.82,10\nb,Beta,-1.51,53.81,20\n"


# ---------------------------------------------------------------------------------------------
# File builders
# ---------------------------------------------------------------------------------------------


def text(content: str, name: str = "d.csv", encoding: str = "utf-8") -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(content.encode(encoding))
        return path

    return make


def raw(content: bytes, name: str = "d.csv") -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(content)
        return path

    return make


def xlsx(sheets: dict[str, list[list[Any]]], name: str = "d.xlsx") -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        from openpyxl import Workbook

        book = Workbook()
        book.remove(book.active)
        for title, rows in sheets.items():
            sheet = book.create_sheet(title)
            for row in rows:
                sheet.append(row)
        path = tmp / name
        book.save(path)
        return path

    return make


def geojson(features: list[dict[str, Any]], **extra: Any) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / "d.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **extra}))
        return path

    return make


def feature(geometry: dict[str, Any] | None, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def vector(
    name: str,
    xy: list[tuple[float, float]],
    crs: int | None,
    layer: str | None = None,
    also: str | None = None,
) -> Callable[[Path], Path]:
    """A GeoPackage or Shapefile of points (optionally a second GeoPackage layer ``also``)."""

    def make(tmp: Path) -> Path:
        path = tmp / name
        gdf = gpd.GeoDataFrame(
            {"site_id": [f"s{i}" for i in range(len(xy))]},
            geometry=gpd.points_from_xy(*zip(*xy, strict=True)),
            crs=crs,
        )
        options = {"layer": layer} if layer else {}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
            gdf.to_file(path, **options)
        if also:
            gdf.iloc[:1].to_file(path, layer=also)
        return path

    return make


def polygon(ring: list[tuple[float, float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


SQUARE = [(-1.53, 53.81), (-1.51, 53.81), (-1.51, 53.83), (-1.53, 53.83), (-1.53, 53.81)]
BOWTIE = [(-1.53, 53.81), (-1.51, 53.83), (-1.51, 53.81), (-1.53, 53.83), (-1.53, 53.81)]


def folder(tmp: Path) -> Path:
    path = tmp / "folder.csv"
    path.mkdir()
    return path


def missing(tmp: Path) -> Path:
    return tmp / "nowhere.csv"


E, N = (round(v) for v in TO_BNG.transform(-1.52, 53.82))


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input. ``error`` is a regex the InputError must match; otherwise the load must
    use ``used`` rows and reject exactly ``rejected`` ({reason: count}), at ``rows`` if given."""

    id: str
    make: Callable[[Path], Path]
    spec: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    used: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] | None = None  # rejected id -> row in the file
    check: Callable[[gpd.GeoDataFrame], None] | None = None
    crs: str = "EPSG:27700"


def near(lon: float, lat: float) -> Callable[[gpd.GeoDataFrame], None]:
    def check(gdf: gpd.GeoDataFrame) -> None:
        wgs = gdf.to_crs(4326)
        assert wgs.geometry.x.iloc[0] == pytest.approx(lon, abs=1e-6)
        assert wgs.geometry.y.iloc[0] == pytest.approx(lat, abs=1e-6)

    return check


def column(name: str, values: list[Any]) -> Callable[[gpd.GeoDataFrame], None]:
    def check(gdf: gpd.GeoDataFrame) -> None:
        assert list(gdf[name]) == values

    return check


def index(values: list[str]) -> Callable[[gpd.GeoDataFrame], None]:
    def check(gdf: gpd.GeoDataFrame) -> None:
        assert list(gdf.index) == values

    return check


POP = {"id": "id", "population": "pop"}
R = sites  # reasons live in defibmap.io.sites

CASES = [
    # -- coordinates -----------------------------------------------------------------------
    Case(
        "missing_lon",
        text(HEADER + GOOD + "c,C,,53.8,5\n"),
        POP,
        used=2,
        rejected={R.MISSING_COORDINATES: 1},
        rows={"c": 4},
    ),
    Case(
        "non_numeric_lat",
        text(HEADER + "c,C,-1.5,fifty-three,5\n" + GOOD),
        POP,
        used=2,
        rejected={R.MISSING_COORDINATES: 1},
        rows={"c": 2},
    ),
    Case(
        "nan_and_inf_text",
        text(HEADER + GOOD + "c,C,nan,53.8,5\nd,D,-1.5,inf,5\n"),
        POP,
        used=2,
        rejected={R.MISSING_COORDINATES: 2},
    ),
    Case(
        "lonlat_british_grid_cannot_place",  # found by the fuzzer: infinite metres
        text(HEADER + GOOD + "c,C,90,0,5\nd,D,-90,0,5\n"),
        POP,
        used=2,
        rejected={R.OUT_OF_RANGE: 2},
        rows={"c": 4, "d": 5},
    ),
    Case(
        "csv_of_delimiters_only",  # found by the fuzzer: was a StopIteration
        text(",,\n,\n\n"),
        error=r"no cell holds any text",
    ),
    Case(
        "csv_cell_over_the_field_limit",  # found by the fuzzer: was a raw csv.Error
        text(HEADER + "a,A,-1.52,53.82,10," + "x" * 140_000 + "\n"),
        error=r"row 2: a cell is longer than 131,072 characters",
    ),
    Case(
        "header_of_numbers_in_two_styles",  # found by the fuzzer: the message named no file
        text('"-1.5","1.234,5"\n1,2\n'),
        error=r"no coordinate columns found",
    ),
    Case(
        "degrees_minutes_seconds",
        text(HEADER + GOOD + "c,C,1°31'W,53°49'N,5\n"),
        POP,
        used=2,
        rejected={R.MISSING_COORDINATES: 1},
    ),
    Case(
        "lat_lon_swapped_row",
        text(HEADER + GOOD + "c,C,53.82,-1.52,5\n"),
        POP,
        used=2,
        rejected={R.SWAPPED: 1},
        rows={"c": 4},
    ),
    Case(
        "lat_lon_swapped_whole_file",
        text(HEADER + "a,A,53.82,-1.52,1\nb,B,53.81,-1.51,2\n"),
        POP,
        rejected={R.SWAPPED: 2},
    ),
    Case(
        "latitude_out_of_range",
        text(HEADER + GOOD + "c,C,-1.5,95.2,5\n"),
        POP,
        used=2,
        rejected={R.OUT_OF_RANGE: 1},
    ),
    Case(
        "zero_zero_placeholder",
        text(HEADER + GOOD + "c,C,0,0,5\n"),
        POP,
        used=2,
        rejected={R.ZERO_COORDINATES: 1},
    ),
    Case(
        "bng_in_lonlat_columns",
        text(f"{HEADER}a,A,{E},{N},1\nb,B,{E + 50},{N + 50},1\n"),
        POP,
        error=r"d\.csv: columns 'lon'/'lat' hold British National Grid metres.*easting = 'lon'",
    ),
    Case(
        "bng_in_qgis_x_y_columns",
        text(f"fid,X,Y\n1,{E},{N}\n"),
        error=r"columns 'X'/'Y' hold British National Grid metres.*set easting = 'X' "
        r"and northing = 'Y'",
    ),
    Case(
        "one_bng_row_among_degrees",
        text(f"{HEADER}{GOOD}c,C,{E},{N},5\n"),
        POP,
        used=2,
        rejected={R.BNG_IN_LONLAT: 1},
    ),
    Case(
        "degrees_in_easting_northing",
        text("ref,easting,northing\nr1,-1.52,53.82\nr2,-1.51,53.81\n"),
        {"id": "ref"},
        error=r"columns 'easting'/'northing' hold degrees.*set lon = 'easting'",
    ),
    Case(
        "one_degree_row_among_bng",
        text(f"ref,easting,northing\nr1,{E},{N}\nr2,{E + 10},{N}\nr3,-1.51,53.81\n"),
        {"id": "ref"},
        used=2,
        rejected={R.DEGREES_IN_EN: 1},
        rows={"r3": 4},
    ),
    Case(
        "easting_northing_swapped",
        text(f"ref,easting,northing\nr1,{E},{N}\nr2,950000,{E}\n"),
        {"id": "ref"},
        used=1,
        rejected={R.EN_SWAPPED: 1},
    ),
    Case(
        "easting_outside_grid",
        text(f"ref,easting,northing\nr1,{E},{N}\nr2,-5000,{N}\n"),
        {"id": "ref"},
        used=1,
        rejected={R.EN_OUTSIDE: 1},
    ),
    Case(
        "unicode_minus_sign",
        text("id,lon,lat\na,\u22121.52,53.82\n"),
        {"id": "id"},
        used=1,
        check=near(-1.52, 53.82),
    ),
    Case(
        "semicolon_with_decimal_commas",
        text("id;naam;lon;lat;pop\na;A;-1,52;53,82;7\n"),
        POP,
        used=1,
        check=near(-1.52, 53.82),
    ),
    Case(
        "quoted_thousands_separators",
        text(f'ref,easting,northing,pop\nr1,"{E:,}","{N:,}","1,234"\n'),
        {"id": "ref", "population": "pop"},
        used=1,
        check=column("population", [1234.0]),
    ),
    Case(
        "no_coordinate_columns",
        text("id,name,where\na,A,Leeds\n"),
        error=r"d\.csv: no coordinate columns found; expected lon/lat.*\['id', 'name', 'where'\]",
    ),
    Case(
        "no_header_row",
        text("-1.52,53.82\n-1.51,53.81\n"),
        error=r"no coordinate columns found.*the first row looks like data: .*header row",
    ),
    Case(
        "postcodes_only",
        text("id,postcode\na,LS7 3QU\n"),
        error=r"no coordinate columns.*postcodes alone are not geocoded",
    ),
    Case(
        "named_column_missing",
        text(HEADER + GOOD),
        {"lon": "Lng", "lat": "lat"},
        error=r"d\.csv: column 'Lng' not found; columns are",
    ),
    Case(
        "named_column_wrong_case",
        text(HEADER + GOOD),
        {"lon": "LON", "lat": "lat"},
        error=r"column 'LON' not found \(did you mean 'lon'\?\)",
    ),
    Case(
        "repeated_header_column",
        text("id,lon,lat,lon\na,-1.52,53.82,-1.4\n"),
        error=r"row 1: column 'lon' appears twice in the header \(columns 2 and 4\)",
    ),
    # -- ids -------------------------------------------------------------------------------
    Case(
        "duplicate_ids",
        text(HEADER + GOOD + "a,Again,-1.5,53.8,5\n"),
        POP,
        error=r"d\.csv: row 4, column 'id': duplicate id 'a' \(first seen in row 2\)",
    ),
    Case(
        "duplicate_ids_after_trimming_spaces",
        text(HEADER + GOOD + " b ,Again,-1.5,53.8,5\n"),
        POP,
        error=r"row 4, column 'id': duplicate id 'b' \(first seen in row 3\)",
    ),
    Case(
        "empty_id",
        text(HEADER + GOOD + ",NoId,-1.5,53.8,5\n"),
        POP,
        error=r"d\.csv: row 4, column 'id': empty id",
    ),
    Case(
        "id_column_missing",
        text(HEADER + GOOD),
        {"id": "ref"},
        error=r"id column 'ref' not found; columns are \['id', 'name', 'lon', 'lat', 'pop'\]",
    ),
    # -- files, encodings, delimiters --------------------------------------------------------
    Case("empty_file", text(""), error=r"d\.csv: the file is empty"),
    Case("whitespace_only_file", text(" \n\t\r\n"), error=r"the file is empty"),
    Case("byte_order_mark_only", raw(b"\xef\xbb\xbf\r\n"), error=r"the file is empty"),
    Case("header_only", text(HEADER), POP, error=r"no data rows \(the file has a header only\)"),
    Case("header_then_blank_lines", text(HEADER + "\n\n,,,,\n"), POP, error=r"header only"),
    Case("file_missing", missing, error=r"nowhere\.csv: file not found"),
    Case("folder_not_file", folder, error=r"folder\.csv: is a folder, not a file"),
    Case("unsupported_extension", text(HEADER, "d.ods"), error=r"unsupported file type '\.ods'"),
    Case("old_excel_xls", raw(b"\xd0\xcf\x11\xe0junk", "d.xls"), error=r"\.xls\) workbooks"),
    Case(
        "xlsx_saved_as_csv",
        raw(b"PK\x03\x04\x14\x00junk"),
        error=r"zip archive \(an Excel \.xlsx workbook\?\)",
    ),
    Case("binary_nul_bytes", raw(b"id,lon\x00,lat\n"), error=r"NUL bytes"),
    Case(
        "neither_utf8_nor_cp1252",
        raw(b"id,name,lon,lat\na,\x81\x8d,-1.5,53.8\n"),
        error=r"byte \d+ is neither UTF-8 nor Windows cp1252",
    ),
    Case(
        "windows_cp1252",
        text("name,lon,lat\nCafé Ménage – “Hall”,-1.52,53.82\n", encoding="cp1252"),
        used=1,
        check=column("name", ["Café Ménage – “Hall”"]),
    ),
    Case(
        "utf8_with_bom",
        text("\ufeffname,lon,lat\nSt Ann’s,-1.52,53.82\n"),
        used=1,
        check=column("name", ["St Ann’s"]),
    ),
    Case(
        "utf16_unicode_text_export",
        raw("name\tlon\tlat\r\nŁódź Hall\t-1.52\t53.82\r\n".encode("utf-16"), "d.txt"),
        used=1,
        check=column("name", ["Łódź Hall"]),
    ),
    Case(
        "semicolon_delimited",
        text("id;name;lon;lat;pop\na;A, the hall;-1.52;53.82;3\n"),
        POP,
        used=1,
        check=column("name", ["A, the hall"]),
    ),
    Case("tab_delimited", text("id\tlon\tlat\na\t-1.52\t53.82\n", "d.tsv"), {"id": "id"}, used=1),
    Case("pipe_delimited", text("id|lon|lat\na|-1.52|53.82\n"), {"id": "id"}, used=1),
    Case("windows_line_endings", text("id,lon,lat\r\na,-1.52,53.82\r\n"), {"id": "id"}, used=1),
    Case(
        "blank_lines_keep_row_numbers",
        text(HEADER + "a,A,-1.52,53.82,1\n\n\nb,B,,53.8,2\n"),
        POP,
        used=1,
        rejected={R.MISSING_COORDINATES: 1},
        rows={"b": 5},
    ),
    Case(
        "leading_blank_lines_semicolons",
        text("\n\nid;lon;lat;pop\na;-1.52;53.82;1\nb;;53.8;2\n"),
        POP,
        used=1,
        rejected={R.MISSING_COORDINATES: 1},
        rows={"b": 5},
    ),
    Case(
        "unquoted_comma_in_name",
        text(HEADER + GOOD + "c,Smith, John,-1.5,53.8,5\n"),
        POP,
        used=2,
        rejected={R.TOO_MANY_CELLS: 1},
        rows={"c": 4},
    ),
    Case(
        "trailing_empty_cells_are_fine",
        text(HEADER + "a,A,-1.52,53.82,1,,,\n"),
        POP,
        used=1,
    ),
    Case("short_rows_padded", text("id,lon,lat,note\na,-1.52,53.82\n"), {"id": "id"}, used=1),
    Case(
        "unclosed_quote",
        text(HEADER + 'a,"Alpha,-1.52,53.82,1\nb,Beta,-1.51,53.81,2\n'),
        POP,
        error=r"row 2: a quotation mark opens a cell that is never closed",
    ),
    Case(
        "stray_quote_inside_cell",
        text(HEADER + 'a,"The Green" Hall,-1.52,53.82,1\n'),
        POP,
        used=1,
        check=column("name", ["The Green Hall"]),
    ),
    Case(
        "quoted_newline_in_name",
        text(HEADER + 'a,"Line one\nline two",-1.52,53.82,1\nb,B,x,53.8,2\n'),
        POP,
        used=1,
        rejected={R.MISSING_COORDINATES: 1},
        rows={"b": 3},
        check=column("name", ["Line one\nline two"]),
    ),
    # -- population ------------------------------------------------------------------------
    Case(
        "negative_population",
        text(HEADER + GOOD + "c,C,-1.5,53.8,-3\n"),
        POP,
        used=2,
        rejected={R.POPULATION_NEGATIVE: 1},
    ),
    Case(
        "overflowing_population",
        text(HEADER + GOOD + "c,C,-1.5,53.8,1e308\n"),
        POP,
        used=2,
        rejected={R.POPULATION_TOO_LARGE: 1},
    ),
    Case(
        "missing_population",
        text(HEADER + GOOD + "c,C,-1.5,53.8,\n"),
        POP,
        used=2,
        rejected={R.POPULATION_MISSING: 1},
    ),
    Case(
        "non_numeric_population",
        text(HEADER + GOOD + "c,C,-1.5,53.8,twelve\nd,D,-1.5,53.8,inf\n"),
        POP,
        used=2,
        rejected={R.POPULATION_MISSING: 2},
    ),
    Case(
        "population_column_missing",
        text(HEADER + GOOD),
        {"population": "residents"},
        error=r"d\.csv: population column 'residents' not found; columns are \['id',",
    ),
    Case(
        "bad_coordinates_and_population_counted_once",
        text(HEADER + GOOD + "c,C,,53.8,-3\n"),
        POP,
        used=2,
        rejected={R.MISSING_COORDINATES: 1},
    ),
    # -- Excel ------------------------------------------------------------------------------
    Case(
        "excel_blank_leading_rows_and_columns",
        xlsx({"S": [[], [], [None, "id", "lon", "lat"], [None, "a", -1.52, 53.82]]}),
        {"id": "id"},
        used=1,
        check=column("source_row", [4]),
    ),
    Case(
        "excel_title_row_above_header",
        xlsx(
            {"S": [["Asset register, March 2024"], [], ["id", "lon", "lat"], ["a", -1.52, 53.82]]}
        ),
        {"id": "id"},
        used=1,
        check=column("source_row", [4]),
    ),
    Case(
        "excel_blank_row_keeps_sheet_row_numbers",
        xlsx({"S": [["id", "lon", "lat"], ["a", -1.52, 53.82], [], ["b", None, 53.8]]}),
        {"id": "id"},
        used=1,
        rejected={R.MISSING_COORDINATES: 1},
        rows={"b": 4},
    ),
    Case(
        "excel_several_sheets_by_name",
        xlsx({"Notes": [["read me"]], "Data": [["id", "lon", "lat"], ["a", -1.52, 53.82]]}),
        {"id": "id", "sheet": "Data"},
        used=1,
    ),
    Case(
        "excel_several_sheets_by_position",
        xlsx({"Notes": [["read me"]], "Data": [["id", "lon", "lat"], ["a", -1.52, 53.82]]}),
        {"id": "id", "sheet": 1},
        used=1,
    ),
    Case(
        "excel_empty_first_sheet",
        xlsx({"Cover": [], "Data": [["id", "lon", "lat"], ["a", -1.52, 53.82]]}),
        error=r"sheet 'Cover' is empty; the workbook's sheets are \['Cover', 'Data'\]",
    ),
    Case(
        "excel_unknown_sheet_name",
        xlsx({"Data": [["id", "lon", "lat"], ["a", -1.52, 53.82]]}),
        {"sheet": "Sites"},
        error=r"no sheet named 'Sites'; the workbook's sheets are \['Data'\]",
    ),
    Case(
        "excel_sheet_position_out_of_range",
        xlsx({"Data": [["id", "lon", "lat"], ["a", -1.52, 53.82]]}),
        {"sheet": 3},
        error=r"sheet 3 does not exist; the workbook has 1 sheet",
    ),
    Case(
        "excel_error_and_boolean_cells",
        xlsx(
            {
                "S": [
                    ["id", "lon", "lat", "pop"],
                    ["a", -1.52, 53.82, 5],
                    ["b", "#N/A", 53.82, 5],
                    ["c", -1.52, 53.82, True],
                ]
            }
        ),
        POP,
        used=1,
        rejected={R.MISSING_COORDINATES: 1, R.POPULATION_MISSING: 1},
    ),
    Case(
        "excel_blank_id_cell",
        xlsx({"S": [["id", "lon", "lat"], ["a", -1.52, 53.82], [None, -1.5, 53.8]]}),
        {"id": "id"},
        error=r"row 3, column 'id': empty id",
    ),
    Case(
        "excel_numeric_ids",
        xlsx({"S": [["id", "lon", "lat"], [1, -1.52, 53.82], [2.0, -1.5, 53.8]]}),
        {"id": "id"},
        used=2,
        check=index(["1", "2"]),
    ),
    Case(
        "excel_corrupt_workbook",
        raw(b"this is not a workbook", "d.xlsx"),
        error=r"d\.xlsx: cannot read as an Excel workbook",
    ),
    # -- vector files ----------------------------------------------------------------------
    Case(
        "geojson_null_geometry",
        geojson([feature(point(-1.52, 53.82), name="A"), feature(None, name="B")]),
        used=1,
        rejected={R.EMPTY_GEOMETRY: 1},
        rows={"x_2": 2},
    ),
    Case(
        "geojson_empty_geometry",
        geojson(
            [
                feature(point(-1.52, 53.82)),
                feature({"type": "Polygon", "coordinates": []}),
            ]
        ),
        used=1,
        rejected={R.EMPTY_GEOMETRY: 1},
    ),
    Case(
        "geojson_infinite_coordinates",  # found by the fuzzer: GEOS threw
        geojson(
            [
                feature(point(-1.52, 53.82)),
                feature(point(0.0, float("inf"))),
                feature({"type": "LineString", "coordinates": [[-1.5, 53.8], [float("-inf"), 1]]}),
            ]
        ),
        used=1,
        rejected={R.MISSING_COORDINATES: 2},
    ),
    Case(
        "geojson_lat_lon_order",
        geojson([feature(point(53.82, -1.52))]),
        rejected={R.SWAPPED: 1},
    ),
    Case(
        "geojson_self_intersecting_polygon_repaired",
        geojson([feature(polygon(BOWTIE))]),
        used=1,
    ),
    Case(
        "geojson_polygon_gives_a_point_inside",
        geojson(
            [
                feature(
                    polygon(SQUARE),
                    name="Hall",
                )
            ]
        ),
        used=1,
        check=lambda gdf: (
            None
            if shapely.box(-1.53, 53.81, -1.51, 53.83).contains(gdf.to_crs(4326).geometry.iloc[0])
            else pytest.fail("point not inside the polygon")
        ),
    ),
    Case("geojson_no_features", geojson([]), error=r"d\.geojson: the file holds no features"),
    Case(
        "geojson_malformed",
        raw(b'{"type": "FeatureCollection", "features": [', "d.geojson"),
        error=r"d\.geojson: cannot read as a vector file",
    ),
    Case(
        "geojson_metres_declared_as_degrees",
        geojson([feature(point(E, N)), feature(point(E + 9, N + 9))]),
        error=r"CRS is EPSG:4326 \(degrees\) but its coordinates are metres",
    ),
    Case(
        "shapefile_without_prj",
        vector("d.shp", [(E, N)], None),
        error=r"d\.shp: the file has no CRS \(unknown coordinate system\)",
    ),
    Case(
        "geopackage_without_crs",
        vector("d.gpkg", [(E, N)], None),
        error=r"d\.gpkg: the file has no CRS",
    ),
    Case(
        "geopackage_degrees_declared_as_bng",
        vector("d.gpkg", [(-1.52, 53.82), (-1.5, 53.8)], 27700),
        error=r"CRS is EPSG:27700 \(metres\) but its coordinates look like lon/lat degrees",
    ),
    Case(
        "geopackage_second_layer_by_name",
        vector("d.gpkg", [(E, N), (E + 5, N)], 27700, layer="first", also="second"),
        {"id": "site_id", "sheet": "second"},
        used=1,
        check=index(["s0"]),
    ),
    Case(
        "geopackage_unknown_layer",
        vector("d.gpkg", [(E, N)], 27700, layer="sites"),
        {"sheet": "defibs"},
        error=r"no layer named 'defibs'; the file's layers are \['sites'\]",
    ),
    Case(
        "geopackage_duplicate_ids",
        lambda tmp: (
            gpd.GeoDataFrame(
                {"site_id": ["s", "s"]}, geometry=gpd.points_from_xy([E, E], [N, N]), crs=27700
            ).to_file(tmp / "d.gpkg"),
            tmp / "d.gpkg",
        )[1],
        {"id": "site_id"},
        error=r"row 2, column 'site_id': duplicate id 's'",
    ),
    # -- the target CRS ----------------------------------------------------------------------
    Case("unknown_target_crs", text(HEADER + GOOD), POP, error=r"unknown CRS", crs="EPSG:999999"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    path = case.make(tmp_path)
    spec = LayerSpec(file=path, layer="x", **case.spec)
    if case.error is not None:
        with pytest.raises(InputError, match=case.error) as info:
            load_layer(spec, crs=case.crs)
        if case.crs == "EPSG:27700":
            assert path.name in str(info.value)  # every file error names the file
        return
    gdf, report = load_layer(spec, crs=case.crs)
    summary = report.as_dict()
    assert summary["rejected_reasons"] == case.rejected
    assert report.rows_used == case.used == len(gdf)
    assert report.rows_read == report.rows_used + report.rows_rejected  # nothing lost
    assert set(summary["rejected_reasons"]) <= set(sites.REASONS)
    if case.rows is not None:
        assert {i: r for i, r, _ in report.rejected} == case.rows
    if case.check is not None:
        case.check(gdf)


def test_the_table_is_big_enough_and_names_are_unique() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


def test_every_rejection_reason_is_exercised() -> None:
    seen = {reason for case in CASES for reason in case.rejected}
    assert seen == set(sites.REASONS)


# ---------------------------------------------------------------------------------------------
# A point outside the study area: rejected by its distance to the walking network
# ---------------------------------------------------------------------------------------------


def tiny_study(tmp: Path, demand: str, *, islands: bool = True) -> Path:
    """A study on a hand-made network near Leeds: a 400 m street and a 100 m island 2 km north.

    ``demand`` holds CSV rows ``id,easting,northing,pop`` as offsets from (E, N) in metres.
    """
    xs = np.array([0.0, 100.0, 200.0, 300.0, 400.0, 0.0, 100.0]) + E
    ys = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 2000.0, 2000.0]) + N
    u, v = np.array([0, 1, 2, 3, 5]), np.array([1, 2, 3, 4, 6])
    keep = slice(None) if islands else slice(0, 4)
    net = walk.from_arrays(node_x=xs, node_y=ys, edge_u=u[keep], edge_v=v[keep])
    walk.save(net, tmp / "net.npz")
    rows = []
    for line in demand.strip().splitlines():
        i, dx, dy, pop = line.split(",")
        rows.append(f"{i},{E + float(dx)},{N + float(dy)},{pop}")
    (tmp / "demand.csv").write_text("id,easting,northing,pop\n" + "\n".join(rows) + "\n")
    (tmp / "defibs.csv").write_text(f"id,easting,northing\nk1,{E + 100},{N + 3}\n")
    study = tmp / "s.toml"
    study.write_text(
        '[network]\ngraph_file = "net.npz"\n'
        '[demand]\nfile = "demand.csv"\nid = "id"\npopulation = "pop"\n'
        '[defibs]\nfile = "defibs.csv"\nid = "id"\n[ranking]\nnew_sites = 0\n'
    )
    return study


def test_point_outside_the_study_area_is_rejected_and_counted(tmp_path):
    # the study area is the walking network: a point 5 km east, one in London and one that is
    # fine; the two far ones are rejected by network distance, counted, and listed
    london_e, london_n = TO_BNG.transform(-0.1276, 51.5072)
    study = tiny_study(
        tmp_path,
        f"near,10,5,10\neast,5000,0,20\nlondon,{london_e - E},{london_n - N},30",
        islands=False,
    )
    result = defibmap.run_study(study)
    demand = result.inputs["demand"]
    assert demand["rejected_reasons"] == {"farther than 250 m from the walking network": 2}
    assert demand["rows_read"] == demand["rows_used"] + demand["rows_rejected"] == 3
    assert list(result.demand.index) == ["near"]
    assert set(result.rejected["id"]) == {"east", "london"}
    assert set(result.rejected["row"]) == {3, 4}


def test_point_on_a_network_island_is_reported_not_counted(tmp_path):
    # graph_file networks keep their islands; a point on one cannot reach the main network
    study = tiny_study(tmp_path, "main,10,5,10\nisland,50,2005,30")
    result = defibmap.run_study(study)
    assert result.inputs["demand"]["rejected_reasons"] == {faults.ISLAND_REASON: 1}
    assert result.inputs["demand"]["rows_read"] == 2
    assert list(result.demand.index) == ["main"]
    assert result.population_total == 10  # the island's 30 people are not counted either way
    rejected = result.rejected.set_index("id")
    assert rejected.loc["island", "reason"] == faults.ISLAND_REASON
    assert rejected.loc["island", "row"] == 3
    # the network's faults are in the summary
    found = result.summary()["network"]["faults"]
    assert found["components"] == 2
    assert found["island_nodes"] == 2
    assert found["island_edges"] == 1
    assert any("disconnected" in m for m in found["messages"])


# ---------------------------------------------------------------------------------------------
# Network faults
# ---------------------------------------------------------------------------------------------

# Main street 1-2-3 (400 m east-west). An island footway 11-12 about 100 m north of it and
# another, 21-22, about 670 m north: neither touches the street. A ring footway 2-31-32-33-2
# hangs south of node 2 (osmnx simplifies it to a self-loop at 2); it is tagged oneway=-1,
# which walkers ignore. Way 40 has one node, way 41 only nodes the extract does not hold.
FAULTY_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
<node id="1" lat="53.8100000" lon="-1.5300000"/>
<node id="2" lat="53.8100000" lon="-1.5270000"/>
<node id="3" lat="53.8100000" lon="-1.5240000"/>
<node id="11" lat="53.8109000" lon="-1.5290000"/>
<node id="12" lat="53.8109000" lon="-1.5280000"/>
<node id="21" lat="53.8160000" lon="-1.5290000"/>
<node id="22" lat="53.8160000" lon="-1.5280000"/>
<node id="31" lat="53.8095000" lon="-1.5270000"/>
<node id="32" lat="53.8095000" lon="-1.5262000"/>
<node id="33" lat="53.8098000" lon="-1.5262000"/>
<way id="101"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
<way id="102"><nd ref="11"/><nd ref="12"/><tag k="highway" v="footway"/></way>
<way id="103"><nd ref="21"/><nd ref="22"/><tag k="highway" v="footway"/></way>
<way id="104"><nd ref="2"/><nd ref="31"/><nd ref="32"/><nd ref="33"/><nd ref="2"/>
 <tag k="highway" v="footway"/><tag k="oneway" v="-1"/></way>
<way id="40"><nd ref="1"/><tag k="highway" v="footway"/></way>
<way id="41"><nd ref="901"/><nd ref="902"/><tag k="highway" v="footway"/></way>
</osm>
"""


@pytest.fixture(scope="module")
def faulty_network(tmp_path_factory):
    path = tmp_path_factory.mktemp("osm") / "faulty.osm.bz2"
    path.write_bytes(bz2.compress(FAULTY_OSM.encode()))
    return walk.from_osm_file(path)


def _bng(lon: float, lat: float) -> tuple[np.ndarray, np.ndarray]:
    x, y = TO_BNG.transform(lon, lat)
    return np.array([x]), np.array([y])


def test_osm_islands_are_dropped_and_degenerate_ways_skipped(faulty_network):
    net = faulty_network
    assert set(net.node_ids.tolist()) == {1, 2, 3}  # islands, 1-node and clipped ways gone
    found = faults.inspect(net)
    assert found.components == 1
    assert found.island_nodes == found.island_edges == 0
    assert found.self_loops == 1  # the ring


def test_point_by_a_dropped_island_joins_the_main_network_by_a_longer_leg(faulty_network):
    # 2 m from the near island's footway, about 98 m from the street: the island is not in
    # the network, so the point's access leg runs to the street and its snap_m says so
    x, y = _bng(-1.5285, 53.81092)
    near = snap_points(faulty_network, x, y)
    assert near.ok[0]
    assert 95 < near.snap_m[0] < 105
    assert not faults.on_island(faulty_network, near)[0]
    # by the far island the leg would be about 670 m: not snapped, the study rejects it
    x, y = _bng(-1.5285, 53.81602)
    assert not snap_points(faulty_network, x, y).ok[0]


def test_self_loop_ring_is_walked_the_short_way_round_despite_oneway(faulty_network):
    net = faulty_network
    x, y = _bng(-1.5262, 53.8095)  # the ring's far corner, node 32
    on_ring = snap_points(net, x, y)
    edge = on_ring.edge[0]
    assert net.edge_u[edge] == net.edge_v[edge]  # snapped to the self-loop
    x2, y2 = _bng(-1.5270, 53.8100)  # a defib at node 2
    defib = snap_points(net, x2, y2)
    walk_m = reach.nearest_facility(net, on_ring, defib, limit_m=1000).walk_m[0]
    # 32 -> 33 -> 2 is against the way's order (oneway=-1 allows only 2 -> 33 -> 32 for
    # vehicles); the other way round, 32 -> 31 -> 2, is longer
    pts = [TO_BNG.transform(lon, lat) for lon, lat in ((-1.5262, 53.8095), (-1.5262, 53.8098))]
    pts.append(TO_BNG.transform(-1.5270, 53.8100))
    short = sum(np.hypot(a[0] - b[0], a[1] - b[1]) for a, b in pairwise(pts))
    assert walk_m == pytest.approx(short, rel=0.01)


def test_zero_length_edge_keeps_the_network_connected():
    # B and C sit on one spot, joined by a zero-length edge
    net = walk.from_arrays(
        node_x=np.array([0.0, 100.0, 100.0, 200.0]),
        node_y=np.zeros(4),
        edge_u=np.array([0, 1, 2]),
        edge_v=np.array([1, 2, 3]),
    )
    assert net.edge_length_m[1] == 0.0
    assert net.adjacency[1, 2] == walk.MIN_EDGE_LENGTH_M
    assert csgraph.connected_components(net.adjacency, directed=False)[0] == 1
    assert faults.inspect(net).zero_length_edges == 1
    demand = snap_points(net, np.array([0.0]), np.array([5.0]))
    defib = snap_points(net, np.array([200.0]), np.array([-5.0]))
    walk_m = reach.nearest_facility(net, demand, defib, limit_m=1000).walk_m[0]
    assert walk_m == pytest.approx(5 + 200 + 5, abs=1e-3)
    on_the_spot = snap_points(net, np.array([100.0]), np.array([0.0]))
    assert on_the_spot.snap_m[0] == 0.0
    assert reach.nearest_facility(net, on_the_spot, defib, limit_m=1000).walk_m[0] == (
        pytest.approx(105, abs=1e-3)
    )


def test_self_loop_from_arrays_snaps_and_walks_both_ways():
    # a 400 m square loop from node 0 and back, hanging off a 100 m street 0-1
    loop = shapely.LineString([(0, 0), (0, 100), (100, 100), (100, 0), (0, 0)])
    net = walk.from_arrays(
        node_x=np.array([0.0, -100.0]),
        node_y=np.array([0.0, 0.0]),
        edge_u=np.array([0, 0]),
        edge_v=np.array([1, 0]),
        edge_geometry=np.array([shapely.LineString([(0, 0), (-100, 0)]), loop], dtype=object),
    )
    assert net.adjacency[0, 0] == 0.0  # loops never enter the adjacency
    assert faults.inspect(net).self_loops == 1
    point = snap_points(net, np.array([100.0]), np.array([30.0]))  # 30 m up the far side
    assert point.edge[0] == 1
    defib = snap_points(net, np.array([-100.0]), np.array([0.0]))
    walk_m = reach.nearest_facility(net, point, defib, limit_m=1000).walk_m[0]
    assert walk_m == pytest.approx(130 + 100)  # back along the bottom side, not 270 round


def test_islands_in_a_given_network_are_found():
    net = walk.from_arrays(
        node_x=np.array([0.0, 100.0, 200.0, 0.0, 50.0]),
        node_y=np.array([0.0, 0.0, 0.0, 900.0, 900.0]),
        edge_u=np.array([0, 1, 3]),
        edge_v=np.array([1, 2, 4]),
    )
    found = faults.inspect(net)
    assert found.as_dict() == {
        "components": 2,
        "island_nodes": 2,
        "island_edges": 1,
        "zero_length_edges": 0,
        "self_loops": 0,
    }
    assert "2 disconnected pieces" in found.messages()[0]
    points = snap_points(net, np.array([10.0, 20.0, 5000.0]), np.array([5.0, 905.0, 0.0]))
    assert faults.on_island(net, points).tolist() == [False, True, False]
    main = faults.main_component(net)
    assert main.tolist() == [True, True, True, False, False]
    assert faults.on_island(net, points, main=main).tolist() == [False, True, False]


def test_network_faults_are_logged(caplog):
    net = walk.from_arrays(
        node_x=np.array([0.0, 0.0, 0.0, 900.0]),
        node_y=np.array([0.0, 0.0, 50.0, 900.0]),
        edge_u=np.array([0, 1, 2, 3]),
        edge_v=np.array([1, 2, 2, 3]),
        edge_length_m=np.array([0.0, 50.0, 10.0, 10.0]),
    )
    with caplog.at_level("INFO", logger="defibmap.network.faults"):
        found = faults.log_faults(net)
    assert found.self_loops == 2
    assert found.zero_length_edges == 1
    levels = {r.getMessage().split(": ", 1)[1]: r.levelname for r in caplog.records}
    assert levels == {
        "the walking network has 2 disconnected pieces; 1 nodes and 1 edges lie off the main one": (
            "WARNING"
        ),
        "1 edges have zero length": "INFO",
        "2 edges start and end at the same node": "INFO",
    }


def test_missing_edge_lengths_come_from_the_geometry():
    graph = nx.MultiGraph(crs="EPSG:27700")
    for node, x in enumerate([0.0, 30.0, 70.0, 120.0]):
        graph.add_node(node, x=x, y=0.0)
    graph.add_edge(0, 1, length=30.0)
    graph.add_edge(1, 2)  # no length
    graph.add_edge(2, 3, length=float("nan"))
    net = walk.from_graph(graph)
    np.testing.assert_allclose(np.sort(net.edge_length_m), [30.0, 40.0, 50.0])


@pytest.mark.parametrize(
    "lengths", [[10.0, float("nan")], [10.0, -1.0], [10.0, float("inf")]], ids=str
)
def test_unusable_edge_lengths_are_refused(lengths):
    with pytest.raises(NetworkError, match="edge lengths must be finite and non-negative"):
        walk.from_arrays(
            node_x=np.array([0.0, 10.0, 20.0]),
            node_y=np.zeros(3),
            edge_u=np.array([0, 1]),
            edge_v=np.array([1, 2]),
            edge_length_m=np.array(lengths),
        )


@pytest.mark.parametrize(
    "ways",
    [
        (
            '<way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/>'
            '<tag k="access" v="private"/></way>'
        ),
        (
            '<way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="cycleway"/>'
            '<tag k="foot" v="no"/></way>'
        ),
        '<way id="1"><nd ref="7"/><nd ref="8"/><tag k="highway" v="footway"/></way>',
        "",
    ],
    ids=["private", "foot_no", "clipped_nodes", "no_ways"],
)
def test_empty_network_after_filtering_is_a_clear_error(tmp_path, ways):
    path = tmp_path / "x.osm"
    path.write_text(
        '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="53.8" lon="-1.5"/>'
        f'<node id="2" lat="53.801" lon="-1.5"/>{ways}</osm>'
    )
    with pytest.raises(NetworkError, match=r"x\.osm: no walkable ways"):
        walk.from_osm_file(path)


def test_graph_without_nodes_and_network_without_edges():
    with pytest.raises(NetworkError, match="the walking network is empty"):
        walk.from_graph(nx.MultiGraph(crs="EPSG:27700"))
    bare = walk.from_arrays(
        node_x=np.array([0.0]),
        node_y=np.array([0.0]),
        edge_u=np.array([], dtype=np.int64),
        edge_v=np.array([], dtype=np.int64),
    )
    snapped = snap_points(bare, np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    assert not snapped.ok.any()
    assert faults.inspect(bare).components == 1


@pytest.mark.parametrize("limit", [-1.0, float("nan"), float("inf")])
def test_snap_limit_must_be_metres(limit):
    net = walk.from_arrays(
        node_x=np.array([0.0, 1.0]), node_y=np.zeros(2), edge_u=np.array([0]), edge_v=np.array([1])
    )
    with pytest.raises(InputError, match="max_snap_m must be a non-negative number of metres"):
        snap_points(net, np.array([0.0]), np.array([0.0]), max_snap_m=limit)
