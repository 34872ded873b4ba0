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
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from defibmap._errors import OptimisationError
from defibmap.analysis import _mclp, _swap

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


#: Most candidates handed to HiGHS after fixing: beyond this its root LP can outlast the time
#: limit (it overran 120 s by minutes on 25,000 candidates), so the proven gap is reported.
MAX_MILP_SITES = 5_000
#: Share of ``time_limit_s`` the 1-swap local search may use before the Lagrangian bound
#: (Assumption: it converges in about 1 s at 5,000 x 50,000 with k = 500).
_SWAP_SHARE = 0.1


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
       feasible solutions, the best of them a lower bound. If the bounds meet, done. The
       greedy start is first improved by 1-swaps (one chosen site for one other, while that
       covers more), which matters at high ``k`` where greedy leaves a few per cent.
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
    a, w = _mclp.open_demand(cover, weights, already_covered)
    k = min(k, cover.shape[0])
    useful = np.flatnonzero(np.diff(sp.csc_matrix(a).indptr) > 0)
    if k <= 0 or w.size == 0:
        found = _mclp.Found(np.array([], dtype=np.int64), 0.0, "Optimal: nothing to choose", 0)
    elif useful.size <= k:
        found = _mclp.Found(useful, float(w.sum()), "Optimal: every useful candidate fits", 0)
    else:
        a, w = _mclp.merge_identical(a, w)
        first = greedy(sp.csr_matrix(a.T), w, k)
        start_sites = np.array([s.site for s in first], dtype=np.int64)
        # a better start raises the lower bound, so the Lagrangian fixes more candidates
        start_sites = _swap.improve(a, w, start_sites, time_limit_s=_SWAP_SHARE * time_limit_s)
        lag = _mclp.lagrangian(a, w, k, start_sites=start_sites)
        if lag.upper <= lag.lower + _mclp.tol(lag.upper):
            status = "Optimal: the Lagrangian bound meets the best solution"
            found = _mclp.Found(lag.sites, lag.upper, status, 0)
        else:
            time_left_s = time_limit_s - (time.perf_counter() - start)
            found = _mclp.after_fixing(a, w, k, lag, time_left_s, max_sites=MAX_MILP_SITES)
    objective = covered_weight(cover, weights, found.sites, already_covered=already_covered)
    optimal = found.status.startswith("Optimal")
    upper = objective if optimal else max(found.upper, objective)
    gap = (upper - objective) / upper if upper > 0 else 0.0
    return MclpResult(found.sites, objective, found.status, gap, upper, optimal, found.free_sites)


def greedy_budget(
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    costs: NDArray[np.float64],
    budget: float,
    *,
    already_covered: NDArray[np.bool_] | None = None,
) -> list[GreedyStep]:
    """Readable order within a budget: gain-per-cost greedy, or the best single site if better.

    Each step takes, among the sites that still fit the budget left, the one adding the most
    still-uncovered demand per unit cost (a free site first; ties to the larger gain, then the
    lower position), until no affordable site adds anything. The best single affordable site
    replaces that order when it alone covers more (Khuller, Moss & Naor, "The budgeted maximum
    coverage problem", Information Processing Letters, 1999, 70(1):39-45). No 1 - 1/e
    guarantee holds for this order.

    Parameters
    ----------
    cover
        Sites x demand boolean matrix.
    weights
        Demand weight of every point, non-negative.
    costs
        Cost of every site (same unit as ``budget``), non-negative.
    budget
        Most the chosen sites may cost together.
    already_covered
        Demand points already covered by existing defibs (they add nothing).

    Returns
    -------
    list of GreedyStep
        The chosen sites in order, with their gains; positive gains only.
    """
    n_sites = cover.shape[0]
    remaining = np.asarray(weights, dtype=np.float64).copy()
    if already_covered is not None:
        remaining[already_covered] = 0.0
    matrix = sp.csr_matrix(cover, dtype=np.float64)
    c = np.asarray(costs, dtype=np.float64)
    first_gains = matrix @ remaining if n_sites else np.zeros(0)
    chosen = np.zeros(n_sites, dtype=bool)
    left = float(budget)
    steps: list[GreedyStep] = []
    cumulative = 0.0
    while True:
        gains = matrix @ remaining if n_sites else np.zeros(0)
        fits = ~chosen & (c <= left + _mclp.tol(left)) & (gains > 0)
        if not fits.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(c > 0, gains / np.where(c > 0, c, 1.0), np.inf)
        options = np.flatnonzero(fits)
        # lexsort: last key first; position breaks the final tie (lowest first)
        best = int(options[np.lexsort((options, -gains[options], -ratio[options]))[0]])
        added = float(gains[best])
        cumulative += added
        steps.append(GreedyStep(site=best, added=added, cumulative=cumulative))
        chosen[best] = True
        left -= float(c[best])
        remaining[matrix.indices[matrix.indptr[best] : matrix.indptr[best + 1]]] = 0.0
    affordable = np.flatnonzero(c <= budget + _mclp.tol(budget))
    if affordable.size:
        single = int(affordable[np.argmax(first_gains[affordable])])
        gain = float(first_gains[single])
        if gain > cumulative + _mclp.tol(cumulative):
            return [GreedyStep(site=single, added=gain, cumulative=gain)]
    return steps


def mclp_budget(
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    costs: NDArray[np.float64],
    budget: float,
    *,
    already_covered: NDArray[np.bool_] | None = None,
    time_limit_s: float = 120.0,
) -> MclpResult:
    """Solve the budgeted maximal covering problem exactly (HiGHS on merged demand rows).

    maximise   sum_i w_i y_i
    subject to y_i <= sum_j a_ij x_j,   sum_j c_j x_j <= budget,   x binary, 0 <= y <= 1

    Demand already covered, of zero weight or not coverable is dropped and demand points
    covered by the same sites are merged (exact); the knapsack row replaces the count of
    :func:`mclp`, whose Lagrangian reductions assume a count.

    Parameters
    ----------
    cover
        Sites x demand boolean matrix.
    weights
        Demand weight of every point, non-negative.
    costs
        Cost of every site, non-negative (same unit as ``budget``).
    budget
        Most the chosen sites may cost together.
    already_covered
        Demand points already covered by existing defibs.
    time_limit_s
        Time allowed, seconds; when it runs out the best solution found is returned with
        HiGHS's proven gap.

    Returns
    -------
    MclpResult
    """
    a, w = _mclp.open_demand(cover, weights, already_covered)
    c = np.asarray(costs, dtype=np.float64)
    if w.size == 0 or not (c <= budget).any():
        sites = np.array([], dtype=np.int64)
        return MclpResult(
            sites, 0.0, "Optimal: nothing to choose", 0.0, 0.0, optimal=True, free_sites=0
        )
    a, w = _mclp.merge_identical(a, w)
    res = _mclp.solve_budget_milp(a, w, c, float(budget), time_limit_s=time_limit_s)
    if res.x is None:
        msg = f"HiGHS found no solution to the budgeted covering problem: {res.message}"
        raise OptimisationError(msg)
    sites = np.flatnonzero(res.x[: c.size] > 0.5).astype(np.int64)
    objective = covered_weight(cover, weights, sites, already_covered=already_covered)
    optimal = res.status == 0
    upper = objective if optimal else max(-float(res.mip_dual_bound), objective)
    gap = (upper - objective) / upper if upper > 0 else 0.0
    status = (
        f"Optimal: HiGHS on {w.size} merged demand rows within the budget"
        if optimal
        else f"Stopped: {res.message}; HiGHS gap"
    )
    return MclpResult(sites, objective, status, gap, upper, optimal, int(c.size))


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
