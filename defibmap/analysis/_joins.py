"""How snapped points join a network search: seeds at the ends of their edge, shared edges.

A point snapped part-way along an edge reaches the network at the edge's end nodes
(:func:`end_seeds`), and reaches another point snapped to the same edge straight along it
(:func:`edge_pairs`), without going through a node. The walking searches
(:mod:`defibmap.analysis.reach`, :mod:`defibmap.analysis.reach_areas`) and the driving search
(:mod:`defibmap.analysis.drive_routes`) build on these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from defibmap.network.snapping import Snapped
    from defibmap.network.walk import Network

#: Smallest distance from a source to the ends of its edge, metres (keeps weights positive).
MIN_SEED_M = 1e-9


def end_seeds(network: Network, sources: Snapped) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Where walking searches from snapped sources start: both ends of each source's edge.

    Returns, per seed, its node and its distance in metres (access leg plus the walk along the
    edge, at least :data:`MIN_SEED_M` so a source sitting on a node stays a positive step
    away, as on scipy's sparse graphs). Seeds ``2 r`` and ``2 r + 1`` are the u and v ends of
    the ``r``-th snapped (``ok``) source; unsnapped sources have none.
    """
    pos = np.flatnonzero(sources.ok)
    edge = sources.edge[pos]
    node = np.empty(2 * pos.size, dtype=np.int64)
    node[0::2] = network.edge_u[edge]
    node[1::2] = network.edge_v[edge]
    dist = np.empty(2 * pos.size, dtype=np.float64)
    dist[0::2] = np.maximum(sources.snap_m[pos] + sources.to_u_m[pos], MIN_SEED_M)
    dist[1::2] = np.maximum(sources.snap_m[pos] + sources.to_v_m[pos], MIN_SEED_M)
    return node, dist


def edge_pairs(
    a_edge: NDArray[np.int64], b_edge: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every pair ``(i, j)`` with ``a_edge[i] == b_edge[j]``: entries sharing one edge.

    Pairs come ordered by ``i``, then by ``j`` (a stable sort of ``b_edge``). The work grows
    with the entries and pairs found, never as ``len(a_edge) * len(b_edge)``.
    """
    b_order = np.argsort(b_edge, kind="stable")
    b_sorted = b_edge[b_order]
    lo = np.searchsorted(b_sorted, a_edge, side="left")
    hi = np.searchsorted(b_sorted, a_edge, side="right")
    counts = hi - lo
    a_rep = np.repeat(np.arange(a_edge.size, dtype=np.int64), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    b_rep = b_order[np.repeat(lo, counts) + offsets]
    return a_rep, b_rep.astype(np.int64)
