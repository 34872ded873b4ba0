"""Fire co-responders: drive times from stations to patients on the directed road network.

Directed station -> patient, by one bounded multi-source Dijkstra over travel times
(``scipy.sparse.csgraph.dijkstra`` with ``min_only``), never a per-point loop. Stations and
patients join the road at the nearest point on the nearest drive edge; access legs (station
or patient to the road) are excluded from the drive figures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from scipy.sparse import csgraph

from defibmap.analysis import _joins
from defibmap.defaults import DEFAULT_MAX_SNAP_M
from defibmap.network.drive import (
    DEFAULT_DRIVE_LIMIT_S,
    SNAP_TIE_M,
    DriveNetwork,
    min_time_csr,
)

if TYPE_CHECKING:
    import scipy.sparse as sp
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriveResult:
    """The fastest drive from any station to every demand point.

    Drive figures run from the station's snap point on the road to the demand point's snap
    point on the road; the access legs (station or patient to the road) are excluded.

    Attributes
    ----------
    fire_drive_m
        Metres driven on the fastest route; NaN where no station reaches the point within the
        limit or the point lies farther than the snap limit from every road.
    fire_drive_s
        Free-flow seconds of that route (no turnout); NaN as ``fire_drive_m``.
    station
        Position (in the station arrays) of the station giving it; -1 where NaN.
    demand_snap_m
        Straight metres from each demand point to the road; NaN beyond the snap limit.
    station_snap_m
        Straight metres from each station to the road; NaN beyond the snap limit (the
        station is then not used).
    """

    fire_drive_m: NDArray[np.float64]
    fire_drive_s: NDArray[np.float64]
    station: NDArray[np.int64]
    demand_snap_m: NDArray[np.float64]
    station_snap_m: NDArray[np.float64]

    @property
    def n_stations_on_network(self) -> int:
        """Number of stations within the snap limit of the driving network."""
        return int(np.isfinite(self.station_snap_m).sum())


@dataclass(frozen=True)
class _Snap:
    """Every (point, edge) pair at a point's nearest distance, and the fraction along it."""

    point: NDArray[np.int64]
    edge: NDArray[np.int64]
    frac: NDArray[np.float64]
    snap_m: NDArray[np.float64]


def _snap(
    net: DriveNetwork, x: NDArray[np.float64], y: NDArray[np.float64], max_snap_m: float
) -> _Snap:
    """Snap points to every directed edge at their nearest distance (twins, junctions)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    points = shapely.points(x, y)
    snap_m = np.full(points.shape[0], np.nan)
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if net.n_edges and finite.size:
        tree = net.edge_tree()
        idx, dist = tree.query_nearest(
            points[finite], max_distance=max_snap_m, return_distance=True, all_matches=False
        )
        snap_m[finite[idx[0]]] = dist
    ok = np.flatnonzero(np.isfinite(snap_m))
    if not ok.size:
        empty = np.array([], dtype=np.int64)
        return _Snap(empty, empty, np.array([], dtype=np.float64), snap_m)
    pairs = net.edge_tree().query(points[ok], predicate="dwithin", distance=snap_m[ok] + SNAP_TIE_M)
    point = ok[pairs[0]].astype(np.int64)
    edge = pairs[1].astype(np.int64)
    geoms = net.edge_geometry[edge]
    along = shapely.line_locate_point(geoms, points[point])
    geom_len = shapely.length(geoms)
    frac = np.divide(along, geom_len, out=np.zeros_like(along), where=geom_len > 0)
    return _Snap(point, edge, np.clip(frac, 0.0, 1.0), snap_m)


def _tree_metres(pred: NDArray[np.int32], length_m: sp.csr_matrix) -> NDArray[np.float64]:
    """Metres from the root of a shortest-path tree to every node, by pointer jumping.

    Each round adds the metres of the ancestor's stretch and jumps to the ancestor's ancestor,
    so the number of rounds is the logarithm of the tree depth; no loop over nodes.
    """
    anc = pred.astype(np.int64)
    acc = np.zeros(anc.shape[0], dtype=np.float64)
    has = np.flatnonzero(anc >= 0)
    if has.size:
        acc[has] = np.asarray(length_m[anc[has], has]).ravel()
    while has.size:
        up = anc[has]
        acc[has] += acc[up]
        anc[has] = anc[up]
        has = has[anc[has] >= 0]
    return acc


def _augmented(
    net: DriveNetwork, st: _Snap, virtual: NDArray[np.int64]
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Time and metre matrices plus one virtual node per station with edges out of it only."""
    frac_left = 1.0 - st.frac
    rows_new = virtual[st.point]
    cols_new = net.edge_v[st.edge]
    base_rows = np.repeat(np.arange(net.n_nodes, dtype=np.int64), np.diff(net.time_s.indptr))
    rows = np.concatenate([base_rows, rows_new])
    cols = np.concatenate([net.time_s.indices.astype(np.int64), cols_new])
    secs = np.concatenate([net.time_s.data, frac_left * net.edge_time_s[st.edge]])
    metres = np.concatenate([net.length_m.data, frac_left * net.edge_length_m[st.edge]])
    size = int(virtual.max()) + 1 if virtual.size else net.n_nodes
    # the self-loop filter in min_time_csr never drops a virtual edge (rows >= n > cols)
    return min_time_csr(rows, cols, secs, metres, size)


