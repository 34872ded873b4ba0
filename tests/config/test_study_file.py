"""The study reader's checks, section by section, with the layer sections from the registry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from defibmap._errors import ConfigError
from defibmap.config.study_file import study_from_dict

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo-town"
NETWORK = {"osm_file": str(DEMO / "town.osm.bz2")}
DEMAND = {"file": str(DEMO / "demand.csv"), "id": "demand_id", "population": "population"}


def _study(**sections: Any) -> dict[str, Any]:
    return {"network": NETWORK, "demand": DEMAND, **sections}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _study(bogus={}),
            "unknown section [bogus]; known: ['ambulance_bases', 'ambulance_hubs', 'availability'",
        ),
        (_study(defibs=3), "[defibs] must be a table"),
        (
            _study(police_stations={"file": "x.csv", "co_responder": True}),
            "[police_stations] unknown key(s) ['co_responder']",
        ),
        (_study(ambulance_bases={"osm": "police"}), "[ambulance_bases] unknown key(s) ['osm']"),
        (
            _study(defibs={}),
            "[defibs] needs a file, osm = 'defibrillators' or 'schools' or register",
        ),
        (_study(fire_stations={}), "[fire_stations] needs a file, osm = 'fire_stations'"),
        (
            _study(police_stations={"outside_defib": True}),
            "[police_stations] needs a file, osm = 'police'",
        ),
        (_study(ambulance_bases={}), "[ambulance_bases] needs a file"),
        (
            _study(candidates={"osm": "council_buildings", "council": "  "}),
            "[candidates] council = '  ' needs osm = \"council_buildings\" and a non-empty",
        ),
        (
            _study(defibs={"osm": "police"}),
            (
                "[defibs] osm = 'police': the 'police' layer does not belong in [defibs]; it takes "
                "'defibrillators', 'schools'"
            ),
        ),
        (
            _study(defibs={"osm": "pubs"}),
            (
                "unknown OpenStreetMap layer 'pubs'; known: defibrillators, schools, "
                "fire_stations, police, council_buildings"
            ),
        ),
        (
            _study(defibs={"file": str(DEMO / "defibs.csv"), "register_within_m": 5}),
            "[defibs] register_within_m needs register (a register export)",
        ),
        (
            _study(day_demand={"file": str(DEMO / "demand.csv")}),
            "[day_demand] population must name the population column",
        ),
        ({"network": NETWORK}, "the study needs a [demand] section"),
        (
            _study(network={**NETWORK, "place": "x"}),
            "[network] needs exactly one of osm_file, place or graph_file",
        ),
        (
            _study(network={**NETWORK, "boundary_buffer_m": 5}),
            "[network] boundary_buffer_m must be finite metres >= 2000",
        ),
        (
            _study(network={"graph_file": str(DEMO / "demand.csv")}, defibs={"osm": "schools"}),
            "[defibs] osm needs an area to read OpenStreetMap for",
        ),
        (
            _study(demand={**DEMAND, "postcode": "pc"}),
            "[demand] postcode needs a postcode lookup: set [study] postcode_file",
        ),
        (_study(coverage={"thresholds_m": [0]}), "[coverage] thresholds_m must be a list"),
        (
            _study(ranking={"new_sites": -1}),
            "[ranking] new_sites must be a whole number of sites >= 0",
        ),
        (_study(response={"cabinet_s": -1}), "[response] cabinet_s must be finite seconds >= 0"),
        (
            _study(response={"speeds_kph": 3}),
            "[response] speeds_kph must be a table of road type = km/h",
        ),
        (
            _study(response={"speeds_kph": {"residential": 0}}),
            "[response] speeds_kph.residential must be finite km/h > 0",
        ),
        (
            _study(response={"speeds_kph": {"residental": 30}}),
            "[response] speeds_kph: unknown road type(s) ['residental']; known: [",
        ),
        (_study(finer_demand={"id": "x"}), "[finer_demand] needs a file of postcode points"),
        (
            _study(finer_demand={"file": str(DEMO / "demand.csv"), "method": "boundary"}),
            "[finer_demand] method = 'boundary' needs boundary_file",
        ),
        (_study(demand={**DEMAND, "name": 3}), "[demand] name must be text, got 3"),
    ],
)
def test_bad_sections_are_refused_with_the_section_and_key(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        study_from_dict(data, base=DEMO)


def test_layers_are_read_in_table_order_with_their_settings():
    config = study_from_dict(
        _study(
            candidates={"osm": "council_buildings", "council": "Demoton Council"},
            police_stations={"file": str(DEMO / "police_stations.csv"), "outside_defib": True},
            defibs={"osm": ["schools", "defibrillators"]},
            coverage={"thresholds_m": [500, 100]},
            scenarios={"mine": {"sites": ["a"]}},
        ),
        base=DEMO,
    )
    assert list(config.layers) == ["demand", "defibs", "police_stations", "candidates"]
    assert config.layers["defibs"].osm == ("schools", "defibrillators")
    assert config.layers["police_stations"].outside_defib
    assert config.layers["candidates"].council == "Demoton Council"
    assert config.thresholds_m == (100.0, 500.0)
    assert config.scenarios == {"mine": ("a",)}
