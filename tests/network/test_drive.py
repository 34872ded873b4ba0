"""Driving network and drives from stations: hand-drawn graphs worked out by hand, tiny OSM
files (one-way streets, UK mph limits), and the real Leeds extract against networkx Dijkstra on
osmnx's own drive graph with every snapped point inserted as a node."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely

from defibmap._errors import NetworkError
from defibmap.analysis import drive_routes, reach
from defibmap.network import drive
from defibmap.network import walk as nw
from defibmap.network.snapping import snap_points
from defibmap.osm import ways as _osm

DATA = Path(__file__).resolve().parents[2] / "data"
LEEDS_OSM = DATA / "leeds" / "leeds_inner_ne.osm.bz2"

# ---------------------------------------------------------------------------------------------
# hand-drawn graphs
# ---------------------------------------------------------------------------------------------


def hand_graph(nodes, edges, *, two_way=()):
    """A projected MultiDiGraph; ``edges`` are (u, v, length_m, time_s); ``two_way`` edges get
    their reverse too."""
    G = nx.MultiDiGraph(crs="EPSG:27700")
    for i, (x, y) in enumerate(nodes):
        G.add_node(i, x=float(x), y=float(y))
    for idx, (u, v, length, secs) in enumerate(edges):
        G.add_edge(u, v, length=float(length), travel_time=float(secs))
        if idx in two_way:
            G.add_edge(v, u, length=float(length), travel_time=float(secs))
    return G


def square():
    # 3 (0,100) --- 2 (100,100)
    #   |              |
    # 0 (0,0)  -->  1 (100,0)      0 -> 1 one-way, the rest two-way, 10 m/s everywhere
    nodes = [(0, 0), (100, 0), (100, 100), (0, 100)]
    edges = [(0, 1, 100, 10), (1, 2, 100, 10), (2, 3, 100, 10), (3, 0, 100, 10)]
    return drive.drive_network_from_graph(hand_graph(nodes, edges, two_way=(1, 2, 3)))


def test_square_matrices_are_directed():
    net = square()
    assert net.n_nodes == 4
    assert net.n_edges == 7
    t = net.time_s.toarray()
    assert t[0, 1] == 10.0
    assert t[1, 0] == 0.0  # no edge against the one-way street
    assert t[1, 2] == t[2, 1] == 10.0
    np.testing.assert_allclose(net.edge_speed_kph, 36.0)
    np.testing.assert_array_equal(net.time_s.indices, net.length_m.indices)


def test_drive_by_hand_on_square():
    net = square()
    stations_x, stations_y = np.array([90.0, 50.0]), np.array([0.0, 103.0])
    demand_x = np.array([10.0, 95.0, -4.0, 5000.0])
    demand_y = np.array([-2.0, 1.0, 50.0, 0.0])
    res = drive_routes.drive_from_stations(net, stations_x, stations_y, demand_x, demand_y)
    # p0 on 0->1 at 10 m, behind station 0 (on 0->1 at 90 m): station 0 goes 10 to node 1,
    #   100 + 100 + 100 round the block, 10 along = 320 m; station 1 (on 2-3 at 50 m from 2):
    #   50 to node 3, 100 to node 0, 10 along = 160 m
    # p1 on 0->1 at 95 m: straight along from station 0 = 5 m
    # p2 on 3-0 at 50 m from 0: station 1 goes 50 + 50 = 100 m
    # p3 is 4.9 km from every road: not snapped
    np.testing.assert_allclose(res.fire_drive_m[:3], [160.0, 5.0, 100.0])
    np.testing.assert_allclose(res.fire_drive_s[:3], [16.0, 0.5, 10.0])
    assert list(res.station) == [1, 0, 1, -1]
    assert np.isnan(res.fire_drive_m[3])
    np.testing.assert_allclose(res.demand_snap_m[:3], [2.0, 1.0, 4.0])
    np.testing.assert_allclose(res.station_snap_m, [0.0, 3.0])
    # with station 0 alone p0 must go round the block against the one-way street
    alone = drive_routes.drive_from_stations(
        net, stations_x[:1], stations_y[:1], demand_x, demand_y
    )
    np.testing.assert_allclose(alone.fire_drive_m[:3], [320.0, 5.0, 260.0])


def test_limit_and_stations_off_the_network():
    net = square()
    res = drive_routes.drive_from_stations(
        net,
        np.array([90.0]),
        np.array([0.0]),
        np.array([10.0, 95.0]),
        np.array([0.0, 0.0]),
        limit_s=20.0,
    )
    assert np.isnan(res.fire_drive_s[0])  # 32 s away
    assert res.station[0] == -1
    assert res.fire_drive_s[1] == pytest.approx(0.5)
    far = drive_routes.drive_from_stations(
        net, np.array([9000.0]), np.array([0.0]), np.array([10.0]), np.array([0.0])
    )
    assert far.n_stations_on_network == 0
    assert np.isnan(far.fire_drive_s).all()
    assert list(far.station) == [-1]


def test_metres_are_those_of_the_fastest_route():
    # 0 -- 1 direct: 100 m but slow (100 s); 0 -- 2 -- 1 via (50, 50): 141 m, 14.1 s
    nodes = [(0, 0), (100, 0), (50, 50)]
    h = float(np.hypot(50, 50))
    edges = [(0, 1, 100, 100), (0, 2, h, h / 10), (2, 1, h, h / 10)]
    net = drive.drive_network_from_graph(hand_graph(nodes, edges, two_way=(0, 1, 2)))
    res = drive_routes.drive_from_stations(
        net, np.array([0.0]), np.array([-1.0]), np.array([100.0]), np.array([-1.0])
    )
    np.testing.assert_allclose(res.fire_drive_s, [2 * h / 10])
    np.testing.assert_allclose(res.fire_drive_m, [2 * h])


def test_parallel_edges_keep_the_fastest_and_its_length():
    nodes = [(0, 0), (100, 0)]
    edges = [(0, 1, 100, 50), (0, 1, 120, 8), (1, 0, 100, 10)]
    net = drive.drive_network_from_graph(hand_graph(nodes, edges))
    assert net.time_s[0, 1] == 8.0
    assert net.length_m[0, 1] == 120.0
    assert net.time_s[1, 0] == 10.0


def test_largest_strongly_connected_component_is_kept():
    # 0 <-> 1 <-> 2 strongly connected; 3 only reachable (one-way 2 -> 3, dead end)
    nodes = [(0, 0), (100, 0), (200, 0), (300, 0)]
    edges = [(0, 1, 100, 10), (1, 2, 100, 10), (2, 3, 100, 10)]
    net = drive.drive_network_from_graph(hand_graph(nodes, edges, two_way=(0, 1)))
    assert net.n_nodes == 3
    assert sorted(net.node_ids.tolist()) == [0, 1, 2]


def test_graph_without_times_gets_osmnx_speeds_and_defaults():
    G = nx.MultiDiGraph(crs="EPSG:27700")
    G.add_node(0, x=0.0, y=0.0)
    G.add_node(1, x=320.0, y=0.0)
    for u, v in ((0, 1), (1, 0)):
        G.add_edge(u, v, length=320.0, highway="residential", maxspeed="30 mph")
    G.add_edge(0, 1, length=400.0, highway="tertiary")  # untagged: default 40 km/h
    net = drive.drive_network_from_graph(G, default_speeds_kph={"tertiary": 48.0})
    np.testing.assert_allclose(np.sort(net.edge_speed_kph), [48.0, 30 * 1.60934, 30 * 1.60934])
    assert net.time_s[0, 1] == pytest.approx(320.0 / (30 * 1.60934 / 3.6))  # the faster one


def test_unprojected_graph_is_refused():
    G = hand_graph([(0, 0), (1, 0)], [(0, 1, 1, 1)], two_way=(0,))
    G.graph["crs"] = "EPSG:4326"
    with pytest.raises(NetworkError, match="projected"):
        drive.drive_network_from_graph(G)


# ---------------------------------------------------------------------------------------------
# tiny OSM files
# ---------------------------------------------------------------------------------------------

LAT0, LON0 = 53.800, -1.550
DLAT, DLON = 0.0018, 0.003  # about 200 m each way at this latitude


def _write_osm(path: Path, ways: list[tuple[list[int], dict[str, str]]]) -> Path:
    """A block A(1) B(2) C(3) D(4), anticlockwise from the south-west, and the given ways;
    stub streets (W of A, E of C, S of B, N of D) make corners junctions osmnx keeps."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    lines += [f'<node id="{i}" lat="{lat}" lon="{lon}"/>' for i, (lat, lon) in COORDS.items()]
    for wid, (refs, tags) in enumerate(ways, start=100):
        lines.append(f'<way id="{wid}">')
        lines += [f'<nd ref="{r}"/>' for r in refs]
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


