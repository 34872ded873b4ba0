"""The walking network: build it with osmnx, cache it, and hold it as compact arrays.

Walking distance in defibmap is measured along the OpenStreetMap walking network: the ways
osmnx's own ``"walk"`` rules keep (footways, paths, steps, pedestrianised streets and every
road a person may walk), undirected (one-way tags bind vehicles, not walkers), simplified, the
largest connected component, edge lengths in metres, in a projected CRS (EPSG:27700 inside
Great Britain, a local UTM zone elsewhere).

The rest of the package never touches networkx: it uses :class:`Network`, a frozen dataclass
holding a symmetric CSR adjacency of metres, the node coordinates and, per edge, the end
nodes, length and projected geometry (needed for snapping to the nearest point on an edge).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import shapely

from defibmap import _osm
from defibmap._errors import NetworkError

if TYPE_CHECKING:
    import networkx as nx
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: Edge lengths below this are raised to it, so the sparse graph keeps zero-length edges.
MIN_EDGE_LENGTH_M = 1e-6
_CACHE_FORMAT = 1


@dataclass(frozen=True, eq=False)
class Network:
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

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_x.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of undirected edges (parallel edges counted separately)."""
        return int(self.edge_u.shape[0])

    def edge_tree(self) -> shapely.STRtree:
        """Return an STRtree over the edge geometries, built once and kept."""
        if not self._tree:
            self._tree.append(shapely.STRtree(self.edge_geometry))
        return self._tree[0]


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
    source: str = "arrays",
) -> Network:
    """Build a :class:`Network` from node coordinates and edge end positions.

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
    source
        A short description of where the network came from.

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
        source=source,
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


def from_graph(
    graph: nx.MultiGraph | nx.MultiDiGraph | nx.Graph, *, source: str = "graph"
) -> Network:
    """Convert an osmnx/networkx graph in a projected CRS to a :class:`Network`.

    Parameters
    ----------
    graph
        A graph whose nodes have ``x`` and ``y`` in a projected CRS (``graph.graph["crs"]``) and
        whose edges have ``length`` in metres and optionally a ``geometry``. Directed graphs
        are treated as undirected (walkers ignore one-way tags). Bring your own graph by
        projecting it first with ``osmnx.project_graph``.
    source
        A short description of where the graph came from.

    Returns
    -------
    Network
    """
    import pyproj

    crs = graph.graph.get("crs")
    if crs is None or not pyproj.CRS.from_user_input(crs).is_projected:
        msg = f"the graph must be in a projected CRS (metres); its crs is {crs!r}"
        raise NetworkError(msg)
    nodes = list(graph.nodes)
    if not nodes:
        msg = "the walking network is empty: no walkable ways were found"
        raise NetworkError(msg)
    pos = {node: i for i, node in enumerate(nodes)}
    node_x = np.array([graph.nodes[n]["x"] for n in nodes], dtype=np.float64)
    node_y = np.array([graph.nodes[n]["y"] for n in nodes], dtype=np.float64)
    try:
        node_ids = np.array([int(n) for n in nodes], dtype=np.int64)
    except (TypeError, ValueError):
        node_ids = np.arange(len(nodes), dtype=np.int64)
    seen: set[tuple[Any, Any, Any]] = set()
    eu: list[int] = []
    ev: list[int] = []
    lengths: list[float] = []
    geoms: list[Any] = []
    multi = graph.is_multigraph()
    edges = graph.edges(keys=True, data=True) if multi else graph.edges(data=True)
    for edge in edges:
        if multi:
            a, b, k, data = edge
        else:
            a, b, data = edge
            k = 0
        key = (min(pos[a], pos[b]), max(pos[a], pos[b]), k)
        if graph.is_directed() and key in seen:
            continue  # the reverse twin of an edge already taken
        seen.add(key)
        i, j = pos[a], pos[b]
        geom = data.get("geometry")
        if geom is None:
            geom = shapely.LineString([(node_x[i], node_y[i]), (node_x[j], node_y[j])])
        length = data.get("length")
        if length is None or not np.isfinite(float(length)):
            length = float(shapely.length(geom))
        eu.append(i)
        ev.append(j)
        lengths.append(float(length))
        geoms.append(geom)
    geometry = np.asarray(geoms, dtype=object)
    edge_u = np.asarray(eu, dtype=np.int64)
    edge_v = np.asarray(ev, dtype=np.int64)
    if edge_u.size:
        _orient_geometries(geometry, edge_u, edge_v, node_x, node_y)
    return from_arrays(
        node_x=node_x,
        node_y=node_y,
        edge_u=edge_u,
        edge_v=edge_v,
        edge_length_m=np.asarray(lengths, dtype=np.float64),
        edge_geometry=geometry,
        node_ids=node_ids,
        crs=str(pyproj.CRS.from_user_input(crs).to_string()),
        source=source,
    )


def _orient_geometries(
    geometry: NDArray[np.object_],
    edge_u: NDArray[np.int64],
    edge_v: NDArray[np.int64],
    node_x: NDArray[np.float64],
    node_y: NDArray[np.float64],
) -> None:
    """Reverse, in place, every edge geometry that runs from v to u."""
    start = shapely.get_coordinates(shapely.get_point(geometry, 0))
    du = np.hypot(start[:, 0] - node_x[edge_u], start[:, 1] - node_y[edge_u])
    dv = np.hypot(start[:, 0] - node_x[edge_v], start[:, 1] - node_y[edge_v])
    flip = dv < du
    if np.any(flip):
        geometry[flip] = shapely.reverse(geometry[flip])


def projected_crs_for(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> str:
    """Choose the projected CRS for points given in WGS84.

    British National Grid (EPSG:27700) when every point lies inside Great Britain's extent,
    otherwise the UTM zone of the points' centre (pyproj's UTM lookup).
    """
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    inside_gb = (lon >= -8.82) & (lon <= 1.92) & (lat >= 49.75) & (lat <= 60.9)
    if lon.size and bool(np.all(inside_gb)):
        return "EPSG:27700"
    if not lon.size:
        return "EPSG:27700"
    west, east = float(np.min(lon)), float(np.max(lon))
    south, north = float(np.min(lat)), float(np.max(lat))
    info = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(west, south, east, north),
    )
    if not info:
        msg = "no UTM zone covers the study area"
        raise NetworkError(msg)
    return f"{info[0].auth_name}:{info[0].code}"


def _prepare_walk_graph(graph: nx.MultiDiGraph, crs: str | None) -> nx.MultiGraph:
    """Project, make undirected and keep the largest component of an osmnx graph."""
    import osmnx as ox

    if len(graph) == 0:
        msg = "the walking network is empty after filtering walkable ways"
        raise NetworkError(msg)
    graph = ox.truncate.largest_component(graph, strongly=False)
    if crs is None:
        xs = np.array([d["x"] for _, d in graph.nodes(data=True)])
        ys = np.array([d["y"] for _, d in graph.nodes(data=True)])
        crs = projected_crs_for(xs, ys)
    projected = ox.projection.project_graph(graph, to_crs=crs)
    return ox.convert.to_undirected(projected)


def from_osm_file(path: str | Path, *, crs: str | None = None) -> Network:
    """Build the walking network from a local OpenStreetMap file.

    Parameters
    ----------
    path
        An ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file. Ways are filtered with
        osmnx's own ``"walk"`` rules and ways that reference nodes missing from a clipped
        extract are split at the gap (see :mod:`defibmap._osm`).
    crs
        Projected CRS; default British National Grid inside Great Britain, else local UTM.

    Returns
    -------
    Network
    """
    import osmnx as ox

    path = Path(path)
    if not path.exists():
        msg = f"{path}: OpenStreetMap file not found"
        raise NetworkError(msg)
    with tempfile.TemporaryDirectory(prefix="defibmap-osm-") as tmp:
        xml = Path(tmp) / "walk.osm"
        n_ways = _osm.write_filtered_xml(path, xml, network_type="walk")
        if n_ways == 0:
            msg = f"{path}: no walkable ways in the file after osmnx's 'walk' filter"
            raise NetworkError(msg)
        graph = ox.graph.graph_from_xml(xml, bidirectional=True, simplify=True, retain_all=True)
    undirected = _prepare_walk_graph(graph, crs)
    return from_graph(undirected, source=path.name)


def from_place(
    place: str | shapely.Polygon | shapely.MultiPolygon,
    *,
    crs: str | None = None,
    buffer_m: float = 0.0,
    refresh: bool = False,
    cache_dir: str | Path | None = None,
) -> Network:
    """Download the walking network for a place name or boundary polygon with osmnx.

    The download goes through :func:`defibmap.osm_features.walk_graph`: each query's Overpass
    and Nominatim responses are cached on disk under a hash of the query (with the query and
    date beside them), so a re-run makes no request; HTTP 500/502/503 answers are retried with
    back-off; a refused connection, a failed name lookup or a timeout ends at once with a
    :class:`~defibmap.NetworkError` saying how to give a local extract instead.

    Parameters
    ----------
    place
        A place name geocoded by Nominatim, or a shapely (multi)polygon in WGS84.
    crs
        Projected CRS; default British National Grid inside Great Britain, else local UTM.
    buffer_m
        Metres the download area reaches beyond the place's outline or the polygon.
    refresh
        Download again even when the responses are cached.
    cache_dir
        defibmap's cache folder (default: the per-user cache folder).

    Returns
    -------
    Network
    """
    from defibmap import osm_features

    named = isinstance(place, str)
    graph = osm_features.walk_graph(
        place=place if isinstance(place, str) else None,
        polygon=None if isinstance(place, str) else place,
        buffer_m=buffer_m,
        refresh=refresh,
        cache_dir=cache_dir,
    )
    undirected = _prepare_walk_graph(graph, crs)
    label = place if named else "a boundary polygon"
    return from_graph(undirected, source=f"OpenStreetMap via osmnx: {label}")


def from_graphml(path: str | Path, *, crs: str | None = None) -> Network:
    """Load an osmnx GraphML file (``osmnx.save_graphml``) as a walking network.

    The graph is made undirected, cut to its largest component and projected like a freshly
    built one, so a graph saved in WGS84 works as well as a projected one.
    """
    import osmnx as ox

    path = Path(path)
    try:
        graph = ox.io.load_graphml(path)
    except Exception as exc:
        msg = f"{path}: cannot read as an osmnx GraphML graph ({exc})"
        raise NetworkError(msg) from exc
    if graph.graph.get("crs") and not str(graph.graph["crs"]).upper().endswith("4326"):
        graph = ox.projection.project_graph(graph, to_latlong=True)
    return from_graph(_prepare_walk_graph(graph, crs), source=path.name)


def to_networkx(network: Network) -> nx.MultiGraph:
    """Return the network as a networkx ``MultiGraph`` with ``length`` on every edge."""
    import networkx as nx

    graph = nx.MultiGraph(crs=network.crs)
    graph.add_nodes_from(
        (i, {"x": float(x), "y": float(y)})
        for i, (x, y) in enumerate(zip(network.node_x, network.node_y, strict=True))
    )
    graph.add_edges_from(
        (int(u), int(v), {"length": float(w)})
        for u, v, w in zip(network.edge_u, network.edge_v, network.edge_length_m, strict=True)
    )
    return graph


# ---------------------------------------------------------------------------------------------
# On-disk cache: a compressed .npz of the arrays plus geometries as WKB, keyed by a hash of the
# source file's bytes (or the query), with the query and date beside it in a JSON sidecar.
# ---------------------------------------------------------------------------------------------


def cache_key(*parts: str | bytes) -> str:
    """Return a stable hash of the parts that define a network (file digest, query, CRS)."""
    digest = hashlib.sha256()
    digest.update(f"defibmap-network-v{_CACHE_FORMAT}".encode())
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
    return digest.hexdigest()[:24]


def save(network: Network, path: str | Path, *, meta: dict[str, Any] | None = None) -> None:
    """Save a network to ``path`` (``.npz``) atomically, with a JSON sidecar of ``meta``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wkb = shapely.to_wkb(network.edge_geometry)
    offsets = np.cumsum([0, *(len(b) for b in wkb)]).astype(np.int64)
    blob = np.frombuffer(b"".join(wkb), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    os.close(fd)
    try:
        with Path(tmp).open("wb") as fh:
            np.savez_compressed(
                fh,
                node_x=network.node_x,
                node_y=network.node_y,
                node_ids=network.node_ids,
                edge_u=network.edge_u,
                edge_v=network.edge_v,
                edge_length_m=network.edge_length_m,
                wkb=blob,
                wkb_offsets=offsets,
                crs=np.array(network.crs),
                source=np.array(network.source),
                format=np.array(_CACHE_FORMAT),
            )
        Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    side = {"crs": network.crs, "source": network.source, **(meta or {})}
    sidecar = path.with_suffix(".json")
    tmp_json = sidecar.with_name(f".tmp-{sidecar.name}")
    tmp_json.write_text(json.dumps(side, indent=2), encoding="utf-8")
    tmp_json.replace(sidecar)


def load(path: str | Path) -> Network:
    """Load a network saved by :func:`save`; a damaged file raises :class:`NetworkError`."""
    path = Path(path)
    try:
        with path.open("rb") as fh, np.load(fh, allow_pickle=False) as data:
            if int(data["format"]) != _CACHE_FORMAT:
                msg = f"{path}: network cache format {int(data['format'])} is not supported"
                raise NetworkError(msg)
            offsets = data["wkb_offsets"]
            blob = data["wkb"].tobytes()
            wkb = [blob[offsets[i] : offsets[i + 1]] for i in range(offsets.size - 1)]
            geometry = shapely.from_wkb(np.asarray(wkb, dtype=object))
            return from_arrays(
                node_x=data["node_x"],
                node_y=data["node_y"],
                edge_u=data["edge_u"],
                edge_v=data["edge_v"],
                edge_length_m=data["edge_length_m"],
                edge_geometry=np.asarray(geometry, dtype=object),
                node_ids=data["node_ids"],
                crs=str(data["crs"]),
                source=str(data["source"]),
            )
    except NetworkError:
        raise
    except Exception as exc:
        msg = f"{path}: the saved network is damaged or not a defibmap network ({exc})"
        raise NetworkError(msg) from exc
