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
import re
from typing import TYPE_CHECKING

import numpy as np
import opening_hours

from defibmap._errors import InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["HOURS_PER_WEEK", "REFERENCE_MONDAY", "normalise_hours", "week_profile"]

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


#: Day names as people write them, to OpenStreetMap's two-letter days.
_DAYS = {
    "monday": "Mo",
    "mon": "Mo",
    "mo": "Mo",
    "tuesday": "Tu",
    "tues": "Tu",
    "tue": "Tu",
    "tu": "Tu",
    "wednesday": "We",
    "wed": "We",
    "we": "We",
    "thursday": "Th",
    "thurs": "Th",
    "thur": "Th",
    "thu": "Th",
    "th": "Th",
    "friday": "Fr",
    "fri": "Fr",
    "fr": "Fr",
    "saturday": "Sa",
    "sat": "Sa",
    "sa": "Sa",
    "sunday": "Su",
    "sun": "Su",
    "su": "Su",
}
#: Whole phrases people write for "always open".
_ALWAYS = re.compile(
    r"^(?:open\s+)?(?:24\s*/\s*7|24\s*(?:hours?|hrs?|h)(?:\s*(?:a|per)\s*day)?"
    r"(?:,?\s*(?:7|seven)\s*days(?:\s*a\s*week)?)?|always(?:\s+open)?|all\s+day(?:\s+every\s+day)?)$"
)
_TIME = re.compile(r"(?<![\d:])(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?![\d:])")
_PHRASES = (
    (re.compile(r"\bmonday\s*(?:to|-)\s*friday\b|\bweekdays\b"), "Mo-Fr"),
    (re.compile(r"\bweekends?\b"), "Sa,Su"),
    (re.compile(r"\b(?:daily|every\s*day|7\s*days(?:\s*a\s*week)?)\b"), "Mo-Su"),
)


def _clock(match: re.Match[str]) -> str:
    """Return ``HH:MM`` for one time as written (``9``, ``9am``, ``9.30pm``, ``17:00``)."""
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half is not None:
        pm = half.startswith("p")
        if hour == 12:
            hour = 12 if pm else 0
        elif pm:
            hour += 12
    return f"{hour:02d}:{minute:02d}"


def _days(text: str) -> str:
    """Replace day names as written with OpenStreetMap's (``Monday`` -> ``Mo``)."""
    for phrase, osm in _PHRASES:
        text = phrase.sub(osm, text)
    return re.sub(
        r"\b([A-Za-z]+)\b",
        lambda m: _DAYS.get(m.group(1).lower(), m.group(1)),
        text,
    )


def normalise_hours(text: str, *, school_hours: str) -> str | None:
    """Return OpenStreetMap ``opening_hours`` for hours as people write them, or None.

    Accepted beside OpenStreetMap syntax: "24/7", "24 hours", "open 24 hrs 7 days a week",
    "always"; day names in full or short (``Mon-Fri``, ``Monday to Friday``, ``weekdays``,
    ``weekends``, ``daily``), en and em dashes, ``to`` between times, 12-hour clock times
    (``9am-5pm``, ``9.30pm``) and bare hours (``9-17``); "school hours" (the study's school
    hours) and "daylight" (``sunrise-sunset``, which the opening-hours library reads as
    07:00-19:00 without a location).

    Parameters
    ----------
    text
        The hours as written in the input file.
    school_hours
        The study's school hours, for "school hours".

    Returns
    -------
    str or None
        Hours the opening-hours library reads, or None when the text is not understood.
    """
    raw = " ".join(text.split())
    if _parses(raw):
        return raw
    low = raw.lower().replace("\u2013", "-").replace("\u2014", "-").strip(" .")
    if _ALWAYS.match(low):
        return "24/7"
    if low in {"school hours", "school time", "during school hours"}:
        return school_hours
    if low in {"daylight", "daylight hours", "dawn to dusk", "dawn till dusk"}:
        return "sunrise-sunset"
    out = _days(low)
    out = re.sub(r"\s+(?:to|till|until)\s+", "-", out)
    out = _TIME.sub(_clock, out)
    out = re.sub(r"\s*-\s*", "-", out)
    # a comma after a time and before a day starts a new rule: "9am-5pm, Sun 10am-4pm"
    out = re.sub(r"(?<=\d)\s*,\s*(?=(?:Mo|Tu|We|Th|Fr|Sa|Su)\b)", "; ", out)
    out = re.sub(r"\s*,\s*", ",", out)
    out = re.sub(r"(?<=[A-Za-z]):?\s*(?=\d)", " ", out)  # "Mo-Fr: 09:00" -> "Mo-Fr 09:00"
    # days without times ("Mon-Fri") would read as open all day: not guessed
    return out if re.search(r"\d", out) and _parses(out) else None


def _parses(text: str) -> bool:
    """Whether the opening-hours library reads ``text``."""
    try:
        opening_hours.OpeningHours(text)
    except (getattr(opening_hours, "ParserError", ValueError), ValueError):
        return False
    return True
