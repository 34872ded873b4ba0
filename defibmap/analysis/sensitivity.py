"""Sensitivity of the ranking and the headline figures to the study's assumptions.

Each of ``N`` draws takes one value of every uncertain assumption from its range and
re-scores the study without a new network search: the walking distances of every
(option, demand point) and (existing defib, demand point) pair are measured once, up to the
longest walk any draw can reach (:func:`defibmap.analysis.reach.pair_distances`), and each
draw only re-thresholds them, re-weighs the demand and re-ranks (greedy order and, with
``exact``, the exact optimum of :func:`defibmap.analysis.optimise.mclp` on the expanded
spatiotemporal model of :mod:`defibmap.analysis.time_slices`).

What a draw varies, and how it enters:

* **walking speed** (m/s, uniform in its range) and the **threshold** (a factor on the walk,
  uniform): a walking threshold stands for a fetch time, so a draw's walk in metres is
  ``threshold_m x factor x speed / central speed`` (a faster bystander goes farther in the
  same time); the headline walk and the ranking walk alike.
* **unknown hours** (a probability, uniform): each existing defib whose hours are unknown is
  usable in the hours an unknown reading allows with that probability, else at no hour.
* **response distributions** (a factor on the ambulance's times, uniform) and the
  **second-bystander probability** (uniform): a covered resident's value is the chance that
  a second person fetches the defib from the edge of the walk before the ambulance comes,
  ``second_bystander x P(ambulance > recognition + 2 x walk / speed + cabinet)``; the demand
  weights are multiplied by each point's value relative to the central assumptions,
  rescaled to keep their total. With one ambulance distribution for the whole study this
  factor is the same for everyone and moves no pick; with per-area times it re-weights the
  areas.
* **demand weights**: each point's weight times an independent gamma factor of mean 1 and
  coefficient of variation ``demand_weight_cv`` (0: the weights as given).

The exact optimum is not re-solved in every draw: the best of the draw's greedy top ``k``
and the optima of earlier draws, improved by single swaps, is checked against a Lagrangian
certificate that it is the only optimum (by a margin wider than the solver's tolerance);
only when the certificate fails does :func:`~defibmap.analysis.optimise.mclp` solve the draw.
A certified set is the set ``mclp`` would return, so the counts are those of solving every
draw (``tests/analysis/test_sensitivity_fast.py`` holds the two to the same answers).

An option is *stable* when it is in the greedy top ``k`` in at least ``stable_share`` of the
draws.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.special import ndtr

from defibmap.analysis import optimise, time_slices
from defibmap.analysis.response_draws import AreaLognormal, Empirical, Lognormal
from defibmap.analysis.time_slices import Patterns, Week

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    from defibmap.analysis.reach import PairDistances

__all__ = [
    "FIGURES",
    "Ambulance",
    "Instance",
    "Ranges",
    "SensitivityResult",
    "max_walk_m",
    "run",
    "verdict",
]

#: The headline figures given an interval, in ``summary.json`` order: year-round available,
#: night and any-time coverage of today's defibs at the headline walk (population shares
#: 0-1), and the ranking's objective (the exact optimum, else the greedy set's).
FIGURES = ("coverage_available", "coverage_night", "coverage_any", "objective")

#: Weeks in the year the term and holiday weeks share (as :mod:`time_slices` counts them).
_WEEKS = 52

#: The ambulance's time distribution a draw scales.
Ambulance = Lognormal | AreaLognormal | Empirical


@dataclass(frozen=True)
class Ranges:
    """The range each uncertain assumption is drawn from (uniform, inclusive bounds).

    Attributes
    ----------
    walking_speed_m_s
        The bystander's walking speed, m/s.
    threshold_factor
        A factor on the walking thresholds (headline and ranking walk).
    unknown_hours
        Probability (0-1) that a defib of unknown hours is usable in them.
    second_bystander
        Probability (0-1) that a second person can fetch the defib.
    ambulance_factor
        A factor on every ambulance time.
    demand_weight_cv
        Coefficient of variation of each point's gamma weight factor (0: none).
    """

    walking_speed_m_s: tuple[float, float]
    threshold_factor: tuple[float, float] = (1.0, 1.0)
    unknown_hours: tuple[float, float] = (1.0, 1.0)
    second_bystander: tuple[float, float] = (0.5, 0.5)
    ambulance_factor: tuple[float, float] = (1.0, 1.0)
    demand_weight_cv: float = 0.0


@dataclass(frozen=True, eq=False)
class Instance:
    """Everything a draw re-scores, measured once.

    Attributes
    ----------
    options
        Option x demand walks (up to :func:`max_walk_m`), options sorted by id.
    option_hours
        The options' usability.
    current
        Existing defib x demand walks.
    current_hours, current_strict
        The existing defibs' usability with unknown hours read as usable, and as unusable.
    stations
        Station x demand walks, 24/7 sites added to the ranking's baseline
        (``baseline = "current+stations"``); ``None`` otherwise.
    weights
        What the ranking maximises per demand point.
    population
        People per demand point.
    headline_m, rank_m
        The headline walk and the ranking walk, metres.
    speed_m_s
        The central walking speed, m/s.
    objective
        ``"available"``, ``"night"`` or ``"any"``.
    k
        Options counted as the top (the greedy list's first ``k``).
    term_weeks
        School term weeks a year.
    ambulance
        The ambulance's time distribution (``None``: no re-weighting by it).
    fixed_s
        Seconds of a fetch besides the walk: recognition plus the cabinet.
    central_second_bystander
        The study's own second-bystander probability.
    costs, budget
        Option costs and the budget (``None``: ``k`` options by count).
    """

    options: PairDistances
    option_hours: Week
    current: PairDistances
    current_hours: Week
    current_strict: Week
    stations: PairDistances | None
    weights: NDArray[np.float64]
    population: NDArray[np.float64]
    headline_m: float
    rank_m: float
    speed_m_s: float
    objective: time_slices.Objective
    k: int
    term_weeks: int
    ambulance: Ambulance | None = None
    fixed_s: float = 0.0
    central_second_bystander: float = 0.5
    costs: NDArray[np.float64] | None = None
    budget: float | None = None


@dataclass(frozen=True, eq=False)
class SensitivityResult:
    """What the draws found.

    Attributes
    ----------
    draws
        Number of draws.
    k
        Size of the top counted.
    top_k_count
        ``{option id: draws in which it is in the greedy top k}``.
    figures
        ``(draws, len(FIGURES))`` values of the headline figures, per draw.
    optimal_count
        ``{option id: draws in which it is in the exact optimum}`` (empty without exact).
    seed
        The random seed.
    seconds
        Time the draws took, seconds.
    solver_calls
        Draws whose exact optimum needed the solver; the others were certified without it
        (the same sites: see :class:`_Exact`).
    """

    draws: int
    k: int
    top_k_count: dict[str, int]
    figures: NDArray[np.float64]
    optimal_count: dict[str, int]
    seed: int
    seconds: float
    solver_calls: int = 0

    def interval(self, low: float = 10.0, high: float = 90.0) -> dict[str, dict[str, float]]:
        """Return each headline figure's ``p10``, ``median`` and ``p90`` over the draws."""
        out: dict[str, dict[str, float]] = {}
        for j, name in enumerate(FIGURES):
            values = self.figures[:, j]
            out[name] = {
                "p10": float(np.percentile(values, low)),
                "median": float(np.median(values)),
                "p90": float(np.percentile(values, high)),
            }
        return out


def max_walk_m(instance_m: float, ranges: Ranges, speed_m_s: float) -> float:
    """Return the longest walk a draw can reach: ``instance_m`` x the largest factors."""
    return instance_m * ranges.threshold_factor[1] * (ranges.walking_speed_m_s[1] / speed_m_s)


def _survival(ambulance: Ambulance, t: float, factor: float, n: int) -> NDArray[np.float64]:
    """Per demand point, ``P(factor x ambulance > t)``."""
    if isinstance(ambulance, Empirical):
        return np.full(n, float(np.mean(ambulance.observed * factor > t)))
    if isinstance(ambulance, Lognormal):
        if ambulance.fixed is not None:
            return np.full(n, float(ambulance.fixed * factor > t))
        z = (math.log(t / factor) - ambulance.mu) / ambulance.sigma if t > 0 else -np.inf
        return np.full(n, float(1.0 - ndtr(z)))
    log_t = math.log(t / factor) if t > 0 else -np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        # a fixed area's sigma is 0: its NaN is replaced by the fixed comparison below
        drawn = 1.0 - ndtr((log_t - ambulance.mu) / ambulance.sigma)
    fixed = np.asarray(ambulance.fixed * factor > t, dtype=np.float64)
    return np.asarray(np.where(np.isnan(ambulance.fixed), drawn, fixed), dtype=np.float64)


@dataclass(frozen=True)
class _Draw:
    """One draw's values of the assumptions."""

    speed: float
    factor: float
    unknown: float
    second: float
    ambulance: float


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    """One uniform value in ``bounds`` (the value itself when the range has no width)."""
    lo, hi = bounds
    return float(lo) if hi <= lo else float(rng.uniform(lo, hi))


def _week_of(inst: Instance, unknown: float, rng: np.random.Generator) -> Week:
    """Return the existing defibs' usability in a draw: each unknown one usable with ``unknown``."""
    lenient, strict = inst.current_hours, inst.current_strict
    differs = (lenient.term != strict.term).any(axis=1) | (lenient.holiday != strict.holiday).any(
        axis=1
    )
    pick = rng.random(lenient.term.shape[0]) < unknown
    use = (pick | ~differs)[:, None]
    return Week(
        np.where(use, lenient.term, strict.term), np.where(use, lenient.holiday, strict.holiday)
    )


def _weights(inst: Instance, d: _Draw, rng: np.random.Generator, cv: float) -> NDArray[np.float64]:
    """Return a draw's demand weights: gamma factor, then fetch-beats-ambulance ratio."""
    n = inst.weights.size
    w = inst.weights.copy()
    if cv > 0:
        shape = 1.0 / (cv * cv)
        w = w * rng.gamma(shape, 1.0 / shape, n)
    if inst.ambulance is not None:
        t0 = inst.fixed_s + 2.0 * inst.rank_m / inst.speed_m_s
        # the walk at the edge takes the same time at any speed: it is held as a fetch time
        t = inst.fixed_s + 2.0 * inst.rank_m * d.factor / inst.speed_m_s
        base = inst.central_second_bystander * _survival(inst.ambulance, t0, 1.0, n)
        now = d.second * _survival(inst.ambulance, t, d.ambulance, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(base > 0, now / base, 1.0)
        total = float(w.sum())
        scaled = w * ratio
        if total > 0 and float(scaled.sum()) > 0 and np.ptp(ratio) > 0:
            w = scaled * (total / float(scaled.sum()))
    return np.asarray(w, dtype=np.float64)


class _Sorted:
    """Pair walks sorted by site then demand point: a cover matrix is then a filter, no sort."""

    def __init__(self, pairs: PairDistances) -> None:
        order = np.lexsort((pairs.demand, pairs.site))
        self.site = pairs.site[order]
        self.demand = pairs.demand[order]
        self.walk = pairs.walk_m[order]
        self.shape = (pairs.n_sites, pairs.n_demand)
        self._last: tuple[float, sp.csr_matrix] | None = None

    def cover(self, walk_m: float) -> sp.csr_matrix:
        """Return the sites x demand boolean matrix of pairs within ``walk_m``.

        The same matrix as :meth:`~defibmap.analysis.reach.PairDistances.cover_matrix`.
        """
        if self._last is not None and self._last[0] == walk_m:
            return self._last[1]
        keep = self.walk <= walk_m  # NaN walks are never stored; <= is the covered rule
        indptr = np.zeros(self.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.site[keep], minlength=self.shape[0]), out=indptr[1:])
        found = sp.csr_matrix(
            (np.ones(int(indptr[-1]), dtype=bool), self.demand[keep], indptr), shape=self.shape
        )
        self._last = (walk_m, found)
        return found


@dataclass(frozen=True, eq=False)
class _Prepared:
    """The instance's pair walks, sorted once."""

    options: _Sorted
    current: _Sorted
    stations: _Sorted | None

    @classmethod
    def of(cls, inst: Instance) -> _Prepared:
        stations = None if inst.stations is None else _Sorted(inst.stations)
        return cls(_Sorted(inst.options), _Sorted(inst.current), stations)


def _baseline(prep: _Prepared, week: Week, walk_m: float) -> tuple[sp.csr_matrix, Week]:
    """Return the ranking baseline's cover at ``walk_m`` and its usability."""
    cover = prep.current.cover(walk_m)
    if prep.stations is None:
        return cover, week
    extra = prep.stations.cover(walk_m)
    return sp.csr_matrix(sp.vstack([cover, extra])), week.then(Week.always(extra.shape[0]))


def _patterns(week: Week, objective: time_slices.Objective, *, term_weeks: int) -> Patterns:
    """Return :func:`~defibmap.analysis.time_slices.patterns`, the same, faster for a year.

    Each slot's usable sites are packed into bytes (big-endian bits keep the order of the
    boolean rows) and compared as one value: ``np.unique`` on 336 rows of hundreds of
    booleans is the slowest step of a draw otherwise.
    """
    n = len(week)
    if objective != "available" or n == 0:
        return time_slices.patterns(week, objective, term_weeks=term_weeks)
    hours = week.term.shape[1]
    weight = np.r_[
        np.full(hours, term_weeks / _WEEKS / hours),
        np.full(hours, (_WEEKS - term_weeks) / _WEEKS / hours),
    ]
    keep = weight > 0
    slots = np.hstack([week.term, week.holiday]).astype(bool)[:, keep].T
    packed = np.ascontiguousarray(np.packbits(slots, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    share = np.bincount(inverse.ravel(), weights=weight[keep], minlength=first.size)
    return Patterns(np.ascontiguousarray(slots[first].T), share.astype(np.float64))


def _expand(
    option_cover: sp.csr_matrix,
    base_cover: sp.csr_matrix,
    weights: NDArray[np.float64],
    found: Patterns,
) -> time_slices.Expanded:
    """Return :func:`~defibmap.analysis.time_slices.expand`'s model, built without products.

    Each option's row holds, pattern by pattern where the option is usable, its demand
    columns shifted by ``pattern x n_demand``: the segments are gathered in (option,
    pattern) order, with no sort, so a row's columns stay ascending.
    """
    n_base, n_demand = base_cover.shape
    opt = sp.csr_matrix(option_cover)
    n_opt = opt.shape[0]
    n_patterns = found.share.size
    base_usable = found.usable[:n_base]
    opt_usable = found.usable[n_base : n_base + n_opt]
    # row (option, pattern) pairs in row-major order: each usable pair copies the option's
    # demand columns shifted by pattern x n_demand, so a row's columns stay ascending
    r, p = np.nonzero(opt_usable)
    length = np.diff(opt.indptr)[r]
    total = int(length.sum())
    ends = np.cumsum(length)
    gather = np.arange(total, dtype=np.int64) + np.repeat(opt.indptr[r] - (ends - length), length)
    all_cols = opt.indices[gather].astype(np.int64) + np.repeat(
        p.astype(np.int64) * n_demand, length
    )
    indptr = np.zeros(n_opt + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, weights=length, minlength=n_opt).astype(np.int64), out=indptr[1:])
    cover = sp.csr_matrix(
        (np.ones(total, dtype=bool), all_cols, indptr), shape=(n_opt, n_demand * n_patterns)
    )
    base = sp.csr_matrix(base_cover, dtype=np.float64)
    usable = base_usable.astype(np.float64)
    already = np.asarray((base.T @ usable) > 0).T.ravel() if n_patterns else np.zeros(0, bool)
    point = np.tile(np.arange(n_demand, dtype=np.int64), n_patterns)
    share = np.repeat(found.share, n_demand)
    w = np.asarray(weights, dtype=np.float64)[point] * share
    return time_slices.Expanded(cover, w, np.asarray(already, dtype=bool), point, share, n_patterns)


def _model(
    inst: Instance, prep: _Prepared, week: Week, walk_m: float, w: NDArray[np.float64]
) -> time_slices.Expanded:
    """Return a draw's covering model (as :func:`~defibmap.analysis.ranking.rank_sites`)."""
    option_cover = prep.options.cover(walk_m)
    base_cover, base_week = _baseline(prep, week, walk_m)
    if inst.objective == "any":
        now = np.asarray(base_cover.sum(axis=0)).ravel() > 0
        n_opt = option_cover.shape[0]
        found = Patterns(np.ones((n_opt + 1, 1), dtype=bool), np.ones(1))
        model = _expand(option_cover, sp.csr_matrix(now[None, :]), w, found)
        return time_slices.Expanded(
            model.cover, model.weights, now, model.point, model.share, model.patterns
        )
    found = _patterns(base_week.then(inst.option_hours), inst.objective, term_weeks=inst.term_weeks)
    return _expand(option_cover, base_cover, w, found)


def _coverage(
    inst: Instance, prep: _Prepared, week: Week, walk_m: float
) -> tuple[float, float, float]:
    """Return available, night and any-time coverage of today's defibs at ``walk_m`` (0-1)."""
    pop = inst.population
    total = float(pop.sum())
    if total <= 0:
        return 0.0, 0.0, 0.0
    pairs = prep.current
    keep = pairs.walk <= walk_m
    site, point = pairs.site[keep], pairs.demand[keep]
    n = pop.size
    out = []
    for objective in ("available", "night"):
        found = _patterns(week, objective, term_weeks=inst.term_weeks)  # type: ignore[arg-type]
        share = np.zeros(n)
        for p in range(found.share.size):
            # a point is covered in pattern p when a pair within the walk has a usable site
            hit = np.bincount(point, weights=found.usable[site, p], minlength=n) > 0
            share += found.share[p] * hit
        # an elementwise sum, not a BLAS dot: BLAS threads stall on a busy machine
        out.append(float(np.sum(pop * share)) / total)
    anytime = np.bincount(point, minlength=n) > 0
    return out[0], out[1], float(pop[anytime].sum()) / total


#: Most optimal site sets :class:`_Exact` keeps to try in later draws (the oldest goes first).
_POOL = 16

#: Most single swaps tried from a draw's best known set before the certificate.
_SWAPS = 5

#: Relative margin, on the total open demand weight, by which every other site set must fall
#: short of a certified optimum. HiGHS inside :func:`~defibmap.analysis.optimise.mclp` proves
#: optimality to its feasibility tolerance of 1e-6 per demand row, so a set within 1e-6 of the
#: total of the optimum could be the one it returns: ten times that is ruled out.
_MARGIN = 1e-5


@dataclass(frozen=True, eq=False)
class _Open:
    """A draw's open demand: the model's rows not yet covered that some site reaches.

    Attributes
    ----------
    cover
        Sites x open rows (0/1, float): rows not already covered, of positive weight and
        reached by some site, in the model's order.
    rows
        Open rows x sites, the same matrix transposed.
    w
        Weight of each open row.
    keep
        Each open row's column in the model.
    n_rows
        Columns of the model.
    """

    cover: sp.csr_matrix
    rows: sp.csr_matrix
    w: NDArray[np.float64]
    keep: NDArray[np.int64]
    n_rows: int

    @classmethod
    def of(cls, model: time_slices.Expanded) -> _Open:
        cover = sp.csr_matrix(model.cover, dtype=np.float64)
        n_rows = cover.shape[1]
        w_all = np.asarray(model.weights, dtype=np.float64)
        count = np.bincount(cover.indices, minlength=n_rows)
        keep = np.flatnonzero((count > 0) & (w_all > 0) & ~np.asarray(model.already, dtype=bool))
        cover = sp.csr_matrix(cover[:, keep])
        return cls(cover, sp.csr_matrix(cover.T), w_all[keep], keep, n_rows)

    def fixed(self, sites: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """Return ``lam`` where ``sites`` fix it, and the rows left to choose (``shared``).

        Complementary slackness with ``sites`` fixes ``lam`` on the rows they leave open
        (``w``) or cover twice or more (0), and on rows one chosen site covers with no other
        site competing (``w``); on the rows one chosen site covers and another site reaches
        too it is free in ``[0, w]``.
        """
        chosen = np.zeros(self.cover.shape[0])
        chosen[sites] = 1.0
        count = chosen @ self.cover
        others = (1.0 - chosen) @ self.cover
        shared = (count == 1) & (others > 0)
        lam = np.where((count == 0) | ((count == 1) & ~shared), self.w, 0.0)
        return lam, shared


def _merged(
    a: sp.csr_matrix, w: NDArray[np.float64]
) -> tuple[sp.csr_matrix, NDArray[np.float64], NDArray[np.int64]]:
    """Merge rows of ``a`` (rows x sites) with equal site sets, summing their weights.

    Rows are grouped by two random hashes of their site sets; a collision would only weaken
    the LP's choice of ``lam``, never the certificate, which is checked on the open rows.
    Returns the merged rows, their weights and each row's merged row.
    """
    rng = np.random.default_rng(0)
    h1 = a @ rng.random(a.shape[1])
    h2 = a @ rng.random(a.shape[1])
    count = np.diff(a.indptr)
    # equal site sets have equal hashes: a sort on one brings them together
    order = np.argsort(h1, kind="stable")
    key = np.c_[count[order], h1[order], h2[order]]
    new = np.r_[True, np.any(key[1:] != key[:-1], axis=1)]
    group = np.empty(w.size, dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    rep = order[new]
    merged_w = np.bincount(group, weights=w, minlength=rep.size).astype(np.float64)
    return sp.csr_matrix(a[rep]), merged_w, group


def _swap(open_: _Open, sites: NDArray[np.int64]) -> NDArray[np.int64]:
    """Improve ``sites`` by the best single swap (one out, one in) until none gains.

    With the rows ``sites`` cover once (``U_s``: the weight only ``s`` covers) and the rows
    they leave open (``G_j``: what site ``j`` would add), swapping ``s`` for ``j`` gains
    ``G_j + O_js - U_s``, ``O_js`` being the weight of ``s``'s own rows that ``j`` covers too.
    """
    a, at, w = open_.rows, open_.cover, open_.w
    tol = 1e-9 * max(1.0, float(w.sum()))
    for _ in range(_SWAPS):
        chosen = np.zeros(a.shape[1])
        chosen[sites] = 1.0
        count = a @ chosen
        gain = at @ np.where(count == 0, w, 0.0)
        once = np.flatnonzero(count == 1)
        owner = sp.csr_matrix(a[once][:, sites])  # rows x k, one entry per row
        own_w = sp.csr_matrix(owner.multiply(w[once][:, None]))
        alone = np.asarray(own_w.sum(axis=0)).ravel()
        overlap = (sp.csr_matrix(at[:, once]) @ own_w).toarray()
        delta = gain[:, None] + overlap - alone[None, :]
        delta[sites, :] = -np.inf
        j, p = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if delta[j, p] <= tol:
            break
        sites = np.sort(np.r_[np.delete(sites, p), j]).astype(np.int64)
    return sites


def _lead_lp(open_: _Open, sites: NDArray[np.int64]) -> NDArray[np.float64] | None:
    """Multipliers ``lam`` (one per open row) for :func:`_certify`, or None.

    ``lam`` is fixed by :meth:`_Open.fixed` except on the shared rows; there a small LP on
    the merged shared rows maximises the lead ``t`` of the weakest chosen site's
    ``c = a' lam`` over the strongest other site's. Each open row then takes its merged
    row's ``lam``, in proportion to its weight.
    """
    lam, shared = open_.fixed(sites)
    n_sites, k = open_.cover.shape[0], sites.size
    chosen = np.zeros(n_sites, dtype=bool)
    chosen[sites] = True
    # a site whose c, with every shared row at its largest lam, stays below every chosen
    # site's c with the shared rows at 0 can never lead: it needs no constraint, and rows
    # only such sites compete for take lam = w (it raises only chosen sites that matter)
    low = open_.cover @ lam
    high = open_.cover @ np.where(shared, open_.w, lam)
    rest = np.flatnonzero(~chosen & (high >= low[sites].min()))
    contest = np.zeros(n_sites)
    contest[rest] = 1.0
    contested = shared & ((open_.rows @ contest) > 0)
    lam = np.where(shared & ~contested, open_.w, lam)
    shared = contested
    if not shared.any():
        return lam  # nothing to choose: the check alone decides
    base = open_.cover @ lam
    a, w, group = _merged(sp.csr_matrix(open_.rows[shared]), open_.w[shared])
    free = sp.csr_matrix(a.T)  # sites x merged shared rows
    n_free = free.shape[1]
    # variables: lam on the shared rows, m (the weakest chosen site's c), t (the lead)
    # rows: m - c_s <= 0 for the chosen sites, then c_j - m + t <= 0 for the contesting ones
    n_rows = k + rest.size
    sub = sp.coo_matrix(free[np.r_[sites, rest]])
    sign = np.r_[-np.ones(k), np.ones(rest.size)]
    row = np.r_[sub.row, np.arange(n_rows), np.arange(k, n_rows)]
    col = np.r_[sub.col, np.full(n_rows, n_free), np.full(rest.size, n_free + 1)]
    data = np.r_[sub.data * sign[sub.row], -sign, np.ones(rest.size)]
    a_ub = sp.csr_matrix((data, (row, col)), shape=(n_rows, n_free + 2))
    cost = np.zeros(n_free + 2)
    cost[-1] = -1.0
    lower = np.r_[np.zeros(n_free), -np.inf, -np.inf]
    upper = np.r_[w, np.inf, float(open_.w.sum())]
    res = linprog(cost, A_ub=a_ub, b_ub=np.r_[base[sites], -base[rest]], bounds=np.c_[lower, upper])
    if res.status != 0 or res.x[-1] <= 0:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(w > 0, np.clip(res.x[:n_free], 0.0, w) / w, 0.0)
    lam[shared] = np.clip(ratio[group], 0.0, 1.0) * open_.w[shared]
    return lam


def _certified(open_: _Open, sites: NDArray[np.int64], lam: NDArray[np.float64]) -> bool:
    """Whether ``lam`` proves ``sites`` the only optimal set of its size, by a clear margin.

    The Lagrangian relaxation of the linking rows (Galvao & ReVelle 1996) bounds any set of
    ``k`` sites that leaves out site ``s`` by ``sum(w - lam) + (k largest of c = a' lam over
    the other sites)`` for every ``0 <= lam <= w``. When ``sites`` are the top ``k`` of
    ``c`` and, for each ``s`` in them, the bound without ``s`` is below their value by the
    margin, every other set is worse: :func:`~defibmap.analysis.optimise.mclp`, which
    returns a proven optimum, returns ``sites``. Any ``lam`` in range gives a valid bound,
    so a poor one can only fail to certify.
    """
    w = open_.w
    lam = np.clip(lam, 0.0, w)
    k = sites.size
    chosen = np.zeros(open_.cover.shape[0])
    chosen[sites] = 1.0
    c = open_.cover @ lam
    top = np.argsort(-c, kind="stable")
    if not np.array_equal(np.sort(top[:k]), sites):
        return False
    bound = float((w - lam).sum() + c[top[:k]].sum())
    value = float(w[(chosen @ open_.cover) > 0].sum())
    without_best = bound - float(c[sites].min()) + float(c[top[k]])
    return without_best < value - _MARGIN * float(w.sum()) - 1e-9 * abs(value)


def _certify(open_: _Open, sites: NDArray[np.int64]) -> bool:
    """Whether ``sites`` is the only optimal set of its size (``lam`` from :func:`_lead_lp`)."""
    lam = _lead_lp(open_, sites)
    return lam is not None and _certified(open_, sites, lam)


class _Exact:
    """The exact optimum of each draw, re-solved only when it is not certified without it.

    Each draw's candidate answer is the best of its greedy top ``k`` and the optimal sets of
    earlier draws (a draw moves the thresholds and weights a little, so an earlier optimum
    often still wins), improved by single swaps. When :func:`_certified` proves that set
    the only optimum, it is the set :func:`~defibmap.analysis.optimise.mclp` would return
    and the solver is skipped; otherwise ``mclp`` solves the draw as before and its answer
    joins the pool.
    """

    def __init__(self, n_sites: int, k: int, *, certify: bool = True) -> None:
        self.n_sites, self.k, self.certify = n_sites, k, certify
        self.pool: list[NDArray[np.int64]] = []
        self.solved = 0

    def _remember(self, sites: NDArray[np.int64]) -> None:
        if not any(np.array_equal(sites, p) for p in self.pool):
            self.pool = [*self.pool[-(_POOL - 1) :], sites]

    def _fast(
        self, model: time_slices.Expanded, top: NDArray[np.int64]
    ) -> NDArray[np.int64] | None:
        """Return the certified optimum, or None when the draw needs the solver."""
        k = min(self.k, self.n_sites)
        if not self.certify or k <= 0 or top.size != k or self.n_sites <= k:
            return None
        open_ = _Open.of(model)
        useful = np.count_nonzero(np.diff(open_.cover.indptr))
        if open_.w.size == 0 or useful <= k:
            return None  # mclp's quick answers: nothing open, or every useful site fits
        sets = [np.sort(top), *self.pool]
        sizes = np.array([found.size for found in sets], dtype=np.int64)
        pick = sp.csr_matrix(
            (np.ones(int(sizes.sum())), np.concatenate(sets), np.r_[0, np.cumsum(sizes)]),
            shape=(len(sets), self.n_sites),
        )
        hit = sp.csr_matrix(pick @ open_.cover)  # sets x open rows, > 0 where covered
        values = np.bincount(
            np.repeat(np.arange(len(sets)), np.diff(hit.indptr)),
            weights=open_.w[hit.indices],
            minlength=len(sets),
        )
        best = _swap(open_, sets[int(np.argmax(values))])
        if best.size != k or not _certify(open_, best):
            return None
        self._remember(best)
        return best

    def solve(
        self, model: time_slices.Expanded, top: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], float]:
        """Return the draw's optimal sites (ascending) and the demand weight they newly cover."""
        sites = self._fast(model, top)
        if sites is None:
            best = optimise.mclp(model.cover, model.weights, self.k, already_covered=model.already)
            self.solved += 1
            if best.optimal:
                self._remember(best.sites)
            return best.sites, best.objective
        objective = optimise.covered_weight(
            model.cover, model.weights, sites, already_covered=model.already
        )
        return sites, objective


def _rank(
    model: time_slices.Expanded, inst: Instance, exact: _Exact | None
) -> tuple[NDArray[np.int64], NDArray[np.int64] | None, float]:
    """Greedy top-k positions, the exact optimum's positions (or None) and the objective."""
    if inst.budget is not None and inst.costs is not None:
        steps = optimise.greedy_budget(
            model.cover, model.weights, inst.costs, inst.budget, already_covered=model.already
        )
    else:
        steps = optimise.greedy(model.cover, model.weights, inst.k, already_covered=model.already)
    top = np.array([s.site for s in steps[: inst.k]], dtype=np.int64)
    objective = steps[-1].cumulative if steps else 0.0
    if exact is None:
        return top, None, objective
    if inst.budget is not None and inst.costs is not None:
        best = optimise.mclp_budget(
            model.cover, model.weights, inst.costs, inst.budget, already_covered=model.already
        )
        return top, best.sites, best.objective
    sites, objective = exact.solve(model, top)
    return top, sites, objective


def run(
    inst: Instance,
    option_ids: NDArray[np.str_],
    *,
    ranges: Ranges,
    draws: int,
    seed: int,
    exact: bool = True,
    certify: bool = True,
    progress: Callable[[int, int, float], None] | None = None,
) -> SensitivityResult:
    """Draw ``draws`` times over the ranges; count the top-k picks; keep the headline figures.

    Parameters
    ----------
    inst
        The pair distances, hours and weights, measured once.
    option_ids
        Each option's id, in the order of ``inst.options``.
    ranges
        The range of each assumption.
    draws
        Number of draws (>= 1).
    seed
        Seed of the random generator: the same seed gives the same counts.
    exact
        Also solve the exact optimum each draw (its objective is the ``objective`` figure).
    certify
        Skip the solver in draws whose best known set is certified the only optimum (the
        same answers, faster); ``False`` solves every draw (for comparison).
    progress
        Called after each draw with (draws done, draws, seconds so far).

    Returns
    -------
    SensitivityResult
    """
    rng = np.random.default_rng(seed)
    n_opt = inst.options.n_sites
    k = min(inst.k, n_opt)
    top_counts = np.zeros(n_opt, dtype=np.int64)
    opt_counts = np.zeros(n_opt, dtype=np.int64)
    figures = np.zeros((draws, len(FIGURES)), dtype=np.float64)
    start = time.perf_counter()
    prep = _Prepared.of(inst)
    solver = _Exact(n_opt, inst.k, certify=certify) if exact else None
    for i in range(draws):
        d = _Draw(
            speed=_uniform(rng, ranges.walking_speed_m_s),
            factor=_uniform(rng, ranges.threshold_factor),
            unknown=_uniform(rng, ranges.unknown_hours),
            second=_uniform(rng, ranges.second_bystander),
            ambulance=_uniform(rng, ranges.ambulance_factor),
        )
        stretch = d.factor * (d.speed / inst.speed_m_s)
        week = _week_of(inst, d.unknown, rng)
        w = _weights(inst, d, rng, ranges.demand_weight_cv)
        model = _model(inst, prep, week, inst.rank_m * stretch, w)
        top, best, objective = _rank(model, inst, solver)
        top_counts[top[:k]] += 1
        if best is not None:
            opt_counts[best] += 1
        figures[i, :3] = _coverage(inst, prep, week, inst.headline_m * stretch)
        figures[i, 3] = objective
        if progress is not None:
            progress(i + 1, draws, time.perf_counter() - start)
    ids = [str(x) for x in option_ids]
    return SensitivityResult(
        draws=draws,
        k=k,
        top_k_count={ids[j]: int(top_counts[j]) for j in np.flatnonzero(top_counts)},
        figures=figures,
        optimal_count={ids[j]: int(opt_counts[j]) for j in np.flatnonzero(opt_counts)},
        seed=seed,
        seconds=time.perf_counter() - start,
        solver_calls=0 if solver is None else solver.solved,
    )


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
_NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count_word(n: int) -> str:
    return _NUMBERS[n - 1] if 0 < n <= len(_NUMBERS) else str(n)


def verdict(stable: list[bool]) -> str:
    """Return a one-line verdict on the picks in rank order (``True``: stable).

    ``[True, True, False]`` gives "The first two picks are stable; the third is not."
    """
    n = len(stable)
    if n == 0:
        return "No pick to judge."
    if all(stable):
        return "The only pick is stable." if n == 1 else f"All {_count_word(n)} picks are stable."
    if not any(stable):
        return (
            "The only pick is not stable."
            if n == 1
            else f"None of the {_count_word(n)} picks is stable."
        )
    lead = 0
    while lead < n and stable[lead]:
        lead += 1
    if lead > 0 and not any(stable[lead:]):
        head = "The first pick is" if lead == 1 else f"The first {_count_word(lead)} picks are"
        rest = n - lead
        tail = (
            f"the {_ORDINALS[lead]} is not"
            if rest == 1 and lead < len(_ORDINALS)
            else f"the other {_count_word(rest)} are not"
        )
        return f"{head} stable; {tail}."
    yes = [str(i + 1) for i, s in enumerate(stable) if s]
    no = [str(i + 1) for i, s in enumerate(stable) if not s]

    def listed(items: list[str]) -> str:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    verb_yes = "is" if len(yes) == 1 else "are"
    verb_no = "is" if len(no) == 1 else "are"
    return (
        f"Pick{'s' if len(yes) > 1 else ''} {listed(yes)} {verb_yes} stable; "
        f"pick{'s' if len(no) > 1 else ''} {listed(no)} {verb_no} not."
    )
