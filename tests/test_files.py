"""Atomic file writes: the target is replaced whole on success and untouched on failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from defibmap._files import atomic_path, write_bytes_atomic, write_text_atomic

if TYPE_CHECKING:
    from pathlib import Path


def test_write_text_creates_a_readable_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    path = write_text_atomic(tmp_path / "a.json", "{}\n")
    assert path.read_text(encoding="utf-8") == "{}\n"
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_write_bytes_replaces_and_keeps_the_old_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    path.chmod(0o600)
    write_bytes_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "map.html"
    path.write_text("old", encoding="utf-8")

    def half_write() -> None:
        with atomic_path(path) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        half_write()
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]


def test_the_temporary_keeps_the_target_suffixes_and_is_hidden(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "clip.osm.pbf") as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".")
        assert tmp.name.endswith(".osm.pbf")
        tmp.write_bytes(b"x")
    assert (tmp_path / "clip.osm.pbf").read_bytes() == b"x"


def test_the_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_text_atomic(tmp_path / "missing" / "a.txt", "x")
