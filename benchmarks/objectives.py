"""The new objectives at scale (issue 18, target 4): spatiotemporal, budgeted and survival MCLP.

    python benchmarks/objectives.py            # 150k nodes, 600 x 20k; 1.5M nodes, 25k x 200k
    python benchmarks/objectives.py --quick    # 30k nodes, 300 x 5k; 400k nodes, 5k x 50k
    python benchmarks/objectives.py --no-big   # skip the region-sized rows

The city instance is the exact-MCLP benchmark's (``cases.py``: a generated street grid,
candidates, demand points and existing defibs from fixed seeds, whole-number people) with the
four kinds of weekly hours of ``spatiotemporal.py`` (5 availability patterns). Walks are
counted to 500 m. Rows:

- spatiotemporal MCLP: ``time_slices.expand`` + ``optimise.mclp`` against spopt's ``MCLP``
  (CBC) on the same expanded model stated as a weighted MCLP: one demand row per (point,
  pattern) not yet covered, weight people x the pattern's share of the year, covered by the
  candidates usable in that pattern and within reach. Objectives asserted equal (1e-6
  relative) before the ratio.
- budgeted MCLP: ``optimise.mclp_budget`` against HiGHS (``scipy.optimize.milp``) on the
  plain full model (every open demand point a row, a knapsack row). spopt has no budget
  constraint, so it cannot state this model.
- survival (gradual coverage): ``survival.exact`` on ``survival.gain_matrix``, checked against
  ``survival.greedy`` (exact >= greedy) and against a separately written plain assignment
  MILP in HiGHS (``y_j`` binary, one ``x_ij <= y_j`` per pair, ``sum_j x_ij <= 1``,
  ``sum_j y_j <= k``). spopt's models count a point as covered or not, so they cannot state
  gradual coverage either.
- the region rows: each objective on the large instance with a 60 s limit, its proven gap
  and time. Each solve runs in a forked child with a hard wall-clock cap (HiGHS can overrun
  its own limit on models this size), so a solve that does not return is reported as such.

Times are the best of ``--repeat`` runs of the solve alone (stating spopt's model is inside
its time, as in ``run.py``); walk searches, the expansion and the gain matrix are set-up,
reported apart. Results go to ``benchmarks/results/objectives.json`` (``objectives_quick.json``
with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import time
from pathlib import Path

import cases
import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from spatiotemporal import best_of, week

from defibmap import defaults
from defibmap.analysis import optimise, reach, survival, time_slices
from defibmap.analysis import response_draws as rd
from defibmap.analysis.ranking import year_share

HERE = Path(__file__).resolve().parent
THRESHOLD_M = 500.0
TERM_WEEKS = 39
REL = 1e-6


def assumptions() -> rd.DrawAssumptions:
    """The time model with defibmap's defaults (as a study without overrides)."""
    return rd.DrawAssumptions(
        ambulance=rd.Lognormal.from_mean_p90(defaults.AMBULANCE_MEAN_S, defaults.AMBULANCE_P90_S),
        walking_speed=rd.Lognormal.from_median_sigma(
            defaults.WALKING_SPEED_M_S, defaults.WALKING_SPEED_SIGMA
        ),
        recognition_s=defaults.RECOGNITION_S,
        second_bystander=defaults.SECOND_BYSTANDER,
        fire_available=defaults.FIRE_AVAILABLE,
        cabinet_s=defaults.CABINET_S,
        locked_cabinet_extra_s=defaults.LOCKED_CABINET_EXTRA_S,
        draws=defaults.RESPONSE_DRAWS,
        seed=defaults.RESPONSE_SEED,
    )


