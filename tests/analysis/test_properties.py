"""Property tests (hypothesis): the loaders never lose or invent rows, coverage behaves.

Loaders: random valid rows round-trip (ids, and coordinates to 1e-6 degrees after projection
to British National Grid and back) in any supported encoding and delimiter; random junk in any
cell is rejected-and-counted or raises :class:`~defibmap._errors.InputError`, never another
exception; ``rows_read == rows_used + rows_rejected`` always.

Coverage, on random small networks: adding a defib never lowers coverage; a larger threshold
never gives a lower share; permuting the input rows changes nothing; the greedy ranking's
added population never exceeds the exact maximal covering optimum (and is within 1 - 1/e).
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from defibmap import coverage_shares, greedy, mclp, nearest_facility, pair_distances, snap_points
from defibmap._errors import InputError
from defibmap.io.sites import LayerSpec, load_layer
from defibmap.network.walk import from_arrays

SETTINGS = settings(
    max_examples=int(os.environ.get("DEFIBMAP_HYPOTHESIS_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# ---------------------------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------------------------

ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/."
NAME_CHARS = "abcdefghij XYZ0123456789éüßÆ’–“”\"',;|&<>=+@"  # every one is in cp1252
ids = st.text(ID_CHARS, min_size=1, max_size=12).filter(lambda s: s.strip() == s)
names = st.text(NAME_CHARS, min_size=1, max_size=20).map(str.strip).filter(bool)
lons = st.floats(-5.5, 1.5, allow_nan=False)
lats = st.floats(50.2, 58.5, allow_nan=False)
rows = st.lists(
    st.tuples(ids, names, lons, lats), min_size=1, max_size=25, unique_by=lambda r: r[0]
)
formats = st.tuples(
    st.sampled_from([",", ";", "\t", "|"]), st.sampled_from(["utf-8", "utf-8-sig", "cp1252"])
)


def write(path: Path, header: list[str], body: list[list[str]], sep: str, encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    path.write_bytes(buffer.getvalue().encode(encoding))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@SETTINGS
@given(rows=rows, fmt=formats)
def test_valid_rows_round_trip(rows, fmt):
    sep, encoding = fmt
    if encoding == "cp1252":
        # cp1252 bytes that also happen to be valid UTF-8 (e.g. "\u00c6\u2013" is C6 96, which
        # is UTF-8 for U+0196) are read as UTF-8: the one ambiguity of guessing an encoding
        text = "".join(r[1] for r in rows).encode("cp1252")
        assume(text.isascii() or not _is_utf8(text))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sites.csv"
        write(
            path,
            ["site_id", "name", "lon", "lat"],
            [[i, n, repr(x), repr(y)] for i, n, x, y in rows],
            sep,
            encoding,
        )
        gdf, report = load_layer(LayerSpec(file=path, layer="x", id="site_id"), crs="EPSG:27700")
    assert report.rows_read == report.rows_used == len(rows)
    assert report.rows_rejected == 0
    assert list(gdf.index) == [r[0] for r in rows]
    assert list(gdf["name"]) == [r[1] for r in rows]
    assert list(gdf["source_row"]) == list(range(2, len(rows) + 2))
    back = gdf.to_crs(4326)
    np.testing.assert_allclose(back.geometry.x, [r[2] for r in rows], atol=1e-6)
    np.testing.assert_allclose(back.geometry.y, [r[3] for r in rows], atol=1e-6)


junk = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e400", "0", "-0", "1,5", "1.2.3", "TRUE"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["430000", "1300001", "53.8", "-1.5", "=1+1", '"', "\n", "\r", ";"]),
)
junk_rows = st.lists(st.tuples(junk, junk, junk, junk), min_size=1, max_size=20)


def check_report(spec: LayerSpec) -> None:
    try:
        gdf, report = load_layer(spec, crs="EPSG:27700")
    except InputError:
        return
    assert report.rows_read == report.rows_used + report.rows_rejected
    assert report.rows_used == len(gdf)
    assert len({r for _, r, _ in report.rejected}) == report.rows_rejected  # each row once
    if len(gdf):
        assert np.isfinite(gdf.geometry.x).all()
        assert (gdf["population"] >= 0).all()


@SETTINGS
@given(body=junk_rows, fmt=formats, with_ids=st.booleans(), raw_tail=st.text(max_size=40))
def test_junk_cells_are_counted_or_refused_never_crash(body, fmt, with_ids, raw_tail):
    sep, encoding = fmt
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demand.csv"
        write(path, ["ref", "lon", "lat", "pop"], [list(r) for r in body], sep, "utf-8")
        text = path.read_text(encoding="utf-8") + raw_tail  # and an unquoted, hand-typed tail
        try:
            path.write_bytes(text.encode(encoding))
        except UnicodeEncodeError:
            path.write_bytes(text.encode("utf-8"))
        spec = LayerSpec(
            file=path, layer="demand", id="ref" if with_ids else None, population="pop"
        )
        check_report(spec)


excel_cells = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(-(10**6), 10**6),
    st.text("abc 0123456789.-,#N/A", max_size=8),
)


@settings(max_examples=10, deadline=None)
@given(
    cells=st.lists(st.tuples(excel_cells, excel_cells, excel_cells), min_size=1, max_size=8),
    blank_rows=st.integers(0, 3),
)
def test_junk_excel_cells_are_counted_or_refused(cells, blank_rows):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for _ in range(blank_rows):
        sheet.append([])
    sheet.append(["lon", "lat", "pop"])
    for row in cells:
        sheet.append(list(row))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.xlsx"
        book.save(path)
        check_report(LayerSpec(file=path, layer="demand", population="pop"))


# ---------------------------------------------------------------------------------------------
# Coverage on random small networks
# ---------------------------------------------------------------------------------------------

coords = st.floats(0, 600, allow_nan=False)


@st.composite
def problems(draw):
    """A random network (maybe disconnected), demand with populations, defibs, candidates."""
    n = draw(st.integers(2, 10))
    xy = draw(st.lists(st.tuples(coords, coords), min_size=n, max_size=n))
    pairs = draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=1, max_size=20)
    )
    pairs = [(u, v) for u, v in pairs if u != v] or [(0, 1)]
    points = st.lists(st.tuples(coords, coords), min_size=1, max_size=12)
    demand = draw(points)
    population = draw(st.lists(st.integers(0, 2000), min_size=len(demand), max_size=len(demand)))
    return {
        "net": from_arrays(
            node_x=np.array([p[0] for p in xy]),
            node_y=np.array([p[1] for p in xy]),
            edge_u=np.array([p[0] for p in pairs]),
            edge_v=np.array([p[1] for p in pairs]),
        ),
        "demand": np.array(demand, dtype=float),
        "population": np.array(population, dtype=float),
        "defibs": np.array(
            draw(st.lists(st.tuples(coords, coords), max_size=5)), dtype=float
        ).reshape(-1, 2),
        "extra": np.array(draw(st.tuples(coords, coords)), dtype=float),
        "candidates": np.array(draw(points), dtype=float),
        "thresholds": sorted(
            draw(st.lists(st.floats(10, 800), min_size=2, max_size=4, unique=True))
        ),
        "k": draw(st.integers(0, 4)),
    }


def walks(p, demand_xy, defib_xy):
    net = p["net"]
    d = snap_points(net, demand_xy[:, 0], demand_xy[:, 1], max_snap_m=300)
    f = snap_points(net, defib_xy[:, 0], defib_xy[:, 1], max_snap_m=300)
    return nearest_facility(net, d, f, limit_m=2000).walk_m


def shares(p, walk):
    return coverage_shares(walk, p["population"], p["thresholds"])


@SETTINGS
@given(p=problems())
def test_adding_a_defib_never_lowers_coverage(p):
    before = walks(p, p["demand"], p["defibs"])
    after = walks(p, p["demand"], np.vstack([p["defibs"], p["extra"]]))
    assert np.all(np.nan_to_num(after, nan=np.inf) <= np.nan_to_num(before, nan=np.inf) + 1e-9)
    old, new = shares(p, before), shares(p, after)
    assert all(new[t] >= old[t] - 1e-12 for t in old)


@SETTINGS
@given(p=problems())
def test_larger_threshold_is_never_lower(p):
    values = list(shares(p, walks(p, p["demand"], p["defibs"])).values())
    assert all(b >= a - 1e-12 for a, b in pairwise(values))
    assert all(0.0 <= v <= 1.0 for v in values)


@SETTINGS
@given(p=problems(), seed=st.integers(0, 2**32 - 1))
def test_permuting_rows_changes_nothing(p, seed):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(p["demand"]))
    defib_order = rng.permutation(len(p["defibs"]))
    base = walks(p, p["demand"], p["defibs"])
    moved = walks(p, p["demand"][order], p["defibs"][defib_order])
    np.testing.assert_allclose(moved, base[order], rtol=1e-12, atol=1e-9, equal_nan=True)
    permuted = dict(p, population=p["population"][order])
    a, b = shares(p, base), shares(permuted, moved)
    assert a == pytest.approx(b, abs=1e-12)


@SETTINGS
@given(p=problems())
def test_greedy_never_beats_the_exact_optimum(p):
    net = p["net"]
    threshold = p["thresholds"][-1]
    d = snap_points(net, p["demand"][:, 0], p["demand"][:, 1], max_snap_m=300)
    c = snap_points(net, p["candidates"][:, 0], p["candidates"][:, 1], max_snap_m=300)
    assume(c.ok.any() and d.ok.any())
    walk = walks(p, p["demand"], p["defibs"])
    already = np.nan_to_num(walk, nan=np.inf) <= threshold
    cover = pair_distances(net, c, d, limit_m=threshold).cover_matrix(threshold)
    steps = greedy(cover, p["population"], p["k"], already_covered=already)
    exact = mclp(cover, p["population"], p["k"], already_covered=already)
    added = steps[-1].cumulative if steps else 0.0
    assert added <= exact.objective + 1e-6
    assert added >= (1 - 1 / math.e) * exact.objective - 1e-6
    assert len(exact.sites) <= p["k"]
