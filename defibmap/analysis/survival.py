"""Expected survival as an objective: gradual coverage of each demand point by its best site.

An illustration, not a clinical prediction. The survival model is Larsen et al.'s linear
model (:data:`defibmap.defaults.SURVIVAL_MODEL`; Ann Emerg Med 1993), fitted on witnessed
out-of-hospital arrests in ventricular fibrillation in King County, Washington (1976-1991):

``S = intercept - cpr_per_min * t_cpr - defib_per_min * t_defib - acls_per_min * t_acls``

with the three times in minutes from the collapse (here from the 999 call: the collapse is
taken as the call) and ``S`` clipped to 0-1. It overstates survival for arrests of every
rhythm and says nothing of neurological outcome; it serves to weigh minutes saved against
each other, not to promise lives.

The times are those of the time-to-defib model (:mod:`defibmap.analysis.response_draws`),
with the same distributions, draws and seed (its ``DrawAssumptions``):

- CPR starts when the call handler recognises the arrest (``recognition_s``);
- advanced care arrives with the ambulance (its drawn response time);
- the first shock is the earlier of the ambulance and a second bystander's fetch from the
  site, ``recognition_s + 2 * walk / speed + cabinet_s`` (+ ``locked_cabinet_extra_s`` at a
  locked cabinet), with the speed drawn.

The expected survival of a point with one site at walk ``d`` is the ambulance-only survival
plus ``second_bystander * usable * delta(d)``, where ``delta(d)`` is the mean over the draws
of the survival gained when the fetch beats the ambulance (exact over the draws, by one sort
of the draws and a binary search per walk), ``second_bystander`` the
chance a second person can go and ``usable`` the share of the year the site is usable. The
fire co-responder is left out (an extra route the sites do not change).

Gradual coverage (Buter et al., Health Care Manag Sci 2024;27(4):503-524): each demand point
takes the benefit of its best open site, and a new site's benefit for a point is its
increase over the best existing defib's (existing defibs fixed, never removed). Choosing
``k`` sites to maximise the weighted sum is solved exactly as a mixed-integer programme
(HiGHS via :func:`scipy.optimize.milp`: assignment variables ``x_ij <= y_j``,
``sum_j x_ij <= 1``, ``sum_j y_j = k``) and greedily by marginal gain; the objective is
monotone submodular, so the greedy order is within 1 - 1/e of the optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from defibmap.analysis import response_draws as draws_
from defibmap.analysis.optimise import GreedyStep
from defibmap.defaults import SURVIVAL_MODEL

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CAVEAT",
    "MODEL_TEXT",
    "BeatsAmbulance",
    "SurvivalCurve",
    "SurvivalOptimum",
    "SurvivalRanking",
    "ambulance_groups",
    "ambulance_only",
    "beats_ambulance_m",
    "exact",
    "fetch_benefit",
    "gain_matrix",
    "greedy",
    "pair_values",
    "point_ambulance_only",
    "summarise",
    "total_gain",
]

#: How the survival ranking is found, as reported in ``summary.json``.
MODEL_TEXT = (
    "expected survival (Larsen et al., Ann Emerg Med 1993: linear in minutes to CPR, to the "
    "first shock and to advanced care), gradual coverage (Buter et al. 2024): each demand "
    "point takes its best open site; greedy marginal gain and exact optimum (MILP, HiGHS)"
)
#: The caveat every output prints with a survival figure (the model is an illustration).
CAVEAT = (
    "Expected survival is an illustration, not a prediction: Larsen et al.'s model (Ann Emerg "
    "Med 1993) was fitted on witnessed arrests in ventricular fibrillation in King County, "
    "Washington, 1976-1991, so it overstates survival for arrests in general and says nothing "
    "of neurological outcome. Use it to weigh minutes saved against each other."
)
#: Seconds a minute.
_MIN = 60.0

#: Gains below this share of the largest are treated as none (the MILP's pairs).
_TINY = 1e-12


@dataclass(frozen=True)
class SurvivalCurve:
    """Survival to discharge against minutes to CPR, first shock and advanced care.

    Attributes
    ----------
    intercept
        Survival (0-1) if all three happened at the collapse.
    cpr_per_min, defib_per_min, acls_per_min
        Survival (0-1) lost per minute to CPR, to the first shock and to advanced care.
    """

    intercept: float = SURVIVAL_MODEL["intercept"]
    cpr_per_min: float = SURVIVAL_MODEL["cpr_per_min"]
    defib_per_min: float = SURVIVAL_MODEL["defib_per_min"]
    acls_per_min: float = SURVIVAL_MODEL["acls_per_min"]

    def __post_init__(self) -> None:
        """Refuse a curve above 1 or rising with time (the gains assume neither)."""
        rates = (self.cpr_per_min, self.defib_per_min, self.acls_per_min)
        if not (0.0 <= self.intercept <= 1.0) or min(rates) < 0:
            msg = f"a survival curve needs an intercept in 0-1 and rates >= 0, got {self}"
            raise ValueError(msg)

    def probability(
        self, cpr_s: ArrayLike, defib_s: ArrayLike, acls_s: ArrayLike
    ) -> NDArray[np.float64]:
        """Return the survival probability (0-1) for times in seconds from the collapse.

        An infinite time (never) is read as the model's floor, 0.
        """
        cpr = np.asarray(cpr_s, dtype=np.float64) / _MIN
        defib = np.asarray(defib_s, dtype=np.float64) / _MIN
        acls = np.asarray(acls_s, dtype=np.float64) / _MIN
        with np.errstate(invalid="ignore"):
            value = (
                self.intercept
                - self.cpr_per_min * cpr
                - self.defib_per_min * defib
                - self.acls_per_min * acls
            )
        out: NDArray[np.float64] = np.clip(np.nan_to_num(value, nan=0.0, neginf=0.0), 0.0, 1.0)
        return out


def ambulance_groups(
    ambulance: draws_.Lognormal | draws_.AreaLognormal | draws_.Empirical, n_points: int
) -> tuple[list[draws_.Lognormal | draws_.Empirical], NDArray[np.int64]]:
    """Split the ambulance model into distinct distributions and each point's one.

    Returns the distributions and, per demand point, the index of its own.
    """
    if not isinstance(ambulance, draws_.AreaLognormal):
        return [ambulance], np.zeros(n_points, dtype=np.int64)
    keys = np.column_stack([ambulance.mu, ambulance.sigma, ambulance.fixed])
    # NaN never equals NaN: code the fixed time's absence as -1 before grouping
    keys = np.where(np.isnan(keys), -1.0, keys)
    unique, index = np.unique(keys, axis=0, return_inverse=True)
    groups: list[draws_.Lognormal | draws_.Empirical] = [
        draws_.Lognormal(mu=float(m), sigma=float(s), fixed=None if f < 0 else float(f))
        for m, s, f in unique
    ]
    return groups, np.asarray(index, dtype=np.int64).ravel()


def _draws(
    ambulance: draws_.Lognormal | draws_.Empirical, a: draws_.DrawAssumptions
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Draw the ambulance's seconds and the bystander's speed, ``a.draws`` each, from the seed."""
    rng = np.random.default_rng(a.seed)
    amb = ambulance.sample(rng, (1, a.draws))[0]
    speed = a.walking_speed.sample(rng, (1, a.draws))[0]
    return np.where(np.isfinite(amb), amb, np.inf), speed


