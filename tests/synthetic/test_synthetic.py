"""The synthetic demonstration town and the benchmark street grids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import connected_components, dijkstra

from defibmap.network import walk as network
from defibmap.synthetic import town as synthetic

SHIPPED = Path(__file__).parents[2] / "data" / "demo-town"
FILES = (
    "town.osm.bz2",
    "demand.csv",
    "defibs.csv",
    "fire_stations.csv",
    "police_stations.csv",
    "candidates.csv",
    "ambulance_hubs.csv",
)


@pytest.fixture(scope="module")
def town() -> synthetic.Town:
    return synthetic.make_town()


@pytest.fixture(scope="module")
def net() -> network.Network:
    return network.from_osm_file(SHIPPED / "town.osm.bz2")


@pytest.fixture(scope="module")
def rail_and_crossings() -> tuple[shapely.LineString, list[shapely.LineString]]:
    """The railway and the bridge ways, read from the shipped OSM file, in EPSG:27700."""
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    rail = None
    bridges = []
    source = osmium.FileProcessor(str(SHIPPED / "town.osm.bz2"), osmium.osm.NODE | osmium.osm.WAY)
    for obj in source.with_locations():
        if not obj.is_way():
            continue
        tags = {t.k: t.v for t in obj.tags}
        if "railway" in tags or tags.get("bridge") == "yes":
            lon = [n.lon for n in obj.nodes]
            lat = [n.lat for n in obj.nodes]
            line = shapely.LineString(np.column_stack(to_bng.transform(lon, lat)))
            if "railway" in tags:
                rail = line
            else:
                bridges.append(line)
    assert rail is not None
    return rail, bridges


def test_make_town_is_deterministic(town: synthetic.Town) -> None:
    again = synthetic.make_town()
    assert again.osm_xml == town.osm_xml
    for layer in (
        "demand",
        "defibs",
        "fire_stations",
        "police_stations",
        "candidates",
        "ambulance_hubs",
    ):
        pd.testing.assert_frame_equal(getattr(again, layer), getattr(town, layer))
    other = synthetic.make_town(seed=synthetic.DEMO_SEED + 1)
    assert other.osm_xml != town.osm_xml


def test_written_files_are_byte_identical_and_match_shipped(tmp_path: Path) -> None:
    first = synthetic.write_town(tmp_path / "a")
    second = synthetic.write_town(tmp_path / "b")
    assert sorted(p.name for p in first.values()) == sorted(FILES)
    for key, path in first.items():
        assert path.read_bytes() == second[key].read_bytes(), path.name
        shipped = SHIPPED / path.name
        assert shipped.read_bytes() == path.read_bytes(), (
            f"{shipped} is stale: run python scripts/make_demo_town.py"
        )
    total_bytes = sum(p.stat().st_size for p in first.values())
    assert total_bytes < 1_000_000


def test_town_lies_in_the_north_sea_inside_british_national_grid(town: synthetic.Town) -> None:
    for layer in (town.demand, town.defibs, town.candidates):
        assert layer["lon"].between(1.45, 1.65).all()
        assert layer["lat"].between(52.98, 53.12).all()
    assert network.projected_crs_for(town.demand["lon"], town.demand["lat"]) == "EPSG:27700"


def test_walk_network_is_one_piece_of_several_thousand_nodes(net: network.Network) -> None:
    assert 3_000 <= net.n_nodes <= 6_000
    assert net.crs == "EPSG:27700"
    n_parts, _ = connected_components(net.adjacency, directed=False)
    assert n_parts == 1


def test_railway_is_crossed_only_at_the_bridges(
    net: network.Network,
    rail_and_crossings: tuple[shapely.LineString, list[shapely.LineString]],
) -> None:
    rail, bridges = rail_and_crossings
    assert len(bridges) == 3
    crossing_points = shapely.MultiPoint([rail.intersection(b) for b in bridges])
    hits = net.edge_geometry[shapely.intersects(net.edge_geometry, rail)]
    assert len(hits) == len(bridges)
    for edge in hits:
        assert edge.intersection(rail).distance(crossing_points) < 0.01
    # The railway itself is not walkable: no network edge runs along it.
    assert not shapely.contains(rail.buffer(1.0), net.edge_geometry).any()


def test_walking_distance_far_exceeds_straight_line_across_the_railway(
    net: network.Network,
    rail_and_crossings: tuple[shapely.LineString, list[shapely.LineString]],
) -> None:
    rail, bridges = rail_and_crossings
    rail_xy = shapely.get_coordinates(rail)
    north = net.node_y > np.interp(net.node_x, rail_xy[:, 0], rail_xy[:, 1])
    points = shapely.points(net.node_x, net.node_y)
    near = shapely.distance(points, rail) < 100
    a_idx = np.flatnonzero(near & north)
    b_idx = np.flatnonzero(near & ~north)
    gap = np.hypot(
        net.node_x[a_idx, None] - net.node_x[None, b_idx],
        net.node_y[a_idx, None] - net.node_y[None, b_idx],
    )
    ia, ib = np.nonzero(gap < 150)
    assert ia.size > 0
    # Of the close pairs across the tracks, take the one farthest from any crossing.
    crossings = shapely.MultiPoint([rail.intersection(b) for b in bridges])
    far = shapely.distance(points[a_idx[ia]], crossings)
    best = int(np.argmax(far))
    a, b = int(a_idx[ia[best]]), int(b_idx[ib[best]])
    straight_m = float(gap[ia[best], ib[best]])
    walk_m = float(dijkstra(net.adjacency, directed=False, indices=a)[b])
    assert straight_m < 150
    assert walk_m > 5 * straight_m
    # And in general: close pairs across the tracks walk much farther than the crow flies.
    sources = np.unique(a_idx[ia])
    dist = dijkstra(net.adjacency, directed=False, indices=sources)
    row = np.searchsorted(sources, a_idx[ia])
    ratio = dist[row, b_idx[ib]] / gap[ia, ib]
    assert np.median(ratio) > 2


def test_population_and_sites_are_as_designed(town: synthetic.Town) -> None:
    demand = town.demand
    assert demand["population"].sum() == synthetic.TOWN_POPULATION == 30_000
    assert 300 <= len(demand) <= 600
    assert demand["demand_id"].is_unique
    assert set(demand["imd_decile"]) == set(range(1, 11))
    assert len(town.fire_stations) == 2
    assert len(town.police_stations) == 1
    defibs = town.defibs
    schools = defibs[defibs["kind"] == "school"]
    assert len(schools) >= 12
    indoor = schools[schools["location"] == "indoor"]
    assert len(indoor) == 12
    assert (indoor["opening_hours"] == "Mo-Fr 08:00-16:00").all()
    assert (defibs["opening_hours"] == "24/7").sum() >= 5
    assert (defibs["opening_hours"] == "Mo-Fr 09:00-17:00").sum() >= 3
    assert (defibs["opening_hours"] == "").sum() == 2
    assert (defibs["locked"] == "yes").sum() == 1
    candidates = town.candidates
    assert 25 <= len(candidates) <= 35
    assert {"townhall", "library", "community_centre", "sports_centre"} <= set(candidates["kind"])
    for layer in (demand, defibs, town.fire_stations, town.police_stations, candidates):
        assert layer["name"].str.contains("synthetic").all()
        assert layer.iloc[:, 0].is_unique


def test_one_side_of_the_railway_is_more_deprived(
    town: synthetic.Town,
    rail_and_crossings: tuple[shapely.LineString, list[shapely.LineString]],
) -> None:
    rail, _ = rail_and_crossings
    rail_xy = shapely.get_coordinates(rail)
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(town.demand["lon"].to_numpy(), town.demand["lat"].to_numpy())
    north = y > np.interp(x, rail_xy[:, 0], rail_xy[:, 1])
    decile = town.demand["imd_decile"].to_numpy()
    assert decile[~north].mean() + 3 < decile[north].mean()


def test_demand_and_sites_snap_close_to_the_network(
    town: synthetic.Town, net: network.Network
) -> None:
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    tree = net.edge_tree()
    for layer in (town.demand, town.defibs, town.fire_stations, town.candidates):
        x, y = to_bng.transform(layer["lon"].to_numpy(), layer["lat"].to_numpy())
        _, dist = tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
        assert dist.max() < 100


def test_smaller_scale_town() -> None:
    small = synthetic.make_town(scale=0.5)
    assert small.demand["population"].sum() == 7_500
    assert len(small.fire_stations) == 2


def test_street_grid_network_is_connected_and_about_the_size_asked() -> None:
    grid = synthetic.street_grid_network(20_000, seed=1)
    assert 18_000 <= grid.n_nodes <= 20_500
    n_parts, _ = connected_components(grid.adjacency, directed=False)
    assert n_parts == 1
    assert grid.crs == "EPSG:27700"
    again = synthetic.street_grid_network(20_000, seed=1)
    np.testing.assert_array_equal(again.node_x, grid.node_x)
    np.testing.assert_array_equal(again.edge_u, grid.edge_u)


def test_random_points_lie_near_the_network() -> None:
    grid = synthetic.street_grid_network(2_500, seed=2)
    x, y = synthetic.random_points(grid, 500, seed=3, max_offset_m=40.0)
    assert x.shape == y.shape == (500,)
    _, dist = grid.edge_tree().query_nearest(
        shapely.points(x, y), return_distance=True, all_matches=False
    )
    assert dist.max() <= 40.0 + 1e-6
