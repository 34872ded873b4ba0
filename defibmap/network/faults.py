"""Faults in a walking network: islands, zero-length edges, self-loops.

A network built from OpenStreetMap keeps only its largest connected component (osmnx's
``largest_component``), so a point whose nearest path lies on a dropped island joins the main
network by a longer access leg, or is rejected when that leg passes ``max_snap_m``. A network
given directly (``[network] graph_file``, :func:`defibmap.network.walk.from_graph`,
:func:`defibmap.network.walk.from_arrays`) may still hold islands: a point snapped to one can only
reach the defibs on the same island, so it must be rejected and counted
(:data:`ISLAND_REASON`), never silently counted as covered or uncovered.

Zero-length edges (two nodes at one spot) stay edges: their length is raised to
:data:`defibmap.network.walk.MIN_EDGE_LENGTH_M` in the adjacency. Self-loops (a circular path that
starts and ends at one node) never shorten a walk and are left out of the adjacency, but stay
snappable: a point on a loop walks along it to its node either way round.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csgraph

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from defibmap.network.snapping import Snapped
    from defibmap.network.walk import Network

logger = logging.getLogger(__name__)

#: Rejection reason for a point whose nearest walkable edge is not on the main network.
ISLAND_REASON = "on a walking-network island not connected to the main network"
#: Edges at most this long (metres) count as zero-length.
ZERO_LENGTH_M = 1e-6


@dataclass(frozen=True)
class NetworkFaults:
    """Counts of the faults found in a network.

    Attributes
    ----------
    components
        Connected components (1 for a fully connected network, 0 when it has no nodes).
    island_nodes, island_edges
        Nodes and edges outside the largest component.
    zero_length_edges
        Edges of at most :data:`ZERO_LENGTH_M` metres.
    self_loops
        Edges whose two ends are the same node.
    """

    components: int
    island_nodes: int
    island_edges: int
    zero_length_edges: int
    self_loops: int

    def as_dict(self) -> dict[str, int]:
        """Return the counts, e.g. for ``summary.json``'s ``network``."""
        return asdict(self)

    def messages(self) -> list[str]:
        """Return one plain sentence per kind of fault found (none for a clean network)."""
        out = []
        if self.components > 1:
            out.append(
                f"the walking network has {self.components} disconnected pieces; "
                f"{self.island_nodes} nodes and {self.island_edges} edges lie off the main one"
            )
        if self.zero_length_edges:
            out.append(f"{self.zero_length_edges} edges have zero length")
        if self.self_loops:
            out.append(f"{self.self_loops} edges start and end at the same node")
        return out


def main_component(network: Network) -> NDArray[np.bool_]:
    """Return a node mask of the largest connected component (lowest label on ties).

    Parameters
    ----------
    network
        The walking network.

    Returns
    -------
    numpy.ndarray of bool
        One entry per node; all False for a network without nodes.
    """
    n = network.n_nodes
    if n == 0:
        return np.zeros(0, dtype=bool)
    _, labels = csgraph.connected_components(network.adjacency, directed=False)
    sizes = np.bincount(labels)
    return np.asarray(labels == int(np.argmax(sizes)), dtype=bool)


def inspect(network: Network) -> NetworkFaults:
    """Count the network's islands, zero-length edges and self-loops.

    Parameters
    ----------
    network
        The walking network.

    Returns
    -------
    NetworkFaults
    """
    n = network.n_nodes
    components = 0
    if n:
        components = int(csgraph.connected_components(network.adjacency, directed=False)[0])
    main = main_component(network)
    off = ~main[network.edge_u] if network.n_edges else np.zeros(0, dtype=bool)
    return NetworkFaults(
        components=components,
        island_nodes=int(n - main.sum()),
        island_edges=int(off.sum()),
        zero_length_edges=int(np.sum(network.edge_length_m <= ZERO_LENGTH_M)),
        self_loops=int(np.sum(network.edge_u == network.edge_v)),
    )


def log_faults(network: Network) -> NetworkFaults:
    """Inspect ``network``, log what it found and return the counts.

    Islands are logged as warnings (points on them are rejected); zero-length edges and
    self-loops, common and harmless in OpenStreetMap, at info level.
    """
    faults = inspect(network)
    for message in faults.messages():
        level = logging.WARNING if "disconnected" in message else logging.INFO
        logger.log(level, "%s: %s", network.source, message)
    return faults


def on_island(
    network: Network, snapped: Snapped, *, main: NDArray[np.bool_] | None = None
) -> NDArray[np.bool_]:
    """Return True for snapped points whose edge lies off the network's largest component.

    Parameters
    ----------
    network
        The walking network the points were snapped to.
    snapped
        The snapped points (unsnapped points are never on an island).
    main
        :func:`main_component` of ``network``, when already computed (one search per study
        instead of one per layer).

    Returns
    -------
    numpy.ndarray of bool
        One entry per point. Such points can only reach defibs on the same island; reject
        them with :data:`ISLAND_REASON`.
    """
    out = np.zeros(len(snapped), dtype=bool)
    ok = np.flatnonzero(snapped.ok)
    if ok.size:
        nodes = main_component(network) if main is None else main
        out[ok] = ~nodes[network.edge_u[snapped.edge[ok]]]
    return out
