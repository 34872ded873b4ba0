"""Real-browser checks of map.html and report.html in headless Chromium with networking off.

Chromium runs with every host name unresolvable and a dead proxy, so nothing can come from the
internet: the map must draw from what is inside the file. A small probe script is added to a
*copy* of each page (never to what defibmap writes): it records JavaScript errors, opens the
top-ranked site's popup, toggles a layer, flips the day/night switch, opens every popup and
tooltip, and writes what it saw into the DOM, which ``--dump-dom`` returns.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from defibmap.maps import result_map, study_map, write_map

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium: install Debian's 'chromium' package to run the real-browser checks",
)

IMG = '<img src=x onerror="window.__x=1">'
BNG = "EPSG:27700"
E0, N0 = 430_000.0, 435_000.0

PROBE_HEAD = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
</script>"""
PROBE_MAP = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var out = {errors: window.__errors};
  var key = Object.keys(window).find(function (k) {
    return k.indexOf('map_') === 0 && window[k] instanceof L.Map; });
  var map = window[key];
  var count = function () { var n = 0; map.eachLayer(function () { n += 1; }); return n; };
  out.markerIcons = document.querySelectorAll('.leaflet-marker-icon').length;
  out.canvas = document.querySelectorAll('.leaflet-overlay-pane canvas').length;
  var top = Array.prototype.find.call(document.querySelectorAll('.defibmap-badge'),
    function (el) { return el.textContent.trim() === '1'; });
  if (top) { top.click(); }
  var content = document.querySelector('.leaflet-popup-content');
  out.topPopup = content ? content.textContent : null;
  var boxes = document.querySelectorAll('.leaflet-control-layers-overlays input');
  var off = Array.prototype.find.call(boxes, function (b) { return !b.checked; });
  var before = count();
  if (off) { off.click(); }
  out.toggled = off ? {checked: off.checked, layersBefore: before, layersAfter: count()} : null;
  var labelOf = function (b) { return b.parentNode.textContent.trim(); };
  var night = document.querySelector('.defibmap-daynight input[value=night]');
  if (night) { night.click(); }
  setTimeout(function () {  // the layer control redraws its boxes on a timer
    boxes = document.querySelectorAll('.leaflet-control-layers-overlays input');
    var checked = Array.prototype.filter.call(boxes, function (b) { return b.checked; });
    out.nightOn = night ? checked.map(labelOf) : null;
    Array.prototype.forEach.call(boxes, function (b) { if (!b.checked) { b.click(); } });
    var opened = 0;
    map.eachLayer(function (l) {
      if (l.getPopup && l.getPopup()) { l.openPopup(); opened += 1; }
      if (l.getTooltip && l.getTooltip()) { l.openTooltip(); opened += 1; }
    });
    out.opened = opened;
    setTimeout(function () {
      out.xss = window.__x === 1;
      out.errors = window.__errors;
      var pre = document.createElement('pre');
      pre.id = 'probe-result';
      pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    }, 300);
  }, 100);
}, 300); });
</script>"""
PROBE_REPORT = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var imgs = Array.prototype.slice.call(document.querySelectorAll('figure img'));
  var out = {errors: window.__errors, xss: window.__x === 1, figures: imgs.length,
    drawn: imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length,
    mapLink: (document.querySelector('a.maplink') || {}).getAttribute('href')};
  var pre = document.createElement('pre');
  pre.id = 'probe-result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 300); });
</script>"""


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # networking off: no name resolves and every connection goes to a closed local port
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *args,
    ]
    env = {**os.environ, "HOME": str(profile)}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, env=env
    )


def _probe(page: Path, tmp_path: Path, script: str, *, strip_csp: bool = False) -> dict[str, Any]:
    """Open a probed copy of ``page`` and return what the probe recorded."""
    text = page.read_text(encoding="utf-8")
    if strip_csp:  # test the escaping itself, not only the policy that backs it up
        text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
    text = text.replace("<head>", "<head>" + PROBE_HEAD, 1).replace("</body>", script + "</body>")
    probed = page.with_name(f"probed-{page.name}")
    probed.write_text(text, encoding="utf-8")
    run = _chromium(["--dump-dom", probed.as_uri()], tmp_path / "profile")
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', run.stdout, flags=re.DOTALL)
    assert found, f"probe did not report; stderr tail: {run.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


@pytest.fixture(scope="module")
def leeds_pages(tmp_path_factory: pytest.TempPathFactory, leeds_network: Any) -> dict[str, Path]:
    from defibmap import run_study
    from defibmap.html_report import write_report

    out = tmp_path_factory.mktemp("leeds")
    result = run_study("leeds", network=leeds_network)
    write_map(result_map(result), out / "map.html")
    write_report(result, out / "report.html")
    return {"map": out / "map.html", "report": out / "report.html"}


def test_leeds_map_draws_offline(leeds_pages: dict[str, Path], tmp_path: Path) -> None:
    seen = _probe(leeds_pages["map"], tmp_path, PROBE_MAP)
    assert seen["errors"] == []
    assert seen["markerIcons"] >= 3  # ranked sites and stations are DivIcon badges
    assert seen["canvas"] >= 1  # circle markers and areas draw on a canvas
    assert seen["topPopup"] is not None
    assert "#1" in seen["topPopup"]
    assert "People newly within 500 m walk" in seen["topPopup"]
    assert seen["toggled"]["checked"] is True
    assert seen["toggled"]["layersAfter"] > seen["toggled"]["layersBefore"]
    assert seen["opened"] > 10
    assert seen["xss"] is False


