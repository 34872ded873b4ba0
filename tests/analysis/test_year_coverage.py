"""Year-round available and night coverage, worked by hand on a straight street."""

from __future__ import annotations

import numpy as np
import pytest

from defibmap.analysis.scenarios import night_usable, year_coverage
from defibmap.io.hours import HOURS_PER_WEEK, week_profile
from defibmap.network import walk as nw
from defibmap.network.snapping import snap_points


def street() -> nw.Network:
    """A straight 1 km street with a node every 100 m."""
    x = np.arange(0.0, 1001.0, 100.0)
    return nw.from_arrays(
        node_x=x,
        node_y=np.zeros_like(x),
        edge_u=np.arange(10, dtype=np.int64),
        edge_v=np.arange(1, 11, dtype=np.int64),
    )


def test_school_hours_and_a_24_7_cabinet_by_hand() -> None:
    net = street()
    demand = snap_points(net, np.array([0.0, 450.0, 1000.0]), np.zeros(3))
    people = np.array([10.0, 20.0, 30.0])
    sites = snap_points(net, np.array([100.0, 900.0]), np.zeros(2))
    school = week_profile("Mo-Fr 08:00-16:00", where="test")
    term = np.vstack([school, np.ones(HOURS_PER_WEEK, dtype=bool)])
    holiday = np.vstack([np.zeros(HOURS_PER_WEEK, dtype=bool), np.ones(HOURS_PER_WEEK, bool)])
    found = year_coverage(
        net, demand, people, sites, (term, holiday), term_weeks=39, thresholds_m=[200.0]
    )
    # the point at 0 m is 100 m from the school: covered its 40 open hours of each of the
    # 39 term weeks; the point at 450 m is 350 m and 450 m from both; the one at 1 km is 100 m
    # from the 24/7 cabinet
    school_share = 40 / 168 * 39 / 52
    assert found.point_share["200"] == pytest.approx([school_share, 0.0, 1.0])
    assert found.available["200"] == pytest.approx((10 * school_share + 30) / 60)
    assert found.point_night["200"].tolist() == [False, False, True]
    assert found.night["200"] == pytest.approx(0.5)


def test_night_needs_the_whole_window_in_term_and_holiday() -> None:
    ones = np.ones(HOURS_PER_WEEK, dtype=bool)
    until_five = week_profile("00:00-05:00", where="test")
    term = np.vstack([ones, until_five, ones])
    holiday = np.vstack([ones, ones, np.zeros(HOURS_PER_WEEK, dtype=bool)])
    assert night_usable(term, holiday).tolist() == [True, False, False]


def test_every_site_24_7_equals_any_time() -> None:
    net = street()
    rng = np.random.default_rng(3)
    demand = snap_points(net, rng.uniform(0, 1000, 40), rng.uniform(-20, 20, 40))
    people = rng.integers(1, 50, 40).astype(float)
    sites = snap_points(net, rng.uniform(0, 1000, 3), np.zeros(3))
    ones = np.ones((3, HOURS_PER_WEEK), dtype=bool)
    found = year_coverage(
        net, demand, people, sites, (ones, ones), term_weeks=39, thresholds_m=[150.0, 300.0]
    )
    for key in ("150", "300"):
        assert found.available[key] == pytest.approx(found.night[key])
        assert set(np.unique(found.point_share[key])) <= {0.0, 1.0}
        assert np.array_equal(found.point_share[key] == 1.0, found.point_night[key])
