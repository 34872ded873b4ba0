"""The driving network and drives from stations (fire, ambulance) to every demand point.

The driving network comes from the same OpenStreetMap source as the walking network, filtered
with osmnx's own ``"drive"`` rules and built with ``bidirectional=False``, so one-way streets
(``oneway=yes``, ``oneway=-1``, roundabouts) are driven one way only. It is held as a frozen
:class:`DriveNetwork`: *directed* CSR matrices of seconds and metres, node coordinates and, per
directed edge, the end nodes, length, time, speed and projected geometry.

Edge speeds and times are osmnx's own (:func:`osmnx.routing.add_edge_speeds` and
:func:`osmnx.routing.add_edge_travel_times`): ``maxspeed`` is parsed by osmnx, which converts
UK values in mph (``"20 mph"`` becomes 32.19 km/h) and understands implicit values such as
``UK:nsl_single``. Where defibmap diverges from osmnx:

- untagged ways get a documented default speed per road type (:data:`DEFAULT_SPEEDS_KPH`,
  UK urban values) instead of osmnx's default, the mean of the tagged ways of the same type;
  road types in neither get :data:`DEFAULT_FALLBACK_KPH` instead of the mean of all types;
- ``GB:nsl_single``, ``GB:nsl_dual`` and ``GB:motorway`` are read as 60, 70 and 70 mph
  (:data:`UK_IMPLICIT_MAXSPEEDS`; osmnx only knows the ``UK:`` spelling);
- ways are timed one OSM segment at a time before the graph is simplified, so a merged edge
  keeps each way's own speed (osmnx's graph builders simplify first and then average them);
- points join the road at the nearest point on the nearest edge (not the nearest node, as
  ``osmnx.distance.nearest_nodes`` would), with partial edge times pro rata;
- only the largest *strongly* connected component is kept, so every station can reach every
  patient and every patient can be left again.

Speeds are free-flow speed limits: a fire engine on blue lights may beat them on open roads
and lose time at junctions; no correction is applied and none is claimed.

The array form, :class:`DriveNetwork` with :func:`min_time_csr`, :func:`save_drive` and
:func:`load_drive`, lives in :mod:`defibmap.network._drive_arrays` and is re-exported here; this
module builds it from an osmnx graph, a local OpenStreetMap file or a place.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import shapely

from defibmap._errors import NetworkError
from defibmap.defaults import DEFAULT_DRIVE_LIMIT_S, DEFAULT_FALLBACK_KPH, DEFAULT_SPEEDS_KPH
from defibmap.network._base import largest_projected, projected_crs, read_osm_file
from defibmap.network._drive_arrays import (
    MIN_EDGE_LENGTH_M,
    MIN_EDGE_TIME_S,
    DriveNetwork,
    load_drive,
    min_time_csr,
    save_drive,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import networkx as nx
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_DRIVE_LIMIT_S",
    "DEFAULT_FALLBACK_KPH",
    "DEFAULT_SPEEDS_KPH",
    "MIN_EDGE_LENGTH_M",
    "MIN_EDGE_TIME_S",
    "SNAP_TIE_M",
    "UK_IMPLICIT_MAXSPEEDS",
    "DriveNetwork",
    "drive_network_from_graph",
    "drive_network_from_osm_file",
    "drive_network_from_place",
    "load_drive",
    "min_time_csr",
    "save_drive",
]

logger = logging.getLogger(__name__)


#: UK implicit limits that osmnx 2.1's table lacks (it knows ``UK:nsl_single`` but not the
#: ``GB:`` spelling the OSM wiki recommends), rewritten to mph before osmnx parses them.
UK_IMPLICIT_MAXSPEEDS: Mapping[str, str] = MappingProxyType(
    {"GB:nsl_single": "60 mph", "GB:nsl_dual": "70 mph", "GB:motorway": "70 mph"}
)
#: Edges within this many metres of the nearest one are equally near (a two-way street is
#: two directed edges with the same geometry; a snap point on a junction touches several).
SNAP_TIE_M = 1e-6


def _speeds(default_speeds_kph: Mapping[str, float] | None) -> dict[str, float]:
    """Defaults merged with the caller's overrides (a partial mapping changes only its keys)."""
    return {**DEFAULT_SPEEDS_KPH, **(default_speeds_kph or {})}


