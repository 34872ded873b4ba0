"""Choose new defib sites: greedy marginal gain and the exact maximal covering optimum.

The Maximal Covering Location Problem (Church & ReVelle 1974) picks ``k`` candidate sites to
maximise the demand newly brought within the threshold, with the existing defibs fixed. It is
solved exactly as a mixed-integer programme with HiGHS (``scipy.optimize.milp``). The greedy
order (each step takes the site adding the most still-uncovered demand; within 1 - 1/e of the
optimum) gives the readable "site 1 adds X people, site 2 adds Y" list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

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
    """Exact maximal covering solution."""

    sites: NDArray[np.int64]
    objective: float
    status: str
    mip_gap: float


def mclp(
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    k: int,
    *,
    already_covered: NDArray[np.bool_] | None = None,
    time_limit_s: float = 120.0,
) -> MclpResult:
    """Solve the maximal covering location problem exactly with HiGHS.

    maximise   sum_i w_i y_i
    subject to y_i <= sum_j a_ij x_j   (demand i counts only if a chosen site covers it)
               sum_j x_j <= k
               x_j in {0, 1},  0 <= y_i <= 1

    ``y`` may be continuous: with binary ``x`` an optimal ``y`` is 0 or 1. Only demand not
    already covered and coverable by some candidate enters the model.

    Returns
    -------
    MclpResult
        The chosen sites (positions), the objective in people (recomputed from the chosen
        sites), HiGHS' status message and its final relative MIP gap.
    """
    n_sites = cover.shape[0]
    w = np.asarray(weights, dtype=np.float64)
    open_demand = np.ones(cover.shape[1], dtype=bool)
    if already_covered is not None:
        open_demand &= ~already_covered
    matrix = sp.csc_matrix(cover, dtype=np.float64)
    coverable = np.asarray(matrix.sum(axis=0)).ravel() > 0
    rows = np.flatnonzero(open_demand & coverable & (w > 0))
    if k <= 0 or n_sites == 0 or rows.size == 0:
        return MclpResult(np.array([], dtype=np.int64), 0.0, "trivial", 0.0)
    a = sp.csr_matrix(matrix[:, rows].T)  # demand x sites
    m = rows.size
    c = np.concatenate([np.zeros(n_sites), -w[rows]])
    link = sp.hstack([-a, sp.identity(m, format="csr")], format="csr")
    budget = sp.csr_matrix(np.concatenate([np.ones(n_sites), np.zeros(m)])[None, :])
    constraints = [
        LinearConstraint(link, -np.inf, 0.0),
        LinearConstraint(budget, -np.inf, float(k)),
    ]
    integrality = np.concatenate([np.ones(n_sites), np.zeros(m)])
    res = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": time_limit_s, "mip_rel_gap": 0.0},
    )
    if res.x is None:
        msg = f"HiGHS found no solution to the maximal covering problem: {res.message}"
        raise OptimisationError(msg)
    chosen = np.flatnonzero(res.x[:n_sites] > 0.5)
    objective = covered_weight(cover, w, chosen, already_covered=already_covered)
    gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
    return MclpResult(chosen.astype(np.int64), objective, str(res.message), gap)


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
