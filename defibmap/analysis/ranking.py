"""Rank the options for new defibs (greedy order and exact optimum), by what is available.

An option is a candidate building for a new cabinet (24/7 outside unless its row says it is
indoors, then usable in its opening hours) or an existing indoor defib moved to an outside
24/7 cabinet (an *upgrade*, id ``upgrade:<defib id>``). The ranking maximises the demand
weight within the walk of a usable defib: over the year's hours (``"available"``, the
spatiotemporal model of :mod:`defibmap.analysis.time_slices`), at night (``"night"``) or at
any time (``"any"``, every defib counted at every hour). With costs and a budget the exact
model keeps within the budget instead of a number of sites.

With ``"survival"`` the options are ordered by expected survivors added instead
(:mod:`defibmap.analysis.survival`: gradual coverage, each demand point taking its best open
site, existing defibs fixed); the coverage figures beside it are the ``"available"`` model's.
Given the time model (:class:`SurvivalInputs`), the survival ranking is found whatever the
objective, as a second ranking (:attr:`Ranking.survival`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from defibmap._errors import InputError
from defibmap.analysis import optimise, reach, survival, time_slices
from defibmap.analysis.time_slices import Expanded, Week
from defibmap.defaults import DEFAULT_SCHOOL_TERM_WEEKS

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import geopandas as gpd
    from numpy.typing import NDArray

    from defibmap.analysis.response_draws import DrawAssumptions
    from defibmap.network.snapping import Snapped
    from defibmap.network.walk import Network

__all__ = [
    "HUB_CABINET",
    "HUB_PREFIX",
    "METHOD",
    "METHOD_SURVIVAL",
    "NEW_CABINET",
    "OBJECTIVES",
    "STATION_CABINET",
    "STATION_PREFIX",
    "UPGRADE",
    "UPGRADE_PREFIX",
    "Ranking",
    "RankingDemand",
    "RankingRules",
    "SurvivalInputs",
    "rank_sites",
]

#: What a ranking may maximise: the covering objectives and expected survival.
Objective = time_slices.Objective | Literal["survival"]
OBJECTIVES: tuple[str, ...] = (*time_slices.OBJECTIVES, "survival")

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
#: Ordered by expected survivors added, as reported in ``summary.json``.
METHOD_SURVIVAL = survival.MODEL_TEXT
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
    survival
        The options ranked by expected survivors added (the recommendations' order when the
        objective is ``"survival"``); None without the time model.
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
    survival: survival.SurvivalRanking | None = None

    def info(self) -> dict[str, object]:
        """Return the figures (everything but the table and the matrix) by name."""
        skip = {"recommendations", "cover", "model", "survival"}
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        out["optimal_site_ids"] = list(self.optimal_site_ids)
        if self.baseline is None:
            del out["baseline"]
        if self.weight is None:
            del out["weight"]
        return out

    def __getitem__(self, key: str) -> object:
        """Return a figure by its ``summary.json`` name (``ranking["gap_share"]``)."""
        if key in {"recommendations", "cover", "model", "survival"} or not hasattr(self, key):
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


@dataclass(frozen=True, eq=False)
class SurvivalInputs:
    """What the survival ranking needs beyond the covering one: the time model and today's defibs.

    Attributes
    ----------
    assumptions
        The time-to-defib model (:func:`defibmap.study.timing.draw_assumptions`): ambulance
        distribution (per area), walking speed, recognition, second bystander, cabinet and
        locked-cabinet seconds, draws and seed.
    baseline_sites
        Where today's defibs join the network (fixed: never removed).
    baseline_usable
        Per baseline site, the share (0-1) of the year it is usable.
    baseline_locked
        Per baseline site, whether it is a locked cabinet.
    limit_m
        The longest walk weighed, metres.
    time_limit_s
        Most seconds HiGHS may take (None: no limit); past it the best set found is
        reported, not proven optimal.
    exact_max_pairs
        Skip the exact optimum (the greedy set stands in for it, marked not proven) when the
        model has more (option, point) pairs with a gain than this; None always solves it.
    """

    assumptions: DrawAssumptions
    baseline_sites: Snapped
    baseline_usable: NDArray[np.float64]
    baseline_locked: NDArray[np.bool_]
    limit_m: float
    time_limit_s: float | None = None
    exact_max_pairs: int | None = None


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
    survival
        The time model and today's defibs for the survival ranking (needed by
        ``"survival"``; with another objective it adds the survival ranking beside it).
    """

    objective: Objective = "any"
    baseline_sites: Snapped | None = None
    baseline_hours: Week | None = None
    term_weeks: int = DEFAULT_SCHOOL_TERM_WEEKS
    budget: float | None = None
    survival: SurvivalInputs | None = None


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

    # the survival objective keeps the available-coverage model for the figures beside it
    covering: time_slices.Objective = (
        "available" if rules.objective == "survival" else rules.objective
    )
    model = model_of(covering, w)
    same = covering == "available" and np.array_equal(w, population)
    year = model if same else model_of("available", population)
    surv = None
    if rules.survival is not None:
        surv = _survival(
            network,
            demand,
            _Options(candidates, candidates_snapped, hours),
            new_sites,
            rules,
            costs,
        )
    ids = candidates.index.to_numpy(dtype=str)
    if rules.objective == "survival":
        if surv is None:
            msg = "the survival objective needs the time model (RankingRules.survival)"
            raise ValueError(msg)
        steps, exact = surv.steps, surv.exact
        # the covering model's greedy order, to set beside the survival one
        if rules.budget is not None and costs is not None:
            covering_steps = optimise.greedy_budget(
                model.cover, model.weights, costs, rules.budget, already_covered=model.already
            )
        else:
            covering_steps = optimise.greedy(
                model.cover, model.weights, new_sites, already_covered=model.already
            )
    else:
        steps, exact = _order(model, new_sites, costs, rules.budget)
        covering_steps = steps
    surv_ranking = None
    if surv is not None:
        surv_ranking = replace(
            surv.ranking, coverage_order=tuple(str(ids[st.site]) for st in covering_steps)
        )
    sets = _Sets(cover, covered_now, population, year, costs)
    table = _table(candidates, steps, exact, sets, budget=rules.budget)
    if surv is not None:
        # expected survivors each listed site adds (new column; see analysis.survival)
        table["added_survivors"] = surv.added_along([st.site for st in steps])
    greedy_sites = np.array([s.site for s in steps], dtype=np.int64)
    greedy_objective = steps[-1].cumulative if steps else 0.0
    gap = exact.objective - greedy_objective
    if abs(gap) <= 1e-9 * max(1.0, abs(exact.objective)):
        gap = 0.0  # the same set summed in another order
    method = (
        METHOD_SURVIVAL
        if rules.objective == "survival"
        else METHOD_BUDGET
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
        survival=surv_ranking,
    )


