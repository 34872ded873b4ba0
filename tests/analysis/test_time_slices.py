"""Ranking by what is available: the spatiotemporal, night, budget and upgrade models.

Hand-worked cases on a line of streets, then brute force on small random instances: every
subset of options is scored straight from the definitions, hour by hour over a term week and
a holiday week (no availability patterns, no expanded rows), and the models must reach the
same optimum.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from defibmap.analysis import optimise, time_slices
from defibmap.analysis.availability import NIGHT_HOURS
from defibmap.analysis.ranking import (
    NEW_CABINET,
    UPGRADE,
    RankingDemand,
    RankingRules,
    rank_sites,
)
from defibmap.analysis.time_slices import Week
from defibmap.network import walk as nw
from defibmap.network.snapping import snap_points

HOURS = 168
TERM_WEEKS = 39


def _hours(days: range, start: int, end: int) -> np.ndarray:
    """168 booleans: usable on ``days`` (0 = Monday) from ``start`` to ``end`` o'clock."""
    out = np.zeros(HOURS, dtype=bool)
    for d in days:
        out[d * 24 + start : d * 24 + end] = True
    return out


WEEKDAYS = range(5)
SCHOOL = _hours(WEEKDAYS, 8, 16)  # Mo-Fr 08:00-16:00, term only
OFFICE = _hours(WEEKDAYS, 9, 17)  # Mo-Fr 09:00-17:00, every week
ALWAYS = np.ones(HOURS, dtype=bool)
NEVER = np.zeros(HOURS, dtype=bool)


# --- hand-worked: a line of streets ---------------------------------------------------------
#
# Demand A (100 people) at x=0, B (200) at x=500, C (300) at x=1000; a 150 m walk.
# Existing: a school defib at x=0 (term Mo-Fr 08-16, shut in holidays).
# Options: "c_in" indoors at x=500 (Mo-Fr 09-17 every week), "c_out" an outside cabinet at
# x=1000, and "upgrade:school" the school's defib moved outside (24/7).
# A year: a term-week hour weighs 39/52/168, a holiday-week hour 13/52/168.
#   c_out adds C all year:                   300
#   c_in adds B 40 h a week all year:        200 * 40/168                    = 47.619...
#   the upgrade adds A outside school hours: 100 * (1 - 39/52 * 40/168)      = 82.142...
# Best pair by year: c_out + upgrade = 382.14 (c_out + c_in = 347.62); at any time the
# upgrade adds nothing (A is within the walk of the school already): c_out + c_in = 500.
# At night (00-06) only the outside sites count: c_out + upgrade = 400.

C_IN = 200 * 40 / 168
UPGRADE_GAIN = 100 * (1 - 39 / 52 * 40 / 168)


def _line() -> nw.Network:
    x = np.arange(0.0, 1001.0, 100.0)
    return nw.from_arrays(
        node_x=x,
        node_y=np.zeros_like(x),
        edge_u=np.arange(x.size - 1),
        edge_v=np.arange(1, x.size),
    )


def _rank(objective: str, k: int, *, costs: list[float] | None = None, budget: float | None = None):
    net = _line()
    demand_x = np.array([0.0, 500.0, 1000.0])
    demand = snap_points(net, demand_x, np.zeros(3))
    school = snap_points(net, np.array([0.0]), np.zeros(1))
    ids = ["c_in", "c_out", "upgrade:school"]
    opt_x = np.array([500.0, 1000.0, 0.0])
    frame = gpd.GeoDataFrame(
        {"name": ids, "option": [NEW_CABINET, NEW_CABINET, UPGRADE]},
        geometry=gpd.points_from_xy(opt_x, np.zeros(3)),
        index=pd.Index(ids, name="site_id"),
        crs="EPSG:27700",
    )
    if costs is not None:
        frame["cost"] = costs
    hours = Week(np.array([OFFICE, ALWAYS, ALWAYS]), np.array([OFFICE, ALWAYS, ALWAYS]))
    walk = np.array([0.0, 500.0, 1000.0])  # to the school defib
    return rank_sites(
        net,
        RankingDemand(snapped=demand, population=np.array([100.0, 200.0, 300.0]), walk_m=walk),
        candidates=frame,
        candidates_snapped=snap_points(net, opt_x, np.zeros(3)),
        new_sites=k,
        threshold_m=150.0,
        hours=hours,
        rules=RankingRules(
            objective=objective,  # type: ignore[arg-type]
            baseline_sites=school,
            baseline_hours=Week(SCHOOL[None, :], NEVER[None, :]),
            term_weeks=TERM_WEEKS,
            budget=budget,
        ),
    )


