"""Tests for the study map: layers, legend, escaping, aggregation, offline assets, the writer.

Also the reach areas of :mod:`defibmap.analysis.reach_areas` (hand-drawn networks with answers
worked out by
hand) and the asset inliner of :mod:`defibmap.outputs.map._assets`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from defibmap._errors import DefibmapError, InputError
from defibmap.analysis.reach_areas import node_distances_m, reach_polygons
from defibmap.network.snapping import snap_points
from defibmap.network.walk import from_arrays
from defibmap.outputs.map import _assets
from defibmap.outputs.map.render import (
    AGGREGATED_MARKERS,
    MapLayers,
    MapOptions,
    result_map,
    study_map,
    write_map,
)

if TYPE_CHECKING:
    from pathlib import Path

    import folium

BNG = "EPSG:27700"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
E0, N0 = 430_000.0, 435_000.0


def _points(rows: list[dict[str, object]], index: list[str], name: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "xy"} for r in rows],
        geometry=[Point(r["xy"]) for r in rows],  # type: ignore[arg-type]
        crs=BNG,
        index=pd.Index(index, name=name),
    )


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
        ),
        "Within 500 m walk at night": gpd.GeoDataFrame(
            geometry=[box(E0 - 200, N0 - 200, E0 + 200, N0 + 200)], crs=BNG
        ),
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
        "night_reach": ("Within 500 m walk of current defibs", "Within 500 m walk at night"),
        "wards": wards,
        "network_lines": gpd.GeoSeries(
            [box(E0, N0, E0 + 100, N0 + 100).exterior, box(E0, N0, E0 + 50, N0 + 50).exterior],
            crs=BNG,
        ),
    }


def _html(m: folium.Map, tmp_path: Path) -> str:
    path = tmp_path / "map.html"
    write_map(m, path)
    return path.read_text(encoding="utf-8")


_OPTIONS = {f.name for f in dataclasses.fields(MapOptions)}


def _study_map(**kwargs: object) -> folium.Map:
    """study_map with the old keyword form: the options go to MapOptions, the rest to MapLayers."""
    options = {k: v for k, v in kwargs.items() if k in _OPTIONS}
    layers = {k: v for k, v in kwargs.items() if k not in _OPTIONS}
    return study_map(MapLayers(**layers), MapOptions(**options))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    m = _study_map(**_inputs(), synthetic=True)
    return _html(m, tmp_path_factory.mktemp("map"))


@pytest.mark.parametrize(
    "layer",
    [
        "Residents by walk to nearest defib",
        "Residents not within 500 m walk",
        "Defibrillators",
        "Fire stations",
        "Police stations",
        "Recommended new defib sites (ranked)",
        "Other candidate council buildings",
        "Within 500 m walk of current defibs",
        "Within 500 m walk at night",
        "Wards",
        "Walking network (paths and streets)",
    ],
)
def test_feature_groups_in_layer_control(page: str, layer: str) -> None:
    assert f'"{layer}"' in _overlays(page)


def _overlays(page: str) -> str:
    """The overlay part of folium's layer-control definition."""
    control = page.split("_layers = {", 1)[1]
    return control.split("overlays", 1)[1].split("}", 1)[0]


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
    assert "People newly within 500 m walk (any time): 50" in page


def test_payloads_are_escaped_everywhere(page: str) -> None:
    assert SCRIPT not in page
    assert IMG not in page
    assert "<img" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_station_popup_says_outside_defib(page: str) -> None:
    assert "it carries an outside 24/7 defib" in page
    assert "it does not carry an outside 24/7 defib" in page


def test_no_awesome_markers_bootstrap_or_font_awesome(page: str) -> None:
    lowered = page.lower()
    for name in ("awesome", "glyphicons", "bootstrap", "fontawesome"):
        assert name not in lowered


def test_map_is_self_contained(page: str) -> None:
    remote = r"<(?:script|link)\b[^>]*\b(?:src|href)=\"https?://"
    remote_tags = re.findall(remote, page, re.IGNORECASE)
    assert remote_tags == []
    assert "<script src=" not in page
    assert "<link " not in page
    assert "Leaflet 1.9.3, a JS library for interactive maps" in page  # Leaflet's own banner
    assert "jQuery v3.7.1" in page
    assert ".leaflet-control-layers-toggle" in page  # leaflet.css, inline
    assert "url(images/" not in page
    assert page.count("data:image/png;base64,") >= 3  # layer icons and the default marker
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page  # tiles may stay remote
    assert "Works offline (Leaflet 1.9.3, jQuery 3.7.1 built in)" in page


