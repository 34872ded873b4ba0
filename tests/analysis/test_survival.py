"""Expected survival as an objective: the published curve, the gains, the exact and greedy sets.

The survival curve is checked against values worked by hand from Larsen et al.'s published
formula; the expectations over the draws against closed forms (a degenerate time model and
the lognormal's partial expectation); the exact optimum against brute force over every
k-subset of random instances; and a line of streets worked by hand end to end.
"""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.stats import norm

from defibmap.analysis import response_draws as rd
from defibmap.analysis import survival
from defibmap.analysis.ranking import (
    NEW_CABINET,
    RankingDemand,
    RankingRules,
    SurvivalInputs,
    rank_sites,
)
from defibmap.analysis.time_slices import Week
from defibmap.network import walk as nw
from defibmap.network.snapping import snap_points

HOURS = 168


def _assumptions(
    *,
    ambulance: rd.Lognormal | rd.AreaLognormal | rd.Empirical | None = None,
    speed: float = 1.5,
    speed_sigma: float = 0.0,
    recognition_s: float = 0.0,
    cabinet_s: float = 0.0,
    second_bystander: float = 1.0,
    locked_extra_s: float = 60.0,
    draws: int = 10,
    seed: int = 1,
) -> rd.DrawAssumptions:
    return rd.DrawAssumptions(
        ambulance=ambulance or rd.Lognormal.from_mean_p90(420.0, 420.0),
        walking_speed=rd.Lognormal.from_median_sigma(speed, speed_sigma),
        recognition_s=recognition_s,
        second_bystander=second_bystander,
        fire_available=1.0,
        cabinet_s=cabinet_s,
        locked_cabinet_extra_s=locked_extra_s,
        draws=draws,
        seed=seed,
    )


# --- the published curve ---------------------------------------------------------------------
# Larsen et al. 1993: survival = 67 % - 2.3 %/min to CPR - 1.1 %/min to the first shock
# - 2.1 %/min to advanced care.


@pytest.mark.parametrize(
    ("cpr_min", "defib_min", "acls_min", "expected"),
    [
        (0, 0, 0, 0.67),
        (1, 5, 8, 0.67 - 0.023 - 0.055 - 0.168),  # 0.424
        (1, 7, 7, 0.67 - 0.023 - 0.077 - 0.147),  # 0.423
        (2, 3, 10, 0.67 - 0.046 - 0.033 - 0.21),  # 0.381
        (5, 20, 20, 0.0),  # 0.67 - 0.115 - 0.22 - 0.42 < 0: clipped
    ],
)
def test_curve_matches_the_published_formula(cpr_min, defib_min, acls_min, expected):
    got = survival.SurvivalCurve().probability(cpr_min * 60.0, defib_min * 60.0, acls_min * 60.0)
    assert float(got) == pytest.approx(expected, abs=1e-12)


def test_curve_reads_never_as_zero_and_keeps_shape():
    curve = survival.SurvivalCurve()
    got = curve.probability(np.zeros((2, 3)), np.full((2, 3), np.inf), np.full((2, 3), 60.0))
    assert got.shape == (2, 3)
    assert (got == 0.0).all()


# --- expectations over the draws ------------------------------------------------------------


def test_fetch_benefit_with_fixed_times_is_the_hand_worked_gain():
    # ambulance 420 s, speed 1.5 m/s, recognition 60 s, cabinet 30 s: the fetch from d metres
    # takes 90 + 2d/1.5 s and gains 1.1 %/min for each minute it beats the ambulance
    a = _assumptions(recognition_s=60.0, cabinet_s=30.0)
    walks = np.array([0.0, 100.0, 247.5, 300.0, np.nan])
    got = survival.fetch_benefit(walks, ambulance=a.ambulance, assumptions=a)
    fetch = 90.0 + 2.0 * np.array([0.0, 100.0, 247.5]) / 1.5
    hand = 0.011 * (420.0 - fetch) / 60.0
    np.testing.assert_allclose(got[:3], hand, atol=1e-15)
    assert got[3] == 0.0  # 490 s: later than the ambulance
    assert got[4] == 0.0  # out of reach
    # a locked cabinet's code costs 60 s more
    locked = survival.fetch_benefit([100.0], ambulance=a.ambulance, assumptions=a, extra_s=60.0)
    assert locked[0] == pytest.approx(0.011 * (420.0 - fetch[1] - 60.0) / 60.0, abs=1e-15)


