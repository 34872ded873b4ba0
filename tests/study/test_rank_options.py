"""A study ranks every option by what is available: indoor candidates by their hours, the
existing indoor defibs as upgrades (``upgrade:<id>``), within a budget when one is set."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defibmap._errors import InputError
from defibmap.analysis.ranking import NEW_CABINET, UPGRADE
from defibmap.config.study_file import read_study
from defibmap.study.pipeline import run_study

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo-town"


def _study(tmp_path: Path, ranking: str, candidates: pd.DataFrame | None = None) -> Path:
    folder = tmp_path / "demo"
    if not folder.exists():
        shutil.copytree(DEMO, folder)
    if candidates is not None:
        candidates.to_csv(folder / "candidates.csv", index=False)
    text = (REPO / "data" / "studies" / "demo-town.toml").read_text(encoding="utf-8")
    text = text.replace("../demo-town/", "demo/")
    text = re.sub(r"\[ranking\][^\[]*", "[ranking]\nnew_sites = 5\n" + ranking + "\n\n", text)
    path = tmp_path / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_upgrades_are_weighed_beside_the_candidates_within_a_budget(tmp_path):
    candidates = pd.read_csv(DEMO / "candidates.csv")
    candidates["cost"] = np.arange(len(candidates)) % 4 * 1000 + 2000.0
    path = _study(
        tmp_path,
        'upgrades = ["defibs"]\nbudget = 9000\nupgrade_cost = 1500',
        candidates,
    )
    result = run_study(read_study(path))
    ranking = result.ranking
    defibs = result.defibs
    # defibs with unknown hours count as usable at every hour (unknown_hours = "available")
    limited = defibs["availability"] == "limited hours"
    not_always = defibs.index[(defibs["layer"] == "defibs") & limited]
    assert len(not_always) > 0
    assert ranking.upgrades == len(not_always)
    assert ranking.candidates == len(result.candidates) == len(candidates) + len(not_always)
    upgrade_ids = {f"upgrade:{i}" for i in not_always}
    options = result.candidates
    assert set(options.index[options["option"] == UPGRADE]) == upgrade_ids
    recs = result.recommendations
    assert recs["cumulative_cost"].iloc[-1] <= 9000
    expected = [
        1500.0
        if site.startswith("upgrade:")
        else float(candidates.set_index("site_id").loc[site, "cost"])
        for site in recs["site_id"]
    ]
    assert list(recs["cost"]) == expected
    assert set(recs["option"]) <= {NEW_CABINET, UPGRADE}
    assert ranking.optimal_cost is not None
    assert ranking.optimal_cost <= 9000
    assert ranking.optimal_objective >= ranking.greedy_objective - 1e-9
    summary = result.summary()["ranking"]
    assert summary["objective"] == "available"
    assert summary["budget"] == 9000
    assert summary["upgrades"] == len(not_always)


def test_indoor_candidates_count_only_in_their_hours(tmp_path):
    # every candidate indoors, open Monday 10-11 only: nothing they add counts at night
    candidates = pd.read_csv(DEMO / "candidates.csv")
    candidates["outside_defib"] = "no"
    candidates["opening_hours"] = "Mo 10:00-11:00"
    night = run_study(read_study(_study(tmp_path, 'objective = "night"', candidates))).ranking
    assert night.optimal_objective == 0.0
    anytime = run_study(read_study(_study(tmp_path, 'objective = "any"', candidates))).ranking
    assert anytime.optimal_objective > 0


@pytest.mark.parametrize(
    ("value", "outside"),
    [
        (None, True),
        (pd.NA, True),
        (float("nan"), True),
        ("", True),
        ("yes", True),
        (True, True),
        ("no", False),
        ("FALSE", False),
        (False, False),
        (np.bool_(False), False),
    ],
)
def test_outside_defib_cells(value, outside):
    from defibmap.study import stages

    assert stages._outside(value, "candidates row 2") is outside


def test_a_bad_outside_defib_cell_names_the_row():
    from defibmap.study import stages

    with pytest.raises(InputError, match=re.escape("candidates row 7, column 'outside_defib'")):
        stages._outside("maybe", "candidates row 7, column 'outside_defib'")


def test_a_budget_without_candidate_costs_is_refused(tmp_path):
    path = _study(tmp_path, "budget = 9000")
    with pytest.raises(InputError, match="cost"):
        run_study(read_study(path))


@pytest.mark.parametrize("bad", ["abc", "-5"])
def test_a_bad_cost_with_a_budget_names_the_row_and_column(tmp_path, bad):
    candidates = pd.read_csv(DEMO / "candidates.csv", dtype=str)
    candidates["cost"] = "2000"
    candidates.loc[2, "cost"] = bad
    path = _study(tmp_path, "budget = 9000", candidates)
    site = candidates.loc[2, candidates.columns[0]]
    with pytest.raises(InputError, match=r"candidates row 4 \(site .*\): column 'cost'") as err:
        run_study(read_study(path))
    assert str(site) in str(err.value)
    assert repr(bad) in str(err.value)


def test_stations_without_an_outside_defib_are_weighed_as_outside_cabinets(tmp_path):
    import defibmap
    from defibmap.analysis.ranking import STATION_CABINET

    path = _study(tmp_path, 'objective = "any"\nstations = ["fire_stations"]')
    result = run_study(read_study(path))
    fire = pd.read_csv(DEMO / "fire_stations.csv", dtype=str)
    options = result.candidates
    stations = options[options["option"] == STATION_CABINET]
    # the demo's fire stations whose row says no outside defib: each is an option of its own
    bare = fire.loc[fire["outside_defib"] == "no", "site_id"]
    assert len(bare) >= 1
    assert sorted(stations.index) == sorted(f"station:{i}" for i in bare)
    assert result.ranking.candidates == len(options)
    placed = fire.set_index("site_id").loc[[i.split(":", 1)[1] for i in stations.index]]
    np.testing.assert_allclose(
        stations["lon"].astype(float), placed["lon"].astype(float), atol=1e-7
    )
    # the greedy order's first pick adds the most people of any single option
    gains = defibmap.compare(result, {str(i): [str(i)] for i in options.index})
    best = gains["people_added_any_time"].max()
    first = result.recommendations.iloc[0]
    assert first["added_population"] == pytest.approx(best)


@pytest.mark.parametrize(
    ("ranking", "message"),
    [
        ('stations = "fire_stations"', "stations must be a list of station layer names"),
        ('stations = ["candidates"]', "'candidates' is not a station layer"),
        ('stations = ["fire_stations"]\nbudget = 9000', "budget with stations needs station_cost"),
        ("station_cost = -1", "station_cost"),
    ],
)
def test_bad_station_options_are_refused(tmp_path, ranking, message):
    from defibmap._errors import ConfigError

    path = _study(tmp_path, ranking)
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_study(path)


def test_a_station_that_already_has_an_outside_defib_is_not_offered(tmp_path):
    from defibmap.analysis.ranking import STATION_CABINET

    path = _study(tmp_path, 'stations = ["fire_stations"]')
    fire = pd.read_csv(DEMO / "fire_stations.csv", dtype=str)
    fire["outside_defib"] = ["yes"] + ["no"] * (len(fire) - 1)
    fire.to_csv(tmp_path / "demo" / "fire_stations.csv", index=False)
    result = run_study(read_study(path))
    options = result.candidates
    offered = sorted(options.index[options["option"] == STATION_CABINET])
    assert offered == sorted(f"station:{i}" for i in fire["site_id"].iloc[1:])
    assert fire["site_id"].iloc[0] in set(result.defibs.index)
