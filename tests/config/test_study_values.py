"""Every value of a study file is checked: numbers, names and text, one validator per kind.

Each numeric key documented in docs/study-file.md is in the one table of numeric keys and is
refused when it is not finite, out of range, of the wrong type or (where it counts things) not
whole; each failure names the file, the section and the key.
"""

from __future__ import annotations

import codecs
import math
import re
from pathlib import Path
from typing import Any

import pytest

from defibmap._errors import ConfigError
from defibmap.config import _values
from defibmap.config._options import BUILT_IN_SCENARIOS
from defibmap.config.study_file import read_study, study_from_dict

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo-town"
NETWORK = {"osm_file": str(DEMO / "town.osm.bz2")}
DEMAND = {"file": str(DEMO / "demand.csv"), "id": "demand_id", "population": "population"}
REGISTER = DEMO / "defibs.csv"


def _study(**sections: Any) -> dict[str, Any]:
    return {"network": NETWORK, "demand": DEMAND, **sections}


def _with(section: str, key: str, value: object) -> dict[str, Any]:
    """A valid study whose ``[section] key`` is ``value`` (and what the key needs beside it)."""
    if section == "network":
        return _study(network={**NETWORK, key: value})
    if section == "defibs":
        return _study(defibs={"register": str(REGISTER), key: value})
    if key == "speeds_kph":
        return _study(response={key: {"residential": value}})
    if section == "incidents":  # read only with the incidents weight, and a kernel
        incidents = {"file": str(DEMO / "demand.csv"), "method": "kernel", key: value}
        return _study(demand={**DEMAND, "weight": "incidents"}, incidents=incidents)
    if section == "first_responders":  # a point layer: its volunteers' file first
        return _study(first_responders={"file": str(DEMO / "police_stations.csv"), key: value})
    if key == "ambulance_p90_s":  # a 90th centile needs a mean it can go with
        return _study(response={key: value, "ambulance_mean_s": value})
    if key in ("thresholds_m", "targets"):
        return _study(**{section: {key: [value]}})
    return _study(**{section: {key: value}})


def _bad_values(allowed: _values.Range) -> list[object]:
    bad: list[object] = [math.inf, -math.inf, math.nan, True, "7", None]
    if allowed.minimum is not None:
        bad.append(allowed.minimum - 1)
    if allowed.above is not None:
        bad.append(allowed.above)
    if allowed.maximum is not None:
        bad.append(allowed.maximum * 10 + 1)
    if allowed.integer:
        bad.append(2.5)
    return bad


CASES = [
    pytest.param(section, key, value, id=f"{section}.{key}={value!r}")
    for (section, key), allowed in _values.NUMERIC_KEYS.items()
    for value in _bad_values(allowed)
    if not (value is None and key not in ("thresholds_m", "targets"))  # absent = default
]


@pytest.mark.parametrize(("section", "key", "value"), CASES)
def test_every_numeric_key_refuses_a_bad_value_naming_it(section, key, value):
    where = "speeds_kph.residential" if key == "speeds_kph" else key
    with pytest.raises(ConfigError, match=re.escape(f"[{section}] {where} must be")):
        study_from_dict(_with(section, key, value), base=DEMO)


@pytest.mark.parametrize(("section", "key"), list(_values.NUMERIC_KEYS))
def test_every_numeric_key_takes_a_value_in_range(section, key):
    allowed = _values.NUMERIC_KEYS[section, key]
    low = allowed.minimum if allowed.minimum is not None else (allowed.above or 0) + 1
    high = allowed.maximum if allowed.maximum is not None else low + 1
    good = int(low) if allowed.integer else (low + high) / 2
    study_from_dict(_with(section, key, good), base=DEMO)


def _documented_numeric_keys() -> set[str]:
    """Keys whose type cell in docs/study-file.md is a number of something."""
    numeric = re.compile(r"metres|seconds|number|m/s|\d+-\d+|shares")
    found = set()
    for line in (REPO / "docs" / "study-file.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        if numeric.search(cells[1]) and not re.search("path|text", cells[1]):
            found |= set(re.findall(r"`([a-z0-9_]+)`", cells[0]))
    return found


def test_every_documented_numeric_key_is_validated():
    documented = _documented_numeric_keys()
    assert documented, "the parser found no numeric key in docs/study-file.md"
    assert documented == {key for _, key in _values.NUMERIC_KEYS} - {"speeds_kph"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_study(ranking={"threshold_m": -100}), "[ranking] threshold_m must be finite metres > 0"),
        (_study(availability={"walking_speed_m_s": math.inf}), "walking_speed_m_s must be"),
        (_study(response={"cabinet_s": math.nan}), "[response] cabinet_s must be finite"),
        (
            _study(coverage={"thresholds_m": [100, 100.4, 500]}),
            "[coverage] thresholds_m has 100 and 100.4, which are both reported as 100 m",
        ),
        (_study(coverage={"thresholds_m": [math.nan]}), "[coverage] thresholds_m must be"),
        (_study(coverage={"thresholds_m": []}), "[coverage] thresholds_m must be a list"),
        (_study(availability={"school_hours": ""}), "[availability] school_hours must be"),
        (_study(availability={"school_hours": "  "}), "[availability] school_hours must be"),
        (_study(boundary={}), "[boundary] needs a file"),
        (_study(wards={"name": "WD23NM"}), "[wards] needs a file"),
        (
            _study(scenarios={"plan": {"sites": ["a"], "site": ["b"]}}),
            "[scenarios.plan] unknown key(s) ['site']; known: ['sites']",
        ),
        *[
            (_study(scenarios={name: {"sites": ["a"]}}), f"[scenarios.{name}] is the name of")
            for name in BUILT_IN_SCENARIOS
        ],
    ],
)
def test_bad_values_that_used_to_pass_are_refused(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        study_from_dict(data, base=DEMO)


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
        lambda t: t.encode("utf-16"),  # with its byte-order mark, as Notepad writes it
        lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
    ],
    ids=["utf-8-bom", "utf-16", "utf-16-be"],
)
def test_study_file_with_a_byte_order_mark_is_read(tmp_path, encode):
    text = (DEMO.parent / "studies" / "demo-town.toml").read_text(encoding="utf-8")
    text = text.replace('"../demo-town/', f'"{DEMO.as_posix()}/')
    path = tmp_path / "mine.toml"
    path.write_bytes(encode(text))
    assert read_study(path).name == read_study(DEMO.parent / "studies" / "demo-town.toml").name


def test_study_file_in_another_encoding_names_the_fault(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes('[study]\nname = "Caf\xe9"\n'.encode("cp1252"))
    with pytest.raises(ConfigError, match=r"the study file is not UTF-8 text .*save it as UTF-8"):
        read_study(path)


def test_the_study_keeps_its_name_beside_a_boundary_and_wards():
    data = _study(
        study={"name": "Mine"},
        boundary={"file": str(DEMO / "demand.csv")},
        wards={"file": str(DEMO / "demand.csv")},
    )
    assert study_from_dict(data, base=DEMO).name == "Mine"
