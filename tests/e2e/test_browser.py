"""Real-browser checks of map.html and report.html: Playwright drives Debian's headless Chromium.

Playwright comes from PyPI and is pointed at ``/usr/bin/chromium`` (no browser download).
Networking is off twice over: every request that is not ``file://`` is aborted by a route (and
recorded, so the test knows the page asked for nothing but map tiles), and Chromium resolves
no host name. The map must therefore draw every layer from what is inside the file.

For the embedded real-data default (Leeds) and the demo town, the tests write all three outputs
with :func:`defibmap.write_outputs`, open the map, click the top-ranked site and read its
popup, switch a layer off and on, flip the day/night switch, check for JavaScript errors and
save screenshots; then the same for the report. A study whose every text field holds an HTML
payload checks that opening every popup and tooltip never runs it, and that formula-like names
are neutralised in the CSV and the workbook.
"""

from __future__ import annotations

import csv
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
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
        "no /usr/bin/chromium: install Debian's 'chromium' package (.ci/run does) to run the "
        "real-browser checks",
        allow_module_level=True,
    )

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # networking off for the browser's own traffic too: no host name resolves
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
#: Map tiles are the only thing the map may ask the internet for.
TILE_URL = re.compile(r"^https://([a-c]\.)?tile\.openstreetmap\.org/\d+/\d+/\d+\.png$")

IMG = '<img src=x onerror="window.__x=1">'
QIMG = '">' + IMG
PAYLOADS = (IMG, QIMG, "'>" + IMG, "</script>" + IMG, "</textarea>" + IMG)
FORMULAS = ('=HYPERLINK("http://x","y")', "+SUM(1,2)", "-2+3", "@SUM(1)")
RESIDENTS = "Residents by walk to nearest defib"


