"""What makes one device usable: a row's ``outside_defib`` and a register's readiness.

Each expectation is worked out by hand from the rows (hours of a 168-hour week, Monday 00:00
is hour 0), not read back from the code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from defibmap import load_study
from defibmap.network.snapping import Snapped
from defibmap.study import _inputs, board

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_study(REPO / "data" / "studies" / "demo-town.toml")
WEEK = 168
#: Monday-Friday 09:00-17:00, by hand
OFFICE = np.zeros(WEEK, dtype=bool)
for _day in range(5):
    OFFICE[_day * 24 + 9 : _day * 24 + 17] = True
#: Monday-Friday 08:00-16:00 (the default school hours), by hand
SCHOOL = np.zeros(WEEK, dtype=bool)
for _day in range(5):
    SCHOOL[_day * 24 + 8 : _day * 24 + 16] = True


def _frame(ids: list[str], **columns: object) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"name": ids, **columns},
        index=pd.Index(ids, name="id"),
        geometry=gpd.points_from_xy(np.arange(len(ids), dtype=float), np.zeros(len(ids))),
        crs="EPSG:27700",
    )
    frame["source_row"] = np.arange(2, len(ids) + 2)
    return frame


def _snapped(n: int) -> Snapped:
    """Fake snaps whose ``snap_x`` is the row's position, so a subset shows which rows."""
    return Snapped(
        ok=np.ones(n, dtype=bool),
        edge=np.zeros(n, dtype=np.int64),
        snap_m=np.zeros(n),
        to_u_m=np.zeros(n),
        to_v_m=np.zeros(n),
        snap_x=np.arange(n, dtype=float),
        snap_y=np.zeros(n),
    )


def _with_station_default(*, fire: bool) -> object:
    layers = dict(CONFIG.layers)
    layers["fire_stations"] = dataclasses.replace(layers["fire_stations"], outside_defib=fire)
    return dataclasses.replace(CONFIG, layers=layers)


@pytest.mark.parametrize(("default", "kept"), [(False, ["f0", "f3"]), (True, ["f0", "f1", "f3"])])
def test_station_rows_with_outside_defib_are_exactly_the_24_7_defibs(
    default: bool, kept: list[str]
) -> None:
    flags = pd.array([True, None, False, True], dtype="boolean")
    fire = _frame(["f0", "f1", "f2", "f3"], outside_defib=flags)
    config = _with_station_default(fire=default)
    parts = _inputs.defib_parts({"fire_stations": fire}, {"fire_stations": _snapped(4)}, config)
    assert len(parts) == 1
    part, snap = parts[0]
    assert part.index.tolist() == kept
    assert snap.snap_x.tolist() == [float(s[1]) for s in kept]  # the snaps follow the rows
    assert part["availability"].tolist() == ["24/7"] * len(kept)
    term, holiday, strict, labels = board.defib_availability(part, config)
    assert term.all()
    assert holiday.all()
    assert strict.all()
    assert labels == ["24/7"] * len(kept)
    # every station stays a station, with its own flag (blank: the section's)
    stations = _inputs.stations_frame({"fire_stations": fire}, config, "EPSG:27700")
    assert stations["outside_defib"].tolist() == [True, default, False, True]


def test_a_station_layer_with_no_outside_row_adds_no_defib() -> None:
    fire = _frame(["f0", "f1"], outside_defib=pd.array([False, None], dtype="boolean"))
    parts = _inputs.defib_parts(
        {"fire_stations": fire}, {"fire_stations": _snapped(2)}, _with_station_default(fire=False)
    )
    assert parts == []


def test_outside_defib_wins_over_hours_and_location() -> None:
    defibs = _frame(
        ["yes", "no", "blank", "school_no"],
        opening_hours=["Mo-Fr 09:00-17:00", "Mo-Fr 09:00-17:00", "Mo-Fr 09:00-17:00", ""],
        location=["indoor", "outside", "outside", "outside"],
        kind=["", "", "", "school"],
        outside_defib=pd.array([True, False, None, False], dtype="boolean"),
        layer=["defibs"] * 4,
    )
    term, holiday, strict, labels = board.defib_availability(defibs, CONFIG)
    assert labels == ["24/7", "limited hours", "24/7", "limited hours"]
    assert term[0].all()  # says yes: 24/7 whatever its hours
    assert holiday[0].all()
    assert (term[1] == OFFICE).all()  # says no: its hours, though its location says outside
    assert (holiday[1] == OFFICE).all()
    assert term[2].all()  # blank: the location text decides, as before
    assert (term[3] == SCHOOL).all()  # a school that says no: school hours in term
    assert not holiday[3].any()  # and shut in the holidays
    assert (strict == term).all()


