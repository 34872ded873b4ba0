"""What the walking and driving networks share: edge arrays, their ``.npz`` files, cache keys.

Both :class:`~defibmap.network.walk.Network` (undirected, metres) and
:class:`~defibmap.network.drive.DriveNetwork` (directed, seconds and metres) hold node
coordinates and, per edge, the end nodes, length and projected geometry (:class:`EdgeArrays`,
with the edge search tree built once). Both keep themselves on disk as a compressed ``.npz``
of those arrays, geometries as WKB, written atomically (:func:`write_network`) and read back
with ``allow_pickle=False`` (:func:`read_network`), under a :func:`cache_key` of their source.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import shapely

from defibmap._crs import projected_crs_for
from defibmap._errors import NetworkError
from defibmap._files import atomic_path
from defibmap.osm import ways as _osm

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import networkx as nx
    from numpy.typing import NDArray

_T = TypeVar("_T")

#: Version of the cached network files; bumped when the file form changes.
CACHE_FORMAT = 1


class EdgeArrays:
    """Node coordinates and per-edge arrays, the part every network holds the same way.

    A mixin for the frozen network dataclasses, which declare the fields themselves (so their
    field order and constructors stay their own).

    Attributes
    ----------
    node_x, node_y
        Node coordinates in ``crs`` (metres).
    node_ids
        The original node labels (OSM node ids for OpenStreetMap networks), ``int64``.
    edge_u, edge_v
        Node positions (0..n-1) at each end of every edge; the edge geometry runs u to v.
    edge_length_m
        Length of every edge in metres (osmnx's great-circle length).
    edge_geometry
        Shapely ``LineString`` array of every edge in ``crs``, running from u to v.
    crs
        The projected CRS of the coordinates, as a string understood by pyproj.
    source
        Where the network came from.
    """

    node_x: NDArray[np.float64]
    node_y: NDArray[np.float64]
    node_ids: NDArray[np.int64]
    edge_u: NDArray[np.int64]
    edge_v: NDArray[np.int64]
    edge_length_m: NDArray[np.float64]
    crs: str
    source: str
    _tree: list[shapely.STRtree]

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_x.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of edges (parallel edges, and both ways of a two-way street, counted apart)."""
        return int(self.edge_u.shape[0])

    def geometry_array(self) -> NDArray[np.object_]:
        """Return the edge geometries.

        A field of the driving network; built on demand from the vertices for the walking one.
        """
        raise NotImplementedError

    def edge_tree(self) -> shapely.STRtree:
        """Return an STRtree over the edge geometries, built once and kept."""
        if not self._tree:
            self._tree.append(shapely.STRtree(self.geometry_array()))
        return self._tree[0]


def cache_key(*parts: str | bytes) -> str:
    """Return a stable hash of the parts that define a network (file digest, query, CRS)."""
    digest = hashlib.sha256()
    digest.update(f"defibmap-network-v{CACHE_FORMAT}".encode())
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
    return digest.hexdigest()[:24]


def pack_wkb(geometry: NDArray[np.object_]) -> dict[str, NDArray[np.generic]]:
    """Return the ``wkb`` bytes and ``wkb_offsets`` arrays that store ``geometry``."""
    wkb = shapely.to_wkb(geometry)
    offsets = np.cumsum([0, *(len(b) for b in wkb)]).astype(np.int64)
    return {"wkb": np.frombuffer(b"".join(wkb), dtype=np.uint8), "wkb_offsets": offsets}


def unpack_wkb(data: Mapping[str, NDArray[np.generic]]) -> NDArray[np.object_]:
    """Return the geometries stored by :func:`pack_wkb` in an open ``.npz``."""
    offsets = data["wkb_offsets"]
    blob = data["wkb"].tobytes()
    wkb = [blob[offsets[i] : offsets[i + 1]] for i in range(offsets.size - 1)]
    return np.asarray(shapely.from_wkb(np.asarray(wkb, dtype=object)), dtype=object)


def write_network(
    path: Path, network: EdgeArrays, extra: Mapping[str, NDArray[np.generic]]
) -> None:
    """Write the shared arrays of ``network`` and ``extra`` to ``path`` (``.npz``), atomically.

    The file is written under a unique temporary name in the same folder (created if missing)
    and renamed over ``path``, so a reader (or a second writer) never sees half a file.
    """
    arrays: dict[str, NDArray[np.generic]] = {
        "node_x": network.node_x,
        "node_y": network.node_y,
        "node_ids": network.node_ids,
        "edge_u": network.edge_u,
        "edge_v": network.edge_v,
        "edge_length_m": network.edge_length_m,
        **extra,
        **pack_wkb(network.geometry_array()),
        "crs": np.array(network.crs),
        "source": np.array(network.source),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        # numpy's stubs type **kwds against its (2.1+) allow_pickle flag; the names are arrays
        np.savez_compressed(fh, **cast("dict[str, Any]", arrays))


def read_network(
    path: Path, build: Callable[[Mapping[str, NDArray[np.generic]]], _T], *, damaged: str
) -> _T:
    """Open the ``.npz`` at ``path`` (no pickle) and return ``build`` of its arrays.

    A :class:`NetworkError` from ``build`` is raised again with ``path`` in front; any other
    failure (a missing array, a truncated or foreign file) raises :class:`NetworkError` saying
    ``path`` is ``damaged``.
    """
    try:
        with path.open("rb") as fh, np.load(fh, allow_pickle=False) as data:
            return build(data)
    except NetworkError as exc:
        msg = f"{path}: {exc}"
        raise NetworkError(msg) from exc
    except Exception as exc:
        msg = f"{path}: {damaged} ({exc})"
        raise NetworkError(msg) from exc


# ---------------------------------------------------------------------------------------------
# Building from OpenStreetMap: both networks read a local file through osmnx's own filter for
# their network type, keep the largest component and project it the same way.
# ---------------------------------------------------------------------------------------------


def projected_crs(crs: object, *, what: str) -> str:
    """Return ``crs`` as pyproj's string; raise :class:`NetworkError` unless it is projected.

    ``what`` names the graph in the message (``"the graph"``, ``"the drive graph"``).
    """
    import pyproj

    if crs is None or not pyproj.CRS.from_user_input(crs).is_projected:
        msg = f"{what} must be in a projected CRS (metres); its crs is {crs!r}"
        raise NetworkError(msg)
    return str(pyproj.CRS.from_user_input(crs).to_string())


def largest_projected(
    graph: nx.MultiDiGraph, crs: str | None, *, strongly: bool
) -> nx.MultiDiGraph:
    """Keep the largest (weakly or ``strongly``) connected component and project it.

    ``crs`` defaults to British National Grid inside Great Britain, else the local UTM zone
    (:func:`defibmap._crs.projected_crs_for` of the node coordinates).
    """
    import osmnx as ox

    graph = ox.truncate.largest_component(graph, strongly=strongly)
    if crs is None:
        xs = np.array([d["x"] for _, d in graph.nodes(data=True)])
        ys = np.array([d["y"] for _, d in graph.nodes(data=True)])
        crs = projected_crs_for(xs, ys)
    return ox.projection.project_graph(graph, to_crs=crs)


def read_osm_file(
    path: Path, *, network_type: str, bidirectional: bool, simplify: bool
) -> nx.MultiDiGraph:
    """Read the ways of a local OpenStreetMap file that osmnx's ``network_type`` filter keeps.

    Ways that reference nodes missing from a clipped extract are split at the gap (see
    :mod:`defibmap.osm.ways`). A missing file, or one with no such way, raises
    :class:`NetworkError`.
    """
    import osmnx as ox

    if not path.exists():
        msg = f"{path}: OpenStreetMap file not found"
        raise NetworkError(msg)
    kept = {"walk": "walkable", "drive": "drivable"}.get(network_type, network_type)
    with tempfile.TemporaryDirectory(prefix="defibmap-osm-") as tmp:
        xml = Path(tmp) / f"{network_type}.osm"
        if _osm.write_filtered_xml(path, xml, network_type=network_type) == 0:
            msg = f"{path}: no {kept} ways in the file after osmnx's '{network_type}' filter"
            raise NetworkError(msg)
        return ox.graph.graph_from_xml(
            xml, bidirectional=bidirectional, simplify=simplify, retain_all=True
        )
