"""The study's stages and its typed, frozen result; the ranking's old tuple form."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np
import pytest

import defibmap
from defibmap.analysis.ranking import Ranking, RankingDemand, rank_sites
from defibmap.study import stages
from defibmap.study.parts import ReachAreas
from defibmap.study.reach_areas import map_wards

if TYPE_CHECKING:
    from defibmap.study.result import StudyResult

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def leeds(leeds_network: object) -> StudyResult:
    return defibmap.run_study("leeds", network=leeds_network)


def test_stages_in_order_give_run_study_result(leeds: StudyResult, leeds_network: object) -> None:
    config = defibmap.load_study("leeds")
    loaded = stages.load(config, given=leeds_network, refresh=False)  # type: ignore[arg-type]
    networked = stages.network(loaded, given=leeds_network, refresh=False)  # type: ignore[arg-type]
    reached = stages.reach(stages.snap(networked))
    ranked = stages.rank(stages.availability(reached))
    boarded = stages.board(ranked)
    result = stages.result(stages.response(boarded, refresh=False))
    assert result.coverage == leeds.coverage
    assert result.ranking.optimal_site_ids == leeds.ranking.optimal_site_ids
    assert result.scenarios == leeds.scenarios
    for record in (loaded, networked, reached, ranked, boarded):
        assert dataclasses.is_dataclass(record)
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.config = None  # type: ignore[misc,union-attr]


def test_result_is_frozen_and_typed(leeds: StudyResult) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        leeds.notes = ()  # type: ignore[misc]
    assert isinstance(leeds.ranking, Ranking)
    assert leeds.recommendations is leeds.ranking.recommendations
    assert leeds.assumptions is not None
    assert leeds.assumptions.search_limit_m == 2000.0
    assert leeds.time_to_defib is not None
    current = leeds.time_to_defib.scenarios["current"]
    # the ambulance is a lognormal (mean 420 s, 90th centile 900 s), no longer a constant
    assert current.median_s is not None
    assert current.median_s < 420.0
    assert current.median_s_p10 is not None
    assert current.median_s_p90 is not None
    assert current.median_s_p10 <= current.median_s <= current.median_s_p90
    assert leeds.inputs["defibs"]["rows_read"] == leeds.input_reports["defibs"].rows_read


def test_reach_areas_and_wards_come_with_the_result(leeds: StudyResult) -> None:
    found = leeds.reach_areas
    assert isinstance(found, ReachAreas)
    assert list(found.areas) == [
        "Within 500 m walk of a defib (any time)",
        "Within 500 m walk of a defib usable at night",
        "Within 500 m walk with the recommended sites added",
    ]
    assert found.day_night == tuple(list(found.areas)[:2])
    day = found.areas["Within 500 m walk of a defib (any time)"].geometry.iloc[0]
    added = found.areas["Within 500 m walk with the recommended sites added"].geometry.iloc[0]
    assert added.area >= day.area > 0
    assert leeds.wards is None  # the Leeds study has no ward file


def test_ward_file_of_a_study_is_read_with_its_name_column() -> None:
    ward_file = REPO / "data" / "coventry" / "wards.geojson"
    config = SimpleNamespace(wards_file=ward_file, extra={"wards": {"name": "WD23NM"}})
    wards = map_wards(config)  # type: ignore[arg-type]
    assert wards is not None
    assert list(wards.columns) == ["name", "geometry"]
    assert len(wards) == 18
    assert map_wards(SimpleNamespace(wards_file=None)) is None  # type: ignore[arg-type]


def _ranking(leeds: StudyResult) -> Ranking:
    from defibmap.network.snapping import snap_points

    net = leeds.network
    demand = leeds.demand
    candidates = leeds.candidates
    return rank_sites(
        net,
        RankingDemand(
            snapped=snap_points(net, demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()),
            population=demand["population"].to_numpy(dtype=np.float64),
            walk_m=demand["walk_m"].to_numpy(dtype=np.float64),
        ),
        candidates=candidates,
        candidates_snapped=snap_points(
            net, candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy()
        ),
        new_sites=2,
        threshold_m=500.0,
    )


def test_rank_sites_returns_a_ranking(leeds: StudyResult) -> None:
    ranking = _ranking(leeds)
    assert isinstance(ranking, Ranking)
    assert len(ranking.recommendations) == 2
    assert ranking.greedy_population_added <= ranking.optimal_population_added + 1e-9
    assert ranking.gap_objective == pytest.approx(
        ranking.optimal_objective - ranking.greedy_objective
    )
    assert ranking["gap_share"] == ranking.gap_share
    assert ranking.cover.shape == (len(leeds.candidates), len(leeds.demand))


def test_rank_sites_old_tuple_form_still_works_and_warns(leeds: StudyResult) -> None:
    ranking = _ranking(leeds)
    with pytest.warns(DeprecationWarning, match="deprecated"):
        table, info, cover = ranking  # type: ignore[misc]
    assert table is ranking.recommendations
    assert cover is ranking.cover
    assert info["optimal_site_ids"] == list(ranking.optimal_site_ids)
    assert info["gap_share"] == ranking.gap_share
    assert "recommendations" not in info


def test_time_to_defib_over_draws_on_leeds(leeds: StudyResult) -> None:
    """The recommended sites change the time to a defib; no share claims 100 % unless true."""
    from defibmap.outputs.write import format_summary

    timing = leeds.summary()["time_to_defib"]
    scenarios = timing["scenarios"]
    now, then = scenarios["current"], scenarios["current+stations+recommended"]
    for block in (now, then):
        assert isinstance(block["median_s"], float)
        assert set(block["within_min_share"]) == {"3", "5", "8"}
        assert set(block["within_min_share_p10"]) == {"3", "5", "8"}
        assert block["draws"] == timing["assumptions"]["draws"] == 1000
        for key, share in block["within_min_share"].items():
            assert 0 <= block["within_min_share_p10"][key] <= share
            assert share <= block["within_min_share_p90"][key] <= 1
    assert (
        then["median_s"] < now["median_s"]
        or then["within_min_share"]["5"] > now["within_min_share"]["5"]
    )
    assert then["p_defib_before_ambulance"] > now["p_defib_before_ambulance"]
    text = format_summary(leeds)
    assert "100.0%" not in text
    assert "10th-90th percentile across draws" in text


def test_a_bystander_fetches_only_a_defib_usable_at_the_hour(leeds_network: object) -> None:
    """The fetch's chance is the nearest defib's share of the year (Leeds: school hours).

    Every Leeds defib is a school's, usable 40 hours of a term week in 39 of 52 weeks; with
    the recommended 24/7 sites, a resident whose walk got shorter has one as the nearest.
    """
    config = defibmap.load_study("leeds")
    loaded = stages.load(config, given=leeds_network, refresh=False)  # type: ignore[arg-type]
    networked = stages.network(loaded, given=leeds_network, refresh=False)  # type: ignore[arg-type]
    boarded = stages.board(stages.rank(stages.availability(stages.reach(stages.snap(networked)))))
    available = boarded.ranked.available
    found = stages._nearest_usable(available, boarded.after_walk_m)
    school = 40 / 168 * 39 / 52
    has_defib = available.demand["nearest_defib_id"].notna().to_numpy()
    np.testing.assert_allclose(found["current"][has_defib], school)
    closer = boarded.after_walk_m < available.reached.walk_m
    assert closer.any()
    np.testing.assert_allclose(found[stages.WITH_RECOMMENDED][closer], 1.0)
    np.testing.assert_allclose(found[stages.WITH_RECOMMENDED][has_defib & ~closer], school)