def instance(nodes: int, n_cand: int, n_demand: int, n_defibs: int, cache: Path | None) -> dict:
    """Network, points, walks, cover matrices, patterns, costs and the survival gains."""
    t0 = time.perf_counter()
    net = cases.load_network({"graph": "grid", "nodes": nodes}, cache)
    cands = cases.points(net, n_cand, 4)
    demand = cases.points(net, n_demand, 6)
    defibs = cases.points(net, n_defibs, 2)
    w = cases.weights(n_demand)
    t1 = time.perf_counter()
    pairs = reach.pair_distances(net, cands, demand, limit_m=THRESHOLD_M)
    base = reach.pair_distances(net, defibs, demand, limit_m=THRESHOLD_M)
    cover = sp.csr_matrix(pairs.cover_matrix(THRESHOLD_M))
    base_cover = base.cover_matrix(THRESHOLD_M)
    t2 = time.perf_counter()
    base_week, cand_week = week(n_defibs, 21), week(n_cand, 22)
    found = time_slices.patterns(base_week.then(cand_week), "available", term_weeks=TERM_WEEKS)
    model = time_slices.expand(cover, base_cover, w, found)
    t3 = time.perf_counter()
    a = assumptions()
    base_usable = year_share(base_week, TERM_WEEKS)
    cand_usable = year_share(cand_week, TERM_WEEKS)
    base_value = survival.pair_values(
        base.walk_m, base.demand, base_usable[base.site], np.zeros(base.site.size), assumptions=a
    )
    best_now = np.zeros(n_demand)
    np.maximum.at(best_now, base.demand, base_value)
    value = survival.pair_values(
        pairs.walk_m,
        pairs.demand,
        cand_usable[pairs.site],
        np.zeros(pairs.site.size),
        assumptions=a,
    )
    gain = survival.gain_matrix((pairs.site, pairs.demand, value), best_now, w, n_cand)
    t4 = time.perf_counter()
    costs = np.random.default_rng(31).integers(1, 6, n_cand).astype(np.float64)
    return {
        "sizes": {
            "nodes": int(net.n_nodes),
            "candidates": n_cand,
            "demand_points": n_demand,
            "existing_defibs": n_defibs,
            "cover_pairs": int(cover.nnz),
            "patterns": int(model.patterns),
            "pattern_shares": [round(float(s), 6) for s in found.share],
            "expanded_rows": int(model.weights.size),
            "survival_gain_pairs": int(gain.nnz),
            "setup_s": round(t1 - t0, 3),
            "walk_search_s": round(t2 - t1, 3),
            "expand_s": round(t3 - t2, 3),
            "gain_matrix_s": round(t4 - t3, 3),
        },
        "w": w,
        "cover": cover,
        "plain_already": np.asarray(base_cover.sum(axis=0)).ravel() > 0,
        "model": model,
        "gain": gain,
        "costs": costs,
    }


def equal(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(a), abs(b))


# --------------------------------------------------------------------------------------------
# the other sides
# --------------------------------------------------------------------------------------------


def spopt_expanded(model: time_slices.Expanded, k: int) -> dict:
    """spopt's weighted MCLP (CBC) on the open (point, pattern) rows of the expanded model."""
    import pulp
    from spopt.locate import MCLP

    cover = sp.csc_matrix(model.cover)
    rows = np.flatnonzero(~model.already & (model.weights > 0) & (np.diff(cover.indptr) > 0))
    covered = cover[:, rows].T.toarray()  # open rows x candidates
    # spopt takes a dense cost matrix: 0 where the candidate covers the row, beyond reach else
    cost = np.where(covered, 0.0, 2.0 * THRESHOLD_M)
    w = model.weights[rows]
    del covered

    def run() -> dict:
        m = MCLP.from_cost_matrix(cost, w, THRESHOLD_M, k).solve(pulp.PULP_CBC_CMD(msg=False))
        chosen = [j for j in range(cost.shape[1]) if m.fac_vars[j].value() > 0.5]
        return {
            "objective": float(pulp.value(m.problem.objective)),
            "sites": chosen,
            "status": pulp.LpStatus[m.problem.status],
        }

    return {"rows": int(rows.size), "run": run}