def ambulance_only(
    ambulance: draws_.Lognormal | draws_.Empirical,
    a: draws_.DrawAssumptions,
    curve: SurvivalCurve | None = None,
) -> float:
    """Mean survival (0-1) over the draws when the ambulance brings the first shock."""
    curve = curve or SurvivalCurve()
    amb, _ = _draws(ambulance, a)
    return float(curve.probability(a.recognition_s, amb, amb).mean()) if amb.size else 0.0


def fetch_benefit(
    walk_m: ArrayLike,
    *,
    ambulance: draws_.Lognormal | draws_.Empirical,
    assumptions: draws_.DrawAssumptions,
    extra_s: float = 0.0,
    curve: SurvivalCurve | None = None,
) -> NDArray[np.float64]:
    """Mean survival (0-1) gained over the draws when a second bystander fetches from ``walk_m``.

    Per walk, the mean over the draws of ``S(cpr, min(fetch, ambulance), ambulance) -
    S(cpr, ambulance, ambulance)``: the fetch counts only when it is earlier. The chance that
    a second person goes and that the site is usable multiply it (:func:`pair_values`).

    Exact over the draws, without evaluating every (walk, draw) pair: in draw ``j`` the
    survival at a shock at ``t`` seconds is ``max(0, b / 60 * (u_j - t))`` (``b`` the loss per
    minute to the shock, ``u_j`` the shock time at which the rest of the formula reaches 0),
    so the gain of a fetch is ``b / 60 * max(0, m_j - fetch)`` with ``m_j = min(u_j,
    ambulance_j)``; with ``fetch = c + 2 d / v_j`` that is ``b / 60 * (2 / v_j) * max(0, D_j -
    d)``, ``D_j = (m_j - c) v_j / 2``. Summed over the draws it is piecewise linear in ``d``:
    sorting the ``D_j`` once and keeping running sums gives every walk's mean by one
    binary search. (Needs the curve's value at most 1, as Larsen's is: an intercept <= 1.)

    Parameters
    ----------
    walk_m
        One-way walks, metres (NaN or inf: out of reach, no gain).
    ambulance
        The ambulance's response distribution (one area's).
    assumptions
        The time model: walking speed, recognition, cabinet, draws and seed.
    extra_s
        Seconds added to the fetch (a locked cabinet's code).
    curve
        The survival model (default Larsen et al. 1993).
    """
    curve = curve or SurvivalCurve()
    a = assumptions
    walk = np.asarray(walk_m, dtype=np.float64).ravel()
    out = np.zeros(walk.size)
    amb, speed = _draws(ambulance, a)
    b = curve.defib_per_min
    if amb.size == 0 or walk.size == 0 or b <= 0:
        return out
    rest = curve.intercept - curve.cpr_per_min * a.recognition_s / _MIN
    with np.errstate(invalid="ignore"):
        # the shock time at which survival reaches 0 in each draw (-inf: never above 0)
        zero_at = (rest - curve.acls_per_min * amb / _MIN) * _MIN / b
        latest = np.minimum(zero_at, amb)
        reach_m = (latest - (a.recognition_s + a.cabinet_s + extra_s)) * speed / 2.0
    rate = 2.0 / speed
    keep = np.isfinite(reach_m) & (reach_m > 0) & np.isfinite(rate)
    order = np.argsort(reach_m[keep], kind="stable")
    d_sorted = reach_m[keep][order]
    r_sorted = rate[keep][order]
    # sums over the draws whose reach is beyond position i (suffix sums, 0 past the end)
    sum_rd = np.r_[np.cumsum((r_sorted * d_sorted)[::-1])[::-1], 0.0]
    sum_r = np.r_[np.cumsum(r_sorted[::-1])[::-1], 0.0]
    ok = np.isfinite(walk) & (walk >= 0)
    at = np.searchsorted(d_sorted, walk[ok], side="right")
    gained = sum_rd[at] - walk[ok] * sum_r[at]
    out[ok] = np.maximum(gained, 0.0) * b / _MIN / amb.size
    return out