def test_fetch_benefit_converges_to_the_lognormal_partial_expectation():
    # with a fixed fetch f and no clipping, the gain is 0.011/60 * E[(A - f)+]; for a
    # lognormal A, E[(A - f)+] = mean * Phi(d1) - f * Phi(d2) (the call-option formula)
    amb = rd.Lognormal.from_mean_p90(300.0, 450.0)
    a = _assumptions(ambulance=amb, draws=400_000, seed=7)
    walk = 150.0
    f = 2.0 * walk / 1.5
    d1 = (amb.mu + amb.sigma**2 - math.log(f)) / amb.sigma
    closed = 0.011 / 60.0 * (amb.mean * norm.cdf(d1) - f * norm.cdf(d1 - amb.sigma))
    got = survival.fetch_benefit([walk], ambulance=amb, assumptions=a)[0]
    assert got == pytest.approx(closed, rel=0.01)


def test_the_same_seed_gives_the_same_values():
    amb = rd.Lognormal.from_mean_p90(420.0, 900.0)
    a = _assumptions(ambulance=amb, speed_sigma=0.7782, draws=500, seed=3)
    walks = np.array([50.0, 120.0, 400.0])
    first = survival.fetch_benefit(walks, ambulance=amb, assumptions=a)
    again = survival.fetch_benefit(walks, ambulance=amb, assumptions=a)
    np.testing.assert_array_equal(first, again)
    # each walk alone gives what it gives among others
    for i, w in enumerate(walks):
        assert survival.fetch_benefit([w], ambulance=amb, assumptions=a)[0] == first[i]


def _fetch_benefit_by_draw(walk_m, *, ambulance, assumptions, extra_s):
    """survival.fetch_benefit the long way: every walk on every draw, from the same draws."""
    curve = survival.SurvivalCurve()
    a = assumptions
    walk = np.asarray(walk_m, dtype=np.float64)
    amb, speed = survival._draws(ambulance, a)
    base = curve.probability(a.recognition_s, amb, amb)
    # the same expression as the time model: recognition + there and back + cabinet
    with np.errstate(invalid="ignore"):
        fetch = 2.0 * walk[:, None] / speed[None, :] + a.recognition_s + a.cabinet_s + extra_s
    fetch = np.where(np.isfinite(fetch), fetch, np.inf)
    first = np.minimum(fetch, amb[None, :])
    return (curve.probability(a.recognition_s, first, amb[None, :]) - base[None, :]).mean(axis=1)


@pytest.mark.parametrize(
    ("ambulance", "speed_sigma", "recognition_s", "extra_s"),
    [
        (rd.Lognormal.from_mean_p90(420.0, 900.0), 0.7782, 60.0, 0.0),
        (rd.Lognormal.from_mean_p90(420.0, 900.0), 0.7782, 60.0, 60.0),
        # long ambulance times: the curve reaches 0 in many draws (both clips at work)
        (rd.Lognormal.from_mean_p90(1200.0, 2600.0), 0.5, 120.0, 0.0),
        (rd.Lognormal.from_mean_p90(420.0, 420.0), 0.0, 60.0, 0.0),
        (rd.Empirical(np.array([200.0, 350.0, 420.0, 900.0, 1500.0, 3000.0])), 0.3, 0.0, 30.0),
    ],
)
def test_the_sorted_sums_equal_every_walk_on_every_draw(
    ambulance, speed_sigma, recognition_s, extra_s
):
    a = _assumptions(
        ambulance=ambulance,
        speed_sigma=speed_sigma,
        recognition_s=recognition_s,
        cabinet_s=30.0,
        draws=3000,
        seed=5,
    )
    rng = np.random.default_rng(9)
    walks = np.r_[rng.uniform(0.0, 2500.0, 400), 0.0, np.nan, np.inf, 123.0, 123.0]
    fast = survival.fetch_benefit(walks, ambulance=ambulance, assumptions=a, extra_s=extra_s)
    slow = _fetch_benefit_by_draw(walks, ambulance=ambulance, assumptions=a, extra_s=extra_s)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-15)
    assert (fast >= 0).all()
    # longer walks never gain more
    finite = np.isfinite(walks)
    order = np.argsort(walks[finite])
    assert (np.diff(fast[finite][order]) <= 1e-15).all()


def test_a_curve_above_one_or_rising_is_refused():
    with pytest.raises(ValueError, match="intercept in 0-1"):
        survival.SurvivalCurve(intercept=1.2)
    with pytest.raises(ValueError, match="rates >= 0"):
        survival.SurvivalCurve(defib_per_min=-0.01)


