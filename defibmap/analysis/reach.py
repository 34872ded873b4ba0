"""Walking distances and coverage along the network.

The walk from a demand point ``p`` to a defib ``d`` is::

    access leg of p + along p's edge to a node + network path + along d's edge + access leg of d

or, when both sit on the same edge, the two access legs plus the distance between the snap
points along that edge. Distances come from bounded Dijkstra searches started from the
facility side (:mod:`defibmap.analysis._bounded`): each facility starts the search at both ends of
its
edge, at its access leg plus its offset along the edge, so there is never one search per
demand point.

- :func:`nearest_facility` runs one multi-source search (the nearest facility of every node).
- :func:`pair_distances` runs one search per site, each bounded by the limit, whose cost grows
  with the nodes it reaches, never with the size of the network. (``scipy``'s ``dijkstra``
  with ``limit`` still initialises network-sized arrays for every source.)

The answers equal ``scipy.sparse.csgraph.dijkstra`` on the network with one virtual node per
facility, to the last bit (``tests/test_bounded.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from defibmap.analysis import _bounded, _joins

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from defibmap.network.snapping import Snapped
    from defibmap.network.walk import Network

#: The search limit is at least this many times the largest threshold.
SEARCH_LIMIT_FACTOR = 4.0


@dataclass(frozen=True)
class NearestResult:
    """Walking distance from every demand point to its nearest facility.

    Attributes
    ----------
    walk_m
        Metres to the nearest facility; NaN when none lies within the search limit or the
        point did not snap.
    nearest
        Position (in the facility array) of the nearest facility; -1 where ``walk_m`` is NaN.
    """

    walk_m: NDArray[np.float64]
    nearest: NDArray[np.int64]


def covered(walk_m: NDArray[np.float64], threshold_m: float) -> NDArray[np.bool_]:
    """Return which walks are covered: no longer than ``threshold_m`` metres.

    The one coverage rule of defibmap: a point is covered when its walk to the nearest site is
    at most the threshold; a NaN walk (no site within the search limit, or not snapped) is not
    covered.
    """
    with np.errstate(invalid="ignore"):
        return np.asarray(walk_m, dtype=np.float64) <= threshold_m


def search_limit_m(thresholds_m: Sequence[float]) -> float:
    """Return the search limit used for walking distances: 4 x the largest threshold."""
    return SEARCH_LIMIT_FACTOR * float(max(thresholds_m))


def nearest_facility(
    network: Network,
    demand: Snapped,
    facilities: Snapped,
    *,
    limit_m: float,
) -> NearestResult:
    """Measure the walking distance from each demand point to its nearest facility.

    Parameters
    ----------
    network
        The walking network.
    demand, facilities
        Snapped demand points and facilities (unsnapped entries are ignored).
    limit_m
        Search limit in metres; farther facilities count as unreachable (NaN).

    Returns
    -------
    NearestResult
    """
    n_dem = len(demand)
    walk = np.full(n_dem, np.inf)
    nearest = np.full(n_dem, -1, dtype=np.int64)
    fac_pos = np.flatnonzero(facilities.ok)
    if fac_pos.size and demand.ok.any():
        seed_node, seed_dist = _joins.end_seeds(network, facilities)
        adj = network.adjacency
        dist, src = _bounded.nearest_sources(
            adj.indptr,
            adj.indices,
            adj.data,
            seed_node,
            seed_dist,
            np.repeat(np.arange(fac_pos.size, dtype=np.int64), 2),
            limit=limit_m,
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
        nearest[d_ok[found]] = fac_pos[best_src[found]]
        # same edge: walk straight along it between the two snap points
        dem_i, fac_i, along = _same_edge_pairs(demand, facilities)
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
    return NearestResult(walk_m=walk, nearest=nearest)


def _same_edge_pairs(
    a: Snapped, b: Snapped
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """All (a, b) pairs snapped to the same edge, with their distance along it in metres."""
    a_pos = np.flatnonzero(a.ok)
    b_pos = np.flatnonzero(b.ok)
    i, j = _joins.edge_pairs(a.edge[a_pos], b.edge[b_pos])
    a_rep, b_rep = a_pos[i].astype(np.int64), b_pos[j].astype(np.int64)
    return a_rep, b_rep, np.abs(a.to_u_m[a_rep] - b.to_u_m[b_rep])


@dataclass(frozen=True)
class PairDistances:
    """Walking distances of every (site, demand point) pair within a limit.

    Memory grows with the number of reachable pairs, never as sites x demand points.

    Attributes
    ----------
    site, demand
        Positions of the site and the demand point in their input arrays.
    walk_m
        Walking distance in metres (access legs included).
    n_sites, n_demand
        Sizes of the two input arrays.
    """

    site: NDArray[np.int64]
    demand: NDArray[np.int64]
    walk_m: NDArray[np.float64]
    n_sites: int
    n_demand: int

    def cover_matrix(self, threshold_m: float) -> sp.csr_matrix:
        """Return a sites x demand boolean CSR matrix of pairs within ``threshold_m``."""
        keep = covered(self.walk_m, threshold_m)
        data = np.ones(int(keep.sum()), dtype=bool)
        return sp.csr_matrix(
            (data, (self.site[keep], self.demand[keep])), shape=(self.n_sites, self.n_demand)
        )


def pair_distances(
    network: Network,
    sites: Snapped,
    demand: Snapped,
    *,
    limit_m: float,
) -> PairDistances:
    """Measure the walk of every (site, demand point) pair no farther apart than ``limit_m``.

    One search per site, bounded by ``limit_m`` (:func:`defibmap.analysis._bounded.pairs_within`):
    its cost and memory grow with the nodes it reaches, and the result with the reachable
    pairs, never as sites x nodes.
    """
    site_pos = np.flatnonzero(sites.ok)
    out_s: list[NDArray[np.int64]] = []
    out_d: list[NDArray[np.int64]] = []
    out_w: list[NDArray[np.float64]] = []
    d_ok = np.flatnonzero(demand.ok)
    if site_pos.size and d_ok.size:
        seed_node, seed_dist = _joins.end_seeds(network, sites)
        tgt_ptr, tgt_id, tgt_off = _attach(network, demand, d_ok)
        adj = network.adjacency
        src, tgt, inner = _bounded.pairs_within(
            _bounded.Graph(adj.indptr, adj.indices, adj.data),
            _bounded.SourceSeeds(
                np.arange(0, seed_node.size + 1, 2, dtype=np.int64), seed_node, seed_dist
            ),
            _bounded.NodeTargets(tgt_ptr, tgt_id, tgt_off, d_ok.size),
            limit=limit_m,
        )
        walk = demand.snap_m[d_ok][tgt] + inner
        keep = walk <= limit_m
        out_s.append(site_pos[src[keep]])
        out_d.append(d_ok[tgt[keep]])
        out_w.append(walk[keep])
        dem_i, site_i, along = _same_edge_pairs(demand, sites)
        if dem_i.size:
            total = demand.snap_m[dem_i] + sites.snap_m[site_i] + along
            keep = total <= limit_m
            out_s.append(site_i[keep])
            out_d.append(dem_i[keep])
            out_w.append(total[keep])
    s_all = np.concatenate(out_s) if out_s else np.array([], dtype=np.int64)
    if s_all.size:
        d_all = np.concatenate(out_d)
        w_all = np.concatenate(out_w)
        # one row per pair, by site then demand point; a pair found both through the network
        # and along a shared edge keeps the shorter walk (one int64 key sorts far faster
        # than a three-key lexsort, and needs no stable sort: the minimum ignores order)
        key = s_all.astype(np.int64) * max(len(demand), 1) + d_all
        order = np.argsort(key)
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        w_all = np.minimum.reduceat(w_all[order], starts)
        s_all, d_all = s_all[order][starts], d_all[order][starts]
    else:
        s_all = np.array([], dtype=np.int64)
        d_all = np.array([], dtype=np.int64)
        w_all = np.array([], dtype=np.float64)
    return PairDistances(
        site=s_all.astype(np.int64),
        demand=d_all.astype(np.int64),
        walk_m=w_all,
        n_sites=len(sites),
        n_demand=len(demand),
    )


def _attach(
    network: Network, demand: Snapped, d_ok: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Demand points attached to both ends of their edge, as a CSR by node.

    Returns ``ptr``, ``ids`` (rank in ``d_ok``) and ``offset`` (metres along the edge to that
    end, the access leg not included): node ``u`` holds ``ids[ptr[u]:ptr[u + 1]]``.
    """
    edge = demand.edge[d_ok]
    node = np.concatenate([network.edge_u[edge], network.edge_v[edge]]).astype(np.int64)
    ids = np.tile(np.arange(d_ok.size, dtype=np.int64), 2)
    offset = np.concatenate([demand.to_u_m[d_ok], demand.to_v_m[d_ok]])
    order = np.argsort(node)  # a node's targets in any order: the searches take the minimum
    ptr = np.zeros(network.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(node, minlength=network.n_nodes), out=ptr[1:])
    return ptr, ids[order], offset[order]


def coverage_shares(
    walk_m: NDArray[np.float64],
    population: NDArray[np.float64],
    thresholds_m: Sequence[float],
) -> dict[str, float]:
    """Share (0-1) of population within each threshold, keyed by integer metres as a string.

    Points with a NaN walk (no facility within the search limit, or not snapped) count as
    not covered. The denominator is the population of every point given.
    """
    total = float(np.sum(population))
    shares: dict[str, float] = {}
    for threshold in thresholds_m:
        people = float(np.sum(population[covered(walk_m, threshold)]))
        shares[str(round(threshold))] = people / total if total > 0 else 0.0
    return shares


def straight_line_nearest(
    demand_x: NDArray[np.float64],
    demand_y: NDArray[np.float64],
    site_x: NDArray[np.float64],
    site_y: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Straight-line (crow-flies) metres from every demand point to its nearest site."""
    from scipy.spatial import cKDTree

    if not len(site_x):
        return np.full(len(demand_x), np.nan)
    tree = cKDTree(np.column_stack([site_x, site_y]))
    dist, _ = tree.query(np.column_stack([demand_x, demand_y]))
    return np.asarray(dist, dtype=np.float64)