def pair_values(
    walk_m: NDArray[np.float64],
    point: NDArray[np.int64],
    site_usable: NDArray[np.float64],
    site_extra_s: NDArray[np.float64],
    *,
    assumptions: draws_.DrawAssumptions,
    curve: SurvivalCurve | None = None,
) -> NDArray[np.float64]:
    """Survival (0-1) each (site, point) pair adds over the ambulance alone.

    ``second_bystander * usable * delta(walk)``, with ``delta`` from :func:`fetch_benefit`
    under the point's own ambulance distribution (its area's).

    Parameters
    ----------
    walk_m
        Per pair, the one-way walk in metres.
    point
        Per pair, the demand point's position (into the ambulance model's points).
    site_usable
        Per pair, the share (0-1) of the year the site is usable.
    site_extra_s
        Per pair, seconds added to the fetch at that site (a locked cabinet).
    assumptions
        The time model.
    curve
        The survival model.
    """
    a = assumptions
    walk = np.asarray(walk_m, dtype=np.float64)
    point = np.asarray(point, dtype=np.int64)
    n_points = int(point.max()) + 1 if point.size else 0
    if isinstance(a.ambulance, draws_.AreaLognormal):
        n_points = a.ambulance.mu.size
    groups, of_point = ambulance_groups(a.ambulance, n_points)
    delta = np.zeros(walk.size)
    group = of_point[point] if point.size else np.zeros(0, dtype=np.int64)
    extra = np.asarray(site_extra_s, dtype=np.float64)
    for g, dist in enumerate(groups):
        for value in np.unique(extra):
            pick = (group == g) & (extra == value)
            if not pick.any():
                continue
            delta[pick] = fetch_benefit(
                walk[pick], ambulance=dist, assumptions=a, extra_s=float(value), curve=curve
            )
    out: NDArray[np.float64] = a.second_bystander * np.asarray(site_usable) * delta
    return out


