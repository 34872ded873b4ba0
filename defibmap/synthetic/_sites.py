"""Where the demonstration town's residents and sites are: output areas and point sites.

Output areas are weighted k-means pieces of the street grid on each side of the railway, with
their population and deprivation decile; existing defibrillators, fire and police stations and
candidate council buildings are set back from street nodes of the plan. Everything is in local
metres (``x_m, y_m``); :mod:`defibmap.synthetic._osm` turns it into lon/lat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap import layers
from defibmap.defaults import DEFAULT_SCHOOL_HOURS
from defibmap.synthetic._streets import STEMS, SYN, Plan

if TYPE_CHECKING:
    from numpy.typing import NDArray

_OFFICE_HOURS = "Mo-Fr 09:00-17:00"
_SCHOOL_HOURS = DEFAULT_SCHOOL_HOURS
# Existing defibrillators, in the order sites() places them:
# (number, kind, name, opening_hours, location, locked).
_DEFIB_GROUPS = (
    (9, "school", "{} Primary School", _SCHOOL_HOURS, "indoor", "no"),
    (3, "school", "{} Academy", _SCHOOL_HOURS, "indoor", "no"),
    (1, "school", "{} Community Primary School", "24/7", "outside", "no"),
    (8, "outside_cabinet", "{} Community Defib Cabinet", "24/7", "outside", "no"),
    (2, "gp_surgery", "{} Surgery", _OFFICE_HOURS, "indoor", "no"),
    (2, "pharmacy", "{} Pharmacy", _OFFICE_HOURS, "indoor", "no"),
    (1, "office", "{} House offices", _OFFICE_HOURS, "indoor", "no"),
    (1, "leisure_centre", "{} Leisure Club", f"{_OFFICE_HOURS}; Sa 10:00-13:00", "indoor", "no"),
    (2, "shop", "{} Stores", "", "indoor", "no"),  # opening hours unknown
    (1, "outside_cabinet", "{} Parade Locked Cabinet", "24/7", "outside", "yes"),
)
# Candidate council buildings besides the town hall: (number, kind, name suffix).
_COUNCIL_GROUPS = (
    (5, "library", "Library"),
    (12, "community_centre", "Community Centre"),
    (5, "sports_centre", "Sports Centre"),
    (7, "social_centre", "Social Centre"),
)


def _kmeans(
    rng: np.random.Generator,
    xy: NDArray[np.float64],
    weight: NDArray[np.float64],
    k: int,
    *,
    iterations: int = 15,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted Lloyd's k-means; return the cluster centroids and their total weights."""
    centres = xy[rng.choice(xy.shape[0], size=k, replace=False, p=weight / weight.sum())]
    for _ in range(iterations + 1):
        label = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        mass = np.bincount(label, weight, minlength=k)
        sums = np.column_stack(
            [np.bincount(label, weight * xy[:, 0], k), np.bincount(label, weight * xy[:, 1], k)]
        )
        filled = mass > 0
        centres[filled] = sums[filled] / mass[filled, None]
    return centres, mass.astype(np.float64)


