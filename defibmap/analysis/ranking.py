"""Rank candidate buildings for new 24/7 outside defibs (greedy order and exact optimum)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap.analysis import optimise, reach

if TYPE_CHECKING:
    from collections.abc import Iterator

    import geopandas as gpd
    import scipy.sparse as sp
    from numpy.typing import NDArray

    from defibmap.network.snapping import Snapped
    from defibmap.network.walk import Network

__all__ = ["METHOD", "Ranking", "RankingDemand", "rank_sites"]

#: How the ranking is found, as reported in ``summary.json``.
METHOD = "greedy marginal gain; exact maximal covering (MILP, HiGHS via scipy.optimize.milp)"


@dataclass(frozen=True, eq=False)
class Ranking:
    """Candidate buildings ranked for new 24/7 outside defibs: greedy order and exact optimum.

    Attributes
    ----------
    recommendations
        The ``recommendations.csv`` rows, greedy order, ``min(new_sites, candidates)`` rows.
    cover
        Candidates x demand cover matrix (sparse, boolean) at ``threshold_m``.
    method
        How the ranking was found (text).
    new_sites
        Number of new sites asked for.
    threshold_m
        The ranking walk, metres (rounded).
    candidates
        Number of candidate buildings.
    greedy_population_added, optimal_population_added
        People newly within ``threshold_m`` with the greedy and the optimal set.
    greedy_objective, optimal_objective
        The maximised weight (people, or deprivation-weighted people) of each set.
    gap_objective, gap_share
        Optimum minus greedy objective, absolute and as a share (0-1) of the optimum.
    optimal_site_ids
        The optimal set's ``site_id`` s, sorted.
    solver_status
        The exact solver's status message.
    population_covered_before
        People already within ``threshold_m`` of a baseline defib.
    baseline, weight
        The study's baseline and weighting (``None`` outside a study).
    """

    recommendations: pd.DataFrame
    cover: sp.csr_matrix
    method: str
    new_sites: int
    threshold_m: int
    candidates: int
    greedy_population_added: float
    optimal_population_added: float
    greedy_objective: float
    optimal_objective: float
    gap_objective: float
    gap_share: float
    optimal_site_ids: tuple[str, ...]
    solver_status: str
    population_covered_before: float
    baseline: str | None = None
    weight: str | None = None

    def info(self) -> dict[str, object]:
        """Return the figures (everything but the table and the matrix) by name."""
        skip = {"recommendations", "cover"}
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        out["optimal_site_ids"] = list(self.optimal_site_ids)
        if self.baseline is None:
            del out["baseline"]
        if self.weight is None:
            del out["weight"]
        return out

    def __getitem__(self, key: str) -> object:
        """Return a figure by its ``summary.json`` name (``ranking["gap_share"]``)."""
        if key in {"recommendations", "cover"} or not hasattr(self, key):
            raise KeyError(key)
        return self.info()[key]

    def __iter__(self) -> Iterator[object]:
        """Unpack as the old ``(table, info, cover)`` tuple; deprecated, read the attributes."""
        warnings.warn(
            "unpacking rank_sites() as (table, info, cover) is deprecated: read the "
            "attributes of the returned Ranking (recommendations, cover, gap_share...)",
            DeprecationWarning,
            stacklevel=2,
        )
        return iter((self.recommendations, self.info(), self.cover))


@dataclass(frozen=True, eq=False)
class RankingDemand:
    """The residents a ranking serves: where they are, how many, and their walk today.

    Attributes
    ----------
    snapped
        The demand points snapped to the walking network.
    population
        People at each demand point.
    walk_m
        Each demand point's walk in metres to the baseline's nearest defib (NaN: none within
        the search limit).
    weights
        What the ranking maximises per demand point (for example deprivation-weighted
        people); ``None`` maximises ``population``.
    """

    snapped: Snapped
    population: NDArray[np.float64]
    walk_m: NDArray[np.float64]
    weights: NDArray[np.float64] | None = None


def rank_sites(
    network: Network,
    demand: RankingDemand,
    *,
    candidates: gpd.GeoDataFrame,
    candidates_snapped: Snapped,
    new_sites: int,
    threshold_m: float,
) -> Ranking:
    """Rank candidate buildings for ``new_sites`` new 24/7 outside defibs.

    Greedy marginal gain gives the ordered list (ties to the lowest ``site_id``: candidates
    must come sorted by id); the exact maximal covering optimum (HiGHS) is reported beside it.
    Both maximise ``demand.weights`` (default: population) newly within ``threshold_m`` of a
    defib, ``demand.walk_m`` being each demand point's walk to the baseline's nearest defib;
    the table always counts people.

    Parameters
    ----------
    network
        The walking network.
    demand
        The demand points, their people, walks today and weights.
    candidates
        Candidate buildings indexed by ``site_id`` (sorted), with a ``name`` column.
    candidates_snapped
        The candidates snapped to ``network``, in the same order.
    new_sites
        Number of new sites to rank.
    threshold_m
        The ranking walk, metres.

    Returns
    -------
    Ranking
        The ``recommendations.csv`` rows, the figures of the greedy and the optimal set and the
        candidates x demand cover matrix at ``threshold_m``. Unpacking it as the old
        ``(table, info, cover)`` tuple still works for one release, with a
        :class:`DeprecationWarning`.
    """
    population = demand.population
    w = population if demand.weights is None else demand.weights
    pairs = reach.pair_distances(network, candidates_snapped, demand.snapped, limit_m=threshold_m)
    cover = pairs.cover_matrix(threshold_m)
    covered_now = reach.covered(demand.walk_m, threshold_m)
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
    return Ranking(
        recommendations=table,
        cover=cover,
        method=METHOD,
        new_sites=int(new_sites),
        threshold_m=round(threshold_m),
        candidates=len(candidates),
        greedy_population_added=greedy_added,
        optimal_population_added=optimal_added,
        greedy_objective=greedy_objective,
        optimal_objective=exact.objective,
        gap_objective=exact.objective - greedy_objective,
        gap_share=(exact.objective - greedy_objective) / exact.objective
        if exact.objective > 0
        else 0.0,
        optimal_site_ids=tuple(sorted(optimal_ids)),
        solver_status=exact.status,
        population_covered_before=base,
    )