def gain_matrix(
    option_pairs: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]],
    baseline_value: NDArray[np.float64],
    weights: NDArray[np.float64],
    n_options: int,
) -> sp.csr_matrix:
    """Return options x demand: ``w_i * max(0, value_ij - baseline_i)``, only positive entries.

    ``option_pairs`` is ``(option, point, value)`` of :func:`pair_values`; ``baseline_value``
    the best existing site's value per point (0 where none).
    """
    site, point, value = option_pairs
    gain = np.asarray(weights, dtype=np.float64)[point] * np.maximum(
        0.0, value - baseline_value[point]
    )
    keep = gain > 0
    return sp.csr_matrix(
        (gain[keep], (site[keep], point[keep])), shape=(n_options, baseline_value.size)
    )


def total_gain(gain: sp.csr_matrix, sites: ArrayLike) -> float:
    """Return the weighted gain of a set of options: each point takes its best one."""
    chosen = np.asarray(sites, dtype=np.int64)
    if chosen.size == 0 or gain.nnz == 0:
        return 0.0
    best = gain[chosen].max(axis=0)
    return float(best.sum())


def greedy(
    gain: sp.csr_matrix,
    k: int,
    *,
    costs: NDArray[np.float64] | None = None,
    budget: float | None = None,
) -> list[GreedyStep]:
    """Greedy marginal-gain order: ``min(k, options)`` options (ties: the lowest position).

    With ``costs`` and a ``budget``: the largest gain per cost among the options still
    affordable, until none is.
    """
    g = sp.csr_matrix(gain)
    n_opt = g.shape[0]
    best = np.zeros(g.shape[1])
    chosen = np.zeros(n_opt, dtype=bool)
    row_of = np.repeat(np.arange(n_opt), np.diff(g.indptr))
    steps: list[GreedyStep] = []
    total = spent = 0.0
    budgeted = costs is not None and budget is not None
    limit = n_opt if budgeted else min(int(k), n_opt)
    while len(steps) < limit:
        extra = np.maximum(0.0, g.data - best[g.indices])
        marginal = np.bincount(row_of, weights=extra, minlength=n_opt)
        if budgeted and costs is not None and budget is not None:
            ok = ~chosen & (costs <= budget - spent + 1e-9)
            if not ok.any():
                break
            score = np.where(ok, marginal / np.maximum(costs, 1e-12), -np.inf)
            score = np.where(ok & (costs <= 0), np.inf, score)
        else:
            score = np.where(chosen, -np.inf, marginal)
        site = int(np.argmax(score))
        chosen[site] = True
        lo, hi = g.indptr[site], g.indptr[site + 1]
        cols = g.indices[lo:hi]
        best[cols] = np.maximum(best[cols], g.data[lo:hi])
        total += float(marginal[site])
        if budgeted and costs is not None:
            spent += float(costs[site])
        steps.append(GreedyStep(site, float(marginal[site]), total))
    return steps


@dataclass(frozen=True)
class SurvivalOptimum:
    """The exact optimum of the gradual-coverage model.

    Attributes
    ----------
    sites
        Positions of the chosen options (ascending).
    objective
        Their weighted gain, recomputed from the sites (:func:`total_gain`).
    status
        HiGHS's message, starting with ``"Optimal"`` when proven optimal.
    optimal
        Whether ``objective`` is proven optimal.
    """

    sites: NDArray[np.int64]
    objective: float
    status: str
    optimal: bool


