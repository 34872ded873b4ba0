"""PROPOSAL for ``defibmap.optimise.mclp`` at regional scale (not used by the package yet).

On a 25,000-candidate x 200,000-demand instance (2.3 million cover pairs) HiGHS on the full
MILP does not finish its root LP within 2 minutes, so ``optimise.mclp`` returns no solution.
This keeps HiGHS as the exact solver but hands it a much smaller, equivalent problem:

1. Demand points covered by exactly the same candidates are merged (weights summed). Exact.
2. Lagrangian relaxation of the linking rows ``y_i <= sum_j a_ij x_j`` (Galvao & ReVelle 1996):
   ``UB(lam) = sum_i (w_i - lam_i) + (sum of the k largest (A lam)_j)`` for ``0 <= lam <= w``
   is an upper bound for every ``lam``; projected subgradient steps lower it. Each step's top-k
   set is a feasible solution, and greedy gives another: the best is the lower bound ``LB``.
3. Reduced-cost fixing: a candidate outside the top k whose forced entry gives a bound below
   ``LB`` cannot be in any optimal solution (``x_j = 0``); likewise a top-k candidate whose
   removal gives a bound below ``LB`` is in all of them (``x_j = 1``). Exact.
4. HiGHS solves the MILP over the free candidates (and the demand they reach) to optimality.

The answer is exact (proven optimal) whenever step 4 finishes, as in optimise.mclp; the
reported gap is against the Lagrangian bound otherwise. Pure numpy/scipy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp


@dataclass(frozen=True)
class Result:
    sites: np.ndarray
    objective: float
    upper_bound: float
    gap: float
    status: str
    free_candidates: int
    rows: int


def _merge_identical(d: sp.csr_matrix, w: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Merge demand rows with the same set of candidates, summing their weights."""
    d = d.copy()
    d.sort_indices()
    rng = np.random.default_rng(0)
    h1 = d @ rng.random(d.shape[1])
    h2 = d @ rng.random(d.shape[1])
    count = np.diff(d.indptr)
    order = np.lexsort((h2, h1, count))
    key = np.c_[count[order], h1[order], h2[order]]
    new = np.r_[True, np.any(key[1:] != key[:-1], axis=1)]
    group = np.cumsum(new) - 1
    rep = order[new]
    # verify the hash grouping exactly: every row equals its group's first row
    reps_of_rows = rep[group]
    a = d[order]
    b = d[reps_of_rows]
    if (a != b).nnz:  # pragma: no cover - a 2^-100 hash collision
        return d, w
    return sp.csr_matrix(d[rep]), np.bincount(group, weights=w[order])


def _value(d: sp.csr_matrix, w: np.ndarray, chosen: np.ndarray) -> float:
    pick = np.zeros(d.shape[1])
    pick[chosen] = 1.0
    return float(w[(d @ pick) > 0].sum())


def _greedy(d: sp.csc_matrix, w: np.ndarray, k: int) -> np.ndarray:
    remaining = w.copy()
    sites = d.T.tocsr()
    chosen = []
    for _ in range(k):
        gains = sites @ remaining
        gains[chosen] = -1
        best = int(np.argmax(gains))
        chosen.append(best)
        remaining[sites.indices[sites.indptr[best] : sites.indptr[best + 1]]] = 0.0
    return np.array(chosen, dtype=np.int64)