def test_pair_values_use_each_points_own_area_and_the_site_usability():
    # two areas: the ambulance takes 420 s in one, 600 s in the other
    areas = rd.AreaLognormal.from_mean_p90([420.0, 600.0, 420.0], [420.0, 600.0, 420.0])
    a = _assumptions(ambulance=areas, second_bystander=0.5)
    got = survival.pair_values(
        np.array([150.0, 150.0, 150.0]),
        np.array([0, 1, 2]),
        np.array([1.0, 1.0, 0.25]),
        np.zeros(3),
        assumptions=a,
    )
    fetch = 2.0 * 150.0 / 1.5
    hand = 0.5 * 0.011 / 60.0 * (np.array([420.0, 600.0, 420.0]) - fetch) * [1.0, 1.0, 0.25]
    np.testing.assert_allclose(got, hand, atol=1e-15)


def test_ambulance_only_survival_is_the_curve_at_the_ambulance_time():
    a = _assumptions(recognition_s=60.0)
    assert survival.ambulance_only(a.ambulance, a) == pytest.approx(0.67 - 0.023 - 0.032 * 7)


# --- the distance that beats the ambulance --------------------------------------------------


def test_beats_ambulance_with_fixed_times_is_the_break_even_walk():
    # (420 - 60 - 30) s left for the walk there and back at 1.79 m/s: 295.35 m
    a = _assumptions(speed=1.79, recognition_s=60.0, cabinet_s=30.0)
    found = survival.beats_ambulance_m(a.ambulance, a)
    assert found.walk_m == pytest.approx((420.0 - 90.0) * 1.79 / 2.0)
    # and with no recognition delay, the "about 350 m"
    b = _assumptions(speed=1.79, cabinet_s=30.0)
    assert survival.beats_ambulance_m(b.ambulance, b).walk_m == pytest.approx(349.05)


def test_beats_ambulance_with_a_lognormal_ambulance_is_its_median():
    # the fetch wins when the ambulance takes longer than the fetch: in half the draws at
    # the walk whose fetch equals the ambulance's median, exp(mu)
    amb = rd.Lognormal.from_mean_p90(420.0, 900.0)
    a = _assumptions(ambulance=amb, speed=1.79, recognition_s=60.0, cabinet_s=30.0, draws=200_001)
    found = survival.beats_ambulance_m(amb, a)
    hand = (math.exp(amb.mu) - 90.0) * 1.79 / 2.0
    assert found.walk_m == pytest.approx(hand, rel=0.01)
    assert found.share_at_walk == pytest.approx(0.5, abs=1e-4)


def test_beats_ambulance_is_zero_when_the_ambulance_is_always_first():
    a = _assumptions(ambulance=rd.Lognormal.from_mean_p90(60.0, 60.0), recognition_s=60.0)
    assert survival.beats_ambulance_m(a.ambulance, a).walk_m == 0.0


# --- exact and greedy against brute force ---------------------------------------------------


def _brute(gain: sp.csr_matrix, k: int) -> float:
    dense = gain.toarray()
    best = 0.0
    for subset in itertools.combinations(range(dense.shape[0]), k):
        best = max(best, float(dense[list(subset)].max(axis=0).sum()))
    return best


def _instance(seed: int, n_opt: int = 7, n_pts: int = 14) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.random((n_opt, n_pts)) * rng.integers(1, 5, n_pts)
    dense[rng.random((n_opt, n_pts)) < 0.55] = 0.0
    return sp.csr_matrix(dense)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_exact_equals_brute_force(seed, k):
    gain = _instance(seed)
    found = survival.exact(gain, k)
    assert found.optimal
    assert found.sites.size == k
    assert found.objective == pytest.approx(_brute(gain, k), rel=1e-9, abs=1e-12)
    greedy = survival.greedy(gain, k)
    assert greedy[-1].cumulative <= found.objective + 1e-9
    # the greedy total is what its set is worth
    sites = [s.site for s in greedy]
    assert greedy[-1].cumulative == pytest.approx(survival.total_gain(gain, sites))
    if k == 1:
        assert greedy[0].cumulative == pytest.approx(_brute(gain, 1))


def test_greedy_can_be_beaten_and_the_exact_finds_it():
    # the greedy takes the middle option (gain 3) and then only one side; the optimum
    # takes both sides (2 + 2)
    gain = sp.csr_matrix(np.array([[2.0, 0.0], [0.0, 2.0], [1.5, 1.5]]))
    steps = survival.greedy(gain, 2)
    assert [s.site for s in steps] == [2, 0]
    assert steps[-1].cumulative == pytest.approx(3.5)
    found = survival.exact(gain, 2)
    assert list(found.sites) == [0, 1]
    assert found.objective == pytest.approx(4.0)


