"""The study's sensitivity stage: with zero-width ranges every draw is the study itself.

The study's own figures come from other code (nearest-defib searches, the year coverage by
availability pattern, :func:`defibmap.analysis.ranking.rank_sites`); the draws re-threshold
pair walks measured once. With every range a single central value they must agree exactly.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from defibmap.study.pipeline import run_study

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo-town"

ZERO_WIDTH = """[sensitivity]
draws = 6
walking_speed_m_s = [1.79, 1.79]
threshold_factor = [1.0, 1.0]
unknown_hours = [1.0, 1.0]
second_bystander = [0.3, 0.3]
ambulance_factor = [1.0, 1.0]
demand_weight_cv = 0
"""


def _study(tmp_path: Path, ranking: str, sensitivity: str) -> Path:
    shutil.copytree(DEMO, tmp_path / "demo")
    text = (REPO / "data" / "studies" / "demo-town.toml").read_text(encoding="utf-8")
    text = text.replace("../demo-town/", "demo/")
    text = re.sub(r"\[ranking\][^\[]*", "[ranking]\nnew_sites = 4\n" + ranking + "\n\n", text)
    path = tmp_path / "study.toml"
    path.write_text(text + "\n" + sensitivity, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "ranking", ['objective = "available"', 'objective = "any"\nbaseline = "current+stations"']
)
def test_zero_width_ranges_give_the_study_in_every_draw(tmp_path: Path, ranking: str) -> None:
    result = run_study(_study(tmp_path, ranking, ZERO_WIDTH))
    found = result.sensitivity
    assert found is not None
    picks = list(result.recommendations["site_id"])
    assert len(picks) == 4
    assert found.top_k_count == dict.fromkeys(picks, 6)
    assert found.optimal_count == dict.fromkeys(result.ranking.optimal_site_ids, 6)
    assert found.stable == (True,) * 4
    assert found.verdict == "All four picks are stable."
    key = str(round(result.config.headline_threshold_m))
    want = {
        "coverage_available": result.coverage_available[key],
        "coverage_night": result.coverage_night[key],
        "coverage_any": result.coverage[key],
        "objective": result.ranking.optimal_objective,
    }
    for name, value in want.items():
        got = found.intervals[name]
        assert got["p10"] == pytest.approx(value, rel=1e-9, abs=1e-12), name
        assert got["p90"] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    summary = json.loads(json.dumps(result.summary(), default=str))["sensitivity"]
    assert summary["draws"] == 6
    assert sum(summary["top_k_count"].values()) == 6 * 4


def test_draws_sum_to_n_times_k_and_repeat_under_the_seed(tmp_path: Path) -> None:
    path = _study(tmp_path, "", "[sensitivity]\ndraws = 40\nseed = 11\n")
    one = run_study(path).sensitivity
    assert one is not None
    assert sum(one.top_k_count.values()) == 40 * 4
    for name, band in one.intervals.items():
        assert band["p10"] <= band["median"] <= band["p90"], name
    two = run_study(path).sensitivity
    assert two is not None
    assert dict(one.top_k_count) == dict(two.top_k_count)
    assert one.intervals == two.intervals


def test_a_survival_study_draws_and_judges_the_coverage_ranking(tmp_path: Path) -> None:
    # the draws re-rank by year-round available coverage, so with zero-width ranges every
    # draw's top k is the coverage ranking of the same study, whatever its survival order
    survival = run_study(_study(tmp_path, 'objective = "survival"', ZERO_WIDTH))
    covering = run_study(_study(tmp_path / "b", 'objective = "available"', ZERO_WIDTH))
    found = survival.sensitivity
    assert found is not None
    coverage_picks = list(covering.recommendations["site_id"])
    assert found.picks == tuple(coverage_picks)
    assert found.top_k_count == dict.fromkeys(coverage_picks, 6)
    assert found.verdict.startswith("All four picks are stable.")
    assert "not by expected survival" in found.verdict
