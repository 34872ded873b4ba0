"""The board-ready workbook read back with openpyxl: summary first, tables, print setup,
plain names, plain scenario labels, and per-site gains that agree with the study's own
scenario figures."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from openpyxl import load_workbook

from defibmap.outputs import tables
from defibmap.outputs.workbook import write_workbook

if TYPE_CHECKING:
    from pathlib import Path

    from openpyxl.worksheet.worksheet import Worksheet

    from defibmap.study.pipeline import StudyResult

#: A scenario key or a layer id as written in the study (lower case, + _ : joined).
RAW_KEY = re.compile(r"^[a-z0-9_]+([+:_][a-z0-9_]+)+$")


@pytest.fixture(scope="module")
def leeds(leeds_network: Any) -> StudyResult:
    from defibmap import run_study

    return run_study("leeds", network=leeds_network)


def _book(result: StudyResult, folder: Path) -> Any:
    path = folder / "recommendations.xlsx"
    write_workbook(result, path)
    return load_workbook(path)


def _rows(ws: Worksheet) -> list[dict[str, Any]]:
    header = [c.value for c in ws[1]]
    out = []
    for row in ws.iter_rows(min_row=2, values_only=True):
        if row[0] is None:
            break  # the end of the first block
        out.append(dict(zip(header, row, strict=False)))
    return out


def test_summary_first_tables_and_print_setup(leeds: StudyResult, tmp_path: Path) -> None:
    book = _book(leeds, tmp_path)
    assert book.sheetnames[0] == "Summary"
    assert book.sheetnames[1] == "Ranked sites"
    assert book.sheetnames[-1] == "Method and sources"
    for ws in book.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.fitToWidth == 1, ws.title
        assert ws.page_setup.fitToHeight == 0, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        if ws.title == "Summary":
            continue
        assert ws.print_title_rows == "$1:$1", ws.title
        assert ws.freeze_panes == "A2", ws.title
        assert ws.tables, ws.title
        first = next(iter(ws.tables.values()))
        assert first.autoFilter is not None
        assert first.autoFilter.ref == first.ref
        # the first table spans the header and every data row of the first block
        assert first.ref.startswith("A1:")
        last_row = int(re.sub(r"^[A-Z]+", "", first.ref.split(":")[1]))
        assert last_row == 1 + len(_rows(ws)), ws.title
    names = [t for ws in book.worksheets for t in ws.tables]
    assert len(names) == len(set(names))


def test_summary_says_the_headline_in_words_and_numbers(leeds: StudyResult, tmp_path: Path) -> None:
    ws = _book(leeds, tmp_path)["Summary"]
    cells = {row[0]: row for row in ws.iter_rows(values_only=True) if row[0] is not None}
    year = cells["Residents within 500 m walk, year-round"]
    assert year[1] == pytest.approx(leeds.coverage_available["500"])
    assert cells["Residents within 500 m walk, at night (24/7)"][1] == pytest.approx(
        leeds.coverage_night["500"]
    )
    assert cells["Residents within 500 m walk, any time"][1] == pytest.approx(leeds.coverage["500"])
    k = len(leeds.recommendations)
    added = cells[f"Added by the {k} recommended sites, any time"][1]
    assert added == pytest.approx(leeds.recommendations["added_population"].sum())
    # Leeds has no defib usable at night: every resident a pick reaches is a night gain, so
    # the picks' night gain is the residents of the union of their catchments (brute force
    # over the cover matrix rows, apart from the code under test)
    assert leeds.coverage_night["500"] == 0
    positions = [
        list(leeds.candidates.index.astype(str)).index(s) for s in leeds.recommendations["site_id"]
    ]
    union = np.asarray(leeds.ranking.cover[positions].sum(axis=0)).ravel() > 0
    night = leeds.demand["population"].to_numpy()[union].sum()
    assert cells[f"Added by the {k} recommended sites, at night"][1] == pytest.approx(night)
    top = [row for row in ws.iter_rows(values_only=True) if row[0] == 1]
    assert top
    assert top[0][1] == "Compton Road Library"
    assert "at night" in top[0][2]
    words = " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v)
    for phrase in ("Data and dates", "2014-01", "Caveats", "school hours"):
        assert phrase in words


def test_ranked_sites_plain_names_and_why(leeds: StudyResult, tmp_path: Path) -> None:
    ids = list(leeds.recommendations["site_id"].astype(str))
    # the second pick loses its name: the workbook must not fall back on its machine id
    renamed = leeds.recommendations.copy()
    renamed.loc[1, "name"] = ids[1].split(":")[-1]
    book = _book(replace(leeds, ranking=replace(leeds.ranking, recommendations=renamed)), tmp_path)
    ws = book["Ranked sites"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["Rank", "Name"]
    rows = _rows(ws)
    for row in rows:
        assert not tables.is_machine_id(row["Name"]), row["Name"]
        assert row["Name"] not in ids
        assert row["Also in the best set of this size"] in ("yes", "no")
    assert rows[1]["Name"].startswith("Unnamed school near LS")
    assert [r["Site id (for the study file)"] for r in rows] == ids
    # the any-time gains follow the ranking's own figures
    assert [r["People newly within 500 m walk"] for r in rows] == pytest.approx(
        list(leeds.recommendations["added_population"])
    )
    # why: residents the site reaches with no defib at night, most deprived among them
    decile = leeds.demand["imd_decile"].astype(float).to_numpy()
    population = leeds.demand["population"].to_numpy()
    row = np.asarray(leeds.ranking.cover[list(leeds.candidates.index).index(ids[0])].todense())
    reach = row.ravel() > 0
    deprived = population[reach & np.isin(decile, (1, 2))].sum()
    first = rows[0]["Why"]
    assert f"{population[reach].sum():,.0f} residents" in first
    assert (f"{deprived:,.0f} of them" in first) or ("all in IMD deciles 1-2" in first)


def test_no_stations_no_station_labels(plain: StudyResult, tmp_path: Path) -> None:
    book = _book(plain, tmp_path)
    for title in ("Scenarios", "Time to first defib"):
        if title not in book.sheetnames:
            continue
        labels = [r["Scenario"] for r in _rows(book[title])]
        assert labels
        for label in labels:
            assert "station" not in label.lower(), label
            assert not RAW_KEY.match(label), label
            assert label[0].isupper()
    scenarios = [r["Scenario"] for r in _rows(book["Scenarios"])]
    assert "Current + recommended sites" in scenarios
    assert len(scenarios) == 2 * len(plain.config.thresholds_m)  # no stations scenario


def test_night_and_year_round_gains_match_the_scenario(plain: StudyResult) -> None:
    """With no stations, today's defibs plus the picks is the study's own scenario: the
    cumulative night and year-round figures after the last pick are its shares."""
    board = tables.ranked_board(plain)
    after = plain.scenarios["current+stations+recommended"]
    total = plain.population_total
    assert board["cumulative_night"].iloc[-1] == pytest.approx(after.night_24_7["500"] * total)
    assert board["cumulative_people_available"].iloc[-1] == pytest.approx(
        after.available["500"] * total, rel=1e-6
    )
    assert (board["added_night"] >= board["added_population"] - 1e-9).all()


def test_ward_from_the_ward_outlines(leeds: StudyResult, tmp_path: Path) -> None:
    """With ward outlines, each site's ward is the outline it lies in (split east/west)."""
    import geopandas as gpd
    from shapely.geometry import box

    x = leeds.candidates.geometry.x
    middle = float(x.median()) + 0.5  # no site on the line itself
    wards = gpd.GeoDataFrame(
        {"name": ["West ward", "East ward"]},
        geometry=[box(middle - 1e5, 0, middle, 1e7), box(middle, 0, middle + 1e5, 1e7)],
        crs=leeds.candidates.crs,
    )
    book = _book(replace(leeds, wards=wards), tmp_path)
    rows = _rows(book["Ranked sites"])
    where = dict(zip(leeds.candidates.index.astype(str), x, strict=True))
    for row in rows:
        expected = (
            "West ward" if where[row["Site id (for the study file)"]] < middle else "East ward"
        )
        assert row["Ward"] == expected


def test_scenario_labels_plain_with_stations(leeds: StudyResult, tmp_path: Path) -> None:
    book = _book(leeds, tmp_path)
    labels = [r["Scenario"] for t in ("Scenarios", "Time to first defib") for r in _rows(book[t])]
    assert labels
    for label in labels:
        assert not RAW_KEY.match(label), label
        assert "+" not in label.replace(" + ", ""), label
    assert "Current + 24/7 defibs at fire and police stations" in labels
