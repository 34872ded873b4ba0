"""The survival objective on the demo town, checked against a recomputation from first principles.

The demo town with every defib outside, 24/7 and unlocked and ``[ranking] objective =
"survival"``: the recommendations come in the survival order, and the expected survivors the
ranking reports equal a recomputation that scores the chosen sites pair by pair, straight
from Larsen et al.'s formula and the time model's draws (no gain matrix, no solver). The
exact optimum must be at least as good as every k-subset of the best few options.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from demo_study import DATA, demo_with_defibs

from defibmap.analysis import reach
from defibmap.config.study_file import read_study
from defibmap.study import stages, timing

if TYPE_CHECKING:
    from pathlib import Path

    from numpy.typing import NDArray

    from defibmap.analysis.response_draws import DrawAssumptions


def _study(tmp: Path, objective: str) -> Path:
    defibs = pd.read_csv(DATA / "demo-town" / "defibs.csv", dtype=str)
    defibs["opening_hours"] = "24/7"
    defibs["location"] = "outside"
    defibs["locked"] = "no"
    path = demo_with_defibs(tmp, defibs, f"open-{objective}")
    text = path.read_text(encoding="utf-8")
    text = text.replace("new_sites = 5", f'new_sites = 3\nobjective = "{objective}"', 1)
    path.write_text(text, encoding="utf-8")
    return path


def _larsen(cpr_s: NDArray[np.float64], defib_s: NDArray[np.float64], acls_s: NDArray[np.float64]):
    # Larsen et al., Ann Emerg Med 1993: 67 % - 2.3 %/min CPR - 1.1 %/min shock - 2.1 %/min ALS
    value = 0.67 - 0.023 * cpr_s / 60.0 - 0.011 * defib_s / 60.0 - 0.021 * acls_s / 60.0
    return np.clip(value, 0.0, 1.0)


def _value(walk_m: float, a: DrawAssumptions) -> float:
    """Survival one site at ``walk_m`` adds over the ambulance alone, over the draws."""
    rng = np.random.default_rng(a.seed)
    amb = a.ambulance.sample(rng, (1, a.draws))[0]
    speed = a.walking_speed.sample(rng, (1, a.draws))[0]
    fetch = a.recognition_s + 2.0 * walk_m / speed + a.cabinet_s
    shock = np.minimum(fetch, amb)
    gained = _larsen(a.recognition_s, shock, amb) - _larsen(a.recognition_s, amb, amb)
    return a.second_bystander * float(gained.mean())


@pytest.fixture(scope="module")
def ranked(tmp_path_factory: pytest.TempPathFactory) -> stages.Ranked:
    config = read_study(_study(tmp_path_factory.mktemp("survival"), "survival"))
    loaded = stages.load(config, given=None, refresh=False)
    networked = stages.network(loaded, given=None, refresh=False)
    return stages.rank(stages.availability(stages.reach(stages.snap(networked))))


def test_survival_objective_orders_the_recommendations_by_survivors(ranked: stages.Ranked):
    ranking = ranked.ranking
    surv = ranking.survival
    assert surv is not None
    assert ranking.objective == "survival"
    assert list(ranking.recommendations["site_id"]) == list(surv.order)
    np.testing.assert_allclose(ranking.recommendations["added_survivors"], surv.added)
    assert len(surv.order) == 3
    assert ranking.greedy_objective == pytest.approx(surv.greedy_survivors_added)
    assert ranking.optimal_objective == pytest.approx(surv.optimal_survivors_added)
    assert surv.optimal
    assert surv.optimal_survivors_added >= surv.greedy_survivors_added - 1e-9
    # the added survivors fall along the greedy order (submodular)
    assert list(surv.added) == sorted(surv.added, reverse=True)
    assert surv.added[0] > 0


def test_expected_survivors_equal_a_pair_by_pair_recomputation(ranked: stages.Ranked):
    available = ranked.available
    reached = available.reached
    net = reached.snapped.networked.network
    demand = reached.snapped.snapped["demand"]
    config = reached.snapped.networked.loaded.config
    a = timing.draw_assumptions(config, reached.demand)
    limit = reached.limit_m
    # every existing defib is 24/7 and unlocked here; each point takes its best site
    now = reach.pair_distances(net, available.current.snapped, demand, limit_m=limit)
    values: dict[float, float] = {}

    def value(w: float) -> float:
        if w not in values:
            values[w] = _value(w, a)
        return values[w]

    best_now = np.zeros(len(reached.population))
    for i, w in zip(now.demand, now.walk_m, strict=True):
        best_now[i] = max(best_now[i], value(float(w)))
    options = ranked.options
    ids = options.frame.index.to_numpy(dtype=str)
    pairs = reach.pair_distances(net, options.snapped, demand, limit_m=limit)
    weights = np.asarray(ranked.weights, dtype=np.float64)

    def survivors(chosen: list[str]) -> float:
        best = best_now.copy()
        for s, i, w in zip(pairs.site, pairs.demand, pairs.walk_m, strict=True):
            if ids[s] in chosen:
                best[i] = max(best[i], value(float(w)))
        return float((weights * (best - best_now)).sum())

    surv = ranked.ranking.survival
    assert surv is not None
    assert surv.greedy_survivors_added == pytest.approx(survivors(list(surv.order)), rel=1e-9)
    assert surv.optimal_survivors_added == pytest.approx(
        survivors(list(surv.optimal_site_ids)), rel=1e-9
    )
    running = [survivors(list(surv.order[: n + 1])) for n in range(len(surv.order))]
    np.testing.assert_allclose(np.cumsum(surv.added), running, rtol=1e-9)
    # no 3-subset of the eight best single options beats the optimum
    singles = sorted(ids, key=lambda s: -survivors([s]))[:8]
    best = max(survivors(list(c)) for c in itertools.combinations(singles, 3))
    assert surv.optimal_survivors_added >= best - 1e-9


def test_demo_town_runs_with_the_survival_objective(tmp_path: Path):
    from defibmap.cli import main

    out = tmp_path / "out"
    status = main(["run", str(_study(tmp_path, "survival")), "--out", str(out), "-q"])
    assert status == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    ranking = summary["ranking"]
    assert ranking["objective"] == "survival"
    assert ranking["survival"]["order"] == list(pd.read_csv(out / "recommendations.csv")["site_id"])
    assert set(summary["time_to_defib"]["beats_ambulance_m"]) == {"all"}
    assert summary["time_to_defib"]["beats_ambulance_m"]["all"] > 0
