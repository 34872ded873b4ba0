"""The emergency services' partners in a study: hubs, first responders, stations, old bases.

On the demo town (copies of its study file, the shipped data untouched):

- an ambulance make-ready hub is a 24/7 defib: every resident whose nearest defib it is,
  within the headline walk, is covered at night and all year; it is not a drive origin;
- a hub whose row says it has no public defib is not a defib, and ``[ranking] hubs`` offers
  it as ``hub:<id>``;
- community first responders with acceptance 0 change nothing; with acceptance 1, no other
  route and a fixed speed, each resident's time is the nearest volunteer's walk / speed;
- a study with ``[ambulance_bases]`` still runs and says what the section now means;
- the demo town's fire stations: one with ``outside_defib`` yes and one with no in the same
  layer are treated differently, and both co-respond with their own turnout (brute force
  over single stations).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defibmap.analysis import drive_routes
from defibmap.analysis import reach as _reach
from defibmap.analysis.ranking import HUB_CABINET
from defibmap.config.study_file import read_study
from defibmap.network.snapping import snap_points
from defibmap.study import timing
from defibmap.study.pipeline import run_study

DATA = Path(__file__).resolve().parents[2] / "data"
DEMO = DATA / "demo-town"
HUB_SECTION = re.compile(
    r"\n# The ambulance service's make-ready hub.*?id = \"site_id\"\n", re.DOTALL
)


def _study(tmp: Path, name: str, *, hub: bool = True, extra: str = "") -> Path:
    """A copy of the demo town study reading the shipped data (absolute paths) plus ``extra``."""
    text = (DATA / "studies" / "demo-town.toml").read_text(encoding="utf-8")
    text = text.replace('"../demo-town/', f'"{DEMO.as_posix()}/')
    if not hub:
        text, found = HUB_SECTION.subn("\n", text)
        assert found == 1
    path = tmp / f"{name}.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shipped():
    return run_study(read_study(DATA / "studies" / "demo-town.toml"))


@pytest.fixture(scope="module")
def without_hub(tmp_path_factory):
    return run_study(read_study(_study(tmp_path_factory.mktemp("nohub"), "nohub", hub=False)))


def test_the_hub_is_a_24_7_defib_that_covers_residents_at_night(shipped, without_hub):
    defibs = shipped.defibs
    assert defibs.loc["hub-01", "layer"] == "ambulance_hubs"
    assert defibs.loc["hub-01", "availability"] == "24/7"
    assert "hub-01" not in set(without_hub.defibs.index)
    demand = shipped.demand
    headline = 500.0
    by_hub = (demand["nearest_defib_id"] == "hub-01").to_numpy() & (
        demand["walk_m"].to_numpy() <= headline
    )
    assert by_hub.sum() > 0
    # a 24/7 site: every resident it is the nearest defib of, within the walk, is covered at
    # night and at every hour of the year
    assert demand.loc[by_hub, "covered_night"].all()
    np.testing.assert_allclose(demand.loc[by_hub, "covered_available_share"], 1.0)
    # those of them not covered at night without it add their share of residents
    before = without_hub.demand["covered_night"].reindex(demand.index).to_numpy(dtype=bool)
    people = demand["population"].to_numpy(dtype=float)
    gain = people[by_hub & ~before].sum() / people.sum()
    assert gain > 0
    night = shipped.coverage_night["500"] - without_hub.coverage_night["500"]
    assert night >= gain - 1e-12
    # not a drive origin: the ambulance stays the study-wide distribution, no bases note
    assert shipped.time_to_defib.assumptions.ambulance.startswith("lognormal")
    assert timing.AMBULANCE_BASES_NOTE not in shipped.notes
    assert "ambulance_hubs" in shipped.summary()["inputs"]


def test_a_hub_without_a_public_defib_is_an_option_not_a_defib(tmp_path):
    hubs = pd.read_csv(DEMO / "ambulance_hubs.csv", dtype=str)
    hubs["outside_defib"] = "no"
    hubs.to_csv(tmp_path / "hubs.csv", index=False)
    path = _study(tmp_path, "hubopt", extra="")
    text = path.read_text(encoding="utf-8").replace(
        f'"{DEMO.as_posix()}/ambulance_hubs.csv"', f'"{(tmp_path / "hubs.csv").as_posix()}"'
    )
    text = text.replace("[ranking]\n", '[ranking]\nhubs = ["ambulance_hubs"]\n', 1)
    path.write_text(text, encoding="utf-8")
    result = run_study(read_study(path))
    assert "hub-01" not in set(result.defibs.index)
    options = result.candidates
    offered = options[options["option"] == HUB_CABINET]
    assert list(offered.index) == ["hub:hub-01"]
    assert offered.loc["hub:hub-01", "lon"] == pytest.approx(float(hubs.loc[0, "lon"]))


def _volunteers(tmp: Path) -> pd.DataFrame:
    demand = pd.read_csv(DEMO / "demand.csv")
    chosen = demand.iloc[::9][["lon", "lat"]].reset_index(drop=True)
    chosen.insert(0, "volunteer", [f"v{i:03d}" for i in range(len(chosen))])
    chosen.to_csv(tmp / "volunteers.csv", index=False)
    return chosen


def _responders(tmp: Path, options: str) -> str:
    _volunteers(tmp)
    return (
        f'\n[first_responders]\nfile = "{(tmp / "volunteers.csv").as_posix()}"\n'
        f'id = "volunteer"\n{options}'
    )


def test_first_responders_with_acceptance_zero_change_nothing(tmp_path, shipped):
    path = _study(tmp_path, "cfr0", extra=_responders(tmp_path, "accept_share = 0\n"))
    result = run_study(read_study(path))
    assert "first_responders" in result.summary()["inputs"]
    for name, old in shipped.time_to_defib.scenarios.items():
        new = result.time_to_defib.scenarios[name]
        assert new.median_s == old.median_s
        assert new.within_min_share == old.within_min_share
        assert new.p_defib_before_ambulance == old.p_defib_before_ambulance
        assert new.first_route_share == {**old.first_route_share, "first_responder": 0.0}
    for column in ("time_to_defib_s", "time_to_defib_p90_s", "p_defib_before_ambulance"):
        pd.testing.assert_series_equal(result.demand[column], shipped.demand[column])


def test_first_responders_with_acceptance_one_arrive_in_walk_over_speed(tmp_path):
    speed = 2.0
    options = f"accept_share = 1\ncarries_defib = 1\nspeed_m_s = {speed}\nalert_m = 3000\n"
    extra = _responders(tmp_path, options)
    path = _study(tmp_path, "cfr1", extra=extra)
    text = path.read_text(encoding="utf-8")
    text = text.replace("co_responder = true", "co_responder = false")
    text = text.replace(
        "ambulance_s = 420 ",
        "ambulance_mean_s = 7200\nambulance_p90_s = 7200\nrecognition_s = 0\n"
        "second_bystander = 0\n# ",
    )
    path.write_text(text, encoding="utf-8")
    config = read_study(path)
    result = run_study(config)
    # the walk from the nearest volunteer, measured here on the study's own network
    net = result.network
    volunteers = pd.read_csv(tmp_path / "volunteers.csv")
    from pyproj import Transformer

    to_net = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True)
    vx, vy = to_net.transform(volunteers["lon"].to_numpy(), volunteers["lat"].to_numpy())
    demand = result.demand
    dem = snap_points(net, demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy())
    vol = snap_points(net, np.asarray(vx), np.asarray(vy), max_snap_m=250)
    walk = _reach.nearest_facility(net, dem, vol.subset(vol.ok), limit_m=3000).walk_m
    expected = walk / speed
    got = demand["time_to_defib_s"].to_numpy()
    reached = np.isfinite(expected) & (expected < 7200)
    assert reached.mean() > 0.95
    np.testing.assert_allclose(got[reached], expected[reached], rtol=1e-9, atol=1e-9)
    assert (demand.loc[reached, "first_route"] == "first_responder").all()
    # by hand: a volunteer placed at a resident's own point walks to the street and back,
    # 2 x the point's snap distance (a nearer volunteer could only be quicker)
    own = demand.index.isin(demand.index[::9])
    legs = 2.0 * demand["snap_m"].to_numpy()[own] / speed
    assert (got[own] <= legs + 1e-9).all()
    assert np.isclose(got[own], legs, rtol=1e-9, atol=1e-9).mean() > 0.9


def test_an_old_study_with_ambulance_bases_runs_and_says_what_they_now_mean(
    tmp_path, caplog, capsys
):
    from defibmap.cli import main

    bases = pd.read_csv(DEMO / "police_stations.csv")
    bases["site_id"] = ["base-01"]
    bases.to_csv(tmp_path / "bases.csv", index=False)
    extra = f'\n[ambulance_bases]\nfile = "{(tmp_path / "bases.csv").as_posix()}"\nid = "site_id"\n'
    path = _study(tmp_path, "bases", extra=extra)
    with caplog.at_level(logging.WARNING, logger="defibmap"):
        result = run_study(read_study(path))
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert timing.AMBULANCE_BASES_NOTE in said
    assert timing.AMBULANCE_BASES_NOTE in result.notes
    assert "stand-in" in timing.AMBULANCE_BASES_NOTE
    assert "[ambulance_bases]" in result.time_to_defib.assumptions.ambulance
    # the terminal says it too
    assert main(["run", "--config", str(path), "--out", str(tmp_path / "out")]) == 0
    assert "stand-in for areas without ambulance response data" in capsys.readouterr().out


def test_stations_with_outside_defib_yes_and_no_in_one_layer_are_treated_differently(shipped):
    fire = pd.read_csv(DEMO / "fire_stations.csv", dtype=str).set_index("site_id")
    assert set(fire["outside_defib"]) == {"yes", "no"}
    yes = fire.index[fire["outside_defib"] == "yes"]
    no = fire.index[fire["outside_defib"] == "no"]
    defibs = set(shipped.defibs.index)
    assert set(yes) <= defibs
    assert not set(no) & defibs
    assert (shipped.defibs.loc[list(yes), "availability"] == "24/7").all()
    stations = shipped.stations
    assert stations.loc[list(yes), "outside_defib"].all()
    assert not stations.loc[list(no), "outside_defib"].any()


def test_demo_town_co_responds_with_each_stations_own_turnout(shipped):
    config = shipped.config
    assert shipped.time_to_defib.co_responding == "assessed"
    assert shipped.time_to_defib.scenarios["current+fire"].first_route_share["fire"] > 0
    stations = shipped.stations[shipped.stations["layer"] == "fire_stations"]
    crewing = pd.read_csv(DEMO / "fire_stations.csv", dtype=str).set_index("site_id")["crewing"]
    assert set(crewing) == {"wholetime", "on_call"}
    turnouts = timing.station_turnouts(stations, config.response, file="fire_stations.csv")
    by_hand = {"wholetime": 120.0, "on_call": 300.0}  # the demo's [response] keys
    assert list(turnouts) == [by_hand[crewing[i]] for i in stations.index]
    said = [n for n in shipped.notes if n.startswith("Fire co-responders:")]
    assert len(said) == 1
    assert "120 s (1 station), 300 s (1 station)" in said[0]
    # brute force: each station alone, its own turnout plus its drive; the fastest wins
    dnet = timing._drive_network(config, shipped.network.crs, None)
    demand = shipped.demand
    dx, dy = demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()
    sx, sy = stations.geometry.x.to_numpy(), stations.geometry.y.to_numpy()
    singles = np.vstack(
        [
            drive_routes.drive_from_stations(
                dnet, sx[i : i + 1], sy[i : i + 1], dx, dy
            ).fire_drive_s
            for i in range(len(stations))
        ]
    )
    total = turnouts[:, None] + singles
    chosen = np.nanargmin(np.where(np.isfinite(total), total, np.inf), axis=0)
    reached = np.isfinite(total).any(axis=0)
    np.testing.assert_allclose(
        demand["fire_drive_s"].to_numpy()[reached], singles[chosen, np.arange(len(dx))][reached]
    )
    # both crews are the first fire crew somewhere: the turnouts differ and both count
    assert set(chosen[reached]) == {0, 1}
