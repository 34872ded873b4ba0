"""The GIS files read back with pyogrio and geopandas: layers, CRS, rows and values.

Every expectation comes from the other outputs (``demand_coverage.csv``,
``recommendations.csv``, ``rejected.csv``), from the input files or from pyproj, never from
the GIS writer itself.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from defibmap.outputs import gis
from defibmap.outputs.folder import MANIFEST_NAME
from defibmap.outputs.write import write_outputs
from defibmap.study.parts import Equity, GroupShare

if TYPE_CHECKING:
    from defibmap.study.pipeline import StudyResult

DATA = Path(__file__).resolve().parents[2] / "data" / "demo-town"


@pytest.fixture(scope="module")
def demo() -> StudyResult:
    from defibmap import run_study

    return run_study("demo-town")


@pytest.fixture(scope="module")
def out(demo: StudyResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gis") / "out"
    write_outputs(demo, folder)
    return folder


def _layers(path: Path) -> dict[str, Any]:
    return {str(name): kind for name, kind in pyogrio.list_layers(path)}


def _rows(path: Path) -> int:
    return len(pd.read_csv(path))


def _rejected(out: Path, layer: str) -> int:
    rejected = pd.read_csv(out / "rejected.csv")
    return int((rejected["layer"] == layer).sum())


def test_layers_are_spatial_in_british_national_grid(out: Path) -> None:
    layers = _layers(out / "defibmap.gpkg")
    # demo-town has fire and police stations and no wards
    assert layers == {
        "demand": "Point",
        "defibs": "Point",
        "stations": "Point",
        "candidates": "Point",
        "reach_areas": "MultiPolygon",
    }
    for name in layers:
        info = pyogrio.read_info(out / "defibmap.gpkg", layer=name)
        assert info["crs"] == "EPSG:27700"
        assert info["geometry_type"] is not None  # no attribute-only table


def test_demand_layer_equals_demand_coverage_csv(out: Path) -> None:
    csv = pd.read_csv(out / "demand_coverage.csv", dtype={"demand_id": str})
    layer = gpd.read_file(out / "defibmap.gpkg", layer="demand")
    assert len(layer) == len(csv) == _rows(DATA / "demand.csv") - _rejected(out, "demand")
    for column in csv.columns:
        got, want = layer[column], csv[column]
        if pd.api.types.is_numeric_dtype(want) and not pd.api.types.is_bool_dtype(want):
            np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), rtol=0, atol=1e-9)
        else:
            assert got.astype(str).tolist() == want.astype(str).tolist(), column
    # each point is its lon/lat projected to British National Grid (pyproj, not defibmap)
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(csv["lon"].to_numpy(), csv["lat"].to_numpy())
    assert np.abs(layer.geometry.x.to_numpy() - x).max() < 0.05  # lon/lat kept to 7 decimals
    assert np.abs(layer.geometry.y.to_numpy() - y).max() < 0.05


def test_candidates_layer_holds_every_candidate_and_the_ranking(out: Path) -> None:
    layer = gpd.read_file(out / "defibmap.gpkg", layer="candidates")
    assert len(layer) == _rows(DATA / "candidates.csv") - _rejected(out, "candidates")
    assert layer["site_id"].is_unique
    recs = pd.read_csv(out / "recommendations.csv")
    ranked = layer[layer["rank"].notna()].sort_values("rank").reset_index(drop=True)
    assert len(ranked) == len(recs)
    assert ranked["site_id"].tolist() == recs["site_id"].tolist()
    for column in ("rank", "added_population", "cumulative_population_covered"):
        np.testing.assert_allclose(ranked[column].to_numpy(float), recs[column].to_numpy(float))
    assert ranked["in_optimal_set"].astype(bool).tolist() == recs["in_optimal_set"].tolist()
    unranked = layer[layer["rank"].isna()]
    assert unranked["added_population"].isna().all()


def test_defibs_and_stations_layers_count_the_input_rows(out: Path) -> None:
    defibs = gpd.read_file(out / "defibmap.gpkg", layer="defibs")
    stations = gpd.read_file(out / "defibmap.gpkg", layer="stations")
    police = pd.read_csv(DATA / "police_stations.csv")
    fire = pd.read_csv(DATA / "fire_stations.csv")
    hubs = pd.read_csv(DATA / "ambulance_hubs.csv")
    # the study counts its police stations (outside_defib = true), the fire stations whose row
    # says outside_defib yes and its ambulance hubs (24/7 staffed defibs) as defibs too
    with_cabinet = int((fire["outside_defib"].astype(str) == "yes").sum())
    expected = _rows(DATA / "defibs.csv") - _rejected(out, "defibs") + len(police)
    assert len(defibs) == expected + with_cabinet + len(hubs)
    assert len(stations) == len(police) + len(fire)
    assert set(defibs["availability"]) <= {"24/7", "limited hours", "unknown"}
    assert set(stations["layer"]) == {"fire_stations", "police_stations"}


def test_reach_areas_nest_and_hold_the_covered_residents(out: Path) -> None:
    reach = gpd.read_file(out / "defibmap.gpkg", layer="reach_areas")
    assert reach["threshold_m"].tolist() == [500.0] * 3
    now = reach[(reach["period"] == "any time") & (reach["sites"] == "current defibs")]
    night = reach[reach["period"] == "night"]
    added = reach[reach["sites"] == "current and recommended"]
    assert len(now) == len(night) == len(added) == 1
    now_area, night_area = now.geometry.iloc[0], night.geometry.iloc[0]
    # drawn outlines of nested sets of sites: nested but for a sliver where outlines differ
    assert night_area.difference(now_area).area < 0.01 * night_area.area
    assert now_area.difference(added.geometry.iloc[0]).area < 0.01 * now_area.area
    assert night_area.area < now_area.area < added.geometry.iloc[0].area
    # residents within 500 m at night (demand_coverage.csv) lie in or at the night area
    csv = pd.read_csv(out / "demand_coverage.csv")
    demand = gpd.read_file(out / "defibmap.gpkg", layer="demand")
    at_night = demand[csv["covered_night"].to_numpy(bool)]
    assert len(at_night) > 0
    assert (at_night.distance(night_area) < at_night["snap_m"] + 1.0).all()


def test_recommendations_geojson_equals_the_csv(out: Path) -> None:
    frame = gpd.read_file(out / "recommendations.geojson")
    recs = pd.read_csv(out / "recommendations.csv")
    assert frame.crs.to_epsg() == 4326
    assert frame["site_id"].tolist() == recs["site_id"].tolist()
    np.testing.assert_allclose(frame.geometry.x.to_numpy(), recs["lon"].to_numpy())
    np.testing.assert_allclose(frame.geometry.y.to_numpy(), recs["lat"].to_numpy())
    document = json.loads((out / "recommendations.geojson").read_text(encoding="utf-8"))
    first = document["features"][0]["properties"]
    assert set(first) == set(recs.columns)
    np.testing.assert_allclose(first["added_population"], recs["added_population"].iloc[0])


def test_manifest_lists_the_gis_files(out: Path) -> None:
    import hashlib

    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))["sha256"]
    for name in ("defibmap.gpkg", "recommendations.geojson"):
        assert manifest[name] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    assert not [p.name for p in out.iterdir() if p.name.endswith(("-wal", "-shm", "-journal"))]


def test_a_failed_gis_write_leaves_the_earlier_outputs(
    demo: StudyResult, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    folder = tmp_path / "o"
    shutil.copytree(out, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    written: list[str] = []
    real = pyogrio.write_dataframe

    def fail_third(frame: Any, path: Any, **kwargs: Any) -> None:
        written.append(kwargs["layer"])
        if len(written) == 3:
            msg = "disk full"
            raise OSError(msg)
        real(frame, path, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", fail_third)
    with pytest.raises(OSError, match="disk full"):
        write_outputs(demo, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]  # no staging folder left


def _halves(demo: StudyResult) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Two wards split at the demand's median easting, and each demand point's ward."""
    x = demo.demand.geometry.x
    cut = float(x.median())
    west, south, east, north = demo.demand.total_bounds
    wards = gpd.GeoDataFrame(
        {"name": ["West ward", "East ward", "Empty ward"]},
        geometry=[
            shapely.box(west - 10, south - 10, cut, north + 10),
            shapely.box(cut, south - 10, east + 10, north + 10),
            shapely.box(east + 100, south, east + 200, north),
        ],
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")  # as a ward file may be: the writer reprojects it
    names = pd.Series(np.where(x < cut, "West ward", "East ward"), index=demo.demand.index)
    return wards, names


def _by_ward(demo: StudyResult, names: pd.Series) -> Equity:
    """Coverage per ward worked out here from the demand table."""
    groups = []
    people = demo.demand["population"]
    covered = demo.demand["covered"].astype(bool)
    for ward in ("East ward", "West ward"):
        inside = names == ward
        total = float(people[inside].sum())
        cov = float(people[inside & covered].sum())
        groups.append(GroupShare(ward, total, cov, cov / total, 0.5))
    return Equity(threshold_m=500, by_ward=tuple(groups))


def test_wards_layer_polygons_with_their_equity_figures(demo: StudyResult, tmp_path: Path) -> None:
    wards, names = _halves(demo)
    result = replace(demo, wards=wards, equity=_by_ward(demo, names))
    gis.write_gis(result, tmp_path, demand_table=pd.DataFrame({"demand_id": demo.demand.index}))
    layer = gpd.read_file(tmp_path / "defibmap.gpkg", layer="wards").set_index("ward")
    assert layer.crs.to_epsg() == 27700
    assert sorted(layer.index) == ["East ward", "Empty ward", "West ward"]
    for ward in ("East ward", "West ward"):
        inside = names == ward
        assert layer.loc[ward, "population"] == pytest.approx(
            demo.demand.loc[inside, "population"].sum()
        )
        assert layer.loc[ward, "share_with_recommended"] == 0.5
    assert np.isnan(layer.loc["Empty ward", "population"])
    west = layer.loc["West ward"].geometry
    assert west.bounds[2] == pytest.approx(float(demo.demand.geometry.x.median()), abs=0.01)


def test_wards_layer_points_when_only_ward_names_exist(demo: StudyResult, tmp_path: Path) -> None:
    _, names = _halves(demo)
    demand = demo.demand.assign(ward=names)
    result = replace(demo, demand=demand, wards=None, equity=_by_ward(demo, names))
    gis.write_gis(result, tmp_path, demand_table=pd.DataFrame({"demand_id": demand.index}))
    layer = gpd.read_file(tmp_path / "defibmap.gpkg", layer="wards").set_index("ward")
    assert _layers(tmp_path / "defibmap.gpkg")["wards"] == "Point"
    for ward in ("East ward", "West ward"):
        inside = (names == ward).to_numpy()
        w = demand["population"].to_numpy()[inside]
        x = demand.geometry.x.to_numpy()[inside]
        y = demand.geometry.y.to_numpy()[inside]
        point = layer.loc[ward].geometry
        assert point.x == pytest.approx(float((w * x).sum() / w.sum()))
        assert point.y == pytest.approx(float((w * y).sum() / w.sum()))


def test_no_wards_layer_without_wards(out: Path) -> None:
    assert "wards" not in _layers(out / "defibmap.gpkg")


def test_the_same_study_writes_the_same_bytes(demo: StudyResult, tmp_path: Path) -> None:
    import pyogrio

    table = pd.DataFrame({"demand_id": demo.demand.index})
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        gis.write_gis(demo, tmp_path / name, demand_table=table)
    for name in ("defibmap.gpkg", "recommendations.geojson"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") is None  # restored
