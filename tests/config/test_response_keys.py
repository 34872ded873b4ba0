"""The ``[response]`` keys of the time-to-defib distributions: each bad case refused, named.

Hostile cases for the keys added with the response-time distributions: conflicting ambulance
keys, a mean and 90th centile no lognormal has, a times file that is missing, a typo, and
values of the wrong type or out of range (the generic range checks are in
``test_study_values.py``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from defibmap._errors import ConfigError
from defibmap.config.study_file import study_from_dict

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo-town"
NETWORK = {"osm_file": str(DEMO / "town.osm.bz2")}
DEMAND = {"file": str(DEMO / "demand.csv"), "id": "demand_id", "population": "population"}


def _study(**response: Any) -> dict[str, Any]:
    return {"network": NETWORK, "demand": DEMAND, "response": response}


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ({"second_bystander": 1.5}, "[response] second_bystander must be finite probability"),
        ({"second_bystander": "half"}, "[response] second_bystander must be"),
        ({"fire_available": -0.1}, "[response] fire_available must be finite probability"),
        ({"fire_available": True}, "[response] fire_available must be"),
        ({"draws": 0}, "[response] draws must be a whole number of draws >= 1"),
        ({"draws": 10.5}, "[response] draws must be a whole number"),
        ({"seed": -1}, "[response] seed must be a whole number of seed >= 0"),
        ({"walking_speed_sigma": 5}, "[response] walking_speed_sigma must be"),
        ({"recognition_s": math.nan}, "[response] recognition_s must be finite seconds"),
        ({"ambulance_mean_s": 0}, "[response] ambulance_mean_s must be finite seconds > 0"),
        ({"fire_turnout_on_call_s": -5}, "[response] fire_turnout_on_call_s must be"),
        (
            {"ambulance_s": 420, "ambulance_mean_s": 480},
            "ambulance_s (420) and ambulance_mean_s (480) disagree",
        ),
        ({"ambulance_p90_s": 300}, "[response] ambulance_p90_s must lie from the mean (420 s)"),
        ({"ambulance_p90_s": 2000}, "[response] ambulance_p90_s must lie from the mean"),
        (
            {"ambulance_mean_s": 600, "ambulance_p90_s": 500},
            "[response] ambulance_p90_s must lie from the mean (600 s)",
        ),
        ({"ambulance_times_file": "nowhere.csv"}, "[response] ambulance_times_file = "),
        ({"ambulance_times_file": 7}, "[response] ambulance_times_file must be a file path"),
        (
            {"ambulance_times_file": "demand.csv", "ambulance_p90_s": 900},
            "ambulance_times_file gives the ambulance times; leave out ambulance_p90_s",
        ),
        ({"second_bystandr": 0.5}, "second_bystandr"),
        ({"ambulance_areas_file": "nowhere.csv"}, "[response] ambulance_areas_file = "),
        ({"ambulance_area_column": ""}, "[response] ambulance_area_column must be a demand"),
        ({"ambulance_area_column": 3}, "[response] ambulance_area_column must be a demand"),
        (
            {"ambulance_areas_file": "demand.csv", "ambulance_times_file": "demand.csv"},
            "ambulance_times_file and ambulance_areas_file both give the ambulance times",
        ),
    ],
)
def test_bad_response_keys_are_refused_naming_the_key(response, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        study_from_dict(_study(**response), base=DEMO)


def test_old_ambulance_s_is_the_mean_and_keeps_the_standards_ratio():
    config = study_from_dict(_study(ambulance_s=600), base=DEMO)
    assert config.response["ambulance_s"] == 600
    # 600 s with the default ratio (900 / 420) is allowed; with an explicit 90th centile too
    study_from_dict(_study(ambulance_s=600, ambulance_p90_s=1200), base=DEMO)
    study_from_dict(_study(ambulance_mean_s=420, ambulance_p90_s=420), base=DEMO)


def test_times_file_is_resolved_against_the_study_folder():
    config = study_from_dict(_study(ambulance_times_file="demand.csv"), base=DEMO)
    assert config.response["ambulance_times_file"] == DEMO / "demand.csv"
