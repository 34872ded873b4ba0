"""Equity tables on each coverage basis, and set covering in shares of everyone, by hand."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp

import defibmap
from defibmap.analysis.scenarios import year_coverage
from defibmap.config.study_file import read_study
from defibmap.network import walk as nw
from defibmap.network.snapping import snap_points
from defibmap.study import board
from defibmap.study import summary as summary_json
from defibmap.study.parts import EQUITY_BASES


@pytest.fixture
def config():
    return read_study(defibmap._resources.study_path("leeds"))


def _demand(deciles, people, covered, **columns):
    return gpd.GeoDataFrame(
        {"imd_decile": deciles, "population": people, "covered": covered, **columns},
        geometry=gpd.points_from_xy(np.arange(len(people)), np.zeros(len(people))),
        crs=27700,
    )


# ----- set covering: targets are shares of everyone ---------------------------------------
# Five demand points of 10, 20, 30, 25 and 15 people (100 in all). Point 0 is covered today.
# Site A reaches points 1 and 2 (50 people), site B point 3 (25); nobody reaches point 4.
# Reachable: 10 + 50 + 25 = 85 of 100.
COVER = sp.csr_matrix(np.array([[0, 1, 1, 0, 0], [0, 0, 0, 1, 0]], dtype=bool))
PEOPLE = np.array([10.0, 20.0, 30.0, 25.0, 15.0])
ALREADY = np.array([True, False, False, False, False])
IDS = np.array(["A", "B"], dtype=object)


def test_set_covering_counts_everyone_and_says_when_a_target_is_out_of_reach(config):
    cfg = replace(config, targets=(0.5, 0.75, 0.9))
    assert cfg.targets_of == "all"  # the default
    found = board.set_covering(COVER, PEOPLE, ALREADY, IDS, cfg)
    assert found.of == "all"
    assert found.population_total == 100.0
    assert found.population_reachable == 85.0
    assert found.population_covered_before == 10.0
    assert found.max_share == pytest.approx(0.85)
    # 50 %: 40 more people needed; A alone adds 50 (B alone only 25) -> 60 %
    half = found.targets["0.5"]
    assert (half.reachable, half.sites, half.site_ids) == (True, 1, ("A",))
    assert half.covered_share == pytest.approx(0.60)
    # 75 %: 65 more needed; only A and B together (75) -> 85 %
    most = found.targets["0.75"]
    assert (most.reachable, most.sites, most.site_ids) == (True, 2, ("A", "B"))
    assert most.covered_share == pytest.approx(0.85)
    # 90 %: 80 more needed, at most 75 can be added: unreachable, the best is 85 %
    out = found.targets["0.9"]
    assert out.reachable is False
    assert out.max_share == pytest.approx(0.85)
    shown = summary_json.set_covering(found)
    assert shown["of"] == "all"
    assert shown["targets"]["0.9"] == {"reachable": False, "max_share": pytest.approx(0.85)}


def test_set_covering_of_reachable_and_the_old_total_name(config):
    reach_cfg = replace(config, targets=(0.5, 0.9), targets_of="reachable")
    found = board.set_covering(COVER, PEOPLE, ALREADY, IDS, reach_cfg)
    assert found.of == "reachable"
    # 90 % of 85 = 76.5: both sites (85, all of the reachable) -> 100 %
    assert found.targets["0.9"].sites == 2
    assert found.targets["0.9"].covered_share == pytest.approx(1.0)
    # 50 % of 85 = 42.5: A alone (60) -> 60/85
    assert found.targets["0.5"].covered_share == pytest.approx(60 / 85)
    total = board.set_covering(COVER, PEOPLE, ALREADY, IDS, replace(config, targets_of="total"))
    assert total.of == "all"


# ----- equity on each basis ---------------------------------------------------------------
def test_equity_tables_by_hand_on_each_basis(config):
    # deciles 1, 1, 2, 3, 4, 10 with 100, 300, 200, 240, 60, 100 people (1,000 in all)
    deciles = [1, 1, 2, 3, 4, 10]
    people = np.array([100.0, 300.0, 200.0, 240.0, 60.0, 100.0])
    any_now = np.array([1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    night_now = np.array([0.0, 1.0, 0.0, 0.0, 0.0, 1.0])
    available_now = np.array([0.5, 1.0, 0.0, 0.25, 0.5, 1.0])
    after_any = np.ones(6)
    after_night = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    arrests = np.array([1.0, 2.0, 1.0, 0.5, 0.5, 0.2])
    demand = _demand(deciles, people, any_now.astype(bool), expected_arrests=arrests)
    now = {"night": night_now, "available": available_now, "any": any_now}
    after = {"night": after_night, "available": np.maximum(available_now, after_night)}
    after["any"] = after_any
    found = board.equity_tables(demand, now, after, config, None, bases_measured="hand")
    assert set(found.by_basis) == set(EQUITY_BASES)
    night = found.by_basis["night"]
    # deciles: 1 -> 400 people, 300 covered at night; 2 -> 200, 0; 3 -> 240, 0; 4 -> 60, 0;
    # 10 -> 100, 100
    rows = {r.group: r for r in night.by_imd_decile}
    assert {g: r.population for g, r in rows.items()} == {1: 400, 2: 200, 3: 240, 4: 60, 10: 100}
    assert rows[1].covered_population == 300.0
    assert rows[1].share == pytest.approx(0.75)
    assert rows[1].covered_population_with_recommended == 400.0
    # quintiles by hand: q1 = deciles 1-2: 600 people, 300 covered; q2 = deciles 3-4:
    # 300 people, 0 covered; q5 = decile 10: 100 people, all covered
    quint = {r.group: (r.population, r.covered_population) for r in night.by_imd_quintile}
    assert quint == {1: (600.0, 300.0), 2: (300.0, 0.0), 5: (100.0, 100.0)}
    avail = {r.group: r for r in found.by_basis["available"].by_imd_quintile}
    # q1: 100 x .5 + 300 x 1 + 200 x 0 = 350 of 600; q2: 240 x .25 + 60 x .5 = 90 of 300
    assert avail[1].covered_population == pytest.approx(350.0)
    assert avail[2].covered_population == pytest.approx(90.0)
    # SII at night, by hand: shares .75, 0, 0, 0, 1 over 400, 200, 240, 60, 100 people
    p = np.array([0.4, 0.2, 0.24, 0.06, 0.1])
    r = np.cumsum(p) - p / 2  # 0.2, 0.5, 0.72, 0.87, 0.95
    y = np.array([75.0, 0.0, 0.0, 0.0, 100.0])
    xbar, ybar = p @ r, p @ y
    hand = (p @ ((r - xbar) * (y - ybar))) / (p @ (r - xbar) ** 2)
    assert night.slope_index == pytest.approx(hand)
    # any-time coverage is 100 % everywhere but decile 2 -> its own slope
    assert found.slope_index["any"] != pytest.approx(night.slope_index)
    # with the recommended sites every decile's any-time share is 100 %: no gradient
    assert found.by_basis["any"].slope_index_with_recommended == pytest.approx(0.0, abs=1e-9)
    # decile 4 holds 60 of 1,000 people (6 %) - not small; none under 5 %
    assert found.small_deciles == ()
    # the bare gap keeps any-time coverage and now shows the people of both deciles
    assert found.decile_gap.most_deprived_population == 400.0
    assert found.decile_gap.least_deprived_population == 100.0
    assert found.decile_gap.gap_share == pytest.approx(1.0 - 1.0)
    # need: expected arrests by decile: decile 1 holds 3.0, 2.0 of them covered at night
    need = {r.group: r for r in night.need_by_imd_decile}
    assert need[1].population == pytest.approx(3.0)
    assert need[1].covered_population == pytest.approx(2.0)
    shown = summary_json.equity(found)
    assert shown["slope_index"] == {
        "night": pytest.approx(hand),
        "available": pytest.approx(found.by_basis["available"].slope_index),
        "any": pytest.approx(found.by_basis["any"].slope_index),
    }
    assert shown["slope_index_headline"] == "night"
    assert shown["by_basis"]["night"]["by_imd_quintile"][0]["population"] == 600.0


def test_a_small_decile_is_noted_with_its_people(config):
    demand = _demand([1, 2, 10], np.array([900.0, 80.0, 20.0]), np.array([True, False, True]))
    cover = {b: demand["covered"].to_numpy(float) for b in EQUITY_BASES}
    found = board.equity_tables(demand, cover, cover, config, None)
    assert [r.group for r in found.small_deciles] == [10]
    assert found.notes == (
        (
            "IMD decile 10 holds 20 people (2.0 % of those with a decile, under 5 %): its "
            "coverage share rests on few people."
        ),
    )
    assert found.by_basis["night"].need_by_imd_decile is None


def test_without_deciles_there_is_no_slope(config):
    demand = _demand([1, 2], np.array([1.0, 1.0]), np.array([True, False])).drop(
        columns="imd_decile"
    )
    cover = {b: demand["covered"].to_numpy(float) for b in EQUITY_BASES}
    found = board.equity_tables(demand, cover, cover, config, None)
    assert found.by_basis == {}
    assert "slope_index" not in summary_json.equity(found)


def test_coverage_bases_now_from_the_demand_after_from_the_year_with_the_new_sites():
    # a line 0-100-200-300 m; today a school defib at 0 m (Monday 09:00-17:00 in term); the
    # recommended cabinet at 300 m is 24/7. Demand at 0, 150 and 300 m; a 100 m walk.
    net = nw.from_arrays(
        node_x=np.array([0.0, 100.0, 200.0, 300.0]),
        node_y=np.zeros(4),
        edge_u=np.array([0, 1, 2]),
        edge_v=np.array([1, 2, 3]),
    )
    term = np.zeros((1, 168), dtype=bool)
    term[0, 9:17] = True
    school = board.SiteSet(
        np.array(["school"], dtype=object),
        snap_points(net, np.array([0.0]), np.array([0.0])),
        term,
        np.zeros_like(term),
        term,
    )
    cabinet = board.always(
        np.array(["cab"], dtype=object), snap_points(net, np.array([300.0]), np.array([0.0]))
    )
    points = snap_points(net, np.array([0.0, 150.0, 300.0]), np.zeros(3))
    year_after = year_coverage(
        net,
        points,
        np.ones(3),
        school.plus(cabinet).snapped,
        (school.plus(cabinet).term, school.plus(cabinet).holiday),
        term_weeks=39,
        thresholds_m=[100.0],
    )
    school_share = 8 / 168 * 39 / 52
    demand = _demand([1, 2, 3], np.ones(3), np.array([True, False, False])).assign(
        covered_night=[False, False, False], covered_available_share=[school_share, 0.0, 0.0]
    )
    now, after, measured = board.coverage_bases(
        demand, np.array([True, False, True]), year_after, "100"
    )
    assert "typical year" in measured
    np.testing.assert_allclose(now["available"], [school_share, 0.0, 0.0])
    np.testing.assert_array_equal(now["night"], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(after["available"], [school_share, 0.0, 1.0])
    np.testing.assert_array_equal(after["night"], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(after["any"], [1.0, 0.0, 1.0])
