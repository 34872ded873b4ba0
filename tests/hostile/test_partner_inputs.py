"""Hostile inputs to the partners' sections: ``[ambulance_hubs]``, ``[first_responders]``,
``[ranking] hubs``.

Every new key is read through the study file's validation: an unknown key or a typo is
refused naming the section and the key, a bad value naming what was expected; a bad cell of
a hubs or volunteers file stops the run (or rejects the row) naming the file, the row and the
column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from defibmap._errors import ConfigError, InputError
from defibmap.config.study_file import read_study, study_from_dict
from defibmap.study.pipeline import run_study

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
DEMO = DATA / "demo-town"
NETWORK = {"osm_file": str(DEMO / "town.osm.bz2")}
DEMAND = {"file": str(DEMO / "demand.csv"), "id": "demand_id", "population": "population"}
HUBS = {"file": str(DEMO / "ambulance_hubs.csv"), "id": "site_id"}
VOLUNTEERS = {"file": str(DEMO / "police_stations.csv"), "id": "site_id"}


def _study(**sections: Any) -> dict[str, Any]:
    return {"network": NETWORK, "demand": DEMAND, **sections}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _study(ambulance_hubs={**HUBS, "osm": "police"}),
            "[ambulance_hubs] unknown key(s) ['osm']",
        ),
        (
            _study(ambulance_hubs={**HUBS, "co_responder": True}),
            "[ambulance_hubs] unknown key(s) ['co_responder']",
        ),
        (
            _study(ambulance_hubs={**HUBS, "outside_defib": "yes"}),
            "[ambulance_hubs] outside_defib must be true or false, got 'yes'",
        ),
        (_study(ambulance_hubs={"id": "site_id"}), "[ambulance_hubs] needs a file"),
        (
            _study(first_responders={**VOLUNTEERS, "accept": 0.5}),
            "[first_responders] unknown key(s) ['accept']",
        ),
        (
            _study(first_responders={**VOLUNTEERS, "outside_defib": True}),
            "[first_responders] unknown key(s) ['outside_defib']",
        ),
        (
            _study(first_responders={**VOLUNTEERS, "accept_share": 1.5}),
            "[first_responders] accept_share must be finite probability >= 0 and <= 1, got 1.5",
        ),
        (
            _study(first_responders={**VOLUNTEERS, "accept_share": "30%"}),
            "[first_responders] accept_share must be",
        ),
        (
            _study(first_responders={**VOLUNTEERS, "carries_defib": -0.1}),
            "[first_responders] carries_defib must be",
        ),
        (
            _study(first_responders={**VOLUNTEERS, "speed_m_s": 0}),
            "[first_responders] speed_m_s must be finite metres per second > 0",
        ),
        (
            _study(first_responders={**VOLUNTEERS, "alert_m": True}),
            "[first_responders] alert_m must be",
        ),
        (_study(first_responders={"accept_share": 0.3}), "[first_responders] needs a file"),
        (
            _study(ambulance_hubs=HUBS, ranking={"hubs": "ambulance_hubs"}),
            "[ranking] hubs must be a list of hub layer names (ambulance_hubs)",
        ),
        (
            _study(ambulance_hubs=HUBS, ranking={"hubs": ["fire_stations"]}),
            "'fire_stations' is not a hub layer",
        ),
        (
            _study(ranking={"hubs": ["ambulance_hubs"]}),
            "[ranking] hubs names [ambulance_hubs], which the study does not have",
        ),
        (
            _study(ambulance_hubs=HUBS, ranking={"hubs": ["ambulance_hubs"], "budget": 9000}),
            "[ranking] budget with hubs needs hub_cost",
        ),
        (_study(ranking={"hub_cost": -1}), "[ranking] hub_cost must be"),
    ],
)
def test_bad_partner_keys_are_refused_naming_section_and_key(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        study_from_dict(data, base=DEMO)


def test_the_partner_sections_read_their_defaults_and_values():
    config = study_from_dict(
        _study(
            ambulance_hubs=HUBS,
            first_responders={**VOLUNTEERS, "accept_share": 0.5, "speed_m_s": 1.5},
            ranking={"hubs": ["ambulance_hubs"], "hub_cost": 800},
        ),
        base=DEMO,
    )
    assert config.layers["ambulance_hubs"].outside_defib is True  # a hub's defib counts
    assert config.hubs == ("ambulance_hubs",)
    assert config.hub_cost == 800.0
    # the given values, and the defaults (defibmap.defaults) for the others
    assert config.first_responders == {
        "accept_share": 0.5,
        "carries_defib": 1.0,
        "speed_m_s": 1.5,
        "alert_m": 1800.0,
    }
    plain = study_from_dict(_study(), base=DEMO)
    assert plain.first_responders == {}


def _demo(tmp: Path, extra: str) -> Path:
    text = (DATA / "studies" / "demo-town.toml").read_text(encoding="utf-8")
    text = text.replace('"../demo-town/', f'"{DEMO.as_posix()}/')
    path = tmp / "study.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def _with_hubs_file(tmp: Path, hubs: pd.DataFrame) -> Path:
    hubs.to_csv(tmp / "hubs.csv", index=False)
    path = _demo(tmp, "")
    text = path.read_text(encoding="utf-8").replace(
        f'"{DEMO.as_posix()}/ambulance_hubs.csv"', f'"{(tmp / "hubs.csv").as_posix()}"'
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bad_outside_defib_cell_of_a_hub_names_file_row_and_column(tmp_path):
    hubs = pd.read_csv(DEMO / "ambulance_hubs.csv", dtype=str)
    hubs = pd.concat([hubs, hubs.assign(site_id="hub-02")], ignore_index=True)
    hubs["outside_defib"] = ["yes", "sometimes"]
    path = _with_hubs_file(tmp_path, hubs)
    with pytest.raises(InputError) as err:
        run_study(read_study(path))
    text = str(err.value)
    assert "hubs.csv" in text
    assert "row 3" in text
    assert "'outside_defib'" in text
    assert "'sometimes'" in text


@pytest.mark.parametrize(
    ("site_id", "message"),
    [
        ("hub:one", "starts with 'hub:'"),
        ("defib-01", "site id 'defib-01' is in both [defibs]"),
    ],
)
def test_a_hub_id_is_a_site_id(tmp_path, site_id, message):
    hubs = pd.read_csv(DEMO / "ambulance_hubs.csv", dtype=str).assign(site_id=site_id)
    path = _with_hubs_file(tmp_path, hubs)
    with pytest.raises(InputError, match=re.escape(message)):
        run_study(read_study(path))


def test_a_volunteer_row_without_coordinates_is_rejected_with_its_file_and_row(tmp_path):
    volunteers = pd.DataFrame(
        {"volunteer": ["v1", "v2"], "lon": ["1.5537246", "1.55"], "lat": ["53.0552698", "n/a"]}
    )
    volunteers.to_csv(tmp_path / "vol.csv", index=False)
    extra = (
        f'\n[first_responders]\nfile = "{(tmp_path / "vol.csv").as_posix()}"\nid = "volunteer"\n'
    )
    result = run_study(read_study(_demo(tmp_path, extra)))
    rejected = result.rejected[result.rejected["layer"] == "first_responders"]
    assert list(rejected["id"]) == ["v2"]
    assert list(rejected["row"]) == [3]
    assert rejected["file"].astype(str).str.endswith("vol.csv").all()
    assert result.input_reports["first_responders"].rows_used == 1
    # volunteers' ids are not site ids: one may repeat a defib's id
    volunteers.assign(volunteer=["defib-01", "v2"]).to_csv(tmp_path / "vol.csv", index=False)
    again = run_study(read_study(_demo(tmp_path, extra)))
    assert again.input_reports["first_responders"].rows_used == 1


def test_a_volunteers_id_column_that_is_not_there_is_named(tmp_path):
    pd.DataFrame({"lon": [1.55], "lat": [53.05]}).to_csv(tmp_path / "vol.csv", index=False)
    extra = (
        f'\n[first_responders]\nfile = "{(tmp_path / "vol.csv").as_posix()}"\nid = "volunteer"\n'
    )
    with pytest.raises(InputError) as err:
        run_study(read_study(_demo(tmp_path, extra)))
    assert "vol.csv" in str(err.value)
    assert "volunteer" in str(err.value)