def test_a_defib_not_ready_is_usable_at_no_hour() -> None:
    defibs = _frame(
        ["broken", "fine", "unknown"],
        opening_hours=["24/7", "24/7", "Mo-Fr 09:00-17:00"],
        layer=["defibs"] * 3,
        ready=pd.array([False, True, None], dtype="boolean"),
    )
    term, holiday, strict, labels = board.defib_availability(defibs, CONFIG)
    assert not term[0].any()
    assert not holiday[0].any()
    assert not strict[0].any()
    assert term[1].all()
    assert holiday[1].all()
    assert strict[1].all()
    assert (term[2] == OFFICE).all()  # unknown readiness is not a fault
    assert labels == ["24/7", "24/7", "limited hours"]  # the label says the hours only
    assert board.not_ready(defibs).tolist() == [True, False, False]
    # what maintenance alone would win back: the same devices counted ready
    term_all, _, _, _ = board.defib_availability(defibs, CONFIG, ignore_readiness=True)
    assert term_all[0].all()


def test_defib_parts_judges_readiness_on_the_study_date() -> None:
    defibs = _frame(
        ["a", "b", "c"],
        status=["Ready", "", "Not ready"],
        pads_expiry=["2026-06-01", "2026-04-30", ""],
        last_checked=["2026-04-01", "", ""],
    )
    config = dataclasses.replace(CONFIG, as_of=dt.date(2026, 5, 1), max_days_unchecked=20)
    ((part, _),) = _inputs.defib_parts({"defibs": defibs}, {"defibs": _snapped(3)}, config)
    assert str(part["ready"].dtype) == "boolean"
    assert part["ready"].tolist() == [False, False, False]
    assert part["not_ready_reason"].tolist() == [
        "not checked since 2026-04-01 (30 days)",
        "pads expired 2026-04-30",
        "status 'Not ready'",
    ]
    config = dataclasses.replace(config, max_days_unchecked=30)
    ((part, _),) = _inputs.defib_parts({"defibs": defibs}, {"defibs": _snapped(3)}, config)
    assert part["ready"].tolist() == [True, False, False]


def test_readiness_summary_counts_what_readiness_removed() -> None:
    defibs = _frame(
        ["a", "b", "c", "d"],
        status=["Ready", "", "Not ready", ""],
        pads_expiry=["2026-06-01", "2026-04-30", "2026-01-01", ""],
        battery_expiry=["", "", "2026-01-01", ""],
    )
    config = dataclasses.replace(CONFIG, as_of=dt.date(2026, 5, 1), max_days_unchecked=20)
    ((part, _),) = _inputs.defib_parts({"defibs": defibs}, {"defibs": _snapped(4)}, config)
    assert _inputs.readiness_summary(part, config) == {
        "as_of": "2026-05-01",
        "max_days_unchecked": 20,
        "judged": 3,  # d says nothing
        "not_ready": 2,
        "reasons": {"status": 1, "pads_expired": 2, "battery_expired": 1, "not_checked": 0},
        "not_ready_ids": ["b", "c"],
    }
    assert _inputs.readiness_summary(defibs[["name"]], config)["judged"] == 0


def test_stacked_defibs_keep_nullable_booleans() -> None:
    defibs = _frame(["a"], status=["Not ready"])
    fire = _frame(["f"], outside_defib=pd.array([True], dtype="boolean"))
    config = dataclasses.replace(CONFIG, as_of=dt.date(2026, 5, 1))
    parts = _inputs.defib_parts(
        {"defibs": defibs, "fire_stations": fire},
        {"defibs": _snapped(1), "fire_stations": _snapped(1)},
        config,
    )
    stacked, snap = _inputs.stack_layers(parts, "EPSG:27700")
    assert str(stacked["ready"].dtype) == "boolean"
    assert str(stacked["outside_defib"].dtype) == "boolean"
    assert stacked["ready"].isna().tolist() == [False, True]  # the station says nothing
    assert board.not_ready(stacked).tolist() == [True, False]
    assert len(snap.ok) == 2
