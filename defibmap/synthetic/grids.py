"""Large synthetic street grids and random points near them, for benchmarks.

Pure numpy: a perturbed square grid with removed edges, diagonal footpaths and a barrier with
few crossings, in local metres labelled EPSG:27700. Re-exported by :mod:`defibmap.synthetic.town`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from defibmap.network.walk import Network, from_arrays

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["random_points", "street_grid_network"]

_CRS = "EPSG:27700"


def street_grid_network(n_nodes: int, *, seed: int = 0, spacing_m: float = 80.0) -> Network:
    """Build a large perturbed street grid of about ``n_nodes`` nodes, for benchmarks.

    About 9% of grid edges are removed, 5% of blocks get a diagonal footpath, and a barrier
    (a railway) runs across the middle with a crossing every 200 columns (at least three).
    Only the largest connected piece is kept. Edges are straight lines (no geometry arrays
    beyond the two end points). Pure numpy: 1.5 million nodes take seconds.

    Parameters
    ----------
    n_nodes
        Roughly how many nodes to make (the grid is square; a few are lost to the barrier
        and removed edges).
    seed
        Seed of numpy's ``default_rng``.
    spacing_m
        Grid spacing in metres.

    Returns
    -------
    Network
        In EPSG:27700 (local metres from the origin), source ``"synthetic street grid"``.
    """
    rng = np.random.default_rng(seed)
    side = max(2, int(np.ceil(np.sqrt(n_nodes))))
    rows = max(2, int(np.ceil(n_nodes / side)))
    n = side * rows
    jj, ii = np.divmod(np.arange(n, dtype=np.int64), side)
    x = ii * spacing_m + rng.normal(0.0, 0.1 * spacing_m, n)
    y = jj * spacing_m + rng.normal(0.0, 0.1 * spacing_m, n)
    h = np.flatnonzero(ii < side - 1)
    v = np.flatnonzero(jj < rows - 1)
    d = np.flatnonzero((ii < side - 1) & (jj < rows - 1))
    d = d[rng.random(d.size) < 0.05]
    edge_u = np.concatenate([h, v, d])
    edge_v = np.concatenate([h + 1, v + side, d + side + 1])
    keep = rng.random(edge_u.size) >= 0.09
    barrier = rows // 2
    crosses = (jj[edge_u] < barrier) & (jj[edge_v] >= barrier)
    n_cross = max(3, side // 200)
    open_cols = np.linspace(0, side - 1, n_cross + 2)[1:-1].round().astype(np.int64)
    bridge = crosses & (edge_v == edge_u + side) & np.isin(ii[edge_u], open_cols)
    keep = (keep & ~crosses) | bridge
    edge_u, edge_v = edge_u[keep], edge_v[keep]
    graph = sp.coo_matrix((np.ones(edge_u.size), (edge_u, edge_v)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    best = np.bincount(labels).argmax()
    on = labels == best
    new = np.cumsum(on) - 1
    keep = on[edge_u]
    built = from_arrays(
        node_x=x[on],
        node_y=y[on],
        edge_u=new[edge_u[keep]],
        edge_v=new[edge_v[keep]],
        edge_geometry=None,
        crs=_CRS,
    )
    return replace(built, source="synthetic street grid")


def random_points(
    network: Network, n: int, *, seed: int = 0, max_offset_m: float = 40.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Random points near a network, for benchmark demand and candidate sites.

    Each point lies at a uniform position along an edge chosen with probability proportional
    to its length, moved up to ``max_offset_m`` metres in a random direction.

    Parameters
    ----------
    network
        The network, in a projected CRS (metres).
    n
        Number of points.
    seed
        Seed of numpy's ``default_rng``.
    max_offset_m
        Largest distance of a point from its edge, in metres.

    Returns
    -------
    tuple of ndarray
        ``x`` and ``y`` in the network's CRS.
    """
    rng = np.random.default_rng(seed)
    length = network.edge_length_m
    edge = rng.choice(length.size, size=n, p=length / length.sum())
    along = shapely.line_interpolate_point(
        network.edge_geometry[edge], rng.random(n), normalized=True
    )
    xy = shapely.get_coordinates(along)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    offset = max_offset_m * np.sqrt(rng.random(n))
    return xy[:, 0] + offset * np.cos(angle), xy[:, 1] + offset * np.sin(angle)
