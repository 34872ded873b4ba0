"""What if? Plans of sites compared on a finished study, without running it again.

A *plan* is a list of site ids changed against today's defibs:

- a candidate building's id (``result.candidates.index``): a new cabinet, usable in its own
  hours (24/7 outside unless its row says ``outside_defib`` no, as in the ranking);
- ``upgrade:<defib id>``, when the study weighs upgrades: that defib moved to an outside 24/7
  cabinet;
- a station's id (``result.stations.index``): a 24/7 outside defib at the station;
- ``-<defib id>`` (:data:`REMOVE`): an existing defib taken away (removed, or locked so no one
  can use it), to see what it gives today.

Each plan is measured with the study's own code: the defibs' hours as
:func:`defibmap.study.board.defib_availability` reads them, the candidates' as the ranking
does, :func:`defibmap.analysis.scenarios.year_coverage` and the same walking search, on the
study's points snapped again. An empty plan gives the study's current figures exactly, and
the ranking's picks give what the ranking says they add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap._errors import InputError
from defibmap.analysis import reach
from defibmap.analysis.scenarios import night_usable, year_coverage
from defibmap.defaults import DAY_WINDOW_H
from defibmap.network.snapping import Snapped, snap_points
from defibmap.study import board
from defibmap.study.stages import _candidate_hours

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import geopandas as gpd
    from numpy.typing import NDArray

    from defibmap.study.result import StudyResult

#: Prefix of an existing defib's id in a plan: the plan takes that defib away.
REMOVE = "-"

#: The columns of :func:`compare`'s table, in order.
COLUMNS = (
    "sites_added",
    "sites_removed",
    "available",
    "night",
    "any_time",
    "people_added_available",
    "people_added_night",
    "people_added_any_time",
)


@dataclass(frozen=True)
class _Pools:
    """Where every site of a plan comes from: today's defibs and what may be added."""

    current: board.SiteSet
    additions: board.SiteSet
    demand: Snapped
    population: NDArray[np.float64]


def _snap(result: StudyResult, frame: gpd.GeoDataFrame) -> Snapped:
    """Snap a finished study's points again (the same points give the same snap)."""
    return snap_points(
        result.network,
        frame.geometry.x.to_numpy(dtype=np.float64),
        frame.geometry.y.to_numpy(dtype=np.float64),
        max_snap_m=result.config.network.max_snap_m,
    )


def _pools(result: StudyResult) -> _Pools:
    """Today's defibs with their hours, and the candidates, upgrades and stations to add."""
    config = result.config
    term, holiday, strict, _ = board.defib_availability(result.defibs, config)
    current = board.SiteSet(
        result.defibs.index.to_numpy(dtype=object),
        _snap(result, result.defibs),
        term,
        holiday,
        strict,
    )
    week, strict_options = _candidate_hours(result.candidates, config)
    options = board.SiteSet(
        result.candidates.index.to_numpy(dtype=object),
        _snap(result, result.candidates),
        week.term,
        week.holiday,
        strict_options,
    )
    stations = board.always(
        result.stations.index.to_numpy(dtype=object), _snap(result, result.stations)
    )
    return _Pools(
        current=current,
        additions=options.plus(stations),
        demand=_snap(result, result.demand),
        population=result.demand["population"].to_numpy(dtype=np.float64),
    )


def _subset(sites: board.SiteSet, keep: NDArray[np.bool_]) -> board.SiteSet:
    return board.SiteSet(
        sites.ids[keep],
        sites.snapped.subset(keep),
        sites.term[keep],
        sites.holiday[keep],
        sites.term_unknown_off[keep],
    )


def _plan_sites(pools: _Pools, name: str, plan: Iterable[str]) -> tuple[board.SiteSet, int, int]:
    """Return a plan's sites (today's, less those removed, plus those added) and the counts."""
    if isinstance(plan, str):
        msg = f"compare(): plan {name!r} must be a list of site ids, got the text {plan!r}"
        raise InputError(msg)
    ids = [str(s) for s in plan]
    removed = {s[len(REMOVE) :] for s in ids if s.startswith(REMOVE)}
    added = {s for s in ids if not s.startswith(REMOVE)}
    today = pools.current.ids.astype(str)
    known = pools.additions.ids.astype(str)
    unknown = sorted({REMOVE + s for s in removed - set(today)} | (added - set(known)))
    if unknown:
        msg = (
            f"compare(): plan {name!r} names unknown site ids {unknown}: a plan lists candidate "
            f"ids (result.candidates.index, upgrades as 'upgrade:<defib id>'), station ids "
            f"(result.stations.index), or '{REMOVE}<defib id>' to take an existing defib away"
        )
        raise InputError(msg)
    kept = _subset(pools.current, ~np.isin(today, list(removed)))
    new = _subset(pools.additions, np.isin(known, list(added)))
    return kept.plus(new), len(added), len(removed)


