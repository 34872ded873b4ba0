"""Loading point layers: formats, coordinate recognition, rejections and clear errors."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from defibmap._errors import InputError
from defibmap.io.sites import LayerSpec, load_layer

LEEDS = [(-1.5275, 53.8150), (-1.5200, 53.8200), (-1.5100, 53.8100)]


def write_csv(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_lonlat_csv_projected_to_bng(tmp_path):
    f = write_csv(tmp_path / "d.csv", "site_id,name,lon,lat\na,A,-1.5275,53.815\nb,B,-1.52,53.82\n")
    gdf, report = load_layer(LayerSpec(file=f, layer="defibs", id="site_id"), crs="EPSG:27700")
    assert list(gdf.index) == ["a", "b"]
    assert gdf.crs.to_epsg() == 27700
    e, n = Transformer.from_crs(4326, 27700, always_xy=True).transform(-1.5275, 53.815)
    assert gdf.geometry.x.iloc[0] == pytest.approx(e)
    assert gdf.geometry.y.iloc[0] == pytest.approx(n)
    assert report.as_dict() == {
        "file": "d.csv",
        "rows_read": 2,
        "rows_used": 2,
        "rows_rejected": 0,
        "rejected_reasons": {},
    }


def test_easting_northing_recognised_and_ids_made(tmp_path):
    f = write_csv(tmp_path / "d.csv", "Name;Easting;Northing\nX;430000;435000\nY;431000;436000\n")
    gdf, _ = load_layer(LayerSpec(file=f, layer="candidates"), crs="EPSG:27700")
    assert list(gdf.index) == ["candidates_2", "candidates_3"]
    assert list(gdf["name"]) == ["X", "Y"]
    np.testing.assert_allclose(gdf.geometry.x, [430000, 431000], atol=1e-3)


def test_cp1252_and_bom(tmp_path):
    f = write_csv(tmp_path / "a.csv", "name,lon,lat\nCafé Ménage,-1.52,53.82\n", "cp1252")
    gdf, _ = load_layer(LayerSpec(file=f, layer="x"), crs="EPSG:27700")
    assert gdf["name"].iloc[0] == "Café Ménage"
    f = write_csv(tmp_path / "b.csv", "\ufeffname,lon,lat\nSt Ann’s,-1.52,53.82\n")
    gdf, _ = load_layer(LayerSpec(file=f, layer="x"), crs="EPSG:27700")
    assert gdf["name"].iloc[0] == "St Ann’s"


def test_swapped_and_missing_coordinates_rejected_and_counted(tmp_path):
    f = write_csv(
        tmp_path / "d.csv",
        "id,lon,lat,pop\na,-1.52,53.82,10\nb,53.82,-1.52,20\nc,,53.8,5\nd,-1.51,53.81,x\ne,-1.5,53.8,-3\n",
    )
    gdf, report = load_layer(
        LayerSpec(file=f, layer="demand", id="id", population="pop"), crs="EPSG:27700"
    )
    assert list(gdf.index) == ["a"]
    assert report.as_dict()["rejected_reasons"] == {
        "lat/lon swapped": 1,
        "missing or non-numeric coordinates": 1,
        "negative population": 1,
        "population missing or not a number": 1,
    }
    assert report.rows_read == 5
    assert report.rows_used + report.rows_rejected == report.rows_read
    rows = {i: r for i, r, _ in report.rejected}
    assert rows == {"b": 3, "c": 4, "d": 5, "e": 6}


def test_bng_in_lonlat_columns_is_an_error(tmp_path):
    f = write_csv(tmp_path / "d.csv", "name,lon,lat\nA,430000,435000\n")
    with pytest.raises(InputError, match=r"d\.csv.*British National Grid"):
        load_layer(LayerSpec(file=f, layer="x"), crs="EPSG:27700")


def test_duplicate_id_names_file_row_and_column(tmp_path):
    f = write_csv(tmp_path / "d.csv", "site_id,lon,lat\na,-1.52,53.82\na,-1.51,53.81\n")
    with pytest.raises(InputError, match=r"d\.csv: row 3, column 'site_id': duplicate id 'a'"):
        load_layer(LayerSpec(file=f, layer="x", id="site_id"), crs="EPSG:27700")


@pytest.mark.parametrize(
    ("text", "match"),
    [("", "empty"), ("name,lon,lat\n", "header only"), ("name,a,b\nX,1,2\n", "no coordinate")],
)
def test_empty_header_only_and_no_coordinates(tmp_path, text, match):
    f = write_csv(tmp_path / "d.csv", text)
    with pytest.raises(InputError, match=match):
        load_layer(LayerSpec(file=f, layer="x"), crs="EPSG:27700")


def test_excel_with_blank_leading_rows(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append([])
    ws.append([])
    ws.append(["Ref", "Building", "Easting", "Northing"])
    ws.append(["B1", "Town Hall", 430100, 435200])
    ws.append(["B2", "Library", 430500, 435600])
    f = tmp_path / "assets.xlsx"
    wb.save(f)
    gdf, report = load_layer(
        LayerSpec(file=f, layer="candidates", id="Ref", name="Building"), crs="EPSG:27700"
    )
    assert list(gdf.index) == ["B1", "B2"]
    assert list(gdf["name"]) == ["Town Hall", "Library"]
    np.testing.assert_allclose(gdf.geometry.y, [435200, 435600], atol=1e-3)
    assert report.rows_used == 2


def test_geojson_and_geopackage(tmp_path):
    pts = gpd.GeoDataFrame(
        {"site_id": ["p", "q"], "name": ["P", "Q"]},
        geometry=gpd.points_from_xy([430000, 430200], [435000, 435100]),
        crs=27700,
    )
    pts.to_file(tmp_path / "s.gpkg")
    gdf, _ = load_layer(
        LayerSpec(file=tmp_path / "s.gpkg", layer="x", id="site_id"), crs="EPSG:27700"
    )
    np.testing.assert_allclose(gdf.geometry.x, [430000, 430200], atol=1e-3)
    (tmp_path / "s.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "R"},
                        "geometry": {"type": "Point", "coordinates": list(LEEDS[0])},
                    }
                ],
            }
        )
    )
    gdf, _ = load_layer(LayerSpec(file=tmp_path / "s.geojson", layer="x"), crs="EPSG:27700")
    assert gdf["name"].iloc[0] == "R"
    assert pd.notna(gdf.geometry.x.iloc[0])
