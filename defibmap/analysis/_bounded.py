"""Bounded Dijkstra searches over CSR arrays, compiled with numba.

``scipy.sparse.csgraph.dijkstra`` allocates and initialises full-size arrays for every source
even with ``limit``, so one search per candidate site costs the whole graph. The searches here
keep their scratch arrays between sources and reset only the nodes a search touched, so a
search costs what it reaches: a 500 m walk on a 1.5 million node network touches a few hundred
nodes.

Two kernels, both a heap with lazy deletion over the network's CSR arrays:

- :func:`nearest_sources`: one multi-source search; every node gets the distance to its
  nearest source and that source's label (ties to the lowest label).
- :func:`pairs_within`: one bounded search per source, each started from a few seed nodes at
  given distances (a site snapped onto an edge seeds both ends); every target attached to a
  reached node at an offset is reported with its distance when that is within the limit.
  Each thread keeps node- and target-sized scratch arrays for all its searches, and the
  heap is 4-ary: a 500 m search settles about 800 nodes, so per-node constants decide.

The compiled kernels and their heaps are in :mod:`defibmap.analysis._dijkstra`; this module prepares
their arrays and runs the per-source searches on threads.

Distances are summed in the same order as scipy's Dijkstra (``dist[u] + weight``), so the
answers equal scipy's bit for bit; ``tests/test_bounded.py`` checks that on random graphs.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from defibmap.analysis import _dijkstra

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from defibmap.analysis._dijkstra import Index

#: Upper bound on the threads one call of :func:`pairs_within` uses.
MAX_THREADS = 8
#: Most sources per work unit handed to a thread (small units balance uneven searches).
_CHUNK_SOURCES = 256


def n_threads() -> int:
    """Threads for the per-source searches: the CPUs this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, cpus))