def drive_from_stations(
    drive_net: DriveNetwork,
    station_x: NDArray[np.float64],
    station_y: NDArray[np.float64],
    demand_x: NDArray[np.float64],
    demand_y: NDArray[np.float64],
    *,
    limit_s: float = DEFAULT_DRIVE_LIMIT_S,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> DriveResult:
    """Measure the fastest directed drive from the nearest station to every demand point.

    One bounded multi-source Dijkstra over the time matrix (``scipy.sparse.csgraph.dijkstra``
    with ``directed=True``, ``min_only=True``, ``limit``) from every station at once. A
    station starts at its snap point, the nearest point on the nearest road, and drives along
    that edge to its head (and to its tail when the street is two-way: the reverse edge is
    snapped too). A patient is reached along its edge from the edge's tail (or its head on a
    two-way street); partial edges take time and metres pro rata. A station and a patient on
    the same edge may also drive straight along it, in the edge's direction only. The metres
    are those of the fastest route, summed along the Dijkstra predecessor tree.

    Parameters
    ----------
    drive_net
        The driving network.
    station_x, station_y, demand_x, demand_y
        Coordinates in the network's CRS (metres).
    limit_s
        Search limit in seconds; farther patients are unreachable (NaN).
    max_snap_m
        Points farther than this (metres) from every road are not used: stations take no
        part and demand points get NaN.

    Returns
    -------
    DriveResult
        Access legs from the station and to the patient are excluded from the drive figures.
    """
    n = drive_net.n_nodes
    n_dem = int(np.asarray(demand_x).shape[0])
    st = _snap(drive_net, station_x, station_y, max_snap_m)
    dm = _snap(drive_net, demand_x, demand_y, max_snap_m)
    drive_s = np.full(n_dem, np.inf)
    drive_m = np.full(n_dem, np.nan)
    station = np.full(n_dem, -1, dtype=np.int64)
    stations_ok = np.flatnonzero(np.isfinite(st.snap_m))
    if stations_ok.size and dm.point.size:
        virtual = np.full(st.snap_m.shape[0], -1, dtype=np.int64)
        virtual[stations_ok] = n + np.arange(stations_ok.size, dtype=np.int64)
        time_aug, length_aug = _augmented(drive_net, st, virtual)
        dist, pred, src = csgraph.dijkstra(
            time_aug,
            directed=True,
            indices=virtual[stations_ok],
            limit=limit_s,
            min_only=True,
            return_predecessors=True,
        )
        metres = _tree_metres(pred, length_aug)
        # options per (demand point, edge): via the edge's tail, then along it
        tail = drive_net.edge_u[dm.edge]
        opt_point = [dm.point]
        opt_s = [dist[tail] + dm.frac * drive_net.edge_time_s[dm.edge]]
        opt_m = [metres[tail] + dm.frac * drive_net.edge_length_m[dm.edge]]
        reached = src[tail] >= 0
        opt_station = [np.where(reached, stations_ok[np.maximum(src[tail], n) - n], -1)]
        # options straight along a shared edge, in its direction
        d_i, s_i = _joins.edge_pairs(dm.edge, st.edge)
        ahead = dm.frac[d_i] >= st.frac[s_i]
        d_i, s_i = d_i[ahead], s_i[ahead]
        gap = dm.frac[d_i] - st.frac[s_i]
        opt_point.append(dm.point[d_i])
        opt_s.append(gap * drive_net.edge_time_s[dm.edge[d_i]])
        opt_m.append(gap * drive_net.edge_length_m[dm.edge[d_i]])
        opt_station.append(st.point[s_i])
        points = np.concatenate(opt_point)
        secs = np.concatenate(opt_s)
        mets = np.concatenate(opt_m)
        stat = np.concatenate(opt_station)
        order = np.lexsort((stat, secs, points))
        first = np.ones(order.size, dtype=bool)
        first[1:] = points[order][1:] != points[order][:-1]
        best = order[first]
        drive_s[points[best]] = secs[best]
        drive_m[points[best]] = mets[best]
        station[points[best]] = stat[best]
    unreached = ~(drive_s <= limit_s)
    drive_s[unreached] = np.nan
    drive_m[unreached] = np.nan
    station[unreached] = -1
    if stations_ok.size == 0:
        logger.info("no station lies within %.0f m of the driving network", max_snap_m)
    return DriveResult(
        fire_drive_m=drive_m,
        fire_drive_s=drive_s,
        station=station,
        demand_snap_m=dm.snap_m,
        station_snap_m=st.snap_m,
    )
