"""A uniform grid over the edges' straight segments, and the compiled nearest-segment search.

Snapping asks, for every point, the nearest edge within the snap limit. GEOS answers that
through an STRtree, but shapely's ``query_nearest(max_distance=...)`` first collects every edge
whose box lies within the limit of the point, so its cost grows with the limit (a 1e9 m limit
visits every edge for every point). Here the edges are cut into their straight segments, the
segments are filed in the cells of a uniform grid, and each point searches rings of cells
around its own until no unvisited segment can be nearer than the best found (or the limit):
the work depends on the network's density near the point, not on the limit.

Distances use GEOS's own point-to-segment formula (``Distance::pointToSegment``), so they are
the numbers shapely gives; the position along the edge is GEOS's ``line_locate_point`` (the
first segment at the least distance, projected and clamped). Ties go to the lowest edge
index, then the lowest segment, so the answer does not depend on the search order.

Every function here is compiled with ``numba.njit(cache=True)``; the kernels stay in this
file because numba's on-disk cache checks only the file of the function it compiled.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    #: What the compiled search reads: the segments' ends (x0, y0, x1, y1) and edge, the
    #: grid's CSR (cell_ptr, cell_seg) and its shape (see :class:`SnapIndex` and :func:`search`).
    _Index = tuple[
        NDArray[np.float64],
        NDArray[np.float64],
        NDArray[np.float64],
        NDArray[np.float64],
        NDArray[np.int64],
        NDArray[np.int64],
        NDArray[np.int64],
        NDArray[np.float64],
    ]

#: A segment is filed in every cell its pieces' boxes reach, grown by this much (metres), so
#: a segment running along a cell border is in both cells despite rounding.
_PAD_M = 1e-6
#: Target segments per cell: fewer cells to visit against fewer segments per cell.
_SEGMENTS_PER_CELL = 2.0


@dataclass(frozen=True, eq=False)
class SnapIndex:
    """The edges' segments filed in a uniform grid of square cells.

    Attributes
    ----------
    seg_x0, seg_y0, seg_x1, seg_y1
        Segment ends in the network CRS (metres), in edge order then along each edge.
    seg_edge
        The edge of every segment.
    seg_along
        Distance along its edge's geometry from the edge's start to the segment's start (m).
    edge_geom_len
        Planar length of every edge's geometry (the sum of its segments), metres.
    cell_ptr, cell_seg
        CSR of the grid: the segments of cell ``c`` are ``cell_seg[cell_ptr[c]:cell_ptr[c+1]]``
        (cells numbered row by row, ``c = iy * nx + ix``).
    grid
        ``x0, y0, cell size, nx, ny`` (the last two whole numbers stored as floats).
    """

    seg_x0: NDArray[np.float64]
    seg_y0: NDArray[np.float64]
    seg_x1: NDArray[np.float64]
    seg_y1: NDArray[np.float64]
    seg_edge: NDArray[np.int64]
    seg_along: NDArray[np.float64]
    edge_geom_len: NDArray[np.float64]
    cell_ptr: NDArray[np.int64]
    cell_seg: NDArray[np.int64]
    grid: NDArray[np.float64]

    def arrays(self) -> dict[str, NDArray[np.generic]]:
        """Return the arrays by name (for saving with the network)."""
        return {f"snap_{k}": getattr(self, k) for k in _FIELDS}

    @classmethod
    def from_arrays(cls, data: dict[str, NDArray[np.generic]]) -> SnapIndex:
        """Return the index saved by :meth:`arrays` (the arrays are used as they are)."""
        return cls(**{k: data[f"snap_{k}"] for k in _FIELDS})  # type: ignore[arg-type]


_FIELDS = (
    "seg_x0",
    "seg_y0",
    "seg_x1",
    "seg_y1",
    "seg_edge",
    "seg_along",
    "edge_geom_len",
    "cell_ptr",
    "cell_seg",
    "grid",
)


def build(coords: NDArray[np.float64], offsets: NDArray[np.int64]) -> SnapIndex:
    """Build the index from the edges' vertices.

    Parameters
    ----------
    coords
        ``(m, 2)`` vertices of every edge geometry, edge after edge.
    offsets
        ``(n_edges + 1,)``: edge ``e``'s vertices are ``coords[offsets[e]:offsets[e+1]]``.

    Returns
    -------
    SnapIndex
    """
    coords = np.ascontiguousarray(coords, dtype=np.float64).reshape(-1, 2)
    offsets = np.asarray(offsets, dtype=np.int64)
    n_edges = offsets.size - 1
    counts = np.diff(offsets)
    # a segment starts at every vertex but the last of its edge
    starts = np.ones(coords.shape[0], dtype=bool)
    starts[offsets[1:][counts > 0] - 1] = False
    first = np.flatnonzero(starts)
    seg_edge = np.repeat(np.arange(n_edges, dtype=np.int64), np.maximum(counts - 1, 0))
    x0, y0 = coords[first, 0], coords[first, 1]
    x1, y1 = coords[first + 1, 0], coords[first + 1, 1]
    seg_len = np.sqrt((x1 - x0) ** 2 + (y1 - y0) ** 2)
    seg_along, edge_len = _along(seg_edge, seg_len, n_edges)
    grid = _grid_shape(x0, y0, x1, y1)
    cell_ptr, cell_seg = _file_segments(x0, y0, x1, y1, seg_len, grid)
    return SnapIndex(
        seg_x0=x0,
        seg_y0=y0,
        seg_x1=x1,
        seg_y1=y1,
        seg_edge=seg_edge,
        seg_along=seg_along,
        edge_geom_len=edge_len,
        cell_ptr=cell_ptr,
        cell_seg=cell_seg,
        grid=grid,
    )


def _grid_shape(
    x0: NDArray[np.float64],
    y0: NDArray[np.float64],
    x1: NDArray[np.float64],
    y1: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Return ``x0, y0, cell, nx, ny`` for about :data:`_SEGMENTS_PER_CELL` segments a cell."""
    if x0.size == 0:
        return np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    lo_x = float(min(x0.min(), x1.min()))
    lo_y = float(min(y0.min(), y1.min()))
    width = float(max(x0.max(), x1.max())) - lo_x
    height = float(max(y0.max(), y1.max())) - lo_y
    area = max(width, 1.0) * max(height, 1.0)
    cell = max(math.sqrt(area * _SEGMENTS_PER_CELL / x0.size), 1.0)
    nx = math.floor(width / cell) + 1
    ny = math.floor(height / cell) + 1
    return np.array([lo_x, lo_y, cell, float(nx), float(ny)])


