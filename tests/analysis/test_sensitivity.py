"""Sensitivity draws on hand-made instances: counts, seeds, zero-width ranges, the verdict."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from defibmap.analysis import sensitivity as sens
from defibmap.analysis import time_slices
from defibmap.analysis.reach import PairDistances
from defibmap.analysis.response_draws import AreaLognormal, Lognormal
from defibmap.analysis.time_slices import Week
from defibmap.io.hours import HOURS_PER_WEEK


def _pairs(rows: list[tuple[int, int, float]], n_sites: int, n_demand: int) -> PairDistances:
    site, demand, walk = zip(*rows, strict=True) if rows else ((), (), ())
    return PairDistances(
        np.array(site, dtype=np.int64),
        np.array(demand, dtype=np.int64),
        np.array(walk, dtype=np.float64),
        n_sites,
        n_demand,
    )


def _instance(**overrides: object) -> sens.Instance:
    """Three options, four demand points of 100, 10, 10, 10 people; one defib near point 3.

    Option 0 reaches point 0 (100 people) at 300 m: at any walk from 240 m it dominates.
    Option 1 reaches points 1 and 2 at 450 m, option 2 point 3 (already covered) at 100 m.
    """
    options = _pairs([(0, 0, 300.0), (1, 1, 450.0), (1, 2, 450.0), (2, 3, 100.0)], 3, 4)
    current = _pairs([(0, 3, 50.0)], 1, 4)
    values: dict[str, object] = {
        "options": options,
        "option_hours": Week.always(3),
        "current": current,
        "current_hours": Week.always(1),
        "current_strict": Week.always(1),
        "stations": None,
        "weights": np.array([100.0, 10.0, 10.0, 10.0]),
        "population": np.array([100.0, 10.0, 10.0, 10.0]),
        "headline_m": 500.0,
        "rank_m": 500.0,
        "speed_m_s": 1.79,
        "objective": "available",
        "k": 1,
        "term_weeks": 39,
    }
    values.update(overrides)
    return sens.Instance(**values)  # type: ignore[arg-type]


IDS = np.array(["a", "b", "c"])


def test_a_dominant_option_is_in_the_top_in_every_draw() -> None:
    ranges = sens.Ranges(
        walking_speed_m_s=(1.4, 2.3), threshold_factor=(0.8, 1.2), demand_weight_cv=0.3
    )
    found = sens.run(_instance(), IDS, ranges=ranges, draws=60, seed=1)
    assert found.top_k_count == {"a": 60}
    assert found.optimal_count == {"a": 60}


def test_counts_sum_to_draws_times_k_and_the_same_seed_gives_the_same_counts() -> None:
    ranges = sens.Ranges(
        walking_speed_m_s=(1.0, 2.3), threshold_factor=(0.5, 1.2), demand_weight_cv=1.0
    )
    inst = _instance(k=2, current=_pairs([], 1, 4))  # nothing covered today
    one = sens.run(inst, IDS, ranges=ranges, draws=80, seed=5)
    two = sens.run(inst, IDS, ranges=ranges, draws=80, seed=5)
    assert sum(one.top_k_count.values()) == 80 * 2
    assert one.top_k_count == two.top_k_count
    np.testing.assert_array_equal(one.figures, two.figures)
    # walks drawn below 450 m (speed 1.0-2.3, factor 0.5-1.2) leave option b (20 people)
    # out of reach in some draws, and c (10 people at 100 m) takes its place
    assert 0 < one.top_k_count.get("b", 0) < 80
    assert one.top_k_count.get("b", 0) + one.top_k_count.get("c", 0) == 80


def test_zero_width_ranges_give_the_deterministic_figures_in_every_draw() -> None:
    ranges = sens.Ranges(walking_speed_m_s=(1.79, 1.79))
    found = sens.run(_instance(k=2), IDS, ranges=ranges, draws=10, seed=3)
    assert found.top_k_count == {"a": 10, "b": 10}
    # by hand: today point 3 (10 of 130 people) is covered at 500 m, at every hour
    assert found.figures[:, 0] == pytest.approx(np.full(10, 10 / 130))
    assert found.figures[:, 1] == pytest.approx(np.full(10, 10 / 130))
    assert found.figures[:, 2] == pytest.approx(np.full(10, 10 / 130))
    # the optimum adds a (100) and b (20)
    assert found.figures[:, 3] == pytest.approx(np.full(10, 120.0))


def test_a_faster_walker_reaches_farther_in_the_same_time() -> None:
    # at 1.79 m/s option b (450 m) is beyond a 400 m walk; at 2.2 m/s the walk is 491 m
    inst = _instance(rank_m=400.0, headline_m=400.0, k=2)
    slow = sens.run(inst, IDS, ranges=sens.Ranges(walking_speed_m_s=(1.79, 1.79)), draws=3, seed=0)
    fast = sens.run(inst, IDS, ranges=sens.Ranges(walking_speed_m_s=(2.2, 2.2)), draws=3, seed=0)
    assert slow.figures[0, 3] == pytest.approx(100.0)
    assert fast.figures[0, 3] == pytest.approx(120.0)


def test_unknown_hours_drawn_as_never_usable_lose_the_defib() -> None:
    nothing = np.zeros((1, HOURS_PER_WEEK), dtype=bool)
    inst = _instance(current_strict=Week(nothing, nothing.copy()))
    ranges = sens.Ranges(walking_speed_m_s=(1.79, 1.79), unknown_hours=(0.0, 0.0))
    found = sens.run(inst, IDS, ranges=ranges, draws=4, seed=0)
    assert found.figures[:, 0] == pytest.approx(np.zeros(4))
    assert found.figures[:, 1] == pytest.approx(np.zeros(4))
    assert found.figures[:, 2] == pytest.approx(np.full(4, 10 / 130))  # any time: still there


def test_the_night_figure_counts_only_sites_usable_all_night() -> None:
    term = np.ones((1, HOURS_PER_WEEK), dtype=bool)
    term[0, :6] = False  # Monday 00:00-06:00 shut
    inst = _instance(current_hours=Week(term, term.copy()), current_strict=Week(term, term.copy()))
    found = sens.run(inst, IDS, ranges=sens.Ranges(walking_speed_m_s=(1.79, 1.79)), draws=2, seed=0)
    assert found.figures[0, 1] == 0.0
    assert found.figures[0, 0] == pytest.approx(10 / 130 * (HOURS_PER_WEEK - 6) / HOURS_PER_WEEK)


def test_survival_is_the_lognormal_tail() -> None:
    amb = Lognormal.from_mean_p90(420.0, 900.0)
    got = sens._survival(amb, 300.0, 1.2, 2)
    want = stats.lognorm(s=amb.sigma, scale=np.exp(amb.mu) * 1.2).sf(300.0)
    assert got == pytest.approx([want, want])
    areas = AreaLognormal.from_mean_p90([420.0, 600.0, 500.0], [900.0, 900.0, 500.0])
    got = sens._survival(areas, 450.0, 1.0, 3)
    assert got[0] == pytest.approx(
        stats.lognorm(s=areas.sigma[0], scale=np.exp(areas.mu[0])).sf(450)
    )
    assert got[2] == 1.0  # a fixed 500 s beats 450 s


def test_per_area_ambulance_times_reweigh_the_areas() -> None:
    """Two points, one option each; the second point's area has a fixed 420 s ambulance.

    Fetch time at the edge of a 150 m walk: 90 + 2 x 150 / 1.79 = 257.6 s. Centrally both
    areas' ambulances usually come later; with every ambulance time x 0.6 the fixed area's
    (252 s) always comes first, its value falls to 0 and the lighter point wins the pick.
    """
    inst = _instance(
        options=_pairs([(0, 0, 100.0), (1, 1, 100.0)], 2, 2),
        option_hours=Week.always(2),
        current=_pairs([], 1, 2),
        weights=np.array([9.0, 10.0]),
        population=np.array([9.0, 10.0]),
        ambulance=AreaLognormal.from_mean_p90([420.0, 420.0], [900.0, 420.0]),
        fixed_s=90.0,
        rank_m=150.0,
        headline_m=150.0,
    )
    ids = np.array(["slow", "fixed"])
    central = sens.Ranges(walking_speed_m_s=(1.79, 1.79))
    assert sens.run(inst, ids, ranges=central, draws=3, seed=0).top_k_count == {"fixed": 3}
    faster = sens.Ranges(walking_speed_m_s=(1.79, 1.79), ambulance_factor=(0.6, 0.6))
    assert sens.run(inst, ids, ranges=faster, draws=3, seed=0).top_k_count == {"slow": 3}


@pytest.mark.parametrize(
    ("stable", "text"),
    [
        ([True, True, False], "The first two picks are stable; the third is not."),
        ([True, True, True], "All three picks are stable."),
        ([False, False], "None of the two picks is stable."),
        ([True], "The only pick is stable."),
        ([False], "The only pick is not stable."),
        ([True, False, False], "The first pick is stable; the other two are not."),
        ([False, True, True], "Picks 2 and 3 are stable; pick 1 is not."),
        ([], "No pick to judge."),
    ],
)
def test_verdict(stable: list[bool], text: str) -> None:
    assert sens.verdict(stable) == text


@pytest.mark.parametrize("n_sites", [1, 7, 8, 9, 40])
def test_the_fast_patterns_are_the_model_s_patterns(n_sites: int) -> None:
    rng = np.random.default_rng(n_sites)
    kinds = rng.integers(0, 4, n_sites)
    term = np.zeros((n_sites, HOURS_PER_WEEK), dtype=bool)
    holiday = np.zeros((n_sites, HOURS_PER_WEEK), dtype=bool)
    for i, kind in enumerate(kinds):
        if kind == 0:
            term[i] = holiday[i] = True
        elif kind == 1:
            term[i, rng.integers(0, 100) : 150] = True
            holiday[i] = term[i]
        elif kind == 2:
            term[i, 8:16] = True
    week = Week(term, holiday)
    for weeks in (0, 39, 52):
        want = time_slices.patterns(week, "available", term_weeks=weeks)
        got = sens._patterns(week, "available", term_weeks=weeks)
        np.testing.assert_array_equal(got.usable, want.usable)
        np.testing.assert_allclose(got.share, want.share, rtol=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_fast_expansion_is_the_model_s_expansion(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_opt, n_base, n_demand = 9, 4, 30
    options = sp.random(n_opt, n_demand, density=0.2, random_state=seed, format="csr") > 0
    base = sp.random(n_base, n_demand, density=0.1, random_state=seed + 9, format="csr") > 0
    usable = rng.random((n_base + n_opt, 3)) < 0.6
    found = time_slices.Patterns(usable, np.array([0.5, 0.3, 0.2]))
    weights = rng.random(n_demand)
    want = time_slices.expand(sp.csr_matrix(options), sp.csr_matrix(base), weights, found)
    got = sens._expand(sp.csr_matrix(options), sp.csr_matrix(base), weights, found)
    np.testing.assert_array_equal(got.cover.toarray(), want.cover.toarray())
    c = got.cover
    for i in range(n_opt):
        assert np.all(np.diff(c.indices[c.indptr[i] : c.indptr[i + 1]]) > 0)  # ascending
    np.testing.assert_array_equal(got.weights, want.weights)
    np.testing.assert_array_equal(got.already, want.already)
    np.testing.assert_array_equal(got.point, want.point)
    np.testing.assert_array_equal(got.share, want.share)
