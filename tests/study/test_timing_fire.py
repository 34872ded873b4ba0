"""Fire co-responders with their own turnout: the fastest turnout plus drive, by brute force.

On a hand-drawn square (as in ``tests/network/test_drive.py``) a wholetime station with a
longer drive can beat an on-call station with a shorter one; the study's grouping by turnout
must equal the minimum over single stations of turnout plus drive.
"""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import networkx as nx
import numpy as np
from shapely.geometry import Point

from defibmap.analysis import drive_routes
from defibmap.network import drive
from defibmap.study import timing


def _square() -> drive.DriveNetwork:
    # 3 (0,100) --- 2 (100,100); 0 (0,0) --> 1 (100,0) one-way, the rest two-way, 10 m/s
    G = nx.MultiDiGraph(crs="EPSG:27700")
    for i, (x, y) in enumerate([(0, 0), (100, 0), (100, 100), (0, 100)]):
        G.add_node(i, x=float(x), y=float(y))
    edges = [(0, 1, True), (1, 2, False), (2, 3, False), (3, 0, False)]
    for u, v, one_way in edges:
        G.add_edge(u, v, length=100.0, travel_time=10.0)
        if not one_way:
            G.add_edge(v, u, length=100.0, travel_time=10.0)
    return drive.drive_network_from_graph(G)


def test_each_station_with_its_own_turnout_equals_brute_force():
    net = _square()
    sx, sy = np.array([90.0, 50.0]), np.array([0.0, 103.0])
    dx, dy = np.array([10.0, 95.0, -4.0]), np.array([-2.0, 1.0, 50.0])
    stations = gpd.GeoDataFrame(
        {"crewing": ["wholetime", "on_call"]},
        geometry=[Point(x, y) for x, y in zip(sx, sy, strict=True)],
        crs="EPSG:27700",
        index=["near_wholetime", "far_on_call"],
    )
    opts = {"fire_turnout_s": 100.0, "fire_turnout_on_call_s": 400.0}
    config = SimpleNamespace(layers={}, response=opts)
    found, notes = timing._fire_times(stations, net, config, dx, dy)  # type: ignore[arg-type]
    assert notes == []
    assert found is not None
    # brute force: each station alone, its turnout plus its drive, the smallest wins
    singles = [
        turnout
        + drive_routes.drive_from_stations(net, sx[i : i + 1], sy[i : i + 1], dx, dy).fire_drive_s
        for i, turnout in enumerate((100.0, 400.0))
    ]
    np.testing.assert_allclose(found.total_s, np.fmin(*singles))
    # by hand: p0 is 320 m (32 s) from the wholetime station, 160 m (16 s) from the on-call
    # one: 100 + 32 = 132 s beats 400 + 16 = 416 s, and the drive reported is the 32 s one
    assert found.total_s[0] == 132.0
    assert found.drive_s[0] == 32.0
    assert found.drive_m[0] == 320.0
    # with one turnout for both, the nearer (on-call) station's drive wins again
    same = SimpleNamespace(layers={}, response={"fire_turnout_s": 100.0})
    plain = stations.drop(columns="crewing")
    again, _ = timing._fire_times(plain, net, same, dx, dy)  # type: ignore[arg-type]
    assert again is not None
    assert again.total_s[0] == 116.0
