"""The HTML report and its plots: escaping, embedded figures, sections."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

from defibmap.outputs import plots
from defibmap.outputs.report import write_report

if TYPE_CHECKING:
    from pathlib import Path

    from defibmap.study.pipeline import StudyResult

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def leeds(leeds_network: Any) -> StudyResult:
    from defibmap import run_study

    return run_study("leeds", network=leeds_network)


@pytest.fixture(scope="module")
def written(leeds: StudyResult, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("report")
    return write_report(leeds, out / "report.html", figures_dir=out)


@pytest.fixture(scope="module")
def page(written: dict[str, Path]) -> str:
    return written["report.html"].read_text(encoding="utf-8")


def test_xss_payload_only_escaped(leeds: StudyResult, tmp_path: Path) -> None:
    recs = leeds.recommendations.copy()
    recs.loc[0, "name"] = SCRIPT
    hostile = replace(
        leeds,
        config=replace(leeds.config, name=f"Town {SCRIPT}"),
        ranking=replace(leeds.ranking, recommendations=recs),
        notes=(*leeds.notes, SCRIPT),
    )
    path = tmp_path / "report.html"
    write_report(hostile, path)
    text = path.read_text(encoding="utf-8")
    assert SCRIPT not in text
    assert "<script" not in text.lower()
    assert text.count(ESCAPED) >= 4  # title, heading, ranked table, notes


def test_figures_embedded_and_saved(written: dict[str, Path], page: str) -> None:
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    pngs = {name: path for name, path in written.items() if name.endswith(".png")}
    assert len(embedded) == len(pngs) >= 3
    assert set(pngs) >= {"coverage_curve.png", "day_night.png", "equity_by_decile.png"}
    for data in embedded:
        assert base64.b64decode(data).startswith(PNG)
    assert {base64.b64decode(d) for d in embedded} == {p.read_bytes() for p in pngs.values()}
    assert page.count("<figcaption>") == len(embedded)


def test_page_is_self_contained(page: str) -> None:
    assert re.findall(r'(?:src|href)="https?://', page) == []
    assert 'http-equiv="Content-Security-Policy"' in page
    assert "default-src 'none'" in page
    assert 'href="map.html"' in page


def test_sections(page: str, leeds: StudyResult) -> None:
    for heading in (
        "Headline numbers",
        "Coverage as new sites are added",
        "Day and night",
        "Who is covered",
        "Ranked sites",
        "Method and assumptions",
        "Data sources",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert "SYNTHETIC DEMONSTRATION DATA" not in page
    assert "Compton Road Library" in page
    assert f"{leeds.population_total:,.0f}" in page
    assert "1.79 m/s" in page
    assert "ODbL 1.0" in page
    assert "2014-01" in page
    assert "percentage points" in page
    # equity leads with the slope index and residents per decile, the bare gap after
    assert page.index("Slope index of inequality") < page.index("the bare gap between")
    assert leeds.equity is not None
    assert leeds.equity.by_imd_decile is not None
    first = leeds.equity.by_imd_decile[0]
    assert f">{first.population:,.0f}</td>" in page
    # Leeds' five candidates cannot bring 90 % of all residents within 500 m
    assert leeds.set_covering is not None
    assert not leeds.set_covering.targets["0.9"].reachable
    assert "Share of all residents" in page
    assert "not reachable with these candidates" in page


def test_without_scenarios_or_equity(leeds: StudyResult, tmp_path: Path) -> None:
    plain = replace(leeds, scenarios={}, curve=None, equity=None, set_covering=None)
    written = write_report(
        plain, tmp_path / "r.html", map_href='maps/"odd" map.html', figures_dir=tmp_path
    )
    text = written["report.html"].read_text(encoding="utf-8")
    assert "<h2>Day and night</h2>" not in text
    assert "<h2>Who is covered</h2>" not in text
    assert sorted(written) == ["coverage_curve.png", "report.html", "site_map.png"]
    assert 'href="maps/&quot;odd&quot; map.html"' in text


def test_synthetic_banner(leeds: StudyResult, tmp_path: Path) -> None:
    path = tmp_path / "demo.html"
    write_report(replace(leeds, config=replace(leeds.config, synthetic=True)), path)
    assert 'class="banner">SYNTHETIC DEMONSTRATION DATA' in path.read_text(encoding="utf-8")


# --- plots ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_plots() -> list[plots.Plot]:
    curve = pd.DataFrame(
        {
            "k": [0, 1, 2],
            "greedy_population": [10.0, 20.0, 25.0],
            "optimal_population": [10.0, np.nan, 26.0],
        }
    )
    scenarios = pd.DataFrame(
        {
            "label": ["Current $defibs$", "With stations"],
            "threshold_m": [500, 500],
            "any_time_share": [0.5, 0.6],
            "day_share": [0.4, 0.5],
            "night_share": [0.0, np.nan],
        }
    )
    deciles = pd.DataFrame(
        {
            "imd_decile": [1, 5, 10],
            "share": [0.2, 0.4, 0.6],
            "share_with_recommended": [0.3, 0.4, 0.7],
        }
    )
    week = {"current": list(np.linspace(0, 1, 168))}
    return [
        plots.coverage_curve(curve, population_total=100.0, threshold_m=500),
        plots.day_night(scenarios, threshold_m=500),
        plots.week_profile(week, threshold_m=500, labels={"current": "Current"}),
        plots.equity_by_decile(deciles[["imd_decile", "share"]], threshold_m=500),
        plots.equity_by_decile(deciles, threshold_m=500),
    ]


@pytest.mark.parametrize("index", range(5))
def test_every_plot_has_title_units_and_caption(index: int, all_plots: list[plots.Plot]) -> None:
    plot = all_plots[index]
    ax = plot.figure.axes[0]
    assert ax.get_title(loc="left") == plot.title
    assert "500 m" in plot.title
    assert re.search(
        r"\((?:m|%|people|count)\)|\(1 = most deprived\)|00:00|^Scenario$", ax.get_xlabel()
    )
    assert re.search(r"\((?:%|people)\)", ax.get_ylabel())
    assert plot.caption
    assert plot.png().startswith(PNG)
    assert plot.png() == plot.png()  # no timestamp in the file


def test_time_to_defib_in_report_and_workbook(tmp_path):
    import openpyxl

    import defibmap
    from defibmap.outputs.report import write_report
    from defibmap.outputs.workbook import write_workbook

    result = defibmap.run_study("demo-town")
    write_report(result, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Minutes to the first defibrillator" in page
    assert "Deakin" in page  # the walking speed's source is stated
    assert "NHS England" in page
    write_workbook(result, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["Time to first defib"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    timing = result.summary()["time_to_defib"]["scenarios"]
    fire = [r for name, r in rows.items() if "fire" in str(name).lower()]
    assert fire
    assert rows[next(iter(rows))][1] == pytest.approx(timing["current"]["median_s"] / 60)
