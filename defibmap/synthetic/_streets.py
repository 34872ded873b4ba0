"""The demonstration town's street plan: a warped grid cut by a railway, pruned to one piece.

The plan is laid out in local metres with the origin at the town centre: a street grid gently
warped and swirled in the old town, a railway crossed only by two road bridges and a
footbridge, diagonal footpaths, closes (short curved dead ends), a park with paths and steps,
and the OpenStreetMap tags of every street. Edges through the railway or across one another
are dropped and only the largest connected piece is kept, as the network loader would keep it.
:mod:`defibmap.synthetic.town` turns the plan into a town.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

if TYPE_CHECKING:
    from numpy.typing import NDArray

_SPACING_M = 72.0  # street grid spacing (an urban block)
_RAIL_CLEARANCE_M = 30.0  # no street node this close to the railway
#: Stems of street and site names.
STEMS = (
    "Alder", "Ash", "Beech", "Birch", "Bramble", "Cedar", "Chestnut", "Clover", "Daisy",
    "Elder", "Elm", "Fern", "Foxglove", "Hawthorn", "Hazel", "Heather", "Holly", "Ivy",
    "Juniper", "Larch", "Laurel", "Linden", "Maple", "Medlar", "Oak", "Orchard", "Pine",
    "Poplar", "Quince", "Rowan", "Rush", "Sorrel", "Spruce", "Sycamore", "Teasel", "Thistle",
    "Walnut", "Willow", "Yarrow", "Yew",
)  # fmt: skip
#: Suffix of every name in the town.
SYN = " (synthetic)"
# Edge kinds while planning streets.
_RESIDENTIAL, _MAIN, _BRIDGE, _EXTRA = 0, 1, 2, 3


@dataclass(frozen=True)
class Plan:
    """The street plan in local metres (origin at the town centre) before it becomes OSM."""

    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    north: NDArray[np.bool_]  # which side of the railway each node lies on
    edge_u: NDArray[np.int64]
    edge_v: NDArray[np.int64]
    street: NDArray[np.int64]  # index into streets: edges of one street chain into ways
    order: NDArray[np.int64]  # position along the street
    bend_m: NDArray[np.float64]  # sideways offset of a shape node at mid-edge (0: straight)
    streets: list[dict[str, str]]
    site_nodes: NDArray[np.int64]  # street-grid nodes of the final network, to place sites on
    rail_xy_m: NDArray[np.float64]
    park_xy_m: NDArray[np.float64]


def _rail_xy(radius_m: float) -> NDArray[np.float64]:
    """Return the railway: a gentle curve west to east, well beyond the town on both sides."""
    x = np.linspace(-1.6 * radius_m, 1.6 * radius_m, int(3.2 * radius_m / 40.0) + 1)
    y = (
        -0.12 * radius_m
        + 0.18 * x
        + 0.08 * radius_m * np.sin(2 * np.pi * x / (1.6 * radius_m) + 0.7)
    )
    return np.column_stack([x, y])


def _street_tags(highway: str, name: str, **extra: str) -> dict[str, str]:
    speed = {"primary": "30 mph", "tertiary": "30 mph", "residential": "20 mph"}.get(highway)
    tags = {"highway": highway, "name": f"{name}{SYN}"}
    if speed:
        tags["maxspeed"] = speed
    tags.update(extra)
    return tags


@dataclass(frozen=True)
class _Grid:
    """The warped street grid before streets are drawn on it: ``m`` x ``m`` nodes."""

    half: int  # grid nodes from the centre to an edge of the grid
    m: int  # nodes per row and column; grid node k = j * m + i
    ii: NDArray[np.int64]  # column of every grid node
    jj: NDArray[np.int64]  # row of every grid node
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    rail_xy: NDArray[np.float64]
    rail: shapely.LineString
    north: NDArray[np.bool_]
    park_c: NDArray[np.float64]
    park_r: float
    kept: NDArray[np.bool_]  # inside the town, clear of the railway and outside the park


@dataclass(frozen=True)
class _Names:
    """Where the main roads run and the positions of the special streets in the street list."""

    j_primary: int
    i_primary: int
    i_tertiary: tuple[int, int]
    i_footbridge: int
    pedestrian: int
    footway: int
    path: int
    steps: int


@dataclass
class _Edges:
    """Edges collected in pieces: end nodes, street, position along it, kind and validity."""

    eu: list[NDArray[np.int64]]
    ev: list[NDArray[np.int64]]
    street: list[NDArray[np.int64]]
    order: list[NDArray[np.int64]]
    kind: list[NDArray[np.int64]]
    valid: list[NDArray[np.bool_]]

    def add(
        self, u: NDArray[np.int64], v: NDArray[np.int64], st: NDArray[np.int64], k: int
    ) -> None:
        """Add edges ``u`` to ``v`` of streets ``st``, of kind ``k``, numbered after the rest."""
        self.eu.append(np.asarray(u, np.int64))
        self.ev.append(np.asarray(v, np.int64))
        self.street.append(np.asarray(st, np.int64))
        self.order.append(sum(o.size for o in self.order) + np.arange(u.size, dtype=np.int64))
        self.kind.append(np.full(u.size, k))
        self.valid.append(np.ones(u.size, dtype=bool))


def street_plan(rng: np.random.Generator, radius_m: float) -> Plan:
    """Lay out a warped street grid cut by a railway, with closes, footpaths and a park."""
    grid = _grid(rng, radius_m)
    streets, names = _grid_streets(rng, grid, radius_m)
    edges = _grid_edges(rng, grid, streets, names)
    _bridges(grid, streets, names, edges)
    x, y = _blocks(rng, grid, streets, names, edges)
    x, y = _park(grid, x, y, names, edges)

    edge_u, edge_v = np.concatenate(edges.eu), np.concatenate(edges.ev)
    kinds = np.concatenate(edges.kind)
    bend = np.where(rng.random(edge_u.size) < 0.3, rng.normal(0.0, 4.0, edge_u.size), 0.0)
    bend[kinds == _BRIDGE] = 0.0
    geoms = _edge_lines(x, y, edge_u, edge_v, bend)
    keep = _prune(
        geoms,
        edge_u=edge_u,
        edge_v=edge_v,
        keep=np.concatenate(edges.valid),
        bridge=kinds == _BRIDGE,
        rail=grid.rail,
        n_nodes=x.size,
    )
    on_net = np.zeros(x.size, dtype=bool)
    on_net[edge_u[keep]] = on_net[edge_v[keep]] = True
    north = y > np.interp(x, grid.rail_xy[:, 0], grid.rail_xy[:, 1])
    outline = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    return Plan(
        x_m=x,
        y_m=y,
        north=north,
        edge_u=edge_u[keep],
        edge_v=edge_v[keep],
        street=np.concatenate(edges.street)[keep],
        order=np.concatenate(edges.order)[keep],
        bend_m=bend[keep],
        streets=streets,
        site_nodes=np.flatnonzero(on_net[: grid.m * grid.m]),
        rail_xy_m=grid.rail_xy,
        park_xy_m=grid.park_c + grid.park_r * np.column_stack([np.cos(outline), np.sin(outline)]),
    )


def _grid(rng: np.random.Generator, radius_m: float) -> _Grid:
    """Lay out the warped grid, the railway and the park, and which grid nodes the town keeps."""
    half = int(np.ceil(1.25 * radius_m / _SPACING_M))
    m = 2 * half + 1
    jj, ii = np.divmod(np.arange(m * m, dtype=np.int64), m)  # grid node k = j * m + i
    x, y = _warped_grid(rng, ii - half, jj - half, radius_m)
    ph = rng.uniform(0.0, 2 * np.pi, size=2)
    rail_xy = _rail_xy(radius_m)
    rail = shapely.LineString(rail_xy)
    theta = np.arctan2(y, x)
    edge_r = radius_m * (1 + 0.1 * np.sin(2 * theta + ph[0]) + 0.06 * np.sin(3 * theta + ph[1]))
    park_c, park_r = np.array([0.38 * radius_m, 0.42 * radius_m]), 0.14 * radius_m
    kept = (
        (np.hypot(x, y) < edge_r)
        & (shapely.distance(shapely.points(x, y), rail) > _RAIL_CLEARANCE_M)
        & (np.hypot(x - park_c[0], y - park_c[1]) > park_r)
    )
    return _Grid(
        half=half,
        m=m,
        ii=ii,
        jj=jj,
        x=x,
        y=y,
        rail_xy=rail_xy,
        rail=rail,
        north=y > np.interp(x, rail_xy[:, 0], rail_xy[:, 1]),
        park_c=park_c,
        park_r=park_r,
        kept=kept,
    )


def _grid_streets(
    rng: np.random.Generator, grid: _Grid, radius_m: float
) -> tuple[list[dict[str, str]], _Names]:
    """One street per grid row and column, a few main roads, the market place and paths."""
    s, half, m = _SPACING_M, grid.half, grid.m
    j_primary, j_tertiary = half + round(0.3 * radius_m / s), half + round(-0.55 * radius_m / s)
    i_primary = half
    i_tertiary = (half + round(-0.6 * radius_m / s), half + round(0.75 * radius_m / s))
    oneway_rows = set(rng.choice(np.arange(m), size=10, replace=False).tolist())
    streets: list[dict[str, str]] = []
    for j in range(m):
        name = f"{STEMS[j % 40]} {('Street', 'Terrace', 'Gardens')[(j // 40) % 3]}"
        if j == j_primary:
            streets.append(_street_tags("primary", "Market Street"))
        elif j == j_tertiary:
            streets.append(_street_tags("tertiary", "South Road"))
        elif j in oneway_rows:
            streets.append(_street_tags("residential", name, oneway="yes"))
        else:
            streets.append(_street_tags("residential", name))
    for i in range(m):
        name = f"{STEMS[(i + 7) % 40]} {('Road', 'Avenue', 'Lane')[((i + 7) // 40) % 3]}"
        if i == i_primary:
            streets.append(_street_tags("primary", "High Street"))
        elif i in i_tertiary:
            streets.append(_street_tags("tertiary", "West Road" if i < half else "East Road"))
        else:
            streets.append(_street_tags("residential", name))
    pedestrian = len(streets)
    streets.append(_street_tags("pedestrian", "Market Place"))
    streets += [{"highway": "footway"}, {"highway": "path"}, {"highway": "steps"}]
    names = _Names(
        j_primary=j_primary,
        i_primary=i_primary,
        i_tertiary=i_tertiary,
        i_footbridge=half + round(0.5 * radius_m / s),
        pedestrian=pedestrian,
        footway=pedestrian + 1,
        path=pedestrian + 2,
        steps=pedestrian + 3,
    )
    return streets, names


def _grid_edges(
    rng: np.random.Generator, grid: _Grid, streets: list[dict[str, str]], names: _Names
) -> _Edges:
    """Join the grid along rows and columns; about one in eleven minor edges is missing."""
    ii, jj, m, half = grid.ii, grid.jj, grid.m, grid.half
    main = {s_id for s_id, t in enumerate(streets) if t["highway"] in {"primary", "tertiary"}}
    main |= {m + names.i_footbridge}
    u_h = np.flatnonzero(ii < m - 1)
    u_v = np.flatnonzero(jj < m - 1)
    eu = np.concatenate([u_h, u_v])
    ev = np.concatenate([u_h + 1, u_v + m])
    street_h = jj[u_h].copy()
    market = (street_h == names.j_primary) & (ii[u_h] >= half - 4) & (ii[u_h] < half)
    street_h[market] = names.pedestrian
    street = np.concatenate([street_h, m + ii[u_v]])
    is_main = np.isin(street, np.fromiter(main, dtype=np.int64))
    valid = grid.kept[eu] & grid.kept[ev] & (rng.random(eu.size) >= 0.09)
    valid |= grid.kept[eu] & grid.kept[ev] & is_main
    return _Edges(
        eu=[eu],
        ev=[ev],
        street=[street],
        order=[np.concatenate([ii[u_h], jj[u_v]])],
        kind=[np.where(is_main, _MAIN, _RESIDENTIAL)],
        valid=[valid],
    )


def _bridges(grid: _Grid, streets: list[dict[str, str]], names: _Names, edges: _Edges) -> None:
    """Add the three crossings of the railway: two road bridges and a footbridge."""
    bridges = (
        (names.i_primary, _street_tags("primary", "High Street Bridge", bridge="yes", layer="1")),
        (names.i_tertiary[0],
         _street_tags("tertiary", "West Road Bridge", bridge="yes", layer="1")),
        (names.i_footbridge, {"highway": "footway", "bridge": "yes", "layer": "1",
                              "name": f"Station Footbridge{SYN}"}),
    )  # fmt: skip
    for i_col, tags in bridges:
        col = np.flatnonzero((grid.ii == i_col) & grid.kept)
        change = np.flatnonzero(grid.north[col][1:] != grid.north[col][:-1])[0]
        streets.append(tags)
        edges.add(
            col[change : change + 1],
            col[change + 1 : change + 2],
            np.array([len(streets) - 1]),
            _BRIDGE,
        )


def _blocks(
    rng: np.random.Generator,
    grid: _Grid,
    streets: list[dict[str, str]],
    names: _Names,
    edges: _Edges,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Add diagonal footpaths across blocks, and closes (short curved dead ends) off a corner.

    Returns the node coordinates with the closes' new nodes added.
    """
    ii, jj, m, x, y = grid.ii, grid.jj, grid.m, grid.x, grid.y
    blk = np.flatnonzero((ii < m - 1) & (jj < m - 1))
    corners = np.stack([blk, blk + 1, blk + m + 1, blk + m], axis=1)  # anticlockwise
    north = grid.north
    whole = grid.kept[corners].all(axis=1) & (
        north[corners].all(axis=1) | ~north[corners].any(axis=1)
    )
    draw, flip, which = (
        rng.random(blk.size),
        rng.random(blk.size) < 0.5,
        rng.integers(0, 4, blk.size),
    )
    diag = np.flatnonzero(whole & (draw < 0.06))
    d_u, d_v = (
        np.where(flip[diag], corners[diag, 1], corners[diag, 0]),
        np.where(flip[diag], corners[diag, 3], corners[diag, 2]),
    )
    edges.add(d_u, d_v, np.where(rng.random(diag.size) < 0.3, names.path, names.footway), _EXTRA)
    close = np.flatnonzero(whole & (draw >= 0.06) & (draw < 0.2))
    c0 = corners[close, which[close]]
    opp = corners[close, (which[close] + 2) % 4]
    dx, dy = x[opp] - x[c0], y[opp] - y[c0]
    n_xy = x.size
    x = np.concatenate([x, x[c0] + 0.3 * dx - 0.1 * dy, x[c0] + 0.62 * dx])
    y = np.concatenate([y, y[c0] + 0.3 * dy + 0.1 * dx, y[c0] + 0.62 * dy])
    c1 = n_xy + np.arange(close.size)
    c2 = c1 + close.size
    first = len(streets)
    streets += [
        _street_tags(
            "residential", f"{STEMS[k % 40]} {('Close', 'Court', 'Mews', 'Way')[(k // 40) % 4]}"
        )
        for k in range(close.size)
    ]
    cul_street = first + np.arange(close.size)
    edges.eu.append(np.concatenate([c0, c1]))
    edges.ev.append(np.concatenate([c1, c2]))
    edges.street.append(np.concatenate([cul_street, cul_street]))
    edges.order.append(np.repeat(np.arange(2, dtype=np.int64), close.size))
    edges.kind.append(np.full(2 * close.size, _EXTRA))
    edges.valid.append(np.ones(2 * close.size, dtype=bool))
    return x, y


