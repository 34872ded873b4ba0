"""The per-row ``outside_defib`` column of a point layer: yes, no, blank, or refused."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from defibmap._errors import InputError
from defibmap.io import sites

if TYPE_CHECKING:
    from pathlib import Path


def _layer(tmp_path: Path, header: str, values: list[str]) -> Path:
    lines = [f"id,name,lon,lat,{header}"]
    lines += [f"s{i},Site {i},-1.5{i},53.8,{v}" for i, v in enumerate(values)]
    path = tmp_path / "stations.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _load(path: Path) -> pd.DataFrame:
    gdf, _ = sites.load_layer(
        sites.LayerSpec(file=path, layer="fire_stations", id="id"), crs="EPSG:27700"
    )
    return gdf


def test_yes_no_and_blank_read_as_nullable_boolean(tmp_path: Path) -> None:
    cells = ["yes", "No", "TRUE", "false", "1", "0", "", "Y", "n"]
    gdf = _load(_layer(tmp_path, "outside_defib", cells))
    assert str(gdf["outside_defib"].dtype) == "boolean"
    got = [None if v is pd.NA else bool(v) for v in gdf["outside_defib"]]
    assert got == [True, False, True, False, True, False, None, True, False]


def test_the_header_is_found_in_any_case(tmp_path: Path) -> None:
    gdf = _load(_layer(tmp_path, "Outside Defib", ["yes", ""]))
    assert "Outside Defib" not in gdf.columns
    assert gdf["outside_defib"].tolist()[0] is True
    assert gdf["outside_defib"].isna().tolist() == [False, True]


def test_a_layer_without_the_column_has_none(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("id,name,lon,lat\na,A,-1.5,53.8\n", encoding="utf-8")
    assert "outside_defib" not in _load(path).columns


@pytest.mark.parametrize("bad", ["maybe", "outside", "2", "yes please"])
def test_any_other_value_names_file_row_and_column(tmp_path: Path, bad: str) -> None:
    path = _layer(tmp_path, "outside_defib", ["yes", "", bad])
    with pytest.raises(InputError) as err:
        _load(path)
    assert str(err.value).startswith(f"{path}: row 4, column 'outside_defib': {bad!r} is not yes")


def test_geojson_booleans(tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"g{i}", "outside_defib": value},
            "geometry": {"type": "Point", "coordinates": [-1.5 - i / 100, 53.8]},
        }
        for i, value in enumerate([True, False, None])
    ]
    path = tmp_path / "stations.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    gdf = _load(path)
    assert gdf["outside_defib"].tolist()[:2] == [True, False]
    assert gdf["outside_defib"].isna().tolist() == [False, False, True]
