"""The command line's polish: progress on standard error, the list of outputs, ``--open``."""

from __future__ import annotations

import json
import tomllib
import webbrowser
from dataclasses import replace
from pathlib import Path

import pytest

from defibmap._resources import data_root
from defibmap.cli import main
from defibmap.config.study_file import read_study
from defibmap.outputs.folder import MANIFEST_NAME

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
    "defibmap.gpkg",
    "recommendations.geojson",
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


# --------------------------------------------------------------------------------------------
# --version, -q/-v, messages in words, the rejected rows by reason
# --------------------------------------------------------------------------------------------


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.metadata

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"defibmap {importlib.metadata.version('defibmap')}\n"


def test_quiet_and_verbose_together_are_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pytest

    for argv in (["-v", "run", "demo-town", "-q"], ["run", "demo-town", "-q", "-v"]):
        with pytest.raises(SystemExit) as info:
            main([*argv, "--out", str(tmp_path / "o")])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "-q (quiet: no progress) and -v (verbose: more detail) contradict" in err
    assert list(tmp_path.iterdir()) == []


def test_verbose_run_prints_each_line_once_and_no_library_chatter(tmp_path: Path) -> None:
    import subprocess
    import sys

    # a program of its own: logging is set up once per process, as for a user
    done = subprocess.run(
        [sys.executable, "-m", "defibmap.cli", "-v", "run", "demo-town", "--out", "o"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    err = done.stderr.splitlines()
    steps = [line.split("] ", 1)[1] for line in err if line.startswith("[")]
    assert "Done" in steps
    assert len(steps) == len(set(steps))  # no step twice
    assert not [line for line in err if "progress" in line]  # not again through logging
    assert any(line.startswith("INFO defibmap.") for line in err)  # -v adds defibmap's own
    assert not [line for line in err if line.startswith("INFO") and "defibmap" not in line]


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ("[study]\nname = 3", "[study] name must be text, got 3"),
        (
            '[police_stations]\nfile = "d.csv"\nid = "site_id"\noutside_defib = "yes"',
            "[police_stations] outside_defib must be true or false, got 'yes'",
        ),
        (
            '[candidates]\nfile = "d.csv"\nid = "site_id"\nsheet = 1.5',
            "[candidates] sheet must be text or a whole number, got 1.5",
        ),
    ],
)
def test_type_messages_are_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str, words: str
) -> None:
    (tmp_path / "d.csv").write_text("site_id,lon,lat,population\na,-1.5,53.8,10\n")
    study = tmp_path / "s.toml"
    rest = '[network]\nplace = "X"\n\n[demand]\nfile = "d.csv"\nid = "site_id"\n'
    study.write_text(f"{section}\n\n{rest}", encoding="utf-8")
    assert main(["run", "--config", str(study), "-q", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert words in err
    assert not [python for python in (" a int", " a str", " a bool", " a float") if python in err]


def test_rejected_rows_are_broken_down_by_layer_and_reason() -> None:
    from defibmap import run_study
    from defibmap.outputs.write import format_summary
    from defibmap.study.parts import InputReport

    result = run_study("demo-town")
    reports = dict(result.input_reports)
    reports["finer_demand"] = InputReport(
        "postcodes.csv", 100, 54, 46, {"postcode outside the study's areas": 46}, {}
    )
    reports["fire_stations"] = InputReport(
        "fire.csv", 6, 2, 4, {"farther than 250 m from the walking network": 3, "no id": 1}, {}
    )
    text = format_summary(replace(result, input_reports=reports))
    lines = text.split("Rejected rows: ", 1)[1].splitlines()
    assert lines[:4] == [
        "50 (see rejected.csv)",
        "  46 finer demand: postcode outside the study's areas",
        "  3 fire stations: farther than 250 m from the walking network",
        "  1 fire stations: no id",
    ]
    # the night figure is in the summary beside year-round and any time
    assert "at night (24/7)" in text
    assert "year-round" in text
    assert "any time" in text


# --------------------------------------------------------------------------------------------
# defibmap studies, defibmap init, the offline message of a place study
# --------------------------------------------------------------------------------------------


def _rows(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) - 1


def _shipped() -> dict[str, dict]:
    found = {}
    for path in sorted((data_root() / "studies").glob("*.toml")):
        with path.open("rb") as stream:
            found[path.stem] = tomllib.load(stream)
    return found


def test_studies_lists_description_synthetic_and_internet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["studies"]) == 0
    blocks = capsys.readouterr().out.split("\n\n")
    shipped = _shipped()
    assert len(shipped) == 3
    for name, document in shipped.items():
        (block,) = [b for b in blocks if b.startswith(f"{name}  (")]
        head = block.splitlines()[0]
        assert document["study"]["description"] in " ".join(block.split())
        assert ("synthetic" in head) is (document["study"]["synthetic"] is True)
        downloads = "osm_file" not in document["network"]
        assert ("needs internet" in head) is downloads
    head = {b.split("  (")[0]: b.splitlines()[0] for b in blocks if "  (" in b}
    assert "needs internet" in head["coventry"]
    assert "synthetic" in head["demo-town"]


def _files_named(study: Path) -> list[Path]:
    """Every input file a study names (read with the study file reader)."""
    config = read_study(study)
    named = [layer.file for layer in config.layers.values() if layer.file is not None]
    named += [config.boundary_file, config.wards_file, config.network.osm_file]
    return [Path(p) for p in named if p is not None]


def test_init_coventry_copies_the_study_and_its_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shipped_before = {p: p.read_bytes() for p in data_root().rglob("*") if p.is_file()}
    assert main(["init", "coventry", "./mine"]) == 0
    assert "defibmap run --config mine/coventry.toml" in capsys.readouterr().out
    study = tmp_path / "mine" / "coventry.toml"
    named = _files_named(study)
    assert len(named) >= 5  # boundary, wards, demand, fire stations, candidates
    for path in named:
        assert path.is_file()
        assert path.resolve().is_relative_to(tmp_path / "mine")  # the copy, not the package
        shipped = data_root() / "coventry" / path.name
        assert path.read_bytes() == shipped.read_bytes()
    # the copy is the shipped study but for its paths
    copy = tomllib.loads(study.read_text(encoding="utf-8"))
    assert copy["network"] == _shipped()["coventry"]["network"]
    assert copy["demand"]["file"] == "data/lsoa21_demand.csv"
    # an existing, non-empty folder is never overwritten
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    before = {p: p.read_bytes() for p in (tmp_path / "mine").rglob("*") if p.is_file()}
    assert main(["init", "coventry", "./mine"]) == 1
    assert "not empty; nothing was copied" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in (tmp_path / "mine").rglob("*") if p.is_file()} == before
    assert {p: p.read_bytes() for p in data_root().rglob("*") if p.is_file()} == shipped_before


