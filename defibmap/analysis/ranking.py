"""Rank the options for new defibs (greedy order and exact optimum), by what is available.

An option is a candidate building for a new cabinet (24/7 outside unless its row says it is
indoors, then usable in its opening hours) or an existing indoor defib moved to an outside
24/7 cabinet (an *upgrade*, id ``upgrade:<defib id>``). The ranking maximises the demand
weight within the walk of a usable defib: over the year's hours (``"available"``, the
spatiotemporal model of :mod:`defibmap.analysis.time_slices`), at night (``"night"``) or at
any time (``"any"``, every defib counted at every hour). With costs and a budget the exact
model keeps within the budget instead of a number of sites.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from defibmap._errors import InputError
from defibmap.analysis import optimise, reach, time_slices
from defibmap.analysis.time_slices import Expanded, Week
from defibmap.defaults import DEFAULT_SCHOOL_TERM_WEEKS

if TYPE_CHECKING:
    from collections.abc import Iterator

    import geopandas as gpd
    from numpy.typing import NDArray

    from defibmap.network.snapping import Snapped
    from defibmap.network.walk import Network

__all__ = [
    "HUB_CABINET",
    "HUB_PREFIX",
    "METHOD",
    "NEW_CABINET",
    "STATION_CABINET",
    "STATION_PREFIX",
    "UPGRADE",
    "UPGRADE_PREFIX",
    "Ranking",
    "RankingDemand",
    "RankingRules",
    "rank_sites",
]

#: How the ranking is found, as reported in ``summary.json``.
METHOD = "greedy marginal gain; exact maximal covering (MILP, HiGHS via scipy.optimize.milp)"
#: The same over availability patterns (Sun et al. 2016), as reported in ``summary.json``.
METHOD_TIMED = (
    "spatiotemporal maximal covering (demand x availability pattern, Sun et al. 2016): "
    "greedy marginal gain; exact optimum (MILP, HiGHS via scipy.optimize.milp)"
)
#: Within a budget (Khuller, Moss & Naor 1999), as reported in ``summary.json``.
METHOD_BUDGET = (
    "budgeted maximal covering: the better of gain-per-cost greedy and the best single "
    "affordable site; exact optimum within the budget (MILP with a knapsack row, HiGHS)"
)
#: ``option`` of a candidate building: a new cabinet.
NEW_CABINET = "new cabinet"
#: ``option`` of an existing indoor defib moved to an outside 24/7 cabinet.
UPGRADE = "upgrade to outside 24/7"
#: Id prefix of an upgrade option (``upgrade:<defib id>``).
UPGRADE_PREFIX = "upgrade:"
#: The option of a station without an outside defib given one: an outside 24/7 cabinet on
#: its wall, and its id prefix (``station:<station id>``).
STATION_CABINET = "outside cabinet at a station"
STATION_PREFIX = "station:"
#: The option of an ambulance hub without a public defib given one: a 24/7 cabinet at the
#: staffed hub, and its id prefix (``hub:<hub id>``).
HUB_CABINET = "public cabinet at an ambulance hub"
HUB_PREFIX = "hub:"


@dataclass(frozen=True, eq=False)
class Ranking:
    """Options ranked for new defibs: greedy order and exact optimum.

    Attributes
    ----------
    recommendations
        The ``recommendations.csv`` rows, greedy order, ``min(new_sites, candidates)`` rows.
    cover
        Options x demand cover matrix (sparse, boolean) at ``threshold_m``, every site
        counted at every hour.
    method
        How the ranking was found (text).
    new_sites
        Number of new sites asked for.
    threshold_m
        The ranking walk, metres (rounded).
    candidates
        Number of options weighed (candidate buildings and upgrades).
    greedy_population_added, optimal_population_added
        People newly within ``threshold_m`` with the greedy and the optimal set.
    greedy_objective, optimal_objective
        The maximised weight (people, or deprivation-weighted people; times the share of
        the year for ``"available"``) of each set.
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
    objective
        What the ranking maximises: ``"available"``, ``"night"`` or ``"any"``.
    patterns
        Distinct availability patterns of the model (1 for ``"night"`` and ``"any"``).
    upgrades
        Options that are upgrades of existing defibs (counted in ``candidates``).
    budget
        The budget the chosen options keep within (``None``: ``new_sites`` options).
    greedy_cost, optimal_cost
        What the greedy and the optimal set cost (``None`` without costs).
    greedy_people_available_added, optimal_people_available_added
        People x share of the year newly within ``threshold_m`` of a usable defib.
    model
        The covering model the ranking solved (options x demand-pattern rows).
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
    objective: str = "any"
    patterns: int = 1
    upgrades: int = 0
    budget: float | None = None
    greedy_cost: float | None = None
    optimal_cost: float | None = None
    greedy_people_available_added: float = 0.0
    optimal_people_available_added: float = 0.0
    model: Expanded | None = None

    def info(self) -> dict[str, object]:
        """Return the figures (everything but the table and the matrix) by name."""
        skip = {"recommendations", "cover", "model"}
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        out["optimal_site_ids"] = list(self.optimal_site_ids)
        if self.baseline is None:
            del out["baseline"]
        if self.weight is None:
            del out["weight"]
        return out

    def __getitem__(self, key: str) -> object:
        """Return a figure by its ``summary.json`` name (``ranking["gap_share"]``)."""
        if key in {"recommendations", "cover", "model"} or not hasattr(self, key):
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


