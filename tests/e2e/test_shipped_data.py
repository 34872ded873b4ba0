"""The real data shipped in data/ and tests/data/: counts, study paths, and reproducibility.

Every test but the last reads only the shipped copies. The last re-runs
scripts/derive_data.py when the shared reference data (../shared/data) is beside the repo.
"""

from __future__ import annotations

import bz2
import csv
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
SHARED = REPO.parent / "shared" / "data"
STUDIES = DATA / "studies"
LEEDS_OSM = DATA / "leeds" / "leeds_inner_ne.osm.bz2"

DERIVED = [
    "data/leeds/leeds_inner_ne.osm.bz2",
    "data/leeds/lsoa21_demand.csv",
    "data/leeds/schools.csv",
    "data/leeds/candidates.csv",
    "data/leeds/police_stations.csv",
    "data/leeds/fire_stations.csv",
    "data/leeds/postcodes_inner_ne.csv",
    "data/leeds/lsoa21_centroids_all.csv",
    "data/coventry/fire_stations.csv",
    "data/coventry/libraries.csv",
    "data/coventry/candidates.csv",
    "data/coventry/lsoa21_demand.csv",
    "data/coventry/wards.geojson",
    "data/coventry/boundary.geojson",
    "tests/data/its-example.osm.pbf",
    "tests/data/trafford/population_mid_year_2024_mid-year_2024_population_estimates_lsoa.csv.gz",
    "tests/data/trafford/population_mid_year_2024_mid-year_2024_population_estimates_oa.csv.gz",
    "tests/data/trafford/lsoa21_trafford_pop2021_pwc_imd2019.csv.gz",
    "tests/data/trafford/defibrillators_trafford_defibrillators.csv.gz",
    "tests/data/trafford/spatial_postcodes_trafford_postcodes.csv.gz",
]


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def in_leeds_bounds(lon: float, lat: float) -> bool:
    return -1.5535 <= lon <= -1.4991 and 53.807 <= lat <= 53.828


def osm_elements_tagged(path: Path, key: str, value: str) -> list[str]:
    """Return ``node/<id>`` and ``way/<id>`` for every element tagged key=value (xml.etree)."""
    with bz2.open(path) as fh:
        root = ET.parse(fh).getroot()
    return sorted(
        f"{el.tag}/{el.attrib['id']}"
        for el in root
        if el.tag in {"node", "way", "relation"}
        and any(t.attrib["k"] == key and t.attrib["v"] == value for t in el.iter("tag"))
    )


def test_every_derived_file_is_shipped():
    missing = [p for p in DERIVED if not (REPO / p).is_file()]
    assert missing == []


def test_leeds_demand_is_32_lsoas_with_60339_residents():
    rows = read_rows(DATA / "leeds" / "lsoa21_demand.csv")
    assert list(rows[0]) == [
        "lsoa21cd",
        "lsoa21nm",
        "population",
        "imd_rank",
        "imd_decile",
        "easting",
        "northing",
        "lon",
        "lat",
    ]
    assert len(rows) == 32
    assert len({r["lsoa21cd"] for r in rows}) == 32
    assert sum(int(r["population"]) for r in rows) == 60_339
    assert all(in_leeds_bounds(float(r["lon"]), float(r["lat"])) for r in rows)
    assert all(1 <= int(r["imd_decile"]) <= 10 for r in rows)


def test_coventry_demand_is_203_lsoas_with_345312_residents():
    rows = read_rows(DATA / "coventry" / "lsoa21_demand.csv")
    assert len(rows) == 203
    assert len({r["lsoa21cd"] for r in rows}) == 203
    assert sum(int(r["population"]) for r in rows) == 345_312


def test_leeds_schools_are_every_amenity_school_in_the_extract():
    expected = osm_elements_tagged(LEEDS_OSM, "amenity", "school")
    rows = read_rows(DATA / "leeds" / "schools.csv")
    got = sorted(r["site_id"].removeprefix("osm_").replace("_", "/", 1) for r in rows)
    assert got == expected
    assert len(rows) == 14
    assert {r["kind"] for r in rows} == {"school"}
    assert {r["location"] for r in rows} == {"indoor"}
    # way centroids lie near the extract (a school may straddle its edge)
    for r in rows:
        assert -1.56 < float(r["lon"]) < -1.49
        assert 53.80 < float(r["lat"]) < 53.83