COORDS = {
    1: (LAT0, LON0),
    2: (LAT0, LON0 + DLON),
    3: (LAT0 + DLAT, LON0 + DLON),
    4: (LAT0 + DLAT, LON0),
    5: (LAT0, LON0 - DLON / 2),
    6: (LAT0 + DLAT, LON0 + 1.5 * DLON),
    7: (LAT0 - DLAT / 2, LON0 + DLON),
    8: (LAT0 + 1.5 * DLAT, LON0),
}
STUBS = [([5, 1], {"highway": "residential"}), ([3, 6], {"highway": "residential"})]
MORE_STUBS = [([2, 7], {"highway": "residential"}), ([4, 8], {"highway": "residential"})]


def _metres(a: int, b: int) -> float:
    """osmnx's great-circle metres between two of the block's nodes."""
    return float(ox.distance.great_circle(*COORDS[a], *COORDS[b]))


def _block(tmp_path: Path, *, oneway: bool) -> Path:
    ab = {"highway": "residential", "name": "A-B"}
    if oneway:
        ab["oneway"] = "yes"
    return _write_osm(
        tmp_path / f"block-{oneway}.osm",
        [([1, 2], ab), ([2, 3, 4, 1], {"highway": "residential"}), *STUBS, *MORE_STUBS],
    )


