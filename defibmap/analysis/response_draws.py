"""Time to the first defibrillator as a distribution: Monte Carlo draws with a fixed seed.

:mod:`defibmap.analysis.response` measures one time per resident from fixed assumptions.
Real responses vary: the ambulance takes 3 minutes on one call and 15 on the next, a
bystander walks or runs, a second person may or may not be there to fetch the defib while
the first does CPR, the fire crew may be out on another call. Each draw here is one arrest
at every demand point with every uncertain part drawn at random:

- **ambulance**: a lognormal matched to a mean and 90th centile (default the NHS England
  Category 1 standard, 7 min mean, 15 min 90th centile), observed response times resampled
  (:class:`Empirical`), or a fixed time per point (turnout plus the drive from a base);
- **bystander fetch**: ``recognition_s + 2 * walk / speed + cabinet`` (+ the extra at a
  locked cabinet), with the speed drawn from a lognormal around the median walking speed;
  it happens only when a second person can go (probability ``second_bystander``) and the
  nearest defib is usable at that hour (probability ``usable``, per point; 1.0 until the
  availability analysis feeds it);
- **fire co-responder**: ``recognition_s`` + turnout + drive (turnout already in the
  per-point figure), only when the crew is available (probability ``fire_available``);
- **community first responder** (when the study has volunteers): ``recognition_s`` + the
  nearest volunteer's walk / their speed, only when that volunteer accepts the alert and
  brings a defib (probability ``responder_accept``), drawn from a random stream of its own
  so that a study without volunteers, or with ``responder_accept = 0``, draws exactly the
  same numbers as before.

The time to the first defib is the smallest of these. All scenarios of one study share
the same random numbers (common random numbers), so a difference between scenarios is the
effect of the sites, not noise. The draws are vectorised by blocks of draws; the same seed
gives the same figures.

With every spread at zero (the ambulance fixed at its mean, ``walking_speed_sigma = 0``,
``second_bystander = 1``, ``fire_available = 1``, ``recognition_s = 0`` and every defib
usable) every draw equals the fixed-time model of :func:`defibmap.analysis.response.time_to_defib`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from defibmap.analysis.response import NO_ROUTE, ROUTES

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import ArrayLike, NDArray

#: The standard normal quantile at 0.9 (90th centile), to 10 digits.
Z90 = 1.2815515655
#: The standard normal quantile at 0.75 (upper quartile), to 10 digits.
Z75 = 0.6744897502
#: Largest number of (point, draw) cells drawn at once; bounds the working memory.
BLOCK_CELLS = 4_000_000
#: The route of a community first responder (after :data:`ROUTES`: its code is 3).
RESPONDER_ROUTE = "first_responder"
#: Every route a draw can take, in code order (ties: bystander, fire, ambulance, volunteer).
DRAWN_ROUTES = (*ROUTES, RESPONDER_ROUTE)


@dataclass(frozen=True)
class Lognormal:
    """A lognormal distribution, ``exp(mu + sigma * Z)``; sigma 0 is the fixed value.

    Attributes
    ----------
    mu
        Mean of the logarithm.
    sigma
        Standard deviation of the logarithm (>= 0).
    fixed
        The value itself when ``sigma`` is 0, drawn exactly (``exp(log(x))`` can differ
        from ``x`` in the last bit), else None.
    """

    mu: float
    sigma: float
    fixed: float | None = None

    @classmethod
    def from_mean_p90(cls, mean: float, p90: float) -> Lognormal:
        """Return the lognormal with this mean and 90th centile.

        ``mean = exp(mu + sigma**2 / 2)`` and ``p90 = exp(mu + Z90 * sigma)``; subtracting
        the logarithms gives ``sigma**2 / 2 - Z90 * sigma + log(p90 / mean) = 0``, so
        ``sigma = Z90 - sqrt(Z90**2 - 2 * log(p90 / mean))`` (the smaller root: the other
        puts the mode near zero). A solution needs ``mean <= p90 <= mean *
        exp(Z90**2 / 2)`` (about 2.27 times the mean); ``p90 == mean`` gives sigma 0.

        Raises
        ------
        ValueError
            When no lognormal has this mean and 90th centile.
        """
        if mean == p90 and mean >= 0:  # one fixed time (0: the ambulance is there at once)
            return cls(mu=math.log(mean) if mean > 0 else -math.inf, sigma=0.0, fixed=float(mean))
        if not (mean > 0 and p90 > 0):
            msg = f"the mean ({mean}) and 90th centile ({p90}) must be above 0"
            raise ValueError(msg)
        ratio = math.log(p90 / mean)
        disc = Z90 * Z90 - 2.0 * ratio
        if ratio < 0 or disc < 0:
            top = mean * math.exp(Z90 * Z90 / 2.0)
            msg = (
                f"no lognormal has mean {mean:g} s and 90th centile {p90:g} s: the 90th "
                f"centile must lie from the mean to {top:,.0f} s"
            )
            raise ValueError(msg)
        sigma = Z90 - math.sqrt(disc)
        if sigma <= 1e-12:
            return cls(mu=math.log(mean), sigma=0.0, fixed=float(mean))
        return cls(mu=math.log(mean) - sigma * sigma / 2.0, sigma=sigma)

    @classmethod
    def from_median_sigma(cls, median: float, sigma: float) -> Lognormal:
        """Return the lognormal with this median and log-scale spread (0: fixed)."""
        if sigma <= 0:
            return cls(mu=math.log(median), sigma=0.0, fixed=float(median))
        return cls(mu=math.log(median), sigma=float(sigma))

    @property
    def mean(self) -> float:
        """The mean, ``exp(mu + sigma**2 / 2)``."""
        if self.fixed is not None:
            return self.fixed
        return math.exp(self.mu + self.sigma * self.sigma / 2.0)

    def sample(self, rng: np.random.Generator, shape: tuple[int, int]) -> NDArray[np.float64]:
        """Draw an array of ``shape``."""
        if self.fixed is not None:
            return np.full(shape, self.fixed)
        return np.exp(self.mu + self.sigma * rng.standard_normal(shape))


@dataclass(frozen=True)
class AreaLognormal:
    """A lognormal per demand point: each point's area's own mean and 90th centile.

    Attributes
    ----------
    mu, sigma
        Per point, the lognormal's parameters (see :class:`Lognormal`).
    fixed
        Per point, the one fixed time where the area's 90th centile equals its mean, else NaN.
    """

    mu: NDArray[np.float64]
    sigma: NDArray[np.float64]
    fixed: NDArray[np.float64]

    @classmethod
    def from_mean_p90(cls, means: ArrayLike, p90s: ArrayLike) -> AreaLognormal:
        """Return the per-point lognormals (each as :meth:`Lognormal.from_mean_p90`)."""
        mean = np.asarray(means, dtype=np.float64)
        p90 = np.asarray(p90s, dtype=np.float64)
        mu, sigma, fixed = np.zeros(mean.size), np.zeros(mean.size), np.full(mean.size, np.nan)
        pairs = np.column_stack([mean, p90])
        for pair in np.unique(pairs, axis=0):
            one = Lognormal.from_mean_p90(float(pair[0]), float(pair[1]))
            at = (pairs == pair).all(axis=1)
            mu[at], sigma[at] = one.mu, one.sigma
            fixed[at] = np.nan if one.fixed is None else one.fixed
        return cls(mu=mu, sigma=sigma, fixed=fixed)

    @property
    def mean(self) -> float:
        """The mean over points of each point's mean."""
        if self.mu.size == 0:
            return float("nan")
        each = np.where(
            np.isnan(self.fixed), np.exp(self.mu + self.sigma * self.sigma / 2.0), self.fixed
        )
        return float(np.mean(each))

    def sample(self, rng: np.random.Generator, shape: tuple[int, int]) -> NDArray[np.float64]:
        """Draw an array of ``shape`` (points, draws)."""
        z = rng.standard_normal(shape)
        drawn = np.exp(self.mu[:, None] + self.sigma[:, None] * z)
        return np.where(np.isnan(self.fixed)[:, None], drawn, self.fixed[:, None])