def test_leeds_day_night_switch(leeds_pages: dict[str, Path], tmp_path: Path) -> None:
    seen = _probe(leeds_pages["map"], tmp_path, PROBE_MAP)
    on = " | ".join(seen["nightOn"])
    assert "Defibrillators at night" in on
    assert "Defibrillators by day" not in on
    assert "Within 500 m walk of a defib usable at night" in on
    assert "(any time)" not in on


def test_leeds_map_dom_and_screenshot(leeds_pages: dict[str, Path], tmp_path: Path) -> None:
    dom = _chromium(["--dump-dom", leeds_pages["map"].as_uri()], tmp_path / "p1").stdout
    assert "leaflet-container" in dom
    assert "leaflet-marker-icon" in dom
    assert "leaflet-control-layers" in dom
    assert "<img src=x" not in dom
    shot = tmp_path / "map.png"
    _chromium(
        ["--window-size=1280,800", f"--screenshot={shot}", leeds_pages["map"].as_uri()],
        tmp_path / "p2",
    )
    assert shot.stat().st_size > 10_000


def test_leeds_report_in_browser(leeds_pages: dict[str, Path], tmp_path: Path) -> None:
    seen = _probe(leeds_pages["report"], tmp_path, PROBE_REPORT, strip_csp=True)
    assert seen["errors"] == []
    assert seen["figures"] >= 2
    assert seen["drawn"] == seen["figures"]
    assert seen["mapLink"] == "map.html"
    shot = tmp_path / "report.png"
    _chromium(
        ["--window-size=1280,1600", f"--screenshot={shot}", leeds_pages["report"].as_uri()],
        tmp_path / "p3",
    )
    assert shot.stat().st_size > 10_000


def _payload_map(tmp_path: Path) -> Path:
    """A small map with the payload in every text field a page shows."""

    def points(rows: list[dict[str, Any]], ids: list[str]) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            [{k: v for k, v in r.items() if k != "xy"} for r in rows],
            geometry=[Point(r["xy"]) for r in rows],
            crs=BNG,
            index=pd.Index(ids, name="site_id"),
        )

    demand = points(
        [
            {
                "xy": (E0, N0),
                "population": 100.0,
                "walk_m": 80.0,
                "covered": True,
                "nearest_defib_id": "d1",
                "name": IMG,
            },
            {
                "xy": (E0 + 900, N0),
                "population": 50.0,
                "walk_m": np.nan,
                "covered": False,
                "nearest_defib_id": None,
                "name": IMG,
            },
        ],
        [IMG, "oa2"],
    )
    defibs = points(
        [
            {
                "xy": (E0 + 50, N0),
                "name": IMG,
                "layer": IMG,
                "availability": "24/7",
                "opening_hours": IMG,
            },
            {
                "xy": (E0 + 300, N0),
                "name": IMG,
                "layer": IMG,
                "availability": "limited hours",
                "opening_hours": IMG,
            },
        ],
        ["d1", IMG],
    )
    stations = points(
        [{"xy": (E0 + 500, N0), "name": IMG, "layer": "fire_stations", "outside_defib": True}],
        [IMG + "f"],
    )
    candidates = points(
        [
            {"xy": (E0 + 800, N0), "name": IMG, "kind": IMG},
            {"xy": (E0 + 700, N0 + 200), "name": IMG, "kind": IMG},
        ],
        [IMG + "c", "c2"],
    )
    recommendations = pd.DataFrame(
        {
            "rank": [1],
            "site_id": [IMG + "c"],
            "name": [IMG],
            "added_population": [50.0],
            "cumulative_population_covered": [150.0],
            "cumulative_coverage_share": [1.0],
            "method": [IMG],
        }
    )
    area = gpd.GeoDataFrame(geometry=[box(E0 - 200, N0 - 200, E0 + 200, N0 + 200)], crs=BNG)
    wards = gpd.GeoDataFrame(
        {"name": [IMG]}, geometry=[box(E0 - 1e3, N0 - 1e3, E0 + 1e3, N0 + 1e3)], crs=BNG
    )
    m = study_map(
        title=IMG,
        demand=demand,
        defibs=defibs,
        stations=stations,
        candidates=candidates,
        recommendations=recommendations,
        thresholds_m=(100, 500),
        sources=[{"layer": IMG, "name": IMG, "licence": IMG, "date": IMG}],
        synthetic=True,
        reach_areas={IMG: area, "night " + IMG: area},
        night_reach=(IMG, "night " + IMG),
        wards=wards,
        network_lines=gpd.GeoSeries([box(E0, N0, E0 + 10, N0 + 10).exterior], crs=BNG),
    )
    path = tmp_path / "map.html"
    write_map(m, path)
    return path


def test_payload_never_runs_in_map(tmp_path: Path) -> None:
    seen = _probe(_payload_map(tmp_path), tmp_path, PROBE_MAP)
    assert seen["errors"] == []
    assert seen["opened"] >= 8
    assert seen["xss"] is False


def test_payload_never_runs_in_report(tmp_path: Path, leeds_network: Any) -> None:
    from dataclasses import replace

    from defibmap import run_study
    from defibmap.html_report import write_report

    result = run_study("leeds", network=leeds_network)
    result.config = replace(result.config, name=IMG, description=IMG)
    result.recommendations.loc[0, "name"] = IMG
    result.notes.append(IMG)
    result.sources[0] = {**result.sources[0], "name": IMG, "licence": IMG}
    path = tmp_path / "report.html"
    write_report(result, path)
    seen = _probe(path, tmp_path, PROBE_REPORT, strip_csp=True)
    assert seen["errors"] == []
    assert seen["xss"] is False
    assert seen["drawn"] == seen["figures"] >= 1
