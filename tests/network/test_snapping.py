"""Snapping against a brute-force nearest segment, on small random networks.

The brute force measures every point against every segment of every edge in plain Python
(GEOS's point-to-segment formula, written out again here), keeps the least distance with ties
to the lowest edge and then the first segment, and locates the snap point on that segment. The
grid search in :mod:`defibmap.network._snap_index` must give the same edge, the same distance
and the same offsets along the edge, including exact ties (points on a lattice of a lattice
network, equally far from two edges), points beyond the snap limit, points far outside the
network and a limit of 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defibmap.network import snap_points
from defibmap.network.walk import from_arrays


def _seg_dist(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    (ax, ay), (bx, by) = a, b
    if (ax, ay) == (bx, by):
        return math.sqrt((px - ax) ** 2 + (py - ay) ** 2)
    len2 = (bx - ax) ** 2 + (by - ay) ** 2
    r = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2
    if r <= 0:
        return math.sqrt((px - ax) ** 2 + (py - ay) ** 2)
    if r >= 1:
        return math.sqrt((px - bx) ** 2 + (py - by) ** 2)
    s = ((ay - py) * (bx - ax) - (ax - px) * (by - ay)) / len2
    return abs(s) * math.sqrt(len2)


def brute_force(net, x, y, limit):
    """Return (edge, snap_m, to_u_m) per point by measuring every segment."""
    out = []
    for px, py in zip(x, y, strict=True):
        best = (math.inf, -1, -1, 0.0)
        for e, geom in enumerate(net.edge_geometry):
            pts = [tuple(c) for c in shapely.get_coordinates(geom)]
            along = 0.0
            for s in range(len(pts) - 1):
                a, b = pts[s], pts[s + 1]
                seg_len = math.dist(a, b)
                d = _seg_dist(px, py, a, b)
                if (d, e, s) < best[:3]:
                    r = 0.0
                    if seg_len > 0:
                        r = ((px - a[0]) * (b[0] - a[0]) + (py - a[1]) * (b[1] - a[1])) / seg_len**2
                    best = (d, e, s, along + min(max(r, 0.0), 1.0) * seg_len)
                along += seg_len
        d, e, _, along = best
        if e < 0 or d > limit:
            out.append((-1, math.nan, math.nan))
            continue
        total = shapely.length(net.edge_geometry[e])
        frac = min(max(along / total, 0.0), 1.0) if total > 1e-9 else 0.0
        out.append((e, d, frac * net.edge_length_m[e]))
    return out


@st.composite
def networks(draw):
    """A few nodes on a 10 m lattice (so ties happen), edges with 0-2 bends, one per pair."""
    n = draw(st.integers(2, 7))
    coords = draw(
        st.lists(
            st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=n, max_size=n, unique=True
        )
    )
    xy = np.array(coords, dtype=np.float64) * 10.0
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            min_size=1,
            max_size=8,
        )
    )
    geoms, us, vs = [], [], []
    for u, v in pairs:
        bends = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=2))
        line = [tuple(xy[u]), *[(bx * 10.0, by * 10.0) for bx, by in bends], tuple(xy[v])]
        geoms.append(shapely.LineString(line))
        us.append(u)
        vs.append(v)
    return from_arrays(
        node_x=xy[:, 0],
        node_y=xy[:, 1],
        edge_u=np.array(us),
        edge_v=np.array(vs),
        edge_geometry=np.array(geoms, dtype=object),
    )


def _points(draw_list):
    return np.array(draw_list, dtype=np.float64).reshape(-1, 2)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    net=networks(),
    lattice=st.lists(st.tuples(st.integers(-3, 9), st.integers(-3, 9)), max_size=12),
    free=st.lists(
        st.tuples(st.floats(-50, 120, allow_nan=False), st.floats(-50, 120, allow_nan=False)),
        max_size=12,
    ),
    limit=st.sampled_from([0.0, 3.0, 12.5, 250.0, 1e9]),
)
def test_snap_equals_brute_force(net, lattice, free, limit):
    # lattice points (5 m steps) sit exactly between parallel edges and on nodes: ties
    pts = np.vstack([_points(lattice) * 5.0, _points(free)]) if lattice or free else None
    if pts is None:
        return
    x, y = pts[:, 0], pts[:, 1]
    got = snap_points(net, x, y, max_snap_m=limit)
    want = brute_force(net, x, y, limit)
    for i, (e, d, to_u) in enumerate(want):
        assert got.edge[i] == e, (i, x[i], y[i], got.edge[i], e)
        if e < 0:
            assert not got.ok[i]
            assert np.isnan(got.snap_m[i])
            continue
        assert got.ok[i]
        assert got.snap_m[i] == pytest.approx(d, abs=1e-9)
        assert got.to_u_m[i] == pytest.approx(to_u, abs=1e-6)
        assert got.to_u_m[i] + got.to_v_m[i] == pytest.approx(net.edge_length_m[e], abs=1e-6)
        # the snap point lies on the edge, at the access leg's length from the point
        snap = shapely.Point(got.snap_x[i], got.snap_y[i])
        assert shapely.distance(snap, net.edge_geometry[e]) < 1e-6
        assert math.dist((x[i], y[i]), (got.snap_x[i], got.snap_y[i])) == pytest.approx(d, abs=1e-6)


def test_tie_goes_to_the_lowest_edge():
    # two parallel streets 10 m apart, listed high index first; a point midway
    net = from_arrays(
        node_x=np.array([0.0, 100.0, 0.0, 100.0]),
        node_y=np.array([10.0, 10.0, 0.0, 0.0]),
        edge_u=np.array([0, 2]),
        edge_v=np.array([1, 3]),
    )
    got = snap_points(net, np.array([40.0]), np.array([5.0]))
    assert got.edge[0] == 0
    assert got.snap_m[0] == 5.0
    assert got.to_u_m[0] == pytest.approx(40.0)


def test_far_points_and_limits():
    net = from_arrays(
        node_x=np.array([0.0, 100.0]),
        node_y=np.array([0.0, 0.0]),
        edge_u=np.array([0]),
        edge_v=np.array([1]),
    )
    x = np.array([50.0, 50.0, 1e7, np.nan, -3e5])
    y = np.array([0.0, 30.0, 1e7, 0.0, 4e5])
    near = snap_points(net, x, y, max_snap_m=20.0)
    assert near.ok.tolist() == [True, False, False, False, False]
    far = snap_points(net, x, y, max_snap_m=1e9)
    assert far.ok.tolist() == [True, True, True, False, True]
    assert far.snap_m[2] == pytest.approx(math.hypot(1e7 - 100.0, 1e7))
    assert far.snap_m[4] == pytest.approx(5e5)
    zero = snap_points(net, x, y, max_snap_m=0.0)
    assert zero.ok.tolist() == [True, False, False, False, False]


def test_a_segment_shorter_than_float_resolution_is_a_point() -> None:
    # ends 5e-324 m apart: the squared length underflows to 0, and the search must not divide
    # by it (hypothesis found such an edge); the point's distance is to the segment's start
    net = from_arrays(
        node_x=np.array([0.0, 5e-324, 100.0]),
        node_y=np.array([0.0, 0.0, 0.0]),
        edge_u=np.array([0, 1]),
        edge_v=np.array([1, 2]),
    )
    snapped = snap_points(net, np.array([0.0, 50.0]), np.array([3.0, 4.0]), max_snap_m=300)
    assert snapped.snap_m == pytest.approx([3.0, 4.0])
