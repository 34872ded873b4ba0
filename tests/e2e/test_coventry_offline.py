"""The Coventry study offline: it stops before any work, says what to download, writes nothing.

Networking is made to fail without touching the internet (the ``offline`` fixture in
``conftest.py``): osmnx's Overpass and Nominatim endpoints point at a closed port on
127.0.0.1, and the cache folder is a new empty one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest

from defibmap import NetworkError, run_study
from defibmap._resources import data_root
from defibmap.cli import main
from defibmap.config import read_study
from defibmap.defaults import OVERPASS_WALK_MB_PER_KM2
from defibmap.io import sites
from defibmap.outputs.folder import write_manifest

REPO = Path(__file__).resolve().parents[2]
STUDY = REPO / "data" / "studies" / "coventry.toml"
EXTRACT = "west-midlands-latest.osm.pbf"


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _check_message(message: str) -> None:
    assert "Nothing was run" in message
    assert "cannot connect to the Overpass API" in message
    # what is missing, one line each
    missing = [line.split()[1] for line in message.splitlines() if line.startswith("  - ")]
    assert missing == ["network", "defibrillators", "schools", "police", "council_buildings"]
    # each with its size: the network's estimated from the boundary grown by 2 km, measured
    # here in British National Grid
    grown = gpd.read_file(REPO / "data" / "coventry" / "boundary.geojson").to_crs(27700)
    km2 = float(grown.buffer(2000).area.sum()) / 1e6
    network = next(line for line in message.splitlines() if line.startswith("  - network"))
    mb = float(re.search(r"an estimated (\d+) MB for ([\d,]+) km²", network).group(1))
    assert abs(mb - km2 * OVERPASS_WALK_MB_PER_KM2) <= 1
    assert "tens of megabytes" in message  # the regional extract
    # copy the shipped study first (never edit inside the installed package), then what to
    # download, where to put it in the copy, and the key to set there
    assert "1. Copy the study into a folder of your own: defibmap init coventry" in message
    assert f"https://download.geofabrik.de/europe/united-kingdom/england/{EXTRACT}" in message
    assert "into coventry/data" in message
    assert str(data_root()) not in message
    assert f'In coventry/coventry.toml set [network] osm_file = "data/{EXTRACT}"' in message
    assert "instead of place" in message


def test_coventry_offline_exits_nonzero_with_what_to_download(offline, tmp_path, capsys):
    out = tmp_path / "out"
    data_before = _tree(data_root())
    assert main(["run", "coventry", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "defibmap: error: " in err
    _check_message(err)
    assert not out.exists()  # no outputs at all, not even an empty folder
    assert not list(out.parent.glob(".out*"))  # nor a staging folder
    assert not offline.exists()  # nothing cached either
    assert list(Path.cwd().iterdir()) == []  # nothing in the working folder (no ./cache)
    assert _tree(data_root()) == data_before


def test_coventry_offline_leaves_earlier_outputs_untouched(offline, tmp_path, capsys):
    out = tmp_path / "earlier"
    out.mkdir()
    (out / "summary.json").write_text(json.dumps({"study": "Coventry", "run": "earlier"}))
    (out / "map.html").write_text("<html>earlier</html>")
    write_manifest(out, version="earlier")  # as an earlier run leaves them
    before = _tree(out)
    assert main(["run", "coventry", "--out", str(out)]) == 1
    _check_message(capsys.readouterr().err)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_coventry_offline_stops_before_reading_any_layer(offline, monkeypatch):
    def no_work(*args, **kwargs):
        msg = "a layer was read before the preflight check"
        raise AssertionError(msg)

    monkeypatch.setattr(sites, "load_layer", no_work)
    with pytest.raises(NetworkError, match="Nothing was run") as info:
        run_study("coventry")
    _check_message(str(info.value))


def test_coventry_study_keys():
    study = read_study(STUDY)
    assert study.network.place == "Coventry, UK"
    assert study.network.boundary_buffer_m == 2000
    assert study.network.extract_url is not None
    assert study.network.extract_url.endswith(EXTRACT)
    assert study.boundary_file is not None
    assert study.boundary_file.name == "boundary.geojson"
    assert study.wards_file is not None
    layers = study.layers
    assert layers["defibs"].osm == ("defibrillators", "schools")
    assert layers["defibs"].file is None
    assert layers["police_stations"].osm == ("police",)
    assert layers["candidates"].osm == ("council_buildings",)
    assert layers["candidates"].council == "Coventry City Council"
    assert layers["candidates"].file is not None
    assert layers["candidates"].file.name == "candidates.csv"  # the shipped open libraries
    assert layers["fire_stations"].file is not None
    demand, report = sites.load_layer(
        sites.LayerSpec(
            file=layers["demand"].file, layer="demand", id="lsoa21cd", population="population"
        ),
        crs="EPSG:27700",
    )
    assert report.rows_used == 203
    assert demand["population"].sum() == 345_312
    assert demand["imd_decile"].notna().all()
