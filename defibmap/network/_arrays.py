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
from defibmap.network import _mapped, _snap_index
from defibmap.network._base import (
    CACHE_FORMAT,
    EdgeArrays,
    cache_key,
    read_network,
    unpack_wkb,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import NDArray

    from defibmap.network._snap_index import SnapIndex

__all__ = ["MIN_EDGE_LENGTH_M", "Network", "cache_key", "from_arrays", "load", "save"]

#: Edge lengths below this are raised to it, so the sparse graph keeps zero-length edges.
MIN_EDGE_LENGTH_M = 1e-6
#: Form of the files :func:`save` writes: 2 is uncompressed, memory-mapped arrays with the
#: adjacency and snapping grid stored (1, compressed with WKB geometry, is still read).
FILE_FORMAT = 2


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
    edge_coords, edge_coord_offsets
        The vertices of every edge geometry, ``(m, 2)`` in ``crs``, edge after edge: edge
        ``e`` runs through ``edge_coords[edge_coord_offsets[e]:edge_coord_offsets[e + 1]]``.
        :attr:`edge_geometry` is built from them when first asked for.
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
    edge_coords: NDArray[np.float64]
    edge_coord_offsets: NDArray[np.int64]
    crs: str
    source: str = "graph"
    _tree: list[shapely.STRtree] = field(default_factory=list, repr=False, compare=False)
    _snap: list[SnapIndex] = field(default_factory=list, repr=False, compare=False)
    _geometry: list[NDArray[np.object_]] = field(default_factory=list, repr=False, compare=False)

    @property
    def edge_geometry(self) -> NDArray[np.object_]:
        """Shapely ``LineString`` array of every edge in ``crs``, running from u to v.

        Built from :attr:`edge_coords` when first asked for (a loaded region does not pay
        for millions of geometry objects it may never use), then kept.
        """
        if not self._geometry:
            geoms = shapely.from_ragged_array(
                shapely.GeometryType.LINESTRING,
                np.asarray(self.edge_coords, dtype=np.float64),
                (np.asarray(self.edge_coord_offsets, dtype=np.int64),),
            )
            self._geometry.append(np.asarray(geoms, dtype=object))
        return self._geometry[0]

    def geometry_array(self) -> NDArray[np.object_]:
        """Return :attr:`edge_geometry` (what :meth:`EdgeArrays.edge_tree` indexes)."""
        return self.edge_geometry

    def snap_index(self) -> SnapIndex:
        """Return the grid of edge segments that snapping searches, built once and kept."""
        if not self._snap:
            self._snap.append(_snap_index.build(self.edge_coords, self.edge_coord_offsets))
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
    coords, owner = shapely.get_coordinates(edge_geometry, return_index=True)
    offsets = np.zeros(edge_u.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=edge_u.shape[0]), out=offsets[1:])
    return Network(
        adjacency=adjacency,
        node_x=node_x,
        node_y=node_y,
        node_ids=ids,
        edge_u=edge_u,
        edge_v=edge_v,
        edge_length_m=edge_length_m,
        edge_coords=coords,
        edge_coord_offsets=offsets,
        crs=crs,
        source="arrays",
        _geometry=[edge_geometry],
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
    """Save a network to ``path`` (``.npz``) atomically, with a JSON sidecar of ``meta``.

    The file holds every array :func:`load` needs as it is used (the adjacency, the edge
    vertices and the snapping grid), uncompressed and aligned, so a load maps them from the
    file instead of reading, inflating and deriving them again.
    """
    path = Path(path)
    adjacency = network.adjacency
    arrays: dict[str, NDArray[np.generic]] = {
        "format": np.array(FILE_FORMAT),
        "node_x": network.node_x,
        "node_y": network.node_y,
        "node_ids": network.node_ids,
        "edge_u": network.edge_u,
        "edge_v": network.edge_v,
        "edge_length_m": network.edge_length_m,
        "edge_coords": network.edge_coords,
        "edge_coord_offsets": network.edge_coord_offsets,
        "adjacency_data": adjacency.data,
        "adjacency_indices": adjacency.indices,
        "adjacency_indptr": adjacency.indptr,
        **network.snap_index().arrays(),
        "crs": np.array(network.crs),
        "source": np.array(network.source),
    }
    _mapped.write_arrays(path, arrays)
    side = {"crs": network.crs, "source": network.source, **(meta or {})}
    write_text_atomic(path.with_suffix(".json"), json.dumps(side, indent=2))


def _from_file(data: Mapping[str, NDArray[np.generic]]) -> Network:
    """Rebuild a network from the arrays of a format-1 ``.npz`` (compressed, WKB geometry)."""
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


def _from_mapped(data: dict[str, NDArray[np.generic]]) -> Network:
    """Return the network of a format-2 file's arrays, as they are (nothing derived)."""
    n = int(data["node_x"].shape[0])
    adjacency = sp.csr_matrix(
        (data["adjacency_data"], data["adjacency_indices"], data["adjacency_indptr"]),
        shape=(n, n),
        copy=False,
    )
    snap = _snap_index.SnapIndex.from_arrays(data)
    return Network(
        adjacency=adjacency,
        node_x=data["node_x"],  # type: ignore[arg-type]
        node_y=data["node_y"],  # type: ignore[arg-type]
        node_ids=data["node_ids"],  # type: ignore[arg-type]
        edge_u=data["edge_u"],  # type: ignore[arg-type]
        edge_v=data["edge_v"],  # type: ignore[arg-type]
        edge_length_m=data["edge_length_m"],  # type: ignore[arg-type]
        edge_coords=data["edge_coords"],  # type: ignore[arg-type]
        edge_coord_offsets=data["edge_coord_offsets"],  # type: ignore[arg-type]
        crs=str(data["crs"]),
        source=str(data["source"]),
        _snap=[snap],
    )


def load(path: str | Path) -> Network:
    """Load a network saved by :func:`save`; a damaged file raises :class:`NetworkError`.

    A current file's arrays are memory-mapped (read as they are used); a file of the
    earlier compressed form (format 1) is read and rebuilt as before.
    """
    path = Path(path)
    damaged = "the saved network is damaged or not a defibmap network"
    try:
        data = _mapped.read_arrays(path)
    except Exception:  # noqa: BLE001 - not the mapped form: the compressed form, or damage
        data = None
    if data is None or "format" not in data or int(data["format"]) != FILE_FORMAT:
        return read_network(path, _from_file, damaged=damaged)
    try:
        return _from_mapped(data)
    except NetworkError as exc:
        msg = f"{path}: {exc}"
        raise NetworkError(msg) from exc
    except Exception as exc:
        msg = f"{path}: {damaged} ({exc})"
        raise NetworkError(msg) from exc