def _along(
    seg_edge: NDArray[np.int64], seg_len: NDArray[np.float64], n_edges: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return each segment's start along its edge and each edge's length (sums in order)."""
    return _along_kernel(seg_edge, seg_len, n_edges)


@numba.njit(cache=True, nogil=True)
def _along_kernel(
    seg_edge: NDArray[np.int64], seg_len: NDArray[np.float64], n_edges: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:  # pragma: no cover - compiled
    along = np.empty(seg_len.size)
    total = np.zeros(n_edges)
    for i in range(seg_len.size):
        e = seg_edge[i]
        along[i] = total[e]
        total[e] += seg_len[i]
    return along, total


@numba.njit(cache=True, nogil=True)
def _piece_cells(
    ax: float, ay: float, bx: float, by: float, grid: NDArray[np.float64]
) -> tuple[int, int, int, int]:  # pragma: no cover - compiled
    gx, gy, cell = grid[0], grid[1], grid[2]
    nx, ny = int(grid[3]), int(grid[4])
    ix0 = max(math.floor((min(ax, bx) - _PAD_M - gx) / cell), 0)
    ix1 = min(math.floor((max(ax, bx) + _PAD_M - gx) / cell), nx - 1)
    iy0 = max(math.floor((min(ay, by) - _PAD_M - gy) / cell), 0)
    iy1 = min(math.floor((max(ay, by) + _PAD_M - gy) / cell), ny - 1)
    return ix0, ix1, iy0, iy1


@numba.njit(cache=True, nogil=True)
def _file_segments(
    x0: NDArray[np.float64],
    y0: NDArray[np.float64],
    x1: NDArray[np.float64],
    y1: NDArray[np.float64],
    seg_len: NDArray[np.float64],
    grid: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:  # pragma: no cover - compiled
    """File every segment in the cells of its pieces (at most one cell long each), once."""
    cell = grid[2]
    nx, ny = int(grid[3]), int(grid[4])
    n_cells = nx * ny
    count = np.zeros(n_cells + 1, dtype=np.int64)
    last = np.full(n_cells, -1, dtype=np.int64)
    cell_seg = np.empty(0, dtype=np.int64)
    for sweep in range(2):
        if sweep == 1:
            for c in range(n_cells):
                count[c + 1] += count[c]
            cell_seg = np.empty(count[n_cells], dtype=np.int64)
            last[:] = -1
        for s in range(x0.size):
            pieces = max(1, math.ceil(seg_len[s] / cell))
            for p in range(pieces):
                t0 = p / pieces
                t1 = (p + 1) / pieces
                ax = x0[s] + t0 * (x1[s] - x0[s])
                ay = y0[s] + t0 * (y1[s] - y0[s])
                bx = x0[s] + t1 * (x1[s] - x0[s])
                by = y0[s] + t1 * (y1[s] - y0[s])
                ix0, ix1, iy0, iy1 = _piece_cells(ax, ay, bx, by, grid)
                for iy in range(iy0, iy1 + 1):
                    for ix in range(ix0, ix1 + 1):
                        c = iy * nx + ix
                        if last[c] == s:
                            continue
                        last[c] = s
                        if sweep == 0:
                            count[c + 1] += 1
                        else:
                            cell_seg[count[c]] = s
                            count[c] += 1
    # after the second sweep count[c] is the end of cell c: shift back to starts
    ptr = np.zeros(n_cells + 1, dtype=np.int64)
    for c in range(n_cells):
        ptr[c + 1] = count[c]
    return ptr, cell_seg


@numba.njit(cache=True, nogil=True, inline="always")
def _seg_distance(
    px: float, py: float, ax: float, ay: float, bx: float, by: float
) -> float:  # pragma: no cover - compiled
    """GEOS ``Distance::pointToSegment``, operation for operation.

    A segment whose squared length underflows to 0 (ends a few 1e-162 m apart) is a point,
    as when its ends are equal: GEOS would divide by zero there.
    """
    len2 = (bx - ax) * (bx - ax) + (by - ay) * (by - ay)
    if (ax == bx and ay == by) or len2 == 0.0:
        return math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    r = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2
    if r <= 0.0:
        return math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    if r >= 1.0:
        return math.sqrt((px - bx) * (px - bx) + (py - by) * (py - by))
    s = ((ay - py) * (bx - ax) - (ax - px) * (by - ay)) / len2
    return abs(s) * math.sqrt(len2)


@numba.njit(cache=True, nogil=True, inline="always")
def _visit_ring(
    px: float,
    py: float,
    cx: int,
    cy: int,
    ring: int,
    best: tuple[float, int, int],
    idx: _Index,
) -> tuple[float, int, int]:  # pragma: no cover - compiled
    """Measure the segments of the cells at Chebyshev distance ``ring`` from ``(cx, cy)``."""
    x0, y0, x1, y1, seg_edge, cell_ptr, cell_seg, grid = idx
    nx, ny = int(grid[3]), int(grid[4])
    best_d, best_e, best_s = best
    lo_y, hi_y = cy - ring, cy + ring
    for iy in range(max(lo_y, 0), min(hi_y, ny - 1) + 1):
        # the top and bottom rows whole, the rows between only at their two ends
        step = 1 if iy in (lo_y, hi_y) else 2 * ring
        for ix in range(cx - ring, cx + ring + 1, step):
            if ix < 0 or ix >= nx:
                continue
            c = iy * nx + ix
            for k in range(cell_ptr[c], cell_ptr[c + 1]):
                s = cell_seg[k]
                d = _seg_distance(px, py, x0[s], y0[s], x1[s], y1[s])
                if d > best_d:
                    continue
                e = seg_edge[s]
                if d < best_d or e < best_e or (e == best_e and s < best_s):
                    best_d, best_e, best_s = d, e, s
    return best_d, best_e, best_s


@numba.njit(cache=True, nogil=True, inline="always")
def _ring_bound(
    px: float, py: float, cx: int, cy: int, ring: int, grid: NDArray[np.float64]
) -> float:  # pragma: no cover - compiled
    """Least distance from the point to a segment outside the block of rings 0..``ring``.

    Only sides with cells beyond them count: with none, every segment has been seen (inf).
    """
    gx, gy, cell = grid[0], grid[1], grid[2]
    nx, ny = int(grid[3]), int(grid[4])
    bound = np.inf
    if cx - ring > 0:
        bound = min(bound, px - (gx + (cx - ring) * cell))
    if cx + ring < nx - 1:
        bound = min(bound, gx + (cx + ring + 1) * cell - px)
    if cy - ring > 0:
        bound = min(bound, py - (gy + (cy - ring) * cell))
    if cy + ring < ny - 1:
        bound = min(bound, gy + (cy + ring + 1) * cell - py)
    return bound


@numba.njit(cache=True, nogil=True)
def _nearest_one(
    px: float,
    py: float,
    limit: float,
    idx: _Index,
) -> tuple[int, float]:  # pragma: no cover - compiled
    """Nearest segment to one point (ties: lowest edge, then lowest segment); -1 if none."""
    grid = idx[7]
    gx, gy, cell = grid[0], grid[1], grid[2]
    nx, ny = int(grid[3]), int(grid[4])
    fx = np.floor((px - gx) / cell)
    fy = np.floor((py - gy) / cell)
    # far outside the grid, start at the first ring that reaches it (cells as floats first:
    # a point a world away would overflow an int)
    ring_f = max(0.0, -fx, fx - (nx - 1), -fy, fy - (ny - 1))
    if ring_f > nx + ny + 2.0:
        ring_f = float(nx + ny + 2)
    cx = int(max(min(fx, nx + ny + 2.0), -(nx + ny + 2.0)))
    cy = int(max(min(fy, nx + ny + 2.0), -(nx + ny + 2.0)))
    ring = int(ring_f)
    best = (np.inf, -1, -1)
    while True:
        best = _visit_ring(px, py, cx, cy, ring, best, idx)
        if _ring_bound(px, py, cx, cy, ring, grid) > min(best[0], limit):
            break
        ring += 1
    best_d, _, best_s = best
    if best_s < 0 or best_d > limit:
        return -1, np.inf
    return best_s, best_d


#: Points per work unit handed to a search thread; most threads used.
_CHUNK_POINTS = 4096
_MAX_THREADS = 8


@numba.njit(cache=True, nogil=True)
def nearest_segments(
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    limit: float,
    idx: _Index,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:  # pragma: no cover - compiled
    """Nearest segment (-1 where none within ``limit`` or the point is not finite) and distance."""
    n = px.size
    seg = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    for i in range(n):
        if not (math.isfinite(px[i]) and math.isfinite(py[i])):
            continue
        s, d = _nearest_one(px[i], py[i], limit, idx)
        if s >= 0:
            seg[i] = s
            dist[i] = d
    return seg, dist


def search(
    index: SnapIndex, x: NDArray[np.float64], y: NDArray[np.float64], limit_m: float
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Return each point's nearest segment within ``limit_m`` (-1 if none) and its distance."""
    idx = (
        index.seg_x0,
        index.seg_y0,
        index.seg_x1,
        index.seg_y1,
        index.seg_edge,
        index.cell_ptr,
        index.cell_seg,
        index.grid,
    )
    # search the points cell by cell, so neighbouring points reuse the segments in cache
    gx, gy, cell, nx = index.grid[:4]
    with np.errstate(invalid="ignore"):
        key = np.floor((y - gy) / cell) * nx + np.floor((x - gx) / cell)
    order = np.argsort(key, kind="stable")
    xs, ys = x[order], y[order]
    spans = [(i, min(i + _CHUNK_POINTS, xs.size)) for i in range(0, xs.size, _CHUNK_POINTS)]

    def run(span: tuple[int, int]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        return nearest_segments(  # type: ignore[no-any-return]
            xs[span[0] : span[1]], ys[span[0] : span[1]], float(limit_m), idx
        )

    # Python threads over a nogil kernel, not numba's parallel=True: its OpenMP layer kills a
    # process forked after it ran (as a writer killed in a test, or a fork-based pool is)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = min(_MAX_THREADS, cpus or 1, len(spans))
    if workers <= 1:
        parts = [run(span) for span in spans]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run, spans))
    seg = np.full(xs.size, -1, dtype=np.int64)
    dist = np.full(xs.size, np.nan)
    if parts:
        seg[order] = np.concatenate([p[0] for p in parts])
        dist[order] = np.concatenate([p[1] for p in parts])
    return seg, dist
