"""Faulty files given to a study: each ends in one message naming the file, never a traceback.

Every case runs the command line on a copy of the demo-town study with one file fault: a
damaged or mislabelled OpenStreetMap extract, a folder, a named pipe or ``/dev/null`` where a
file belongs, names with control characters. A named pipe must be refused without being
opened (reading it would wait forever), so that case runs in a subprocess with a timeout.
"""

from __future__ import annotations

import bz2
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import openpyxl
import pandas as pd
import pytest

from defibmap._errors import InputError, NetworkError
from defibmap.cli import main
from defibmap.io._readers import check_file
from defibmap.network import snap_points, walk
from defibmap.osm._extract import read_extract
from defibmap.osm.ways import write_filtered_xml

if TYPE_CHECKING:
    from collections.abc import Callable

REPO = Path(__file__).resolve().parents[2]
DEMO_DATA = REPO / "data" / "demo-town"
STUDY = (REPO / "data" / "studies" / "demo-town.toml").read_text(encoding="utf-8")
OSM = DEMO_DATA / "town.osm.bz2"


def _pbf(xml: Path, dst: Path) -> None:
    """Write ``xml`` (OSM XML) to ``dst`` as PBF with pyosmium."""
    import osmium

    writer = osmium.SimpleWriter(str(dst))
    try:
        for obj in osmium.FileProcessor(str(xml)):
            if isinstance(obj, osmium.osm.Node):
                writer.add_node(obj)
            elif isinstance(obj, osmium.osm.Way):
                writer.add_way(obj)
            elif isinstance(obj, osmium.osm.Relation):
                writer.add_relation(obj)
    finally:
        writer.close()


@pytest.fixture(scope="module")
def osm_forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The demo town's extract as OSM XML and as PBF bytes."""
    folder = tmp_path_factory.mktemp("osm")
    xml = bz2.decompress(OSM.read_bytes())
    (folder / "town.osm").write_bytes(xml)
    _pbf(folder / "town.osm", folder / "town.osm.pbf")
    return {"xml": xml, "pbf": (folder / "town.osm.pbf").read_bytes()}


@dataclass(frozen=True)
class Fault:
    """One faulty input: what to make in the study folder, the key it goes in, the message."""

    id: str
    make: Callable[[Path, dict[str, bytes]], Path]  # (study folder, OSM forms) -> the path
    section: str
    message: str  # a regular expression the one error line must match


def _write(name: str, content: Callable[[dict[str, bytes]], bytes]) -> Callable[..., Path]:
    def make(folder: Path, forms: dict[str, bytes]) -> Path:
        path = folder / name
        path.write_bytes(content(forms))
        return path

    return make


def _folder(folder: Path, forms: dict[str, bytes]) -> Path:
    path = folder / "extract.osm.pbf"
    path.mkdir()
    return path


def _fifo(folder: Path, forms: dict[str, bytes]) -> Path:
    path = folder / "pipe.osm.pbf"
    os.mkfifo(path)
    return path


def _dev_null(folder: Path, forms: dict[str, bytes]) -> Path:
    return Path(os.devnull)