def test_init_default_folder_and_the_copy_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "demo-town"]) == 0
    study = tmp_path / "demo-town" / "demo-town.toml"
    assert all(p.is_relative_to(tmp_path / "demo-town") for p in _files_named(study))
    # edit only the copy: keep three candidate buildings; the run reads the edited file
    candidates = tmp_path / "demo-town" / "data" / "candidates.csv"
    lines = candidates.read_text(encoding="utf-8").splitlines()
    candidates.write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--config", str(study), "-q", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"]["candidates"]["rows_read"] == 3


def test_init_blank_writes_a_commented_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from defibmap._errors import ConfigError

    assert main(["init", "blank", str(tmp_path / "new")]) == 0
    study = tmp_path / "new" / "study.toml"
    text = study.read_text(encoding="utf-8")
    document = tomllib.loads(text)
    assert {"study", "network", "demand", "defibs", "candidates"} <= set(document)
    assert sum(line.startswith("#") for line in text.splitlines()) >= 10
    assert (tmp_path / "new" / "data").is_dir()
    # until its files are there, the first missing one is named
    with pytest.raises(ConfigError, match="no such file"):
        read_study(study)
    # filled in as a user would (files in data/, names and columns set), it runs
    import shutil

    town = data_root() / "demo-town"
    for name in ("demand.csv", "defibs.csv", "candidates.csv", "town.osm.bz2"):
        shutil.copy(town / name, tmp_path / "new" / "data" / name)
    text = text.replace('"data/area.osm.pbf"', '"data/town.osm.bz2"')
    study.write_text(text.replace('id = "area_code"', 'id = "demand_id"'), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--config", str(study), "-q", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"]["candidates"]["rows_used"] == _rows(town / "candidates.csv")


def test_offline_place_study_says_init_first_one_download_a_line(
    offline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "coventry", "--out", "out"]) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    for layer in ("network", "defibrillators", "schools", "police", "council_buildings"):
        assert len([line for line in lines if line.startswith(f"  - {layer} (")]) == 1
    assert "1. Copy the study into a folder of your own: defibmap init coventry" in err
    assert "into coventry/data" in err
    assert 'In coventry/coventry.toml set [network] osm_file = "data/' in err
    assert "defibmap run --config coventry/coventry.toml" in err
    assert str(data_root()) not in err  # never edit inside the installed package
    assert max(len(line) for line in lines) < 400  # lines, not one 900-character line