def mclp(
    cover: sp.csr_matrix,
    weights: np.ndarray,
    k: int,
    *,
    already_covered: np.ndarray | None = None,
    time_limit_s: float = 120.0,
    iterations: int = 300,
    max_free: int = 5_000,
) -> Result:
    n_sites = cover.shape[0]
    w_all = np.asarray(weights, dtype=np.float64)
    csc = sp.csc_matrix(cover, dtype=np.float64)
    open_demand = np.ones(cover.shape[1], dtype=bool)
    if already_covered is not None:
        open_demand &= ~already_covered
    coverable = np.diff(csc.indptr) > 0
    rows = np.flatnonzero(open_demand & coverable & (w_all > 0))
    k = min(k, n_sites)
    if k <= 0 or rows.size == 0:
        return Result(np.array([], np.int64), 0.0, 0.0, 0.0, "trivial", 0, 0)
    d, w = _merge_identical(sp.csr_matrix(csc[:, rows].T), w_all[rows])  # demand x sites
    dt = sp.csr_matrix(d.T)  # sites x demand

    # lower bound: greedy
    best_sites = _greedy(sp.csc_matrix(d), w, k)
    lb = _value(d, w, best_sites)
    # Lagrangian upper bound by projected subgradient
    # lam = w: the bound is the sum of the k largest single-site coverages, already tight
    # when the best sites barely overlap (small k on a large area)
    lam = w.copy()
    ub = np.inf
    best_lam = lam.copy()
    theta = 2.0
    stall = 0
    for _ in range(iterations):
        c = dt @ lam
        top = np.argpartition(-c, k - 1)[:k]
        bound = float((w - lam).sum() + c[top].sum())
        if bound < ub - 1e-9:
            ub, best_lam, stall = bound, lam.copy(), 0
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2.0, 0
        pick = np.zeros(n_sites)
        pick[top] = 1.0
        count = d @ pick
        value = float(w[count > 0].sum())
        if value > lb:
            lb, best_sites = value, top.copy()
        if ub - lb <= 1e-9 * max(1.0, ub) or theta < 1e-5:
            break
        grad = count - 1.0  # d UB / d lam_i = count_i - 1
        norm = float(grad @ grad)
        if norm == 0:
            break
        lam = np.clip(lam - theta * (bound - lb) / norm * grad, 0.0, w)
    if ub - lb <= 1e-9 * max(1.0, ub):
        return Result(np.sort(best_sites), lb, ub, 0.0, "optimal (Lagrangian bound met)", 0, 0)

    # reduced-cost fixing at the best multipliers
    c = dt @ best_lam
    order = np.argsort(-c, kind="stable")
    kth, next_ = c[order[k - 1]], (c[order[k]] if n_sites > k else 0.0)
    base = float((w - best_lam).sum() + c[order[:k]].sum())
    in_top = np.zeros(n_sites, dtype=bool)
    in_top[order[:k]] = True
    margin = lb - 1e-9 * max(1.0, lb)
    zero = ~in_top & (base - kth + c < margin)
    one = in_top & (base - c + next_ < margin)
    free = np.flatnonzero(~zero & ~one)
    ones = np.flatnonzero(one)
    # demand already won by the forced sites leaves the model; the rest only if free sites reach it
    pick = np.zeros(n_sites)
    pick[ones] = 1.0
    won = (d @ pick) > 0
    sub = sp.csr_matrix(d[:, free])
    live = ~won & (np.diff(sub.indptr) > 0)
    a = sp.csr_matrix(sub[live])
    wl = w[live]
    k_left = k - ones.size
    if free.size > max_free:
        # too few candidates fixed for HiGHS to finish in time (it overruns its time limit
        # in the root LP at this size): report the best solution and its proven gap
        return Result(
            np.sort(best_sites),
            lb,
            ub,
            (ub - lb) / ub,
            "gap (Lagrangian bound)",
            free.size,
            a.shape[0],
        )
    if k_left <= 0 or a.shape[0] == 0 or free.size == 0:
        chosen = ones
    else:
        m, f = a.shape
        res = milp(
            np.r_[np.zeros(f), -wl],
            constraints=[
                LinearConstraint(sp.hstack([-a, sp.identity(m)], format="csr"), -np.inf, 0.0),
                LinearConstraint(
                    sp.csr_matrix(np.r_[np.ones(f), np.zeros(m)][None, :]), -np.inf, k_left
                ),
            ],
            integrality=np.r_[np.ones(f), np.zeros(m)],
            bounds=Bounds(0.0, 1.0),
            options={"time_limit": time_limit_s, "mip_rel_gap": 0.0},
        )
        if res.x is None:
            chosen = best_sites
        else:
            chosen = np.r_[ones, free[res.x[:f] > 0.5]].astype(np.int64)
            if res.status == 0:
                value = _value(d, w, chosen)
                return Result(
                    np.sort(chosen),
                    value,
                    value,
                    0.0,
                    "optimal (HiGHS on the reduced problem)",
                    free.size,
                    a.shape[0],
                )
    value = _value(d, w, chosen)
    if value < lb:
        chosen, value = best_sites, lb
    return Result(
        np.sort(chosen), value, ub, (ub - value) / ub, "time limit", free.size, a.shape[0]
    )
