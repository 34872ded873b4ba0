"""Opening hours as people write them, read into OpenStreetMap syntax or refused."""

from __future__ import annotations

import numpy as np
import pytest

from defibmap.io.hours import normalise_hours, week_profile

SCHOOL = "Mo-Fr 08:00-16:00"


def open_hours(day: int, start: int, end: int) -> set[int]:
    """Hours of the week (0 = Monday 00:00) from ``start`` to ``end`` o'clock on ``day``."""
    return {day * 24 + h for h in range(start, end)}


def weekdays(start: int, end: int) -> set[int]:
    return set().union(*(open_hours(d, start, end) for d in range(5)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24/7", set(range(168))),
        ("24 hours", set(range(168))),
        ("Open 24 hours, 7 days a week", set(range(168))),
        ("24hrs", set(range(168))),
        ("always open", set(range(168))),
        ("Mon-Fri 9am-5pm", weekdays(9, 17)),
        ("Mon\u2013Fri 09:00\u201317:00", weekdays(9, 17)),
        ("Monday to Friday 9:00 - 17:00", weekdays(9, 17)),
        ("Mon-Fri 9-17", weekdays(9, 17)),
        ("weekdays 8am to 6pm", weekdays(8, 18)),
        ("school hours", weekdays(8, 16)),
        ("Daily 7am-11pm", set().union(*(open_hours(d, 7, 23) for d in range(7)))),
        ("Mon, Wed, Fri 9am-1pm", set().union(*(open_hours(d, 9, 13) for d in (0, 2, 4)))),
        (
            "Mon-Sat 9am-5pm, Sun 10am-4pm",
            set().union(*(open_hours(d, 9, 17) for d in range(6)), open_hours(6, 10, 16)),
        ),
        ("Mon-Fri 9am-12pm, 1pm-5pm", weekdays(9, 12) | weekdays(13, 17)),
        ("Mo-Fr 12am-6am", weekdays(0, 6)),
    ],
)
def test_hours_as_people_write_them(text: str, expected: set[int]) -> None:
    found = normalise_hours(text, school_hours=SCHOOL)
    assert found is not None
    assert set(np.flatnonzero(week_profile(found))) == expected


def test_daylight_is_sunrise_to_sunset() -> None:
    assert normalise_hours("Daylight hours", school_hours=SCHOOL) == "sunrise-sunset"


def test_osm_syntax_is_kept_as_written() -> None:
    text = "Mo-Fr 08:00-18:00; Sa 09:00-12:00; PH off"
    assert normalise_hours(text, school_hours=SCHOOL) == text


@pytest.mark.parametrize("text", ["ask at reception", "when the shop is open", "9am-", "Mon-Fri"])
def test_text_that_is_not_hours_is_not_guessed(text: str) -> None:
    assert normalise_hours(text, school_hours=SCHOOL) is None