def test_no_period_switch_without_the_studys_catchments(page: str) -> None:
    """Changed on purpose (issue 17): a switch that cannot recolour residents is not drawn.

    A map from frames alone has no catchments to measure a period by; the study's map has
    (tests/e2e/test_map_truth.py checks its colours in a browser).
    """
    assert 'name="defibmap-period"' not in page
    assert '"Defibrillators" :' in _overlays(page) or '"Defibrillators"' in _overlays(page)


def test_night_layer_holds_only_defibs_usable_at_night(tmp_path: Path) -> None:
    args = _inputs(payload_in="none")
    page = _html(_study_map(**args), tmp_path)
    # three defibs by day; the 24/7 one and the unknown one at night (assumed usable)
    # one marker per defib (changed on purpose, issue 17: one layer, the period fades them)
    assert page.count("Usable at night: yes") == 2
    assert page.count("Usable at night: no") == 1
    strict = _html(_study_map(**args | {"unknown_usable_at_night": False}), tmp_path)
    assert strict.count("Usable at night: yes") == 1


def test_first_reach_area_shown_others_hidden(tmp_path: Path) -> None:
    page = _html(_study_map(**_inputs(payload_in="none")), tmp_path)
    shown = re.search(r'"Within 500 m walk of current defibs" : (feature_group_\w+)', page)
    hidden = re.search(r'"Within 500 m walk at night" : (feature_group_\w+)', page)
    assert shown is not None
    assert hidden is not None
    assert f"{shown.group(1)}.addTo(map_" in page.replace(")\n", ")").replace(" ", "")
    assert f"{hidden.group(1)}.addTo(" not in page


def test_write_map_refuses_an_asset_it_cannot_inline(tmp_path: Path) -> None:
    m = _study_map(**_inputs(payload_in="none"))
    m.default_js = [*m.default_js, ("plugin", "https://cdn.example.org/leaflet.plugin.js")]
    with pytest.raises(DefibmapError, match=r"leaflet\.plugin\.js"):
        write_map(m, tmp_path / "map.html")
    assert list(tmp_path.iterdir()) == []


def test_inline_assets_unit() -> None:
    page = (
        '<head><script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        '<script src="https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js">'
        "</script>"
        '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"/>'
        '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free'
        '@6.2.0/css/all.min.css"/></head>'
    )
    out = _assets.inline_assets(page)
    assert "https://cdn" not in out
    assert "bootstrap" not in out
    assert "fontawesome" not in out
    assert out.index("Leaflet 1.9.3") < out.index("jQuery v3.7.1") < out.index(".leaflet-pane")
    assert out.count("</script>") == 2
    assert out.count("<style>") == 1


def test_synthetic_banner_only_when_synthetic(page: str, tmp_path: Path) -> None:
    assert "SYNTHETIC DEMONSTRATION DATA" in page
    plain = _html(_study_map(**_inputs(payload_in="none")), tmp_path)
    assert "SYNTHETIC DEMONSTRATION DATA" not in plain
    assert "synthetic demonstration data" not in plain


def test_template_and_js_metacharacters_are_inert(tmp_path: Path) -> None:
    args = _inputs(payload_in="none")
    nasty = "{{ 7*7 }} ${alert(2)} `x` \\"
    args["defibs"].loc["d1", "name"] = nasty  # type: ignore[attr-defined]
    page = _html(_study_map(**args), tmp_path)
    assert "{{" not in page
    assert "${alert" not in page
    assert "&#123;&#123; 7*7 &#125;&#125; &#36;&#123;alert(2)&#125; &#96;x&#96; &#92;" in page


def test_large_demand_is_aggregated(tmp_path: Path) -> None:
    n = 25_000
    m = _study_map(**_inputs(n_demand=n, payload_in="none"))
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
    m = _study_map(**args, max_demand_markers=1_000)
    page = _html(m, tmp_path)
    assert "points on a 50 m grid" in page
    # no station layer (nor legend entry) in a study without stations (issue 17)
    assert '"Fire stations"' not in page


def test_write_map_is_atomic_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "map.html"
    path.write_text("old map " * 10_000, encoding="utf-8")
    m = _study_map(**_inputs(payload_in="none"))
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
        _study_map(**args)


