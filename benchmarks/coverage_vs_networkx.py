"""Time defibmap's coverage step against the osmnx + networkx way on the same graph, one run.

Both sides start from the same snap points and offsets: the networkx graph is the same
network with every snapped point inserted as a node (its edge split at the snap point) and
an access-leg edge, built outside the timer, then ``nx.multi_source_dijkstra_path_length``
with a cutoff from all defibs at once (as osmnx's documentation routes: networkx on the
graph, ``weight="length"``). The script asserts both sides cover the same demand points and
agree to 0.01 m before printing the ratio.

    python benchmarks/coverage_vs_networkx.py [--grid-nodes 150000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from pathlib import Path

import networkx as nx
import numpy as np

from defibmap import network as nw
from defibmap import reach
from defibmap.snapping import snap_points

REPO = Path(__file__).resolve().parents[1]
LEEDS = REPO / "data" / "leeds" / "leeds_inner_ne.osm.bz2"


def networkx_graph(net, demand, facilities):
    graph = nw.to_networkx(net)
    on_edge: dict[int, list] = {}
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
    return graph


def best_of(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def compare(name, net, n_demand, n_defibs, limit_m, repeat, seed=1):
    rng = np.random.default_rng(seed)
    x0, x1 = float(net.node_x.min()), float(net.node_x.max())
    y0, y1 = float(net.node_y.min()), float(net.node_y.max())
    demand = snap_points(net, rng.uniform(x0, x1, n_demand), rng.uniform(y0, y1, n_demand))
    defibs = snap_points(net, rng.uniform(x0, x1, n_defibs), rng.uniform(y0, y1, n_defibs))
    graph = networkx_graph(net, demand, defibs)  # outside the timer
    sources = {("f_access", int(i)) for i in np.flatnonzero(defibs.ok)}
    targets = [("d_access", int(i)) for i in range(n_demand)]

    def ours():
        return reach.nearest_facility(net, demand, defibs, limit_m=limit_m).walk_m

    def theirs():
        dist = nx.multi_source_dijkstra_path_length(graph, sources, cutoff=limit_m, weight="length")
        return np.array([dist.get(t, np.nan) for t in targets])

    t_ours, a = best_of(ours, repeat)
    t_nx, b = best_of(theirs, repeat)
    np.testing.assert_allclose(a, b, atol=0.01, equal_nan=True)
    for threshold in (100, 200, 500):
        cov_a = np.nan_to_num(a, nan=np.inf) <= threshold
        cov_b = np.nan_to_num(b, nan=np.inf) <= threshold
        assert (cov_a == cov_b).all(), f"{name}: covered sets differ at {threshold} m"
    return {
        "comparison": f"coverage {name}",
        "nodes": net.n_nodes,
        "demand_points": n_demand,
        "defibs": n_defibs,
        "defibmap_s": t_ours,
        "networkx_s": t_nx,
        "ratio": t_nx / t_ours,
        "same_answer": True,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grid-nodes", type=int, default=150_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "coverage_vs_networkx.json"
    )
    args = parser.parse_args()
    rows = [
        compare("Leeds extract (real OSM)", nw.from_osm_file(LEEDS), 2000, 40, 2000.0, args.repeat)
    ]
    if args.grid_nodes:
        from defibmap.synthetic import street_grid_network

        grid = street_grid_network(args.grid_nodes, seed=3)
        rows.append(
            compare(
                f"generated grid ({grid.n_nodes:,} nodes)", grid, 20_000, 300, 2000.0, args.repeat
            )
        )
    print(f"{'comparison':45s} {'defibmap s':>11s} {'networkx s':>11s} {'ratio':>7s}")
    for r in rows:
        print(
            f"{r['comparison']:45s} {r['defibmap_s']:11.3f} {r['networkx_s']:11.3f} "
            f"{r['ratio']:6.1f}x"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "results": rows}, indent=2))


if __name__ == "__main__":
    main()
