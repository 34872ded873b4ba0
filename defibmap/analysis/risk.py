"""Demand by cardiac-arrest risk: expected arrests from age and deprivation, past incidents.

Residents are not equally likely to have an out-of-hospital cardiac arrest (OHCA): incidence
rises steeply with age and is higher in deprived areas. Three ways of weighing a demand point
(``[demand] weight``):

* ``residents``: its people (the default);
* ``expected_arrests``: :func:`expected_arrests`, residents by age band times an incidence
  rate per 100,000 a year for each band (a study's own table), optionally times a rate ratio
  for the point's IMD quintile;
* ``incidents``: past arrests placed on the demand points, either each at its nearest demand
  point (:func:`nearest_counts`) or spread by a Gaussian kernel (:func:`kernel_density`);
  either way the total equals the number of incidents.

Functions of arrays only: the study reads the files (:mod:`defibmap.io.risk_tables`,
:func:`defibmap.io.population.read_ages`) and passes what they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from defibmap.defaults import NIGHT_WINDOW_H

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import NDArray

__all__ = [
    "DemandWeight",
    "band_people",
    "expected_arrests",
    "imd_quintile",
    "is_night",
    "kernel_density",
    "nearest_counts",
]

#: Incidents are spread over the demand points in blocks of at most this many incident x
#: demand pairs, to bound the memory of the distance matrix (about 32 MB a block).
_BLOCK_PAIRS = 4_000_000


@dataclass(frozen=True)
class DemandWeight:
    """What the ranking maximises per demand point, and what the summary says of it.

    Attributes
    ----------
    basis
        ``"residents"``, ``"expected_arrests"`` or ``"incidents"``.
    unit
        Plain words for one unit of the weight (``"expected cardiac arrests a year"``).
    per_point
        The weight of each demand point (people, arrests a year or incidents).
    day, night
        For ``incidents``: the part of each point's weight from incidents by day (06:00 to
        midnight) and at night (00:00-06:00); None otherwise.
    covered
        The total weight within the headline walk of a defib, by which coverage
        (``"any_time"``, and ``"available"``/``"night"`` when the study measures them).
    source
        Where the weight comes from: file names and the tables' ``# source:`` lines.
    details
        Further counts for the summary (incidents by period, by location type, the method
        and bandwidth; areas joined to the age table).
    """

    basis: str
    unit: str
    per_point: NDArray[np.float64]
    day: NDArray[np.float64] | None = None
    night: NDArray[np.float64] | None = None
    covered: Mapping[str, float] | None = None
    source: Mapping[str, str] | None = None
    details: Mapping[str, float | int | str | Mapping[str, int]] | None = None

    @property
    def total(self) -> float:
        """The weight of every demand point together."""
        return float(np.sum(self.per_point))


def band_people(
    ages: NDArray[np.float64], open_from: int, spans: Sequence[tuple[int, int | None]]
) -> NDArray[np.float64]:
    """Sum single-year-of-age counts into age bands.

    Parameters
    ----------
    ages
        People by single year of age, shape (points, ``open_from`` + 1): column ``a`` holds
        people aged ``a``; the last column people aged ``open_from`` and over.
    open_from
        The age of the last, open column (90 in the ONS mid-year estimates).
    spans
        The bands' ``(low, high)`` years, inclusive, from 0 without gap, the last one
        ``(low, None)`` (that age and over).

    Returns
    -------
    numpy.ndarray
        People in each band, shape (points, bands).

    Raises
    ------
    ValueError
        When a band ends above ``open_from`` without being the open band: the open column
        cannot be split between bands.
    """
    ages = np.asarray(ages, dtype=np.float64)
    out = np.zeros((ages.shape[0], len(spans)), dtype=np.float64)
    for j, (low, high) in enumerate(spans):
        if high is None:
            if low > open_from:
                msg = (
                    f"the open age band starts at {low}, above the last age column "
                    f"({open_from} and over), which cannot be split"
                )
                raise ValueError(msg)
            out[:, j] = ages[:, low:].sum(axis=1)
            continue
        if high >= open_from:
            msg = (
                f"the age band {low}-{high} reaches the last age column ({open_from} and over), "
                "which cannot be split; end the bands below it and leave the top band open"
            )
            raise ValueError(msg)
        out[:, j] = ages[:, low : high + 1].sum(axis=1)
    return out


def expected_arrests(
    people_by_band: NDArray[np.float64],
    rates_per_100000: Sequence[float] | NDArray[np.float64],
    *,
    rate_ratio: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Return expected OHCA per year at each point: sum over bands of people x rate / 100,000.

    Parameters
    ----------
    people_by_band
        People in each age band, shape (points, bands) (:func:`band_people`).
    rates_per_100000
        Incidence of each band, arrests per 100,000 residents a year.
    rate_ratio
        A multiplier per point (e.g. the rate ratio of its IMD quintile); None for 1.

    Returns
    -------
    numpy.ndarray
        Expected arrests a year at each point.
    """
    rates = np.asarray(rates_per_100000, dtype=np.float64)
    arrests: NDArray[np.float64] = np.asarray(people_by_band, dtype=np.float64) @ rates / 1e5
    if rate_ratio is not None:
        arrests = arrests * np.asarray(rate_ratio, dtype=np.float64)
    return arrests


