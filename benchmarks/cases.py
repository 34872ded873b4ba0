"""Inputs and the two sides of every benchmark comparison.

Every input is rebuilt from fixed seeds inside the subprocess that times a side, so both sides
see identical data and each process's peak memory is its own. Each side returns
``(setup, run)``: ``setup`` (untimed) builds what the side needs, such as the networkx graph;
``run`` is the timed step and returns the answer the driver compares.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from defibmap.analysis import optimise, reach
from defibmap.network import Network, Snapped, from_osm_file, snap_points, walk
from defibmap.synthetic import random_points, street_grid_network

REPO = Path(__file__).resolve().parents[1]
LEEDS_OSM = REPO / "data" / "leeds" / "leeds_inner_ne.osm.bz2"
DEMO_OSM = REPO / "data" / "demo-town" / "town.osm.bz2"
#: Grid spacing of the generated street graphs: 150k nodes cover about 94 km2, the size of
#: Coventry (99 km2); 1.5 million nodes about 940 km2, a metropolitan county.
GRID_SPACING_M = 25.0


# --------------------------------------------------------------------------------------------
# networks and points
# --------------------------------------------------------------------------------------------


def load_network(spec: dict, cache: Path | None = None) -> Network:
    """``{"graph": "leeds"}`` or ``{"graph": "grid", "nodes": n}``; a saved copy when given."""
    if cache is not None and cache.exists():
        return walk.load(cache)
    if spec["graph"] == "leeds":
        return from_osm_file(LEEDS_OSM)
    if spec["graph"] == "demo-town":
        return from_osm_file(DEMO_OSM)
    return street_grid_network(int(spec["nodes"]), seed=3, spacing_m=GRID_SPACING_M)


def leeds_points(net: Network) -> tuple[Snapped, Snapped]:
    """The Leeds study's real points: OS Code-Point postcode centroids and its schools."""
    from defibmap.io import sites

    data = REPO / "data" / "leeds"
    postcodes, _ = sites.load_layer(
        sites.LayerSpec(file=data / "postcodes_inner_ne.csv", layer="demand", id="postcode"),
        crs=net.crs,
    )
    schools, _ = sites.load_layer(
        sites.LayerSpec(file=data / "schools.csv", layer="defibs", id="site_id"), crs=net.crs
    )
    demand = snap_points(net, postcodes.geometry.x.to_numpy(), postcodes.geometry.y.to_numpy())
    defibs = snap_points(net, schools.geometry.x.to_numpy(), schools.geometry.y.to_numpy())
    return demand, defibs


def points(net: Network, n: int, seed: int) -> Snapped:
    x, y = random_points(net, n, seed=seed)
    return snap_points(net, x, y)


def weights(n: int) -> np.ndarray:
    """Whole-number people per demand point (1-50), so objectives compare exactly."""
    return np.random.default_rng(11).integers(1, 51, n).astype(np.float64)


def coverage_inputs(spec: dict, net: Network) -> tuple[Snapped, Snapped]:
    if spec["graph"] == "leeds":
        return leeds_points(net)
    return points(net, spec["demand"], 1), points(net, spec["defibs"], 2)


# --------------------------------------------------------------------------------------------
# the networkx (and pandana) graph: every snapped point inserted as a node
# --------------------------------------------------------------------------------------------