def highs_budget_full(
    cover: sp.csr_matrix, w: np.ndarray, already: np.ndarray, costs: np.ndarray, budget: float
) -> dict:
    """HiGHS on the plain budgeted model: every open, coverable demand point a row."""
    matrix = sp.csc_matrix(cover, dtype=np.float64)
    rows = np.flatnonzero((np.diff(matrix.indptr) > 0) & (w > 0) & ~already)
    a = sp.csr_matrix(matrix[:, rows].T)
    m, n = a.shape
    res = milp(
        np.r_[np.zeros(n), -w[rows]],
        constraints=[
            LinearConstraint(sp.hstack([-a, sp.identity(m)], format="csr"), -np.inf, 0.0),
            LinearConstraint(sp.csr_matrix(np.r_[costs, np.zeros(m)][None, :]), -np.inf, budget),
        ],
        integrality=np.r_[np.ones(n), np.zeros(m)],
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": 600.0, "mip_rel_gap": 0.0},
    )
    chosen = np.flatnonzero(res.x[:n] > 0.5)
    return {
        "objective": optimise.covered_weight(cover, w, chosen, already_covered=already),
        "sites": chosen.tolist(),
        "status": str(res.message),
        "cost": float(costs[chosen].sum()),
    }


def highs_assignment(gain: sp.csr_matrix, k: int) -> dict:
    """The plain assignment MILP of gradual coverage, written apart from ``survival.exact``."""
    g = sp.coo_matrix(gain)
    n, p = g.shape[0], g.nnz
    pair = np.arange(p)
    # columns: y_0..y_{n-1}, then x_pair; x_pair - y_site <= 0
    link = sp.coo_matrix(
        (np.r_[np.ones(p), -np.ones(p)], (np.r_[pair, pair], np.r_[n + pair, g.row])),
        shape=(p, n + p),
    ).tocsr()
    one = sp.coo_matrix((np.ones(p), (g.col, n + pair)), shape=(g.shape[1], n + p)).tocsr()
    card = sp.csr_matrix(np.r_[np.ones(n), np.zeros(p)][None, :])
    res = milp(
        np.r_[np.zeros(n), -g.data],
        constraints=[
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(one, -np.inf, 1.0),
            LinearConstraint(card, -np.inf, k),
        ],
        integrality=np.r_[np.ones(n), np.zeros(p)],
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": 600.0, "mip_rel_gap": 0.0},
    )
    chosen = np.flatnonzero(res.x[:n] > 0.5)
    return {
        "objective": survival.total_gain(gain, chosen),
        "sites": chosen.tolist(),
        "status": str(res.message),
    }


# --------------------------------------------------------------------------------------------
# rows
# --------------------------------------------------------------------------------------------


def spatiotemporal_row(inst: dict, k: int, repeat: int, spopt_repeat: int) -> dict:
    model = inst["model"]
    ours_s, ours = best_of(
        repeat, lambda: optimise.mclp(model.cover, model.weights, k, already_covered=model.already)
    )
    t = time.perf_counter()
    side = spopt_expanded(model, k)
    spopt_setup = time.perf_counter() - t
    theirs_s, theirs = best_of(spopt_repeat, side["run"])
    theirs_obj = optimise.covered_weight(
        model.cover, model.weights, np.asarray(theirs["sites"]), already_covered=model.already
    )
    assert ours.optimal, ours.status
    # the same objective before any ratio (CBC's own value and the recomputed one)
    assert equal(ours.objective, theirs["objective"]), (ours.objective, theirs["objective"])
    assert equal(ours.objective, theirs_obj), (ours.objective, theirs_obj)
    return {
        "row": "spatiotemporal MCLP vs spopt MCLP (CBC) on the expanded demand",
        "k": k,
        "defibmap_s": ours_s,
        "spopt_s": theirs_s,
        "ratio": theirs_s / ours_s,
        "spopt_rows": side["rows"],
        "spopt_dense_matrix_s": spopt_setup,
        "objective": ours.objective,
        "spopt_objective": theirs["objective"],
        "defibmap_status": ours.status,
        "spopt_status": theirs["status"],
        "same_sites": sorted(ours.sites.tolist()) == sorted(theirs["sites"]),
    }


