"""Time to the first defibrillator: worked examples, invariants (hypothesis) and the summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from defibmap.analysis import response


def test_three_routes_by_hand():
    frame = response.time_to_defib(
        walk_m=np.array([179.0, 179.0, 1790.0, np.nan, 179.0]),
        locked=np.array([False, True, False, False, False]),
        fire_drive_s=np.array([600.0, 10.0, 60.0, np.nan, 30.0]),
    )
    # fetch: 2 x 179 / 1.79 = 200 s + 30 s cabinet (+ 60 s when locked)
    np.testing.assert_allclose(frame["walk_fetch_s"], [230.0, 290.0, 2030.0, np.nan, 230.0])
    np.testing.assert_allclose(frame["fire_s"], [720.0, 130.0, 180.0, np.nan, 150.0])
    np.testing.assert_allclose(frame["ambulance_s"], 420.0)
    np.testing.assert_allclose(frame["time_to_defib_s"], [230.0, 130.0, 180.0, 420.0, 150.0])
    assert list(frame["first_route"]) == ["bystander", "fire", "fire", "ambulance", "fire"]
    assert list(frame.columns) == [
        "walk_fetch_s",
        "fire_s",
        "ambulance_s",
        "time_to_defib_s",
        "first_route",
    ]


def test_ties_go_to_bystander_then_fire():
    frame = response.time_to_defib(
        walk_m=np.array([179.0, 3000.0, 179.0]),
        fire_drive_s=np.array([110.0, 300.0, 300.0]),
        assumptions=response.ResponseAssumptions(ambulance_s=230.0, fire_turnout_s=120.0),
    )
    # walk 230 = fire 230 = ambulance 230; then fire 420 vs ambulance 230; then walk 230 = amb
    assert list(frame["first_route"]) == ["bystander", "ambulance", "bystander"]
    tie = response.time_to_defib(
        walk_m=np.array([np.nan]),
        fire_drive_s=np.array([300.0]),
        assumptions=response.ResponseAssumptions(ambulance_s=420.0),
    )
    assert tie["first_route"].iloc[0] == "fire"


def test_ambulance_from_bases_and_no_route():
    frame = response.time_to_defib(
        walk_m=np.array([np.nan, np.nan]),
        ambulance_drive_s=np.array([200.0, np.nan]),
        assumptions=response.ResponseAssumptions(ambulance_turnout_s=60.0),
    )
    np.testing.assert_allclose(frame["ambulance_s"], [260.0, np.nan])
    assert list(frame["first_route"]) == ["ambulance", "none"]
    assert np.isnan(frame["time_to_defib_s"].iloc[1])


finite_walk = st.floats(0.0, 5000.0) | st.just(float("nan"))
finite_drive = st.floats(0.0, 3000.0) | st.just(float("nan"))


@st.composite
def scenario(draw):
    n = draw(st.integers(1, 30))
    walk = draw(arrays(np.float64, n, elements=finite_walk))
    drive = draw(arrays(np.float64, n, elements=finite_drive))
    locked = draw(arrays(np.bool_, n))
    return walk, drive, locked


@given(
    scenario(),
    st.floats(0.0, 900.0),
    st.floats(0.0, 900.0),
    st.floats(60.0, 1800.0),
)
def test_faster_fire_turnout_never_increases_any_time(case, t1, t2, ambulance_s):
    walk, drive, locked = case
    fast, slow = min(t1, t2), max(t1, t2)
    a = response.time_to_defib(
        walk_m=walk,
        locked=locked,
        fire_drive_s=drive,
        assumptions=response.ResponseAssumptions(fire_turnout_s=fast, ambulance_s=ambulance_s),
    )
    b = response.time_to_defib(
        walk_m=walk,
        locked=locked,
        fire_drive_s=drive,
        assumptions=response.ResponseAssumptions(fire_turnout_s=slow, ambulance_s=ambulance_s),
    )
    for col in ("walk_fetch_s", "fire_s", "ambulance_s", "time_to_defib_s"):
        x, y = a[col].to_numpy(), b[col].to_numpy()
        assert np.array_equal(np.isnan(x), np.isnan(y))
        assert np.all(x[~np.isnan(x)] <= y[~np.isnan(y)])


@given(scenario(), st.floats(60.0, 1800.0))
def test_no_co_responder_gives_the_bystander_ambulance_minimum(case, ambulance_s):
    walk, drive, locked = case
    without = response.time_to_defib(
        walk_m=walk,
        locked=locked,
        fire_drive_s=None,
        assumptions=response.ResponseAssumptions(ambulance_s=ambulance_s),
    )
    all_nan = response.time_to_defib(
        walk_m=walk,
        locked=locked,
        fire_drive_s=np.full(drive.shape, np.nan),
        assumptions=response.ResponseAssumptions(ambulance_s=ambulance_s),
    )
    pd.testing.assert_frame_equal(without, all_nan)
    fetch = 2 * walk / response.WALKING_SPEED_M_S + response.CABINET_S
    fetch = fetch + np.where(locked, response.LOCKED_CABINET_EXTRA_S, 0.0)
    expected = np.fmin(fetch, ambulance_s)
    np.testing.assert_array_equal(without["time_to_defib_s"].to_numpy(), expected)
    assert "fire" not in set(without["first_route"])
    assert without["fire_s"].isna().all()
    with_fire = response.time_to_defib(
        walk_m=walk,
        locked=locked,
        fire_drive_s=drive,
        assumptions=response.ResponseAssumptions(ambulance_s=ambulance_s),
    )
    assert np.all(with_fire["time_to_defib_s"].to_numpy() <= expected)


def test_weighted_median_definition():
    # smallest t with cumulative weight >= half the total
    assert response.weighted_median([10, 20, 30], [1, 1, 2]) == 20.0  # cum 1, 2 >= 2
    assert response.weighted_median([30, 10, 20], [2, 1, 1.1]) == 20.0  # cum 1, 2.1 >= 2.05
    assert response.weighted_median([10, 20], [1, 1]) == 10.0
    assert response.weighted_median([10, np.nan, np.nan], [1, 1, 1]) != 10.0
    assert np.isnan(response.weighted_median([10, np.nan, np.nan], [1, 1, 1]))
    assert np.isnan(response.weighted_median([10], [0]))


def test_summarise_times():
    frame = response.time_to_defib(
        walk_m=np.array([44.75, 895.0, np.nan, 179.0]),
        fire_drive_s=np.array([np.nan, 100.0, np.nan, np.nan]),
        assumptions=response.ResponseAssumptions(ambulance_s=420.0),
    )
    # times: 80 (bystander), 220 (fire), 420 (ambulance), 230 (bystander)
    np.testing.assert_allclose(frame["time_to_defib_s"], [80.0, 220.0, 420.0, 230.0])
    population = np.array([100.0, 300.0, 500.0, 100.0])
    summary = response.summarise_times(frame, population)
    assert summary["population"] == 1000.0
    # sorted: 80 (100), 220 (300), 230 (100), 420 (500): cumulative 500 reaches half at 230
    assert summary["median_s"] == 230.0
    assert summary["within_min_share"] == {"3": pytest.approx(0.1), "5": 0.5, "8": 1.0}
    assert summary["first_route_share"] == {
        "bystander": pytest.approx(0.2),
        "fire": pytest.approx(0.3),
        "ambulance": pytest.approx(0.5),
        "none": 0.0,
    }


def test_summary_when_most_people_are_unreached():
    frame = response.time_to_defib(
        walk_m=np.array([100.0, np.nan]), ambulance_drive_s=np.array([np.nan, np.nan])
    )
    summary = response.summarise_times(frame, np.array([1.0, 3.0]))
    assert summary["median_s"] is None
    assert summary["first_route_share"]["none"] == 0.75
