"""The workbook: sheets, formatting, formula neutralising, both summary shapes."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from openpyxl import load_workbook

from defibmap.outputs.workbook import write_workbook

if TYPE_CHECKING:
    from pathlib import Path

    from openpyxl.worksheet.worksheet import Worksheet

    from defibmap.study.pipeline import StudyResult

FORMULA = '=HYPERLINK("http://x","y")'
SCENARIO_KEYS = ("scenarios", "curve", "coverage_curve", "equity", "set_covering", "time_to_defib")


@pytest.fixture(scope="module")
def leeds(leeds_network: Any) -> StudyResult:
    from defibmap import run_study

    result = run_study("leeds", network=leeds_network)
    result.recommendations.loc[0, "name"] = FORMULA
    result.recommendations.loc[1, "name"] = "@SUM(A1:A9)"
    result.notes.append("-2+3 is not a formula here")
    result.sources[0] = {**result.sources[0], "name": "+cmd|' /C calc'!A0"}
    return result


def _bare(result: StudyResult, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``result.summary()`` look like a study without scenarios, curve or equity."""
    plain = {k: v for k, v in result.summary().items() if k not in SCENARIO_KEYS}
    monkeypatch.setattr(result, "summary", lambda: plain)


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
    assert book.sheetnames == [
        "Ranked sites",
        "Time to first defib",
        "Scenarios",
        "Coverage curve",
        "By deprivation decile",
        "Method and sources",
    ]


def test_headers_bold_and_frozen(book: Any) -> None:
    for ws in book.worksheets:
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


def test_without_scenarios_or_equity(
    leeds: StudyResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bare(leeds, monkeypatch)
    path = tmp_path / "plain.xlsx"
    write_workbook(leeds, path)
    book = load_workbook(path)
    assert book.sheetnames == ["Ranked sites", "Coverage", "Coverage curve", "Method and sources"]
    coverage = book["Coverage"]
    assert [c.value for c in _column(coverage, "Walk (m)")] == [100, 200, 500]
    share = _column(coverage, "Share of residents within the walk")[-1]
    assert share.value == pytest.approx(leeds.coverage["500"])
    assert share.number_format == "0.0%"
    curve = book["Coverage curve"]
    greedy = [c.value for c in _column(curve, "People within 500 m, greedy order")]
    assert len(greedy) == len(leeds.recommendations) + 1


def test_brief_summary_shape_is_read(
    leeds: StudyResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``any_time`` / ``term_time`` shape of summary.json gives the same sheets."""
    base = {k: v for k, v in leeds.summary().items() if k not in SCENARIO_KEYS}
    base["scenarios"] = {
        "current": {
            "sites": 3,
            "any_time": {"500": 0.6},
            "term_time": {"500": {"day": 0.5, "night": 0.1, "week_mean": 0.3, "min": 0.1}},
            "annual_average": {"500": {"day": 0.4, "night": 0.1, "week_mean": 0.2, "min": 0.1}},
        }
    }
    base["coverage_curve"] = [
        {"k": 0, "greedy_population": 10.0, "optimal_population": 10.0},
        {"k": 1, "greedy_population": 15.0, "optimal_population": 16.0},
    ]
    base["equity"] = {
        "by_imd_decile": [
            {"imd_decile": 1, "population": 100.0, "covered_population": 20.0, "share": 0.2},
            {"imd_decile": 10, "population": 50.0, "covered_population": 40.0, "share": 0.8},
        ],
        "gap_most_least_deprived": 0.6,
        "by_ward": [
            {"ward": FORMULA, "population": 150.0, "covered_population": 60.0, "share": 0.4}
        ],
    }
    monkeypatch.setattr(leeds, "summary", lambda: base)
    path = tmp_path / "brief.xlsx"
    write_workbook(leeds, path)
    book = load_workbook(path)
    assert "By ward" in book.sheetnames
    row = [c.value for c in book["Scenarios"][2]]
    assert row == ["Current defibs", 3, 500, 0.6, 0.5, 0.1, 0.4, 0.1]
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
    original = leeds.config
    try:
        leeds.config = replace(original, synthetic=True)
        path = tmp_path / "demo.xlsx"
        write_workbook(leeds, path)
    finally:
        leeds.config = original
    values = [c.value for row in load_workbook(path)["Method and sources"].iter_rows() for c in row]
    assert "SYNTHETIC DEMONSTRATION DATA" in values
