"""Interrupted runs: a killed study never damages earlier outputs, the cache or the inputs.

Three kinds of kill:

- timed: ``python -m defibmap.cli run --out DIR`` on the default (Leeds) study, with DIR holding
  a complete earlier run, sent SIGTERM or SIGKILL after 0.5 s, 2 s and 4 s;
- every point between two moves: one write of a second study's outputs over a first one's,
  with the output folder copied just before each file or folder is moved into it (the state
  a kill at that instant leaves);
- placed: a forked copy of this process kills itself with a real signal just before its k-th
  move (or just before the network cache file is moved into place), checked against the
  copies above.

After every kill each output file is either the earlier run's or the complete new one, never a
mix of the two and never missing (``write_outputs`` swaps whole folders); a re-run succeeds
and clears what a killed run left; the inputs are unchanged. The command line turns SIGTERM
into a normal exit (status 143) so that its staging folder is removed at once.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

import defibmap
from defibmap.cli import main
from defibmap.network import walk
from defibmap.outputs import folder as write
from defibmap.outputs.write import write_outputs
from defibmap.study import network_cache

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX fork and signals")

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
LEEDS_INPUTS = [REPO_DATA / "studies" / "leeds.toml", *sorted((REPO_DATA / "leeds").iterdir())]
E, N = 430600.0, 435700.0


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hashes(paths: list[Path]) -> dict[str, str]:
    return {str(p): sha256(p) for p in paths if p.is_file()}


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) with its hash."""
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


PNG_START, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


def content(path: Path) -> object:
    """What a file says, for comparing runs: bytes, or the cell values of a workbook."""
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        try:
            return tuple(
                (ws.title, tuple(ws.iter_rows(values_only=True))) for ws in book.worksheets
            )
        finally:
            book.close()
    return path.read_bytes()


def parses(path: Path) -> None:
    """The file is complete: JSON loads, CSV parses, HTML ends, PNG ends, the workbook opens."""
    data = path.read_bytes()
    if path.suffix == ".json":
        json.loads(data)
    elif path.suffix == ".csv":
        pd.read_csv(io.BytesIO(data))
    elif path.suffix == ".html":
        assert data.rstrip().endswith(b"</html>"), path
    elif path.suffix == ".png":
        assert data.startswith(PNG_START), path
        assert data.endswith(PNG_END), path
    elif path.suffix == ".xlsx":
        content(path)
    elif path.suffix == ".geojson":
        json.loads(data)
    elif path.suffix == ".gpkg":
        import pyogrio

        for name, _kind in pyogrio.list_layers(path):
            pyogrio.read_dataframe(path, layer=name)
    else:
        pytest.fail(f"unexpected output {path.name}")


@dataclass(frozen=True)
class Outputs:
    """A complete run's output folder and what each visible file says."""

    folder: Path
    files: dict[str, object]
    title: str

    def names(self) -> set[str]:
        return set(self.files)


def visible(folder: Path) -> list[Path]:
    """The output files: every file under ``folder`` outside hidden folders."""
    return [
        p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]


def snapshot(folder: Path, title: str) -> Outputs:
    return Outputs(folder, {str(p.relative_to(folder)): content(p) for p in visible(folder)}, title)


def which_run(path: Path, name: str, runs: list[Outputs]) -> set[str]:
    """Which complete runs this file could belong to (HTML pages also by their title)."""
    said = content(path)
    found = set()
    for run in runs:
        same = said == run.files.get(name)
        if same or (path.suffix == ".html" and run.title.encode() in path.read_bytes()):
            found.add(run.title)
    return found


def check_intact(folder: Path, old: Outputs, new: Outputs | None = None) -> dict[str, set[str]]:
    """Every earlier output is there and complete, and is the earlier or the complete new one.

    With ``new`` None the new run is the same study: its tables are byte for byte the old
    ones; HTML pages (folium's random element ids) and figures need only be complete.
    """
    runs = [old] if new is None else [old, new]
    owners = {}
    for name in sorted(old.names()):
        path = folder / name
        assert path.is_file(), f"{name} is missing after the kill"
        parses(path)
        owners[name] = which_run(path, name, runs)
        if new is None and path.suffix in (".html", ".png"):
            continue
        assert owners[name], f"{name} is neither the earlier output nor a complete new one"
    return owners