def nearest_sources(
    indptr: Index,
    indices: Index,
    weights: NDArray[np.float64],
    seed_node: NDArray[np.int64],
    seed_dist: NDArray[np.float64],
    seed_label: NDArray[np.int64],
    *,
    limit: float,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Distance from every node to its nearest seed, and that seed's label.

    Parameters
    ----------
    indptr, indices, weights
        CSR arrays of the graph (directed as stored; weights positive metres).
    seed_node, seed_dist, seed_label
        The searches start at ``seed_node`` at distance ``seed_dist``; a node reached from a
        seed carries its ``seed_label`` (non-negative). Several seeds may share a label.
    limit
        Nodes farther than this are left unreached.

    Returns
    -------
    tuple of ndarray
        ``dist`` (inf where unreached) and ``label`` (-1 where unreached). Ties in distance go
        to the lowest label.
    """
    dist, label = _dijkstra.nearest_kernel(
        indptr,
        indices,
        np.asarray(weights, dtype=np.float64),
        np.asarray(seed_node, dtype=np.int64),
        np.asarray(seed_dist, dtype=np.float64),
        np.asarray(seed_label, dtype=np.int64),
        float(limit),
    )
    return np.asarray(dist, dtype=np.float64), np.asarray(label, dtype=np.int64)


class Graph(NamedTuple):
    """A graph's CSR arrays (directed as stored; weights positive metres)."""

    indptr: Index
    indices: Index
    weights: NDArray[np.float64]


class SourceSeeds(NamedTuple):
    """Where each search starts: source ``s`` at the seeds ``ptr[s]:ptr[s + 1]``."""

    ptr: NDArray[np.int64]
    node: NDArray[np.int64]
    dist: NDArray[np.float64]


class NodeTargets(NamedTuple):
    """Targets attached to nodes, CSR by node, and how many targets there are.

    Node ``u`` holds targets ``id[ptr[u]:ptr[u + 1]]`` at offsets ``off`` (a target on an edge
    is attached to both ends); ``id`` values lie in ``0..n - 1``. A target's distance is the
    least ``dist[u] + offset``.
    """

    ptr: NDArray[np.int64]
    id: NDArray[np.int64]
    off: NDArray[np.float64]
    n: int


def _by_first_node(seeds: SourceSeeds) -> tuple[NDArray[np.intp], SourceSeeds]:
    """Reorder the sources by their first seed node; return the order and the reordered seeds.

    Node numbering follows space closely enough (OSM ids, grids) that consecutive searches
    reuse the same cache lines, about twice as fast.
    """
    src_ptr = np.asarray(seeds.ptr, dtype=np.int64)
    seed_node = np.asarray(seeds.node, dtype=np.int64)
    seed_dist = np.asarray(seeds.dist, dtype=np.float64)
    counts = np.diff(src_ptr)
    first = np.where(counts > 0, seed_node[np.minimum(src_ptr[:-1], seed_node.size - 1)], -1)
    perm = np.argsort(first, kind="stable")
    counts = counts[perm]
    new_ptr = np.zeros(src_ptr.size, dtype=np.int64)
    np.cumsum(counts, out=new_ptr[1:])
    take = np.repeat(src_ptr[:-1][perm] - new_ptr[:-1], counts) + np.arange(new_ptr[-1])
    return perm, SourceSeeds(new_ptr, seed_node[take], seed_dist[take])


def pairs_within(
    graph: Graph,
    seeds: SourceSeeds,
    targets: NodeTargets,
    *,
    limit: float,
    threads: int | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """One bounded search per source; every (source, target) pair within ``limit``.

    Parameters
    ----------
    graph
        CSR arrays of the graph.
    seeds
        Source ``s`` starts at the seeds ``ptr[s]:ptr[s + 1]`` (node and distance).
    targets
        Targets attached to nodes (see :class:`NodeTargets`).
    limit
        Largest distance searched and reported.
    threads
        Worker threads (default :func:`n_threads`); each keeps its own scratch arrays.

    Returns
    -------
    tuple of ndarray
        ``source``, ``target`` and ``dist`` of every pair within ``limit``, grouped by source
        (sources in the order of their first seed node). Memory grows with the pairs found,
        never as sources x nodes.
    """
    n_sources = int(seeds.ptr.size - 1)
    perm, ordered = _by_first_node(seeds)
    csr = (graph.indptr, graph.indices, np.asarray(graph.weights, dtype=np.float64))
    by_source = (ordered.ptr, ordered.node, ordered.dist)
    by_node = (
        np.asarray(targets.ptr, dtype=np.int64),
        np.asarray(targets.id, dtype=np.int64),
        np.asarray(targets.off, dtype=np.float64),
    )
    n_targets = int(targets.n)
    n_nodes = int(graph.indptr.size - 1)
    local = threading.local()

    def run(span: tuple[int, int]) -> _dijkstra.Pairs:
        # one set of scratch arrays per thread, reused by every span it searches
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = (
                np.full(n_nodes, np.inf),
                np.full(n_targets, np.inf),
                np.empty(n_nodes, dtype=np.int64),
                np.empty(n_targets, dtype=np.int64),
            )
        return _dijkstra.pairs_kernel(  # type: ignore[no-any-return]
            csr, by_source, by_node, span[0], span[1], float(limit), scratch
        )

    workers = n_threads() if threads is None else max(1, threads)
    chunk = max(8, min(_CHUNK_SOURCES, n_sources // (4 * workers) + 1))
    spans = list(itertools.pairwise([*range(0, n_sources, chunk), n_sources]))
    if workers == 1 or len(spans) <= 1:
        parts = [run(span) for span in spans]
    else:
        # the kernel releases the GIL (nogil), so threads search in parallel
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run, spans))
    if not parts:
        empty = np.array([], dtype=np.int64)
        return empty, empty.copy(), np.array([], dtype=np.float64)
    return (
        perm[np.concatenate([p[0] for p in parts])].astype(np.int64, copy=False),
        np.concatenate([p[1] for p in parts]).astype(np.int64, copy=False),
        np.concatenate([p[2] for p in parts]).astype(np.float64, copy=False),
    )
