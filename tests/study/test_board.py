"""Issue-3 analysis: hours by day and night, scenarios, set covering, curve, equity, finer
demand, straight line - on hand-built cases, brute force and spopt."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pulp
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from spopt.locate import LSCP

import defibmap
from defibmap.analysis import availability as av
from defibmap.analysis import equity, optimise, reach
from defibmap.analysis import finer_demand as demand_mod
from defibmap.config.study_file import read_study
from defibmap.network import walk as nw
from defibmap.network.snapping import snap_points
from defibmap.study import board as analysis


def line_graph() -> nw.Network:
    return nw.from_arrays(
        node_x=np.array([0.0, 100.0, 200.0, 300.0]),
        node_y=np.zeros(4),
        edge_u=np.array([0, 1, 2]),
        edge_v=np.array([1, 2, 3]),
    )


def site_set(net, xs, hours):
    snapped = snap_points(net, np.asarray(xs, float), np.zeros(len(xs)))
    term = np.array([av.site_availability(h).term for h in hours])
    return analysis.SiteSet(
        np.array([f"s{i}" for i in range(len(xs))], dtype=object), snapped, term, term, term
    )


@pytest.fixture
def config():
    return read_study(defibmap._resources.study_path("leeds"))


def test_office_hours_defib_covers_by_day_not_at_night(config):
    net = line_graph()
    sites = site_set(net, [100.0], ["Mo-Fr 09:00-17:00"])
    demand = snap_points(net, np.array([150.0]), np.array([0.0]))
    out = analysis.scenario_summary(net, demand, np.array([10.0]), sites, config)
    assert out.any_time["100"] == 1.0
    assert out.day["100"] == 1.0
    assert out.night["100"] == 0.0
    profile = np.array(out.hourly_term_time["100"])
    assert profile[9] == 1.0  # Monday 09:00-10:00
    assert profile[17] == 0.0
    assert profile[5 * 24 + 10] == 0.0  # Saturday


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 4))
def test_adding_stations_never_lowers_coverage(seed, n_defibs, n_stations):
    rng = np.random.default_rng(seed)
    net = nw.from_arrays(
        node_x=rng.uniform(0, 1000, 30),
        node_y=rng.uniform(0, 1000, 30),
        edge_u=np.arange(29),
        edge_v=np.arange(1, 30),
    )
    cfg = read_study(defibmap._resources.study_path("demo-town"))
    hours = rng.choice(["24/7", "Mo-Fr 09:00-17:00", "Sa 10:00-13:00", ""], n_defibs)
    current = site_set(net, rng.uniform(0, 1000, n_defibs), list(hours))
    current = analysis.SiteSet(
        current.ids,
        snap_points(
            net, rng.uniform(0, 1000, n_defibs), rng.uniform(0, 1000, n_defibs), max_snap_m=2000
        ),
        current.term,
        current.holiday,
        current.term_unknown_off,
    )
    stations = analysis.always(
        np.array([f"st{i}" for i in range(n_stations)], dtype=object),
        snap_points(
            net, rng.uniform(0, 1000, n_stations), rng.uniform(0, 1000, n_stations), max_snap_m=2000
        ),
    )
    demand = snap_points(net, rng.uniform(0, 1000, 40), rng.uniform(0, 1000, 40), max_snap_m=2000)
    pop = rng.integers(1, 100, 40).astype(float)
    before = analysis.scenario_summary(net, demand, pop, current, cfg)
    after = analysis.scenario_summary(net, demand, pop, current.plus(stations), cfg)
    for when in ("any_time", "day", "night"):
        for key in getattr(before, when):
            assert getattr(after, when)[key] >= getattr(before, when)[key] - 1e-12


def brute_force_min_sites(cover, w, target, covered):
    n = cover.shape[0]
    for r in range(n + 1):
        for combo in itertools.combinations(range(n), r):
            hit = cover[list(combo)].any(axis=0) if combo else np.zeros(cover.shape[1], bool)
            if w[hit & ~covered].sum() >= target - 1e-9:
                return r
    return None


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 7), st.integers(1, 10), st.floats(0.05, 1.2), st.integers(0, 2**32 - 1))
def test_set_cover_is_minimal(n_sites, n_demand, frac, seed):
    rng = np.random.default_rng(seed)
    cover = rng.random((n_sites, n_demand)) < 0.35
    w = rng.integers(1, 50, n_demand).astype(float)
    covered = rng.random(n_demand) < 0.2
    target = frac * w[~covered].sum()
    res = optimise.set_cover(sp.csr_matrix(cover), w, target, already_covered=covered)
    expected = brute_force_min_sites(cover, w, target, covered)
    if expected is None:
        assert not res.reachable
        coverable = cover.any(axis=0) & ~covered
        assert res.covered == pytest.approx(w[coverable].sum())
    else:
        assert res.reachable
        assert len(res.sites) == expected
        assert res.covered >= target - 1e-9


@pytest.mark.parametrize("study", ["leeds", "demo-town"])
def test_set_cover_matches_spopt_lscp(study, leeds_network):
    # Leeds is the real instance (postcode demand, real libraries); the demo town is bigger
    result = defibmap.run_study(study, network=leeds_network if study == "leeds" else None)
    net = result.network
    dem = result.demand
    cands = result.candidates
    d_snap = snap_points(net, dem.geometry.x.to_numpy(), dem.geometry.y.to_numpy())
    c_snap = snap_points(net, cands.geometry.x.to_numpy(), cands.geometry.y.to_numpy())
    pairs = reach.pair_distances(net, c_snap, d_snap, limit_m=500.0)
    cover = pairs.cover_matrix(500.0)
    already = dem["covered"].to_numpy()
    coverable = np.asarray(cover.sum(axis=0)).ravel() > 0
    keep = coverable & ~already
    w = dem["population"].to_numpy()
    ours = optimise.set_cover(cover, w, w[keep].sum(), already_covered=already)
    cost = np.full((len(dem), len(cands)), 1e9)
    cost[pairs.demand, pairs.site] = pairs.walk_m
    model = LSCP.from_cost_matrix(cost[keep], 500.0).solve(pulp.PULP_CBC_CMD(msg=False))
    spopt_sites = round(pulp.value(model.problem.objective))
    assert len(ours.sites) == spopt_sites


def test_curve_and_equity_by_hand():
    cover = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]], dtype=bool))
    pop = np.array([10.0, 20.0, 30.0])
    curve = analysis.curve_table(cover, pop, pop, np.zeros(3, bool), 3)
    assert list(curve["k"]) == [0, 1, 2]
    assert list(curve["greedy_population_covered"]) == [0.0, 30.0, 60.0]
    assert list(curve["optimal_population_covered"]) == [0.0, 30.0, 60.0]
    import pandas as pd

    rows = equity.coverage_by_group(
        pd.Series([1, 1, 10]), pop, np.array([True, False, True]), name="imd_decile"
    )
    assert rows[0] == {
        "imd_decile": 1,
        "population": 30.0,
        "covered_population": 10.0,
        "share": pytest.approx(1 / 3),
    }
    gap = equity.decile_gap(rows)
    assert gap["gap_share"] == pytest.approx(1.0 - 1 / 3)
    w = equity.deprivation_weights(np.array([10.0, 10.0, 10.0]), np.array([1.0, 10.0, np.nan]))
    np.testing.assert_allclose(w, [20.0, 10.0, 10.0])


def test_finer_demand_preserves_population():
    areas = gpd.GeoDataFrame(
        {"population": [100.0, 50.0, 7.0], "imd_decile": [1, 2, 3]},
        index=["A", "B", "C"],
        geometry=gpd.points_from_xy([0, 1000, 5000], [0, 0, 0]),
        crs=27700,
    )
    points = gpd.GeoDataFrame(
        index=["p1", "p2", "p3", "p4", "far"],
        geometry=gpd.points_from_xy([10, -10, 990, 20, 3000], [0, 5, 0, 0, 0]),
        crs=27700,
    )
    others = gpd.GeoDataFrame(
        index=["A", "B", "C", "Z"],
        geometry=gpd.points_from_xy([0, 1000, 5000, 3000], [0, 0, 0, 0]),
        crs=27700,
    )
    out = demand_mod.spread_to_points(areas, points, all_centroids=others)
    assert out["population"].sum() == pytest.approx(157.0)
    assert out.loc["p1", "population"] == pytest.approx(100 / 3)
    assert out.loc["p3", "population"] == pytest.approx(50.0)
    assert "far" not in out.index  # belongs to area Z, outside the study
    assert out.loc["C", "population"] == 7.0  # no postcode: the centroid stays
    assert out.loc["p3", "imd_decile"] == 2


@pytest.mark.parametrize("study", ["leeds", "demo-town"])
def test_shipped_studies_report_everything(study, leeds_network):
    result = defibmap.run_study(study, network=leeds_network if study == "leeds" else None)
    s = result.summary()
    assert set(s["scenarios"]) >= set(analysis.SCENARIO_NAMES)
    for data in s["scenarios"].values():
        assert set(data["any"]) == {"100", "200", "500"}
    current = s["scenarios"]["current"]
    assert current["day"]["500"] != current["night"]["500"]
    assert current["any"] == s["coverage"]
    full = s["scenarios"]["current+stations+recommended"]["any"]["500"]
    assert full >= s["scenarios"]["current+stations"]["any"]["500"]
    assert s["scenarios"]["current+stations"]["any"]["500"] >= current["any"]["500"]
    assert s["set_covering"]["targets"]
    assert s["set_covering"]["of"] == "all"
    assert set(s["equity"]["slope_index"]) == {"night", "available", "any"}
    assert s["curve"][0]["k"] == 0
    assert "by_imd_decile" in s["equity"]
    assert s["equity"]["decile_gap"] is not None
    assert s["straight_line"]["coverage"]["500"] >= current["any"]["500"]
    assert s["population_total"] == pytest.approx(60339 if study == "leeds" else 30000)
    if study == "leeds":
        assert s["finer_demand"]["points"] > 32
        assert s["finer_demand"]["area_centroid_coverage"]["500"] != s["coverage"]["500"]


def test_day_demand_layer_changes_only_day_figures(tmp_path, leeds_network):
    import shutil

    from defibmap._resources import data_root

    src = data_root()
    study = (src / "studies" / "leeds.toml").read_text(encoding="utf-8")
    study = study.replace('"../leeds/', f'"{(src / "leeds").as_posix()}/')
    # workers by day: everyone at the two police stations' addresses (a hand-made layer)
    shutil.copy(src / "leeds" / "police_stations.csv", tmp_path / "workers.csv")
    text = (tmp_path / "workers.csv").read_text(encoding="utf-8").splitlines()
    text[0] += ",workers"
    text[1:] = [line + ",1000" for line in text[1:]]
    (tmp_path / "workers.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    study += '\n[day_demand]\nfile = "workers.csv"\nid = "site_id"\npopulation = "workers"\n'
    (tmp_path / "s.toml").write_text(study, encoding="utf-8")
    base = defibmap.run_study("leeds", network=leeds_network).summary()["scenarios"]["current"]
    day = defibmap.run_study(tmp_path / "s.toml", network=leeds_network).summary()
    cur = day["scenarios"]["current"]
    assert cur["day_demand"] == "own day-time layer"
    assert cur["night"] == base["night"]
    assert cur["any"] == base["any"]
    assert cur["day"] != base["day"]
