"""The study's sensitivity stage: draws over the assumptions, rank stability, intervals.

Runs after :func:`defibmap.study.stages.rank` when the study asks for draws (``defibmap run
--sensitivity N``, or a ``[sensitivity]`` section): measures the option x demand and defib x
demand walks once, up to the longest walk a draw can reach, then hands them to
:func:`defibmap.analysis.sensitivity.run`, which re-thresholds, re-weights and re-ranks per draw.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from defibmap import _progress
from defibmap.analysis import reach as _reach
from defibmap.analysis import sensitivity as _sens
from defibmap.analysis.time_slices import Week
from defibmap.defaults import (
    SENSITIVITY_AMBULANCE_FACTOR,
    SENSITIVITY_DEMAND_WEIGHT_CV,
    SENSITIVITY_DRAWS,
    SENSITIVITY_SECOND_BYSTANDER,
    SENSITIVITY_SEED,
    SENSITIVITY_STABLE_SHARE,
    SENSITIVITY_THRESHOLD_FACTOR,
    SENSITIVITY_UNKNOWN_HOURS,
    SENSITIVITY_WALKING_SPEED_M_S,
)
from defibmap.study import board, stages
from defibmap.study import timing as _timing
from defibmap.study.parts import Sensitivity

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from defibmap.config.study_file import StudyConfig

__all__ = ["draws_of", "ranges_of", "sensitivity", "with_draws"]

logger = logging.getLogger(__name__)


def draws_of(config: StudyConfig) -> int:
    """Return the draws a study asks for: 0 without ``[sensitivity]``, else its ``draws``."""
    if not config.sensitivity:
        return 0
    draws = config.sensitivity.get("draws")
    return SENSITIVITY_DRAWS if draws is None else int(draws)


def with_draws(config: StudyConfig, draws: int) -> StudyConfig:
    """Return ``config`` asking for ``draws`` draws (the command line's ``--sensitivity N``)."""
    return replace(config, sensitivity={**config.sensitivity, "draws": int(draws)})


def ranges_of(config: StudyConfig) -> _sens.Ranges:
    """Return the ranges of ``[sensitivity]``, each defaulting to its cited default."""
    opts = config.sensitivity

    def pair(key: str, default: tuple[float, float]) -> tuple[float, float]:
        value = opts.get(key, default)
        return float(value[0]), float(value[1])

    return _sens.Ranges(
        walking_speed_m_s=pair("walking_speed_m_s", SENSITIVITY_WALKING_SPEED_M_S),
        threshold_factor=pair("threshold_factor", SENSITIVITY_THRESHOLD_FACTOR),
        unknown_hours=pair("unknown_hours", SENSITIVITY_UNKNOWN_HOURS),
        second_bystander=pair("second_bystander", SENSITIVITY_SECOND_BYSTANDER),
        ambulance_factor=pair("ambulance_factor", SENSITIVITY_AMBULANCE_FACTOR),
        demand_weight_cv=float(opts.get("demand_weight_cv", SENSITIVITY_DEMAND_WEIGHT_CV)),
    )


def _hours(available: stages.Available, unknown: str) -> Week:
    """Return the existing defibs' usability with unknown hours read as ``unknown``."""
    config = available.reached.snapped.networked.loaded.config
    term, holiday, _, _ = board.defib_availability(
        available.reached.defibs, replace(config, unknown_hours=unknown)
    )
    return Week(term, holiday)


def _costs(candidates: pd.DataFrame, budget: float | None) -> NDArray[np.float64] | None:
    """Return the options' costs when the ranking keeps within a budget."""
    if budget is None or "cost" not in candidates.columns:
        return None
    return pd.to_numeric(candidates["cost"], errors="coerce").to_numpy(dtype=np.float64)


def _instance(ranked: stages.Ranked, ranges: _sens.Ranges, k: int) -> _sens.Instance:
    """Measure the pair walks once, up to the longest walk a draw can reach."""
    available = ranked.available
    reached = available.reached
    snapped = reached.snapped
    config = snapped.networked.loaded.config
    net = snapped.networked.network
    demand = snapped.snapped["demand"]
    options = ranked.options
    speed = config.walking_speed_m_s
    limit = _sens.max_walk_m(
        max(config.headline_threshold_m, config.rank_threshold_m), ranges, speed
    )
    limit = max(limit, config.headline_threshold_m, config.rank_threshold_m)
    _progress.step(f"Sensitivity: walks of every option and defib up to {limit:,.0f} m")
    stations = None
    if config.baseline == "current+stations":
        stations = _reach.pair_distances(net, available.stations.snapped, demand, limit_m=limit)
    assumptions = _timing.draw_assumptions(config, reached.demand)
    return _sens.Instance(
        options=_reach.pair_distances(net, options.snapped, demand, limit_m=limit),
        option_hours=options.hours,
        current=_reach.pair_distances(net, available.current.snapped, demand, limit_m=limit),
        current_hours=_hours(available, "available"),
        current_strict=_hours(available, "unavailable"),
        stations=stations,
        weights=np.asarray(ranked.weights, dtype=np.float64),
        population=reached.population,
        headline_m=config.headline_threshold_m,
        rank_m=config.rank_threshold_m,
        speed_m_s=speed,
        # the draws re-rank by a covering objective; a survival study's draws rank by
        # year-round available coverage, and its verdict says so (see _picks)
        objective="available" if config.objective == "survival" else config.objective,  # type: ignore[arg-type]
        k=k,
        term_weeks=config.school_term_weeks,
        ambulance=assumptions.ambulance,
        fixed_s=assumptions.recognition_s + assumptions.cabinet_s,
        central_second_bystander=assumptions.second_bystander,
        costs=_costs(ranked.candidates, config.budget),
        budget=config.budget,
    )


#: Added to the verdict of a survival study: what its draws measured.
_SURVIVAL_NOTE = (
    " (These are the picks by year-round available coverage: the draws re-rank by coverage, "
    "not by expected survival.)"
)


def _picks(ranked: stages.Ranked, k: int) -> tuple[str, ...]:
    """Return the study's own top ``k`` in the order the draws rank by.

    A survival study lists its sites in survival order, but its draws rank by year-round
    available coverage, so its picks are the coverage ranking's (kept beside the survival
    one as ``ranking.survival.coverage_order``).
    """
    ranking = ranked.ranking
    if ranking.objective == "survival" and ranking.survival is not None:
        return tuple(ranking.survival.coverage_order[:k])
    return tuple(str(s) for s in ranking.recommendations["site_id"].head(k))


class _Progress:
    """Progress messages with the time left, about every tenth of the draws."""

    def __init__(self, draws: int) -> None:
        self.every = max(1, draws // 10)

    def __call__(self, done: int, draws: int, seconds: float) -> None:
        if done % self.every and done != draws:
            return
        left = seconds / done * (draws - done)
        bar = "#" * round(20 * done / draws)
        _progress.step(
            f"Sensitivity [{bar:<20}] {done:,}/{draws:,} draws, about {left:,.0f} s left"
        )


def sensitivity(ranked: stages.Ranked, *, draws: int | None = None) -> Sensitivity | None:
    """Draw over the study's assumptions; count each option's draws in the top k.

    Parameters
    ----------
    ranked
        The ranked study.
    draws
        Number of draws (default: what the study asks for, :func:`draws_of`); 0 runs none.

    Returns
    -------
    Sensitivity or None
        None when no draws are asked for.
    """
    config = ranked.available.reached.snapped.networked.loaded.config
    n = draws_of(config) if draws is None else int(draws)
    if n <= 0:
        return None
    opts = config.sensitivity
    ranges = ranges_of(config)
    k = int(opts.get("top_k", config.new_sites))
    inst = _instance(ranked, ranges, k)
    seed = int(opts.get("seed", SENSITIVITY_SEED))
    found = _sens.run(
        inst,
        ranked.candidates.index.to_numpy(dtype=str),
        ranges=ranges,
        draws=n,
        seed=seed,
        exact=bool(opts.get("exact", True)),
        progress=_Progress(n),
    )
    share = float(opts.get("stable_share", SENSITIVITY_STABLE_SHARE))
    picks = _picks(ranked, found.k)
    stable = tuple(found.top_k_count.get(p, 0) >= share * n for p in picks)
    ranges_out: dict[str, tuple[float, float] | float] = {
        "walking_speed_m_s": ranges.walking_speed_m_s,
        "threshold_factor": ranges.threshold_factor,
        "unknown_hours": ranges.unknown_hours,
        "second_bystander": ranges.second_bystander,
        "ambulance_factor": ranges.ambulance_factor,
        "demand_weight_cv": ranges.demand_weight_cv,
    }
    counts = {p: found.top_k_count.get(p, 0) for p in picks}
    counts.update(sorted(found.top_k_count.items(), key=lambda kv: (-kv[1], kv[0])))
    logger.debug("sensitivity: %d draws in %.1f s", n, found.seconds)
    return Sensitivity(
        draws=n,
        k=found.k,
        seed=seed,
        stable_share=share,
        top_k_count=counts,
        optimal_count=found.optimal_count,
        picks=picks,
        stable=stable,
        verdict=_sens.verdict(list(stable))
        + (_SURVIVAL_NOTE if config.objective == "survival" else ""),
        intervals=found.interval(),
        ranges=ranges_out,
        headline_m=config.headline_threshold_m,
        seconds=found.seconds,
    )