def _park(
    grid: _Grid, x: NDArray[np.float64], y: NDArray[np.float64], names: _Names, edges: _Edges
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Add the park: a ring path, spokes to the centre and out to the streets, some steps.

    Returns the node coordinates with the park's centre and ring nodes added.
    """
    park_c, park_r = grid.park_c, grid.park_r
    angle = np.linspace(0, 2 * np.pi, 10, endpoint=False) + 0.2
    ring = x.size + 1 + np.arange(10)
    x = np.concatenate([x, [park_c[0]], park_c[0] + 0.55 * park_r * np.cos(angle)])
    y = np.concatenate([y, [park_c[1]], park_c[1] + 0.55 * park_r * np.sin(angle)])
    grid_kept = np.flatnonzero(grid.kept)
    gap = np.hypot(
        x[grid_kept][None, :] - x[ring][:, None], y[grid_kept][None, :] - y[ring][:, None]
    )
    out = grid_kept[np.argmin(gap, axis=1)]
    edges.add(ring, np.roll(ring, -1), np.full(10, names.path), _EXTRA)
    edges.add(ring[[0, 3, 6]], np.full(3, ring[0] - 1), np.full(3, names.footway), _EXTRA)
    steps = np.where(np.isin(np.arange(10), [2, 7]), names.steps, names.footway)
    edges.add(ring, out, steps, _EXTRA)
    return x, y


def _warped_grid(
    rng: np.random.Generator, col: NDArray[np.int64], row: NDArray[np.int64], radius_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Street grid node positions, gently warped, swirled in the old town, and jittered.

    The warps are smooth and small beside the spacing, so grid cells never fold over.
    """
    s = _SPACING_M
    x0, y0 = col * s, row * s
    ph = rng.uniform(0.0, 2 * np.pi, size=4)
    x = x0 + 25 * np.sin(2 * np.pi * y0 / 1500 + ph[0]) + 15 * np.sin(2 * np.pi * x0 / 2100 + ph[1])
    y = y0 + 25 * np.sin(2 * np.pi * x0 / 1700 + ph[2]) + 15 * np.sin(2 * np.pi * y0 / 1900 + ph[3])
    # The old town: the grid swirls round the centre, so its streets are irregular.
    cy = 0.15 * radius_m
    turn = 0.5 * np.exp(-((np.hypot(x, y - cy) / (0.28 * radius_m)) ** 2))
    x, y = (
        x * np.cos(turn) - (y - cy) * np.sin(turn),
        cy + x * np.sin(turn) + (y - cy) * np.cos(turn),
    )
    return x + rng.normal(0.0, 0.06 * s, x.size), y + rng.normal(0.0, 0.06 * s, y.size)


def _prune(
    geoms: NDArray[np.object_],
    *,
    edge_u: NDArray[np.int64],
    edge_v: NDArray[np.int64],
    keep: NDArray[np.bool_],
    bridge: NDArray[np.bool_],
    rail: shapely.LineString,
    n_nodes: int,
) -> NDArray[np.bool_]:
    """Return which edges to keep.

    Edges through the railway (bridges excepted) or across another edge go; then only the
    largest connected piece stays, as the network loader would keep it.
    """
    keep = keep & (bridge | ~shapely.intersects(geoms, rail))
    # Streets meet only at nodes: drop any edge that crosses another (bridges excepted).
    idx = np.flatnonzero(keep)
    pairs = shapely.STRtree(geoms[idx]).query(geoms[idx], predicate="crosses")
    crossing = idx[np.unique(pairs.ravel())]
    keep[crossing[~bridge[crossing]]] = False
    graph = sp.coo_matrix(
        (np.ones(int(keep.sum())), (edge_u[keep], edge_v[keep])), shape=(n_nodes, n_nodes)
    )
    _, labels = connected_components(graph, directed=False)
    best = np.bincount(labels[edge_u[keep]]).argmax()
    kept: NDArray[np.bool_] = keep & (labels[edge_u] == best)
    return kept


def _edge_lines(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    bend_m: NDArray[np.float64],
) -> NDArray[np.object_]:
    """Three-point lines u, bent midpoint, v for every edge."""
    mid = midpoints(x, y, u, v, bend_m)
    coords = np.stack([np.column_stack([x[u], y[u]]), mid, np.column_stack([x[v], y[v]])], axis=1)
    return np.asarray(shapely.linestrings(coords), dtype=object)


def midpoints(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    bend_m: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Return each edge's midpoint moved ``bend_m`` metres to the left of u to v."""
    dx, dy = x[v] - x[u], y[v] - y[u]
    length = np.maximum(np.hypot(dx, dy), 1e-9)
    return np.column_stack(
        [(x[u] + x[v]) / 2 - dy / length * bend_m, (y[u] + y[v]) / 2 + dx / length * bend_m]
    )
