"""The driving network's array form: :class:`DriveNetwork` and its ``.npz`` file form.

A :class:`DriveNetwork` holds a directed driving network as arrays: *directed* CSR matrices of
seconds and metres (:func:`min_time_csr`: parallel edges keep the fastest, self-loops are
dropped), node coordinates and, per directed edge, the end nodes, length, time, speed and
projected geometry. :func:`save_drive` and :func:`load_drive` keep one on disk (geometries as
WKB).

Private to the package: :mod:`defibmap.network.drive`, which builds the network from OpenStreetMap,
re-exports every public name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from defibmap.network._base import EdgeArrays, read_network, unpack_wkb, write_network

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    import shapely
    from numpy.typing import NDArray

#: Times and lengths below these are raised to them so sparse matrices keep the edge.
MIN_EDGE_TIME_S = 1e-9
MIN_EDGE_LENGTH_M = 1e-9


@dataclass(frozen=True, eq=False)
class DriveNetwork(EdgeArrays):
    """A directed driving network held as arrays.

    Attributes
    ----------
    time_s
        ``(n, n)`` CSR matrix of free-flow travel time in seconds from row node to column
        node. Parallel edges keep the fastest; self-loops are dropped.
    length_m
        ``(n, n)`` CSR matrix, same sparsity structure as ``time_s``, of the length in metres
        of the edge kept in ``time_s`` (the fastest, not necessarily the shortest).
    node_x, node_y
        Node coordinates in ``crs`` (metres).
    node_ids
        OSM node ids, ``int64``.
    edge_u, edge_v
        Node positions (0..n-1) at the tail and head of every directed edge. A two-way street
        is two edges with the same geometry running opposite ways.
    edge_length_m
        Length of every edge in metres (osmnx's great-circle length).
    edge_time_s
        Free-flow travel time of every edge in seconds (osmnx's ``travel_time``).
    edge_speed_kph
        Speed of every edge in km/h (from ``maxspeed`` or the default for its road type).
    edge_geometry
        Shapely ``LineString`` array of every edge in ``crs``, running from u to v.
    crs
        The projected CRS of the coordinates.
    source
        Where the network came from.
    """

    time_s: sp.csr_matrix
    length_m: sp.csr_matrix
    node_x: NDArray[np.float64]
    node_y: NDArray[np.float64]
    node_ids: NDArray[np.int64]
    edge_u: NDArray[np.int64]
    edge_v: NDArray[np.int64]
    edge_length_m: NDArray[np.float64]
    edge_time_s: NDArray[np.float64]
    edge_speed_kph: NDArray[np.float64]
    edge_geometry: NDArray[np.object_]
    crs: str
    source: str = "graph"
    _tree: list[shapely.STRtree] = field(default_factory=list, repr=False, compare=False)

    def geometry_array(self) -> NDArray[np.object_]:
        """Return :attr:`edge_geometry`."""
        return self.edge_geometry


def min_time_csr(
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    time_s: NDArray[np.float64],
    length_m: NDArray[np.float64],
    n: int,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Directed CSR matrices of seconds and metres with one identical sparsity structure.

    Parallel edges keep the fastest and its length; self-loops are dropped; values are raised
    to :data:`MIN_EDGE_TIME_S` / :data:`MIN_EDGE_LENGTH_M` so every edge stays stored.
    """
    keep = u != v
    rows, cols = u[keep], v[keep]
    secs = np.maximum(time_s[keep], MIN_EDGE_TIME_S)
    metres = np.maximum(length_m[keep], MIN_EDGE_LENGTH_M)
    order = np.lexsort((metres, secs, cols, rows))
    rows, cols, secs, metres = rows[order], cols[order], secs[order], metres[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, secs, metres = rows[first], cols[first], secs[first], metres[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    time_csr = sp.csr_matrix((secs, cols, indptr), shape=(n, n))
    length_csr = sp.csr_matrix((metres, cols.copy(), indptr.copy()), shape=(n, n))
    return time_csr, length_csr


def save_drive(network: DriveNetwork, path: Path) -> None:
    """Save a driving network to ``path`` (``.npz``) atomically; geometries as WKB."""
    write_network(
        path,
        network,
        {"edge_time_s": network.edge_time_s, "edge_speed_kph": network.edge_speed_kph},
    )


def _from_file(data: Mapping[str, NDArray[np.generic]]) -> DriveNetwork:
    """Rebuild a driving network from the arrays of an open ``.npz`` from :func:`save_drive`."""
    node_x = np.asarray(data["node_x"], dtype=np.float64)
    edge_u = np.asarray(data["edge_u"], dtype=np.int64)
    edge_v = np.asarray(data["edge_v"], dtype=np.int64)
    edge_length_m = np.asarray(data["edge_length_m"], dtype=np.float64)
    edge_time_s = np.asarray(data["edge_time_s"], dtype=np.float64)
    time_s, length_m = min_time_csr(edge_u, edge_v, edge_time_s, edge_length_m, node_x.size)
    return DriveNetwork(
        time_s=time_s,
        length_m=length_m,
        node_x=node_x,
        node_y=np.asarray(data["node_y"], dtype=np.float64),
        node_ids=np.asarray(data["node_ids"], dtype=np.int64),
        edge_u=edge_u,
        edge_v=edge_v,
        edge_length_m=edge_length_m,
        edge_time_s=edge_time_s,
        edge_speed_kph=np.asarray(data["edge_speed_kph"], dtype=np.float64),
        edge_geometry=unpack_wkb(data),
        crs=str(data["crs"]),
        source=str(data["source"]),
    )


def load_drive(path: Path) -> DriveNetwork:
    """Load a driving network saved by :func:`save_drive`; damage raises NetworkError."""
    return read_network(path, _from_file, damaged="the saved driving network is damaged")