def budget_row(inst: dict, budget: float, repeat: int) -> dict:
    cover, w, already, costs = inst["cover"], inst["w"], inst["plain_already"], inst["costs"]
    ours_s, ours = best_of(
        repeat,
        lambda: optimise.mclp_budget(cover, w, costs, budget, already_covered=already),
    )
    theirs_s, theirs = best_of(repeat, lambda: highs_budget_full(cover, w, already, costs, budget))
    greedy = optimise.greedy_budget(cover, w, costs, budget, already_covered=already)
    assert ours.optimal, ours.status
    assert float(costs[ours.sites].sum()) <= budget + 1e-9
    assert equal(ours.objective, theirs["objective"]), (ours.objective, theirs["objective"])
    return {
        "row": "budgeted MCLP vs HiGHS on the plain full model (spopt has no budget form)",
        "budget": budget,
        "site_costs": "whole numbers 1-5",
        "defibmap_s": ours_s,
        "highs_full_s": theirs_s,
        "ratio": theirs_s / ours_s,
        "objective": ours.objective,
        "highs_objective": theirs["objective"],
        "greedy_objective": greedy[-1].cumulative if greedy else 0.0,
        "sites_chosen": int(ours.sites.size),
        "cost_spent": float(costs[ours.sites].sum()),
        "defibmap_status": ours.status,
        "highs_status": theirs["status"],
    }


def survival_row(inst: dict, k: int, repeat: int) -> dict:
    gain = inst["gain"]
    ours_s, ours = best_of(repeat, lambda: survival.exact(gain, k))
    greedy_s, steps = best_of(repeat, lambda: survival.greedy(gain, k))
    greedy_obj = survival.total_gain(gain, [s.site for s in steps])
    check_s, check = best_of(1, lambda: highs_assignment(gain, k))
    assert ours.optimal, ours.status
    assert ours.objective >= greedy_obj - REL * max(1.0, greedy_obj), (ours.objective, greedy_obj)
    assert equal(ours.objective, check["objective"]), (ours.objective, check["objective"])
    return {
        "row": "survival (gradual coverage) exact vs greedy and a plain assignment MILP (HiGHS)",
        "k": k,
        "defibmap_s": ours_s,
        "greedy_s": greedy_s,
        "plain_assignment_highs_s": check_s,
        "objective_survivors": ours.objective,
        "greedy_objective_survivors": greedy_obj,
        "plain_assignment_objective": check["objective"],
        "defibmap_status": ours.status,
        "plain_assignment_status": check["status"],
    }


# --------------------------------------------------------------------------------------------
# region-sized rows: a hard wall-clock cap per solve
# --------------------------------------------------------------------------------------------


def _child(fn, queue) -> None:
    start = time.perf_counter()
    out = fn()
    queue.put((time.perf_counter() - start, out))