def test_hand_worked_year_round_ranking_picks_the_upgrade_over_the_indoor_site():
    found = _rank("available", 2)
    table = found.recommendations
    assert list(table["site_id"]) == ["c_out", "upgrade:school"]
    assert list(table["option"]) == [NEW_CABINET, UPGRADE]
    np.testing.assert_allclose(table["added_people_available"], [300.0, UPGRADE_GAIN])
    # added_population keeps its meaning: people newly within the walk at any time
    np.testing.assert_allclose(table["added_population"], [300.0, 0.0])
    assert found.optimal_objective == pytest.approx(300.0 + UPGRADE_GAIN)
    assert found.greedy_objective == pytest.approx(300.0 + UPGRADE_GAIN)
    assert found.objective == "available"
    assert found.upgrades == 1
    assert found.candidates == 3
    # slots merge into 4 patterns: school and c_in open, only the school (08-09), only
    # c_in (16-17 and holiday days), neither
    assert found.patterns == 4
    assert "cost" not in table.columns


def test_hand_worked_any_time_and_night_rankings():
    anytime = _rank("any", 2)
    assert sorted(anytime.optimal_site_ids) == ["c_in", "c_out"]
    assert anytime.optimal_objective == pytest.approx(500.0)
    night = _rank("night", 2)
    assert sorted(night.optimal_site_ids) == ["c_out", "upgrade:school"]
    assert night.optimal_objective == pytest.approx(400.0)
    night3 = _rank("night", 3)
    assert night3.optimal_objective == pytest.approx(400.0)  # c_in is shut at night
    year3 = _rank("available", 3)
    assert year3.optimal_objective == pytest.approx(300.0 + UPGRADE_GAIN + C_IN)


def test_hand_worked_budget():
    # costs: c_in 3, c_out 10, upgrade 4
    tight = _rank("available", 3, costs=[3.0, 10.0, 4.0], budget=7.0)
    assert sorted(tight.optimal_site_ids) == ["c_in", "upgrade:school"]
    assert tight.optimal_objective == pytest.approx(C_IN + UPGRADE_GAIN)
    assert tight.optimal_cost == pytest.approx(7.0)
    assert list(tight.recommendations["cumulative_cost"]) == [4.0, 7.0]
    # budget 10 and c_in costing 1: gain per pound takes c_in (47.6 a pound), then the
    # upgrade (20.5 a pound), and c_out no longer fits (129.8 in all); c_out alone gives 300,
    # so the best single affordable site is the readable answer (Khuller, Moss & Naor)
    single = _rank("available", 3, costs=[1.0, 10.0, 4.0], budget=10.0)
    assert list(single.recommendations["site_id"]) == ["c_out"]
    assert list(single.recommendations["method"]) == ["best single affordable site"]
    assert single.optimal_objective == pytest.approx(300.0)
    assert single.gap_share == pytest.approx(0.0)


def test_budget_needs_every_cost():
    from defibmap._errors import InputError

    with pytest.raises(InputError, match="cost"):
        _rank("available", 3, costs=[1.0, float("nan"), 4.0], budget=10.0)


# --- brute force -------------------------------------------------------------------------

TEMPLATES = [ALWAYS, SCHOOL, OFFICE, NEVER, _hours(range(7), 0, 6), _hours(range(5, 7), 10, 16)]


def _random_week(rng: np.random.Generator, n: int) -> Week:
    picks = rng.integers(0, len(TEMPLATES), n)
    term = np.array([TEMPLATES[i] for i in picks], dtype=bool).reshape(n, HOURS)
    holiday = term.copy()
    shut = rng.random(n) < 0.4  # a school: shut in the holidays
    holiday[shut] = False
    return Week(term, holiday)


def _slot_weights(term_weeks: int) -> np.ndarray:
    return np.r_[
        np.full(HOURS, term_weeks / 52 / HOURS), np.full(HOURS, (52 - term_weeks) / 52 / HOURS)
    ]


