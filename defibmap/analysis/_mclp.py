"""Exact maximal covering internals: the reductions and the HiGHS model behind ``optimise.mclp``.

The Maximal Covering Location Problem is made smaller without changing its optimum before
HiGHS (``scipy.optimize.milp``) sees it: demand points covered by exactly the same candidates
are merged, a Lagrangian relaxation of the linking rows (Galvao & ReVelle 1996) bounds the
optimum from above, and reduced-cost fixing rules candidates in or out of every optimal
solution. :func:`defibmap.analysis.optimise.mclp` strings these together; the pieces live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: Most subgradient steps of the Lagrangian bound (about 2 s at 25,000 x 200,000).
_LAGRANGE_STEPS = 300


class Found(NamedTuple):
    """A solution (sites ascending), its proven upper bound, how it was found."""

    sites: NDArray[np.int64]
    upper: float
    status: str
    free_sites: int


def after_fixing(
    a: sp.csr_matrix,
    w: NDArray[np.float64],
    k: int,
    lag: Lagrangian,
    time_left_s: float,
    *,
    max_sites: int,
) -> Found:
    """HiGHS on the candidates the Lagrangian bound left free, the fixed ones in place.

    With more than ``max_sites`` candidates left free (or no time left) the best solution
    known is returned with the Lagrangian gap.
    """
    ones = np.flatnonzero(lag.fix_one)
    free = np.flatnonzero(~lag.fix_one & ~lag.fix_zero)
    pick = np.zeros(a.shape[1])
    pick[ones] = 1.0
    won = (a @ pick) > 0
    sub = sp.csr_matrix(a[:, free])
    live = ~won & (np.diff(sub.indptr) > 0)
    k_left = k - ones.size
    if k_left <= 0 or free.size == 0 or not live.any():
        # every solution as good as the best known takes these sites and nothing else helps
        return Found(ones, float(w[won].sum()), "Optimal: reduced-cost fixing settles it", 0)
    if free.size > max_sites or time_left_s <= 0:
        status = f"Stopped: {free.size} candidates left after fixing; Lagrangian gap"
        return Found(lag.sites, lag.upper, status, free.size)
    sub_a, sub_w = merge_identical(sp.csr_matrix(sub[live]), w[live])
    res = solve_milp(sub_a, sub_w, k_left, time_limit_s=time_left_s)
    if res.x is None:
        status = f"Stopped: HiGHS found no solution in time ({res.message}); Lagrangian gap"
        return Found(lag.sites, lag.upper, status, free.size)
    chosen = np.sort(np.r_[ones, free[res.x[: free.size] > 0.5]]).astype(np.int64)
    if res.status == 0:
        status = f"Optimal: HiGHS on {free.size} of {a.shape[1]} candidates after fixing"
        return Found(chosen, solution_value(a, w, chosen), status, free.size)
    # the solutions left include every one as good as the best known, so HiGHS's bound on
    # them plus the demand the fixed sites win bounds the optimum as well
    upper = min(lag.upper, float(w[won].sum()) - float(res.mip_dual_bound))
    if solution_value(a, w, chosen) < lag.lower:
        chosen = lag.sites
    status = f"Stopped: time limit with {free.size} candidates left; HiGHS gap"
    return Found(chosen, upper, status, free.size)


def tol(value: float) -> float:
    """Absolute tolerance for comparing bounds of the size of ``value``."""
    return 1e-9 * max(1.0, abs(value))


def open_demand(
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    already_covered: NDArray[np.bool_] | None,
) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
    """Demand x sites 0/1 matrix of the demand still open, of positive weight and coverable."""
    matrix = sp.csc_matrix(cover, dtype=np.float64)
    matrix.eliminate_zeros()
    w = np.asarray(weights, dtype=np.float64)
    keep = (np.diff(matrix.indptr) > 0) & (w > 0)
    if already_covered is not None:
        keep &= ~np.asarray(already_covered, dtype=bool)
    rows = np.flatnonzero(keep)
    a = sp.csr_matrix(matrix[:, rows].T)
    a.data[:] = 1.0
    return a, w[rows]


def merge_identical(
    a: sp.csr_matrix, w: NDArray[np.float64]
) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
    """Merge demand rows covered by the same sites, summing their weights (exact).

    Rows are grouped by two random linear hashes of their site sets, then every row is
    checked against its group's first row, so a hash collision cannot merge different rows.
    """
    a = sp.csr_matrix(a, copy=True)
    a.sort_indices()
    rng = np.random.default_rng(0)
    h1 = a @ rng.random(a.shape[1])
    h2 = a @ rng.random(a.shape[1])
    count = np.diff(a.indptr)
    order = np.lexsort((h2, h1, count))
    key = np.c_[count[order], h1[order], h2[order]]
    new = np.r_[True, np.any(key[1:] != key[:-1], axis=1)]
    group = np.cumsum(new) - 1
    rep = order[new]
    # rows of a group have equal counts, so equal site lists means equal index arrays
    if not np.array_equal(a[order].indices, a[rep[group]].indices):  # pragma: no cover
        return a, w
    merged = np.asarray(np.bincount(group, weights=w[order]), dtype=np.float64)
    return sp.csr_matrix(a[rep]), merged


def solution_value(a: sp.csr_matrix, w: NDArray[np.float64], sites: NDArray[np.int64]) -> float:
    """Weight of the demand rows of ``a`` that ``sites`` cover."""
    pick = np.zeros(a.shape[1])
    pick[sites] = 1.0
    return float(w[(a @ pick) > 0].sum())


@dataclass(frozen=True)
class Lagrangian:
    """Bounds from the Lagrangian relaxation, and the candidates they rule in or out."""

    lower: float
    sites: NDArray[np.int64]
    upper: float
    fix_zero: NDArray[np.bool_]
    fix_one: NDArray[np.bool_]


def lagrangian(
    a: sp.csr_matrix, w: NDArray[np.float64], k: int, *, start_sites: NDArray[np.int64]
) -> Lagrangian:
    """Subgradient optimisation of the Lagrangian bound, with reduced-cost fixing.

    ``a`` is demand x sites with more sites covering something than ``k``; ``start_sites``
    is a feasible solution to start from (the greedy order's ``k`` sites). With multipliers
    ``lam`` the relaxed problem picks the ``k`` sites of largest ``c = a' lam``; forcing a
    site in (out) swaps it for the k-th (k+1-th) largest. Fixes from every step are kept:
    each rules out only solutions worse than the best known, which only improves.
    """
    n_sites = a.shape[1]
    at = sp.csr_matrix(a.T)
    sites = start_sites
    lower = solution_value(a, w, sites)
    lam = w.copy()  # the bound is then the k largest single-site totals
    upper = np.inf
    fix_zero = np.zeros(n_sites, dtype=bool)
    fix_one = np.zeros(n_sites, dtype=bool)
    step, stall = 2.0, 0
    for _ in range(_LAGRANGE_STEPS):
        c = at @ lam
        top = np.argpartition(-c, k - 1)[:k]
        in_top = np.zeros(n_sites, dtype=bool)
        in_top[top] = True
        bound = float((w - lam).sum() + c[top].sum())
        if bound < upper - tol(upper if np.isfinite(upper) else bound):
            upper, stall = bound, 0
        else:
            stall += 1
            if stall >= 5:
                step, stall = step / 2.0, 0
        pick = in_top.astype(np.float64)
        count = a @ pick
        value = float(w[count > 0].sum())
        if value > lower:
            lower, sites = value, top.copy()
        below = lower - tol(lower)
        kth = float(c[top].min())
        next_best = float(c[~in_top].max()) if n_sites > k else 0.0
        fix_zero |= ~in_top & (bound - kth + c < below)
        fix_one |= in_top & (bound - c + next_best < below)
        if upper - lower <= tol(upper) or step < 1e-5:
            break
        grad = count - 1.0  # d bound / d lam_i
        norm = float(grad @ grad)
        if norm == 0:
            break
        lam = np.clip(lam - step * (bound - lower) / norm * grad, 0.0, w)
    return Lagrangian(lower, np.sort(sites), upper, fix_zero, fix_one)


def solve_milp(
    a: sp.csr_matrix, w: NDArray[np.float64], k: int, *, time_limit_s: float
) -> OptimizeResult:
    """HiGHS on the full MCLP model of demand x sites matrix ``a`` (sites first in ``x``)."""
    m, n = a.shape
    link = sp.hstack([-a, sp.identity(m, format="csr")], format="csr")
    budget = sp.csr_matrix(np.r_[np.ones(n), np.zeros(m)][None, :])
    return milp(
        np.r_[np.zeros(n), -w],
        constraints=[
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(budget, -np.inf, float(k)),
        ],
        integrality=np.r_[np.ones(n), np.zeros(m)],
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": time_limit_s, "mip_rel_gap": 0.0},
    )


def solve_budget_milp(
    a: sp.csr_matrix,
    w: NDArray[np.float64],
    costs: NDArray[np.float64],
    budget: float,
    *,
    time_limit_s: float,
) -> OptimizeResult:
    """HiGHS on the budgeted MCLP: a knapsack row ``sum_j c_j x_j <= budget`` for the count.

    The Lagrangian reductions of :func:`lagrangian` assume a cardinality row, so a budget
    run solves this direct model (on merged demand rows).
    """
    m, n = a.shape
    link = sp.hstack([-a, sp.identity(m, format="csr")], format="csr")
    knapsack = sp.csr_matrix(np.r_[np.asarray(costs, dtype=np.float64), np.zeros(m)][None, :])
    upper = np.r_[(np.asarray(costs) <= budget).astype(np.float64), np.ones(m)]
    return milp(
        np.r_[np.zeros(n), -w],
        constraints=[
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(knapsack, -np.inf, float(budget)),
        ],
        integrality=np.r_[np.ones(n), np.zeros(m)],
        bounds=Bounds(0.0, upper),
        options={"time_limit": time_limit_s, "mip_rel_gap": 0.0},
    )
