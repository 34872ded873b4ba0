"""The output folder: defibmap replaces only what it wrote, unchanged since; lock files stay."""

from __future__ import annotations

import hashlib
import json

from defibmap.outputs.folder import (
    MANIFEST_NAME,
    carry_locks,
    unexpected_files,
    write_manifest,
)


def _outputs(folder):
    (folder / "figures").mkdir(parents=True)
    (folder / "summary.json").write_text('{"a": 1}\n')
    (folder / "figures" / "curve.png").write_bytes(b"\x89PNG fake")
    write_manifest(folder, version="9.9")
    return folder


def test_manifest_records_every_file_with_its_sha256(tmp_path):
    folder = _outputs(tmp_path / "out")
    document = json.loads((folder / MANIFEST_NAME).read_text())
    assert document["version"] == "9.9"
    assert document["sha256"] == {
        "figures/curve.png": hashlib.sha256(b"\x89PNG fake").hexdigest(),
        "summary.json": hashlib.sha256(b'{"a": 1}\n').hexdigest(),
    }
    assert unexpected_files(folder) == []


def test_user_file_at_any_depth_and_changed_output_are_found(tmp_path):
    folder = _outputs(tmp_path / "out")
    (folder / "figures" / "photo.jpg").write_bytes(b"a photo")
    (folder / "notes").mkdir()
    (folder / "notes" / "deep.txt").write_text("mine")
    (folder / "summary.json").write_text('{"a": 2}\n')
    assert unexpected_files(folder) == [
        ("figures/photo.jpg", "not written by defibmap"),
        ("notes/deep.txt", "not written by defibmap"),
        ("summary.json", "changed since defibmap wrote it"),
    ]


def test_folder_without_a_manifest_is_not_defibmaps(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "summary.json").write_text("the user's own")
    assert unexpected_files(folder) == [("summary.json", "not written by defibmap")]


def test_system_litter_and_lock_files_are_nobodys_work(tmp_path):
    folder = _outputs(tmp_path / "out")
    for name in [".DS_Store", "Thumbs.db", "desktop.ini", "~$recommendations.xlsx"]:
        (folder / name).write_bytes(b"x")
    (folder / "figures" / ".~lock.curve.png#").write_bytes(b"x")
    assert unexpected_files(folder) == []


def test_lock_files_move_to_the_new_folder(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "~$recommendations.xlsx").write_bytes(b"open in Excel")
    (old / ".DS_Store").write_bytes(b"x")
    carry_locks(old, new)
    assert (new / "~$recommendations.xlsx").read_bytes() == b"open in Excel"
    assert not (new / ".DS_Store").exists()


def test_a_run_refuses_a_folder_with_a_user_file_deep_inside_and_keeps_a_lock(tmp_path, capsys):
    from defibmap.cli import main

    out = tmp_path / "out"
    assert main(["run", "demo-town", "--out", str(out), "-q"]) == 0
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "figures" / "photo.jpg").write_bytes(b"a photo")
    capsys.readouterr()
    assert main(["run", "demo-town", "--out", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "figures/photo.jpg (not written by defibmap)" in err
    assert (out / "figures" / "photo.jpg").read_bytes() == b"a photo"
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == {**first, (out / "figures" / "photo.jpg").relative_to(out): b"a photo"}
    # once the photo is moved out, a workbook open in Excel (its lock file) survives a re-run
    (out / "figures" / "photo.jpg").unlink()
    (out / "~$recommendations.xlsx").write_bytes(b"locked by Excel")
    assert main(["run", "demo-town", "--out", str(out), "-q"]) == 0
    assert (out / "~$recommendations.xlsx").read_bytes() == b"locked by Excel"
