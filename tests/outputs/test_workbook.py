"""The workbook: sheets, formatting, formula neutralising, studies without every analysis."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from openpyxl import load_workbook

from defibmap.outputs.workbook import write_workbook
from defibmap.study.parts import DecileGap, Equity, GroupShare, Scenario

if TYPE_CHECKING:
    from pathlib import Path

    from openpyxl.worksheet.worksheet import Worksheet

    from defibmap.study.pipeline import StudyResult

FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def leeds(leeds_network: Any) -> StudyResult:
    from defibmap import run_study

    result = run_study("leeds", network=leeds_network)
    result.recommendations.loc[0, "name"] = FORMULA
    result.recommendations.loc[1, "name"] = "@SUM(A1:A9)"
    first = {**result.sources[0], "name": "+cmd|' /C calc'!A0"}
    return replace(
        result,
        notes=(*result.notes, "-2+3 is not a formula here"),
        sources=(first, *result.sources[1:]),
    )


def _bare(result: StudyResult) -> StudyResult:
    """Return the result as a study without scenarios, curve, equity, set covering, times or
    the survival ranking."""
    return replace(
        result,
        scenarios={},
        curve=None,
        equity=None,
        set_covering=None,
        time_to_defib=None,
        ranking=replace(result.ranking, survival=None),
    )


def _header(ws: Worksheet) -> list[Any]:
    return [c.value for c in ws[1]]


def _column(ws: Worksheet, header: str) -> list[Any]:
    j = _header(ws).index(header) + 1
    return [ws.cell(r, j) for r in range(2, ws.max_row + 1)]


@pytest.fixture(scope="module")
def book(leeds: StudyResult, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("wb") / "recommendations.xlsx"
    assert write_workbook(leeds, path) == path
    return load_workbook(path)


def test_sheets(book: Any) -> None:
    # a board reads the summary, the sites, coverage and equity first; the times and the
    # method come last
    assert book.sheetnames == [
        "Summary",
        "Ranked sites",
        "Coverage",
        "By deprivation decile",
        "By deprivation quintile",
        "Scenarios",
        "Coverage curve",
        "Fewest sites for a target",
        # Leeds's survival order differs from its coverage order (issue 16): both are shown
        "Survival ranking",
        "Time to first defib",
        "Method and sources",
    ]


def test_set_covering_and_equity_sheets(book: Any, leeds: StudyResult) -> None:
    """Targets count all residents; an unreachable one says so with the best share; the
    decile sheet leads with residents per decile and the slope index, the gap after."""
    covering = book["Fewest sites for a target"]
    assert _header(covering)[0] == "Target share of all residents"
    found = leeds.set_covering
    assert found is not None
    unreachable = [t for t, d in found.targets.items() if not d.reachable]
    assert unreachable  # Leeds' five candidates cannot bring 90 % of everyone within 500 m
    rows = list(covering.iter_rows(min_row=2, values_only=True))
    out = [r for r in rows if r[1] == "not reachable with these candidates"]
    assert len(out) == len(unreachable)
    assert out[0][3] == pytest.approx(found.max_share)
    decile = book["By deprivation decile"]
    header = _header(decile)
    assert header[:3] == ["IMD decile (1 = most deprived)", "Residents", "Share of residents"]
    assert "Share covered, at night / 24/7" in header
    people = [c.value for c in _column(decile, "Residents")]
    assert leeds.equity is not None
    assert leeds.equity.by_imd_decile is not None
    assert people[: len(leeds.equity.by_imd_decile)] == [
        r.population for r in sorted(leeds.equity.by_imd_decile, key=lambda r: r.group)
    ]
    labels = [c.value for c in decile["A"]]
    first_slope = labels.index("Slope index of inequality, at night / 24/7 (percentage points)")
    assert first_slope < labels.index("Gap now: least minus most deprived decile share")
    assert decile.cell(first_slope + 1, 2).value == pytest.approx(leeds.equity.slope_index["night"])


def test_headers_bold_and_frozen(book: Any) -> None:
    for ws in book.worksheets[1:]:  # the Summary is a page of blocks, not one table
        assert ws.freeze_panes == "A2"
        assert all(cell.font.bold for cell in ws[1] if cell.value is not None)
        assert ws.column_dimensions["A"].width > 5


def test_number_formats(book: Any) -> None:
    ranked = book["Ranked sites"]
    shares = _column(ranked, "Cumulative coverage share")
    assert all(c.number_format == "0.0%" for c in shares)
    assert 0 < shares[-1].value <= 1
    people = _column(ranked, "People newly within 500 m walk")
    assert all(c.number_format == "#,##0" for c in people)
    scenarios = book["Scenarios"]
    assert _header(scenarios)[:3] == ["Scenario", "Defib sites", "Walk (m)"]
    assert all(c.number_format == "0.0%" for c in _column(scenarios, "Night, term time"))
    decile = book["By deprivation decile"]
    assert [c.value for c in _column(decile, "IMD decile (1 = most deprived)")][:2] == [1, 2]
    labels = [c.value for c in decile["A"]]
    assert "Gap now: least minus most deprived decile share" in labels


def test_formula_like_text_is_stored_as_text(book: Any) -> None:
    names = _column(book["Ranked sites"], "Name")
    assert names[0].value == "'" + FORMULA
    assert names[0].data_type == "s"
    assert names[1].value == "'@SUM(A1:A9)"
    method = book["Method and sources"]
    values = [c.value for row in method.iter_rows() for c in row]
    assert "'+cmd|' /C calc'!A0" in values
    assert "'-2+3 is not a formula here" in values
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)


def test_negative_numbers_stay_numbers(book: Any) -> None:
    longitudes = _column(book["Ranked sites"], "Longitude")
    assert all(isinstance(c.value, float) and c.value < 0 for c in longitudes)


def test_method_sheet_states_assumptions_and_sources(book: Any) -> None:
    method = book["Method and sources"]
    text = " ".join(str(c.value) for row in method.iter_rows() for c in row if c.value)
    for phrase in (
        "100 m, 200 m, 500 m one-way walk",
        "Search limit",
        "Snap limit",
        "250 m",
        "1.79 m/s",
        "Deakin",
        "ODbL 1.0",
        "2014-01",
        "Open Government Licence v3.0",
        "Notes and assumptions",
    ):
        assert phrase in text


def test_without_scenarios_or_equity(leeds: StudyResult, tmp_path: Path) -> None:
    path = tmp_path / "plain.xlsx"
    write_workbook(_bare(leeds), path)
    book = load_workbook(path)
    assert book.sheetnames == [
        "Summary",
        "Ranked sites",
        "Coverage",
        "Coverage curve",
        "Method and sources",
    ]
    coverage = book["Coverage"]
    assert [c.value for c in _column(coverage, "Walk (m)")] == [100, 200, 500]
    share = _column(coverage, "Any time (optimistic: every defib counted usable at every hour)")[-1]
    assert share.value == pytest.approx(leeds.coverage["500"])
    assert share.number_format == "0.0%"
    curve = book["Coverage curve"]
    greedy = [c.value for c in _column(curve, "People within 500 m, ranked list (site by site)")]
    assert len(greedy) == len(leeds.recommendations) + 1


def test_other_figures_are_read(leeds: StudyResult, tmp_path: Path) -> None:
    """Scenarios, curve and equity given as parts give the sheets with those figures."""
    shares = {"500": 0.6}
    scenario = Scenario(
        sites=3,
        any_time=shares,
        day={"500": 0.5},
        night={"500": 0.1},
        day_annual_average={"500": 0.4},
        night_annual_average={"500": 0.1},
        unknown_day={"500": 0.5},
        unknown_night={"500": 0.1},
        hourly_term_time={},
        day_demand="residents",
        available={"500": 0.15},
        night_24_7={"500": 0.05},
    )
    curve = pd.DataFrame(
        {
            "k": [0, 1],
            "greedy_population_covered": [10.0, 15.0],
            "optimal_population_covered": [10.0, 16.0],
        }
    )
    equity = Equity(
        threshold_m=500,
        by_imd_decile=(
            GroupShare(1, 100.0, 20.0, 0.2, 0.3),
            GroupShare(10, 50.0, 40.0, 0.8, 0.8),
        ),
        decile_gap=DecileGap(1, 10, 0.6),
        by_ward=(GroupShare(FORMULA, 150.0, 60.0, 0.4, 0.5),),
    )
    other = replace(_bare(leeds), scenarios={"current": scenario}, curve=curve, equity=equity)
    path = tmp_path / "brief.xlsx"
    write_workbook(other, path)
    book = load_workbook(path)
    assert "By ward" in book.sheetnames
    row = [c.value for c in book["Scenarios"][2]]
    assert row == ["Current defibs", 3, 500, 0.15, 0.05, 0.6, 0.5, 0.1, 0.4, 0.1]
    assert [c.value for c in book["Coverage curve"][3]] == [1, 15, 16]
    ward = book["By ward"]["A2"]
    assert ward.value == "'" + FORMULA
    assert ward.data_type == "s"
    gap = [
        r
        for r in book["By deprivation decile"].iter_rows(values_only=True)
        if r[0] and str(r[0]).startswith("Gap now")
    ]
    assert gap[0][1] == pytest.approx(0.6)


def test_write_is_atomic_and_replaces(leeds: StudyResult, tmp_path: Path) -> None:
    path = tmp_path / "recommendations.xlsx"
    path.write_bytes(b"old")
    write_workbook(leeds, path)
    assert path.read_bytes()[:2] == b"PK"  # a zip: the new workbook
    assert [p.name for p in tmp_path.iterdir()] == ["recommendations.xlsx"]


def test_synthetic_study_says_so(leeds: StudyResult, tmp_path: Path) -> None:
    path = tmp_path / "demo.xlsx"
    write_workbook(replace(leeds, config=replace(leeds.config, synthetic=True)), path)
    values = [c.value for row in load_workbook(path)["Method and sources"].iter_rows() for c in row]
    assert "SYNTHETIC DEMONSTRATION DATA" in values