@dataclass(frozen=True)
class Empirical:
    """Observed values resampled with replacement (e.g. a trust's response times, seconds)."""

    observed: NDArray[np.float64]

    @property
    def mean(self) -> float:
        """The mean of the observed values."""
        return float(np.mean(self.observed))

    def sample(self, rng: np.random.Generator, shape: tuple[int, int]) -> NDArray[np.float64]:
        """Draw an array of ``shape``."""
        return np.asarray(rng.choice(self.observed, size=shape, replace=True), dtype=np.float64)


@dataclass(frozen=True)
class DrawAssumptions:
    """The distributions and probabilities of the three routes.

    Attributes
    ----------
    ambulance
        Ambulance response time, seconds from the call: area-wide, per point (each
        area's own), or observed times resampled.
    walking_speed
        Bystander speed, m/s.
    recognition_s
        Seconds from the call until the arrest is recognised and a bystander sent for the
        defib (and the fire crew alerted); the ambulance clock runs from the call.
    second_bystander
        Probability (0-1) that a second person can fetch the defib while CPR goes on.
    fire_available
        Probability (0-1) that the co-responding crew is free to go.
    cabinet_s
        Seconds to open a cabinet and take the defib.
    locked_cabinet_extra_s
        Extra seconds at a locked cabinet.
    draws
        Number of draws.
    seed
        Seed of the random numbers.
    responder_accept
        Probability (0-1) that the nearest community first responder accepts the alert
        and brings a defib (0 without volunteers).
    """

    ambulance: Lognormal | AreaLognormal | Empirical
    walking_speed: Lognormal
    recognition_s: float
    second_bystander: float
    fire_available: float
    cabinet_s: float
    locked_cabinet_extra_s: float
    draws: int
    seed: int
    responder_accept: float = 0.0


