"""The driving network of a place study: downloaded once into the study's cache, never ./cache."""

from __future__ import annotations

from pathlib import Path

import osmnx as ox
import pytest

from defibmap.config.study_file import read_study
from defibmap.network import drive
from defibmap.study import timing as _timing

LEEDS_OSM = Path(__file__).resolve().parents[2] / "data" / "leeds" / "leeds_inner_ne.osm.bz2"


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
    _timing._drive_network(place_study, "EPSG:32630", cache)
    assert len(calls) == 3  # a cached network in another CRS than the study's is rebuilt
    assert list(work.iterdir()) == []  # nothing in the working folder (osmnx's ./cache)


def _co_responder_study(tmp_path: Path):
    """A place study whose fire station co-responds, so it needs a driving network."""
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "demand.csv").write_text(
        "id,lon,lat,pop\na,-1.528,53.8101,10\nb,-1.5245,53.8155,20\nc,-1.5155,53.8180,30\n"
    )
    (folder / "defibs.csv").write_text("id,lon,lat\nd1,-1.5265,53.8120\n")
    (folder / "fire.csv").write_text("id,name,lon,lat\nf1,Station,-1.5200,53.8170\n")
    (folder / "s.toml").write_text(
        '[network]\nplace = "Chapeltown, Leeds, UK"\ncache_dir = "../cache"\n'
        '[demand]\nfile = "demand.csv"\nid = "id"\npopulation = "pop"\n'
        '[defibs]\nfile = "defibs.csv"\nid = "id"\n'
        '[fire_stations]\nfile = "fire.csv"\nid = "id"\nname = "name"\nco_responder = true\n'
        "[ranking]\nnew_sites = 0\n"
    )
    return read_study(folder / "s.toml")


def test_offline_place_study_stops_before_any_work_when_the_drive_network_is_not_cached(
    offline, tmp_path, monkeypatch
):
    from defibmap import run_study
    from defibmap._errors import NetworkError
    from defibmap.network import walk as nw
    from defibmap.study.network_cache import network_cache_path

    study = _co_responder_study(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    walk_path = network_cache_path(study, None)
    assert walk_path is not None
    nw.save(nw.from_osm_file(LEEDS_OSM, crs="EPSG:27700"), walk_path)  # the walk is cached

    def download(place, **_kwargs):
        msg = "the driving network was fetched before the offline check"
        raise AssertionError(msg)

    monkeypatch.setattr(drive, "drive_network_from_place", download)
    cached_before = sorted(p.name for p in cache.iterdir())
    with pytest.raises(NetworkError, match="Nothing was run") as info:
        run_study(study)
    message = str(info.value)
    assert "not in the cache" in message
    missing = [line for line in message.splitlines() if line.startswith("  - ")]
    # the only thing missing; a place name without a boundary file has no area to size it by
    assert missing == [
        "  - drive network (the driving network, size not known until the place is looked up)"
    ]
    assert "(the driving network is then built from it too)" in message
    assert sorted(p.name for p in cache.iterdir()) == cached_before  # nothing written

    # with the driving network cached too, the same study runs offline to the end
    drive_path = _timing.drive_cache_path(study, cache)
    assert drive_path is not None
    drive.save_drive(drive.drive_network_from_osm_file(LEEDS_OSM, crs="EPSG:27700"), drive_path)
    result = run_study(study)
    assert "time_to_defib" in result.summary()
    assert result.demand["fire_drive_s"].notna().all()  # the co-responder drive was measured
