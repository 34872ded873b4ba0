"""The map tells the truth, read in a real browser (Playwright on Debian's Chromium, offline).

- No recommended site, defib or headline figure lies under a panel (a Leaflet control) at
  four common screen sizes: measured by element rectangles.
- The period switch recolours residents: the people in each walking band's colour at night
  are the study's night coverage (``summary.json``'s ``coverage_night``), by day they differ.
- The what-if planner measures a plan as :func:`defibmap.compare` does: unticking the first
  recommendation, ticking another candidate, unticking one of today's defibs.
- Printed, the markers and legend swatches keep their colours.

Networking is off: every request that is not ``file://`` is aborted and Chromium resolves no
host name.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright is not installed: pip install playwright (the browser is Debian's "
    "chromium, no 'playwright install' needed)",
)
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "no /usr/bin/chromium: install Debian's 'chromium' package to run the real-browser checks",
        allow_module_level=True,
    )

ARGS = ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND"]
SIZES = [(1024, 768), (1366, 768), (1440, 900), (1920, 1080)]


@dataclass
class Study:
    result: Any
    page: Path
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _study(name: str, folder: Path, network: Any = None) -> Study:
    import defibmap

    result = defibmap.run_study(name, network=network)
    written = defibmap.write_outputs(result, folder)
    summary = json.loads(written["summary.json"].read_text(encoding="utf-8"))
    return Study(result=result, page=written["map.html"], summary=summary)


@pytest.fixture(scope="module")
def leeds(tmp_path_factory: pytest.TempPathFactory, leeds_network: Any) -> Study:
    return _study("leeds", tmp_path_factory.mktemp("truth-leeds"), leeds_network)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Study:
    return _study("demo-town", tmp_path_factory.mktemp("truth-demo"))


@contextmanager
def opened(browser: Any, page_file: Path, size: tuple[int, int] = (1366, 768)) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    context.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort()
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(page_file.as_uri(), wait_until="load")
        page.wait_for_function("window.defibmapReady === true")
        yield page
        assert errors == []
    finally:
        context.close()


# ------------------------------------------------------------------------------ panels

RECTS_JS = """(selector) => Array.from(document.querySelectorAll(selector)).map(e => {
  const r = e.getBoundingClientRect();
  return {x: r.left, y: r.top, r: r.right, b: r.bottom, text: e.textContent.trim()};
})"""


#: Each resident's circle on the screen (canvas-drawn, so from Leaflet's own projection).
RESIDENT_RECTS_JS = """() => {
  const box = document.querySelector('.leaflet-container').getBoundingClientRect();
  return window.defibmapResidents().map(m => {
    const p = m._map.latLngToContainerPoint(m.getLatLng()), r = m.getRadius();
    return {x: box.left + p.x - r, y: box.top + p.y - r, r: box.left + p.x + r,
            b: box.top + p.y + r, text: ''};
  });
}"""


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x"] < b["r"] and b["x"] < a["r"] and a["y"] < b["b"] and b["y"] < a["b"]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_nothing_that_matters_is_under_a_panel(leeds: Study, browser: Any, size: tuple[int, int]):
    with opened(browser, leeds.page, size) as page:
        panels = page.evaluate(RECTS_JS, ".leaflet-control")
        title = page.evaluate(RECTS_JS, ".leaflet-control.defibmap-title")
        assert len(title) == 1
        sites = page.evaluate(
            RECTS_JS, ".leaflet-marker-icon.defibmap-badge:not(.defibmap-station)"
        )
        defibs = page.evaluate(RECTS_JS, ".leaflet-marker-icon.defibmap-defib")
        figures = page.evaluate(RECTS_JS, ".defibmap-title .defibmap-figure")
        ranks = sorted(int(s["text"]) for s in sites)
        assert ranks == list(range(1, len(leeds.result.recommendations) + 1))
        assert len(defibs) == len(leeds.result.defibs)
        assert len(figures) == 6  # three figures, today and with the plan
        width, height = size
        residents = page.evaluate(RESIDENT_RECTS_JS)
        assert len(residents) == len(leeds.result.demand)
        for item in sites + defibs + residents:
            assert item["x"] >= 0
            assert item["y"] >= 0
            assert item["r"] <= width
            assert item["b"] <= height
            hidden = [p for p in panels if _overlap(item, p)]
            assert hidden == [], (item, hidden)
        others = [p for p in panels if not _overlap(p, title[0]) or p == title[0]]
        for item in figures:
            assert item["b"] <= height
            assert item["r"] <= width
            assert [p for p in others if p != title[0] and _overlap(item, p)] == []


# -------------------------------------------------------------------------- period switch

COLOURS_JS = """() => {
  const out = [];
  window.defibmapResidents().forEach(m => out.push(m.options.fillColor));
  return out;
}"""


def _band_shares(study: Study, colours: list[str]) -> dict[str, float]:
    """People in each walking band's colour (cumulative), as shares of all residents."""
    from defibmap.outputs.map._demand import band_colours

    thresholds = sorted(study.result.config.thresholds_m)
    bands = band_colours(len(thresholds))[: len(thresholds)]
    pop = study.result.demand["population"].to_numpy(dtype=float)
    shown = np.asarray(colours)
    assert len(shown) == len(pop)
    out = {}
    for i, t in enumerate(thresholds):
        inside = np.isin(shown, bands[: i + 1])
        out[str(round(t))] = float(pop[inside].sum() / pop.sum())
    return out