def drive_network_from_graph(
    G: nx.MultiDiGraph,
    *,
    default_speeds_kph: Mapping[str, float] | None = None,
    fallback_kph: float = DEFAULT_FALLBACK_KPH,
    source: str = "graph",
) -> DriveNetwork:
    """Convert a projected osmnx drive graph to a :class:`DriveNetwork`.

    Only the largest strongly connected component is kept, so every station on the network
    can reach every demand point on it. When every edge already carries ``travel_time``
    (seconds) it is used as given; otherwise speeds and times are added with osmnx's
    ``add_edge_speeds(hwy_speeds=..., fallback=...)`` and ``add_edge_travel_times``. On a
    simplified graph osmnx then averages the ``maxspeed`` values of merged ways; time the
    graph before simplifying it (as :func:`drive_network_from_osm_file` does) to avoid that.

    Parameters
    ----------
    G
        An osmnx ``MultiDiGraph`` in a projected CRS (``G.graph["crs"]``, metres), edges with
        ``length`` in metres, built with one-way streets respected.
    default_speeds_kph
        Speeds in km/h per ``highway`` type for ways without ``maxspeed``; merged over
        :data:`DEFAULT_SPEEDS_KPH`.
    fallback_kph
        Speed in km/h for road types in neither ``maxspeed`` nor the defaults.
    source
        A short description of where the graph came from.

    Returns
    -------
    DriveNetwork
    """
    import osmnx as ox
    import pandas as pd

    crs = projected_crs(G.graph.get("crs"), what="the drive graph")
    if G.number_of_edges() == 0:
        msg = "the driving network is empty: no drivable ways were found"
        raise NetworkError(msg)
    G = ox.truncate.largest_component(G, strongly=True)
    if not all("travel_time" in d for _, _, d in G.edges(data=True)):
        G = ox.routing.add_edge_speeds(
            G.copy(), hwy_speeds=_speeds(default_speeds_kph), fallback=fallback_kph
        )
        G = ox.routing.add_edge_travel_times(G)
    nodes, edges = ox.convert.graph_to_gdfs(G, nodes=True, edges=True, fill_edge_geometry=True)
    node_index = pd.Index(nodes.index)
    node_x = nodes["x"].to_numpy(dtype=np.float64)
    node_y = nodes["y"].to_numpy(dtype=np.float64)
    edge_u = node_index.get_indexer(edges.index.get_level_values(0)).astype(np.int64)
    edge_v = node_index.get_indexer(edges.index.get_level_values(1)).astype(np.int64)
    length = edges["length"].to_numpy(dtype=np.float64)
    time = edges["travel_time"].to_numpy(dtype=np.float64)
    if np.any(~np.isfinite(length)) or np.any(~np.isfinite(time)) or np.any(time < 0):
        msg = "drive edges need finite lengths (metres) and travel times (seconds)"
        raise NetworkError(msg)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(time > 0, 3.6 * length / time, np.nan)
    geometry = np.asarray(edges.geometry.to_numpy(), dtype=object)
    _orient(geometry, edge_u, node_x, node_y)
    time_s, length_m = min_time_csr(edge_u, edge_v, time, length, node_x.shape[0])
    return DriveNetwork(
        time_s=time_s,
        length_m=length_m,
        node_x=node_x,
        node_y=node_y,
        node_ids=np.asarray(node_index, dtype=np.int64),
        edge_u=edge_u,
        edge_v=edge_v,
        edge_length_m=length,
        edge_time_s=time,
        edge_speed_kph=speed,
        edge_geometry=geometry,
        crs=crs,
        source=source,
    )


def _orient(
    geometry: NDArray[np.object_],
    edge_u: NDArray[np.int64],
    node_x: NDArray[np.float64],
    node_y: NDArray[np.float64],
) -> None:
    """Reverse, in place, every edge geometry whose start is not at its u node."""
    start = shapely.get_coordinates(shapely.get_point(geometry, 0))
    end = shapely.get_coordinates(shapely.get_point(geometry, -1))
    d_start = np.hypot(start[:, 0] - node_x[edge_u], start[:, 1] - node_y[edge_u])
    d_end = np.hypot(end[:, 0] - node_x[edge_u], end[:, 1] - node_y[edge_u])
    flip = d_end < d_start
    if np.any(flip):
        geometry[flip] = shapely.reverse(geometry[flip])


