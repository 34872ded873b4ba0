"""The spatiotemporal maximal covering model against the plain one, on the same instance.

    python benchmarks/spatiotemporal.py            # 150k-node city grid, 600 x 20,000
    python benchmarks/spatiotemporal.py --quick    # 30k-node grid, 300 x 5,000

The instance is the exact-MCLP benchmark's (``cases.py``: a generated street grid, candidates
and demand points from fixed seeds, whole-number people) plus 300 existing defibs. Every site
(existing or candidate) gets one of four weekly hours: 24/7, Mo-Fr 09:00-17:00 every week, a
school's Mo-Fr 08:00-16:00 in the 39 term weeks only, or Sa 10:00-16:00; over a term and a
holiday week these give 5 availability patterns. The spatiotemporal model (demand point x
pattern rows, :mod:`defibmap.analysis.time_slices`) is solved by ``optimise.mclp`` to proven
optimality; the plain model counts every site at every hour. Its objective is checked against
HiGHS on the whole expanded model (no merging, no Lagrangian fixing).

Times are the best of ``--repeat`` runs of the solve alone (the walk search that builds the
cover matrices and the expansion are reported apart). Results go to
``benchmarks/results/spatiotemporal.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import cases
import numpy as np
import scipy.sparse as sp

from defibmap.analysis import optimise, reach, time_slices
from defibmap.analysis.time_slices import Week

HERE = Path(__file__).resolve().parent
HOURS = 168


def _hours(days: range, start: int, end: int) -> np.ndarray:
    out = np.zeros(HOURS, dtype=bool)
    for d in days:
        out[d * 24 + start : d * 24 + end] = True
    return out


#: (term week, holiday week) of each kind of site
TEMPLATES = [
    (np.ones(HOURS, dtype=bool), np.ones(HOURS, dtype=bool)),  # outside cabinet, 24/7
    (_hours(range(5), 9, 17), _hours(range(5), 9, 17)),  # office hours, every week
    (_hours(range(5), 8, 16), np.zeros(HOURS, dtype=bool)),  # school, term only
    (_hours(range(5, 6), 10, 16), _hours(range(5, 6), 10, 16)),  # Saturday only
]


def week(n: int, seed: int) -> Week:
    kind = np.random.default_rng(seed).integers(0, len(TEMPLATES), n)
    kind[: len(TEMPLATES)] = np.arange(len(TEMPLATES))  # every kind present
    term = np.array([TEMPLATES[k][0] for k in kind], dtype=bool)
    holiday = np.array([TEMPLATES[k][1] for k in kind], dtype=bool)
    return Week(term, holiday)


def best_of(repeat: int, fn):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def full_highs(model: time_slices.Expanded, k: int) -> float:
    """HiGHS on the whole expanded model (open rows only, nothing merged or fixed)."""
    w = np.where(model.already, 0.0, model.weights)
    return float(cases.full_model_mclp(model.cover, w, k)["objective"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    nodes, n_cand, n_demand, n_defibs = (
        (30_000, 300, 5_000, 100) if args.quick else (150_000, 600, 20_000, 300)
    )
    t0 = time.perf_counter()
    net = cases.load_network(cases_grid := {"graph": "grid", "nodes": nodes})
    cands = cases.points(net, n_cand, 4)
    demand = cases.points(net, n_demand, 6)
    defibs = cases.points(net, n_defibs, 2)
    w = cases.weights(len(demand))
    threshold = 500.0
    t1 = time.perf_counter()
    cover = reach.pair_distances(net, cands, demand, limit_m=threshold).cover_matrix(threshold)
    base = reach.pair_distances(net, defibs, demand, limit_m=threshold).cover_matrix(threshold)
    t2 = time.perf_counter()
    base_week, cand_week = week(len(defibs), 21), week(len(cands), 22)
    found = time_slices.patterns(base_week.then(cand_week), "available", term_weeks=39)
    model = time_slices.expand(cover, base, w, found)
    t3 = time.perf_counter()
    assert model.patterns == 5, model.patterns
    plain_already = np.asarray(base.sum(axis=0)).ravel() > 0
    rows = []
    for k in (10, 50):
        timed_s, timed = best_of(
            args.repeat,
            lambda k=k: optimise.mclp(model.cover, model.weights, k, already_covered=model.already),
        )
        plain_s, plain = best_of(
            args.repeat,
            lambda k=k: optimise.mclp(sp.csr_matrix(cover), w, k, already_covered=plain_already),
        )
        check = full_highs(model, k)
        assert timed.optimal, timed.status
        assert abs(check - timed.objective) < 1e-6 * max(1.0, check), (check, timed.objective)
        rows.append(
            {
                "k": k,
                "spatiotemporal_s": timed_s,
                "plain_s": plain_s,
                "ratio": timed_s / plain_s,
                "spatiotemporal_status": timed.status,
                "spatiotemporal_objective": timed.objective,
                "full_highs_objective": check,
                "plain_status": plain.status,
                "same_sites_as_plain": sorted(timed.sites) == sorted(plain.sites),
            }
        )
    out = {
        "graph": cases_grid,
        "candidates": n_cand,
        "demand_points": n_demand,
        "existing_defibs": n_defibs,
        "patterns": int(model.patterns),
        "pattern_shares": [round(float(s), 6) for s in found.share],
        "expanded_rows": int(model.weights.size),
        "setup_s": t1 - t0,
        "cover_search_s": t2 - t1,
        "expand_s": t3 - t2,
        "rows": rows,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(json.dumps(out, indent=1))
    name = "spatiotemporal_quick.json" if args.quick else "spatiotemporal.json"
    (HERE / "results" / name).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