@dataclass(frozen=True)
class ScenarioInputs:
    """One scenario's per-point inputs to :func:`draw_scenarios`.

    Attributes
    ----------
    walk_m
        One-way walk to the nearest defib, metres; NaN where none is in reach.
    locked
        Whether that defib is in a locked cabinet.
    usable
        Probability that that defib is usable at the hour of the arrest, 0-1. The hook for
        the availability analysis (e.g. the share of hours it is usable); 1.0 counts every
        defib as always usable.
    fire_s
        Fire turnout plus drive, seconds (without recognition); NaN where no crew reaches
        the point, or None without a co-responder scheme.
    responder_s
        The nearest community first responder's travel to the point, seconds (without
        recognition); NaN where none is within the alert distance, or None without
        volunteers.
    """

    walk_m: NDArray[np.float64]
    locked: NDArray[np.bool_]
    usable: NDArray[np.float64]
    fire_s: NDArray[np.float64] | None = None
    responder_s: NDArray[np.float64] | None = None


@dataclass(frozen=True)
class DrawnScenario:
    """The draws of one scenario: ``times[p, d]`` seconds to the first defib at point p.

    Attributes
    ----------
    times
        Seconds to the first defib per point and draw; inf where no route reaches it.
    ambulance
        The ambulance's seconds per point and draw (shared by every scenario).
    route
        Index into ``routes`` of the first route per point and draw; -1 where none.
    routes
        The route names the codes index: :data:`~defibmap.analysis.response.ROUTES`, and
        :data:`RESPONDER_ROUTE` after them when the study has community first responders.
    """

    times: NDArray[np.float64]
    ambulance: NDArray[np.float64] = field(repr=False)
    route: NDArray[np.int8] = field(repr=False)
    routes: tuple[str, ...] = ROUTES


#: Largest number of (point, draw, scenario) cells kept at once (about 9 bytes each).
MAX_KEPT_CELLS = 60_000_000


