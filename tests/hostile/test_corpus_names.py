"""Hostile names and values: the demo-town study through the command line, one thing wrong.

Bad IMD deciles, a site id in two layers, a reserved id prefix and a hidden first sheet each
stop the run with one line naming the file (and column, rows or id); an ``availability``
column in the defibs file is reported and never read.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl

from defibmap.cli import main

if TYPE_CHECKING:
    import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_DATA = REPO / "data" / "demo-town"
STUDY = (REPO / "data" / "studies" / "demo-town.toml").read_text(encoding="utf-8")


def _study(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """Write the demo study into ``tmp_path``, its data from the repository but ``files``."""
    text = STUDY.replace('"../demo-town/', f'"{DEMO_DATA.as_posix()}/')
    for name, content in files.items():
        stem = name.rsplit(".", 1)[0]
        text = re.sub(
            rf'"{re.escape(DEMO_DATA.as_posix())}/{stem}\.csv"', f'"{name}"', text, count=1
        )
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    study = tmp_path / "mine.toml"
    study.write_text(text, encoding="utf-8")
    return study


def _demo(name: str) -> list[str]:
    return (DEMO_DATA / name).read_text(encoding="utf-8").splitlines()


def _fails(study: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    status = main(["run", "--config", str(study), "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert not out.exists()
    return lines[0]


def _with_deciles(values: list[str]) -> str:
    head, *rows = _demo("demand.csv")
    column = head.split(",").index("imd_decile")
    changed = []
    for i, row in enumerate(rows):
        cells = row.split(",")
        if i < len(values):
            cells[column] = values[i]
        changed.append(",".join(cells))
    return "\n".join([head, *changed]) + "\n"


def test_bad_imd_deciles_stop_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demand = _with_deciles(["0", "11", "-3", "1000", "x", "2.5"])
    line = _fails(_study(tmp_path, {"demand.csv": demand}), tmp_path / "out", capsys)
    assert line == (
        f"defibmap: error: {tmp_path / 'demand.csv'}: column 'imd_decile' must hold IMD "
        "deciles, whole numbers 1-10 (1 = most deprived) or empty for unknown; row 2: '0', "
        "row 3: '11', row 4: '-3', row 5: '1000', row 6: 'x' and 1 more"
    )


def test_a_candidate_with_a_defib_id_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head, first, *rest = _demo("candidates.csv")
    candidates = "\n".join([head, first.replace("council-01", "defib-01"), *rest]) + "\n"
    line = _fails(_study(tmp_path, {"candidates.csv": candidates}), tmp_path / "out", capsys)
    defibs = DEMO_DATA / "defibs.csv"
    assert line == (
        f"defibmap: error: site id 'defib-01' is in both [defibs] ({defibs.as_posix()}) and "
        f"[candidates] ({tmp_path / 'candidates.csv'}); ids must be unique across the site "
        "layers"
    )


def test_a_reserved_id_prefix_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head, first, *rest = _demo("candidates.csv")
    candidates = "\n".join([head, first.replace("council-01", "upgrade:defib-01"), *rest])
    line = _fails(_study(tmp_path, {"candidates.csv": candidates + "\n"}), tmp_path / "o", capsys)
    assert line == (
        f"defibmap: error: {tmp_path / 'candidates.csv'}: site id 'upgrade:defib-01' starts "
        "with 'upgrade:', which defibmap keeps for the ids it makes; rename the site"
    )


def _workbook(hidden: list[list[str]], shown: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    old = book.active
    assert old is not None
    old.title = "old"
    for row in hidden:
        old.append(row)
    old.sheet_state = "hidden"
    current = book.create_sheet("current")
    for row in shown:
        current.append(row)
    book.active = 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_hidden_first_sheet_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head, *rows = [line.split(",") for line in _demo("candidates.csv")]
    workbook = _workbook([head, *rows[:2]], [head, *rows])
    line = _fails(_study(tmp_path, {"candidates.xlsx": workbook}), tmp_path / "out", capsys)
    assert line == (
        f"defibmap: error: {tmp_path / 'candidates.xlsx'}: the first sheet 'old' is hidden; "
        "the visible sheets are ['current'], name the one to read with sheet = ..."
    )


def test_an_availability_column_is_reported_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head, *rows = _demo("defibs.csv")
    defibs = "\n".join([f"{head},availability", *(f"{r},24/7" for r in rows)]) + "\n"
    summary = _summary(_study(tmp_path, {"defibs.csv": defibs}), tmp_path / "out")
    (tmp_path / "plain").mkdir()
    plain = _summary(_study(tmp_path / "plain", {}), tmp_path / "base")
    capsys.readouterr()
    assert summary["scenarios"] == plain["scenarios"]  # school hours still rule the night
    assert any("'availability' column, which defibmap does not read" in n for n in summary["notes"])


def _summary(study: Path, out: Path) -> dict[str, object]:
    assert main(["run", "--config", str(study), "--out", str(out), "-q"]) == 0
    found: dict[str, object] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return found
