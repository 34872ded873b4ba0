"""Fuzz the point-layer readers with hostile file content: only clean outcomes are allowed.

Each strategy writes one file: CSV text (UTF-8, UTF-8 with BOM, UTF-16, cp1252, latin-1; comma,
semicolon, tab or pipe; stray quotes, control characters, NUL and flipped bytes, over-long
cells, ragged rows, blank and repeated headers, numbers in many styles), an Excel workbook
written with openpyxl (hidden and empty sheets, merged cells, formulas, dates, booleans,
error values), GeoJSON text (broken JSON, odd and null geometries, infinite coordinates, odd
CRSs, nested junk), a GeoPackage or Shapefile written by GDAL, or raw bytes under one of the
readers' suffixes. Most start from a small valid Leeds layer and mutate it, so that the deep
code (coordinates, numbers, ids, populations) is reached and not only the first refusal.

The property: :func:`defibmap.io.sites.load_layer` either raises a
:class:`~defibmap._errors.DefibmapError` whose message names the file, or returns a layer
whose report adds up (``rows_read == rows_used + rows_rejected``) with finite, non-negative
populations and finite points. Any other exception is a traceback a user could cause: a bug.
The register and postcode-lookup readers are held to the same rule. Each ``@example`` is a
file the fuzzers once found a traceback with.

The normal suite runs a fixed, derandomised sample; ``DEFIBMAP_FUZZ_EXAMPLES=20000`` runs more
by hand (``--hypothesis-show-statistics`` shows what the examples reached).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from defibmap._errors import DefibmapError
from defibmap.io import postcodes, registers
from defibmap.io.sites import LayerSpec, load_layer

EXAMPLES = int(os.environ.get("DEFIBMAP_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HEADER = ["id", "name", "lon", "lat", "population"]
#: GDAL's own complaints about a feature (pyogrio turns them into warnings from its error
#: handler, where an error filter can only make them "unraisable"); the reader rejects the row.
GDAL_WARNINGS = pytest.mark.filterwarnings("ignore::RuntimeWarning:pyogrio.*")


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------

NUMBER_TEXT = st.sampled_from(
    [
        "1,234",
        "1.234,5",
        "1.234",
        "2,057",
        "\u22121.5",
        "-1.5",
        "+3",
        "1e308",
        "-1e308",
        "1e-320",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "",
        " ",
        "TRUE",
        "false",
        "2024-03-01",
        "01/03/2024",
        "12:30",
        "0",
        "-0",
        "0x1F",
        "1_000",
        "١٢٣",
        "12 345",
        "1,234,567.89",
        "1.234.567,89",
        "53,82",
        "-1,52",
        "#N/A",
        "#DIV/0!",
        "N/A",
        "—",
        "9" * 400,
    ]
)
CONTROL = st.characters(min_codepoint=1, max_codepoint=0x1F)  # NUL: rarely, in csv_file
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
        CONTROL,
        st.sampled_from(',;|\t"\n\r'),
    ),
    max_size=12,
)
CELL = st.one_of(
    NUMBER_TEXT,
    TEXT,
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    # long cells, now and then longer than the csv module's field limit (131,072)
    st.integers(0, 200).map(lambda k: "x" * (140_000 if k == 113 else k * 25)),
    # places on Earth that British National Grid cannot project (infinite metres)
    st.sampled_from(["90", "-90", "0", "180", "-180", "89.99", "0.0"]),
)


@st.composite
def leeds_rows(draw: st.DrawFn) -> list[list[str]]:
    """Valid rows of a small Leeds layer (the seed every mutation starts from)."""
    n = draw(st.integers(1, 6))
    rows = []
    for i in range(n):
        lon = draw(st.floats(-1.6, -1.45))
        lat = draw(st.floats(53.78, 53.86))
        pop = draw(st.integers(0, 500))
        rows.append([f"s{i}", f"Site {i}", f"{lon:.5f}", f"{lat:.5f}", str(pop)])
    return rows


@st.composite
def table(draw: st.DrawFn) -> list[list[str]]:
    """A header and rows: a valid Leeds table with cells, rows and header names mutated."""
    header = list(HEADER)
    rows = draw(leeds_rows())
    if draw(st.booleans()):  # random columns and rows, sometimes with the header kept
        width = draw(st.integers(0, 7))
        if draw(st.booleans()):
            header = draw(
                st.lists(st.one_of(st.sampled_from(HEADER), TEXT), min_size=width, max_size=width)
            )
        rows = draw(st.lists(st.lists(CELL, max_size=8), max_size=6))
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["cell"] * 4 + ["row", "header", "ragged", "blank", "dup"]))
        if kind == "cell" and rows:
            r = draw(st.integers(0, len(rows) - 1))
            if rows[r]:
                rows[r][draw(st.integers(0, len(rows[r]) - 1))] = draw(CELL)
        elif kind == "row":
            rows.insert(draw(st.integers(0, len(rows))), draw(st.lists(CELL, max_size=8)))
        elif kind == "header" and header:
            header[draw(st.integers(0, len(header) - 1))] = draw(
                st.one_of(TEXT, st.sampled_from(HEADER))
            )
        elif kind == "ragged" and rows:
            r = draw(st.integers(0, len(rows) - 1))
            rows[r] = rows[r][: draw(st.integers(0, len(rows[r])))] + draw(
                st.lists(CELL, max_size=3)
            )
        elif kind == "blank":
            rows.insert(draw(st.integers(0, len(rows))), [""] * draw(st.integers(0, 5)))
        elif kind == "dup" and header:
            header.append(draw(st.sampled_from(header)))
    return [header, *rows]


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


@st.composite
def csv_file(draw: st.DrawFn) -> tuple[str, bytes]:
    records = draw(table())
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    buffer = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    writer = csv.writer(
        buffer,
        delimiter=sep,
        quoting=quoting,
        lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])),
    )
    writer.writerows(records)
    text = buffer.getvalue()
    if draw(st.booleans()):  # raw edits: stray quotes, NULs, lost delimiters
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(text)))
            text = (
                text[:at]
                + draw(st.sampled_from(['"', sep, "\n", "\r", "\ufeff", "", "'"]))
                + text[at:]
            )
    if draw(st.integers(0, 19)) == 3:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + "\x00" + text[at:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 3:  # a few flipped bytes
        arr = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            if arr:
                arr[draw(st.integers(0, len(arr) - 1))] = draw(st.integers(0, 255))
        data = bytes(arr)
    name = draw(st.sampled_from(["layer.csv", "layer.txt", "layer.tsv", "Défibs (final) 2.CSV"]))
    return name, data


EXCEL_VALUE = st.one_of(
    CELL,
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.times(),
    st.sampled_from(["=1/0", "=NA()", "#N/A", "=A1", "=SUM(C2:C3)", "#REF!", "=1+"]),
)


@st.composite
def xlsx_file(draw: st.DrawFn) -> tuple[str, bytes]:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    book.remove(book.active)
    for s in range(draw(st.integers(1, 3))):
        title = (
            f"Sheet{s}"
            if draw(st.booleans())
            else draw(
                st.text(
                    st.characters(codec="ascii", min_codepoint=48, max_codepoint=122),
                    min_size=1,
                    max_size=8,
                )
            )
            + str(s)
        )
        try:
            sheet = book.create_sheet(title)
        except ValueError:
            sheet = book.create_sheet(f"S{s}")
        if draw(st.integers(0, 4)) == 3:
            sheet.sheet_state = draw(st.sampled_from(["hidden", "veryHidden"]))
        if draw(st.integers(0, 5)) == 3:
            continue  # an empty sheet
        records: list[list[Any]] = draw(table())
        for _ in range(draw(st.integers(0, 4))):  # typed values: numbers, dates, formulas
            if len(records) > 1 and records[1]:
                r = draw(st.integers(1, len(records) - 1))
                if records[r]:
                    records[r][draw(st.integers(0, len(records[r]) - 1))] = draw(EXCEL_VALUE)
        if draw(st.booleans()):  # numbers as numbers, as Excel holds them
            records = [records[0], *([_as_number(c) for c in row] for row in records[1:])]
        offset = draw(st.integers(0, 2))
        for row in records:
            sheet.append(
                [None] * offset
                + [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row]
            )
        if draw(st.integers(0, 3)) == 2 and sheet.max_row >= 1:
            r = draw(st.integers(1, sheet.max_row))
            sheet.merge_cells(
                start_row=r, start_column=1, end_row=min(r + 1, sheet.max_row), end_column=2
            )
    buffer = io.BytesIO()
    try:
        book.save(buffer)
    except (ValueError, TypeError, OverflowError, IndexError):  # openpyxl refuses to write it
        assume(False)
    return draw(
        st.sampled_from(["layer.xlsx", "layer.xlsm", "O'Brien's sites.XLSX"])
    ), buffer.getvalue()


def _as_number(cell: Any) -> Any:
    try:
        value = float(cell)
    except (TypeError, ValueError):
        return cell
    return value if math.isfinite(value) else cell


GEOMETRY = st.one_of(
    st.sampled_from([[90, 0], [-90, 0], [180, 90], [0, 0], [-1.5, 95]]).map(
        lambda c: {"type": "Point", "coordinates": c}
    ),
    st.builds(
        lambda x, y: {"type": "Point", "coordinates": [x, y]},
        st.floats(-1.6, -1.45),
        st.floats(53.78, 53.86),
    ),
    st.builds(lambda x, y: {"type": "Point", "coordinates": [x, y]}, st.floats(), st.floats()),
    st.builds(
        lambda c: {"type": "Point", "coordinates": c},
        st.lists(st.one_of(st.floats(), st.text(max_size=3), st.none()), max_size=4),
    ),
    st.just(None),
    st.just({"type": "Point", "coordinates": []}),
    st.builds(
        lambda x, y, d: {
            "type": "Polygon",
            "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]],
        },
        st.floats(-1.6, -1.45),
        st.floats(53.78, 53.86),
        st.floats(-0.01, 0.01),
    ),
    st.builds(
        lambda x, y: {"type": "LineString", "coordinates": [[x, y], [x + 0.001, y]]},
        st.floats(-1.6, -1.45),
        st.floats(53.78, 53.86),
    ),
    st.builds(
        lambda x, y: {
            "type": "Polygon",
            "coordinates": [[[x, y], [x + 1, y + 1], [x + 1, y], [x, y + 1], [x, y]]],
        },
        st.floats(-1.6, -1.45),
        st.floats(53.78, 53.86),
    ),  # a bow-tie: invalid, repaired
    st.builds(lambda: {"type": "GeometryCollection", "geometries": []}),
    st.builds(lambda: {"type": "MultiPoint", "coordinates": [[-1.5, 53.8], [-1.51, 53.81]]}),
    st.builds(lambda: {"type": "Triangle", "coordinates": [1, 2]}),
    st.builds(
        lambda x, y: {"type": "Point", "coordinates": [x, y]},
        st.floats(400000, 450000),
        st.floats(420000, 440000),
    ),
)
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(TEXT, children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def geojson_file(draw: st.DrawFn) -> tuple[str, bytes]:
    rows = draw(leeds_rows())
    features = []
    for row in rows:
        props: dict[str, Any] = dict(zip(HEADER, row, strict=True))
        del props["lon"], props["lat"]
        if draw(st.booleans()):
            props["population"] = draw(
                st.one_of(st.integers(-5, 10**7), st.floats(), NUMBER_TEXT, st.none(), JSON_VALUE)
            )
        if draw(st.integers(0, 3)) == 2:
            props["id"] = draw(st.one_of(st.none(), st.integers(0, 3), TEXT, JSON_VALUE))
        geometry = draw(GEOMETRY)
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    document: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if draw(st.booleans()):
        document["crs"] = {
            "type": "name",
            "properties": {
                "name": draw(
                    st.sampled_from(
                        [
                            "EPSG:4326",
                            "urn:ogc:def:crs:OGC:1.3:CRS84",
                            "EPSG:27700",
                            "EPSG:3857",
                            "EPSG:4978",
                            "EPSG:5701",
                            "EPSG:7405",
                            "nonsense",
                        ]
                    )
                )
            },
        }
    if draw(st.integers(0, 4)) == 3:
        document[draw(TEXT)] = draw(JSON_VALUE)
    if draw(st.integers(0, 9)) == 3:
        document["features"] = draw(JSON_VALUE)
    text = json.dumps(document, allow_nan=True)
    if draw(st.integers(0, 5)) == 3:  # broken JSON
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from(["", "{", "]", '"', ",", "\x00"]))
            + text[at + draw(st.integers(0, 5)) :]
        )
    return draw(st.sampled_from(["layer.geojson", "layer.json", "map [v2].GeoJSON"])), text.encode(
        "utf-8", errors="replace"
    )


@st.composite
def vector_file(draw: st.DrawFn) -> tuple[str, dict[str, bytes]]:
    """A GeoPackage or Shapefile (its files by name) written by GDAL: mutated columns, odd CRSs,
    a Shapefile's side files now and then missing."""
    import geopandas as gpd
    import shapely

    records = draw(table())
    header, rows = records[0], records[1:]
    assume(rows and len(set(header)) == len(header) and all(h.strip() for h in header))
    crs = draw(st.sampled_from([4326, 27700, 3857, None]))
    points = [
        draw(
            st.one_of(
                st.builds(shapely.Point, st.floats(-1.6, -1.45), st.floats(53.78, 53.86)),
                st.builds(shapely.Point, st.floats(420000, 440000), st.floats(425000, 440000)),
                st.builds(shapely.Point, st.floats(-1e9, 1e9), st.floats(-1e9, 1e9)),
                st.just(shapely.Point()),
                st.none(),
            )
        )
        for _ in rows
    ]
    columns = {
        h: [row[j] if j < len(row) else "" for row in rows]
        for j, h in enumerate(header)
        if h.lower() not in ("geometry", "fid")
    }
    frame = gpd.GeoDataFrame(columns, geometry=points, crs=crs)
    suffix = draw(st.sampled_from([".gpkg", ".shp"]))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"layer{suffix}"
        try:
            frame.to_file(path)
        except Exception:  # noqa: BLE001 - GDAL refuses to write it: not a reader's concern
            assume(False)
        parts = {p.name: p.read_bytes() for p in Path(folder).iterdir()}
    if suffix == ".shp" and draw(st.integers(0, 3)) == 2:
        del parts[draw(st.sampled_from(sorted(n for n in parts if not n.endswith(".shp"))))]
    return path.name, parts