def _year_value(within: np.ndarray, usable: np.ndarray, w: np.ndarray, slot_w: np.ndarray) -> float:
    """Weight x share of the year within the walk of a usable site, slot by slot."""
    total = 0.0
    for s in range(usable.shape[1]):
        on = usable[:, s]
        hit = within[on].any(axis=0) if on.any() else np.zeros(within.shape[1], dtype=bool)
        total += slot_w[s] * float(w[hit].sum())
    return total


def _brute_year(base, base_week, opt, opt_week, w, k, term_weeks, costs=None, budget=None):
    slot_w = _slot_weights(term_weeks)
    base_use = np.hstack([base_week.term, base_week.holiday])
    opt_use = np.hstack([opt_week.term, opt_week.holiday])
    before = _year_value(base, base_use, w, slot_w)
    best = 0.0
    n = opt.shape[0]
    for r in range(n + 1):
        for combo in itertools.combinations(range(n), r):
            if budget is None and r > k:
                continue
            if budget is not None and sum(costs[list(combo)]) > budget + 1e-9:
                continue
            rows = list(combo)
            within = np.vstack([base, opt[rows]])
            usable = np.vstack([base_use, opt_use[rows]])
            best = max(best, _year_value(within, usable, w, slot_w) - before)
    return best


def _instance(rng: np.random.Generator):
    n_demand = int(rng.integers(2, 8))
    n_base = int(rng.integers(0, 4))
    n_opt = int(rng.integers(1, 6))
    base = rng.random((n_base, n_demand)) < 0.35
    opt = rng.random((n_opt, n_demand)) < 0.4
    w = rng.integers(0, 20, n_demand).astype(float)
    return base, _random_week(rng, n_base), opt, _random_week(rng, n_opt), w


def _model(base, base_week, opt, opt_week, w, objective, term_weeks):
    found = time_slices.patterns(base_week.then(opt_week), objective, term_weeks=term_weeks)
    return time_slices.expand(sp.csr_matrix(opt), sp.csr_matrix(base), w, found)


@pytest.mark.parametrize("seed", range(60))
def test_spatiotemporal_model_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    base, base_week, opt, opt_week, w = _instance(rng)
    k = int(rng.integers(1, 4))
    term_weeks = int(rng.integers(0, 53))
    model = _model(base, base_week, opt, opt_week, w, "available", term_weeks)
    assert model.patterns <= 2 * HOURS
    exact = optimise.mclp(model.cover, model.weights, k, already_covered=model.already)
    want = _brute_year(base, base_week, opt, opt_week, w, k, term_weeks)
    assert exact.objective == pytest.approx(want, abs=1e-9)
    steps = optimise.greedy(model.cover, model.weights, k, already_covered=model.already)
    assert (steps[-1].cumulative if steps else 0.0) <= want + 1e-9


@pytest.mark.parametrize("seed", range(60))
def test_night_model_equals_brute_force(seed):
    rng = np.random.default_rng(1000 + seed)
    base, base_week, opt, opt_week, w = _instance(rng)
    k = int(rng.integers(1, 4))
    model = _model(base, base_week, opt, opt_week, w, "night", TERM_WEEKS)

    def usable_all_night(week: Week, j: int) -> bool:
        return all(week.term[j, h] and week.holiday[j, h] for h in NIGHT_HOURS)

    def night_value(rows_opt: tuple[int, ...]) -> float:
        hit = np.zeros(w.size, dtype=bool)
        for j in range(base.shape[0]):
            if usable_all_night(base_week, j):
                hit |= base[j]
        for j in rows_opt:
            if usable_all_night(opt_week, j):
                hit |= opt[j]
        return float(w[hit].sum())

    before = night_value(())
    want = max(
        night_value(c) - before
        for r in range(min(k, opt.shape[0]) + 1)
        for c in itertools.combinations(range(opt.shape[0]), r)
    )
    exact = optimise.mclp(model.cover, model.weights, k, already_covered=model.already)
    assert exact.objective == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("seed", range(60))
