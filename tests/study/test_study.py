"""End-to-end studies on the shipped real (Leeds) and synthetic (demo town) data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pulp
import pytest
from spopt.locate import MCLP

import defibmap
from defibmap._errors import ConfigError
from defibmap.analysis import optimise, reach
from defibmap.cli import main
from defibmap.network.snapping import snap_points

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def leeds(leeds_network):
    return defibmap.run_study("leeds", network=leeds_network)


def test_leeds_default_is_real_and_complete(leeds):
    summary = leeds.summary()
    assert summary["population_total"] == 60339
    assert summary["thresholds_m"] == [100, 200, 500]
    names = " ".join(s["name"] for s in summary["sources"])
    assert "OpenStreetMap" in names
    assert "Census 2021" in names
    assert all(len(s["sha256"]) == 64 for s in summary["sources"])
    assert summary["inputs"]["demand"]["rows_used"] == 32
    cov = summary["coverage"]
    assert cov["100"] <= cov["200"] <= cov["500"]
    assert set(leeds.recommendations["name"]) <= set(leeds.candidates["name"])
    assert len(leeds.recommendations) == min(3, len(leeds.candidates))
    # stations are not defibs in the default study
    assert set(leeds.defibs["layer"]) == {"defibs"}


def test_leeds_mclp_matches_spopt(leeds):
    net = leeds.network
    dem = leeds.demand
    sites = pd.concat([leeds.defibs.geometry, leeds.candidates.geometry])
    n_existing = len(leeds.defibs)
    d_snap = snap_points(net, dem.geometry.x.to_numpy(), dem.geometry.y.to_numpy())
    s_snap = snap_points(net, sites.x.to_numpy(), sites.y.to_numpy())
    pairs = reach.pair_distances(net, s_snap, d_snap, limit_m=500.0)
    cost = np.full((len(dem), len(sites)), 1e9)
    cost[pairs.demand, pairs.site] = pairs.walk_m
    k = leeds.config.new_sites
    predefined = np.r_[np.ones(n_existing, dtype=int), np.zeros(len(sites) - n_existing, int)]
    model = MCLP.from_cost_matrix(
        cost,
        dem["population"].to_numpy(),
        500.0,
        n_existing + k,
        predefined_facilities_arr=predefined,
    ).solve(pulp.PULP_CBC_CMD(msg=False))
    spopt_total = float(pulp.value(model.problem.objective))
    # the study ranks by year-round available coverage (issue 15); spopt's model counts every
    # defib at every hour, so it is compared with the any-time model on the study's cover
    population = dem["population"].to_numpy()
    covered = reach.covered(dem["walk_m"].to_numpy(), 500.0)
    exact = optimise.mclp(leeds.ranking.cover, population, k, already_covered=covered)
    ours = leeds.ranking.population_covered_before + exact.objective
    assert ours == pytest.approx(spopt_total)
    assert leeds.ranking.greedy_objective <= leeds.ranking.optimal_objective + 1e-9


def _check_outputs(out: Path, *, rows: int) -> dict:
    for name in ("summary.json", "demand_coverage.csv", "recommendations.csv", "map.html"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in (
        "study",
        "version",
        "sources",
        "population_total",
        "thresholds_m",
        "coverage",
        "ranking",
        "network",
        "inputs",
    ):
        assert key in summary
    for key in ("method", "new_sites", "greedy_population_added", "optimal_population_added"):
        assert key in summary["ranking"]
    demand = pd.read_csv(out / "demand_coverage.csv")
    assert list(demand.columns[:8]) == [
        "demand_id",
        "population",
        "lon",
        "lat",
        "snap_m",
        "walk_m",
        "nearest_defib_id",
        "covered",
    ]
    assert demand["population"].sum() == pytest.approx(summary["population_total"])
    rec = pd.read_csv(out / "recommendations.csv")
    assert list(rec.columns[:9]) == [
        "rank",
        "site_id",
        "name",
        "lon",
        "lat",
        "added_population",
        "cumulative_population_covered",
        "cumulative_coverage_share",
        "method",
    ]
    assert len(rec) == rows
    assert list(rec["rank"]) == list(range(1, rows + 1))
    # greedy gains never grow: people (any time), or people x share of the year when the
    # ranking maximises year-round available coverage (issue 15)
    gain = "added_people_available" if summary["ranking"]["objective"] == "available" else None
    assert (np.diff(rec[gain or "added_population"]) <= 1e-9).all()
    covered500 = demand.loc[demand["covered"], "population"].sum() / demand["population"].sum()
    assert summary["coverage"]["500"] == pytest.approx(covered500)
    return summary


def test_cli_default_run_writes_outputs(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "leeds")]) == 0
    printed = capsys.readouterr().out
    assert "OpenStreetMap" in printed
    assert "Census 2021" in printed
    summary = _check_outputs(tmp_path / "leeds", rows=3)
    assert summary["population_total"] == 60339


def test_cli_demo_town_is_labelled_synthetic(tmp_path, capsys):
    assert main(["run", "demo-town", "--out", str(tmp_path / "demo")]) == 0
    printed = capsys.readouterr().out
    assert "SYNTHETIC" in printed.upper()
    summary = _check_outputs(tmp_path / "demo", rows=5)
    assert all("synthetic" in s["name"].lower() for s in summary["sources"])
    assert "synthetic" in (tmp_path / "demo" / "map.html").read_text(encoding="utf-8").lower()
    assert (
        set(pd.read_csv(tmp_path / "demo" / "demand_coverage.csv")["nearest_defib_id"].dropna())
        != set()
    )


def test_rerun_replaces_outputs_and_leaves_no_temp_files(tmp_path):
    out = tmp_path / "o"
    assert main(["run", "--out", str(out)]) == 0
    first = (out / "summary.json").read_text(encoding="utf-8")
    assert main(["run", "--out", str(out)]) == 0
    assert (out / "summary.json").read_text(encoding="utf-8") == first
    assert sorted(p.name for p in out.iterdir()) == [
        ".defibmap-manifest.json",  # what defibmap wrote, with hashes
        "coverage_curve.csv",
        "defibmap.gpkg",  # the GIS layers
        "demand_coverage.csv",
        "figures",
        "map.html",
        "recommendations.csv",
        "recommendations.geojson",
        "recommendations.xlsx",
        "rejected.csv",
        "report.html",
        "scenarios.csv",
        "summary.json",
        "warnings.csv",
    ]


def test_unknown_study_and_bad_config_are_clear(tmp_path, capsys):
    assert main(["run", "atlantis"]) == 1
    assert "no shipped study named 'atlantis'" in capsys.readouterr().err
    bad = tmp_path / "s.toml"
    bad.write_text('[network]\nosm_file = "missing.osm"\n[demand]\nfile="d.csv"\n')
    with pytest.raises(ConfigError, match=r"osm_file = 'missing.osm': no such file"):
        defibmap.load_study(bad)


def test_study_with_own_files_and_stations_as_defibs(tmp_path, leeds_network):
    shutil.copy(REPO / "data" / "leeds" / "lsoa21_demand.csv", tmp_path / "people.csv")
    (tmp_path / "police.csv").write_text(
        "site_id,name,easting,northing\nINE,Inner North East,430015,436967\n"
        "INW,Inner North West,429762,434465\nFAR,Far away,400000,400000\n"
    )
    (tmp_path / "s.toml").write_text(
        f"""
