"""Walkable reach areas: the parts of the street network within a walk of a set of sites.

A reach area is drawn from network distances, not circles: every stretch of walkable edge whose
walk from the nearest site is at most the threshold, widened by :data:`ACCESS_BUFFER_M` on each
side for the short straight leg a walker takes between the path and a front door. An edge is
kept whole when it is reachable end to end and cut where the walk runs out otherwise, so long
edges are neither dropped nor over-drawn. Sites join the network as in
:mod:`defibmap.analysis.reach`: an
access leg to the snap point, then along their edge to either end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse import csgraph

from defibmap.analysis import _joins

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from defibmap.network.snapping import Snapped
    from defibmap.network.walk import Network

__all__ = ["ACCESS_BUFFER_M", "node_distances_m", "reach_polygons"]

#: Half-width, metres, of the band drawn around reachable paths (a walker's access leg).
ACCESS_BUFFER_M = 25.0
#: Points sampled along a partly reachable edge to draw the reachable part.
_PIECE_POINTS = 12
#: Drawing tolerance, metres: reach outlines are simplified by this much.
_SIMPLIFY_M = 2.0


def node_distances_m(network: Network, sites: Snapped, *, limit_m: float) -> NDArray[np.float64]:
    """Walk in metres from the nearest site to every network node.

    One bounded Dijkstra search from a single virtual source joined to both ends of every
    site's edge (access leg plus the walk along the edge), so the cost does not grow with the
    number of sites.

    Parameters
    ----------
    network : Network
        The walking network (projected CRS, metres).
    sites : Snapped
        Snapped sites; points that did not snap are ignored.
    limit_m : float
        Search limit, metres; nodes farther away get ``inf``.

    Returns
    -------
    numpy.ndarray
        ``(n_nodes,)`` float64 metres, ``inf`` where no site lies within ``limit_m``.
    """
    n = network.n_nodes
    ok = np.flatnonzero(sites.ok)
    if not ok.size or not n:
        return np.full(n, np.inf)
    # The seeds are at least MIN_SEED_M long: csgraph drops stored zeros as "no edge", and a
    # site exactly on a node must still reach it.
    ends, legs = _joins.end_seeds(network, sites)
    first_leg = np.full(n, np.inf)
    np.minimum.at(first_leg, ends, legs)
    joined = np.flatnonzero(np.isfinite(first_leg))
    weights = first_leg[joined]
    source_row = sp.csr_matrix(
        (weights, (np.zeros(joined.size, dtype=np.int64), joined)), shape=(1, n)
    )
    graph = sp.vstack(
        [
            sp.hstack([network.adjacency, sp.csr_matrix((n, 1))]),
            sp.hstack([source_row, sp.csr_matrix((1, 1))]),
        ],
        format="csr",
    )
    dist = csgraph.dijkstra(graph, directed=True, indices=n, limit=limit_m)
    return np.asarray(dist[:n], dtype=np.float64)


def _pieces(
    geometry: NDArray[np.object_],
    length_m: NDArray[np.float64],
    start_m: NDArray[np.float64],
    end_m: NDArray[np.float64],
) -> NDArray[np.object_]:
    """Sub-lines of ``geometry`` from ``start_m`` to ``end_m`` along each edge (sampled)."""
    if not geometry.size:
        return np.empty(0, dtype=object)
    scale = np.maximum(length_m, 1e-9)
    steps = np.linspace(0.0, 1.0, _PIECE_POINTS)
    fraction = (start_m[:, None] + (end_m - start_m)[:, None] * steps[None, :]) / scale[:, None]
    points = shapely.line_interpolate_point(
        np.repeat(geometry, _PIECE_POINTS), np.clip(fraction, 0.0, 1.0).ravel(), normalized=True
    )
    coords = shapely.get_coordinates(points).reshape(geometry.size, _PIECE_POINTS, 2)
    return np.asarray(shapely.linestrings(coords), dtype=object)


def reach_polygons(
    network: Network,
    sites: Snapped,
    *,
    thresholds_m: tuple[float, ...] | list[float],
    buffer_m: float = ACCESS_BUFFER_M,
) -> gpd.GeoDataFrame:
    """Areas within a walk of the nearest site, one (multi)polygon per threshold.

    Parameters
    ----------
    network : Network
        The walking network (projected CRS, metres).
    sites : Snapped
        Snapped sites (defibs); the walk includes each site's access leg.
    thresholds_m : sequence of float
        Walking distances, metres, e.g. ``(500,)``.
    buffer_m : float, default ACCESS_BUFFER_M
        Half-width of the band drawn around the reachable paths, metres.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per threshold (column ``threshold_m``), geometry in ``network.crs``; an empty
        polygon where nothing is reachable.
    """
    thresholds = sorted({float(t) for t in thresholds_m})
    dist = node_distances_m(network, sites, limit_m=max(thresholds, default=0.0))
    d_u, d_v = dist[network.edge_u], dist[network.edge_v]
    length = network.edge_length_m
    geometry = np.asarray(network.edge_geometry, dtype=object)
    ok = np.flatnonzero(sites.ok)
    shapes = []
    for threshold in thresholds:
        left_u = threshold - d_u  # walk left on arriving at u (negative: u out of reach)
        left_v = threshold - d_v
        whole = (left_u >= 0) & (left_v >= 0) & (left_u + left_v >= length)
        from_u = (left_u > 0) & ~whole
        from_v = (left_v > 0) & ~whole
        # around each site on its own edge, both ways from the snap point
        room = threshold - sites.snap_m[ok]
        near = room > 0
        site_edge = sites.edge[ok][near]
        site_at = sites.to_u_m[ok][near]
        starts = np.concatenate(
            [
                np.zeros(int(from_u.sum())),
                length[from_v] - np.minimum(left_v[from_v], length[from_v]),
                np.maximum(site_at - room[near], 0.0),
            ]
        )
        ends = np.concatenate(
            [
                np.minimum(left_u[from_u], length[from_u]),
                length[from_v],
                np.minimum(site_at + room[near], length[site_edge]),
            ]
        )
        edges = np.concatenate([np.flatnonzero(from_u), np.flatnonzero(from_v), site_edge])
        keep = ends > starts
        lines = np.concatenate(
            [
                geometry[whole],
                _pieces(geometry[edges[keep]], length[edges[keep]], starts[keep], ends[keep]),
            ]
        )
        if lines.size:
            band = shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=4))
            shapes.append(shapely.simplify(band, _SIMPLIFY_M))
        else:
            shapes.append(shapely.Polygon())
    return gpd.GeoDataFrame({"threshold_m": thresholds}, geometry=shapes, crs=network.crs)