@dataclass(frozen=True)
class RankingRules:
    """What a ranking counts and what it may spend.

    Attributes
    ----------
    objective
        ``"available"`` (weight x share of the year within the walk of a usable defib),
        ``"night"`` (sites usable through 00:00-06:00 every day, term and holiday) or
        ``"any"`` (every defib usable at every hour).
    baseline_sites
        Where the baseline's defibs join the network; ``None`` counts the baseline as
        24/7 (``demand.walk_m`` alone decides what it covers).
    baseline_hours
        The baseline defibs' usability, in the order of ``baseline_sites``.
    term_weeks
        School term weeks a year (weights the term and the holiday week).
    budget
        Most the chosen options may cost together (``candidates["cost"]``); ``None`` ranks
        ``new_sites`` options.
    """

    objective: time_slices.Objective = "any"
    baseline_sites: Snapped | None = None
    baseline_hours: Week | None = None
    term_weeks: int = DEFAULT_SCHOOL_TERM_WEEKS
    budget: float | None = None


def _model(
    network: Network,
    demand: RankingDemand,
    cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    hours: Week,
    rules: RankingRules,
    objective: time_slices.Objective,
    threshold_m: float,
) -> Expanded:
    """Build the covering model of one objective: options x (demand point, pattern) rows."""
    covered_now = reach.covered(demand.walk_m, threshold_m)
    if objective == "any" or rules.baseline_sites is None:
        # the baseline as one pseudo-site, usable at every hour, covering what walk_m says
        base_cover = sp.csr_matrix(covered_now[None, :])
        base_week = Week.always(1)
    else:
        pairs = reach.pair_distances(
            network, rules.baseline_sites, demand.snapped, limit_m=threshold_m
        )
        base_cover = pairs.cover_matrix(threshold_m)
        base_week = rules.baseline_hours or Week.always(base_cover.shape[0])
    if objective == "any":
        found = time_slices.patterns(
            base_week.then(Week.always(cover.shape[0])), "any", term_weeks=rules.term_weeks
        )
    else:
        found = time_slices.patterns(base_week.then(hours), objective, term_weeks=rules.term_weeks)
    model = time_slices.expand(cover, base_cover, weights, found)
    if objective == "any":
        # today's rule exactly: covered now is what the baseline walk says
        model = replace(model, already=covered_now)
    return model


def _costs(candidates: gpd.GeoDataFrame, budget: float | None) -> NDArray[np.float64] | None:
    """Each option's cost (``cost`` column), or None; every cost known when there is a budget."""
    if "cost" not in candidates.columns:
        if budget is not None and len(candidates):
            msg = "a budget needs a cost for every option: the candidates have no cost column"
            raise InputError(msg)
        return None
    costs: NDArray[np.float64] = pd.to_numeric(candidates["cost"], errors="coerce").to_numpy(
        dtype=np.float64
    )
    bad = ~np.isfinite(costs) | (costs < 0)
    if budget is None and np.isnan(costs).all():
        return None
    if budget is not None and bad.any():
        first = int(np.flatnonzero(bad)[0])
        row = (
            f"candidates row {candidates['source_row'].iloc[first]} "
            if "source_row" in candidates.columns
            else ""
        )
        msg = (
            f"{row}(site {candidates.index[first]!r}): column 'cost' must be a finite number "
            f">= 0 when a budget is set, got {candidates['cost'].iloc[first]!r}"
        )
        raise InputError(msg)
    return costs