# ---------------------------------------------------------------------------------------------
# Timed kills of the command line on the default study
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def leeds_outputs(tmp_path_factory) -> Outputs:
    folder = tmp_path_factory.mktemp("leeds-complete")
    assert main(["run", "--out", str(folder)]) == 0
    return snapshot(folder, "Leeds inner north-east")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_cli_run_keeps_previous_outputs_and_rerun_succeeds(sig, leeds_outputs, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(leeds_outputs.folder, out)
    before = hashes(LEEDS_INPUTS)
    interrupted = 0
    for delay in (0.5, 2.0, 4.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "defibmap.cli", "run", "--out", str(out)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(sig)
            # once the command line is up, SIGTERM becomes an orderly exit (128 + 15) that
            # removes its staging folder; during start-up (imports) it still kills outright
            status = proc.wait(timeout=120)
            assert status in {-sig, 128 + sig if sig == signal.SIGTERM else -sig}
            if status > 0:
                assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
            interrupted += 1
        else:
            assert proc.returncode == 0
        # the study is deterministic: every table is byte for byte the earlier one
        check_intact(out, leeds_outputs)
    assert interrupted >= 1
    assert hashes(LEEDS_INPUTS) == before  # inputs never modified
    assert main(["run", "--out", str(out)]) == 0
    check_intact(out, leeds_outputs)
    assert {str(p.relative_to(out)) for p in visible(out)} == leeds_outputs.names()


# ---------------------------------------------------------------------------------------------
# Kills placed between two file renames: one study's outputs written over another's
# ---------------------------------------------------------------------------------------------


def write_tiny_study(folder: Path, name: str, thresholds: list[int]) -> Path:
    """A small study on a hand-made network near Leeds (no OSM parsing, runs in a second)."""
    folder.mkdir(parents=True, exist_ok=True)
    xs = E + np.array([0.0, 100.0, 200.0, 300.0, 400.0, 400.0, 0.0])
    ys = N + np.array([0.0, 0.0, 0.0, 0.0, 0.0, 300.0, 300.0])
    net = walk.from_arrays(
        node_x=xs,
        node_y=ys,
        edge_u=np.array([0, 1, 2, 3, 4, 5]),
        edge_v=np.array([1, 2, 3, 4, 5, 6]),
    )
    walk.save(net, folder / "net.npz")
    rng = np.random.default_rng(7)
    dx, dy = rng.uniform(0, 400, 40), rng.uniform(-20, 320, 40)
    rows = "".join(
        f"d{i},{E + a:.1f},{N + b:.1f},{10 + i}\n"
        for i, (a, b) in enumerate(zip(dx, dy, strict=True))
    )
    (folder / "demand.csv").write_text("id,easting,northing,pop\n" + rows + "bad,,,5\n")
    (folder / "defibs.csv").write_text(f"id,easting,northing\nk1,{E + 50},{N + 3}\n")
    (folder / "candidates.csv").write_text(
        f"id,name,easting,northing\nc1,North,{E + 200},{N + 290}\nc2,East,{E + 390},{N + 150}\n"
    )
    study = folder / f"{name}.toml"
    study.write_text(
        f'[study]\nname = "{name}"\n[network]\ngraph_file = "net.npz"\n'
        '[demand]\nfile = "demand.csv"\nid = "id"\npopulation = "pop"\n'
        '[defibs]\nfile = "defibs.csv"\nid = "id"\n'
        '[candidates]\nfile = "candidates.csv"\nid = "id"\n'
        f"[coverage]\nthresholds_m = {thresholds}\n[ranking]\nnew_sites = 1\n"
    )
    return study


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Results of study A and study B, and each one's complete outputs."""
    root = tmp_path_factory.mktemp("two-runs")
    inputs = root / "inputs"
    a = defibmap.run_study(write_tiny_study(inputs, "Study A", [100, 200, 500]))
    b = defibmap.run_study(write_tiny_study(inputs, "Study B", [150, 300, 600]))
    write_outputs(a, root / "a")
    write_outputs(b, root / "b")
    return {
        "inputs": inputs,
        "b": b,
        "old": snapshot(root / "a", "Study A"),
        "new": snapshot(root / "b", "Study B"),
    }


def killed_at(sig: int, k: int, action: Callable[[], object], *, into: Path) -> bool:
    """Run ``action`` in a forked child that sends itself ``sig`` before its k-th move.

    A move is an ``os.replace`` or ``os.rename`` (``Path.replace`` and ``Path.rename`` call
    them) or the atomic folder exchange of :mod:`defibmap.outputs.write` onto ``into`` or straight
    into it; moves inside a staging folder do not count.
    Returns True when the child died of the signal, False when it finished first.
    """
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            calls = [0]
            originals = {"replace": os.replace, "rename": os.rename}

            def counted(kind: str) -> Callable[..., None]:
                def move(src: object, dst: object, *args: object, **kwargs: object) -> None:
                    target = Path(os.fsdecode(dst))  # type: ignore[arg-type]
                    if into in (target, target.parent):
                        if calls[0] == k:
                            os.kill(os.getpid(), sig)
                            time.sleep(10)  # the signal lands here
                        calls[0] += 1
                    originals[kind](src, dst, *args, **kwargs)

                return move

            os.replace = counted("replace")  # type: ignore[assignment]
            os.rename = counted("rename")  # type: ignore[assignment]
            originals["exchange"] = write._exchange
            write._exchange = counted("exchange")  # type: ignore[assignment]
            action()
        finally:
            os._exit(0)
    deadline = time.monotonic() + 120
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked writer hung")
        time.sleep(0.02)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == sig
        return True
    assert os.WEXITSTATUS(status) == 0
    return False


def top_level(run: Outputs) -> Outputs:
    return Outputs(run.folder, {n: c for n, c in run.files.items() if "/" not in n}, run.title)


@pytest.fixture(scope="module")
def states(two_runs, tmp_path_factory):
    """The output folder as a kill would leave it just before each move, from one write.

    A SIGKILL (or a SIGTERM, whose default action runs no Python code) stops the writer with
    every staged file complete and closed, so the folder keeps exactly the state it had at
    that instant: a copy taken before each move is that state. The forked kills below check
    the equivalence on real signals.
    """
    root = tmp_path_factory.mktemp("states")
    out = root / "out"
    shutil.copytree(two_runs["old"].folder, out)
    taken: list[Path] = []
    originals = {"replace": os.replace, "rename": os.rename}

    def copying(kind: str) -> Callable[..., None]:
        def move(src: object, dst: object, *args: object, **kwargs: object) -> None:
            target = Path(os.fsdecode(dst))  # type: ignore[arg-type]
            if out in (target, target.parent):
                state = root / f"before-move-{len(taken)}"
                shutil.copytree(out, state, symlinks=True)
                taken.append(state)
            originals[kind](src, dst, *args, **kwargs)

        return move

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "replace", copying("replace"))
        patch.setattr(os, "rename", copying("rename"))
        originals["exchange"] = write._exchange
        patch.setattr(write, "_exchange", copying("exchange"))
        write_outputs(two_runs["b"], out)
    assert len(taken) >= 1  # the folder exchange
    return [*taken, out]  # and the finished write


def test_every_kill_point_keeps_every_file_whole(states, two_runs):
    old, new = top_level(two_runs["old"]), top_level(two_runs["new"])
    for state in states:
        check_intact(state, old, new)
    assert all("Study A" in o for o in check_intact(states[0], old, new).values())
    assert all("Study B" in o for o in check_intact(states[-1], old, new).values())


KILLS = [(signal.SIGKILL, 0), (signal.SIGTERM, 0)]


@pytest.mark.parametrize(
    ("sig", "k"), KILLS, ids=[f"{signal.Signals(s).name}-before-move-{k}" for s, k in KILLS]
)
def test_real_kill_leaves_the_predicted_state_and_rerun_succeeds(
    sig, k, states, two_runs, tmp_path
):
    old, new = top_level(two_runs["old"]), top_level(two_runs["new"])
    inputs_before = tree(two_runs["inputs"])
    out = tmp_path / "out"
    shutil.copytree(two_runs["old"].folder, out)
    assert killed_at(sig, k, lambda: write_outputs(two_runs["b"], out), into=out)
    assert check_intact(out, old, new) == check_intact(states[k], old, new)
    assert tree(two_runs["inputs"]) == inputs_before
    write_outputs(two_runs["b"], out)  # a re-run succeeds and gives the new study whole
    assert all("Study B" in o for o in check_intact(out, old, new).values())


def top(two_runs: dict) -> tuple[Outputs, Outputs]:
    return top_level(two_runs["old"]), top_level(two_runs["new"])


def test_no_kill_point_mixes_two_runs(states, two_runs):
    old, new = top_level(two_runs["old"]), top_level(two_runs["new"])
    for state in states:
        owners = check_intact(state, old, new)
        assert set.intersection(*owners.values()), f"{state.name}: a mix of two runs: {owners}"


def test_figures_folder_never_goes_missing(states, two_runs):
    for state in states:
        check_intact(state, two_runs["old"], two_runs["new"])


def test_rerun_clears_what_a_killed_run_left(states, two_runs, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(states[0], out)
    # a staging folder of a run that was killed (its process is gone), and the hidden
    # leftovers of the earlier writer inside the folder
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    stale = tmp_path / f".out.defibmap-{dead.pid}-0a1b2c3d"
    (stale / "figures").mkdir(parents=True)
    (stale / "map.html").write_text("<html>half")
    (out / ".defibmap-x1y2").mkdir()
    (out / ".figures-old").mkdir()
    write_outputs(two_runs["b"], out)
    hidden = [p.name for p in [*out.iterdir(), *tmp_path.iterdir()] if p.name.startswith(".")]
    left = [name for name in hidden if name != write.MANIFEST_NAME]  # the manifest is meant
    assert not left, f"left behind: {left}"
    assert all("Study B" in o for o in check_intact(out, *top(two_runs)).values())


def test_without_the_atomic_exchange_a_kill_between_renames_is_recovered(
    two_runs, tmp_path, monkeypatch
):
    """Where renameat2 is missing the folder is renamed aside first; the next run restores it."""

    def no_exchange(a: object, b: object) -> None:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(write, "_exchange", no_exchange)
    out = tmp_path / "out"
    shutil.copytree(two_runs["old"].folder, out)
    # killed between the rename aside and the rename of the new folder into place (move 0 is
    # the attempted exchange)
    assert killed_at(signal.SIGKILL, 1, lambda: write_outputs(two_runs["b"], out), into=out)
    assert not out.exists()
    aside = [p for p in tmp_path.iterdir() if p.name.startswith(".out.defibmap-old-")]
    assert len(aside) == 1
    assert snapshot(aside[0], "aside").files == two_runs["old"].files  # whole and readable
    write._recover(out)  # what the next run does first
    assert snapshot(out, "restored").files == two_runs["old"].files
    write_outputs(two_runs["b"], out)
    assert snapshot(out, "new").files.keys() == two_runs["new"].files.keys()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_output_folder_with_foreign_files_is_refused(two_runs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "my-notes.txt").write_text("keep me")
    with pytest.raises(defibmap.DefibmapError, match=r"my-notes\.txt"):
        write_outputs(two_runs["b"], out)
    assert [p.name for p in out.iterdir()] == ["my-notes.txt"]
    assert (out / "my-notes.txt").read_text() == "keep me"


def test_output_folder_named_by_a_symlink_is_written_through_it(two_runs, tmp_path):
    real = tmp_path / "elsewhere" / "outputs"
    real.mkdir(parents=True)
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    write_outputs(two_runs["b"], link)
    assert link.is_symlink()
    assert snapshot(real, "new").files.keys() == two_runs["new"].files.keys()


def test_a_failed_write_leaves_no_staging_and_old_outputs(two_runs, tmp_path, monkeypatch):
    # an exception (not a kill) part-way through: the finally clause cleans up
    out = tmp_path / "out"
    shutil.copytree(two_runs["old"].folder, out)
    calls = []
    real = pd.DataFrame.to_csv

    def to_csv(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    with pytest.raises(OSError, match="No space left"):
        write_outputs(two_runs["b"], out)
    assert snapshot(out, "after").files == two_runs["old"].files
    assert not [
        p.name for p in out.iterdir() if p.name.startswith(".") and p.name != write.MANIFEST_NAME
    ]


# ---------------------------------------------------------------------------------------------
# The network cache
# ---------------------------------------------------------------------------------------------

SMALL_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
<node id="1" lat="53.8100000" lon="-1.5300000"/>
<node id="2" lat="53.8100000" lon="-1.5270000"/>
<node id="3" lat="53.8100000" lon="-1.5240000"/>
<node id="4" lat="53.8120000" lon="-1.5270000"/>
<way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
<way id="2"><nd ref="2"/><nd ref="4"/><tag k="highway" v="footway"/></way>
</osm>
"""


@pytest.fixture
def osm_config(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "town.osm").write_text(SMALL_OSM)
    (folder / "demand.csv").write_text("id,lon,lat,pop\na,-1.528,53.8101,10\n")
    (folder / "s.toml").write_text(
        '[network]\nosm_file = "town.osm"\ncache_dir = "../cache"\n'
        '[demand]\nfile = "demand.csv"\nid = "id"\npopulation = "pop"\n'
    )
    return defibmap.load_study(folder / "s.toml")


def cache_files(config) -> list[Path]:
    return sorted(network_cache.cache_dir(config).glob("walk-*.npz"))


def same_network(a: walk.Network, b: walk.Network) -> bool:
    return bool(
        np.array_equal(a.node_ids, b.node_ids)
        and np.allclose(a.edge_length_m, b.edge_length_m)
        and a.crs == b.crs
    )


@pytest.mark.parametrize("k", [0, 1], ids=["before-the-cache-rename", "before-the-sidecar"])
def test_kill_during_cache_write_never_leaves_a_corrupt_cache(k, osm_config):
    inputs_before = tree(osm_config.path.parent)
    assert killed_at(
        signal.SIGKILL,
        k,
        lambda: network_cache.build_network(osm_config),
        into=network_cache.cache_dir(osm_config),
    )
    for path in cache_files(osm_config):  # a cache file that exists is a whole one
        walk.load(path)
    built = network_cache.build_network(osm_config)
    (path,) = cache_files(osm_config)
    assert same_network(walk.load(path), built)
    assert tree(osm_config.path.parent) == inputs_before


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"",
        lambda data: b"\x00" * len(data),
        lambda data: b"PK\x03\x04 not really a zip",
        lambda data: data[:-30],
    ],
    ids=["truncated", "empty", "zeroed", "garbage", "tail-cut"],
)
def test_damaged_cache_is_detected_and_rebuilt(damage, osm_config, caplog):
    first = network_cache.build_network(osm_config)
    (path,) = cache_files(osm_config)
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level("WARNING", logger="defibmap.study.pipeline"):
        again = network_cache.build_network(osm_config)
    assert same_network(first, again)
    assert any("rebuilding the network" in r.getMessage() for r in caplog.records)
    assert same_network(walk.load(path), first)  # and the cache is whole again


def test_cache_of_another_format_is_rebuilt(osm_config, caplog):
    first = network_cache.build_network(osm_config)
    (path,) = cache_files(osm_config)
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["format"] = np.array(999)
    with path.open("wb") as fh:
        np.savez_compressed(fh, **arrays)
    with caplog.at_level("WARNING", logger="defibmap.study.pipeline"):
        again = network_cache.build_network(osm_config)
    assert "format 999 is not supported" in caplog.text
    assert same_network(first, again)


def test_unwritable_cache_does_not_stop_the_study(osm_config, tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    config = replace(osm_config, network=replace(osm_config.network, cache_dir=blocker / "sub"))
    with caplog.at_level("WARNING", logger="defibmap.study.pipeline"):
        net = network_cache.build_network(config)
    assert net.n_nodes > 0
    assert "could not cache the network" in caplog.text


@pytest.mark.parametrize("name", [".", "..", "sub/.."])
def test_the_working_folder_is_never_swapped_away(name, two_runs, tmp_path, monkeypatch):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    monkeypatch.chdir(work)
    with pytest.raises(defibmap.DefibmapError, match="working folder"):
        write_outputs(two_runs["b"], name)
    assert Path.cwd() == work
    assert sorted(p.name for p in work.iterdir()) == ["sub"]
