"""1-swap local search: never worse than its start, and no single swap improves its answer.

Checked by brute force on small random instances: every (out, in) pair of sites is tried on
the returned solution with a plain numpy coverage count.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from defibmap.analysis import _swap


def value(a: sp.csr_matrix, w: np.ndarray, sites) -> float:
    dense = a.toarray().astype(bool)
    return float(w[dense[:, list(sites)].any(axis=1)].sum())


@pytest.mark.parametrize("seed", range(30))
def test_swap_reaches_a_one_swap_optimum(seed):
    rng = np.random.default_rng(seed)
    n_dem, n_sites = int(rng.integers(5, 40)), int(rng.integers(3, 15))
    dense = rng.random((n_dem, n_sites)) < rng.uniform(0.1, 0.5)
    a = sp.csr_matrix(dense.astype(np.float64))
    w = rng.integers(1, 20, n_dem).astype(np.float64)
    k = int(rng.integers(1, n_sites))
    start = np.sort(rng.choice(n_sites, k, replace=False)).astype(np.int64)
    got = _swap.improve(a, w, start, time_limit_s=60.0)
    assert got.size == k
    assert np.unique(got).size == k
    got_value = value(a, w, got)
    assert got_value >= value(a, w, start)
    for out in got:
        for new in set(range(n_sites)) - set(got.tolist()):
            swapped = [s for s in got if s != out] + [new]
            assert value(a, w, swapped) <= got_value + 1e-9, (out, new)


def test_swap_finds_the_better_pair():
    # greedy-like start {0}: site 0 covers rows 0-2 (weight 3); site 1 covers rows 0-3 (4)
    dense = np.array([[1, 1], [1, 1], [1, 1], [0, 1]], dtype=np.float64)
    got = _swap.improve(sp.csr_matrix(dense), np.ones(4), np.array([0]), time_limit_s=10.0)
    assert got.tolist() == [1]