def _a_b_points(net):
    """Points 10 % and 90 % of the way from A to B, on the street, in the network CRS."""
    from pyproj import Transformer

    to_net = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True)
    x, y = to_net.transform(
        np.array([LON0 + 0.1 * DLON, LON0 + 0.9 * DLON]), np.array([LAT0, LAT0])
    )
    return np.asarray(x), np.asarray(y)


def test_one_way_street_lengthens_the_drive_not_the_walk(tmp_path):
    drives = {}
    walks = {}
    for oneway in (False, True):
        path = _block(tmp_path, oneway=oneway)
        dnet = drive.drive_network_from_osm_file(path)
        x, y = _a_b_points(dnet)
        # station near B, patient near A: against the one-way street
        res = drive_routes.drive_from_stations(dnet, x[1:], y[1:], x[:1], y[:1])
        drives[oneway] = float(res.fire_drive_m[0])
        wnet = nw.from_osm_file(path)
        walk = reach.nearest_facility(
            wnet, snap_points(wnet, x[:1], y[:1]), snap_points(wnet, x[1:], y[1:]), limit_m=5000
        )
        walks[oneway] = float(walk.walk_m[0])
    ab = _metres(1, 2)
    round_block = _metres(2, 3) + _metres(3, 4) + _metres(4, 1)
    assert walks[True] == pytest.approx(walks[False], abs=1e-9)
    assert walks[False] == pytest.approx(0.8 * ab, abs=0.5)
    assert drives[False] == pytest.approx(0.8 * ab, abs=0.5)
    # against the one-way: 10 % on to B, round B-C-D-A, 10 % from A
    assert drives[True] == pytest.approx(0.2 * ab + round_block, abs=0.5)


def test_uk_maxspeed_in_mph_and_road_type_defaults(tmp_path):
    path = _write_osm(
        tmp_path / "speeds.osm",
        [
            ([1, 2], {"highway": "residential", "maxspeed": "20 mph"}),
            ([2, 3], {"highway": "tertiary"}),
            ([3, 4], {"highway": "primary", "maxspeed": "GB:nsl_single"}),
            ([4, 1], {"highway": "unclassified"}),
            *STUBS,
            *MORE_STUBS,
        ],
    )
    net = drive.drive_network_from_osm_file(path)
    ids = net.node_ids
    speed = {
        frozenset((int(ids[u]), int(ids[v]))): float(s)
        for u, v, s in zip(net.edge_u, net.edge_v, net.edge_speed_kph, strict=True)
    }
    assert speed[frozenset((1, 2))] == pytest.approx(32.19, abs=0.005)
    assert speed[frozenset((2, 3))] == pytest.approx(drive.DEFAULT_SPEEDS_KPH["tertiary"])
    assert speed[frozenset((3, 4))] == pytest.approx(60 * 1.60934)  # GB:nsl_single
    assert speed[frozenset((4, 1))] == pytest.approx(drive.DEFAULT_SPEEDS_KPH["unclassified"])
    np.testing.assert_allclose(net.edge_time_s, net.edge_length_m / (net.edge_speed_kph / 3.6))
    faster = drive.drive_network_from_osm_file(path, default_speeds_kph={"tertiary": 80.0})
    assert 80.0 in np.round(faster.edge_speed_kph, 6)
    assert 32.0 in np.round(faster.edge_speed_kph, 6)  # the other defaults stay


