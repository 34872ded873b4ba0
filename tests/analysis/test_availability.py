"""Opening hours as a 168-hour week, on real-world strings with their sources."""

from __future__ import annotations

import numpy as np
import pytest

from defibmap._errors import InputError
from defibmap.analysis import availability as av

WIKI = "OSM wiki, Key:opening_hours examples"
ORGANIC = "Organic Maps, opening hours editing help (OSM syntax examples)"
LEEDS = "Leeds OSM extract (data/leeds/leeds_inner_ne.osm.bz2), 2014"
SPEC = "OSM wiki, Key:opening_hours/specification"


def hour(day: int, h: int) -> int:
    return day * 24 + h


# (string, source, open hours per week, [(hour of week, open?)...])
ACCEPTED = [
    ("24/7", WIKI, 168, [(hour(6, 3), True)]),
    ("Sa-Su 00:00-24:00", WIKI, 48, [(hour(5, 3), True), (hour(4, 12), False)]),
    ("Mo-Fr 08:30-20:00", WIKI, 60, [(hour(0, 8), True), (hour(0, 20), False)]),
    (
        "Mo 10:00-12:00,12:30-15:00; Tu-Fr 08:00-12:00,12:30-15:00; Sa 08:00-12:00",
        WIKI,
        None,
        [(hour(0, 10), True), (hour(0, 9), False), (hour(5, 13), False)],
    ),
    (
        "Mo-Su 08:00-18:00; Apr 10-15 off; Jun 08:00-14:00; Aug off; Dec 25 off",
        WIKI,
        70,
        [(hour(6, 9), True), (hour(6, 19), False)],
    ),
    ("Mo-Sa 10:00-20:00; Tu off", WIKI, 50, [(hour(1, 12), False), (hour(0, 12), True)]),
    ("Mo-Sa 10:00-20:00; Tu 10:00-14:00", WIKI, 54, [(hour(1, 15), False)]),
    ("Mo-Fr 08:00-17:00", WIKI, 45, [(hour(2, 16), True), (hour(2, 17), False)]),
    ("sunrise-sunset", WIKI, None, [(hour(0, 12), True), (hour(0, 1), False)]),
    ("Mo-Fr 10:00-21:00", ORGANIC, 55, [(hour(4, 20), True)]),
    (
        "Mo-We,Fr 09:00-13:30,14:00-18:30",
        ORGANIC,
        None,
        [(hour(3, 10), False), (hour(4, 10), True)],
    ),
    ("Mo-Fr 09:00-20:00; Sa-Su 10:00-19:00", ORGANIC, 73, [(hour(6, 9), False)]),
    ("Mo-Su 10:00-19:00; Jun off; Dec 25 off", ORGANIC, 63, [(hour(2, 10), True)]),
    ("Mo-Fr 17:00-03:00, Sa-Su 18:00+", ORGANIC, None, [(hour(1, 1), True), (hour(1, 12), False)]),
    ("11:00-20:00", ORGANIC, 63, [(hour(6, 11), True)]),
    ("09:00-21:00", LEEDS, 84, [(hour(6, 20), True), (hour(6, 21), False)]),
    ("Mo-Fr 08:00-18:00; Sa 09:00-17:00", LEEDS, 58, [(hour(5, 8), False), (hour(5, 9), True)]),
    ("Mo-Su 06:00-23:00", LEEDS, 119, [(hour(3, 5), False), (hour(3, 22), True)]),
    ("off", SPEC, 0, [(hour(0, 12), False)]),
    ("Mo-Fr 08:00-12:00,13:00-17:30; PH off", SPEC, 40, [(hour(0, 12), False)]),
    ("Mo-Su,PH 00:00-24:00", SPEC, 168, []),
    ("Mo-Fr 09:00-17:00; Sa,Su 10:00-16:00", SPEC, 52, [(hour(6, 10), True)]),
    (
        "Mo-Fr 22:00-02:00",
        SPEC,
        None,
        [(hour(1, 1), True), (hour(5, 1), True), (hour(6, 1), False)],
    ),
    ('24/7 "on call"', SPEC, 168, []),
    ("Mo-Fr 09:00-17:00", "The Circuit register export style (OSM syntax)", 40, []),
]

REJECTED = [
    ("9am - 5pm Monday to Friday", "free text as typed into defib register exports"),
    ("Daylight hours", "free text as typed into defib register exports"),
    ("24 hours", "free text as typed into defib register exports"),
    ("Mon-Fri 9-5", "free text as typed into defib register exports"),
    ("Business hours", "free text as typed into defib register exports"),
    ("Mo-Fr 25:00-26:00", "malformed times (invalid hour)"),
]


@pytest.mark.parametrize(
    ("text", "source", "total", "checks"), ACCEPTED, ids=[a[0] for a in ACCEPTED]
)
def test_real_world_strings(text, source, total, checks):
    week = av.week_profile(text)
    assert week.shape == (168,), source
    if total is not None:
        assert int(week.sum()) == total, source
    for h, expected in checks:
        assert bool(week[h]) is expected, (source, h)


@pytest.mark.parametrize(("text", "source"), REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected_with_clear_message(text, source):
    with pytest.raises(InputError, match="not valid OpenStreetMap syntax") as err:
        av.site_availability(text, where="register.csv row 7, column 'opening_hours'")
    assert "register.csv row 7" in str(err.value)
    assert repr(text) in str(err.value)


def test_at_least_thirty_strings():
    assert len(ACCEPTED) + len(REJECTED) >= 30


def test_outside_is_always_and_schools_follow_term():
    assert av.site_availability("Mo-Fr 09:00-17:00", location="outside").term.all()
    school = av.site_availability(None, kind="school")
    assert school.label == "limited hours"
    assert school.term[hour(0, 9)]
    assert not school.term[hour(0, 17)]
    assert not school.term[hour(5, 10)]
    assert school.annual_share.max() == pytest.approx(39 / 52)


def test_unknown_hours_is_a_stated_assumption():
    assert av.site_availability("", unknown_hours="available").term.all()
    assert not av.site_availability("", unknown_hours="unavailable").term.any()
    assert av.site_availability(None).label == "unknown"


def test_day_and_night_windows():
    assert len(av.DAY_HOURS) == 40
    assert len(av.NIGHT_HOURS) == 42
    profile = np.zeros(168)
    profile[av.DAY_HOURS] = 1.0
    assert av.mean_share(profile, av.DAY_HOURS) == 1.0
    assert av.mean_share(profile, av.NIGHT_HOURS) == 0.0