@pytest.mark.parametrize("name", ["leeds", "demo"])
def test_night_switch_recolours_residents_as_summary_says(
    name: str, request: pytest.FixtureRequest, browser: Any
) -> None:
    study: Study = request.getfixturevalue(name)
    with opened(browser, study.page) as page:
        day = page.evaluate(COLOURS_JS)
        labels = page.locator(".defibmap-daynight label").all_inner_texts()
        assert any(label.strip() == "Night" for label in labels), labels
        assert any(label.strip().startswith("Day") for label in labels), labels
        page.locator(".defibmap-daynight label", has_text="Night").locator("input").check()
        night = page.evaluate(COLOURS_JS)
    at_night = _band_shares(study, night)
    for key, share in study.summary["coverage_night"].items():
        assert at_night[key] == pytest.approx(share, abs=1e-9), key
    by_day = _band_shares(study, day)
    # the night view is not the day view: the people who only a daytime defib reaches change
    key = str(round(max(study.result.config.thresholds_m)))
    assert by_day[key] > at_night[key]
    assert day != night


# ------------------------------------------------------------------------------- planner


def _figures(page: Any) -> dict[str, float]:
    cells = page.locator('.defibmap-title [data-when="plan"]')
    out = {}
    for i in range(cells.count()):
        cell = cells.nth(i)
        out[cell.get_attribute("data-figure")] = float(cell.get_attribute("data-value"))
    return out


def _box(page: Any, site_id: str) -> Any:
    return page.locator(f'input.defibmap-plan[data-site="{site_id}"]')


def _expect(page: Any, row: Any) -> None:
    shown = _figures(page)
    for key in ("available", "night", "any_time"):
        assert shown[key] == pytest.approx(float(row[key]), abs=1e-9), key
    for key in ("available", "night", "any_time"):
        assert shown[f"added_{key}"] == pytest.approx(float(row[f"people_added_{key}"]), abs=1e-6)


@pytest.mark.parametrize("name", ["leeds", "demo"])
def test_planner_measures_plans_as_compare_does(
    name: str, request: pytest.FixtureRequest, browser: Any
) -> None:
    import defibmap

    study: Study = request.getfixturevalue(name)
    result = study.result
    ranked = list(result.recommendations.sort_values("rank")["site_id"].astype(str))
    other = next(s for s in result.candidates.index.astype(str) if s not in ranked)
    defib = str(result.defibs.index[0])
    plans = {
        "recommended": ranked,
        "without #1": ranked[1:],
        "plus another": [*ranked[1:], other],
        "less a defib": [*ranked[1:], other, f"-{defib}"],
    }
    table = defibmap.compare(result, plans)
    with opened(browser, study.page) as page:
        _expect(page, table.loc["recommended"])
        page.locator(".defibmap-planner summary").click()
        _box(page, ranked[0]).uncheck()
        _expect(page, table.loc["without #1"])
        _box(page, other).check()
        _expect(page, table.loc["plus another"])
        gain = table.loc["plus another", "people_added_any_time"]
        assert gain - table.loc["without #1", "people_added_any_time"] >= 0
        _box(page, defib).uncheck()
        _expect(page, table.loc["less a defib"])
        page.locator(".defibmap-copy").click()
        copied = json.loads(page.locator(".defibmap-plan-text").input_value())
        assert sorted(copied) == sorted(plans["less a defib"])
        # the copied plan is one compare() takes
        again = defibmap.compare(result, {"copied": copied})
        assert again.loc["copied", "available"] == pytest.approx(
            table.loc["less a defib", "available"], abs=1e-12
        )


# --------------------------------------------------------------------------------- print

