"""Choose new defib sites: greedy marginal gain and the exact maximal covering optimum.

The Maximal Covering Location Problem (Church & ReVelle 1974) picks ``k`` candidate sites to
maximise the demand newly brought within the threshold, with the existing defibs fixed. It is
solved exactly as a mixed-integer programme with HiGHS (``scipy.optimize.milp``), after
reductions that keep the optimum (merged demand points, candidates ruled in or out by a
Lagrangian bound), so regional instances of 25,000 candidates solve in seconds. The greedy
order (each step takes the site adding the most still-uncovered demand; within 1 - 1/e of the
optimum) gives the readable "site 1 adds X people, site 2 adds Y" list.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp

from defibmap._errors import OptimisationError

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass(frozen=True)
class GreedyStep:
    """One step of the greedy order."""

    site: int
    added: float
    cumulative: float


def greedy(
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    k: int,
    *,
    already_covered: NDArray[np.bool_] | None = None,
) -> list[GreedyStep]:
    """Greedy marginal-gain order of ``min(k, n_sites)`` sites.

    Parameters
    ----------
    cover
        Sites x demand boolean matrix: site j covers demand point i.
    weights
        Demand weight of every point (people).
    k
        Number of sites to choose.
    already_covered
        Demand points already covered by existing defibs (they add nothing).

    Returns
    -------
    list of GreedyStep
        Exactly ``min(k, n_sites)`` steps; zero gains included. Ties go to the site that comes
        first in the matrix, so order the sites by id beforehand for a stable tie-break.
    """
    n_sites = cover.shape[0]
    remaining = np.asarray(weights, dtype=np.float64).copy()
    if already_covered is not None:
        remaining[already_covered] = 0.0
    matrix = sp.csr_matrix(cover, dtype=np.float64)
    chosen = np.zeros(n_sites, dtype=bool)
    steps: list[GreedyStep] = []
    cumulative = 0.0
    for _ in range(min(k, n_sites)):
        gains = matrix @ remaining
        gains[chosen] = -1.0
        best = int(np.argmax(gains))
        added = float(max(gains[best], 0.0))
        cumulative += added
        steps.append(GreedyStep(site=best, added=added, cumulative=cumulative))
        chosen[best] = True
        newly = matrix.indices[matrix.indptr[best] : matrix.indptr[best + 1]]
        remaining[newly] = 0.0
    return steps


@dataclass(frozen=True)
class MclpResult:
    """Maximal covering solution, with the bound that proves it.

    Attributes
    ----------
    sites
        Positions of the chosen sites (ascending), at most ``k``.
    objective
        Demand weight the chosen sites newly cover (people when weighted by population),
        recomputed from the sites.
    status
        How the answer was reached, starting with ``"Optimal"`` when it is proven optimal.
    mip_gap
        Relative gap ``(upper_bound - objective) / upper_bound`` (0-1); 0 when optimal.
    upper_bound
        Proven upper bound on the optimum, in the units of ``objective``.
    optimal
        Whether ``objective`` is proven optimal (to HiGHS's tolerance of 1e-6).
    free_sites
        Candidates neither ruled in nor out by the Lagrangian bound, left to HiGHS.
    """

    sites: NDArray[np.int64]
    objective: float
    status: str
    mip_gap: float
    upper_bound: float
    optimal: bool
    free_sites: int


#: Most subgradient steps of the Lagrangian bound (about 2 s at 25,000 x 200,000).
_LAGRANGE_STEPS = 300
#: Most candidates handed to HiGHS after fixing: beyond this its root LP can outlast the time
#: limit (it overran 120 s by minutes on 25,000 candidates), so the proven gap is reported.
MAX_MILP_SITES = 5_000


def mclp(
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    k: int,
    *,
    already_covered: NDArray[np.bool_] | None = None,
    time_limit_s: float = 120.0,
) -> MclpResult:
    """Solve the maximal covering location problem exactly.

    maximise   sum_i w_i y_i
    subject to y_i <= sum_j a_ij x_j   (demand i counts only if a chosen site covers it)
               sum_j x_j <= k
               x_j in {0, 1},  0 <= y_i <= 1

    Regional instances (25,000 candidates x 200,000 demand points) are too big for HiGHS
    whole, so the problem is first made smaller without changing its optimum:

    1. Only demand not already covered, of positive weight and coverable enters; demand
       points covered by exactly the same candidates are merged, their weights summed.
    2. A Lagrangian relaxation of the linking rows (Galvao & ReVelle 1996) gives an upper
       bound ``sum_i (w_i - l_i) + (sum of the k largest (A' l)_j)`` for any
       ``0 <= l <= w``, lowered by subgradient steps; greedy and each step's top ``k`` give
       feasible solutions, the best of them a lower bound. If the bounds meet, done.
    3. Reduced-cost fixing: a candidate whose forced entry (or, for one in the top ``k``,
       forced exit) drives the bound below the best solution known is out of (in) every
       optimal solution.
    4. HiGHS (``scipy.optimize.milp``) solves the model over the candidates left, to proven
       optimality within what remains of ``time_limit_s``.

    Parameters
    ----------
    cover
        Sites x demand boolean matrix: site j covers demand point i.
    weights
        Demand weight of every point (people), non-negative.
    k
        Most sites to choose.
    already_covered
        Demand points already covered by existing defibs (they add nothing).
    time_limit_s
        Time allowed, seconds. When it runs out (or more than :data:`MAX_MILP_SITES`
        candidates stay free) the best solution found is returned with its proven gap.

    Returns
    -------
    MclpResult
        The chosen sites, the newly covered weight, the proven upper bound and gap.
    """
    start = time.perf_counter()
    a, w = _open_demand(cover, weights, already_covered)
    k = min(k, cover.shape[0])
    useful = np.flatnonzero(np.diff(sp.csc_matrix(a).indptr) > 0)
    if k <= 0 or w.size == 0:
        found = _Found(np.array([], dtype=np.int64), 0.0, "Optimal: nothing to choose", 0)
    elif useful.size <= k:
        found = _Found(useful, float(w.sum()), "Optimal: every useful candidate fits", 0)
    else:
        a, w = _merge_identical(a, w)
        lag = _lagrangian(a, w, k)
        if lag.upper <= lag.lower + _tol(lag.upper):
            status = "Optimal: the Lagrangian bound meets the best solution"
            found = _Found(lag.sites, lag.upper, status, 0)
        else:
            found = _after_fixing(a, w, k, lag, time_limit_s - (time.perf_counter() - start))
    objective = covered_weight(cover, weights, found.sites, already_covered=already_covered)
    optimal = found.status.startswith("Optimal")
    upper = objective if optimal else max(found.upper, objective)
    gap = (upper - objective) / upper if upper > 0 else 0.0
    return MclpResult(found.sites, objective, found.status, gap, upper, optimal, found.free_sites)


class _Found(NamedTuple):
    """A solution (sites ascending), its proven upper bound, how it was found."""

    sites: NDArray[np.int64]
    upper: float
    status: str
    free_sites: int


def _after_fixing(
    a: sp.csr_matrix, w: NDArray[np.float64], k: int, lag: _Lagrangian, time_left_s: float
) -> _Found:
    """HiGHS on the candidates the Lagrangian bound left free, the fixed ones in place."""
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
        return _Found(ones, float(w[won].sum()), "Optimal: reduced-cost fixing settles it", 0)
    if free.size > MAX_MILP_SITES or time_left_s <= 0:
        status = f"Stopped: {free.size} candidates left after fixing; Lagrangian gap"
        return _Found(lag.sites, lag.upper, status, free.size)
    sub_a, sub_w = _merge_identical(sp.csr_matrix(sub[live]), w[live])
    res = _solve_milp(sub_a, sub_w, k_left, time_limit_s=time_left_s)
    if res.x is None:
        status = f"Stopped: HiGHS found no solution in time ({res.message}); Lagrangian gap"
        return _Found(lag.sites, lag.upper, status, free.size)
    chosen = np.sort(np.r_[ones, free[res.x[: free.size] > 0.5]]).astype(np.int64)
    if res.status == 0:
        status = f"Optimal: HiGHS on {free.size} of {a.shape[1]} candidates after fixing"
        return _Found(chosen, _value(a, w, chosen), status, free.size)
    # the solutions left include every one as good as the best known, so HiGHS's bound on
    # them plus the demand the fixed sites win bounds the optimum as well
    upper = min(lag.upper, float(w[won].sum()) - float(res.mip_dual_bound))
    if _value(a, w, chosen) < lag.lower:
        chosen = lag.sites
    status = f"Stopped: time limit with {free.size} candidates left; HiGHS gap"
    return _Found(chosen, upper, status, free.size)


def _tol(value: float) -> float:
    """Absolute tolerance for comparing bounds of the size of ``value``."""
    return 1e-9 * max(1.0, abs(value))


def _open_demand(
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


def _merge_identical(
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


def _value(a: sp.csr_matrix, w: NDArray[np.float64], sites: NDArray[np.int64]) -> float:
    """Weight of the demand rows of ``a`` that ``sites`` cover."""
    pick = np.zeros(a.shape[1])
    pick[sites] = 1.0
    return float(w[(a @ pick) > 0].sum())


@dataclass(frozen=True)
class _Lagrangian:
    """Bounds from the Lagrangian relaxation, and the candidates they rule in or out."""

    lower: float
    sites: NDArray[np.int64]
    upper: float
    fix_zero: NDArray[np.bool_]
    fix_one: NDArray[np.bool_]


def _lagrangian(a: sp.csr_matrix, w: NDArray[np.float64], k: int) -> _Lagrangian:
    """Subgradient optimisation of the Lagrangian bound, with reduced-cost fixing.

    ``a`` is demand x sites with more sites covering something than ``k``. With multipliers
    ``lam`` the relaxed problem picks the ``k`` sites of largest ``c = a' lam``; forcing a
    site in (out) swaps it for the k-th (k+1-th) largest. Fixes from every step are kept:
    each rules out only solutions worse than the best known, which only improves.
    """
    n_sites = a.shape[1]
    at = sp.csr_matrix(a.T)
    sites = np.array([s.site for s in greedy(at, w, k)], dtype=np.int64)
    lower = _value(a, w, sites)
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
        if bound < upper - _tol(upper if np.isfinite(upper) else bound):
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
        below = lower - _tol(lower)
        kth = float(c[top].min())
        next_best = float(c[~in_top].max()) if n_sites > k else 0.0
        fix_zero |= ~in_top & (bound - kth + c < below)
        fix_one |= in_top & (bound - c + next_best < below)
        if upper - lower <= _tol(upper) or step < 1e-5:
            break
        grad = count - 1.0  # d bound / d lam_i
        norm = float(grad @ grad)
        if norm == 0:
            break
        lam = np.clip(lam - step * (bound - lower) / norm * grad, 0.0, w)
    return _Lagrangian(lower, np.sort(sites), upper, fix_zero, fix_one)


def _solve_milp(
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


def covered_weight(
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    sites: NDArray[np.int64],
    *,
    already_covered: NDArray[np.bool_] | None = None,
) -> float:
    """Demand weight newly covered by a set of sites (not counting already-covered demand)."""
    if len(sites) == 0:
        return 0.0
    hit = np.asarray(sp.csr_matrix(cover)[np.asarray(sites)].sum(axis=0)).ravel() > 0
    if already_covered is not None:
        hit &= ~already_covered
    return float(np.sum(np.asarray(weights, dtype=np.float64)[hit]))


@dataclass(frozen=True)
class SetCoverResult:
    """Fewest sites reaching a coverage target (location set covering)."""

    sites: NDArray[np.int64] | None
    covered: float
    reachable: bool


def set_cover(
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    target: float,
    *,
    already_covered: NDArray[np.bool_] | None = None,
    time_limit_s: float = 120.0,
) -> SetCoverResult:
    """Fewest sites that newly cover at least ``target`` demand weight (Toregas et al. 1971).

    minimise   sum_j x_j
    subject to sum_i w_i y_i >= target,   y_i <= sum_j a_ij x_j,   x binary, 0 <= y <= 1

    With ``target`` equal to all coverable demand this is the classic location set covering
    problem. When even every site together cannot reach the target the result says so
    (``reachable`` False, ``sites`` None) and ``covered`` is the most that can be reached.
    """
    w = np.asarray(weights, dtype=np.float64)
    n_sites = cover.shape[0]
    open_demand = np.ones(cover.shape[1], dtype=bool)
    if already_covered is not None:
        open_demand &= ~already_covered
    matrix = sp.csc_matrix(cover, dtype=np.float64)
    coverable = (np.asarray(matrix.sum(axis=0)).ravel() > 0) & open_demand & (w > 0)
    best = float(w[coverable].sum())
    if target <= 0:
        return SetCoverResult(np.array([], dtype=np.int64), 0.0, reachable=True)
    if target > best + 1e-9:
        return SetCoverResult(None, best, reachable=False)
    rows = np.flatnonzero(coverable)
    a = sp.csr_matrix(matrix[:, rows].T)
    m = rows.size
    c = np.concatenate([np.ones(n_sites), np.zeros(m)])
    link = sp.hstack([-a, sp.identity(m, format="csr")], format="csr")
    goal = sp.csr_matrix(np.concatenate([np.zeros(n_sites), w[rows]])[None, :])
    res = milp(
        c,
        constraints=[
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(goal, target - 1e-9, np.inf),
        ],
        integrality=np.concatenate([np.ones(n_sites), np.zeros(m)]),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": time_limit_s, "mip_rel_gap": 0.0},
    )
    if res.x is None:
        msg = f"HiGHS found no solution to the set covering problem: {res.message}"
        raise OptimisationError(msg)
    chosen = np.flatnonzero(res.x[:n_sites] > 0.5)
    covered = covered_weight(cover, w, chosen, already_covered=already_covered)
    return SetCoverResult(chosen.astype(np.int64), covered, reachable=True)


def coverage_curve(
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    k_max: int,
    *,
    already_covered: NDArray[np.bool_] | None = None,
) -> list[dict[str, float]]:
    """Newly covered weight for k = 0..k_max new sites: greedy and the exact optimum."""
    steps = greedy(cover, weights, k_max, already_covered=already_covered)
    curve = [{"k": 0, "greedy": 0.0, "optimal": 0.0}]
    for k in range(1, min(k_max, cover.shape[0]) + 1):
        exact = mclp(cover, weights, k, already_covered=already_covered)
        curve.append({"k": k, "greedy": steps[k - 1].cumulative, "optimal": exact.objective})
    return curve