def _option_names(candidates: gpd.GeoDataFrame) -> list[str]:
    """Each option's kind: ``option`` column, else every option a new cabinet."""
    if "option" not in candidates.columns:
        return [NEW_CABINET] * len(candidates)
    return [str(v) if isinstance(v, str) else NEW_CABINET for v in candidates["option"]]


def _order(
    model: Expanded, k: int, costs: NDArray[np.float64] | None, budget: float | None
) -> tuple[list[optimise.GreedyStep], optimise.MclpResult]:
    """Find the greedy order and the exact optimum (by count, or within the budget)."""
    if budget is not None and costs is not None:
        steps = optimise.greedy_budget(
            model.cover, model.weights, costs, budget, already_covered=model.already
        )
        exact = optimise.mclp_budget(
            model.cover, model.weights, costs, budget, already_covered=model.already
        )
        return steps, exact
    steps = optimise.greedy(model.cover, model.weights, k, already_covered=model.already)
    exact = optimise.mclp(model.cover, model.weights, k, already_covered=model.already)
    return steps, exact


def rank_sites(
    network: Network,
    demand: RankingDemand,
    *,
    candidates: gpd.GeoDataFrame,
    candidates_snapped: Snapped,
    new_sites: int,
    threshold_m: float,
    hours: Week | None = None,
    rules: RankingRules | None = None,
) -> Ranking:
    """Rank the options for ``new_sites`` new defibs (or as many as a budget buys).

    Greedy marginal gain gives the ordered list (ties to the lowest ``site_id``: candidates
    must come sorted by id); the exact optimum (HiGHS) is reported beside it. Both maximise
    ``demand.weights`` (default: population) newly within ``threshold_m`` of a usable defib,
    counted as ``rules.objective`` says (default ``"any"``: every defib at every hour, the
    baseline's nearest being ``demand.walk_m``). The table always counts people:
    ``added_population`` newly within the walk at any time, ``added_people_available``
    people x share of the year newly within the walk of a usable defib.

    Parameters
    ----------
    network
        The walking network.
    demand
        The demand points, their people, walks today and weights.
    candidates
        Options indexed by ``site_id`` (sorted), with a ``name`` column; optional ``option``
        (:data:`NEW_CABINET` or :data:`UPGRADE`) and ``cost`` columns.
    candidates_snapped
        The candidates snapped to ``network``, in the same order.
    new_sites
        Number of new sites to rank (without a budget).
    threshold_m
        The ranking walk, metres.
    hours
        The options' usability (default: every option 24/7).
    rules
        The objective, the baseline's hours and the budget (default: any time, no budget).

    Returns
    -------
    Ranking
        The ``recommendations.csv`` rows, the figures of the greedy and the optimal set and the
        candidates x demand cover matrix at ``threshold_m``. Unpacking it as the old
        ``(table, info, cover)`` tuple still works for one release, with a
        :class:`DeprecationWarning`.
    """
    rules = rules or RankingRules()
    hours = hours or Week.always(len(candidates))
    population = demand.population
    w = population if demand.weights is None else demand.weights
    pairs = reach.pair_distances(network, candidates_snapped, demand.snapped, limit_m=threshold_m)
    cover = pairs.cover_matrix(threshold_m)
    covered_now = reach.covered(demand.walk_m, threshold_m)
    costs = _costs(candidates, rules.budget)

    def model_of(objective: time_slices.Objective, weights: NDArray[np.float64]) -> Expanded:
        return _model(network, demand, cover, weights, hours, rules, objective, threshold_m)

    model = model_of(rules.objective, w)
    same = rules.objective == "available" and np.array_equal(w, population)
    year = model if same else model_of("available", population)
    steps, exact = _order(model, new_sites, costs, rules.budget)
    sets = _Sets(cover, covered_now, population, year, costs)
    table = _table(candidates, steps, exact, sets, budget=rules.budget)
    greedy_sites = np.array([s.site for s in steps], dtype=np.int64)
    greedy_objective = steps[-1].cumulative if steps else 0.0
    gap = exact.objective - greedy_objective
    if abs(gap) <= 1e-9 * max(1.0, abs(exact.objective)):
        gap = 0.0  # the same set summed in another order
    method = (
        METHOD_BUDGET
        if rules.budget is not None
        else METHOD
        if rules.objective == "any"
        else METHOD_TIMED
    )
    return Ranking(
        recommendations=table,
        cover=cover,
        method=method,
        new_sites=int(new_sites),
        threshold_m=round(threshold_m),
        candidates=len(candidates),
        greedy_population_added=sets.people(greedy_sites),
        optimal_population_added=sets.people(exact.sites),
        greedy_objective=greedy_objective,
        optimal_objective=exact.objective,
        gap_objective=gap,
        gap_share=gap / exact.objective if exact.objective > 0 else 0.0,
        optimal_site_ids=tuple(sorted(str(s) for s in candidates.index[exact.sites])),
        solver_status=exact.status,
        population_covered_before=float(population[covered_now].sum()),
        objective=rules.objective,
        patterns=model.patterns,
        upgrades=sum(o == UPGRADE for o in _option_names(candidates)),
        budget=rules.budget,
        greedy_cost=sets.cost(greedy_sites),
        optimal_cost=sets.cost(exact.sites),
        greedy_people_available_added=sets.people_available(greedy_sites),
        optimal_people_available_added=sets.people_available(exact.sites),
        model=model,
    )