def test_exact_with_a_budget_equals_brute_force_over_affordable_sets():
    gain = _instance(11)
    costs = np.array([3.0, 1.0, 2.0, 2.0, 1.0, 4.0, 1.0])
    budget = 4.0
    dense = gain.toarray()
    best = 0.0
    for r in range(1, 8):
        for subset in itertools.combinations(range(7), r):
            if costs[list(subset)].sum() <= budget:
                best = max(best, float(dense[list(subset)].max(axis=0).sum()))
    found = survival.exact(gain, 3, costs=costs, budget=budget)
    assert found.objective == pytest.approx(best)
    assert costs[found.sites].sum() <= budget
    steps = survival.greedy(gain, 3, costs=costs, budget=budget)
    assert costs[[s.site for s in steps]].sum() <= budget


def test_nothing_to_gain_still_lists_k_options_in_order():
    gain = sp.csr_matrix((4, 3))
    assert [s.site for s in survival.greedy(gain, 2)] == [0, 1]
    found = survival.exact(gain, 2)
    assert list(found.sites) == [0, 1]
    assert found.objective == 0.0


def test_gain_matrix_keeps_only_gains_over_the_best_existing_site():
    # point 0 already has 0.05 from an existing defib; point 1 has none
    gain = survival.gain_matrix(
        (np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([0.04, 0.03, 0.07])),
        np.array([0.05, 0.0]),
        np.array([10.0, 20.0]),
        2,
    )
    np.testing.assert_allclose(gain.toarray(), [[0.0, 0.6], [0.2, 0.0]])


# --- a line of streets, worked by hand ------------------------------------------------------
#
# Demand A (100) at x=0, B (200) at x=500, C (300) at x=1000; an existing 24/7 defib at x=0.
# Ambulance 420 s, speed 1.5 m/s, no recognition or cabinet time, a second bystander always:
# a site at d metres gives 1.1 %/min x (420 - 4d/3) s / 60 while 4d/3 < 420 (d < 315 m).
#   f(0) = 0.077, f(100) = 0.0525556, f(200) = 0.0281111, f(300) = 0.0036667
# Options: "a_next" at x=100 (A has 0.077 already; B is 400 m away): gains nothing;
# "b_mid" at x=500: B 200 x 0.077 = 15.4; "c_near" at x=900: C 300 x f(100) = 15.7667;
# "d_700" at x=700: B 200 x f(200) = 5.6222, C 300 x f(300) = 1.1.
# Greedy: c_near (15.7667), then b_mid (15.4; d_700 would add 5.6222): 31.1667.

F = {d: 0.011 * (420.0 - 4.0 * d / 3.0) / 60.0 for d in (0, 100, 200, 300)}


def _line() -> nw.Network:
    x = np.arange(0.0, 1001.0, 100.0)
    return nw.from_arrays(
        node_x=x, node_y=np.zeros_like(x), edge_u=np.arange(x.size - 1), edge_v=np.arange(1, x.size)
    )


def _rank_line(objective: str, k: int, *, ids=("a_next", "b_mid", "c_near", "d_700")):
    net = _line()
    where = {"a_next": 100.0, "b_mid": 500.0, "c_near": 900.0, "d_700": 700.0}
    opt_x = np.array([where[i] for i in ids])
    frame = gpd.GeoDataFrame(
        {"name": list(ids), "option": NEW_CABINET},
        geometry=gpd.points_from_xy(opt_x, np.zeros(len(ids))),
        index=pd.Index(list(ids), name="site_id"),
        crs="EPSG:27700",
    )
    demand = snap_points(net, np.array([0.0, 500.0, 1000.0]), np.zeros(3))
    existing = snap_points(net, np.array([0.0]), np.zeros(1))
    return rank_sites(
        net,
        RankingDemand(
            snapped=demand,
            population=np.array([100.0, 200.0, 300.0]),
            walk_m=np.array([0.0, 500.0, 1000.0]),
        ),
        candidates=frame,
        candidates_snapped=snap_points(net, opt_x, np.zeros(len(ids))),
        new_sites=k,
        threshold_m=150.0,
        hours=Week.always(len(ids)),
        rules=RankingRules(
            objective=objective,  # type: ignore[arg-type]
            baseline_sites=existing,
            baseline_hours=Week.always(1),
            survival=SurvivalInputs(
                assumptions=_assumptions(),
                baseline_sites=existing,
                baseline_usable=np.ones(1),
                baseline_locked=np.zeros(1, dtype=bool),
                limit_m=2000.0,
            ),
        ),
    )