def imd_quintile(decile: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the IMD quintile of each IMD decile: deciles 1-2 are quintile 1, ... 9-10 are 5."""
    return np.ceil(np.asarray(decile, dtype=np.float64) / 2.0)


def is_night(hour: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Return True for an hour of the day (0-23) at night: 00:00 to 06:00."""
    hour = np.asarray(hour)
    return np.asarray((hour >= NIGHT_WINDOW_H[0]) & (hour < NIGHT_WINDOW_H[1]))


def nearest_counts(
    incident_xy: NDArray[np.float64], demand_xy: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Count incidents at their nearest demand point (straight line, projected metres).

    Parameters
    ----------
    incident_xy, demand_xy
        Shape (n, 2) coordinates in one projected CRS, metres.

    Returns
    -------
    tuple of numpy.ndarray
        Incidents at each demand point (sums to the number of incidents), and each
        incident's distance to its demand point, metres.
    """
    from scipy.spatial import cKDTree

    counts = np.zeros(len(demand_xy), dtype=np.float64)
    if not len(incident_xy):
        return counts, np.zeros(0, dtype=np.float64)
    distance, nearest = cKDTree(np.asarray(demand_xy, dtype=np.float64)).query(
        np.asarray(incident_xy, dtype=np.float64)
    )
    np.add.at(counts, nearest, 1.0)
    return counts, np.asarray(distance, dtype=np.float64)


def kernel_density(
    incident_xy: NDArray[np.float64],
    demand_xy: NDArray[np.float64],
    bandwidth_m: float,
) -> NDArray[np.float64]:
    """Spread each incident over the demand points by a Gaussian kernel; keep the total.

    Incident ``i`` gives demand point ``j`` the share
    ``exp(-d_ij^2 / (2 h^2)) / sum_k exp(-d_ik^2 / (2 h^2))`` of one incident, ``d`` the
    straight-line distance and ``h`` the bandwidth: every incident counts exactly once,
    however far it lies from the demand points (one farther than every point's kernel reach
    goes wholly to its nearest point rather than vanishing in rounding).

    Parameters
    ----------
    incident_xy, demand_xy
        Shape (n, 2) coordinates in one projected CRS, metres.
    bandwidth_m
        The kernel's standard deviation, metres (> 0).

    Returns
    -------
    numpy.ndarray
        Incidents at each demand point; the sum is the number of incidents.
    """
    if bandwidth_m <= 0:
        msg = f"bandwidth_m must be > 0, got {bandwidth_m}"
        raise ValueError(msg)
    demand = np.asarray(demand_xy, dtype=np.float64)
    incidents = np.asarray(incident_xy, dtype=np.float64)
    out = np.zeros(len(demand), dtype=np.float64)
    rows = max(1, _BLOCK_PAIRS // max(1, len(demand)))
    for start in range(0, len(incidents), rows):
        block = incidents[start : start + rows]
        d2 = (block[:, None, 0] - demand[None, :, 0]) ** 2
        d2 += (block[:, None, 1] - demand[None, :, 1]) ** 2
        # subtract each incident's least distance first: exp never underflows to all zeros
        exponent = -(d2 - d2.min(axis=1, keepdims=True)) / (2.0 * bandwidth_m**2)
        kernel = np.exp(exponent)
        out += (kernel / kernel.sum(axis=1, keepdims=True)).sum(axis=0)
    return out