[study]
name = "own files"
[network]
osm_file = "{(REPO / "data" / "leeds" / "leeds_inner_ne.osm.bz2").as_posix()}"
[demand]
file = "people.csv"
id = "lsoa21cd"
population = "population"
[police_stations]
file = "police.csv"
id = "site_id"
outside_defib = true
[coverage]
thresholds_m = [500, 1000]
[ranking]
new_sites = 0
"""
    )
    result = defibmap.run_study(tmp_path / "s.toml", network=leeds_network)
    assert list(result.defibs.index) == ["INE", "INW"]
    assert result.inputs["police_stations"]["rejected_reasons"] == {
        "farther than 250 m from the walking network": 1
    }
    assert result.recommendations.empty
    assert set(result.coverage) == {"500", "1000"}


def test_installed_cli_runs_from_any_directory(tmp_path):
    exe = Path(sys.executable).with_name("defibmap")
    if not exe.exists():
        pytest.skip("the defibmap entry point is not installed in this environment")
    proc = subprocess.run(
        [str(exe), "run", "--out", str(tmp_path / "o")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o" / "map.html").is_file()


def test_time_to_defib_in_both_shipped_studies(tmp_path, leeds_network):
    demo = defibmap.run_study("demo-town")
    timing = demo.summary()["time_to_defib"]
    assert timing["co_responding"] == "assessed"
    assert set(timing["scenarios"]) == {
        "current",
        "current+fire",
        "current+stations+recommended",
        "current+stations+recommended+fire",
    }
    assert timing["scenarios"]["current+fire"]["first_route_share"]["fire"] > 0
    assert (
        timing["scenarios"]["current+fire"]["median_s"]
        <= timing["scenarios"]["current"]["median_s"]
    )
    cols = demo.demand
    fire_first = cols["first_route"] == "fire"
    assert fire_first.any()
    # where fire is most often first, the median over draws is at most recognition + turnout
    # + drive: the crew is free in 90 % of draws, so at least 90 % of times are that or less
    t = cols.loc[fire_first]
    assert (t["time_to_defib_s"] <= 60.0 + 120.0 + t["fire_drive_s"] + 1e-9).all()
    assert (t["time_to_defib_p90_s"] >= t["time_to_defib_s"]).all()
    assert ((t["p_defib_before_ambulance"] > 0) & (t["p_defib_before_ambulance"] <= 1)).all()
    leeds = defibmap.run_study("leeds", network=leeds_network)
    lt = leeds.summary()["time_to_defib"]
    assert lt["co_responding"] == "not assessed"
    assert any("co-responding cannot be assessed" in n for n in leeds.notes)
    assert leeds.demand["fire_drive_s"].isna().all()


def _toml(tmp_path: Path, network: str, layers: str) -> Path:
    (tmp_path / "d.csv").write_text("id,lon,lat,pop\na,-1.53,53.81,1\n")
    (tmp_path / "net.npz").write_bytes(b"")
    path = tmp_path / "s.toml"
    path.write_text(
        f'[network]\n{network}\n[demand]\nfile = "d.csv"\npopulation = "pop"\n{layers}\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("network", "layers", "error"),
    [
        ('place = "X"', '[defibs]\nosm = "hospitals"', r"\[defibs\] osm = 'hospitals': unknown"),
        ('place = "X"', '[defibs]\nosm = "police"', r"'police' layer does not belong"),
        ('place = "X"', "[defibs]\nosm = []", r"\[defibs\] osm must be an OpenStreetMap layer"),
        ('place = "X"', "[defibs]\nosm = 3", r"\[defibs\] osm must be"),
        (
            'place = "X"',
            '[defibs]\nosm = ["schools", "schools"]',
            r"\[defibs\] osm must be .* different",
        ),
        (
            'place = "X"',
            '[day_demand]\nfile = "d.csv"\npopulation = "pop"\nosm = "schools"',
            r"\[day_demand\] unknown key\(s\) \['osm'\]",
        ),
        ('place = "X"', '[police_stations]\nid = "x"', r"\[police_stations\] needs a file, osm"),
        (
            'place = "X"',
            '[candidates]\nfile = "d.csv"\ncouncil = "Leeds City Council"',
            r'council = .* needs osm = "council_buildings"',
        ),
        ('place = "X"', '[defibs]\nregister = "nope.csv"', r"\[defibs\] register = 'nope.csv'"),
        (
            'place = "X"',
            '[defibs]\nosm = "defibrillators"\nregister_within_m = 25',
            r"register_within_m needs register",
        ),
        (
            'place = "X"',
            '[defibs]\nregister = "d.csv"\nregister_within_m = -1',
            r"register_within_m must be finite metres > 0",
        ),
        ('place = "X"\nboundary_buffer_m = 500', "", r"boundary_buffer_m must be .*>= 2000"),
        ('place = "X"\nboundary_buffer_m = inf', "", r"boundary_buffer_m must be"),
        ('place = "X"\nmax_snap_m = -5', "", r"max_snap_m must be finite metres >= 0"),
        ('place = "X"\nmax_snap_m = nan', "", r"max_snap_m must be finite metres >= 0"),
        ('place = "X"\nmax_snap_m = inf', "", r"max_snap_m must be finite metres >= 0"),
        ('place = "X"\ncache_dir = 3', "", r"\[network\] cache_dir must be text"),
        (
            'graph_file = "net.npz"',
            '[defibs]\nosm = "defibrillators"',
            r"\[defibs\] osm needs an area",
        ),
    ],
)
def test_new_study_keys_are_checked(tmp_path, network, layers, error):
    path = _toml(tmp_path, network, layers)
    with pytest.raises(ConfigError, match=error) as info:
        defibmap.load_study(path)
    assert str(path) in str(info.value)  # the file is named


def test_new_study_keys_read(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = _toml(
        tmp_path,
        'place = "X"\ncache_dir = "~/defib-cache"\nboundary_buffer_m = 2500\nmax_snap_m = 0',
        '[defibs]\nosm = "defibrillators"\nregister = "d.csv"\n'
        '[candidates]\nfile = "d.csv"\nosm = ["council_buildings"]\ncouncil = "Leeds City Council"',
    )
    study = defibmap.load_study(path)
    assert study.network.cache_dir == tmp_path / "home" / "defib-cache"  # ~ expanded
    assert study.network.boundary_buffer_m == 2500
    assert study.network.max_snap_m == 0
    assert study.layers["defibs"].file is None
    assert study.layers["defibs"].osm == ("defibrillators",)
    assert study.layers["defibs"].register == tmp_path / "d.csv"
    assert study.layers["defibs"].register_within_m == 25
    assert study.layers["candidates"].council == "Leeds City Council"
    assert study.layers["candidates"].osm == ("council_buildings",)
    default = defibmap.load_study(_toml(tmp_path, 'place = "X"', ""))
    assert default.network.boundary_buffer_m == 2000


def test_register_without_osm_is_read_merged_and_counted(tmp_path, leeds_network):
    register = REPO / "tests" / "data" / "register_circuit_style_handmade.csv"
    (tmp_path / "s.toml").write_text(
        f"""
[network]
osm_file = "{(REPO / "data" / "leeds" / "leeds_inner_ne.osm.bz2").as_posix()}"
[demand]
file = "{(REPO / "data" / "leeds" / "lsoa21_demand.csv").as_posix()}"
id = "lsoa21cd"
population = "population"
[defibs]
register = "{register.as_posix()}"
[ranking]
new_sites = 0
""",
        encoding="utf-8",
    )
    result = defibmap.run_study(tmp_path / "s.toml", network=leeds_network)
    assert set(result.defibs.index) == {"D001", "D002", "D006"}
    inputs = result.inputs["defibs"]
    assert inputs["rows_read"] == 6 == inputs["rows_used"] + inputs["rows_rejected"]
    assert inputs["rejected_reasons"] == {
        "missing or non-numeric coordinates": 2,
        "not for public use (access=private)": 1,
    }
    assert inputs["register"]["register_only"] == 4
    assert result.defibs.loc["D001", "availability"] == "24/7"
    layers = [s["layer"] for s in result.sources]
    assert "defibs_register" in layers
