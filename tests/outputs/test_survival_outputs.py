"""The survival ranking and the walk that beats the ambulance, in the workbook and the report.

Built from a demo town result whose survival and coverage orders are set by the test, so the
sheet's presence, its rows and the report's lines are checked against known values.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from openpyxl import load_workbook

from defibmap import run_study
from defibmap.outputs import _report_sections as sections
from defibmap.outputs.workbook import survival_comparison, write_workbook
from defibmap.study.parts import BEATS_AMBULANCE_DEFINITION, BeatsAmbulance

if TYPE_CHECKING:
    from pathlib import Path

    from defibmap.study.pipeline import StudyResult


@pytest.fixture(scope="module")
def demo() -> StudyResult:
    return run_study("demo-town")


def _with_orders(result: StudyResult, survival: tuple[str, ...], cover: tuple[str, ...]):
    surv = result.ranking.survival
    assert surv is not None
    added = tuple(float(i + 1) for i in reversed(range(len(survival))))
    return replace(
        result,
        ranking=replace(
            result.ranking,
            survival=replace(surv, order=survival, coverage_order=cover, added=added),
        ),
    )


def _sheet(result: StudyResult, tmp: Path) -> Any:
    path = write_workbook(result, tmp / "book.xlsx")
    return load_workbook(path)


def test_the_study_ranks_by_survival_beside_its_coverage_ranking(demo: StudyResult):
    surv = demo.ranking.survival
    assert surv is not None
    assert surv.coverage_order == tuple(demo.ranking.recommendations["site_id"])
    assert len(surv.order) == demo.ranking.new_sites
    assert 0 < surv.survival_ambulance_only <= surv.survival_now < 0.67
    summary = demo.summary()["ranking"]["survival"]  # type: ignore[index]
    assert summary["order"] == list(surv.order)
    assert summary["coverage_order"] == list(surv.coverage_order)


def test_the_sheet_shows_both_orders_when_they_differ(demo: StudyResult, tmp_path: Path):
    ids = tuple(demo.candidates.index[:3].astype(str))
    result = _with_orders(demo, ids, tuple(reversed(ids)))
    book = _sheet(result, tmp_path)
    assert "Survival ranking" in book.sheetnames
    ws = book["Survival ranking"]
    rows = list(ws.iter_rows(min_row=2, max_row=4, values_only=True))
    names = demo.candidates["name"]
    assert [r[1] for r in rows] == [names[i] for i in ids]
    assert [r[4] for r in rows] == [names[i] for i in reversed(ids)]
    assert [r[2] for r in rows] == [3.0, 2.0, 1.0]
    assert [r[3] for r in rows] == [3.0, 5.0, 6.0]
    assert [r[5] for r in rows] == ["no", "yes", "no"]
    text = " ".join(str(c) for row in ws.iter_rows(values_only=True) for c in row if c)
    assert "illustration" in text
    assert "Larsen" in text


def test_no_sheet_when_the_orders_agree(demo: StudyResult, tmp_path: Path):
    ids = tuple(demo.candidates.index[:3].astype(str))
    book = _sheet(_with_orders(demo, ids, ids), tmp_path)
    assert "Survival ranking" not in book.sheetnames
    assert "agrees with the list above" in sections.survival_paragraph(_with_orders(demo, ids, ids))


def test_comparison_rows_pad_a_shorter_list(demo: StudyResult):
    ids = tuple(demo.candidates.index[:3].astype(str))
    table = survival_comparison(_with_orders(demo, ids, ids[:2]))
    assert table is not None
    assert list(table["rank"]) == [1, 2, 3]
    assert pd.isna(table["coverage_site"].iloc[2])


def test_the_walk_that_beats_the_ambulance_is_in_the_time_sheet_and_report(
    demo: StudyResult, tmp_path: Path
):
    timing = demo.time_to_defib
    assert timing is not None
    assert set(timing.beats_ambulance) == {"all"}
    areas = {
        "North & East": BeatsAmbulance(212.4, 0.5, 480.0),
        "=cmd": BeatsAmbulance(0.0, 0.31, 900.0),
    }
    result = replace(demo, time_to_defib=replace(timing, beats_ambulance=areas))
    ws = _sheet(result, tmp_path)["Time to first defib"]
    rows = [r for r in ws.iter_rows(values_only=True) if r[0] in {"North & East", "'=cmd"}]
    assert [(r[1], r[2]) for r in rows] == [(212, 8.0), (0, 15.0)]
    assert any(str(r[0]).startswith("Definition:") for r in ws.iter_rows(values_only=True))
    html = sections.time_to_defib(result)
    assert "<b>212 m</b> in North &amp; East" in html
    assert BEATS_AMBULANCE_DEFINITION.split(";")[0].replace("'", "&#x27;") in html
    summary = result.summary()["time_to_defib"]
    assert summary["beats_ambulance_m"] == {"North & East": 212.4, "=cmd": 0.0}  # type: ignore[index]
    assert summary["beats_ambulance_share"]["=cmd"] == 0.31  # type: ignore[index]