def split_graph_arrays(net: Network, demand: Snapped, facilities: Snapped):
    """The network with each snapped point inserted as a node on its edge plus an access node.

    Returns node coordinates, edge arrays (u, v, length) and the access-node ids of the
    demand points and facilities (-1 where a point did not snap). The access node sits at the
    point's own position, the inserted node at its snap point, so a walk in this graph is the
    same walk defibmap measures.
    """
    n = net.n_nodes
    groups = [demand, facilities]
    ok = [np.flatnonzero(g.ok) for g in groups]
    edge = np.concatenate([g.edge[i] for g, i in zip(groups, ok, strict=True)])
    along = np.concatenate([g.to_u_m[i] for g, i in zip(groups, ok, strict=True)])
    snap = np.concatenate([g.snap_m[i] for g, i in zip(groups, ok, strict=True)])
    sx = np.concatenate([g.snap_x[i] for g, i in zip(groups, ok, strict=True)])
    sy = np.concatenate([g.snap_y[i] for g, i in zip(groups, ok, strict=True)])
    p = edge.size
    on_node = n + np.arange(p)
    access = n + p + np.arange(p)
    order = np.lexsort((along, edge))
    e_s, a_s, node_s = edge[order], along[order], on_node[order]
    first = np.r_[True, e_s[1:] != e_s[:-1]]
    last = np.r_[e_s[1:] != e_s[:-1], True]
    prev_node = np.where(first, net.edge_u[e_s], np.r_[0, node_s[:-1]])
    prev_pos = np.where(first, 0.0, np.r_[0.0, a_s[:-1]])
    # chain u -> p1 -> ... -> pk -> v on every edge holding points; other edges stay whole
    u = np.concatenate([prev_node, node_s[last]])
    v = np.concatenate([node_s, net.edge_v[e_s[last]]])
    length = np.concatenate([a_s - prev_pos, net.edge_length_m[e_s[last]] - a_s[last]])
    whole = np.ones(net.n_edges, dtype=bool)
    whole[edge] = False
    u = np.concatenate([net.edge_u[whole], u, on_node])
    v = np.concatenate([net.edge_v[whole], v, access])
    length = np.concatenate([net.edge_length_m[whole], length, snap])
    # access nodes one access leg away from the snap point (their direction does not matter)
    node_x = np.concatenate([net.node_x, sx, sx])
    node_y = np.concatenate([net.node_y, sy, sy + snap])
    ids = []
    start = 0
    for g, i in zip(groups, ok, strict=True):
        out = np.full(len(g), -1, dtype=np.int64)
        out[i] = access[start : start + i.size]
        ids.append(out)
        start += i.size
    return node_x, node_y, u, v, np.maximum(length, 0.0), ids[0], ids[1]


def simple_edges(u, v, length):
    """Undirected edges with parallel ones reduced to the shortest (an ``nx.Graph`` keeps one)."""
    a, b = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((length, b, a))
    a, b, length = a[order], b[order], length[order]
    first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
    return a[first], b[first], length[first]


def networkx_graph(net: Network, demand: Snapped, facilities: Snapped):
    """A simple networkx ``Graph`` (``length`` on every edge): the fastest form networkx
    routes (osmnx's MultiDiGraph is slower), parallel edges reduced to the shortest."""
    import networkx as nx

    node_x, _, u, v, length, dem_ids, fac_ids = split_graph_arrays(net, demand, facilities)
    graph = nx.Graph(crs=net.crs)
    graph.add_nodes_from(range(node_x.size))
    a, b, w = simple_edges(u, v, length)
    graph.add_edges_from(
        (int(i), int(j), {"length": float(x)}) for i, j, x in zip(a, b, w, strict=True)
    )
    return graph, dem_ids, fac_ids


# --------------------------------------------------------------------------------------------
# sides: coverage
# --------------------------------------------------------------------------------------------


def coverage_side(side: str, spec: dict, cache: Path | None):
    net = load_network(spec, cache)
    demand, defibs = coverage_inputs(spec, net)
    limit = float(spec["limit_m"])
    sizes = {
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "demand_points": int(demand.ok.sum()),
        "defibs": int(defibs.ok.sum()),
        "limit_m": limit,
    }
    if side == "defibmap":
        # warm the compiled search once (numba loads it from its on-disk cache)
        reach.nearest_facility(net, demand.subset(np.arange(1)), defibs, limit_m=limit)

        def run():
            return reach.nearest_facility(net, demand, defibs, limit_m=limit).walk_m

        return sizes, run
    if side == "networkx":
        import networkx as nx

        graph, dem_ids, fac_ids = networkx_graph(net, demand, defibs)
        sources = {int(i) for i in fac_ids if i >= 0}

        def run():
            dist = nx.multi_source_dijkstra_path_length(
                graph, sources, cutoff=limit, weight="length"
            )
            return np.array([dist.get(int(t), np.nan) if t >= 0 else np.nan for t in dem_ids])

        return sizes, run
    if side == "pandana":
        import pandana
        import pandas as pd

        node_x, node_y, u, v, length, dem_ids, fac_ids = split_graph_arrays(net, demand, defibs)
        start = time.perf_counter()
        pnet = pandana.Network(
            pd.Series(node_x),
            pd.Series(node_y),
            pd.Series(u),
            pd.Series(v),
            pd.DataFrame({"length": length}),
            twoway=True,
        )
        sizes["pandana_preprocess_s"] = time.perf_counter() - start
        fac = fac_ids[fac_ids >= 0]

        def run():
            # POIs are placed on nodes by coordinates: the facilities' own access nodes
            pnet.set_pois("defibs", limit, 1, pd.Series(node_x[fac]), pd.Series(node_y[fac]))
            found = pnet.nearest_pois(limit, "defibs", num_pois=1, max_distance=-1.0)
            dist = found[1].to_numpy()
            out = np.full(dem_ids.size, np.nan)
            ok = dem_ids >= 0
            d = dist[dem_ids[ok]]
            out[ok] = np.where(d < 0, np.nan, d)
            return out

        return sizes, run
    raise ValueError(side)


