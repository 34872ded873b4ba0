"""Failures on the command line end in one line and the right exit status, never a traceback.

Disk and folder faults are found by a probe write before the analysis starts, so a run into a
full disk or through a file fails in seconds, not after the work.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

import pytest

import defibmap
from defibmap.cli import main
from defibmap.outputs import write as outputs_write
from defibmap.study import pipeline

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def no_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    """The analysis must not start: fail the test if it does."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        pytest.fail("the analysis ran although the outputs cannot be written")

    monkeypatch.setattr(pipeline, "run_study", refuse)


@pytest.mark.usefixtures("no_analysis")
def test_output_path_through_a_file_fails_before_the_analysis(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["run", "demo-town", "--out", "/dev/null/outputs", "-q"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines() == [
        (
            "defibmap: error: cannot write the outputs to /dev/null/outputs (/dev/null: not a "
            "folder); check the path, or write elsewhere with --out"
        )
    ]


@pytest.mark.usefixtures("no_analysis")
def test_full_disk_fails_before_the_analysis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tempfile

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", full)
    status = main(["run", "demo-town", "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert status == 1
    assert len(err.splitlines()) == 1
    assert "No space left on device" in err
    assert "free some disk space or write elsewhere with --out" in err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_exits_130_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_study", interrupted)
    status = main(["run", "demo-town", "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert status == 130
    assert err.splitlines() == ["defibmap: interrupted; earlier outputs are unchanged"]
    assert list(tmp_path.iterdir()) == []


def test_file_system_fault_while_writing_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_space(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/outputs/summary.json")

    monkeypatch.setattr(pipeline, "run_study", lambda *_a, **_k: object())
    monkeypatch.setattr(outputs_write, "write_outputs", no_space)
    status = main(["run", "demo-town", "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines() == [
        (
            "defibmap: error: /outputs/summary.json: No space left on device; free some disk "
            "space or write elsewhere with --out"
        )
    ]


def test_debug_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_study", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(["--debug", "run", "demo-town", "--out", str(tmp_path / "out"), "-q"])


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"defibmap {defibmap.__version__}\n"
