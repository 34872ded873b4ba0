"""The ``[ranking]`` keys of issue 15: objective, upgrades, budget, upgrade_cost.

Each is read with the study's other keys and refused, naming the file, section and key, when
misspelt, of the wrong type or out of range.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from defibmap._errors import ConfigError
from defibmap.analysis.ranking import OBJECTIVES
from defibmap.config import _options
from defibmap.config.study_file import read_study, study_from_dict

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo-town"
NETWORK = {"osm_file": str(DEMO / "town.osm.bz2")}
DEMAND = {"file": str(DEMO / "demand.csv"), "id": "demand_id", "population": "population"}
DEFIBS = {"file": str(DEMO / "defibs.csv"), "id": "defib_id"}


def _study(**ranking: Any) -> dict[str, Any]:
    return {"network": NETWORK, "demand": DEMAND, "defibs": DEFIBS, "ranking": ranking}


def test_defaults_rank_by_year_round_available_coverage_without_upgrades_or_budget():
    config = study_from_dict(_study(), base=DEMO)
    assert config.objective == "available"
    assert config.upgrades == ()
    assert config.budget is None
    assert config.upgrade_cost is None


def test_the_keys_are_read():
    config = study_from_dict(
        _study(objective="night", upgrades=["defibs"], budget=5000, upgrade_cost=400.5),
        base=DEMO,
    )
    assert config.objective == "night"
    assert config.upgrades == ("defibs",)
    assert config.budget == 5000.0
    assert config.upgrade_cost == 400.5


def test_config_and_analysis_know_the_same_objectives():
    # the covering objectives of time_slices and expected survival (issue 16)
    assert _options.OBJECTIVES == OBJECTIVES
    assert "survival" in OBJECTIVES


def test_the_survival_objective_is_read():
    config = study_from_dict(_study(objective="survival"), base=DEMO)
    assert config.objective == "survival"


@pytest.mark.parametrize("typo", ["survial", "Survival", "survival ", "expected_survival"])
def test_a_misspelt_survival_objective_is_refused(typo):
    message = "[ranking] objective must be 'available' or 'night' or 'any' or 'survival'"
    with pytest.raises(ConfigError, match=re.escape(message)):
        study_from_dict(_study(objective=typo), base=DEMO)


def test_the_default_leeds_study_offers_its_school_defibs_as_upgrades():
    config = read_study(REPO / "data" / "studies" / "leeds.toml")
    assert config.objective == "available"
    assert config.upgrades == ("defibs",)


@pytest.mark.parametrize(
    ("ranking", "message"),
    [
        ({"objectve": "night"}, "[ranking] unknown key(s) ['objectve']"),
        ({"upgrade": ["defibs"]}, "[ranking] unknown key(s) ['upgrade']"),
        ({"budjet": 10}, "[ranking] unknown key(s) ['budjet']"),
        ({"objective": "sometimes"}, "[ranking] objective must be 'available' or 'night' or"),
        ({"objective": 3}, "[ranking] objective must be"),
        ({"objective": ["night"]}, "[ranking] objective must be"),
        ({"budget": -1}, "[ranking] budget must be finite money"),
        ({"budget": 0}, "[ranking] budget must be finite money"),
        ({"budget": "lots"}, "[ranking] budget must be"),
        ({"budget": True}, "[ranking] budget must be"),
        ({"budget": float("inf")}, "[ranking] budget must be"),
        ({"upgrade_cost": -5}, "[ranking] upgrade_cost must be"),
        ({"upgrade_cost": "cheap"}, "[ranking] upgrade_cost must be"),
        ({"upgrades": ["nonexistent"]}, "'nonexistent' is not a defib layer"),
        ({"upgrades": "defibs"}, "[ranking] upgrades must be a list of defib layer names"),
        ({"upgrades": [1]}, "[ranking] upgrades must be a list"),
        ({"upgrades": ["candidates"]}, "'candidates' is not a defib layer"),
        (
            {"upgrades": ["defibs"], "budget": 1000},
            "[ranking] budget with upgrades needs upgrade_cost",
        ),
    ],
)
def test_bad_ranking_keys_are_refused(ranking, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        study_from_dict(_study(**ranking), base=DEMO)


def test_upgrades_of_a_layer_the_study_lacks_are_refused():
    data = {"network": NETWORK, "demand": DEMAND, "ranking": {"upgrades": ["defibs"]}}
    data["candidates"] = {"file": str(DEMO / "candidates.csv"), "id": "candidate_id"}
    with pytest.raises(ConfigError, match=re.escape("names [defibs], which the study")):
        study_from_dict(data, base=DEMO)
