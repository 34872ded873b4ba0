"""Defibrillator register exports and merging them with OpenStreetMap defibs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defibmap._errors import InputError
from defibmap.io import postcodes, registers
from defibmap.osm import features as osm_features

TESTS = Path(__file__).resolve().parents[1]
REGISTER = TESTS / "data" / "register_circuit_style_handmade.csv"
HANDMADE_OSM = TESTS / "data" / "osm_defibs_handmade.osm"
LEEDS_POSTCODES = TESTS.parent / "data" / "leeds" / "postcodes_inner_ne.csv"
TRAFFORD_REGISTER = "defibrillators_trafford_defibrillators.csv"


@pytest.fixture(scope="module")
def register():
    lookup = postcodes.read_postcode_lookup(LEEDS_POSTCODES)
    return registers.read_register(REGISTER, postcodes=lookup)


def test_register_columns_and_values(register):
    assert list(register.columns) == list(registers.LAYER_COLUMNS)
    frame = register.set_index("site_id")
    assert frame.loc["D001", "opening_hours"] == "24/7"  # "24 hours"
    assert frame.loc["D001", "hours_text"] == "24 hours"
    assert frame.loc["D001", "locked"] == "no"  # "Unlocked"
    assert frame.loc["D001", "location"] == "outside"  # "Outdoor"
    assert frame.loc["D001", "access"] == "yes"  # "Public"
    assert frame.loc["D002", "access"] == "customers"
    assert frame.loc["D002", "opening_hours"] == "Mo-Fr 09:00-18:00"
    assert frame.loc["D002", "locked"] == ""  # "N/A"
    assert frame.loc["D003", "access"] == "private"  # "Restricted - staff only"
    assert frame.loc["D003", "notes"] == ""  # "NA"
    # free text hours stay out of opening_hours
    assert frame.loc["D004", "opening_hours"] == ""
    assert frame.loc["D004", "hours_text"] == "dawn till dusk"
    assert frame.loc["D004", "locked"] == "yes"  # "Locked (code from 999)"
    assert frame.loc["D004", "postcode"] == "LS2 9AA"
    # placed from its postcode (Code-Point Open centroid, LS2 9AA)
    assert np.isclose(frame.loc["D004", "easting"], 429582, atol=0.01)
    assert np.isclose(frame.loc["D004", "northing"], 434846, atol=0.01)
    assert register.attrs["no_coordinates"] == [(6, "LS99 9ZZ")]
    assert register.attrs["invalid_hours"] == [{"site_id": "D004", "hours_text": "dawn till dusk"}]
    assert list(register["source_row"]) == [2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("text", "locked"),
    [
        ("Yes", "yes"),
        ("no", "no"),
        ("Unlocked cabinet", "no"),
        ("Coded cabinet", "yes"),
        ("Keypad", "yes"),
        ("NA", ""),
        ("Heated cabinet", ""),
    ],
)
def test_normalise_locked(text, locked):
    assert registers.normalise_locked(text) == locked


@pytest.mark.parametrize(
    ("text", "access"),
    [
        ("Public", "yes"),
        ("24/7 public access", "yes"),
        ("Yes", "yes"),
        ("No", "no"),
        ("Private", "private"),
        ("Staff only", "private"),
        ("During opening hours", "customers"),
        ("n/a", ""),
        ("ask at desk", ""),
        ("Not publicly accessible", "no"),
    ],
)
def test_normalise_access(text, access):
    assert registers.normalise_access(text) == access


def test_columns_by_name_and_cp1252(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(
        "Where,Lat,Lon,Open,Box\nCaf\xe9 on the square,53.8,-1.5,24 hrs,key\n".encode("cp1252")
    )
    frame = registers.read_register(path, columns={"name": "Where", "hours": "Open"})
    assert frame.loc[0, "name"] == "Caf\xe9 on the square"
    assert frame.loc[0, "opening_hours"] == "24/7"
    assert frame.loc[0, "locked"] == ""  # "Box" is not a header it knows...
    named = registers.read_register(path, columns={"name": "Where", "locked": "Box"})
    assert named.loc[0, "locked"] == "yes"  # ...until it is named
    with pytest.raises(InputError, match="unknown register field 'colour'"):
        registers.read_register(path, columns={"colour": "Where"})
    with pytest.raises(InputError, match="'Nowhere' not found"):
        registers.read_register(path, columns={"name": "Nowhere"})


def test_merge_counts_each_site_once(register):
    osm = osm_features.osm_layer("defibrillators", osm_file=HANDMADE_OSM)
    merged, report = registers.merge_defibs(osm, register, within_m=25.0)
    assert report.matched == 2
    assert {(o, r) for o, r, _ in report.pairs} == {
        ("osm_node_9000000001", "D001"),
        ("osm_node_9000000002", "D002"),
    }
    assert max(d for *_, d in report.pairs) < 10
    assert report.osm_only == 1
    assert report.register_only == 3  # D003 (private), D004 (placed by postcode), D006
    assert report.register_without_coordinates == 1
    assert report.excluded == 1
    assert len(merged) == 3 + 2
    assert merged["site_id"].is_unique
    frame = merged.set_index("site_id")
    # the register's lock and hours win; the OSM id stays
    assert frame.loc["osm_node_9000000001", "locked"] == "no"
    assert frame.loc["osm_node_9000000001", "register_id"] == "D001"
    assert frame.loc["osm_node_9000000002", "opening_hours"] == "Mo-Fr 09:00-18:00"
    assert frame.loc["osm_node_9000000002", "name"] == "Chemist defibrillator"
    assert frame.loc["D006", "source"] == "register"
    reasons = {r["site_id"]: r["reason"] for r in merged.attrs["excluded"]}
    assert reasons == {
        "osm_node_9000000003": "access=private",
        "osm_node_9000000004": "access=no",
        "D003": "access=private",
        "D005": "no coordinates",
    }
    assert not merged.drop(columns=["lon", "lat", "match_m"]).isna().any().any()
    # 70 m apart: separate sites at 25 m, the same site at 100 m
    wider = registers.merge_defibs(osm, register, within_m=100.0)[1]
    assert wider.matched == 3


def test_trafford_register_is_read_clean(trafford):
    frame = registers.read_register(trafford / TRAFFORD_REGISTER)
    assert len(frame) == 185
    assert frame[["lon", "lat"]].notna().all().all()
    assert frame.attrs["no_coordinates"] == []
    for column in ("name", "address", "postcode", "notes"):
        assert not frame[column].str.fullmatch("NA").any(), column
    assert frame.loc[0, "name"] == "Acre Hall Primary"
    assert frame.loc[0, "address"] == "Irlam Road, Flixton, Manchester"
    assert frame.loc[1, "notes"] == ""
    assert frame["postcode"].str.match(r"^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$").all()
    assert (frame["opening_hours"] == "").all()  # the export has no hours


def test_trafford_register_postcodes_and_merge(trafford):
    frame = registers.read_register(trafford / TRAFFORD_REGISTER)
    lookup = postcodes.read_postcode_lookup(trafford / "spatial_postcodes_trafford_postcodes.csv")
    placed, missing = postcodes.geocode(
        frame.drop(columns=["easting", "northing"]), "postcode", lookup
    )
    # every postcode is in Trafford's list; the register's points lie near (median about
    # 10 m) but not on the postcode centroids: "derived from postcodes" with another product
    gap_m = np.hypot(placed["easting"] - frame["easting"], placed["northing"] - frame["northing"])
    assert missing == []
    assert np.median(gap_m) < 25
    assert np.percentile(gap_m, 90) < 500
    # an OSM layer holding every fifth register defib, mapped 10 m east of it
    osm = frame.iloc[::5][["site_id", "name", "lon", "lat"]].copy()
    osm["site_id"] = [f"osm_node_{i}" for i in range(len(osm))]
    osm["lon"] = osm["lon"] + 10 / (111_320 * np.cos(np.radians(osm["lat"])))
    for column in osm_features.COLUMNS[4:]:
        osm[column] = ""
    merged, report = registers.merge_defibs(osm, frame, within_m=25.0)
    assert report.matched == len(osm) == 37
    assert len(merged) == 185
    assert report.osm_only == 0
    assert merged["site_id"].str.startswith("osm_node_").sum() == 37
    assert pd.Series([d for *_, d in report.pairs]).max() < 25
