"""A study file asking for a ranking objective defibmap does not know fails in one line.

``[ranking] objective = "survival"`` is new (issue 16); a misspelling of it must be refused
before any analysis, naming the file, the section, the key and the values allowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from demo_study import DATA

from defibmap.cli import main
from defibmap.study import pipeline

if TYPE_CHECKING:
    from pathlib import Path


def _study(tmp: Path, value: str) -> Path:
    text = (DATA / "studies" / "demo-town.toml").read_text(encoding="utf-8")
    text = text.replace('"../demo-town/', f'"{(DATA / "demo-town").as_posix()}/')
    text = text.replace("new_sites = 5", f"new_sites = 5\nobjective = {value}", 1)
    path = tmp / "typo.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("value", ['"survial"', '"SURVIVAL"', '["survival"]', "1"])
def test_a_bad_survival_objective_fails_before_the_analysis(
    value: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        pytest.fail("the analysis ran although the study file is wrong")

    monkeypatch.setattr(pipeline, "run_study", refuse)
    path = _study(tmp_path, value)
    status = main(["run", str(path), "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert status != 0
    assert "Traceback" not in err
    assert str(path) in err
    assert "[ranking] objective must be" in err
    assert "'survival'" in err