def test_frame_without_crs_is_an_input_error() -> None:
    args = _inputs(payload_in="none")
    args["defibs"] = args["defibs"].set_crs(None, allow_override=True)  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="defibs"):
        _study_map(**args)


def test_inlined_code_cannot_close_its_script_element(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_assets._Asset, "read", lambda _self: "var a = '</script><!--';")
    tag = _assets._script_tag(_assets._Asset("leaflet", "fake-for-test.js"))
    body = tag.split(">", 1)[1].rsplit("</script>", 1)[0]
    assert "</script" not in body.lower()
    assert "<!--" not in body
    assert "<\\/script><\\!--" in body


# --- reach areas (defibmap.analysis.reach_areas) on hand-drawn networks ---------------------------


def _line_network() -> object:
    """Four nodes on a straight 300 m street: 0 -- 100 -- 200 -- 300 m."""
    return from_arrays(
        node_x=np.array([0.0, 100.0, 200.0, 300.0]),
        node_y=np.zeros(4),
        edge_u=np.array([0, 1, 2]),
        edge_v=np.array([1, 2, 3]),
        crs=BNG,
    )


def test_node_distances_include_the_access_leg() -> None:
    net = _line_network()
    site = snap_points(net, np.array([0.0]), np.array([10.0]))  # 10 m off node 0
    dist = node_distances_m(net, site, limit_m=1_000)  # type: ignore[arg-type]
    np.testing.assert_allclose(dist, [10.0, 110.0, 210.0, 310.0])
    assert np.isinf(node_distances_m(net, site, limit_m=150)[2:]).all()  # type: ignore[arg-type]


def test_reach_polygon_stops_where_the_walk_runs_out() -> None:
    net = _line_network()
    site = snap_points(net, np.array([0.0]), np.array([10.0]))
    areas = reach_polygons(net, site, thresholds_m=[150, 500], buffer_m=25)  # type: ignore[arg-type]
    assert areas.crs == BNG
    # 150 m minus the 10 m access leg reaches x = 140; the band is 25 m either side
    np.testing.assert_allclose(areas.total_bounds, [-25, -25, 325, 25])
    np.testing.assert_allclose(areas.geometry.iloc[0].bounds, [-25, -25, 165, 25], atol=0.5)
    assert areas.geometry.iloc[0].area < areas.geometry.iloc[1].area


def test_reach_polygon_around_a_site_in_mid_edge() -> None:
    net = _line_network()
    site = snap_points(net, np.array([150.0]), np.array([0.0]))
    area = reach_polygons(net, site, thresholds_m=[30], buffer_m=25).geometry.iloc[0]  # type: ignore[arg-type]
    minx, _, maxx, _ = area.bounds
    assert minx == pytest.approx(95, abs=3.5)  # 150 - 30 - 25 (quarter-circle caps)
    assert maxx == pytest.approx(205, abs=3.5)


def test_reach_polygon_leaves_the_unreachable_middle_out() -> None:
    net = _line_network()
    sites = snap_points(net, np.array([0.0, 300.0]), np.array([0.0, 0.0]))
    area = reach_polygons(net, sites, thresholds_m=[100], buffer_m=10).geometry.iloc[0]  # type: ignore[arg-type]
    assert area.covers(Point(50, 0))
    assert area.covers(Point(250, 0))
    assert not area.covers(Point(150, 0))


def test_reach_polygon_without_sites_is_empty() -> None:
    net = _line_network()
    none = snap_points(net, np.array([5_000.0]), np.array([5_000.0]))  # beyond the snap limit
    area = reach_polygons(net, none, thresholds_m=[500])  # type: ignore[arg-type]
    assert area.geometry.iloc[0].is_empty


