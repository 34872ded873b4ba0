"""``summary.json`` built once from typed parts; the outputs only render what the study computed."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from defibmap.study.result import StudyResult

OUTPUTS = Path(__file__).resolve().parents[2] / "defibmap" / "outputs"

#: What computes distances: the study does that, the outputs draw the result.
COMPUTING = (
    "defibmap.network",
    "defibmap.analysis.reach",
    "defibmap.analysis._bounded",
    "defibmap.analysis._dijkstra",
    "defibmap.analysis.reach_areas",
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


@pytest.mark.parametrize("path", sorted(OUTPUTS.rglob("*.py")), ids=lambda p: p.name)
def test_outputs_compute_no_distances(path: Path) -> None:
    bad = sorted(m for m in _imports(path) if m.startswith(COMPUTING))
    assert bad == []


@pytest.fixture(scope="module")
def leeds(leeds_network: object) -> StudyResult:
    from defibmap import run_study

    return run_study("leeds", network=leeds_network)


def test_summary_shape(leeds: StudyResult) -> None:
    found = leeds.summary()
    assert list(found) == [
        "study",
        "version",
        "synthetic",
        "sources",
        "population_total",
        "thresholds_m",
        "coverage",
        "coverage_available",
        "coverage_night",
        "ranking",
        "network",
        "inputs",
        "notes",
        "readiness",
        "warnings",
        "scenarios",
        "set_covering",
        "curve",
        "equity",
        "straight_line",
        "time_to_defib",
        "assumptions",
        "finer_demand",
        "demand_weight",
    ]
    weight = found["demand_weight"]
    assert isinstance(weight, dict)
    assert (weight["basis"], weight["total"]) == ("residents", found["population_total"])
    coverage = found["coverage"]
    assert isinstance(coverage, dict)
    assert weight["covered_share"]["any_time"] == pytest.approx(coverage["500"])
    ranking = found["ranking"]
    assert isinstance(ranking, dict)
    assert list(ranking)[-2:] == ["baseline", "weight"]


def test_three_coverage_figures_agree(leeds: StudyResult) -> None:
    """Year-round available and night coverage: same shape as ``coverage``, never above it.

    Every Leeds defib is an indoor school defib (school hours, term only): nobody is covered
    all night, and the year-round share is the any-time share scaled by the school's 40 open
    hours of the week in 39 of 52 weeks (people within reach of a school are within reach of
    one open at the same hours, since all share the same school hours).
    """
    found = leeds.summary()
    any_time, available, night = (
        found["coverage"],
        found["coverage_available"],
        found["coverage_night"],
    )
    assert isinstance(any_time, dict)
    assert isinstance(available, dict)
    assert isinstance(night, dict)
    assert list(available) == list(any_time) == list(night)
    for key, share in any_time.items():
        assert night[key] == 0.0
        assert available[key] == pytest.approx(share * 40 / 168 * 39 / 52)
    demand = leeds.demand
    assert (demand["covered_available_share"] > 0).eq(demand["covered"]).all()
    network = found["network"]
    assert isinstance(network, dict)
    assert list(network) == ["nodes", "edges", "source", "crs", "faults"]
