"""The walking network's array form: :class:`Network` and its ``.npz`` file form.

A :class:`Network` holds an undirected walking network as arrays: a symmetric CSR adjacency of
metres (parallel edges keep the shortest, self-loops are dropped), the node coordinates and,
per edge, the end nodes, length and projected geometry (needed for snapping to the nearest
point on an edge). :func:`from_arrays` builds one from plain arrays; :func:`save` and
:func:`load` keep one on disk (geometries as WKB), under a :func:`cache_key` of its source.

Private to the package: :mod:`defibmap.network.walk`, which builds the network from OpenStreetMap
and networkx graphs, re-exports every public name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import shapely

from defibmap._errors import NetworkError
from defibmap._files import write_text_atomic
from defibmap.network import _snap_index
from defibmap.network._base import (
    CACHE_FORMAT,
    EdgeArrays,
    cache_key,
    read_network,
    unpack_wkb,
    write_network,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import NDArray

    from defibmap.network._snap_index import SnapIndex

__all__ = ["MIN_EDGE_LENGTH_M", "Network", "cache_key", "from_arrays", "load", "save"]

#: Edge lengths below this are raised to it, so the sparse graph keeps zero-length edges.
MIN_EDGE_LENGTH_M = 1e-6


@dataclass(frozen=True, eq=False)
class Network(EdgeArrays):
    """An undirected walking network held as arrays.

    Attributes
    ----------
    adjacency
        Symmetric ``(n, n)`` CSR matrix of edge lengths in metres. Parallel edges keep the
        shortest; zero lengths are raised to :data:`MIN_EDGE_LENGTH_M` so they stay edges.
    node_x, node_y
        Node coordinates in ``crs`` (metres).
    node_ids
        The original node labels (OSM node ids for OpenStreetMap networks), ``int64``.
    edge_u, edge_v
        Node *positions* (0..n-1) at each end of every edge; the edge geometry runs u to v.
    edge_length_m
        Walking length of every edge in metres (osmnx's great-circle length).
    edge_geometry
        Shapely ``LineString`` array of every edge in ``crs``, running from u to v.
    crs
        The projected CRS of the coordinates, as a string understood by pyproj.
    source
        Where the network came from (a file name, a place query or ``"graph"``).
    """

    adjacency: sp.csr_matrix
    node_x: NDArray[np.float64]
    node_y: NDArray[np.float64]
    node_ids: NDArray[np.int64]
    edge_u: NDArray[np.int64]
    edge_v: NDArray[np.int64]
    edge_length_m: NDArray[np.float64]
    edge_geometry: NDArray[np.object_]
    crs: str
    source: str = "graph"
    _tree: list[shapely.STRtree] = field(default_factory=list, repr=False, compare=False)
    _snap: list[SnapIndex] = field(default_factory=list, repr=False, compare=False)

    def snap_index(self) -> SnapIndex:
        """Return the grid of edge segments that snapping searches, built once and kept."""
        if not self._snap:
            coords, owner = shapely.get_coordinates(self.edge_geometry, return_index=True)
            offsets = np.zeros(self.n_edges + 1, dtype=np.int64)
            np.cumsum(np.bincount(owner, minlength=self.n_edges), out=offsets[1:])
            self._snap.append(_snap_index.build(coords, offsets))
        return self._snap[0]


def from_arrays(
    *,
    node_x: NDArray[np.float64],
    node_y: NDArray[np.float64],
    edge_u: NDArray[np.int64],
    edge_v: NDArray[np.int64],
    edge_length_m: NDArray[np.float64] | None = None,
    edge_geometry: NDArray[np.object_] | None = None,
    node_ids: NDArray[np.int64] | None = None,
    crs: str = "EPSG:27700",
) -> Network:
    """Build a :class:`Network` from node coordinates and edge end positions.

    Its ``source`` is ``"arrays"``; a caller that knows where the arrays came from names it
    with :func:`dataclasses.replace` (``replace(net, source="...")``).

    Parameters
    ----------
    node_x, node_y
        Node coordinates in ``crs`` (metres).
    edge_u, edge_v
        Node positions at the ends of every undirected edge.
    edge_length_m
        Edge lengths in metres; default the length of ``edge_geometry`` (or the straight line).
    edge_geometry
        Edge geometries running u to v; default straight lines between the end nodes.
    node_ids
        Node labels; default ``0..n-1``.
    crs
        Projected CRS of the coordinates.

    Returns
    -------
    Network
    """
    node_x = np.asarray(node_x, dtype=np.float64)
    node_y = np.asarray(node_y, dtype=np.float64)
    edge_u = np.asarray(edge_u, dtype=np.int64)
    edge_v = np.asarray(edge_v, dtype=np.int64)
    n = node_x.shape[0]
    if edge_geometry is None:
        coords = np.stack(
            [
                np.column_stack([node_x[edge_u], node_y[edge_u]]),
                np.column_stack([node_x[edge_v], node_y[edge_v]]),
            ],
            axis=1,
        )
        edge_geometry = shapely.linestrings(coords)
    edge_geometry = np.asarray(edge_geometry, dtype=object)
    if edge_length_m is None:
        edge_length_m = shapely.length(edge_geometry)
    edge_length_m = np.asarray(edge_length_m, dtype=np.float64)
    if np.any(~np.isfinite(edge_length_m)) or np.any(edge_length_m < 0):
        msg = "edge lengths must be finite and non-negative metres"
        raise NetworkError(msg)
    adjacency = _symmetric_min_csr(edge_u, edge_v, edge_length_m, n)
    ids = np.arange(n, dtype=np.int64) if node_ids is None else np.asarray(node_ids, np.int64)
    return Network(
        adjacency=adjacency,
        node_x=node_x,
        node_y=node_y,
        node_ids=ids,
        edge_u=edge_u,
        edge_v=edge_v,
        edge_length_m=edge_length_m,
        edge_geometry=edge_geometry,
        crs=crs,
        source="arrays",
    )


def _symmetric_min_csr(
    u: NDArray[np.int64], v: NDArray[np.int64], w: NDArray[np.float64], n: int
) -> sp.csr_matrix:
    """Symmetric CSR of edge weights keeping the minimum over parallel edges.

    scipy sums duplicate entries when converting from COO, so duplicates are reduced to their
    minimum first. Self-loops are dropped (they never shorten a path).
    """
    keep = u != v
    rows = np.concatenate([u[keep], v[keep]])
    cols = np.concatenate([v[keep], u[keep]])
    vals = np.maximum(np.concatenate([w[keep], w[keep]]), MIN_EDGE_LENGTH_M)
    if rows.size:
        order = np.lexsort((vals, cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        first = np.ones(rows.size, dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, vals = rows[first], cols[first], vals[first]
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


# ---------------------------------------------------------------------------------------------
# On-disk cache: the shared .npz form (defibmap.network._base) plus a format number, keyed by a
# hash of the source file's bytes (or the query), with the query and date in a JSON sidecar.
# ---------------------------------------------------------------------------------------------


def save(network: Network, path: str | Path, *, meta: dict[str, Any] | None = None) -> None:
    """Save a network to ``path`` (``.npz``) atomically, with a JSON sidecar of ``meta``."""
    path = Path(path)
    write_network(path, network, {"format": np.array(CACHE_FORMAT)})
    side = {"crs": network.crs, "source": network.source, **(meta or {})}
    write_text_atomic(path.with_suffix(".json"), json.dumps(side, indent=2))


def _from_file(data: Mapping[str, NDArray[np.generic]]) -> Network:
    """Rebuild a network from the arrays of an open ``.npz`` written by :func:`save`."""
    if int(data["format"]) != CACHE_FORMAT:
        msg = f"network cache format {int(data['format'])} is not supported"
        raise NetworkError(msg)
    built = from_arrays(
        node_x=np.asarray(data["node_x"], dtype=np.float64),
        node_y=np.asarray(data["node_y"], dtype=np.float64),
        edge_u=np.asarray(data["edge_u"], dtype=np.int64),
        edge_v=np.asarray(data["edge_v"], dtype=np.int64),
        edge_length_m=np.asarray(data["edge_length_m"], dtype=np.float64),
        edge_geometry=unpack_wkb(data),
        node_ids=np.asarray(data["node_ids"], dtype=np.int64),
        crs=str(data["crs"]),
    )
    return replace(built, source=str(data["source"]))


def load(path: str | Path) -> Network:
    """Load a network saved by :func:`save`; a damaged file raises :class:`NetworkError`."""
    return read_network(
        Path(path), _from_file, damaged="the saved network is damaged or not a defibmap network"
    )