RAW_FILE = st.tuples(
    st.sampled_from(
        [
            "layer.csv",
            "layer.txt",
            "layer.xlsx",
            "layer.geojson",
            "layer.json",
            "layer.gpkg",
            "layer.shp",
            "layer.xls",
            "layer",
        ]
    ),
    st.one_of(
        st.binary(max_size=300),
        st.sampled_from(
            [
                b"",
                b"PK\x03\x04" + bytes(40),
                b"\xd0\xcf\x11\xe0" + bytes(40),
                b"\xff\xfe",
                b"\xfe\xff\x00",
                b"SQLite format 3\x00" + bytes(100),
            ]
        ),
    ),
)

ANY_FILE = st.one_of(csv_file(), xlsx_file(), geojson_file(), RAW_FILE)
SPEC = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["id", "name", "missing"]),
        "population": st.sampled_from(["population", "id", "missing"]),
        "sheet": st.one_of(st.integers(-1, 3), st.sampled_from(["Sheet0", "Sheet1", "nope"])),
    },
)


# ---------------------------------------------------------------------------------------------
# The property
# ---------------------------------------------------------------------------------------------


def _write(name: str, data: bytes, folder: Path) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _gist(message: str, path: Path) -> str:
    """The kind of refusal: the message's first words after the file name (for statistics)."""
    rest = message.split(path.name, 1)[-1].lstrip(": ")
    return " ".join(rest.split()[:4])