def _measure(
    result: StudyResult, pools: _Pools, sites: board.SiteSet, threshold_m: float
) -> tuple[float, float, float]:
    """Year-round available, night (24/7) and any-time coverage of a set of sites, 0-1."""
    key = str(round(threshold_m))
    year = year_coverage(
        result.network,
        pools.demand,
        pools.population,
        sites.snapped,
        (sites.term, sites.holiday),
        term_weeks=result.config.school_term_weeks,
        thresholds_m=(threshold_m,),
    )
    walk = reach.nearest_facility(
        result.network,
        pools.demand,
        sites.snapped,
        limit_m=reach.search_limit_m((threshold_m,)),
    ).walk_m
    any_time = reach.coverage_shares(walk, pools.population, (threshold_m,))[key]
    return year.available[key], year.night[key], any_time


def compare(
    result: StudyResult,
    plans: Mapping[str, Iterable[str]],
    *,
    threshold_m: float | None = None,
) -> pd.DataFrame:
    """Compare plans of sites on a finished study: the three coverage figures and people added.

    Parameters
    ----------
    result
        A finished study (:func:`defibmap.run_study`).
    plans
        Plan name to the site ids it changes against today's defibs: candidate ids
        (``result.candidates.index``, with ``upgrade:<defib id>`` options when the study
        weighs upgrades) and station ids (a 24/7 outside defib there) are added;
        ``-<defib id>`` takes an existing defib away (removed or locked).
    threshold_m
        The walk, metres (default: the study's headline walk).

    Returns
    -------
    pandas.DataFrame
        One row per plan (index ``plan``, in the order given): ``sites_added``,
        ``sites_removed``; ``available`` (year-round available coverage, the headline: the
        people-hours share within the walk of a defib usable in that hour over a typical
        year), ``night`` (share of people within the walk of a defib usable all night, every
        night) and ``any_time`` (every defib counted usable), each 0-1; and the change
        against today's defibs in people: ``people_added_available`` (people x share of the
        year), ``people_added_night`` and ``people_added_any_time``. Negative where a plan
        takes defibs away.

    Raises
    ------
    InputError
        When a plan names a site the study does not have, or is a text rather than a list.

    Examples
    --------
    >>> compare(result, {"top three": list(result.recommendations["site_id"][:3]),
    ...                  "without the school": ["-school_12"]})  # doctest: +SKIP
    """
    walk_m = float(result.config.headline_threshold_m if threshold_m is None else threshold_m)
    if not (np.isfinite(walk_m) and walk_m > 0):
        msg = f"compare(): threshold_m must be a positive number of metres, got {threshold_m!r}"
        raise InputError(msg)
    pools = _pools(result)
    total = float(pools.population.sum())
    before = _measure(result, pools, pools.current, walk_m)
    rows: list[dict[str, float | int]] = []
    for name, plan in plans.items():
        sites, n_added, n_removed = _plan_sites(pools, name, plan)
        after = before if not n_added and not n_removed else _measure(result, pools, sites, walk_m)
        rows.append(
            {
                "sites_added": n_added,
                "sites_removed": n_removed,
                "available": after[0],
                "night": after[1],
                "any_time": after[2],
                "people_added_available": (after[0] - before[0]) * total,
                "people_added_night": (after[1] - before[1]) * total,
                "people_added_any_time": (after[2] - before[2]) * total,
            }
        )
    return pd.DataFrame(rows, index=pd.Index(list(plans), name="plan"), columns=list(COLUMNS))


@dataclass(frozen=True)
class Planner:
    """What a page needs to measure any plan by itself: catchments and weekly usability.

    Every site a plan may hold (today's defibs first, then the candidates, upgrades and
    stations that may be added) with the demand points within the walk, and each site's
    usability over the year's hours compressed into *slots*: hours in which exactly the same
    sites are usable share one slot. :func:`planner_figures` measures a plan from these
    alone, with the same results as :func:`compare`.

    Attributes
    ----------
    site_ids
        Every site, today's defibs first (``n_current`` of them).
    n_current
        Number of today's defibs.
    pair_site, pair_demand, pair_walk_m
        The (site, demand point) pairs no farther apart than ``threshold_m``, and the walk in
        metres.
    slot_usable
        ``(n_sites, n_slots)`` booleans: the site is usable in that slot.
    slot_hours
        Hours of the year in each slot (they sum to 52 x 168).
    night
        Whether each site is usable through the whole night window, every week.
    day_term, day_holiday
        Whether each site is usable at the middle hour of the weekday daytime window
        (:data:`defibmap.defaults.DAY_WINDOW_H`: 13:00-14:00) on every weekday of a school-term
        week, and of a school-holiday week.
    population
        People at each demand point.
    threshold_m
        The walk, metres.
    demand_u, demand_v
        The network nodes at the two ends of each demand point's edge (-1: not snapped).
    demand_to_u_m, demand_to_v_m
        The walk from each demand point to those nodes, metres: the access leg and along the
        edge (NaN: not snapped). A page places a hypothetical cabinet on the network with them.
    """

    site_ids: tuple[str, ...]
    n_current: int
    pair_site: NDArray[np.int64]
    pair_demand: NDArray[np.int64]
    pair_walk_m: NDArray[np.float64]
    slot_usable: NDArray[np.bool_]
    slot_hours: NDArray[np.int64]
    night: NDArray[np.bool_]
    day_term: NDArray[np.bool_]
    day_holiday: NDArray[np.bool_]
    population: NDArray[np.float64]
    threshold_m: float
    demand_u: NDArray[np.int64]
    demand_v: NDArray[np.int64]
    demand_to_u_m: NDArray[np.float64]
    demand_to_v_m: NDArray[np.float64]