def _prepare_drive_graph(
    G: nx.MultiDiGraph,
    *,
    crs: str | None,
    default_speeds_kph: Mapping[str, float] | None,
    fallback_kph: float,
) -> nx.MultiDiGraph:
    """Prepare an unsimplified osmnx drive graph: component, projection, speeds, simplify.

    The graph is cut to its largest strongly connected component, projected, given speeds and
    times per OSM segment (``GB:`` implicit limits rewritten first), then simplified with
    ``length`` and ``travel_time`` summed. Timing before simplifying keeps a 20 mph and a
    40 mph stretch of one merged edge at their own speeds; osmnx's builders simplify first,
    and ``add_edge_speeds`` then averages the two ``maxspeed`` values.
    """
    import networkx as nx
    import osmnx as ox

    if len(G) == 0 or G.number_of_edges() == 0:
        msg = "the driving network is empty after filtering drivable ways"
        raise NetworkError(msg)
    G = largest_projected(G, crs, strongly=True)
    rewrite = {
        (u, v, k): UK_IMPLICIT_MAXSPEEDS[d["maxspeed"]]
        for u, v, k, d in G.edges(keys=True, data=True)
        if isinstance(d.get("maxspeed"), str) and d["maxspeed"] in UK_IMPLICIT_MAXSPEEDS
    }
    nx.set_edge_attributes(G, rewrite, name="maxspeed")
    G = ox.routing.add_edge_speeds(G, hwy_speeds=_speeds(default_speeds_kph), fallback=fallback_kph)
    G = ox.routing.add_edge_travel_times(G)
    return ox.simplification.simplify_graph(G, edge_attr_aggs={"length": sum, "travel_time": sum})


def drive_network_from_osm_file(
    path: str | Path,
    *,
    crs: str | None = None,
    default_speeds_kph: Mapping[str, float] | None = None,
    fallback_kph: float = DEFAULT_FALLBACK_KPH,
) -> DriveNetwork:
    """Build the driving network from a local OpenStreetMap file.

    Ways are filtered with osmnx's own ``"drive"`` rules (ways cut by a clipped extract are
    split at the gap, see :mod:`defibmap.osm.ways`), read with ``osmnx.graph_from_xml(...,
    bidirectional=False)`` so one-way streets stay one-way, cut to the largest strongly
    connected component (every station reaches every patient), projected, timed per OSM
    segment with osmnx's speed functions and then simplified with the segment times summed.

    Parameters
    ----------
    path
        An ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file.
    crs
        Projected CRS; default British National Grid inside Great Britain, else local UTM.
    default_speeds_kph
        Speeds in km/h per ``highway`` type for ways without ``maxspeed``; merged over
        :data:`DEFAULT_SPEEDS_KPH`.
    fallback_kph
        Speed in km/h for road types in neither ``maxspeed`` nor the defaults.

    Returns
    -------
    DriveNetwork
    """
    path = Path(path)
    G = read_osm_file(path, network_type="drive", bidirectional=False, simplify=False)
    G = _prepare_drive_graph(
        G, crs=crs, default_speeds_kph=default_speeds_kph, fallback_kph=fallback_kph
    )
    return drive_network_from_graph(G, source=path.name)


def drive_network_from_place(
    place: str | shapely.Polygon | shapely.MultiPolygon,
    *,
    crs: str | None = None,
    default_speeds_kph: Mapping[str, float] | None = None,
    fallback_kph: float = DEFAULT_FALLBACK_KPH,
) -> DriveNetwork:
    """Download the driving network for a place name or WGS84 polygon with osmnx (cached).

    Parameters are as :func:`drive_network_from_osm_file`, with ``place`` a Nominatim query or
    a shapely (multi)polygon in WGS84.
    """
    import osmnx as ox

    try:
        if isinstance(place, str):
            G = ox.graph.graph_from_place(
                place, network_type="drive", simplify=False, retain_all=True
            )
        else:
            G = ox.graph.graph_from_polygon(
                place, network_type="drive", simplify=False, retain_all=True
            )
    except Exception as exc:
        msg = f"could not download the driving network for {place!r}: {exc}"
        raise NetworkError(msg) from exc
    G = _prepare_drive_graph(
        G, crs=crs, default_speeds_kph=default_speeds_kph, fallback_kph=fallback_kph
    )
    return drive_network_from_graph(G, source=f"OpenStreetMap via osmnx: {place}")