def test_leeds_candidates_are_three_libraries_and_the_community_centres():
    rows = read_rows(DATA / "leeds" / "candidates.csv")
    names = {r["name"] for r in rows}
    assert {"Chapeltown Library", "Compton Road Library", "Oakwood Library"} <= names
    libraries = [r for r in rows if r["kind"] == "library"]
    assert len(libraries) == 3
    centres = [r for r in rows if r["kind"] == "community_centre"]
    expected = osm_elements_tagged(LEEDS_OSM, "amenity", "community_centre")
    assert sorted(r["site_id"].removeprefix("osm_").replace("_", "/", 1) for r in centres) == (
        expected
    )
    # not the university or hospital libraries OpenStreetMap tags
    assert not any("Brotherton" in n or "Hospital" in n for n in names)
    assert len({r["site_id"] for r in rows}) == len(rows)


def test_leeds_police_and_fire_stations():
    police = read_rows(DATA / "leeds" / "police_stations.csv")
    assert sorted(r["name"] for r in police) == ["Inner North East", "Inner North West"]
    fire = read_rows(DATA / "leeds" / "fire_stations.csv")
    assert sorted(r["name"] for r in fire) == ["Cookridge", "Hunslet", "Leeds", "Moortown"]
    # every fire station lies outside the extract's bounds
    assert not any(in_leeds_bounds(float(r["lon"]), float(r["lat"])) for r in fire)


def test_leeds_postcodes_lie_inside_the_bounds():
    rows = read_rows(DATA / "leeds" / "postcodes_inner_ne.csv")
    assert list(rows[0]) == ["postcode", "easting", "northing"]
    assert len(rows) == 1070
    assert len({r["postcode"] for r in rows}) == len(rows)
    assert all(r["postcode"].startswith("LS") and " " in r["postcode"] for r in rows)
    # British National Grid box around the extract
    assert all(429_480 < int(r["easting"]) < 433_090 for r in rows)
    assert all(434_610 < int(r["northing"]) < 436_980 for r in rows)


def test_coventry_layers():
    fire = read_rows(DATA / "coventry" / "fire_stations.csv")
    assert sorted(r["name"] for r in fire) == ["Binley", "Canley", "Coventry", "Foleshill"]
    libraries = read_rows(DATA / "coventry" / "libraries.csv")
    assert len(libraries) == 18
    closed = [r["name"] for r in libraries if r["closed"]]
    assert closed == ["Arena Park"]
    candidates = read_rows(DATA / "coventry" / "candidates.csv")
    assert len(candidates) == 17
    assert "Arena Park" not in {r["name"] for r in candidates}


def test_coventry_geojson():
    import json

    wards = json.loads((DATA / "coventry" / "wards.geojson").read_text(encoding="utf-8"))
    assert len(wards["features"]) == 18
    assert all(set(f["properties"]) == {"WD23CD", "WD23NM"} for f in wards["features"])
    boundary = json.loads((DATA / "coventry" / "boundary.geojson").read_text(encoding="utf-8"))
    assert len(boundary["features"]) == 1


def _file_values(table: object) -> list[str]:
    """Every ``file``/``osm_file``/``graph_file`` value in a parsed TOML table, recursively."""
    out: list[str] = []
    if isinstance(table, dict):
        for key, value in table.items():
            if key in {"file", "osm_file", "graph_file"} and isinstance(value, str):
                out.append(value)
            else:
                out += _file_values(value)
    return out


@pytest.mark.parametrize("name", ["leeds", "coventry"])
def test_study_file_paths_exist(name):
    path = STUDIES / f"{name}.toml"
    study = tomllib.loads(path.read_text(encoding="utf-8"))
    files = _file_values(study)
    assert files, "the study names no files"
    for value in files:
        assert (path.parent / value).resolve().is_file(), value
    assert study["study"]["synthetic"] is False


@pytest.mark.parametrize("name", ["leeds", "coventry"])
def test_study_files_load_with_the_package_reader(name):
    from defibmap.config import read_study

    study = read_study(STUDIES / f"{name}.toml")
    assert study.synthetic is False
    assert study.layers["demand"].population == "population"


def test_leeds_study_is_the_default_shape():
    study = tomllib.loads((STUDIES / "leeds.toml").read_text(encoding="utf-8"))
    assert study["network"]["osm_file"] == "../leeds/leeds_inner_ne.osm.bz2"
    assert study["network"]["max_snap_m"] == 250
    assert study["coverage"]["thresholds_m"] == [100, 200, 500]
    for section in ("network", "demand", "defibs", "police_stations", "fire_stations"):
        assert study[section]["source"]
        assert study[section]["licence"]
        assert study[section]["date"]


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED / "leeds").is_dir(),
    reason="the shared reference data (../shared/data from the repo root) is not here",
)
def test_derivation_reproduces_the_shipped_files(tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "derive_data.py"),
            "--shared",
            str(SHARED),
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(DERIVED)
    differ = [p for p in DERIVED if (tmp_path / p).read_bytes() != (REPO / p).read_bytes()]
    assert differ == []
