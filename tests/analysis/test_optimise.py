"""Greedy and exact maximal covering against brute force on small instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from defibmap.analysis import _mclp, optimise


def brute_force(cover: np.ndarray, w: np.ndarray, k: int, covered: np.ndarray) -> float:
    best = 0.0
    n = cover.shape[0]
    for r in range(min(k, n) + 1):
        for combo in itertools.combinations(range(n), r):
            hit = cover[list(combo)].any(axis=0) if combo else np.zeros(cover.shape[1], bool)
            best = max(best, float(w[hit & ~covered].sum()))
    return best


def test_hand_worked_instance():
    # sites x demand; weights 10, 20, 30, 40
    cover = np.array(
        [
            [1, 1, 0, 0],  # 30
            [0, 1, 1, 0],  # 50
            [0, 0, 1, 1],  # 70
            [1, 0, 0, 1],  # 50
        ],
        dtype=bool,
    )
    w = np.array([10.0, 20.0, 30.0, 40.0])
    steps = optimise.greedy(sp.csr_matrix(cover), w, 2)
    assert [s.site for s in steps] == [2, 0]
    assert [s.added for s in steps] == [70.0, 30.0]
    res = optimise.mclp(sp.csr_matrix(cover), w, 2)
    assert res.objective == 100.0
    # demand 3 already covered: site 1 (20+30) beats site 2 (30)
    covered = np.array([False, False, False, True])
    steps = optimise.greedy(sp.csr_matrix(cover), w, 1, already_covered=covered)
    assert steps[0].site == 1
    assert steps[0].added == 50.0


def test_greedy_lists_k_rows_with_zero_gains_and_ties_to_first():
    cover = sp.csr_matrix(np.array([[0, 1], [0, 1], [0, 0]], dtype=bool))
    steps = optimise.greedy(cover, np.array([5.0, 7.0]), 5)
    assert [s.site for s in steps] == [0, 1, 2]
    assert [s.added for s in steps] == [7.0, 0.0, 0.0]


def test_greedy_can_be_beaten_by_the_optimum():
    # classic: greedy takes the big middle site, optimum takes the two sides
    cover = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=bool)
    w = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    cover[0, 4] = True  # middle covers 5
    steps = optimise.greedy(sp.csr_matrix(cover), w, 2)
    res = optimise.mclp(sp.csr_matrix(cover), w, 2)
    assert steps[-1].cumulative == 6.0 or res.objective >= steps[-1].cumulative
    assert res.objective == brute_force(cover, w, 2, np.zeros(6, bool))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 7),
    st.integers(1, 12),
    st.integers(0, 4),
    st.integers(0, 2**32 - 1),
)
def test_mclp_matches_brute_force_and_bounds_greedy(n_sites, n_demand, k, seed):
    rng = np.random.default_rng(seed)
    cover = rng.random((n_sites, n_demand)) < 0.35
    w = rng.integers(0, 50, n_demand).astype(float)
    covered = rng.random(n_demand) < 0.2
    expected = brute_force(cover, w, k, covered)
    res = optimise.mclp(sp.csr_matrix(cover), w, k, already_covered=covered)
    assert res.objective == pytest.approx(expected)
    assert len(res.sites) <= k
    steps = optimise.greedy(sp.csr_matrix(cover), w, k, already_covered=covered)
    assert len(steps) == min(k, n_sites)
    greedy_total = steps[-1].cumulative if steps else 0.0
    assert greedy_total <= res.objective + 1e-9
    assert greedy_total >= (1 - 1 / np.e) * res.objective - 1e-9


# --------------------------------------------------------------------------------------------
# the large-instance solver (merging, Lagrangian bound, fixing, HiGHS) against independent
# answers: brute force over every k-subset, and HiGHS on the plain full model
# --------------------------------------------------------------------------------------------


def full_model(cover: np.ndarray, w: np.ndarray, k: int, covered: np.ndarray) -> float:
    """The textbook MCLP on every site and demand point, solved by HiGHS (no reduction)."""
    n, m = cover.shape
    if k <= 0 or n == 0 or m == 0:
        return 0.0
    gain = np.where(covered, 0.0, w)
    link = sp.hstack([-sp.csr_matrix(cover.T, dtype=float), sp.identity(m)], format="csr")
    res = milp(
        np.r_[np.zeros(n), -gain],
        constraints=[
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(np.r_[np.ones(n), np.zeros(m)][None, :], -np.inf, k),
        ],
        integrality=np.r_[np.ones(n), np.zeros(m)],
        bounds=Bounds(0.0, 1.0),
        options={"mip_rel_gap": 0.0},
    )
    assert res.status == 0, res.message
    return -float(res.fun)


def spatial_instance(n_sites: int, n_demand: int, radius: float, seed: int):
    """Sites and demand in the unit square; a site covers the demand within ``radius``.

    Demand is clustered and some points repeat exactly (identical cover columns), some
    weigh nothing, a few sites lie outside the square and cover nothing.
    """
    rng = np.random.default_rng(seed)
    sites = rng.random((n_sites, 2))
    sites[: max(1, n_sites // 20)] += 5.0  # covering nothing
    centres = rng.random((max(1, n_demand // 50), 2))
    demand = centres[rng.integers(0, len(centres), n_demand)] + rng.normal(0, 0.05, (n_demand, 2))
    demand[n_demand // 2 :: 3] = demand[: len(demand[n_demand // 2 :: 3])]  # exact repeats
    dist = np.hypot(*(sites[:, None, :] - demand[None, :, :]).transpose(2, 0, 1))
    cover = dist <= radius
    w = rng.integers(1, 60, n_demand).astype(float)
    w[rng.random(n_demand) < 0.1] = 0.0
    covered = rng.random(n_demand) < 0.15
    return cover, w, covered


def check_result(res, cover, w, k, covered, optimum: float) -> None:
    assert res.objective == pytest.approx(optimum, abs=1e-6)
    assert res.optimal
    assert res.status.startswith("Optimal")
    assert res.mip_gap == 0.0
    assert res.upper_bound == pytest.approx(res.objective)
    assert len(res.sites) <= max(k, 0)
    assert len(set(res.sites.tolist())) == len(res.sites)
    assert np.all(np.diff(res.sites) > 0)
    # the objective is what the sites really cover
    hit = cover[res.sites].any(axis=0) if len(res.sites) else np.zeros(cover.shape[1], bool)
    assert res.objective == pytest.approx(float(w[hit & ~covered].sum()))


@settings(max_examples=80, deadline=None)
@given(
    n_sites=st.integers(0, 8),
    n_demand=st.integers(0, 14),
    k=st.integers(-1, 9),
    density=st.floats(0.0, 0.8),
    seed=st.integers(0, 2**32 - 1),
)
def test_mclp_equals_brute_force_on_edge_cases(n_sites, n_demand, k, density, seed):
    rng = np.random.default_rng(seed)
    cover = rng.random((n_sites, n_demand)) < density
    if n_demand >= 4:  # identical demand columns, merged by the solver
        cover[:, n_demand // 2 :] = cover[:, : n_demand - n_demand // 2]
    if n_sites >= 2:
        cover[0] = False  # a candidate covering nothing
    w = rng.integers(0, 30, n_demand).astype(float)
    w[rng.random(n_demand) < 0.2] = 0.0
    covered = rng.random(n_demand) < 0.2
    res = optimise.mclp(
        sp.csr_matrix(cover, shape=(n_sites, n_demand)), w, k, already_covered=covered
    )
    check_result(res, cover, w, k, covered, brute_force(cover, w, max(k, 0), covered))


@pytest.mark.parametrize(
    ("n_sites", "n_demand", "radius", "k", "seed"),
    [
        (40, 600, 0.12, 3, 1),
        (60, 1_500, 0.10, 8, 2),
        (120, 3_000, 0.08, 15, 3),
        (200, 4_000, 0.06, 25, 4),
        (200, 4_000, 0.15, 6, 5),
        (80, 2_000, 0.20, 12, 6),
        (150, 3_000, 0.05, 40, 7),
        (30, 500, 0.30, 30, 8),  # k at the number of candidates
        (30, 500, 0.30, 100, 9),  # k beyond it
    ],
)
def test_mclp_equals_the_full_highs_model(n_sites, n_demand, radius, k, seed):
    cover, w, covered = spatial_instance(n_sites, n_demand, radius, seed)
    res = optimise.mclp(sp.csr_matrix(cover), w, k, already_covered=covered)
    check_result(res, cover, w, k, covered, full_model(cover, w, k, covered))
    greedy_total = optimise.greedy(sp.csr_matrix(cover), w, k, already_covered=covered)[-1]
    assert greedy_total.cumulative <= res.objective + 1e-9


def test_every_path_of_the_solver_is_taken_and_agrees():
    """Lagrangian bound met, fixing then HiGHS, and fixing alone: all agree with HiGHS."""
    seen = set()
    for seed in range(12):
        for k in (1, 4, 10):
            cover, w, covered = spatial_instance(60, 1_200, 0.1 + 0.02 * (seed % 4), seed)
            res = optimise.mclp(sp.csr_matrix(cover), w, k, already_covered=covered)
            check_result(res, cover, w, k, covered, full_model(cover, w, k, covered))
            seen |= {word for word in ("bound meets", "HiGHS", "settles") if word in res.status}
    assert seen == {"bound meets", "HiGHS", "settles"}


def test_explicit_zeros_and_all_demand_covered_are_trivial():
    cover = sp.csr_matrix(
        (np.array([True, False, True]), (np.array([0, 0, 1]), np.array([0, 1, 2]))), shape=(2, 3)
    )
    w = np.array([5.0, 7.0, 1.0])
    res = optimise.mclp(cover, w, 1)
    assert res.objective == 5.0
    assert res.sites.tolist() == [0]
    res = optimise.mclp(cover, w, 2, already_covered=np.ones(3, bool))
    assert res.objective == 0.0
    assert res.optimal


def test_a_stopped_solve_reports_a_proven_gap(monkeypatch):
    cover, w, covered = spatial_instance(200, 4_000, 0.06, 4)
    optimum = full_model(cover, w, 25, covered)
    # too many candidates left for HiGHS: the Lagrangian bound is reported instead
    monkeypatch.setattr(optimise, "MAX_MILP_SITES", 0)
    res = optimise.mclp(sp.csr_matrix(cover), w, 25, already_covered=covered)
    assert not res.optimal
    assert res.status.startswith("Stopped")
    assert res.objective <= optimum + 1e-6 <= res.upper_bound + 2e-6
    assert res.mip_gap == pytest.approx((res.upper_bound - res.objective) / res.upper_bound)
    assert 0.0 < res.mip_gap < 0.05
    # no time left for HiGHS: same
    monkeypatch.setattr(optimise, "MAX_MILP_SITES", 5_000)
    res = optimise.mclp(sp.csr_matrix(cover), w, 25, already_covered=covered, time_limit_s=0.0)
    assert not res.optimal
    assert res.objective <= optimum + 1e-6 <= res.upper_bound + 2e-6


def test_merging_identical_demand_keeps_weights_and_distinct_rows():
    rng = np.random.default_rng(0)
    base = sp.random(50, 30, density=0.1, format="csr", random_state=1)
    base.data[:] = 1.0
    a = sp.csr_matrix(sp.vstack([base, base[::2], base[::5]]))
    w = rng.random(a.shape[0])
    merged, mw = _mclp.merge_identical(a, w)
    assert mw.sum() == pytest.approx(w.sum())
    dense = merged.toarray()
    assert len({row.tobytes() for row in dense}) == dense.shape[0]
    assert {row.tobytes() for row in dense} == {row.tobytes() for row in a.toarray()}
