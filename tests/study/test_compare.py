"""defibmap.compare(): plans of sites measured on a finished study.

A hand-worked line of streets checks the three figures and the people added; the shipped
synthetic town checks that compare() agrees with what the study itself measured (the current
figures, the stations scenario) and with what the ranking says its picks add.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
from shapely.geometry import Point

import defibmap
from defibmap._errors import InputError
from defibmap.study.result import StudyResult

X0, Y0 = 430_000.0, 434_000.0  # British National Grid metres (Leeds), any place would do
OPEN_HOURS = 40 / 168  # "Mo-Fr 09:00-17:00": 40 of the week's 168 hours, term and holiday


def _line_network() -> defibmap.Network:
    # eleven nodes 100 m apart on a straight street: x = 0, 100, ..., 1000 m
    graph = nx.MultiGraph(crs="EPSG:27700")
    for i in range(11):
        graph.add_node(i, x=X0 + 100 * i, y=Y0)
    for i in range(10):
        graph.add_edge(i, i + 1, length=100.0)
    return defibmap.network_from_graph(graph)


def _points(xs: dict[str, float], **columns: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        dict(columns),
        geometry=[Point(X0 + x, Y0) for x in xs.values()],
        index=pd.Index(list(xs), name="site_id"),
        crs="EPSG:27700",
    )


@pytest.fixture(scope="module")
def line_study() -> StudyResult:
    # A (100 people) at 0 m, B (300 people) at 1000 m; today one indoor defib D at 100 m open
    # Mo-Fr 09:00-17:00; candidate C (outside, 24/7) at 900 m; station S at 600 m
    config = defibmap.load_study("demo-town")
    return StudyResult(
        config=config,
        network=_line_network(),
        demand=_points({"A": 0.0, "B": 1000.0}, population=[100.0, 300.0]),
        defibs=_points({"D": 100.0}, opening_hours=["Mo-Fr 09:00-17:00"], layer=["defibs"]),
        stations=_points({"S": 600.0}, layer=["fire_stations"]),
        candidates=_points({"C": 900.0}, name=["C"]),
        coverage={},
        ranking=None,
        input_reports={},
        rejected=pd.DataFrame(),
        sources=(),
    )


def test_a_hand_worked_line_of_streets(line_study):
    table = defibmap.compare(
        line_study,
        {"today": [], "cabinet": ["C"], "station": ["S"], "no defib": ["-D"], "both": ["C", "-D"]},
        threshold_m=500,
    )
    assert list(table.index) == ["today", "cabinet", "station", "no defib", "both"]
    today = table.loc["today"]
    # only A (100 of 400 people) lies within 500 m of D, usable 40 hours a week
    assert today["any_time"] == pytest.approx(100 / 400)
    assert today["available"] == pytest.approx(100 * OPEN_HOURS / 400)
    assert today["night"] == 0.0
    # C (and S, 400 m from B) bring B's 300 people within 500 m of a 24/7 defib
    for plan in ("cabinet", "station"):
        row = table.loc[plan]
        assert row["any_time"] == pytest.approx(1.0)
        assert row["available"] == pytest.approx((100 * OPEN_HOURS + 300) / 400)
        assert row["night"] == pytest.approx(300 / 400)
        assert row["people_added_any_time"] == pytest.approx(300)
        assert row["people_added_available"] == pytest.approx(300)
        assert row["people_added_night"] == pytest.approx(300)
        assert (row["sites_added"], row["sites_removed"]) == (1, 0)
    gone = table.loc["no defib"]
    assert (gone["available"], gone["night"], gone["any_time"]) == (0.0, 0.0, 0.0)
    assert gone["people_added_any_time"] == pytest.approx(-100)
    assert gone["people_added_available"] == pytest.approx(-100 * OPEN_HOURS)
    both = table.loc["both"]
    assert both["any_time"] == pytest.approx(300 / 400)
    assert both["available"] == pytest.approx(300 / 400)
    assert (both["sites_added"], both["sites_removed"]) == (1, 1)


def test_a_longer_walk_covers_more(line_study):
    # at 1000 m D reaches B too (900 m), in its hours
    table = defibmap.compare(line_study, {"today": []}, threshold_m=1000)
    assert table.loc["today", "any_time"] == pytest.approx(1.0)
    assert table.loc["today", "available"] == pytest.approx(OPEN_HOURS)


@pytest.mark.parametrize(
    ("plans", "words"),
    [
        ({"typo": ["X"]}, "unknown site ids ['X']"),
        ({"not a defib": ["-C"]}, "unknown site ids ['-C']"),
        ({"text": "C"}, "must be a list of site ids"),
    ],
)
def test_a_plan_naming_what_the_study_lacks_is_refused(line_study, plans, words):
    with pytest.raises(InputError, match=words.replace("[", r"\[").replace("]", r"\]")):
        defibmap.compare(line_study, plans)


@pytest.fixture(scope="module")
def demo() -> StudyResult:
    return defibmap.run_study(defibmap.load_study("demo-town"))


def test_an_empty_plan_gives_the_current_figures_exactly(demo):
    key = str(round(demo.config.headline_threshold_m))
    row = defibmap.compare(demo, {"today": []}).loc["today"]
    assert row["available"] == demo.coverage_available[key]
    assert row["night"] == demo.coverage_night[key]
    assert row["any_time"] == demo.coverage[key]
    assert (row["people_added_available"], row["people_added_any_time"]) == (0.0, 0.0)


def test_the_rankings_picks_add_what_the_ranking_says(demo):
    # the demo study ranks on year-round availability at the headline walk from today's defibs
    assert demo.config.baseline == "current"
    assert demo.config.rank_threshold_m == demo.config.headline_threshold_m
    key = str(round(demo.config.headline_threshold_m))
    picks = list(demo.recommendations["site_id"])
    row = defibmap.compare(demo, {"picks": picks}).loc["picks"]
    ranking = demo.ranking
    total = demo.population_total
    assert row["available"] == pytest.approx(
        demo.coverage_available[key] + ranking.greedy_people_available_added / total, abs=1e-12
    )
    assert row["people_added_available"] == pytest.approx(ranking.greedy_people_available_added)
    assert row["people_added_any_time"] == pytest.approx(ranking.greedy_population_added)
    assert row["any_time"] == pytest.approx(
        demo.recommendations["cumulative_coverage_share"].iloc[-1], abs=1e-12
    )


def test_every_station_gives_the_studys_stations_scenario(demo):
    scenario = demo.scenarios["current+stations"]
    key = str(round(demo.config.headline_threshold_m))
    row = defibmap.compare(demo, {"stations": list(demo.stations.index)}).loc["stations"]
    assert row["available"] == pytest.approx(scenario.available[key], abs=1e-12)
    assert row["night"] == pytest.approx(scenario.night_24_7[key], abs=1e-12)
    assert row["any_time"] == pytest.approx(scenario.any_time[key], abs=1e-12)


def test_taking_every_defib_away_leaves_nothing(demo):
    plan = [f"-{i}" for i in demo.defibs.index]
    row = defibmap.compare(demo, {"none": plan}).loc["none"]
    assert (row["available"], row["night"], row["any_time"]) == (0.0, 0.0, 0.0)
    assert row["people_added_any_time"] == pytest.approx(
        -demo.coverage[str(round(demo.config.headline_threshold_m))] * demo.population_total
    )