def planner(result: StudyResult, *, threshold_m: float | None = None) -> Planner:
    """Measure once what a what-if planner needs to measure any plan without a network.

    Parameters
    ----------
    result
        A finished study.
    threshold_m
        The walk, metres (default: the study's headline walk).

    Returns
    -------
    Planner
        The catchment of every site (today's defibs, candidates, upgrades and stations) and
        every site's usability by slot of the year.
    """
    walk_m = float(result.config.headline_threshold_m if threshold_m is None else threshold_m)
    pools = _pools(result)
    sites = pools.current.plus(pools.additions)
    pairs = reach.pair_distances(result.network, sites.snapped, pools.demand, limit_m=walk_m)
    keep = pairs.walk_m <= walk_m
    term_weeks = result.config.school_term_weeks
    hours = np.r_[
        np.full(sites.term.shape[1], term_weeks, dtype=np.int64),
        np.full(sites.holiday.shape[1], 52 - term_weeks, dtype=np.int64),
    ]
    usable = np.hstack([sites.term, sites.holiday])
    columns, inverse = np.unique(usable.T, axis=0, return_inverse=True)
    slot_hours = np.zeros(len(columns), dtype=np.int64)
    np.add.at(slot_hours, inverse.ravel(), hours)
    # one hour stands for the day: a defib open 09:00-12:00 only is not usable "by day"
    middle = sum(DAY_WINDOW_H) // 2
    day = np.array([weekday * 24 + middle for weekday in range(5)])
    snapped = pools.demand
    edge = np.where(snapped.ok, snapped.edge, 0)
    return Planner(
        site_ids=tuple(str(s) for s in sites.ids),
        n_current=len(pools.current),
        pair_site=pairs.site[keep],
        pair_demand=pairs.demand[keep],
        pair_walk_m=pairs.walk_m[keep],
        slot_usable=np.ascontiguousarray(columns.T),
        slot_hours=slot_hours,
        night=night_usable(sites.term, sites.holiday),
        day_term=np.asarray(sites.term[:, day].all(axis=1), dtype=bool),
        day_holiday=np.asarray(sites.holiday[:, day].all(axis=1), dtype=bool),
        population=pools.population,
        threshold_m=walk_m,
        demand_u=np.where(snapped.ok, result.network.edge_u[edge], -1),
        demand_v=np.where(snapped.ok, result.network.edge_v[edge], -1),
        demand_to_u_m=np.where(snapped.ok, snapped.snap_m + snapped.to_u_m, np.nan),
        demand_to_v_m=np.where(snapped.ok, snapped.snap_m + snapped.to_v_m, np.nan),
    )


def planner_figures(plan: Planner, active: NDArray[np.bool_]) -> tuple[float, float, float]:
    """Year-round available, night and any-time coverage (0-1) of the ``active`` sites.

    The arithmetic the map's planner does in the page, from :class:`Planner` alone.
    """
    on = active[plan.pair_site]
    site, demand = plan.pair_site[on], plan.pair_demand[on]
    n = len(plan.population)
    total = float(plan.population.sum())
    if total <= 0:
        return 0.0, 0.0, 0.0
    slots = np.zeros((n, plan.slot_usable.shape[1]), dtype=bool)
    np.logical_or.at(slots, demand, plan.slot_usable[site])
    share = (slots * plan.slot_hours).sum(axis=1) / float(plan.slot_hours.sum())
    any_time = np.zeros(n, dtype=bool)
    any_time[demand] = True
    night = np.zeros(n, dtype=bool)
    night[demand[plan.night[site]]] = True
    pop = plan.population
    return float(share @ pop / total), float(night @ pop / total), float(any_time @ pop / total)