def exact(
    gain: sp.csr_matrix,
    k: int,
    *,
    costs: NDArray[np.float64] | None = None,
    budget: float | None = None,
    time_limit_s: float | None = None,
) -> SurvivalOptimum:
    """Solve max ``sum_ij gain_ij x_ij`` over ``k`` options (or within ``budget``) with HiGHS.

    Variables ``y_j`` (option open, binary) and ``x_ij`` (point i takes option j, 0-1, one
    per positive gain); rows ``x_ij - y_j <= 0``, ``sum_j x_ij <= 1``, and ``sum_j y_j =
    min(k, options)`` (or ``sum_j cost_j y_j <= budget``). With ``y`` integral the best
    ``x`` is integral too, so only ``y`` is declared integer.
    """
    g = sp.coo_matrix(gain)
    n_opt = g.shape[0]
    budgeted = costs is not None and budget is not None
    k_eff = min(int(k), n_opt)
    if n_opt == 0 or (not budgeted and k_eff == 0):
        none = np.zeros(0, dtype=np.int64)
        return SurvivalOptimum(none, 0.0, "Optimal (nothing to choose)", optimal=True)
    if g.nnz == 0 and not budgeted:
        # no option gains anything: the lowest positions, as the greedy order picks them
        sites = np.arange(k_eff, dtype=np.int64)
        return SurvivalOptimum(sites, 0.0, "Optimal (no option adds survival)", optimal=True)
    n_pair = g.nnz
    pair = np.arange(n_pair)
    c = np.concatenate([np.zeros(n_opt), -np.asarray(g.data, dtype=np.float64)])
    # x_ij - y_j <= 0
    link = sp.csr_matrix(
        (
            np.concatenate([np.ones(n_pair), -np.ones(n_pair)]),
            (np.concatenate([pair, pair]), np.concatenate([n_opt + pair, g.row])),
        ),
        shape=(n_pair, n_opt + n_pair),
    )
    # sum_j x_ij <= 1
    points, row = np.unique(g.col, return_inverse=True)
    assign = sp.csr_matrix(
        (np.ones(n_pair), (np.asarray(row).ravel(), n_opt + pair)),
        shape=(points.size, n_opt + n_pair),
    )
    rows = [
        LinearConstraint(link, -np.inf, 0.0),
        LinearConstraint(assign, -np.inf, 1.0),
    ]
    if budgeted and costs is not None and budget is not None:
        knap = sp.csr_matrix(np.concatenate([np.asarray(costs, float), np.zeros(n_pair)])[None, :])
        rows.append(LinearConstraint(knap, -np.inf, float(budget)))
    else:
        card = sp.csr_matrix(np.concatenate([np.ones(n_opt), np.zeros(n_pair)])[None, :])
        rows.append(LinearConstraint(card, k_eff, k_eff))
    integrality = np.concatenate([np.ones(n_opt), np.zeros(n_pair)])
    options: dict[str, float] = {"mip_rel_gap": 1e-9}
    if time_limit_s is not None:
        options["time_limit"] = float(time_limit_s)
    res = milp(
        c,
        constraints=rows,
        integrality=integrality,
        bounds=Bounds(np.zeros(n_opt + n_pair), np.ones(n_opt + n_pair)),
        options=options,
    )
    if res.x is None:
        none = np.zeros(0, dtype=np.int64)
        return SurvivalOptimum(none, 0.0, str(res.message), optimal=False)
    sites = np.flatnonzero(np.asarray(res.x[:n_opt]) > 0.5).astype(np.int64)
    proven = bool(res.status == 0)
    status = ("Optimal" if proven else "Not proven optimal") + f": {res.message}"
    return SurvivalOptimum(sites, total_gain(gain, sites), status, proven)


@dataclass(frozen=True)
class BeatsAmbulance:
    """The walk at which a second bystander's fetch beats the ambulance in half the draws.

    Attributes
    ----------
    walk_m
        The longest one-way walk, metres, at which the fetch (``recognition_s`` + there and
        back at the drawn speed + ``cabinet_s``) arrives before the ambulance in at least
        half of the draws; 0 when even a walk of 0 m does not.
    share_at_walk
        The share (0-1) of draws the fetch wins at that walk.
    """

    walk_m: float
    share_at_walk: float


def beats_ambulance_m(
    ambulance: draws_.Lognormal | draws_.Empirical,
    assumptions: draws_.DrawAssumptions,
    *,
    share: float = 0.5,
) -> BeatsAmbulance:
    """Return the walk at which the fetch beats the ambulance in ``share`` of the draws.

    With the draws of the time model (its ambulance distribution for one area, its walking
    speed distribution, seed and number of draws), the fetch at walk ``d`` beats the
    ambulance in a draw when ``recognition_s + 2 d / speed + cabinet_s < ambulance``, that
    is when ``d < (ambulance - recognition_s - cabinet_s) * speed / 2``. The share of wins
    falls with ``d``, so the answer is the ``1 - share`` quantile (lower) of that bound over
    the draws. Conditional on a second person going (``second_bystander`` is left out) and
    on an unlocked cabinet usable at the hour.
    """
    a = assumptions
    amb, speed = _draws(ambulance, a)
    if amb.size == 0:
        return BeatsAmbulance(float("nan"), float("nan"))
    with np.errstate(invalid="ignore"):
        bound = (amb - a.recognition_s - a.cabinet_s) * speed / 2.0
    bound = np.sort(np.where(np.isnan(bound), -np.inf, bound))
    # wins at d: count(bound > d); the largest d with count >= share * n is just under the
    # (n - ceil(share * n))-th smallest bound, the one ceil(share * n) from the top
    need = max(1, math.ceil(share * bound.size - 1e-9))
    walk = float(bound[bound.size - need])
    if not math.isfinite(walk) or walk <= 0:
        wins = float(np.mean(bound > 0.0))
        return BeatsAmbulance(0.0, wins)
    return BeatsAmbulance(walk, float(np.mean(bound >= walk)))


