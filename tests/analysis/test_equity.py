"""Equity measures: slope index of inequality, relative ranks, quintiles and small deciles.

Each figure is worked by hand from its formula, and the slope is checked against two
independent weighted least-squares fits (numpy's polyfit and lstsq).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defibmap.analysis import equity


def test_slope_index_by_hand_three_deciles_of_unequal_size():
    # deciles 1, 2 and 5 (most deprived first) with 500, 300 and 200 people
    people = np.array([500.0, 300.0, 200.0])
    shares = np.array([0.8, 0.5, 0.2])
    # population shares p = 0.5, 0.3, 0.2
    # relative rank R_j = (people before j + half of j's own) / all people:
    #   R1 = 0.5/2 = 0.25;  R2 = 0.5 + 0.3/2 = 0.65;  R3 = 0.8 + 0.2/2 = 0.9
    np.testing.assert_allclose(equity.relative_rank(people), [0.25, 0.65, 0.9])
    # y in percentage points: 80, 50, 20
    # weighted means: xbar = .5*.25 + .3*.65 + .2*.9 = 0.5;  ybar = 40 + 15 + 4 = 59
    # Sxy = sum p (x - xbar)(y - ybar) = .5(-.25)(21) + .3(.15)(-9) + .2(.4)(-39)
    #     = -2.625 - 0.405 - 3.12 = -6.15
    # Sxx = sum p (x - xbar)^2 = .5(.0625) + .3(.0225) + .2(.16) = 0.07
    # SII = Sxy / Sxx = -6.15 / 0.07 = -615 / 7
    sii = equity.slope_index(shares, people)
    assert sii == pytest.approx(-615.0 / 7.0)
    # the least deprived are worse covered here, so the slope is negative
    assert sii < 0


def test_slope_index_by_hand_four_deciles():
    # 100, 400, 400, 100 people: ranks 0.05, 0.3, 0.7, 0.95; shares 10 %, 20 %, 40 %, 90 %
    people = np.array([100.0, 400.0, 400.0, 100.0])
    shares = np.array([0.1, 0.2, 0.4, 0.9])
    # xbar = .1*.05 + .4*.3 + .4*.7 + .1*.95 = 0.5
    # ybar = .1*10 + .4*20 + .4*40 + .1*90 = 34
    # Sxy = .1(-.45)(-24) + .4(-.2)(-14) + .4(.2)(6) + .1(.45)(56)
    #     = 1.08 + 1.12 + 0.48 + 2.52 = 5.2
    # Sxx = .1(.2025) + .4(.04) + .4(.04) + .1(.2025) = 0.0725
    assert equity.slope_index(shares, people) == pytest.approx(5.2 / 0.0725)


def _fits(shares, people):
    x = equity.relative_rank(people)
    y = 100.0 * shares
    # polyfit weights multiply the residuals: sqrt(people) gives population-weighted squares
    slope_poly = np.polyfit(x, y, 1, w=np.sqrt(people))[0]
    root = np.sqrt(people)
    design = np.column_stack([np.ones_like(x), x]) * root[:, None]
    slope_lstsq = np.linalg.lstsq(design, y * root, rcond=None)[0][1]
    return slope_poly, slope_lstsq


def test_slope_index_equals_weighted_least_squares_fits():
    people = np.array([500.0, 300.0, 200.0])
    shares = np.array([0.8, 0.5, 0.2])
    poly, lstsq = _fits(shares, people)
    assert equity.slope_index(shares, people) == pytest.approx(poly)
    assert equity.slope_index(shares, people) == pytest.approx(lstsq)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(1.0, 1e5), st.floats(0.0, 1.0)),
        min_size=2,
        max_size=10,
    )
)
def test_slope_index_equals_lstsq_on_random_deciles(rows):
    people = np.array([p for p, _ in rows])
    shares = np.array([s for _, s in rows])
    _, lstsq = _fits(shares, people)
    assert equity.slope_index(shares, people) == pytest.approx(lstsq, rel=1e-6, abs=1e-6)


def test_slope_index_is_zero_when_coverage_is_even_and_100_when_share_equals_rank():
    people = np.array([10.0, 20.0, 30.0])
    assert equity.slope_index(np.full(3, 0.4), people) == pytest.approx(0.0, abs=1e-9)
    # a straight line through (R, 100 R) has slope 100
    ranks = equity.relative_rank(people)
    assert equity.slope_index(ranks, people) == pytest.approx(100.0)


def test_slope_index_needs_two_groups_with_people():
    assert equity.slope_index(np.array([0.5]), np.array([10.0])) is None
    assert equity.slope_index(np.array([0.5, 0.2]), np.array([10.0, 0.0])) is None
    # an empty group is left out, not given a rank of its own
    with_empty = equity.slope_index(np.array([0.5, 0.9, 0.2]), np.array([10.0, 0.0, 30.0]))
    without = equity.slope_index(np.array([0.5, 0.2]), np.array([10.0, 30.0]))
    assert with_empty == pytest.approx(without)


def test_small_deciles_and_quintiles():
    people = np.array([940.0, 49.0, 11.0])
    np.testing.assert_array_equal(equity.small_groups(people), [False, True, True])
    np.testing.assert_array_equal(equity.small_groups(np.zeros(2)), [False, False])
    quintiles = equity.quintile_of_decile(pd.Series([1, 2, 3, 4, 9, 10, np.nan]))
    np.testing.assert_array_equal(quintiles.to_numpy()[:6], [1, 1, 2, 2, 5, 5])
    assert np.isnan(quintiles.iloc[6])


def test_coverage_by_group_counts_shares_of_people():
    rows = equity.coverage_by_group(
        pd.Series([1, 1, 2]),
        np.array([10.0, 30.0, 20.0]),
        np.array([0.5, 1.0, 0.25]),
        name="imd_decile",
    )
    # decile 1: 10 x 0.5 + 30 x 1 = 35 of 40; decile 2: 20 x 0.25 = 5 of 20
    assert rows[0]["covered_population"] == pytest.approx(35.0)
    assert rows[0]["share"] == pytest.approx(35 / 40)
    assert rows[1]["covered_population"] == pytest.approx(5.0)