def capped(fn, cap_s: float):
    """Run ``fn`` in a forked child; ``(seconds, result)`` or ``(None, None)`` past ``cap_s``."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, queue))
    proc.start()
    try:
        return queue.get(timeout=cap_s)
    except Exception:  # noqa: BLE001 - queue.Empty: the child did not finish in time
        return None, None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()


def survival_bound(gain: sp.csr_matrix, k: int) -> float:
    """A simple valid upper bound: every point its best option, or the k best options alone."""
    g = sp.csr_matrix(gain)
    every_best = float(np.asarray(g.max(axis=0).todense()).sum())
    single = np.asarray(g.sum(axis=1)).ravel()
    k_best = float(np.sort(single)[::-1][:k].sum())
    return min(every_best, k_best)


def submodular_bound(gain: sp.csr_matrix, sites: list[int], k: int) -> float:
    """The least over greedy's prefixes ``S`` of ``f(S) + (k largest marginal gains on S)``.

    Gradual coverage (each point takes its best option's gain) is monotone submodular, so for
    any set ``S`` and the optimum ``O``: ``f(O) <= f(S) + sum_{j in O} (f(S + j) - f(S))``
    (Nemhauser, Wolsey & Fisher 1978; used as an online bound by Leskovec et al., KDD 2007).
    """
    g = sp.csr_matrix(gain)
    n = g.shape[0]
    row_of = np.repeat(np.arange(n), np.diff(g.indptr))
    best = np.zeros(g.shape[1])
    bound = np.inf
    for t in range(len(sites) + 1):
        marginal = np.bincount(
            row_of, weights=np.maximum(0.0, g.data - best[g.indices]), minlength=n
        )
        bound = min(bound, float(best.sum()) + float(np.sort(marginal)[::-1][:k].sum()))
        if t < len(sites):
            lo, hi = g.indptr[sites[t]], g.indptr[sites[t] + 1]
            cols = g.indices[lo:hi]
            best[cols] = np.maximum(best[cols], g.data[lo:hi])
    return bound


def lagrangian_bound(gain: sp.csr_matrix, k: int, lower: float, steps: int = 300) -> float:
    """Upper bound on the k-option optimum from relaxing ``sum_j x_ij <= 1`` (multipliers l).

    ``L(l) = sum_i l_i + (sum of the k largest v_j)``, ``v_j = sum_i max(0, g_ij - l_i)``, is
    an upper bound for every ``l >= 0`` (the relaxed model splits by option); subgradient
    steps (Polyak's step toward ``lower``, the best solution known) lower it, as
    ``optimise.mclp`` does for the covering model.
    """
    g = sp.csr_matrix(gain)
    n = g.shape[0]
    row_of = np.repeat(np.arange(n), np.diff(g.indptr))
    top = np.zeros(g.shape[1])
    np.maximum.at(top, g.indices, g.data)
    lam = np.zeros(g.shape[1])
    best, mu, stale = np.inf, 2.0, 0
    for _ in range(steps):
        excess = np.maximum(0.0, g.data - lam[g.indices])
        v = np.bincount(row_of, weights=excess, minlength=n)
        chosen = np.argpartition(-v, k - 1)[:k] if k < n else np.arange(n)
        value = float(lam.sum()) + float(v[chosen].sum())
        if value < best - 1e-12:
            best, stale = value, 0
        else:
            stale += 1
            if stale >= 10:
                mu, stale = mu / 2.0, 0
        picked = np.zeros(n, dtype=bool)
        picked[chosen] = True
        use = picked[row_of] & (excess > 0)
        sub = 1.0 - np.bincount(g.indices[use], minlength=g.shape[1])
        norm = float(sub @ sub)
        if norm == 0.0 or best - lower <= 1e-9 * best:
            break
        lam = np.clip(lam - mu * (value - lower) / norm * sub, 0.0, top)
    return best


def big_rows(inst: dict, k: int, budget: float, limit_s: float, cap_s: float) -> list[dict]:
    model, gain = inst["model"], inst["gain"]
    cover, w, already, costs = inst["cover"], inst["w"], inst["plain_already"], inst["costs"]
    rows = []
    for name, fn in (
        (
            "spatiotemporal MCLP",
            lambda: optimise.mclp(
                model.cover, model.weights, k, already_covered=model.already, time_limit_s=limit_s
            ),
        ),
        (
            "budgeted MCLP",
            lambda: optimise.mclp_budget(
                cover, w, costs, budget, already_covered=already, time_limit_s=limit_s
            ),
        ),
    ):
        seconds, res = capped(fn, cap_s)
        row = {"row": name, "k": k, "budget": budget if "budget" in name else None}
        if res is None:
            row.update({"seconds": None, "status": f"did not return within {cap_s:.0f} s"})
        else:
            row.update(
                {
                    "seconds": seconds,
                    "objective": res.objective,
                    "upper_bound": res.upper_bound,
                    "proven_gap": res.mip_gap,
                    "optimal": res.optimal,
                    "status": res.status,
                }
            )
        rows.append(row)
        print(json.dumps(row), flush=True)
    start = time.perf_counter()
    steps = survival.greedy(gain, k)
    greedy_s = time.perf_counter() - start
    greedy_obj = survival.total_gain(gain, [s.site for s in steps])
    start = time.perf_counter()
    online = submodular_bound(gain, [s.site for s in steps], k)
    online_s = time.perf_counter() - start
    simple = survival_bound(gain, k)
    start = time.perf_counter()
    lagrange = lagrangian_bound(gain, k, greedy_obj)
    lagrange_s = time.perf_counter() - start
    bound = min(simple, online, lagrange)
    seconds, res = capped(lambda: survival.exact(gain, k, time_limit_s=limit_s), cap_s)
    row = {
        "row": "survival (gradual coverage)",
        "k": k,
        "greedy_s": greedy_s,
        "greedy_objective": greedy_obj,
        "simple_upper_bound": simple,
        "submodular_upper_bound": online,
        "submodular_bound_s": online_s,
        "lagrangian_upper_bound": lagrange,
        "lagrangian_bound_s": lagrange_s,
        "greedy_proven_gap": (bound - greedy_obj) / bound if bound > 0 else 0.0,
    }
    if res is None:
        row.update({"seconds": None, "status": f"did not return within {cap_s:.0f} s"})
    else:
        best = max(res.objective, greedy_obj)
        # the bounds are proven: an optimum above them would be a bug in one or the other
        assert res.objective <= bound + REL * max(1.0, bound), (res.objective, bound)
        row.update(
            {
                "seconds": seconds,
                "objective": res.objective,
                "optimal": res.optimal,
                "status": res.status,
                "proven_gap": 0.0 if res.optimal else (bound - best) / bound,
            }
        )
    rows.append(row)
    print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-big", action="store_true", help="skip the region-sized rows")
    parser.add_argument("--no-city", action="store_true", help="only the region-sized rows")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spopt-repeat", type=int, default=1)
    parser.add_argument("--cache", type=Path, help="saved network (.npz) of the region grid")
    parser.add_argument("--cap", type=float, default=240.0, help="wall-clock cap per big solve")
    args = parser.parse_args()
    city = (30_000, 300, 5_000, 100) if args.quick else (150_000, 600, 20_000, 300)
    big = (400_000, 5_000, 50_000, 1_000) if args.quick else (1_500_000, 25_000, 200_000, 3_000)
    out: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_start": os.getloadavg(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "threshold_m": THRESHOLD_M,
    }
    if not args.no_city:
        inst = instance(*city, cache=None)
        out["city"] = inst["sizes"]
        print(json.dumps(inst["sizes"]), flush=True)
        rows = []
        for row in (
            spatiotemporal_row(inst, 10, args.repeat, args.spopt_repeat),
            budget_row(inst, 30.0, args.repeat),
            survival_row(inst, 10, args.repeat),
        ):
            row["load_average"] = os.getloadavg()[0]
            print(json.dumps(row), flush=True)
            rows.append(row)
        out["city_rows"] = rows
        del inst
    if not args.no_big:
        inst = instance(*big, cache=args.cache)
        out["big"] = inst["sizes"]
        print(json.dumps(inst["sizes"]), flush=True)
        out["big_rows"] = big_rows(inst, 50, 150.0, 60.0, args.cap)
    out["load_average_end"] = os.getloadavg()
    name = "objectives_quick.json" if args.quick else "objectives.json"
    (HERE / "results" / name).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
