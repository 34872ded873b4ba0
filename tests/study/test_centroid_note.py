"""Demand at census-area centroids is flagged in every output, with [finer_demand] suggested.

One LSOA's residents at one point make the ranking all-or-nothing per area; the note says so
in the terminal, summary.json, the report and the workbook.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from openpyxl import load_workbook
from shapely.geometry import Point

import defibmap
from defibmap.outputs.write import format_summary
from defibmap.study._inputs import centroid_note

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo-town"


def _demand(ids: list[str], people: list[float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"population": people},
        geometry=[Point(i, 0) for i in range(len(ids))],
        index=pd.Index(ids, name="site_id"),
        crs="EPSG:27700",
    )


@pytest.fixture(scope="module")
def leeds() -> defibmap.StudyConfig:
    return defibmap.load_study("leeds")


def test_lsoa_codes_without_finer_demand_are_flagged(leeds):
    plain = dataclasses.replace(leeds, finer_demand={})
    note = centroid_note(
        plain, _demand(["E01011350", "E01011351", "W01000001"], [1500, 2500, 2000])
    )
    assert note is not None
    assert "3 census areas" in note
    assert "about 2,000 residents, up to 2,500" in note
    assert "all-or-nothing" in note
    assert "[finer_demand]" in note


@pytest.mark.parametrize(
    "ids",
    [
        ["LS7 3AA", "LS7 3AB"],  # postcodes
        ["E01011350", "demand_2"],  # not every id an area code
        ["E05001234", "E05001235"],  # wards are not census areas
    ],
)
def test_points_that_are_not_census_areas_are_not_flagged(leeds, ids):
    assert (
        centroid_note(dataclasses.replace(leeds, finer_demand={}), _demand(ids, [40, 40])) is None
    )


def test_areas_spread_by_finer_demand_are_not_flagged(leeds):
    # the shipped Leeds study spreads its LSOAs over postcodes
    assert leeds.finer_demand
    assert centroid_note(leeds, _demand(["E01011350"], [1500])) is None


def test_every_output_says_it(tmp_path):
    # the synthetic town with its demand ids renamed to LSOA codes
    folder = tmp_path / "demo"
    shutil.copytree(DEMO, folder)
    demand = pd.read_csv(folder / "demand.csv")
    demand["demand_id"] = [f"E01{900000 + i}" for i in range(len(demand))]
    demand.to_csv(folder / "demand.csv", index=False)
    text = (REPO / "data" / "studies" / "demo-town.toml").read_text(encoding="utf-8")
    text = text.replace("../demo-town/", "demo/")
    text = re.sub(r"co_responder = true", "co_responder = false", text)
    study = tmp_path / "study.toml"
    study.write_text(text, encoding="utf-8")
    result = defibmap.run_study(defibmap.read_study(study))
    found = [n for n in result.notes if "all-or-nothing" in n]
    assert len(found) == 1
    assert f"{len(result.demand):,} census areas" in found[0]
    assert found[0] in format_summary(result)
    written = defibmap.write_outputs(result, tmp_path / "out")
    assert found[0] in result.summary()["notes"]
    report = Path(written["report.html"]).read_text(encoding="utf-8")
    assert "all-or-nothing" in report
    assert "[finer_demand]" in report
    book = load_workbook(written["recommendations.xlsx"], read_only=True)
    cells = [
        str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v
    ]
    assert any("all-or-nothing" in c and "[finer_demand]" in c for c in cells)