def draws_within_memory(n_points: int, n_scenarios: int, draws: int) -> int:
    """Return ``draws``, or fewer so that every scenario's draws fit :data:`MAX_KEPT_CELLS`.

    Each scenario keeps seconds and a route per point and draw; at least 100 draws are
    kept (or all, when fewer are asked for).
    """
    cells = max(n_points, 1) * (max(n_scenarios, 1) + 1)
    return min(draws, max(MAX_KEPT_CELLS // cells, 100))


def _block_size(n: int, draws: int) -> int:
    return max(1, min(draws, BLOCK_CELLS // max(n, 1)))


def draw_scenarios(
    scenarios: Mapping[str, ScenarioInputs],
    *,
    assumptions: DrawAssumptions,
    ambulance_fixed_s: ArrayLike | None = None,
) -> dict[str, DrawnScenario]:
    """Draw the time to the first defib for every scenario with the same random numbers.

    Parameters
    ----------
    scenarios
        Per scenario name, its inputs; every scenario has the same points.
    assumptions
        Distributions, probabilities, the number of draws and the seed.
    ambulance_fixed_s
        Per point, a fixed ambulance time in seconds (turnout plus the drive from a base;
        NaN where no base reaches the point) instead of the area-wide distribution.

    Returns
    -------
    dict of str to DrawnScenario
        In the order of ``scenarios``.
    """
    a = assumptions
    n = len(next(iter(scenarios.values())).walk_m) if scenarios else 0
    rng = np.random.default_rng(a.seed)
    out_t = {name: np.empty((n, a.draws)) for name in scenarios}
    out_r = {name: np.empty((n, a.draws), dtype=np.int8) for name in scenarios}
    amb_all = np.empty((n, a.draws))
    fixed = None if ambulance_fixed_s is None else np.asarray(ambulance_fixed_s, dtype=np.float64)
    # volunteers draw from a stream of their own: the other routes' numbers never change
    volunteers = any(sc.responder_s is not None for sc in scenarios.values())
    rng_responder = np.random.default_rng([a.seed, 1]) if volunteers else None
    step = _block_size(n, a.draws)
    for start in range(0, a.draws, step):
        k = min(step, a.draws - start)
        shape = (n, k)
        # drawn in a fixed order, every block, whatever the scenarios need
        amb = a.ambulance.sample(rng, shape)
        speed = a.walking_speed.sample(rng, shape)
        u_second = rng.random(shape)
        u_fire = rng.random(shape)
        u_responder = None if rng_responder is None else rng_responder.random(shape)
        if fixed is not None:
            amb = np.broadcast_to(fixed[:, None], shape).copy()
        amb_all[:, start : start + k] = amb
        for name, sc in scenarios.items():
            t, r = _one_block(
                sc,
                a,
                amb=amb,
                speed=speed,
                u_second=u_second,
                u_fire=u_fire,
                u_responder=u_responder,
            )
            out_t[name][:, start : start + k] = t
            out_r[name][:, start : start + k] = r
    routes = DRAWN_ROUTES if volunteers else ROUTES
    return {
        name: DrawnScenario(times=out_t[name], ambulance=amb_all, route=out_r[name], routes=routes)
        for name in scenarios
    }


def _one_block(
    sc: ScenarioInputs,
    a: DrawAssumptions,
    *,
    amb: NDArray[np.float64],
    speed: NDArray[np.float64],
    u_second: NDArray[np.float64],
    u_fire: NDArray[np.float64],
    u_responder: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Return the times and first routes of one scenario for one block of draws."""
    walk = np.asarray(sc.walk_m, dtype=np.float64)[:, None]
    # the same expression as the fixed-time model, so the degenerate case matches it exactly
    fetch = 2.0 * walk / speed + a.cabinet_s
    fetch = fetch + np.where(sc.locked[:, None], a.locked_cabinet_extra_s, 0.0)
    fetch = fetch + a.recognition_s
    goes = u_second < a.second_bystander * np.asarray(sc.usable, dtype=np.float64)[:, None]
    fetch = np.where(goes & np.isfinite(fetch), fetch, np.inf)
    if sc.fire_s is None:
        fire = np.full(amb.shape, np.inf)
    else:
        fire_s = np.asarray(sc.fire_s, dtype=np.float64)[:, None] + a.recognition_s
        fire = np.where((u_fire < a.fire_available) & np.isfinite(fire_s), fire_s, np.inf)
    ambulance = np.where(np.isfinite(amb), amb, np.inf)
    routes = [fetch, fire, ambulance]
    if sc.responder_s is not None and u_responder is not None:
        travel = np.asarray(sc.responder_s, dtype=np.float64)[:, None] + a.recognition_s
        goes_too = (u_responder < a.responder_accept) & np.isfinite(travel)
        routes.append(np.where(goes_too, travel, np.inf))
    stacked = np.stack(routes)
    first = np.argmin(stacked, axis=0)  # the first minimum: bystander, fire, ambulance, ...
    best = np.take_along_axis(stacked, first[None], axis=0)[0]
    route = np.where(np.isfinite(best), first, -1).astype(np.int8)
    return best, route


def weighted_medians(
    times: NDArray[np.float64], weights: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return the weighted median of each column (draw), as ``response.weighted_median``.

    The smallest value whose cumulative weight (ascending) reaches half the total; inf
    (never reached) counts as larger than every number and gives NaN.
    """
    total = float(weights.sum())
    if total <= 0 or times.size == 0:
        return np.full(times.shape[1], np.nan)
    order = np.argsort(times, axis=0, kind="stable")
    cum = np.cumsum(weights[order], axis=0)
    pos = np.minimum((cum < total / 2.0).sum(axis=0), times.shape[0] - 1)
    vals = np.take_along_axis(times, order, axis=0)[pos, np.arange(times.shape[1])]
    return np.where(np.isfinite(vals), vals, np.nan)


@dataclass(frozen=True)
class PopulationFigures:
    """Population figures of one scenario over the draws (see :func:`population_figures`)."""

    population: float
    draws: int
    median_s: float | None
    median_s_p10: float | None
    median_s_p90: float | None
    within_min_share: dict[str, float]
    within_min_share_p10: dict[str, float]
    within_min_share_p90: dict[str, float]
    first_route_share: dict[str, float]
    p_defib_before_ambulance: float
    expected_min_saved: float | None


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def population_figures(
    drawn: DrawnScenario, population: ArrayLike, *, within_min: Sequence[float] = (3, 5, 8)
) -> PopulationFigures:
    """Population-weighted figures of one scenario, pooled over people and draws.

    ``median_s`` is the weighted median over every (person, draw); ``within_min_share`` the
    share of (person, draw) reached within each number of minutes (the mean of the per-draw
    shares); the ``_p10`` / ``_p90`` siblings are the 10th and 90th percentiles across draws
    of the per-draw median and shares (each draw is one arrest at every point).
    ``p_defib_before_ambulance`` is the population-weighted probability that a bystander or
    fire crew brings a defib strictly before the ambulance; ``expected_min_saved`` the
    population-weighted mean of (ambulance - first defib) in minutes, over points the
    ambulance reaches (None when it reaches none).
    """
    people = np.asarray(population, dtype=np.float64).ravel()
    times = drawn.times
    draws = times.shape[1]
    total = float(people.sum())
    per_draw = weighted_medians(times, people)
    pooled = _pooled_median(times, people)
    within: dict[str, float] = {}
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    for minutes in within_min:
        key = f"{minutes:g}"
        if total > 0 and draws:
            shares = (people[:, None] * (times <= 60.0 * minutes)).sum(axis=0) / total
            within[key] = float(shares.mean())
            lo[key] = float(np.percentile(shares, 10))
            hi[key] = float(np.percentile(shares, 90))
        else:
            within[key] = lo[key] = hi[key] = 0.0
    first: dict[str, float] = {}
    for idx, name in enumerate((*drawn.routes, NO_ROUTE)):
        code = -1 if name == NO_ROUTE else idx
        count = (drawn.route == code).mean(axis=1) if draws else np.zeros(people.size)
        first[name] = float((people * count).sum() / total) if total > 0 else 0.0
    before = per_point_before(drawn)
    saved = per_point_saved_min(drawn)
    reached = np.isfinite(saved)
    saved_w = float(people[reached].sum())
    finite = per_draw[np.isfinite(per_draw)]
    return PopulationFigures(
        population=total,
        draws=draws,
        median_s=_none_if_nan(pooled),
        median_s_p10=float(np.percentile(finite, 10)) if finite.size == draws and draws else None,
        median_s_p90=float(np.percentile(finite, 90)) if finite.size == draws and draws else None,
        within_min_share=within,
        within_min_share_p10=lo,
        within_min_share_p90=hi,
        first_route_share=first,
        p_defib_before_ambulance=float((people * before).sum() / total) if total > 0 else 0.0,
        expected_min_saved=float((people[reached] * saved[reached]).sum() / saved_w)
        if saved_w > 0
        else None,
    )


def _pooled_median(times: NDArray[np.float64], people: NDArray[np.float64]) -> float:
    """Weighted median over every (point, draw), each draw weighing the same."""
    if times.size == 0 or people.sum() <= 0:
        return float("nan")
    flat = times.ravel()
    w = np.repeat(people, times.shape[1])
    order = np.argsort(flat, kind="stable")
    cum = np.cumsum(w[order])
    pos = min(int(np.searchsorted(cum, cum[-1] / 2.0, side="left")), flat.size - 1)
    value = float(flat[order][pos])
    return value if math.isfinite(value) else float("nan")


def per_point_before(drawn: DrawnScenario) -> NDArray[np.float64]:
    """Per point, the share of draws in which a bystander or fire crew beats the ambulance."""
    if drawn.times.shape[1] == 0:
        return np.zeros(drawn.times.shape[0])
    return np.asarray((drawn.times < drawn.ambulance).mean(axis=1), dtype=np.float64)


def per_point_saved_min(drawn: DrawnScenario) -> NDArray[np.float64]:
    """Per point, the mean minutes by which the first defib beats the ambulance (0 if not).

    NaN where the ambulance does not reach the point (no base within the drive limit).
    """
    amb = drawn.ambulance
    with np.errstate(invalid="ignore"):
        gain = np.where(np.isfinite(amb), amb - drawn.times, np.nan)
    if gain.shape[1] == 0:
        return np.full(gain.shape[0], np.nan)
    out = np.full(gain.shape[0], np.nan)
    ok = np.isfinite(gain).all(axis=1)
    out[ok] = gain[ok].mean(axis=1) / 60.0
    return out


def per_point_quantile(drawn: DrawnScenario, q: float) -> NDArray[np.float64]:
    """Per point, the ``q`` quantile of the time to the first defib over draws; NaN if never."""
    if drawn.times.shape[1] == 0:
        return np.full(drawn.times.shape[0], np.nan)
    with np.errstate(invalid="ignore"):
        vals = np.quantile(drawn.times, q, axis=1)
    return np.where(np.isfinite(vals), vals, np.nan)


def per_point_route(drawn: DrawnScenario) -> NDArray[np.str_]:
    """Per point, the route most often first over the draws (ties: bystander, fire, ambulance)."""
    codes = (*range(len(drawn.routes)), -1)
    counts = np.stack([(drawn.route == c).sum(axis=1) for c in codes], axis=1)
    names: NDArray[np.str_] = np.asarray([*drawn.routes, NO_ROUTE], dtype=np.str_)
    if counts.shape[0] == 0:
        return names[:0]
    picked: NDArray[np.str_] = names[np.argmax(counts, axis=1)]
    return picked