def test_merged_ways_keep_their_own_speeds(tmp_path):
    # without stubs at B, A-B (20 mph) and B-C (tertiary, 40 km/h) merge into one edge A-C:
    # its time is the sum of the two ways' times, not the length at an averaged speed
    path = _write_osm(
        tmp_path / "merged.osm",
        [
            ([1, 2], {"highway": "residential", "maxspeed": "20 mph"}),
            ([2, 3], {"highway": "tertiary"}),
            ([3, 4, 1], {"highway": "unclassified"}),
            *STUBS,
            MORE_STUBS[1],
        ],
    )
    net = drive.drive_network_from_osm_file(path)
    ids = net.node_ids
    a_to_c = np.flatnonzero((ids[net.edge_u] == 1) & (ids[net.edge_v] == 3))
    assert a_to_c.size == 1
    expected = _metres(1, 2) / (20 * 1.60934 / 3.6) + _metres(2, 3) / (40 / 3.6)
    assert net.edge_time_s[a_to_c[0]] == pytest.approx(expected, rel=1e-9)
    assert net.edge_length_m[a_to_c[0]] == pytest.approx(_metres(1, 2) + _metres(2, 3))


def test_missing_file_and_no_roads(tmp_path):
    with pytest.raises(NetworkError, match="not found"):
        drive.drive_network_from_osm_file(tmp_path / "nope.osm")
    path = _write_osm(tmp_path / "paths.osm", [([1, 2, 3], {"highway": "footway"})])
    with pytest.raises(NetworkError, match="no drivable ways"):
        drive.drive_network_from_osm_file(path)


# ---------------------------------------------------------------------------------------------
# Leeds against networkx
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def leeds_drive():
    return drive.drive_network_from_osm_file(LEEDS_OSM)


@pytest.fixture(scope="module")
def leeds_osmnx_graph():
    """osmnx's own drive graph of the extract, built here step by step."""
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "drive.osm"
        _osm.write_filtered_xml(LEEDS_OSM, xml, network_type="drive")
        G = ox.graph_from_xml(xml, bidirectional=False, simplify=False, retain_all=True)
    G = ox.truncate.largest_component(G, strongly=True)
    G = ox.projection.project_graph(G, to_crs="EPSG:27700")
    G = ox.routing.add_edge_speeds(
        G, hwy_speeds=dict(drive.DEFAULT_SPEEDS_KPH), fallback=drive.DEFAULT_FALLBACK_KPH
    )
    G = ox.routing.add_edge_travel_times(G)
    return ox.simplify_graph(G)


