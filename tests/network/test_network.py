"""Building the walking network: osmnx's walk filter, clipped extracts, PBF, caching."""

from __future__ import annotations

import bz2
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from scipy.sparse import csgraph

from defibmap._errors import NetworkError
from defibmap.network import walk as nw

TESTS = Path(__file__).resolve().parents[1]

# A hand-made extract near Leeds. Nodes 1-4 run east along a street; 5 and 6 a footway north
# of it; way 103 is a railway, 104 a building outline, 105 a motorway, 106 a path tagged
# foot=no, 107 references node 99 that the clipped extract does not hold.
OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
<node id="1" lat="53.8100000" lon="-1.5300000"/>
<node id="2" lat="53.8100000" lon="-1.5285000"/>
<node id="3" lat="53.8100000" lon="-1.5270000"/>
<node id="4" lat="53.8100000" lon="-1.5255000"/>
<node id="5" lat="53.8110000" lon="-1.5285000"/>
<node id="6" lat="53.8120000" lon="-1.5285000"/>
<node id="7" lat="53.8090000" lon="-1.5300000"/>
<node id="8" lat="53.8090000" lon="-1.5255000"/>
<node id="9" lat="53.8120000" lon="-1.5270000"/>
<node id="10" lat="53.8130000" lon="-1.5270000"/>
<way id="101"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/>
 <tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
<way id="102"><nd ref="2"/><nd ref="5"/><nd ref="6"/><tag k="highway" v="footway"/></way>
<way id="103"><nd ref="7"/><nd ref="8"/><tag k="railway" v="rail"/></way>
<way id="104"><nd ref="7"/><nd ref="8"/><nd ref="1"/><nd ref="7"/><tag k="building" v="yes"/></way>
<way id="105"><nd ref="7"/><nd ref="8"/><tag k="highway" v="motorway"/></way>
<way id="106"><nd ref="4"/><nd ref="8"/><tag k="highway" v="path"/><tag k="foot" v="no"/></way>
<way id="107"><nd ref="6"/><nd ref="9"/><nd ref="99"/><nd ref="10"/><nd ref="3"/>
 <tag k="highway" v="footway"/></way>
</osm>
"""


@pytest.fixture
def extract(tmp_path):
    path = tmp_path / "extract.osm.bz2"
    path.write_bytes(bz2.compress(OSM.encode()))
    return path


def test_walk_filter_and_clipped_way(extract):
    net = nw.from_osm_file(extract)
    ids = set(net.node_ids.tolist())
    # railway, building, motorway and foot=no ways are not walked; 7 and 8 are not in it
    assert 7 not in ids
    assert 8 not in ids
    # way 107 lost node 99: it is split into 6-9 and 10-3 (two dead ends, kept as nodes)
    assert {1, 2, 3, 4, 9, 10} <= ids
    assert 99 not in ids
    assert net.crs == "EPSG:27700"
    n_comp, _ = csgraph.connected_components(net.adjacency, directed=False)
    assert n_comp == 1


def test_one_way_street_is_walked_both_ways(extract):
    net = nw.from_osm_file(extract)
    pos = {int(n): i for i, n in enumerate(net.node_ids)}
    d = csgraph.dijkstra(net.adjacency, indices=[pos[4], pos[1]])
    assert np.isfinite(d[0, pos[1]])
    assert d[0, pos[1]] == pytest.approx(d[1, pos[4]])
    # 1 -> 4 along the street: osmnx great-circle lengths, about 0.0045 deg lon at 53.81 N
    expected = ox.distance.great_circle(53.81, -1.53, 53.81, -1.5255)
    assert d[1, pos[4]] == pytest.approx(expected, rel=1e-6)


def test_empty_after_filter_is_a_clear_error(tmp_path):
    path = tmp_path / "rail.osm"
    path.write_text(
        '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="53.8" lon="-1.5"/>'
        '<node id="2" lat="53.81" lon="-1.5"/><way id="1"><nd ref="1"/><nd ref="2"/>'
        '<tag k="railway" v="rail"/></way></osm>'
    )
    with pytest.raises(NetworkError, match="no walkable ways"):
        nw.from_osm_file(path)


def test_pbf_extract_loads():
    net = nw.from_osm_file(TESTS / "data" / "its-example.osm.pbf")
    assert net.n_nodes > 50
    assert net.crs == "EPSG:27700"
    assert (net.edge_length_m > 0).all()


def test_from_graph_round_trip_keeps_distances(leeds_network):
    graph = nw.to_networkx(leeds_network)
    again = nw.from_graph(graph)
    a = csgraph.dijkstra(leeds_network.adjacency, indices=[0, 10], limit=1500)
    b = csgraph.dijkstra(again.adjacency, indices=[0, 10], limit=1500)
    np.testing.assert_allclose(a, b)
    # and networkx agrees on the same graph
    ref = nx.single_source_dijkstra_path_length(graph, 0, cutoff=1500, weight="length")
    for node, dist in ref.items():
        assert a[0, node] == pytest.approx(dist)


def test_unprojected_graph_refused():
    g = nx.MultiGraph(crs="EPSG:4326")
    g.add_node(1, x=-1.5, y=53.8)
    with pytest.raises(NetworkError, match="projected CRS"):
        nw.from_graph(g)


def test_save_load_and_damaged_cache(tmp_path, leeds_network):
    path = tmp_path / "net.npz"
    nw.save(leeds_network, path, meta={"query": "test"})
    loaded = nw.load(path)
    np.testing.assert_array_equal(loaded.edge_u, leeds_network.edge_u)
    np.testing.assert_allclose(loaded.adjacency.toarray().sum(), leeds_network.adjacency.sum())
    assert loaded.edge_geometry[5].equals(leeds_network.edge_geometry[5])
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(NetworkError, match="damaged"):
        nw.load(path)


def test_utm_outside_great_britain():
    assert nw.projected_crs_for(np.array([2.35]), np.array([48.85])) == "EPSG:32631"
    assert nw.projected_crs_for(np.array([-1.5]), np.array([53.8])) == "EPSG:27700"


def test_graphml_from_osmnx(tmp_path, extract):
    # an analyst's own osmnx graph saved as GraphML gives the same network as the extract
    from defibmap.osm import ways as _osm

    xml = tmp_path / "walk.osm"
    _osm.write_filtered_xml(extract, xml)
    graph = ox.graph_from_xml(xml, bidirectional=True)
    ox.save_graphml(graph, tmp_path / "g.graphml")
    a = nw.from_graphml(tmp_path / "g.graphml")
    b = nw.from_osm_file(extract)
    assert a.n_nodes == b.n_nodes
    assert a.edge_length_m.sum() == pytest.approx(b.edge_length_m.sum())
