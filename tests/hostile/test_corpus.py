"""The hostile-input corpus: mutations of the shipped demonstration study, one line each.

Every case runs the command line, as a user would, on a copy of the demo-town study with one
thing wrong, into an output folder that already holds an earlier run's outputs. Each asserts
the exact outcome: the exit status, one line naming the file and key (or row and column) and
what was expected, no traceback, and the earlier outputs left byte for byte as they were.
Most cases stop at validation, so the corpus stays quick.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from defibmap.cli import main
from defibmap.outputs.folder import write_manifest

if TYPE_CHECKING:
    from collections.abc import Callable

REPO = Path(__file__).resolve().parents[2]
DEMO_DATA = REPO / "data" / "demo-town"
STUDY = (REPO / "data" / "studies" / "demo-town.toml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Case:
    """One hostile study: how the study text (and data files) change, and what must happen."""

    id: str
    study: Callable[[str], str] = lambda text: text
    files: dict[str, bytes] = field(default_factory=dict)
    message: str = ""  # a regular expression the one error line must match
    encode: Callable[[str], bytes] = lambda text: text.encode("utf-8")


def key(section: str, name: str, value: str) -> Callable[[str], str]:
    """Set ``[section] name = value`` (added to the section, or replacing the key there)."""

    def change(text: str) -> str:
        head = f"[{section}]\n"
        if head not in text:
            return f"{text}\n{head}{name} = {value}\n"
        start = text.index(head) + len(head)
        end = text.find("\n[", start)
        end = len(text) if end < 0 else end + 1
        body = re.sub(rf"(?m)^{re.escape(name)} = .*\n", "", text[start:end])
        return text[:start] + f"{name} = {value}\n" + body + text[end:]

    return change


def drop(section: str) -> Callable[[str], str]:
    """Remove a whole section."""

    def change(text: str) -> str:
        head = f"[{section}]\n"
        start = text.index(head)
        end = text.find("\n[", start + len(head))
        return text[:start] + ("" if end < 0 else text[end + 1 :])

    return change


def add(block: str) -> Callable[[str], str]:
    return lambda text: f"{text}\n{block}\n"


def csv_file(name: str, text: str) -> dict[str, bytes]:
    return {name: text.encode("utf-8")}


DEMAND_HEAD = "demand_id,name,population,imd_decile,lon,lat\n"
ROW_A = "a,A,{pop},5,1.5650775,53.0711335\n"
ROW_B = "b,B,{pop},5,1.5621433,53.0709616\n"

NUMBER = "must be (finite|a whole number of)"
CASES = [
    # -- numbers in the study file (issue: bad numbers pass) ---------------------------------
    Case(
        "ranking_threshold_negative",
        key("ranking", "threshold_m", "-100"),
        message=r"\[ranking\] threshold_m must be finite metres > 0 and <= 10000, got -100",
    ),
    Case(
        "walking_speed_inf",
        key("availability", "walking_speed_m_s", "inf"),
        message=rf"\[availability\] walking_speed_m_s {NUMBER}.*got inf",
    ),
    Case(
        "cabinet_nan",
        key("response", "cabinet_s", "nan"),
        message=r"\[response\] cabinet_s must be finite seconds >= 0 and <= 86400, got nan",
    ),
    Case(
        "thresholds_share_a_key",
        key("coverage", "thresholds_m", "[100, 100.4, 500]"),
        message=r"thresholds_m has 100 and 100\.4, which are both reported as 100 m",
    ),
    Case(
        "threshold_nan",
        key("coverage", "thresholds_m", "[100, nan]"),
        message=r"\[coverage\] thresholds_m must be a list of finite metres",
    ),
    Case(
        "threshold_inf",
        key("coverage", "thresholds_m", "[inf]"),
        message=r"\[coverage\] thresholds_m must be a list of finite metres",
    ),
    Case(
        "thresholds_empty",
        key("coverage", "thresholds_m", "[]"),
        message=r"\[coverage\] thresholds_m must be a list",
    ),
    Case(
        "threshold_text",
        key("coverage", "thresholds_m", '["500"]'),
        message=r"\[coverage\] thresholds_m must be a list of finite metres",
    ),
    Case(
        "threshold_huge",
        key("coverage", "thresholds_m", "[1e9]"),
        message=r"thresholds_m must be a list of finite metres > 0 and <= 10000",
    ),
    Case(
        "new_sites_fraction",
        key("ranking", "new_sites", "2.5"),
        message=r"\[ranking\] new_sites must be a whole number of sites",
    ),
    Case(
        "new_sites_negative",
        key("ranking", "new_sites", "-1"),
        message=r"\[ranking\] new_sites must be a whole number of sites >= 0",
    ),
    Case(
        "new_sites_bool",
        key("ranking", "new_sites", "true"),
        message=r"\[ranking\] new_sites must be",
    ),
    Case(
        "targets_zero",
        key("ranking", "targets", "[0]"),
        message=r"\[ranking\] targets must be a list of finite shares > 0 and <= 1",
    ),
    Case(
        "targets_over_one",
        key("ranking", "targets", "[1.5]"),
        message=r"\[ranking\] targets must be a list of finite shares",
    ),
    Case(
        "term_weeks_53",
        key("availability", "school_term_weeks", "53"),
        message=r"school_term_weeks must be a whole number of weeks >= 0 and <= 52, got 53",
    ),
    Case(
        "term_weeks_fraction",
        key("availability", "school_term_weeks", "38.5"),
        message=r"school_term_weeks must be a whole number of weeks",
    ),
    Case(
        "walking_speed_zero",
        key("availability", "walking_speed_m_s", "0"),
        message=r"walking_speed_m_s must be finite metres per second > 0",
    ),
    Case(
        "walking_speed_text",
        key("availability", "walking_speed_m_s", '"fast"'),
        message=r"walking_speed_m_s must be finite metres per second",
    ),
    Case(
        "max_snap_negative",
        key("network", "max_snap_m", "-5"),
        message=r"\[network\] max_snap_m must be finite metres >= 0, got -5",
    ),
    Case(
        "max_snap_nan",
        key("network", "max_snap_m", "nan"),
        message=r"\[network\] max_snap_m must be finite metres >= 0, got nan",
    ),
    Case(
        "max_snap_text",
        key("network", "max_snap_m", '"250"'),
        message=r"\[network\] max_snap_m must be finite metres >= 0, got '250'",
    ),
    Case(
        "buffer_small",
        key("network", "boundary_buffer_m", "500"),
        message=r"\[network\] boundary_buffer_m must be finite metres >= 2000, got 500",
    ),
    Case(
        "ambulance_negative",
        key("response", "ambulance_s", "-1"),
        message=r"\[response\] ambulance_s must be finite seconds >= 0",
    ),
    Case(
        "turnout_day_and_more",
        key("response", "fire_turnout_s", "1e6"),
        message=r"\[response\] fire_turnout_s must be finite seconds >= 0 and <= 86400",
    ),
    Case(
        "speed_zero",
        key("response", "speeds_kph", "{ residential = 0 }"),
        message=r"\[response\] speeds_kph\.residential must be finite km/h > 0",
    ),
    Case(
        "speed_inf",
        key("response", "speeds_kph", "{ motorway = inf }"),
        message=r"\[response\] speeds_kph\.motorway must be finite km/h",
    ),
    Case(
        "speeds_not_table",
        key("response", "speeds_kph", "30"),
        message=r"\[response\] speeds_kph must be a table of road type = km/h, got 30",
    ),
    # -- silent fallbacks (issue: a typo never silently falls back) ----------------------------
    Case(
        "speed_road_type_misspelt",
        key("response", "speeds_kph", "{ residental = 30 }"),
        message=r"speeds_kph: unknown road type\(s\) \['residental'\]; known: \[",
    ),
    Case(
        "scenario_key_misspelt",
        add('[scenarios.plan]\nsite = ["council-01"]'),
        message=r"\[scenarios\.plan\] unknown key\(s\) \['site'\]; known: \['sites'\]",
    ),
    Case(
        "school_hours_empty",
        key("availability", "school_hours", '""'),
        message=r"\[availability\] school_hours must be OpenStreetMap opening hours",
    ),
    Case("boundary_empty", add("[boundary]"), message=r"\[boundary\] needs a file"),
    Case("wards_without_file", add('[wards]\nname = "WD23NM"'), message=r"\[wards\] needs a file"),
    Case(
        "unknown_section", add("[rankings]\nnew_sites = 3"), message=r"unknown section \[rankings\]"
    ),
    Case(
        "unknown_key",
        key("ranking", "new_site", "3"),
        message=r"\[ranking\] unknown key\(s\) \['new_site'\]",
    ),
    Case(
        "unknown_layer_key",
        key("defibs", "lattitude", '"lat"'),
        message=r"\[defibs\] unknown key\(s\) \['lattitude'\]",
    ),
    # -- names (issue: reserved and clashing names) --------------------------------------------
    Case(
        "scenario_named_current",
        add('[scenarios.current]\nsites = ["council-01"]'),
        message=r"\[scenarios\.current\] is the name of a built-in scenario",
    ),
    Case(
        "scenario_named_stations",
        add('[scenarios."current+stations"]\nsites = []'),
        message=r"\[scenarios\.current\+stations\] is the name of a built-in scenario",
    ),
    Case(
        "scenario_named_recommended",
        add('[scenarios."current+stations+recommended"]\nsites = []'),
        message=r"is the name of a built-in scenario",
    ),
    Case(
        "scenario_sites_text",
        add('[scenarios.plan]\nsites = "council-01"'),
        message=r"\[scenarios\.plan\] sites must be a list of site ids",
    ),
    # -- types of other keys --------------------------------------------------------------------
    Case(
        "outside_defib_text",
        key("police_stations", "outside_defib", '"yes"'),
        message=r"\[police_stations\] outside_defib must be true or false, got 'yes'",
    ),
    Case(
        "co_responder_number",
        key("fire_stations", "co_responder", "1"),
        message=r"\[fire_stations\] co_responder must be true or false, got 1",
    ),
    Case(
        "synthetic_text",
        key("study", "synthetic", '"true"'),
        message=r"\[study\] synthetic must be true or false",
    ),
    Case(
        "study_name_number",
        key("study", "name", "3"),
        message=r"\[study\] name must be text, got 3",
    ),
    Case(
        "defibs_not_table",
        lambda t: "defibs = 3\n" + drop("defibs")(t),
        message=r"\[defibs\] must be a table",
    ),
    Case("demand_missing", drop("demand"), message=r"the study needs a \[demand\] section"),
    Case(
        "demand_population_unnamed",
        lambda t: t.replace('population = "population"\n', ""),
        message=r"\[demand\] population must name the population column",
    ),
    Case(
        "layer_file_missing",
        lambda t: t.replace("../demo-town/defibs.csv", "../demo-town/nothing.csv"),
        message=r"\[defibs\] file = .*nothing\.csv': no such file",
    ),
    Case(
        "osm_file_missing",
        lambda t: t.replace("../demo-town/town.osm.bz2", "../demo-town/none.osm.bz2"),
        message=r"\[network\] osm_file = .*none\.osm\.bz2': no such file",
    ),
    Case(
        "two_network_sources",
        key("network", "place", '"Leeds, UK"'),
        message=r"\[network\] needs exactly one of osm_file, place or graph_file",
    ),
    Case(
        "no_network_source",
        lambda t: re.sub(r"osm_file = .*\n", "", t, count=1),
        message=r"\[network\] needs exactly one of osm_file, place or graph_file",
    ),
    Case(
        "osm_layer_unknown",
        key("defibs", "osm", '"defibs"'),
        message=r"\[defibs\] osm = 'defibs': unknown OpenStreetMap layer 'defibs'",
    ),
    Case(
        "osm_layer_wrong_section",
        key("candidates", "osm", '"schools"'),
        message=r"the 'schools' layer does not belong in \[candidates\]",
    ),
    Case("not_toml", lambda t: t + "\nthis is not = = toml\n", message=r"not valid TOML"),
    # -- the study file's encoding (issue: BOM and UTF-16 were 'Invalid statement') -------------
    Case(
        "study_cp1252",
        lambda t: t.replace("Demoton (synthetic", "Démoton (synthetic"),
        encode=lambda t: t.encode("cp1252"),
        message=r"the study file is not UTF-8 text .*save it as UTF-8",
    ),
    # -- the CRS (issue: a CRS in the wrong units is accepted) ----------------------------------
    Case(
        "crs_web_mercator",
        key("network", "crs", '"EPSG:3857"'),
        message=r"\[network\] crs = 'EPSG:3857' does not keep distances true .* too long",
    ),
    Case(
        "crs_degrees",
        key("network", "crs", '"EPSG:4326"'),
        message=r"\[network\] crs = 'EPSG:4326' is not projected",
    ),
    Case(
        "crs_feet",
        key("network", "crs", '"EPSG:2263"'),
        message=r"\[network\] crs = 'EPSG:2263' measures in .*foot.*, not metres",
    ),
    Case(
        "crs_unknown",
        key("network", "crs", '"EPSG:999999"'),
        message=r"\[network\] crs = 'EPSG:999999' is not a coordinate reference system",
    ),
    # -- numbers in data files (issue: numbers change meaning by locale) ------------------------
    Case(
        "population_two_ways_semicolon",
        lambda t: t.replace("../demo-town/demand.csv", "demand.csv"),
        files=csv_file(
            "demand.csv",
            "demand_id;name;population;lon;lat\n"
            "a;A;2,057;1,5650775;53,0711335\nb;B;1,934;1,5621433;53,0709616\n",
        ),
        message=r"demand\.csv: column 'population' holds numbers such as '2,057', '1,934'",
    ),
    Case(
        "population_european_thousands",
        lambda t: t.replace("../demo-town/demand.csv", "demand.csv"),
        files=csv_file(
            "demand.csv",
            "demand_id;name;population;lon;lat\n"
            "a;A;2.057;1.5650775;53.0711335\nb;B;1.934;1.5621433;53.0709616\n",
        ),
        message=r"column 'population' holds numbers such as '2\.057', '1\.934'",
    ),
    Case(
        "population_all_negative",
        lambda t: t.replace("../demo-town/demand.csv", "demand.csv"),
        files=csv_file("demand.csv", DEMAND_HEAD + ROW_A.format(pop=-3) + ROW_B.format(pop=-4)),
        message=r"demand\.csv: none of its 2 rows can be used: negative population \(2\)",
    ),
    Case(
        "population_all_zero",
        lambda t: t.replace("../demo-town/demand.csv", "demand.csv"),
        files=csv_file("demand.csv", DEMAND_HEAD + ROW_A.format(pop=0) + ROW_B.format(pop=0)),
        message=r"demand\.csv: every row's population is 0, so there is nobody to cover",
    ),
    Case(
        "population_all_overflowing",
        lambda t: t.replace("../demo-town/demand.csv", "demand.csv"),
        files=csv_file("demand.csv", DEMAND_HEAD + ROW_A.format(pop="1e308")),
        message=r"none of its 1 rows can be used: population over 1,000,000 in one row \(1\)",
    ),
    Case(
        "coordinates_all_missing",
        lambda t: t.replace("../demo-town/demand.csv", "demand.csv"),
        files=csv_file("demand.csv", DEMAND_HEAD + "a,A,5,5,,\n"),
        message=r"none of its 1 rows can be used: missing or non-numeric coordinates \(1\)",
    ),
    Case(
        "demand_header_only",
        lambda t: t.replace("../demo-town/demand.csv", "demand.csv"),
        files=csv_file("demand.csv", DEMAND_HEAD),
        message=r"demand\.csv: no data rows \(the file has a header only\)",
    ),
]


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def earlier(tmp_path: Path) -> Path:
    """An output folder holding an earlier run's outputs (as the manifest records them)."""
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "summary.json").write_text('{"study": "earlier"}\n')
    (out / "map.html").write_text("<html>earlier</html>")
    (out / "figures" / "curve.png").write_bytes(b"\x89PNG earlier")
    write_manifest(out, version="earlier")
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_study(
    case: Case, tmp_path: Path, earlier: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study_dir = tmp_path / "study"
    study_dir.mkdir()
    text = case.study(STUDY).replace('"../demo-town/', f'"{DEMO_DATA.as_posix()}/')
    study = study_dir / "mine.toml"
    study.write_bytes(case.encode(text))
    for name, content in case.files.items():
        (study_dir / name).write_bytes(content)
    inputs = {p: p.read_bytes() for p in study_dir.iterdir()}
    before = _tree(earlier)
    status = main(["run", "--config", str(study), "--out", str(earlier), "-q"])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("defibmap: error: ")
    assert re.search(case.message, lines[0]), lines[0]
    assert _tree(earlier) == before  # earlier outputs untouched
    assert {p: p.read_bytes() for p in study_dir.iterdir()} == inputs  # inputs never modified
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no staging left


def test_the_corpus_has_distinct_cases() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    "encode",
    [lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), lambda t: t.encode("utf-16")],
    ids=["utf-8-bom", "utf-16"],
)
def test_study_saved_by_notepad_or_excel_runs(
    encode: Callable[[str], bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "mine.toml"
    study.write_bytes(encode(STUDY.replace('"../demo-town/', f'"{DEMO_DATA.as_posix()}/')))
    assert main(["run", "--config", str(study), "--out", str(tmp_path / "out"), "-q"]) == 0
    assert "Demoton" in capsys.readouterr().out


def test_hostile_rows_are_counted_and_no_resident_is_lost_silently(tmp_path: Path) -> None:
    """A run whose demand and defib files carry bad rows: every row is accounted for."""
    import csv
    import json

    demand = (DEMO_DATA / "demand.csv").read_text(encoding="utf-8").splitlines()
    head, rows = demand[0], demand[1:41]
    bad = [
        "bad-1,Overflow,1e308,5,1.5650775,53.0711335",
        "bad-2,Swapped,40,5,53.0711335,1.5650775",
        "bad-3,Negative,-7,5,1.5650775,53.0711335",
        "bad-4,No people,,5,1.5650775,53.0711335",
        "bad-5,Placeholder,30,5,0,0",
    ]
    study_dir = tmp_path / "study"
    study_dir.mkdir()
    (study_dir / "demand.csv").write_text("\n".join([head, *rows, *bad]) + "\n", encoding="utf-8")
    defibs = (DEMO_DATA / "defibs.csv").read_text(encoding="utf-8").splitlines()
    defibs.append("defib-bad,No place,school,,indoor,no,,")
    (study_dir / "defibs.csv").write_text("\n".join(defibs) + "\n", encoding="utf-8")
    text = STUDY.replace("../demo-town/demand.csv", "demand.csv")
    text = text.replace("../demo-town/defibs.csv", "defibs.csv")
    study = study_dir / "mine.toml"
    study.write_text(text.replace('"../demo-town/', f'"{DEMO_DATA.as_posix()}/'), "utf-8")
    out = tmp_path / "out"
    assert main(["run", "--config", str(study), "--out", str(out), "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    with (out / "rejected.csv").open(encoding="utf-8") as stream:
        rejected = list(csv.DictReader(stream))
    for layer, entry in summary["inputs"].items():
        assert entry["rows_read"] == entry["rows_used"] + entry["rows_rejected"], layer
        listed = [r for r in rejected if r["layer"] == layer]
        assert len(listed) == entry["rows_rejected"], layer
    assert summary["inputs"]["demand"]["rows_read"] == 45
    assert sorted(r["id"] for r in rejected if r["layer"] == "demand") == [
        f"bad-{k}" for k in range(1, 6)
    ]
    assert [r["id"] for r in rejected if r["layer"] == "defibs"] == ["defib-bad"]
    # the residents counted are exactly the good rows' people, worked out from the file
    good = sum(int(line.split(",")[2]) for line in rows)
    assert summary["population_total"] == good
    assert summary["inputs"]["demand"]["population_used"] == good
    # the columns that change what a row means are named per file
    assert summary["inputs"]["demand"]["columns_read"] == ["population", "imd_decile"]
    assert summary["inputs"]["defibs"]["columns_read"] == [
        "kind",
        "opening_hours",
        "location",
        "locked",
    ]
    assert "columns_not_read" not in summary["inputs"]["defibs"]
