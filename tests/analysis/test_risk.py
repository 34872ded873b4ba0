"""Expected cardiac arrests and incident density, against sums worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from defibmap.analysis import risk

#: Bands and rates for the tests only: made-up round numbers, not a published table.
SPANS = ((0, 15), (16, 64), (65, 84), (85, None))
RATES = (2.0, 30.0, 250.0, 900.0)


def _ages(people: dict[int, float]) -> np.ndarray:
    """One area's single-year counts, ages 0..89 and 90+ (column 90)."""
    row = np.zeros(91)
    for age, n in people.items():
        row[age] = n
    return row


def test_expected_arrests_of_three_areas_equal_the_hand_sums():
    ages = np.vstack(
        [
            _ages({5: 10, 40: 20, 70: 4}),  # 10x2 + 20x30 + 4x250 = 1620 per 100,000
            _ages({16: 100, 64: 50, 65: 1, 84: 2, 85: 1}),  # 150x30 + 3x250 + 1x900 = 6150
            _ages({0: 3, 15: 3, 90: 5}),  # 6x2 + 5x900 (90+ in the open band) = 4512
        ]
    )
    banded = risk.band_people(ages, 90, SPANS)
    np.testing.assert_array_equal(banded, [[10, 20, 4, 0], [0, 150, 3, 1], [6, 0, 0, 5]])
    arrests = risk.expected_arrests(banded, RATES)
    np.testing.assert_allclose(arrests, [0.01620, 0.06150, 0.04512])
    ratio = risk.expected_arrests(banded, RATES, rate_ratio=np.array([1.5, 1.0, 0.5]))
    np.testing.assert_allclose(ratio, [0.02430, 0.06150, 0.02256])


def test_bands_cannot_split_the_open_top_age_column():
    ages = np.vstack([_ages({90: 1})])
    with pytest.raises(ValueError, match="cannot be split"):
        risk.band_people(ages, 90, ((0, 89), (90, 94), (95, None)))
    with pytest.raises(ValueError, match="cannot be split"):
        risk.band_people(ages, 90, ((0, 94), (95, None)))
    # an open band from 80 takes 80-89 and 90+ together
    np.testing.assert_array_equal(
        risk.band_people(np.vstack([_ages({79: 1, 80: 2, 90: 3})]), 90, ((0, 79), (80, None))),
        [[1, 5]],
    )


def test_imd_quintile_pairs_the_deciles():
    np.testing.assert_array_equal(
        risk.imd_quintile(np.arange(1, 11, dtype=float)), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    )


def test_night_is_midnight_to_six():
    hours = np.arange(24)
    assert risk.is_night(hours).tolist() == [h < 6 for h in range(24)]


DEMAND_XY = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 300.0]])


def test_nearest_counts_put_each_incident_at_its_nearest_point():
    incidents = np.array([[10.0, 0.0], [60.0, 0.0], [40.0, 0.0], [0.0, 200.0], [0.0, 140.0]])
    counts, distance = risk.nearest_counts(incidents, DEMAND_XY)
    assert counts.tolist() == [3.0, 1.0, 1.0]
    np.testing.assert_allclose(distance, [10, 40, 40, 100, 140])


def _hand_kernel(incidents: list[tuple[float, float]], h: float) -> list[float]:
    """Each incident's Gaussian weights over the three points, normalised, summed by point."""
    out = [0.0, 0.0, 0.0]
    for ix, iy in incidents:
        k = [math.exp(-((ix - dx) ** 2 + (iy - dy) ** 2) / (2 * h * h)) for dx, dy in DEMAND_XY]
        for j in range(3):
            out[j] += k[j] / sum(k)
    return out


def test_kernel_density_matches_a_hand_computation_and_keeps_the_total():
    incidents = [(50.0, 0.0), (0.0, 150.0)]
    got = risk.kernel_density(np.array(incidents), DEMAND_XY, 100.0)
    # by hand: incident 1 is 50 m from points 0 and 1 and sqrt(50^2 + 300^2) from point 2;
    # point 2's kernel relative to theirs is exp(-300^2 / (2 h^2))
    k2 = math.exp(-(300**2) / 20_000)
    first = [1 / (2 + k2), 1 / (2 + k2), k2 / (2 + k2)]
    # incident 2: 150 m from points 0 and 2, sqrt(100^2 + 150^2) from point 1
    a, b = math.exp(-(150**2) / 20_000), math.exp(-(100**2 + 150**2) / 20_000)
    second = [a / (2 * a + b), b / (2 * a + b), a / (2 * a + b)]
    expected = [f + s for f, s in zip(first, second, strict=True)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got, _hand_kernel(incidents, 100.0), rtol=1e-12)
    assert got.sum() == pytest.approx(2.0, abs=1e-12)


def test_a_far_incident_still_counts_once_at_its_nearest_point():
    got = risk.kernel_density(np.array([[1e6, 0.0]]), DEMAND_XY, 50.0)
    assert got.tolist() == [0.0, 1.0, 0.0]


def test_kernel_total_is_kept_over_many_blocks():
    rng = np.random.default_rng(3)
    incidents = rng.uniform(-500, 500, (2500, 2))
    demand = rng.uniform(-500, 500, (4000, 2))  # blocks of 1,000 incidents: three of them
    got = risk.kernel_density(incidents, demand, 120.0)
    assert got.sum() == pytest.approx(2500.0, rel=1e-12)
    assert (got >= 0).all()
