"""Time to the first defibrillator: bystander fetch, fire co-responder and ambulance.

Survival from a cardiac arrest falls by roughly a tenth for every minute without
defibrillation. Three routes bring a defibrillator to a patient, each measured in seconds
from the 999 call:

- **bystander fetch**: walk to the nearest available defib and back, plus opening the cabinet
  (more when the cabinet is locked and its code must be got from 999);
- **fire co-responder**: the fire crew's turnout plus the drive from the nearest station taking
  part (:func:`defibmap.network.drive.drive_from_stations`);
- **ambulance**: one response time for the whole area, or turnout plus the drive from the
  nearest ambulance base.

The time to the first defibrillator is the smallest of the three; the route that gave it is
recorded. Every default is in :mod:`defibmap.defaults` with its source (docs/references.md);
all are configurable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import numpy as np
import pandas as pd

from defibmap.defaults import (
    AMBULANCE_S,
    AMBULANCE_TURNOUT_S,
    CABINET_S,
    FIRE_TURNOUT_S,
    LOCKED_CABINET_EXTRA_S,
    RESPONSE_WITHIN_MIN,
    WALKING_SPEED_M_S,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

#: Minutes within which the population share reached is reported.
WITHIN_MIN = RESPONSE_WITHIN_MIN
#: Route names, in the order that breaks ties.
ROUTES = ("bystander", "fire", "ambulance")
#: ``first_route`` where no route reaches the point.
NO_ROUTE = "none"


def _as_float(values: ArrayLike | None, n: int) -> NDArray[np.float64]:
    """Return a float array of length ``n``; None gives all NaN, a scalar is broadcast."""
    if values is None:
        return np.full(n, np.nan)
    return np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)).copy()


@dataclass(frozen=True)
class ResponseAssumptions:
    """The speeds and delays of the three routes; the defaults are in :mod:`defibmap.defaults`.

    Attributes
    ----------
    walking_speed_m_s
        Bystander walking speed, m/s.
    cabinet_s
        Seconds to open a cabinet and take the defib.
    locked_cabinet_extra_s
        Extra seconds at a locked cabinet.
    fire_turnout_s
        Fire crew turnout in seconds, added to the drive from the station.
    ambulance_s
        One ambulance response time in seconds for the whole area; used when there is no
        drive from ambulance bases.
    ambulance_turnout_s
        Ambulance turnout in seconds, added to the drive from the nearest base.
    """

    walking_speed_m_s: float = WALKING_SPEED_M_S
    cabinet_s: float = CABINET_S
    locked_cabinet_extra_s: float = LOCKED_CABINET_EXTRA_S
    fire_turnout_s: float = FIRE_TURNOUT_S
    ambulance_s: float = AMBULANCE_S
    ambulance_turnout_s: float = AMBULANCE_TURNOUT_S


def time_to_defib(
    *,
    walk_m: ArrayLike,
    locked: ArrayLike | None = None,
    fire_drive_s: ArrayLike | None = None,
    ambulance_drive_s: ArrayLike | None = None,
    assumptions: ResponseAssumptions | None = None,
) -> pd.DataFrame:
    """Seconds until a defibrillator reaches each demand point, by each route and overall.

    Parameters
    ----------
    walk_m
        One-way walk in metres to the nearest available defib per demand point; NaN when none
        is within reach (that route then does not count).
    locked
        True where that nearest defib is in a locked cabinet; default none locked.
    fire_drive_s
        Drive in seconds from the nearest co-responding fire station (no turnout); NaN where
        no station reaches the point, None when there is no co-responder scheme at all.
    ambulance_drive_s
        Drive in seconds from the nearest ambulance base per demand point; when given, the
        ambulance time is ``ambulance_turnout_s + ambulance_drive_s`` (NaN where no base
        reaches the point, never replaced by ``ambulance_s``).
    assumptions
        Speeds and delays of the routes; default :class:`ResponseAssumptions` ``()``.

    Returns
    -------
    pandas.DataFrame
        One row per demand point, in input order: ``walk_fetch_s`` (``2 * walk_m /
        walking_speed_m_s + cabinet_s``, plus ``locked_cabinet_extra_s`` when locked),
        ``fire_s`` (turnout plus drive; NaN without a co-responder), ``ambulance_s``,
        ``time_to_defib_s`` (the smallest, NaN ignored) and ``first_route`` (``"bystander"``,
        ``"fire"`` or ``"ambulance"``; ties go to the bystander, then fire, then ambulance, as
        the earlier route in that order needs no vehicle; ``"none"`` where all are NaN).
    """
    times = ResponseAssumptions() if assumptions is None else assumptions
    walk = np.asarray(walk_m, dtype=np.float64).ravel()
    n = walk.shape[0]
    is_locked = (
        np.zeros(n, dtype=bool)
        if locked is None
        else np.broadcast_to(np.asarray(locked, dtype=bool), (n,))
    )
    walk_fetch = 2.0 * walk / times.walking_speed_m_s + times.cabinet_s
    walk_fetch = walk_fetch + np.where(is_locked, times.locked_cabinet_extra_s, 0.0)
    fire = times.fire_turnout_s + _as_float(fire_drive_s, n)
    if ambulance_drive_s is None:
        ambulance = np.full(n, float(times.ambulance_s))
    else:
        ambulance = times.ambulance_turnout_s + _as_float(ambulance_drive_s, n)
    stacked = np.column_stack([walk_fetch, fire, ambulance])
    filled = np.where(np.isnan(stacked), np.inf, stacked)
    first = np.argmin(filled, axis=1)  # the first minimum: bystander, fire, ambulance
    best = filled[np.arange(n), first]
    reached = np.isfinite(best)
    route = np.where(reached, np.asarray(ROUTES, dtype=object)[first], NO_ROUTE)
    return pd.DataFrame(
        {
            "walk_fetch_s": walk_fetch,
            "fire_s": fire,
            "ambulance_s": ambulance,
            "time_to_defib_s": np.where(reached, best, np.nan),
            "first_route": route.astype(str),
        }
    )


def weighted_median(values: ArrayLike, weights: ArrayLike) -> float:
    """Return the population-weighted median.

    Defined exactly as the smallest value whose cumulative weight (values sorted ascending) is
    at least half the total weight. NaN values count as larger than every number (never
    reached). Returns NaN when the total weight is zero or the median falls among the NaNs.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.asarray(weights, dtype=np.float64).ravel()
    total = float(w.sum())
    if total <= 0:
        return float("nan")
    v = np.where(np.isnan(v), np.inf, v)
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    pos = int(np.searchsorted(cum, total / 2.0, side="left"))
    pos = min(pos, v.size - 1)
    value = float(v[order][pos])
    return value if np.isfinite(value) else float("nan")


