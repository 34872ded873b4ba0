"""The report leads with the answer: headline, ranked sites and a static map first; one
caption per figure; no section or row for layers the study lacks; plain scenario names;
narrow-screen and print styles."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from defibmap.outputs import plots
from defibmap.outputs._report_sections import map_layers
from defibmap.outputs.report import _figures, write_report

if TYPE_CHECKING:
    from pathlib import Path

    from defibmap.study.pipeline import StudyResult


@pytest.fixture(scope="module")
def leeds(leeds_network: Any) -> StudyResult:
    from defibmap import run_study

    return run_study("leeds", network=leeds_network)


def _page(result: StudyResult, folder: Path) -> str:
    written = write_report(result, folder / "report.html")
    return written["report.html"].read_text(encoding="utf-8")


def _visible(page: str) -> str:
    """The page's text without tags, styles or embedded images."""
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_answer_first_then_sites_and_map(leeds: StudyResult, tmp_path: Path) -> None:
    page = _page(leeds, tmp_path)
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    order = [
        "Headline numbers",
        "Ranked sites",
        "Day and night",
        "Who is covered",
        "Coverage as new sites are added",
        "Minutes to the first defibrillator",
        "Method and assumptions",
    ]
    assert [h for h in headings if h in order] == order
    # the answer sentence sits under the first heading, with the study's own figures
    answer = re.search(r"<p class='answer'>(.*?)</p>", page)
    assert answer is not None
    assert page.index("<h2>Headline numbers</h2>") < answer.start()
    assert answer.start() < page.index("<div class='cards'>")
    assert f"{leeds.coverage_available['500']:.1%}" in answer.group(1)
    assert "Compton Road Library" in answer.group(1)
    # the static map comes with the ranked sites, before day and night
    site_map = page.index('alt="Where the gaps are')
    assert page.index("<h2>Ranked sites</h2>") < site_map < page.index("<h2>Day and night</h2>")
    ranked = page[page.index("<h2>Ranked sites</h2>") : site_map]
    assert "library_compton_road" not in ranked  # names, not ids
    assert ">yes</td>" in ranked
    assert "residents it reaches have no defib within 500 m at night" in ranked


def test_one_caption_per_figure(leeds: StudyResult, tmp_path: Path) -> None:
    page = _page(leeds, tmp_path)
    figures = _figures(leeds)
    assert page.count("<figure>") == len(figures) == page.count("<figcaption>")
    text = _visible(page)
    for plot in figures:
        assert text.count(plot.caption) == 1, plot.name
        # the image does not repeat it: no text drawn on the figure holds the caption
        drawn = [t.get_text() for t in plot.figure.findobj(match=lambda a: hasattr(a, "get_text"))]
        assert not any(plot.caption[:40] in d for d in drawn), plot.name


def test_no_stations_no_stations_rows(plain: StudyResult, tmp_path: Path) -> None:
    page = _page(plain, tmp_path)
    text = _visible(page)
    assert "station" not in text.lower().replace("stations", "station")  # none, in any form
    for raw in ("current+", "+fire", "+stations", "+recommended"):
        assert raw not in text
    assert "Current + recommended sites" in text


def test_plain_scenario_names_with_stations(leeds: StudyResult, tmp_path: Path) -> None:
    text = _visible(_page(leeds, tmp_path))
    assert re.search(r"\bcurrent\+\w", text) is None
    assert "Current + 24/7 defibs at fire and police stations" in text


def test_phone_and_print_styles(leeds: StudyResult, tmp_path: Path) -> None:
    page = _page(leeds, tmp_path)
    style = re.search(r"<style>(.*?)</style>", page, flags=re.DOTALL)
    assert style is not None
    css = style.group(1)
    assert "max-width:1000px" in css
    assert ".scroll{overflow-x:auto" in css
    assert "@media (max-width:600px)" in css
    assert "@media print" in css
    # every table scrolls in its own box, so the page itself never scrolls sideways
    tables = [m.start() for m in re.finditer("<table>", page)]
    assert tables
    for start in tables:
        assert page[max(0, start - 20) : start].endswith("<div class='scroll'>")


def test_site_map_draws_what_the_study_has(leeds: StudyResult) -> None:
    layers = map_layers(leeds)
    assert len(layers.streets) == leeds.network.n_edges
    demand = leeds.demand
    # Leeds has no defib usable all night: no resident is drawn as reached at night
    assert int((layers.residents["reach"] == "night").sum()) == int(demand["covered_night"].sum())
    assert int((layers.residents["reach"] == "none").sum()) == int((~demand["covered"]).sum())
    assert list(layers.picks["rank"]) == sorted(leeds.recommendations["rank"])
    plot = plots.site_map(layers)
    ax = plot.figure.axes[0]
    labels = [t.get_text() for t in plot.figure.legends[0].get_texts()]
    assert "residents: a defib usable all night" not in labels  # absent from the map
    assert "recommended site" in labels
    numbers = sorted(t.get_text() for t in ax.texts if t.get_text().isdigit())
    assert numbers == [str(r) for r in sorted(leeds.recommendations["rank"])]
    assert len(ax.images) == 0  # no background tiles
    assert plot.png().startswith(b"\x89PNG")
    assert np.isfinite(ax.get_xlim()).all()
