"""The walking network: build it with osmnx, cache it, and hold it as compact arrays.

Walking distance in defibmap is measured along the OpenStreetMap walking network: the ways
osmnx's own ``"walk"`` rules keep (footways, paths, steps, pedestrianised streets and every
road a person may walk), undirected (one-way tags bind vehicles, not walkers), simplified, the
largest connected component, edge lengths in metres, in a projected CRS (EPSG:27700 inside
Great Britain, a local UTM zone elsewhere).

The rest of the package never touches networkx: it uses :class:`Network`, a frozen dataclass
holding a symmetric CSR adjacency of metres, the node coordinates and, per edge, the end
nodes, length and projected geometry (needed for snapping to the nearest point on an edge).

The array form, :class:`Network` with :func:`from_arrays`, :func:`cache_key`, :func:`save`
and :func:`load`, lives in :mod:`defibmap.network._arrays` and is re-exported here; this
module builds it from an osmnx/networkx graph, a local OpenStreetMap file, a place or a
GraphML file, and converts it back to networkx.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from defibmap._crs import projected_crs_for
from defibmap._errors import NetworkError
from defibmap.network._arrays import (
    MIN_EDGE_LENGTH_M,
    Network,
    cache_key,
    from_arrays,
    load,
    save,
)
from defibmap.network._base import largest_projected, projected_crs, read_osm_file

if TYPE_CHECKING:
    import networkx as nx
    from numpy.typing import NDArray

__all__ = [
    "MIN_EDGE_LENGTH_M",
    "Network",
    "cache_key",
    "from_arrays",
    "from_graph",
    "from_graphml",
    "from_osm_file",
    "from_place",
    "load",
    "projected_crs_for",
    "save",
    "to_networkx",
]

logger = logging.getLogger(__name__)


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
    crs = projected_crs(graph.graph.get("crs"), what="the graph")
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
    built = from_arrays(
        node_x=node_x,
        node_y=node_y,
        edge_u=edge_u,
        edge_v=edge_v,
        edge_length_m=np.asarray(lengths, dtype=np.float64),
        edge_geometry=geometry,
        node_ids=node_ids,
        crs=crs,
    )
    return replace(built, source=source)


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


def _prepare_walk_graph(graph: nx.MultiDiGraph, crs: str | None) -> nx.MultiGraph:
    """Project, make undirected and keep the largest component of an osmnx graph."""
    import osmnx as ox

    if len(graph) == 0:
        msg = "the walking network is empty after filtering walkable ways"
        raise NetworkError(msg)
    return ox.convert.to_undirected(largest_projected(graph, crs, strongly=False))


def from_osm_file(path: str | Path, *, crs: str | None = None) -> Network:
    """Build the walking network from a local OpenStreetMap file.

    Parameters
    ----------
    path
        An ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file. Ways are filtered with
        osmnx's own ``"walk"`` rules and ways that reference nodes missing from a clipped
        extract are split at the gap (see :mod:`defibmap.osm.ways`).
    crs
        Projected CRS; default British National Grid inside Great Britain, else local UTM.

    Returns
    -------
    Network
    """
    path = Path(path)
    graph = read_osm_file(path, network_type="walk", bidirectional=True, simplify=True)
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

    The download goes through :func:`defibmap.osm.features.walk_graph`: each query's Overpass
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
    from defibmap.osm import features as osm_features

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