@dataclass(frozen=True, eq=False)
class SurvivalRanking:
    """Options ranked by expected survivors added: greedy order and exact optimum.

    Survivors are in the unit of the ranking's weight times a probability: with the demand
    weighted by expected arrests a year, survivors a year; with residents, resident-weighted
    survival (use ``per_arrest`` figures). An illustration (:mod:`defibmap.analysis.survival`).

    Attributes
    ----------
    order
        Option ids in the greedy order.
    added
        Survivors each adds in that order (marginal).
    greedy_survivors_added, optimal_survivors_added
        Survivors the greedy and the optimal set add over today's defibs.
    optimal_site_ids
        The optimal set's ids, sorted.
    optimal
        Whether the exact optimum is proven.
    solver_status
        HiGHS's message.
    weight_total
        The summed weight (arrests a year, or residents).
    survival_ambulance_only, survival_now
        Mean survival per arrest (0-1), weighted over the demand points, with the ambulance
        alone and with today's defibs.
    greedy_per_arrest_added, optimal_per_arrest_added
        Survival (0-1) per arrest the greedy and the optimal set add.
    limit_m
        The longest walk weighed, metres.
    draws
        Draws of the time model the expectations are taken over.
    method
        How it was found (text).
    weight_unit
        What the weight counts (``None`` outside a study).
    survivors_per_year
        Whether the weight is expected arrests a year (survivors are then a year's).
    coverage_order
        The covering ranking's greedy order (option ids), to set beside this one.
    """

    order: tuple[str, ...]
    added: tuple[float, ...]
    greedy_survivors_added: float
    optimal_survivors_added: float
    optimal_site_ids: tuple[str, ...]
    optimal: bool
    solver_status: str
    weight_total: float
    survival_ambulance_only: float
    survival_now: float
    greedy_per_arrest_added: float
    optimal_per_arrest_added: float
    limit_m: float
    draws: int
    method: str = MODEL_TEXT
    weight_unit: str | None = None
    survivors_per_year: bool = False
    coverage_order: tuple[str, ...] = ()

    def info(self) -> dict[str, object]:
        """Return the figures by name (lists for the tuples)."""
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("order", "added", "optimal_site_ids", "coverage_order"):
            out[key] = list(getattr(self, key))
        return out


def _weighted_mean(values: NDArray[np.float64], weights: NDArray[np.float64]) -> float:
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total > 0 else 0.0


def summarise(
    *,
    steps: list[GreedyStep],
    optimum: SurvivalOptimum,
    ids: NDArray[np.str_],
    weights: NDArray[np.float64],
    base: Mapping[str, NDArray[np.float64]],
    limit_m: float,
    draws: int,
) -> SurvivalRanking:
    """Gather a ranking's figures; ``base`` holds per point ``ambulance`` and ``now`` (0-1)."""
    w = np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    greedy_total = steps[-1].cumulative if steps else 0.0
    return SurvivalRanking(
        order=tuple(str(ids[s.site]) for s in steps),
        added=tuple(s.added for s in steps),
        greedy_survivors_added=greedy_total,
        optimal_survivors_added=optimum.objective,
        optimal_site_ids=tuple(sorted(str(ids[s]) for s in optimum.sites)),
        optimal=optimum.optimal,
        solver_status=optimum.status,
        weight_total=total,
        survival_ambulance_only=_weighted_mean(base["ambulance"], w),
        survival_now=_weighted_mean(base["now"], w),
        greedy_per_arrest_added=greedy_total / total if total > 0 else 0.0,
        optimal_per_arrest_added=optimum.objective / total if total > 0 else 0.0,
        limit_m=float(limit_m),
        draws=int(draws),
    )


def point_ambulance_only(
    assumptions: draws_.DrawAssumptions, n_points: int, curve: SurvivalCurve | None = None
) -> NDArray[np.float64]:
    """Per demand point, mean survival (0-1) with the ambulance alone (its area's)."""
    groups, of_point = ambulance_groups(assumptions.ambulance, n_points)
    values = np.array([ambulance_only(g, assumptions, curve) for g in groups])
    out: NDArray[np.float64] = values[of_point] if n_points else np.zeros(0)
    return out