def test_node_distances_match_nearest_facility() -> None:
    from defibmap.analysis.reach import nearest_facility

    rng = np.random.default_rng(3)
    n = 12
    ix, iy = np.meshgrid(np.arange(n), np.arange(n))
    ix, iy = ix.ravel(), iy.ravel()
    idx = iy * n + ix
    right, up = ix < n - 1, iy < n - 1
    net = from_arrays(
        node_x=ix * 80.0 + rng.uniform(-10, 10, ix.size),
        node_y=iy * 80.0 + rng.uniform(-10, 10, ix.size),
        edge_u=np.concatenate([idx[right], idx[up]]),
        edge_v=np.concatenate([idx[right] + 1, idx[up] + n]),
        crs=BNG,
    )
    xy = rng.uniform(0, n * 80.0, (5, 2))
    sites = snap_points(net, xy[:, 0], xy[:, 1])
    at_nodes = snap_points(net, net.node_x, net.node_y)
    expected = nearest_facility(net, at_nodes, sites, limit_m=5_000).walk_m
    got = node_distances_m(net, sites, limit_m=5_000)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_reach_of_two_site_sets_is_the_union_of_their_reaches() -> None:
    """What study_reach_areas relies on to add the recommended sites cheaply."""
    rng = np.random.default_rng(5)
    n = 10
    ix, iy = np.meshgrid(np.arange(n), np.arange(n))
    ix, iy = ix.ravel(), iy.ravel()
    idx = iy * n + ix
    right, up = ix < n - 1, iy < n - 1
    net = from_arrays(
        node_x=ix * 90.0,
        node_y=iy * 90.0,
        edge_u=np.concatenate([idx[right], idx[up]]),
        edge_v=np.concatenate([idx[right] + 1, idx[up] + n]),
        crs=BNG,
    )
    xy = rng.uniform(0, n * 90.0, (6, 2))
    both = snap_points(net, xy[:, 0], xy[:, 1])
    first = snap_points(net, xy[:3, 0], xy[:3, 1])
    second = snap_points(net, xy[3:, 0], xy[3:, 1])

    def area(s: object) -> object:
        return reach_polygons(net, s, thresholds_m=[200]).geometry.iloc[0]  # type: ignore[arg-type]

    joined = area(first).union(area(second))  # type: ignore[attr-defined]
    whole = area(both)
    # equal up to the 2 m drawing tolerance of the simplified outlines
    assert whole.hausdorff_distance(joined) < 3.0  # type: ignore[attr-defined]
    assert whole.symmetric_difference(joined).area < 0.01 * whole.area  # type: ignore[attr-defined]


# --- the map of a real study ----------------------------------------------------------------


@pytest.fixture(scope="module")
def leeds_page(tmp_path_factory: pytest.TempPathFactory, leeds_network: object) -> str:
    from defibmap import run_study

    result = run_study("leeds", network=leeds_network)
    return _html(result_map(result), tmp_path_factory.mktemp("leeds-map"))


@pytest.mark.parametrize(
    "layer",
    [
        "Within 500 m walk of a defib (any time)",
        "Within 500 m walk of a defib usable at night",
        "Within 500 m walk with the recommended sites added",
        "Walking network (paths and streets)",
        "Defibrillators",
        "Recommended new defib sites (ranked)",
    ],
)
def test_leeds_map_layers(leeds_page: str, layer: str) -> None:
    assert f'"{layer}"' in _overlays(leeds_page)


def test_leeds_map_states_sources_and_dates(leeds_page: str) -> None:
    assert "OpenStreetMap (ODbL 1.0, © OpenStreetMap contributors, 2014-01)" in leeds_page
    assert "defibmap-daynight" in leeds_page
    assert "SYNTHETIC" not in leeds_page


def test_time_to_first_defib_layer_on_the_demo_map(tmp_path):
    import defibmap
    from defibmap.outputs.map.render import result_map, write_map

    result = defibmap.run_study("demo-town")
    write_map(result_map(result, reach=False), tmp_path / "map.html")
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert "Minutes to the first defibrillator" in page
    fire_first = int((result.demand["first_route"] == "fire").sum())
    assert fire_first > 0
    assert page.count("min to the first defib (fire)") == fire_first


def test_leeds_map_shows_the_three_coverage_figures(leeds_page: str, leeds_network: object) -> None:
    """Year-round available first, then night and any time: the shares summary.json holds."""
    from defibmap import run_study

    result = run_study("leeds", network=leeds_network)
    head = leeds_page[leeds_page.index("defibmap-headline") :]
    figures = [
        (
            f'data-figure=\\"{key}\\" data-when=\\"today\\" data-value=\\"{share!r}\\"\\u003e'
            f"{share:.1%}"
        )
        for key, share in (
            ("available", result.coverage_available["500"]),
            ("night", result.coverage_night["500"]),
            ("any_time", result.coverage["500"]),
        )
    ]
    where = [head.index(figure) for figure in figures]
    assert where == sorted(where)
