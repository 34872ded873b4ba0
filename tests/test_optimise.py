"""Greedy and exact maximal covering against brute force on small instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from defibmap import optimise


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
