"""``[demand] weight`` and ``[incidents]``: read when right, refused with a clear message else."""

from __future__ import annotations

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
# any existing file serves: the study reader checks paths, the run reads them
ANY_FILE = str(DEMO / "defibs.csv")
ARRESTS = {"weight": "expected_arrests", "ages_file": ANY_FILE, "incidence_file": ANY_FILE}
INCIDENTS = {"file": ANY_FILE, "id": "site_id", "datetime": "when"}


def _study(demand: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    return {"network": NETWORK, "demand": {**DEMAND, **(demand or {})}, **sections}


def test_the_default_weight_is_residents():
    config = study_from_dict(_study(), base=DEMO)
    assert config.demand_weight.basis == "residents"
    assert config.demand_weight.ages_file is None


def test_expected_arrests_read_their_files():
    ratio = {"deprivation_ratio_file": ANY_FILE}
    config = study_from_dict(_study({**ARRESTS, **ratio}), base=DEMO)
    chosen = config.demand_weight
    assert chosen.basis == "expected_arrests"
    assert chosen.ages_file == chosen.incidence_file == chosen.deprivation_ratio_file
    assert chosen.ages_file is not None
    assert chosen.ages_file.is_file()


def test_files_are_relative_to_the_study_file():
    config = study_from_dict(
        _study({**ARRESTS, "ages_file": "defibs.csv", "incidence_file": "demand.csv"}), base=DEMO
    )
    assert config.demand_weight.incidence_file == DEMO / "demand.csv"


def test_incidents_read_their_options():
    kernel = {**INCIDENTS, "method": "kernel", "bandwidth_m": 150, "location_type": "place"}
    config = study_from_dict(_study({"weight": "incidents"}, incidents=kernel), base=DEMO)
    chosen = config.demand_weight
    assert (chosen.basis, chosen.incidents_method, chosen.bandwidth_m) == (
        "incidents",
        "kernel",
        150,
    )
    assert (chosen.datetime_column, chosen.location_type_column) == ("when", "place")
    assert "incidents" in config.layers
    config = study_from_dict(
        _study({"weight": "incidents"}, incidents={"file": ANY_FILE}), base=DEMO
    )
    assert config.demand_weight.incidents_method == "points"
    assert config.demand_weight.datetime_column == "datetime"


HOSTILE = [
    # typos
    (_study({"wieght": "residents"}), "[demand] unknown key(s) ['wieght']"),
    (_study({**ARRESTS, "age_file": ANY_FILE}), "[demand] unknown key(s) ['age_file']"),
    (
        _study({"weight": "incidents"}, incidents={**INCIDENTS, "bandwith_m": 100}),
        "[incidents] unknown key(s) ['bandwith_m']",
    ),
    (_study(incident={"file": ANY_FILE}), "unknown section [incident]"),
    # bad types
    (_study({"weight": 3}), "[demand] weight must be 'residents' or 'expected_arrests' or"),
    (_study({"weight": ["residents"]}), "[demand] weight must be"),
    (_study({**ARRESTS, "ages_file": 5}), "[demand] ages_file must be a file path"),
    (_study({**ARRESTS, "incidence_file": ""}), "[demand] incidence_file must be a file path"),
    (
        _study({"weight": "incidents"}, incidents={**INCIDENTS, "datetime": 5}),
        "[incidents] datetime must be text",
    ),
    (
        _study({"weight": "incidents"}, incidents={**INCIDENTS, "location_type": True}),
        "[incidents] location_type must be text",
    ),
    (
        _study(
            {"weight": "incidents"},
            incidents={**INCIDENTS, "method": "kernel", "bandwidth_m": "100"},
        ),
        "[incidents] bandwidth_m must be finite metres > 0 and <= 10000",
    ),
    # bad values
    (_study({"weight": "arrests"}), "[demand] weight must be"),
    (_study({"weight": "Residents"}), "[demand] weight must be"),
    (
        _study({"weight": "incidents"}, incidents={**INCIDENTS, "method": "kde"}),
        "[incidents] method must be 'points' or 'kernel', got 'kde'",
    ),
    (
        _study(
            {"weight": "incidents"}, incidents={**INCIDENTS, "method": "kernel", "bandwidth_m": 0}
        ),
        "[incidents] bandwidth_m must be finite metres > 0",
    ),
    (
        _study(
            {"weight": "incidents"}, incidents={**INCIDENTS, "method": "kernel", "bandwidth_m": -5}
        ),
        "[incidents] bandwidth_m must be",
    ),
    (
        _study(
            {"weight": "incidents"}, incidents={**INCIDENTS, "method": "kernel", "bandwidth_m": 1e9}
        ),
        "[incidents] bandwidth_m must be",
    ),
    # missing files
    (
        _study({**ARRESTS, "ages_file": "nowhere.csv"}),
        "[demand] ages_file = 'nowhere.csv': no such file",
    ),
    (
        _study({**ARRESTS, "incidence_file": "no-rates.csv"}),
        "[demand] incidence_file = 'no-rates.csv': no such file",
    ),
    (
        _study({**ARRESTS, "deprivation_ratio_file": "x.csv"}),
        "[demand] deprivation_ratio_file = 'x.csv': no such file",
    ),
    (_study({**ARRESTS, "ages_file": str(DEMO)}), "[demand] ages_file = "),
    (
        _study({"weight": "incidents"}, incidents={"file": "gone.csv"}),
        "[incidents] file = 'gone.csv': no such file",
    ),
    # what a choice needs, and keys that only make sense with another choice
    (_study({"weight": "expected_arrests", "ages_file": ANY_FILE}), "needs incidence_file"),
    (_study({"weight": "expected_arrests", "incidence_file": ANY_FILE}), "needs ages_file"),
    (
        _study({"ages_file": ANY_FILE}),
        "[demand] ages_file is read only with weight = 'expected_arrests'",
    ),
    (
        _study({"weight": "incidents", "incidence_file": ANY_FILE}, incidents=INCIDENTS),
        "[demand] incidence_file is read only with weight",
    ),
    (_study({"weight": "incidents"}), "weight = 'incidents' needs an [incidents] section"),
    (_study(incidents=INCIDENTS), "[incidents] is read only with [demand] weight = 'incidents'"),
    (_study({"weight": "incidents"}, incidents={"id": "x"}), "[incidents] needs a file"),
    (
        _study({"weight": "incidents"}, incidents={**INCIDENTS, "method": "kernel"}),
        "method = 'kernel' needs bandwidth_m",
    ),
    (
        _study({"weight": "incidents"}, incidents={**INCIDENTS, "bandwidth_m": 100}),
        "bandwidth_m is for method = 'kernel' only",
    ),
    (
        _study(ARRESTS, ranking={"weight": "deprivation"}),
        "[ranking] weight = 'deprivation' weighs residents",
    ),
]


@pytest.mark.parametrize(("data", "message"), HOSTILE, ids=[m[:40] for _, m in HOSTILE])
def test_bad_demand_weights_are_refused_naming_the_key(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        study_from_dict(data, base=DEMO)