class TimesSummary(TypedDict):
    """Population-weighted summary of the times to the first defib (see :func:`summarise_times`)."""

    population: float
    median_s: float | None
    within_min_share: dict[str, float]
    first_route_share: dict[str, float]


def summarise_times(
    frame: pd.DataFrame,
    population: ArrayLike,
    *,
    within_min: Sequence[float] = WITHIN_MIN,
) -> TimesSummary:
    """Population-weighted summary of :func:`time_to_defib` for ``summary.json``.

    Parameters
    ----------
    frame
        The frame returned by :func:`time_to_defib`.
    population
        People at each demand point, aligned with ``frame``'s rows.
    within_min
        Minutes within which to report the population share reached.

    Returns
    -------
    TimesSummary
        ``population`` (total people), ``median_s`` (population-weighted median time to the
        first defib in seconds, as defined by :func:`weighted_median`; None when it is not
        reached), ``within_min_share`` (share 0-1 of population reached within each number
        of minutes, keyed by the minutes as a string) and ``first_route_share`` (share 0-1 of
        population for whom each route is first, keyed ``bystander``, ``fire``,
        ``ambulance`` and ``none``). The denominator is the population of every row.
    """
    people = np.asarray(population, dtype=np.float64).ravel()
    times = frame["time_to_defib_s"].to_numpy(dtype=np.float64)
    total = float(people.sum())
    median = weighted_median(times, people)
    reach_s = np.where(np.isnan(times), np.inf, times)
    within: dict[str, float] = {}
    for minutes in within_min:
        reached = float(people[reach_s <= 60.0 * minutes].sum())
        within[f"{minutes:g}"] = reached / total if total > 0 else 0.0
    routes = frame["first_route"].to_numpy()
    first: dict[str, float] = {}
    for name in (*ROUTES, NO_ROUTE):
        share = float(people[routes == name].sum())
        first[name] = share / total if total > 0 else 0.0
    return {
        "population": total,
        "median_s": None if np.isnan(median) else median,
        "within_min_share": within,
        "first_route_share": first,
    }