def compare_walks(a: np.ndarray, b: np.ndarray, *, atol: float) -> dict:
    """Both sides give the same walks (to ``atol`` m) and cover the same points."""
    np.testing.assert_allclose(a, b, atol=atol, rtol=0, equal_nan=True)
    for threshold in (100, 200, 500):
        cov_a = np.nan_to_num(a, nan=np.inf) <= threshold
        cov_b = np.nan_to_num(b, nan=np.inf) <= threshold
        assert (cov_a == cov_b).all(), f"covered sets differ at {threshold} m"
    finite = np.isfinite(a)
    return {"max_abs_diff_m": float(np.max(np.abs(a[finite] - b[finite]), initial=0.0))}


# --------------------------------------------------------------------------------------------
# sides: candidate coverage sets
# --------------------------------------------------------------------------------------------


def _scipy_augmented(network, sources):
    """Network plus one virtual node per snapped site, edges out of it only."""
    n = network.n_nodes
    ok = np.flatnonzero(sources.ok)
    k = ok.size
    virtual = n + np.arange(k, dtype=np.int64)
    edge = sources.edge[ok]
    wu = sources.snap_m[ok] + sources.to_u_m[ok]
    wv = sources.snap_m[ok] + sources.to_v_m[ok]
    base = network.adjacency.tocoo()
    rows = np.concatenate([base.row, virtual, virtual])
    cols = np.concatenate([base.col, network.edge_u[edge], network.edge_v[edge]])
    vals = np.maximum(np.concatenate([base.data, wu, wv]), 1e-9)
    order = np.lexsort((vals, cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    size = n + k
    return sp.csr_matrix((vals[first], (rows[first], cols[first])), shape=(size, size)), virtual


def scipy_pair_distances(network, sites, demand, *, limit_m, block_cells=16_000_000):
    """The straightforward scipy way (defibmap's own before issue 8): blocks of sites, one
    ``dijkstra(indices=block, limit=...)`` each, then every demand point read off the dense
    block x nodes distance matrix."""
    site_pos = np.flatnonzero(sites.ok)
    out_s, out_d, out_w = [], [], []
    d_ok = np.flatnonzero(demand.ok)
    graph, virtual = _scipy_augmented(network, sites)
    edge = demand.edge[d_ok]
    u, v = network.edge_u[edge], network.edge_v[edge]
    to_u, to_v, snap = demand.to_u_m[d_ok], demand.to_v_m[d_ok], demand.snap_m[d_ok]
    block = max(1, block_cells // max(graph.shape[0], d_ok.size))
    for start in range(0, site_pos.size, block):
        dist = csgraph.dijkstra(
            graph, directed=True, indices=virtual[start : start + block], limit=limit_m
        )
        walk_m = snap[None, :] + np.minimum(to_u[None, :] + dist[:, u], to_v[None, :] + dist[:, v])
        rows, cols = np.nonzero(walk_m <= limit_m)
        out_s.append(site_pos[start + rows])
        out_d.append(d_ok[cols])
        out_w.append(walk_m[rows, cols])
    dem_i, site_i, along = reach._same_edge_pairs(demand, sites)  # noqa: SLF001
    total = demand.snap_m[dem_i] + sites.snap_m[site_i] + along
    keep = total <= limit_m
    out_s.append(site_i[keep])
    out_d.append(dem_i[keep])
    out_w.append(total[keep])
    s_all, d_all, w_all = (np.concatenate(x) for x in (out_s, out_d, out_w))
    order = np.lexsort((w_all, d_all, s_all))
    s_all, d_all, w_all = s_all[order], d_all[order], w_all[order]
    first = np.r_[True, (s_all[1:] != s_all[:-1]) | (d_all[1:] != d_all[:-1])]
    return s_all[first], d_all[first], w_all[first]


def pairs_side(side: str, spec: dict, cache: Path | None):
    net = load_network(spec, cache)
    cands = points(net, spec["candidates"], 4)
    demand = points(net, spec["demand"], 6)
    limit = float(spec["threshold_m"])
    sizes = {
        "nodes": net.n_nodes,
        "candidates": int(cands.ok.sum()),
        "demand_points": int(demand.ok.sum()),
        "threshold_m": limit,
    }
    if side == "defibmap":
        reach.pair_distances(net, cands.subset(np.arange(2)), demand, limit_m=limit)

        def run():
            p = reach.pair_distances(net, cands, demand, limit_m=limit)
            return p.site, p.demand, p.walk_m

        return sizes, run
    if side == "scipy":

        def run():
            return scipy_pair_distances(net, cands, demand, limit_m=limit)

        return sizes, run
    if side == "networkx":
        graph, virtual = networkx_site_graph(net, cands)

        def run():
            return networkx_pair_distances(net, graph, virtual, cands, demand, limit_m=limit)

        return sizes, run
    raise ValueError(side)


def networkx_site_graph(net: Network, sites: Snapped):
    """A simple ``nx.Graph`` of the network plus one node per snapped site, joined to its
    edge's ends by the access leg and the walk along the edge (a path through another site's
    node is never shorter than the edge it sits on, so the graph can stay undirected)."""
    import networkx as nx

    ok = np.flatnonzero(sites.ok)
    virtual = net.n_nodes + np.arange(ok.size)
    edge = sites.edge[ok]
    u = np.concatenate([net.edge_u, virtual, virtual])
    v = np.concatenate([net.edge_v, net.edge_u[edge], net.edge_v[edge]])
    w = np.concatenate(
        [
            np.maximum(net.edge_length_m, 1e-6),
            np.maximum(sites.snap_m[ok] + sites.to_u_m[ok], 1e-9),
            np.maximum(sites.snap_m[ok] + sites.to_v_m[ok], 1e-9),
        ]
    )
    keep = u != v
    a, b, length = simple_edges(u[keep], v[keep], w[keep])
    graph = nx.Graph()
    graph.add_nodes_from(range(net.n_nodes + ok.size))
    graph.add_edges_from(
        (int(i), int(j), {"length": float(x)}) for i, j, x in zip(a, b, length, strict=True)
    )
    return graph, virtual


def networkx_pair_distances(net, graph, virtual, sites, demand, *, limit_m):
    """networkx per site: ``single_source_dijkstra_path_length`` with a cutoff from the site's
    node, then every demand point read off its edge's two ends (the scipy way's read-off)."""
    import networkx as nx

    site_pos = np.flatnonzero(sites.ok)
    d_ok = np.flatnonzero(demand.ok)
    edge = demand.edge[d_ok]
    u, v = net.edge_u[edge], net.edge_v[edge]
    to_u, to_v, snap = demand.to_u_m[d_ok], demand.to_v_m[d_ok], demand.snap_m[d_ok]
    # demand points by node: only those on an edge with a reached end are read
    by_node = np.concatenate([u, v])
    point = np.concatenate([np.arange(d_ok.size), np.arange(d_ok.size)])
    order = np.argsort(by_node, kind="stable")
    by_node, point = by_node[order], point[order]
    out_s, out_d, out_w = [], [], []
    dist_u = np.full(d_ok.size, np.inf)
    dist_v = np.full(d_ok.size, np.inf)
    for j, node in zip(site_pos, virtual, strict=True):
        reached = nx.single_source_dijkstra_path_length(
            graph, int(node), cutoff=limit_m, weight="length"
        )
        nodes = np.fromiter((n for n in reached if n < net.n_nodes), dtype=np.int64)
        if nodes.size == 0:
            continue
        dist = np.fromiter((reached[int(n)] for n in nodes), dtype=np.float64, count=nodes.size)
        lo = np.searchsorted(by_node, nodes, side="left")
        hi = np.searchsorted(by_node, nodes, side="right")
        counts = hi - lo
        idx = np.repeat(lo - np.cumsum(np.r_[0, counts[:-1]]), counts) + np.arange(counts.sum())
        pts = point[idx]
        at = np.repeat(dist, counts)
        is_u = u[pts] == by_node[idx]
        dist_u[pts[is_u]] = at[is_u]
        dist_v[pts[~is_u]] = at[~is_u]
        walk = snap[pts] + np.minimum(to_u[pts] + dist_u[pts], to_v[pts] + dist_v[pts])
        keep = walk <= limit_m
        out_s.append(np.full(int(keep.sum()), j))
        out_d.append(d_ok[pts[keep]])
        out_w.append(walk[keep])
        dist_u[pts] = np.inf
        dist_v[pts] = np.inf
    dem_i, site_i, along = reach._same_edge_pairs(demand, sites)  # noqa: SLF001
    total = demand.snap_m[dem_i] + sites.snap_m[site_i] + along
    keep = total <= limit_m
    out_s.append(site_i[keep])
    out_d.append(dem_i[keep])
    out_w.append(total[keep])
    s_all, d_all, w_all = (np.concatenate(x) for x in (out_s, out_d, out_w))
    order = np.lexsort((w_all, d_all, s_all))
    s_all, d_all, w_all = s_all[order], d_all[order], w_all[order]
    first = np.r_[True, (s_all[1:] != s_all[:-1]) | (d_all[1:] != d_all[:-1])]
    return s_all[first], d_all[first], w_all[first]


def compare_pairs(a, b) -> dict:
    for x, y in zip(a[:2], b[:2], strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(a[2], b[2], rtol=0, atol=1e-9)
    return {
        "pairs": int(a[0].size),
        "max_abs_diff_m": float(np.max(np.abs(a[2] - b[2]), initial=0)),
    }


# --------------------------------------------------------------------------------------------
# sides: maximal covering
# --------------------------------------------------------------------------------------------


def mclp_instance(spec: dict, cache: Path | None):
    net = load_network(spec, cache)
    cands = points(net, spec["candidates"], 4)
    demand = points(net, spec["demand"], 6)
    threshold = float(spec["threshold_m"])
    pairs = reach.pair_distances(net, cands, demand, limit_m=threshold)
    return pairs, weights(len(demand)), int(spec["k"]), threshold, net.n_nodes


def mclp_side(side: str, spec: dict, cache: Path | None):
    pairs, w, k, threshold, n_nodes = mclp_instance(spec, cache)
    cover = pairs.cover_matrix(threshold)
    sizes = {
        "nodes": n_nodes,
        "candidates": pairs.n_sites,
        "demand_points": pairs.n_demand,
        "k": k,
        "cover_pairs": int(cover.nnz),
    }
    if side == "defibmap":
        time_limit = float(spec.get("time_limit_s", 120.0))

        def run():
            res = optimise.mclp(cover, w, k, time_limit_s=time_limit)
            return {
                "objective": res.objective,
                "sites": res.sites.tolist(),
                "status": res.status,
                "optimal": res.optimal,
                "mip_gap": res.mip_gap,
                "upper_bound": res.upper_bound,
                "free_sites": res.free_sites,
            }

        if spec.get("with_greedy"):
            from defibmap.analysis import _mclp, _swap

            start = time.perf_counter()
            steps = optimise.greedy(cover, w, k)
            sizes["greedy_s"] = time.perf_counter() - start
            sizes["greedy_objective"] = steps[-1].cumulative if steps else 0.0
            # the 1-swap local search on greedy's sites (what optimise.mclp starts from)
            a, w_open = _mclp.open_demand(cover, w, None)
            a, w_open = _mclp.merge_identical(a, w_open)
            start = time.perf_counter()
            swapped = _swap.improve(
                a, w_open, np.array([s.site for s in steps], dtype=np.int64), time_limit_s=60.0
            )
            sizes["swap_s"] = time.perf_counter() - start
            sizes["swap_objective"] = optimise.covered_weight(cover, w, swapped)
        return sizes, run
    if side == "highs-full":

        def run():
            return full_model_mclp(cover, w, k)

        return sizes, run
    if side == "spopt":
        import pulp
        from spopt.locate import MCLP

        # spopt takes a dense demand x candidates cost matrix; pairs beyond reach cost more
        cost = np.full((pairs.n_demand, pairs.n_sites), 10.0 * threshold)
        cost[pairs.demand, pairs.site] = pairs.walk_m

        def run():
            model = MCLP.from_cost_matrix(cost, w, threshold, k).solve(pulp.PULP_CBC_CMD(msg=False))
            chosen = [j for j in range(pairs.n_sites) if model.fac_vars[j].value() > 0.5]
            return {
                "objective": float(pulp.value(model.problem.objective)),
                "sites": chosen,
                "status": pulp.LpStatus[model.problem.status],
            }

        return sizes, run
    raise ValueError(side)


def full_model_mclp(cover: sp.csr_matrix, w: np.ndarray, k: int) -> dict:
    """HiGHS on the plain MCLP model over every candidate and demand point (defibmap's
    ``optimise.mclp`` before it merged demand and fixed candidates by a Lagrangian bound)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    matrix = sp.csc_matrix(cover, dtype=np.float64)
    rows = np.flatnonzero((np.diff(matrix.indptr) > 0) & (w > 0))
    a = sp.csr_matrix(matrix[:, rows].T)
    m, n = a.shape
    res = milp(
        np.r_[np.zeros(n), -w[rows]],
        constraints=[
            LinearConstraint(sp.hstack([-a, sp.identity(m)], format="csr"), -np.inf, 0.0),
            LinearConstraint(sp.csr_matrix(np.r_[np.ones(n), np.zeros(m)][None, :]), -np.inf, k),
        ],
        integrality=np.r_[np.ones(n), np.zeros(m)],
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": 600.0, "mip_rel_gap": 0.0},
    )
    chosen = np.flatnonzero(res.x[:n] > 0.5)
    return {
        "objective": optimise.covered_weight(cover, w, chosen),
        "sites": chosen.tolist(),
        "status": str(res.message),
    }


def compare_mclp(a: dict, b: dict) -> dict:
    assert abs(a["objective"] - b["objective"]) < 1e-6, (a["objective"], b["objective"])
    return {
        "objective": a["objective"],
        "same_sites": sorted(a["sites"]) == sorted(b["sites"]),
        "status": {"defibmap": a["status"], "other": b["status"]},
    }


# --------------------------------------------------------------------------------------------
# sides: study start-up (cached network vs rebuilding it from OpenStreetMap)
# --------------------------------------------------------------------------------------------


def startup_side(side: str, spec: dict, cache: Path | None):
    osm = LEEDS_OSM if spec["graph"] == "leeds" else DEMO_OSM
    assert cache is not None
    if side == "cached":
        if not cache.exists():
            walk.save(from_osm_file(osm), cache)

        def run():
            return walk.load(cache)

    elif side == "rebuild":

        def run():
            return from_osm_file(osm)

    else:
        raise ValueError(side)
    return {"osm_file": osm.name, "osm_file_mb": osm.stat().st_size / 1e6}, run


def network_answer(net: Network):
    return {
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "node_x": net.node_x,
        "edge_u": net.edge_u,
        "edge_v": net.edge_v,
        "length": net.edge_length_m,
    }


def compare_networks(a, b) -> dict:
    assert a["nodes"] == b["nodes"]
    assert a["edges"] == b["edges"]
    for key in ("node_x", "edge_u", "edge_v", "length"):
        np.testing.assert_array_equal(a[key], b[key])
    return {"nodes": a["nodes"], "edges": a["edges"]}


# --------------------------------------------------------------------------------------------
# scale: the whole analysis on a region
# --------------------------------------------------------------------------------------------


def scale_run(spec: dict, cache: Path, stage_times: dict) -> dict:
    """Load the region from its cache, then snapping, coverage, candidate sets, greedy, MCLP."""

    def stage(name, fn):
        start = time.perf_counter()
        out = fn()
        stage_times[name] = time.perf_counter() - start
        return out

    net = stage("load cached network", lambda: walk.load(cache))
    analysis_start = time.perf_counter()
    rng_pts = {}
    for name, n, seed in (
        ("demand", spec["demand"], 6),
        ("defibs", spec["defibs"], 2),
        ("candidates", spec["candidates"], 4),
    ):
        rng_pts[name] = random_points(net, n, seed=seed)
    stage_times["make random points (not analysis)"] = time.perf_counter() - analysis_start
    analysis_start = time.perf_counter()
    snapped = stage(
        "snap demand, defibs, candidates",
        lambda: {name: snap_points(net, *xy) for name, xy in rng_pts.items()},
    )
    limit = reach.search_limit_m((100.0, 200.0, 500.0))
    w = weights(spec["demand"])
    nearest = stage(
        "coverage (nearest defib, 2 km search)",
        lambda: reach.nearest_facility(net, snapped["demand"], snapped["defibs"], limit_m=limit),
    )
    shares = reach.coverage_shares(nearest.walk_m, w, (100.0, 200.0, 500.0))
    pairs = stage(
        "candidate sets (500 m)",
        lambda: reach.pair_distances(net, snapped["candidates"], snapped["demand"], limit_m=500.0),
    )
    cover = pairs.cover_matrix(500.0)
    covered = np.nan_to_num(nearest.walk_m, nan=np.inf) <= 500.0
    k = int(spec["k"])
    steps = stage("greedy", lambda: optimise.greedy(cover, w, k, already_covered=covered))
    exact = stage(
        "MCLP (HiGHS)",
        lambda: optimise.mclp(cover, w, k, already_covered=covered, time_limit_s=120.0),
    )
    # analysis_start was taken after the random points were made: they are not in it
    total = time.perf_counter() - analysis_start
    assert steps[-1].cumulative <= exact.objective + 1e-6
    return {
        "analysis_after_load_s": total,
        "coverage_share": shares,
        "cover_pairs": int(cover.nnz),
        "greedy_added": steps[-1].cumulative,
        "optimal_added": exact.objective,
        "mclp_status": exact.status,
        "mclp_gap": exact.mip_gap,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
    }


# --------------------------------------------------------------------------------------------
# snapping: defibmap vs shapely's STRtree and osmnx's nearest_edges
# --------------------------------------------------------------------------------------------


def snap_side(side: str, spec: dict, cache: Path | None):
    """Snap ``points`` random points (up to 40 m off the streets) at ``max_snap_m``.

    ``defibmap@<m>`` is defibmap at another limit, to compare the cost of a generous limit.
    Every side's search structure is built outside the timer (defibmap's segment grid,
    shapely's STRtree, osmnx's graph); osmnx builds its own tree inside ``nearest_edges``.
    """
    net = load_network(spec, cache)
    x, y = random_points(net, int(spec["points"]), seed=7)
    limit = float(spec["max_snap_m"])
    sizes = {"nodes": net.n_nodes, "edges": net.n_edges, "points": x.size, "max_snap_m": limit}
    if side.startswith("defibmap"):
        if "@" in side:
            limit = float(side.split("@")[1])
        from defibmap.network import _snap_index

        net.snap_index()  # saved with the network: mapped from the file
        start = time.perf_counter()
        _snap_index.build(net.edge_coords, net.edge_coord_offsets)
        sizes["index_build_s"] = time.perf_counter() - start
        snap_points(net, x[:10], y[:10], max_snap_m=limit)  # compile (numba's disk cache)

        def run():
            s = snap_points(net, x, y, max_snap_m=limit)
            return {"edge": s.edge, "snap_m": s.snap_m, "to_u_m": s.to_u_m}

        return sizes, run
    if side == "shapely":
        import shapely

        geoms = net.edge_geometry
        start = time.perf_counter()
        tree = shapely.STRtree(geoms)
        sizes["tree_s"] = time.perf_counter() - start
        pts = shapely.points(x, y)

        def run():
            (pos, idx), dist = tree.query_nearest(
                pts, max_distance=limit, return_distance=True, all_matches=False
            )
            g = geoms[idx]
            along = shapely.line_locate_point(g, pts[pos])
            glen = shapely.length(g)
            frac = np.clip(np.divide(along, glen, out=np.zeros_like(along), where=glen > 0), 0, 1)
            edge = np.full(x.size, -1, dtype=np.int64)
            snap_m = np.full(x.size, np.nan)
            to_u = np.full(x.size, np.nan)
            edge[pos], snap_m[pos], to_u[pos] = idx, dist, frac * net.edge_length_m[idx]
            return {"edge": edge, "snap_m": snap_m, "to_u_m": to_u}

        return sizes, run
    if side == "osmnx":
        import networkx as nx
        import osmnx as ox

        graph = nx.MultiDiGraph(crs=net.crs)
        graph.add_nodes_from(
            (i, {"x": float(a), "y": float(b)})
            for i, (a, b) in enumerate(zip(net.node_x, net.node_y, strict=True))
        )
        graph.add_edges_from(
            (int(a), int(b), int(e), {"length": float(w), "geometry": g})
            for e, (a, b, w, g) in enumerate(
                zip(net.edge_u, net.edge_v, net.edge_length_m, net.edge_geometry, strict=True)
            )
        )

        def run():
            found, dist = ox.distance.nearest_edges(graph, x, y, return_dist=True)
            edge = np.array([key for _, _, key in found], dtype=np.int64)
            dist = np.asarray(dist, dtype=np.float64)
            out = np.where(dist <= limit, edge, -1)
            return {"edge": out, "snap_m": np.where(out >= 0, dist, np.nan), "to_u_m": None}

        return sizes, run
    raise ValueError(side)


def compare_snaps(a: dict, b: dict) -> dict:
    """Same edge and offsets to 1 mm; where the edges differ both must be nearest (a tie:
    equal distances), which shapely and osmnx settle in no particular order."""
    assert (a["edge"] >= 0).tolist() == (b["edge"] >= 0).tolist(), "snapped sets differ"
    ok = a["edge"] >= 0
    np.testing.assert_allclose(a["snap_m"][ok], b["snap_m"][ok], rtol=0, atol=1e-3)
    differ = ok & (a["edge"] != b["edge"])
    np.testing.assert_allclose(a["snap_m"][differ], b["snap_m"][differ], rtol=0, atol=1e-9)
    same = ok & ~differ
    out = {
        "points": int(ok.sum()),
        "same_edge": int(same.sum()),
        "ties_settled_differently": int(differ.sum()),
        "max_abs_diff_snap_m": float(np.max(np.abs(a["snap_m"][ok] - b["snap_m"][ok]), initial=0)),
    }
    if a["to_u_m"] is not None and b["to_u_m"] is not None:
        np.testing.assert_allclose(a["to_u_m"][same], b["to_u_m"][same], rtol=0, atol=1e-3)
        out["max_abs_diff_to_u_m"] = float(
            np.max(np.abs(a["to_u_m"][same] - b["to_u_m"][same]), initial=0)
        )
    return out


# --------------------------------------------------------------------------------------------
# loading a saved region network: mapped arrays vs the earlier compressed form
# --------------------------------------------------------------------------------------------


def load_side(side: str, spec: dict, cache: Path | None):  # noqa: ARG001 - every side's form
    """Load the saved network: the current file (arrays mapped, nothing derived) or the same
    network in the earlier form (compressed, WKB geometry, adjacency rebuilt), written untimed."""
    from defibmap.network import _base

    assert cache is not None
    if side == "defibmap":
        path = cache
    elif side == "format-1":
        net = walk.load(cache)
        path = cache.with_name(cache.stem + "-format1.npz")
        if not path.exists():
            _base.write_network(path, net, {"format": np.array(_base.CACHE_FORMAT)})
    else:
        raise ValueError(side)

    def run():
        return walk.load(path)

    return {"file_mb": path.stat().st_size / 1e6}, run


def loaded_answer(net: Network) -> dict:
    return {
        **network_answer(net),
        "node_y": net.node_y,
        "edge_coords": net.edge_coords,
        "edge_coord_offsets": net.edge_coord_offsets,
        "indptr": net.adjacency.indptr,
        "indices": net.adjacency.indices,
        "data": net.adjacency.data,
    }


def compare_loaded(a: dict, b: dict) -> dict:
    out = compare_networks(a, b)
    for key in ("node_y", "edge_coords", "edge_coord_offsets", "indptr", "indices", "data"):
        np.testing.assert_array_equal(a[key], b[key])
    return out