@dataclass(frozen=True, eq=False)
class _Options:
    """The options of a ranking: their rows, where they join the network, their hours."""

    frame: gpd.GeoDataFrame
    snapped: Snapped
    hours: Week


@dataclass(frozen=True, eq=False)
class _Survived:
    """The survival ranking, with its greedy steps and optimum in the covering's shapes."""

    ranking: survival.SurvivalRanking
    steps: list[optimise.GreedyStep]
    exact: optimise.MclpResult
    gain: sp.csr_matrix

    def added_along(self, sites: list[int]) -> list[float]:
        """Survivors each of ``sites`` adds, in that order, given the ones before it."""
        out, before = [], 0.0
        for n in range(len(sites)):
            total = survival.total_gain(self.gain, sites[: n + 1])
            out.append(total - before)
            before = total
        return out


def year_share(week: Week, term_weeks: int) -> NDArray[np.float64]:
    """Per site, the share (0-1) of a typical year's hours it is usable."""
    if week.term.shape[0] == 0:
        return np.zeros(0)
    share: NDArray[np.float64] = (
        term_weeks * week.term.mean(axis=1) + (52 - term_weeks) * week.holiday.mean(axis=1)
    ) / 52.0
    return share


def _at_least_greedy(
    optimum: survival.SurvivalOptimum, gain: sp.csr_matrix, steps: Sequence[optimise.GreedyStep]
) -> survival.SurvivalOptimum:
    """Return the solver's set, or the greedy one when the solver stopped with less.

    HiGHS stopped by its time limit may hold no feasible set (none at all) or a worse one
    than greedy's; the greedy set is then the best known, and is never proven optimal.
    """
    if optimum.optimal or not steps:
        return optimum
    sites = np.sort(np.array([st.site for st in steps], dtype=np.int64))
    value = survival.total_gain(gain, sites)
    if optimum.sites.size and optimum.objective >= value:
        return optimum
    status = f"Not proven optimal: the greedy set (the solver stopped with less: {optimum.status})"
    return survival.SurvivalOptimum(sites, value, status, optimal=False)