def test_hand_worked_line_ranks_by_survivors_added():
    found = _rank_line("survival", 2)
    assert list(found.recommendations["site_id"]) == ["c_near", "b_mid"]
    surv = found.survival
    assert surv is not None
    assert list(surv.order) == ["c_near", "b_mid"]
    np.testing.assert_allclose(surv.added, [300 * F[100], 200 * F[0]], rtol=1e-9)
    np.testing.assert_allclose(
        found.recommendations["added_survivors"], [300 * F[100], 200 * F[0]], rtol=1e-9
    )
    assert surv.optimal_survivors_added == pytest.approx(300 * F[100] + 200 * F[0])
    assert surv.optimal
    assert surv.optimal_site_ids == ("b_mid", "c_near")
    assert found.greedy_objective == pytest.approx(surv.greedy_survivors_added)
    assert found.optimal_objective == pytest.approx(surv.optimal_survivors_added)
    assert found.objective == "survival"
    assert list(found.recommendations["in_optimal_set"]) == [True, True]
    # per arrest: the weighted mean over the 600 people
    assert surv.optimal_per_arrest_added == pytest.approx(surv.optimal_survivors_added / 600.0)
    s_amb = 0.67 - 0.032 * 7
    assert surv.survival_ambulance_only == pytest.approx(s_amb)
    assert surv.survival_now == pytest.approx(s_amb + 100 * F[0] / 600.0)


def test_a_site_beside_an_existing_defib_gains_nothing():
    found = _rank_line("survival", 4)
    surv = found.survival
    assert surv is not None
    # a_next adds nothing; nor does d_700 after c_near and b_mid (B and C each have a
    # better site): both come last, ties to the lowest id
    assert surv.order == ("c_near", "b_mid", "a_next", "d_700")
    assert surv.added[2:] == (0.0, 0.0)
    alone = _rank_line("survival", 1, ids=("a_next",)).survival
    assert alone is not None
    assert alone.greedy_survivors_added == 0.0


def test_the_survival_ranking_rides_beside_a_coverage_ranking():
    found = _rank_line("available", 2)
    assert found.objective == "available"
    surv = found.survival
    assert surv is not None
    assert list(surv.order) == ["c_near", "b_mid"]
    # the coverage ranking counts people within 150 m: b_mid (200) and c_near (300)
    assert list(found.recommendations["site_id"]) == ["c_near", "b_mid"]
    assert surv.coverage_order == ("c_near", "b_mid")
    np.testing.assert_allclose(
        found.recommendations["added_survivors"], [300 * F[100], 200 * F[0]], rtol=1e-9
    )
    # the survivors column follows the table's own order: b_mid first, its own gain
    one = _rank_line("available", 1, ids=("b_mid", "d_700"))
    assert list(one.recommendations["site_id"]) == ["b_mid"]
    assert one.recommendations["added_survivors"].iloc[0] == pytest.approx(200 * F[0])
    assert "survival" not in found.info()


def test_the_survival_objective_needs_the_time_model():
    net = _line()
    frame = gpd.GeoDataFrame(
        {"name": ["x"]},
        geometry=gpd.points_from_xy([0.0], [0.0]),
        index=pd.Index(["x"], name="site_id"),
        crs="EPSG:27700",
    )
    demand = snap_points(net, np.array([0.0]), np.zeros(1))
    with pytest.raises(ValueError, match="time model"):
        rank_sites(
            net,
            RankingDemand(snapped=demand, population=np.ones(1), walk_m=np.array([np.nan])),
            candidates=frame,
            candidates_snapped=demand,
            new_sites=1,
            threshold_m=100.0,
            rules=RankingRules(objective="survival"),
        )


def test_a_solver_stopped_without_a_set_gives_the_greedy_set_not_nothing():
    # HiGHS stopped by its time limit before any feasible set: the ranking keeps the greedy
    # set (the best known), never "no sites, 0 survivors", and does not call it optimal
    from defibmap.analysis.ranking import _at_least_greedy

    gain = sp.csr_matrix(np.array([[2.0, 0.0], [0.0, 2.0], [1.5, 1.5]]))
    steps = survival.greedy(gain, 2)  # sites 2 then 0: 3.5
    stopped = survival.SurvivalOptimum(np.zeros(0, dtype=np.int64), 0.0, "Time limit", False)
    kept = _at_least_greedy(stopped, gain, steps)
    assert kept.sites.tolist() == [0, 2]
    assert kept.objective == pytest.approx(3.5)
    assert not kept.optimal
    # a set better than greedy's that the solver found is kept, and a proven optimum always
    better = survival.SurvivalOptimum(np.array([0, 1]), 4.0, "Time limit", False)
    assert _at_least_greedy(better, gain, steps) is better
    proven = survival.exact(gain, 2)
    assert _at_least_greedy(proven, gain, steps) is proven
