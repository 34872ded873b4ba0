"""``defibmap run --sensitivity N``: the draws reach summary.json, the report and the workbook."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import openpyxl
import pytest

from defibmap.cli import main

if TYPE_CHECKING:
    from pathlib import Path


def test_run_with_sensitivity_writes_the_draws_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    assert main(["run", "demo-town", "--out", str(out), "--sensitivity", "12"]) == 0
    captured = capsys.readouterr()
    err = captured.err
    assert "12/12 draws" in err
    assert "s left" in err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    found = summary["sensitivity"]
    assert found["draws"] == 12
    k = found["k"]
    assert k == summary["ranking"]["new_sites"]
    assert sum(found["top_k_count"].values()) == 12 * k
    assert set(found["picks"]) <= set(found["top_k_count"])
    assert set(found["intervals"]) == {
        "coverage_available",
        "coverage_night",
        "coverage_any",
        "objective",
    }
    assert f"Sensitivity (12 draws over the assumptions): {found['verdict']}" in captured.out
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "How stable are the picks?" in report
    assert found["verdict"] in report
    sheet = openpyxl.load_workbook(out / "recommendations.xlsx")["Sensitivity"]
    rows = list(sheet.iter_rows(values_only=True))
    counts = {r[1]: r[3] for r in rows[1:] if r[1] is not None and isinstance(r[3], int)}
    assert counts == found["top_k_count"]


def test_run_without_sensitivity_has_no_section(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert main(["run", "demo-town", "--out", str(out), "-q", "--sensitivity", "0"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "sensitivity" not in summary
    assert "How stable" not in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("bad", ["-1", "ten", "2.5", "100001"])
def test_a_bad_number_of_draws_is_refused(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["run", "demo-town", "--out", str(tmp_path / "o"), "--sensitivity", bad])
    assert stop.value.code == 2
    assert "expected a whole number of draws from 0 to 100000" in capsys.readouterr().err