@dataclass
class Visit:
    """One page open in its own browser context, with what it did."""

    page: Any
    map_name: str | None = None
    control_name: str | None = None
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def js_errors(self) -> list[str]:
        """Page errors and console errors, less the failed loads of the blocked tiles."""
        return self.page_errors + self.console_errors


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def visit(browser: Any, page_file: Path, *, bypass_csp: bool = False) -> Iterator[Visit]:
    """Open ``page_file`` with networking off; ``bypass_csp`` tests escaping without the CSP."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, bypass_csp=bypass_csp, service_workers="block"
    )
    blocked: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    # record every payload image the page ever creates, even one removed again at once
    context.add_init_script(
        """window.__payloadImgs = 0;
        new MutationObserver(function (records) { records.forEach(function (r) {
          r.addedNodes.forEach(function (n) {
            if (n.nodeType !== 1) { return; }
            var imgs = n.matches('img[src="x"]') ? [n] : [];
            imgs = imgs.concat(Array.prototype.slice.call(n.querySelectorAll('img[src="x"]')));
            window.__payloadImgs += imgs.length; }); }); })
          .observe(document, {childList: true, subtree: true});"""
    )
    page = context.new_page()
    seen = Visit(page=page, blocked=blocked)
    page.on("pageerror", lambda e: seen.page_errors.append(str(e)))

    def console(message: Any) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if message.text.startswith("Failed to load resource") and url in blocked:
            return  # a request we aborted ourselves (checked separately)
        seen.console_errors.append(f"{message.text} ({url})")

    page.on("console", console)
    text = page_file.read_text(encoding="utf-8")
    found = re.search(r"var (map_[0-9a-f]+) = L\.map\(", text)
    seen.map_name = found.group(1) if found else None
    found = re.search(r"let (layer_control_[0-9a-f]+) = L\.control\.layers\(", text)
    seen.control_name = found.group(1) if found else None
    try:
        page.goto(page_file.as_uri(), wait_until="load")
        page.wait_for_timeout(300)  # let the canvas renderer and late scripts run
        yield seen
    finally:
        context.close()


# ------------------------------------------------------------------ JavaScript run in the page

OVERLAYS_JS = """([mapName, controlName]) => {
  const map = window[mapName], control = (0, eval)(controlName);
  return control._layers.filter(e => e.overlay).map(e => ({
    name: e.name.trim(), on: map.hasLayer(e.layer),
    drawn: e.layer.getLayers ? e.layer.getLayers().filter(l => map.hasLayer(l)).length : 0,
    size: e.layer.getLayers ? e.layer.getLayers().length : 0}));
}"""
PAINTED_JS = """() => {
  let n = 0;
  document.querySelectorAll('.leaflet-overlay-pane canvas').forEach(c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) { n += 1; } }
  });
  return n;
}"""
OPEN_ALL_JS = """(mapName) => {
  const map = window[mapName];
  let popups = 0, tooltips = 0;
  const layers = [];
  map.eachLayer(l => layers.push(l));
  layers.forEach(l => {
    if (l.getPopup && l.getPopup()) { l.openPopup(); popups += 1; l.closePopup(); }
    if (l.getTooltip && l.getTooltip()) { l.openTooltip(); tooltips += 1; l.closeTooltip(); }
  });
  return {popups: popups, tooltips: tooltips};
}"""


CLOSE_POPUPS_JS = """(mapName) => {
  const map = window[mapName], open = [];
  map.eachLayer(l => { if (l instanceof L.Popup) { open.push(l); } });
  open.forEach(p => map.removeLayer(p));
}"""


def overlays(seen: Visit) -> dict[str, dict[str, Any]]:
    rows = seen.page.evaluate(OVERLAYS_JS, [seen.map_name, seen.control_name])
    return {row["name"]: row for row in rows}


def layer_box(seen: Visit, name: str) -> Any:
    # the layer list is folded into a button (issue 17: an open list covered the map)
    seen.page.locator(".leaflet-control-layers").hover()
    label = seen.page.locator(".leaflet-control-layers-overlays label", has_text=name)
    assert label.count() == 1, f"no single {name!r} entry in the layer control"
    return label.locator("input")


# ------------------------------------------------------------------------ outputs to look at


@dataclass
class Outputs:
    result: Any
    folder: Path
    written: dict[str, Path]


@pytest.fixture(scope="session", params=["leeds", "demo-town"])
def study_outputs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Outputs:
    """The embedded real-data default and the demo town, with all their outputs written."""
    import defibmap

    name = request.param
    network = request.getfixturevalue("leeds_network") if name == "leeds" else None
    result = defibmap.run_study(name, network=network)
    folder = tmp_path_factory.mktemp(f"browser-{name}")
    written = defibmap.write_outputs(result, folder)
    return Outputs(result=result, folder=folder, written=written)


def top_site(result: Any) -> Any:
    return result.recommendations.sort_values("rank").iloc[0]


def test_all_three_outputs(study_outputs: Outputs) -> None:
    from openpyxl import load_workbook

    for name in ("map.html", "recommendations.xlsx", "report.html"):
        path = study_outputs.written[name]
        assert path == study_outputs.folder / name
        assert path.stat().st_size > 1_000, name
    book = load_workbook(study_outputs.written["recommendations.xlsx"], read_only=True)
    try:
        cells = [c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row]
    finally:
        book.close()
    assert top_site(study_outputs.result)["name"] in cells


def test_map_in_browser(study_outputs: Outputs, browser: Any) -> None:
    result = study_outputs.result
    recommendations = result.recommendations.sort_values("rank")
    with visit(browser, study_outputs.written["map.html"]) as seen:
        page = seen.page
        assert seen.map_name is not None
        assert seen.control_name is not None
        assert page.evaluate("(name) => window[name] instanceof L.Map", seen.map_name)
        assert seen.page_errors == []  # first, so a broken page fails here and says why
        # networking off: the page asked the internet for map tiles and nothing else
        assert seen.blocked, "the tile layer should have been asked for (and refused)"
        assert all(TILE_URL.match(url) for url in seen.blocked), seen.blocked
        # ... and still drew its layers from what is inside the file
        shown = overlays(seen)
        assert len(shown) >= 6
        on = {name: row for name, row in shown.items() if row["on"]}
        assert RESIDENTS in on
        for name, row in on.items():
            assert row["drawn"] == row["size"], f"layer {name!r} is only partly drawn"
        drawn = [name for name, row in on.items() if row["drawn"] > 0]
        assert len(drawn) >= 5, on  # a layer may be empty (Leeds's fire stations are off-network)
        assert RESIDENTS in drawn
        painted = page.evaluate(PAINTED_JS)
        assert painted > 5_000, "the canvas with the circle markers and areas is blank"
        assert page.locator(".defibmap-legend").is_visible()
        assert page.locator(".defibmap-sources").is_visible()

        # the numbered candidate markers: one DivIcon badge per ranked site
        badges = page.locator(".leaflet-marker-icon.defibmap-badge")
        ranks = sorted(int(t.strip()) for t in badges.all_text_contents() if t.strip().isdigit())
        assert ranks == list(range(1, len(recommendations) + 1))
        badges.filter(has_text=re.compile(r"^\s*1\s*$")).click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible", timeout=5_000)
        text = popup.inner_text()
        assert str(top_site(result)["name"]) in text
        assert "#1" in text
        assert "People newly within" in text

        # switch the residents layer off: its markers leave the map and the canvas
        box = layer_box(seen, RESIDENTS)
        assert box.is_checked()
        box.uncheck()
        page.wait_for_timeout(200)
        after = overlays(seen)[RESIDENTS]
        assert not after["on"]
        assert after["drawn"] == 0
        assert page.evaluate(PAINTED_JS) < painted
        box.check()
        page.wait_for_timeout(200)
        again = overlays(seen)[RESIDENTS]
        assert again["on"]
        assert again["drawn"] == again["size"] > 0

        shot = study_outputs.folder / "map.png"
        page.screenshot(path=str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 10_000
        assert page.evaluate("window.__x") is None
        assert seen.js_errors() == []


def test_day_night_switch(study_outputs: Outputs, browser: Any) -> None:
    """The period radios swap the day and night reach areas; the defibs stay one layer.

    Changed on purpose (issue 17): the defibs are one layer whose markers fade when not
    usable in the period, and residents are recoloured (tests/e2e/test_map_truth.py).
    """
    with visit(browser, study_outputs.written["map.html"]) as seen:
        assert seen.page_errors == []
        radios = seen.page.locator(".defibmap-daynight label")
        radios.filter(has_text="Night").locator("input").check()
        seen.page.wait_for_timeout(200)  # the layer control redraws its boxes on a timer
        shown = overlays(seen)
        on = [name for name, row in shown.items() if row["on"]]
        assert "Defibrillators" in on, on
        if any("usable at night" in name for name in shown):
            assert any("usable at night" in name for name in on), on
            assert not any("(any time)" in name for name in on), on
        seen.page.locator(".leaflet-control-layers").hover()
        boxes = seen.page.locator(".leaflet-control-layers-overlays label")
        checked = [
            boxes.nth(i).inner_text().strip()
            for i in range(boxes.count())
            if boxes.nth(i).locator("input").is_checked()
        ]
        assert sorted(checked) == sorted(on)  # the layer control shows what the map shows
        radios.first.locator("input").check()
        seen.page.wait_for_timeout(200)
        on = [name for name, row in overlays(seen).items() if row["on"]]
        assert not any("usable at night" in name for name in on), on
        assert seen.js_errors() == []


def test_report_in_browser(study_outputs: Outputs, browser: Any) -> None:
    result = study_outputs.result
    # the report's own Content-Security-Policy stays in force: a violation is a console error
    with visit(browser, study_outputs.written["report.html"]) as seen:
        page = seen.page
        assert seen.blocked == []  # the report needs nothing from the network
        assert page.locator("h1").inner_text().strip().endswith(result.config.name)
        assert page.locator(".card").count() >= 3  # headline numbers
        headings = page.locator("h2").all_inner_texts()
        for heading in ("Headline numbers", "Ranked sites", "Method and assumptions"):
            assert heading in headings
        assert page.locator("table").count() >= 3
        assert str(top_site(result)["name"]) in " ".join(page.locator("table").all_inner_texts())
        images = page.evaluate(
            "() => Array.from(document.images).map(i => [i.complete, i.naturalWidth])"
        )
        assert len(images) >= 2
        assert all(done and width > 0 for done, width in images), images
        link = page.locator("a.maplink")
        assert link.get_attribute("href") == "map.html"
        assert (study_outputs.folder / "map.html").is_file()
        shot = study_outputs.folder / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        assert seen.js_errors() == []
    assert sorted(p.name for p in study_outputs.written["figures"].glob("*.png"))


# ------------------------------------------------------------ a study full of HTML payloads


def payload(i: int) -> str:
    return f"{PAYLOADS[i % len(PAYLOADS)]} {i}"


def _write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, quoting=csv.QUOTE_ALL)


def _layer(section: str, file: str, id_column: str, extra: str = "") -> str:
    return (
        f"[{section}]\nfile = {file!r}\nid = {id_column!r}\nname = 'name'\n{extra}"
        f"source = '{IMG}'\nlicence = '{QIMG}'\ndate = '{IMG}'\n\n"
    )


@pytest.fixture(scope="module")
def payload_outputs(tmp_path_factory: pytest.TempPathFactory, leeds_network: Any) -> Outputs:
    """The Leeds study with an HTML payload (or a formula) in every text field."""
    import defibmap
    from defibmap._resources import data_root

    leeds = data_root() / "leeds"
    root = tmp_path_factory.mktemp("payload-study")
    candidates = pd.read_csv(leeds / "candidates.csv", dtype=str)
    # every candidate's name is a formula followed by a payload, so whichever ranks, both show
    candidates["name"] = [
        f"{FORMULAS[i % len(FORMULAS)]}{payload(i)}" for i in range(len(candidates))
    ]
    candidates["site_id"] = [f"{payload(i)} c{i}" for i in range(len(candidates))]
    candidates["kind"] = [payload(i + 1) for i in range(len(candidates))]
    candidates["source"] = IMG
    _write(candidates, root / "candidates.csv")
    schools = pd.read_csv(leeds / "schools.csv", dtype=str, keep_default_na=False)
    schools["name"] = [payload(i) for i in range(len(schools))]
    schools["site_id"] = [f"{payload(i + 2)} d{i}" for i in range(len(schools))]
    # a quoted comment is valid OSM opening_hours syntax, so the hours text carries one too
    schools.loc[0, "opening_hours"] = 'Mo-Fr 08:00-16:00 "<img src=x onerror=window.__x=1>"'
    schools.loc[1, "location"] = "outside"
    _write(schools, root / "schools.csv")
    demand = pd.read_csv(leeds / "lsoa21_demand.csv", dtype=str)
    texts = [*FORMULAS, *PAYLOADS]
    demand["name"] = [payload(i) for i in range(len(demand))]
    demand["lsoa21cd"] = [f"{texts[i % len(texts)]} o{i}" for i in range(len(demand))]
    _write(demand.drop(columns=["lsoa21nm"]), root / "demand.csv")
    for layer in ("police_stations", "fire_stations"):
        frame = pd.read_csv(leeds / f"{layer}.csv", dtype=str)
        frame["name"] = [payload(i + 3) for i in range(len(frame))]
        # Leeds's fire stations lie off the 2014 network: their ids land in rejected.csv
        frame["site_id"] = [f"{FORMULAS[i % len(FORMULAS)]} {layer} {i}" for i in range(len(frame))]
        frame["address"] = IMG
        _write(frame, root / f"{layer}.csv")
    shutil.copy(leeds / "leeds_inner_ne.osm.bz2", root / "network.osm.bz2")
    study = (
        f"[study]\nname = '{IMG} study'\ndescription = '{QIMG}'\nsynthetic = false\n\n"
        f"[network]\nosm_file = 'network.osm.bz2'\nsource = '{IMG}'\nlicence = '{IMG}'\n"
        f"date = '{IMG}'\nmax_snap_m = 250\n\n"
        + _layer("demand", "demand.csv", "lsoa21cd", "population = 'population'\n")
        + _layer("defibs", "schools.csv", "site_id")
        + _layer("police_stations", "police_stations.csv", "site_id", "outside_defib = true\n")
        + _layer("fire_stations", "fire_stations.csv", "site_id", "outside_defib = false\n")
        + _layer("candidates", "candidates.csv", "site_id")
        + "[coverage]\nthresholds_m = [100, 200, 500]\n\n[ranking]\nnew_sites = 3\n"
        "threshold_m = 500\n"
    )
    (root / "study.toml").write_text(study, encoding="utf-8")
    result = defibmap.run_study(root / "study.toml", network=leeds_network)
    assert len(result.recommendations) >= 1
    written = defibmap.write_outputs(result, root / "out")
    return Outputs(result=result, folder=root / "out", written=written)


def test_payload_never_runs_in_map(payload_outputs: Outputs, browser: Any) -> None:
    with visit(browser, payload_outputs.written["map.html"]) as seen:
        page = seen.page
        assert seen.map_name is not None
        # at load already: nothing ran and nothing broke
        assert page.evaluate("window.__payloadImgs") == 0
        assert page.evaluate("typeof window.__x") == "undefined"
        assert seen.page_errors == []
        # the planner's list names every site: open it (and run its plan) too
        page.locator(".defibmap-planner summary").click()
        page.locator(".defibmap-copy").click()
        # every overlay on, by day and at night, then every popup and tooltip opened
        for night in (False, True):
            if night:
                page.locator(".defibmap-daynight input[value=night]").check()
                page.wait_for_timeout(200)
            page.locator(".leaflet-control-layers").hover()  # folded since issue 17
            boxes = page.locator(".leaflet-control-layers-overlays input")
            for i in range(boxes.count()):
                boxes.nth(i).check()
            opened = page.evaluate(OPEN_ALL_JS, seen.map_name)
            assert opened["popups"] >= 5
            assert opened["tooltips"] >= 30
        page.evaluate(CLOSE_POPUPS_JS, seen.map_name)
        page.wait_for_timeout(400)  # closed popups fade out for 200 ms before they leave the DOM
        badges = page.locator(".leaflet-marker-icon.defibmap-badge")
        badges.filter(has_text=re.compile(r"^\s*1\s*$")).click()
        page.locator(".leaflet-popup-content").wait_for(state="visible", timeout=5_000)
        page.wait_for_timeout(300)  # a broken image's onerror fires asynchronously
        # the payload shows as text: in the title block, the sources and the top site's popup
        body = page.locator("body").inner_text()
        assert "<img src=x" in body
        assert "<img src=x" in page.locator(".leaflet-popup-content").inner_text()
        assert page.evaluate("window.__payloadImgs") == 0
        assert page.evaluate("typeof window.__x") == "undefined"
        assert page.title().startswith("<img src=x")
        assert seen.js_errors() == []


def test_payload_never_runs_in_report(payload_outputs: Outputs, browser: Any) -> None:
    # without the report's Content-Security-Policy: this tests the escaping itself
    with visit(browser, payload_outputs.written["report.html"], bypass_csp=True) as seen:
        page = seen.page
        page.wait_for_timeout(300)
        assert "<img src=x" in page.locator("h1").inner_text()
        tables = " ".join(page.locator("table").all_inner_texts())
        assert "<img src=x" in tables
        assert "HYPERLINK" in tables
        assert page.evaluate("window.__payloadImgs") == 0
        assert page.evaluate("typeof window.__x") == "undefined"
        images = page.evaluate("() => Array.from(document.images).map(i => i.naturalWidth)")
        assert images
        assert all(width > 0 for width in images)
        assert seen.js_errors() == []


def test_formula_names_are_prefixed(payload_outputs: Outputs) -> None:
    from openpyxl import load_workbook

    with payload_outputs.written["recommendations.csv"].open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for row in rows:
        assert row["name"].startswith("'"), row["name"]
        assert row["name"][1:2] in {"=", "+", "-", "@"}
    for table in ("demand_coverage.csv", "rejected.csv"):
        with payload_outputs.written[table].open(encoding="utf-8") as fh:
            cells = [cell for row in csv.reader(fh) for cell in row]
        for formula in FORMULAS:
            hits = [c for c in cells if formula in c]
            assert hits, (table, formula)
            assert all(c.startswith("'" + formula) for c in hits), (table, hits)

    book = load_workbook(payload_outputs.written["recommendations.xlsx"])
    found = [
        cell
        for ws in book.worksheets
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and any(f in cell.value for f in FORMULAS)
    ]
    assert len(found) >= len(rows)
    for cell in found:
        assert cell.data_type == "s", cell.coordinate
        assert cell.value.startswith("'"), cell.value