def _networkx_drives(G, station_xy, demand_xy, max_snap_m=250.0):
    """Independent drives: every point is inserted as a node on each directed edge at its
    nearest distance (found by brute force), then networkx multi-source Dijkstra on
    ``travel_time``; metres are summed along the returned paths."""
    edges = ox.convert.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True)
    geoms = edges.geometry.to_numpy()
    keys = list(edges.index)
    H = nx.MultiDiGraph(G)
    on_edge: dict[int, list[tuple[float, object]]] = {}
    for tag, (xs, ys) in (("s", station_xy), ("d", demand_xy)):
        pts = shapely.points(xs, ys)
        dist = shapely.distance(pts[:, None], geoms[None, :])
        for i in range(len(xs)):
            nearest = dist[i].min()
            if nearest > max_snap_m:
                continue
            for e in np.flatnonzero(dist[i] <= nearest + 1e-6):
                frac = shapely.line_locate_point(geoms[e], pts[i], normalized=True)
                node = (tag, i, int(e))
                on_edge.setdefault(int(e), []).append((float(frac), node))
                if tag == "s":
                    H.add_edge((tag, i), node, travel_time=0.0, length=0.0)
                else:
                    H.add_edge(node, (tag, i), travel_time=0.0, length=0.0)
    for e, points in on_edge.items():
        u, v, k = keys[e]
        data = G.edges[u, v, k]
        H.remove_edge(u, v, k)
        points.sort(key=lambda t: t[0])
        for (fa, a), (fb, b) in itertools.pairwise([(0.0, u), *points, (1.0, v)]):
            H.add_edge(
                a, b, travel_time=(fb - fa) * data["travel_time"], length=(fb - fa) * data["length"]
            )
    sources = {n for n in H.nodes if isinstance(n, tuple) and n[0] == "s" and len(n) == 2}
    secs, paths = nx.multi_source_dijkstra(H, sources, weight="travel_time")
    n = len(demand_xy[0])
    out_s, out_m, out_station = np.full(n, np.nan), np.full(n, np.nan), np.full(n, -1)
    for i in range(n):
        if ("d", i) not in secs:
            continue
        path = paths[("d", i)]
        out_s[i] = secs[("d", i)]
        out_m[i] = sum(
            min(H[a][b].values(), key=lambda d: d["travel_time"])["length"]
            for a, b in itertools.pairwise(path)
        )
        out_station[i] = path[0][1]
    return out_s, out_m, out_station


def test_leeds_drive_matches_networkx(leeds_drive, leeds_osmnx_graph):
    ours_from_graph = drive.drive_network_from_graph(leeds_osmnx_graph)
    assert ours_from_graph.n_edges == leeds_drive.n_edges
    np.testing.assert_allclose(
        np.sort(ours_from_graph.edge_time_s), np.sort(leeds_drive.edge_time_s)
    )
    # one-way streets are in the comparison: edges with no reverse twin
    pairs = set(zip(leeds_drive.edge_u.tolist(), leeds_drive.edge_v.tolist(), strict=True))
    assert sum((v, u) not in pairs for u, v in pairs) > 50
    police = pd.read_csv(DATA / "leeds" / "police_stations.csv")
    lsoa = pd.read_csv(DATA / "leeds" / "lsoa21_demand.csv")
    sx = np.concatenate([police["easting"].to_numpy(float), lsoa["easting"].to_numpy(float)[:4]])
    sy = np.concatenate([police["northing"].to_numpy(float), lsoa["northing"].to_numpy(float)[:4]])
    postcodes = pd.read_csv(DATA / "leeds" / "postcodes_inner_ne.csv").iloc[::3]
    dx = postcodes["easting"].to_numpy(float)
    dy = postcodes["northing"].to_numpy(float)
    ours = drive_routes.drive_from_stations(leeds_drive, sx, sy, dx, dy)
    secs, metres, station = _networkx_drives(leeds_osmnx_graph, (sx, sy), (dx, dy))
    assert np.isfinite(secs).sum() > 300
    np.testing.assert_allclose(ours.fire_drive_s, secs, atol=0.05, equal_nan=True)
    np.testing.assert_allclose(ours.fire_drive_m, metres, atol=0.5, equal_nan=True)
    assert (ours.station == station).mean() > 0.99


def test_leeds_fire_stations_lie_off_the_extract(leeds_drive):
    fire = pd.read_csv(DATA / "leeds" / "fire_stations.csv")
    res = drive_routes.drive_from_stations(
        leeds_drive,
        fire["easting"].to_numpy(float),
        fire["northing"].to_numpy(float),
        np.array([430000.0]),
        np.array([435000.0]),
    )
    assert res.n_stations_on_network == 0
    assert np.isnan(res.fire_drive_s).all()


def test_drive_cache_round_trip(tmp_path):
    net = drive.drive_network_from_osm_file(DATA / "leeds" / "leeds_inner_ne.osm.bz2")
    drive.save_drive(net, tmp_path / "d.npz")
    again = drive.load_drive(tmp_path / "d.npz")
    assert (again.time_s != net.time_s).nnz == 0
    assert (again.length_m != net.length_m).nnz == 0
    assert again.edge_geometry[3].equals(net.edge_geometry[3])
    (tmp_path / "d.npz").write_bytes(b"not a network")
    with pytest.raises(NetworkError, match="damaged"):
        drive.load_drive(tmp_path / "d.npz")
