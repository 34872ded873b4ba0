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
