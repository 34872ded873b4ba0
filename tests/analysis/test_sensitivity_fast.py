"""The draws' fast exact optimum: the same answers as solving every draw, checked by brute force.

The draws skip :func:`defibmap.analysis.optimise.mclp` when a Lagrangian certificate proves
the best known set the only optimum. These tests hold that fast path to a plain re-solve of
every draw (same seed: same counts, same figures bit for bit) and the certificate itself to
brute force over every set of ``k`` sites.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from defibmap.analysis import sensitivity as sens
from defibmap.analysis import time_slices
from defibmap.analysis.reach import PairDistances
from defibmap.analysis.response_draws import Lognormal
from defibmap.analysis.time_slices import Week
from defibmap.io.hours import HOURS_PER_WEEK


def _week(n: int, rng: np.random.Generator) -> Week:
    """Sites of three kinds: 24/7, weekdays 9-17 every week, school term days only."""
    term = np.zeros((n, HOURS_PER_WEEK), dtype=bool)
    holiday = np.zeros((n, HOURS_PER_WEEK), dtype=bool)
    for i, kind in enumerate(rng.integers(0, 3, n)):
        if kind == 0:
            term[i] = holiday[i] = True
        elif kind == 1:
            for day in range(5):
                term[i, day * 24 + 9 : day * 24 + 17] = True
            holiday[i] = term[i]
        else:
            for day in range(5):
                term[i, day * 24 + 8 : day * 24 + 16] = True
    return Week(term, holiday)


def _pairs(
    rng: np.random.Generator, xy_sites: np.ndarray, xy_demand: np.ndarray, limit: float
) -> PairDistances:
    """Straight-line walks (m) of every pair within ``limit``."""
    d = np.hypot(*(xy_sites[:, None, :] - xy_demand[None, :, :]).transpose(2, 0, 1))
    site, point = np.nonzero(d <= limit)
    return PairDistances(
        site.astype(np.int64),
        point.astype(np.int64),
        d[site, point].astype(np.float64),
        xy_sites.shape[0],
        xy_demand.shape[0],
    )


def _instance(seed: int, *, n_opt: int = 40, duplicate: bool = False, k: int = 4) -> sens.Instance:
    """A 3 km square town: 400 demand points, 15 defibs and ``n_opt`` options at random."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 3000, (400, 2))
    options = rng.uniform(0, 3000, (n_opt, 2))
    if duplicate:  # every option has a twin at the same place: optima are never unique
        options[n_opt // 2 :] = options[: n_opt - n_opt // 2]
    defibs = rng.uniform(0, 3000, (15, 2))
    people = rng.integers(1, 30, 400).astype(np.float64)
    hours = _week(15, rng)
    return sens.Instance(
        options=_pairs(rng, options, demand, 900.0),
        option_hours=_week(n_opt, rng),
        current=_pairs(rng, defibs, demand, 900.0),
        current_hours=hours,
        current_strict=Week(hours.term & (rng.random((15, 1)) < 0.7), hours.holiday & False),
        stations=None,
        weights=people,
        population=people,
        headline_m=500.0,
        rank_m=400.0,
        speed_m_s=1.79,
        objective="available",
        k=k,
        term_weeks=39,
        ambulance=Lognormal.from_mean_p90(420.0, 900.0),
        fixed_s=90.0,
    )


RANGES = sens.Ranges(
    walking_speed_m_s=(1.4, 2.3),
    threshold_factor=(0.8, 1.2),
    unknown_hours=(0.0, 1.0),
    second_bystander=(0.25, 0.75),
    ambulance_factor=(0.9, 1.5),
    demand_weight_cv=0.2,
)


@pytest.mark.parametrize(
    ("seed", "ranges", "duplicate"),
    [
        (1, RANGES, False),
        (2, RANGES, False),
        (3, RANGES, True),  # twin options: ties everywhere, the solver must decide them
        (4, sens.Ranges(walking_speed_m_s=(1.4, 2.3)), False),  # whole people, no weight noise
    ],
)
def test_the_fast_path_gives_the_plain_re_solve_s_answers(
    seed: int, ranges: sens.Ranges, duplicate: bool
) -> None:
    inst = _instance(seed, duplicate=duplicate)
    ids = np.array([f"o{i:02d}" for i in range(inst.options.n_sites)])
    fast = sens.run(inst, ids, ranges=ranges, draws=60, seed=seed)
    plain = sens.run(inst, ids, ranges=ranges, draws=60, seed=seed, certify=False)
    assert plain.solver_calls == 60
    assert fast.top_k_count == plain.top_k_count
    assert fast.optimal_count == plain.optimal_count
    np.testing.assert_array_equal(fast.figures, plain.figures)
    assert sum(fast.optimal_count.values()) <= 60 * inst.k


def test_the_fast_path_skips_the_solver_in_most_draws() -> None:
    inst = _instance(1)
    ids = np.array([f"o{i:02d}" for i in range(inst.options.n_sites)])
    found = sens.run(inst, ids, ranges=RANGES, draws=60, seed=1)
    assert found.solver_calls < 30


def _brute(a: np.ndarray, w: np.ndarray, k: int) -> list[tuple[float, tuple[int, ...]]]:
    """Value of every set of ``k`` sites, best first (``a``: rows x sites)."""
    out = [
        (float(w[a[:, list(combo)].any(axis=1)].sum()), combo)
        for combo in itertools.combinations(range(a.shape[1]), k)
    ]
    return sorted(out, key=lambda vc: -vc[0])


def _model(a: np.ndarray, w: np.ndarray) -> time_slices.Expanded:
    n = a.shape[0]
    return time_slices.Expanded(
        sp.csr_matrix(a.T),
        w,
        np.zeros(n, dtype=bool),
        np.arange(n, dtype=np.int64),
        np.ones(n),
        1,
    )


@pytest.mark.parametrize("seed", range(40))
def test_a_certificate_is_only_given_to_the_one_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_rows, n_sites, k = 30, 8, int(rng.integers(1, 4))
    a = rng.random((n_rows, n_sites)) < rng.uniform(0.1, 0.4)
    w = rng.integers(1, 5, n_rows).astype(np.float64) if seed % 2 else rng.random(n_rows)
    ranked = _brute(a, w, k)
    best_value, best = ranked[0]
    open_ = sens._Open.of(_model(a, w))
    for _, combo in ranked[:5]:
        sites = np.array(combo, dtype=np.int64)
        if sens._certify(open_, sites):
            assert combo == best
            assert ranked[1][0] < best_value  # the only optimum


def test_the_certificate_is_given_when_the_optimum_is_clear() -> None:
    given = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        a = rng.random((30, 8)) < 0.25
        w = rng.random(30)
        best = _brute(a, w, 2)[0][1]
        given += sens._certify(sens._Open.of(_model(a, w)), np.array(best, dtype=np.int64))
    assert given >= 10  # the certificate is not vacuous


@pytest.mark.parametrize("seed", range(10))
def test_a_swap_never_loses_and_stops_at_a_swap_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.random((40, 10)) < 0.25
    w = rng.random(40)
    start = np.sort(rng.choice(10, 3, replace=False)).astype(np.int64)
    got = sens._swap(sens._Open.of(_model(a, w)), start)

    def value(sites: np.ndarray) -> float:
        return float(w[a[:, sites].any(axis=1)].sum())

    assert value(got) >= value(start)
    if not np.array_equal(got, start):
        return
    for out, into in itertools.product(range(3), set(range(10)) - set(start.tolist())):
        swapped = np.r_[np.delete(start, out), into]
        assert value(swapped) <= value(start) + 1e-12