STYLE_JS = """(selector) => {
  const e = document.querySelector(selector), s = getComputedStyle(e);
  return {bg: s.backgroundColor, adjust: s.webkitPrintColorAdjust || s.printColorAdjust,
          shown: s.display !== 'none'};
}"""


def test_print_keeps_marker_and_swatch_colours(demo: Study, browser: Any) -> None:
    with opened(browser, demo.page, (1366, 900)) as page:
        screen = {
            s: page.evaluate(STYLE_JS, s)
            for s in (".defibmap-defib .defibmap-sym", ".defibmap-legend .defibmap-swatch")
        }
        page.emulate_media(media="print")
        for selector, seen in screen.items():
            printed = page.evaluate(STYLE_JS, selector)
            assert printed["adjust"] == "exact", selector
            assert printed["bg"] == seen["bg"] != "rgba(0, 0, 0, 0)", selector
            assert printed["shown"]
        pdf = page.pdf(print_background=False)
        assert pdf[:5] == b"%PDF-"


# ------------------------------------------------------------------- a cabinet placed by hand


def test_a_cabinet_placed_on_a_street_reaches_what_a_walk_search_finds(
    leeds: Study, browser: Any
) -> None:
    """Placed at a street corner, the cabinet adds the people scipy's Dijkstra finds in reach.

    The page walks the embedded network (lengths to 0.1 m) from the node nearest the click;
    the same search here is scipy's on the study's own network.
    """
    import re

    import geopandas as gpd
    from scipy.sparse.csgraph import dijkstra

    from defibmap.study.compare import planner

    result = leeds.result
    plan = planner(result)
    network = result.network
    walk = plan.threshold_m
    node = int(
        np.argmin(
            (network.node_x - network.node_x.mean()) ** 2
            + (network.node_y - network.node_y.mean()) ** 2
        )
    )
    where = gpd.GeoSeries(
        gpd.points_from_xy(network.node_x[[node]], network.node_y[[node]]), crs=network.crs
    ).to_crs("EPSG:4326")
    graph = network.adjacency.copy()
    graph.data = np.round(graph.data, 1)
    dist = dijkstra(graph, indices=node, limit=walk)
    ok = plan.demand_u >= 0
    u, v = np.where(ok, plan.demand_u, 0), np.where(ok, plan.demand_v, 0)
    reached = ok & (
        np.minimum(
            dist[u] + np.round(np.nan_to_num(plan.demand_to_u_m), 1),
            dist[v] + np.round(np.nan_to_num(plan.demand_to_v_m), 1),
        )
        <= walk
    )
    ranked = set(result.recommendations["site_id"].astype(str))
    active = np.array([i < plan.n_current or s in ranked for i, s in enumerate(plan.site_ids)])
    covered = np.zeros(len(plan.population), dtype=bool)
    covered[plan.pair_demand[active[plan.pair_site]]] = True
    pop = plan.population
    expected = float(pop[covered | reached].sum() / pop.sum())
    assert reached.any()

    map_name = re.search(r"var (map_[0-9a-f]+) = L\.map\(", leeds.page.read_text()).group(1)
    with opened(browser, leeds.page) as page:
        page.locator(".defibmap-planner summary").click()
        page.locator("input.defibmap-place").check()
        page.evaluate(
            "([name, lat, lon]) => { window[name].fire('click', {latlng: L.latLng(lat, lon)}); }",
            [map_name, float(where.y.iloc[0]), float(where.x.iloc[0])],
        )
        shown = _figures(page)
        assert page.locator(".leaflet-marker-icon.defibmap-placed").count() == 1
        assert "cabinets placed on the map" in page.evaluate("window.defibmapPlan.text()")
    assert shown["any_time"] == pytest.approx(expected, abs=1e-9)


# ------------------------------------------------------------------------------- legend


def test_legend_follows_the_visible_layers_and_the_study(leeds: Study, browser: Any) -> None:
    """A section per visible layer, none for a layer the study lacks (Leeds: no fire stations)."""
    kinds = set(leeds.result.stations["layer"].astype(str))
    with opened(browser, leeds.page, (1920, 1080)) as page:
        legend = page.locator(".defibmap-legend")
        text = legend.inner_text()
        assert "Residents" in text
        assert "Defibrillators" in text
        assert ("Police station" in text) == ("police_stations" in kinds)
        assert ("Fire station" in text) == ("fire_stations" in kinds)
        assert "Minutes to the first defib" not in text  # its layer starts hidden
        page.locator(".leaflet-control-layers").hover()
        page.locator(".leaflet-control-layers-overlays label", has_text="Minutes").locator(
            "input"
        ).check()
        page.mouse.move(600, 500)
        assert "Minutes to the first defib" in legend.inner_text()