def check_load(path: Path, spec: dict[str, Any]) -> None:
    """Load ``path``: a named DefibmapError, or a layer whose counts add up."""
    try:
        gdf, report = load_layer(LayerSpec(file=path, layer="x", **spec), crs="EPSG:27700")
    except DefibmapError as exc:
        message = str(exc)
        assert message.strip()
        assert path.name in message, message
        event(f"refused: {_gist(message, path)}")
        return
    event(f"loaded, {'some' if report.rows_used else 'no'} rows used")
    assert report.rows_read == report.rows_used + report.rows_rejected
    assert len(gdf) == report.rows_used
    if len(gdf):
        assert np.isfinite(gdf.geometry.x.to_numpy()).all()
        assert np.isfinite(gdf.geometry.y.to_numpy()).all()
    if "population" in spec:
        population = gdf["population"].to_numpy(dtype=np.float64)
        assert np.isfinite(population).all()
        assert (population >= 0).all()


def _run(file: tuple[str, bytes], spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        check_load(_write(*file, Path(folder)), spec)


INFINITE_POINT = (
    b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
    b'"geometry":{"type":"Point","coordinates":[0.0,Infinity]}}]}'
)


@FUZZ
@given(file=csv_file(), spec=SPEC)
@example(file=("layer.csv", b",\n"), spec={})  # delimiters only: was a StopIteration
@example(file=("layer.csv", b"lon,lat\n1," + b"x" * 140_000), spec={})  # was a csv.Error
@example(file=("layer.csv", b"lon,lat\n90,0\n"), spec={})  # was an infinite point
@example(file=("layer.csv", b'"-1.5","1.234,5"\n1,2\n'), spec={})  # header: no file named
def test_csv_content_loads_cleanly_or_fails_with_a_named_error(
    file: tuple[str, bytes], spec: dict[str, Any]
) -> None:
    _run(file, spec)


@FUZZ
@given(file=xlsx_file(), spec=SPEC)
def test_excel_content_loads_cleanly_or_fails_with_a_named_error(
    file: tuple[str, bytes], spec: dict[str, Any]
) -> None:
    _run(file, spec)


@GDAL_WARNINGS
@FUZZ
@given(file=geojson_file(), spec=SPEC)
@example(  # an infinite coordinate: GEOS threw on repairing the point
    file=("layer.geojson", INFINITE_POINT), spec={}
)
def test_geojson_content_loads_cleanly_or_fails_with_a_named_error(
    file: tuple[str, bytes], spec: dict[str, Any]
) -> None:
    _run(file, spec)


@GDAL_WARNINGS
@FUZZ
@given(file=vector_file(), spec=SPEC)
def test_geopackage_and_shapefile_content_loads_cleanly_or_fails_with_a_named_error(
    file: tuple[str, dict[str, bytes]], spec: dict[str, Any]
) -> None:
    name, parts = file
    with tempfile.TemporaryDirectory() as folder:
        for part, data in parts.items():
            _write(part, data, Path(folder))
        check_load(Path(folder) / name, spec)


@GDAL_WARNINGS
@FUZZ
@given(file=RAW_FILE, spec=SPEC)
def test_raw_bytes_load_cleanly_or_fail_with_a_named_error(
    file: tuple[str, bytes], spec: dict[str, Any]
) -> None:
    _run(file, spec)


# ---------------------------------------------------------------------------------------------
# The register and postcode-lookup readers
# ---------------------------------------------------------------------------------------------


HOURS_TEXT = st.one_of(
    st.sampled_from(
        [
            "24/7",
            "24 hours",
            "Always",
            "Mo-Fr 08:00-18:00",
            "Mo-Fr 08:00-18:00; Sa 09:00-12:00",
            "Mo-Su 22:00-02:00",
            "Mo-Su 25:00-26:00",
            "Mo-Fr 08:00-",
            "PH off",
            "sunrise-sunset",
            'Mo-Fr 08:00-18:00 || "by appointment"',
            "week 01-53/2 Mo 10:00-12:00",
            "2026 Mar 01-2026 Mar 31",
            "easter +2 days",
            "24/7 closed",
            "Mo[1] 10:00-12:00",
            "Mo 00:00-24:00",
            "Mo 10:00+",
            "00:00-00:00",
            "Mo-Fr 99:99-99:99",
        ]
    ),
    st.text(st.sampled_from("MoTuWeThFrSaSu0123456789:-,;/ +[]PHoffweek"), max_size=30),
)


@st.composite
def register_file(draw: st.DrawFn) -> tuple[str, bytes]:
    """A defib register export: recognised headers, hours, access and lock text, postcodes."""
    fields = draw(
        st.lists(st.sampled_from(sorted(registers.HEADERS)), min_size=1, max_size=8, unique=True)
    )
    header = [draw(st.sampled_from(registers.HEADERS[f])).title() for f in fields]
    cells = {
        "id": st.one_of(st.sampled_from(["D1", "D2", "", "n/a"]), TEXT),
        "hours": HOURS_TEXT,
        "access": st.one_of(st.sampled_from(["Public", "24/7", "Private", "?", ""]), TEXT),
        "locked": st.one_of(st.sampled_from(["Yes", "No", "Locked cabinet", "Unlocked"]), TEXT),
        "location": st.sampled_from(["Outside", "Indoor", "external wall", ""]),
        "postcode": st.one_of(st.sampled_from(["LS1 1AA", "ls11aa", "LS2  9JT", "XX", ""]), TEXT),
        "lat": st.one_of(st.floats(53.78, 53.86).map(str), CELL),
        "lon": st.one_of(st.floats(-1.6, -1.45).map(str), CELL),
        "easting": st.one_of(st.floats(420000, 440000).map(str), CELL),
        "northing": st.one_of(st.floats(425000, 440000).map(str), CELL),
    }
    rows = [[draw(cells.get(f, CELL)) for f in fields] for _ in range(draw(st.integers(0, 5)))]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    return "register.csv", buffer.getvalue().encode("utf-8", errors="replace")


POSTCODE = st.one_of(
    st.sampled_from(["LS1 1AA", "ls11aa", "LS2  9JT", "XX", "", "LS1", "GIR 0AA", "LS99 9ZZ"]),
    TEXT,
)


@st.composite
def postcode_file(draw: st.DrawFn) -> tuple[str, bytes]:
    """A postcode lookup: Code-Point Open (no header), ONSPD columns, or a simple table."""
    kind = draw(st.sampled_from(["codepoint", "onspd", "simple"]))
    header = {
        "codepoint": None,
        "onspd": ["pcds", "oseast1m", "osnrth1m", "doterm", "lat", "long"],
        "simple": ["postcode", draw(st.sampled_from(["lat", "latitude"])), "lon"],
    }[kind]
    numbers = st.one_of(
        st.floats(420000, 440000).map(str), st.floats(53.7, 53.9).map(str), NUMBER_TEXT, CELL
    )
    width = 10 if header is None else len(header)
    rows = [
        [draw(POSTCODE), *(draw(numbers) for _ in range(width - 1))]
        for _ in range(draw(st.integers(0, 5)))
    ]
    if kind == "codepoint":
        rows.insert(0, ["LS1 1AA", "10", "430000", "433000", "E92000001", "", "", "", "", ""])
    if draw(st.booleans()) and rows:  # ragged rows
        rows[-1] = rows[-1][: draw(st.integers(0, len(rows[-1])))]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows if header is None else [header, *rows])
    return "postcodes.csv", buffer.getvalue().encode("utf-8", errors="replace")


