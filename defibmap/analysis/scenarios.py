"""Coverage by hour of the week, day and night, for scenarios side by side.

A scenario is a set of defib sites, each with its weekly availability. Coverage for an hour
counts only the defibs usable in that hour. Hours with the same set of usable defibs share
one bounded multi-source search, so a week costs a handful of searches, not 168.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from defibmap.analysis import availability as av
from defibmap.analysis import reach
from defibmap.io.hours import HOURS_PER_WEEK

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from defibmap.network.snapping import Snapped
    from defibmap.network.walk import Network


@dataclass(frozen=True)
class WeekCoverage:
    """Coverage share (0-1) for every hour of the week at each threshold.

    Attributes
    ----------
    hourly
        ``{threshold key: 168 shares}``, threshold keys as in ``summary.json`` (``"500"``).
    """

    hourly: dict[str, NDArray[np.float64]]

    def summary(self) -> dict[str, dict[str, float]]:
        """Return day and night means of the hourly shares for every threshold."""
        return {
            key: {
                "day": av.mean_share(values, av.DAY_HOURS),
                "night": av.mean_share(values, av.NIGHT_HOURS),
                "week_mean": float(np.mean(values)),
                "min": float(np.min(values)),
            }
            for key, values in self.hourly.items()
        }


def week_coverage(
    network: Network,
    demand: Snapped,
    population: NDArray[np.float64],
    sites: Snapped,
    usable: NDArray[np.bool_],
    *,
    thresholds_m: Sequence[float],
) -> WeekCoverage:
    """Coverage for each hour of the week when only usable defibs count.

    Parameters
    ----------
    network
        The walking network.
    demand
        Snapped demand points.
    population
        People at each demand point.
    sites
        Snapped defib sites.
    usable
        ``(n_sites, 168)`` booleans: site usable in that hour.
    thresholds_m
        Coverage thresholds in metres.

    Returns
    -------
    WeekCoverage
    """
    limit = reach.search_limit_m(thresholds_m)
    patterns, inverse = np.unique(usable.T, axis=0, return_inverse=True)
    hourly = {str(round(t)): np.zeros(HOURS_PER_WEEK) for t in thresholds_m}
    for p, pattern in enumerate(patterns):
        subset = sites.subset(np.flatnonzero(pattern))
        walk = reach.nearest_facility(network, demand, subset, limit_m=limit).walk_m
        shares = reach.coverage_shares(walk, population, thresholds_m)
        hours = np.flatnonzero(inverse.ravel() == p)
        for key, share in shares.items():
            hourly[key][hours] = share
    return WeekCoverage(hourly)


@dataclass(frozen=True)
class YearCoverage:
    """Available coverage over a typical year, and at night, per demand point and overall.

    *Year-round available*: the share of a typical year's hours (a term week for
    ``school_term_weeks`` weeks, a school-holiday week for the rest of the 52) that a demand
    point lies within the threshold of a defib usable in that hour. *Night*: a point is covered
    when a defib within the threshold is usable through the whole 00:00-06:00 window of every
    day, in term and in holiday weeks (in practice a 24/7 or outside defib).

    Attributes
    ----------
    point_share
        ``{threshold key: share of the year's hours (0-1) per demand point}``.
    point_night
        ``{threshold key: covered through the night, per demand point}``.
    available, night
        ``{threshold key: population share (0-1)}``: people-hours share for ``available``,
        people share for ``night``.
    """

    point_share: dict[str, NDArray[np.float64]]
    point_night: dict[str, NDArray[np.bool_]]
    available: dict[str, float]
    night: dict[str, float]


def night_usable(term: NDArray[np.bool_], holiday: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Whether each site is usable through the whole night window, in term and holiday weeks."""
    window = av.NIGHT_HOURS
    return np.asarray(term[:, window].all(axis=1) & holiday[:, window].all(axis=1))


def year_coverage(
    network: Network,
    demand: Snapped,
    population: NDArray[np.float64],
    sites: Snapped,
    usable: tuple[NDArray[np.bool_], NDArray[np.bool_]],
    *,
    term_weeks: int,
    thresholds_m: Sequence[float],
) -> YearCoverage:
    """Year-round available and night coverage, per demand point and as population shares.

    Parameters
    ----------
    network
        The walking network.
    demand
        Snapped demand points.
    population
        People at each demand point.
    sites
        Snapped defib sites.
    usable
        ``(term, holiday)``: ``(n_sites, 168)`` booleans, site usable in that hour of a
        school-term week and of a school-holiday week.
    term_weeks
        School term weeks in the year's 52 (the rest are holiday weeks).
    thresholds_m
        Coverage thresholds in metres.

    Returns
    -------
    YearCoverage
    """
    term, holiday = usable
    limit = reach.search_limit_m(thresholds_m)
    keys = [str(round(t)) for t in thresholds_m]
    # the year's 336 kinds of hour: 168 of a term week, 168 of a holiday week, each standing
    # for as many hours of the year as there are weeks of its kind; hours with the same usable
    # sites share one search. Counted in whole hours, so a point covered at every hour has
    # exactly 1.0
    slots = np.hstack([term, holiday]).T
    hours = np.r_[
        np.full(HOURS_PER_WEEK, term_weeks, dtype=np.int64),
        np.full(HOURS_PER_WEEK, 52 - term_weeks, dtype=np.int64),
    ]
    patterns, inverse = np.unique(slots, axis=0, return_inverse=True)
    pattern_hours = np.zeros(len(patterns), dtype=np.int64)
    np.add.at(pattern_hours, inverse.ravel(), hours)
    n = len(population)
    covered_hours = {key: np.zeros(n, dtype=np.int64) for key in keys}
    for p, pattern in enumerate(patterns):
        if pattern_hours[p] <= 0 or not pattern.any():
            continue
        walk = reach.nearest_facility(
            network, demand, sites.subset(np.flatnonzero(pattern)), limit_m=limit
        ).walk_m
        for key, t in zip(keys, thresholds_m, strict=True):
            covered_hours[key] += pattern_hours[p] * reach.covered(walk, t)
    share = {key: covered_hours[key] / float(52 * HOURS_PER_WEEK) for key in keys}
    night_sites = np.flatnonzero(night_usable(term, holiday))
    night_walk = reach.nearest_facility(
        network, demand, sites.subset(night_sites), limit_m=limit
    ).walk_m
    night = {key: reach.covered(night_walk, t) for key, t in zip(keys, thresholds_m, strict=True)}
    total = float(population.sum())

    def people_share(values: NDArray[np.float64]) -> float:
        return float(values @ population / total) if total > 0 else 0.0

    return YearCoverage(
        point_share=share,
        point_night=night,
        available={key: people_share(share[key]) for key in keys},
        night={key: people_share(night[key].astype(np.float64)) for key in keys},
    )
