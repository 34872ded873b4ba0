"""Walking distances and coverage on hand-drawn graphs worked out by hand, and on the real
Leeds network against networkx Dijkstra on the same graph with the points inserted as nodes."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import shapely

from defibmap.analysis import reach
from defibmap.network import walk as nw
from defibmap.network.snapping import snap_points


def line_graph() -> nw.Network:
    # 0 (0,0) -- 1 (100,0) -- 2 (200,0) -- 3 (200,100)
    return nw.from_arrays(
        node_x=np.array([0.0, 100.0, 200.0, 200.0]),
        node_y=np.array([0.0, 0.0, 0.0, 100.0]),
        edge_u=np.array([0, 1, 2]),
        edge_v=np.array([1, 2, 3]),
    )


def test_snap_to_nearest_point_on_edge_not_node():
    net = line_graph()
    s = snap_points(net, np.array([20.0, 150.0, 205.0]), np.array([-5.0, 10.0, 60.0]))
    assert s.ok.all()
    np.testing.assert_allclose(s.snap_m, [5.0, 10.0, 5.0])
    np.testing.assert_allclose(s.to_u_m, [20.0, 50.0, 60.0])
    np.testing.assert_allclose(s.to_v_m, [80.0, 50.0, 40.0])
    np.testing.assert_allclose(s.snap_x, [20.0, 150.0, 200.0])


def test_points_beyond_snap_limit_are_flagged():
    net = line_graph()
    s = snap_points(net, np.array([600.0, 20.0]), np.array([600.0, 249.0]), max_snap_m=250)
    assert list(s.ok) == [False, True]
    assert np.isnan(s.snap_m[0])
    s = snap_points(net, np.array([20.0]), np.array([-251.0]), max_snap_m=250)
    assert not s.ok[0]


def test_walking_distance_by_hand():
    net = line_graph()
    defib = snap_points(net, np.array([150.0]), np.array([10.0]))
    demand = snap_points(
        net, np.array([20.0, 190.0, 205.0, 600.0]), np.array([-5.0, 3.0, 60.0, 600.0])
    )
    res = reach.nearest_facility(net, demand, defib, limit_m=2000)
    # p1: 5 access + 80 to node 1 + 50 along + 10 access = 145
    # p2: same edge: 3 + |190-150| + 10 = 53
    # p3: 5 + 60 to node 2 + 50 + 10 = 125; p4 not snapped
    np.testing.assert_allclose(res.walk_m[:3], [145.0, 53.0, 125.0])
    assert np.isnan(res.walk_m[3])
    assert list(res.nearest) == [0, 0, 0, -1]
    shares = reach.coverage_shares(res.walk_m, np.array([10.0, 20.0, 30.0, 40.0]), (100, 200))
    assert shares == {"100": 0.2, "200": 0.6}


def test_search_limit_cuts_far_defibs():
    net = line_graph()
    defib = snap_points(net, np.array([150.0]), np.array([10.0]))
    demand = snap_points(net, np.array([20.0]), np.array([-5.0]))
    res = reach.nearest_facility(net, demand, defib, limit_m=144.0)
    assert np.isnan(res.walk_m[0])
    assert res.nearest[0] == -1


def test_barrier_makes_walk_longer_than_straight_line():
    # two streets 20 m apart joined only at x = 500 (a railway between them)
    net = nw.from_arrays(
        node_x=np.array([0.0, 500.0, 0.0, 500.0]),
        node_y=np.array([0.0, 0.0, 20.0, 20.0]),
        edge_u=np.array([0, 2, 1]),
        edge_v=np.array([1, 3, 3]),
    )
    defib = snap_points(net, np.array([10.0]), np.array([-2.0]))
    demand = snap_points(net, np.array([10.0]), np.array([15.0]))
    res = reach.nearest_facility(net, demand, defib, limit_m=5000)
    # 5 access + 490 east + 20 across at the end + 490 west + 2 access = 1007
    np.testing.assert_allclose(res.walk_m, [1007.0])
    straight = reach.straight_line_nearest(
        np.array([10.0]), np.array([15.0]), np.array([10.0]), np.array([-2.0])
    )
    np.testing.assert_allclose(straight, [17.0])


def test_nearest_of_two_defibs_and_parallel_edges():
    # parallel edges 0-1: a straight 100 m one and a 300 m detour; CSR keeps the shortest
    net = nw.from_arrays(
        node_x=np.array([0.0, 100.0, 200.0]),
        node_y=np.array([0.0, 0.0, 0.0]),
        edge_u=np.array([0, 0, 1, 2]),
        edge_v=np.array([1, 1, 2, 2]),  # last is a self-loop
        edge_length_m=np.array([100.0, 300.0, 100.0, 50.0]),
    )
    assert net.adjacency[0, 1] == 100.0
    assert net.adjacency[2, 2] == 0.0
    defibs = snap_points(net, np.array([0.0, 200.0]), np.array([1.0, 1.0]))
    demand = snap_points(net, np.array([160.0]), np.array([0.0]))
    res = reach.nearest_facility(net, demand, defibs, limit_m=1000)
    np.testing.assert_allclose(res.walk_m, [41.0])
    assert res.nearest[0] == 1


def test_pair_distances_by_hand():
    net = line_graph()
    cands = snap_points(net, np.array([0.0, 200.0]), np.array([0.0, 100.0]))
    demand = snap_points(net, np.array([20.0, 190.0]), np.array([-5.0, 3.0]))
    pairs = reach.pair_distances(net, cands, demand, limit_m=200)
    got = {
        (int(s), int(d)): float(w)
        for s, d, w in zip(pairs.site, pairs.demand, pairs.walk_m, strict=True)
    }
    # cand0 at node 0: p0 = 5+20 = 25; p1 = 3+190 = 193
    # cand1 at node 3: p0 = 5+80+100+100 = 285 (beyond); p1 = 3+10+100 = 113
    assert got.keys() == {(0, 0), (0, 1), (1, 1)}
    assert got[(0, 0)] == pytest.approx(25.0)
    assert got[(0, 1)] == pytest.approx(193.0)
    assert got[(1, 1)] == pytest.approx(113.0)
    cover = pairs.cover_matrix(150).toarray()
    assert cover.tolist() == [[True, False], [False, True]]


def _networkx_walks(net, demand, facilities, cutoff):
    """Independent walk lengths: insert every snapped point into a networkx graph as a node
    (splitting its edge at the snap point), then multi-source Dijkstra with a cutoff."""
    graph = nw.to_networkx(net)
    on_edge: dict[int, list[tuple[float, object]]] = {}
    for tag, snapped in (("d", demand), ("f", facilities)):
        for i in np.flatnonzero(snapped.ok):
            node = (tag, int(i))
            on_edge.setdefault(int(snapped.edge[i]), []).append((float(snapped.to_u_m[i]), node))
            graph.add_edge((tag + "_access", int(i)), node, length=float(snapped.snap_m[i]))
    for e, points in on_edge.items():
        u, v, length = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_length_m[e])
        points.sort(key=lambda t: t[0])
        chain = [(0.0, u), *points, (length, v)]
        for (a_pos, a), (b_pos, b) in itertools.pairwise(chain):
            graph.add_edge(a, b, length=b_pos - a_pos)
    sources = {("f_access", int(i)) for i in np.flatnonzero(facilities.ok)}
    dist = nx.multi_source_dijkstra_path_length(graph, sources, cutoff=cutoff, weight="length")
    return np.array(
        [
            dist.get(("d_access", int(i)), np.nan) if demand.ok[i] else np.nan
            for i in range(len(demand))
        ]
    )


def test_random_graph_matches_networkx():
    rng = np.random.default_rng(7)
    side = 12
    xs, ys = np.meshgrid(np.arange(side) * 50.0, np.arange(side) * 50.0)
    node_x = xs.ravel() + rng.normal(0, 5, side * side)
    node_y = ys.ravel() + rng.normal(0, 5, side * side)
    idx = np.arange(side * side).reshape(side, side)
    eu = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    ev = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    keep = rng.random(eu.size) > 0.2
    net = nw.from_arrays(node_x=node_x, node_y=node_y, edge_u=eu[keep], edge_v=ev[keep])
    demand = snap_points(net, rng.uniform(0, 550, 300), rng.uniform(0, 550, 300))
    facilities = snap_points(net, rng.uniform(0, 550, 6), rng.uniform(0, 550, 6))
    ours = reach.nearest_facility(net, demand, facilities, limit_m=400).walk_m
    theirs = _networkx_walks(net, demand, facilities, cutoff=400)
    np.testing.assert_allclose(ours, theirs, atol=0.01, equal_nan=True)


@pytest.mark.parametrize("threshold", [100.0, 200.0, 500.0])
def test_leeds_walks_match_networkx(leeds_network, threshold):
    from defibmap.study.pipeline import load_study, run_study

    result = run_study(load_study("leeds"), network=leeds_network)
    net = leeds_network
    dem = result.demand
    defibs = result.defibs
    demand = snap_points(net, dem.geometry.x.to_numpy(), dem.geometry.y.to_numpy())
    facilities = snap_points(net, defibs.geometry.x.to_numpy(), defibs.geometry.y.to_numpy())
    theirs = _networkx_walks(net, demand, facilities, cutoff=2000.0)
    np.testing.assert_allclose(dem["walk_m"].to_numpy(), theirs, atol=0.01, equal_nan=True)
    covered = np.nan_to_num(theirs, nan=np.inf) <= threshold
    share = dem["population"].to_numpy()[covered].sum() / dem["population"].sum()
    assert result.coverage[str(int(threshold))] == pytest.approx(share)


def test_leeds_snapping_is_the_nearest_edge(leeds_network):
    from defibmap.study.pipeline import load_study, run_study

    result = run_study(load_study("leeds"), network=leeds_network)
    pts = shapely.points(result.demand.geometry.x, result.demand.geometry.y)
    # brute force: distance from every point to every edge
    d = shapely.distance(pts[:, None], leeds_network.edge_geometry[None, :])
    np.testing.assert_allclose(result.demand["snap_m"].to_numpy(), d.min(axis=1), atol=1e-6)


def test_covered_is_walk_within_threshold_and_nan_is_not_covered():
    walk = np.array([0.0, 499.9, 500.0, 500.1, np.nan, np.inf])
    assert reach.covered(walk, 500.0).tolist() == [True, True, True, False, False, False]


def test_snapped_concat_keeps_order_and_empty_has_no_points():
    net = line_graph()
    a = snap_points(net, np.array([20.0, 600.0]), np.array([-5.0, 600.0]), max_snap_m=50)
    b = snap_points(net, np.array([150.0]), np.array([10.0]))
    both = type(a).concat([a, b])
    assert both.ok.tolist() == [True, False, True]
    np.testing.assert_array_equal(both.edge, [0, -1, 1])
    np.testing.assert_allclose(both.to_u_m, [20.0, np.nan, 50.0])
    np.testing.assert_array_equal(both.subset(np.array([2])).snap_x, b.snap_x)
    empty = type(a).concat([])
    assert len(empty) == 0
    assert empty.edge.dtype == np.int64
    assert empty.ok.dtype == bool