def demand(
    rng: np.random.Generator, plan: Plan, radius_m: float, *, population: int, n_areas: int
) -> pd.DataFrame:
    """Output areas: k-means pieces of the street grid on each side of the railway.

    Homes are denser in the centre and on the south side (terraces); the south side is also
    the more deprived, with deprivation clustered in a few neighbourhoods.
    """
    nodes = plan.site_nodes
    xy = np.column_stack([plan.x_m[nodes], plan.y_m[nodes]])
    north = plan.north[nodes]
    centre = np.hypot(xy[:, 0], xy[:, 1] - 0.15 * radius_m) / (0.45 * radius_m)
    weight = (1 + 1.5 * np.exp(-(centre**2)) + 0.7 * ~north) * rng.uniform(0.6, 1.4, nodes.size)
    k_north = round(n_areas * weight[north].sum() / weight.sum())
    parts = [
        _kmeans(rng, xy[north == side], weight[north == side], k)
        for side, k in ((True, k_north), (False, n_areas - k_north))
    ]
    area_xy = np.concatenate([p[0] for p in parts]) + rng.normal(0.0, 12.0, (n_areas, 2))
    mass = np.concatenate([p[1] for p in parts])
    area_north = np.arange(n_areas) < k_north
    base = population // (3 * n_areas)
    people = base + rng.multinomial(population - base * n_areas, mass / mass.sum())
    bumps = rng.uniform(-radius_m, radius_m, (6, 2))
    height = rng.normal(0.0, 0.8, 6)
    d2 = ((area_xy[:, None, :] - bumps[None, :, :]) ** 2).sum(axis=2)
    score = (
        1.6 * ~area_north
        + (height * np.exp(-d2 / (2 * (0.25 * radius_m) ** 2))).sum(axis=1)
        + rng.normal(0.0, 0.35, n_areas)
    )
    rank = np.argsort(np.argsort(-score, kind="stable"), kind="stable")
    decile = 1 + rank * 10 // n_areas  # 1 = most deprived
    order = np.lexsort((area_xy[:, 0], -area_xy[:, 1]))  # numbered north to south
    label = np.where(area_north[order], "North", "South")
    return pd.DataFrame(
        {
            "demand_id": [f"demoton-oa-{k:03d}" for k in range(1, n_areas + 1)],
            "name": [f"Demoton {side} {k:03d}{SYN}" for k, side in enumerate(label, start=1)],
            "population": people[order].astype(np.int64),
            "imd_decile": decile[order].astype(np.int64),
            "x_m": area_xy[order, 0],
            "y_m": area_xy[order, 1],
        }
    )


def _pick(
    rng: np.random.Generator,
    plan: Plan,
    n: int,
    *,
    weight_north: float = 1.0,
    weight_south: float = 1.0,
    min_sep_m: float,
    avoid: NDArray[np.float64] | None = None,
    avoid_m: float = 80.0,
) -> NDArray[np.float64]:
    """Pick ``n`` sites at least ``min_sep_m`` apart, in a weighted random order.

    Each site is set back 12-30 m from a street node, as a building stands back from the road.
    """
    nodes = plan.site_nodes
    xy = np.column_stack([plan.x_m[nodes], plan.y_m[nodes]])
    weight = np.where(plan.north[nodes], weight_north, weight_south)
    chosen: list[NDArray[np.float64]] = []
    others = np.empty((0, 2)) if avoid is None else avoid
    allowed = np.flatnonzero(weight > 0)
    p = weight[allowed] / weight[allowed].sum()
    for k in allowed[rng.choice(allowed.size, size=allowed.size, replace=False, p=p)]:
        here = xy[k]
        if chosen and np.min(np.hypot(*(np.asarray(chosen) - here).T)) < min_sep_m:
            continue
        if others.size and np.min(np.hypot(*(others - here).T)) < avoid_m:
            continue
        chosen.append(here)
        if len(chosen) == n:
            break
    else:  # pragma: no cover - the layout leaves plenty of room
        msg = f"could not place {n} sites {min_sep_m} m apart"
        raise RuntimeError(msg)
    angle, dist = rng.uniform(0.0, 2 * np.pi, n), rng.uniform(12.0, 30.0, n)
    return np.asarray(chosen) + np.column_stack([dist * np.cos(angle), dist * np.sin(angle)])


def _near(rng: np.random.Generator, plan: Plan, x_m: float, y_m: float) -> NDArray[np.float64]:
    """Return a site set back 20 m from the street node nearest a planned spot."""
    nodes = plan.site_nodes
    k = nodes[np.argmin(np.hypot(plan.x_m[nodes] - x_m, plan.y_m[nodes] - y_m))]
    angle = rng.uniform(0.0, 2 * np.pi)
    return np.array([[plan.x_m[k] + 20 * np.cos(angle), plan.y_m[k] + 20 * np.sin(angle)]])


def _frame(records: list[dict[str, str]], xy: NDArray[np.float64], prefix: str) -> pd.DataFrame:
    """Build a site layer: ``site_id`` (``prefix-01``...), the records, then ``x_m, y_m``."""
    frame = pd.DataFrame.from_records(records)
    frame.insert(0, "site_id", [f"{prefix}-{k:02d}" for k in range(1, len(frame) + 1)])
    frame["x_m"], frame["y_m"] = xy[:, 0], xy[:, 1]
    return frame


