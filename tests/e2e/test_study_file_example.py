"""The minimal own-files example that opens docs/study-file.md runs as written, offline.

Its files are made from the synthetic demonstration town: residents with census-area ids, the
defibs and the candidate buildings as Excel workbooks, a postcode lookup, and the town's
OpenStreetMap extract under the name the example gives.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd

import defibmap

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo-town"


def _example() -> str:
    text = (ROOT / "docs" / "study-file.md").read_text(encoding="utf-8")
    section = text.split("## A minimal study", 1)[1]
    return re.search(r"```toml\n(.*?)```", section, re.DOTALL).group(1)


def test_the_minimal_example_runs_on_its_own_files(tmp_path, offline):
    study = _example()
    # the example's extract is a .pbf; the demonstration town ships a .osm.bz2
    study = study.replace('"my-area.osm.pbf"', '"my-area.osm.bz2"')
    (tmp_path / "my-council.toml").write_text(study, encoding="utf-8")
    shutil.copy(DEMO / "town.osm.bz2", tmp_path / "my-area.osm.bz2")
    residents = pd.read_csv(DEMO / "demand.csv")
    residents = residents.assign(oa21cd=[f"E00{900000 + i}" for i in range(len(residents))])
    residents[["oa21cd", "population", "lon", "lat", "imd_decile"]].to_csv(
        tmp_path / "residents.csv", index=False
    )
    defibs = pd.read_csv(DEMO / "defibs.csv").rename(columns={"site_id": "defib_ref"})
    defibs.loc[0, "opening_hours"] = "Mon-Fri 9am-5pm"
    defibs.loc[1, "opening_hours"] = "ask at reception"
    defibs.to_excel(tmp_path / "defibs.xlsx", index=False)
    buildings = pd.read_csv(DEMO / "candidates.csv").rename(
        columns={"site_id": "Asset ref", "name": "Property name"}
    )
    with pd.ExcelWriter(tmp_path / "council-buildings.xlsx") as book:
        pd.DataFrame({"note": ["asset register"]}).to_excel(book, sheet_name="Read me")
        buildings.to_excel(book, sheet_name="Assets", index=False)
    pd.DataFrame({"postcode": ["ZZ1 1ZZ"], "easting": [0], "northing": [0]}).to_csv(
        tmp_path / "postcodes.csv", index=False
    )

    result = defibmap.run_study(defibmap.read_study(tmp_path / "my-council.toml"))

    assert result.input_reports["demand"].rows_used == len(residents)
    assert result.input_reports["defibs"].rows_used == len(defibs)
    assert result.input_reports["candidates"].rows_used == len(buildings)
    warned = result.warnings
    assert list(warned["text"]) == ["ask at reception"]
    assert list(warned["id"]) == [defibs.loc[1, "defib_ref"]]
    key = str(round(result.config.headline_threshold_m))
    assert 0 < result.coverage_available[key] <= result.coverage[key]
    assert any("[finer_demand]" in note for note in result.notes)
