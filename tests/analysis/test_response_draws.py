"""Time to the first defib as a distribution: closed forms, the degenerate case, the seed.

Checked against values computed independently: the fixed-time model of
:func:`defibmap.analysis.response.time_to_defib`, the lognormal by hand (``math.erf``) and
with scipy.stats, and brute force per column.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from defibmap.analysis import response
from defibmap.analysis import response_draws as rd


def _assume(**kw: object) -> rd.DrawAssumptions:
    base: dict[str, object] = {
        "ambulance": rd.Lognormal.from_mean_p90(420.0, 420.0),
        "walking_speed": rd.Lognormal.from_median_sigma(1.79, 0.0),
        "recognition_s": 0.0,
        "second_bystander": 1.0,
        "fire_available": 1.0,
        "cabinet_s": 30.0,
        "locked_cabinet_extra_s": 60.0,
        "draws": 7,
        "seed": 1,
    }
    base.update(kw)
    return rd.DrawAssumptions(**base)  # type: ignore[arg-type]


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_lognormal_matched_to_mean_and_90th_centile_closed_form():
    found = rd.Lognormal.from_mean_p90(420.0, 900.0)
    # by hand: sigma**2/2 - z*sigma + log(900/420) = 0, smaller root
    z = 1.2815515655
    sigma = z - math.sqrt(z * z - 2.0 * math.log(900.0 / 420.0))
    assert found.sigma == pytest.approx(sigma, rel=1e-12)
    assert found.mu == pytest.approx(math.log(420.0) - sigma * sigma / 2.0, rel=1e-12)
    # a second library: scipy's lognormal has that mean and 90th centile
    dist = stats.lognorm(s=found.sigma, scale=math.exp(found.mu))
    assert dist.mean() == pytest.approx(420.0, rel=1e-9)
    assert dist.ppf(0.9) == pytest.approx(900.0, rel=1e-6)
    # and a numerical root of the same equation agrees
    root = optimize.brentq(
        lambda s: math.exp(math.log(420.0) - s * s / 2 + stats.norm.ppf(0.9) * s) - 900.0,
        1e-6,
        1.2,
    )
    assert found.sigma == pytest.approx(root, rel=1e-6)


@pytest.mark.parametrize(("mean", "p90"), [(420.0, 300.0), (420.0, 2000.0), (0.0, 900.0)])
def test_lognormal_without_a_solution_is_refused(mean, p90):
    with pytest.raises(ValueError, match=r"90th centile|above 0"):
        rd.Lognormal.from_mean_p90(mean, p90)


def test_degenerate_case_reproduces_the_fixed_time_model_exactly():
    rng = np.random.default_rng(5)
    n = 200
    walk = rng.uniform(0, 900, n)
    walk[rng.random(n) < 0.2] = np.nan
    locked = rng.random(n) < 0.3
    fire_drive = rng.uniform(0, 600, n)
    fire_drive[rng.random(n) < 0.3] = np.nan
    people = rng.integers(0, 500, n).astype(float)
    old = response.time_to_defib(walk_m=walk, locked=locked, fire_drive_s=fire_drive)
    old_no_fire = response.time_to_defib(walk_m=walk, locked=locked)
    drawn = rd.draw_scenarios(
        {
            "a": rd.ScenarioInputs(walk, locked, np.ones(n), 120.0 + fire_drive),
            "b": rd.ScenarioInputs(walk, locked, np.ones(n)),
        },
        assumptions=_assume(),
    )
    for name, frame in (("a", old), ("b", old_no_fire)):
        expected = frame["time_to_defib_s"].to_numpy()
        for d in range(7):
            got = drawn[name].times[:, d]
            np.testing.assert_array_equal(np.where(np.isinf(got), np.nan, got), expected)
        routes = np.asarray(rd.per_point_route(drawn[name]))
        assert list(routes) == list(frame["first_route"])
        figures = rd.population_figures(drawn[name], people)
        summary = response.summarise_times(frame, people)
        assert figures.median_s == summary["median_s"]
        assert figures.median_s_p10 == figures.median_s_p90 == summary["median_s"]
        assert figures.within_min_share == pytest.approx(summary["within_min_share"], abs=1e-12)
        assert figures.within_min_share_p10 == pytest.approx(summary["within_min_share"])
        assert figures.first_route_share == pytest.approx(summary["first_route_share"])
        np.testing.assert_array_equal(
            rd.per_point_quantile(drawn[name], 0.5), frame["time_to_defib_s"].to_numpy()
        )


def test_four_minute_fetch_beats_a_lognormal_ambulance_as_the_cdf_by_hand():
    amb = rd.Lognormal.from_mean_p90(420.0, 900.0)
    walk = np.array([(240.0 - 30.0) * 1.79 / 2.0])  # fetch of exactly 240 s
    by_hand = 1.0 - _phi((math.log(240.0) - amb.mu) / amb.sigma)
    scipy_p = stats.lognorm(s=amb.sigma, scale=math.exp(amb.mu)).sf(240.0)
    assert by_hand == pytest.approx(scipy_p, rel=1e-9)
    draws = 40_000
    for second in (1.0, 0.5):
        drawn = rd.draw_scenarios(
            {"s": rd.ScenarioInputs(walk, np.zeros(1, bool), np.ones(1))},
            assumptions=_assume(ambulance=amb, draws=draws, second_bystander=second, seed=3),
        )
        p = rd.per_point_before(drawn["s"])[0]
        exact = second * by_hand
        assert abs(p - exact) < 4.0 * math.sqrt(exact * (1 - exact) / draws)


def test_usable_probability_scales_the_fetch_and_zero_removes_it():
    amb = rd.Lognormal.from_mean_p90(420.0, 900.0)
    walk = np.array([100.0, 100.0])
    drawn = rd.draw_scenarios(
        {"s": rd.ScenarioInputs(walk, np.zeros(2, bool), np.array([0.0, 0.4]))},
        assumptions=_assume(ambulance=amb, draws=30_000, seed=9),
    )
    before = rd.per_point_before(drawn["s"])
    assert before[0] == 0.0
    exact = 0.4 * stats.lognorm(s=amb.sigma, scale=math.exp(amb.mu)).sf(30.0 + 200.0 / 1.79)
    assert abs(before[1] - exact) < 4.0 * math.sqrt(exact * (1 - exact) / 30_000)


def test_expected_minutes_saved_matches_the_lognormal_partial_expectation():
    amb = rd.Lognormal.from_mean_p90(420.0, 900.0)
    f = 240.0
    walk = np.array([(f - 30.0) * 1.79 / 2.0])
    # E[max(0, A - f)] = mean * P(Z > (ln f - mu - s^2)/s) - f * P(Z > (ln f - mu)/s)
    mu, s = amb.mu, amb.sigma
    exact_s = amb.mean * (1 - _phi((math.log(f) - mu - s * s) / s)) - f * (
        1 - _phi((math.log(f) - mu) / s)
    )
    drawn = rd.draw_scenarios(
        {"s": rd.ScenarioInputs(walk, np.zeros(1, bool), np.ones(1))},
        assumptions=_assume(ambulance=amb, draws=200_000, seed=11),
    )
    assert rd.per_point_saved_min(drawn["s"])[0] == pytest.approx(exact_s / 60.0, rel=0.03)


def test_population_share_within_minutes_converges_to_the_cdf():
    amb = rd.Lognormal.from_mean_p90(420.0, 900.0)
    n = 50
    drawn = rd.draw_scenarios(
        {"s": rd.ScenarioInputs(np.full(n, np.nan), np.zeros(n, bool), np.ones(n))},
        assumptions=_assume(ambulance=amb, draws=2_000, seed=4),
    )
    figures = rd.population_figures(drawn["s"], np.ones(n))
    cdf = stats.lognorm(s=amb.sigma, scale=math.exp(amb.mu)).cdf
    for minutes in (3, 5, 8):
        exact = cdf(60.0 * minutes)
        cells = n * 2_000
        got = figures.within_min_share[str(minutes)]
        assert abs(got - exact) < 4.0 * math.sqrt(exact * (1 - exact) / cells)
        assert figures.within_min_share_p10[str(minutes)] <= got
        assert got <= figures.within_min_share_p90[str(minutes)]
        assert figures.within_min_share[str(minutes)] < 1.0
    # the pooled median is the lognormal's median, exp(mu)
    assert figures.median_s == pytest.approx(math.exp(amb.mu), rel=0.02)


def test_same_seed_same_figures_other_seed_other_figures():
    amb = rd.Lognormal.from_mean_p90(420.0, 900.0)
    walk = np.linspace(50, 800, 30)
    sc = {"s": rd.ScenarioInputs(walk, np.zeros(30, bool), np.ones(30))}
    kw = {
        "ambulance": amb,
        "walking_speed": rd.Lognormal.from_median_sigma(1.79, 0.78),
        "second_bystander": 0.5,
        "recognition_s": 60.0,
        "draws": 300,
    }
    one = rd.draw_scenarios(sc, assumptions=_assume(seed=7, **kw))["s"]
    two = rd.draw_scenarios(sc, assumptions=_assume(seed=7, **kw))["s"]
    three = rd.draw_scenarios(sc, assumptions=_assume(seed=8, **kw))["s"]
    np.testing.assert_array_equal(one.times, two.times)
    assert not np.array_equal(one.times, three.times)


def test_blocks_of_draws_cover_every_draw(monkeypatch):
    monkeypatch.setattr(rd, "BLOCK_CELLS", 10)  # 3 points -> blocks of 3 draws
    amb = rd.Lognormal.from_mean_p90(420.0, 900.0)
    sc = {"s": rd.ScenarioInputs(np.array([10.0, 500.0, np.nan]), np.zeros(3, bool), np.ones(3))}
    drawn = rd.draw_scenarios(sc, assumptions=_assume(ambulance=amb, draws=10, seed=2))["s"]
    assert np.isfinite(drawn.times).all()
    assert len(np.unique(drawn.ambulance[2])) == 10


def test_scenarios_share_the_ambulance_draws_so_a_nearer_defib_never_loses():
    amb = rd.Lognormal.from_mean_p90(420.0, 900.0)
    n = 40
    far = np.full(n, 600.0)
    near = np.full(n, 100.0)
    drawn = rd.draw_scenarios(
        {
            "far": rd.ScenarioInputs(far, np.zeros(n, bool), np.ones(n)),
            "near": rd.ScenarioInputs(near, np.zeros(n, bool), np.ones(n)),
        },
        assumptions=_assume(ambulance=amb, second_bystander=0.5, draws=200, seed=5),
    )
    assert (drawn["near"].times <= drawn["far"].times).all()


def test_fire_only_when_the_crew_is_free():
    walk = np.array([np.nan])
    drawn = rd.draw_scenarios(
        {"s": rd.ScenarioInputs(walk, np.zeros(1, bool), np.ones(1), np.array([100.0]))},
        assumptions=_assume(fire_available=0.3, recognition_s=20.0, draws=20_000, seed=6),
    )
    times = drawn["s"].times[0]
    assert set(np.unique(times)) == {120.0, 420.0}
    share = float((times == 120.0).mean())
    assert abs(share - 0.3) < 4.0 * math.sqrt(0.3 * 0.7 / 20_000)


def test_empirical_ambulance_times_are_resampled():
    walk = np.array([(240.0 - 30.0) * 1.79 / 2.0])
    drawn = rd.draw_scenarios(
        {"s": rd.ScenarioInputs(walk, np.zeros(1, bool), np.ones(1))},
        assumptions=_assume(
            ambulance=rd.Empirical(np.array([100.0, 500.0])), draws=20_000, seed=12
        ),
    )
    assert set(np.unique(drawn["s"].ambulance)) == {100.0, 500.0}
    assert abs(rd.per_point_before(drawn["s"])[0] - 0.5) < 0.02


def test_fixed_ambulance_from_bases_and_a_point_no_base_reaches():
    walk = np.array([100.0, np.nan])
    drawn = rd.draw_scenarios(
        {"s": rd.ScenarioInputs(walk, np.zeros(2, bool), np.ones(2))},
        assumptions=_assume(draws=5),
        ambulance_fixed_s=np.array([300.0, np.nan]),
    )["s"]
    np.testing.assert_array_equal(drawn.times[0], 30.0 + 200.0 / 1.79)
    assert np.isinf(drawn.times[1]).all()
    saved = rd.per_point_saved_min(drawn)
    assert saved[0] == pytest.approx((300.0 - (30.0 + 200.0 / 1.79)) / 60.0)
    assert np.isnan(saved[1])
    assert list(rd.per_point_route(drawn)) == ["bystander", "none"]


def test_weighted_medians_per_column_match_the_one_column_version():
    rng = np.random.default_rng(0)
    times = rng.exponential(300, (57, 9))
    times[rng.random((57, 9)) < 0.1] = np.inf
    weights = rng.integers(0, 20, 57).astype(float)
    got = rd.weighted_medians(times, weights)
    for d in range(9):
        col = np.where(np.isinf(times[:, d]), np.nan, times[:, d])
        expected = response.weighted_median(col, weights)
        assert (np.isnan(got[d]) and np.isnan(expected)) or got[d] == expected


def test_draws_are_capped_to_bound_the_memory(monkeypatch):
    assert rd.draws_within_memory(1_000, 3, 1_000) == 1_000
    monkeypatch.setattr(rd, "MAX_KEPT_CELLS", 400_000)
    # 1,000 points x (3 scenarios + the ambulance) = 4,000 cells a draw -> 100 draws
    assert rd.draws_within_memory(1_000, 3, 1_000) == 100
    assert rd.draws_within_memory(100_000, 3, 1_000) == 100  # never under 100
    assert rd.draws_within_memory(100_000, 3, 50) == 50


def test_each_area_draws_its_own_lognormal():
    means = np.array([420.0, 420.0, 600.0, 300.0])
    p90s = np.array([900.0, 900.0, 1200.0, 300.0])  # the last area: one fixed time
    amb = rd.AreaLognormal.from_mean_p90(means, p90s)
    walk = np.full(4, (240.0 - 30.0) * 1.79 / 2.0)  # a 240 s fetch everywhere
    draws = 40_000
    drawn = rd.draw_scenarios(
        {"s": rd.ScenarioInputs(walk, np.zeros(4, bool), np.ones(4))},
        assumptions=_assume(ambulance=amb, draws=draws, seed=21),
    )["s"]
    before = rd.per_point_before(drawn)
    for i in range(3):
        one = rd.Lognormal.from_mean_p90(means[i], p90s[i])
        exact = stats.lognorm(s=one.sigma, scale=math.exp(one.mu)).sf(240.0)
        assert abs(before[i] - exact) < 4.0 * math.sqrt(exact * (1 - exact) / draws)
    assert before[3] == 1.0  # 300 s every time, after the 240 s fetch: always beaten
    np.testing.assert_array_equal(drawn.ambulance[3], 300.0)
    assert amb.mean == pytest.approx((420 + 420 + 600 + 300) / 4)
