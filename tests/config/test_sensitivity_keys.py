"""The ``[sensitivity]`` section: each bad case refused with the file, section and key named."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from defibmap._errors import ConfigError
from defibmap.config.study_file import study_from_dict
from defibmap.study.sensitivity import draws_of, ranges_of, with_draws

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo-town"
NETWORK = {"osm_file": str(DEMO / "town.osm.bz2")}
DEMAND = {"file": str(DEMO / "demand.csv"), "id": "demand_id", "population": "population"}


def _study(**section: Any) -> dict[str, Any]:
    return {"network": NETWORK, "demand": DEMAND, "sensitivity": section}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"draws": -1}, "[sensitivity] draws must be a whole number of draws >= 0"),
        ({"draws": 2.5}, "[sensitivity] draws must be a whole number"),
        ({"draws": "many"}, "[sensitivity] draws must be"),
        ({"draws": True}, "[sensitivity] draws must be"),
        ({"draws": 1_000_000}, "[sensitivity] draws must be a whole number of draws >= 0"),
        ({"seed": -3}, "[sensitivity] seed must be"),
        ({"top_k": 0}, "[sensitivity] top_k must be a whole number of options >= 1"),
        ({"stable_share": 0}, "[sensitivity] stable_share must be finite share > 0"),
        ({"stable_share": 1.2}, "[sensitivity] stable_share must be"),
        ({"exact": "yes"}, "[sensitivity] exact must be true or false"),
        ({"demand_weight_cv": -0.1}, "[sensitivity] demand_weight_cv must be"),
        ({"demand_weight_cv": math.inf}, "[sensitivity] demand_weight_cv must be"),
        ({"walking_speed_m_s": 1.5}, "[sensitivity] walking_speed_m_s must be a list [low, high]"),
        ({"walking_speed_m_s": [2.0, 1.0]}, "low <= high"),
        ({"walking_speed_m_s": [0, 1.0]}, "[sensitivity] walking_speed_m_s must be a list"),
        ({"walking_speed_m_s": [1.0, 2.0, 3.0]}, "[sensitivity] walking_speed_m_s must be"),
        ({"walking_speed_m_s": [1.0, math.nan]}, "[sensitivity] walking_speed_m_s must be"),
        ({"threshold_factor": [0.5, 6]}, "[sensitivity] threshold_factor must be"),
        ({"unknown_hours": [-0.1, 0.5]}, "[sensitivity] unknown_hours must be"),
        ({"second_bystander": [0.5, 1.5]}, "[sensitivity] second_bystander must be"),
        ({"ambulance_factor": ["1", "2"]}, "[sensitivity] ambulance_factor must be"),
        ({"ambulance_factor": [True, 2]}, "[sensitivity] ambulance_factor must be"),
        ({"walking_speeds": [1.0, 2.0]}, "[sensitivity] unknown key(s) ['walking_speeds']"),
    ],
)
def test_bad_sensitivity_keys_are_refused(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        study_from_dict(_study(**section), base=DEMO)


def test_a_section_that_is_not_a_table_is_refused() -> None:
    data = {"network": NETWORK, "demand": DEMAND, "sensitivity": 200}
    with pytest.raises(ConfigError, match=re.escape("[sensitivity] must be a table")):
        study_from_dict(data, base=DEMO)


def test_no_section_asks_for_no_draws_and_an_empty_one_for_the_default() -> None:
    assert draws_of(study_from_dict({"network": NETWORK, "demand": DEMAND}, base=DEMO)) == 0
    assert draws_of(study_from_dict(_study(), base=DEMO)) == 200
    assert draws_of(study_from_dict(_study(draws=0), base=DEMO)) == 0
    config = study_from_dict(_study(draws=7), base=DEMO)
    assert draws_of(config) == 7
    assert draws_of(with_draws(config, 30)) == 30


def test_ranges_are_read_and_default_each() -> None:
    config = study_from_dict(
        _study(walking_speed_m_s=[1.2, 1.2], unknown_hours=[0, 0.5], demand_weight_cv=0),
        base=DEMO,
    )
    ranges = ranges_of(config)
    assert ranges.walking_speed_m_s == (1.2, 1.2)
    assert ranges.unknown_hours == (0.0, 0.5)
    assert ranges.demand_weight_cv == 0.0
    assert ranges.threshold_factor == (0.8, 1.2)  # the default
