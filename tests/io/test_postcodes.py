"""Postcode lookups (OS Code-Point Open, ONSPD) and geocoding by postcode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from defibmap._errors import InputError
from defibmap.io import postcodes as pc
from defibmap.io.sites import read_table

TESTS = Path(__file__).resolve().parents[1]
DATA = TESTS.parent / "data"
SHARED = TESTS.parent.parent / "shared" / "data"
CODEPOINT_CV = SHARED / "postcodes" / "codepoint_open_2014_cv.csv"
CODEPOINT_LS = SHARED / "postcodes" / "codepoint_open_2014_ls.csv"

# Hand-made lines in the exact Code-Point Open layout (no header, quoted text, padded units).
CODEPOINT_LINES = (
    '"CV1 5FB",10,433750,279446,"E92000001","E19000001","E18000005","","E08000026","E05001221"\n'
    '"CV100AA",10,436681,292234,"E92000001","E19000001","E18000005","E10000031","E07000219",'
    '"E05007486"\n'
    '"CV1 9ZZ",90,0,0,"E92000001","E19000001","E18000005","","E08000026","E05001221"\n'
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cv1 5fb", "CV1 5FB"),
        ("CV15FB", "CV1 5FB"),
        (" CV1  5FB ", "CV1 5FB"),
        ("cv10 0aa", "CV10 0AA"),
        ("CV100AA", "CV10 0AA"),
        ("m41 6na", "M41 6NA"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("NA", ""),
        ("", ""),
        (None, ""),
        ("CV1", "CV1"),
    ],
)
def test_normalise_postcode(text, expected):
    assert pc.normalise_postcode(text) == expected
    assert pc.normalise_postcodes(pd.Series([text]))[0] == expected


@given(st.from_regex(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}", fullmatch=True), st.data())
def test_normalising_ignores_spacing_and_case(squeezed, data):
    outward, inward = squeezed[:-3], squeezed[-3:]
    pad = data.draw(st.sampled_from(["", " ", "  ", "\t"]))
    messy = f"{pad}{outward.lower()}{pad} {inward.swapcase()}{pad}"
    assert pc.normalise_postcode(messy) == f"{outward} {inward}"


def test_read_codepoint_hand_made_lines(tmp_path):
    path = tmp_path / "cv.csv"
    path.write_text(CODEPOINT_LINES, encoding="utf-8")
    lookup = pc.read_codepoint(path)
    assert list(lookup.index) == ["CV1 5FB", "CV10 0AA"]  # the unit without a grid ref is out
    assert lookup.loc["CV10 0AA", "easting"] == 436681
    assert lookup.loc["CV1 5FB", "district"] == "E08000026"
    folder = tmp_path / "Data" / "CSV"
    folder.mkdir(parents=True)
    (folder / "cv.csv").write_text(CODEPOINT_LINES, encoding="utf-8")
    assert len(pc.read_codepoint(folder)) == 2
    assert len(pc.read_postcode_lookup(path)) == 2


def test_read_onspd_layouts(tmp_path):
    grid = tmp_path / "onspd.csv"
    grid.write_text(
        "pcd,pcd2,pcds,dointr,doterm,oseast1m,osnrth1m,osgrdind,lat,long\n"
        "CV1 5FB,CV1  5FB,CV1 5FB,198001,,433750,279446,1,52.41,-1.50\n"
        "CV1 5ZZ,CV1  5ZZ,CV1 5ZZ,198001,200012,433800,279500,1,52.41,-1.50\n"
        "ZZ991ZZ,ZZ99 1ZZ,ZZ99 1ZZ,198001,,,,9,99.999999,0.000000\n",
        encoding="utf-8",
    )
    lookup = pc.read_onspd(grid)
    assert list(lookup.index) == ["CV1 5FB", "CV1 5ZZ"]
    assert bool(lookup.loc["CV1 5ZZ", "terminated"])
    assert lookup.loc["CV1 5FB", "northing"] == 279446
    degrees = tmp_path / "lonlat.csv"
    degrees.write_text("pcds,lat,long\nCV1 5FB,52.4,-1.5\nZZ99 1ZZ,99.999999,0\n", encoding="utf-8")
    lookup = pc.read_onspd(degrees)
    assert list(lookup.index) == ["CV1 5FB"]
    assert 400_000 < lookup.loc["CV1 5FB", "easting"] < 450_000
    bad = tmp_path / "bad.csv"
    bad.write_text("pcds,ward\nCV1 5FB,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="no coordinates"):
        pc.read_onspd(bad)


def test_geocode_reports_rows_not_found(tmp_path):
    lookup = pc.read_postcode_lookup(DATA / "leeds" / "postcodes_inner_ne.csv")
    path = tmp_path / "sites.csv"
    path.write_text("name,postcode\nA,ls2 9aa\nB, LS29AB\nC,LS99 9ZZ\nD,\n", encoding="utf-8")
    frame = read_table(path)
    out, missing = pc.geocode(frame, "postcode", lookup)
    assert list(out["postcode"]) == ["LS2 9AA", "LS2 9AB", "LS99 9ZZ", ""]
    assert out.loc[2, "easting"] == 429582  # indexed by file row
    assert out.loc[3, "northing"] == 434831
    assert missing == [(4, "LS99 9ZZ"), (5, "")]  # file rows: the header is row 1
    with pytest.raises(InputError, match="'pcode' not found"):
        pc.geocode(frame, "pcode", lookup)
    frame["easting"] = [1.0, np.nan, np.nan, np.nan]
    frame["northing"] = [2.0, np.nan, np.nan, np.nan]
    kept, _ = pc.geocode(frame, "postcode", lookup, keep_existing=True)
    assert (kept.loc[2, "easting"], kept.loc[3, "easting"]) == (1.0, 429580)


def test_shipped_leeds_postcodes():
    lookup = pc.read_postcode_lookup(DATA / "leeds" / "postcodes_inner_ne.csv")
    assert len(lookup) == 1070
    assert lookup.index.str.match(r"^LS\d{1,2} \d[A-Z]{2}$").all()


@pytest.mark.skipif(
    not CODEPOINT_LS.is_file(), reason="../shared/data/postcodes (beside the repo) is not here"
)
def test_shipped_leeds_postcodes_are_the_codepoint_ones():
    full = pc.read_codepoint(CODEPOINT_LS)
    shipped = pd.read_csv(DATA / "leeds" / "postcodes_inner_ne.csv")
    out, missing = pc.geocode(
        shipped.rename(columns={"easting": "e", "northing": "n"}), "postcode", full
    )
    assert missing == []
    assert (out["easting"] == out["e"]).all()
    assert (out["northing"] == out["n"]).all()


@pytest.mark.skipif(
    not CODEPOINT_CV.is_file(), reason="../shared/data/postcodes (beside the repo) is not here"
)
def test_coventry_libraries_geocoded_from_codepoint():
    lookup = pc.read_codepoint(CODEPOINT_CV)
    assert len(lookup) == 19_508  # the shared README says 19,507
    libraries = read_table(DATA / "coventry" / "libraries.csv")
    shipped = libraries[["easting", "northing"]].astype(float).to_numpy()
    out, missing = pc.geocode(libraries.drop(columns=["easting", "northing"]), "postcode", lookup)
    assert missing == []
    gap_m = np.hypot(out["easting"] - shipped[:, 0], out["northing"] - shipped[:, 1])
    # the shipped points were geocoded from these postcodes with this release: all 18 land
    # on exactly the same metre
    assert gap_m.max() == 0, gap_m.max()
