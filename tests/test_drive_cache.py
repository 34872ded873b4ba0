"""The driving network of a place study: downloaded once into the study's cache, never ./cache."""

from __future__ import annotations

from pathlib import Path

import osmnx as ox
import pytest

from defibmap import _timing, drive
from defibmap.config import read_study

LEEDS_OSM = Path(__file__).resolve().parents[1] / "data" / "leeds" / "leeds_inner_ne.osm.bz2"


@pytest.fixture
def place_study(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "demand.csv").write_text("id,lon,lat,pop\na,-1.528,53.8101,10\n")
    (folder / "s.toml").write_text(
        '[network]\nplace = "Chapeltown, Leeds, UK"\ncache_dir = "../cache"\n'
        '[demand]\nfile = "demand.csv"\nid = "id"\npopulation = "pop"\n'
    )
    return read_study(folder / "s.toml")


def test_place_drive_network_is_cached_in_the_study_cache(place_study, tmp_path, monkeypatch):
    built = drive.drive_network_from_osm_file(LEEDS_OSM, crs="EPSG:27700")
    calls: list[tuple[str, str]] = []

    def download(place, **_kwargs):
        calls.append((place, ox.settings.cache_folder))
        return built

    monkeypatch.setattr(drive, "drive_network_from_place", download)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    cache = tmp_path / "cache"
    first = _timing._drive_network(place_study, "EPSG:27700", cache)
    again = _timing._drive_network(place_study, "EPSG:27700", cache)
    assert calls == [("Chapeltown, Leeds, UK", str(cache / "osmnx"))]  # downloaded once
    assert ox.settings.cache_folder != str(cache / "osmnx")  # restored afterwards
    assert again.n_nodes == first.n_nodes == built.n_nodes
    assert len(list(cache.glob("drive-*.npz"))) == 1
    _timing._drive_network(place_study, "EPSG:27700", cache, refresh=True)
    assert len(calls) == 2  # a forced refresh downloads again
    assert list(work.iterdir()) == []  # nothing in the working folder (osmnx's ./cache)
