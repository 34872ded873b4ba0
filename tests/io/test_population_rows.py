"""Demand rows whose population cannot be right are refused, counted and explained."""

from __future__ import annotations

import pytest

from defibmap._errors import InputError
from defibmap.io.sites import LayerSpec, check_demand_total, load_layer


def _demand(tmp_path, rows):
    path = tmp_path / "lsoa.csv"
    path.write_text("id,lon,lat,population\n" + rows, encoding="utf-8")
    spec = LayerSpec(file=path, layer="demand", id="id", population="population")
    gdf, report = load_layer(spec, crs="EPSG:27700")
    check_demand_total(path, report, gdf)
    return gdf, report


def test_overflowing_population_row_is_rejected_and_counted(tmp_path):
    gdf, report = _demand(tmp_path, "a,-1.52,53.82,1e308\nb,-1.51,53.81,1500\n")
    assert gdf.index.tolist() == ["b"]
    assert report.as_dict()["rejected_reasons"] == {"population over 1,000,000 in one row": 1}


def test_all_negative_population_names_the_reason(tmp_path):
    with pytest.raises(InputError) as caught:
        _demand(tmp_path, "a,-1.52,53.82,-5\nb,-1.51,53.81,-7\n")
    assert str(caught.value) == (
        f"{tmp_path / 'lsoa.csv'}: none of its 2 rows can be used: negative population (2)"
    )


def test_all_zero_population_is_refused(tmp_path):
    with pytest.raises(InputError, match="every row's population is 0"):
        _demand(tmp_path, "a,-1.52,53.82,0\nb,-1.51,53.81,0\n")
