"""Fuzz the study file: random keys, values and types in every section, and random bytes.

The only clean outcomes are a :class:`DefibmapError` whose message names the study file, or a
study config. Anything else (a KeyError, a TypeError, a UnicodeDecodeError) is a traceback a
user could reach from the command line. ``DEFIBMAP_FUZZ_EXAMPLES`` runs more examples.
"""

from __future__ import annotations

import copy
import math
import os
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defibmap._errors import DefibmapError
from defibmap.config import StudyConfig, read_study, study_from_dict

REPO = Path(__file__).resolve().parents[2]
STUDY_PATH = REPO / "data" / "studies" / "demo-town.toml"
BASE = tomllib.loads(STUDY_PATH.read_text(encoding="utf-8"))
EXAMPLES = int(os.environ.get("DEFIBMAP_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

KNOWN_KEYS = sorted(
    {key for table in BASE.values() if isinstance(table, dict) for key in table}
    | {
        "osm", "register", "register_within_m", "council", "crs", "place", "graph_file",
        "boundary_buffer_m", "cache_dir", "targets", "targets_of", "baseline", "weight",
        "unknown_hours", "school_hours", "school_term_weeks", "walking_speed_m_s", "sheet",
        "postcode", "postcode_file", "imd_decile", "ward", "sites", "method", "speeds_kph",
        "max_days_unchecked", "as_of",
    }
)  # fmt: skip
SECTIONS = [*BASE, "availability", "scenarios", "boundary", "wards", "finer_demand", "junk"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 0, -0.0, 1e308, 2.5]),
    st.text(max_size=20),
    st.sampled_from(["", " ", "EPSG:3857", "EPSG:27700", "../x.csv", "/dev/null", "24/7", "yes"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def studies(draw: st.DrawFn) -> dict[str, Any]:
    """The demo study with a few keys set, removed or retyped anywhere."""
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        section = draw(st.sampled_from(SECTIONS))
        key = draw(st.sampled_from(KNOWN_KEYS) | st.text(max_size=10))
        action = draw(st.sampled_from(["set", "set", "drop", "retype_section"]))
        if action == "retype_section":
            data[section] = draw(values)
            continue
        table = data.setdefault(section, {})
        if not isinstance(table, dict):
            continue
        if action == "drop":
            table.pop(key, None)
        else:
            value = draw(values)
            if value is not None:
                table[key] = value
    return data


def _clean(outcome: object, where: Path) -> None:
    if isinstance(outcome, DefibmapError):
        assert str(outcome).strip()
        assert str(where) in str(outcome) or "[" in str(outcome), str(outcome)
    else:
        assert isinstance(outcome, StudyConfig)


@FUZZ
@given(studies())
def test_random_study_values_end_in_a_config_or_a_message(data: dict[str, Any]) -> None:
    try:
        outcome: object = study_from_dict(data, base=STUDY_PATH.parent, path=STUDY_PATH)
    except DefibmapError as exc:
        outcome = exc
    _clean(outcome, STUDY_PATH)


@FUZZ
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8")))
def test_random_bytes_as_a_study_file_end_in_a_message(tmp_path_factory: Any, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("study") / "fuzz.toml"
    path.write_bytes(raw)
    try:
        outcome: object = read_study(path)
    except DefibmapError as exc:
        outcome = exc
    _clean(outcome, path)
