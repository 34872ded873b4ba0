"""``[ranking] targets_of``: "all" by default, "total" its old name, "reachable" kept; the rest
refused with a message naming the file, the section and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from defibmap._errors import ConfigError
from defibmap.config.study_file import study_from_dict

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo-town"
BASE = {
    "network": {"osm_file": str(DEMO / "town.osm.bz2")},
    "demand": {"file": str(DEMO / "demand.csv"), "id": "demand_id", "population": "population"},
}


@pytest.mark.parametrize(
    ("given", "read"),
    [(None, "all"), ("all", "all"), ("total", "all"), ("reachable", "reachable")],
)
def test_targets_of_values(given, read):
    ranking = {} if given is None else {"targets_of": given}
    assert study_from_dict({**BASE, "ranking": ranking}, base=DEMO).targets_of == read


@pytest.mark.parametrize(
    "value", ["everyone", "ALL", " all", "", "reachable ", 1, 0.5, True, ["all"], {"of": "all"}]
)
def test_bad_targets_of_is_refused_naming_the_key(value):
    with pytest.raises(ConfigError, match=re.escape("[ranking] targets_of must be")) as caught:
        study_from_dict({**BASE, "ranking": {"targets_of": value}}, base=DEMO)
    assert "'all'" in str(caught.value)


def test_a_typo_of_the_key_is_refused():
    with pytest.raises(ConfigError, match="targets_off"):
        study_from_dict({**BASE, "ranking": {"targets_off": "all"}}, base=DEMO)
