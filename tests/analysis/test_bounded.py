"""The numba bounded searches against scipy's Dijkstra on random graphs, to the last bit, and
reach's public functions against the scipy implementation they replaced."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csgraph

from defibmap.analysis import _bounded, reach
from defibmap.network import walk as nw
from defibmap.network.snapping import snap_points


def random_graph(rng, n, m, *, integer=False):
    u = rng.integers(0, n, m)
    v = rng.integers(0, n, m)
    w = rng.integers(1, 20, m).astype(float) if integer else rng.uniform(0.5, 100.0, m)
    keep = u != v
    u, v, w = u[keep], v[keep], w[keep]
    coo = sp.coo_matrix((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(n, n))
    # parallel edges keep the shortest, like network.from_arrays
    frame = {}
    for a, b, c in zip(coo.row, coo.col, coo.data, strict=True):
        frame[(a, b)] = min(c, frame.get((a, b), np.inf))
    rows, cols = np.array(list(frame), dtype=np.int64).reshape(-1, 2).T
    return sp.csr_matrix((np.array(list(frame.values())), (rows, cols)), shape=(n, n))


def scipy_from_seeds(graph, src_ptr, seed_node, seed_dist, limit, *, min_only):
    """Reference: one virtual node per source, edges to its seeds, scipy's dijkstra."""
    n = graph.shape[0]
    k = src_ptr.size - 1
    virtual = np.repeat(np.arange(k), np.diff(src_ptr)) + n
    coo = graph.tocoo()
    rows = np.r_[coo.row, virtual]
    cols = np.r_[coo.col, seed_node]
    vals = np.r_[coo.data, seed_dist]
    # duplicates from a source seeding one node twice: keep the shortest
    order = np.lexsort((vals, cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    aug = sp.csr_matrix((vals[first], (rows[first], cols[first])), shape=(n + k, n + k))
    idx = n + np.arange(k)
    if min_only:
        dist, _, src = csgraph.dijkstra(
            aug, directed=True, indices=idx, limit=limit, min_only=True, return_predecessors=True
        )
        return dist[:n], np.where(src[:n] >= 0, src[:n] - n, -1)
    return csgraph.dijkstra(aug, directed=True, indices=idx, limit=limit)[:, :n]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("integer", [False, True])
def test_nearest_sources_equals_scipy(seed, integer):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    graph = random_graph(rng, n, int(rng.integers(n, 4 * n)), integer=integer)
    k = int(rng.integers(1, 12))
    seed_node = rng.integers(0, n, 2 * k)
    seed_dist = (
        rng.integers(1, 30, 2 * k).astype(float) if integer else rng.uniform(1e-9, 40, 2 * k)
    )
    label = np.repeat(np.arange(k), 2)
    limit = float(rng.choice([30.0, 80.0, 200.0, np.inf]))
    dist, lab = _bounded.nearest_sources(
        graph.indptr, graph.indices, graph.data, seed_node, seed_dist, label, limit=limit
    )
    ref, ref_src = scipy_from_seeds(
        graph, np.arange(0, 2 * k + 1, 2), seed_node, seed_dist, limit, min_only=True
    )
    np.testing.assert_array_equal(dist, ref)
    reached = np.isfinite(dist)
    assert (lab[~reached] == -1).all()
    if not integer:  # with real-valued weights exact ties do not happen
        np.testing.assert_array_equal(lab[reached], ref_src[reached])
    # the label is always a source at exactly the node's distance
    for node in np.flatnonzero(reached)[:50]:
        mine = seed_node[label == lab[node]]
        own = scipy_from_seeds(
            graph,
            np.array([0, 2]),
            mine,
            seed_dist[label == lab[node]],
            limit,
            min_only=True,
        )[0][node]
        assert own == dist[node]


@pytest.mark.parametrize("seed", range(6))
def test_pairs_within_equals_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(30, 300))
    graph = random_graph(rng, n, int(rng.integers(n, 3 * n)), integer=seed % 2 == 0)
    k = int(rng.integers(1, 40))
    counts = rng.integers(1, 4, k)
    src_ptr = np.r_[0, np.cumsum(counts)]
    seed_node = rng.integers(0, n, src_ptr[-1])
    seed_dist = rng.uniform(1e-9, 30, src_ptr[-1])
    n_targets = int(rng.integers(1, 200))
    tgt_node = rng.integers(0, n, 2 * n_targets)
    tgt_id = np.tile(np.arange(n_targets), 2)
    tgt_off = rng.uniform(0, 25, 2 * n_targets)
    order = np.argsort(tgt_node, kind="stable")
    tgt_ptr = np.r_[0, np.cumsum(np.bincount(tgt_node, minlength=n))]
    limit = float(rng.choice([20.0, 60.0, 150.0]))
    src, tgt, dist = _bounded.pairs_within(
        _bounded.Graph(graph.indptr, graph.indices, graph.data),
        _bounded.SourceSeeds(src_ptr, seed_node, seed_dist),
        _bounded.NodeTargets(tgt_ptr, tgt_id[order], tgt_off[order], n_targets),
        limit=limit,
        threads=2,
    )
    ref = scipy_from_seeds(graph, src_ptr, seed_node, seed_dist, limit, min_only=False)
    expect = np.full((k, n_targets), np.inf)
    for half in (0, 1):
        nodes = tgt_node[half * n_targets : (half + 1) * n_targets]
        off = tgt_off[half * n_targets : (half + 1) * n_targets]
        expect = np.minimum(expect, ref[:, nodes] + off[None, :])
    expect[expect > limit] = np.inf
    got = np.full((k, n_targets), np.inf)
    got[src, tgt] = dist
    np.testing.assert_array_equal(got, expect)
    # one row per pair, each source's pairs together
    assert np.unique(src * n_targets + tgt).size == src.size
    assert np.unique(src).size == np.count_nonzero(np.diff(src)) + (src.size > 0)


def test_pairs_within_same_with_any_thread_count():
    rng = np.random.default_rng(5)
    n = 2000
    graph = random_graph(rng, n, 5000)
    k = 900  # several chunks
    src_ptr = np.arange(k + 1)
    seed_node = rng.integers(0, n, k)
    seed_dist = rng.uniform(0, 10, k)
    tgt_ptr = np.arange(n + 1)
    args = (
        _bounded.Graph(graph.indptr, graph.indices, graph.data),
        _bounded.SourceSeeds(src_ptr, seed_node, seed_dist),
        _bounded.NodeTargets(tgt_ptr, np.arange(n), np.zeros(n), n),
    )
    one = _bounded.pairs_within(*args, limit=150.0, threads=1)
    two = _bounded.pairs_within(*args, limit=150.0, threads=3)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("threads", [1, 2])
def test_pairs_within_reuses_scratch_cleanly_across_sources_and_spans(threads):
    # many overlapping searches, one source with more seeds than the first heap holds and
    # several targets on a node: every span of a thread reuses the same scratch arrays
    rng = np.random.default_rng(7)
    n = 400
    graph = random_graph(rng, n, 1600)
    counts = rng.integers(1, 4, 120)
    counts[17] = 700
    src_ptr = np.r_[0, np.cumsum(counts)]
    seed_node = rng.integers(0, n, src_ptr[-1])
    seed_dist = rng.uniform(1e-9, 30, src_ptr[-1])
    n_targets = 900
    tgt_node = rng.integers(0, n // 3, n_targets)  # crowded onto a third of the nodes
    tgt_off = rng.uniform(0, 25, n_targets)
    order = np.argsort(tgt_node, kind="stable")
    tgt_ptr = np.r_[0, np.cumsum(np.bincount(tgt_node, minlength=n))]
    src, tgt, dist = _bounded.pairs_within(
        _bounded.Graph(graph.indptr, graph.indices, graph.data),
        _bounded.SourceSeeds(src_ptr, seed_node, seed_dist),
        _bounded.NodeTargets(tgt_ptr, np.arange(n_targets)[order], tgt_off[order], n_targets),
        limit=90.0,
        threads=threads,
    )
    ref = scipy_from_seeds(graph, src_ptr, seed_node, seed_dist, 90.0, min_only=False)
    expect = ref[:, tgt_node] + tgt_off[None, :]
    expect[expect > 90.0] = np.inf
    got = np.full(expect.shape, np.inf)
    got[src, tgt] = dist
    np.testing.assert_array_equal(got, expect)
    assert np.unique(src * n_targets + tgt).size == src.size


def test_heap_grows_past_its_first_allocation():
    # a star: the centre pushes every leaf at once, far more than the initial heap holds
    n = 5000
    leaves = np.arange(1, n)
    graph = sp.csr_matrix(
        (
            np.r_[np.ones(n - 1), np.ones(n - 1)],
            (np.r_[np.zeros(n - 1), leaves], np.r_[leaves, np.zeros(n - 1)]),
        ),
        shape=(n, n),
    )
    dist, lab = _bounded.nearest_sources(
        graph.indptr,
        graph.indices,
        graph.data,
        np.array([0]),
        np.array([0.5]),
        np.array([0]),
        limit=10.0,
    )
    assert dist[0] == 0.5
    assert (dist[1:] == 1.5).all()
    assert (lab == 0).all()
    src, tgt, _ = _bounded.pairs_within(
        _bounded.Graph(graph.indptr, graph.indices, graph.data),
        _bounded.SourceSeeds(np.array([0, 1]), np.array([0]), np.array([0.5])),
        _bounded.NodeTargets(np.arange(n + 1), np.arange(n), np.zeros(n), n),
        limit=10.0,
    )
    assert src.size == n
    np.testing.assert_array_equal(np.sort(tgt), np.arange(n))


def test_limit_is_inclusive_and_far_seeds_are_ignored():
    # path 0 - 1 - 2 with unit weights
    graph = sp.csr_matrix(
        (np.ones(4), (np.array([0, 1, 1, 2]), np.array([1, 0, 2, 1]))), shape=(3, 3)
    )
    dist, lab = _bounded.nearest_sources(
        graph.indptr,
        graph.indices,
        graph.data,
        np.array([0, 2]),
        np.array([1.0, 5.0]),
        np.array([0, 1]),
        limit=2.0,
    )
    np.testing.assert_array_equal(dist, [1.0, 2.0, np.inf])
    np.testing.assert_array_equal(lab, [0, 0, -1])


def test_exact_ties_go_to_the_lowest_label():
    graph = sp.csr_matrix(
        (np.ones(4), (np.array([0, 1, 1, 2]), np.array([1, 0, 2, 1]))), shape=(3, 3)
    )
    # sources 0 and 1 both sit at node 1, at the same distance; source 1 listed first
    dist, lab = _bounded.nearest_sources(
        graph.indptr,
        graph.indices,
        graph.data,
        np.array([1, 1]),
        np.array([2.0, 2.0]),
        np.array([1, 0]),
        limit=10.0,
    )
    np.testing.assert_array_equal(dist, [3.0, 2.0, 3.0])
    np.testing.assert_array_equal(lab, [0, 0, 0])


def test_empty_inputs():
    graph = sp.csr_matrix((3, 3))
    dist, lab = _bounded.nearest_sources(
        graph.indptr,
        graph.indices,
        graph.data,
        np.array([], dtype=np.int64),
        np.array([]),
        np.array([], dtype=np.int64),
        limit=10.0,
    )
    assert np.isinf(dist).all()
    assert (lab == -1).all()
    src, tgt, d = _bounded.pairs_within(
        _bounded.Graph(graph.indptr, graph.indices, graph.data),
        _bounded.SourceSeeds(np.array([0]), np.array([], dtype=np.int64), np.array([])),
        _bounded.NodeTargets(
            np.zeros(4, dtype=np.int64), np.array([], dtype=np.int64), np.array([]), 0
        ),
        limit=10.0,
    )
    assert src.size == tgt.size == d.size == 0


# --- reach against the scipy implementation it replaced -------------------------------------


def _scipy_augmented(network, sources):
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
    matrix = sp.csr_matrix((vals[first], (rows[first], cols[first])), shape=(size, size))
    return matrix, virtual


def old_nearest_facility(network, demand, facilities, *, limit_m):
    """``reach.nearest_facility`` as it was with scipy (min_only on the augmented graph)."""
    n_dem = len(demand)
    walk = np.full(n_dem, np.inf)
    nearest = np.full(n_dem, -1, dtype=np.int64)
    fac_pos = np.flatnonzero(facilities.ok)
    if fac_pos.size and demand.ok.any():
        graph, virtual = _scipy_augmented(network, facilities)
        dist, _, src = csgraph.dijkstra(
            graph,
            directed=True,
            indices=virtual,
            limit=limit_m,
            min_only=True,
            return_predecessors=True,
        )
        d_ok = np.flatnonzero(demand.ok)
        edge = demand.edge[d_ok]
        u = network.edge_u[edge]
        v = network.edge_v[edge]
        via_u = demand.to_u_m[d_ok] + dist[u]
        via_v = demand.to_v_m[d_ok] + dist[v]
        use_v = via_v < via_u
        best = np.where(use_v, via_v, via_u)
        best_src = np.where(use_v, src[v], src[u])
        walk[d_ok] = demand.snap_m[d_ok] + best
        found = np.isfinite(best) & (best_src >= 0)
        nearest[d_ok[found]] = fac_pos[best_src[found] - network.n_nodes]
        dem_i, fac_i, along = reach._same_edge_pairs(demand, facilities)
        if dem_i.size:
            total = demand.snap_m[dem_i] + facilities.snap_m[fac_i] + along
            order = np.lexsort((total, dem_i))
            dem_s, tot_s, fac_s = dem_i[order], total[order], fac_i[order]
            first = np.ones(dem_s.size, dtype=bool)
            first[1:] = dem_s[1:] != dem_s[:-1]
            dem_s, tot_s, fac_s = dem_s[first], tot_s[first], fac_s[first]
            better = tot_s < walk[dem_s]
            walk[dem_s[better]] = tot_s[better]
            nearest[dem_s[better]] = fac_s[better]
    walk[walk > limit_m] = np.inf
    nearest[~np.isfinite(walk)] = -1
    walk[~np.isfinite(walk)] = np.nan
    return walk, nearest


def old_pair_distances(network, sites, demand, *, limit_m):
    """``reach.pair_distances`` as it was: scipy ``dijkstra(indices=block)`` per block."""
    site_pos = np.flatnonzero(sites.ok)
    out_s, out_d, out_w = [], [], []
    d_ok = np.flatnonzero(demand.ok)
    if site_pos.size and d_ok.size:
        graph, virtual = _scipy_augmented(network, sites)
        edge = demand.edge[d_ok]
        u = network.edge_u[edge]
        v = network.edge_v[edge]
        to_u = demand.to_u_m[d_ok]
        to_v = demand.to_v_m[d_ok]
        snap = demand.snap_m[d_ok]
        dist = csgraph.dijkstra(graph, directed=True, indices=virtual, limit=limit_m)
        walk = snap[None, :] + np.minimum(to_u[None, :] + dist[:, u], to_v[None, :] + dist[:, v])
        rows, cols = np.nonzero(walk <= limit_m)
        out_s.append(site_pos[rows])
        out_d.append(d_ok[cols])
        out_w.append(walk[rows, cols])
        dem_i, site_i, along = reach._same_edge_pairs(demand, sites)
        if dem_i.size:
            total = demand.snap_m[dem_i] + sites.snap_m[site_i] + along
            keep = total <= limit_m
            out_s.append(site_i[keep])
            out_d.append(dem_i[keep])
            out_w.append(total[keep])
    if not out_s:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([])
    s_all = np.concatenate(out_s)
    d_all = np.concatenate(out_d)
    w_all = np.concatenate(out_w)
    order = np.lexsort((w_all, d_all, s_all))
    s_all, d_all, w_all = s_all[order], d_all[order], w_all[order]
    first = np.ones(s_all.size, dtype=bool)
    first[1:] = (s_all[1:] != s_all[:-1]) | (d_all[1:] != d_all[:-1])
    return s_all[first], d_all[first], w_all[first]


def grid_network(rng, side=15, spacing=40.0):
    xs, ys = np.meshgrid(np.arange(side) * spacing, np.arange(side) * spacing)
    node_x = xs.ravel() + rng.normal(0, 4, side * side)
    node_y = ys.ravel() + rng.normal(0, 4, side * side)
    idx = np.arange(side * side).reshape(side, side)
    eu = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    ev = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    keep = rng.random(eu.size) > 0.15
    return nw.from_arrays(node_x=node_x, node_y=node_y, edge_u=eu[keep], edge_v=ev[keep])


@pytest.mark.parametrize("seed", range(4))
def test_reach_equals_the_scipy_implementation(seed):
    rng = np.random.default_rng(seed)
    net = grid_network(rng)
    extent = 14 * 40.0
    demand = snap_points(net, rng.uniform(-20, extent + 20, 400), rng.uniform(0, extent, 400))
    sites = snap_points(
        net, np.r_[rng.uniform(0, extent, 28), -600, -900], rng.uniform(0, extent, 30)
    )
    assert not sites.ok.all()  # some sites too far to snap
    # sites exactly on nodes (zero access leg and offset), and two at the same place
    on_node = snap_points(net, net.node_x[[0, 7, 7]], net.node_y[[0, 7, 7]])
    for facilities in (sites, on_node):
        for limit in (150.0, 400.0, 2000.0):
            res = reach.nearest_facility(net, demand, facilities, limit_m=limit)
            walk, nearest = old_nearest_facility(net, demand, facilities, limit_m=limit)
            np.testing.assert_array_equal(res.walk_m, walk)
            # exact ties (two defibs at one place) now go to the lowest position; scipy's
            # choice depended on its heap's internals
            differ = np.flatnonzero(res.nearest != nearest)
            for i in differ:
                tied = [
                    j
                    for j in np.flatnonzero(facilities.ok)
                    if reach.nearest_facility(
                        net, demand.subset([i]), facilities.subset([j]), limit_m=limit
                    ).walk_m[0]
                    == walk[i]
                ]
                assert len(tied) > 1
                assert res.nearest[i] == min(tied)
            assert facilities is on_node or differ.size == 0
            pairs = reach.pair_distances(net, facilities, demand, limit_m=limit)
            s_old, d_old, w_old = old_pair_distances(net, facilities, demand, limit_m=limit)
            np.testing.assert_array_equal(pairs.site, s_old)
            np.testing.assert_array_equal(pairs.demand, d_old)
            np.testing.assert_array_equal(pairs.walk_m, w_old)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**32 - 1),
    st.floats(min_value=1.0, max_value=1e4),
)
def test_nearest_sources_never_beats_scipy(seed, limit):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    graph = random_graph(rng, n, int(rng.integers(1, 3 * n)))
    k = int(rng.integers(1, 5))
    seed_node = rng.integers(0, n, k)
    seed_dist = rng.uniform(1e-9, 100, k)
    dist, _ = _bounded.nearest_sources(
        graph.indptr, graph.indices, graph.data, seed_node, seed_dist, np.arange(k), limit=limit
    )
    ref, _ = scipy_from_seeds(graph, np.arange(k + 1), seed_node, seed_dist, limit, min_only=True)
    np.testing.assert_array_equal(dist, ref)


def test_edge_pairs_match_every_pair_sharing_an_edge():
    from defibmap.analysis import _joins

    rng = np.random.default_rng(7)
    a_edge = rng.integers(0, 6, 40)
    b_edge = rng.integers(0, 6, 30)
    i, j = _joins.edge_pairs(a_edge, b_edge)
    brute = [
        (x, y) for x in range(a_edge.size) for y in range(b_edge.size) if a_edge[x] == b_edge[y]
    ]
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == brute
    i, j = _joins.edge_pairs(a_edge, b_edge[:0])
    assert i.size == j.size == 0
