"""Rank candidate buildings for new 24/7 outside defibs (greedy order and exact optimum)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from defibmap.analysis import optimise, reach

if TYPE_CHECKING:
    import geopandas as gpd

    from defibmap.network.snapping import Snapped
    from defibmap.network.walk import Network


def rank_sites(
    network: Network,
    *,
    demand_snapped: Snapped,
    population: np.ndarray,
    walk_m: np.ndarray,
    candidates: gpd.GeoDataFrame,
    candidates_snapped: Snapped,
    new_sites: int,
    threshold_m: float,
    weights: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], Any]:
    """Rank candidate buildings for ``new_sites`` new 24/7 outside defibs.

    Greedy marginal gain gives the ordered list (ties to the lowest ``site_id``: candidates
    must come sorted by id); the exact maximal covering optimum (HiGHS) is reported beside it.
    Both maximise ``weights`` (default: population) newly within ``threshold_m`` of a defib,
    ``walk_m`` being each demand point's walk to the baseline's nearest defib; the table
    always counts people.

    Returns
    -------
    tuple of (DataFrame, dict, sparse matrix)
        The ``recommendations.csv`` rows, the ``ranking`` summary and the candidates x demand
        cover matrix at ``threshold_m``.
    """
    w = population if weights is None else weights
    pairs = reach.pair_distances(network, candidates_snapped, demand_snapped, limit_m=threshold_m)
    cover = pairs.cover_matrix(threshold_m)
    covered_now = np.nan_to_num(walk_m, nan=np.inf) <= threshold_m
    total = float(population.sum())
    base = float(population[covered_now].sum())
    steps = optimise.greedy(cover, w, new_sites, already_covered=covered_now)
    exact = optimise.mclp(cover, w, new_sites, already_covered=covered_now)
    optimal_ids = set(candidates.index[exact.sites].astype(str))
    wgs = candidates.to_crs(4326) if len(candidates) else candidates
    rows = []
    chosen: list[int] = []
    previous = 0.0
    for rank, step in enumerate(steps, start=1):
        chosen.append(step.site)
        people = optimise.covered_weight(
            cover, population, np.array(chosen, dtype=np.int64), already_covered=covered_now
        )
        site = candidates.index[step.site]
        rows.append(
            {
                "rank": rank,
                "site_id": str(site),
                "name": str(candidates["name"].iloc[step.site]),
                "lon": float(wgs.geometry.x.iloc[step.site]),
                "lat": float(wgs.geometry.y.iloc[step.site]),
                "added_population": people - previous,
                "cumulative_population_covered": base + people,
                "cumulative_coverage_share": (base + people) / total if total > 0 else 0.0,
                "method": "greedy",
                "in_optimal_set": str(site) in optimal_ids,
            }
        )
        previous = people
    columns = [
        "rank",
        "site_id",
        "name",
        "lon",
        "lat",
        "added_population",
        "cumulative_population_covered",
        "cumulative_coverage_share",
        "method",
        "in_optimal_set",
    ]
    table = pd.DataFrame(rows, columns=columns)
    greedy_added = previous
    optimal_added = optimise.covered_weight(
        cover, population, exact.sites, already_covered=covered_now
    )
    greedy_objective = steps[-1].cumulative if steps else 0.0
    ranking = {
        "method": (
            "greedy marginal gain; exact maximal covering (MILP, HiGHS via scipy.optimize.milp)"
        ),
        "new_sites": int(new_sites),
        "threshold_m": round(threshold_m),
        "candidates": len(candidates),
        "greedy_population_added": greedy_added,
        "optimal_population_added": optimal_added,
        "greedy_objective": greedy_objective,
        "optimal_objective": exact.objective,
        "gap_objective": exact.objective - greedy_objective,
        "gap_share": (exact.objective - greedy_objective) / exact.objective
        if exact.objective > 0
        else 0.0,
        "optimal_site_ids": sorted(optimal_ids),
        "solver_status": exact.status,
        "population_covered_before": base,
    }
    return table, ranking, cover
