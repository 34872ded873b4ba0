"""Tests for defibmap.maps: layers, legend, escaping, aggregation and the atomic writer."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from defibmap._errors import InputError
from defibmap.maps import AGGREGATED_MARKERS, study_map, write_map

if TYPE_CHECKING:
    from pathlib import Path

    import folium

BNG = "EPSG:27700"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
E0, N0 = 430_000.0, 435_000.0


def _points(rows: list[dict[str, object]], index: list[str], name: str) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "xy"} for r in rows],
        geometry=[Point(r["xy"]) for r in rows],  # type: ignore[arg-type]
        crs=BNG,
        index=pd.Index(index, name=name),
    )
    return frame


def _inputs(*, n_demand: int | None = None, payload_in: str = "all") -> dict[str, object]:
    bad = payload_in == "all"
    demand_name = SCRIPT if bad else "Oak Street"
    if n_demand is None:
        demand = _points(
            [
                {
                    "xy": (E0, N0),
                    "population": 120.0,
                    "walk_m": 80.0,
                    "covered": True,
                    "nearest_defib_id": "d1",
                    "name": demand_name,
                },
                {
                    "xy": (E0 + 300, N0),
                    "population": 300.0,
                    "walk_m": 450.0,
                    "covered": True,
                    "nearest_defib_id": "d2",
                    "name": IMG if bad else "Elm Road",
                },
                {
                    "xy": (E0 + 900, N0 + 400),
                    "population": 50.0,
                    "walk_m": 750.0,
                    "covered": False,
                    "nearest_defib_id": "d1",
                    "name": "Far Lane",
                },
                {
                    "xy": (E0 - 800, N0 - 600),
                    "population": 10.0,
                    "walk_m": np.nan,
                    "covered": False,
                    "nearest_defib_id": None,
                    "name": "Moor End",
                },
            ],
            ["oa1", "oa2", "oa3", "oa4"],
            "demand_id",
        )
    else:
        rng = np.random.default_rng(0)
        xy = rng.uniform(-5_000, 5_000, size=(n_demand, 2)) + np.array([E0, N0])
        walk = rng.uniform(0, 1_000, n_demand)
        walk[::7] = np.nan
        demand = gpd.GeoDataFrame(
            {
                "population": rng.uniform(1, 50, n_demand),
                "walk_m": walk,
                "covered": np.nan_to_num(walk, nan=np.inf) <= 500,
                "nearest_defib_id": "d1",
            },
            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
            crs=BNG,
            index=pd.Index([f"p{i}" for i in range(n_demand)], name="demand_id"),
        )
    defibs = _points(
        [
            {
                "xy": (E0 + 50, N0 + 20),
                "name": SCRIPT if bad else "Library",
                "layer": "defibs",
                "availability": "24/7",
                "opening_hours": IMG if bad else "24/7",
            },
            {
                "xy": (E0 + 500, N0 - 100),
                "name": "School",
                "layer": "defibs",
                "availability": "limited hours",
                "opening_hours": "Mo-Fr 08:00-16:00",
            },
            {
                "xy": (E0 - 200, N0 + 300),
                "name": "Shop",
                "layer": "defibs",
                "availability": "whenever",
            },
        ],
        ["d1", "d2", "d3"],
        "site_id",
    )
    stations = _points(
        [
            {
                "xy": (E0 + 1_000, N0),
                "name": "Central Fire",
                "layer": "fire_stations",
                "outside_defib": True,
            },
            {
                "xy": (E0, N0 + 1_000),
                "name": "North Police",
                "layer": "police_stations",
                "outside_defib": False,
            },
        ],
        ["f1", "p1"],
        "site_id",
    )
    candidates = _points(
        [
            {
                "xy": (E0 + 800, N0 + 350),
                "name": SCRIPT if bad else "Town Hall",
                "kind": "townhall",
            },
            {"xy": (E0 - 700, N0 - 500), "name": IMG if bad else "Moor Library", "kind": "library"},
            {"xy": (E0 + 2_000, N0 + 2_000), "name": "Leisure Centre", "kind": "sports_centre"},
        ],
        ["c1", "c2", "c3"],
        "site_id",
    )
    recommendations = pd.DataFrame(
        {
            "rank": [1, 2],
            "site_id": ["c1", "c2"],
            "name": [SCRIPT if bad else "Town Hall", IMG if bad else "Moor Library"],
            "added_population": [50.0, 10.0],
            "cumulative_population_covered": [470.0, 480.0],
            "cumulative_coverage_share": [0.979, 1.0],
            "method": ["greedy", "greedy"],
        }
    )
    sources = [
        {
            "layer": "defibs",
            "name": SCRIPT if bad else "OpenStreetMap",
            "licence": "ODbL",
            "date": "2025-01-01",
        },
        {
            "layer": "demand",
            "name": IMG if bad else "ONS Census 2021",
            "licence": "OGL v3",
            "date": "2023-03-28",
        },
    ]
    reach = {
        "Within 500 m walk of current defibs": gpd.GeoDataFrame(
            geometry=[box(E0 - 500, N0 - 500, E0 + 500, N0 + 500)], crs=BNG
        )
    }
    wards = gpd.GeoDataFrame(
        {"name": [SCRIPT if bad else "Central"]},
        geometry=[box(E0 - 1_000, N0 - 1_000, E0 + 1_000, N0 + 1_000)],
        crs=BNG,
    )
    return {
        "title": f"Testshire {SCRIPT}" if bad else "Testshire",
        "demand": demand,
        "defibs": defibs,
        "stations": stations,
        "candidates": candidates,
        "recommendations": recommendations,
        "thresholds_m": (100, 200, 500),
        "sources": sources,
        "reach_areas": reach,
        "wards": wards,
    }


def _html(m: folium.Map, tmp_path: Path) -> str:
    path = tmp_path / "map.html"
    write_map(m, path)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    m = study_map(**_inputs(), synthetic=True)  # type: ignore[arg-type]
    return _html(m, tmp_path_factory.mktemp("map"))


@pytest.mark.parametrize(
    "layer",
    [
        "Residents by walk to nearest defib",
        "Residents not within 500 m walk",
        "Defibrillators: 24/7",
        "Defibrillators: limited hours",
        "Defibrillators: availability unknown",
        "Fire stations",
        "Police stations",
        "Recommended new defib sites (ranked)",
        "Other candidate council buildings",
        "Within 500 m walk of current defibs",
        "Wards",
    ],
)
def test_feature_groups_in_layer_control(page: str, layer: str) -> None:
    overlays = page.split("overlays", 1)[1].split("}", 1)[0]
    assert f'"{layer}"' in overlays


def test_legend_title_footer(page: str) -> None:
    assert "defibmap-legend" in page
    for label in (
        "within 100 m",
        "within 200 m",
        "within 500 m",
        "over 500 m",
        "no defib within search limit",
        "limited hours",
    ):
        assert label in page
    assert "defibmap-title" in page
    assert "Testshire &lt;script&gt;" in page
    assert "(synthetic demonstration data)" in page
    assert "ODbL, 2025-01-01" in page
    assert "OGL v3, 2023-03-28" in page


def test_ranked_candidates_are_numbered_div_icons(page: str) -> None:
    icons = re.findall(r"L\.divIcon\(\{(.*?)\}\)", page, flags=re.DOTALL)
    htmls = " ".join(icons)
    assert re.search(r"\\u003e1\\u003c/div", htmls)
    assert re.search(r"\\u003e2\\u003c/div", htmls)
    assert "New 24/7 outside cabinet assumed" in page
    assert "97.9%" in page
    assert "People newly within 500 m walk: 50" in page


def test_payloads_are_escaped_everywhere(page: str) -> None:
    assert SCRIPT not in page
    assert IMG not in page
    assert "<img" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_station_popup_says_outside_defib(page: str) -> None:
    assert "it carries an outside 24/7 defib" in page
    assert "it does not carry an outside 24/7 defib" in page


def test_no_awesome_markers(page: str) -> None:
    assert "awesome" not in page.lower()
    assert "glyphicons" not in page.lower()
    assert "leaflet.js" in page


def test_synthetic_banner_only_when_synthetic(page: str, tmp_path: Path) -> None:
    assert "SYNTHETIC DEMONSTRATION DATA" in page
    plain = _html(study_map(**_inputs(payload_in="none")), tmp_path)  # type: ignore[arg-type]
    assert "SYNTHETIC DEMONSTRATION DATA" not in plain
    assert "synthetic demonstration data" not in plain


def test_template_and_js_metacharacters_are_inert(tmp_path: Path) -> None:
    args = _inputs(payload_in="none")
    nasty = "{{ 7*7 }} ${alert(2)} `x` \\"
    args["defibs"].loc["d1", "name"] = nasty  # type: ignore[attr-defined]
    page = _html(study_map(**args), tmp_path)  # type: ignore[arg-type]
    assert "{{" not in page
    assert "${alert" not in page
    assert "&#123;&#123; 7*7 &#125;&#125; &#36;&#123;alert(2)&#125; &#96;x&#96; &#92;" in page


def test_large_demand_is_aggregated(tmp_path: Path) -> None:
    n = 25_000
    m = study_map(**_inputs(n_demand=n, payload_in="none"))  # type: ignore[arg-type]
    page = _html(m, tmp_path)
    markers = page.count("L.circleMarker(")
    assert markers <= AGGREGATED_MARKERS * 2 + 100
    assert markers < n // 2
    assert "points on a" in page


def test_geographic_demand_and_empty_layers(tmp_path: Path) -> None:
    args = _inputs(n_demand=2_000, payload_in="none")
    args["demand"] = args["demand"].to_crs("EPSG:4326")  # type: ignore[attr-defined]
    args["stations"] = gpd.GeoDataFrame()
    args["reach_areas"] = None
    args["wards"] = None
    m = study_map(**args, max_demand_markers=1_000)  # type: ignore[arg-type]
    page = _html(m, tmp_path)
    assert "points on a 50 m grid" in page
    assert '"Fire stations"' in page


def test_write_map_is_atomic_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "map.html"
    path.write_text("old map " * 10_000, encoding="utf-8")
    m = study_map(**_inputs(payload_in="none"))  # type: ignore[arg-type]
    write_map(m, path)
    text = path.read_text(encoding="utf-8")
    assert "old map" not in text
    assert text.lstrip().startswith("<!DOCTYPE html>")
    assert text.rstrip().endswith("</html>")
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]


def test_missing_recommended_site_is_an_input_error() -> None:
    args = _inputs(payload_in="none")
    args["recommendations"].loc[0, "site_id"] = "nowhere"  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="nowhere"):
        study_map(**args)  # type: ignore[arg-type]


def test_frame_without_crs_is_an_input_error() -> None:
    args = _inputs(payload_in="none")
    args["defibs"] = args["defibs"].set_crs(None, allow_override=True)  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="defibs"):
        study_map(**args)  # type: ignore[arg-type]
