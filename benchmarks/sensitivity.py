"""Sensitivity draws (``defibmap run --sensitivity N``) on a city-sized instance.

    python benchmarks/sensitivity.py                 # 150k-node grid, 600 x 20,000, 1000 draws
    python benchmarks/sensitivity.py --quick         # 30k-node grid, 300 x 5,000, 200 draws

The instance is the spatiotemporal benchmark's (``spatiotemporal.py``: a generated street grid,
candidates, demand points and 300 existing defibs from fixed seeds, four kinds of weekly
hours). The option x demand and defib x demand walks are measured once up to the longest walk
a draw can reach (500 m x 1.2 x 2.3 / 1.79 = 771 m); each draw re-thresholds them, re-weighs
and re-ranks (greedy top 10, and with ``exact`` the exact optimum) over the default ranges.

Three runs of the same draws (same seed): the greedy list alone; the exact optimum as the
draws find it (a Lagrangian certificate skips the solver when the best known set is proven
the only optimum); and the plain per-draw re-solve (``optimise.mclp`` in every draw, as
before the certificate). The last two must give the same counts and figures bit for bit
before their ratio is printed. ``--plain-draws`` sets the draws of the plain run (the
same as ``--draws`` by default). Results go to ``benchmarks/results/sensitivity.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import cases
import numpy as np
from spatiotemporal import week

from defibmap.analysis import reach
from defibmap.analysis import sensitivity as sens
from defibmap.analysis.response_draws import Lognormal

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--draws", type=int)
    parser.add_argument("--plain-draws", type=int, help="draws of the plain re-solve run")
    args = parser.parse_args()
    nodes, n_cand, n_demand, n_defibs, draws = (
        (30_000, 300, 5_000, 100, 200) if args.quick else (150_000, 600, 20_000, 300, 1000)
    )
    draws = args.draws or draws
    t0 = time.perf_counter()
    net = cases.load_network(grid := {"graph": "grid", "nodes": nodes})
    cands = cases.points(net, n_cand, 4)
    demand = cases.points(net, n_demand, 6)
    defibs = cases.points(net, n_defibs, 2)
    w = cases.weights(len(demand))
    ranges = sens.Ranges(
        walking_speed_m_s=(1.4, 2.3),
        threshold_factor=(0.8, 1.2),
        unknown_hours=(0.0, 1.0),
        second_bystander=(0.25, 0.75),
        ambulance_factor=(0.9, 1.5),
        demand_weight_cv=0.2,
    )
    limit = sens.max_walk_m(500.0, ranges, 1.79)
    t1 = time.perf_counter()
    options = reach.pair_distances(net, cands, demand, limit_m=limit)
    current = reach.pair_distances(net, defibs, demand, limit_m=limit)
    t2 = time.perf_counter()
    base_week = week(len(defibs), 21)
    inst = sens.Instance(
        options=options,
        option_hours=week(len(cands), 22),
        current=current,
        current_hours=base_week,
        current_strict=base_week,
        stations=None,
        weights=np.asarray(w, dtype=np.float64),
        population=np.asarray(w, dtype=np.float64),
        headline_m=500.0,
        rank_m=500.0,
        speed_m_s=1.79,
        objective="available",
        k=10,
        term_weeks=39,
        ambulance=Lognormal.from_mean_p90(420.0, 900.0),
        fixed_s=90.0,
        central_second_bystander=0.5,
    )
    ids = np.array([f"c{i:04d}" for i in range(n_cand)])
    rows = []
    found = {}
    plain_draws = args.plain_draws or draws
    for name, exact, n in (
        ("greedy", False, draws),
        ("exact", True, draws),
        ("exact_plain", True, plain_draws),
    ):
        load = os.getloadavg()[0]
        start, cpu = time.perf_counter(), time.process_time()
        found[name] = sens.run(
            inst, ids, ranges=ranges, draws=n, seed=1, exact=exact, certify=name == "exact"
        )
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
        rows.append(
            {
                "run": name,
                "draws": n,
                "seconds": seconds,
                "seconds_per_draw": seconds / n,
                "cpu_seconds": cpu,
                "load_average_1min_before": load,
                "solver_calls": found[name].solver_calls,
                "top_k_sum": sum(found[name].top_k_count.values()),
                "options_ever_in_top_k": len(found[name].top_k_count),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    fast, plain = found["exact"], found["exact_plain"]
    if plain_draws == draws:
        # the same answers before any ratio
        assert fast.top_k_count == plain.top_k_count
        assert fast.optimal_count == plain.optimal_count
        assert np.array_equal(fast.figures, plain.figures)
        print(f"same counts and figures; plain / fast = {plain.seconds / fast.seconds:.2f}x")
    out = {
        "graph": grid,
        "candidates": n_cand,
        "demand_points": n_demand,
        "existing_defibs": n_defibs,
        "max_walk_m": limit,
        "option_pairs": int(options.walk_m.size),
        "defib_pairs": int(current.walk_m.size),
        "setup_s": t1 - t0,
        "pair_search_s": t2 - t1,
        "rows": rows,
        "same_answers": plain_draws == draws,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(json.dumps(out, indent=1))
    name = "sensitivity_quick.json" if args.quick else "sensitivity.json"
    (HERE / "results" / name).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