def test_budget_model_equals_brute_force(seed):
    rng = np.random.default_rng(2000 + seed)
    base, base_week, opt, opt_week, w = _instance(rng)
    costs = rng.integers(0, 10, opt.shape[0]).astype(float)
    budget = float(rng.integers(1, 20))
    model = _model(base, base_week, opt, opt_week, w, "available", TERM_WEEKS)
    exact = optimise.mclp_budget(
        model.cover, model.weights, costs, budget, already_covered=model.already
    )
    want = _brute_year(base, base_week, opt, opt_week, w, 0, TERM_WEEKS, costs, budget)
    assert exact.objective == pytest.approx(want, abs=1e-9)
    assert costs[exact.sites].sum() <= budget
    steps = optimise.greedy_budget(
        model.cover, model.weights, costs, budget, already_covered=model.already
    )
    chosen = [s.site for s in steps]
    assert costs[chosen].sum() <= budget + 1e-9
    got = steps[-1].cumulative if steps else 0.0
    assert got <= want + 1e-9
    # never below the best single affordable site
    gains = [
        _brute_year(
            base,
            base_week,
            opt[[j]],
            Week(opt_week.term[[j]], opt_week.holiday[[j]]),
            w,
            1,
            TERM_WEEKS,
        )
        for j in range(opt.shape[0])
        if costs[j] <= budget
    ]
    assert got >= max(gains, default=0.0) - 1e-9


@pytest.mark.parametrize("seed", range(60))
def test_upgrade_model_equals_brute_force(seed):
    # options: new sites plus each existing defib moved outside (24/7, where it is); the
    # brute force makes the chosen defibs usable at every hour, straight from the definition
    rng = np.random.default_rng(3000 + seed)
    base, base_week, opt, opt_week, w = _instance(rng)
    if base.shape[0] == 0:
        base = rng.random((2, w.size)) < 0.4
        base_week = _random_week(rng, 2)
    n_new, n_up = opt.shape[0], base.shape[0]
    options = np.vstack([opt, base])
    options_week = opt_week.then(Week.always(n_up))
    k = int(rng.integers(1, 4))
    model = _model(base, base_week, options, options_week, w, "available", TERM_WEEKS)
    exact = optimise.mclp(model.cover, model.weights, k, already_covered=model.already)

    slot_w = _slot_weights(TERM_WEEKS)
    base_use = np.hstack([base_week.term, base_week.holiday])
    opt_use = np.hstack([opt_week.term, opt_week.holiday])
    before = _year_value(base, base_use, w, slot_w)
    want = 0.0
    for r in range(min(k, n_new + n_up) + 1):
        for combo in itertools.combinations(range(n_new + n_up), r):
            use = base_use.copy()
            new_rows = [j for j in combo if j < n_new]
            for j in combo:
                if j >= n_new:
                    use[j - n_new] = True  # upgraded: 24/7 where it stands
            within = np.vstack([base, opt[new_rows]])
            usable = np.vstack([use, opt_use[new_rows]])
            want = max(want, _year_value(within, usable, w, slot_w) - before)
    assert exact.objective == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_every_site_always_usable_is_the_plain_mclp(seed):
    rng = np.random.default_rng(4000 + seed)
    base, _, opt, _, w = _instance(rng)
    k = int(rng.integers(1, 4))
    model = _model(
        base, Week.always(base.shape[0]), opt, Week.always(opt.shape[0]), w, "available", 39
    )
    assert model.patterns == 1
    covered = base.any(axis=0)
    plain = optimise.mclp(sp.csr_matrix(opt), w, k, already_covered=covered)
    timed = optimise.mclp(model.cover, model.weights, k, already_covered=model.already)
    assert timed.objective == pytest.approx(plain.objective)
    plain_steps = optimise.greedy(sp.csr_matrix(opt), w, k, already_covered=covered)
    timed_steps = optimise.greedy(model.cover, model.weights, k, already_covered=model.already)
    assert [s.site for s in timed_steps] == [s.site for s in plain_steps]


def test_slot_weights_sum_to_one_and_identical_slots_merge():
    week = Week(np.array([SCHOOL, ALWAYS]), np.array([NEVER, ALWAYS]))
    found = time_slices.patterns(week, "available", term_weeks=39)
    assert found.share.sum() == pytest.approx(1.0)
    # school open (40 term hours) or shut (the rest); the always-open site is in both
    assert found.usable.shape == (2, 2)
    open_col = int(np.flatnonzero(found.usable[0])[0])
    assert found.share[open_col] == pytest.approx(39 / 52 * 40 / 168)
    every_week = time_slices.patterns(week, "available", term_weeks=52)
    assert every_week.share.sum() == pytest.approx(1.0)
