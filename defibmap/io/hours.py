"""Opening hours as a 168-hour week, read with ``opening-hours-py``.

Hours are read with ``opening-hours-py`` (bindings to the Rust ``opening-hours`` crate, which
implements the full OpenStreetMap ``opening_hours`` grammar: ``24/7``, day ranges and lists,
several spans, rules separated by ``;``, ``off``, times past midnight) rather than a home-made
parser. Each hour of the week (0 = Monday 00:00-01:00 ... 167 = Sunday 23:00-24:00) is
sampled at its midpoint on a fixed reference week without bank holidays, so results never
depend on the day the study runs.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import opening_hours

from defibmap._errors import InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["HOURS_PER_WEEK", "REFERENCE_MONDAY", "week_profile"]

HOURS_PER_WEEK = 168
#: A Monday in an ordinary English school term week with no bank holiday (sampling only).
REFERENCE_MONDAY = dt.datetime(2026, 3, 2)  # noqa: DTZ001 - local civil time is intended


def _parse(text: str, *, where: str) -> opening_hours.OpeningHours:
    try:
        return opening_hours.OpeningHours(text)
    except (getattr(opening_hours, "ParserError", ValueError), ValueError) as exc:
        msg = f"{where}: opening_hours {text!r} is not valid OpenStreetMap syntax ({exc})"
        raise InputError(msg) from exc


def week_profile(text: str, *, where: str = "opening_hours") -> NDArray[np.bool_]:
    """Return 168 booleans: whether a place with these ``opening_hours`` is open each hour."""
    parsed = _parse(text, where=where)
    hours = [REFERENCE_MONDAY + dt.timedelta(hours=h, minutes=30) for h in range(HOURS_PER_WEEK)]
    return np.array([bool(parsed.is_open(t)) for t in hours], dtype=bool)