_DAMAGED = r"cannot be read as OpenStreetMap data \(.+\); the file is damaged or cut short"
FAULTS = [
    Fault(
        "osm_bz2_cut_short",
        _write("town.osm.bz2", lambda f: OSM.read_bytes()[: len(OSM.read_bytes()) // 2]),
        "network",
        rf"town\.osm\.bz2: {_DAMAGED}: download it again$",
    ),
    Fault(
        "osm_pbf_cut_short",
        _write("town.osm.pbf", lambda f: f["pbf"][: len(f["pbf"]) // 2]),
        "network",
        rf"town\.osm\.pbf: {_DAMAGED}: download it again$",
    ),
    Fault(
        "osm_xml_cut_short",
        _write("town.osm", lambda f: f["xml"][: len(f["xml"]) // 2]),
        "network",
        rf"town\.osm: {_DAMAGED}",
    ),
    Fault(
        "xml_named_pbf",
        _write("town.osm.pbf", lambda f: f["xml"]),
        "network",
        r"town\.osm\.pbf: is named as a PBF file but holds XML data; rename it to end in \.osm$",
    ),
    Fault(
        "pbf_named_osm",
        _write("town.osm", lambda f: f["pbf"]),
        "network",
        r"town\.osm: is named as an XML file but holds PBF data; "
        r"rename it to end in \.osm\.pbf$",
    ),
    Fault(
        "not_xml",
        _write("town.osm", lambda f: b"hello, this is not a map\n"),
        "network",
        r"town\.osm: is not an OpenStreetMap file \(neither OSM XML nor PBF, bzip2 or gzip\); "
        r"give an OpenStreetMap extract ending \.osm, \.osm\.bz2, \.osm\.gz or \.osm\.pbf$",
    ),
    Fault(
        "osm_empty",
        _write("town.osm.pbf", lambda f: b""),
        "network",
        r"town\.osm\.pbf: the OpenStreetMap file is empty; download it again$",
    ),
    Fault(
        "osm_folder",
        _folder,
        "network",
        r"\[network\] osm_file = '.*extract\.osm\.pbf': is a folder, not a file; "
        r"give the path of the file in it \(",
    ),
    Fault(
        "osm_dev_null",
        _dev_null,
        "network",
        r"\[network\] osm_file = '/dev/null': is a device, not a saved file; "
        r"give the path of a file on disk \(/dev/null\)$",
    ),
    Fault(
        "demand_dev_null",
        _dev_null,
        "demand",
        r"\[demand\] file = '/dev/null': is a device, not a saved file",
    ),
]


def _study(tmp_path: Path, section: str, path: Path) -> Path:
    """Write the demo study with absolute paths and ``path`` as ``section``'s file."""
    text = STUDY.replace('"../demo-town/', f'"{DEMO_DATA.as_posix()}/')
    key = "osm_file" if section == "network" else "file"
    text = re.sub(
        rf'(?ms)(^\[{section}\]\n.*?^){key} = "[^"]*"',
        lambda m: f'{m.group(1)}{key} = "{path.as_posix()}"',
        text,
        count=1,
    )
    assert path.as_posix() in text
    study = tmp_path / "mine.toml"
    study.write_text(text, encoding="utf-8")
    return study


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("defibmap: error: ")
    return lines[0]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.id)
def test_file_fault(
    fault: Fault,
    tmp_path: Path,
    osm_forms: dict[str, bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = fault.make(tmp_path, osm_forms)
    study = _study(tmp_path, fault.section, path)
    status = main(["run", "--config", str(study), "--out", str(tmp_path / "out"), "-q"])
    line = _one_error_line(capsys.readouterr().err)
    assert status == 1
    assert re.search(fault.message, line), line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("section", ["network", "demand"])
def test_named_pipe_is_refused_without_being_opened(section: str, tmp_path: Path) -> None:
    pipe = _fifo(tmp_path, {})
    study = _study(tmp_path, section, pipe)
    key = "osm_file" if section == "network" else "file"
    code = (
        "import sys; from defibmap.cli import main; "
        f"sys.exit(main(['run', '--config', {str(study)!r}, '--out', "
        f"{str(tmp_path / 'out')!r}, '-q']))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}
    # a reader that opens the pipe waits for a writer forever: the timeout turns that
    # regression into a failure
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    line = _one_error_line(done.stderr)
    expected = (
        rf"\[{section}\] {key} = '.*pipe\.osm\.pbf': is a named pipe, not a saved file; "
        r"give the path of a file on disk \("
    )
    assert re.search(expected, line), line


def test_the_table_reader_names_a_pipe_and_a_device(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    with pytest.raises(InputError, match=r"pipe\.csv: is a named pipe, not a saved file"):
        check_file(pipe)
    with pytest.raises(InputError, match=r"/dev/null: is a device, not a saved file"):
        check_file(Path(os.devnull))
    with pytest.raises(InputError, match=r": is a folder, not a file"):
        check_file(tmp_path)


def test_unreadable_osm_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "town.osm.bz2"
    path.write_bytes(OSM.read_bytes())
    path.chmod(0)
    if os.geteuid() == 0:  # root reads any file: make the permission check see it as others do
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != path and real_access(p, mode))
    study = _study(tmp_path, "network", path)
    status = main(["run", "--config", str(study), "--out", str(tmp_path / "out"), "-q"])
    line = _one_error_line(capsys.readouterr().err)
    assert status == 1
    assert re.search(r"osm_file = .*: cannot be read \(permission denied\)", line), line


def test_max_snap_m_zero_runs_to_the_usual_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 0 is allowed (only points exactly on a way are kept); no demo point lies exactly on one
    text = STUDY.replace('"../demo-town/', f'"{DEMO_DATA.as_posix()}/')
    study = tmp_path / "mine.toml"
    study.write_text(text.replace("max_snap_m = 250", "max_snap_m = 0"), encoding="utf-8")
    status = main(["run", "--config", str(study), "--out", str(tmp_path / "out"), "-q"])
    line = _one_error_line(capsys.readouterr().err)
    assert status == 1
    assert re.search(r"demand\.csv: no demand point lies within the study network$", line), line


CONTROL = "\x0bvt\x01soh\x1besc"
ESCAPED = "\\x0bvt\\x01soh\\x1besc"


def test_control_characters_in_names_are_shown_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("candidates", "defibs", "demand"):
        frame = pd.read_csv(DEMO_DATA / f"{name}.csv", dtype=str, keep_default_na=False)
        frame["name"] = frame["name"] + " " + CONTROL
        frame.loc[0, "name"] = "=" + CONTROL  # a formula start as well
        frame.to_csv(data / f"{name}.csv", index=False)
    text = STUDY.replace('"../demo-town/', f'"{DEMO_DATA.as_posix()}/')
    for name in ("candidates", "defibs", "demand"):
        text = text.replace(f"{DEMO_DATA.as_posix()}/{name}.csv", f"{data.as_posix()}/{name}.csv")
    study = tmp_path / "mine.toml"
    study.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--config", str(study), "--out", str(out), "-q"]) == 0, (
        capsys.readouterr().err
    )
    control = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
    workbook = openpyxl.load_workbook(out / "recommendations.xlsx")
    ranked = workbook["Ranked sites"]
    column = [c.value for c in ranked[1]].index("Name")  # found by header, not by letter
    names = [row[column].value for row in ranked.iter_rows(min_row=2)]
    assert names
    assert all(isinstance(n, str) and n.endswith(ESCAPED) for n in names), names
    cells = [c.value for ws in workbook for row in ws.iter_rows() for c in row]
    assert not [v for v in cells if isinstance(v, str) and control.search(v)]
    for csv in out.glob("*.csv"):
        assert not control.search(csv.read_text(encoding="utf-8")), csv.name
    recommended = pd.read_csv(out / "recommendations.csv", dtype=str)
    assert recommended["name"].str.endswith(ESCAPED).all()
    for page in ("map.html", "report.html"):
        html = (out / page).read_text(encoding="utf-8")
        assert not control.search(html), page
        assert "&#92;x0bvt&#92;x01soh&#92;x1besc" in html, page
    assert np.isfinite(pd.read_csv(out / "demand_coverage.csv")["population"]).all()


def test_max_snap_m_zero_keeps_only_points_on_an_edge() -> None:
    net = walk.from_arrays(
        node_x=np.array([0.0, 100.0]),
        node_y=np.zeros(2),
        edge_u=np.array([0]),
        edge_v=np.array([1]),
    )
    snapped = snap_points(
        net, np.array([40.0, 40.0, np.nan]), np.array([0.0, 0.5, 0.0]), max_snap_m=0
    )
    assert snapped.ok.tolist() == [True, False, False]
    assert snapped.snap_m[0] == 0.0
    assert snapped.to_u_m[0] == pytest.approx(40.0)
    assert snapped.edge.tolist() == [0, -1, -1]


def _returns(call: Callable[[], object]) -> BaseException | None:
    """Run ``call`` in a thread; return what it raised, failing if it does not return."""
    raised: list[BaseException | None] = [None]

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            raised[0] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the reader opened the named pipe and waits for a writer"
    return raised[0]


def test_osm_readers_refuse_a_pipe_without_opening_it(tmp_path: Path) -> None:
    pipe = _fifo(tmp_path, {})
    raised = _returns(lambda: read_extract(pipe, ["defibrillators"]))
    assert isinstance(raised, InputError)
    assert re.search(r"pipe\.osm\.pbf: is not a regular file \(a named pipe", str(raised))
    raised = _returns(lambda: write_filtered_xml(pipe, tmp_path / "out.osm"))
    assert isinstance(raised, NetworkError)
    assert re.search(r"pipe\.osm\.pbf: is not a regular file \(a named pipe", str(raised))