@dataclass(frozen=True)
class _Sets:
    """What a set of options adds, in people (any time, and people x share of the year)."""

    cover: sp.csr_matrix
    covered_now: NDArray[np.bool_]
    population: NDArray[np.float64]
    year: Expanded
    costs: NDArray[np.float64] | None

    def people(self, sites: NDArray[np.int64]) -> float:
        """People newly within the walk (any time)."""
        return optimise.covered_weight(
            self.cover, self.population, sites, already_covered=self.covered_now
        )

    def people_available(self, sites: NDArray[np.int64]) -> float:
        """People x share of the year newly within the walk of a usable defib."""
        return optimise.covered_weight(
            self.year.cover,
            self.year.row_values(self.population),
            sites,
            already_covered=self.year.already,
        )

    def cost(self, sites: NDArray[np.int64]) -> float | None:
        """Return what the options cost together (None without costs)."""
        if self.costs is None:
            return None
        return float(np.nansum(self.costs[sites])) if len(sites) else 0.0


_COLUMNS = [
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
    "option",
    "added_people_available",
]


def _table(
    candidates: gpd.GeoDataFrame,
    steps: list[optimise.GreedyStep],
    exact: optimise.MclpResult,
    sets: _Sets,
    *,
    budget: float | None,
) -> pd.DataFrame:
    """Build the ``recommendations.csv`` rows, greedy order."""
    optimal_ids = set(candidates.index[exact.sites].astype(str))
    wgs = candidates.to_crs(4326) if len(candidates) else candidates
    options = _option_names(candidates)
    total = float(sets.population.sum())
    base = float(sets.population[sets.covered_now].sum())
    single = budget is not None and len(steps) == 1
    rows = []
    chosen: list[int] = []
    previous = previous_available = spent = 0.0
    for rank, step in enumerate(steps, start=1):
        chosen.append(step.site)
        sites = np.array(chosen, dtype=np.int64)
        people = sets.people(sites)
        available = sets.people_available(sites)
        site = candidates.index[step.site]
        row: dict[str, object] = {
            "rank": rank,
            "site_id": str(site),
            "name": str(candidates["name"].iloc[step.site]),
            "lon": float(wgs.geometry.x.iloc[step.site]),
            "lat": float(wgs.geometry.y.iloc[step.site]),
            "added_population": people - previous,
            "cumulative_population_covered": base + people,
            "cumulative_coverage_share": (base + people) / total if total > 0 else 0.0,
            "method": "greedy"
            if budget is None
            else "best single affordable site"
            if single
            else "greedy per cost",
            "in_optimal_set": str(site) in optimal_ids,
            "option": options[step.site],
            "added_people_available": available - previous_available,
        }
        if sets.costs is not None:
            spent += float(sets.costs[step.site])
            row["cost"] = float(sets.costs[step.site])
            row["cumulative_cost"] = spent
        rows.append(row)
        previous, previous_available = people, available
    columns = [*_COLUMNS, *(["cost", "cumulative_cost"] if sets.costs is not None else [])]
    return pd.DataFrame(rows, columns=columns)