def _survival(
    network: Network,
    demand: RankingDemand,
    options: _Options,
    new_sites: int,
    rules: RankingRules,
    costs: NDArray[np.float64] | None,
) -> _Survived:
    """Rank the options by expected survivors added over today's defibs (greedy and exact)."""
    s = rules.survival
    if s is None:
        msg = "the survival ranking needs the time model (RankingRules.survival)"
        raise ValueError(msg)
    a = s.assumptions
    n = demand.population.size
    w = demand.population if demand.weights is None else demand.weights
    base = reach.pair_distances(network, s.baseline_sites, demand.snapped, limit_m=s.limit_m)
    base_value = survival.pair_values(
        base.walk_m,
        base.demand,
        np.asarray(s.baseline_usable, dtype=np.float64)[base.site],
        np.where(
            np.asarray(s.baseline_locked, dtype=bool)[base.site], a.locked_cabinet_extra_s, 0.0
        ),
        assumptions=a,
    )
    best_now = np.zeros(n)
    np.maximum.at(best_now, base.demand, base_value)
    pairs = reach.pair_distances(network, options.snapped, demand.snapped, limit_m=s.limit_m)
    usable = year_share(options.hours, rules.term_weeks)
    value = survival.pair_values(
        pairs.walk_m, pairs.demand, usable[pairs.site], np.zeros(pairs.site.size), assumptions=a
    )
    gain = survival.gain_matrix((pairs.site, pairs.demand, value), best_now, w, len(options.frame))
    steps = survival.greedy(gain, new_sites, costs=costs, budget=rules.budget)
    if s.exact_max_pairs is not None and gain.nnz > s.exact_max_pairs:
        # too big to solve beside another objective's ranking: the greedy set stands in
        sites = np.sort(np.array([st.site for st in steps], dtype=np.int64))
        optimum = survival.SurvivalOptimum(
            sites,
            survival.total_gain(gain, sites),
            f"Not solved: {gain.nnz:,} pairs (more than {s.exact_max_pairs:,}); greedy set",
            optimal=False,
        )
    else:
        optimum = survival.exact(
            gain, new_sites, costs=costs, budget=rules.budget, time_limit_s=s.time_limit_s
        )
        optimum = _at_least_greedy(optimum, gain, steps)
    ambulance = survival.point_ambulance_only(a, n)
    found = survival.summarise(
        steps=steps,
        optimum=optimum,
        ids=options.frame.index.to_numpy(dtype=str),
        weights=w,
        base={"ambulance": ambulance, "now": ambulance + best_now},
        limit_m=s.limit_m,
        draws=a.draws,
    )
    upper = optimum.objective
    return _Survived(
        found,
        steps,
        optimise.MclpResult(
            sites=optimum.sites,
            objective=optimum.objective,
            status=optimum.status,
            mip_gap=0.0 if optimum.optimal else float("nan"),
            upper_bound=upper,
            optimal=optimum.optimal,
            free_sites=0,
        ),
        gain,
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