def _named_or_clean(call: Any, path: Path) -> Any:
    try:
        out = call(path)
    except DefibmapError as exc:
        message = str(exc)
    else:
        event("read")
        return out
    assert message.strip()
    assert path.name in message, message
    event(f"refused: {_gist(message, path)}")
    return None


@GDAL_WARNINGS
@FUZZ
@given(file=st.one_of(register_file(), ANY_FILE))
def test_register_content_reads_cleanly_or_fails_with_a_named_error(
    file: tuple[str, bytes],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write(*file, Path(folder))
        out = _named_or_clean(registers.read_register, path)
        if out is not None:
            assert list(out.columns) == list(registers.LAYER_COLUMNS)
            assert not out["site_id"].duplicated().any()


def _lookup() -> Any:
    import pandas as pd

    frame = pd.DataFrame(
        {"easting": [430000.0, 429500.0], "northing": [433000.0, 434100.0]},
        index=pd.Index(["LS1 1AA", "LS2 9JT"], name="postcode"),
    )
    frame.attrs = {"file": "postcodes.csv"}
    return frame


@FUZZ
@given(file=register_file())
def test_register_placed_by_postcode_reads_cleanly_or_fails_with_a_named_error(
    file: tuple[str, bytes],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write(*file, Path(folder))
        out = _named_or_clean(lambda p: registers.read_register(p, postcodes=_lookup()), path)
        if out is not None:
            placed = out.dropna(subset=["easting"])
            assert np.isfinite(placed[["lon", "lat"]].to_numpy(dtype=np.float64)).all()
            assert set(out.attrs["unplaced"]) == set(out["site_id"][out["easting"].isna()])


@GDAL_WARNINGS
@FUZZ
@given(file=st.one_of(postcode_file(), ANY_FILE))
def test_postcode_lookup_content_reads_cleanly_or_fails_with_a_named_error(
    file: tuple[str, bytes],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write(*file, Path(folder))
        _named_or_clean(postcodes.read_postcode_lookup, path)