#: Where the ambulance make-ready hub stands, as fractions of the town radius (x, y): on the
#: east side of town, away from the 24/7 cabinets of the north.
HUB_SPOT = (0.55, -0.05)


def hubs(rng: np.random.Generator, plan: Plan, radius_m: float) -> pd.DataFrame:
    """Place the ambulance service's make-ready hub: a 24/7 staffed site with a defib.

    Drawn after every other site (one number of ``rng``), so the rest of the town is what it
    was before the town had a hub.
    """
    x, y = HUB_SPOT
    spot = _near(rng, plan, x * radius_m, y * radius_m)
    return _frame([{"name": f"Demoton Ambulance Hub{SYN}"}], spot, "hub")


def sites(rng: np.random.Generator, plan: Plan, radius_m: float) -> dict[str, pd.DataFrame]:
    """Place existing defibs, fire and police stations and candidate council buildings.

    Planned spots are fractions of the town radius: a fire station and the police station
    north of the railway, the other fire station south of it, the town hall in the old town.
    Outside cabinets favour the better-off north side; council buildings lean south.
    """
    r = radius_m
    fire = np.concatenate(
        [_near(rng, plan, -0.45 * r, 0.45 * r), _near(rng, plan, 0.35 * r, -0.5 * r)]
    )
    police = _near(rng, plan, 0.1 * r, 0.25 * r)
    townhall = _near(rng, plan, -0.08 * r, 0.22 * r)
    schools = _pick(rng, plan, 12, min_sep_m=0.27 * r)
    # A school in the deprived south with an outside cabinet (DfE sent external cabinets to
    # primary and special schools where provision was low; docs/references.md, DfE 2023).
    cabinet_school = _pick(
        rng, plan, 1, weight_north=0.0, min_sep_m=0.0, avoid=schools, avoid_m=350
    )
    taken = np.concatenate([fire, police, townhall, schools, cabinet_school])
    cabinets = _pick(rng, plan, 8, weight_north=3.0, min_sep_m=0.18 * r, avoid=taken, avoid_m=150)
    taken = np.concatenate([taken, cabinets])
    office = _pick(rng, plan, 6, weight_north=2.0, min_sep_m=250, avoid=taken, avoid_m=100)
    taken = np.concatenate([taken, office])
    odd = _pick(rng, plan, 3, min_sep_m=300, avoid=taken, avoid_m=100)
    taken = np.concatenate([taken, odd])
    council = _pick(rng, plan, 29, weight_south=1.5, min_sep_m=0.14 * r, avoid=taken, avoid_m=120)

    stems = iter([STEMS[k] for k in rng.permutation(len(STEMS))])
    defibs = [
        {
            "name": f"{name.format(next(stems))}{SYN}",
            "kind": kind,
            "opening_hours": hours,
            "location": location,
            "locked": locked,
        }
        for n, kind, name, hours, location, locked in _DEFIB_GROUPS
        for _ in range(n)
    ]
    stems = iter([STEMS[k] for k in rng.permutation(len(STEMS))])
    candidates = [{"name": f"Demoton Town Hall{SYN}", "kind": "townhall"}]
    candidates += [
        {"name": f"{next(stems)} {label}{SYN}", "kind": kind}
        for n, kind, label in _COUNCIL_GROUPS
        for _ in range(n)
    ]
    # Both stations co-respond, each with its own crewing (so its own turnout), and the
    # layer holds both answers to outside_defib: the south station has a cabinet on its wall.
    fire_stations = [
        {
            "name": f"Demoton North Fire Station{SYN}",
            "co_responder": "yes",
            "crewing": "wholetime",
            "outside_defib": "no",
        },
        {
            "name": f"Demoton South Fire Station{SYN}",
            "co_responder": "yes",
            "crewing": "on_call",
            "outside_defib": "yes",
        },
    ]
    return {
        layers.DEFIBS: _frame(
            defibs, np.concatenate([schools, cabinet_school, cabinets, office, odd]), "defib"
        ),
        layers.FIRE_STATIONS: _frame(fire_stations, fire, "fire"),
        layers.POLICE_STATIONS: _frame(
            [{"name": f"Demoton Police Station{SYN}"}], police, "police"
        ),
        layers.CANDIDATES: _frame(candidates, np.concatenate([townhall, council]), "council"),
    }
