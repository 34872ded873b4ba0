"""When is each defib usable? Opening hours as a 168-hour week.

A defib inside a building is only usable while the building is open. Hours are read with
``opening-hours-py`` (bindings to the Rust ``opening-hours`` crate, which implements the full
OpenStreetMap ``opening_hours`` grammar: ``24/7``, day ranges and lists, several spans, rules
separated by ``;``, ``off``, times past midnight) rather than a home-made parser.

Each hour of the week (0 = Monday 00:00-01:00 ... 167 = Sunday 23:00-24:00) is sampled at its
midpoint on a fixed reference week without bank holidays, so results never depend on the day
the study runs. Outside cabinets and new council-building cabinets are 24/7.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from defibmap.defaults import (
    DAY_WINDOW_H,
    DEFAULT_SCHOOL_HOURS,
    DEFAULT_SCHOOL_TERM_WEEKS,
    NIGHT_WINDOW_H,
)
from defibmap.io.hours import HOURS_PER_WEEK, week_profile

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: Daytime window: Monday to Friday 09:00-17:00 (:data:`defibmap.defaults.DAY_WINDOW_H`).
DAY_HOURS = np.array([d * 24 + h for d in range(5) for h in range(*DAY_WINDOW_H)])
#: Night window: every day 00:00-06:00 (:data:`defibmap.defaults.NIGHT_WINDOW_H`).
NIGHT_HOURS = np.array([d * 24 + h for d in range(7) for h in range(*NIGHT_WINDOW_H)])

UnknownHours = Literal["available", "unavailable"]


@dataclass(frozen=True)
class Availability:
    """Hours of the week a defib is usable, for term time and averaged over the year.

    Attributes
    ----------
    term
        168 booleans: usable in each hour of an ordinary (term-time) week.
    annual_share
        168 shares 0-1: the share of the year's weeks the defib is usable in that hour
        (schools are usable only in term weeks).
    label
        ``"24/7"``, ``"limited hours"`` or ``"unknown"``.
    """

    term: NDArray[np.bool_]
    annual_share: NDArray[np.float64]
    label: str


def site_availability(
    opening_hours_text: str | None,
    *,
    location: str | None = None,
    kind: str | None = None,
    unknown_hours: UnknownHours = "available",
    school_hours: str = DEFAULT_SCHOOL_HOURS,
    school_term_weeks: int = DEFAULT_SCHOOL_TERM_WEEKS,
    where: str = "opening_hours",
) -> Availability:
    """Work out when one defib is usable.

    Parameters
    ----------
    opening_hours_text
        The OSM ``opening_hours`` value (empty or None when unknown).
    location
        ``"outside"`` (or ``"outdoor"``/``"external"``) makes the defib 24/7 whatever the hours.
    kind
        ``"school"`` uses ``school_hours`` in term time when no hours are given.
    unknown_hours
        The stated assumption for a defib with no hours: usable at all times, or never.
    school_hours, school_term_weeks
        School opening hours in term time and the number of term weeks a year.
    where
        Names the file and row in error messages.

    Returns
    -------
    Availability
    """
    text = (opening_hours_text or "").strip()
    outside = (location or "").strip().lower() in {"outside", "outdoor", "external", "outdoors"}
    if outside:
        always = np.ones(HOURS_PER_WEEK, dtype=bool)
        return Availability(always, always.astype(float), "24/7")
    is_school = (kind or "").strip().lower() == "school"
    if is_school and not text:
        term = week_profile(school_hours, where=where)
        share = term * (school_term_weeks / 52.0)
        return Availability(term, share.astype(float), "limited hours")
    if not text:
        usable = unknown_hours == "available"
        term = np.full(HOURS_PER_WEEK, usable, dtype=bool)
        return Availability(term, term.astype(float), "unknown")
    term = week_profile(text, where=where)
    share = term.astype(float) * (school_term_weeks / 52.0 if is_school else 1.0)
    label = "24/7" if term.all() else "limited hours"
    return Availability(term, share, label)


def mean_share(hourly: NDArray[np.float64], window: NDArray[np.int64]) -> float:
    """Return the mean of hourly coverage shares over a window of hours of the week."""
    return float(np.mean(hourly[window]))
