"""The command line's polish: progress on standard error, the list of outputs, ``--open``."""

from __future__ import annotations

import json
import webbrowser
from typing import TYPE_CHECKING

from defibmap.cli import main
from defibmap.outputs.folder import MANIFEST_NAME

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

OUTPUTS = {
    "map.html",
    "report.html",
    "recommendations.xlsx",
    "recommendations.csv",
    "scenarios.csv",
    "coverage_curve.csv",
    "demand_coverage.csv",
    "rejected.csv",
    "warnings.csv",
    "summary.json",
    "figures",
}


def test_run_shows_progress_lists_outputs_and_opens_the_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    out = tmp_path / "out"
    assert main(["run", "demo-town", "--out", str(out), "--open"]) == 0
    captured = capsys.readouterr()
    steps = [line.split("] ", 1)[1] for line in captured.err.splitlines() if line.startswith("[")]
    expected = [
        "Reading the study file",
        "Running the study",
        "Loading the input layers",
        "Building or loading the walking network",
        "Snapping points to the network",
        "Walking distances and coverage",
        "Ranking",
        "Scenarios",
        "Writing the map, workbook, report and tables",
        "Done",
    ]
    assert len(steps) == len(expected)
    assert all(step.startswith(want) for step, want in zip(steps, expected, strict=True))
    listed = {
        line.split()[0]
        for line in captured.out.split("Outputs written to", 1)[1].splitlines()[1:]
        if line.strip()
    }
    assert listed == OUTPUTS == {p.name for p in out.iterdir()} - {MANIFEST_NAME}
    assert opened == [(out / "map.html").resolve().as_uri()]
    assert json.loads((out / "summary.json").read_text())["synthetic"] is True


def test_quiet_run_prints_no_progress_and_no_browser_is_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webbrowser, "open", lambda _url: False)
    assert main(["run", "demo-town", "--out", str(tmp_path / "o"), "--quiet", "--open"]) == 0
    err = capsys.readouterr().err
    assert not [line for line in err.splitlines() if line.startswith("[")]
    assert "no web browser found" in err


def test_output_folder_with_other_files_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.docx").write_text("mine")
    assert main(["run", "demo-town", "--out", str(tmp_path), "-q"]) == 1
    err = capsys.readouterr().err
    assert "notes.docx" in err
    assert "not written by defibmap" in err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.docx"]
